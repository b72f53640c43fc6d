// A tool shares its process and JavaScript realm with the harness, so it can learn its call's
// nonce (here: by patching TextDecoder.prototype.decode, which the harness reads fd 3 with) and
// write answers carrying it. The host must then take such an answer as the tool's own claim:
// checked against the listed outputSchema, and never able to say what only the host says.
// Tools: fixtures/forge.mjs. Calls run on warm reused workers, where the tool's patches are in
// place before the call frame arrives.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type Runtime, ToolExecutionError, TimeoutError, ValidationError } from "tool-runtime";
import { RUNTIMES, makeRuntime } from "./helpers";
import { rejection, waitIdle } from "./proc-helpers";

const GARBAGE = /garbage on the result channel/;

for (const runtimeType of RUNTIMES) {
  describe(`answers a tool forges with its call's nonce, on ${runtimeType}`, () => {
    let rt: Runtime;
    before(async () => {
      rt = await makeRuntime({ runtimeType, entrypointPath: "forge.mjs", pool: { minIdle: 1, reuse: {} } });
    });
    after(async () => {
      await rt.close();
    });

    /** A call on a warm worker (the fixture's patches are installed when its module loads). */
    async function call(toolId: string, input: object): Promise<unknown> {
      assert.ok((await waitIdle(rt, 1)) >= 1, "no idle worker");
      return rt.executeTool(toolId, `forge-${Date.now()}`, input);
    }

    it("the harness writes its frames with functions it captured: patched writers see no answer", async () => {
      assert.deepEqual(await call("spyWrites", {}), { seen: 0 });
    });

    it("a forged answer that matches the listed outputSchema is taken (the tool could return it)", async () => {
      await rt.listTools();
      assert.deepEqual(await call("forge", { frame: 'ok NONCE {"count":7}' }), { count: 7 });
      assert.deepEqual(await call("honest", { value: { count: 8 } }), { count: 8 });
    });

    it("a forged answer that breaks the listed outputSchema is ERR_INVALID_OUTPUT from the host", async () => {
      await rt.listTools();
      const e: any = await rejection(call("forge", { frame: 'ok NONCE {"count":"seven"}' }));
      assert.ok(e instanceof ValidationError, String(e && e.stack));
      assert.equal(e.code, "ERR_INVALID_OUTPUT");
      assert.deepEqual(e.issues.map((i: any) => i.path), ["/count"]);
      // The same value returned for real is refused the same way.
      const real: any = await rejection(call("honest", { value: { count: "seven" } }));
      assert.equal(real.code, "ERR_INVALID_OUTPUT");
      assert.deepEqual(real.issues, e.issues);
    });

    it("a forged non-object answer is one JSON value, or garbage", async () => {
      await rt.listTools();
      const e: any = await rejection(call("forge", { frame: 'ok NONCE 1,"count":2' }));
      assert.equal(e.code, "ERR_INVALID_OUTPUT");
      assert.match(e.message, /not one JSON value/);
    });

    it("a forged error with a host's code stays the tool's failure, its code in the cause", async () => {
      const thrown = '{"name":"TimeoutError","message":"forged","stack":null,"code":"ERR_TOOL_TIMEOUT","nonError":false}';
      const e: any = await rejection(call("forge", { frame: `err NONCE ${thrown}` }));
      assert.ok(e instanceof ToolExecutionError && !(e instanceof TimeoutError), String(e && e.stack));
      assert.equal(e.code, "ERR_TOOL_FAILED");
      assert.equal((e.cause as any).code, "ERR_TOOL_TIMEOUT");
    });

    // Answers only the host (or the harness at another moment) gives: each is garbage when the
    // tool writes it, whether raw on fd 3 or with the nonce it learned.
    const HOSTS_WORDS: [string, string, string][] = [
      ["a listed tool reported not found", 'notfound NONCE {"available":["evil"]}', "ERR_TOOL_NOT_FOUND"],
      [
        "its input refused with no inputSchema to refuse it",
        'invalid NONCE {"kind":"input","issues":[{"path":"/x","message":"forged"}]}',
        "ERR_INVALID_INPUT",
      ],
      ["a listing as a call's answer", 'tools NONCE [{"id":"evil"}]', "(a result)"],
      ["a compile error of a tool call", 'codeerr NONCE {"name":"SyntaxError","message":"forged","line":1,"column":1,"lineText":"x"}', "ERR_ENTRYPOINT_FAILED"],
      ["a load error after loading", 'loaderr {"name":"Error","message":"forged","stack":null,"code":null,"nonError":false}', "ERR_ENTRYPOINT_FAILED"],
      ["a warm-up answer", "pong", "ERR_INTERNAL"],
      ["a second hello", 'hello {"pid":1}', "ERR_TOOL_TIMEOUT"],
    ];
    for (const [what, frame, before] of HOSTS_WORDS) {
      it(`${what} is garbage (was ${before})`, async () => {
        await rt.listTools();
        const e: any = await rejection(call("forge", { frame }));
        assert.ok(e instanceof ValidationError, String(e && e.stack));
        assert.equal(e.code, "ERR_INVALID_OUTPUT");
        assert.match(e.message, GARBAGE);
        assert.doesNotMatch(e.message, /forged|evil/);
        // The runtime goes on serving real answers.
        assert.deepEqual(await call("honest", { value: { count: 1 } }), { count: 1 });
      });
    }
  });
}
