"use strict";
// Errors cross the queue as plain data and are rebuilt on the caller's side as the same class,
// with the same `code` and fields, as a local `Runtime` call would have rejected with.

const errors = require("../errors.js");

const { ToolRuntimeError, ToolExecutionError, fromNative } = errors;

/** Codes only a queued call can fail with (the rest are the runtime's own). */
const QUEUE_CODES = Object.freeze({
  ERR_WORKER_LOST: "ToolExecutionError",
  ERR_QUEUE_UNAVAILABLE: "ToolRuntimeError",
  ERR_QUEUE_FULL: "ToolExecutionError",
});

function plainCause(cause) {
  if (!cause || typeof cause !== "object") return cause === undefined ? undefined : { message: String(cause) };
  const out = { name: cause.name, message: cause.message, stack: cause.stack };
  if (cause.code != null) out.code = cause.code;
  if (cause.nonError) out.nonError = true;
  return out;
}

/** A JSON-safe copy of any field value (an abort reason may be a DOMException, say). */
function plainValue(value) {
  if (value instanceof Error || (value && typeof value === "object" && "message" in value && "name" in value)) {
    return { name: value.name, message: value.message };
  }
  try {
    return JSON.parse(JSON.stringify(value ?? null));
  } catch {
    return String(value);
  }
}

/** An error (one of the package's classes, or anything thrown) as data. */
function errorToWire(err) {
  if (!(err instanceof ToolRuntimeError)) {
    return { code: "ERR_INTERNAL", message: `worker failed: ${err && err.message ? err.message : String(err)}` };
  }
  const out = { code: err.code, message: err.message };
  for (const k of Object.keys(err)) {
    if (k === "name" || k === "code" || k === "message") continue;
    out[k] = plainValue(err[k]);
  }
  if (err.cause !== undefined) out.cause = plainCause(err.cause);
  return out;
}

/** The error `errorToWire` described, as its class. */
function errorFromWire(wire) {
  if (Object.hasOwn(errors.CODE_CLASSES, wire.code)) return fromNative({ ...wire });
  return queueError(wire.code, wire.message, wire);
}

function queueError(code, message, fields = {}) {
  const { message: _m, code: _c, ...rest } = fields;
  switch (QUEUE_CODES[code]) {
    case "ToolExecutionError":
      return new ToolExecutionError(message, { code, ...rest });
    default:
      return new ToolRuntimeError(message, { code: code ?? "ERR_INTERNAL", ...rest });
  }
}

module.exports = { QUEUE_CODES, errorToWire, errorFromWire, queueError };
