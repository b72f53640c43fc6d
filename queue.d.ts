// tool-runtime/queue: tool calls run by a fleet of worker processes through BullMQ on Redis,
// with the API, result shapes and error classes of a local `Runtime`.
import type { ExecuteOptions, Runtime, ToolCaller } from "./index.js";

/** ioredis connection options (`host`, `port`, `password`, `db`, `tls`, ...). */
export interface RedisConnection {
  host?: string;
  port?: number;
  username?: string;
  password?: string;
  db?: number;
  tls?: object;
  [option: string]: unknown;
}

export interface QueueOptions {
  connection: RedisConnection;
  /** The queue's name: 1-100 characters `A-Za-z0-9_.-`. */
  queue: string;
  /**
   * 32 bytes (a Buffer, or 64 hex / 44 base64 characters) shared by clients and workers, never
   * by Redis: inputs, configs, envs, results and errors cross Redis sealed with it (AES-256-GCM).
   */
  key: Uint8Array | string;
  /** BullMQ's key prefix (default `"bull"`). */
  prefix?: string;
}

export interface ToolClientOptions extends QueueOptions {
  /** Deadline of `executeTool` calls, time in the queue included (default 60000). */
  timeoutMs?: number;
  /** Calls waiting in the queue past which a call is refused with `ERR_QUEUE_FULL` (default: no cap). */
  maxQueue?: number;
  /** How long past its deadline a running call's worker may take to answer (default 5000). */
  graceMs?: number;
  /** How long an unread result stays in Redis (default 3600000); a read one goes at once. */
  resultTtlMs?: number;
  /** How long a used `toolExecId` is remembered, refusing a second run (default 86400000). */
  idTtlMs?: number;
}

export interface QueueExecuteOptions extends ExecuteOptions {
  /**
   * The tool may run twice without harm: a call whose worker died mid-call runs again on another
   * worker instead of failing with `ERR_WORKER_LOST`.
   */
  idempotent?: boolean;
}

/** What a worker has done since it started. */
export interface WorkerMetrics {
  workerId: string;
  calls: number;
  completed: number;
  failed: number;
  /** Calls running now. */
  running: number;
  failuresByCode: Record<string, number>;
  /** Time between a call's submission and a worker taking it. */
  queueWaitMs: { mean: number; max: number; last: number };
}

// The class and the interface merge: `ToolClient` has the call overloads of `ToolCaller`.
export interface ToolClient extends ToolCaller<QueueExecuteOptions> {}
export declare class ToolClient {
  private constructor();
  /** The default deadline in milliseconds. */
  getGlobalTimeout(): number;
  /** The metrics every live worker of the queue last published (about once a second). */
  workers(): Promise<WorkerMetrics[]>;
  /** Stops waiting (pending calls reject with `ERR_RUNTIME_CLOSED`) and closes the connections. */
  close(): Promise<void>;
}

export interface ToolWorkerOptions extends QueueOptions {
  /** The runtime calls run on; the worker owns it (`close()` closes it). */
  runtime: Runtime;
  /** Calls run at once (default: the runtime's `maxConcurrency`). */
  concurrency?: number;
  /** BullMQ's job lock: a worker silent this long is taken for dead (default 30000). */
  lockDurationMs?: number;
  /** How often workers look for calls whose worker died (default 30000). */
  stalledIntervalMs?: number;
  /** How often an idempotent call may be taken back from a dead worker (default 1). */
  maxStalledCount?: number;
  /** Default: host name, pid and a random suffix. */
  workerId?: string;
}

export interface ToolWorker {
  readonly id: string;
  metrics(): WorkerMetrics;
  /** Redis and BullMQ errors; the worker keeps going (connections come back by themselves). */
  onError(listener: (err: Error) => void): void;
  /** Stops taking calls, lets calls in flight finish, then closes the runtime. Idempotent. */
  close(): Promise<void>;
}

export declare function createToolClient(options: ToolClientOptions): Promise<ToolClient>;
export declare function createToolWorker(options: ToolWorkerOptions): Promise<ToolWorker>;
/**
 * A runtime from `configFromEnv(env)` (project root `root`) and a worker on it, configured by
 * TOOL_RUNTIME_REDIS_URL, TOOL_RUNTIME_QUEUE, TOOL_RUNTIME_QUEUE_KEY, TOOL_RUNTIME_CONCURRENCY,
 * TOOL_RUNTIME_LOCK_MS, TOOL_RUNTIME_STALLED_MS, TOOL_RUNTIME_WORKER_ID.
 */
export declare function runWorkerFromEnv(env?: Record<string, string | undefined>, root?: string): Promise<ToolWorker>;
/** ioredis options from a `redis://[user:password@]host[:port][/db]` URL. */
export declare function connectionFromUrl(url: string): RedisConnection;
