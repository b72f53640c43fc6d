// Shared by the suites that set hostile tools (fixtures/hostile.mjs) on other processes.
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import type { Runtime, RuntimeConfigInput, RuntimeType } from "tool-runtime";
import { makeRuntime, sleep } from "./helpers";

export interface Outcome {
  ok: boolean;
  code?: string | null;
  message?: string;
  [key: string]: unknown;
}

export const BUN = path.join(path.dirname(require.resolve("bun/package.json")), "bin", "bun.exe");
export const EACCES = 13;
const victims: ChildProcess[] = [];

/** Kills the victims this file spawned (call from `after`). */
export function killVictims() {
  for (const v of victims) v.kill("SIGKILL");
}

export type Call = (tool: string, input?: unknown) => Promise<Outcome>;
let execCounter = 0;

/** A fresh execution id. */
export function nextExecId(): string {
  return `proc-${++execCounter}`;
}

/** Runs `fn` with a hostile runtime of `config`, closing it afterwards. */
export async function withRuntime(runtimeType: RuntimeType, config: RuntimeConfigInput, fn: (call: Call, rt: Runtime) => Promise<void>) {
  const rt = await makeRuntime({ runtimeType, entrypointPath: "hostile.mjs", ...config });
  try {
    await fn((tool, input = {}) => rt.executeTool(tool, nextExecId(), input) as Promise<Outcome>, rt);
  } finally {
    await rt.close();
  }
}

export function denied(r: Outcome, codes: string[], what: string) {
  assert.equal(r.ok, false, `${what}: the attempt succeeded: ${JSON.stringify(r)}`);
  assert.ok(codes.includes(String(r.code)), `${what}: failed with ${r.code} (${r.message}); expected one of ${codes.join(", ")}`);
}

export function allowed(r: Outcome, what: string) {
  assert.equal(r.ok, true, `${what}: the allowed twin failed: ${JSON.stringify(r)}`);
}

/**
 * A victim holding no capabilities, like a tool of another call: as root the kernel itself
 * refuses a capless process renicing one that holds capabilities, which would hide the filter.
 */
function spawnCaplessVictim(): ChildProcess {
  const root = process.getuid?.() === 0;
  const v = root ? spawn("setpriv", ["--bounding-set=-all", "--inh-caps=-all", "sleep", "30"], { stdio: "ignore" }) : spawn("sleep", ["30"], { stdio: "ignore" });
  victims.push(v);
  return v;
}

/** Waits until setpriv has exec'd sleep in place (same pid) without capabilities. */
export async function caplessVictim(): Promise<ChildProcess> {
  const v = spawnCaplessVictim();
  while (!/^CapEff:\s*0+$/m.test(fs.readFileSync(`/proc/${v.pid}/status`, "utf8"))) await sleep(10);
  return v;
}

/** What a process's limits and scheduling are, as another process would change them. */
export function schedState(pid: number) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name, from field 3 (state): nice is field 19, policy field 41.
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  return {
    limits: fs.readFileSync(`/proc/${pid}/limits`, "utf8"),
    nice: Number(f[16]),
    policy: Number(f[38]),
    affinity: /^Cpus_allowed_list:\s*(\S+)/m.exec(status)?.[1],
    ioprio: spawnSync("ionice", ["-p", String(pid)], { encoding: "utf8" }).stdout.trim(),
  };
}

/** The attempts of the `process` probe on another process, and on the tool itself. */
export const ON_OTHERS = ["prlimitNofile", "prlimitCore", "setpriority", "schedSetaffinity", "schedSetscheduler", "schedSetparam", "schedSetattr", "ioprioSet", "cloneParent", "cloneNewuser", "cloneNewnet"];
export const ON_ITSELF = ["ownPrlimit", "ownSetpriority", "ownSchedSetaffinity", "ownSchedSetattr", "ownIoprioSet", "ownClone"];
export const EPERM = 1;
export const ESRCH = 3;
const ENOSYS = 38;

/** Asserts every attempt on another process was refused with EPERM, clone3 with ENOSYS, and everything on itself worked. */
export function refusedOnOthers(r: Outcome, what: string) {
  allowed(r, `${what}: the probe itself`);
  const res = r.result as Record<string, number>;
  for (const k of ON_OTHERS) assert.equal(res[k], EPERM, `${what}: ${k} answered ${res[k]}: ${JSON.stringify(res)}`);
  assert.equal(res.clone3, ENOSYS, `${what}: clone3 answered ${res.clone3}`);
  for (const k of ON_ITSELF) assert.equal(res[k], 0, `${what}: ${k} on itself answered ${res[k]}: ${JSON.stringify(res)}`);
}

/** How a runtime's tools make raw syscalls: in-process on bun, through a bun child on node. */
export function ffiFor(runtimeType: RuntimeType) {
  // Node has no FFI, and deno's own layer denies it: both probe through a bun child, which only the kernel confines.
  const viaChild = runtimeType !== "bun";
  return {
    run: viaChild ? [`--allow-run=${BUN}`] : [],
    probe: (probe: string, args: unknown) => (viaChild ? { probe, args, bunPath: BUN } : { probe, args }),
  };
}
