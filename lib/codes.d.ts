// Generated from crates/core/src/error.rs by `UPDATE_CODES=1 cargo test -p tool-runtime-core codes`. Do not edit.
/** Every `code` this package rejects with. */
export type ErrorCode =
  | "ERR_INVALID_CONFIG"
  | "ERR_INVALID_ARGUMENT"
  | "ERR_TOOL_FAILED"
  | "ERR_TOOL_NOT_FOUND"
  | "ERR_OUTPUT_TOO_LARGE"
  | "ERR_INVALID_OUTPUT"
  | "ERR_INVALID_INPUT"
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
  | "ERR_WORKER_LOST"
  | "ERR_QUEUE_UNAVAILABLE"
  | "ERR_INTERNAL";

// The class of the errors carrying each code.
export declare const ERR_INVALID_CONFIG: "ConfigError";
export declare const ERR_INVALID_ARGUMENT: "ValidationError";
export declare const ERR_TOOL_FAILED: "ToolExecutionError";
export declare const ERR_TOOL_NOT_FOUND: "ToolExecutionError";
export declare const ERR_OUTPUT_TOO_LARGE: "ToolExecutionError";
export declare const ERR_INVALID_OUTPUT: "ValidationError";
export declare const ERR_INVALID_INPUT: "ValidationError";
export declare const ERR_TOOL_TIMEOUT: "TimeoutError";
export declare const ERR_ABORTED: "AbortError";
export declare const ERR_PROCESS_EXITED: "ProcessError";
export declare const ERR_ENTRYPOINT_FAILED: "ProcessError";
export declare const ERR_RUNTIME_UNAVAILABLE: "ProcessError";
export declare const ERR_SANDBOX_UNAVAILABLE: "ConfigError";
export declare const ERR_MEMORY_LIMIT: "ProcessError";
export declare const ERR_CPU_LIMIT: "ProcessError";
export declare const ERR_PROCESS_LIMIT: "ProcessError";
export declare const ERR_QUEUE_FULL: "ToolExecutionError";
export declare const ERR_RUNTIME_CLOSED: "ToolRuntimeError";
export declare const ERR_WORKER_LOST: "ToolExecutionError";
export declare const ERR_QUEUE_UNAVAILABLE: "ToolExecutionError";
export declare const ERR_INTERNAL: "ToolRuntimeError";
