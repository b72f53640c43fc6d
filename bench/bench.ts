// Latency of one trivial tool call through `tool-runtime`, against baselines measured in the same run.
//
//   node --import tsx bench/bench.ts
//
// Rows, per runtime (bun, node):
//   1. `executeTool` through this package, cold (one fresh process per call): default sandbox and sandbox off
//   2. hand-written alternative: `child_process.spawn(runtime, [script])` per call (bench/spawn-*.mjs)
//   3. the runtime's bare start: `bun -e 0` / `node -e 0`
//   4. newline-delimited JSON round trip to one persistent runtime process (bench/raw-worker.mjs)
//   5. piscina worker thread, no isolation (node only)
// Ratios are of medians, against rows 2 and 3 of the same runtime.
//
// BENCH_ITERATIONS=N    N calls per process-spawning row, 50*N per round-trip row (default 40 / 2000)
// BENCH_ITERATIONS=N,M  N per process-spawning row, M per round-trip row
// A few warm-up calls per row are run first and excluded.

import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { inspect } from "node:util";
import { Piscina } from "piscina";
import { RuntimeFactory, sandboxCapabilities, type Runtime, type RuntimeConfigInput, type RuntimeType, type SandboxReport } from "tool-runtime";

// ---------------------------------------------------------------------------------------------
// Settings

const BENCH_DIR = __dirname;
const TOOLS_FILE = "tools.mjs";
const TOOL_ID = "trivial";
const CLEAN_ENV = { PATH: "/usr/bin:/bin" };
/** A hung child fails its row instead of hanging the bench. */
const CALL_TIMEOUT_MS = 30_000;

function iterations(): { spawnN: number; roundTripN: number } {
  const raw = process.env.BENCH_ITERATIONS;
  if (raw === undefined || raw.trim() === "") return { spawnN: 40, roundTripN: 2000 };
  const parts = raw.split(",").map((s) => Number.parseInt(s.trim(), 10));
  if (parts.some((n) => !Number.isInteger(n) || n <= 0) || parts.length > 2) {
    throw new Error(`BENCH_ITERATIONS must be N or N,M with positive integers, got ${JSON.stringify(raw)}`);
  }
  return { spawnN: parts[0], roundTripN: parts[1] ?? parts[0] * 50 };
}

const { spawnN: SPAWN_N, roundTripN: ROUND_TRIP_N } = iterations();
const SPAWN_WARMUP = 3;
const ROUND_TRIP_WARMUP = 100;
/** Process-spawning rows of one runtime are measured in this many interleaved blocks, so drift
 *  on a noisy machine spreads over all of them instead of biasing whichever ran last. */
const SPAWN_ROUNDS = 4;

function bunPath(): string {
  return path.join(path.dirname(require.resolve("bun/package.json")), "bin", "bun.exe");
}

function runtimeBinary(rt: RuntimeType): string {
  return rt === "bun" ? bunPath() : process.execPath;
}

// ---------------------------------------------------------------------------------------------
// Measurement and reporting

interface Row {
  name: string;
  /** Latencies in ms, warm-ups excluded; null when the row did not run. */
  samples: number[] | null;
  /** Why the row has no samples ("n/a: ..." or the error). */
  reason?: string;
  note?: string;
}

type CallFn = (i: number) => Promise<void>;

/** Times `n` sequential calls of `fn` after `warmup` untimed ones. Throws what `fn` throws. */
async function measure(name: string, fn: CallFn, n: number, warmup = 0): Promise<Row> {
  for (let i = 0; i < warmup; i++) await fn(-1 - i);
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn(i);
    samples.push(performance.now() - t0);
  }
  return { name, samples };
}

interface Case {
  name: string;
  /** Absent when the row cannot run; `reason` says why. */
  fn?: CallFn;
  reason?: string;
  note?: string;
}

const errors: { row: string; error: unknown }[] = [];

function describeError(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    return `${typeof code === "string" ? code + ": " : ""}${e.message}`;
  }
  return String(e);
}

/** Measures cases round-robin in `rounds` blocks of n/rounds calls each; a failing case stops at its
 *  first error, which is recorded verbatim. */
async function measureInterleaved(cases: Case[], n: number, warmup: number, rounds: number): Promise<Row[]> {
  const rows: Row[] = cases.map((c) =>
    c.fn ? { name: c.name, samples: [], note: c.note } : { name: c.name, samples: null, reason: c.reason, note: c.note },
  );
  for (let r = 0; r < rounds; r++) {
    const blockN = Math.floor(n / rounds) + (r < n % rounds ? 1 : 0);
    for (let k = 0; k < cases.length; k++) {
      const fn = cases[k].fn;
      const row = rows[k];
      if (!fn || row.samples === null) continue;
      try {
        const block = await measure(row.name, fn, blockN, r === 0 ? warmup : 0);
        row.samples.push(...(block.samples ?? []));
      } catch (e) {
        errors.push({ row: row.name, error: e });
        row.samples = null;
        row.reason = `FAILED: ${describeError(e)}`;
      }
    }
  }
  return rows;
}

async function measureOne(c: Case, n: number, warmup: number): Promise<Row> {
  return (await measureInterleaved([c], n, warmup, 1))[0];
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 1) return sorted[0];
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

interface Stats {
  n: number;
  median: number;
  p95: number;
}

function stats(row: Row): Stats | null {
  if (!row.samples || row.samples.length === 0) return null;
  const sorted = [...row.samples].sort((a, b) => a - b);
  return { n: sorted.length, median: quantile(sorted, 0.5), p95: quantile(sorted, 0.95) };
}

function fmtMs(ms: number): string {
  if (ms >= 100) return ms.toFixed(1);
  if (ms >= 1) return ms.toFixed(2);
  return ms.toFixed(3);
}

function fmtRatio(r: number): string {
  if (r >= 10) return `${r.toFixed(1)}x`;
  if (r >= 0.1) return `${r.toFixed(2)}x`;
  return `${r.toPrecision(2)}x`;
}

/** Prints rows as a markdown table: median and p95 per call, then the ratio of medians against each
 *  baseline row (matched by name). */
function printTable(title: string, rows: Row[], baselineName: string, ...moreBaselines: string[]): void {
  const baselines = [baselineName, ...moreBaselines];
  const baseStats = baselines.map((b) => {
    const row = rows.find((r) => r.name === b);
    return row ? stats(row) : null;
  });
  const header = ["row", "n", "median ms", "p95 ms", ...baselines.map((b) => `median vs ${b}`)];
  const body: string[][] = [];
  const notes: string[] = [];
  for (const row of rows) {
    const s = stats(row);
    const marks: string[] = [];
    for (const text of [row.reason, row.note]) {
      if (!text) continue;
      notes.push(text);
      marks.push(String(notes.length));
    }
    const label = marks.length ? `${row.name} [${marks.join(",")}]` : row.name;
    if (!s) {
      const status = row.reason?.startsWith("FAILED") ? "FAILED" : "n/a";
      body.push([label, "-", status, status, ...baselines.map(() => status)]);
      continue;
    }
    body.push([
      label,
      String(s.n),
      fmtMs(s.median),
      fmtMs(s.p95),
      ...baseStats.map((b) => (b ? fmtRatio(s.median / b.median) : "n/a")),
    ]);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (cells: string[]) => "| " + cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(" | ") + " |";
  console.log(`\n### ${title}\n`);
  console.log(line(header));
  console.log("| " + widths.map((w, i) => (i === 0 ? "-".repeat(w) : "-".repeat(w - 1) + ":")).join(" | ") + " |");
  for (const r of body) console.log(line(r));
  console.log("");
  notes.forEach((n, i) => console.log(`[${i + 1}] ${n}`));
}

// ---------------------------------------------------------------------------------------------
// Resource tracking, so every child and runtime is gone at the end

const children = new Set<ChildProcess>();
const runtimes: Runtime[] = [];
const cleanups: (() => Promise<void>)[] = [];

function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once("close", () => children.delete(child));
  return child;
}

async function cleanup(): Promise<void> {
  for (const c of cleanups.splice(0)) {
    try {
      await c();
    } catch (e) {
      console.error("cleanup failed:", describeError(e));
    }
  }
  for (const rt of runtimes.splice(0)) {
    try {
      await rt.close();
    } catch (e) {
      console.error("runtime close failed:", describeError(e));
    }
  }
  const left = [...children];
  await Promise.all(
    left.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          c.once("exit", () => resolve());
          c.kill("SIGKILL");
        }),
    ),
  );
}

// ---------------------------------------------------------------------------------------------
// Call implementations

function checkResult(result: unknown, n: number): void {
  const r = result as { ok?: unknown; n?: unknown } | null;
  if (!r || r.ok !== true || r.n !== n) throw new Error(`unexpected tool result: ${JSON.stringify(result)}`);
}

/** Row 1: `executeTool` on a package runtime. */
function packageCall(rt: Runtime): CallFn {
  let seq = 0;
  return async (i) => {
    const result = await rt.executeTool(TOOL_ID, `bench-${++seq}`, { n: i });
    checkResult(result, i);
  };
}

/** Row 2: spawn the runtime on a script that reads one JSON line and answers one; await result and exit. */
function handSpawnCall(binary: string, script: string): CallFn {
  return (i) =>
    new Promise<void>((resolve, reject) => {
      const child = track(spawn(binary, [script], { env: CLEAN_ENV, stdio: ["pipe", "pipe", "pipe"] }));
      let out = "";
      let err = "";
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        reject(new Error(`hand-written spawn timed out after ${CALL_TIMEOUT_MS} ms; stderr: ${err}`));
      }, CALL_TIMEOUT_MS);
      child.stdout!.setEncoding("utf8").on("data", (d: string) => (out += d));
      child.stderr!.setEncoding("utf8").on("data", (d: string) => (err += d));
      child.once("error", (e) => {
        clearTimeout(timer);
        reject(e);
      });
      child.once("close", (code, signal) => {
        clearTimeout(timer);
        if (code !== 0) return reject(new Error(`child exited with ${code ?? signal}; stderr: ${err}`));
        try {
          checkResult(JSON.parse(out), i);
          resolve();
        } catch (e) {
          reject(e);
        }
      });
      child.stdin!.end(JSON.stringify({ toolId: TOOL_ID, input: { n: i } }) + "\n");
    });
}

/** Row 3: `<runtime> -e 0`, spawned and awaited. */
function bareStartCall(binary: string): CallFn {
  return () =>
    new Promise<void>((resolve, reject) => {
      const child = track(spawn(binary, ["-e", "0"], { env: CLEAN_ENV, stdio: "ignore" }));
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        reject(new Error(`bare start timed out after ${CALL_TIMEOUT_MS} ms`));
      }, CALL_TIMEOUT_MS);
      child.once("error", (e) => {
        clearTimeout(timer);
        reject(e);
      });
      child.once("exit", (code, signal) => {
        clearTimeout(timer);
        if (code !== 0) reject(new Error(`${binary} -e 0 exited with ${code ?? signal}`));
        else resolve();
      });
    });
}

/** Row 4: one persistent process speaking newline-delimited JSON over its stdin/stdout. */
async function startRawWorker(binary: string): Promise<CallFn> {
  const child = track(
    spawn(binary, [path.join(BENCH_DIR, "raw-worker.mjs")], { env: CLEAN_ENV, stdio: ["pipe", "pipe", "pipe"] }),
  );
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let buf = "";
  let err = "";
  let dead: Error | null = null;
  child.stdout!.setEncoding("utf8").on("data", (d: string) => {
    buf += d;
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const msg = JSON.parse(buf.slice(0, nl)) as { id: number; result?: unknown; error?: string };
      buf = buf.slice(nl + 1);
      const p = pending.get(msg.id);
      pending.delete(msg.id);
      if (!p) continue;
      if (msg.error !== undefined) p.reject(new Error(msg.error));
      else p.resolve(msg.result);
    }
  });
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (err += d));
  const onGone = (why: string) => {
    dead = new Error(`raw worker ${why}; stderr: ${err}`);
    for (const p of pending.values()) p.reject(dead);
    pending.clear();
  };
  child.once("error", (e) => onGone(`failed: ${e.message}`));
  child.once("exit", (code, signal) => onGone(`exited with ${code ?? signal}`));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const timer = setTimeout(() => child.kill("SIGKILL"), 2000);
        child.once("exit", () => {
          clearTimeout(timer);
          resolve();
        });
        child.stdin!.end();
      }),
  );
  let seq = 0;
  const call: CallFn = async (i) => {
    if (dead) throw dead;
    const id = ++seq;
    const result = await new Promise<unknown>((resolve, reject) => {
      pending.set(id, { resolve, reject });
      child.stdin!.write(JSON.stringify({ id, toolId: TOOL_ID, input: { n: i } }) + "\n");
    });
    checkResult(result, i);
  };
  await call(0); // the process is up and the tools file is loaded before timing starts
  return call;
}

/** Row 5: piscina, one worker thread, sequential calls. */
async function startPiscina(): Promise<CallFn> {
  const pool = new Piscina({ filename: path.join(BENCH_DIR, "piscina-worker.mjs"), minThreads: 1, maxThreads: 1 });
  cleanups.push(() => pool.destroy());
  const call: CallFn = async (i) => {
    checkResult(await pool.run({ toolId: TOOL_ID, input: { n: i } }), i);
  };
  await call(0);
  return call;
}

// ---------------------------------------------------------------------------------------------
// Rows

const LABEL = {
  sandboxed: "package, sandboxed (default policy)",
  off: "package, sandbox off",
  hand: "hand-written spawn",
  bare: "bare start",
  raw: "raw NDJSON round trip (persistent process)",
  piscina: "piscina (worker thread, no isolation)",
};

/** Why a sandbox report says the sandbox is not enforced, or null when it does not say so. */
function notEnforcedReason(report: SandboxReport): string | null {
  if (report.mode === "off") return `report mode is "off"`;
  if (!report.enforced) return `report says enforced: false`;
  if (report.missing.length > 0) return `report missing: ${JSON.stringify(report.missing)}`;
  return null;
}

async function packageCase(factory: RuntimeFactory, runtimeType: RuntimeType, sandboxed: boolean): Promise<Case> {
  const name = sandboxed ? LABEL.sandboxed : LABEL.off;
  const config: RuntimeConfigInput = { runtimeType, entrypointPath: TOOLS_FILE };
  if (!sandboxed) config.sandbox = "off";
  let rt: Runtime;
  try {
    rt = await factory.createRuntime(config);
  } catch (e) {
    if ((e as { code?: unknown }).code === "ERR_SANDBOX_UNAVAILABLE") return { name, reason: `n/a: ${describeError(e)}` };
    errors.push({ row: `${runtimeType}: ${name} (createRuntime)`, error: e });
    return { name, reason: `FAILED in createRuntime: ${describeError(e)}` };
  }
  runtimes.push(rt);
  const report = rt.sandbox;
  let note = `runtime ${rt.runtimePath}, sandbox ${report.mode}`;
  if (sandboxed) {
    const why = notEnforcedReason(report);
    if (why) return { name, reason: `n/a: sandbox not enforced (${why})`, note };
    note += `: fs by ${report.read.enforcedBy.join("+")}, net by ${report.net.enforcedBy.join("+")}, run by ${report.run.enforcedBy.join("+")}`;
  }
  return { name, fn: packageCall(rt), note };
}

async function benchRuntime(factory: RuntimeFactory, runtimeType: RuntimeType): Promise<Row[]> {
  const binary = runtimeBinary(runtimeType);
  const script = path.join(BENCH_DIR, runtimeType === "bun" ? "spawn-bun.mjs" : "spawn-node.mjs");
  const spawnCases: Case[] = [
    await packageCase(factory, runtimeType, true),
    await packageCase(factory, runtimeType, false),
    { name: LABEL.hand, fn: handSpawnCall(binary, script), note: `${binary} ${path.relative(process.cwd(), script)}` },
    { name: LABEL.bare, fn: bareStartCall(binary), note: `${binary} -e 0` },
  ];
  const rows = await measureInterleaved(spawnCases, SPAWN_N, SPAWN_WARMUP, SPAWN_ROUNDS);

  let raw: Case;
  try {
    raw = { name: LABEL.raw, fn: await startRawWorker(binary) };
  } catch (e) {
    errors.push({ row: `${runtimeType}: ${LABEL.raw} (start)`, error: e });
    raw = { name: LABEL.raw, reason: `FAILED to start: ${describeError(e)}` };
  }
  rows.push(await measureOne(raw, ROUND_TRIP_N, ROUND_TRIP_WARMUP));

  if (runtimeType === "node") {
    let pis: Case;
    try {
      pis = { name: LABEL.piscina, fn: await startPiscina(), note: `piscina in this node (${process.version}), 1 thread` };
    } catch (e) {
      errors.push({ row: `${runtimeType}: ${LABEL.piscina} (start)`, error: e });
      pis = { name: LABEL.piscina, reason: `FAILED to start: ${describeError(e)}` };
    }
    rows.push(await measureOne(pis, ROUND_TRIP_N, ROUND_TRIP_WARMUP));
  }
  return rows;
}

function printSandboxRatio(runtimeType: RuntimeType, rows: Row[]): void {
  const sb = rows.find((r) => r.name === LABEL.sandboxed);
  const off = rows.find((r) => r.name === LABEL.off);
  const a = sb && stats(sb);
  const b = off && stats(off);
  if (a && b) {
    console.log(
      `\n${runtimeType}: sandboxed / sandbox off = ${fmtRatio(a.median / b.median)} (median), ${fmtRatio(a.p95 / b.p95)} (p95)`,
    );
  } else {
    console.log(`\n${runtimeType}: sandboxed / sandbox off = n/a (${(sb && sb.reason) ?? (off && off.reason) ?? "missing row"})`);
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  console.log(`tool-runtime bench: trivial tool \`${TOOL_ID}\` from bench/${TOOLS_FILE}, sequential calls`);
  console.log(
    `iterations: ${SPAWN_N} per process-spawning row (+${SPAWN_WARMUP} warm-up, ${SPAWN_ROUNDS} interleaved blocks), ` +
      `${ROUND_TRIP_N} per round-trip row (+${ROUND_TRIP_WARMUP} warm-up)`,
  );
  console.log(`sandboxCapabilities(): ${JSON.stringify(sandboxCapabilities())}`);
  const factory = new RuntimeFactory(BENCH_DIR);
  try {
    for (const runtimeType of ["bun", "node"] as const) {
      const rows = await benchRuntime(factory, runtimeType);
      printTable(`${runtimeType}: latency per call`, rows, LABEL.hand, LABEL.bare);
      printSandboxRatio(runtimeType, rows);
    }
  } finally {
    await cleanup();
  }
  if (errors.length > 0) {
    console.log("\n### Errors (verbatim)\n");
    for (const { row, error } of errors) console.log(`${row}:\n${inspect(error, { depth: 4 })}\n`);
    process.exitCode = 1;
  }
  console.log(`\ntotal bench time ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

main().catch(async (e) => {
  console.error(e);
  await cleanup();
  process.exitCode = 1;
});
