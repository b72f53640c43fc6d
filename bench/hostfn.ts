// Host functions: the round trip of one `context.host.name(args)` from a warm tool, against a
// plain call of a trivial tool, per runtime, on a reuse pool of one worker (sandboxed, default
// policy).
//
//   node --import tsx bench/hostfn.ts        (npm run bench:host)
//
// Rows: (1) a plain `executeTool` of the trivial tool, timed by the orchestrator; (2) a call
// whose tool makes one host call first, timed the same way; both interleaved in blocks so that
// drift on a busy machine hits both; (3) host round trips timed inside one warm tool (`hostLoop`:
// tool → harness → fd 3 → Rust frame loop → JS host function → back). BENCH_HOST_N calls per row
// (default 2000), after 100 warm-up calls.
import { RuntimeFactory, type Runtime } from "tool-runtime";
import { BENCH_DIR, runtimeConfig } from "./settings";
import { fmtMs, fmtRatio, quantile } from "./stats";

const N = Number.parseInt(process.env.BENCH_HOST_N ?? "2000", 10);
const BLOCKS = 10;

function summary(samples: number[]): { median: number; p95: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  return { median: quantile(sorted, 0.5), p95: quantile(sorted, 0.95) };
}

async function timed(rt: Runtime, tool: string, n: number, out: number[]): Promise<void> {
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await rt.executeTool(tool, `b-${i}`, { n: i });
    out.push(performance.now() - t0);
  }
}

async function benchRuntime(runtimeType: "bun" | "node"): Promise<void> {
  const pool = { minIdle: 1, maxWorkers: 1, reuse: { maxCallsPerWorker: 1_000_000, maxRssMb: 1024 } };
  const rt = await new RuntimeFactory(BENCH_DIR).createRuntime({
    ...runtimeConfig(runtimeType, { pool }),
    hostFunctions: { echo: (args: unknown) => args },
  });
  try {
    await timed(rt, "trivial", 100, []);
    await timed(rt, "oneHost", 100, []);
    const plain: number[] = [];
    const withHost: number[] = [];
    for (let b = 0; b < BLOCKS; b++) {
      await timed(rt, "trivial", N / BLOCKS, plain);
      await timed(rt, "oneHost", N / BLOCKS, withHost);
    }
    await rt.executeTool("hostLoop", "warm", { n: 100 });
    const { samples } = (await rt.executeTool("hostLoop", "loop", { n: N }, {}, {})) as { samples: number[] };
    const base = summary(plain);
    const rows: [string, { median: number; p95: number }][] = [
      ["plain call of a trivial tool (reuse pool)", base],
      ["call whose tool makes one host call", summary(withHost)],
      ["host round trip, timed inside a warm tool", summary(samples)],
    ];
    console.log(`\n**${runtimeType}** (${N} calls per row)\n`);
    console.log("| row | median ms | p95 ms | vs plain call |");
    console.log("| --- | --------: | -----: | ------------: |");
    for (const [name, s] of rows) console.log(`| ${name} | ${fmtMs(s.median)} | ${fmtMs(s.p95)} | ${fmtRatio(s.median / base.median)} |`);
  } finally {
    await rt.close();
  }
}

async function main(): Promise<void> {
  for (const runtimeType of ["bun", "node"] as const) await benchRuntime(runtimeType);
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
