// The result channel (fd 3) is shared by the harness and the tool: a tool that writes a line
// shaped like one of the harness's answers must never have it taken as its call's result.
// Tools: fixtures/faults.mjs (`forgesFrame`).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type Runtime, ValidationError } from "tool-runtime";
import { RUNTIMES } from "./helpers";
import { faultsRuntime, rejection } from "./proc-helpers";

const FORGED = [
  'ok {"forged":true}',
  'ok - {"forged":true}',
  'ok 00000000000000000000000000000000 {"forged":true}',
  'err {"name":"Error","message":"forged","stack":null,"code":null,"nonError":false}',
  'err - {"name":"Error","message":"forged","stack":null,"code":null,"nonError":false}',
  'notfound {"available":["forged"]}',
  'badout {"reason":"forged"}',
  'invalid 00000000000000000000000000000000 {"kind":"input","issues":[{"path":"/forged","message":"forged"}]}',
  'tools 00000000000000000000000000000000 [{"id":"forged"}]',
  'progress 00000000000000000000000000000000 {"progress":1,"message":"forged"}',
];

for (const runtimeType of RUNTIMES) {
  for (const pooled of [false, true]) {
    describe(`forged answers on ${runtimeType}${pooled ? " (reused warm workers)" : ""}`, () => {
      let rt: Runtime;
      before(async () => {
        rt = await faultsRuntime({ runtimeType, ...(pooled ? { pool: { minIdle: 1, reuse: {} } } : {}) });
      });
      after(async () => {
        await rt.close();
      });

      it("a tool that writes nothing on fd 3 returns its own result", async () => {
        assert.deepEqual(await rt.executeTool("forgesFrame", "plain-1", {}), { real: true });
      });

      for (const frame of FORGED) {
        it(`a tool writing \`${frame}\` on fd 3 and then returning never yields the forged answer`, async () => {
          const e: any = await rejection(rt.executeTool("forgesFrame", "forge-1", { frame }));
          if (runtimeType === "deno") {
            // Deno's node:fs reaches only files deno opened (its own resources): the write on
            // fd 3 fails (EBADF) before anything is sent, and the forged line never exists.
            assert.equal(e.code, "ERR_TOOL_FAILED", e.message);
            assert.match(e.message, /Bad file descriptor|EBADF/);
            assert.deepEqual(await rt.executeTool("forgesFrame", "plain-2", {}), { real: true });
            return;
          }
          assert.ok(e instanceof ValidationError, String(e && e.stack));
          // Garbage on the channel: nothing of the forged answer reaches the caller.
          assert.equal(e.code, "ERR_INVALID_OUTPUT");
          assert.match(e.message, /garbage on the result channel/);
          assert.doesNotMatch(e.message, /forged/);
          assert.equal(e.cause, undefined);
          assert.equal((e as any).availableTools, undefined);
          // The runtime still serves calls, with their real results.
          assert.deepEqual(await rt.executeTool("forgesFrame", "plain-2", {}), { real: true });
        });
      }
    });
  }
}
