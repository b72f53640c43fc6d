// tool-runtime/queue as deployed: a real redis-server, three worker processes started from the
// documented script (lib/queue/run-worker.js), one client. 1,000 calls run exactly once; a
// worker SIGKILLed mid-run loses no call and runs none twice unless it was marked idempotent;
// an abort from the client kills the tool's process on its worker; a Redis crash and restart
// mid-run leaves every call completed or failed with a code, and later calls work.
import assert from "node:assert/strict";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { AbortError, ToolExecutionError, ToolRuntimeError, newId } from "tool-runtime";
import { type ToolClient, createToolClient } from "tool-runtime/queue";
import { processAlive, sleep, tempDir } from "./helpers";
import { Redis, WorkerProcess, holdersOf, logLines, randomKey, runs, waitFor } from "./queue-helpers";

const CODE_CLASSES: Record<string, string> = require("../lib/codes.js");

describe("queue: three worker processes and a client", () => {
  let redis: Redis;
  let client: ToolClient;
  const workers: WorkerProcess[] = [];
  const key = randomKey();
  const queue = "fleet";
  const dir = tempDir("tr-fleet-");
  const LONG = 300_000; // a deadline that never decides these tests

  let tags = 0;
  const startWorker = async () => {
    const w = await WorkerProcess.start({
      TOOL_RUNTIME_REDIS_URL: redis.url,
      TOOL_RUNTIME_QUEUE: queue,
      TOOL_RUNTIME_QUEUE_KEY: key,
      TOOL_RUNTIME_CONCURRENCY: "2",
      // A dead worker's calls are noticed after about 2 s rather than BullMQ's default 30 s.
      TOOL_RUNTIME_LOCK_MS: "2000",
      TOOL_RUNTIME_STALLED_MS: "1000",
      COMPOZY_BUN_PERMISSIONS: `--allow-read,--allow-write=${dir},--allow-env=QUEUE_WORKER_TAG`,
      QUEUE_WORKER_TAG: `w${++tags}`,
    });
    workers.push(w);
    return w;
  };
  const live = () => workers.filter((w) => !w.exited);

  before(async () => {
    redis = await Redis.start();
    await Promise.all([startWorker(), startWorker(), startWorker()]);
    client = await createToolClient({ connection: redis.connection, queue, key });
  });

  after(async () => {
    await client?.close();
    const closing = live();
    await Promise.all(closing.map((w) => w.kill("SIGTERM")));
    for (const w of closing) assert.equal(w.child.exitCode, 0, `worker ${w.id} closed gracefully`);
    await redis?.down();
  });

  it("runs 1,000 calls, each exactly once, spread over the three workers", async () => {
    const log = path.join(dir, "thousand.log");
    const ids = Array.from({ length: 1000 }, () => newId());
    const results = await Promise.all(ids.map((id, n) => client.executeToolWithTimeout("record", id, { log, n }, {}, LONG)));
    results.forEach((r, n) => assert.deepEqual(r, { id: ids[n], n }));
    const ran = runs(log);
    assert.equal(ran.length, 1000);
    assert.deepEqual([...ran].sort(), [...ids].sort());
    const byWorker = new Map<string, number>();
    for (const l of logLines(log)) byWorker.set(l.worker, (byWorker.get(l.worker) ?? 0) + 1);
    assert.deepEqual([...byWorker.keys()].sort(), workers.map((w) => w.tag).sort(), "every worker ran calls");
    await sleep(1200);
    const metrics = await client.workers();
    assert.equal(metrics.length, 3);
    assert.ok(metrics.reduce((s, m) => s + m.completed, 0) >= 1000);
  });

  /**
   * Submits `count` calls of 3 s, SIGKILLs a worker while it runs some of them, starts a fresh
   * worker in its place, and returns each call's outcome, how often each ran, and which ran on
   * the dead worker when it died.
   */
  async function killMidRun(idempotent: boolean, count = 8) {
    const log = path.join(dir, `kill-${idempotent}.log`);
    const ids = Array.from({ length: count }, () => newId());
    const settledIds = new Set<string>();
    const outcomes = ids.map((id) =>
      client
        .executeToolWithTimeout("record", id, { log, ms: 3000 }, {}, LONG, { idempotent })
        .then(
          (value) => ({ value, error: undefined as any }),
          (error) => ({ value: undefined, error }),
        )
        .finally(() => settledIds.add(id)),
    );
    const running = () => logLines(log).filter((l) => !settledIds.has(l.id));
    await waitFor(() => running().length > 0, "a call to start");
    const victim = live().find((w) => w.tag === running()[0].worker)!;
    const onVictim = new Set(running().filter((l) => l.worker === victim.tag).map((l) => l.id));
    await victim.kill("SIGKILL");
    const settled = await Promise.all(outcomes);
    await startWorker();
    const counts = new Map<string, number>();
    for (const id of runs(log)) counts.set(id, (counts.get(id) ?? 0) + 1);
    return { ids, settled, counts, onVictim };
  }

  it("a call whose worker is SIGKILLed mid-run fails with ERR_WORKER_LOST; none runs twice", async () => {
    const { ids, settled, counts, onVictim } = await killMidRun(false);
    let lost = 0;
    ids.forEach((id, n) => {
      const { value, error } = settled[n];
      if (error) {
        assert.ok(error instanceof ToolExecutionError, `${error}`);
        assert.equal(error.code, "ERR_WORKER_LOST");
        assert.equal(error.toolExecId, id);
        assert.ok((counts.get(id) ?? 0) <= 1, `${id} ran at most once`);
        lost += 1;
      } else {
        assert.equal(counts.get(id), 1, `${id} completed and ran exactly once`);
        assert.equal(value?.id, id);
      }
    });
    assert.ok(onVictim.size >= 1);
    assert.ok(lost >= 1, "the calls the dead worker was running are ERR_WORKER_LOST");
  });

  it("an idempotent call whose worker is SIGKILLed mid-run runs again on another worker", async () => {
    const { ids, settled, counts, onVictim } = await killMidRun(true);
    ids.forEach((id, n) => {
      const { value, error } = settled[n];
      assert.equal(error, undefined, `idempotent ${id} completes: ${error}`);
      assert.equal(value?.id, id);
      assert.ok([1, 2].includes(counts.get(id) ?? 0), `${id} ran once, or twice when its worker died`);
    });
    const again = [...onVictim].filter((id) => counts.get(id) === 2);
    assert.ok(again.length >= 1, "a call the dead worker was running ran again");
  });

  it("an abort from the client kills the tool's process on its worker", async () => {
    const holdFile = path.join(dir, "abort.held");
    const ac = new AbortController();
    const call = client.executeToolWithTimeout("sleeps", newId(), { holdFile }, {}, LONG, { signal: ac.signal });
    let pids: number[] = [];
    await waitFor(() => (pids = holdersOf(holdFile)).length > 0, "the tool to start");
    assert.ok(pids.every(processAlive));
    ac.abort("user cancelled");
    const e = await call.catch((x) => x);
    assert.ok(e instanceof AbortError, `got ${e}`);
    assert.equal(e.code, "ERR_ABORTED");
    assert.equal(e.started, true);
    assert.equal(e.reason, "user cancelled");
    await waitFor(() => !pids.some(processAlive) && holdersOf(holdFile).length === 0, "the tool's process to be killed");
    // The twin: the same tool, not aborted, runs to its end.
    assert.deepEqual(await client.executeToolWithTimeout("sleeps", newId(), { ms: 200 }, {}, LONG), { slept: 200 });
  });

  it("a tool on a worker cannot read the worker's key, from its env or the worker's /proc", async () => {
    const seen = await client.executeToolWithTimeout("workerEnviron", newId(), {}, {}, LONG);
    assert.equal(seen.own, null);
    assert.equal(seen.holdsKey, false);
    assert.match(String(seen.environ), /^unreadable/);
    // The twin: the worker does hold it, where the tool looked.
    const environ = require("node:fs").readFileSync(`/proc/${live()[0].pid}/environ`, "utf8");
    assert.ok(environ.includes(`TOOL_RUNTIME_QUEUE_KEY=${key}`));
  });

  it("survives a Redis crash and restart mid-run: calls in flight complete or fail typed, later calls work", async () => {
    const log = path.join(dir, "restart.log");
    const ids = Array.from({ length: 30 }, () => newId());
    const outcomes = ids.map((id) =>
      client.executeToolWithTimeout("record", id, { log, ms: 1500 }, {}, 60_000).then(
        (value) => ({ value, error: undefined as any }),
        (error) => ({ value: undefined, error }),
      ),
    );
    await waitFor(() => runs(log).length >= 2, "calls to start");
    await redis.down();
    await sleep(500);
    await redis.up();
    const settled = await Promise.all(outcomes);
    const counts = new Map<string, number>();
    for (const id of runs(log)) counts.set(id, (counts.get(id) ?? 0) + 1);
    let failed = 0;
    settled.forEach(({ value, error }, n) => {
      if (error) {
        assert.ok(error instanceof ToolRuntimeError, `${error}`);
        assert.ok(Object.hasOwn(CODE_CLASSES, error.code), `typed: ${error.code}`);
        assert.notEqual(error.code, "ERR_INTERNAL", error.message);
        failed += 1;
      } else {
        assert.equal(value?.id, ids[n]);
      }
      assert.ok((counts.get(ids[n]) ?? 0) <= 1, `${ids[n]} ran at most once`);
    });
    assert.ok(failed >= 1, "the calls Redis forgot fail");
    const later = Array.from({ length: 20 }, (_, n) => client.executeToolWithTimeout("record", newId(), { n }, {}, LONG));
    for (const [n, r] of (await Promise.all(later)).entries()) assert.equal(r.n, n);
  });
});
