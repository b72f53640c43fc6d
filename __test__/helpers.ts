// Shared set-up for the JS tests: real runtimes, the fixtures folder, process inspection.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { RuntimeFactory, type Runtime, type RuntimeConfigInput, testConfig } from "tool-runtime";

export { processAlive, zombieChildren } from "../scripts/proc";

export const FIXTURES = path.join(__dirname, "fixtures");
/**
 * Every runtime type the suites run on. `TOOL_RUNTIME_TEST_DENO=0` leaves deno out: the node
 * matrix runs the deno cases in its first pass only (deno does not depend on the host's node).
 */
export const RUNTIMES = (process.env.TOOL_RUNTIME_TEST_DENO === "0" ? ["bun", "node"] : ["bun", "node", "deno"]) as readonly (
  | "bun"
  | "node"
  | "deno"
)[];
/** The bun binary that the `bun` package installs. */
export const BUN = path.join(path.dirname(require.resolve("bun/package.json")), "bin", "bun.exe");
/** The signal the fault fixtures crash with: SIGSEGV, or on deno SIGABRT (faults.mjs, segfault). */
export const crashSignal = (runtimeType: string) => (runtimeType === "deno" ? "SIGABRT" : "SIGSEGV");
/** The deno binary that the `deno` package installs (its postinstall links it into the package). */
export const DENO = path.join(path.dirname(require.resolve("deno/package.json")), "deno");

export async function makeRuntime(config: RuntimeConfigInput = {}, root = FIXTURES): Promise<Runtime> {
  const base = testConfig();
  return new RuntimeFactory(root).createRuntime({ ...base, permissions: null, runtimePath: null, entrypointPath: "tools.mjs", ...config });
}

export function tempDir(prefix = "tr-test-"): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Polls `done` until it holds. The cap only turns a hang into a failure with a message, well
 * inside the suite's per-test timeout: no test asserts how soon something happens.
 */
export async function waitFor(done: () => boolean, what: string, capMs = 60_000): Promise<void> {
  const until = performance.now() + capMs;
  while (!done()) {
    if (performance.now() > until) throw new Error(`gave up waiting for ${what} after ${capMs} ms`);
    await sleep(20);
  }
}
