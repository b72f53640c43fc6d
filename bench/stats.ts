// Medians, percentiles and throughput ratios of the measured rows, and how numbers are printed.
import type { Row } from "./measure";

export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 1) return sorted[0];
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export interface Stats {
  n: number;
  median: number;
  p95: number;
  /** Calls per second for in-flight rows, null for sequential ones. */
  throughput: number | null;
}

export function stats(row: Row | undefined): Stats | null {
  if (!row || !row.samples || row.samples.length === 0) return null;
  const sorted = [...row.samples].sort((a, b) => a - b);
  return { n: sorted.length, median: quantile(sorted, 0.5), p95: quantile(sorted, 0.95), throughput: row.throughput ?? null };
}

export function fmtMs(ms: number): string {
  if (ms >= 100) return ms.toFixed(1);
  if (ms >= 1) return ms.toFixed(2);
  return ms.toFixed(3);
}

export function fmtRatio(r: number): string {
  if (r >= 10) return `${r.toFixed(1)}x`;
  if (r >= 0.1) return `${r.toFixed(2)}x`;
  return `${r.toPrecision(2)}x`;
}

export function fmtRate(r: number): string {
  return r >= 100 ? Math.round(r).toLocaleString("en-US") : r.toFixed(1);
}

export interface Baselines {
  rawSeq: Stats | null;
  rawInFlight: Stats | null;
  pisSeq: Stats | null;
  pisInFlight: Stats | null;
}

/** Sequential rows: median / baseline median. In-flight rows: throughput / baseline throughput. */
export function ratios(s: Stats, b: Baselines): { medRaw: string; medPis: string; thrRaw: string; thrPis: string } {
  const med = (base: Stats | null) => (base ? fmtRatio(s.median / base.median) : "n/a");
  const thr = (base: Stats | null) => (base && base.throughput && s.throughput !== null ? fmtRatio(s.throughput / base.throughput) : "n/a");
  if (s.throughput === null) return { medRaw: med(b.rawSeq), medPis: med(b.pisSeq), thrRaw: "-", thrPis: "-" };
  return { medRaw: "-", medPis: "-", thrRaw: thr(b.rawInFlight), thrPis: thr(b.pisInFlight) };
}
