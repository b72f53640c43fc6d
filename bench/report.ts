// Printing: the detail tables, memory, targets and the README summary.
import os from "node:os";
import { type CpuSnapshot, cpuSnapshot } from "../scripts/proc";
import { IN_FLIGHT, IN_FLIGHT_WORKERS, LABEL } from "./settings";
import type { Row } from "./measure";
import { type Baselines, fmtMs, fmtRate, fmtRatio, ratios, stats } from "./stats";
import type { RuntimeResult } from "./rows";

export function status(row: Row): string {
  return row.reason?.startsWith("FAILED") ? "FAILED" : "n/a";
}

/** Prints a markdown table: the first `leftColumns` columns left-aligned, the others right-aligned. */
export function printMarkdown(header: string[], body: string[][], leftColumns = 1): void {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const left = (i: number) => i < leftColumns;
  const line = (cells: string[]) => "| " + cells.map((c, i) => (left(i) ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(" | ") + " |";
  console.log(line(header));
  console.log("| " + widths.map((w, i) => (left(i) ? "-".repeat(w) : "-".repeat(w - 1) + ":")).join(" | ") + " |");
  for (const r of body) console.log(line(r));
}

export function printDetailTable(title: string, rows: Row[], b: Baselines): void {
  const header = ["row", "n", "median ms", "p95 ms", "calls/s", "median ÷ raw", "median ÷ piscina", "calls/s ÷ raw", "calls/s ÷ piscina"];
  const body: string[][] = [];
  const notes: string[] = [];
  for (const row of rows) {
    const marks: string[] = [];
    for (const text of [row.reason, row.note]) {
      if (!text) continue;
      notes.push(text);
      marks.push(String(notes.length));
    }
    const label = marks.length ? `${row.name} [${marks.join(",")}]` : row.name;
    const s = stats(row);
    if (!s) {
      const st = status(row);
      body.push([label, "-", st, st, st, st, st, st, st]);
      continue;
    }
    const r = ratios(s, b);
    body.push([
      label,
      String(s.n),
      fmtMs(s.median),
      fmtMs(s.p95),
      s.throughput !== null ? fmtRate(s.throughput) : "-",
      r.medRaw,
      r.medPis,
      r.thrRaw,
      r.thrPis,
    ]);
  }
  console.log(`\n### ${title}\n`);
  printMarkdown(header, body);
  console.log("");
  notes.forEach((n, i) => console.log(`[${i + 1}] ${n}`));
}

export function baselinesOf(r: RuntimeResult): Baselines {
  return {
    rawSeq: stats(r.byName(LABEL.raw)),
    rawInFlight: stats(r.byName(LABEL.rawInFlight)),
    pisSeq: stats(r.byName(LABEL.piscina)),
    pisInFlight: stats(r.byName(LABEL.piscinaInFlight)),
  };
}

export function printSandboxRatio(r: RuntimeResult): void {
  const sb = r.byName(LABEL.sandboxed);
  const off = r.byName(LABEL.off);
  const a = stats(sb);
  const b = stats(off);
  if (a && b) {
    console.log(
      `\n${r.runtimeType}: cold sandboxed / sandbox off = ${fmtRatio(a.median / b.median)} (median), ${fmtRatio(a.p95 / b.p95)} (p95); target ≤ 1.20x`,
    );
  } else {
    console.log(`\n${r.runtimeType}: cold sandboxed / sandbox off = n/a (${sb?.reason ?? off?.reason ?? "missing row"})`);
  }
}

export function printMemory(r: RuntimeResult): void {
  console.log(`\n${r.runtimeType}: resident memory (VmRSS summed over the process tree)\n`);
  printMarkdown(
    ["process", "RSS MB", "processes"],
    r.memory.map((m) => [m.what + (m.reason ? ` (${m.reason})` : ""), m.mb === null ? "n/a" : m.mb.toFixed(1), String(m.processes)]),
  );
}

// ---------------------------------------------------------------------------------------------
// Targets and the README summary

export interface Target {
  target: string;
  runtime: string;
  measured: string;
  /** null: could not be evaluated. */
  met: boolean | null;
  /** Informational lines are printed but do not count. */
  info?: boolean;
}

export function targetsOf(results: RuntimeResult[]): Target[] {
  const out: Target[] = [];
  const na = (target: string, runtime: string, why: string, info = false): Target => ({
    target,
    runtime,
    measured: `n/a (${why.length > 100 ? why.slice(0, 99) + "…" : why})`,
    met: null,
    info,
  });
  const why = (...rows: (Row | undefined)[]) => rows.find((r) => r && !stats(r))?.reason ?? "row missing";
  for (const r of results) {
    const rt = r.runtimeType;
    const get = (name: string) => r.byName(name);

    const su = stats(get(LABEL.singleUse));
    const t1 = "single-use warm pool median < 1 ms";
    out.push(su ? { target: t1, runtime: rt, measured: `${fmtMs(su.median)} ms (p95 ${fmtMs(su.p95)} ms)`, met: su.median < 1 } : na(t1, rt, why(get(LABEL.singleUse))));

    const reuse = stats(get(LABEL.reuseSeq));
    const raw = stats(get(LABEL.raw));
    const t2 = "reuse sequential ≥ 0.8x raw round-trip throughput (median ≤ raw / 0.8)";
    out.push(
      reuse && raw
        ? {
            target: t2,
            runtime: rt,
            measured: `${fmtMs(reuse.median)} ms vs raw ${fmtMs(raw.median)} ms: ${fmtRatio(raw.median / reuse.median)} of raw throughput (limit ${fmtMs(raw.median / 0.8)} ms)`,
            met: reuse.median <= raw.median / 0.8,
          }
        : na(t2, rt, why(get(LABEL.reuseSeq), get(LABEL.raw))),
    );

    const pis = stats(get(LABEL.piscinaInFlight));
    const t3 = `reuse ${IN_FLIGHT} in flight ≥ 0.5x piscina ${IN_FLIGHT}-in-flight throughput`;
    for (const [name, info] of [
      [LABEL.reuseInFlight, false],
      [LABEL.reuseQueued, true],
    ] as const) {
      const s = stats(get(name));
      const label = info ? `${t3} (info: maxConcurrency ${IN_FLIGHT_WORKERS})` : `${t3} (maxConcurrency ${IN_FLIGHT})`;
      out.push(
        s && s.throughput !== null && pis && pis.throughput
          ? {
              target: label,
              runtime: rt,
              measured: `${fmtRate(s.throughput)} vs ${fmtRate(pis.throughput)} calls/s: ${fmtRatio(s.throughput / pis.throughput)}`,
              met: s.throughput >= 0.5 * pis.throughput,
              info,
            }
          : na(label, rt, why(get(name), get(LABEL.piscinaInFlight)), info),
      );
    }

    const cold = stats(get(LABEL.sandboxed));
    const hand = stats(get(LABEL.hand));
    const t4 = "cold sandboxed median ≤ hand-written spawn median";
    const info4 = rt !== "bun";
    const label4 = info4 ? `${t4} (info: the target is bun's)` : t4;
    out.push(
      cold && hand
        ? { target: label4, runtime: rt, measured: `${fmtMs(cold.median)} vs ${fmtMs(hand.median)} ms: ${fmtRatio(cold.median / hand.median)}`, met: cold.median <= hand.median, info: info4 }
        : na(label4, rt, why(get(LABEL.sandboxed), get(LABEL.hand)), info4),
    );

    const off = stats(get(LABEL.off));
    const t5 = "cold sandboxed ≤ 1.2x sandbox off (median)";
    out.push(
      cold && off
        ? { target: t5, runtime: rt, measured: `${fmtMs(cold.median)} vs ${fmtMs(off.median)} ms: ${fmtRatio(cold.median / off.median)}`, met: cold.median <= 1.2 * off.median }
        : na(t5, rt, why(get(LABEL.sandboxed), get(LABEL.off))),
    );

    const nb = stats(get(LABEL.netBare));
    const nl = stats(get(LABEL.netAllow));
    const t6 = "network allowlist (proxy) median - bare --allow-net median < 1 ms";
    out.push(
      nb && nl
        ? {
            target: t6,
            runtime: rt,
            measured: `${fmtMs(nl.median)} - ${fmtMs(nb.median)} = ${(nl.median - nb.median).toFixed(3)} ms (p95 ${fmtMs(nl.p95)} vs ${fmtMs(nb.p95)})`,
            met: nl.median - nb.median < 1,
          }
        : na(t6, rt, why(get(LABEL.netAllow), get(LABEL.netBare))),
    );
  }
  return out;
}

export function printTargets(targets: Target[]): void {
  console.log("\n## Targets\n");
  printMarkdown(
    ["target", "runtime", "measured", "met"],
    targets.map((t) => [t.target, t.runtime, t.measured, t.met === null ? "n/a" : t.info ? (t.met ? "(yes)" : "(no)") : t.met ? "YES" : "NO"]),
    3,
  );
  const counted = targets.filter((t) => !t.info);
  const met = counted.filter((t) => t.met === true).length;
  const missed = counted.filter((t) => t.met === false).length;
  console.log(`\n${met} met, ${missed} not met, ${counted.length - met - missed} n/a (rows in parentheses are informational)`);
}

export const SUMMARY_ROWS: [string, string][] = [
  [LABEL.sandboxed, "cold, sandboxed"],
  [LABEL.off, "cold, sandbox off"],
  [LABEL.singleUse, "warm pool, single-use (sandboxed)"],
  [LABEL.reuseSeq, "reuse pool, sequential (sandboxed)"],
  [LABEL.reuseInFlight, `reuse pool, ${IN_FLIGHT} in flight (sandboxed)`],
  [LABEL.reuseQueued, `reuse pool, ${IN_FLIGHT} in flight, maxConcurrency ${IN_FLIGHT_WORKERS}`],
  [LABEL.hand, "hand-written spawn per call (no sandbox)"],
  [LABEL.piscina, "piscina, sequential (no isolation)"],
  [LABEL.piscinaInFlight, `piscina, ${IN_FLIGHT} in flight (no isolation)`],
  [LABEL.raw, "raw NDJSON over a pipe, sequential"],
  [LABEL.rawInFlight, `raw NDJSON over a pipe, ${IN_FLIGHT} in flight`],
  [LABEL.netAllow, "HTTP GET via allowlist proxy (reuse pool)"],
  [LABEL.netBare, "HTTP GET, bare --allow-net (reuse pool)"],
];

export function printSummary(results: RuntimeResult[]): void {
  console.log("\n## Summary for the README\n");
  for (const r of results) {
    const b = baselinesOf(r);
    const body: string[][] = [];
    for (const [name, label] of SUMMARY_ROWS) {
      const row = r.byName(name);
      if (!row) continue;
      const s = stats(row);
      if (!s) {
        if (name === LABEL.netAllow || name === LABEL.netBare) continue; // n/a until the allowlist is wired
        body.push([label, status(row), status(row), "", "", ""]);
        continue;
      }
      const q = ratios(s, b);
      const inFlight = s.throughput !== null;
      body.push([
        label,
        fmtMs(s.median),
        fmtMs(s.p95),
        inFlight ? fmtRate(s.throughput!) : "",
        inFlight ? `${q.thrRaw} thr` : q.medRaw,
        inFlight ? `${q.thrPis} thr` : q.medPis,
      ]);
    }
    console.log(`**${r.runtimeType}** (trivial tool; ${r.binary})\n`);
    printMarkdown([`${r.runtimeType}`, "median ms", "p95 ms", "calls/s", "vs raw pipe", "vs piscina"], body);
    const m = r.idleWorker;
    console.log(`\nIdle warm worker RSS: ${m && m.mb !== null ? `${m.mb.toFixed(1)} MB` : "n/a"}.`);
    console.log("");
  }
  console.log(
    `vs columns: sequential rows are median ÷ the baseline's sequential median (lower is better); rows with calls/s are ` +
      `throughput ÷ the baseline's ${IN_FLIGHT}-in-flight throughput ("thr", higher is better). piscina runs in the host node ` +
      `(${process.version}). ${IN_FLIGHT}-in-flight rows use ${IN_FLIGHT_WORKERS} workers/threads; machine: ${availableCores()} cores.`,
  );
}

export function fmtLoad(l: number[]): string {
  return l.map((x) => x.toFixed(2)).join(" / ");
}

export function availableCores(): number {
  return os.availableParallelism();
}

/** The load at the end and how the CPU was shared during the run: a busy machine makes the
 *  figures noisy, and this says how busy it was. */
export function printMachineLoad(loadAtStart: number[], cpuAtStart: CpuSnapshot | null): void {
  const loadAtEnd = os.loadavg();
  const cpuAtEnd = cpuSnapshot();
  console.log(`\nload average ${fmtLoad(loadAtEnd)} at the end (the bench's own processes count too)`);
  if (cpuAtStart && cpuAtEnd && cpuAtEnd.total > cpuAtStart.total) {
    const total = cpuAtEnd.total - cpuAtStart.total;
    const pct = (ticks: number) => `${((100 * ticks) / total).toFixed(0)}%`;
    const busy = cpuAtEnd.busy - cpuAtStart.busy;
    const own = cpuAtEnd.own - cpuAtStart.own;
    const irq = cpuAtEnd.irq - cpuAtStart.irq;
    let kernel = 0;
    for (const [pid, ticks] of cpuAtEnd.kernel) kernel += ticks - (cpuAtStart.kernel.get(pid) ?? 0);
    const otherTicks = Math.max(0, busy - own - irq - kernel);
    const other = otherTicks / total;
    console.log(
      `CPU during the run (share of ${availableCores()} cores): ${pct(busy)} busy = ${pct(own)} this bench and its runtime processes + ` +
        `${pct(irq)} interrupts + ${pct(kernel)} kernel threads (namespace teardown, ...) + ${pct(otherTicks)} other processes`,
    );
    if (other > 0.15) {
      console.log(`WARNING: other processes used ${(100 * other).toFixed(0)}% of the CPU during the run: the figures are noisy.`);
    }
  } else if (loadAtStart[0] > 0.5 * availableCores()) {
    // Without /proc accounting, the (lagging) load average is the only hint.
    console.log(
      `WARNING: the machine was busy before the bench started (1-minute load ${loadAtStart[0].toFixed(2)} on ${availableCores()} cores).`,
    );
  }
}
