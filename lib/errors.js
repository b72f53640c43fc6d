"use strict";
// Error classes. Every rejection of this package is one of these, with a stable `code`;
// callers branch on `code` or `instanceof`, never on message text.

class ToolRuntimeError extends Error {
  constructor(message, fields = {}) {
    super(message);
    this.name = new.target.name;
    const { cause, ...rest } = fields;
    if (cause !== undefined) {
      Object.defineProperty(this, "cause", { value: cause, writable: true, configurable: true, enumerable: false });
    }
    Object.assign(this, rest);
  }
}

/** A tool ran (or was about to) and failed: `toolId`, `toolExecId`, `cause` for thrown errors. */
class ToolExecutionError extends ToolRuntimeError {}
/** The call hit its deadline: code `ERR_TOOL_TIMEOUT`, `timeoutMs`. */
class TimeoutError extends ToolExecutionError {}
/** The call was cancelled through its `AbortSignal`: code `ERR_ABORTED`. */
class AbortError extends ToolExecutionError {}
/** The child process misbehaved: `exitCode`, `signal`, `stderr`, `stdout`. */
class ProcessError extends ToolRuntimeError {}
/**
 * A value was refused: an argument (`ERR_INVALID_ARGUMENT`), a call's input against the tool's
 * `inputSchema` (`ERR_INVALID_INPUT`), or its result (`ERR_INVALID_OUTPUT`). `issues` lists
 * where (a JSON pointer) and why; it is empty when there is nothing more precise to say.
 */
class ValidationError extends ToolRuntimeError {
  constructor(message, fields = {}) {
    super(message, fields);
    if (!Array.isArray(this.issues)) this.issues = [];
  }
}
/** The runtime configuration was refused: code `ERR_INVALID_CONFIG` (or `ERR_SANDBOX_UNAVAILABLE`). */
class ConfigError extends ToolRuntimeError {}

const CLASSES = {
  ToolRuntimeError,
  ToolExecutionError,
  TimeoutError,
  AbortError,
  ProcessError,
  ValidationError,
  ConfigError,
};

// code -> class name, generated from the Rust error enum.
const CODE_CLASSES = require("./codes.js");

function rebuildCause(cause) {
  if (!cause || typeof cause !== "object") return cause;
  const e = new Error(cause.message ?? "");
  e.name = cause.name || "Error";
  e.stack = cause.stack || `${e.name}: ${e.message}`;
  if (cause.code != null) e.code = cause.code;
  if (cause.nonError) e.nonError = true;
  return e;
}

/**
 * Turns what the native binding threw (a plain object: `code`, `message` and the error's
 * fields) into the class its code belongs to; anything else passes through unchanged.
 */
function fromNative(err) {
  if (err === null || typeof err !== "object" || err instanceof Error) return err;
  if (typeof err.code !== "string" || !Object.hasOwn(CODE_CLASSES, err.code)) return err;
  const { message, cause, ...fields } = err;
  const Class = CLASSES[CODE_CLASSES[err.code]];
  if (cause !== undefined) fields.cause = rebuildCause(cause);
  if (Class === ProcessError) {
    for (const k of ["exitCode", "signal", "stderr", "stdout"]) if (fields[k] === undefined) fields[k] = null;
  }
  return new Class(String(message), fields);
}

module.exports = {
  ...CLASSES,
  CODE_CLASSES,
  fromNative,
};
