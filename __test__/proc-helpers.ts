// Helpers of the limits, faults, pool and fuzz suites: typed errors, markers that find a call's
// processes (read from /proc by scripts/proc.ts), waiting for them to go, and the host's figures.
import { type ExecuteOptions, type Runtime, type RuntimeConfigInput, ToolRuntimeError } from "tool-runtime";
import { processAlive, processesWithMarker } from "../scripts/proc";
import { makeRuntime, sleep } from "./helpers";

/** Every code this package rejects with (generated from the Rust enum, as `ErrorCode` is). */
export const KNOWN_CODES = new Set(Object.keys(require("../lib/codes.js")));

/** Whether `e` is one of this package's typed errors with a known code. */
export function isTyped(e: unknown): e is ToolRuntimeError {
  return e instanceof ToolRuntimeError && typeof e.code === "string" && KNOWN_CODES.has(e.code);
}

/** A fresh marker: calls pass it in their env, so their processes (and children) carry it. */
export function newMarker(tag: string): string {
  return `TRMARK_${tag.replace(/[^A-Za-z0-9]/g, "_")}_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
}

/**
 * Waits for every process carrying `marker` to be gone; returns those left after `ms`. The cap
 * only bounds a failing test: callers assert that processes go, not how soon.
 */
export async function waitMarkerGone(marker: string, ms = 30_000): Promise<number[]> {
  const deadline = performance.now() + ms;
  let left = processesWithMarker(marker);
  while (left.length > 0 && performance.now() < deadline) {
    await sleep(25);
    left = processesWithMarker(marker);
  }
  return left;
}

/** Waits for every pid in `pids` to be gone; returns those still alive after `ms` (see above). */
export async function waitPidsGone(pids: number[], ms = 30_000): Promise<number[]> {
  const deadline = performance.now() + ms;
  let left = pids.filter(processAlive);
  while (left.length > 0 && performance.now() < deadline) {
    await sleep(25);
    left = left.filter(processAlive);
  }
  return left;
}

export function hostRssMb(): number {
  return process.memoryUsage().rss / (1024 * 1024);
}

/** Samples the host's RSS every 10 ms while `fn` runs; returns its result and the peak. */
export async function withRssPeak<T>(fn: () => Promise<T>): Promise<{ value: T; baseMb: number; peakMb: number }> {
  const baseMb = hostRssMb();
  let peakMb = baseMb;
  const timer = setInterval(() => {
    peakMb = Math.max(peakMb, hostRssMb());
  }, 10);
  try {
    const value = await fn();
    peakMb = Math.max(peakMb, hostRssMb());
    return { value, baseMb, peakMb };
  } finally {
    clearInterval(timer);
  }
}

/** Runs `p` and returns what it rejected with, failing if it resolved. */
export async function rejection(p: Promise<unknown>): Promise<any> {
  let value: unknown;
  try {
    value = await p;
  } catch (e) {
    return e;
  }
  throw new Error(`expected a rejection, got ${JSON.stringify(value)?.slice(0, 300)}`);
}

// ---------------------------------------------------------------------------------------------
// API surface that index.d.ts may not list yet (limits, queue, pool, metrics).

export interface PoolInput {
  minIdle?: number;
  maxWorkers?: number;
  idleTimeoutMs?: number;
  reuse?: { maxCallsPerWorker?: number; maxRssMb?: number };
}

export interface LimitsInput {
  memoryLimitMb?: number;
  cpuTimeLimitMs?: number;
  maxProcesses?: number;
  maxFileSizeMb?: number;
  maxConcurrency?: number;
  maxQueue?: number;
  pool?: PoolInput | boolean;
}

export interface CallOptionsExt {
  signal?: AbortSignal;
  config?: unknown;
  memoryLimitMb?: number;
  cpuTimeLimitMs?: number;
  metrics?: boolean;
}

export type { CallMetrics } from "tool-runtime";
import type { CallMetrics } from "tool-runtime";

export interface PoolStats {
  idle: number;
  idlePids: number[];
}

/** Per-call options with the fields index.d.ts may not declare yet. */
export function opts(o: CallOptionsExt): ExecuteOptions {
  return o as ExecuteOptions;
}

/** `runtime.pool`. */
export function poolOf(rt: Runtime): PoolStats {
  return (rt as unknown as { pool: PoolStats }).pool;
}

/** `executeTool` with `metrics: true`. */
export async function withMetrics(p: Promise<unknown>): Promise<{ result: any; metrics: CallMetrics }> {
  return (await p) as { result: any; metrics: CallMetrics };
}

/** Waits until the pool has at least `n` idle workers (up to `ms`); returns the idle count. */
export async function waitIdle(rt: Runtime, n = 1, ms = 10000): Promise<number> {
  const deadline = performance.now() + ms;
  while (poolOf(rt).idle < n && performance.now() < deadline) await sleep(10);
  return poolOf(rt).idle;
}

/** A runtime on the faults entrypoint (which re-exports every tool of tools.mjs). */
export function faultsRuntime(config: RuntimeConfigInput & LimitsInput = {}): Promise<Runtime> {
  return makeRuntime({ entrypointPath: "faults.mjs", ...config } as RuntimeConfigInput);
}
