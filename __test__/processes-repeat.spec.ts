// Repeated hostile calls: 50 calls of a tool that tries to change the orchestrator's and a
// concurrent call's limits and scheduling and to clone children of the orchestrator, on cold
// calls, a single-use pool and a reuse pool. Afterwards both are as they were and the
// orchestrator has no zombie child. (A file of its own: each file has a time budget.)
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, describe, it } from "node:test";
import type { Runtime, RuntimeConfigInput } from "tool-runtime";
import { RUNTIMES, makeRuntime, sleep, tempDir, zombieChildren } from "./helpers";
import { type Call, type Outcome, allowed, denied, ffiFor, nextExecId, refusedOnOthers, schedState, withRuntime } from "./hostile-helpers";

const out = tempDir("tr-processes-");
after(() => fs.rmSync(out, { recursive: true, force: true }));

for (const runtimeType of RUNTIMES) {
  const run = (config: RuntimeConfigInput, fn: (call: Call, rt: Runtime) => Promise<void>) => withRuntime(runtimeType, config, fn);
  const { run: ffiRun, probe: ffiProbe } = ffiFor(runtimeType);

  describe(`other processes on ${runtimeType}: 50 hostile calls`, () => {
    const modes: [string, RuntimeConfigInput][] = [
      ["cold calls", {}],
      ["a single-use pool", { pool: { minIdle: 1 } }],
      ["a reuse pool", { pool: { minIdle: 1, reuse: {} } }],
    ];
    for (const [mode, config] of modes) {
      it(`after 50 calls trying on ${mode}, the orchestrator and a concurrent call are unchanged and no zombie is left`, async () => {
        const publish = path.join(out, `victim-${runtimeType}-${nextExecId()}`);
        const release = `${publish}.release`;
        const orchestrator = schedState(process.pid);
        const zombiesBefore = zombieChildren();
        // Held until released, however long the 50 calls take on a busy machine.
        const victimRt = await makeRuntime({
          runtimeType,
          entrypointPath: "hostile.mjs",
          permissions: ["--allow-read", `--allow-write=${out}`],
          toolExecutionTimeoutMs: 600_000,
        });
        try {
          const held = victimRt.executeTool("holdUntil", nextExecId(), { publish, release }) as Promise<Outcome>;
          // Awaited below; a failure before that must not surface as an unhandled rejection.
          held.catch(() => {});
          while (!fs.existsSync(publish) || fs.readFileSync(publish, "utf8") === "") await sleep(20);
          const victimPid = Number(fs.readFileSync(publish, "utf8"));
          const victim = schedState(victimPid);
          await run({ permissions: ["--allow-read", ...ffiRun], ...config }, async (call) => {
            for (let i = 0; i < 50; i++) {
              const target = i % 2 === 0 ? process.pid : victimPid;
              refusedOnOthers(await call("ffiProbe", ffiProbe("process", { target })), `call ${i} on ${target}`);
              // Deno's own layer refuses os.setPriority (--allow-sys) before the kernel is asked.
              denied(await call("setPriority", { pid: target, priority: 19 }), runtimeType === "deno" ? ["NotCapable"] : ["EPERM"], `call ${i}: os.setPriority on ${target}`);
            }
          });
          assert.deepEqual(schedState(victimPid), victim, "the concurrent call changed");
          fs.writeFileSync(release, "");
          const r = await held;
          allowed(r, "the concurrent call");
          assert.equal(r.pid, victimPid);
        } finally {
          fs.writeFileSync(release, "");
          await victimRt.close();
        }
        assert.deepEqual(schedState(process.pid), orchestrator, "the orchestrator changed");
        // The runtime reaps its own children as they exit; what stays is a zombie for good.
        let zombies = zombieChildren().filter((z) => !zombiesBefore.includes(z));
        for (let t = 0; t < 50 && zombies.length > 0; t++) {
          await sleep(20);
          zombies = zombieChildren().filter((z) => !zombiesBefore.includes(z));
        }
        assert.deepEqual(zombies, [], "zombie children of the orchestrator");
      });
    }
  });
}
