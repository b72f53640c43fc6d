// Calls are admitted in the order they are made, from JS too: the place in line is taken
// synchronously when `executeTool` is called, before any of the calls' async work runs.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type Runtime, ToolExecutionError } from "tool-runtime";
import { makeRuntime } from "./helpers";

describe("admission order", () => {
  let rt: Runtime;
  before(async () => {
    rt = await makeRuntime({ runtimeType: "bun", maxConcurrency: 1, maxQueue: 1 });
  });
  after(async () => {
    await rt.close();
  });

  it("with one slot and a line of one, the second call waits and the third is refused, every time", async () => {
    for (let round = 0; round < 20; round++) {
      const a = rt.executeTool("sleeps", `a-${round}`, { ms: 150 });
      const b = rt.executeTool("greet", `b-${round}`, { name: "b" });
      const c = rt.executeTool("greet", `c-${round}`, { name: "c" });
      const [ra, rb, rc] = await Promise.allSettled([a, b, c]);
      assert.equal(ra.status, "fulfilled", `round ${round}: a`);
      assert.equal(rb.status, "fulfilled", `round ${round}: b ${rb.status === "rejected" ? rb.reason : ""}`);
      assert.equal(rc.status, "rejected", `round ${round}: c`);
      const e = (rc as PromiseRejectedResult).reason;
      assert.ok(e instanceof ToolExecutionError);
      assert.equal(e.code, "ERR_QUEUE_FULL");
    }
  });

  it("a call refused for a bad argument takes no place in line", async () => {
    const a = rt.executeTool("sleeps", "bad-a", { ms: 150 });
    const bad = rt.executeTool("greet", "bad id with spaces", {});
    const b = rt.executeTool("greet", "bad-b", { name: "b" });
    const [ra, rbad, rb] = await Promise.allSettled([a, bad, b]);
    assert.equal(ra.status, "fulfilled");
    assert.equal(rbad.status, "rejected");
    assert.equal((rbad as PromiseRejectedResult).reason.code, "ERR_INVALID_ARGUMENT");
    assert.equal(rb.status, "fulfilled");
  });
});
