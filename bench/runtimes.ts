// Package runtimes made for the rows, and the calls made on them: pools, warm shares, resident
// memory of their workers.
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { RuntimeFactory, type ExecuteOptions, type Runtime, type RuntimeType, type SandboxReport } from "tool-runtime";
import { treeRssKb } from "../scripts/proc";
import { type BenchConfig, IN_FLIGHT, IN_FLIGHT_WORKERS, POOL_FILL_TIMEOUT_MS, runtimeConfig, TOOL_ID } from "./settings";
import { type CallFn, describeError, errors, failedRow, type Row } from "./measure";
import { closeRuntime, runtimes } from "./resources";
import { checkResult } from "./baselines";

export interface PoolStats {
  idle: number;
  idlePids: number[];
}

/** `runtime.pool`, or null when this build does not have it. */
export function poolStats(rt: Runtime): PoolStats | null {
  const p = (rt as unknown as { pool?: unknown }).pool as Partial<PoolStats> | undefined;
  if (!p || typeof p.idle !== "number" || !Array.isArray(p.idlePids)) return null;
  return { idle: p.idle, idlePids: p.idlePids };
}

/** Waits until the pool has `want` idle workers; false on timeout or without pool stats. */
export async function waitForIdle(rt: Runtime, want: number, timeoutMs = POOL_FILL_TIMEOUT_MS): Promise<boolean> {
  const until = performance.now() + timeoutMs;
  for (;;) {
    const s = poolStats(rt);
    if (!s) return false;
    if (s.idle >= want) return true;
    if (performance.now() > until) return false;
    await sleep(5);
  }
}

export const WITH_METRICS: ExecuteOptions & { metrics: boolean } = { metrics: true };

export interface Memory {
  what: string;
  /** Sum of VmRSS over the process tree, MB; null when not measured. */
  mb: number | null;
  processes: number;
  reason?: string;
}

export function treeRss(what: string, pid: number | undefined): Memory {
  if (pid === undefined) return { what, mb: null, processes: 0, reason: "no process id" };
  const { kb, processes } = treeRssKb(pid);
  if (processes === 0) return { what, mb: null, processes: 0, reason: `process ${pid} not readable` };
  return { what, mb: kb / 1024, processes };
}

/** `executeTool` on a package runtime. */
export function packageCall(rt: Runtime, toolId = TOOL_ID, input: Record<string, unknown> = {}): CallFn {
  let seq = 0;
  return async (i) => {
    const result = await rt.executeTool(toolId, `bench-${++seq}`, { ...input, n: i });
    checkResult(result, i);
  };
}

/** Runs `calls` calls `concurrency` at a time with per-call metrics; counts those that ran on a
 *  warm worker. Null when this build reports no `warm` flag. */
export async function warmShare(rt: Runtime, calls: number, concurrency: number, pauseMs = 0): Promise<{ warm: number; calls: number } | null> {
  let warm = 0;
  let reported = 0;
  let seq = 0;
  const one = async () => {
    const out = (await rt.executeTool(TOOL_ID, `bench-metrics-${++seq}`, { n: 0 }, null, WITH_METRICS)) as {
      metrics?: { warm?: unknown };
    };
    if (typeof out.metrics?.warm === "boolean") {
      reported++;
      if (out.metrics.warm) warm++;
    }
  };
  for (let done = 0; done < calls; done += concurrency) {
    if (pauseMs > 0) await sleep(pauseMs);
    await Promise.all(Array.from({ length: Math.min(concurrency, calls - done) }, one));
  }
  return reported === calls ? { warm, calls } : null;
}

/** Why a sandbox report says the sandbox is not enforced, or null when it does not say so. */
export function notEnforcedReason(report: SandboxReport): string | null {
  if (report.mode === "off") return `report mode is "off"`;
  if (!report.enforced) return `report says enforced: false`;
  if (report.missing.length > 0) return `report missing: ${JSON.stringify(report.missing)}`;
  return null;
}

export interface Made {
  rt?: Runtime;
  /** Why there is no runtime ("n/a: ..." or "FAILED ..."). */
  reason?: string;
  note?: string;
}

/** Creates a runtime for a row; with `sandboxed`, one whose report does not say it is enforced is
 *  closed again and the row is n/a. */
export async function makeRuntime(
  factory: RuntimeFactory,
  runtimeType: RuntimeType,
  row: string,
  extra: BenchConfig,
  sandboxed: boolean,
): Promise<Made> {
  let rt: Runtime;
  try {
    rt = await factory.createRuntime(runtimeConfig(runtimeType, extra));
  } catch (e) {
    if ((e as { code?: unknown }).code === "ERR_SANDBOX_UNAVAILABLE") return { reason: `n/a: ${describeError(e)}` };
    errors.push({ row: `${runtimeType}: ${row} (createRuntime)`, error: e });
    return { reason: `FAILED in createRuntime: ${describeError(e)}` };
  }
  runtimes.push(rt);
  const report = rt.sandbox;
  let note = `sandbox ${report.mode}`;
  if (sandboxed) {
    const why = notEnforcedReason(report);
    if (why) {
      await closeRuntime(rt);
      return { reason: `n/a: sandbox not enforced (${why})` };
    }
    const by = (p: { granted: unknown; enforcedBy: string[] }) =>
      p.enforcedBy.length > 0 ? p.enforcedBy.join("+") : p.granted === "all" ? "nothing (granted)" : "nothing";
    note += `: fs by ${by(report.read)}, net by ${by(report.net)}, run by ${by(report.run)}`;
  }
  const { pool, maxConcurrency } = extra;
  if (maxConcurrency !== undefined) note += `; maxConcurrency ${maxConcurrency}`;
  if (pool) note += `; pool ${JSON.stringify(pool)}`;
  return { rt, note };
}

/** Runs `body` on a fresh runtime and closes it; failures become the row's reason. */
export async function withRuntime(
  factory: RuntimeFactory,
  runtimeType: RuntimeType,
  name: string,
  extra: BenchConfig,
  body: (rt: Runtime, note: string) => Promise<Row>,
): Promise<Row> {
  const made = await makeRuntime(factory, runtimeType, name, extra, extra.sandbox !== "off");
  if (!made.rt) return { name, samples: null, reason: made.reason };
  try {
    return await body(made.rt, made.note ?? "");
  } catch (e) {
    return failedRow(`${runtimeType}: ${name}`, e, made.note);
  } finally {
    await closeRuntime(made.rt);
  }
}

/** A sandboxed runtime with a pool, once the pool has `minIdle` idle workers; else the reason. */
export async function poolRuntime(
  factory: RuntimeFactory,
  runtimeType: RuntimeType,
  name: string,
  extra: BenchConfig,
  minIdle: number,
): Promise<{ rt?: Runtime; note?: string; reason?: string }> {
  const made = await makeRuntime(factory, runtimeType, name, extra, true);
  if (!made.rt) return made;
  if (!poolStats(made.rt)) {
    await closeRuntime(made.rt);
    return { reason: "n/a: this build has no runtime.pool" };
  }
  if (!(await waitForIdle(made.rt, minIdle))) {
    await closeRuntime(made.rt);
    return { reason: `FAILED: pool did not reach ${minIdle} idle workers in ${POOL_FILL_TIMEOUT_MS} ms` };
  }
  return made;
}

/** After an in-flight warm-up every call is done, so all live workers are idle: waits (briefly) for
 *  the pool to have grown to maxWorkers and says how far it got. */
export async function poolGrowth(rt: Runtime): Promise<string> {
  const full = await waitForIdle(rt, IN_FLIGHT_WORKERS, 3000);
  return `${poolStats(rt)?.idle ?? "?"} idle workers after warm-up${full ? "" : ` (fewer than maxWorkers ${IN_FLIGHT_WORKERS})`}`;
}

/** Appends, to an in-flight pool row, how many calls of one burst found no idle worker. */
export async function noteColdShare(row: Row, rt: Runtime): Promise<void> {
  if (!row.samples) return;
  try {
    const share = await warmShare(rt, IN_FLIGHT, IN_FLIGHT);
    if (share) row.note = [row.note, `in one burst of ${share.calls} calls with metrics, ${share.calls - share.warm} ran on a cold process (no idle worker)`].join("; ");
  } catch (e) {
    row.note = [row.note, `metrics burst failed: ${describeError(e)}`].join("; ");
  }
}
