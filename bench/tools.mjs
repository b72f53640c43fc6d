// Tools for bench/bench.ts: every export is a tool `(input, config, context) => result`.

/** The trivial tool every bench row calls. */
export function trivial(input) {
  return { ok: true, n: input.n };
}

/** One HTTP GET to `input.url` (the bench's loopback server, which answers "ok"). */
export async function httpGet(input) {
  const res = await fetch(input.url);
  const body = await res.text();
  return { ok: res.status === 200 && body === "ok", n: input.n, status: res.status };
}

/** `input.n` sequential host function round trips, each timed inside the tool (ms). */
export async function hostLoop(input, _config, { host }) {
  const samples = [];
  for (let i = 0; i < input.n; i++) {
    const t0 = performance.now();
    await host.echo({ i });
    samples.push(performance.now() - t0);
  }
  return { samples };
}

/** One host function round trip, then the trivial result. */
export async function oneHost(input, _config, { host }) {
  await host.echo({ n: input.n });
  return { ok: true, n: input.n };
}
