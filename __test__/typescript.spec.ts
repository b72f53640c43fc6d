// TypeScript entrypoints (.ts importing .ts, .mts, .cts) on bun and on every node the tests
// have (20, 22, 24: see node-versions.ts), cold and pooled, with the default sandbox and with
// a narrow read policy. Fixtures: fixtures/ts-project.
import assert from "node:assert/strict";
import path from "node:path";
import { after, describe, it } from "node:test";
import { ProcessError, type Runtime, type RuntimeConfigInput, ToolExecutionError } from "tool-runtime";
import { FIXTURES, RUNTIMES, makeRuntime } from "./helpers";
import { NODES } from "./node-versions";
import { rejection, waitIdle } from "./proc-helpers";

const ROOT = path.join(FIXTURES, "ts-project");

const TARGETS: { name: string; config: RuntimeConfigInput; node?: string }[] = [
  { name: "bun", config: { runtimeType: "bun" } },
  ...NODES.map((n) => ({ name: `node ${n.major}`, config: { runtimeType: "node" as const, runtimePath: n.path }, node: n.version })),
  ...(RUNTIMES.includes("deno") ? [{ name: "deno", config: { runtimeType: "deno" as const } }] : []),
];

const MODES: { name: string; config: RuntimeConfigInput }[] = [
  { name: "cold, default sandbox", config: {} },
  { name: "reuse pool, default sandbox", config: { pool: { minIdle: 1, reuse: { maxCallsPerWorker: 10, maxRssMb: 512 } } } },
  // Only the project is readable: the runtime's own TypeScript loader must still be.
  { name: "cold, --allow-read=./lib", config: { permissions: ["--allow-read=./lib"] } },
];

/** Load errors of the broken entrypoint per node major, compared across versions at the end. */
const loadErrors = new Map<string, { message: string; firstLine: string }>();

for (const target of TARGETS) {
  for (const mode of MODES) {
    describe(`TypeScript on ${target.name}, ${mode.name}`, () => {
      const open: Runtime[] = [];
      const runtime = async (entrypointPath: string): Promise<Runtime> => {
        const rt = await makeRuntime({ ...target.config, ...mode.config, entrypointPath }, ROOT);
        open.push(rt);
        if (mode.config.pool) await waitIdle(rt, 1, 60_000);
        return rt;
      };
      after(async () => {
        await Promise.all(open.map((rt) => rt.close()));
      });

      it("runs a .ts entrypoint importing .ts: types, type-only exports, enum, namespace, parameter properties", async () => {
        const rt = await runtime("tools.ts");
        assert.deepEqual(await rt.executeTool("measure", "m-1", { w: 2, h: 3 }), { area: 6, unit: "m" });
        assert.deepEqual(await rt.executeTool("count", "c-1", { by: 2 }), { total: 4, pi: 3 });
        const where = (await rt.executeTool("runtime", "r-1")) as { bun: boolean; node: string };
        assert.equal(where.bun, target.name === "bun");
        if (target.node) assert.equal(where.node, target.node);
      });

      it("puts a thrown error's stack on the .ts lines", async () => {
        const rt = await runtime("tools.ts");
        const e = await rejection(rt.executeTool("explode", "x-1"));
        assert.ok(e instanceof ToolExecutionError, String(e));
        assert.equal(e.code, "ERR_TOOL_FAILED");
        assert.equal(e.cause?.message, "failed in a .ts file");
        assert.match(String(e.cause?.stack), /lib\/util\.ts:11:\d+/);
        assert.match(String(e.cause?.stack), /tools\.ts:18:\d+/);
      });

      it("runs .mts and .cts entrypoints (a .cts requiring a .cts)", async () => {
        const mts = await runtime("tools.mts");
        assert.deepEqual(await mts.executeTool("measure", "mts-1", { w: 4, h: 5 }), { area: 20, from: "mts" });
        const cts = await runtime("tools.cts");
        assert.deepEqual(await cts.executeTool("double", "cts-1", { n: 21 }), { value: 42, from: "cts" });
      });

      it("refuses TypeScript that does not parse with ERR_ENTRYPOINT_FAILED naming the file and line", async () => {
        const rt = await runtime("broken.ts");
        const e = await rejection(rt.executeTool("greet", "b-1", { name: "x" }));
        assert.ok(e instanceof ProcessError, String(e));
        assert.equal(e.code, "ERR_ENTRYPOINT_FAILED");
        assert.equal(e.entrypoint, path.join(ROOT, "broken.ts"));
        const text = `${e.loadError?.message}\n${e.loadError?.stack}`;
        assert.match(text, /broken\.ts:3/);
        if (target.node) {
          const firstLine = String(e.loadError?.stack).split("\n")[0];
          assert.equal(firstLine, `file://${path.join(ROOT, "broken.ts")}:3`);
          loadErrors.set(`${target.name}, ${mode.name}`, { message: String(e.loadError?.message), firstLine });
        }
      });
    });
  }
}

describe("TypeScript on node: the same on every version", () => {
  it("a TypeScript syntax error reads alike on every node", (t) => {
    const seen = [...loadErrors.values()];
    t.diagnostic(`compared ${seen.length} load errors across ${NODES.map((n) => n.version).join(", ")}`);
    assert.ok(seen.length >= MODES.length, "the broken entrypoint ran on node");
    for (const other of seen) assert.deepEqual(other, seen[0]);
  });
});
