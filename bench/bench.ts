// Latency and throughput of one trivial tool call through `tool-runtime`, against baselines
// measured in the same run.
//
//   node --import tsx bench/bench.ts
//
// Rows, per runtime (bun, node, deno); "sandboxed" means the default policy under the strict sandbox:
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
//   plus `bun -e 0` / `node -e 0` / `deno eval 0`, and, when the runtime accepts host allowlists, one HTTP GET to a
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
// BENCH_RUNTIMES=R,S    only these runtimes (default bun,node,deno)
// BENCH_WORKERS=W       workers (and piscina threads) for the 64-in-flight rows (default 2: the
//                       number of cores this bench was written for)
// A few warm-up calls per row are run first and excluded.

import os from "node:os";
import { performance } from "node:perf_hooks";
import { inspect } from "node:util";
import { RuntimeFactory, type RuntimeType, sandboxCapabilities } from "tool-runtime";
import { cpuSnapshot } from "../scripts/proc";
import {
  BENCH_DIR,
  IN_FLIGHT,
  IN_FLIGHT_CAP_MS,
  IN_FLIGHT_MIN_MS,
  IN_FLIGHT_WARMUP,
  IN_FLIGHT_WORKERS,
  NET_N,
  NET_WARMUP,
  ROUND_TRIP_N,
  ROUND_TRIP_WARMUP,
  SINGLE_USE_N,
  SPAWN_N,
  SPAWN_ROUNDS,
  SPAWN_WARMUP,
  TOOL_ID,
  TOOLS_FILE,
} from "./settings";
import { errors } from "./measure";
import { cleanup } from "./resources";
import { benchRuntime, type RuntimeResult, sharedSetup } from "./rows";
import {
  availableCores,
  baselinesOf,
  fmtLoad,
  printDetailTable,
  printMachineLoad,
  printMemory,
  printSandboxRatio,
  printSummary,
  printTargets,
  targetsOf,
} from "./report";

const BENCH_RUNTIMES = (process.env.BENCH_RUNTIMES ?? "bun,node,deno").split(",") as RuntimeType[];

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
    for (const runtimeType of BENCH_RUNTIMES) {
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
  printMachineLoad(loadAtStart, cpuAtStart);
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
