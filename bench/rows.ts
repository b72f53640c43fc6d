// The rows of one runtime: runtimes made for each, the package's cold, pooled and network rows,
// measured next to the baselines they are compared with.
import { execFileSync } from "node:child_process";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { RuntimeFactory, type RuntimeType } from "tool-runtime";
import {
  BENCH_DIR,
  CLEAN_ENV,
  IN_FLIGHT,
  IN_FLIGHT_WORKERS,
  LABEL,
  NET_N,
  NET_TOOL_ID,
  NET_WARMUP,
  POOL_FILL_TIMEOUT_MS,
  type PoolInput,
  REUSE,
  ROUND_TRIP_N,
  ROUND_TRIP_WARMUP,
  runtimeBinary,
  bareArgs,
  runtimeConfig,
  SINGLE_USE_MIN_IDLE,
  SINGLE_USE_N,
  SINGLE_USE_PACE,
  SPAWN_N,
  SPAWN_ROUNDS,
  SPAWN_WARMUP,
} from "./settings";
import {
  type Case,
  describeError,
  errors,
  type InFlightCase,
  measureInFlightInterleaved,
  measureInterleaved,
  measurePaced,
  type Row,
} from "./measure";
import { stats } from "./stats";
import { cleanups, closeRuntime } from "./resources";
import { bareStartCall, handSpawnCall, startPiscina, startRawWorker } from "./baselines";
import {
  type Made,
  makeRuntime,
  type Memory,
  noteColdShare,
  packageCall,
  poolGrowth,
  poolRuntime,
  poolStats,
  treeRss,
  waitForIdle,
  warmShare,
  withRuntime,
} from "./runtimes";

/** A loopback HTTP server answering "ok"; the network rows' tool fetches from it. */
export async function startHttpServer(): Promise<number> {
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

/** What both runtimes' rows share. */
export interface Shared {
  httpPort: number | null;
  httpReason?: string;
}

export interface RuntimeResult {
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

export async function coldRows(factory: RuntimeFactory, runtimeType: RuntimeType): Promise<Row[]> {
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
    { name: LABEL.bare, fn: bareStartCall(binary), note: `${binary} ${bareArgs(binary).join(" ")}` },
  ];
  const rows = await measureInterleaved(cases, SPAWN_N, SPAWN_WARMUP, SPAWN_ROUNDS);
  await closeRuntime(made.sandboxed.rt);
  await closeRuntime(made.off.rt);
  return rows;
}

export async function singleUseRow(factory: RuntimeFactory, runtimeType: RuntimeType, pauseMs: number, memory: Memory[]): Promise<Row> {
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

/** The reuse pool with `maxConcurrency` 64: measured alone, capped (calls beyond the pool's
 *  workers may start cold processes, which makes it slow). */
export async function reuseInFlightRow(factory: RuntimeFactory, runtimeType: RuntimeType): Promise<Row> {
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
export async function networkRows(factory: RuntimeFactory, runtimeType: RuntimeType, shared: Shared): Promise<{ rows: Row[]; probe: string }> {
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

export async function benchRuntime(factory: RuntimeFactory, runtimeType: RuntimeType, shared: Shared): Promise<RuntimeResult> {
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

export function runtimeVersion(binary: string): string {
  try {
    // deno prints its V8 and TypeScript versions on further lines.
    return execFileSync(binary, ["--version"], { env: CLEAN_ENV, encoding: "utf8", timeout: 10_000 }).trim().split("\n")[0];
  } catch (e) {
    return `(version unknown: ${describeError(e)})`;
  }
}

export async function sharedSetup(): Promise<Shared> {
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
