"use strict";
// Errors cross the queue as plain data and are rebuilt on the caller's side as the same class,
// with the same `code` and fields, as a local `Runtime` call would have rejected with.

const { ToolRuntimeError, fromNative } = require("../errors.js");

function plainCause(cause) {
  if (!cause || typeof cause !== "object") return cause === undefined ? undefined : { message: String(cause) };
  const out = { name: cause.name, message: cause.message, stack: cause.stack };
  if (cause.code != null) out.code = cause.code;
  if (cause.nonError) out.nonError = true;
  return out;
}

/** A JSON-safe copy of any field value (an abort reason may be a DOMException, say). */
function plainValue(value) {
  if (value && typeof value === "object" && typeof value.name === "string" && typeof value.message === "string") {
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

/** The error `errorToWire` described, as its class (every code is in lib/codes.js). */
function errorFromWire(wire) {
  const err = fromNative({ ...wire });
  return err instanceof Error ? err : queueError("ERR_INTERNAL", String(wire && wire.message), {});
}

/** An error of one of the queue's own codes (`ERR_WORKER_LOST`, `ERR_QUEUE_UNAVAILABLE`, ...). */
function queueError(code, message, fields) {
  return fromNative({ ...fields, code, message });
}

module.exports = { errorToWire, errorFromWire, queueError };
