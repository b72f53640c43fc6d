// Generated from crates/core/src/error.rs by `UPDATE_CODES=1 cargo test -p tool-runtime-core codes`. Do not edit.
/** Every `code` this package rejects with. */
export type ErrorCode =
  | "ERR_INVALID_CONFIG"
  | "ERR_INVALID_ARGUMENT"
  | "ERR_TOOL_FAILED"
  | "ERR_TOOL_NOT_FOUND"
  | "ERR_OUTPUT_TOO_LARGE"
  | "ERR_INVALID_OUTPUT"
  | "ERR_TOOL_TIMEOUT"
  | "ERR_ABORTED"
  | "ERR_PROCESS_EXITED"
  | "ERR_ENTRYPOINT_FAILED"
  | "ERR_RUNTIME_UNAVAILABLE"
  | "ERR_SANDBOX_UNAVAILABLE"
  | "ERR_MEMORY_LIMIT"
  | "ERR_CPU_LIMIT"
  | "ERR_PROCESS_LIMIT"
  | "ERR_QUEUE_FULL"
  | "ERR_RUNTIME_CLOSED"
  | "ERR_INTERNAL";

/** The class of the errors carrying each code. */
declare const CODE_CLASSES: {
  readonly ERR_INVALID_CONFIG: "ConfigError";
  readonly ERR_INVALID_ARGUMENT: "ValidationError";
  readonly ERR_TOOL_FAILED: "ToolExecutionError";
  readonly ERR_TOOL_NOT_FOUND: "ToolExecutionError";
  readonly ERR_OUTPUT_TOO_LARGE: "ToolExecutionError";
  readonly ERR_INVALID_OUTPUT: "ToolExecutionError";
  readonly ERR_TOOL_TIMEOUT: "TimeoutError";
  readonly ERR_ABORTED: "AbortError";
  readonly ERR_PROCESS_EXITED: "ProcessError";
  readonly ERR_ENTRYPOINT_FAILED: "ProcessError";
  readonly ERR_RUNTIME_UNAVAILABLE: "ProcessError";
  readonly ERR_SANDBOX_UNAVAILABLE: "ConfigError";
  readonly ERR_MEMORY_LIMIT: "ProcessError";
  readonly ERR_CPU_LIMIT: "ProcessError";
  readonly ERR_PROCESS_LIMIT: "ProcessError";
  readonly ERR_QUEUE_FULL: "ToolExecutionError";
  readonly ERR_RUNTIME_CLOSED: "ToolRuntimeError";
  readonly ERR_INTERNAL: "ToolRuntimeError";
};
export = CODE_CLASSES;
