"use strict";
// Host functions on the orchestrator's side: checking the functions given, merging the
// runtime's with a call's, and running one host call for the native layer. The native layer has
// already checked that the call carried the tool call's nonce, named a function given to that
// call and kept within the limits; what reaches `dispatch` is a name from the call's own set.

const { ValidationError } = require("./errors.js");

// Names a tool writes as `context.host.name`: identifiers, plus `.` and `-` for namespaces
// (`host["github.search"]`). "then" would make `context.host` look like a promise.
const NAME = /^[A-Za-z_$][A-Za-z0-9_$.-]{0,255}$/;

function checkHostFunctions(what, fns) {
  if (fns === undefined || fns === null) return null;
  if (typeof fns !== "object" || Array.isArray(fns)) {
    throw new ValidationError(`${what} must be an object of functions`, { code: "ERR_INVALID_ARGUMENT" });
  }
  const out = Object.create(null);
  for (const name of Object.keys(fns)) {
    if (!NAME.test(name) || name === "then") {
      throw new ValidationError(
        `${what}: ${JSON.stringify(name)} is not a usable host function name (letters, digits, _ $ . -, not starting with a digit, at most 256 characters, not "then")`,
        { code: "ERR_INVALID_ARGUMENT" },
      );
    }
    if (typeof fns[name] !== "function") {
      throw new ValidationError(`${what}.${name} must be a function, got ${fns[name] === null ? "null" : typeof fns[name]}`, {
        code: "ERR_INVALID_ARGUMENT",
      });
    }
    out[name] = fns[name];
  }
  return out;
}

/** The runtime's functions with the call's over them; `null` when there are none. */
function mergeHostFunctions(base, perCall) {
  if (!base && !perCall) return null;
  const out = Object.assign(Object.create(null), base, perCall);
  return Object.keys(out).length ? out : null;
}

function errorJson(err, withStack) {
  const isObj = err !== null && typeof err === "object";
  const str = (v) => {
    try {
      return String(v);
    } catch {
      return "<unprintable>";
    }
  };
  const body = {
    name: isObj && err.name != null ? str(err.name) : "Error",
    message: isObj ? str(err.message ?? "") : str(err),
    code: isObj && err.code != null ? str(err.code) : null,
  };
  if (withStack && isObj && typeof err.stack === "string") body.stack = err.stack;
  return JSON.stringify(body);
}

/**
 * What the native layer calls for each host call: `(name, argsJson) → Promise<{ ok, json }>`,
 * never rejecting. `ctx` is what every host function of the call receives.
 */
function makeDispatch(fns, ctx, withStack) {
  return async (name, argsJson) => {
    try {
      const value = await fns[name](JSON.parse(argsJson), ctx);
      if (value === undefined) return { ok: true, json: "" };
      const json = JSON.stringify(value);
      if (json === undefined) {
        return { ok: false, json: errorJson({ name: "TypeError", message: `host function ${name} returned a ${typeof value}, which JSON cannot carry`, code: "ERR_INVALID_OUTPUT" }, false) };
      }
      return { ok: true, json };
    } catch (err) {
      try {
        return { ok: false, json: errorJson(err, withStack) };
      } catch {
        return { ok: false, json: errorJson({ name: "Error", message: `host function ${name} failed` }, false) };
      }
    }
  };
}

/** Why a call's host `signal` fires, from how the call ended. */
function endReason(err) {
  if (err && err.code === "ERR_TOOL_TIMEOUT") return new DOMException("the tool call timed out", "TimeoutError");
  if (err) return new DOMException(`the tool call ended: ${err.code ?? "failed"}`, "AbortError");
  return new DOMException("the tool call ended", "AbortError");
}

module.exports = { checkHostFunctions, mergeHostFunctions, makeDispatch, endReason };
