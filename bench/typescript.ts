// What a TypeScript tool costs on node, per version, against the same tool in plain JS: the
// first call of a fresh process (a cold call: every call starts one) and a call to a warm worker
// of a reuse pool. Node 22+ transforms with its own TypeScript support, node 20 through amaro's
// load hook. Default policy, strict sandbox.
//
//   node --import tsx bench/typescript.ts          BENCH_TS_ITERATIONS=N (cold calls; warm: 10N)
import { RuntimeFactory, type Runtime } from "tool-runtime";
import { NODES } from "../__test__/node-versions";
import { quantile } from "./stats";

const N = Number(process.env.BENCH_TS_ITERATIONS ?? 20);

async function median(rt: Runtime, n: number): Promise<number> {
  for (let i = 0; i < 3; i++) await rt.executeTool("trivial", `w-${i}`, { n: i });
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await rt.executeTool("trivial", `c-${i}`, { n: i });
    samples.push(performance.now() - t);
  }
  return quantile(samples.sort((a, b) => a - b), 0.5);
}

async function row(node: string, entrypointPath: string, warm: boolean): Promise<number> {
  const rt = await new RuntimeFactory(__dirname).createRuntime({
    runtimeType: "node",
    runtimePath: node,
    entrypointPath,
    sandbox: "strict",
    ...(warm ? { pool: { minIdle: 1, maxWorkers: 1, reuse: { maxCallsPerWorker: 100_000, maxRssMb: 512 } } } : {}),
  });
  try {
    return await median(rt, warm ? N * 10 : N);
  } finally {
    await rt.close();
  }
}

async function main(): Promise<void> {
  console.log(`| node | tool | cold call, median ms | warm call (reuse pool), median ms |`);
  console.log(`|---|---|---:|---:|`);
  for (const node of NODES) {
    for (const [name, file] of [["JS (tools.mjs)", "tools.mjs"], ["TypeScript (ts/tools.ts + a .ts import)", "ts/tools.ts"]]) {
      const cold = await row(node.path, file, false);
      const warm = await row(node.path, file, true);
      console.log(`| ${node.version} | ${name} | ${cold.toFixed(1)} | ${warm.toFixed(2)} |`);
    }
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
