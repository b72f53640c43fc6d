// Warm worker pool, on bun and node: the core behaviours through a single-use pool and through a
// reuse pool, then what only a pool does (recycling, replacement, shrinking, close).
// Tools: fixtures/faults.mjs (which re-exports tools.mjs).
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { AbortError, ProcessError, type Runtime, TimeoutError, ToolExecutionError } from "tool-runtime";
import { RUNTIMES, processAlive, sleep, tempDir, waitFor, zombieChildren, crashSignal } from "./helpers";
import { type PoolInput, faultsRuntime, opts, poolOf, rejection, waitIdle, waitPidsGone, withMetrics } from "./proc-helpers";

const POOLS: { name: string; pool: PoolInput; reuse: boolean }[] = [
  { name: "single-use pool { minIdle: 2 }", pool: { minIdle: 2 }, reuse: false },
  { name: "reuse pool { minIdle: 1, reuse: { maxCallsPerWorker: 3, maxRssMb: 512 } }", pool: { minIdle: 1, reuse: { maxCallsPerWorker: 3, maxRssMb: 512 } }, reuse: true },
];

/** The pid of the worker that served a call, as the host sees it (a sandboxed tool sees its own PID namespace's). */
async function pidOf(rt: Runtime, id: string): Promise<number> {
  return (await withMetrics(rt.executeTool("pid", id, {}, {}, { metrics: true }))).metrics.pid;
}

for (const runtimeType of RUNTIMES) {
  for (const { name, pool, reuse } of POOLS) {
    describe(`${runtimeType}: core behaviour through a ${name}`, () => {
      let rt: Runtime;
      before(async () => {
        rt = await faultsRuntime({ runtimeType, pool });
        await waitIdle(rt, 1);
      });
      after(async () => {
        await rt.close();
      });

      it("returns results, wrapping non-objects", async () => {
        assert.deepEqual(await rt.executeTool("greet", "pr-1", { name: "Ada" }), { message: "Hello, Ada!" });
        assert.deepEqual(await rt.executeTool("math/add", "pr-2", { a: 2, b: 3 }), { sum: 5 });
        assert.deepEqual(await rt.executeTool("number", "pr-3"), { value: 42 });
        assert.deepEqual(await rt.executeTool("nothing", "pr-4"), {});
      });

      it("passes input, config and the context ids", async () => {
        const out = await rt.executeTool("echo", "pc-1", { x: [1, "two"] }, {}, { config: { mode: "fast" } });
        assert.deepEqual(out, { input: { x: [1, "two"] }, config: { mode: "fast" }, toolId: "echo", toolExecId: "pc-1" });
        assert.equal((await rt.executeTool("echo", "pc-2", {})).config, null);
      });

      it("reports a thrown error as ERR_TOOL_FAILED with its cause", async () => {
        const e = await rejection(rt.executeTool("fails", "pf-1"));
        assert.ok(e instanceof ToolExecutionError);
        assert.equal(e.code, "ERR_TOOL_FAILED");
        assert.equal(e.cause?.name, "TypeError");
        assert.equal(e.cause?.message, "bad input");
        assert.equal(e.cause?.code, "E_BAD_INPUT");
      });

      it("reports an unknown tool as ERR_TOOL_NOT_FOUND with the available tools", async () => {
        const e = await rejection(rt.executeTool("missing", "pn-1"));
        assert.equal(e.code, "ERR_TOOL_NOT_FOUND");
        assert.ok(e.availableTools.includes("greet"));
        assert.ok(e.availableTools.includes("setGlobal"));
      });

      it("times out a running call with TimeoutError (started) and keeps serving", async () => {
        await waitIdle(rt, 1);
        const t0 = performance.now();
        const e = await rejection(rt.executeToolWithTimeout("sleeps", "pt-1", { ms: 3000 }, {}, 150));
        assert.ok(e instanceof TimeoutError);
        assert.equal(e.code, "ERR_TOOL_TIMEOUT");
        assert.equal(e.started, true);
        assert.ok(performance.now() - t0 >= 150, "rejected before its 150 ms deadline");
        assert.deepEqual(await rt.executeTool("greet", "pt-2", { name: "after" }), { message: "Hello, after!" });
      });

      it("aborts a running call with AbortError and keeps serving", async () => {
        const ac = new AbortController();
        const p = rejection(rt.executeTool("sleeps", "pa-1", { ms: 3000 }, {}, { signal: ac.signal }));
        await sleep(200);
        ac.abort();
        const e = await p;
        assert.ok(e instanceof AbortError);
        assert.equal(e.code, "ERR_ABORTED");
        assert.deepEqual(await rt.executeTool("greet", "pa-2", { name: "after" }), { message: "Hello, after!" });
      });

      it("gives each call its own env: the call's variables reach it, the host's and earlier calls' do not", async () => {
        process.env.TOOL_RUNTIME_TEST_SECRET = "leak";
        try {
          const names = ["TOOL_RUNTIME_TEST_SECRET", "API_KEY", "ONLY_FIRST"];
          for (let i = 0; i < 4; i++) {
            const env: Record<string, string> = i === 0 ? { API_KEY: "k0", ONLY_FIRST: "x" } : { API_KEY: `k${i}` };
            const out = (await rt.executeTool("readEnv", `pe-${i}`, { names }, env)) as any;
            assert.deepEqual(out.env, { TOOL_RUNTIME_TEST_SECRET: null, API_KEY: `k${i}`, ONLY_FIRST: i === 0 ? "x" : null }, `call ${i}`);
            const expected = i === 0 ? ["API_KEY", "HOME", "LANG", "ONLY_FIRST", "PATH", "TMPDIR"] : ["API_KEY", "HOME", "LANG", "PATH", "TMPDIR"];
            if (runtimeType === "bun") expected.push("BUN_RUNTIME_TRANSPILER_CACHE_PATH");
            if (runtimeType === "deno") expected.push("DENO_DIR", "DENO_NO_UPDATE_CHECK");
            expected.sort();
            assert.deepEqual(out.all, expected, `call ${i}`);
          }
        } finally {
          delete process.env.TOOL_RUNTIME_TEST_SECRET;
        }
      });

      it("runs 20 calls concurrently", async () => {
        const results = await Promise.all(Array.from({ length: 20 }, (_, i) => rt.executeTool("math/add", `p20-${i}`, { a: i, b: 1 })));
        assert.deepEqual(
          results.map((r) => r.sum),
          Array.from({ length: 20 }, (_, i) => i + 1),
        );
      });

      it("reports metrics.warm for a call served by a warm worker", async () => {
        assert.ok((await waitIdle(rt, 1)) >= 1, "no idle worker");
        const { result, metrics } = await withMetrics(rt.executeTool("greet", "pw-1", { name: "w" }, {}, opts({ metrics: true })));
        assert.deepEqual(result, { message: "Hello, w!" });
        assert.equal(metrics.warm, true);
        assert.ok(metrics.wallMs > 0);
      });

      it("replaces a crashed worker; later calls succeed", async () => {
        await waitIdle(rt, 1);
        const e = await rejection(rt.executeTool("segfault", "pk-1"));
        assert.ok(e instanceof ProcessError);
        assert.equal(e.signal, crashSignal(runtimeType));
        for (let i = 0; i < 3; i++) {
          assert.deepEqual(await rt.executeTool("greet", `pk-${i + 2}`, { name: "ok" }), { message: "Hello, ok!" });
        }
      });

      if (!reuse) {
        it("leaks no module state between single-use calls", async () => {
          const pids = new Set<number>();
          for (let i = 0; i < 6; i++) {
            await waitIdle(rt, 1);
            const { result: out, metrics } = await withMetrics(rt.executeTool("setGlobal", `ps-${i}`, { value: `v${i}` }, {}, { metrics: true }));
            assert.equal(out.had, false, `call ${i} saw ${JSON.stringify(out.prev)}`);
            pids.add(metrics.pid);
          }
          assert.equal(pids.size, 6, "a single-use worker served two calls");
        });
      }
    });
  }

  describe(`${runtimeType}: what only a pool does`, () => {
    it("reuse keeps module state (the documented trade-off) and recycles a worker after maxCallsPerWorker calls", async () => {
      const rt = await faultsRuntime({ runtimeType, pool: { minIdle: 1, maxWorkers: 1, reuse: { maxCallsPerWorker: 3, maxRssMb: 512 } } });
      try {
        const seen: { pid: number; had: boolean; prev: unknown; warm: boolean }[] = [];
        for (let i = 0; i < 7; i++) {
          assert.ok((await waitIdle(rt, 1)) >= 1, "no idle worker");
          const { result, metrics } = await withMetrics(rt.executeTool("setGlobal", `ru-${i}`, { value: i }, {}, opts({ metrics: true })));
          seen.push({ pid: metrics.pid, had: result.had, prev: result.prev, warm: metrics.warm });
        }
        const pids = seen.map((s) => s.pid);
        assert.deepEqual(pids.slice(0, 3), [pids[0], pids[0], pids[0]], JSON.stringify(seen));
        assert.deepEqual(pids.slice(3, 6), [pids[3], pids[3], pids[3]], JSON.stringify(seen));
        assert.notEqual(pids[3], pids[0]);
        assert.notEqual(pids[6], pids[3]);
        // State survives within a worker, and a new worker starts clean.
        assert.deepEqual(
          seen.map((s) => s.prev),
          [null, 0, 1, null, 3, 4, null],
        );
        assert.ok(seen.every((s) => s.warm));
        assert.deepEqual(await waitPidsGone([pids[0], pids[3]]), [], "recycled workers are still alive");
      } finally {
        await rt.close();
      }
    });

    it("recycles a reuse worker whose RSS went over maxRssMb; a small one keeps its worker", async () => {
      const rt = await faultsRuntime({ runtimeType, pool: { minIdle: 1, maxWorkers: 1, reuse: { maxCallsPerWorker: 100, maxRssMb: 64 } } });
      try {
        await waitIdle(rt, 1);
        const p1 = await pidOf(rt, "rs-1");
        await waitIdle(rt, 1);
        assert.equal(await pidOf(rt, "rs-2"), p1, "a small worker was recycled");
        await waitIdle(rt, 1);
        const served = await withMetrics(rt.executeTool("retain", "rs-3", { mb: 100 }, {}, { metrics: true }));
        const big = served.result as { rssMb: number };
        assert.equal(served.metrics.pid, p1);
        assert.ok(big.rssMb >= 100, `rss ${big.rssMb} MB`);
        await waitIdle(rt, 1);
        const p2 = await pidOf(rt, "rs-4");
        assert.notEqual(p2, p1, "the worker holding 100 MB was reused");
        assert.deepEqual(await waitPidsGone([p1]), []);
      } finally {
        await rt.close();
      }
    });

    it("never reuses a worker whose tool broke the channel; one whose tool threw is reused", async () => {
      const rt = await faultsRuntime({ runtimeType, pool: { minIdle: 1, maxWorkers: 1, reuse: { maxCallsPerWorker: 100, maxRssMb: 1024 } } });
      try {
        await waitIdle(rt, 1);
        const p1 = await pidOf(rt, "bc-1");
        await waitIdle(rt, 1);
        // The twin: a tool that throws leaves its worker healthy, and reused.
        await assert.rejects(rt.executeTool("fails", "bc-2"), (e: any) => e.code === "ERR_TOOL_FAILED");
        await waitIdle(rt, 1);
        assert.equal(await pidOf(rt, "bc-3"), p1, "a worker whose tool threw was not reused");
        await waitIdle(rt, 1);
        if (runtimeType === "deno") {
          // Deno's node:fs reaches only the files deno opened (its own resources): a tool cannot
          // close the harness's fd 3 (EBADF), so the channel, and the worker, stay whole.
          await assert.rejects(rt.executeToolWithTimeout("closeChannel", "bc-4", {}, {}, 5000), (e: any) => e.code === "ERR_TOOL_FAILED" && /EBADF|Bad file descriptor/.test(e.message));
          await waitIdle(rt, 1);
          assert.equal(await pidOf(rt, "bc-5"), p1);
          return;
        }
        await assert.rejects(rt.executeToolWithTimeout("closeChannel", "bc-4", {}, {}, 5000), (e: any) => typeof e.code === "string");
        await waitIdle(rt, 1);
        assert.notEqual(await pidOf(rt, "bc-5"), p1, "the worker whose tool closed fd 3 was reused");
        assert.deepEqual(await waitPidsGone([p1]), []);
      } finally {
        await rt.close();
      }
    });

    it("applies cpuTimeLimitMs to each call on a reused worker, not to the worker's lifetime", async () => {
      const rt = await faultsRuntime({
        runtimeType,
        cpuTimeLimitMs: 300,
        pool: { minIdle: 1, maxWorkers: 1, reuse: { maxCallsPerWorker: 100, maxRssMb: 1024 } },
      });
      try {
        const outcomes: string[] = [];
        const cpu: (number | null)[] = [];
        for (let i = 0; i < 5; i++) {
          await waitIdle(rt, 1);
          try {
            const { metrics } = await withMetrics(rt.executeTool("burn", `rcpu-${i}`, { ms: 100 }, {}, opts({ metrics: true })));
            outcomes.push("ok");
            cpu.push(metrics.cpuMs);
          } catch (e: any) {
            outcomes.push(e.code);
          }
        }
        // Five calls of 100 ms each, every one well under its own 300 ms.
        assert.deepEqual(outcomes, ["ok", "ok", "ok", "ok", "ok"], `cpuMs per call: ${JSON.stringify(cpu)}`);
        // On deno the first call on a fresh worker also paid for work its start left running
        // (measured once at 288 ms on a loaded machine); the later calls show the per-call reset.
        const checked = runtimeType === "deno" ? cpu.slice(1) : cpu;
        assert.ok(
          checked.every((c) => c === null || c < 250),
          `metrics.cpuMs of a 100 ms call on a reused worker: ${JSON.stringify(cpu)}`,
        );
      } finally {
        await rt.close();
      }
    });

    it("applies per-call memory and CPU limits on warm workers; the next call runs unlimited", async () => {
      for (const pool of [{ minIdle: 1 }, { minIdle: 1, reuse: { maxCallsPerWorker: 10, maxRssMb: 1024 } }]) {
        const rt = await faultsRuntime({ runtimeType, pool });
        try {
          await waitIdle(rt, 1);
          const mem = await rejection(rt.executeTool("allocate", "wl-1", { mb: 2048 }, {}, opts({ memoryLimitMb: 128 })));
          assert.equal(mem.code, "ERR_MEMORY_LIMIT", `${JSON.stringify(pool)}: ${mem.message}`);
          assert.equal(mem.limitMb, 128);
          await waitIdle(rt, 1);
          const cpu = await rejection(rt.executeToolWithTimeout("spin", "wl-2", {}, {}, 10_000, opts({ cpuTimeLimitMs: 300 })));
          assert.equal(cpu.code, "ERR_CPU_LIMIT", `${JSON.stringify(pool)}: ${cpu.message}`);
          await waitIdle(rt, 1);
          assert.deepEqual(await rt.executeTool("allocate", "wl-3", { mb: 256 }), { allocatedMb: 256, chunks: 32 });
        } finally {
          await rt.close();
        }
      }
    });

    it("replaces a crashed worker and a timed-out worker with new processes", async () => {
      const rt = await faultsRuntime({ runtimeType, pool: { minIdle: 1, maxWorkers: 1, reuse: { maxCallsPerWorker: 100, maxRssMb: 512 } } });
      try {
        await waitIdle(rt, 1);
        const p1 = await pidOf(rt, "rc-1");
        await waitIdle(rt, 1);
        assert.deepEqual(poolOf(rt).idlePids, [p1]);
        const crash = await rejection(rt.executeTool("segfault", "rc-2"));
        assert.equal(crash.code, "ERR_PROCESS_EXITED");
        assert.equal(crash.signal, crashSignal(runtimeType));
        await waitIdle(rt, 1);
        const p2 = await pidOf(rt, "rc-3");
        assert.notEqual(p2, p1);
        assert.equal(processAlive(p1), false);
        await waitIdle(rt, 1);
        assert.deepEqual(poolOf(rt).idlePids, [p2]);
        const timeout = await rejection(rt.executeToolWithTimeout("ignoresTerm", "rc-4", {}, {}, 200));
        assert.ok(timeout instanceof TimeoutError);
        assert.deepEqual(await waitPidsGone([p2]), [], "the timed-out worker outlived the grace period");
        await waitIdle(rt, 1);
        const p3 = await pidOf(rt, "rc-5");
        assert.ok(p3 !== p1 && p3 !== p2);
      } finally {
        await rt.close();
      }
    });

    it("shrinks idle workers back to minIdle after idleTimeoutMs", async (t) => {
      const dir = tempDir("tr-shrink-");
      const rt = await faultsRuntime({
        runtimeType,
        maxConcurrency: 4,
        permissions: ["--allow-read", `--allow-write=${dir}`],
        pool: { minIdle: 1, maxWorkers: 4, idleTimeoutMs: 300, reuse: { maxCallsPerWorker: 100, maxRssMb: 512 } },
      });
      try {
        await waitIdle(rt, 1);
        // Four overlapping calls, each started once a warm worker is idle, so the pool grows to
        // four; none ends before all four run, so each holds its own worker.
        const release = path.join(dir, "release");
        const started = [0, 1, 2, 3].map((i) => path.join(dir, `started-${i}`));
        const calls = [];
        for (let i = 0; i < 4; i++) {
          assert.ok((await waitIdle(rt, 1)) >= 1, `no idle worker for call ${i}`);
          calls.push(withMetrics(rt.executeTool("napUntil", `sh-${i}`, { release, started: started[i] }, {}, opts({ metrics: true }))));
          // Running: the worker it took no longer counts as idle.
          await waitFor(() => fs.existsSync(started[i]), `call ${i} to run`);
        }
        fs.writeFileSync(release, "");
        const results = await Promise.all(calls);
        const pids = results.map((r) => r.metrics.pid);
        assert.equal(new Set(pids).size, 4, `pids ${pids}`);
        assert.ok(results.every((r) => r.metrics.warm));
        const idleAfter = poolOf(rt).idle;
        // idleTimeoutMs is 300: the pool never shrinking would fail here, however long it took.
        await waitFor(() => poolOf(rt).idle === 1, "the pool to shrink to minIdle");
        await sleep(300);
        const { idle, idlePids } = poolOf(rt);
        assert.equal(idle, 1, "the pool shrank below minIdle");
        const retired = pids.filter((p) => !idlePids.includes(p));
        assert.equal(retired.length, 3);
        assert.deepEqual(await waitPidsGone(retired), []);
        // The one left idle is one of the four: they went back to the pool.
        t.diagnostic(`${runtimeType}: idle ${idleAfter} right after the calls, then ${idle}`);
      } finally {
        await rt.close();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    it("close() leaves no worker process behind", async () => {
      const rt = await faultsRuntime({ runtimeType, pool: { minIdle: 2 } });
      await waitIdle(rt, 2);
      const idlePids = poolOf(rt).idlePids;
      assert.equal(idlePids.length, 2);
      assert.ok(idlePids.every(processAlive));
      const busy = rt.executeTool("pid", "cl-1").catch(() => null);
      const running = rejection(rt.executeTool("sleeps", "cl-2", { ms: 10_000 }));
      await busy;
      await sleep(100);
      const all = [...new Set([...idlePids, ...poolOf(rt).idlePids])];
      await rt.close();
      assert.equal((await running).code, "ERR_RUNTIME_CLOSED");
      assert.deepEqual(all.filter(processAlive), [], "workers alive after close()");
      assert.equal(poolOf(rt).idle, 0);
      assert.deepEqual(zombieChildren(), []);
    });
  });
}
