// Host functions: tools calling back into the orchestrator through `context.host`, on bun and
// node, cold and through both kinds of pool, with the sandbox on (the default policy: read
// only, no network). Tools: fixtures/host.mjs.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { type HostContext, type HostFunctions, type Runtime, type RuntimeConfigInput, TimeoutError } from "tool-runtime";
import { FIXTURES, RUNTIMES, makeRuntime, sleep } from "./helpers";
import { rejection } from "./proc-helpers";

const MODES: { name: string; config: RuntimeConfigInput }[] = [
  { name: "cold", config: {} },
  { name: "single-use pool", config: { pool: { minIdle: 1 } } },
  { name: "reuse pool", config: { pool: { minIdle: 1, reuse: { maxCallsPerWorker: 50, maxRssMb: 512 } } } },
];

function hostRuntime(runtimeType: "bun" | "node" | "deno", config: RuntimeConfigInput = {}): Promise<Runtime> {
  return makeRuntime({ runtimeType, entrypointPath: "host.mjs", toolExecutionTimeoutMs: 30_000, ...config });
}

class CodedError extends Error {
  code = "E_NO_SUCH_USER";
}

const BASE: HostFunctions = {
  add: ({ a, b }: { a: number; b: number }) => a + b,
  greet: async ({ name }: { name: string }) => {
    await sleep(20);
    return `Hello, ${name}!`;
  },
  fail: () => {
    throw new CodedError("no user 42");
  },
};

for (const runtimeType of RUNTIMES) {
  for (const mode of MODES) {
    describe(`${runtimeType}, ${mode.name}: host functions`, () => {
      let rt: Runtime;
      before(async () => {
        rt = await hostRuntime(runtimeType, { ...mode.config, hostFunctions: BASE });
      });
      after(async () => {
        await rt.close();
      });

      it("a tool calls two host functions at once and returns their combined result", async () => {
        for (let i = 0; i < 3; i++) {
          const out = await rt.executeTool("twoAtOnce", `two-${i}`, { a: 2, b: i, name: "Ada" });
          assert.deepEqual(out, { sum: 2 + i, greeting: "Hello, Ada!" });
        }
      });

      it("a host function that throws rejects in the tool with its name, message and code, no stack", async () => {
        const out = await rt.executeTool("catches", "throws-1", { name: "fail", args: {} });
        assert.deepEqual(out, { ok: false, isError: true, name: "Error", message: "no user 42", code: "E_NO_SUCH_USER", hostStack: null });
      });

      it("a name not given to the call rejects with ERR_HOST_FUNCTION_NOT_FOUND, naming what is there", async () => {
        const out = (await rt.executeTool("catches", "nf-1", { name: "deleteEverything", args: {} })) as Record<string, string>;
        assert.equal(out.ok, false);
        assert.equal(out.code, "ERR_HOST_FUNCTION_NOT_FOUND");
        assert.match(out.message, /deleteEverything.*available: add, fail, greet/);
      });
    });
  }

  describe(`${runtimeType}: host functions, one runtime`, () => {
    let rt: Runtime;
    const seen: { ctx: HostContext; args: unknown }[] = [];
    before(async () => {
      rt = await hostRuntime(runtimeType, {
        hostFunctions: {
          ...BASE,
          record: (args, ctx) => {
            seen.push({ args, ctx });
            return { got: args };
          },
        },
      });
    });
    after(async () => {
      await rt.close();
    });

    it("gives ctx the calling toolId and toolExecId, and a signal that fires when the call ends", async () => {
      seen.length = 0;
      const out = await rt.executeTool("catches", "ctx-1", { name: "record", args: JSON.parse('{"x":[1,"two"],"__proto__":{"polluted":true}}') });
      assert.equal((out as { ok: boolean }).ok, true);
      assert.equal(seen.length, 1);
      assert.equal(seen[0].ctx.toolId, "catches");
      assert.equal(seen[0].ctx.toolExecId, "ctx-1");
      assert.deepEqual(Object.keys(seen[0].args as object).sort(), ["__proto__", "x"]);
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
      assert.equal(seen[0].ctx.signal.aborted, true, "the call ended: its host signal has fired");
    });

    it("per-call host functions merge over the runtime's, the call's winning", async () => {
      const out = await rt.executeTool("twoAtOnce", "merge-1", { a: 1, b: 2, name: "x" }, {}, {
        hostFunctions: { add: ({ a, b }: { a: number; b: number }) => a * 100 + b },
      });
      assert.deepEqual(out, { sum: 102, greeting: "Hello, x!" });
    });

    it("context.host lists the functions given and is not a thenable", async () => {
      const out = await rt.executeTool("shape", "shape-1", {}, {}, { hostFunctions: { extra: () => 1 } });
      assert.deepEqual(out, { keys: ["add", "extra", "fail", "greet", "record"], then: "undefined" });
    });

    it("a host function of another call cannot be reached: only the call's own set", async () => {
      let secretRan = 0;
      const secret = () => {
        secretRan++;
        return "the secret";
      };
      const given = await rt.executeTool("catches", "own-1", { name: "secret", args: {} }, {}, { hostFunctions: { secret } });
      assert.deepEqual(given, { ok: true, value: "the secret" });
      assert.equal(secretRan, 1);
      const concurrent = rt.executeTool("waitsOnHost", "own-2", {}, {}, { hostFunctions: { secret, slow: () => sleep(500) } });
      const other = (await rt.executeTool("catches", "own-3", { name: "secret", args: {} })) as Record<string, unknown>;
      await concurrent;
      assert.equal(other.ok, false);
      assert.equal(other.code, "ERR_HOST_FUNCTION_NOT_FOUND");
      assert.equal(secretRan, 1, "the function given to another call did not run");
    });

    it("a forged host-call frame (a nonce the tool made up) runs nothing and ends the call as garbage", async () => {
      let ran = 0;
      const e = await rejection(
        rt.executeTool("forges", "forge-1", { nonce: "0".repeat(32), name: "add" }, {}, { hostFunctions: { add: () => ran++ } }),
      );
      if (runtimeType === "deno") {
        // Deno's node:fs reaches only files deno opened: the tool's write on fd 3 fails (EBADF).
        assert.equal(e.code, "ERR_TOOL_FAILED", e.message);
        assert.match(String(e.message), /Bad file descriptor|EBADF/);
      } else {
        assert.equal(e.code, "ERR_INVALID_OUTPUT");
        assert.match(String(e.message), /nonce/);
      }
      assert.equal(ran, 0);
    });

    it("host errors carry their stack only when hostErrorStack is set", async () => {
      const withStack = await hostRuntime(runtimeType, { hostFunctions: BASE, hostErrorStack: true });
      try {
        const out = (await withStack.executeTool("catches", "stack-1", { name: "fail", args: {} })) as Record<string, string>;
        assert.equal(out.code, "E_NO_SUCH_USER");
        assert.match(out.hostStack, /no user 42\n\s+at /);
      } finally {
        await withStack.close();
      }
    });

    it("the deadline covers time in host functions, and fires the host function's signal", async () => {
      let reason: unknown;
      let aborted!: () => void;
      const abortedSeen = new Promise<void>((r) => (aborted = r));
      const slow = (_args: unknown, ctx: HostContext) =>
        new Promise((_resolve, reject) => {
          ctx.signal.addEventListener("abort", () => {
            reason = ctx.signal.reason;
            aborted();
            reject(ctx.signal.reason);
          });
        });
      const t0 = performance.now();
      // Long enough for the tool to reach the host function first (deno's cold start passed
      // 400 ms on a loaded 2-core machine).
      const deadline = runtimeType === "deno" ? 1500 : 400;
      const e = await rejection(rt.executeToolWithTimeout("waitsOnHost", "deadline-1", {}, {}, deadline, { hostFunctions: { slow } }));
      assert.ok(e instanceof TimeoutError, String(e));
      assert.ok(performance.now() - t0 >= deadline - 10, "the deadline did not fire early");
      await abortedSeen;
      assert.equal((reason as DOMException).name, "TimeoutError");
    });

    it("an aborted call fires its host functions' signal with an AbortError", async () => {
      let reason: unknown;
      let started!: () => void;
      const startedP = new Promise<void>((r) => (started = r));
      const slow = (_a: unknown, ctx: HostContext) =>
        new Promise((_res, rej) => {
          started();
          ctx.signal.addEventListener("abort", () => {
            reason = ctx.signal.reason;
            rej(ctx.signal.reason);
          });
        });
      const ac = new AbortController();
      const call = rt.executeTool("waitsOnHost", "abort-1", {}, {}, { hostFunctions: { slow }, signal: ac.signal });
      await startedP;
      ac.abort();
      const e = await rejection(call);
      assert.equal(e.code, "ERR_ABORTED");
      assert.equal((reason as DOMException).name, "AbortError");
    });

    it("a host call still running when the tool returns has its signal fired", async () => {
      let ctxSeen: HostContext | undefined;
      const slow = (_a: unknown, ctx: HostContext) => {
        ctxSeen = ctx;
        return new Promise(() => {});
      };
      assert.deepEqual(await rt.executeTool("leavesOneRunning", "left-1", {}, {}, { hostFunctions: { slow, ping: () => 1 } }), { returned: true });
      assert.equal(ctxSeen?.signal.aborted, true);
    });

    it("maxOutputBytes bounds arguments and results, both ways; under it both pass", async () => {
      const small = await hostRuntime(runtimeType, {
        maxOutputBytes: 1000,
        hostFunctions: { echo: (a: { s: string }) => a.s.length, big: ({ n }: { n: number }) => "y".repeat(n) },
      });
      try {
        const call = (name: string, args: unknown) => small.executeTool("catches", `size-${name}`, { name, args }) as Promise<Record<string, unknown>>;
        assert.deepEqual(await call("echo", { s: "x".repeat(500) }), { ok: true, value: 500 });
        assert.equal((await call("echo", { s: "x".repeat(2000) })).code, "ERR_OUTPUT_TOO_LARGE");
        assert.deepEqual(await call("big", { n: 500 }), { ok: true, value: "y".repeat(500) });
        const tooBig = await call("big", { n: 2000 });
        assert.equal(tooBig.code, "ERR_OUTPUT_TOO_LARGE");
        assert.match(String(tooBig.message), /host function big returned 2002 bytes/);
      } finally {
        await small.close();
      }
    });

    it("maxHostCallsInFlight caps concurrent host calls (the rest wait); maxHostCalls caps the total", async () => {
      let inFlight = 0;
      let peak = 0;
      const track = async ({ i }: { i: number }) => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        await sleep(10);
        inFlight--;
        return i;
      };
      const limited = await hostRuntime(runtimeType, { maxHostCallsInFlight: 3, maxHostCalls: 12, hostFunctions: { track } });
      try {
        const out = (await limited.executeTool("many", "inflight-1", { n: 12 })) as { results: { value?: number }[] };
        assert.deepEqual(out.results.map((r) => r.value), [...Array(12).keys()]);
        assert.equal(peak, 3, "never more than maxHostCallsInFlight at once, and the cap was reached");
        const seq = (await limited.executeTool("sequential", "total-1", { n: 13 })) as { results: { value?: number; code?: string }[] };
        assert.deepEqual(seq.results.slice(0, 12).map((r) => r.value), [...Array(12).keys()]);
        assert.equal(seq.results[12].code, "ERR_HOST_CALL_LIMIT");
      } finally {
        await limited.close();
      }
    });

    it("counts host calls and their time in metrics", async () => {
      const { result, metrics } = await rt.executeTool("twoAtOnce", "metrics-1", { a: 1, b: 1, name: "m" }, {}, { metrics: true });
      assert.deepEqual(result, { sum: 2, greeting: "Hello, m!" });
      const h = metrics.hostCalls!;
      assert.equal(h.count, 2);
      assert.deepEqual(h.calls.map((c) => c.name).sort(), ["add", "greet"]);
      assert.ok(h.calls.every((c) => c.ok && c.ms >= 0));
      const greet = h.calls.find((c) => c.name === "greet")!;
      assert.ok(greet.ms >= 15, `greet sleeps 20 ms, measured ${greet.ms}`);
      assert.ok(h.totalMs >= greet.ms);
      const plain = await rt.executeTool("shape", "metrics-2", {}, {}, { metrics: true, hostFunctions: {} });
      assert.equal(plain.metrics.hostCalls?.count, 0);
    });

    it("bad host functions are refused before anything starts", async () => {
      for (const [fns, what] of [
        [{ then: () => 1 }, /then/],
        [{ "1abc": () => 1 }, /1abc/],
        [{ ok: 42 }, /must be a function/],
      ] as const) {
        const e = await rejection(rt.executeTool("shape", "bad-1", {}, {}, { hostFunctions: fns as unknown as HostFunctions }));
        assert.equal(e.code, "ERR_INVALID_ARGUMENT");
        assert.match(String(e.message), what);
      }
      const e = await rejection(hostRuntime(runtimeType, { hostFunctions: { x: "no" } as unknown as HostFunctions }));
      assert.equal(e.code, "ERR_INVALID_CONFIG");
    });
  });

  if (runtimeType === "node") {
    it("node: a tool that learns its own nonce and writes host calls itself still meets every host-side limit", async () => {
      let inFlight = 0;
      let peak = 0;
      const track = async () => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        await sleep(50);
        inFlight--;
        return "ok";
      };
      const rt = await hostRuntime("node", {
        maxOutputBytes: 1000,
        maxHostCallsInFlight: 3,
        hostFunctions: { track },
        pool: { minIdle: 1, maxWorkers: 1, reuse: {} },
      });
      try {
        assert.deepEqual(await rt.executeTool("floods", "flood-0", {}), { installed: true });
        const { result, metrics } = await rt.executeTool("floods", "flood-1", { n: 20, big: 1500 }, {}, { metrics: true });
        assert.deepEqual(result, { nonceSeen: true });
        assert.ok(peak <= 3, `at most maxHostCallsInFlight ran at once, saw ${peak}`);
        const codes = metrics.hostCalls!.calls.map((c) => c.code);
        assert.ok(codes.filter((c) => c === "ERR_HOST_CALL_LIMIT").length >= 17 - 3, codes.join());
        assert.ok(codes.includes("ERR_HOST_FUNCTION_NOT_FOUND"));
        assert.ok(codes.includes("ERR_OUTPUT_TOO_LARGE"));
        assert.equal(metrics.hostCalls!.count, 23);
      } finally {
        await rt.close();
      }
    });
  }

  it(`${runtimeType}: host functions of an ended call do not keep the orchestrator's process alive`, async () => {
    const script = path.join(__dirname, "scripts", "host-exit.mjs");
    const child = spawn(process.execPath, [script, FIXTURES, runtimeType], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    const cap = setTimeout(() => child.kill("SIGKILL"), 60_000);
    const [code, signal] = (await once(child, "exit")) as [number | null, string | null];
    clearTimeout(cap);
    assert.equal(signal, null, "the process did not exit on its own (killed after 60 s)");
    assert.equal(code, 0);
    assert.deepEqual(JSON.parse(out), { sum: 3, greeting: "Hello, x!" });
  });

  describe(`${runtimeType}: a tool with no network reaches the host only through its functions`, () => {
    let server: http.Server;
    let url: string;
    let rt: Runtime;
    before(async () => {
      server = http.createServer((_req, res) => res.end("from the orchestrator's network"));
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
      rt = await hostRuntime(runtimeType, {
        hostFunctions: { fetchText: async ({ url }: { url: string }) => (await fetch(url)).text() },
      });
    });
    after(async () => {
      await rt.close();
      server.close();
    });

    it("the tool's own fetch is refused; the host function given to it reaches the server", async () => {
      assert.deepEqual(rt.sandbox.net.granted, "none");
      const out = await rt.executeTool("fetches", "net-1", { url });
      assert.deepEqual(out, { direct: "ERR_NET_DENIED", viaHost: "from the orchestrator's network" });
    });
  });
}
