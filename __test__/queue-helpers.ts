// Real parts for the queue tests: Debian's redis-server on a free loopback port, and worker
// processes started from the documented script (lib/queue/run-worker.js).
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import readline from "node:readline";
import { FIXTURES, sleep, tempDir, waitFor } from "./helpers";

export const RUN_WORKER = path.join(__dirname, "..", "lib", "queue", "run-worker.js");

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

export function redisServerPath(): string {
  try {
    return execFileSync("sh", ["-c", "command -v redis-server"], { encoding: "utf8" }).trim();
  } catch {
    throw new Error("redis-server is not installed: apt-get install -y redis-server (.ci/run does it)");
  }
}

/** A redis-server of our own, no persistence, on a loopback port; `restart` keeps the port. */
export class Redis {
  child: ChildProcess | null = null;
  /** Where `SAVE` writes dump.rdb. */
  readonly dir = tempDir("tr-redis-");
  private constructor(readonly port: number) {}

  static async start(): Promise<Redis> {
    const r = new Redis(await freePort());
    await r.up();
    return r;
  }

  get connection() {
    return { host: "127.0.0.1", port: this.port };
  }

  get url() {
    return `redis://127.0.0.1:${this.port}`;
  }

  async up(): Promise<void> {
    const child = spawn(redisServerPath(), [
      ...["--save", "", "--appendonly", "no", "--port", String(this.port), "--bind", "127.0.0.1", "--dir", this.dir],
      // Uncompressed, so that a byte scan of a dump sees every string Redis holds.
      ...["--rdbcompression", "no"],
    ], {
      stdio: "ignore",
    });
    this.child = child;
    let up = false;
    while (!up) {
      if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`);
      up = await accepts(this.port);
      if (!up) await sleep(20);
    }
  }

  /** SIGKILL: whatever Redis held is gone, as after a crash. */
  async down(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGKILL");
    await exited;
    this.child = null;
  }
}

export function randomKey(): string {
  return crypto.randomBytes(32).toString("base64");
}

/** A worker process running lib/queue/run-worker.js against the fixtures' queue-tools.mjs. */
export class WorkerProcess {
  id = "";
  /** QUEUE_WORKER_TAG of this worker, when the test gave it one. */
  tag = "";
  private constructor(readonly child: ChildProcess) {}

  /** `args`: the script and its arguments (default: run-worker.js; the CLI's `worker` works the same). */
  static async start(env: Record<string, string>, cwd = FIXTURES, args: string[] = [RUN_WORKER]): Promise<WorkerProcess> {
    const child = spawn(process.execPath, args, {
      cwd,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", COMPOZY_ENTRYPOINT: "queue-tools.mjs", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const w = new WorkerProcess(child);
    w.tag = env.QUEUE_WORKER_TAG ?? "";
    // A worker killed mid-call may leave its pipes open a while in what it started: the test
    // is done with them once it exited.
    child.once("exit", () => {
      child.stdout!.destroy();
      child.stderr!.destroy();
    });
    let stderr = "";
    child.stderr!.on("data", (d) => (stderr += d));
    const lines = readline.createInterface({ input: child.stdout! });
    const ready = new Promise<void>((resolve, reject) => {
      lines.once("line", (line) => {
        w.id = JSON.parse(line).ready;
        resolve();
      });
      child.once("exit", (code) => reject(new Error(`worker exited with ${code} before it was ready: ${stderr}`)));
    });
    await ready;
    return w;
  }

  get pid(): number {
    return this.child.pid!;
  }

  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  async kill(signal: NodeJS.Signals): Promise<void> {
    if (this.exited) return;
    const gone = new Promise((r) => this.child.once("exit", r));
    this.child.kill(signal);
    await gone;
  }
}

/** Every value in Redis, whatever the type of its key, as text (what a reader of a dump sees). */
export async function everyValue(redis: import("ioredis").default): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "COUNT", 1000);
    cursor = next;
    for (const key of keys) {
      const type = await redis.type(key);
      let text: string;
      if (type === "string") text = (await redis.get(key)) ?? "";
      else if (type === "hash") text = JSON.stringify(await redis.hgetall(key));
      else if (type === "list") text = JSON.stringify(await redis.lrange(key, 0, -1));
      else if (type === "set") text = JSON.stringify(await redis.smembers(key));
      else if (type === "zset") text = JSON.stringify(await redis.zrange(key, "0", "-1", "WITHSCORES"));
      else if (type === "stream") text = JSON.stringify(await redis.xrange(key, "-", "+"));
      else text = `(type ${type})`;
      out.set(key, text);
    }
  } while (cursor !== "0");
  return out;
}

/** The ids the `record` tool logged, in order (one per run). */
export function runs(log: string): string[] {
  return logLines(log).map((l) => l.id);
}

export function logLines(log: string): { id: string; worker: string; pid: number }[] {
  let text = "";
  try {
    text = fs.readFileSync(log, "utf8");
  } catch {
    return [];
  }
  return text
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      const [id, worker, pid] = line.split(" ");
      return { id, worker, pid: Number(pid) };
    });
}

export { waitFor };

/** Host pids of the processes that hold `file` open (found through /proc/<pid>/fd). */
export function holdersOf(file: string): number[] {
  const out: number[] = [];
  for (const pid of fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    let fds: string[];
    try {
      fds = fs.readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    if (fds.some((fd) => {
      try {
        return fs.readlinkSync(`/proc/${pid}/fd/${fd}`) === file;
      } catch {
        return false;
      }
    })) out.push(Number(pid));
  }
  return out;
}
