// Cold calls A/B, interleaved call by call so drift on a busy machine hits every side alike:
// the strict sandbox (with a PID namespace per call), the same sandbox without the PID namespace
// (best-effort, TOOL_RUNTIME_PRETEND_MISSING=pidns while the runtime is created) and no sandbox.
//
//   node --import tsx bench/cold-ab.ts        (after `npm run build`; BENCH_ITERATIONS=N, default 60)
import path from "node:path";
import { performance } from "node:perf_hooks";
import { RuntimeFactory } from "tool-runtime";

const N = Number(process.env.BENCH_ITERATIONS ?? 60);
const factory = new RuntimeFactory(path.join(__dirname));

function stats(ms: number[]): string {
  const s = [...ms].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return `median ${q(0.5).toFixed(2)} ms, p10 ${q(0.1).toFixed(2)}, p90 ${q(0.9).toFixed(2)}`;
}

async function main(): Promise<void> {
  for (const runtimeType of ["bun", "node"] as const) {
    const base = { runtimeType, entrypointPath: "tools.mjs", toolExecutionTimeoutMs: 30_000 };
    const withPidns = await factory.createRuntime({ ...base, sandbox: "strict" });
    process.env.TOOL_RUNTIME_PRETEND_MISSING = "pidns";
    const withoutPidns = await factory.createRuntime({ ...base, sandbox: "best-effort" });
    delete process.env.TOOL_RUNTIME_PRETEND_MISSING;
    const off = await factory.createRuntime({ ...base, sandbox: "off" });
    if (!withPidns.sandbox.otherProcesses.includes("pid-namespace") || withoutPidns.sandbox.otherProcesses.includes("pid-namespace")) {
      throw new Error("the A/B sides do not differ by the PID namespace");
    }
    const sides = [
      { name: "sandboxed, PID namespace", rt: withPidns, ms: [] as number[] },
      { name: "sandboxed, no PID namespace", rt: withoutPidns, ms: [] as number[] },
      { name: "sandbox off", rt: off, ms: [] as number[] },
    ];
    for (let i = -3; i < N; i++) {
      // Rotating order: no side always runs first after the others.
      for (let k = 0; k < sides.length; k++) {
        const side = sides[(i + 3 + k) % sides.length];
        const t0 = performance.now();
        await side.rt.executeTool("trivial", `ab-${i}-${k}`, { n: i });
        if (i >= 0) side.ms.push(performance.now() - t0);
      }
    }
    const median = (ms: number[]) => [...ms].sort((a, b) => a - b)[Math.floor(ms.length / 2)];
    for (const s of sides) console.log(`${runtimeType} cold, ${s.name}: ${stats(s.ms)} (${s.ms.length} calls)`);
    const [a, b, c] = sides.map((s) => median(s.ms));
    console.log(`${runtimeType}: PID namespace costs ${(a - b).toFixed(2)} ms a call; sandboxed/off ${(a / c).toFixed(2)}x (without it ${(b / c).toFixed(2)}x)`);
    for (const s of sides) await s.rt.close();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
