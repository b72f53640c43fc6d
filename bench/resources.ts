// Every child process, runtime and server the bench starts is tracked, so that it is gone at the
// end even when a row fails.
import type { ChildProcess } from "node:child_process";
import type { Runtime } from "tool-runtime";
import { describeError } from "./measure";

export const children = new Set<ChildProcess>();
export const runtimes: Runtime[] = [];
export const cleanups: (() => Promise<void>)[] = [];

export function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once("close", () => children.delete(child));
  return child;
}

/** Closes a runtime now (its pool would otherwise keep processes and a manager task alive). */
export async function closeRuntime(rt: Runtime | undefined): Promise<void> {
  if (!rt) return;
  const i = runtimes.indexOf(rt);
  if (i >= 0) runtimes.splice(i, 1);
  try {
    await rt.close();
  } catch (e) {
    console.error("runtime close failed:", describeError(e));
  }
}

export async function cleanup(): Promise<void> {
  for (const c of cleanups.splice(0)) {
    try {
      await c();
    } catch (e) {
      console.error("cleanup failed:", describeError(e));
    }
  }
  for (const rt of [...runtimes]) await closeRuntime(rt);
  const left = [...children];
  await Promise.all(
    left.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          c.once("exit", () => resolve());
          c.kill("SIGKILL");
        }),
    ),
  );
}
