// Latency and throughput of one trivial tool call through `tool-runtime`, against baselines
// measured in the same run.
//
//   node --import tsx bench/bench.ts
//
// Rows, per runtime (bun, node); "sandboxed" means the default policy under the strict sandbox:
//   1. cold: `executeTool` with a fresh process per call, sandboxed and with the sandbox off
//   2. single-use warm pool (`pool: { minIdle: 2 }`), sequential, paced so the pool refills
//      between calls (an untimed pause of 1.5x the cold median measured just before, then, if the
//      pool is still short, until it has refilled)
//   3. reuse pool (`pool: { minIdle: 1, maxWorkers: 4, reuse }`), sequential; and with 64 calls in
//      flight, `maxConcurrency: 64` (the configuration under test) and, for comparison,
//      `maxConcurrency` = `maxWorkers` (calls wait in the runtime's queue for a worker)
//   4. hand-written alternative: `child_process.spawn(runtime, [script])` per call, no sandbox
//   5. piscina worker threads in this node, no isolation: sequential (1 thread) and 64 in flight
//      (measured again with each runtime's rows)
//   6. newline-delimited JSON round trip to one persistent runtime process over a pipe, sequential
//      and 64 in flight: the floor
//   plus `bun -e 0` / `node -e 0`, and, when the runtime accepts host allowlists, one HTTP GET to a
//   loopback server through the egress proxy (`--allow-net=127.0.0.1:PORT`) against bare
//   `--allow-net`, both on a reuse pool.
// Ratios: sequential rows compare medians with the sequential rows 5 and 6 (lower is better);
// in-flight rows compare throughput with the 64-in-flight rows 5 and 6 (higher is better).
// Rows that are compared with each other are measured interleaved, in blocks, so drift on a busy
// machine hits both sides: the cold rows (1, 4, bare start); raw, piscina and the reuse pool
// sequential; raw, piscina and the reuse pool with maxConcurrency = maxWorkers, 64 in flight; the
// two network rows. The single-use row and the maxConcurrency-64 row run on their own.
// Then: resident memory of idle warm workers, the targets and whether they are met, and one
// summary table per runtime for the README.
//
// BENCH_ITERATIONS=N    N calls per process-spawning row, 50*N per round-trip row (default 40 / 2000)
// BENCH_ITERATIONS=N,M  N per process-spawning row, M per round-trip row
//                       (the single-use pool row runs 2N calls; an in-flight row runs at least M
//                       calls and 1 s, at most 10 s; network rows M/4 calls)
// BENCH_WORKERS=W       workers (and piscina threads) for the 64-in-flight rows (default 2: the
//                       number of cores this bench was written for)
// A few warm-up calls per row are run first and excluded.

import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { inspect } from "node:util";
import { Piscina } from "piscina";
import {
  RuntimeFactory,
  sandboxCapabilities,
  type ExecuteOptions,
  type Runtime,
  type RuntimeConfigInput,
  type RuntimeType,
  type SandboxReport,
} from "tool-runtime";

// ---------------------------------------------------------------------------------------------
// Settings

const BENCH_DIR = __dirname;
const TOOLS_FILE = "tools.mjs";
const TOOL_ID = "trivial";
const NET_TOOL_ID = "httpGet";
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

function workers(): number {
  const raw = process.env.BENCH_WORKERS;
  if (raw === undefined || raw.trim() === "") return 2;
  const n = Number.parseInt(raw.trim(), 10);
  if (!Number.isInteger(n) || n <= 0 || n > 64) throw new Error(`BENCH_WORKERS must be 1..64, got ${JSON.stringify(raw)}`);
  return n;
}

const { spawnN: SPAWN_N, roundTripN: ROUND_TRIP_N } = iterations();
const SPAWN_WARMUP = 3;
const ROUND_TRIP_WARMUP = 100;
/** Process-spawning rows of one runtime are measured in this many interleaved blocks, so drift
 *  on a noisy machine spreads over all of them instead of biasing whichever ran last. */
const SPAWN_ROUNDS = 4;
/** Untimed pause before each interleaved block, so the previous block's aftermath (the host's
 *  concurrent GC, a pool refill) does not land on the next row: without it, piscina right after a
 *  block of package calls measured 2-3x slower on 2 cores. */
const BLOCK_GAP_MS = 100;
/** Calls kept in flight by the concurrent rows. */
const IN_FLIGHT = 64;
/** Workers of the reuse pool and piscina threads in the concurrent rows. */
const IN_FLIGHT_WORKERS = workers();
/** An in-flight row stops issuing calls after this long (a pool that falls back to cold
 *  processes would otherwise take minutes for M calls). */
const IN_FLIGHT_CAP_MS = 10_000;
/** An in-flight row keeps going for at least this long, so fast rows are not a few ms of noise. */
const IN_FLIGHT_MIN_MS = 1_000;
/** Untimed calls before an in-flight row, so pools and JITs are warm. */
const IN_FLIGHT_WARMUP = 2 * IN_FLIGHT;
const NET_N = Math.max(20, Math.round(ROUND_TRIP_N / 4));
const NET_WARMUP = 20;
const SINGLE_USE_MIN_IDLE = 2;
/** Calls of the single-use row: cheap (no process start is timed) and its median is a target. */
const SINGLE_USE_N = 2 * SPAWN_N;
/** The single-use pool waits this multiple of the cold median between calls. */
const SINGLE_USE_PACE = 1.5;
const REUSE = { maxCallsPerWorker: 100_000, maxRssMb: 1024 };
/** How long a pool may take to fill before its row gives up. */
const POOL_FILL_TIMEOUT_MS = 15_000;

function bunPath(): string {
  return path.join(path.dirname(require.resolve("bun/package.json")), "bin", "bun.exe");
}

function runtimeBinary(rt: RuntimeType): string {
  return rt === "bun" ? bunPath() : process.execPath;
}

// ---------------------------------------------------------------------------------------------
// Config fields the published types may not declare yet (pool, maxConcurrency, metrics).

interface PoolInput {
  minIdle?: number;
  maxWorkers?: number;
  idleTimeoutMs?: number;
  reuse?: { maxCallsPerWorker?: number; maxRssMb?: number };
}

interface BenchConfig {
  permissions?: string[];
  sandbox?: "strict" | "best-effort" | "off";
  maxConcurrency?: number;
  pool?: PoolInput;
}

/** The full config for `createRuntime`. Cast through unknown: `pool` and `maxConcurrency` are
 *  accepted by the native layer whether or not index.d.ts declares them yet. */
function runtimeConfig(runtimeType: RuntimeType, extra: BenchConfig): RuntimeConfigInput {
  const config = { runtimeType, entrypointPath: TOOLS_FILE, toolExecutionTimeoutMs: CALL_TIMEOUT_MS, ...extra };
  return config as unknown as RuntimeConfigInput;
}

interface PoolStats {
  idle: number;
  idlePids: number[];
}

/** `runtime.pool`, or null when this build does not have it. */
function poolStats(rt: Runtime): PoolStats | null {
  const p = (rt as unknown as { pool?: unknown }).pool as Partial<PoolStats> | undefined;
  if (!p || typeof p.idle !== "number" || !Array.isArray(p.idlePids)) return null;
  return { idle: p.idle, idlePids: p.idlePids };
}

/** Waits until the pool has `want` idle workers; false on timeout or without pool stats. */
async function waitForIdle(rt: Runtime, want: number, timeoutMs = POOL_FILL_TIMEOUT_MS): Promise<boolean> {
  const until = performance.now() + timeoutMs;
  for (;;) {
    const s = poolStats(rt);
    if (!s) return false;
    if (s.idle >= want) return true;
    if (performance.now() > until) return false;
    await sleep(5);
  }
}

const WITH_METRICS: ExecuteOptions & { metrics: boolean } = { metrics: true };

// ---------------------------------------------------------------------------------------------
// Measurement

interface Row {
  name: string;
  /** Latencies in ms, warm-ups excluded; null when the row did not run. */
  samples: number[] | null;
  /** Why the row has no samples ("n/a: ..." or the error). */
  reason?: string;
  note?: string;
  /** Calls kept in flight; absent for sequential rows. */
  inFlight?: number;
  /** Completed calls per second over the timed window (in-flight rows). */
  throughput?: number;
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

function failedRow(name: string, e: unknown, note?: string): Row {
  errors.push({ row: name, error: e });
  return { name, samples: null, reason: `FAILED: ${describeError(e)}`, note };
}

function unavailableRow(c: Case): Row {
  return { name: c.name, samples: null, reason: c.reason ?? "n/a", note: c.note };
}

/** Measures cases round-robin in `rounds` blocks of n/rounds calls each; a failing case stops at its
 *  first error, which is recorded verbatim. */
async function measureInterleaved(cases: Case[], n: number, warmup: number, rounds: number): Promise<Row[]> {
  const rows: Row[] = cases.map((c) => (c.fn ? { name: c.name, samples: [], note: c.note } : unavailableRow(c)));
  for (let r = 0; r < rounds; r++) {
    const blockN = Math.floor(n / rounds) + (r < n % rounds ? 1 : 0);
    for (let k = 0; k < cases.length; k++) {
      const fn = cases[k].fn;
      const row = rows[k];
      if (!fn || row.samples === null) continue;
      await sleep(BLOCK_GAP_MS);
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

/** Sequential calls with an untimed pause before each one, then an untimed `settle` (which returns
 *  true when it had to wait); the calls it had to wait for are counted. */
async function measurePaced(
  name: string,
  fn: CallFn,
  n: number,
  warmup: number,
  pauseMs: number,
  settle: () => Promise<boolean>,
): Promise<{ row: Row; notReady: number }> {
  for (let i = 0; i < warmup; i++) {
    await sleep(pauseMs);
    await fn(-1 - i);
  }
  const samples: number[] = [];
  let notReady = 0;
  for (let i = 0; i < n; i++) {
    await sleep(pauseMs);
    if (await settle()) notReady++;
    const t0 = performance.now();
    await fn(i);
    samples.push(performance.now() - t0);
  }
  return { row: { name, samples }, notReady };
}

/** Keeps `concurrency` calls in flight (each finished call starts the next) until `count` calls
 *  are done and `minMs` has passed, or `capMs` has passed. Per-call latency (pushed to `samples`
 *  when given) runs from issue to answer, queueing included. Returns the elapsed ms; throws the
 *  first error once every lane has stopped. */
async function runInFlight(fn: CallFn, count: number, concurrency: number, minMs: number, capMs: number, samples: number[] | null): Promise<number> {
  const t0 = performance.now();
  let issued = 0;
  let failure: { e: unknown } | null = null;
  const more = () => {
    const now = performance.now() - t0;
    return now < capMs && (issued < count || now < minMs);
  };
  const lane = async () => {
    while (!failure && more()) {
      const i = samples ? issued : -1 - issued;
      issued++;
      const start = performance.now();
      try {
        await fn(i);
      } catch (e) {
        failure ??= { e };
        return;
      }
      samples?.push(performance.now() - start);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  if (failure) throw (failure as { e: unknown }).e;
  return performance.now() - t0;
}

interface InFlightCase extends Case {
  /** Runs after the case's warm-up calls, before any timed block. */
  afterWarmup?: () => Promise<void>;
}

/** In-flight rows measured round-robin in `rounds` blocks (each at least `total/rounds` calls and
 *  IN_FLIGHT_MIN_MS/rounds, at most `capMs/rounds`), so load drift hits all of them alike. Every
 *  case gets IN_FLIGHT_WARMUP untimed calls and its `afterWarmup` first. Throughput is completed
 *  calls over the summed time of its blocks. A failing case stops at its first error. */
async function measureInFlightInterleaved(cases: InFlightCase[], total: number, rounds: number, capMs = IN_FLIGHT_CAP_MS): Promise<Row[]> {
  const rows: Row[] = cases.map((c) => (c.fn ? { name: c.name, samples: [], note: c.note, inFlight: IN_FLIGHT } : unavailableRow(c)));
  const elapsed = cases.map(() => 0);
  const fail = (k: number, e: unknown) => {
    errors.push({ row: rows[k].name, error: e });
    rows[k].samples = null;
    rows[k].reason = `FAILED: ${describeError(e)}`;
  };
  for (let k = 0; k < cases.length; k++) {
    const fn = cases[k].fn;
    if (!fn) continue;
    try {
      await runInFlight(fn, IN_FLIGHT_WARMUP, IN_FLIGHT, 0, Infinity, null);
      await cases[k].afterWarmup?.();
    } catch (e) {
      fail(k, e);
    }
  }
  for (let r = 0; r < rounds; r++) {
    const blockN = Math.floor(total / rounds) + (r < total % rounds ? 1 : 0);
    for (let k = 0; k < cases.length; k++) {
      const fn = cases[k].fn;
      const row = rows[k];
      if (!fn || row.samples === null) continue;
      await sleep(BLOCK_GAP_MS);
      try {
        elapsed[k] += await runInFlight(fn, blockN, IN_FLIGHT, IN_FLIGHT_MIN_MS / rounds, capMs / rounds, row.samples);
      } catch (e) {
        fail(k, e);
      }
    }
  }
  rows.forEach((row, k) => {
    if (!row.samples) return;
    row.throughput = row.samples.length / (elapsed[k] / 1000);
    if (row.samples.length < total) {
      const capped = `stopped after ${(capMs / 1000).toFixed(0)} s: ${row.samples.length} of ${total} calls done`;
      row.note = [row.note, capped].filter(Boolean).join("; ");
    }
  });
  return rows;
}

// ---------------------------------------------------------------------------------------------
// Statistics and reporting

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
  /** Calls per second for in-flight rows, null for sequential ones. */
  throughput: number | null;
}

function stats(row: Row | undefined): Stats | null {
  if (!row || !row.samples || row.samples.length === 0) return null;
  const sorted = [...row.samples].sort((a, b) => a - b);
  return { n: sorted.length, median: quantile(sorted, 0.5), p95: quantile(sorted, 0.95), throughput: row.throughput ?? null };
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

function fmtRate(r: number): string {
  return r >= 100 ? Math.round(r).toLocaleString("en-US") : r.toFixed(1);
}

function status(row: Row): string {
  return row.reason?.startsWith("FAILED") ? "FAILED" : "n/a";
}

/** Prints a markdown table: the first `leftColumns` columns left-aligned, the others right-aligned. */
function printMarkdown(header: string[], body: string[][], leftColumns = 1): void {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const left = (i: number) => i < leftColumns;
  const line = (cells: string[]) => "| " + cells.map((c, i) => (left(i) ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(" | ") + " |";
  console.log(line(header));
  console.log("| " + widths.map((w, i) => (left(i) ? "-".repeat(w) : "-".repeat(w - 1) + ":")).join(" | ") + " |");
  for (const r of body) console.log(line(r));
}

interface Baselines {
  rawSeq: Stats | null;
  rawInFlight: Stats | null;
  pisSeq: Stats | null;
  pisInFlight: Stats | null;
}

/** Sequential rows: median / baseline median. In-flight rows: throughput / baseline throughput. */
function ratios(s: Stats, b: Baselines): { medRaw: string; medPis: string; thrRaw: string; thrPis: string } {
  const med = (base: Stats | null) => (base ? fmtRatio(s.median / base.median) : "n/a");
  const thr = (base: Stats | null) => (base && base.throughput && s.throughput !== null ? fmtRatio(s.throughput / base.throughput) : "n/a");
  if (s.throughput === null) return { medRaw: med(b.rawSeq), medPis: med(b.pisSeq), thrRaw: "-", thrPis: "-" };
  return { medRaw: "-", medPis: "-", thrRaw: thr(b.rawInFlight), thrPis: thr(b.pisInFlight) };
}

/** The detailed table of one runtime, footnotes below. */
function printDetailTable(title: string, rows: Row[], b: Baselines): void {
  const header = ["row", "n", "median ms", "p95 ms", "calls/s", "median ÷ raw", "median ÷ piscina", "calls/s ÷ raw", "calls/s ÷ piscina"];
  const body: string[][] = [];
  const notes: string[] = [];
  for (const row of rows) {
    const marks: string[] = [];
    for (const text of [row.reason, row.note]) {
      if (!text) continue;
      notes.push(text);
      marks.push(String(notes.length));
    }
    const label = marks.length ? `${row.name} [${marks.join(",")}]` : row.name;
    const s = stats(row);
    if (!s) {
      const st = status(row);
      body.push([label, "-", st, st, st, st, st, st, st]);
      continue;
    }
    const r = ratios(s, b);
    body.push([
      label,
      String(s.n),
      fmtMs(s.median),
      fmtMs(s.p95),
      s.throughput !== null ? fmtRate(s.throughput) : "-",
      r.medRaw,
      r.medPis,
      r.thrRaw,
      r.thrPis,
    ]);
  }
  console.log(`\n### ${title}\n`);
  printMarkdown(header, body);
  console.log("");
  notes.forEach((n, i) => console.log(`[${i + 1}] ${n}`));
}

// ---------------------------------------------------------------------------------------------
// Resident memory

function vmRssKb(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** `pid` and every descendant, from the parent ids in /proc/<pid>/stat. */
function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue; // gone meanwhile
    }
    // "pid (comm) state ppid ...": comm may contain spaces and parentheses.
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    const list = children.get(ppid) ?? [];
    list.push(Number(entry));
    children.set(ppid, list);
  }
  const out: number[] = [];
  const todo = [pid];
  while (todo.length > 0) {
    const p = todo.pop()!;
    out.push(p);
    todo.push(...(children.get(p) ?? []));
  }
  return out;
}

interface Memory {
  what: string;
  /** Sum of VmRSS over the process tree, MB; null when not measured. */
  mb: number | null;
  processes: number;
  reason?: string;
}

function treeRss(what: string, pid: number | undefined): Memory {
  if (pid === undefined) return { what, mb: null, processes: 0, reason: "no process id" };
  const pids = processTree(pid);
  let kb = 0;
  let seen = 0;
  for (const p of pids) {
    const v = vmRssKb(p);
    if (v === null) continue;
    kb += v;
    seen++;
  }
  if (seen === 0) return { what, mb: null, processes: 0, reason: `process ${pid} not readable` };
  return { what, mb: kb / 1024, processes: seen };
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

/** Closes a runtime now (its pool would otherwise keep processes and a manager task alive). */
async function closeRuntime(rt: Runtime | undefined): Promise<void> {
  if (!rt) return;
  const i = runtimes.indexOf(rt);
  if (i >= 0) runtimes.splice(i, 1);
  try {
    await rt.close();
  } catch (e) {
    console.error("runtime close failed:", describeError(e));
  }
}

async function cleanup(): Promise<void> {
  for (const c of cleanups.splice(0)) {
    try {
      await c();
    } catch (e) {
      console.error("cleanup failed:", describeError(e));
    }
  }
  for (const rt of [...runtimes]) await closeRuntime(rt);
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

/** `executeTool` on a package runtime. */
function packageCall(rt: Runtime, toolId = TOOL_ID, input: Record<string, unknown> = {}): CallFn {
  let seq = 0;
  return async (i) => {
    const result = await rt.executeTool(toolId, `bench-${++seq}`, { ...input, n: i });
    checkResult(result, i);
  };
}

/** Runs `calls` calls `concurrency` at a time with per-call metrics; counts those that ran on a
 *  warm worker. Null when this build reports no `warm` flag. */
async function warmShare(rt: Runtime, calls: number, concurrency: number, pauseMs = 0): Promise<{ warm: number; calls: number } | null> {
  let warm = 0;
  let reported = 0;
  let seq = 0;
  const one = async () => {
    const out = (await rt.executeTool(TOOL_ID, `bench-metrics-${++seq}`, { n: 0 }, null, WITH_METRICS)) as {
      metrics?: { warm?: unknown };
    };
    if (typeof out.metrics?.warm === "boolean") {
      reported++;
      if (out.metrics.warm) warm++;
    }
  };
  for (let done = 0; done < calls; done += concurrency) {
    if (pauseMs > 0) await sleep(pauseMs);
    await Promise.all(Array.from({ length: Math.min(concurrency, calls - done) }, one));
  }
  return reported === calls ? { warm, calls } : null;
}

/** Spawns the runtime on a script that reads one JSON line and answers one; awaits result and exit. */
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

/** `<runtime> -e 0`, spawned and awaited. */
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

/** One persistent process speaking newline-delimited JSON over its stdin/stdout; calls may overlap. */
async function startRawWorker(binary: string): Promise<{ call: CallFn; pid: number | undefined }> {
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
  return { call, pid: child.pid };
}

/** A piscina pool of `threads` worker threads in this process, and a way to destroy it early. */
async function startPiscina(threads: number): Promise<{ call: CallFn; destroy: () => Promise<void> }> {
  const pool = new Piscina({ filename: path.join(BENCH_DIR, "piscina-worker.mjs"), minThreads: threads, maxThreads: threads });
  let destroyed: Promise<void> | null = null;
  const destroy = () => (destroyed ??= pool.destroy());
  cleanups.push(destroy);
  const call: CallFn = async (i) => {
    checkResult(await pool.run({ toolId: TOOL_ID, input: { n: i } }), i);
  };
  await Promise.all(Array.from({ length: threads }, (_, i) => call(i)));
  return { call, destroy };
}

/** A loopback HTTP server answering "ok"; the network rows' tool fetches from it. */
async function startHttpServer(): Promise<number> {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/plain", "content-length": "2" });
    res.end("ok");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return (server.address() as AddressInfo).port;
}

// ---------------------------------------------------------------------------------------------
// Rows

const LABEL = {
  sandboxed: "cold, sandboxed (default policy)",
  off: "cold, sandbox off",
  hand: "cold, hand-written spawn (no sandbox)",
  bare: "bare start (-e 0)",
  singleUse: `warm pool, single-use, minIdle ${SINGLE_USE_MIN_IDLE} (sandboxed)`,
  reuseSeq: "reuse pool, sequential (sandboxed)",
  reuseInFlight: `reuse pool, ${IN_FLIGHT} in flight, maxConcurrency ${IN_FLIGHT} (sandboxed)`,
  reuseQueued: `reuse pool, ${IN_FLIGHT} in flight, maxConcurrency ${IN_FLIGHT_WORKERS} (sandboxed)`,
  netBare: "HTTP GET on reuse pool, bare --allow-net",
  netAllow: "HTTP GET on reuse pool, --allow-net=127.0.0.1:PORT (proxy)",
  raw: "raw NDJSON round trip, sequential",
  rawInFlight: `raw NDJSON round trip, ${IN_FLIGHT} in flight`,
  piscina: "piscina, sequential (1 thread)",
  piscinaInFlight: `piscina, ${IN_FLIGHT} in flight (${IN_FLIGHT_WORKERS} threads)`,
};

/** Why a sandbox report says the sandbox is not enforced, or null when it does not say so. */
function notEnforcedReason(report: SandboxReport): string | null {
  if (report.mode === "off") return `report mode is "off"`;
  if (!report.enforced) return `report says enforced: false`;
  if (report.missing.length > 0) return `report missing: ${JSON.stringify(report.missing)}`;
  return null;
}

interface Made {
  rt?: Runtime;
  /** Why there is no runtime ("n/a: ..." or "FAILED ..."). */
  reason?: string;
  note?: string;
}

/** Creates a runtime for a row; with `sandboxed`, one whose report does not say it is enforced is
 *  closed again and the row is n/a. */
async function makeRuntime(
  factory: RuntimeFactory,
  runtimeType: RuntimeType,
  row: string,
  extra: BenchConfig,
  sandboxed: boolean,
): Promise<Made> {
  let rt: Runtime;
  try {
    rt = await factory.createRuntime(runtimeConfig(runtimeType, extra));
  } catch (e) {
    if ((e as { code?: unknown }).code === "ERR_SANDBOX_UNAVAILABLE") return { reason: `n/a: ${describeError(e)}` };
    errors.push({ row: `${runtimeType}: ${row} (createRuntime)`, error: e });
    return { reason: `FAILED in createRuntime: ${describeError(e)}` };
  }
  runtimes.push(rt);
  const report = rt.sandbox;
  let note = `sandbox ${report.mode}`;
  if (sandboxed) {
    const why = notEnforcedReason(report);
    if (why) {
      await closeRuntime(rt);
      return { reason: `n/a: sandbox not enforced (${why})` };
    }
    const by = (p: { granted: unknown; enforcedBy: string[] }) =>
      p.enforcedBy.length > 0 ? p.enforcedBy.join("+") : p.granted === "all" ? "nothing (granted)" : "nothing";
    note += `: fs by ${by(report.read)}, net by ${by(report.net)}, run by ${by(report.run)}`;
  }
  const { pool, maxConcurrency } = extra;
  if (maxConcurrency !== undefined) note += `; maxConcurrency ${maxConcurrency}`;
  if (pool) note += `; pool ${JSON.stringify(pool)}`;
  return { rt, note };
}

/** Runs `body` on a fresh runtime and closes it; failures become the row's reason. */
async function withRuntime(
  factory: RuntimeFactory,
  runtimeType: RuntimeType,
  name: string,
  extra: BenchConfig,
  body: (rt: Runtime, note: string) => Promise<Row>,
): Promise<Row> {
  const made = await makeRuntime(factory, runtimeType, name, extra, extra.sandbox !== "off");
  if (!made.rt) return { name, samples: null, reason: made.reason };
  try {
    return await body(made.rt, made.note ?? "");
  } catch (e) {
    return failedRow(`${runtimeType}: ${name}`, e, made.note);
  } finally {
    await closeRuntime(made.rt);
  }
}

/** What both runtimes' rows share. */
interface Shared {
  httpPort: number | null;
  httpReason?: string;
}

interface RuntimeResult {
  runtimeType: RuntimeType;
  /** Binary and version, for the summary's caption. */
  binary: string;
  rows: Row[];
  byName: (name: string) => Row | undefined;
  memory: Memory[];
  /** The idle warm worker figure the summary and targets use. */
  idleWorker: Memory | null;
  pauseMs: number;
  netProbe: string;
}

async function coldRows(factory: RuntimeFactory, runtimeType: RuntimeType): Promise<Row[]> {
  const binary = runtimeBinary(runtimeType);
  const script = path.join(BENCH_DIR, runtimeType === "bun" ? "spawn-bun.mjs" : "spawn-node.mjs");
  const made = {
    sandboxed: await makeRuntime(factory, runtimeType, LABEL.sandboxed, {}, true),
    off: await makeRuntime(factory, runtimeType, LABEL.off, { sandbox: "off" }, false),
  };
  const pkg = (name: string, m: Made): Case =>
    m.rt ? { name, fn: packageCall(m.rt), note: `runtime ${m.rt.runtimePath}, ${m.note}` } : { name, reason: m.reason };
  const cases: Case[] = [
    pkg(LABEL.sandboxed, made.sandboxed),
    pkg(LABEL.off, made.off),
    { name: LABEL.hand, fn: handSpawnCall(binary, script), note: `${binary} ${path.relative(process.cwd(), script)}` },
    { name: LABEL.bare, fn: bareStartCall(binary), note: `${binary} -e 0` },
  ];
  const rows = await measureInterleaved(cases, SPAWN_N, SPAWN_WARMUP, SPAWN_ROUNDS);
  await closeRuntime(made.sandboxed.rt);
  await closeRuntime(made.off.rt);
  return rows;
}

async function singleUseRow(factory: RuntimeFactory, runtimeType: RuntimeType, pauseMs: number, memory: Memory[]): Promise<Row> {
  const name = LABEL.singleUse;
  return withRuntime(factory, runtimeType, name, { pool: { minIdle: SINGLE_USE_MIN_IDLE } }, async (rt, note) => {
    if (!poolStats(rt)) return { name, samples: null, reason: "n/a: this build has no runtime.pool", note };
    if (!(await waitForIdle(rt, SINGLE_USE_MIN_IDLE))) throw new Error(`pool did not reach ${SINGLE_USE_MIN_IDLE} idle workers in ${POOL_FILL_TIMEOUT_MS} ms`);
    memory.push(treeRss("idle warm worker, fresh (single-use pool)", poolStats(rt)?.idlePids[0]));
    // After the pause, a pool that has not refilled yet (a busy machine) is waited for, untimed:
    // the row measures calls at a rate the pool keeps up with.
    const settle = async () => {
      if ((poolStats(rt)?.idle ?? 0) >= SINGLE_USE_MIN_IDLE) return false;
      await waitForIdle(rt, SINGLE_USE_MIN_IDLE, 20 * pauseMs);
      return true;
    };
    const { row, notReady } = await measurePaced(name, packageCall(rt), SINGLE_USE_N, SPAWN_WARMUP, pauseMs, settle);
    const share = await warmShare(rt, 5, 1, pauseMs);
    row.note =
      `${note}; ${pauseMs.toFixed(0)} ms untimed pause before each call (${SINGLE_USE_PACE}x the cold median); ` +
      `pool still below minIdle after the pause before ${notReady} of ${SINGLE_USE_N} calls (waited for the refill, untimed)` +
      (share ? `; ${share.warm}/${share.calls} paced calls with metrics ran warm` : "");
    return row;
  });
}

/** A sandboxed runtime with a pool, once the pool has `minIdle` idle workers; else the reason. */
async function poolRuntime(
  factory: RuntimeFactory,
  runtimeType: RuntimeType,
  name: string,
  extra: BenchConfig,
  minIdle: number,
): Promise<{ rt?: Runtime; note?: string; reason?: string }> {
  const made = await makeRuntime(factory, runtimeType, name, extra, true);
  if (!made.rt) return made;
  if (!poolStats(made.rt)) {
    await closeRuntime(made.rt);
    return { reason: "n/a: this build has no runtime.pool" };
  }
  if (!(await waitForIdle(made.rt, minIdle))) {
    await closeRuntime(made.rt);
    return { reason: `FAILED: pool did not reach ${minIdle} idle workers in ${POOL_FILL_TIMEOUT_MS} ms` };
  }
  return made;
}

/** After an in-flight warm-up every call is done, so all live workers are idle: waits (briefly) for
 *  the pool to have grown to maxWorkers and says how far it got. */
async function poolGrowth(rt: Runtime): Promise<string> {
  const full = await waitForIdle(rt, IN_FLIGHT_WORKERS, 3000);
  return `${poolStats(rt)?.idle ?? "?"} idle workers after warm-up${full ? "" : ` (fewer than maxWorkers ${IN_FLIGHT_WORKERS})`}`;
}

/** Appends, to an in-flight pool row, how many calls of one burst found no idle worker. */
async function noteColdShare(row: Row, rt: Runtime): Promise<void> {
  if (!row.samples) return;
  try {
    const share = await warmShare(rt, IN_FLIGHT, IN_FLIGHT);
    if (share) row.note = [row.note, `in one burst of ${share.calls} calls with metrics, ${share.calls - share.warm} ran on a cold process (no idle worker)`].join("; ");
  } catch (e) {
    row.note = [row.note, `metrics burst failed: ${describeError(e)}`].join("; ");
  }
}

/** The reuse pool with `maxConcurrency` 64: measured alone, capped (calls beyond the pool's
 *  workers may start cold processes, which makes it slow). */
async function reuseInFlightRow(factory: RuntimeFactory, runtimeType: RuntimeType): Promise<Row> {
  const name = LABEL.reuseInFlight;
  const made = await poolRuntime(factory, runtimeType, name, { maxConcurrency: IN_FLIGHT, pool: { minIdle: 1, maxWorkers: IN_FLIGHT_WORKERS, reuse: REUSE } }, 1);
  if (!made.rt) return { name, samples: null, reason: made.reason };
  const rt = made.rt;
  let growth = "";
  const [row] = await measureInFlightInterleaved(
    [{ name, fn: packageCall(rt), note: made.note, afterWarmup: async () => void (growth = await poolGrowth(rt)) }],
    ROUND_TRIP_N,
    1,
  );
  row.note = [row.note, growth].filter(Boolean).join("; ");
  await noteColdShare(row, rt);
  await closeRuntime(rt);
  return row;
}

/** The network rows: bare `--allow-net` and the allowlist, measured interleaved on reuse pools. */
async function networkRows(factory: RuntimeFactory, runtimeType: RuntimeType, shared: Shared): Promise<{ rows: Row[]; probe: string }> {
  const names = [LABEL.netBare, LABEL.netAllow];
  if (shared.httpPort === null) {
    return { rows: names.map((name) => ({ name, samples: null, reason: `FAILED: loopback server: ${shared.httpReason}` })), probe: "no server" };
  }
  const url = `http://127.0.0.1:${shared.httpPort}/`;
  const pool: PoolInput = { minIdle: 1, reuse: REUSE };
  // Does this build accept host allowlists at all?
  let probe: string;
  let allowReason: string | undefined;
  try {
    const rt = await factory.createRuntime(runtimeConfig(runtimeType, { permissions: ["--allow-read", "--allow-net=bench.test"] }));
    await rt.close();
    probe = "accepted";
  } catch (e) {
    probe = `rejected: ${describeError(e)}`;
    const code = (e as { code?: unknown }).code;
    if (code === "ERR_INVALID_CONFIG" || code === "ERR_SANDBOX_UNAVAILABLE") allowReason = `n/a: --allow-net=HOST ${probe}`;
    else {
      errors.push({ row: `${runtimeType}: allowlist probe`, error: e });
      allowReason = `FAILED: allowlist probe ${probe}`;
    }
  }
  const bare = await makeRuntime(factory, runtimeType, LABEL.netBare, { permissions: ["--allow-read", "--allow-net"], pool }, true);
  const allow = allowReason
    ? { reason: allowReason }
    : await makeRuntime(factory, runtimeType, LABEL.netAllow, { permissions: ["--allow-read", `--allow-net=127.0.0.1:${shared.httpPort}`], pool }, true);
  const cases: Case[] = [];
  for (const [name, m] of [
    [LABEL.netBare, bare],
    [LABEL.netAllow, allow],
  ] as const) {
    if (!m.rt) {
      cases.push({ name, reason: m.reason });
      continue;
    }
    if (!(await waitForIdle(m.rt, 1))) {
      cases.push({ name, reason: `FAILED: pool did not reach 1 idle worker in ${POOL_FILL_TIMEOUT_MS} ms` });
      continue;
    }
    cases.push({ name, fn: packageCall(m.rt, NET_TOOL_ID, { url }), note: `${m.note}; GET ${url} with fetch()` });
  }
  const rows = await measureInterleaved(cases, NET_N, NET_WARMUP, SPAWN_ROUNDS);
  await closeRuntime(bare.rt);
  await closeRuntime(allow.rt);
  return { rows, probe };
}

async function benchRuntime(factory: RuntimeFactory, runtimeType: RuntimeType, shared: Shared): Promise<RuntimeResult> {
  const binary = runtimeBinary(runtimeType);
  const memory: Memory[] = [];
  const rows: Row[] = [];
  const progress = (what: string) => console.error(`[${runtimeType}] ${what}`);

  progress("cold rows");
  rows.push(...(await coldRows(factory, runtimeType)));
  const byName = (name: string) => rows.find((r) => r.name === name);
  const cold = stats(byName(LABEL.sandboxed)) ?? stats(byName(LABEL.off)) ?? stats(byName(LABEL.hand));
  const pauseMs = Math.max(5, SINGLE_USE_PACE * (cold?.median ?? 50));

  progress("single-use warm pool");
  rows.push(await singleUseRow(factory, runtimeType, pauseMs, memory));

  // The fast rows (persistent processes and threads) are measured interleaved, sequential ones
  // first, then 64 in flight, so that a ratio's two sides saw the same machine.
  progress("raw round trip, piscina and reuse pool: sequential, then 64 in flight");
  const raw: Case = { name: LABEL.raw };
  const rawInFlight: InFlightCase = { name: LABEL.rawInFlight };
  try {
    const w = await startRawWorker(binary);
    // Measured fresh (one call served), like the pool's fresh worker.
    memory.push(treeRss("raw NDJSON worker, fresh (no sandbox, no harness), for comparison", w.pid));
    raw.fn = rawInFlight.fn = w.call;
    raw.note = `${binary} bench/raw-worker.mjs, no sandbox`;
  } catch (e) {
    errors.push({ row: `${runtimeType}: ${LABEL.raw} (start)`, error: e });
    raw.reason = rawInFlight.reason = `FAILED to start: ${describeError(e)}`;
  }
  const piscinaNote = (threads: number) => `piscina in this node (${process.version}), ${threads} thread${threads > 1 ? "s" : ""}, no isolation`;
  const pis: Case = { name: LABEL.piscina, note: piscinaNote(1) };
  const pisInFlight: InFlightCase = { name: LABEL.piscinaInFlight, note: piscinaNote(IN_FLIGHT_WORKERS) };
  const piscinas: { destroy: () => Promise<void> }[] = [];
  for (const [c, threads] of [
    [pis, 1],
    [pisInFlight, IN_FLIGHT_WORKERS],
  ] as const) {
    try {
      const p = await startPiscina(threads);
      piscinas.push(p);
      c.fn = p.call;
    } catch (e) {
      errors.push({ row: `${runtimeType}: ${c.name} (start)`, error: e });
      c.reason = `FAILED to start: ${describeError(e)}`;
    }
  }

  const seqPool = await poolRuntime(factory, runtimeType, LABEL.reuseSeq, { pool: { minIdle: 1, maxWorkers: 4, reuse: REUSE } }, 1);
  const reuseSeq: Case = seqPool.rt ? { name: LABEL.reuseSeq, fn: packageCall(seqPool.rt), note: seqPool.note } : { name: LABEL.reuseSeq, reason: seqPool.reason };
  rows.push(...(await measureInterleaved([raw, pis, reuseSeq], ROUND_TRIP_N, ROUND_TRIP_WARMUP, SPAWN_ROUNDS)));
  if (seqPool.rt) {
    await waitForIdle(seqPool.rt, 1, 1000);
    memory.push(treeRss(`idle reuse worker after ${ROUND_TRIP_N + ROUND_TRIP_WARMUP} calls`, poolStats(seqPool.rt)?.idlePids[0]));
    await closeRuntime(seqPool.rt);
  }

  const queuedPool = await poolRuntime(
    factory,
    runtimeType,
    LABEL.reuseQueued,
    { maxConcurrency: IN_FLIGHT_WORKERS, pool: { minIdle: 1, maxWorkers: IN_FLIGHT_WORKERS, reuse: REUSE } },
    1,
  );
  let growth = "";
  const queued: InFlightCase = queuedPool.rt
    ? {
        name: LABEL.reuseQueued,
        fn: packageCall(queuedPool.rt),
        note: queuedPool.note,
        afterWarmup: async () => void (growth = await poolGrowth(queuedPool.rt!)),
      }
    : { name: LABEL.reuseQueued, reason: queuedPool.reason };
  const inFlightRows = await measureInFlightInterleaved([rawInFlight, pisInFlight, queued], ROUND_TRIP_N, SPAWN_ROUNDS);
  const queuedRow = inFlightRows[2];
  if (growth) queuedRow.note = [queuedRow.note, growth].filter(Boolean).join("; ");
  if (queuedPool.rt) {
    await noteColdShare(queuedRow, queuedPool.rt);
    await closeRuntime(queuedPool.rt);
  }
  rows.push(...inFlightRows);
  for (const p of piscinas) await p.destroy();

  progress(`reuse pool, ${IN_FLIGHT} in flight, maxConcurrency ${IN_FLIGHT}`);
  rows.push(await reuseInFlightRow(factory, runtimeType));
  progress("network");
  const net = await networkRows(factory, runtimeType, shared);
  rows.push(...net.rows);

  // Put the rows in the order of the brief: cold, warm, reuse, hand-written, piscina, raw, rest.
  const order = [
    LABEL.sandboxed,
    LABEL.off,
    LABEL.singleUse,
    LABEL.reuseSeq,
    LABEL.reuseInFlight,
    LABEL.reuseQueued,
    LABEL.hand,
    LABEL.piscina,
    LABEL.piscinaInFlight,
    LABEL.raw,
    LABEL.rawInFlight,
    LABEL.bare,
    LABEL.netBare,
    LABEL.netAllow,
  ];
  rows.sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
  const idleWorker = memory.find((m) => m.what.startsWith("idle warm worker")) ?? null;
  return { runtimeType, binary: `${binary} ${runtimeVersion(binary)}`, rows, byName, memory, idleWorker, pauseMs, netProbe: net.probe };
}

function runtimeVersion(binary: string): string {
  try {
    return execFileSync(binary, ["--version"], { env: CLEAN_ENV, encoding: "utf8", timeout: 10_000 }).trim();
  } catch (e) {
    return `(version unknown: ${describeError(e)})`;
  }
}

function baselinesOf(r: RuntimeResult): Baselines {
  return {
    rawSeq: stats(r.byName(LABEL.raw)),
    rawInFlight: stats(r.byName(LABEL.rawInFlight)),
    pisSeq: stats(r.byName(LABEL.piscina)),
    pisInFlight: stats(r.byName(LABEL.piscinaInFlight)),
  };
}

function printSandboxRatio(r: RuntimeResult): void {
  const sb = r.byName(LABEL.sandboxed);
  const off = r.byName(LABEL.off);
  const a = stats(sb);
  const b = stats(off);
  if (a && b) {
    console.log(
      `\n${r.runtimeType}: cold sandboxed / sandbox off = ${fmtRatio(a.median / b.median)} (median), ${fmtRatio(a.p95 / b.p95)} (p95); target ≤ 1.20x`,
    );
  } else {
    console.log(`\n${r.runtimeType}: cold sandboxed / sandbox off = n/a (${sb?.reason ?? off?.reason ?? "missing row"})`);
  }
}

function printMemory(r: RuntimeResult): void {
  console.log(`\n${r.runtimeType}: resident memory (VmRSS summed over the process tree)\n`);
  printMarkdown(
    ["process", "RSS MB", "processes"],
    r.memory.map((m) => [m.what + (m.reason ? ` (${m.reason})` : ""), m.mb === null ? "n/a" : m.mb.toFixed(1), String(m.processes)]),
  );
}

// ---------------------------------------------------------------------------------------------
// Targets and the README summary

interface Target {
  target: string;
  runtime: string;
  measured: string;
  /** null: could not be evaluated. */
  met: boolean | null;
  /** Informational lines are printed but do not count. */
  info?: boolean;
}

function targetsOf(results: RuntimeResult[]): Target[] {
  const out: Target[] = [];
  const na = (target: string, runtime: string, why: string, info = false): Target => ({
    target,
    runtime,
    measured: `n/a (${why.length > 100 ? why.slice(0, 99) + "…" : why})`,
    met: null,
    info,
  });
  const why = (...rows: (Row | undefined)[]) => rows.find((r) => r && !stats(r))?.reason ?? "row missing";
  for (const r of results) {
    const rt = r.runtimeType;
    const get = (name: string) => r.byName(name);

    const su = stats(get(LABEL.singleUse));
    const t1 = "single-use warm pool median < 1 ms";
    out.push(su ? { target: t1, runtime: rt, measured: `${fmtMs(su.median)} ms (p95 ${fmtMs(su.p95)} ms)`, met: su.median < 1 } : na(t1, rt, why(get(LABEL.singleUse))));

    const reuse = stats(get(LABEL.reuseSeq));
    const raw = stats(get(LABEL.raw));
    const t2 = "reuse sequential ≥ 0.8x raw round-trip throughput (median ≤ raw / 0.8)";
    out.push(
      reuse && raw
        ? {
            target: t2,
            runtime: rt,
            measured: `${fmtMs(reuse.median)} ms vs raw ${fmtMs(raw.median)} ms: ${fmtRatio(raw.median / reuse.median)} of raw throughput (limit ${fmtMs(raw.median / 0.8)} ms)`,
            met: reuse.median <= raw.median / 0.8,
          }
        : na(t2, rt, why(get(LABEL.reuseSeq), get(LABEL.raw))),
    );

    const pis = stats(get(LABEL.piscinaInFlight));
    const t3 = `reuse ${IN_FLIGHT} in flight ≥ 0.5x piscina ${IN_FLIGHT}-in-flight throughput`;
    for (const [name, info] of [
      [LABEL.reuseInFlight, false],
      [LABEL.reuseQueued, true],
    ] as const) {
      const s = stats(get(name));
      const label = info ? `${t3} (info: maxConcurrency ${IN_FLIGHT_WORKERS})` : `${t3} (maxConcurrency ${IN_FLIGHT})`;
      out.push(
        s && s.throughput !== null && pis && pis.throughput
          ? {
              target: label,
              runtime: rt,
              measured: `${fmtRate(s.throughput)} vs ${fmtRate(pis.throughput)} calls/s: ${fmtRatio(s.throughput / pis.throughput)}`,
              met: s.throughput >= 0.5 * pis.throughput,
              info,
            }
          : na(label, rt, why(get(name), get(LABEL.piscinaInFlight)), info),
      );
    }

    const cold = stats(get(LABEL.sandboxed));
    const hand = stats(get(LABEL.hand));
    const t4 = "cold sandboxed median ≤ hand-written spawn median";
    const info4 = rt !== "bun";
    const label4 = info4 ? `${t4} (info: the target is bun's)` : t4;
    out.push(
      cold && hand
        ? { target: label4, runtime: rt, measured: `${fmtMs(cold.median)} vs ${fmtMs(hand.median)} ms: ${fmtRatio(cold.median / hand.median)}`, met: cold.median <= hand.median, info: info4 }
        : na(label4, rt, why(get(LABEL.sandboxed), get(LABEL.hand)), info4),
    );

    const off = stats(get(LABEL.off));
    const t5 = "cold sandboxed ≤ 1.2x sandbox off (median)";
    out.push(
      cold && off
        ? { target: t5, runtime: rt, measured: `${fmtMs(cold.median)} vs ${fmtMs(off.median)} ms: ${fmtRatio(cold.median / off.median)}`, met: cold.median <= 1.2 * off.median }
        : na(t5, rt, why(get(LABEL.sandboxed), get(LABEL.off))),
    );

    const nb = stats(get(LABEL.netBare));
    const nl = stats(get(LABEL.netAllow));
    const t6 = "network allowlist (proxy) median - bare --allow-net median < 1 ms";
    out.push(
      nb && nl
        ? {
            target: t6,
            runtime: rt,
            measured: `${fmtMs(nl.median)} - ${fmtMs(nb.median)} = ${(nl.median - nb.median).toFixed(3)} ms (p95 ${fmtMs(nl.p95)} vs ${fmtMs(nb.p95)})`,
            met: nl.median - nb.median < 1,
          }
        : na(t6, rt, why(get(LABEL.netAllow), get(LABEL.netBare))),
    );
  }
  return out;
}

function printTargets(targets: Target[]): void {
  console.log("\n## Targets\n");
  printMarkdown(
    ["target", "runtime", "measured", "met"],
    targets.map((t) => [t.target, t.runtime, t.measured, t.met === null ? "n/a" : t.info ? (t.met ? "(yes)" : "(no)") : t.met ? "YES" : "NO"]),
    3,
  );
  const counted = targets.filter((t) => !t.info);
  const met = counted.filter((t) => t.met === true).length;
  const missed = counted.filter((t) => t.met === false).length;
  console.log(`\n${met} met, ${missed} not met, ${counted.length - met - missed} n/a (rows in parentheses are informational)`);
}

const SUMMARY_ROWS: [string, string][] = [
  [LABEL.sandboxed, "cold, sandboxed"],
  [LABEL.off, "cold, sandbox off"],
  [LABEL.singleUse, "warm pool, single-use (sandboxed)"],
  [LABEL.reuseSeq, "reuse pool, sequential (sandboxed)"],
  [LABEL.reuseInFlight, `reuse pool, ${IN_FLIGHT} in flight (sandboxed)`],
  [LABEL.reuseQueued, `reuse pool, ${IN_FLIGHT} in flight, maxConcurrency ${IN_FLIGHT_WORKERS}`],
  [LABEL.hand, "hand-written spawn per call (no sandbox)"],
  [LABEL.piscina, "piscina, sequential (no isolation)"],
  [LABEL.piscinaInFlight, `piscina, ${IN_FLIGHT} in flight (no isolation)`],
  [LABEL.raw, "raw NDJSON over a pipe, sequential"],
  [LABEL.rawInFlight, `raw NDJSON over a pipe, ${IN_FLIGHT} in flight`],
  [LABEL.netAllow, "HTTP GET via allowlist proxy (reuse pool)"],
  [LABEL.netBare, "HTTP GET, bare --allow-net (reuse pool)"],
];

function printSummary(results: RuntimeResult[]): void {
  console.log("\n## Summary for the README\n");
  for (const r of results) {
    const b = baselinesOf(r);
    const body: string[][] = [];
    for (const [name, label] of SUMMARY_ROWS) {
      const row = r.byName(name);
      if (!row) continue;
      const s = stats(row);
      if (!s) {
        if (name === LABEL.netAllow || name === LABEL.netBare) continue; // n/a until the allowlist is wired
        body.push([label, status(row), status(row), "", "", ""]);
        continue;
      }
      const q = ratios(s, b);
      const inFlight = s.throughput !== null;
      body.push([
        label,
        fmtMs(s.median),
        fmtMs(s.p95),
        inFlight ? fmtRate(s.throughput!) : "",
        inFlight ? `${q.thrRaw} thr` : q.medRaw,
        inFlight ? `${q.thrPis} thr` : q.medPis,
      ]);
    }
    console.log(`**${r.runtimeType}** (trivial tool; ${r.binary})\n`);
    printMarkdown([`${r.runtimeType}`, "median ms", "p95 ms", "calls/s", "vs raw pipe", "vs piscina"], body);
    const m = r.idleWorker;
    console.log(`\nIdle warm worker RSS: ${m && m.mb !== null ? `${m.mb.toFixed(1)} MB` : "n/a"}.`);
    console.log("");
  }
  console.log(
    `vs columns: sequential rows are median ÷ the baseline's sequential median (lower is better); rows with calls/s are ` +
      `throughput ÷ the baseline's ${IN_FLIGHT}-in-flight throughput ("thr", higher is better). piscina runs in the host node ` +
      `(${process.version}). ${IN_FLIGHT}-in-flight rows use ${IN_FLIGHT_WORKERS} workers/threads; machine: ${availableCores()} cores.`,
  );
}

/** Fields of /proc/<pid>/stat from field 3 (state) on: field k is at index k - 3. */
function statFields(pid: number | "self"): number[] {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ").map(Number);
}

interface CpuSnapshot {
  total: number;
  busy: number;
  /** Interrupt handling (loopback TCP is mostly softirq), charged to no process. */
  irq: number;
  /** This process and the children it has reaped (every runtime process once closed). */
  own: number;
  /** Kernel threads (children of kthreadd), e.g. the workers tearing down network namespaces. */
  kernel: Map<number, number>;
}

/** CPU ticks, machine-wide and by whom, or null where /proc cannot tell. */
function cpuSnapshot(): CpuSnapshot | null {
  try {
    // "cpu  user nice system idle iowait irq softirq steal guest guest_nice" (guest is in user).
    const v = fs.readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1, 9).map(Number);
    const total = v.reduce((a, b) => a + b, 0);
    const f = statFields("self"); // utime, stime, cutime, cstime are fields 14..17
    const kernel = new Map<number, number>();
    for (const entry of fs.readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      const pid = Number(entry);
      try {
        const k = statFields(pid);
        if (pid === 2 || k[1] === 2) kernel.set(pid, k[11] + k[12]);
      } catch {
        // gone meanwhile
      }
    }
    return { total, busy: total - v[3] - v[4], irq: v[5] + v[6], own: f[11] + f[12] + f[13] + f[14], kernel };
  } catch {
    return null;
  }
}

function fmtLoad(l: number[]): string {
  return l.map((x) => x.toFixed(2)).join(" / ");
}

function availableCores(): number {
  return os.availableParallelism();
}

// ---------------------------------------------------------------------------------------------

async function sharedSetup(): Promise<Shared> {
  let httpPort: number | null = null;
  let httpReason: string | undefined;
  try {
    httpPort = await startHttpServer();
  } catch (e) {
    httpReason = describeError(e);
    errors.push({ row: "loopback HTTP server", error: e });
  }
  return { httpPort, httpReason };
}

async function main(): Promise<void> {
  const started = performance.now();
  console.log(`tool-runtime bench: trivial tool \`${TOOL_ID}\` from bench/${TOOLS_FILE}`);
  console.log(
    `iterations: ${SPAWN_N} per process-spawning row (+${SPAWN_WARMUP} warm-up, ${SPAWN_ROUNDS} interleaved blocks), ` +
      `${ROUND_TRIP_N} per round-trip row (+${ROUND_TRIP_WARMUP} warm-up); single-use pool row: ${SINGLE_USE_N}; ` +
      `${IN_FLIGHT}-in-flight rows: at least ${ROUND_TRIP_N} calls and ${IN_FLIGHT_MIN_MS / 1000} s, at most ${IN_FLIGHT_CAP_MS / 1000} s ` +
      `(+${IN_FLIGHT_WARMUP} warm-up), ${IN_FLIGHT_WORKERS} workers/threads; network rows: ${NET_N} (+${NET_WARMUP} warm-up)`,
  );
  console.log(`sandboxCapabilities(): ${JSON.stringify(sandboxCapabilities())}`);
  const loadAtStart = os.loadavg();
  const cpuAtStart = cpuSnapshot();
  console.log(`machine: ${availableCores()} cores, load average ${fmtLoad(loadAtStart)} at start`);
  const factory = new RuntimeFactory(BENCH_DIR);
  const results: RuntimeResult[] = [];
  try {
    const shared = await sharedSetup();
    for (const runtimeType of ["bun", "node"] as const) {
      const r = await benchRuntime(factory, runtimeType, shared);
      results.push(r);
      printDetailTable(`${runtimeType}: per call`, r.rows, baselinesOf(r));
      printSandboxRatio(r);
      printMemory(r);
      console.log(`\n${runtimeType}: host allowlist probe (--allow-net=bench.test): ${r.netProbe}`);
    }
  } finally {
    await cleanup();
  }
  const loadAtEnd = os.loadavg();
  const cpuAtEnd = cpuSnapshot();
  console.log(`\nload average ${fmtLoad(loadAtEnd)} at the end (the bench's own processes count too)`);
  if (cpuAtStart && cpuAtEnd && cpuAtEnd.total > cpuAtStart.total) {
    const total = cpuAtEnd.total - cpuAtStart.total;
    const pct = (ticks: number) => `${((100 * ticks) / total).toFixed(0)}%`;
    const busy = cpuAtEnd.busy - cpuAtStart.busy;
    const own = cpuAtEnd.own - cpuAtStart.own;
    const irq = cpuAtEnd.irq - cpuAtStart.irq;
    let kernel = 0;
    for (const [pid, ticks] of cpuAtEnd.kernel) kernel += ticks - (cpuAtStart.kernel.get(pid) ?? 0);
    const otherTicks = Math.max(0, busy - own - irq - kernel);
    const other = otherTicks / total;
    console.log(
      `CPU during the run (share of ${availableCores()} cores): ${pct(busy)} busy = ${pct(own)} this bench and its runtime processes + ` +
        `${pct(irq)} interrupts + ${pct(kernel)} kernel threads (namespace teardown, ...) + ${pct(otherTicks)} other processes`,
    );
    if (other > 0.15) {
      console.log(`WARNING: other processes used ${(100 * other).toFixed(0)}% of the CPU during the run: the figures are noisy.`);
    }
  } else if (loadAtStart[0] > 0.5 * availableCores()) {
    // Without /proc accounting, the (lagging) load average is the only hint.
    console.log(
      `WARNING: the machine was busy before the bench started (1-minute load ${loadAtStart[0].toFixed(2)} on ${availableCores()} cores).`,
    );
  }
  printTargets(targetsOf(results));
  printSummary(results);
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
