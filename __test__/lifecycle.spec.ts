// A runtime that is garbage-collected without close() releases what it started, as close()
// does: its warm workers (whole process groups) are gone while the host process lives on.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import path from "node:path";
import { describe, it } from "node:test";
import { FIXTURES, RUNTIMES, processAlive, sleep } from "./helpers";

for (const runtimeType of RUNTIMES) {
  describe(`a runtime garbage-collected without close() on ${runtimeType}`, () => {
    it("stops its warm workers while the host lives on", async () => {
      const script = path.join(__dirname, "scripts", "gc-runtime.mjs");
      const child = spawn(process.execPath, ["--expose-gc", script, FIXTURES, runtimeType], { stdio: ["ignore", "pipe", "inherit"] });
      const line = await new Promise<string>((resolve, reject) => {
        let out = "";
        child.stdout.on("data", (d) => {
          out += d;
          if (out.includes("\n")) resolve(out.split("\n")[0]);
        });
        child.on("exit", (code) => reject(new Error(`the script exited (${code}) before reporting`)));
      });
      const { pids } = JSON.parse(line) as { pids: number[] };
      assert.equal(pids.length, 2, "the pool warmed up two workers");
      // The host is still running (it waits a minute after collecting): the workers must go
      // meanwhile. (The cap only turns a hang into a message.)
      let alive = pids;
      for (let i = 0; i < 1000 && alive.length > 0; i++) {
        await sleep(50);
        alive = alive.filter(processAlive);
      }
      assert.equal(child.exitCode, null, "the host process was still running");
      assert.deepEqual(alive, [], "workers of the collected runtime are still running");
      child.kill();
    });
  });
}
