// Shared set-up for the JS tests: real runtimes, the fixtures folder, process inspection.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { RuntimeFactory, type Runtime, type RuntimeConfigInput, testConfig } from "tool-runtime";

export const FIXTURES = path.join(__dirname, "fixtures");
export const RUNTIMES = ["bun", "node"] as const;

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

/** Whether a process exists and is not a zombie. */
export function processAlive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

/** Direct children of this process that are zombies. */
export function zombieChildren(): number[] {
  const out: number[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (rest[0] === "Z" && Number(rest[1]) === process.pid) out.push(Number(entry));
    } catch {}
  }
  return out;
}
