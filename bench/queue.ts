// `npm run bench:queue`: what tool-runtime/queue costs and gives on this machine, in one run.
// A real redis-server on a loopback port and worker processes from lib/queue/run-worker.js,
// each running cold sandboxed bun calls of bench/tools.mjs's trivial tool:
// - throughput of 1 worker against 3 (all calls submitted at once), as calls/s and the ratio;
// - the queue's added latency per call: sequential calls through 1 worker against the same
//   calls on a local Runtime of the same configuration (medians, and the difference).
import path from "node:path";
import { RuntimeFactory, configFromEnv, newId } from "tool-runtime";
import { createToolClient } from "tool-runtime/queue";
import { Redis, WorkerProcess, randomKey } from "../__test__/queue-helpers";
import { quantile } from "./stats";

const CALLS = Number(process.env.QUEUE_BENCH_CALLS ?? 300);
const SEQUENTIAL = Number(process.env.QUEUE_BENCH_SEQUENTIAL ?? 60);
const BENCH = __dirname;

function median(xs: number[]): number {
  return quantile([...xs].sort((a, b) => a - b), 0.5);
}

async function fleet(redis: Redis, key: string, queue: string, n: number): Promise<WorkerProcess[]> {
  const env = { TOOL_RUNTIME_REDIS_URL: redis.url, TOOL_RUNTIME_QUEUE: queue, TOOL_RUNTIME_QUEUE_KEY: key, COMPOZY_ENTRYPOINT: "tools.mjs" };
  return Promise.all(Array.from({ length: n }, () => WorkerProcess.start(env, BENCH)));
}

async function throughput(redis: Redis, key: string, workers: number): Promise<number> {
  const queue = `bench-${workers}-${newId()}`;
  const procs = await fleet(redis, key, queue, workers);
  const client = await createToolClient({ connection: redis.connection, queue, key, timeoutMs: 600_000 });
  try {
    await Promise.all(Array.from({ length: 10 }, (_, n) => client.executeTool("trivial", newId(), { n })));
    const t0 = performance.now();
    await Promise.all(Array.from({ length: CALLS }, (_, n) => client.executeTool("trivial", newId(), { n })));
    return CALLS / ((performance.now() - t0) / 1000);
  } finally {
    await client.close();
    await Promise.all(procs.map((p) => p.kill("SIGTERM")));
  }
}

async function latency(redis: Redis, key: string): Promise<{ local: number[]; queued: number[] }> {
  const queue = `latency-${newId()}`;
  const [proc] = await fleet(redis, key, queue, 1);
  const client = await createToolClient({ connection: redis.connection, queue, key });
  const runtime = await new RuntimeFactory(BENCH).createRuntime({ ...configFromEnv({}), entrypointPath: "tools.mjs" });
  const local: number[] = [];
  const queued: number[] = [];
  try {
    for (let i = 0; i < SEQUENTIAL + 5; i += 1) {
      // Interleaved, so that both see the same machine load.
      let t = performance.now();
      await runtime.executeTool("trivial", newId(), { n: i });
      if (i >= 5) local.push(performance.now() - t);
      t = performance.now();
      await client.executeTool("trivial", newId(), { n: i });
      if (i >= 5) queued.push(performance.now() - t);
    }
    return { local, queued };
  } finally {
    await runtime.close();
    await client.close();
    await proc.kill("SIGTERM");
  }
}

(async () => {
  const redis = await Redis.start();
  const key = randomKey();
  try {
    const one = await throughput(redis, key, 1);
    const three = await throughput(redis, key, 3);
    const { local, queued } = await latency(redis, key);
    const [ml, mq] = [median(local), median(queued)];
    console.log(`tool-runtime/queue on this machine (cold sandboxed bun calls, ${CALLS} calls in flight, ${SEQUENTIAL} sequential)\n`);
    console.log("| row | value |");
    console.log("| --- | ---: |");
    console.log(`| 1 worker, throughput | ${one.toFixed(1)} calls/s |`);
    console.log(`| 3 workers, throughput | ${three.toFixed(1)} calls/s |`);
    console.log(`| 3 workers vs 1 | ${(three / one).toFixed(2)}x |`);
    console.log(`| local executeTool, sequential, median | ${ml.toFixed(2)} ms |`);
    console.log(`| through the queue (1 worker), sequential, median | ${mq.toFixed(2)} ms |`);
    console.log(`| added by the queue, per call (median difference) | ${(mq - ml).toFixed(2)} ms |`);
  } finally {
    await redis.down();
  }
})();
