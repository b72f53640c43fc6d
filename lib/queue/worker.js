"use strict";
// A process that takes tool calls from a BullMQ queue and runs them on the runtime it embeds,
// sandboxed and limited exactly as local calls are.

const crypto = require("node:crypto");
const { TimeoutError, AbortError } = require("../errors.js");
const { load, configError, checkOptions, positive, names, redisOptions, KEY_MISMATCH } = require("./common.js");
const { parseKey, seal, open } = require("./seal.js");
const { errorToWire, queueError } = require("./wire.js");
const { RedisClock } = require("./clock.js");

const METRICS_EVERY_MS = 1000;

class WorkerMetrics {
  constructor(id) {
    this.workerId = id;
    this.calls = 0;
    this.completed = 0;
    this.failed = 0;
    this.running = 0;
    this.failuresByCode = {};
    this.queueWaitMs = { total: 0, max: 0, last: 0 };
  }

  began(waitMs) {
    this.calls += 1;
    this.running += 1;
    this.queueWaitMs.total += waitMs;
    this.queueWaitMs.last = waitMs;
    if (waitMs > this.queueWaitMs.max) this.queueWaitMs.max = waitMs;
  }

  ended(code) {
    this.running -= 1;
    if (code === undefined) {
      this.completed += 1;
    } else {
      this.failed += 1;
      this.failuresByCode[code] = (this.failuresByCode[code] ?? 0) + 1;
    }
  }

  snapshot() {
    const { total, max, last } = this.queueWaitMs;
    return {
      workerId: this.workerId,
      calls: this.calls,
      completed: this.completed,
      failed: this.failed,
      running: this.running,
      failuresByCode: { ...this.failuresByCode },
      queueWaitMs: { mean: this.calls ? total / this.calls : 0, max, last },
    };
  }
}

class KeyMismatch extends Error {
  constructor() {
    super(KEY_MISMATCH);
    this.code = "ERR_INVALID_CONFIG";
  }
}

/** Fails the job with `err`, sealed, so only a key holder learns what it says. */
function failure(ctx, jobId, err) {
  if (err instanceof KeyMismatch) return err;
  return new Error(seal(ctx.key, ctx.queue, jobId, { ok: false, error: errorToWire(err) }));
}

async function runJob(ctx, job) {
  const data = job.data;
  const jobId = job.id;
  const toolExecId = jobId;
  ctx.metrics.began(Math.max(0, ctx.clock.now() - (data.submittedAt ?? job.timestamp)));
  let code;
  try {
    const value = await runCall(ctx, job, data, toolExecId);
    return seal(ctx.key, ctx.queue, jobId, { ok: true, value });
  } catch (err) {
    code = (err && err.code) || "ERR_INTERNAL";
    throw failure(ctx, jobId, err);
  } finally {
    ctx.metrics.ended(code);
  }
}

async function runCall(ctx, job, data, toolExecId) {
  const toolId = data.toolId;
  // A job that a worker had already started before it died comes back through BullMQ's stalled
  // check. Running it again is only safe when the caller said the tool is idempotent.
  if (job.progress && typeof job.progress === "object" && job.progress.startedBy && !data.idempotent) {
    throw queueError("ERR_WORKER_LOST", `tool ${toolId} was lost: worker ${job.progress.startedBy} died while running it`, {
      toolId,
      toolExecId,
      started: true,
      lostWorker: job.progress.startedBy,
    });
  }
  if (await ctx.redis.exists(ctx.names.cancelled(toolExecId))) {
    throw new AbortError(`tool ${toolId} was aborted before it started`, {
      code: "ERR_ABORTED",
      toolId,
      toolExecId,
      reason: null,
      isCanceled: true,
      started: false,
    });
  }
  let call;
  try {
    call = open(ctx.key, ctx.queue, job.id, data.sealed);
  } catch {
    throw new KeyMismatch();
  }
  const remaining = data.deadline - ctx.clock.now();
  if (remaining <= 0) {
    throw new TimeoutError(`tool ${toolId} timed out after ${data.timeoutMs} ms (in the queue)`, {
      code: "ERR_TOOL_TIMEOUT",
      toolId,
      toolExecId,
      timeoutMs: data.timeoutMs,
      timedOut: true,
      started: false,
      exitCode: null,
      signal: null,
      stderr: "",
      stdout: "",
    });
  }
  await job.updateProgress({ startedBy: ctx.id, at: Date.now() });
  const controller = new AbortController();
  ctx.active.set(toolExecId, controller);
  try {
    const options = { signal: controller.signal, ...call.options };
    return await ctx.runtime.executeToolWithTimeout(toolId, toolExecId, call.input, call.env, remaining, options);
  } catch (err) {
    // The runtime saw only what was left of the deadline; the caller set the whole of it.
    if (err instanceof TimeoutError) {
      err.timeoutMs = data.timeoutMs;
      err.message = err.message.replace(/after \d+ ms/, `after ${data.timeoutMs} ms`);
    }
    throw err;
  } finally {
    ctx.active.delete(toolExecId);
  }
}

/**
 * Starts taking calls from `queue`. `runtime` is a `Runtime` this worker owns from now on:
 * `close()` closes it.
 */
async function createToolWorker(options) {
  checkOptions(options, "createToolWorker");
  const { Worker } = load("bullmq");
  const Redis = load("ioredis");
  const runtime = options.runtime;
  if (!runtime || typeof runtime.executeToolWithTimeout !== "function") {
    throw configError("createToolWorker.runtime must be a Runtime (from RuntimeFactory.createRuntime)", "runtime");
  }
  const where = "createToolWorker";
  const concurrency = positive(options, "concurrency", runtime.config.maxConcurrency || 1, where);
  const lockDuration = positive(options, "lockDurationMs", 30_000, where);
  const stalledInterval = positive(options, "stalledIntervalMs", 30_000, where);
  const maxStalledCount = positive(options, "maxStalledCount", 1, where);
  const prefix = options.prefix ?? "bull";
  const id = options.workerId ?? `${require("node:os").hostname()}-${process.pid}-${crypto.randomBytes(3).toString("hex")}`;
  const ctx = {
    id,
    queue: options.queue,
    key: parseKey(options.key, where),
    runtime,
    names: names(prefix, options.queue),
    active: new Map(),
    metrics: new WorkerMetrics(id),
    redis: new Redis(redisOptions(options.connection)),
  };
  ctx.redis.on("error", () => {}); // ioredis reconnects by itself; BullMQ reports on the worker
  ctx.clock = await new RedisClock(ctx.redis).start();
  const sub = ctx.redis.duplicate();
  sub.on("error", () => {});
  sub.on("message", (_channel, toolExecId) => {
    const controller = ctx.active.get(toolExecId);
    if (controller) controller.abort();
  });
  await sub.subscribe(ctx.names.cancelChannel);

  const bullWorker = new Worker(options.queue, (job) => runJob(ctx, job), {
    connection: options.connection,
    prefix,
    concurrency,
    lockDuration,
    stalledInterval,
    maxStalledCount,
    autorun: false,
  });
  const errorListeners = [];
  bullWorker.on("error", (err) => {
    for (const fn of errorListeners) fn(err);
  });
  bullWorker.run().catch(() => {});
  await bullWorker.waitUntilReady();

  const publish = () =>
    ctx.redis.set(ctx.names.worker(id), JSON.stringify(ctx.metrics.snapshot()), "PX", METRICS_EVERY_MS * 5).catch(() => {});
  await publish();
  const timer = setInterval(publish, METRICS_EVERY_MS);
  timer.unref();

  let closing;
  return {
    id,
    /** Calls taken, completed and failed (by code), running now, and time spent queued. */
    metrics: () => ctx.metrics.snapshot(),
    /** Redis and BullMQ errors (the worker keeps going: ioredis reconnects). */
    onError: (fn) => errorListeners.push(fn),
    /**
     * Stops taking calls, lets the calls in flight finish (each within its deadline), then closes
     * the runtime and the connections. Idempotent.
     */
    close() {
      closing ??= (async () => {
        clearInterval(timer);
        ctx.clock.stop();
        await bullWorker.close();
        await runtime.close();
        await ctx.redis.del(ctx.names.worker(id)).catch(() => {});
        sub.disconnect();
        ctx.redis.disconnect();
      })();
      return closing;
    },
  };
}

module.exports = { createToolWorker };
