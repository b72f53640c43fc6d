// Bench settings from the environment, the runtime binaries, the config the rows share and the
// row labels.
import path from "node:path";
import type { RuntimeConfigInput, RuntimeType } from "tool-runtime";

export const BENCH_DIR = __dirname;
export const TOOLS_FILE = "tools.mjs";
export const TOOL_ID = "trivial";
export const NET_TOOL_ID = "httpGet";
export const CLEAN_ENV = { PATH: "/usr/bin:/bin" };
/** A hung child fails its row instead of hanging the bench. */
export const CALL_TIMEOUT_MS = 30_000;

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

export const { spawnN: SPAWN_N, roundTripN: ROUND_TRIP_N } = iterations();
export const SPAWN_WARMUP = 3;
export const ROUND_TRIP_WARMUP = 100;
/** Process-spawning rows of one runtime are measured in this many interleaved blocks, so drift
 *  on a noisy machine spreads over all of them instead of biasing whichever ran last. */
export const SPAWN_ROUNDS = 4;
/** Untimed pause before each interleaved block, so the previous block's aftermath (the host's
 *  concurrent GC, a pool refill) does not land on the next row: without it, piscina right after a
 *  block of package calls measured 2-3x slower on 2 cores. */
export const BLOCK_GAP_MS = 100;
/** Calls kept in flight by the concurrent rows. */
export const IN_FLIGHT = 64;
/** Workers of the reuse pool and piscina threads in the concurrent rows. */
export const IN_FLIGHT_WORKERS = workers();
/** An in-flight row stops issuing calls after this long (a pool that falls back to cold
 *  processes would otherwise take minutes for M calls). */
export const IN_FLIGHT_CAP_MS = 10_000;
/** An in-flight row keeps going for at least this long, so fast rows are not a few ms of noise. */
export const IN_FLIGHT_MIN_MS = 1_000;
/** Untimed calls before an in-flight row, so pools and JITs are warm. */
export const IN_FLIGHT_WARMUP = 2 * IN_FLIGHT;
export const NET_N = Math.max(20, Math.round(ROUND_TRIP_N / 4));
export const NET_WARMUP = 20;
export const SINGLE_USE_MIN_IDLE = 2;
/** Calls of the single-use row: cheap (no process start is timed) and its median is a target. */
export const SINGLE_USE_N = 2 * SPAWN_N;
/** The single-use pool waits this multiple of the cold median between calls. */
export const SINGLE_USE_PACE = 1.5;
export const REUSE = { maxCallsPerWorker: 100_000, maxRssMb: 1024 };
/** How long a pool may take to fill before its row gives up. */
export const POOL_FILL_TIMEOUT_MS = 15_000;

function bunPath(): string {
  return path.join(path.dirname(require.resolve("bun/package.json")), "bin", "bun.exe");
}

export function runtimeBinary(rt: RuntimeType): string {
  if (rt === "deno") return path.join(path.dirname(require.resolve("deno/package.json")), "deno");
  return rt === "bun" ? bunPath() : process.execPath;
}

const isDeno = (binary: string) => path.basename(binary) === "deno";

/** The arguments before a script for the baselines: deno needs `run` and its permissions. */
export function scriptArgs(binary: string): string[] {
  return isDeno(binary) ? ["run", "-A", "--no-config", "--no-lock", "--node-modules-dir=manual"] : [];
}

/** A bare start: `-e 0`, or `deno eval 0`. */
export function bareArgs(binary: string): string[] {
  return isDeno(binary) ? ["eval", "0"] : ["-e", "0"];
}

// ---------------------------------------------------------------------------------------------
// Config fields the published types may not declare yet (pool, maxConcurrency, metrics).

export interface PoolInput {
  minIdle?: number;
  maxWorkers?: number;
  idleTimeoutMs?: number;
  reuse?: { maxCallsPerWorker?: number; maxRssMb?: number };
}

export interface BenchConfig {
  permissions?: string[];
  sandbox?: "strict" | "best-effort" | "off";
  maxConcurrency?: number;
  pool?: PoolInput;
}

/** The full config for `createRuntime`. Cast through unknown: `pool` and `maxConcurrency` are
 *  accepted by the native layer whether or not index.d.ts declares them yet. */
export function runtimeConfig(runtimeType: RuntimeType, extra: BenchConfig): RuntimeConfigInput {
  const config = { runtimeType, entrypointPath: TOOLS_FILE, toolExecutionTimeoutMs: CALL_TIMEOUT_MS, ...extra };
  return config as unknown as RuntimeConfigInput;
}

export const LABEL = {
  sandboxed: "cold, sandboxed (default policy)",
  off: "cold, sandbox off",
  hand: "cold, hand-written spawn (no sandbox)",
  bare: "bare start (-e 0; deno eval 0)",
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
