// tool-runtime/queue with one worker in this process and a real redis-server: result shapes and
// errors as a local Runtime gives them, deadlines that count queue time, one run per toolExecId,
// sealed payloads (a scan of every key and of an RDB dump for the secret), results removed once
// read, ERR_QUEUE_FULL, worker metrics, option checks.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import IORedis from "ioredis";
import { AbortError, ConfigError, type Runtime, TimeoutError, ToolExecutionError, ValidationError, newId } from "tool-runtime";
import { type ToolClient, type ToolWorker, connectionFromUrl, createToolClient, createToolWorker, runWorkerFromEnv } from "tool-runtime/queue";
import { makeRuntime, sleep, tempDir } from "./helpers";
import { spawnSync } from "node:child_process";
import { FIXTURES } from "./helpers";
import { Redis, WorkerProcess, everyValue, randomKey, runs } from "./queue-helpers";

const SECRET = `s3cr3t-${newId()}`;

describe("queue: one worker in process", () => {
  let redis: Redis;
  let plain: IORedis;
  let local: Runtime;
  let worker: ToolWorker;
  let client: ToolClient;
  const key = randomKey();
  const queue = "inproc";
  const dir = tempDir("tr-queue-");

  before(async () => {
    redis = await Redis.start();
    plain = new IORedis(redis.connection);
    const config = { entrypointPath: "queue-tools.mjs", permissions: ["--allow-read", `--allow-write=${dir}`] };
    local = await makeRuntime(config);
    const runtime = await makeRuntime(config);
    worker = await createToolWorker({ connection: redis.connection, queue, key, runtime, concurrency: 1 });
    client = await createToolClient({ connection: redis.connection, queue, key });
  });

  after(async () => {
    await client?.close();
    await worker?.close();
    await local?.close();
    plain?.disconnect();
    await redis?.down();
  });

  it("returns what a local executeTool returns, metrics included", async () => {
    assert.deepEqual(await client.executeTool("add", newId(), { a: 2, b: 3 }), await local.executeTool("add", newId(), { a: 2, b: 3 }));
    const remote = await client.executeTool("add", newId(), { a: 1, b: 1 }, {}, { metrics: true });
    const here = await local.executeTool("add", newId(), { a: 1, b: 1 }, {}, { metrics: true });
    assert.deepEqual(remote.result, here.result);
    assert.deepEqual(Object.keys(remote.metrics).sort(), Object.keys(here.metrics).sort());
  });

  it("rebuilds errors as the same classes with the same codes and fields", async () => {
    const failed = (p: Promise<unknown>): Promise<any> => p.then(() => assert.fail("resolved"), (e) => e);
    const [r, l] = [await failed(client.executeTool("fails", "e-1")), await failed(local.executeTool("fails", "e-1"))];
    assert.ok(r instanceof ToolExecutionError);
    assert.equal(r.constructor, l.constructor);
    assert.equal(r.code, "ERR_TOOL_FAILED");
    assert.deepEqual({ ...r }, { ...l });
    assert.deepEqual([r.cause?.name, r.cause?.message, r.cause?.code], [l.cause?.name, l.cause?.message, l.cause?.code]);

    const nf = await failed(client.executeTool("missing", newId()));
    assert.equal(nf.code, "ERR_TOOL_NOT_FOUND");
    assert.ok(nf.availableTools.includes("add"));

    const rt: Record<string, unknown> & TimeoutError = await failed(client.executeToolWithTimeout("noisyHang", "t-1", {}, {}, 400));
    const lt: Record<string, unknown> & TimeoutError = await failed(local.executeToolWithTimeout("noisyHang", "t-1", {}, {}, 400));
    assert.ok(rt instanceof TimeoutError, `got ${rt}`);
    assert.deepEqual(Object.keys(rt).sort(), Object.keys(lt).sort());
    for (const k of ["code", "timeoutMs", "timedOut", "started", "exitCode", "signal", "toolId", "toolExecId"]) assert.deepEqual(rt[k], lt[k], k);
    assert.match(rt.stderr, /about to hang/);
  });

  it("counts time in the queue against the deadline; a call with time left runs", async () => {
    const busy = client.executeTool("sleeps", newId(), { ms: 1500 });
    await new Promise((r) => setTimeout(r, 200));
    const started = performance.now();
    const e = await client.executeToolWithTimeout("add", newId(), { a: 1, b: 2 }, {}, 300).catch((x) => x);
    assert.ok(e instanceof TimeoutError, `got ${e}`);
    assert.equal(e.started, false);
    assert.equal(e.timeoutMs, 300);
    assert.ok(performance.now() - started >= 295, "the deadline did not fire early");
    await busy;
    assert.deepEqual(await client.executeToolWithTimeout("add", newId(), { a: 1, b: 2 }, {}, 5000), { sum: 3 });
  });

  it("runs a toolExecId once: a duplicate joins it, a reuse after the result is refused", async () => {
    const log = path.join(dir, "dup.log");
    const id = newId();
    const [a, b] = await Promise.all([
      client.executeTool("record", id, { log, ms: 300, n: 1 }),
      client.executeTool("record", id, { log, ms: 300, n: 2 }),
    ]);
    assert.deepEqual(a, b);
    assert.deepEqual(runs(log), [id]);
    const again = await client.executeTool("record", id, { log }).catch((e) => e);
    assert.ok(again instanceof ValidationError);
    assert.equal(again.code, "ERR_INVALID_ARGUMENT");
    assert.deepEqual(runs(log), [id]);
    const other = newId();
    await client.executeTool("record", other, { log });
    assert.deepEqual(runs(log), [id, other]);
  });

  it("keeps the env (and input) sealed in Redis; the result is gone once read", async () => {
    // A queue with no worker yet, so the call sits in Redis while we read all of it.
    const q2 = "sealed";
    const c2 = await createToolClient({ connection: redis.connection, queue: q2, key });
    let w3: ToolWorker | undefined;
    try {
      const id = newId();
      const call = c2.executeTool("readEnv", id, { names: ["API_KEY"], also: SECRET }, { API_KEY: SECRET });
      const jobKey = `bull:${q2}:${id}`;
      while ((await plain.exists(jobKey)) === 0) await sleep(20);
      const all = await everyValue(plain);
      await plain.save();
      const dump = fs.readFileSync(path.join(redis.dir, "dump.rdb"));
      // The job is there, its tool id in clear (so the scans see it), its secret is not.
      assert.match(all.get(jobKey) ?? "", /readEnv/);
      assert.ok(dump.includes(id), "the dump holds the job");
      for (const [k, v] of all) assert.ok(!v.includes(SECRET), `${k} holds the secret`);
      assert.ok(!dump.includes(SECRET), "the dump holds the secret");
      // Now run it: the secret reached the tool (the twin of the scans above).
      w3 = await createToolWorker({ connection: redis.connection, queue: q2, key, runtime: await makeRuntime({ entrypointPath: "queue-tools.mjs" }) });
      assert.deepEqual(await call, { env: { API_KEY: SECRET } });
      assert.equal(await plain.exists(jobKey), 0, "the read result is removed");
      for (const [k, v] of await everyValue(plain)) assert.ok(!v.includes(SECRET), `${k} holds the secret`);
    } finally {
      await c2.close();
      await w3?.close();
    }
  });

  it("refuses past maxQueue with ERR_QUEUE_FULL; calls below it wait and can be aborted", async () => {
    const c3 = await createToolClient({ connection: redis.connection, queue: "no-workers", key, maxQueue: 2 });
    try {
      const ac = new AbortController();
      const first = c3.executeTool("add", newId(), { a: 1, b: 1 }, {}, { signal: ac.signal }).catch((e) => e);
      const second = c3.executeTool("add", newId(), { a: 1, b: 1 }, {}, { signal: ac.signal }).catch((e) => e);
      await new Promise((r) => setTimeout(r, 300));
      const id = newId();
      const full = await c3.executeTool("add", id, { a: 1, b: 1 }).catch((e) => e);
      assert.ok(full instanceof ToolExecutionError);
      assert.equal(full.code, "ERR_QUEUE_FULL");
      assert.equal(full.maxQueue, 2);
      assert.equal(full.toolExecId, id);
      ac.abort("enough");
      for (const e of [await first, await second]) {
        assert.ok(e instanceof AbortError, `got ${e}`);
        assert.equal(e.started, false);
        assert.equal(e.reason, "enough");
      }
    } finally {
      await c3.close();
    }
  });

  it("reports per-worker metrics, locally and through Redis", async () => {
    const m = worker.metrics();
    assert.ok(m.calls > 0 && m.completed > 0 && m.failed > 0);
    assert.ok((m.failuresByCode.ERR_TOOL_FAILED ?? 0) >= 1);
    assert.ok(m.queueWaitMs.max >= m.queueWaitMs.mean);
    await new Promise((r) => setTimeout(r, 1200));
    const seen = (await client.workers()).find((w) => w.workerId === worker.id);
    assert.ok(seen && seen.calls > 0);
  });

  it("a worker holding another key refuses the call with ERR_INVALID_CONFIG", async () => {
    const c4 = await createToolClient({ connection: redis.connection, queue, key: randomKey() });
    try {
      const e = await c4.executeTool("add", newId(), { a: 1, b: 1 }).catch((x) => x);
      assert.ok(e instanceof ConfigError, `got ${e}`);
      assert.equal(e.code, "ERR_INVALID_CONFIG");
    } finally {
      await c4.close();
    }
  });

  it("`tool-runtime worker` takes calls from the queue and exits 0 on SIGTERM; without the key it refuses to start", async () => {
    const cli = path.join(__dirname, "..", "bin", "tool-runtime.js");
    const args = [cli, "worker", "--entrypoint", "queue-tools.mjs", "--allow-read"];
    const env = { TOOL_RUNTIME_REDIS_URL: redis.url, TOOL_RUNTIME_QUEUE: "cli" };
    // Denied: no key, so no worker (a usage error, exit 2, naming the variable).
    const refused = spawnSync(process.execPath, args, { cwd: FIXTURES, env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env }, encoding: "utf8" });
    assert.equal(refused.status, 2, refused.stderr);
    assert.match(refused.stderr, /ERR_INVALID_CONFIG: TOOL_RUNTIME_QUEUE_KEY is required/);
    // Allowed: with the key it serves the queue's calls.
    const w = await WorkerProcess.start({ ...env, TOOL_RUNTIME_QUEUE_KEY: key }, FIXTURES, args);
    const c = await createToolClient({ connection: redis.connection, queue: "cli", key });
    try {
      assert.deepEqual(await c.executeTool("add", newId(), { a: 20, b: 22 }), await local.executeTool("add", newId(), { a: 20, b: 22 }));
    } finally {
      await c.close();
      const exited = new Promise<number | null>((r) => w.child.once("exit", (code) => r(code)));
      w.child.kill("SIGTERM");
      assert.equal(await exited, 0);
    }
  });

  it("compares deadlines on Redis's clock: a worker whose clock is ten minutes ahead runs a call with time left", async () => {
    // The worker's JS clock is moved, as on a machine whose clock is off; the client's is right.
    const skew = path.join(dir, "clock-ahead.mjs");
    fs.writeFileSync(skew, "const now = Date.now; Date.now = () => now() + 600_000;\n");
    const cli = path.join(__dirname, "..", "bin", "tool-runtime.js");
    const args = ["--import", skew, cli, "worker", "--entrypoint", "queue-tools.mjs", "--allow-read"];
    const w = await WorkerProcess.start({ TOOL_RUNTIME_REDIS_URL: redis.url, TOOL_RUNTIME_QUEUE: "skewed", TOOL_RUNTIME_QUEUE_KEY: key }, FIXTURES, args);
    const c = await createToolClient({ connection: redis.connection, queue: "skewed", key });
    try {
      assert.deepEqual(await c.executeToolWithTimeout("add", newId(), { a: 1, b: 2 }, null, 20_000), { sum: 3 });
      await sleep(1500); // the worker publishes its metrics about once a second
      const [metrics] = (await c.workers()).filter((m) => m.workerId === w.id);
      assert.ok(metrics && metrics.queueWaitMs.max < 60_000, `queue wait measured on one clock: ${JSON.stringify(metrics)}`);
    } finally {
      await c.close();
      const exited = new Promise<number | null>((r) => w.child.once("exit", (code) => r(code)));
      w.child.kill("SIGTERM");
      assert.equal(await exited, 0);
    }
  });

  it("refuses bad options and arguments with stable codes", async () => {
    await assert.rejects(createToolClient({ connection: redis.connection, queue, key: "short" }), { code: "ERR_INVALID_CONFIG", field: "key" });
    await assert.rejects(createToolClient({ connection: redis.connection, queue: "a b", key }), { code: "ERR_INVALID_CONFIG", field: "queue" });
    await assert.rejects(createToolClient({ connection: redis.connection, queue, key, maxQueue: -1 }), { code: "ERR_INVALID_CONFIG" });
    await assert.rejects(client.executeTool("add", "12345"), { code: "ERR_INVALID_ARGUMENT" });
    await assert.rejects(client.executeTool("add", newId(), { x: 10n }), { code: "ERR_INVALID_ARGUMENT" });
    await assert.rejects(client.executeToolWithTimeout("add", newId(), {}, {}, 0), { code: "ERR_INVALID_ARGUMENT" });
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(client.executeTool("add", newId(), {}, {}, { signal: ac.signal }), { code: "ERR_ABORTED", started: false });
    await assert.rejects(runWorkerFromEnv({ TOOL_RUNTIME_REDIS_URL: redis.url }), { code: "ERR_INVALID_CONFIG", field: "TOOL_RUNTIME_QUEUE_KEY" });
    await assert.rejects(runWorkerFromEnv({ TOOL_RUNTIME_REDIS_URL: "http://x", TOOL_RUNTIME_QUEUE_KEY: key }), { code: "ERR_INVALID_CONFIG" });
    assert.deepEqual(connectionFromUrl("redis://:p%40ss@cache.internal:6380/2"), { host: "cache.internal", port: 6380, password: "p@ss", db: 2 });
  });
});
