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
/** An argument was refused before any process started: code `ERR_INVALID_ARGUMENT`. */
class ValidationError extends ToolRuntimeError {}
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
  RuntimeError: ToolRuntimeError,
};

function rebuildCause(cause) {
  if (!cause || typeof cause !== "object") return cause;
  const e = new Error(cause.message ?? "");
  e.name = cause.name || "Error";
  e.stack = cause.stack || `${e.name}: ${e.message}`;
  if (cause.code != null) e.code = cause.code;
  if (cause.nonError) e.nonError = true;
  return e;
}

/** Turns an error thrown by the native binding into the matching class; others pass through. */
function fromNative(err) {
  if (!err || typeof err.message !== "string" || !err.message.startsWith("{")) return err;
  let desc;
  try {
    desc = JSON.parse(err.message);
  } catch {
    return err;
  }
  if (!desc || typeof desc.code !== "string" || typeof desc.class !== "string") return err;
  const { class: className, message, cause, ...fields } = desc;
  const Class = CLASSES[className] || ToolRuntimeError;
  const fixed = { ...fields };
  if (cause !== undefined) fixed.cause = rebuildCause(cause);
  for (const k of ["exitCode", "signal", "stderr", "stdout"]) {
    if (fixed[k] === undefined && Class === ProcessError) fixed[k] = null;
  }
  return new Class(message, fixed);
}

module.exports = {
  ...CLASSES,
  fromNative,
};
