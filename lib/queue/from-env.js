"use strict";
// A worker configured from environment variables, for `node lib/queue/run-worker.js` (and the
// CLI): the runtime from COMPOZY_* variables as `configFromEnv` reads them, the queue from these.

const { configError } = require("./common.js");
const { createToolWorker } = require("./worker.js");

/** ioredis connection options from a `redis://[:password@]host[:port][/db]` URL. */
function connectionFromUrl(url) {
  let u;
  try {
    u = new URL(url);
  } catch {
    throw configError(`TOOL_RUNTIME_REDIS_URL is not a URL: ${url}`, "TOOL_RUNTIME_REDIS_URL");
  }
  if (u.protocol !== "redis:" && u.protocol !== "rediss:") {
    throw configError(`TOOL_RUNTIME_REDIS_URL must be redis:// or rediss://, got ${u.protocol}`, "TOOL_RUNTIME_REDIS_URL");
  }
  const out = { host: u.hostname || "127.0.0.1", port: u.port ? Number(u.port) : 6379 };
  if (u.username) out.username = decodeURIComponent(u.username);
  if (u.password) out.password = decodeURIComponent(u.password);
  if (u.pathname && u.pathname.length > 1) out.db = Number(u.pathname.slice(1));
  if (u.protocol === "rediss:") out.tls = {};
  return out;
}

function whole(env, name) {
  const v = env[name];
  if (v === undefined || v === "") return undefined;
  if (!/^[1-9][0-9]*$/.test(v)) throw configError(`${name} must be a positive whole number, got ${v}`, name);
  return Number(v);
}

/**
 * The queue side of a worker from environment variables: TOOL_RUNTIME_REDIS_URL (default
 * redis://127.0.0.1:6379), TOOL_RUNTIME_QUEUE (default "tools"), TOOL_RUNTIME_QUEUE_KEY (required:
 * the 32-byte key, base64 or hex), TOOL_RUNTIME_CONCURRENCY, TOOL_RUNTIME_LOCK_MS,
 * TOOL_RUNTIME_STALLED_MS, TOOL_RUNTIME_WORKER_ID. Everything but the runtime.
 */
function workerOptionsFromEnv(env = process.env) {
  const connection = connectionFromUrl(env.TOOL_RUNTIME_REDIS_URL || "redis://127.0.0.1:6379");
  if (!env.TOOL_RUNTIME_QUEUE_KEY) throw configError("TOOL_RUNTIME_QUEUE_KEY is required (openssl rand -base64 32)", "TOOL_RUNTIME_QUEUE_KEY");
  return {
    connection,
    queue: env.TOOL_RUNTIME_QUEUE || "tools",
    key: env.TOOL_RUNTIME_QUEUE_KEY,
    concurrency: whole(env, "TOOL_RUNTIME_CONCURRENCY"),
    lockDurationMs: whole(env, "TOOL_RUNTIME_LOCK_MS"),
    stalledIntervalMs: whole(env, "TOOL_RUNTIME_STALLED_MS"),
    workerId: env.TOOL_RUNTIME_WORKER_ID || undefined,
  };
}

/** A worker on `runtime` with the queue options of `env`; the runtime is closed if it cannot start. */
async function startWorker(runtime, env = process.env) {
  try {
    return await createToolWorker({ ...workerOptionsFromEnv(env), runtime });
  } catch (e) {
    await runtime.close();
    throw e;
  }
}

/**
 * Creates the runtime (project root `root`, config from COMPOZY_* variables) and a worker on it
 * (queue options: see workerOptionsFromEnv).
 */
async function runWorkerFromEnv(env = process.env, root = process.cwd()) {
  const { RuntimeFactory, configFromEnv } = require("../../index.js");
  const config = configFromEnv(env);
  workerOptionsFromEnv(env); // refuse a bad queue setting before starting a runtime
  return startWorker(await new RuntimeFactory(root).createRuntime(config), env);
}

/**
 * Serves `worker` until SIGTERM or SIGINT, then closes it gracefully (calls in flight finish);
 * prints `{"ready": id}` on stdout once it takes calls. Resolves the exit code.
 */
function serveUntilSignalled(worker, name = "tool-runtime worker") {
  process.stdout.write(`${JSON.stringify({ ready: worker.id })}\n`);
  worker.onError((e) => process.stderr.write(`${name} ${worker.id}: ${e && e.message}\n`));
  return new Promise((resolve) => {
    let stopping = false;
    const stop = () => {
      if (stopping) return;
      stopping = true;
      worker.close().then(
        () => resolve(0),
        (e) => {
          process.stderr.write(`${name}: close failed: ${e && e.message}\n`);
          resolve(1);
        },
      );
    };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
  });
}

module.exports = { runWorkerFromEnv, startWorker, workerOptionsFromEnv, serveUntilSignalled, connectionFromUrl };
