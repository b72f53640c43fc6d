// Tools that describe themselves: listTools(), input and output checked against the tools'
// schemas, live logs and progress. Tools: fixtures/meta/tools.mjs, run from a copy of its folder
// (the tests count the module's loads in loads.log there and edit its files).
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { type LogEntry, type ProgressUpdate, type Runtime, RuntimeFactory, testConfig, ValidationError } from "tool-runtime";
import { FIXTURES, RUNTIMES, tempDir } from "./helpers";
import { rejection } from "./proc-helpers";

/** A copy of fixtures/meta with loads.log present (each load of tools.mjs appends a line) and zod reachable. */
function project(): string {
  const root = tempDir("tr-meta-");
  for (const f of ["tools.mjs", "dep.mjs"]) fs.copyFileSync(path.join(FIXTURES, "meta", f), path.join(root, f));
  fs.writeFileSync(path.join(root, "loads.log"), "");
  fs.symlinkSync(path.join(__dirname, "..", "node_modules"), path.join(root, "node_modules"));
  return root;
}

const loads = (root: string) => fs.readFileSync(path.join(root, "loads.log"), "utf8").split("\n").filter(Boolean).length;

async function open(runtimeType: string, root: string): Promise<Runtime> {
  return new RuntimeFactory(root).createRuntime({
    ...testConfig(),
    runtimeType: runtimeType as any,
    runtimePath: null,
    entrypointPath: "tools.mjs",
    permissions: ["--allow-read", `--allow-write=${root}`],
  });
}

for (const runtimeType of RUNTIMES) {
  describe(`tool metadata on ${runtimeType}`, () => {
    let rt: Runtime;
    let root: string;
    before(async () => {
      root = project();
      rt = await open(runtimeType, root);
    });
    after(async () => {
      await rt.close();
    });

    it("listTools() describes every form of tool export, sorted by id", async () => {
      const tools = await rt.listTools();
      assert.deepEqual(
        tools.map((t) => t.id),
        ["add", "chatty", "forgesProgress", "greet", "lies", "plain", "signup", "steps", "text/upper", "zodOut"],
      );
      const byId = new Map(tools.map((t) => [t.id, t]));
      // A function carrying properties.
      assert.deepEqual(byId.get("greet"), {
        id: "greet",
        description: "Greets someone by name",
        inputSchema: {
          type: "object",
          properties: { name: { type: "string", minLength: 1 }, times: { type: "integer", minimum: 1 } },
          required: ["name"],
        },
        annotations: { title: "Greet", readOnlyHint: true },
      });
      // An object with execute.
      assert.equal(byId.get("add")!.description, "Adds two numbers");
      assert.deepEqual(byId.get("add")!.outputSchema, { type: "object", properties: { sum: { type: "number" } }, required: ["sum"] });
      assert.deepEqual(byId.get("add")!.annotations, { idempotentHint: true });
      // zod, converted by zod itself: the input side has the default optional.
      const signup = byId.get("signup")!;
      assert.equal(signup.inputSchema!.type, "object");
      assert.deepEqual(signup.inputSchema!.required, ["email", "password", "confirm"]);
      assert.deepEqual((signup.outputSchema as any).required, ["user", "plan"]);
      // A default-exported object's entries, and a bare function.
      assert.deepEqual(byId.get("text/upper"), { id: "text/upper", description: "Upper-cases text" });
      assert.deepEqual(byId.get("plain"), { id: "plain" });
      // Object tools run like function tools.
      assert.deepEqual(await rt.executeTool("add", "add-1", { a: 2, b: 3 }), { sum: 5 });
      assert.deepEqual(await rt.executeTool("text/upper", "up-1", { text: "hi" }), { text: "HI" });
    });

    it("the listing is cached until a source file of the project changes", async () => {
      await rt.listTools();
      const before = loads(root);
      await rt.listTools();
      assert.equal(loads(root), before, "a second listing loaded the entrypoint again");
      // dep.mjs is imported by tools.mjs: a new description there is a new listing.
      fs.writeFileSync(path.join(root, "dep.mjs"), 'export const greetingDescription = "Says hello";\n');
      const tools = await rt.listTools();
      assert.equal(loads(root), before + 1);
      assert.equal(tools.find((t) => t.id === "greet")!.description, "Says hello");
    });

    it("once listed, input that breaks inputSchema is refused before any process starts", async () => {
      await rt.listTools();
      const before = loads(root);
      const e: any = await rejection(rt.executeTool("greet", "in-1", { name: 3 }));
      assert.ok(e instanceof ValidationError, String(e && e.stack));
      assert.equal(e.code, "ERR_INVALID_INPUT");
      assert.equal(e.toolId, "greet");
      assert.equal(e.toolExecId, "in-1");
      assert.deepEqual(e.issues.map((i: any) => i.path), ["/name"]);
      assert.match(e.message, /\/name/);
      const missing: any = await rejection(rt.executeTool("greet", "in-2", {}));
      assert.equal(missing.code, "ERR_INVALID_INPUT");
      assert.equal(missing.issues.length, 1);
      assert.equal(loads(root), before, "the entrypoint was loaded for a refused call");
      // The allowed twin runs, in a process of its own.
      assert.deepEqual(await rt.executeTool("greet", "in-3", { name: "Ada" }), { message: "Hello, Ada!" });
      assert.equal(loads(root), before + 1);
    });

    it("a Standard Schema's refinement is checked inside the process, and its defaults applied", async () => {
      // Valid for the JSON Schema zod derives, refused by the refinement only zod can check.
      const e: any = await rejection(rt.executeTool("signup", "std-1", { email: "a@b.c", password: "x", confirm: "y" }));
      assert.ok(e instanceof ValidationError, String(e && e.stack));
      assert.equal(e.code, "ERR_INVALID_INPUT");
      assert.deepEqual(e.issues, [{ path: "/confirm", message: "passwords differ" }]);
      const ok = await rt.executeTool("signup", "std-2", { email: "a@b.c", password: "x", confirm: "x" });
      assert.deepEqual(ok, { user: "a@b.c", plan: "free" });
    });

    it("a result that breaks outputSchema is ERR_INVALID_OUTPUT with issues", async () => {
      await rt.listTools();
      const e: any = await rejection(rt.executeTool("lies", "out-1", { lie: true }));
      assert.ok(e instanceof ValidationError, String(e && e.stack));
      assert.equal(e.code, "ERR_INVALID_OUTPUT");
      assert.deepEqual(e.issues.map((i: any) => i.path), ["/count"]);
      assert.deepEqual(await rt.executeTool("lies", "out-2", { lie: false }), { count: 3 });
      // A Standard Schema output is checked in the process too.
      const z: any = await rejection(rt.executeTool("zodOut", "out-3", { n: 11 }));
      assert.equal(z.code, "ERR_INVALID_OUTPUT");
      assert.deepEqual(z.issues.map((i: any) => i.path), ["/n"]);
      assert.deepEqual(await rt.executeTool("zodOut", "out-4", { n: 9 }), { n: 9 });
    });

    it("onLog sees each line while the tool runs, before the call settles", async () => {
      const seen: (LogEntry & { settled: boolean })[] = [];
      let settled = false;
      const call = rt.executeTool("chatty", "log-1", { waitMs: 500 }, {}, { onLog: (e) => seen.push({ ...e, settled }) });
      const result = await call.finally(() => {
        settled = true;
      });
      assert.deepEqual(result, { ok: true });
      // In order within a stream (stdout and stderr are two pipes: between them, as read).
      const stdout = seen.filter((e) => e.stream === "stdout");
      assert.deepEqual(
        stdout.map((e) => e.line),
        ["first line", "partial then whole", "no newline at the end"],
      );
      assert.deepEqual(
        seen.filter((e) => e.stream === "stderr").map((e) => e.line),
        ["a warning"],
      );
      assert.ok(seen.every((e) => !e.settled), "a line arrived after the call settled");
      // The first line was read before the tool's wait ended.
      assert.ok(stdout[1].time - stdout[0].time >= 400, `lines arrived together: ${JSON.stringify(seen)}`);
      assert.ok(seen.every((e) => typeof e.time === "number" && e.time > 1.7e12));
    });

    it("context.progress reaches onProgress in order; a progress frame the tool forges is garbage", async () => {
      const seen: ProgressUpdate[] = [];
      assert.deepEqual(await rt.executeTool("steps", "p-1", { n: 3 }, {}, { onProgress: (p) => seen.push(p) }), { done: 3 });
      assert.deepEqual(seen, [
        { progress: 1, total: 3, message: "step 1" },
        { progress: 2, total: 3, message: "step 2" },
        { progress: 3, total: 3, message: "step 3" },
      ]);
      const forged: ProgressUpdate[] = [];
      const e: any = await rejection(rt.executeTool("forgesProgress", "p-2", {}, {}, { onProgress: (p) => forged.push(p) }));
      // Deno's node:fs reaches only files deno opened: there the forging write fails (EBADF).
      assert.equal(e.code, runtimeType === "deno" ? "ERR_TOOL_FAILED" : "ERR_INVALID_OUTPUT", e.message);
      assert.deepEqual(forged, []);
    });

    it("metadata that cannot be used rejects the listing with the tool's name; calls still run", async () => {
      for (const [entry, tool, why] of [
        ["bad-convert.mjs", "opaque", /no JSON Schema converter/],
        ["bad-schema.mjs", "broken", /not a usable JSON Schema/],
      ] as const) {
        const bad = await new RuntimeFactory(path.join(FIXTURES, "meta")).createRuntime({
          ...testConfig(),
          runtimeType: runtimeType as any,
          runtimePath: null,
          entrypointPath: entry,
        });
        try {
          const e: any = await rejection(bad.listTools());
          assert.equal(e.code, "ERR_ENTRYPOINT_FAILED", String(e && e.stack));
          assert.match(e.message, new RegExp(`tool ${tool}: its inputSchema`));
          assert.match(e.message, why);
          assert.deepEqual(await bad.executeTool("fine", "bad-1"), {});
        } finally {
          await bad.close();
        }
      }
    });

    it("a callback that throws does not break the call", async () => {
      const warnings: string[] = [];
      const onWarning = (w: Error) => warnings.push(w.message);
      process.on("warning", onWarning);
      try {
        const r = await rt.executeTool("steps", "p-3", { n: 1, waitMs: 1 }, {}, {
          onProgress: () => {
            throw new Error("callback bug");
          },
        });
        assert.deepEqual(r, { done: 1 });
        await new Promise((r) => setImmediate(r));
        assert.ok(warnings.some((w) => w.includes("callback bug")), JSON.stringify(warnings));
      } finally {
        process.off("warning", onWarning);
      }
      await assert.rejects(rt.executeTool("steps", "p-4", { n: 1 }, {}, { onLog: "yes" as any }), (e: any) => e.code === "ERR_INVALID_ARGUMENT");
    });
  });
}

describe("live logs and progress on a reused warm worker", () => {
  let rt: Runtime;
  before(async () => {
    rt = await new RuntimeFactory(path.join(FIXTURES, "meta")).createRuntime({
      ...testConfig(),
      runtimeType: "bun",
      runtimePath: null,
      entrypointPath: "tools.mjs",
      pool: { minIdle: 1, maxWorkers: 1, reuse: {} },
    });
  });
  after(async () => {
    await rt.close();
  });

  it("each call sees its own lines and progress only", async () => {
    for (const id of ["warm-1", "warm-2"]) {
      const lines: string[] = [];
      const progress: number[] = [];
      const r = await rt.executeTool("chatty", id, { waitMs: 50 }, {}, { onLog: (e) => lines.push(`${e.stream}: ${e.line}`) });
      assert.deepEqual(r, { ok: true });
      const want = ["stdout: first line", "stderr: a warning", "stdout: partial then whole", "stdout: no newline at the end"];
      assert.deepEqual(lines.sort(), want.sort(), id);
      await rt.executeTool("steps", `${id}-p`, { n: 2, waitMs: 1 }, {}, { onProgress: (p) => progress.push(p.progress) });
      assert.deepEqual(progress, [1, 2], id);
    }
  });
});
