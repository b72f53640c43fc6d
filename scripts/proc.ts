// Readers of /proc shared by the tests, the soak and the bench: process state, parents, trees,
// markers, resident memory, fds, threads and CPU ticks. Every reader tolerates a process that
// is gone by the time its file is read (it then counts as absent).
import fs from "node:fs";

export type Pid = number | "self";

/** Fields of /proc/<pid>/stat from field 3 (state) on, as text: field k is at index k - 3. */
function statRest(pid: Pid): string[] | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // "pid (comm) state ppid ...": comm may contain spaces and parentheses.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return null;
  }
}

export interface ProcStat {
  state: string;
  ppid: number;
  /** Fields from 3 on as numbers (the state is NaN): field k is at index k - 3. */
  fields: number[];
}

export function statOf(pid: Pid): ProcStat | null {
  const rest = statRest(pid);
  return rest ? { state: rest[0], ppid: Number(rest[1]), fields: rest.map(Number) } : null;
}

/** Every process id in /proc now. */
export function allPids(): number[] {
  return fs
    .readdirSync("/proc")
    .filter((e) => /^\d+$/.test(e))
    .map(Number);
}

/** Whether a process exists and is not a zombie. */
export function processAlive(pid: number): boolean {
  const state = statRest(pid)?.[0];
  return state !== undefined && state !== "Z" && state !== "X";
}

/** Direct children of `parent` (this process by default), and those of them that are zombies. */
export function childrenOf(parent = process.pid): { all: number[]; zombies: number[] } {
  const all: number[] = [];
  const zombies: number[] = [];
  for (const pid of allPids()) {
    const st = statOf(pid);
    if (!st || st.ppid !== parent) continue;
    all.push(pid);
    if (st.state === "Z") zombies.push(pid);
  }
  return { all, zombies };
}

/** Direct children of this process that are zombies. */
export function zombieChildren(): number[] {
  return childrenOf().zombies;
}

function readText(file: string): string {
  try {
    return fs.readFileSync(file, "latin1");
  } catch {
    return "";
  }
}

/**
 * Live processes (not zombies, not this one) whose command line, or with `environ` their
 * environment, contains `marker`.
 */
export function processesWithMarker(marker: string, { environ = true } = {}): number[] {
  return allPids().filter(
    (pid) =>
      pid !== process.pid &&
      (readText(`/proc/${pid}/cmdline`).includes(marker) || (environ && readText(`/proc/${pid}/environ`).includes(marker))) &&
      processAlive(pid),
  );
}

/** Live processes whose real user id is `uid`. */
export function processesOfUser(uid: number): number[] {
  return allPids().filter((pid) => {
    const m = /^Uid:\s+(\d+)/m.exec(readText(`/proc/${pid}/status`));
    return m !== null && Number(m[1]) === uid && processAlive(pid);
  });
}

/** `pid` and every descendant, from the parent ids in /proc/<pid>/stat. */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const p of allPids()) {
    const st = statOf(p);
    if (!st) continue;
    const list = children.get(st.ppid) ?? [];
    list.push(p);
    children.set(st.ppid, list);
  }
  const out: number[] = [];
  const todo = [pid];
  while (todo.length > 0) {
    const p = todo.pop()!;
    out.push(p);
    todo.push(...(children.get(p) ?? []));
  }
  return out;
}

export function vmRssKb(pid: Pid): number | null {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readText(`/proc/${pid}/status`));
  return m ? Number(m[1]) : null;
}

/** VmRSS summed over `pid`'s process tree, and how many of its processes could be read. */
export function treeRssKb(pid: number): { kb: number; processes: number } {
  let kb = 0;
  let processes = 0;
  for (const p of processTree(pid)) {
    const v = vmRssKb(p);
    if (v === null) continue;
    kb += v;
    processes++;
  }
  return { kb, processes };
}

export function fdCount(pid: Pid = "self"): number {
  return fs.readdirSync(`/proc/${pid}/fd`).length;
}

export function threadCount(pid: Pid = "self"): number {
  return fs.readdirSync(`/proc/${pid}/task`).length;
}

export interface CpuSnapshot {
  total: number;
  busy: number;
  /** Interrupt handling (loopback TCP is mostly softirq), charged to no process. */
  irq: number;
  /** This process and the children it has reaped (every runtime process once closed). */
  own: number;
  /** Kernel threads (children of kthreadd), e.g. the workers tearing down network namespaces. */
  kernel: Map<number, number>;
}

/** CPU ticks, machine-wide and by whom, or null where /proc cannot tell. */
export function cpuSnapshot(): CpuSnapshot | null {
  try {
    // "cpu  user nice system idle iowait irq softirq steal guest guest_nice" (guest is in user).
    const v = fs.readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1, 9).map(Number);
    const total = v.reduce((a, b) => a + b, 0);
    const self = statOf("self");
    if (!self) return null;
    const f = self.fields; // utime, stime, cutime, cstime are fields 14..17
    const kernel = new Map<number, number>();
    for (const pid of allPids()) {
      const k = statOf(pid)?.fields;
      if (k && (pid === 2 || k[1] === 2)) kernel.set(pid, k[11] + k[12]);
    }
    return { total, busy: total - v[3] - v[4], irq: v[5] + v[6], own: f[11] + f[12] + f[13] + f[14], kernel };
  } catch {
    return null;
  }
}
