// Each sandboxed call has a PID namespace of its own with its own /proc: it sees only its own
// processes, not the orchestrator's command line (where secrets often sit) nor other calls.
// The twin: unconfined, the same tool reads the orchestrator's /proc entry.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, describe, it } from "node:test";
import { RUNTIMES, makeRuntime, tempDir } from "./helpers";

const root = tempDir("tr-pidns-");
fs.writeFileSync(
  path.join(root, "tools.mjs"),
  `import fs from "node:fs";
export function look(input) {
  const pids = fs.readdirSync("/proc").filter((e) => /^[0-9]+$/.test(e)).map(Number);
  let cmdline = null;
  let err = null;
  try {
    cmdline = fs.readFileSync("/proc/" + input.pid + "/cmdline", "latin1");
  } catch (e) {
    err = e.code;
  }
  return { pids, self: process.pid, cmdline, err };
}
`,
);
after(() => fs.rmSync(root, { recursive: true, force: true }));

interface Look {
  pids: number[];
  self: number;
  cmdline: string | null;
  err: string | null;
}

for (const runtimeType of RUNTIMES) {
  describe(`a call's own PID namespace on ${runtimeType}`, () => {
    for (const [label, pool] of [
      ["cold", null],
      ["pooled", { minIdle: 1 }],
    ] as const) {
      it(`${label}: sees only its own processes and not the orchestrator's command line`, async () => {
        const rt = await makeRuntime({ runtimeType, entrypointPath: "tools.mjs", pool }, root);
        try {
          assert.ok(rt.sandbox.otherProcesses.includes("pid-namespace"), JSON.stringify(rt.sandbox.otherProcesses));
          const out = (await rt.executeTool("look", "pidns-1", { pid: process.pid })) as unknown as Look;
          assert.equal(out.err, "ENOENT", `read the orchestrator's cmdline: ${out.cmdline}`);
          assert.equal(out.self, 2, "the runtime is the second process of its namespace");
          assert.ok(!out.pids.includes(process.pid), `the orchestrator is visible: ${out.pids}`);
          assert.ok(out.pids.every((p) => p < 100), `more than the call's processes: ${out.pids}`);
        } finally {
          await rt.close();
        }
      });
    }

    it("unconfined, the same tool reads the orchestrator's command line", async () => {
      const rt = await makeRuntime({ runtimeType, entrypointPath: "tools.mjs", sandbox: "off" }, root);
      try {
        const out = (await rt.executeTool("look", "pidns-2", { pid: process.pid })) as unknown as Look;
        assert.equal(out.err, null);
        assert.ok(out.cmdline && out.cmdline.includes("node"), String(out.cmdline));
        assert.ok(out.pids.includes(process.pid));
      } finally {
        await rt.close();
      }
    });
  });
}
