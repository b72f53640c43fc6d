// Hostile cases found by red-teaming runtimeType "deno": deno reads DENO_* variables as bun and
// node read BUN_* and NODE_*, and DENO_DIR holds V8 bytecode that deno loads from disk without
// checking it, so a call that can write there runs code in every later call that uses it.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, describe, it } from "node:test";
import { makeRuntime, tempDir } from "./helpers";

const base = tempDir("tr-denored-");
after(() => fs.rmSync(base, { recursive: true, force: true }));

describe("deno: DENO_* variables and the shared cache", { concurrency: false }, () => {
  it("refuses DENO_DIR and DENO_V8_FLAGS in a call's env, as NODE_OPTIONS and BUN_OPTIONS", async () => {
    const rt = await makeRuntime({ runtimeType: "deno", entrypointPath: "deno-cache.mjs", toolExecutionTimeoutMs: 60_000 });
    try {
      // The allowed twin: an ordinary variable passes.
      assert.equal((await rt.executeTool("hello", "dr-0", {}, { FOO: "x" })).value, "hello");
      const envs: Record<string, string>[] = [{ DENO_DIR: path.join(base, "call") }, { DENO_V8_FLAGS: "--max-old-space-size=4000" }];
      for (const env of envs) {
        await assert.rejects(rt.executeTool("hello", "dr-1", {}, env), (e: any) => {
          assert.equal(e.code, "ERR_INVALID_ARGUMENT", JSON.stringify(env));
          return true;
        });
      }
    } finally {
      await rt.close();
    }
  });

  it("a host DENO_DIR does not pass under --allow-env: no call poisons a later call's bytecode", async () => {
    const write = path.join(base, "write");
    fs.mkdirSync(write);
    const saved = process.env.DENO_DIR;
    process.env.DENO_DIR = path.join(write, "deno");
    const rt = await makeRuntime({
      runtimeType: "deno",
      entrypointPath: "deno-cache.mjs",
      toolExecutionTimeoutMs: 60_000,
      permissions: ["--allow-read", `--allow-write=${write}`, "--allow-env=DENO_DIR"],
    });
    try {
      assert.equal((await rt.executeTool("hello", "dr-2")).value, "hello");
      await rt.executeTool("poison", "dr-3").catch(() => undefined);
      // Another call (another env, another tenant) must still run its own code.
      assert.equal((await rt.executeTool("hello", "dr-4", {}, { SECRET: "other" })).value, "hello");
      assert.equal((await rt.executeTool("denoDir", "dr-5")).value, "/dev/null/deno", "the host's DENO_DIR reached the tool");
    } finally {
      if (saved === undefined) delete process.env.DENO_DIR;
      else process.env.DENO_DIR = saved;
      await rt.close();
    }
  });
});
