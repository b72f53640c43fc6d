"use strict";
// A call's live events (`options.onLog`, `options.onProgress`): the native side sends each one
// to the function built here and waits for it to return, so they arrive in order and all of
// them before the call settles. What the user's callbacks throw must not reach the native side
// (an exception there ends the process): it becomes a warning.

const { ValidationError } = require("./errors.js");

function checkCallback(options, key) {
  const fn = options ? options[key] : undefined;
  if (fn === undefined || fn === null) return undefined;
  if (typeof fn !== "function") {
    throw new ValidationError(`options.${key} must be a function`, { code: "ERR_INVALID_ARGUMENT" });
  }
  return fn;
}

function guarded(fn, what, arg) {
  try {
    const r = fn(arg);
    if (r && typeof r.then === "function") r.then(undefined, (e) => warn(what, e));
  } catch (e) {
    warn(what, e);
  }
}

function warn(what, e) {
  process.emitWarning(`options.${what} threw: ${e && e.message ? e.message : String(e)}`, { code: "TOOL_RUNTIME_CALLBACK" });
}

/** The native event sink for a call's options, or undefined when it wants no events. */
function liveEvents(options) {
  const onLog = checkCallback(options, "onLog");
  const onProgress = checkCallback(options, "onProgress");
  if (!onLog && !onProgress) return undefined;
  return (ev) => {
    if (ev.kind === "log") {
      if (onLog) guarded(onLog, "onLog", { stream: ev.stream, line: ev.line, time: ev.time });
    } else if (ev.kind === "progress" && onProgress) {
      const p = { progress: ev.progress };
      if (ev.total !== undefined) p.total = ev.total;
      if (ev.message !== undefined) p.message = ev.message;
      guarded(onProgress, "onProgress", p);
    }
  };
}

module.exports = { liveEvents };
