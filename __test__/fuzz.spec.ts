// Property-style fuzzing of the API boundary, on bun and node, with a seeded PRNG (set FUZZ_SEED
// to replay a run; the seed is printed with every failure). Random tool ids, execution ids, env
// maps, inputs and configs, plus fixed corner cases (10 000-level nesting, 10 MB strings,
// `__proto__` keys, lone surrogates, weird numbers). Every case must end, within a bound, in a
// result or a typed error with a known code; what the oracle below can predict must match it, and
// echoed inputs must round-trip as JSON.parse(JSON.stringify(x)). About 20 s in all.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type Runtime, ToolRuntimeError } from "tool-runtime";
import { RUNTIMES } from "./helpers";
import { KNOWN_CODES, faultsRuntime } from "./proc-helpers";
import { mulberry32 } from "./prng";

const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Date.now() % 2 ** 31;
const BUDGET_MS_PER_RUNTIME = 9_000;
const IN_FLIGHT = 4;
/** No case may take longer than this (the call itself times out at 15 s). */
const HANG_MS = 30_000;

// ---------------------------------------------------------------------------------------------
// PRNG and generators


class Gen {
  constructor(readonly rnd: () => number) {}
  int(n: number): number {
    return Math.floor(this.rnd() * n);
  }
  chance(p: number): boolean {
    return this.rnd() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
  str(max: number, pools: readonly string[]): string {
    const n = this.int(max + 1);
    let s = "";
    for (let i = 0; i < n; i++) s += this.pick(pools);
    return s;
  }
}

const ASCII = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i));
const WEIRD_CHARS = ["\0", "\n", "\r", "\t", "\x7f", "\x1b", "é", "中", "😀", "\uD800", "\uDFFF", "\u2028", "\u2029", "\uFEFF", '"', "\\", "=", "$", "%s"];
const STRING_POOL = [...ASCII, ...ASCII, ...WEIRD_CHARS];
const ID_POOL = [..."abcXYZ019_/.-", ..."/.", " ", ";", "\0", "\n", "é", "\uD800", "$", "*", "~", ":"];
const WEIRD_NUMBERS = [0, -0, 1, -1, 0.1 + 0.2, 1e308, -1e308, 5e-324, 2 ** 53, 2 ** 53 + 2, -(2 ** 53 + 2), 1e21, 1e-7, 123456789.123, Number.NaN, Infinity, -Infinity, Number.MAX_VALUE, Number.MIN_VALUE];
const KEYS = ["__proto__", "constructor", "prototype", "toString", "hasOwnProperty", "", "0", "1", "-1", "a.b", "$ref", "__defineGetter__"];

function randNumber(g: Gen): number {
  return g.chance(0.5) ? g.pick(WEIRD_NUMBERS) : (g.rnd() - 0.5) * 10 ** g.int(30);
}

function randValue(g: Gen, depth: number): unknown {
  const r = g.int(depth > 0 ? 9 : 6);
  switch (r) {
    case 0:
      return null;
    case 1:
      return g.chance(0.5);
    case 2:
      return randNumber(g);
    case 3:
    case 4:
      return g.str(20, STRING_POOL);
    case 5:
      return g.chance(0.2) ? undefined : g.str(3, STRING_POOL);
    case 6:
      return Array.from({ length: g.int(5) }, () => randValue(g, depth - 1));
    default: {
      const o: Record<string, unknown> = {};
      const n = g.int(5);
      for (let i = 0; i < n; i++) {
        const k = g.chance(0.4) ? g.pick(KEYS) : g.str(8, STRING_POOL);
        // An own property even for "__proto__", as JSON.parse makes it.
        Object.defineProperty(o, k, { value: randValue(g, depth - 1), enumerable: true, writable: true, configurable: true });
      }
      return o;
    }
  }
}

// What the API must refuse before starting anything (crates/core/src/validate.rs).
const REFUSED_PREFIXES = ["LD_", "DYLD_", "NODE_", "BUN_", "DENO_", "JSC_", "MALLOC_", "GLIBC_", "NPM_CONFIG_", "TOOL_RUNTIME_"];
const REFUSED_NAMES = ["NODE_OPTIONS", "NODE_PATH", "BUN_OPTIONS", "UV_THREADPOOL_SIZE", "TZDIR", "GCONV_PATH", "HOSTALIASES", "RESOLV_HOST_CONF", "OPENSSL_CONF", "OPENSSL_MODULES", "SSL_CERT_FILE", "SSL_CERT_DIR", "TMPDIR"];
const ALLOWED_NAMES = ["NODE_ENV", "BUN_ENV"];
const INJECTION_NAMES = ["LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "NODE_OPTIONS", "NODE_PATH", "BUN_OPTIONS", "DYLD_INSERT_LIBRARIES", "MALLOC_CONF", "GLIBC_TUNABLES", "TMPDIR", "SSL_CERT_FILE", "NODE_ENV", "BUN_ENV", "PATH", "HOME", "LANG", "JSC_useJIT", "DENO_DIR", "DENO_V8_FLAGS", "TOOL_RUNTIME_PROXY"];

function toolIdValid(id: string): boolean {
  return (
    id.length > 0 &&
    id.length <= 256 &&
    /^[A-Za-z0-9_/.-]+$/.test(id) &&
    !id.startsWith("/") &&
    !id.startsWith(".") &&
    !id.includes("..") &&
    !id.split("/").some((s) => s === "")
  );
}

function execIdValid(id: string): boolean {
  return id.length > 0 && id.length <= 256 && /^[\x21-\x7e]+$/.test(id);
}

function envNameValid(name: string): boolean {
  if (!/^[A-Z_][A-Z0-9_]*$/.test(name)) return false;
  if (ALLOWED_NAMES.includes(name)) return true;
  return !REFUSED_NAMES.includes(name) && !REFUSED_PREFIXES.some((p) => name.startsWith(p));
}

function hasLoneSurrogate(s: string): boolean {
  return /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);
}

// ---------------------------------------------------------------------------------------------
// Cases

interface Case {
  label: string;
  toolId: string;
  execId: string;
  input?: unknown;
  config?: unknown;
  hasConfig: boolean;
  env?: Record<string, string>;
  /** Heavy cases may also end in these codes (output over the limit, a runtime's JSON recursion). */
  heavyCodes?: string[];
  /** Extra checks on a result. */
  check?: (out: any) => void;
}

const EXPORTED = new Set([
  "echo", "greet", "number", "text", "list", "nothing", "nullish", "bigint", "cyclic", "noisy", "big", "fails", "rejects",
  "throwsString", "throwsObject", "exits", "crashes", "sleeps", "spawnsGrandchild", "readEnv", "tmpInfo", "keepsAlive", "pid",
  "category/tool-name", "math/add", "allocate", "burn", "spin", "spawnMany", "writeBig", "nap", "napUntil", "printBytes", "flood",
  "bigResult", "segfault", "aborts", "partialFrame", "garbage", "closeChannel", "ignoresTerm", "setGlobal", "retain",
]);

function randomCase(g: Gen, n: number): Case {
  const kind = g.pick(["echo", "echo", "echo", "env", "env", "toolId"] as const);
  const execId = g.chance(0.85) ? `x-${n}-${g.str(12, ASCII.filter((c) => c !== " "))}` : g.pick(["", " ", "a b", "é", "x".repeat(300), `a\nb`, g.str(10, ID_POOL)]);
  const hasConfig = g.chance(0.3);
  const c: Case = { label: `random #${n} (${kind})`, toolId: "echo", execId, hasConfig, config: hasConfig ? randValue(g, 3) : undefined };
  if (kind === "echo") {
    c.input = g.chance(0.1) ? undefined : randValue(g, 4);
  } else if (kind === "env") {
    c.toolId = "readEnv";
    const env: Record<string, string> = {};
    const n = 1 + g.int(4);
    for (let i = 0; i < n; i++) {
      const name = g.pick([
        () => g.pick(INJECTION_NAMES),
        () => `FZ_${g.str(6, [..."ABCXYZ019_"])}`,
        () => g.str(6, [..."ABCabc019_-=. \0é"]),
        () => `${g.int(10)}ABC`,
        () => "",
      ])();
      env[name] = g.chance(0.6) ? g.str(16, ASCII) : g.str(16, STRING_POOL);
    }
    c.env = env;
    c.input = { names: Object.keys(env) };
  } else {
    // Half from the allowed characters only (mostly valid ids of missing tools), half from all.
    let id = g.chance(0.5) ? g.str(12, [..."abcXYZ019_-", "/", "."]) : g.str(12, ID_POOL);
    while (EXPORTED.has(id)) id += "_";
    c.toolId = id;
    c.input = { n };
  }
  return c;
}

function deep(levels: number, kind: "array" | "object"): unknown {
  let v: unknown = kind === "array" ? [] : {};
  for (let i = 0; i < levels; i++) v = kind === "array" ? [v] : { a: v };
  return v;
}

function cornerCases(): Case[] {
  const MiB = 1024 * 1024;
  const loneSurrogates = "\uD800 \uDBFF \uDC00 \uDFFF x\uD83D y\uDE00 😀";
  const protoInput = JSON.parse('{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}}}');
  const big10 = "ab".repeat(5_000_000);
  return [
    { label: "10 000-level nested arrays", toolId: "echo", execId: "deep-a", input: deep(10_000, "array"), hasConfig: false, heavyCodes: ["ERR_INVALID_OUTPUT", "ERR_TOOL_FAILED"] },
    { label: "10 000-level nested objects", toolId: "echo", execId: "deep-o", input: deep(10_000, "object"), hasConfig: false, heavyCodes: ["ERR_INVALID_OUTPUT", "ERR_TOOL_FAILED"] },
    { label: "10 000-level nested config", toolId: "echo", execId: "deep-c", input: {}, config: deep(10_000, "array"), hasConfig: true, heavyCodes: ["ERR_INVALID_OUTPUT", "ERR_TOOL_FAILED"] },
    { label: "a 10 MB string", toolId: "echo", execId: "big-10", input: { s: big10 }, hasConfig: false },
    { label: "a string just over maxOutputBytes", toolId: "echo", execId: "big-over", input: "y".repeat(10 * MiB + 1), hasConfig: false, heavyCodes: ["ERR_OUTPUT_TOO_LARGE"], check: () => assert.fail("an output over maxOutputBytes came back") },
    {
      label: "__proto__ and constructor keys",
      toolId: "echo",
      execId: "proto",
      input: protoInput,
      config: protoInput,
      hasConfig: true,
      check: (out) => {
        assert.ok(Object.prototype.hasOwnProperty.call(out.input, "__proto__"), "__proto__ is no longer an own key");
        assert.equal(({} as any).polluted, undefined, "the host's Object.prototype was polluted");
      },
    },
    { label: "lone surrogates", toolId: "echo", execId: "lone", input: { [loneSurrogates]: loneSurrogates, list: [...loneSurrogates] }, hasConfig: false },
    { label: "weird numbers", toolId: "echo", execId: "nums", input: WEIRD_NUMBERS, config: { n: WEIRD_NUMBERS }, hasConfig: true },
    { label: "undefined input", toolId: "echo", execId: "undef", input: undefined, hasConfig: false },
    { label: "a BigInt input", toolId: "echo", execId: "bigint", input: { n: 1n }, hasConfig: false },
    { label: "a function input", toolId: "echo", execId: "fn", input: () => 1, hasConfig: false },
    { label: "a symbol input", toolId: "echo", execId: "sym", input: Symbol("x"), hasConfig: false },
    { label: "a cyclic input", toolId: "echo", execId: "cyc", input: (() => { const o: any = {}; o.o = o; return o; })(), hasConfig: false },
    { label: "env with a lone surrogate value", toolId: "readEnv", execId: "env-lone", env: { FZ_LONE: "a\uD800b" }, input: { names: ["FZ_LONE"] }, hasConfig: false },
    { label: "env with NUL/CR/LF values", toolId: "readEnv", execId: "env-nul", env: { FZ_A: "a\0b" }, input: { names: ["FZ_A"] }, hasConfig: false },
    { label: "env with every injection name", toolId: "readEnv", execId: "env-inj", env: Object.fromEntries(INJECTION_NAMES.map((n) => [n, "/tmp/x"])), input: { names: INJECTION_NAMES }, hasConfig: false },
    { label: "a tool id with a lone surrogate", toolId: "echo\uD800", execId: "id-lone", input: {}, hasConfig: false },
    { label: "an exec id with a lone surrogate", toolId: "echo", execId: "id\uDFFF", input: {}, hasConfig: false },
  ];
}

// ---------------------------------------------------------------------------------------------
// The oracle

function serialisable(v: unknown): boolean {
  try {
    return v === undefined || JSON.stringify(v) !== undefined;
  } catch {
    return false;
  }
}

type Expect = { kind: "invalid" } | { kind: "maybe-invalid" } | { kind: "notfound" } | { kind: "echo" } | { kind: "env" };

function expectation(c: Case): Expect {
  if (!toolIdValid(c.toolId) || !execIdValid(c.execId)) return { kind: "invalid" };
  if (!serialisable(c.input) || (c.hasConfig && !serialisable(c.config))) return { kind: "invalid" };
  let lone = false;
  for (const [k, v] of Object.entries(c.env ?? {})) {
    if (!envNameValid(k) || /[\0\r\n]/.test(v)) return { kind: "invalid" };
    // Locale variables must look like a locale name (node crashes on some that do not).
    if ((k === "LANG" || k === "LANGUAGE" || k.startsWith("LC_")) && !/^[A-Za-z0-9_.@:+-]*$/.test(v)) return { kind: "invalid" };
    if (hasLoneSurrogate(v)) lone = true;
  }
  if (lone) return { kind: "maybe-invalid" };
  if (c.toolId === "echo") return { kind: "echo" };
  if (c.toolId === "readEnv") return { kind: "env" };
  return { kind: "notfound" };
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`HANG: ${what} did not settle within ${ms} ms`)), ms);
  });
  return Promise.race([p, hang]).finally(() => clearTimeout(timer));
}

/** Runs one case and checks it; returns a failure description or null. Tallies outcomes. */
async function runCase(rt: Runtime, c: Case, tally: Map<string, number>): Promise<string | null> {
  const exp = expectation(c);
  let out: any;
  let err: any;
  try {
    out = await withTimeout(
      rt.executeToolWithTimeout(c.toolId, c.execId, c.input, c.env ?? null, 15_000, c.hasConfig ? { config: c.config as any } : undefined),
      HANG_MS,
      c.label,
    );
  } catch (e) {
    err = e;
  }
  const describe = () => (err ? `${err.code ?? err.name}: ${String(err.message).slice(0, 200)}` : `result ${JSON.stringify(out)?.slice(0, 200)}`);
  if (err) {
    if (typeof err.message === "string" && err.message.startsWith("HANG")) return err.message;
    if (!(err instanceof ToolRuntimeError) || typeof err.code !== "string" || !KNOWN_CODES.has(err.code)) {
      return `not a typed error: ${err && err.stack}`;
    }
  }
  const code = err?.code as string | undefined;
  tally.set(code ?? "result", (tally.get(code ?? "result") ?? 0) + 1);
  switch (exp.kind) {
    case "invalid":
      return code === "ERR_INVALID_ARGUMENT" ? null : `expected ERR_INVALID_ARGUMENT, got ${describe()}`;
    case "notfound":
      return code === "ERR_TOOL_NOT_FOUND" ? null : `expected ERR_TOOL_NOT_FOUND, got ${describe()}`;
    case "maybe-invalid":
    case "env": {
      if (err) {
        if (exp.kind === "maybe-invalid" && code === "ERR_INVALID_ARGUMENT") return null;
        return `expected the env to reach the tool, got ${describe()}`;
      }
      for (const [k, v] of Object.entries(c.env ?? {})) {
        if (out.env[k] !== v) return `env ${k}: sent ${JSON.stringify(v)}, the tool saw ${JSON.stringify(out.env[k])}`;
      }
      return null;
    }
    case "echo": {
      if (err) {
        if (c.heavyCodes?.includes(code!)) return null;
        return `expected an echo, got ${describe()}`;
      }
      const wantInput = c.input === undefined ? "{}" : JSON.stringify(JSON.parse(JSON.stringify(c.input)));
      const gotInput = JSON.stringify(out.input);
      if (gotInput !== wantInput) {
        return `input did not round-trip: sent ${wantInput.slice(0, 200)} (${wantInput.length} chars), got ${gotInput?.slice(0, 200)} (${gotInput?.length} chars)`;
      }
      const wantConfig = c.hasConfig && c.config !== undefined ? JSON.stringify(JSON.parse(JSON.stringify(c.config))) : "null";
      if (JSON.stringify(out.config) !== wantConfig) return `config did not round-trip: sent ${wantConfig.slice(0, 200)}, got ${JSON.stringify(out.config)?.slice(0, 200)}`;
      if (out.toolExecId !== c.execId) return `toolExecId ${JSON.stringify(c.execId)} came back as ${JSON.stringify(out.toolExecId)}`;
      try {
        c.check?.(out);
      } catch (e: any) {
        return e.message;
      }
      return null;
    }
  }
}

// ---------------------------------------------------------------------------------------------

for (const [index, runtimeType] of RUNTIMES.entries()) {
  describe(`fuzzing the API boundary on ${runtimeType} (seed ${SEED})`, () => {
    let rt: Runtime;
    before(async () => {
      rt = await faultsRuntime({ runtimeType, toolExecutionTimeoutMs: 15_000 });
    });
    after(async () => {
      await rt.close();
    });

    it("ends every case in a result or a typed error, as the oracle predicts, without hanging", async (t) => {
      const g = new Gen(mulberry32(SEED + index));
      const failures: string[] = [];
      const tally = new Map<string, number>();
      const record = async (c: Case) => {
        const f = await runCase(rt, c, tally);
        if (f !== null) failures.push(`[seed ${SEED}] ${c.label} (tool ${JSON.stringify(c.toolId)}, exec ${JSON.stringify(c.execId.slice(0, 40))}): ${f}`);
      };
      const t0 = performance.now();
      for (const c of cornerCases()) await record(c);
      const cornerMs = performance.now() - t0;
      let n = 0;
      const lanes = Array.from({ length: IN_FLIGHT }, async () => {
        while (performance.now() - t0 < BUDGET_MS_PER_RUNTIME) await record(randomCase(g, n++));
      });
      await Promise.all(lanes);
      t.diagnostic(`seed ${SEED}: ${cornerCases().length} corner cases in ${cornerMs.toFixed(0)} ms, ${n} random cases, ${failures.length} failures`);
      t.diagnostic(`outcomes: ${JSON.stringify(Object.fromEntries([...tally].sort()))}`);
      // The runtime still serves calls.
      assert.deepEqual(await rt.executeTool("greet", "after-fuzz", { name: "z" }), { message: "Hello, z!" });
      assert.deepEqual(failures, [], `seed ${SEED} (replay with FUZZ_SEED=${SEED})`);
    });
  });
}
