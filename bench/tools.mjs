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
