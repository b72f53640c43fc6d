// What the package is compared with: a hand-written spawn per call, a bare runtime start, a
// persistent NDJSON worker over a pipe and piscina worker threads. None is sandboxed.
import { spawn } from "node:child_process";
import path from "node:path";
import { Piscina } from "piscina";
import { bareArgs, BENCH_DIR, CALL_TIMEOUT_MS, CLEAN_ENV, scriptArgs, TOOL_ID } from "./settings";
import type { CallFn } from "./measure";
import { cleanups, track } from "./resources";

export function checkResult(result: unknown, n: number): void {
  const r = result as { ok?: unknown; n?: unknown } | null;
  if (!r || r.ok !== true || r.n !== n) throw new Error(`unexpected tool result: ${JSON.stringify(result)}`);
}

/** Spawns the runtime on a script that reads one JSON line and answers one; awaits result and exit. */
export function handSpawnCall(binary: string, script: string): CallFn {
  return (i) =>
    new Promise<void>((resolve, reject) => {
      const child = track(spawn(binary, [...scriptArgs(binary), script], { env: CLEAN_ENV, stdio: ["pipe", "pipe", "pipe"] }));
      let out = "";
      let err = "";
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        reject(new Error(`hand-written spawn timed out after ${CALL_TIMEOUT_MS} ms; stderr: ${err}`));
      }, CALL_TIMEOUT_MS);
      child.stdout!.setEncoding("utf8").on("data", (d: string) => (out += d));
      child.stderr!.setEncoding("utf8").on("data", (d: string) => (err += d));
      child.once("error", (e) => {
        clearTimeout(timer);
        reject(e);
      });
      child.once("close", (code, signal) => {
        clearTimeout(timer);
        if (code !== 0) return reject(new Error(`child exited with ${code ?? signal}; stderr: ${err}`));
        try {
          checkResult(JSON.parse(out), i);
          resolve();
        } catch (e) {
          reject(e);
        }
      });
      child.stdin!.end(JSON.stringify({ toolId: TOOL_ID, input: { n: i } }) + "\n");
    });
}

/** `<runtime> -e 0`, spawned and awaited. */
export function bareStartCall(binary: string): CallFn {
  return () =>
    new Promise<void>((resolve, reject) => {
      const child = track(spawn(binary, bareArgs(binary), { env: CLEAN_ENV, stdio: "ignore" }));
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        reject(new Error(`bare start timed out after ${CALL_TIMEOUT_MS} ms`));
      }, CALL_TIMEOUT_MS);
      child.once("error", (e) => {
        clearTimeout(timer);
        reject(e);
      });
      child.once("exit", (code, signal) => {
        clearTimeout(timer);
        if (code !== 0) reject(new Error(`${binary} -e 0 exited with ${code ?? signal}`));
        else resolve();
      });
    });
}

/** One persistent process speaking newline-delimited JSON over its stdin/stdout; calls may overlap. */
export async function startRawWorker(binary: string): Promise<{ call: CallFn; pid: number | undefined }> {
  const child = track(
    spawn(binary, [...scriptArgs(binary), path.join(BENCH_DIR, "raw-worker.mjs")], { env: CLEAN_ENV, stdio: ["pipe", "pipe", "pipe"] }),
  );
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let buf = "";
  let err = "";
  let dead: Error | null = null;
  child.stdout!.setEncoding("utf8").on("data", (d: string) => {
    buf += d;
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const msg = JSON.parse(buf.slice(0, nl)) as { id: number; result?: unknown; error?: string };
      buf = buf.slice(nl + 1);
      const p = pending.get(msg.id);
      pending.delete(msg.id);
      if (!p) continue;
      if (msg.error !== undefined) p.reject(new Error(msg.error));
      else p.resolve(msg.result);
    }
  });
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (err += d));
  const onGone = (why: string) => {
    dead = new Error(`raw worker ${why}; stderr: ${err}`);
    for (const p of pending.values()) p.reject(dead);
    pending.clear();
  };
  child.once("error", (e) => onGone(`failed: ${e.message}`));
  child.once("exit", (code, signal) => onGone(`exited with ${code ?? signal}`));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const timer = setTimeout(() => child.kill("SIGKILL"), 2000);
        child.once("exit", () => {
          clearTimeout(timer);
          resolve();
        });
        child.stdin!.end();
      }),
  );
  let seq = 0;
  const call: CallFn = async (i) => {
    if (dead) throw dead;
    const id = ++seq;
    const result = await new Promise<unknown>((resolve, reject) => {
      pending.set(id, { resolve, reject });
      child.stdin!.write(JSON.stringify({ id, toolId: TOOL_ID, input: { n: i } }) + "\n");
    });
    checkResult(result, i);
  };
  await call(0); // the process is up and the tools file is loaded before timing starts
  return { call, pid: child.pid };
}

/** A piscina pool of `threads` worker threads in this process, and a way to destroy it early. */
export async function startPiscina(threads: number): Promise<{ call: CallFn; destroy: () => Promise<void> }> {
  const pool = new Piscina({ filename: path.join(BENCH_DIR, "piscina-worker.mjs"), minThreads: threads, maxThreads: threads });
  let destroyed: Promise<void> | null = null;
  const destroy = () => (destroyed ??= pool.destroy());
  cleanups.push(destroy);
  const call: CallFn = async (i) => {
    checkResult(await pool.run({ toolId: TOOL_ID, input: { n: i } }), i);
  };
  await Promise.all(Array.from({ length: threads }, (_, i) => call(i)));
  return { call, destroy };
}
