// runtime.executeCode: source run as an ES module in the sandbox, like a tool call, with
// `input`, `config` and `host` in scope. The runtime's entrypoint (fixtures/tools.mjs) still
// loads; the code never goes through a file.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { ProcessError, type Runtime, type RuntimeConfigInput, TimeoutError } from "tool-runtime";
import { RUNTIMES, makeRuntime } from "./helpers";
import { rejection } from "./proc-helpers";

const MODES: { name: string; config: RuntimeConfigInput }[] = [
  { name: "cold", config: {} },
  { name: "reuse pool", config: { pool: { minIdle: 1, reuse: { maxCallsPerWorker: 50, maxRssMb: 512 } } } },
];

/** Every file under `dir` whose contents hold `needle`. */
function filesHolding(dir: string, needle: string): string[] {
  const found: string[] = [];
  const walk = (d: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) {
        try {
          if (fs.readFileSync(p).includes(needle)) found.push(p);
        } catch {}
      }
    }
  };
  walk(dir);
  return found;
}

for (const runtimeType of RUNTIMES) {
  for (const mode of MODES) {
    describe(`${runtimeType}, ${mode.name}: executeCode`, () => {
      let rt: Runtime;
      before(async () => {
        rt = await makeRuntime({
          runtimeType,
          permissions: [],
          toolExecutionTimeoutMs: 30_000,
          hostFunctions: { add: ({ a, b }: { a: number; b: number }) => a + b, twice: (n: number) => n * 2 },
          ...mode.config,
        });
      });
      after(async () => {
        await rt.close();
      });

      it("runs a module with input, config and host in scope; top-level await; the default export is the result", async () => {
        const source = [
          "const sum = await host.add({ a: input.a, b: 2 });",
          "const doubled = await host.twice(sum);",
          "export default { sum, doubled, mode: config.mode };",
        ].join("\n");
        assert.deepEqual(await rt.executeCode(source, { input: { a: 1 }, config: { mode: "fast" } }), { sum: 3, doubled: 6, mode: "fast" });
      });

      it("calls a default-exported function like a tool, and wraps non-objects", async () => {
        const fn = "export default async (input, config, context) => ({ n: input.n + 1, toolId: context.toolId, host: typeof context.host.add });";
        assert.deepEqual(await rt.executeCode(fn, { input: { n: 41 } }), { n: 42, toolId: "inline-code", host: "function" });
        assert.deepEqual(await rt.executeCode("export default 7;"), { value: 7 });
        assert.deepEqual(await rt.executeCode("const x = 1;"), {});
      });

      it("a syntax error is ERR_ENTRYPOINT_FAILED with its line and column; the next call runs", async () => {
        const e = await rejection(rt.executeCode("const a = 1;\nconst b = ;\nexport default a;"));
        assert.ok(e instanceof ProcessError, String(e));
        assert.equal(e.code, "ERR_ENTRYPOINT_FAILED");
        assert.equal(e.entrypoint, "<inline code>");
        assert.equal(e.line, 2);
        assert.equal(e.column, 11);
        assert.match(String(e.message), /line 2, column 11/);
        const first = await rejection(rt.executeCode("const b = ;"));
        assert.equal(first.line, 1);
        assert.equal(first.column, 11);
        assert.deepEqual(await rt.executeCode("export default { fine: true };"), { fine: true });
      });

      it("a throw is ERR_TOOL_FAILED with its cause; the deadline holds", async () => {
        const e = await rejection(rt.executeCode("throw Object.assign(new TypeError('nope'), { code: 'E_X' });"));
        assert.equal(e.code, "ERR_TOOL_FAILED");
        assert.equal(e.cause?.message, "nope");
        assert.equal(e.cause?.code, "E_X");
        const parse = await rejection(rt.executeCode("JSON.parse('{oops');"));
        assert.equal(parse.code, "ERR_TOOL_FAILED", "a SyntaxError thrown at run time is the code's own failure");
        assert.equal(parse.cause?.name, "SyntaxError");
        const t = await rejection(rt.executeCode("await new Promise(() => setInterval(() => {}, 1000));", { timeoutMs: 300 }));
        assert.ok(t instanceof TimeoutError);
      });

      it("runs with no network and no file writes, and the source is in no file", async () => {
        const marker = `MARK_${Math.random().toString(36).slice(2)}_${runtimeType}`;
        // Every folder of this process's runtimes: the runtimes' own and the calls' temp dirs.
        const ours = fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith(`tool-runtime-calls-${process.pid}-`));
        let seenOnHost: string[] = [];
        const source = `
          // ${marker}
          import fs from "node:fs";
          let fetched, wrote;
          try { await fetch("http://127.0.0.1:9/"); fetched = "yes"; } catch (e) { fetched = e.code ?? e.cause?.code ?? e.name; }
          try { fs.writeFileSync(${JSON.stringify(path.join(process.cwd(), `${marker}.txt`))}, "x"); wrote = "yes"; } catch (e) { wrote = e.code ?? e.name; }
          const inTmp = [];
          const walk = (d) => { for (const e of fs.readdirSync(d, { withFileTypes: true })) { const p = d + "/" + e.name; if (e.isDirectory()) walk(p); else if (fs.readFileSync(p, "utf8").includes("${marker.slice(0, 8)}" + "${marker.slice(8)}")) inTmp.push(p); } };
          walk(process.env.TMPDIR);
          await host.scan();
          export default { fetched, wrote, inTmp };
        `;
        const out = await rt.executeCode(source, {
          hostFunctions: {
            scan: () => {
              seenOnHost = ours.flatMap((d) => filesHolding(path.join(os.tmpdir(), d), marker));
            },
          },
        });
        // node's permission model (deno's: NotCapable) refuses the write before the kernel would.
        const { wrote, ...rest } = out as { wrote: string };
        assert.deepEqual(rest, { fetched: "ERR_NET_DENIED", inTmp: [] });
        assert.ok(["EACCES", "ERR_ACCESS_DENIED", "NotCapable"].includes(wrote), wrote);
        assert.equal(fs.existsSync(path.join(process.cwd(), `${marker}.txt`)), false);
        assert.ok(ours.length > 0);
        assert.deepEqual(seenOnHost, [], "no file on the host held the source while it ran");
      });
    });
  }
}

for (const runtimeType of RUNTIMES) {
  describe(`${runtimeType}: executeCode with language ts`, () => {
    let rt: Runtime;
    before(async () => {
      rt = await makeRuntime({ runtimeType, permissions: [], hostFunctions: { add: ({ a, b }: { a: number; b: number }) => a + b } });
    });
    after(async () => {
      await rt.close();
    });

    it("runs a TypeScript snippet calling a host function, with no network and no writes", async () => {
      const source = [
        "interface Sum { a: number; b: number }",
        "const args: Sum = { a: input.a as number, b: 5 };",
        "const sum: number = await host.add(args);",
        "enum Mode { Fast = 'fast' }",
        "export default { sum, mode: Mode.Fast } satisfies { sum: number; mode: string };",
      ].join("\n");
      assert.deepEqual(await rt.executeCode(source, { language: "ts", input: { a: 2 } }), { sum: 7, mode: "fast" });
      assert.deepEqual(rt.sandbox.net.granted, "none");
      assert.deepEqual(rt.sandbox.write.granted, "none");
    });

    it("a TypeScript syntax error reports its line and column", async () => {
      const e = await rejection(rt.executeCode("const a: number = 1;\nlet q = (;\n", { language: "ts" }));
      assert.equal(e.code, "ERR_ENTRYPOINT_FAILED");
      assert.equal(e.line, 2);
      assert.equal(e.column, 10);
    });

    it("a runtime error in a TypeScript snippet is the code's own failure (ERR_TOOL_FAILED)", async () => {
      const e = await rejection(rt.executeCode("const n: number = 1;\nconst o: { x?: { y: number } } = {};\nexport default o.x!.y + n;", { language: "ts" }));
      assert.equal(e.code, "ERR_TOOL_FAILED");
      assert.equal(e.cause?.name, "TypeError");
    });
  });
}

describe("executeCode arguments", () => {
  it("refuses a non-string source and an unknown language", async () => {
    const rt = await makeRuntime({ runtimeType: "bun" });
    try {
      assert.equal((await rejection(rt.executeCode(42 as unknown as string))).code, "ERR_INVALID_ARGUMENT");
      assert.equal((await rejection(rt.executeCode("1", { language: "py" as "js" }))).code, "ERR_INVALID_ARGUMENT");
    } finally {
      await rt.close();
    }
  });
});
