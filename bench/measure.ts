// Timing calls: sequential, interleaved in blocks, paced, and with many in flight. Failures are
// recorded in `errors` and end their row only.
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { BLOCK_GAP_MS, IN_FLIGHT, IN_FLIGHT_CAP_MS, IN_FLIGHT_MIN_MS, IN_FLIGHT_WARMUP } from "./settings";

export interface Row {
  name: string;
  /** Latencies in ms, warm-ups excluded; null when the row did not run. */
  samples: number[] | null;
  /** Why the row has no samples ("n/a: ..." or the error). */
  reason?: string;
  note?: string;
  /** Calls kept in flight; absent for sequential rows. */
  inFlight?: number;
  /** Completed calls per second over the timed window (in-flight rows). */
  throughput?: number;
}

export type CallFn = (i: number) => Promise<void>;

/** Times `n` sequential calls of `fn` after `warmup` untimed ones. Throws what `fn` throws. */
export async function measure(name: string, fn: CallFn, n: number, warmup = 0): Promise<Row> {
  for (let i = 0; i < warmup; i++) await fn(-1 - i);
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn(i);
    samples.push(performance.now() - t0);
  }
  return { name, samples };
}

export interface Case {
  name: string;
  /** Absent when the row cannot run; `reason` says why. */
  fn?: CallFn;
  reason?: string;
  note?: string;
}

export const errors: { row: string; error: unknown }[] = [];

export function describeError(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    return `${typeof code === "string" ? code + ": " : ""}${e.message}`;
  }
  return String(e);
}

export function failedRow(name: string, e: unknown, note?: string): Row {
  errors.push({ row: name, error: e });
  return { name, samples: null, reason: `FAILED: ${describeError(e)}`, note };
}

/** Ends a row at its first error, which is recorded verbatim. */
function markFailed(row: Row, e: unknown): void {
  errors.push({ row: row.name, error: e });
  row.samples = null;
  row.reason = `FAILED: ${describeError(e)}`;
}

export function unavailableRow(c: Case): Row {
  return { name: c.name, samples: null, reason: c.reason ?? "n/a", note: c.note };
}

type Block = (fn: CallFn, samples: number[], n: number, round: number, k: number) => Promise<void>;

/** Runs `block` for every case still measuring, round-robin in `rounds` blocks that share `total`
 *  calls, after an untimed gap each; a case whose block throws is failed and left out after. */
async function roundRobin(cases: Case[], rows: Row[], total: number, rounds: number, block: Block): Promise<void> {
  for (let r = 0; r < rounds; r++) {
    const blockN = Math.floor(total / rounds) + (r < total % rounds ? 1 : 0);
    for (let k = 0; k < cases.length; k++) {
      const fn = cases[k].fn;
      const row = rows[k];
      if (!fn || row.samples === null) continue;
      await sleep(BLOCK_GAP_MS);
      try {
        await block(fn, row.samples, blockN, r, k);
      } catch (e) {
        markFailed(row, e);
      }
    }
  }
}

/** Measures cases round-robin in `rounds` blocks of n/rounds calls each; a failing case stops at its
 *  first error, which is recorded verbatim. */
export async function measureInterleaved(cases: Case[], n: number, warmup: number, rounds: number): Promise<Row[]> {
  const rows: Row[] = cases.map((c) => (c.fn ? { name: c.name, samples: [], note: c.note } : unavailableRow(c)));
  await roundRobin(cases, rows, n, rounds, async (fn, samples, blockN, r, k) => {
    const block = await measure(rows[k].name, fn, blockN, r === 0 ? warmup : 0);
    samples.push(...(block.samples ?? []));
  });
  return rows;
}

/** Sequential calls with an untimed pause before each one, then an untimed `settle` (which returns
 *  true when it had to wait); the calls it had to wait for are counted. */
export async function measurePaced(
  name: string,
  fn: CallFn,
  n: number,
  warmup: number,
  pauseMs: number,
  settle: () => Promise<boolean>,
): Promise<{ row: Row; notReady: number }> {
  for (let i = 0; i < warmup; i++) {
    await sleep(pauseMs);
    await fn(-1 - i);
  }
  const samples: number[] = [];
  let notReady = 0;
  for (let i = 0; i < n; i++) {
    await sleep(pauseMs);
    if (await settle()) notReady++;
    const t0 = performance.now();
    await fn(i);
    samples.push(performance.now() - t0);
  }
  return { row: { name, samples }, notReady };
}

/** Keeps `concurrency` calls in flight (each finished call starts the next) until `count` calls
 *  are done and `minMs` has passed, or `capMs` has passed. Per-call latency (pushed to `samples`
 *  when given) runs from issue to answer, queueing included. Returns the elapsed ms; throws the
 *  first error once every lane has stopped. */
export async function runInFlight(fn: CallFn, count: number, concurrency: number, minMs: number, capMs: number, samples: number[] | null): Promise<number> {
  const t0 = performance.now();
  let issued = 0;
  let failure: { e: unknown } | null = null;
  const more = () => {
    const now = performance.now() - t0;
    return now < capMs && (issued < count || now < minMs);
  };
  const lane = async () => {
    while (!failure && more()) {
      const i = samples ? issued : -1 - issued;
      issued++;
      const start = performance.now();
      try {
        await fn(i);
      } catch (e) {
        failure ??= { e };
        return;
      }
      samples?.push(performance.now() - start);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  if (failure) throw (failure as { e: unknown }).e;
  return performance.now() - t0;
}

export interface InFlightCase extends Case {
  /** Runs after the case's warm-up calls, before any timed block. */
  afterWarmup?: () => Promise<void>;
}

/** In-flight rows measured round-robin in `rounds` blocks (each at least `total/rounds` calls and
 *  IN_FLIGHT_MIN_MS/rounds, at most `capMs/rounds`), so load drift hits all of them alike. Every
 *  case gets IN_FLIGHT_WARMUP untimed calls and its `afterWarmup` first. Throughput is completed
 *  calls over the summed time of its blocks. A failing case stops at its first error. */
export async function measureInFlightInterleaved(cases: InFlightCase[], total: number, rounds: number, capMs = IN_FLIGHT_CAP_MS): Promise<Row[]> {
  const rows: Row[] = cases.map((c) => (c.fn ? { name: c.name, samples: [], note: c.note, inFlight: IN_FLIGHT } : unavailableRow(c)));
  const elapsed = cases.map(() => 0);
  for (let k = 0; k < cases.length; k++) {
    const fn = cases[k].fn;
    if (!fn) continue;
    try {
      await runInFlight(fn, IN_FLIGHT_WARMUP, IN_FLIGHT, 0, Infinity, null);
      await cases[k].afterWarmup?.();
    } catch (e) {
      markFailed(rows[k], e);
    }
  }
  await roundRobin(cases, rows, total, rounds, async (fn, samples, blockN, _r, k) => {
    elapsed[k] += await runInFlight(fn, blockN, IN_FLIGHT, IN_FLIGHT_MIN_MS / rounds, capMs / rounds, samples);
  });
  rows.forEach((row, k) => {
    if (!row.samples) return;
    row.throughput = row.samples.length / (elapsed[k] / 1000);
    if (row.samples.length < total) {
      const capped = `stopped after ${(capMs / 1000).toFixed(0)} s: ${row.samples.length} of ${total} calls done`;
      row.note = [row.note, capped].filter(Boolean).join("; ");
    }
  });
  return rows;
}
