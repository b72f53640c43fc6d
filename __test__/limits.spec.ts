// Resource limits (memory, CPU time, processes, file size), the FIFO queue and per-call metrics,
// on bun and node, through the public API. Every limited case has a twin under the limit that
// succeeds, so nothing passes because a tool is simply broken. Tools: fixtures/faults.mjs.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { AbortError, ProcessError, type Runtime, TimeoutError, ToolExecutionError, sandboxCapabilities } from "tool-runtime";
import { RUNTIMES, sleep } from "./helpers";
import {
  faultsRuntime,
  hostRssMb,
  newMarker,
  opts,
  rejection,
  waitMarkerGone,
  withMetrics,
  withRssPeak,
} from "./proc-helpers";

const MiB = 1024 * 1024;

/**
 * Occupies a runtime's only slot with a call that naps until `release()` aborts it, so what
 * happens meanwhile to queued calls can be checked against "the slot is still busy" rather than
 * against a clock.
 */
function holdSlot(rt: Runtime, id: string): { busy: () => boolean; release: () => Promise<void> } {
  const ac = new AbortController();
  let settled = false;
  const call = rejection(rt.executeToolWithTimeout("nap", id, { ms: 60_000 }, {}, 90_000, { signal: ac.signal })).finally(() => {
    settled = true;
  });
  return {
    busy: () => !settled,
    release: async () => {
      ac.abort();
      assert.equal((await call).code, "ERR_ABORTED", `${id} ended otherwise than by its release`);
    },
  };
}

/** Fields of the limit errors that index.d.ts may not declare yet. */
interface LimitFields {
  limitMb?: number;
  peakMb?: number;
  limitMs?: number;
  maxProcesses?: number;
}

describe("limit mechanisms", () => {
  it("sandboxCapabilities().limits names the mechanism behind each limit", (t) => {
    const caps = sandboxCapabilities() as ReturnType<typeof sandboxCapabilities> & {
      limits: { memory: string; cpu: string; processes: string; fileSize: string };
    };
    const kinds = ["cgroup-v2", "cgroup-v1", "watchdog"];
    assert.ok(kinds.includes(caps.limits.memory), caps.limits.memory);
    assert.ok(kinds.includes(caps.limits.cpu), caps.limits.cpu);
    assert.ok(kinds.includes(caps.limits.processes), caps.limits.processes);
    assert.equal(caps.limits.fileSize, "rlimit");
    t.diagnostic(`limits: ${JSON.stringify(caps.limits)}`);
  });
});

for (const runtimeType of RUNTIMES) {
  describe(`memory limit on ${runtimeType}`, () => {
    let rt: Runtime;
    before(async () => {
      rt = await faultsRuntime({ runtimeType, memoryLimitMb: 128, toolExecutionTimeoutMs: 30_000 });
    });
    after(async () => {
      await rt.close();
    });

    // The call's 30 s timeout would end it with ERR_TOOL_TIMEOUT: the code proves the limit acted.
    it("stops a tool allocating past 128 MB with ERR_MEMORY_LIMIT and kills it; the host stays small", async () => {
      const marker = newMarker("mem");
      const { value: e, baseMb, peakMb } = await withRssPeak(() =>
        rejection(rt.executeTool("allocate", "mem-1", { mb: 2048, chunkMb: 8 }, { TR_MARK: marker })),
      );
      assert.ok(e instanceof ProcessError, String(e));
      assert.equal(e.code, "ERR_MEMORY_LIMIT", e.message);
      assert.equal(e.limit, "memory");
      const f = e as LimitFields;
      assert.equal(f.limitMb, 128);
      assert.equal(typeof f.peakMb, "number");
      assert.ok(f.peakMb! >= 64, `peakMb ${f.peakMb} is not near the limit`);
      assert.equal(e.toolId, "allocate");
      assert.ok(peakMb - baseMb < 50, `host RSS grew from ${baseMb.toFixed(0)} to ${peakMb.toFixed(0)} MB`);
      assert.deepEqual(await waitMarkerGone(marker), []);
    });

    it("lets its twin allocate 20 MB", async () => {
      assert.deepEqual(await rt.executeTool("allocate", "mem-2", { mb: 20, chunkMb: 4 }), { allocatedMb: 20, chunks: 5 });
    });
  });

  describe(`per-call limits on ${runtimeType}`, () => {
    let rt: Runtime;
    before(async () => {
      rt = await faultsRuntime({ runtimeType, toolExecutionTimeoutMs: 10_000 });
    });
    after(async () => {
      await rt.close();
    });

    it("a call's memoryLimitMb applies to that call only", async () => {
      const e = await rejection(rt.executeTool("allocate", "pc-1", { mb: 2048 }, {}, opts({ memoryLimitMb: 128 })));
      assert.equal(e.code, "ERR_MEMORY_LIMIT", e.message);
      assert.equal(e.limitMb, 128);
      // The runtime itself has no limit: 256 MB is fine for the next call.
      assert.deepEqual(await rt.executeTool("allocate", "pc-2", { mb: 256 }), { allocatedMb: 256, chunks: 32 });
    });

    it("a call's cpuTimeLimitMs applies to that call only", async () => {
      const e = await rejection(rt.executeTool("spin", "pc-3", {}, {}, opts({ cpuTimeLimitMs: 300 })));
      assert.equal(e.code, "ERR_CPU_LIMIT", e.message);
      assert.equal(e.limitMs, 300);
      const ok = (await rt.executeTool("burn", "pc-4", { ms: 500 })) as { cpuMs: number };
      assert.ok(ok.cpuMs >= 500);
    });

    it("refuses a per-call limit that is not a positive whole number", async () => {
      for (const bad of [0, -1, 1.5, Number.NaN]) {
        const e = await rejection(rt.executeTool("burn", "pc-5", { ms: 1 }, {}, opts({ cpuTimeLimitMs: bad })));
        assert.equal(e.code, "ERR_INVALID_ARGUMENT", String(bad));
      }
      const e = await rejection(rt.executeTool("burn", "pc-6", { ms: 1 }, {}, opts({ memoryLimitMb: 16 })));
      assert.equal(e.code, "ERR_INVALID_ARGUMENT", "16 MB is below what a runtime needs");
    });
  });

  describe(`CPU time limit on ${runtimeType}`, () => {
    let rt: Runtime;
    before(async () => {
      rt = await faultsRuntime({ runtimeType, cpuTimeLimitMs: 300 });
    });
    after(async () => {
      await rt.close();
    });

    it("stops a busy loop with ERR_CPU_LIMIT well before its 10 s timeout", async () => {
      const marker = newMarker("cpu");
      const t0 = performance.now();
      const e = await rejection(rt.executeToolWithTimeout("spin", "cpu-1", {}, { TR_MARK: marker }, 10_000));
      const elapsed = performance.now() - t0;
      assert.ok(e instanceof ProcessError, String(e));
      assert.equal(e.code, "ERR_CPU_LIMIT", e.message);
      assert.equal(e.limit, "cpu");
      assert.equal((e as LimitFields).limitMs, 300);
      assert.ok(elapsed >= 250, `stopped after ${elapsed.toFixed(0)} ms, before 300 ms of CPU could have been used`);
      assert.deepEqual(await waitMarkerGone(marker), []);
    });

    it("lets its twin use 50 ms of CPU", async () => {
      const out = (await rt.executeTool("burn", "cpu-2", { ms: 50 })) as { cpuMs: number };
      assert.ok(out.cpuMs >= 50);
    });
  });

  describe(`process limit on ${runtimeType}`, () => {
    let rt: Runtime;
    before(async () => {
      rt = await faultsRuntime({
        runtimeType,
        maxProcesses: 5,
        permissions: ["--allow-read", "--allow-run"],
        toolExecutionTimeoutMs: 15_000,
      });
    });
    after(async () => {
      await rt.close();
    });

    for (const kind of ["sh", "exec"] as const) {
      const what = kind === "sh" ? "/bin/sh -c 'sleep 5'" : "the runtime binary (process.execPath)";
      it(`stops a fork bomb of ${what} with ERR_PROCESS_LIMIT and leaves no process behind`, async () => {
        const marker = newMarker(`bomb-${kind}`);
        const e = await rejection(
          rt.executeToolWithTimeout("spawnMany", `bomb-${kind}`, { count: 40, kind, marker }, { TR_MARK: marker }, 15_000),
        );
        assert.ok(e instanceof ProcessError, String(e));
        assert.equal(e.code, "ERR_PROCESS_LIMIT", e.message);
        assert.equal(e.limit, "processes");
        assert.equal((e as LimitFields).maxProcesses, 5);
        assert.deepEqual(await waitMarkerGone(marker), [], "processes of the bomb survived the call");
      });

      it(`lets its twin spawn 2 children of ${what}`, async () => {
        const marker = newMarker(`twin-${kind}`);
        const out = (await rt.executeTool("spawnMany", `twin-${kind}`, { count: 2, kind, marker, holdMs: 300 }, { TR_MARK: marker })) as any;
        assert.equal(out.spawned, 2);
        assert.equal(out.failed, 0);
        assert.deepEqual(out.results, [
          { code: 0, signal: null },
          { code: 0, signal: null },
        ]);
        assert.deepEqual(await waitMarkerGone(marker), []);
      });
    }
  });

  describe(`file size limit on ${runtimeType}`, () => {
    let rt: Runtime;
    before(async () => {
      rt = await faultsRuntime({ runtimeType, maxFileSizeMb: 1 });
    });
    after(async () => {
      await rt.close();
    });

    it("fails a 2 MB write into TMPDIR with a typed error", async (t) => {
      const e = await rejection(rt.executeTool("writeBig", "fs-1", { bytes: 2 * MiB }));
      if (e instanceof ProcessError) {
        // The process died of SIGXFSZ.
        assert.equal(e.signal, "SIGXFSZ", e.message);
        t.diagnostic(`${runtimeType}: the process died with ${e.signal} (${e.code})`);
      } else {
        // The tool saw the write fail and threw.
        assert.ok(e instanceof ToolExecutionError, String(e));
        assert.equal(e.code, "ERR_TOOL_FAILED");
        assert.equal(e.cause?.code, "EFBIG", e.message);
        t.diagnostic(`${runtimeType}: the tool saw ${e.cause?.code} (${e.code})`);
      }
    });

    it("lets its twin write 512 KB", async () => {
      assert.deepEqual(await rt.executeTool("writeBig", "fs-2", { bytes: 512 * 1024 }), { written: 512 * 1024 });
    });
  });

  describe(`queue on ${runtimeType}`, () => {
    let rt: Runtime;
    before(async () => {
      rt = await faultsRuntime({ runtimeType, maxConcurrency: 1, maxQueue: 1 });
    });
    after(async () => {
      await rt.close();
    });

    it("rejects a third call at once with ERR_QUEUE_FULL while one runs and one waits", async () => {
      const running = holdSlot(rt, "q-1");
      await sleep(150);
      let waitingDone = false;
      const waiting = rt.executeTool("nap", "q-2", { ms: 10, tag: "waiting" }).finally(() => (waitingDone = true));
      await sleep(30);
      const e = await rejection(rt.executeTool("nap", "q-3", { ms: 10, tag: "third" }));
      // "At once": refused while the slot is still taken and the waiting call still waits.
      assert.ok(running.busy() && !waitingDone, "the third call was refused only after the queue moved");
      assert.ok(e instanceof ToolExecutionError, String(e));
      assert.equal(e.code, "ERR_QUEUE_FULL");
      assert.equal((e as any).maxQueue, 1);
      assert.equal(e.toolExecId, "q-3");
      await running.release();
      assert.equal(((await waiting) as any).tag, "waiting");
    });

    it("runs queued calls in FIFO order", async () => {
      const fifo = await faultsRuntime({ runtimeType, maxConcurrency: 1, maxQueue: 10 });
      try {
        const done: number[] = [];
        const calls: Promise<unknown>[] = [];
        for (let i = 0; i < 6; i++) {
          calls.push(fifo.executeTool("nap", `fifo-${i}`, { ms: 60, tag: i }).then(() => done.push(i)));
          await sleep(15);
        }
        await Promise.all(calls);
        assert.deepEqual(done, [0, 1, 2, 3, 4, 5]);
      } finally {
        await fifo.close();
      }
    });

    it("times out a queued call at its own deadline with started=false", async () => {
      const running = holdSlot(rt, "qt-1");
      await sleep(100);
      const t0 = performance.now();
      const e = await rejection(rt.executeToolWithTimeout("nap", "qt-2", { ms: 10 }, {}, 200));
      const elapsed = performance.now() - t0;
      assert.ok(running.busy(), "the queued call ended only once the slot was free");
      assert.ok(e instanceof TimeoutError, String(e));
      assert.equal(e.code, "ERR_TOOL_TIMEOUT");
      assert.equal(e.started, false);
      assert.equal(e.timeoutMs, 200);
      assert.ok(elapsed >= 190, `rejected after ${elapsed.toFixed(0)} ms, before its 200 ms deadline`);
      await running.release();
    });

    it("aborts a queued call through its signal with started=false", async () => {
      const running = holdSlot(rt, "qa-1");
      await sleep(100);
      const ac = new AbortController();
      const queued = rejection(rt.executeTool("nap", "qa-2", { ms: 10 }, {}, { signal: ac.signal }));
      await sleep(100);
      ac.abort();
      const e = await queued;
      assert.ok(running.busy(), "the aborted call ended only once the slot was free");
      assert.ok(e instanceof AbortError, String(e));
      assert.equal(e.code, "ERR_ABORTED");
      assert.equal(e.started, false);
      await running.release();
      // The slot it held in the queue is free again.
      const next = (await rt.executeTool("nap", "qa-3", { ms: 1, tag: "after" })) as { tag: string };
      assert.equal(next.tag, "after");
    });
  });

  describe(`metrics on ${runtimeType}`, () => {
    let rt: Runtime;
    before(async () => {
      rt = await faultsRuntime({ runtimeType });
    });
    after(async () => {
      await rt.close();
    });

    it("metrics: true returns { result, metrics } with the call's figures; stdout/stderr bytes count what the tool printed", async () => {
      for (let i = 0; i < 10; i++) {
        const { result, metrics } = await withMetrics(
          rt.executeTool("printBytes", `mt-${i}`, { stdout: 12345, stderr: 777 }, {}, opts({ metrics: true })),
        );
        assert.deepEqual(result, { printed: true });
        assert.ok(metrics.wallMs > 0, `wallMs ${metrics.wallMs}`);
        assert.ok(metrics.queuedMs >= 0 && metrics.queuedMs <= metrics.wallMs);
        assert.ok(metrics.peakMemoryMb !== null && metrics.peakMemoryMb > 10, `peakMemoryMb ${metrics.peakMemoryMb}`);
        assert.ok(metrics.cpuMs === null || metrics.cpuMs >= 0);
        assert.equal(metrics.warm, false);
        assert.equal(metrics.stdoutBytes, 12345, `call ${i}: stdoutBytes`);
        assert.equal(metrics.stderrBytes, 777, `call ${i}: stderrBytes`);
      }
    });

    it("without metrics the result is returned as before", async () => {
      assert.deepEqual(await rt.executeTool("printBytes", "mt-x", { stdout: 10 }), { printed: true });
      assert.deepEqual(await rt.executeTool("printBytes", "mt-y", { stdout: 10 }, {}, opts({ metrics: false })), { printed: true });
    });

    it("a queued call reports the time it waited", async () => {
      const one = await faultsRuntime({ runtimeType, maxConcurrency: 1 });
      try {
        const first = one.executeTool("nap", "mq-1", { ms: 400 });
        await sleep(50);
        const { metrics } = await withMetrics(one.executeTool("nap", "mq-2", { ms: 1 }, {}, opts({ metrics: true })));
        await first;
        assert.ok(metrics.queuedMs >= 200, `queuedMs ${metrics.queuedMs}`);
        assert.ok(metrics.wallMs >= metrics.queuedMs);
      } finally {
        await one.close();
      }
    });
  });
}

describe("host RSS over many limited calls", () => {
  it("stays flat over 10 memory-limited calls on bun", async () => {
    const rt = await faultsRuntime({ runtimeType: "bun", memoryLimitMb: 128 });
    try {
      const before = hostRssMb();
      for (let i = 0; i < 10; i++) {
        const e = await rejection(rt.executeTool("allocate", `rss-${i}`, { mb: 1024 }));
        assert.equal(e.code, "ERR_MEMORY_LIMIT");
      }
      assert.ok(hostRssMb() - before < 40, `host RSS grew ${(hostRssMb() - before).toFixed(0)} MB`);
    } finally {
      await rt.close();
    }
  });
});
