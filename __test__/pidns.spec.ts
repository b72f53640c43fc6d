// Each sandboxed call has a PID namespace of its own with its own /proc, made by the
// tool-runtime-init binary: it sees only its own processes, not the orchestrator's command line
// (where secrets often sit) nor other calls. The twins: unconfined, or with the PID namespace
// taken away (best-effort), the same tool reads the orchestrator's /proc entries and sees the
// other call.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { after, describe, it } from "node:test";
import type { RuntimeConfigInput } from "tool-runtime";
import { childrenOf, zombieChildren } from "../scripts/proc";
import { RUNTIMES, makeRuntime, tempDir } from "./helpers";
import { newMarker, waitMarkerGone, withMetrics } from "./proc-helpers";

const root = tempDir("tr-pidns-");
fs.writeFileSync(
  path.join(root, "tools.mjs"),
  `import fs from "node:fs";
import os from "node:os";
import { spawnSync } from "node:child_process";
const pids = () => fs.readdirSync("/proc").filter((e) => /^[0-9]+$/.test(e)).map(Number).sort((a, b) => a - b);
const read = (file) => { try { return { text: fs.readFileSync(file, "latin1"), err: null }; } catch (e) { return { text: null, err: e.code }; } };
export function look(input) {
  const cmdline = read("/proc/" + input.pid + "/cmdline");
  const status = read("/proc/" + input.pid + "/status");
  return { pids: pids(), self: process.pid, cmdline: cmdline.text, err: cmdline.err, status: status.text, statusErr: status.err };
}
export async function linger(input) {
  await new Promise((r) => setTimeout(r, input.ms));
  return { pids: pids() };
}
export function needs() {
  const status = read("/proc/self/status").text ?? "";
  return {
    cpus: os.cpus().length,
    totalmem: os.totalmem(),
    freemem: os.freemem(),
    selfPid: Number(/^Pid:\\s+(\\d+)/m.exec(status)?.[1] ?? -1),
    selfCmdline: (read("/proc/self/cmdline").text ?? "").includes("tools.mjs"),
    rss: process.memoryUsage().rss,
  };
}
export function daemonize(input) {
  // setsid is refused inside the sandbox; the double fork alone orphans the sleep.
  const r = spawnSync("/bin/sh", ["-c", "(setsid sleep " + input.secs + " 2>/dev/null || sleep " + input.secs + ") & exit 0"], { stdio: "ignore", env: { PATH: "/usr/bin:/bin", MARK: input.marker } });
  const seen = [];
  for (let i = 0; i < 200 && seen.length === 0; i++) {
    for (const p of pids()) {
      if (p !== process.pid && (read("/proc/" + p + "/cmdline").text ?? "").startsWith("sleep")) seen.push(p);
    }
    if (seen.length === 0) spawnSync("/bin/sh", ["-c", "exit 0"]);
  }
  return { status: r.status, daemons: seen, pids: pids() };
}
`,
);
after(() => fs.rmSync(root, { recursive: true, force: true }));

interface Look {
  pids: number[];
  self: number;
  cmdline: string | null;
  err: string | null;
  status: string | null;
  statusErr: string | null;
}

/** Runs `fn` with the PID namespace taken away: best-effort falls back to the host's view. */
async function withoutPidNamespace<T>(fn: () => Promise<T>): Promise<T> {
  process.env.TOOL_RUNTIME_PRETEND_MISSING = "pidns";
  try {
    return await fn();
  } finally {
    delete process.env.TOOL_RUNTIME_PRETEND_MISSING;
  }
}

const MODES: [string, RuntimeConfigInput["pool"]][] = [
  ["cold", null],
  ["single-use pool", { minIdle: 1 }],
];

for (const runtimeType of RUNTIMES) {
  // Deno's own layer keeps /proc from a tool unless the policy is --allow-all (deno's too): on
  // deno the tools look under that policy, and what hides the host is the kernel's namespace.
  const proc = runtimeType === "deno" ? { permissions: ["--allow-all"] } : {};
  describe(`a call's own PID namespace on ${runtimeType}`, () => {
    for (const [label, pool] of MODES) {
      it(`${label}: sees only its own processes and not the orchestrator's command line or status`, async () => {
        const rt = await makeRuntime({ runtimeType, entrypointPath: "tools.mjs", pool, ...proc }, root);
        try {
          assert.ok(rt.sandbox.otherProcesses.includes("pid-namespace"), JSON.stringify(rt.sandbox.otherProcesses));
          const out = (await rt.executeTool("look", "pidns-1", { pid: process.pid })) as unknown as Look;
          assert.equal(out.err, "ENOENT", `read the orchestrator's cmdline: ${out.cmdline}`);
          assert.equal(out.statusErr, "ENOENT", `read the orchestrator's status: ${out.status}`);
          assert.equal(out.self, 2, "the runtime is the second process of its namespace");
          assert.deepEqual(out.pids, [1, 2], "only the namespace's init and the runtime");
        } finally {
          await rt.close();
        }
      });

      it(`${label}: a concurrent call's processes are invisible`, async () => {
        const rt = await makeRuntime({ runtimeType, entrypointPath: "tools.mjs", pool, ...proc }, root);
        try {
          const other = withMetrics(rt.executeTool("linger", "pidns-a", { ms: 1500 }, {}, { metrics: true }));
          await new Promise((r) => setTimeout(r, 500));
          const out = (await rt.executeTool("look", "pidns-b", { pid: process.pid })) as unknown as Look;
          const { metrics } = await other;
          assert.ok(metrics.pid > 2, `the other call's runtime as the host sees it: ${metrics.pid}`);
          assert.deepEqual(out.pids, [1, 2], `saw more than its own processes (the other call is ${metrics.pid})`);
        } finally {
          await rt.close();
        }
      });

      it(`${label}: still reads its own /proc/self and what the runtime needs (cpus, memory)`, async () => {
        const rt = await makeRuntime({ runtimeType, entrypointPath: "tools.mjs", pool, ...proc }, root);
        try {
          const out = (await rt.executeTool("needs", "pidns-n")) as Record<string, number | boolean>;
          assert.ok((out.cpus as number) > 0, JSON.stringify(out));
          assert.ok((out.totalmem as number) > 0 && (out.freemem as number) > 0, JSON.stringify(out));
          assert.equal(out.selfPid, 2, JSON.stringify(out));
          assert.equal(out.selfCmdline, true, JSON.stringify(out));
          assert.ok((out.rss as number) > 0, JSON.stringify(out));
        } finally {
          await rt.close();
        }
      });

      it(`${label}: a grandchild that daemonizes dies with the call, and nothing is left`, async () => {
        const rt = await makeRuntime({ runtimeType, entrypointPath: "tools.mjs", pool, permissions: ["--allow-read", "--allow-run"], ...proc }, root);
        const marker = newMarker(`pidns-daemon-${runtimeType}`);
        try {
          for (let i = 0; i < 10; i++) {
            const out = (await rt.executeTool("daemonize", `pidns-d-${i}`, { secs: 300, marker })) as { status: number; daemons: number[]; pids: number[] };
            assert.equal(out.status, 0, JSON.stringify(out));
            assert.equal(out.daemons.length, 1, `the daemon in the call's namespace: ${JSON.stringify(out)}`);
            // Orphaned, it belongs to the namespace's init, not to the host.
            assert.ok(out.pids.includes(1) && out.pids.every((p) => p < 100), JSON.stringify(out));
          }
          assert.deepEqual(await waitMarkerGone(marker), [], "a daemon outlived its call");
        } finally {
          await rt.close();
        }
        assert.deepEqual(zombieChildren(), [], "zombie children of the orchestrator");
        const inits = childrenOf().all.filter((p) => {
          try {
            return fs.readFileSync(`/proc/${p}/cmdline`, "latin1").includes("tool-runtime-init");
          } catch {
            return false;
          }
        });
        assert.deepEqual(inits, [], "a waiter of a closed runtime is still running");
      });
    }

    it("without the PID namespace (best-effort), the same tools see the orchestrator and the other call", async () => {
      await withoutPidNamespace(async () => {
        const rt = await makeRuntime({ runtimeType, entrypointPath: "tools.mjs", sandbox: "best-effort", ...proc }, root);
        try {
          assert.ok(!rt.sandbox.otherProcesses.includes("pid-namespace"), JSON.stringify(rt.sandbox.otherProcesses));
          assert.ok(rt.sandbox.missing.some((m) => m.includes("PID namespace")), JSON.stringify(rt.sandbox.missing));
          const other = withMetrics(rt.executeTool("linger", "pidns-a2", { ms: 1500 }, {}, { metrics: true }));
          await new Promise((r) => setTimeout(r, 500));
          const out = (await rt.executeTool("look", "pidns-b2", { pid: process.pid })) as unknown as Look;
          const { metrics } = await other;
          assert.ok(out.pids.includes(process.pid), "the orchestrator is listed");
          assert.ok(out.pids.includes(metrics.pid), `the other call's runtime ${metrics.pid} is listed`);
          assert.notEqual(out.self, 2);
        } finally {
          await rt.close();
        }
      });
    });

    it("unconfined, the same tool reads the orchestrator's command line and status", async () => {
      const rt = await makeRuntime({ runtimeType, entrypointPath: "tools.mjs", sandbox: "off" }, root);
      try {
        const out = (await rt.executeTool("look", "pidns-2", { pid: process.pid })) as unknown as Look;
        assert.equal(out.err, null);
        assert.ok(out.cmdline && out.cmdline.includes("node"), String(out.cmdline));
        assert.ok(out.status && out.status.includes(`Pid:\t${process.pid}`), String(out.status));
        assert.ok(out.pids.includes(process.pid));
      } finally {
        await rt.close();
      }
    });
  });
}

describe("the tool-runtime-init binary", () => {
  const repo = path.join(__dirname, "..");
  const init = path.join(repo, "tool-runtime-init");
  /** Creates a runtime in a fresh node process (capabilities are probed once per process). */
  function createIn(env: Record<string, string>, sandbox: string): { ok: boolean; code?: string; message?: string; otherProcesses?: string[] } {
    const script = `
      const { RuntimeFactory } = require(${JSON.stringify(path.join(repo, "index.js"))});
      new RuntimeFactory(${JSON.stringify(root)})
        .createRuntime({ runtimeType: "node", entrypointPath: "tools.mjs", sandbox: ${JSON.stringify(sandbox)} })
        .then(async (rt) => { const out = await rt.executeTool("look", "x", { pid: process.pid }); await rt.close();
          console.log(JSON.stringify({ ok: out.err === "ENOENT", otherProcesses: rt.sandbox.otherProcesses })); })
        .catch((e) => console.log(JSON.stringify({ ok: false, code: e.code, message: e.message })));`;
    const out = execFileSync(process.execPath, ["-e", script], { env: { ...process.env, ...env }, encoding: "utf8" });
    return JSON.parse(out.trim().split("\n").pop()!);
  }

  it("strict refuses to start without it, with ERR_SANDBOX_UNAVAILABLE naming it", () => {
    const r = createIn({ TOOL_RUNTIME_INIT: path.join(root, "no-such-init") }, "strict");
    assert.equal(r.code, "ERR_SANDBOX_UNAVAILABLE", JSON.stringify(r));
    assert.match(r.message!, /PID namespace/);
    assert.match(r.message!, /tool-runtime-init|no-such-init/);
  });

  it("best-effort falls back to the host's view without it", () => {
    const r = createIn({ TOOL_RUNTIME_INIT: path.join(root, "no-such-init") }, "best-effort");
    assert.ok(r.otherProcesses && !r.otherProcesses.includes("pid-namespace"), JSON.stringify(r));
  });

  it("a non-executable file is refused too", () => {
    const copy = path.join(root, "not-executable-init");
    fs.copyFileSync(init, copy);
    fs.chmodSync(copy, 0o644);
    const r = createIn({ TOOL_RUNTIME_INIT: copy }, "strict");
    assert.equal(r.code, "ERR_SANDBOX_UNAVAILABLE", JSON.stringify(r));
  });

  it("with it (the twin), strict starts and the call gets its namespace", () => {
    const r = createIn({ TOOL_RUNTIME_INIT: init }, "strict");
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.ok(r.otherProcesses!.includes("pid-namespace"), JSON.stringify(r));
  });

  it("is found beside the addon without any setting", () => {
    assert.equal(process.env.TOOL_RUNTIME_INIT, undefined);
    const r = createIn({}, "strict");
    assert.equal(r.ok, true, JSON.stringify(r));
  });
});
