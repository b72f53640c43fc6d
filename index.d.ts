// Public types of `tool-runtime`. Hand-written: the generated `binding.d.ts` describes the
// internal native layer only.

export type RuntimeType = "bun" | "node" | "deno";
export type SandboxMode = "strict" | "best-effort" | "off";

/** JSON values a tool can take and return. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** A complete runtime configuration. Durations are whole milliseconds. */
export interface RuntimeConfig {
  runtimeType: RuntimeType;
  /** Entrypoint whose exports are the tools, relative to the project root. */
  entrypointPath: string;
  toolExecutionTimeoutMs: number;
  /** Mode of the worker harness file the runtime writes (default 0o600). */
  workerFilePerm: number;
  /** Deno-style permission flags (the seed's field); the policy when `permissions` is absent. */
  bunPermissions: string[];
  /** Deno-style permission flags for every runtime type; overrides `bunPermissions`. */
  permissions: string[] | null;
  /** Extra flags passed to node. */
  nodeOptions: string[];
  backoffInitialIntervalMs: number;
  backoffMaxIntervalMs: number;
  backoffMaxElapsedTimeMs: number;
  environment: string;
  /** Largest result a tool may return, in bytes of JSON (default 10 MiB). */
  maxOutputBytes: number;
  /** How much of stdout and stderr is kept for errors, in bytes (default 1 MiB). */
  maxStderrBytes: number;
  /** Explicit path of the bun, node or deno binary. */
  runtimePath: string | null;
  /** How hard the kernel sandbox is required (default "strict"). */
  sandbox: SandboxMode;
  /** Time between SIGTERM and SIGKILL when a call is timed out or aborted (default 500). */
  killGraceMs: number;
  /** Memory of a call's whole process tree, in MB (`ERR_MEMORY_LIMIT`). Default: none. */
  memoryLimitMb: number | null;
  /** CPU time of a call's whole process tree, in ms, apart from the wall-clock timeout (`ERR_CPU_LIMIT`). */
  cpuTimeLimitMs: number | null;
  /** Processes a call's tree may hold at once, the runtime included (`ERR_PROCESS_LIMIT`). */
  maxProcesses: number | null;
  /** Largest file a tool may write, in MB. */
  maxFileSizeMb: number | null;
  /**
   * Size of a call's private temp dir, in MB (default 64). It is a tmpfs, so its files are
   * memory (charged to the call's memory cgroup where there is one); a full one is `ENOSPC`.
   */
  maxTempMb: number;
  /** Calls running at once (default: the number of CPUs); more wait in a FIFO queue. */
  maxConcurrency: number;
  /** Calls waiting at most; more reject at once with `ERR_QUEUE_FULL`. Default: unbounded. */
  maxQueue: number | null;
  /** Warm, sandboxed workers. Default: none (a fresh process per call). */
  pool: PoolConfig | null;
  /** Fixed name resolution for the egress proxy (`--allow-net=HOSTS`): `{ "api.internal": ["10.0.0.5"] }`. */
  netHosts: Record<string, string[]>;
  /** Host function calls one tool call may have running at once (default 64); the tool's further calls wait. */
  maxHostCallsInFlight: number;
  /** Host function calls one tool call may make in all (default 10 000); more reject with `ERR_HOST_CALL_LIMIT`. */
  maxHostCalls: number;
}

export interface PoolConfig {
  /** Workers kept started and waiting (default 2). */
  minIdle: number;
  /** Workers alive at once, idle and busy (default maxConcurrency + minIdle). */
  maxWorkers: number;
  /** Idle workers above minIdle exit after this long (default 30 000). */
  idleTimeoutMs: number;
  /**
   * Serve many calls per worker, in turn. Faster, but module-level state of the entrypoint
   * survives from one call to the next. Default: null (one call per worker).
   */
  reuse: ReuseConfig | null;
}

export interface ReuseConfig {
  /** Calls a worker serves before it is replaced (default 100). */
  maxCallsPerWorker: number;
  /** A worker whose resident memory grew past this is replaced after its call (default 512). */
  maxRssMb: number;
}

export type RuntimeConfigInput = Partial<
  Omit<RuntimeConfig, "permissions" | "runtimePath" | "pool" | "memoryLimitMb" | "cpuTimeLimitMs" | "maxProcesses" | "maxFileSizeMb" | "maxQueue">
> & {
  permissions?: string[] | null;
  runtimePath?: string | null;
  memoryLimitMb?: number | null;
  cpuTimeLimitMs?: number | null;
  maxProcesses?: number | null;
  maxFileSizeMb?: number | null;
  maxQueue?: number | null;
  /** `true` for the defaults. */
  pool?:
    | boolean
    | null
    | (Partial<Omit<PoolConfig, "reuse">> & { reuse?: Partial<ReuseConfig> | null });
  /** Functions every call's tool may call as `context.host.name(args)`; they run in this process. */
  hostFunctions?: HostFunctions;
  /** Include a host function's stack trace in the error the tool sees (`hostStack`). Default false. */
  hostErrorStack?: boolean;
};

/** What a host function receives besides its arguments. */
export interface HostContext {
  /** The tool call that made this host call. */
  toolId: string;
  toolExecId: string;
  /** Fires when the tool call ends, however it ends (result, error, deadline, abort, crash). */
  signal: AbortSignal;
}

/**
 * A function the sandboxed code can call back. It runs in the orchestrator with all its
 * rights: `args` come from untrusted code, validate them. Arguments and result are JSON.
 */
export type HostFunction<A = any, R = unknown> = (args: A, ctx: HostContext) => R | Promise<R>;
export type HostFunctions = Record<string, HostFunction>;

/**
 * `context.host` inside a tool: each given function as `name(args) → Promise<result>`. A host
 * function that throws rejects with an Error carrying its `name`, `message` and `code`; a name
 * not given to the call rejects with code `ERR_HOST_FUNCTION_NOT_FOUND`.
 */
export type HostProxy = Record<string, (args?: unknown) => Promise<any>>;

/** Options of `runtime.executeCode`. */
export interface ExecuteCodeOptions extends ExecuteOptions {
  /** In scope as `input` (default `{}`). */
  input?: unknown;
  /** The call's environment variables. */
  env?: Record<string, string> | null;
  /** The call's deadline (default `toolExecutionTimeoutMs`). */
  timeoutMs?: number;
  /** `"ts"`: bun runs it; for node its types are stripped first (amaro). Default `"js"`. */
  language?: "js" | "ts";
  /** The call's id (default: a new one). */
  toolExecId?: string;
}

export interface ExecuteOptions {
  /** Aborting rejects the call with `AbortError` and kills its processes. */
  signal?: AbortSignal;
  /** Reaches the tool as its second argument (`null` when absent). */
  config?: JsonValue | Record<string, unknown>;
  /** Overrides the runtime's `memoryLimitMb` for this call. */
  memoryLimitMb?: number;
  /** Overrides the runtime's `cpuTimeLimitMs` for this call. */
  cpuTimeLimitMs?: number;
  /** Resolve `{ result, metrics }` instead of the result alone. */
  metrics?: boolean;
  /** Each line the tool writes to stdout or stderr, while it runs (all of them before the call settles). */
  onLog?: (entry: LogEntry) => void;
  /** Each `context.progress(...)` of the tool, while it runs. */
  onProgress?: (p: ProgressUpdate) => void;
  /** Host functions of this call, over the runtime's (`hostFunctions` of `createRuntime`). */
  hostFunctions?: HostFunctions;
}

/** One line of a tool's output (`options.onLog`). */
export interface LogEntry {
  stream: "stdout" | "stderr";
  line: string;
  /** When the host read the line, in ms since the epoch. */
  time: number;
}

/** A tool's `context.progress(progress, total?, message?)` (`options.onProgress`). */
export interface ProgressUpdate {
  progress: number;
  total?: number;
  message?: string;
}

/** A tool as `runtime.listTools()` describes it. */
export interface ToolInfo {
  id: string;
  description?: string;
  /** JSON Schema (draft 2020-12 unless the schema says otherwise). */
  inputSchema?: Record<string, unknown>;
  outputSchema?: Record<string, unknown>;
  /** MCP-style hints: title, readOnlyHint, destructiveHint, idempotentHint, openWorldHint. */
  annotations?: Record<string, unknown>;
  /** At most this many calls of the tool run at once in a runtime (see `ToolMetadata.concurrency`). */
  concurrency?: number;
}

/** One connection a tool asked the egress proxy for (`--allow-net=HOSTS`). */
export interface NetEvent {
  /** `CONNECT` for a tunnel, else the plain HTTP method. */
  method: string;
  host: string;
  port: number;
  address: string | null;
  allowed: boolean;
  /** Why it was refused or failed. */
  reason: string | null;
  bytesSent: number;
  bytesReceived: number;
}

/** Figures of one call (`options.metrics`). */
export interface CallMetrics {
  /** The runtime process that served the call, as the host sees it (a sandboxed tool sees its
   * own PID namespace's number). */
  pid: number;
  wallMs: number;
  /** Time spent waiting in the queue before the call started. */
  queuedMs: number;
  cpuMs: number | null;
  peakMemoryMb: number | null;
  exitCode: number | null;
  signal: string | null;
  stdoutBytes: number;
  stderrBytes: number;
  /** Whether a warm worker served the call. */
  warm: boolean;
  /** Connections through the egress proxy; null without a host allowlist. */
  network: NetEvent[] | null;
  /** Host calls, when the call was given host functions. */
  hostCalls?: HostCallMetrics | null;
}

export interface HostCallMetrics {
  /** Host call requests the tool made (refused ones included). */
  count: number;
  /** Time spent in host functions, summed (calls may overlap). */
  totalMs: number;
  /** One entry per finished host call. */
  calls: { name: string; ms: number; ok: boolean; code: string | null }[];
}

export interface ResultWithMetrics<Out = ToolResult> {
  result: Out;
  metrics: CallMetrics;
}

/** The third argument every tool receives. */
export interface ToolContext {
  toolId: string;
  toolExecId: string;
  /** Fires when the call is timed out or cancelled. */
  signal: AbortSignal;
  /** Reports progress to the caller's `options.onProgress`. */
  progress(progress: number, total?: number, message?: string): void;
  /** The host functions given to the call. */
  host: HostProxy;
}

/** The shape of a tool function in an entrypoint. */
export type Tool<I = any, C = any, O = unknown> = (input: I, config: C | null, context: ToolContext) => O | Promise<O>;

/**
 * A schema a tool declares: a JSON Schema object, or a Standard Schema value (zod 4, valibot,
 * arktype) that converts itself to JSON Schema.
 */
export type ToolSchema = Record<string, unknown> | { readonly "~standard": unknown };

/** What a tool may say about itself. */
export interface ToolMetadata {
  description?: string;
  inputSchema?: ToolSchema;
  outputSchema?: ToolSchema;
  annotations?: Record<string, unknown>;
  /**
   * At most this many calls of this tool run at once in one runtime (a positive integer; no
   * limit when absent). For tools that assume one process: state kept in module memory, a file
   * guarded by an in-process lock. Further calls wait in the runtime's queue (counted in
   * `maxQueue`, their wait counted in their deadline, abortable) without holding up calls of
   * other tools. Per runtime: two runtimes, or two queue workers, each allow this many.
   * Any other value makes `listTools()` and every call of the entrypoint's tools fail with
   * `ERR_ENTRYPOINT_FAILED` naming the tool.
   */
  concurrency?: number;
}

/** A tool export as an object (the AI SDK's `tool()` shape). */
export interface ToolDefinition<I = any, C = any, O = unknown> extends ToolMetadata {
  execute: Tool<I, C, O>;
}

/** A tool's result: plain objects as returned, other JSON values as `{ value }`, `undefined` as `{}`. */
export type ToolResult = Record<string, unknown>;

/** Mechanisms that enforce a permission, strongest first. Empty means not enforced. */
export type Mechanism =
  | "landlock"
  | "landlock-tcp"
  | "landlock-scope"
  | "network-namespace"
  | "pid-namespace"
  | "seccomp"
  | "node-permission-model"
  | "deno-permissions"
  | "egress-proxy"
  | "environment";

export interface PermissionReport {
  /** What the policy grants: "none", "all" or the list (paths, hosts, names). */
  granted: "none" | "all" | unknown[];
  enforcedBy: Mechanism[];
}

export type LimitMechanism = "cgroup-v2" | "cgroup-v1" | "watchdog" | "rlimit";

export interface SandboxCapabilities {
  /** Which mechanism backs each resource limit on this machine (from `sandboxCapabilities()`). */
  limits?: { memory: LimitMechanism; cpu: LimitMechanism; processes: LimitMechanism; fileSize: LimitMechanism };
  /** Landlock ABI version, null when Landlock is unavailable. */
  landlockAbi: number | null;
  /** Unprivileged user namespaces with a private network namespace. */
  userNamespaces: boolean;
  seccomp: boolean;
  /** A private mount namespace per call (root, or user namespaces): a private temp dir and harness. */
  privateMounts: boolean;
  /** A PID namespace per call with its own /proc (with a private mount and the tool-runtime-init binary). */
  pidNamespaces: boolean;
  /** Mechanisms hidden by TOOL_RUNTIME_PRETEND_MISSING (tests only). */
  pretendedMissing: string[];
}

/** What a runtime enforces, permission by permission (`runtime.sandbox`). */
export interface SandboxReport {
  mode: SandboxMode;
  machine: SandboxCapabilities;
  /** Whether any kernel confinement is applied. */
  enforced: boolean;
  read: PermissionReport;
  write: PermissionReport;
  net: PermissionReport;
  run: PermissionReport;
  env: PermissionReport;
  signals: Mechanism[];
  abstractUnixSockets: Mechanism[];
  pathUnixSockets: Mechanism[];
  /**
   * Reaching processes outside the sandbox: their `/proc/<pid>/environ` and `/mem`, fds and
   * memory (Landlock), their limits and scheduling, host SysV IPC objects (seccomp).
   */
  otherProcesses: Mechanism[];
  noNewPrivs: boolean;
  /** What the policy asks for and this machine cannot enforce (best-effort mode). */
  missing: string[];
  /** What every runtime is granted whatever the policy says, to start and load its code. */
  runtimeAccess: {
    read: string[];
    execute: string[];
    write: string[];
    /** Folders whose names (not contents) are listable, with those beneath: on bun, each folder holding a `node_modules` outside the project. */
    list: string[];
  };
  /**
   * The `--deny-read`/`--deny-write` paths and what enforces them. Node's permission model
   * cannot carve a path out of an allowed tree, so it never appears here.
   */
  denied: { read: string[]; write: string[]; enforcedBy: Mechanism[] };
  /**
   * The harness calls run. `private`: each call writes its own onto its private tmpfs,
   * read-only; otherwise it is on disk in the runtime's folder (sandbox "off", or no private
   * mount namespace on this machine).
   */
  harness: { path: string; private: boolean };
}

/**
 * The four call shapes shared by a local `Runtime` and a queue's `ToolClient`; `O` is the
 * options type each accepts. `Out` types the result (unchecked: the tool's code decides what it
 * really is).
 */
export interface ToolCaller<O extends ExecuteOptions = ExecuteOptions> {
  executeTool<Out = ToolResult>(
    toolId: string,
    toolExecId: string,
    input: unknown,
    env: Record<string, string> | null | undefined,
    options: O & { metrics: true },
  ): Promise<ResultWithMetrics<Out>>;
  executeTool<Out = ToolResult>(
    toolId: string,
    toolExecId: string,
    input?: unknown,
    env?: Record<string, string> | null,
    options?: O,
  ): Promise<Out>;
  executeToolWithTimeout<Out = ToolResult>(
    toolId: string,
    toolExecId: string,
    input: unknown,
    env: Record<string, string> | null | undefined,
    timeoutMs: number,
    options: O & { metrics: true },
  ): Promise<ResultWithMetrics<Out>>;
  executeToolWithTimeout<Out = ToolResult>(
    toolId: string,
    toolExecId: string,
    input: unknown,
    env: Record<string, string> | null | undefined,
    timeoutMs: number,
    options?: O,
  ): Promise<Out>;
}

// The class and the interface merge: `Runtime` has the call overloads of `ToolCaller`.
export interface Runtime extends ToolCaller<ExecuteOptions> {}
export declare class Runtime {
  private constructor();
  readonly runtimeType: RuntimeType;
  readonly runtimePath: string;
  readonly config: RuntimeConfig;
  readonly sandbox: SandboxReport;
  readonly closed: boolean;
  /** Idle warm workers (with `pool` configured). */
  readonly pool: { idle: number; idlePids: number[] };
  /**
   * Runs `source` as an ES module, like a tool call (same sandbox, limits, errors, pool):
   * `input`, `config` and `host` are in scope, top-level `await` works; the default export
   * is the result, or, when it is a function, what it returns when called like a tool. A
   * syntax error is `ERR_ENTRYPOINT_FAILED` with `line` and `column`.
   */
  executeCode<Out = ToolResult>(source: string, options: ExecuteCodeOptions & { metrics: true }): Promise<ResultWithMetrics<Out>>;
  executeCode<Out = ToolResult>(source: string, options?: ExecuteCodeOptions): Promise<Out>;
  /** The default per-call timeout in milliseconds. */
  getGlobalTimeout(): number;
  /**
   * The entrypoint's tools and what they say about themselves, sorted by id. The first listing
   * loads the entrypoint in a sandboxed process, like a call; the answer is cached until a
   * source file of the project changes. A runtime lists its tools itself before the first
   * call of one (calls made meanwhile wait for that one listing), so calls are always checked
   * against `inputSchema` before their process starts and `concurrency` always applies.
   */
  listTools(): Promise<ToolInfo[]>;
  /** Aborts calls in flight, waits for their processes, refuses later calls. Idempotent. */
  close(): Promise<void>;
}

export declare class RuntimeFactory {
  constructor(projectRoot: string);
  readonly projectRoot: string;
  createRuntime(config?: RuntimeConfigInput): Promise<Runtime>;
  /** With the entrypoint's module type (`typeof import("./tools")`): calls checked against its tools. */
  createRuntime<M extends object>(config?: RuntimeConfigInput): Promise<TypedRuntime<M>>;
}

import type { TypedRuntime } from "./lib/typed.js";
export type { TypedRuntime, ToolId, ToolFunction, ToolInput, ToolOutput, Delivered } from "./lib/typed.js";

export declare function newDefaultFactory(projectRoot?: string): RuntimeFactory;
export declare function defaultConfig(): RuntimeConfig;
export declare function testConfig(): RuntimeConfig;
export declare function fromAppConfig(appConfig: { environment?: string; toolExecutionTimeoutMs?: number; [key: string]: unknown }): RuntimeConfig;
export declare function configFromEnv(env?: Record<string, string | undefined>): RuntimeConfig;
export declare function isValidRuntimeType(s: unknown): s is RuntimeType;
export declare function isBunAvailable(): boolean;
export declare function isNodeAvailable(): boolean;
/** Whether a deno binary is found (the `deno` npm package, else PATH). */
export declare function isDenoAvailable(): boolean;
/** A unique, sortable execution id. */
export declare function newId(): string;
export declare function sandboxCapabilities(): SandboxCapabilities;

/** What `mcpHostFunctions` returns. */
export interface McpHostFunctions {
  /** One host function per MCP tool (names made identifiers: `get-forecast` → `get_forecast`). */
  functions: HostFunctions;
  /** A `.d.ts` text declaring `host` with those functions, typed from the tools' JSON Schemas. */
  declarations: string;
  /** Host function name → MCP tool name. */
  names: Record<string, string>;
}

/**
 * Exposes an MCP client's tools (the official SDK's `Client`, or anything with `listTools` and
 * `callTool`) as host functions. A tool with an output schema resolves its `structuredContent`,
 * others `{ content }`; a result with `isError` rejects with code `ERR_MCP_TOOL`.
 */
export declare function mcpHostFunctions(
  client: { listTools(params?: { cursor?: string }): Promise<{ tools: any[]; nextCursor?: string }>; callTool(...args: any[]): Promise<any> },
  options?: { prefix?: string },
): Promise<McpHostFunctions>;

export declare const RuntimeTypeBun: "bun";
export declare const RuntimeTypeNode: "node";
export declare const RuntimeTypeDeno: "deno";
export declare const SupportedRuntimeTypes: readonly RuntimeType[];

import type { ErrorCode } from "./lib/codes.js";
/** Every `code` this package rejects with; generated from the Rust error enum. */
export type { ErrorCode };

/** Base of every error this package rejects with. */
export declare class ToolRuntimeError extends Error {
  readonly code: ErrorCode;
  /** The class's name (`"TimeoutError"`, ...). */
  readonly name: string;
}

/** What a tool threw, rebuilt as an Error (`nonError` is true for thrown non-Errors). */
export interface ThrownCause extends Error {
  code?: string;
  nonError?: boolean;
}

export declare class ToolExecutionError extends ToolRuntimeError {
  readonly toolId: string;
  readonly toolExecId: string;
  /** For `ERR_TOOL_FAILED`: what the tool threw. */
  readonly cause?: ThrownCause;
  /** For `ERR_TOOL_NOT_FOUND`: the tools the entrypoint exports. */
  readonly availableTools?: string[];
  /** For `ERR_OUTPUT_TOO_LARGE`: the limit and the size seen, in bytes. */
  readonly limit?: number | string;
  readonly size?: number;
  /** For `ERR_TOOL_FAILED` with a host allowlist: destinations the egress proxy refused. */
  readonly deniedHosts?: string[];
  /** For `ERR_QUEUE_FULL`. */
  readonly maxQueue?: number;
  /** For `ERR_WORKER_LOST` (tool-runtime/queue): whether the tool had started; the worker lost. */
  readonly started?: boolean;
  readonly lostWorker?: string;
}

export declare class TimeoutError extends ToolExecutionError {
  readonly code: "ERR_TOOL_TIMEOUT";
  readonly timeoutMs: number;
  readonly timedOut: true;
  /** False when the call timed out while waiting to start. */
  readonly started: boolean;
  /** How the process ended and the tails of its output (empty when it never started). */
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly stderr: string;
  readonly stdout: string;
}

export declare class AbortError extends ToolExecutionError {
  readonly code: "ERR_ABORTED";
  readonly isCanceled: true;
  /** False when the call was aborted before it started (already aborted, or in the queue). */
  readonly started: boolean;
  /**
   * The signal's reason as given to `abort(reason)`: the platform's `AbortError` DOMException
   * for a bare `abort()`, a `TimeoutError` one (`reason.name === "TimeoutError"`) for
   * `AbortSignal.timeout()`.
   */
  readonly reason: unknown;
}

export declare class ProcessError extends ToolRuntimeError {
  readonly toolId?: string;
  readonly toolExecId?: string;
  readonly exitCode: number | null;
  /** Signal name such as `SIGKILL`, when the process died from a signal. */
  readonly signal: string | null;
  /** Tail of the child's stderr. */
  readonly stderr: string | null;
  readonly stdout: string | null;
  /** For `ERR_ENTRYPOINT_FAILED`: the entrypoint and its load error. */
  readonly entrypoint?: string;
  readonly loadError?: { message: string; stack: string | null };
  /** For `ERR_ENTRYPOINT_FAILED` of `executeCode` (entrypoint `"<inline code>"`): where the syntax error is (1-based), when known. */
  readonly line?: number | null;
  readonly column?: number | null;
  /** For `ERR_RUNTIME_UNAVAILABLE`: the runtime type, and the path tried (null: none found). */
  readonly runtime?: RuntimeType;
  readonly path?: string | null;
  /** For the limit codes: which limit was hit (`"memory"`, `"cpu"`, `"processes"`). */
  readonly limit?: string;
  /** For `ERR_MEMORY_LIMIT`: the limit and the peak seen, in MB. */
  readonly limitMb?: number;
  readonly peakMb?: number;
  /** For `ERR_CPU_LIMIT`. */
  readonly limitMs?: number;
  /** For `ERR_PROCESS_LIMIT`. */
  readonly maxProcesses?: number;
}

/** Where a value failed its schema (a JSON pointer, `""` for the value itself) and why. */
export interface ValidationIssue {
  path: string;
  message: string;
}

export declare class ValidationError extends ToolRuntimeError {
  readonly code: "ERR_INVALID_ARGUMENT" | "ERR_INVALID_INPUT" | "ERR_INVALID_OUTPUT";
  /** For `ERR_INVALID_INPUT` and `ERR_INVALID_OUTPUT`: the call. */
  readonly toolId?: string;
  readonly toolExecId?: string;
  /** Empty when there is nothing more precise to say than the message. */
  readonly issues: ValidationIssue[];
}

export declare class ConfigError extends ToolRuntimeError {
  readonly code: "ERR_INVALID_CONFIG" | "ERR_SANDBOX_UNAVAILABLE";
  /** For `ERR_SANDBOX_UNAVAILABLE`: what this machine lacks. */
  readonly missing?: string;
  /** For tool-runtime/queue's options and variables: the one refused. */
  readonly field?: string;
}
