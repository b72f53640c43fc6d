// Generated from crates/core/src/error.rs by `UPDATE_CODES=1 cargo test -p tool-runtime-core codes`. Do not edit.
"use strict";

/** Every error code and the class its errors are built as. */
module.exports = Object.freeze({
  ERR_INVALID_CONFIG: "ConfigError",
  ERR_INVALID_ARGUMENT: "ValidationError",
  ERR_TOOL_FAILED: "ToolExecutionError",
  ERR_TOOL_NOT_FOUND: "ToolExecutionError",
  ERR_OUTPUT_TOO_LARGE: "ToolExecutionError",
  ERR_INVALID_OUTPUT: "ValidationError",
  ERR_INVALID_INPUT: "ValidationError",
  ERR_TOOL_TIMEOUT: "TimeoutError",
  ERR_ABORTED: "AbortError",
  ERR_PROCESS_EXITED: "ProcessError",
  ERR_ENTRYPOINT_FAILED: "ProcessError",
  ERR_RUNTIME_UNAVAILABLE: "ProcessError",
  ERR_SANDBOX_UNAVAILABLE: "ConfigError",
  ERR_MEMORY_LIMIT: "ProcessError",
  ERR_CPU_LIMIT: "ProcessError",
  ERR_PROCESS_LIMIT: "ProcessError",
  ERR_QUEUE_FULL: "ToolExecutionError",
  ERR_RUNTIME_CLOSED: "ToolRuntimeError",
  ERR_WORKER_LOST: "ToolExecutionError",
  ERR_QUEUE_UNAVAILABLE: "ToolExecutionError",
  ERR_INTERNAL: "ToolRuntimeError",
});
