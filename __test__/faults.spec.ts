// Tools that misbehave at the process level, on bun and node: each case must end in exactly one
// typed error (or, where the tool did return, its result), leave no process behind, and leave the
// host serving calls. Tools: fixtures/faults.mjs. Every call carries a marker in its env, so its
// processes can be found in /proc afterwards.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { AbortError, ProcessError, type Runtime, type RuntimeType, TimeoutError, ToolExecutionError, ValidationError } from "tool-runtime";
import { BUN, DENO, RUNTIMES, sleep, tempDir, waitFor, zombieChildren, crashSignal } from "./helpers";
import { faultsRuntime, isTyped, newMarker, opts, rejection, waitMarkerGone, withMetrics, withRssPeak } from "./proc-helpers";

const MiB = 1024 * 1024;

/** The runtime still answers a plain call. */
async function assertHealthy(rt: Runtime, id: string) {
  assert.deepEqual(await rt.executeTool("greet", `healthy-${id}`, { name: id }), { message: `Hello, ${id}!` });
}

/** Runs `call` with a fresh marker in its env; returns the rejection, elapsed time and the marker. */
async function failing(
  call: (env: Record<string, string>) => Promise<unknown>,
  tag: string,
): Promise<{ e: any; ms: number; marker: string }> {
  const marker = newMarker(tag);
  const t0 = performance.now();
  const e = await rejection(call({ TR_MARK: marker }));
  const ms = performance.now() - t0;
  assert.ok(isTyped(e), `${tag}: not a typed error: ${e && e.stack}`);
  return { e, ms, marker };
}

/**
 * Deno's node:fs reaches only the files deno opened (its own resources), and a second socket on
 * fd 3 is refused (EEXIST) while the harness holds one: a deno tool cannot write on, or close,
 * the result channel, so these faults end as the tool's own EBADF error.
 */
function assertChannelOutOfReach(e: any) {
  assert.equal(e.code, "ERR_TOOL_FAILED", e.message);
  assert.match(e.message, /EBADF|Bad file descriptor/);
}

for (const runtimeType of RUNTIMES) {
  describe(`faults on ${runtimeType}`, () => {
    // How long a call runs before it is timed out or aborted: long enough that it has started
    // (deno's cold start passed 300 ms on a loaded 2-core machine).
    const runs = runtimeType === "deno" ? 1500 : 300;
    let rt: Runtime;
    before(async () => {
      rt = await faultsRuntime({ runtimeType, maxStderrBytes: 64 * 1024 });
    });
    after(async () => {
      await rt.close();
    });

    it("a segfault ends in ProcessError with signal SIGSEGV", async () => {
      const { e, marker } = await failing((env) => rt.executeTool("segfault", "sg-1", {}, env), "segv");
      assert.ok(e instanceof ProcessError);
      assert.equal(e.code, "ERR_PROCESS_EXITED");
      assert.equal(e.signal, crashSignal(runtimeType));
      assert.equal(e.exitCode, null);
      assert.deepEqual(await waitMarkerGone(marker), []);
      await assertHealthy(rt, "segv");
    });

    it("process.abort() ends in ProcessError with signal SIGABRT", async () => {
      const { e, marker } = await failing((env) => rt.executeTool("aborts", "ab-1", {}, env), "abrt");
      assert.ok(e instanceof ProcessError);
      assert.equal(e.code, "ERR_PROCESS_EXITED");
      assert.equal(e.signal, "SIGABRT");
      assert.deepEqual(await waitMarkerGone(marker), []);
      await assertHealthy(rt, "abrt");
    });

    it("exiting in the middle of writing its result frame ends in a typed error", async (t) => {
      const { e, marker } = await failing((env) => rt.executeTool("partialFrame", "pf-1", {}, env), "partial");
      if (runtimeType === "deno") assertChannelOutOfReach(e);
      else assert.ok(["ERR_INVALID_OUTPUT", "ERR_PROCESS_EXITED"].includes(e.code), e.code);
      t.diagnostic(`${runtimeType}: ${e.code}: ${e.message}`);
      assert.deepEqual(await waitMarkerGone(marker), []);
      await assertHealthy(rt, "partial");
    });

    it("garbage on the result channel ends in ERR_INVALID_OUTPUT and the process is killed", async () => {
      const { e, marker } = await failing((env) => rt.executeTool("garbage", "gb-1", {}, env), "garbage");
      if (runtimeType === "deno") assertChannelOutOfReach(e);
      else {
        assert.ok(e instanceof ValidationError);
        assert.equal(e.code, "ERR_INVALID_OUTPUT");
      }
      assert.deepEqual(await waitMarkerGone(marker), []);
      await assertHealthy(rt, "garbage");
    });

    it("closing the result channel and running on ends in a typed error before the timeout, and the process is gone", async (t) => {
      const { e, ms, marker } = await failing(
        (env) => rt.executeToolWithTimeout("closeChannel", "cc-1", {}, env, 60_000),
        "closefd",
      );
      t.diagnostic(`${runtimeType}: ${e.code} after ${ms.toFixed(0)} ms`);
      if (runtimeType === "deno") assertChannelOutOfReach(e);
      // The tool never returns: only noticing the closed channel ends the call before its timeout.
      assert.notEqual(e.code, "ERR_TOOL_TIMEOUT", e.message);
      assert.deepEqual(await waitMarkerGone(marker), []);
      await assertHealthy(rt, "closefd");
    });

    it("a tool that returns but keeps its event loop alive answers, and its process is gone after", async () => {
      const marker = newMarker("alive");
      // The interval never ends: waiting for the process to exit would end in the timeout.
      assert.deepEqual(await rt.executeToolWithTimeout("keepsAlive", "ka-1", {}, { TR_MARK: marker }, 5000), { returned: true });
      assert.deepEqual(await waitMarkerGone(marker), []);
    });

    it("a tool ignoring SIGTERM times out with TimeoutError and is killed after the grace period", async () => {
      const { e, ms, marker } = await failing(
        (env) => rt.executeToolWithTimeout("ignoresTerm", "it-1", {}, env, runs),
        "noterm",
      );
      assert.ok(e instanceof TimeoutError, String(e));
      assert.equal(e.code, "ERR_TOOL_TIMEOUT");
      assert.equal(e.timeoutMs, runs);
      assert.ok(ms >= runs - 10, `rejected after ${ms.toFixed(0)} ms, before its ${runs} ms deadline`);
      // It ignores SIGTERM and never returns: only the kill after the grace period ends it.
      assert.deepEqual(await waitMarkerGone(marker), [], "the process outlived the grace period");
      // It ran: the timeout hit a started call.
      assert.equal(e.started, true, "a call that ran reports started=false");
      await assertHealthy(rt, "noterm");
    });

    it("aborting a running call ends in AbortError with started=true, and the process is gone", async () => {
      const ac = new AbortController();
      const marker = newMarker("abort");
      const p = rejection(rt.executeTool("sleeps", "ar-1", { ms: 5000 }, { TR_MARK: marker }, { signal: ac.signal }));
      await sleep(runs);
      ac.abort();
      const e = await p;
      assert.ok(e instanceof AbortError, String(e));
      assert.equal(e.code, "ERR_ABORTED");
      assert.deepEqual(await waitMarkerGone(marker), []);
      assert.equal(e.started, true, `a call that ran ${runs} ms reports started=false`);
    });

    it("printing 1 GiB to stdout and to stderr neither blocks nor buffers: the result arrives and the bytes are counted", async () => {
      const { value, baseMb, peakMb } = await withRssPeak(() =>
        withMetrics(rt.executeToolWithTimeout("flood", "fl-1", { mb: 1024 }, {}, 20_000, opts({ metrics: true }))),
      );
      assert.deepEqual(value.result, { printedMb: 1024 });
      assert.equal(value.metrics.stdoutBytes, 1024 * MiB);
      assert.equal(value.metrics.stderrBytes, 1024 * MiB);
      assert.ok(peakMb - baseMb < 100, `host RSS grew from ${baseMb.toFixed(0)} to ${peakMb.toFixed(0)} MB`);
    });

    it("after printing 1 GiB and exiting, the error keeps at most maxStderrBytes of each stream", async () => {
      const { e, marker } = await failing(
        (env) => rt.executeToolWithTimeout("flood", "fl-2", { mb: 1024, exit: true }, env, 20_000),
        "flood",
      );
      assert.ok(e instanceof ProcessError);
      assert.equal(e.code, "ERR_PROCESS_EXITED");
      assert.equal(e.exitCode, 1);
      assert.ok(e.stderr !== null && e.stderr.length > 0 && e.stderr.length <= 64 * 1024, `stderr ${e.stderr?.length}`);
      assert.ok(e.stdout !== null && e.stdout.length <= 64 * 1024, `stdout ${e.stdout?.length}`);
      assert.match(e.stderr, /^e+$/);
      assert.deepEqual(await waitMarkerGone(marker), []);
    });

    it("a 100 MB result is refused with ERR_OUTPUT_TOO_LARGE without ballooning the host", async () => {
      const { value, baseMb, peakMb } = await withRssPeak(() =>
        failing((env) => rt.executeToolWithTimeout("bigResult", "br-1", { mb: 100 }, env, 20_000), "bigresult"),
      );
      const { e, marker } = value;
      assert.ok(e instanceof ToolExecutionError);
      assert.equal(e.code, "ERR_OUTPUT_TOO_LARGE");
      assert.equal(e.limit, 10 * MiB);
      assert.ok(typeof e.size === "number" && e.size > 10 * MiB);
      assert.ok(peakMb - baseMb < 150, `host RSS grew from ${baseMb.toFixed(0)} to ${peakMb.toFixed(0)} MB`);
      assert.deepEqual(await waitMarkerGone(marker), []);
      await assertHealthy(rt, "bigresult");
    });

    it("a syntax error, a throw at import and a missing entrypoint end in ERR_ENTRYPOINT_FAILED", async () => {
      for (const entrypointPath of ["syntax-error.mjs", "throws-at-import.mjs", "does-not-exist.mjs"]) {
        const broken = await faultsRuntime({ runtimeType, entrypointPath });
        try {
          const { e } = await failing((env) => broken.executeTool("anything", "ep-1", {}, env), entrypointPath);
          assert.ok(e instanceof ProcessError, entrypointPath);
          assert.equal(e.code, "ERR_ENTRYPOINT_FAILED", entrypointPath);
        } finally {
          await broken.close();
        }
      }
    });

    it("a runtime binary that disappears between calls ends in ERR_RUNTIME_UNAVAILABLE, without hanging", async () => {
      const dir = tempDir("tr-vanish-");
      const copy = path.join(dir, runtimeType);
      fs.copyFileSync(runtimeType === "bun" ? BUN : runtimeType === "deno" ? DENO : process.execPath, copy);
      fs.chmodSync(copy, 0o755);
      const vanishing = await faultsRuntime({ runtimeType: runtimeType as RuntimeType, runtimePath: copy, sandbox: "off" });
      try {
        assert.deepEqual(await vanishing.executeTool("greet", "rb-1", { name: "x" }), { message: "Hello, x!" });
        fs.rmSync(copy);
        const { e } = await failing((env) => vanishing.executeTool("greet", "rb-2", { name: "x" }, env), "vanish");
        assert.ok(e instanceof ProcessError, String(e));
        assert.equal(e.code, "ERR_RUNTIME_UNAVAILABLE", e.message);
      } finally {
        await vanishing.close();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    it("still serves calls after all of the above, with no zombie left", async () => {
      await assertHealthy(rt, "end");
      await waitFor(() => zombieChildren().length === 0, "no zombie children");
    });
  });
}
