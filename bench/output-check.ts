// What the host-side result checks cost a warm call: one reuse-pool worker, sequential calls,
// medians. Rows: before any listing (no check in the host), listed but without an outputSchema
// (the listing's freshness check only), listed with an outputSchema (the JSON Schema check of
// the result in Rust too). Two runtimes (one never lists), interleaved in blocks so drift hits
// every row alike.
//
//   node --import tsx bench/output-check.ts [bun|node] [calls per row, default 2000]
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { RuntimeFactory, testConfig } from "tool-runtime";

const runtimeType = (process.argv[2] ?? "bun") as "bun" | "node";
const n = Number(process.argv[3] ?? 2000);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tr-bench-out-"));
fs.writeFileSync(
  path.join(dir, "tools.mjs"),
  `const result = { id: "a1", items: [{ name: "x", qty: 1 }, { name: "y", qty: 2 }], total: 3 };
export function plain() { return result; }
export function schema() { return result; }
schema.outputSchema = {
  type: "object",
  properties: {
    id: { type: "string" },
    items: { type: "array", items: { type: "object", properties: { name: { type: "string" }, qty: { type: "integer" } }, required: ["name", "qty"] } },
    total: { type: "number" },
  },
  required: ["id", "items", "total"],
};
`,
);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const make = () =>
    new RuntimeFactory(dir).createRuntime({
      ...testConfig(),
      runtimeType,
      entrypointPath: "tools.mjs",
      pool: { minIdle: 1, maxWorkers: 1, reuse: { maxCallsPerWorker: 1_000_000 } },
    });
  const unlisted = await make();
  const listed = await make();
  await listed.listTools();
  const time = async (rt: typeof listed, tool: string, count: number, into: number[]) => {
    for (let i = 0; i < count; i++) {
      const t = performance.now();
      await rt.executeTool(tool, `b${i}`, {});
      into.push(performance.now() - t);
    }
  };
  const rows: Record<string, number[]> = { unlisted: [], "listed, no outputSchema": [], "listed, outputSchema": [] };
  await time(unlisted, "schema", 50, []);
  await time(listed, "schema", 50, []);
  const blocks = 10;
  for (let b = 0; b < blocks; b++) {
    await time(unlisted, "schema", n / blocks, rows.unlisted);
    await time(listed, "plain", n / blocks, rows["listed, no outputSchema"]);
    await time(listed, "schema", n / blocks, rows["listed, outputSchema"]);
  }
  await unlisted.close();
  await listed.close();
  console.log(`${runtimeType}, ${n} warm reuse calls per row (median ms):`);
  for (const [k, v] of Object.entries(rows)) console.log(`  ${k.padEnd(26)} ${median(v).toFixed(3)}`);
  fs.rmSync(dir, { recursive: true, force: true });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
