// Hostile tools against other processes: the orchestrator, another call, a process of the
// host. Their resource limits, nice value, CPU affinity, scheduling class and I/O priority must
// stay as they were, no tool may make children of the orchestrator (clone(CLONE_PARENT)) or new
// namespaces, and nothing reaches another process through a pidfd or its pid. Every refusal
// has a twin: the same on the tool itself works, and unconfined the same probe succeeds.
// Raw syscalls go through bun:ffi: in-process on bun, through a bun child on node.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import type { Runtime, RuntimeConfigInput } from "tool-runtime";
import { RUNTIMES, processAlive } from "./helpers";
import { BUN, type Call, EACCES, EPERM, ESRCH, ON_ITSELF, ON_OTHERS, allowed, caplessVictim, denied, ffiFor, killVictims, refusedOnOthers, schedState, withRuntime } from "./hostile-helpers";

after(killVictims);

for (const runtimeType of RUNTIMES) {
  const run = (config: RuntimeConfigInput, fn: (call: Call, rt: Runtime) => Promise<void>) => withRuntime(runtimeType, config, fn);
  const { run: ffiRun, probe: ffiProbe } = ffiFor(runtimeType);

  describe(`other processes on ${runtimeType}: limits, scheduling, children and pidfds`, () => {
    it("changes no other process's limits, priority, affinity, scheduling or I/O priority and clones no sibling; on itself it can; unconfined it can", async () => {
      const victim = await caplessVictim();
      const before = schedState(victim.pid!);
      await run({ permissions: ["--allow-read", ...ffiRun] }, async (call) => {
        refusedOnOthers(await call("ffiProbe", ffiProbe("process", { target: victim.pid })), "confined");
        if (runtimeType === "deno") {
          // Deno's own layer refuses os.setPriority (a --allow-sys permission) for any process,
          // itself included; the bun-child probe above is the kernel's answer on deno.
          denied(await call("setPriority", { pid: victim.pid, priority: 19 }), ["NotCapable"], "os.setPriority on a host process");
        } else {
          denied(await call("setPriority", { pid: victim.pid, priority: 19 }), ["EPERM"], "os.setPriority on a host process");
          denied(await call("setPriority", { pid: process.pid, priority: 19 }), ["EPERM"], "os.setPriority on the orchestrator");
          const own = await call("setPriority", { pid: 0, priority: 19 });
          allowed(own, "os.setPriority on itself");
          assert.equal(own.priority, 19);
        }
      });
      assert.deepEqual(schedState(victim.pid!), before, "the victim changed");
      // Unconfined, the same probe changes the victim: the probe is able, the sandbox stops it.
      await run({ sandbox: "off" }, async (call) => {
        const r = await call("ffiProbe", { probe: "process", args: { target: victim.pid }, bunPath: BUN });
        allowed(r, "unconfined probe");
        const res = r.result as Record<string, number>;
        for (const k of [...ON_OTHERS, ...ON_ITSELF]) assert.equal(res[k], 0, `unconfined ${k}: ${JSON.stringify(res)}`);
        allowed(await call("setPriority", { pid: victim.pid, priority: 18 }), "os.setPriority unconfined");
      });
      const after = schedState(victim.pid!);
      assert.match(after.limits, /Max open files\s+64\s+64/);
      assert.equal(after.nice, 18);
      assert.equal(after.policy, 5 /* SCHED_IDLE */);
      assert.equal(after.affinity, "0");
      assert.match(after.ioprio, /idle/);
    });

    it("reaches no other process through a pidfd, kcmp, robust lists or signals (Landlock's scopes); unconfined it can", async () => {
      const victim = await caplessVictim();
      const expected = { pidfdOpen: 0, pidfdGetfd: EPERM, processMadvise: EACCES, kcmp: EPERM, getRobustList: EPERM, pidfdSendSignal: EPERM, tgkill: EPERM, tkill: EPERM, rtSigqueueinfo: EPERM, rtTgsigqueueinfo: EPERM };
      for (const target of [victim.pid, process.pid]) {
        // In the call's own PID namespace no other process has a pid to aim at.
        await run({ permissions: ["--allow-read", ...ffiRun] }, async (call, rt) => {
          assert.ok(rt.sandbox.otherProcesses.includes("pid-namespace"));
          const r = await call("ffiProbe", ffiProbe("reach", { target }));
          allowed(r, "the probe itself");
          assert.deepEqual(r.result, { pidfdOpen: ESRCH }, `${target} in a PID namespace`);
        });
        // Without it, Landlock's scopes alone, also without the user and network namespaces
        // (--allow-net).
        process.env.TOOL_RUNTIME_PRETEND_MISSING = "pidns";
        try {
          for (const net of [[], ["--allow-net"]]) {
            await run({ sandbox: "best-effort", permissions: ["--allow-read", ...net, ...ffiRun] }, async (call, rt) => {
              assert.ok(!rt.sandbox.otherProcesses.includes("pid-namespace"));
              const r = await call("ffiProbe", ffiProbe("reach", { target }));
              allowed(r, "the probe itself");
              assert.deepEqual(r.result, expected, `${target} ${net}`);
            });
          }
        } finally {
          delete process.env.TOOL_RUNTIME_PRETEND_MISSING;
        }
      }
      await run({ sandbox: "off" }, async (call) => {
        const r = await call("ffiProbe", { probe: "reach", args: { target: victim.pid }, bunPath: BUN });
        allowed(r, "the probe itself");
        const res = r.result as Record<string, number>;
        // process_madvise takes CAP_SYS_NICE on top of the ptrace check: only root's twin has it.
        const unconfined = { ...expected, pidfdGetfd: 0, kcmp: 0, getRobustList: 0, pidfdSendSignal: 0, tgkill: 0, tkill: 0, rtSigqueueinfo: 0, rtTgsigqueueinfo: 0, processMadvise: res.processMadvise };
        assert.deepEqual(res, unconfined);
      });
      assert.ok(processAlive(victim.pid!), "signal 0 killed the victim");
    });

    it("still creates threads, workers and child processes (clone3 falls back to clone)", async () => {
      await run({ permissions: ["--allow-read", "--allow-run=/bin/echo"] }, async (call) => {
        const r = await call("spawnAndThreads", { cmd: "/bin/echo", args: ["hi"] });
        allowed(r, "threads and spawn");
        assert.equal(r.fromWorker, 42);
        assert.equal(r.out, "hi\n");
        if (runtimeType === "bun") assert.equal(r.bunSpawn, "hi\n");
      });
    });
  });
}
