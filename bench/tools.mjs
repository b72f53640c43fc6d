// Tools for bench/bench.ts: every export is a tool `(input, config, context) => result`.

/** The trivial tool every bench row calls. */
export function trivial(input) {
  return { ok: true, n: input.n };
}
