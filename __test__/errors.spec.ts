// The public types against the real objects: every error code is produced through the real API
// (real runtimes, real limits, the real sandbox check), and every own property of every error
// must be declared by its class in index.d.ts, read with the TypeScript compiler itself. The
// same for the config objects. Also: an abort's reason survives, started or not.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import ts from "typescript";
import {
  AbortError,
  ConfigError,
  type ErrorCode,
  ProcessError,
  RuntimeFactory,
  type Runtime,
  TimeoutError,
  ToolExecutionError,
  ToolRuntimeError,
  ValidationError,
  configFromEnv,
  defaultConfig,
  fromAppConfig,
  testConfig,
} from "tool-runtime";
import { FIXTURES, RUNTIMES, makeRuntime, sleep, tempDir } from "./helpers";
import { faultsRuntime, opts, rejection } from "./proc-helpers";

const CODE_CLASSES: Record<string, string> = require("../lib/codes.js");
const CLASSES: Record<string, Function> = { ToolRuntimeError, ToolExecutionError, TimeoutError, AbortError, ProcessError, ValidationError, ConfigError };

/** The public types, as the TypeScript compiler reads them. */
const types = (() => {
  const dts = path.join(__dirname, "..", "index.d.ts");
  const program = ts.createProgram([dts], { strict: true, noEmit: true, target: ts.ScriptTarget.ES2022, types: ["node"] });
  const checker = program.getTypeChecker();
  const exported = checker.getExportsOfModule(checker.getSymbolAtLocation(program.getSourceFile(dts)!)!);
  const typeOf = (name: string) => {
    const sym = exported.find((s) => s.name === name);
    assert.ok(sym, `index.d.ts exports no ${name}`);
    return checker.getDeclaredTypeOfSymbol(sym.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(sym) : sym);
  };
  const literals = (t: ts.Type) => (t.isUnion() ? t.types : [t]).filter((u) => u.isStringLiteral()).map((u) => (u as ts.StringLiteralType).value);
  return {
    /** Property names of an exported class or interface, inherited ones included. */
    properties(name: string): Set<string> {
      return new Set(checker.getPropertiesOfType(typeOf(name)).map((p) => p.name));
    },
    /** The string literals a class's `code` may hold. */
    codes(name: string): string[] {
      const code = checker.getPropertyOfType(typeOf(name), "code");
      assert.ok(code, `${name} declares no code`);
      return literals(checker.getTypeOfSymbol(code));
    },
    /** The members of a union of string literals. */
    union(name: string): string[] {
      return literals(typeOf(name));
    },
  };
})();

/**
 * Compile-time half of the check (`tsc` runs over this file in `npm run lint`): every field
 * the README lists, with the type a caller relies on.
 */
export function fieldsAreTyped(t: ToolExecutionError, o: TimeoutError, a: AbortError, p: ProcessError, c: ConfigError) {
  const tool: [string, string, string | undefined, boolean | undefined, string[] | undefined, string[] | undefined, number | string | undefined, number | undefined, number | undefined] = [
    t.toolId, t.toolExecId, t.cause?.code, t.cause?.nonError, t.availableTools, t.deniedHosts, t.limit, t.size, t.maxQueue,
  ];
  const timeout: [number, boolean, true, number | null, string | null, string, string] = [o.timeoutMs, o.started, o.timedOut, o.exitCode, o.signal, o.stderr, o.stdout];
  const abort: [boolean, true, unknown] = [a.started, a.isCanceled, a.reason];
  const proc: [number | null, string | null, string | null, string | null, string | undefined, string | undefined, string | null | undefined, string | undefined, number | undefined, number | undefined, number | undefined, number | undefined] = [
    p.exitCode, p.signal, p.stderr, p.stdout, p.loadError?.message, p.runtime, p.path, p.entrypoint, p.limitMb, p.peakMb, p.limitMs, p.maxProcesses,
  ];
  const config: [ErrorCode, string | undefined] = [c.code, c.missing];
  return [tool, timeout, abort, proc, config];
}

/** Every error seen, by code, with what produced it. */
const seen = new Map<string, { e: any; how: string }[]>();

function collect(e: unknown, how: string): any {
  assert.ok(e instanceof ToolRuntimeError, `${how}: not a ToolRuntimeError: ${e instanceof Error ? e.stack : String(e)}`);
  const list = seen.get(e.code) ?? [];
  list.push({ e, how });
  seen.set(e.code, list);
  return e;
}

async function failure(p: Promise<unknown> | (() => unknown), how: string): Promise<any> {
  if (typeof p === "function") {
    try {
      p();
    } catch (e) {
      return collect(e, how);
    }
    assert.fail(`${how}: did not throw`);
  }
  return collect(await rejection(p), how);
}

describe("abort reasons", () => {
  for (const runtimeType of RUNTIMES) {
    describe(`on ${runtimeType}`, () => {
      let rt: Runtime;
      // The tool marks that it runs here.
      const dir = tempDir();
      before(async () => {
        rt = await faultsRuntime({ runtimeType, maxConcurrency: 1, permissions: ["--allow-read", `--allow-write=${dir}`] });
      });
      after(async () => {
        await rt.close();
      });

      /** Runs a 3 s nap with `signal`; returns the rejection, which must be an AbortError. */
      async function aborted(signal: AbortSignal, tag: string, mark?: string): Promise<any> {
        const e = await failure(rt.executeTool("nap", tag, { ms: 3000, mark }, {}, { signal }), tag);
        assert.ok(e instanceof AbortError, `${tag}: ${e.stack}`);
        assert.equal(e.code, "ERR_ABORTED");
        return e;
      }

      /** Aborts `ac` with `reason` once the tool is running (its mark file exists). */
      async function abortOnceRunning(ac: AbortController, mark: string, reason?: unknown) {
        while (!fs.existsSync(mark)) await sleep(10);
        if (reason === undefined) ac.abort();
        else ac.abort(reason);
      }

      it("a started call keeps the reason given to abort(reason): an Error, a string, none", async () => {
        for (const [reason, tag] of [
          [new Error("the user left"), "err"],
          ["user left", "str"],
          [undefined, "bare"],
        ] as const) {
          const ac = new AbortController();
          const mark = path.join(dir, tag);
          const [e] = await Promise.all([aborted(ac.signal, `started-${tag}`, mark), abortOnceRunning(ac, mark, reason)]);
          assert.equal(e.started, true);
          // A bare abort() gives the platform's AbortError as the reason.
          if (reason === undefined) assert.equal(e.reason.name, "AbortError");
          else assert.equal(e.reason, reason);
        }
      });

      it("AbortSignal.timeout() gives a TimeoutError reason, started or not", async () => {
        // Fired while running: the timeout's own reason, handed on by a controller once the tool runs.
        const ac = new AbortController();
        const timeout = AbortSignal.timeout(1);
        // Its timer does not keep node's event loop alive (nothing else may while idle): poll.
        while (!timeout.aborted) await sleep(5);
        const mark = path.join(dir, "running");
        const [e] = await Promise.all([aborted(ac.signal, "started-timeout", mark), abortOnceRunning(ac, mark, timeout.reason)]);
        assert.equal(e.started, true);
        assert.equal(e.reason.name, "TimeoutError");
        // The timeout signal itself, whenever it fires.
        const direct = await aborted(AbortSignal.timeout(300), "direct-timeout");
        assert.equal(direct.reason.name, "TimeoutError");
        // Not started: the only slot is taken, the call waits in the queue when its signal fires.
        const busy = rt.executeTool("nap", "busy", { ms: 1500 });
        await sleep(100);
        const q = await aborted(AbortSignal.timeout(200), "queued-timeout");
        assert.equal(q.started, false);
        assert.equal(q.reason.name, "TimeoutError");
        await busy;
      });

      it("a call not started keeps the reason: aborted in the queue, or before the call", async () => {
        const busy = rt.executeTool("nap", "busy-2", { ms: 1500 });
        await sleep(100);
        const ac = new AbortController();
        setTimeout(() => ac.abort("changed my mind"), 200);
        const q = await aborted(ac.signal, "queued-str");
        assert.equal(q.started, false);
        assert.equal(q.reason, "changed my mind");
        await busy;
        const already = new AbortController();
        const because = new Error("no longer needed");
        already.abort(because);
        const e = await aborted(already.signal, "already");
        assert.equal(e.started, false);
        assert.equal(e.reason, because);
        // The twin: a signal that never fires lets the call finish.
        const r = await rt.executeTool<{ pid: number; tag: string | null }>("nap", "not-aborted", { ms: 10, tag: "done" }, {}, { signal: new AbortController().signal });
        assert.equal(r.tag, "done");
      });
    });
  }
});

describe("the public types hold every field of the real objects", () => {
  it("every error code is produced through the real API", async () => {
    const root = new RuntimeFactory(FIXTURES);
    // Configuration.
    await failure(root.createRuntime({ memoryLimitMb: 512.5 } as any), "createRuntime type error");
    await failure(root.createRuntime({ pool: { reuse: { maxRssMb: -1 } } } as any), "createRuntime nested type error");
    await failure(root.createRuntime("bun" as any), "createRuntime non-object");
    await failure(() => new RuntimeFactory(""), "empty project root");
    await failure(() => fromAppConfig({ pool: { minIdle: "x" } }), "fromAppConfig");
    await failure(() => configFromEnv({ COMPOZY_TOOL_TIMEOUT: "soon" }), "configFromEnv");
    await failure(makeRuntime({ runtimePath: "/nonexistent/bun" }), "missing runtime");
    process.env.TOOL_RUNTIME_PRETEND_MISSING = "landlock";
    try {
      await failure(makeRuntime({ sandbox: "strict" }), "strict sandbox without landlock");
    } finally {
      delete process.env.TOOL_RUNTIME_PRETEND_MISSING;
    }
    const described = await makeRuntime({ entrypointPath: "meta/tools.mjs" });
    try {
      await described.listTools();
      await failure(described.executeTool("greet", "s-1", { name: 3 }), "input against inputSchema");
    } finally {
      await described.close();
    }
    const broken = await makeRuntime({ entrypointPath: "throws-at-import.mjs" });
    try {
      await failure(broken.executeTool("anything", "ep-1"), "entrypoint throws");
    } finally {
      await broken.close();
    }

    const rt = await faultsRuntime({ runtimeType: "bun", maxOutputBytes: 1000, maxConcurrency: 1, maxQueue: 1 });
    try {
      // Arguments, refused in Rust and in JS.
      await failure(rt.executeTool("a..b", "v-1"), "tool id with ..");
      await failure(rt.executeTool("greet", "v-2", {}, { lower: "x" }), "env name");
      await failure(rt.executeTool("greet", "v-3", {}, { A: 1 as any }), "env value type");
      await failure(rt.executeToolWithTimeout("greet", "v-4", {}, {}, -1), "timeout");
      await failure(rt.executeTool("greet", "v-5", { n: 10n }), "input BigInt");
      // Tools.
      await failure(rt.executeTool("fails", "t-1"), "tool throws");
      await failure(rt.executeTool("throwsString", "t-2"), "tool throws a string");
      await failure(rt.executeTool("nope", "t-3"), "unknown tool");
      await failure(rt.executeTool("big", "t-4", { bytes: 5000 }), "output over maxOutputBytes");
      await failure(rt.executeTool("bigint", "t-5"), "BigInt result");
      await failure(rt.executeTool("forgesFrame", "t-6", { frame: 'ok {"forged":true}' }), "forged frame");
      await failure(rt.executeTool("exits", "t-7", { code: 3 }), "exit 3");
      await failure(rt.executeTool("segfault", "t-8"), "segfault");
      // Deadlines, aborts and the queue: one call runs, one waits, a third is refused.
      const busy = rt.executeTool("nap", "q-1", { ms: 1500 });
      await sleep(100);
      const queued = failure(rt.executeToolWithTimeout("nap", "q-2", { ms: 10 }, {}, 600), "timed out in the queue");
      // Calls reach the queue asynchronously: let q-2 take its place before q-3 comes.
      await sleep(100);
      await failure(rt.executeTool("nap", "q-3"), "queue full");
      await queued;
      await busy;
      await failure(rt.executeToolWithTimeout("nap", "d-1", { ms: 3000 }, {}, 200), "timeout while running");
      await failure(rt.executeTool("nap", "a-1", { ms: 3000 }, {}, { signal: AbortSignal.timeout(300) }), "aborted while running");
      // Limits.
      await failure(rt.executeTool("allocate", "l-1", { mb: 2048 }, {}, opts({ memoryLimitMb: 128 })), "memory limit");
      await failure(rt.executeTool("spin", "l-2", {}, {}, opts({ cpuTimeLimitMs: 300 })), "cpu limit");
    } finally {
      await rt.close();
    }
    const bomb = await faultsRuntime({ runtimeType: "bun", maxProcesses: 5, permissions: ["--allow-read", "--allow-run"] });
    try {
      await failure(bomb.executeToolWithTimeout("spawnMany", "l-3", { count: 40, kind: "sh", marker: "TR_TYPES_BOMB" }, {}, 15_000), "process limit");
    } finally {
      await bomb.close();
    }
    await failure(rt.executeTool("greet", "c-1"), "runtime closed");

    // ERR_INTERNAL is a bug by definition: nothing in the API produces it on purpose. The
    // queue's own codes need Redis and worker processes: queue.spec.ts produces and checks them.
    const elsewhere = ["ERR_INTERNAL", "ERR_WORKER_LOST", "ERR_QUEUE_UNAVAILABLE"];
    const missing = Object.keys(CODE_CLASSES).filter((c) => !elsewhere.includes(c) && !seen.has(c));
    assert.deepEqual(missing, [], "codes no test produced");
  });

  it("each error is its code's class, and each of its own properties is declared by that class", () => {
    assert.ok(seen.size > 0, "run with the test above");
    for (const [code, list] of seen) {
      const className = CODE_CLASSES[code];
      assert.ok(className, `${code} is not in lib/codes.js`);
      const declared = types.properties(className);
      assert.ok(types.codes(className).includes(code), `${className}.code does not admit ${code}`);
      for (const { e, how } of list) {
        assert.equal(e.constructor, CLASSES[className], `${how}: ${code} is a ${e.constructor.name}, not a ${className}`);
        for (const key of Object.getOwnPropertyNames(e)) {
          assert.ok(declared.has(key), `${how}: ${className} (${code}) has "${key}" at run time, undeclared in index.d.ts`);
        }
        if (e.cause !== undefined) {
          const cause = types.properties("ThrownCause");
          for (const key of Object.getOwnPropertyNames(e.cause)) assert.ok(cause.has(key), `${how}: cause.${key} is undeclared`);
        }
      }
    }
  });

  it("ErrorCode in index.d.ts is the generated list of codes", () => {
    assert.deepEqual(types.union("ErrorCode").sort(), Object.keys(CODE_CLASSES).sort());
    const code: ErrorCode = "ERR_TOOL_TIMEOUT";
    assert.equal(CODE_CLASSES[code], "TimeoutError");
  });

  it("the config objects have exactly the fields RuntimeConfig and PoolConfig declare", async () => {
    const fields = [...types.properties("RuntimeConfig")].sort();
    assert.deepEqual(Object.keys(defaultConfig()).sort(), fields);
    assert.deepEqual(Object.keys(testConfig()).sort(), fields);
    assert.deepEqual(Object.keys(configFromEnv({})).sort(), fields);
    const rt = await makeRuntime({ pool: { minIdle: 0, reuse: {} } });
    try {
      assert.deepEqual(Object.keys(rt.config).sort(), fields);
      assert.ok(rt.config.pool);
      assert.deepEqual(Object.keys(rt.config.pool).sort(), [...types.properties("PoolConfig")].sort());
      assert.deepEqual(Object.keys(rt.config.pool.reuse ?? {}).sort(), [...types.properties("ReuseConfig")].sort());
    } finally {
      await rt.close();
    }
  });
});
