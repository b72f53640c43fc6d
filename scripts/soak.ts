// Soak test: thousands of mixed calls (ok, throw, timeout, crash, big output, abort) at full
// concurrency against bun, node and deno, cold and pooled, then a check that the host is back where it
// started: open fds, threads, child processes (and zombies), worker processes and RSS.
//
//   node --import tsx scripts/soak.ts [--short] [--calls N] [--in-flight N] [--seed N]
//
// --short runs 200 calls instead of 2000. Exits non-zero when a call ended in an unexpected
// outcome, or when fds, children, zombies or workers are above the baseline after settling,
// threads more than THREAD_TOLERANCE above it, RSS grew more than RSS_TOLERANCE_MB in all or more
// than SECOND_HALF_RSS_TOLERANCE_MB over the second half of the calls (a leak grows with calls).
import path from "node:path";
import v8 from "node:v8";
import vm from "node:vm";
import { type Runtime, type RuntimeConfigInput, RuntimeFactory, testConfig } from "tool-runtime";
import { mulberry32 } from "../__test__/prng";
import { childrenOf, fdCount, processesWithMarker, threadCount } from "./proc";

const FIXTURES = path.join(__dirname, "..", "__test__", "fixtures");
const THREAD_TOLERANCE = 2;
/**
 * Growth allowed over the whole soak. glibc keeps freed memory in per-thread arenas (the host
 * reads up to maxOutputBytes per call on tokio threads), so RSS rises to a plateau that does not
 * scale with the number of calls; a leak shows as growth in the second half, bounded separately.
 */
const RSS_TOLERANCE_MB = 40;
// Nine runtimes (bun, node and deno, three modes each) reach the arenas' plateau later in a
// short soak than six did: +10.6 MB was measured over the second half of 200 calls with no
// growth after close (settled +12 MB of +40).
const SECOND_HALF_RSS_TOLERANCE_MB = 15;
/** Tokio's blocking threads linger 10 s after their last task. */
const SETTLE_MS = 11_000;
const SETTLE_MAX_MS = 30_000;

// ---------------------------------------------------------------------------------------------
// Arguments

function argValue(name: string): number | undefined {
  const i = process.argv.indexOf(name);
  if (i < 0) return undefined;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v <= 0) throw new Error(`${name} needs a positive whole number`);
  return v;
}
const SHORT = process.argv.includes("--short");
const CALLS = argValue("--calls") ?? (SHORT ? 200 : 2000);
const IN_FLIGHT_PER_RUNTIME = argValue("--in-flight") ?? 8;
const SEED = argValue("--seed") ?? (process.env.SOAK_SEED ? Number(process.env.SOAK_SEED) : (Date.now() % 2 ** 31) + 1);

v8.setFlagsFromString("--expose-gc");
const gc: () => void = vm.runInNewContext("gc");

// ---------------------------------------------------------------------------------------------
// Host figures

interface Figures {
  fds: number;
  threads: number;
  children: number;
  zombies: number;
  workers: number;
  rssMb: number;
  /** Informational: the JS heap and memory held by JS objects outside it. */
  heapMb: number;
  externalMb: number;
}

function figures(): Figures {
  const { all, zombies } = childrenOf();
  const mem = process.memoryUsage();
  return {
    fds: fdCount(),
    threads: threadCount(),
    children: all.length,
    zombies: zombies.length,
    // Every worker's command line names its harness, under tool-runtime-calls-<host pid>-*.
    workers: processesWithMarker(`tool-runtime-calls-${process.pid}-`, { environ: false }).length,
    rssMb: mem.rss / (1024 * 1024),
    heapMb: mem.heapUsed / (1024 * 1024),
    externalMb: mem.external / (1024 * 1024),
  };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function settleOk(f: Figures, base: Figures): boolean {
  return (
    f.fds <= base.fds &&
    f.threads <= base.threads + THREAD_TOLERANCE &&
    f.children <= base.children &&
    f.zombies === 0 &&
    f.workers === 0
  );
}

/** Collects garbage twice, letting native finalizers (closed runtimes' handles) run between. */
async function collect(): Promise<void> {
  gc();
  await sleep(50);
  gc();
  await sleep(50);
}

/**
 * Waits at least `minMs`, collecting garbage as it goes (a closed runtime keeps some handles
 * until its JS object is collected), then until the figures are back to `base` or `maxMs` passed.
 */
async function settle(base: Figures | null, minMs: number, maxMs: number): Promise<{ f: Figures; ms: number }> {
  const t0 = performance.now();
  while (performance.now() - t0 < minMs) {
    await collect();
    await sleep(400);
  }
  await collect();
  let f = figures();
  while (base && !settleOk(f, base) && performance.now() - t0 < maxMs) {
    await sleep(400);
    await collect();
    f = figures();
  }
  return { f, ms: performance.now() - t0 };
}

// ---------------------------------------------------------------------------------------------
// Runtimes and calls

const FLAVOURS: { name: string; config: Record<string, unknown> }[] = [
  { name: "cold", config: {} },
  { name: "pool", config: { pool: { minIdle: 2 } } },
  { name: "pool-reuse", config: { pool: { minIdle: 2, reuse: { maxCallsPerWorker: 25, maxRssMb: 256 } } } },
];

async function makeRuntimes(): Promise<{ label: string; rt: Runtime }[]> {
  const out = [];
  // Deno as in the test suites: left out with TOOL_RUNTIME_TEST_DENO=0.
  const types = process.env.TOOL_RUNTIME_TEST_DENO === "0" ? (["bun", "node"] as const) : (["bun", "node", "deno"] as const);
  for (const runtimeType of types) {
    for (const f of FLAVOURS) {
      const config = {
        ...testConfig(),
        permissions: null,
        runtimePath: null,
        entrypointPath: "faults.mjs",
        runtimeType,
        toolExecutionTimeoutMs: 120_000,
        maxOutputBytes: 1024 * 1024,
        ...f.config,
      } as RuntimeConfigInput;
      out.push({ label: `${runtimeType}/${f.name}`, rt: await new RuntimeFactory(FIXTURES).createRuntime(config) });
    }
  }
  return out;
}

type Kind = "ok" | "throw" | "timeout" | "crash" | "bigout" | "bigok" | "abort";
const KINDS: [Kind, number][] = [
  ["ok", 40],
  ["throw", 12],
  ["timeout", 10],
  ["crash", 10],
  ["bigout", 8],
  ["bigok", 8],
  ["abort", 12],
];


function pickKind(rnd: () => number): Kind {
  const total = KINDS.reduce((s, [, w]) => s + w, 0);
  let x = rnd() * total;
  for (const [k, w] of KINDS) {
    if ((x -= w) < 0) return k;
  }
  return "ok";
}

/** Runs one call of `kind`; returns null when it ended as it should, else what happened. */
async function runOne(rt: Runtime, kind: Kind, id: string, rnd: () => number): Promise<string | null> {
  const code = (e: any) => (e && typeof e.code === "string" ? e.code : `untyped ${e && e.stack}`);
  try {
    switch (kind) {
      case "ok": {
        const out = await rt.executeTool("greet", id, { name: id });
        return out.message === `Hello, ${id}!` ? null : `wrong result ${JSON.stringify(out)}`;
      }
      case "bigok": {
        const out = (await rt.executeTool("bigResult", id, { mb: 0.5 })) as { data: string };
        return out.data.length === 512 * 1024 ? null : `wrong length ${out.data.length}`;
      }
      case "throw":
        await rt.executeTool("fails", id);
        break;
      case "timeout":
        await rt.executeToolWithTimeout("sleeps", id, { ms: 5000 }, {}, 200);
        break;
      case "crash":
        await rt.executeTool("segfault", id);
        break;
      case "bigout":
        await rt.executeTool("bigResult", id, { mb: 2 });
        break;
      case "abort": {
        const ac = new AbortController();
        setTimeout(() => ac.abort(), 20 + Math.floor(rnd() * 130));
        await rt.executeTool("sleeps", id, { ms: 5000 }, {}, { signal: ac.signal });
        break;
      }
    }
    return `${kind} resolved`;
  } catch (e: any) {
    const want: Record<Kind, string> = {
      ok: "-",
      bigok: "-",
      throw: "ERR_TOOL_FAILED",
      timeout: "ERR_TOOL_TIMEOUT",
      crash: "ERR_PROCESS_EXITED",
      bigout: "ERR_OUTPUT_TOO_LARGE",
      abort: "ERR_ABORTED",
    };
    if (code(e) !== want[kind]) return `${kind}: ${code(e)}: ${String(e && e.message).slice(0, 200)}`;
    // faults.mjs's segfault aborts on deno (V8 keeps a SIGSEGV sent with kill).
    const crashSignal = rt.runtimeType === "deno" ? "SIGABRT" : "SIGSEGV";
    if (kind === "crash" && e.signal !== crashSignal) return `crash: signal ${e.signal}`;
    return null;
  }
}

// ---------------------------------------------------------------------------------------------

function pad(s: string | number, n: number): string {
  return String(s).padStart(n);
}

function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

/** Runs a few calls of every kind on every flavour, then closes them (the baseline comes after). */
async function warmUp(): Promise<void> {
  const rnd = mulberry32(SEED ^ 0x5eed);
  const warm = await makeRuntimes();
  for (const { rt } of warm) {
    for (const [kind] of KINDS) await runOne(rt, kind, `warm-${kind}`, rnd);
  }
  await closeAll(warm);
}

async function closeAll(list: { rt: Runtime }[]): Promise<void> {
  await Promise.all(list.map(({ rt }) => rt.close()));
  list.length = 0;
}

interface RunStats {
  runMs: number;
  closeMs: number;
  unexpected: string[];
  byKind: Map<Kind, { n: number; bad: number; ms: number[] }>;
  byRuntime: Map<string, { n: number; bad: number; ms: number }>;
  peakInFlight: Figures;
  beforeClose: Figures;
  afterClose: Figures;
  /** RSS after GC at the end of each half, runtimes still open. */
  firstHalfRssMb: number;
  secondHalfRssMb: number;
}

/**
 * The soak itself, in two halves with the runtimes open throughout; RSS is taken (after GC) at
 * the end of each half. Runtimes live only in this function's frame: a suspended async frame
 * would keep them (and what they hold until collected) alive.
 */
async function runSoak(): Promise<RunStats> {
  const runtimes = await makeRuntimes();
  const rnd = mulberry32(SEED);
  const jobs = Array.from({ length: CALLS }, (_, i) => ({ i, kind: pickKind(rnd), r: Math.floor(rnd() * runtimes.length) }));

  const unexpected: string[] = [];
  const byKind = new Map<Kind, { n: number; bad: number; ms: number[] }>();
  const byRuntime = new Map<string, { n: number; bad: number; ms: number }>(runtimes.map(({ label }) => [label, { n: 0, bad: 0, ms: 0 }]));
  let peakInFlight: Figures = figures();
  const sampler = setInterval(() => {
    const f = figures();
    if (f.fds > peakInFlight.fds) peakInFlight = { ...peakInFlight, fds: f.fds };
    if (f.threads > peakInFlight.threads) peakInFlight = { ...peakInFlight, threads: f.threads };
    if (f.children > peakInFlight.children) peakInFlight = { ...peakInFlight, children: f.children };
    if (f.rssMb > peakInFlight.rssMb) peakInFlight = { ...peakInFlight, rssMb: f.rssMb };
  }, 250);

  const t0 = performance.now();
  let done = 0;
  const progress = setInterval(() => {
    console.log(`  ${done}/${CALLS} calls, ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }, 10_000);
  const runHalf = async (half: typeof jobs) => {
    const perRuntime = runtimes.map(() => [] as typeof jobs);
    for (const j of half) perRuntime[j.r].push(j);
    await Promise.all(
      runtimes.map(async ({ label, rt }, r) => {
        const queue = perRuntime[r];
        const started = performance.now();
        const stats = byRuntime.get(label)!;
        const lanes = Array.from({ length: IN_FLIGHT_PER_RUNTIME }, async () => {
          for (let job = queue.shift(); job; job = queue.shift()) {
            const c0 = performance.now();
            const bad = await runOne(rt, job.kind, `soak-${job.i}`, rnd);
            const ms = performance.now() - c0;
            const k = byKind.get(job.kind) ?? { n: 0, bad: 0, ms: [] };
            k.n++;
            k.ms.push(ms);
            stats.n++;
            if (bad) {
              k.bad++;
              stats.bad++;
              unexpected.push(`${label} #${job.i}: ${bad}`);
            }
            byKind.set(job.kind, k);
            done++;
          }
        });
        await Promise.all(lanes);
        stats.ms += performance.now() - started;
      }),
    );
    await collect();
    await sleep(500);
    await collect();
    return figures().rssMb;
  };
  const firstHalfRssMb = await runHalf(jobs.slice(0, Math.floor(CALLS / 2)));
  const secondHalfRssMb = await runHalf(jobs.slice(Math.floor(CALLS / 2)));
  const runMs = performance.now() - t0;
  clearInterval(progress);
  clearInterval(sampler);
  const beforeClose = figures();
  const c0 = performance.now();
  await closeAll(runtimes);
  const closeMs = performance.now() - c0;
  const afterClose = figures();
  return { runMs, closeMs, unexpected, byKind, byRuntime, peakInFlight, beforeClose, afterClose, firstHalfRssMb, secondHalfRssMb };
}

async function main() {
  console.log(`soak: ${CALLS} calls, ${IN_FLIGHT_PER_RUNTIME} in flight per runtime, seed ${SEED}, node ${process.version}, pid ${process.pid}`);
  const initial = figures();
  // Load everything that is loaded once (the addon's threads, the harness, the pools).
  await warmUp();
  const { f: baseline, ms: baseSettleMs } = await settle(null, SETTLE_MS, SETTLE_MS);
  const { runMs, closeMs, unexpected, byKind, byRuntime, peakInFlight, beforeClose, afterClose, firstHalfRssMb, secondHalfRssMb } =
    await runSoak();
  const { f: final, ms: settleMs } = await settle(baseline, SETTLE_MS, SETTLE_MAX_MS);

  // --- Report
  console.log(
    `\nright after close(), before any GC: ${afterClose.fds} fds, ${afterClose.children} children, ${afterClose.workers} workers` +
      ` (a closed runtime keeps its sandbox's fds until its JS object is collected)`,
  );
  console.log(`ran ${CALLS} calls in ${(runMs / 1000).toFixed(1)} s (${((CALLS / runMs) * 1000).toFixed(0)} calls/s); close ${closeMs.toFixed(0)} ms; settle ${(settleMs / 1000).toFixed(1)} s (baseline settled ${(baseSettleMs / 1000).toFixed(1)} s)`);
  console.log("\ncalls by kind        n   unexpected   p50 ms   p95 ms   max ms");
  for (const [kind] of KINDS) {
    const k = byKind.get(kind) ?? { n: 0, bad: 0, ms: [] };
    console.log(`  ${kind.padEnd(12)} ${pad(k.n, 6)} ${pad(k.bad, 12)} ${pad(percentile(k.ms, 50).toFixed(0), 8)} ${pad(percentile(k.ms, 95).toFixed(0), 8)} ${pad(Math.max(0, ...k.ms).toFixed(0), 8)}`);
  }
  console.log("\ncalls by runtime      n   unexpected   seconds");
  for (const [label, s] of byRuntime) console.log(`  ${label.padEnd(16)} ${pad(s.n, 6)} ${pad(s.bad, 12)} ${pad((s.ms / 1000).toFixed(1), 9)}`);

  const rows: [keyof Figures, string][] = [
    ["fds", "open fds"],
    ["threads", "threads"],
    ["children", "child processes"],
    ["zombies", "zombie children"],
    ["workers", "worker processes"],
    ["rssMb", "RSS MB"],
    ["heapMb", "JS heap MB"],
    ["externalMb", "external MB"],
  ];
  const mb = (k: keyof Figures) => k === "rssMb" || k === "heapMb" || k === "externalMb";
  const fmt = (f: Figures, k: keyof Figures) => (mb(k) ? f[k].toFixed(1) : String(f[k]));
  console.log("\nhost figures        initial  baseline  peak-run  pre-close   settled     delta   limit  verdict");
  const failures: string[] = [];
  for (const [k, name] of rows) {
    const delta = final[k] - baseline[k];
    let limit: string;
    let ok: boolean;
    switch (k) {
      case "threads":
        limit = `+${THREAD_TOLERANCE}`;
        ok = delta <= THREAD_TOLERANCE;
        break;
      case "rssMb":
        limit = `+${RSS_TOLERANCE_MB}`;
        ok = delta <= RSS_TOLERANCE_MB;
        break;
      case "zombies":
      case "workers":
        limit = "0";
        ok = final[k] === 0;
        break;
      case "heapMb":
      case "externalMb":
        limit = "info";
        ok = true;
        break;
      default:
        limit = "+0";
        ok = delta <= 0;
    }
    if (!ok) failures.push(`${name}: ${fmt(baseline, k)} -> ${fmt(final, k)}`);
    const peak = k === "zombies" || k === "workers" || k === "heapMb" || k === "externalMb" ? "-" : fmt(peakInFlight, k);
    console.log(
      `  ${name.padEnd(17)} ${pad(fmt(initial, k), 7)} ${pad(fmt(baseline, k), 9)} ${pad(peak, 9)} ${pad(fmt(beforeClose, k), 10)} ${pad(fmt(final, k), 9)} ${pad((delta >= 0 ? "+" : "") + (mb(k) ? delta.toFixed(1) : delta), 9)} ${pad(limit, 7)}  ${limit === "info" ? "" : ok ? "ok" : "FAIL"}`,
    );
  }
  const secondHalf = secondHalfRssMb - firstHalfRssMb;
  const secondOk = secondHalf <= SECOND_HALF_RSS_TOLERANCE_MB;
  console.log(
    `\nRSS after GC, runtimes open: ${firstHalfRssMb.toFixed(1)} MB after the first half, ${secondHalfRssMb.toFixed(1)} MB after the second` +
      ` (${secondHalf >= 0 ? "+" : ""}${secondHalf.toFixed(1)} MB, limit +${SECOND_HALF_RSS_TOLERANCE_MB})  ${secondOk ? "ok" : "FAIL"}`,
  );
  if (!secondOk) failures.push(`RSS grew ${secondHalf.toFixed(1)} MB over the second half of the calls`);
  if (unexpected.length > 0) {
    failures.push(`${unexpected.length} calls ended unexpectedly`);
    console.log(`\nunexpected outcomes (first 20 of ${unexpected.length}):`);
    for (const u of unexpected.slice(0, 20)) console.log(`  ${u}`);
  }
  if (failures.length > 0) {
    console.log(`\nSOAK FAILED (seed ${SEED}):\n  ${failures.join("\n  ")}`);
    process.exitCode = 1;
  } else {
    console.log("\nSOAK OK");
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});
