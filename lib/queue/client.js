"use strict";
// The caller's side: `executeTool` as on a local `Runtime`, with the call run by whichever
// worker takes it from the queue.

const { ValidationError, TimeoutError, AbortError, ConfigError } = require("../errors.js");
const { load, checkOptions, positive, names, redisOptions, KEY_MISMATCH } = require("./common.js");
const { RedisClock } = require("./clock.js");
const { parseKey, seal, open, isSealed } = require("./seal.js");
const { errorFromWire, queueError } = require("./wire.js");

const SWEEP_EVERY_MS = 2000;
const JOIN_TRIES = 25;

function invalid(message) {
  return new ValidationError(message, { code: "ERR_INVALID_ARGUMENT" });
}

function checkCall(toolId, toolExecId, env, options) {
  if (typeof toolId !== "string") throw invalid("toolId must be a string");
  if (typeof toolExecId !== "string" || !/^[A-Za-z0-9_.-]{1,200}$/.test(toolExecId) || /^\d+$/.test(toolExecId)) {
    // BullMQ reserves all-digit ids for its own counter, and the id names Redis keys.
    throw invalid("toolExecId must be 1-200 characters A-Za-z0-9_.- and not only digits (newId() makes one)");
  }
  if (env !== undefined && env !== null && (typeof env !== "object" || Array.isArray(env))) {
    throw invalid("env must be an object of string values");
  }
  if (options !== undefined && options !== null && typeof options !== "object") throw invalid("options must be an object");
  const signal = options ? options.signal : undefined;
  if (signal !== undefined && signal !== null && !(signal instanceof AbortSignal)) {
    throw invalid("options.signal must be an AbortSignal");
  }
  if (options && options.idempotent !== undefined && typeof options.idempotent !== "boolean") {
    throw invalid("options.idempotent must be a boolean");
  }
}

/** What the worker's runtime gets as `options` (sealed with the input and env). */
function runtimeOptions(options) {
  const out = {};
  if (!options) return out;
  for (const k of ["config", "memoryLimitMb", "cpuTimeLimitMs", "metrics"]) if (options[k] !== undefined) out[k] = options[k];
  return out;
}

function abortedBeforeStart(toolId, toolExecId, signal) {
  return new AbortError(`tool ${toolId} was aborted before it started`, {
    code: "ERR_ABORTED",
    toolId,
    toolExecId,
    reason: signal.reason === undefined ? null : signal.reason,
    isCanceled: true,
    started: false,
  });
}

function timedOut(toolId, toolExecId, timeoutMs, started) {
  const where = started ? "on its worker, which did not answer" : "in the queue";
  return new TimeoutError(`tool ${toolId} timed out after ${timeoutMs} ms (${where})`, {
    code: "ERR_TOOL_TIMEOUT",
    toolId,
    toolExecId,
    timeoutMs,
    timedOut: true,
    started,
    exitCode: null,
    signal: null,
    stderr: "",
    stdout: "",
  });
}

class ToolClient {
  #o;
  #queue;
  #events;
  #redis;
  #names;
  #key;
  #waiters = new Map();
  #sweeper;
  #clock;
  #closed = false;

  /** @internal */
  constructor(o, queue, events, redis, clock) {
    this.#o = o;
    this.#clock = clock;
    this.#queue = queue;
    this.#events = events;
    this.#redis = redis;
    this.#names = names(o.prefix, o.queue);
    this.#key = o.key;
    events.on("completed", ({ jobId, returnvalue }) => this.#settle(jobId, { returnvalue }));
    events.on("failed", ({ jobId, failedReason }) => this.#settle(jobId, { failedReason }));
    // After Redis comes back (a restart loses what it held without persistence), and now and
    // then in case an event was missed, every call still waited for is looked up.
    let connectedBefore = false;
    redis.on("ready", () => {
      if (connectedBefore) this.#sweep();
      connectedBefore = true;
    });
    this.#sweeper = setInterval(() => this.#sweep(), SWEEP_EVERY_MS);
    this.#sweeper.unref();
  }

  /** The default per-call deadline in milliseconds (queue time included). */
  getGlobalTimeout() {
    return this.#o.timeoutMs;
  }

  executeTool(toolId, toolExecId, input, env, options) {
    return this.#execute(toolId, toolExecId, input, env, this.#o.timeoutMs, options);
  }

  executeToolWithTimeout(toolId, toolExecId, input, env, timeoutMs, options) {
    if (typeof timeoutMs !== "number" || !Number.isInteger(timeoutMs) || timeoutMs <= 0) {
      return Promise.reject(invalid(`timeoutMs must be a positive whole number of milliseconds, got ${String(timeoutMs)}`));
    }
    return this.#execute(toolId, toolExecId, input, env, timeoutMs, options);
  }

  /** The metrics each live worker last published (calls, failures by code, queue wait). */
  async workers() {
    const keys = [];
    let cursor = "0";
    do {
      const [next, batch] = await this.#redis.scan(cursor, "MATCH", this.#names.workerPattern, "COUNT", 100);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== "0");
    if (keys.length === 0) return [];
    const values = await this.#redis.mget(...keys);
    return values.filter(Boolean).map((v) => JSON.parse(v));
  }

  async #execute(toolId, toolExecId, input, env, timeoutMs, options) {
    checkCall(toolId, toolExecId, env, options);
    const signal = options ? options.signal : undefined;
    if (signal && signal.aborted) throw abortedBeforeStart(toolId, toolExecId, signal);
    if (this.#closed) throw queueError("ERR_RUNTIME_CLOSED", "the client is closed", {});
    const deadline = Date.now() + timeoutMs;
    const call = { toolId, toolExecId, timeoutMs, signal };
    const payload = { input: input === undefined ? {} : input, env: env ?? undefined, options: runtimeOptions(options) };
    let sealed;
    try {
      sealed = seal(this.#key, this.#o.queue, toolExecId, payload);
    } catch (e) {
      throw invalid(`input or options.config is not JSON-serialisable: ${e && e.message}`);
    }
    const waiting = this.#wait(toolExecId);
    let timer;
    try {
      // While Redis is away the submit waits for it to come back, but not past the deadline.
      const late = new Promise((_, reject) => {
        timer = setTimeout(() => reject(timedOut(toolId, toolExecId, timeoutMs, false)), timeoutMs);
      });
      await Promise.race([this.#submit(call, sealed, deadline, !!(options && options.idempotent)), late]);
    } catch (e) {
      this.#forget(toolExecId, waiting);
      throw e;
    } finally {
      clearTimeout(timer);
    }
    return this.#outcome(call, waiting, deadline);
  }

  async #submit(call, sealed, deadline, idempotent) {
    const { toolId, toolExecId, timeoutMs } = call;
    const redisDown = (e) =>
      queueError("ERR_QUEUE_UNAVAILABLE", `tool ${toolId} could not be queued: ${e && e.message}`, { toolId, toolExecId });
    let fresh;
    try {
      fresh = await this.#redis.set(this.#names.used(toolExecId), "1", "PX", this.#o.idTtlMs, "NX");
    } catch (e) {
      throw redisDown(e);
    }
    if (fresh === null) {
      // The id was used before: join that call while its job exists, never run it again. A
      // submit of the same id a moment earlier may not have added its job yet.
      for (let i = 0; i < JOIN_TRIES; i += 1) {
        if (await this.#redis.exists(this.#names.job(toolExecId))) {
          this.#markSubmitted(toolExecId);
          return this.#sweepOne(toolExecId);
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      throw invalid(`toolExecId ${toolExecId} was already used (within ${this.#o.idTtlMs} ms); each call needs a new one`);
    }
    try {
      if (this.#o.maxQueue !== undefined) {
        const queued = await this.#queue.count();
        if (queued >= this.#o.maxQueue) {
          await this.#redis.del(this.#names.used(toolExecId));
          throw queueError("ERR_QUEUE_FULL", `tool ${toolId} was refused: ${queued} calls are waiting (maxQueue ${this.#o.maxQueue})`, {
            toolId,
            toolExecId,
            maxQueue: this.#o.maxQueue,
          });
        }
      }
      // Deadlines cross machines on Redis's clock; `deadline` here is this process's own.
      const submittedAt = this.#clock.now();
      const data = { v: 1, toolId, sealed, deadline: submittedAt + (deadline - Date.now()), submittedAt, timeoutMs, idempotent };
      await this.#queue.add(toolId, data, {
        jobId: toolExecId,
        attempts: 1,
        // Results are removed when read; these only bound what an absent reader leaves behind.
        removeOnComplete: { age: Math.ceil(this.#o.resultTtlMs / 1000) },
        removeOnFail: { age: Math.ceil(this.#o.resultTtlMs / 1000) },
      });
    } catch (e) {
      if (e && e.code === "ERR_QUEUE_FULL") throw e;
      throw redisDown(e);
    }
    this.#markSubmitted(toolExecId);
  }

  /** The sweep looks for this call's job from now on. A fast job may already be settled (and its entry gone). */
  #markSubmitted(id) {
    const entry = this.#waiters.get(id);
    if (entry) entry.submitted = true;
  }

  #wait(id) {
    let entry = this.#waiters.get(id);
    if (!entry) {
      entry = { submitted: false, listeners: [] };
      this.#waiters.set(id, entry);
    }
    let resolve;
    const promise = new Promise((r) => (resolve = r));
    entry.listeners.push(resolve);
    return { promise, resolve };
  }

  #forget(id, waiting) {
    const entry = this.#waiters.get(id);
    if (!entry) return;
    entry.listeners = entry.listeners.filter((l) => l !== waiting.resolve);
    if (entry.listeners.length === 0) this.#waiters.delete(id);
  }

  /** Hands a finished job's outcome to everyone waiting for it. */
  #settle(id, outcome) {
    const entry = this.#waiters.get(id);
    if (!entry) return;
    this.#waiters.delete(id);
    for (const l of entry.listeners) l(outcome);
  }

  async #sweepOne(id) {
    const [returnvalue, failedReason, finishedOn] = await this.#redis.hmget(this.#names.job(id), "returnvalue", "failedReason", "finishedOn");
    if (finishedOn !== null) {
      this.#settle(id, failedReason !== null && returnvalue === null ? { failedReason } : { returnvalue });
      return;
    }
    const exists = await this.#redis.exists(this.#names.job(id));
    if (!exists) this.#settle(id, { lost: true });
  }

  #sweep() {
    for (const [id, entry] of this.#waiters) {
      if (entry.submitted) this.#sweepOne(id).catch(() => {});
    }
  }

  async #outcome(call, waiting, deadline) {
    const { toolId, toolExecId, timeoutMs, signal } = call;
    let timer;
    let graceTimer;
    let onAbort;
    const interrupted = new Promise((resolve) => {
      timer = setTimeout(() => resolve("deadline"), Math.max(0, deadline - Date.now()));
      if (signal) {
        onAbort = () => resolve("abort");
        signal.addEventListener("abort", onAbort, { once: true });
      }
    });
    try {
      let outcome = await Promise.race([waiting.promise, interrupted]);
      if (outcome === "deadline" || outcome === "abort") {
        const why = outcome;
        // A call still waiting is taken out of the queue; a running one is cancelled on its
        // worker, whose answer (the tool's process tree killed) is awaited for a grace period.
        if ((await this.#removeIfWaiting(toolExecId)) === 1) {
          this.#forget(toolExecId, waiting);
          await this.#redis.del(this.#names.job(toolExecId)).catch(() => {});
          throw why === "abort" ? abortedBeforeStart(toolId, toolExecId, signal) : timedOut(toolId, toolExecId, timeoutMs, false);
        }
        if (why === "abort") await this.#cancel(toolExecId);
        const grace = new Promise((resolve) => {
          graceTimer = setTimeout(() => resolve("grace"), this.#o.graceMs + Math.max(0, deadline - Date.now()));
        });
        outcome = await Promise.race([waiting.promise, grace]);
        if (outcome === "grace") {
          this.#forget(toolExecId, waiting);
          await this.#cancel(toolExecId);
          throw why === "abort" ? abortedBeforeStart(toolId, toolExecId, signal) : timedOut(toolId, toolExecId, timeoutMs, true);
        }
      }
      return await this.#read(call, outcome);
    } finally {
      clearTimeout(timer);
      clearTimeout(graceTimer);
      if (signal && onAbort) signal.removeEventListener("abort", onAbort);
    }
  }

  /** 1 when the call was still queued and is now out of the queue (no worker will run it). */
  async #removeIfWaiting(id) {
    try {
      const state = await this.#queue.getJobState(id);
      if (state !== "waiting" && state !== "prioritized" && state !== "delayed") return 0;
      return await this.#queue.remove(id);
    } catch {
      return 0;
    }
  }

  async #cancel(toolExecId) {
    try {
      await this.#redis.set(this.#names.cancelled(toolExecId), "1", "PX", this.#o.idTtlMs);
      await this.#redis.publish(this.#names.cancelChannel, toolExecId);
    } catch {
      // Redis is away: the deadline the worker holds still ends the call.
    }
  }

  /** The result, or the error rebuilt; the job (and its result) is removed from Redis once read. */
  async #read(call, outcome) {
    const { toolId, toolExecId, signal } = call;
    if (outcome.closed) throw queueError("ERR_RUNTIME_CLOSED", `the client was closed while ${toolExecId} was pending`, {});
    if (outcome.lost) {
      throw queueError("ERR_QUEUE_UNAVAILABLE", `tool ${toolId} was lost by the queue (Redis restarted or was flushed)`, {
        toolId,
        toolExecId,
      });
    }
    await this.#queue.remove(toolExecId).catch(() => {});
    const text = outcome.returnvalue !== undefined && outcome.returnvalue !== null ? outcome.returnvalue : outcome.failedReason;
    const sealed = typeof text === "string" && text.startsWith('"') ? JSON.parse(text) : text;
    if (sealed === KEY_MISMATCH) {
      throw new ConfigError(`the worker could not open ${toolExecId}: the client's key is not the workers'`, {
        code: "ERR_INVALID_CONFIG",
        field: "key",
      });
    }
    if (!isSealed(sealed)) {
      // BullMQ wrote this itself: a job whose worker died mid-call more often than allowed.
      if (/stalled/i.test(String(text))) {
        throw queueError("ERR_WORKER_LOST", `tool ${toolId} was lost: its worker died while running it`, {
          toolId,
          toolExecId,
          started: true,
        });
      }
      throw queueError("ERR_INTERNAL", `tool ${toolId} failed in the queue: ${String(text)}`, { toolId, toolExecId });
    }
    let answer;
    try {
      answer = open(this.#key, this.#o.queue, toolExecId, sealed);
    } catch {
      throw queueError("ERR_INTERNAL", `the answer to ${toolExecId} does not open with this client's key`, { toolId, toolExecId });
    }
    if (answer.ok) return answer.value;
    const err = errorFromWire(answer.error);
    // The worker only knew that the call was cancelled; why is the caller's signal's.
    if (err instanceof AbortError && signal && signal.aborted) err.reason = signal.reason === undefined ? null : signal.reason;
    throw err;
  }

  /** Stops waiting: calls still pending reject with `ERR_RUNTIME_CLOSED`. Idempotent. */
  async close() {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#sweeper);
    this.#clock.stop();
    for (const [id] of this.#waiters) this.#settle(id, { closed: true });
    await this.#events.close();
    await this.#queue.close();
    this.#redis.disconnect();
  }
}

/** A client of the workers that serve `queue` on the Redis at `connection`. */
async function createToolClient(options) {
  checkOptions(options, "createToolClient");
  const where = "createToolClient";
  const { Queue, QueueEvents } = load("bullmq");
  const Redis = load("ioredis");
  const o = {
    queue: options.queue,
    prefix: options.prefix ?? "bull",
    key: parseKey(options.key, where),
    timeoutMs: positive(options, "timeoutMs", 60_000, where),
    graceMs: positive(options, "graceMs", 5_000, where),
    resultTtlMs: positive(options, "resultTtlMs", 3_600_000, where),
    idTtlMs: positive(options, "idTtlMs", 86_400_000, where),
    maxQueue: positive(options, "maxQueue", undefined, where),
  };
  const queue = new Queue(o.queue, { connection: options.connection, prefix: o.prefix });
  const events = new QueueEvents(o.queue, { connection: options.connection, prefix: o.prefix });
  const redis = new Redis(redisOptions(options.connection));
  queue.on("error", () => {});
  events.on("error", () => {});
  redis.on("error", () => {});
  const [clock] = await Promise.all([new RedisClock(redis).start(), queue.waitUntilReady(), events.waitUntilReady()]);
  return new ToolClient(o, queue, events, redis, clock);
}

module.exports = { createToolClient, ToolClient };
