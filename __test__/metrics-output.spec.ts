// metrics.stdoutBytes / stderrBytes must count every byte a tool wrote before it returned, in
// every call, and only that call's: output written in several pieces right before `return` races
// the result frame, and a reused worker has printed before. Hundreds of calls, several in flight,
// because a miscount may show in one call of hundreds. Tools: fixtures/faults.mjs.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Runtime } from "tool-runtime";
import { RUNTIMES } from "./helpers";
import { type PoolInput, faultsRuntime, opts, waitIdle, withMetrics } from "./proc-helpers";

const IN_FLIGHT = 8;
const STDOUT_BYTES = 12_345;
const STDERR_BYTES = 777;

/** Cold calls cost a process start each (node's take ~100 ms): fewer of them keeps this quick. */
const FLAVOURS: { name: string; calls: number; pool?: PoolInput }[] = [
  { name: "cold processes", calls: 60 },
  { name: "a reuse pool", calls: 300, pool: { minIdle: 2, maxWorkers: IN_FLIGHT, reuse: { maxCallsPerWorker: 1000, maxRssMb: 1024 } } },
];

for (const runtimeType of RUNTIMES) {
  for (const { name, calls: CALLS, pool } of FLAVOURS) {
    describe(`output byte counts on ${runtimeType}, ${name}`, () => {
      let rt: Runtime;
      before(async () => {
        rt = await faultsRuntime({ runtimeType, maxConcurrency: IN_FLIGHT, ...(pool ? { pool } : {}) });
        if (pool) await waitIdle(rt, 1);
      });
      after(async () => {
        await rt.close();
      });

      it(`counts exactly what ${CALLS} calls printed in 4 pieces just before returning`, async (t) => {
        const wrong: string[] = [];
        let next = 0;
        const lane = async () => {
          for (let i = next++; i < CALLS; i = next++) {
            const { result, metrics } = await withMetrics(
              rt.executeTool("printBytes", `oc-${i}`, { stdout: STDOUT_BYTES, stderr: STDERR_BYTES, parts: 4 }, {}, opts({ metrics: true })),
            );
            assert.deepEqual(result, { printed: true });
            if (metrics.stdoutBytes !== STDOUT_BYTES || metrics.stderrBytes !== STDERR_BYTES) {
              wrong.push(`call ${i}${metrics.warm ? " (warm)" : ""}: stdoutBytes ${metrics.stdoutBytes}, stderrBytes ${metrics.stderrBytes}`);
            }
          }
        };
        await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
        t.diagnostic(`${wrong.length} of ${CALLS} calls miscounted`);
        assert.equal(
          wrong.length,
          0,
          `${wrong.length} of ${CALLS} calls miscounted (expected ${STDOUT_BYTES} / ${STDERR_BYTES}), first:\n${wrong.slice(0, 10).join("\n")}`,
        );
      });

      it("its twin, printing nothing, counts 0 bytes in every call", async () => {
        for (let i = 0; i < 10; i++) {
          const { metrics } = await withMetrics(rt.executeTool("printBytes", `oz-${i}`, {}, {}, opts({ metrics: true })));
          assert.equal(metrics.stdoutBytes, 0, `call ${i}`);
          assert.equal(metrics.stderrBytes, 0, `call ${i}`);
        }
      });
    });
  }
}
