// A tool's `concurrency`: at most that many of its calls run at once in a runtime; the others
// wait in the runtime's queue (maxQueue, deadline, abort) without holding up other tools. The
// tools (fixtures/concurrency) do a read-modify-write of a counter file and log when each call
// enters and leaves, so the tests see lost updates and overlap directly.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { type Runtime, RuntimeFactory, testConfig } from "tool-runtime";
import { FIXTURES, RUNTIMES, tempDir, waitFor } from "./helpers";
import { rejection } from "./proc-helpers";

function project(): string {
  const root = tempDir("tr-conc-");
  for (const f of ["tools.mjs", "bad.mjs"]) fs.copyFileSync(path.join(FIXTURES, "concurrency", f), path.join(root, f));
  return root;
}

async function open(runtimeType: string, root: string, extra: Record<string, unknown> = {}): Promise<Runtime> {
  return new RuntimeFactory(root).createRuntime({
    ...testConfig(),
    runtimeType: runtimeType as any,
    runtimePath: null,
    entrypointPath: "tools.mjs",
    permissions: ["--allow-read", `--allow-write=${root}`],
    maxConcurrency: 8,
    ...extra,
  });
}

/** The most calls of a tool that were inside it at the same moment, from its enter/exit log. */
function maxOverlap(root: string, tool: string): number {
  const events = fs
    .readFileSync(path.join(root, `${tool}.log`), "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => {
      const [kind, t] = l.split(" ");
      return { t: Number(t), d: kind === "enter" ? 1 : -1 };
    })
    // At the same millisecond an exit comes first: touching is not overlapping.
    .sort((a, b) => a.t - b.t || a.d - b.d);
  let now = 0;
  let most = 0;
  for (const e of events) {
    now += e.d;
    most = Math.max(most, now);
  }
  return most;
}

const count = (root: string, tool: string) => Number(fs.readFileSync(path.join(root, `${tool}.count`), "utf8"));
const entered = (root: string, tool: string) =>
  fs.existsSync(path.join(root, `${tool}.log`)) ? fs.readFileSync(path.join(root, `${tool}.log`), "utf8").split("\n").filter((l) => l.startsWith("enter")).length : 0;

for (const runtimeType of RUNTIMES) {
  describe(`per-tool concurrency on ${runtimeType}`, () => {
    let rt: Runtime;
    let root: string;
    before(async () => {
      root = project();
      rt = await open(runtimeType, root);
    });
    after(async () => {
      await rt.close();
    });

    // The first calls of a fresh runtime: nobody called listTools(), the runtime lists by itself.
    it("concurrency: 1 loses no update of a read-modify-write; the same tool without it overlaps and loses some", async () => {
      const calls = 6;
      const [locked, free] = await Promise.all([
        Promise.all(Array.from({ length: calls }, (_, i) => rt.executeTool("locked", `l-${i}`, { ms: 150 }))),
        Promise.all(Array.from({ length: calls }, (_, i) => rt.executeTool("free", `f-${i}`, { ms: 150 }))),
      ]);
      assert.equal(locked.length, calls);
      assert.equal(count(root, "locked"), calls);
      assert.equal(maxOverlap(root, "locked"), 1);
      assert.ok(maxOverlap(root, "free") > 1, `free calls overlapped (${maxOverlap(root, "free")})`);
      assert.ok(count(root, "free") < calls, `free lost updates: counted ${count(root, "free")} of ${free.length}`);
    });

    it("concurrency: 2 on an object tool lets two calls overlap, never three", async () => {
      await Promise.all(Array.from({ length: 6 }, (_, i) => rt.executeTool("pair", `p-${i}`, { ms: 200 })));
      assert.equal(maxOverlap(root, "pair"), 2);
    });

    it("listTools() reports concurrency, and only where a tool declares it", async () => {
      const byId = new Map((await rt.listTools()).map((t) => [t.id, t]));
      assert.equal(byId.get("locked")?.concurrency, 1);
      assert.equal(byId.get("pair")?.concurrency, 2);
      assert.equal("concurrency" in byId.get("free")!, false);
    });
  });

  it(`the first call of a fresh ${runtimeType} runtime is checked against the tool's JSON Schema by the host`, async () => {
    const root = project();
    const rt = await open(runtimeType, root);
    try {
      const e = await rejection(rt.executeTool("locked", "bad-input", { ms: "slow" }));
      assert.equal(e.code, "ERR_INVALID_INPUT");
      assert.equal(e.issues[0].path, "/ms");
      assert.equal(entered(root, "locked"), 0);
      assert.deepEqual(await rt.executeTool("locked", "good-input", { ms: 1 }), { seen: 0 });
    } finally {
      await rt.close();
    }
  });

  it(`an entrypoint whose load failed once on ${runtimeType} is listed again after a second, unchanged, and its limits apply`, async () => {
    const root = project();
    // The fault is outside the project, so the project's files (its fingerprint) never change.
    const fault = path.join(tempDir("tr-conc-fault-"), "fail");
    fs.writeFileSync(fault, "");
    fs.writeFileSync(
      path.join(root, "flaky.mjs"),
      `import fs from "node:fs";\nif (fs.existsSync(${JSON.stringify(fault)})) throw new Error("a passing fault");\nexport * from "./tools.mjs";\n`,
    );
    const rt = await open(runtimeType, root, { entrypointPath: "flaky.mjs" });
    try {
      const failed = await rejection(rt.executeTool("locked", "x-0", { ms: 1 }));
      assert.equal(failed.code, "ERR_ENTRYPOINT_FAILED");
      assert.match(failed.message, /a passing fault/);
      fs.rmSync(fault);
      // The first retry comes a second after the failure; the calls then wait for that listing.
      await new Promise((r) => setTimeout(r, 1100));
      await Promise.all(Array.from({ length: 6 }, (_, i) => rt.executeTool("locked", `x-${i + 1}`, { ms: 100 })));
      assert.equal(count(root, "locked"), 6);
      assert.equal(maxOverlap(root, "locked"), 1);
    } finally {
      await rt.close();
    }
  });

  describe(`waiting for a tool's slot on ${runtimeType}`, () => {
    let rt: Runtime;
    let root: string;
    before(async () => {
      root = project();
      rt = await open(runtimeType, root, { maxQueue: 2 });
    });
    after(async () => {
      fs.writeFileSync(path.join(root, "release"), "");
      await rt.close();
    });

    it("another tool runs while the limited one is busy; the waiters obey maxQueue, abort and their deadline", async () => {
      // The first call holds the tool's one slot until `release` exists.
      const holder = rt.executeTool("locked", "holder", { gate: true });
      await waitFor(() => entered(root, "locked") === 1, "the first call to start");
      // Another tool is not held up by it.
      assert.deepEqual(await rt.executeTool("quick", "q-1", {}), { ok: true });
      // Two waiters fill the line (maxQueue 2); a third is refused at once.
      const controller = new AbortController();
      const aborted = rejection(rt.executeTool("locked", "w-abort", {}, null, { signal: controller.signal }));
      const timedOut = rejection(rt.executeToolWithTimeout("locked", "w-deadline", {}, null, 400));
      const full = await rejection(rt.executeTool("locked", "w-full", {}));
      assert.equal(full.code, "ERR_QUEUE_FULL");
      assert.equal(full.maxQueue, 2);
      const started = performance.now();
      const timeout = await timedOut;
      assert.equal(timeout.code, "ERR_TOOL_TIMEOUT");
      assert.equal(timeout.started, false);
      assert.ok(performance.now() - started >= 0);
      controller.abort();
      const abort = await aborted;
      assert.equal(abort.name, "AbortError");
      assert.equal(abort.started, false);
      // Neither waiter ever entered the tool.
      assert.equal(entered(root, "locked"), 1);
      // The line has room again: a waiter that gets the slot when the holder is done.
      const next = rt.executeTool("locked", "w-next", {});
      fs.writeFileSync(path.join(root, "release"), "");
      assert.deepEqual(await holder, { seen: 0 });
      assert.deepEqual(await next, { seen: 1 });
      assert.equal(maxOverlap(root, "locked"), 1);
    });
  });

  describe(`a concurrency the host cannot honour on ${runtimeType}`, () => {
    for (const [value, shown] of [
      [0, "0"],
      [-1, "-1"],
      [1.5, "1.5"],
      ["2", '"2"'],
      [4294967296, "4294967296"],
    ] as const) {
      it(`concurrency ${shown}: listTools() and every call of the entrypoint's tools fail with ERR_ENTRYPOINT_FAILED naming the tool`, async () => {
        const root = project();
        fs.writeFileSync(path.join(root, "BAD_CONCURRENCY.json"), JSON.stringify(value));
        const rt = await open(runtimeType, root, { entrypointPath: "bad.mjs" });
        try {
          const listed = await rejection(rt.listTools());
          assert.equal(listed.code, "ERR_ENTRYPOINT_FAILED");
          assert.match(listed.message, new RegExp(`tool bad: concurrency must be a positive integer.*got ${shown.replace(".", "\\.")}`));
          // Not run without the limit it asked for.
          const call = await rejection(rt.executeTool("bad", "b-1", {}));
          assert.equal(call.code, "ERR_ENTRYPOINT_FAILED");
          assert.equal(call.toolId, "bad");
          assert.match(call.message, /tool bad: concurrency must be a positive integer/);
          // The listing did not complete, so no tool of the entrypoint runs unchecked.
          assert.equal((await rejection(rt.executeTool("fine", "f-1", {}))).code, "ERR_ENTRYPOINT_FAILED");
        } finally {
          await rt.close();
        }
      });
    }

    it("its allowed twin: concurrency 3 lists and runs", async () => {
      const root = project();
      fs.writeFileSync(path.join(root, "BAD_CONCURRENCY.json"), "3");
      const rt = await open(runtimeType, root, { entrypointPath: "bad.mjs" });
      try {
        assert.deepEqual(await rt.executeTool("bad", "b-ok", {}), { ran: true });
        assert.equal((await rt.listTools()).find((t) => t.id === "bad")?.concurrency, 3);
      } finally {
        await rt.close();
      }
    });
  });
}
