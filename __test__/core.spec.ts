// Behaviour of the core API with real bun and node processes.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import {
  AbortError,
  ConfigError,
  ProcessError,
  type Runtime,
  RuntimeFactory,
  TimeoutError,
  ToolExecutionError,
  ValidationError,
  newDefaultFactory,
} from "tool-runtime";
import { BUN, DENO, FIXTURES, RUNTIMES, makeRuntime, processAlive, sleep, tempDir, waitFor, zombieChildren } from "./helpers";
import { newMarker, rejection, waitMarkerGone } from "./proc-helpers";

for (const runtimeType of RUNTIMES) {
  describe(`core on ${runtimeType}`, () => {
    let rt: Runtime;
    // Tools in these tests leave marker files here; the sandbox lets them write nowhere else.
    const markDir = tempDir();
    before(async () => {
      rt = await makeRuntime({ runtimeType, permissions: ["--allow-read", `--allow-write=${markDir}`] });
    });
    after(async () => {
      await rt.close();
    });

    it("reports its runtime type and global timeout", () => {
      assert.equal(rt.runtimeType, runtimeType);
      assert.equal(rt.getGlobalTimeout(), 5000);
    });

    it("runs a named-export tool and returns its object", async () => {
      assert.deepEqual(await rt.executeTool("greet", "g-1", { name: "Ada" }), { message: "Hello, Ada!" });
    });

    it("runs tools that are own properties of the default export, with slashes in their ids", async () => {
      assert.deepEqual(await rt.executeTool("category/tool-name", "d-1", { a: 1 }), { fromDefault: true, input: { a: 1 } });
      assert.deepEqual(await rt.executeTool("math/add", "d-2", { a: 2, b: 3 }), { sum: 5 });
    });

    it("passes input, config and a context with ids and a signal", async () => {
      const out = await rt.executeTool("echo", "ctx-1", { x: [1, "two"] }, {}, { config: { mode: "fast" } });
      assert.deepEqual(out, { input: { x: [1, "two"] }, config: { mode: "fast" }, toolId: "echo", toolExecId: "ctx-1" });
      const noConfig = await rt.executeTool("echo", "ctx-2", {});
      assert.equal(noConfig.config, null);
    });

    it("wraps non-object results and maps undefined to {}", async () => {
      assert.deepEqual(await rt.executeTool("number", "w-1"), { value: 42 });
      assert.deepEqual(await rt.executeTool("text", "w-2"), { value: "plain" });
      assert.deepEqual(await rt.executeTool("list", "w-3"), { value: [1, 2, 3] });
      assert.deepEqual(await rt.executeTool("nullish", "w-4"), { value: null });
      assert.deepEqual(await rt.executeTool("nothing", "w-5"), {});
    });

    it("keeps console noise and stdout writes out of the result", async () => {
      assert.deepEqual(await rt.executeTool("noisy", "n-1"), { clean: true });
    });

    it("returns a 5 MiB result intact", async () => {
      const bytes = 5 * 1024 * 1024;
      const out = (await rt.executeTool("big", "b-1", { bytes })) as { data: string };
      assert.equal(out.data.length, bytes);
    });

    it("rejects a result over maxOutputBytes with ERR_OUTPUT_TOO_LARGE", async () => {
      const small = await makeRuntime({ runtimeType, maxOutputBytes: 1024 });
      try {
        await assert.rejects(small.executeTool("big", "b-2", { bytes: 4096 }), (e: any) => {
          assert.ok(e instanceof ToolExecutionError);
          assert.equal(e.code, "ERR_OUTPUT_TOO_LARGE");
          assert.equal(e.limit, 1024);
          return true;
        });
        assert.deepEqual(await small.executeTool("big", "b-3", { bytes: 100 }), { data: "x".repeat(100) });
      } finally {
        await small.close();
      }
    });

    it("rejects values JSON cannot carry with ERR_INVALID_OUTPUT", async () => {
      for (const tool of ["bigint", "cyclic"]) {
        await assert.rejects(rt.executeTool(tool, "io-1"), (e: any) => {
          assert.ok(e instanceof ValidationError, String(e));
          assert.equal(e.code, "ERR_INVALID_OUTPUT");
          assert.equal(e.toolId, tool);
          return true;
        });
      }
    });

    it("reports a thrown Error as ERR_TOOL_FAILED with its name, message, stack and code", async () => {
      await assert.rejects(rt.executeTool("fails", "f-1"), (e: any) => {
        assert.ok(e instanceof ToolExecutionError);
        assert.equal(e.code, "ERR_TOOL_FAILED");
        assert.equal(e.toolId, "fails");
        assert.equal(e.toolExecId, "f-1");
        const cause = e.cause!;
        assert.equal(cause.name, "TypeError");
        assert.equal(cause.message, "bad input");
        assert.equal(cause.code, "E_BAD_INPUT");
        assert.match(cause.stack ?? "", /bad input/);
        return true;
      });
      await assert.rejects(rt.executeTool("rejects", "f-2"), (e: any) => e.code === "ERR_TOOL_FAILED" && e.cause.name === "RangeError");
    });

    it("reports thrown non-Errors too", async () => {
      await assert.rejects(rt.executeTool("throwsString", "f-3"), (e: any) => {
        assert.equal(e.code, "ERR_TOOL_FAILED");
        assert.equal(e.cause.message, "just a string");
        assert.equal(e.cause.nonError, true);
        return true;
      });
      await assert.rejects(rt.executeTool("throwsObject", "f-4"), (e: any) => {
        assert.equal(e.cause.code, "E_OBJ");
        assert.match(e.cause.message, /E_OBJ/);
        return true;
      });
    });

    it("lists the available tools when one is not found, and never exposes inherited properties", async () => {
      await assert.rejects(rt.executeTool("missing", "m-1"), (e: any) => {
        assert.equal(e.code, "ERR_TOOL_NOT_FOUND");
        assert.ok(e.availableTools.includes("greet"));
        assert.ok(e.availableTools.includes("category/tool-name"));
        assert.match(e.message, /greet/);
        return true;
      });
      for (const inherited of ["constructor", "toString", "hasOwnProperty"]) {
        await assert.rejects(rt.executeTool(inherited, "m-2"), (e: any) => e.code === "ERR_TOOL_NOT_FOUND");
      }
    });

    it("reports a tool that exits or crashes as ProcessError with exit code or signal", async () => {
      await assert.rejects(rt.executeTool("exits", "p-1", { code: 3 }), (e: any) => {
        assert.ok(e instanceof ProcessError);
        assert.equal(e.code, "ERR_PROCESS_EXITED");
        assert.equal(e.exitCode, 3);
        return true;
      });
      // Deno's V8 takes a SIGSEGV sent with kill(2) for its WebAssembly trap handler and carries
      // on, so there the crash is an abort.
      const signal = runtimeType === "deno" ? "SIGABRT" : "SIGSEGV";
      await assert.rejects(rt.executeTool("crashes", "p-2", { signal }), (e: any) => {
        assert.ok(e instanceof ProcessError);
        assert.equal(e.signal, signal);
        return true;
      });
    });

    it("times out a running tool, fires its signal and kills the process", async () => {
      // The timeout has to fire while the tool runs, and a process slower to start than the
      // timeout (node on a busy machine) never runs it: the timeout doubles until one does.
      for (let timeoutMs = 100; ; timeoutMs *= 2) {
        const mark = path.join(markDir, `timed-out-${timeoutMs}`);
        const running = path.join(markDir, `running-${timeoutMs}`);
        const marker = newMarker("timeout");
        const t0 = performance.now();
        const e = await rejection(
          rt.executeToolWithTimeout("sleeps", `t-${timeoutMs}`, { ms: 60_000, markAbort: mark, markStart: running }, { TR_MARK: marker }, timeoutMs),
        );
        const elapsed = performance.now() - t0;
        assert.ok(e instanceof TimeoutError);
        assert.ok(e instanceof ToolExecutionError);
        assert.equal(e.code, "ERR_TOOL_TIMEOUT");
        assert.match(e.message, /timeout/);
        assert.match(e.message, new RegExp(String(timeoutMs)));
        assert.equal(e.timeoutMs, timeoutMs);
        assert.ok(elapsed >= timeoutMs, `rejected after ${elapsed.toFixed(0)} ms, before its ${timeoutMs} ms deadline`);
        // The tool sleeps a minute: only the kill ends it this soon.
        assert.deepEqual(await waitMarkerGone(marker), [], "the timed-out process is still running");
        if (!fs.existsSync(running)) {
          assert.ok(timeoutMs < 10_000, "the tool never started");
          continue;
        }
        // The tool saw its signal fire (it writes the reason's name when aborted).
        // Not just created: written (deno opens and writes in two steps this can fall between).
        await waitFor(() => fs.existsSync(mark) && fs.statSync(mark).size > 0, "the tool's abort mark");
        assert.equal(fs.readFileSync(mark, "utf8"), "TimeoutError");
        return;
      }
    });

    it("kills a grandchild when the call times out: its marker file never appears", async () => {
      const dir = tempDir();
      const marker = path.join(dir, "marker");
      const pidFile = path.join(dir, "pid");
      const wide = await makeRuntime({ runtimeType, permissions: ["--allow-all"] });
      try {
        await assert.rejects(
          wide.executeToolWithTimeout("spawnsGrandchild", "gc-1", { marker, pidFile, ms: 1500 }, {}, 400),
          (e: any) => e.code === "ERR_TOOL_TIMEOUT",
        );
        const pid = Number(fs.readFileSync(pidFile, "utf8"));
        assert.ok(pid > 0);
        await sleep(2000);
        assert.equal(fs.existsSync(marker), false, "the grandchild outlived the timeout");
        // A pid from inside the call's own PID namespace names nothing out here.
        if (!wide.sandbox.otherProcesses.includes("pid-namespace")) assert.equal(processAlive(pid), false);
      } finally {
        await wide.close();
      }
    });

    it("aborts with an already-aborted signal without starting anything", async () => {
      const ac = new AbortController();
      ac.abort();
      await assert.rejects(rt.executeTool("greet", "a-1", { name: "x" }, {}, { signal: ac.signal }), (e: any) => {
        assert.ok(e instanceof AbortError);
        assert.equal(e.name, "AbortError");
        assert.equal(e.code, "ERR_ABORTED");
        assert.equal(e.started, false);
        return true;
      });
    });

    it("aborts a running call, firing the tool's signal", async () => {
      const mark = path.join(markDir, "aborted");
      const running = path.join(markDir, "running-abort");
      const ac = new AbortController();
      const marker = newMarker("abort");
      const p = rt.executeTool("sleeps", "a-2", { ms: 60_000, markAbort: mark, markStart: running }, { TR_MARK: marker }, { signal: ac.signal });
      await waitFor(() => fs.existsSync(running), "the tool to start");
      ac.abort();
      // Unaborted, the tool would resolve (after a minute): the rejection is the abort's doing.
      await assert.rejects(p, (e: any) => e instanceof AbortError && e.code === "ERR_ABORTED");
      // Not just created: written (deno opens and writes in two steps this can fall between).
      await waitFor(() => fs.existsSync(mark) && fs.statSync(mark).size > 0, "the tool's abort mark");
      assert.equal(fs.readFileSync(mark, "utf8"), "AbortError");
      assert.deepEqual(await waitMarkerGone(marker), [], "the aborted process is still running");
    });

    it("runs 20 calls concurrently", async () => {
      const calls = Array.from({ length: 20 }, (_, i) => rt.executeTool("math/add", `c-${i}`, { a: i, b: 1 }));
      const results = await Promise.all(calls);
      assert.deepEqual(
        results.map((r) => r.sum),
        Array.from({ length: 20 }, (_, i) => i + 1),
      );
    });

    it("gives the tool a clean environment with a private temp dir that is removed afterwards", async () => {
      process.env.TOOL_RUNTIME_TEST_SECRET = "leak";
      try {
        const out = (await rt.executeTool("readEnv", "e-1", { names: ["TOOL_RUNTIME_TEST_SECRET", "API_KEY"] }, { API_KEY: "k" })) as any;
        assert.deepEqual(out.env, { TOOL_RUNTIME_TEST_SECRET: null, API_KEY: "k" });
        const base = ["API_KEY", "HOME", "LANG", "PATH", "TMPDIR"];
        if (runtimeType === "bun") base.push("BUN_RUNTIME_TRANSPILER_CACHE_PATH");
        // Deno's cache lives in the call's temp dir (DENO_DIR); it never checks for updates.
        if (runtimeType === "deno") base.push("DENO_DIR", "DENO_NO_UPDATE_CHECK");
        base.sort();
        assert.deepEqual(out.all, base);
      } finally {
        delete process.env.TOOL_RUNTIME_TEST_SECRET;
      }
      const info = (await rt.executeTool("tmpInfo", "e-2")) as { dir: string };
      await waitFor(() => !fs.existsSync(info.dir), "the call's temp dir to be removed");
    });

    it("answers when a tool returns but keeps its event loop alive", async () => {
      // The tool's interval never ends: waiting for its process to exit would end in the timeout.
      assert.deepEqual(await rt.executeToolWithTimeout("keepsAlive", "k-1", {}, {}, 3000), { returned: true });
    });

    it("leaves no zombie children behind", async () => {
      await Promise.allSettled([
        rt.executeTool("greet", "z-1", { name: "a" }),
        rt.executeTool("exits", "z-2", { code: 1 }),
        rt.executeToolWithTimeout("sleeps", "z-3", { ms: 5000 }, {}, 100),
      ]);
      await waitFor(() => zombieChildren().length === 0, "no zombie children");
    });
  });
}

describe("argument validation", () => {
  let rt: Runtime;
  before(async () => {
    rt = await makeRuntime({ runtimeType: "bun" });
  });
  after(async () => {
    await rt.close();
  });

  it("refuses unsafe tool ids before starting anything", async () => {
    for (const id of ["", "/etc/passwd", "../up", "a/../b", "a..b", "tool...name", ".hidden", "a b", "x;y"]) {
      await assert.rejects(rt.executeTool(id, "v-1"), (e: any) => {
        assert.ok(e instanceof ValidationError, `${id}: ${e}`);
        assert.equal(e.code, "ERR_INVALID_ARGUMENT");
        return true;
      });
    }
  });

  it("refuses bad env names, injection variables and values with NUL, CR or LF", async () => {
    const envs: Record<string, string>[] = [
      { lower: "x" },
      { "A-B": "x" },
      { LD_PRELOAD: "/x.so" },
      { NODE_OPTIONS: "--require x" },
      { BUN_OPTIONS: "x" },
      // The harness picks its network shim by this one; the package's own names are refused.
      { TOOL_RUNTIME_PROXY: "http://127.0.0.1:9" },
      { A: "x\ny" },
      { A: "x\ry" },
      { A: "x\0y" },
    ];
    for (const env of envs) {
      await assert.rejects(rt.executeTool("greet", "v-2", { name: "x" }, env), (e: any) => {
        assert.equal(e.code, "ERR_INVALID_ARGUMENT", JSON.stringify(env));
        return true;
      });
    }
  });

  it("refuses inputs JSON cannot carry", async () => {
    await assert.rejects(rt.executeTool("echo", "v-3", { n: 1n }), (e: any) => e instanceof ValidationError);
  });

  it("refuses bad timeouts", async () => {
    for (const t of [0, -1, 1.5, Number.NaN]) {
      await assert.rejects(rt.executeToolWithTimeout("greet", "v-4", {}, {}, t), (e: any) => e.code === "ERR_INVALID_ARGUMENT");
    }
  });
});

describe("entrypoints", () => {
  for (const runtimeType of RUNTIMES) {
    it(`${runtimeType}: a syntax error, a throw at import and a missing file fail at once with ERR_ENTRYPOINT_FAILED`, async () => {
      for (const entrypointPath of ["syntax-error.mjs", "throws-at-import.mjs", "does-not-exist.mjs"]) {
        const rt = await makeRuntime({ runtimeType, entrypointPath });
        try {
          await assert.rejects(rt.executeTool("anything", "ep-1"), (e: any) => {
            assert.ok(e instanceof ProcessError, `${entrypointPath}: ${e}`);
            assert.equal(e.code, "ERR_ENTRYPOINT_FAILED", entrypointPath);
            return true;
          });
        } finally {
          await rt.close();
        }
      }
      const rt = await makeRuntime({ runtimeType, entrypointPath: "throws-at-import.mjs" });
      await assert.rejects(rt.executeTool("x", "ep-2"), (e: any) => {
        assert.match(e.message, /boom at import/);
        assert.match(e.loadError.stack ?? "", /boom at import/);
        return true;
      });
      await rt.close();
    });

    it(`${runtimeType}: a throw at import is not retried as a start failure`, async () => {
      const dir = tempDir();
      const log = path.join(dir, "starts");
      const binary = runtimeType === "bun" ? BUN : runtimeType === "deno" ? DENO : process.execPath;
      const wrapper = path.join(dir, `counting-${runtimeType}`);
      fs.writeFileSync(wrapper, `#!/bin/sh\necho start >> ${log}\nexec ${binary} "$@"\n`, { mode: 0o755 });
      const rt = await makeRuntime({ runtimeType, entrypointPath: "throws-at-import.mjs", runtimePath: wrapper, sandbox: "off" });
      try {
        await assert.rejects(rt.executeTool("x", "ep-3"), (e: any) => e.code === "ERR_ENTRYPOINT_FAILED");
        // One start for the runtime's listing of its tools, one for the call: neither retried.
        assert.equal(fs.readFileSync(log, "utf8"), "start\nstart\n");
        // The failed listing is not made again while the files are unchanged: one start per call.
        await assert.rejects(rt.executeTool("x", "ep-4"), (e: any) => e.code === "ERR_ENTRYPOINT_FAILED");
        assert.equal(fs.readFileSync(log, "utf8"), "start\nstart\nstart\n");
      } finally {
        await rt.close();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  it("bun runs a TypeScript entrypoint", async () => {
    const rt = await makeRuntime({ runtimeType: "bun", entrypointPath: "tools.ts" });
    try {
      assert.deepEqual(await rt.executeTool("greet", "ts-1", { name: "TS" }), { message: "Hello, TS!" });
      assert.deepEqual(await rt.executeTool("typed", "ts-2", { n: 21 }), { value: 42 });
    } finally {
      await rt.close();
    }
  });

  it("deno runs a TypeScript entrypoint natively", async () => {
    const rt = await makeRuntime({ runtimeType: "deno", entrypointPath: "tools.ts" });
    try {
      assert.deepEqual(await rt.executeTool("greet", "ts-1", { name: "TS" }), { message: "Hello, TS!" });
      assert.deepEqual(await rt.executeTool("typed", "ts-2", { n: 21 }), { value: 42 });
    } finally {
      await rt.close();
    }
  });

  it("node runs a TypeScript entrypoint (typescript.spec.ts covers every version)", async () => {
    const rt = await makeRuntime({ runtimeType: "node", entrypointPath: "tools.ts" });
    try {
      assert.deepEqual(await rt.executeTool("greet", "ts-1", { name: "TS" }), { message: "Hello, TS!" });
      assert.deepEqual(await rt.executeTool("typed", "ts-2", { n: 21 }), { value: 42 });
    } finally {
      await rt.close();
    }
  });

  it("node refuses a TSX entrypoint with ERR_INVALID_CONFIG", async () => {
    await assert.rejects(makeRuntime({ runtimeType: "node", entrypointPath: "tools.tsx" }), (e: any) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.code, "ERR_INVALID_CONFIG");
      assert.match(e.message, /TSX/);
      return true;
    });
  });
});

describe("runtime lifecycle", () => {
  it("rejects an unknown runtimeType listing the supported ones", async () => {
    await assert.rejects(new RuntimeFactory(FIXTURES).createRuntime({ runtimeType: "python" as any }), (e: any) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.code, "ERR_INVALID_CONFIG");
      assert.match(e.message, /bun, node, deno/);
      return true;
    });
  });

  it("rejects a missing runtime binary with ERR_RUNTIME_UNAVAILABLE", async () => {
    await assert.rejects(makeRuntime({ runtimePath: "/nonexistent/bun" }), (e: any) => {
      assert.ok(e instanceof ProcessError);
      assert.equal(e.code, "ERR_RUNTIME_UNAVAILABLE");
      return true;
    });
  });

  it("close is idempotent and later calls reject clearly", async () => {
    const rt = await newDefaultFactory(FIXTURES).createRuntime({ entrypointPath: "tools.mjs" });
    await rt.close();
    await rt.close();
    await assert.rejects(rt.executeTool("greet", "cl-1", { name: "x" }), (e: any) => {
      assert.equal(e.code, "ERR_RUNTIME_CLOSED");
      assert.match(e.message, /closed/);
      return true;
    });
  });

  it("close aborts calls in flight and leaves no process behind", async () => {
    const rt = await makeRuntime({ runtimeType: "bun" });
    const rejected = assert.rejects(rt.executeTool("sleeps", "cl-2", { ms: 10000 }), (e: any) => e.code === "ERR_RUNTIME_CLOSED");
    await sleep(300);
    await rt.close();
    await rejected;
    assert.deepEqual(zombieChildren(), []);
  });
});

describe("start failures", () => {
  it("retries a runtime that fails its first two starts, within the backoff bounds", async () => {
    const dir = tempDir();
    const counter = path.join(dir, "count");
    const wrapper = path.join(dir, "flaky-bun");
    fs.writeFileSync(
      wrapper,
      // Start 1 is the runtime's listing of its tools; the call's first two starts fail.
      `#!/bin/sh\nn=$(cat ${counter} 2>/dev/null || echo 0)\nn=$((n+1))\necho $n > ${counter}\necho "start $n $(date +%s%N)" >> ${counter}.log\nif [ $n -ge 2 ] && [ $n -le 3 ]; then echo "flaky start $n" >&2; exit 1; fi\nexec ${BUN} "$@"\n`,
      { mode: 0o755 },
    );
    const rt = await makeRuntime({
      runtimeType: "bun",
      runtimePath: wrapper,
      sandbox: "off",
      backoffInitialIntervalMs: 50,
      backoffMaxIntervalMs: 80,
      backoffMaxElapsedTimeMs: 5000,
    });
    try {
      assert.deepEqual(await rt.executeTool("greet", "r-1", { name: "retry" }), { message: "Hello, retry!" });
      const starts = fs
        .readFileSync(`${counter}.log`, "utf8")
        .trim()
        .split("\n")
        .map((l) => Number(l.split(" ")[2]) / 1e6);
      assert.equal(starts.length, 4);
      for (let i = 2; i < starts.length; i++) {
        const gap = starts[i] - starts[i - 1];
        assert.ok(gap >= 50, `gap ${gap.toFixed(1)} ms is under the initial interval`);
      }
    } finally {
      await rt.close();
    }
  });

  it("gives up after backoffMaxElapsedTimeMs with a ProcessError carrying stderr", async () => {
    const dir = tempDir();
    const wrapper = path.join(dir, "broken-bun");
    fs.writeFileSync(wrapper, "#!/bin/sh\necho 'cannot start today' >&2\nexit 7\n", { mode: 0o755 });
    const rt = await makeRuntime({
      runtimeType: "bun",
      runtimePath: wrapper,
      sandbox: "off",
      backoffInitialIntervalMs: 20,
      backoffMaxIntervalMs: 40,
      backoffMaxElapsedTimeMs: 300,
    });
    try {
      const t0 = performance.now();
      await assert.rejects(rt.executeTool("greet", "r-2", { name: "x" }), (e: any) => {
        assert.ok(e instanceof ProcessError);
        assert.equal(e.code, "ERR_PROCESS_EXITED");
        assert.equal(e.exitCode, 7);
        assert.match(e.stderr ?? "", /cannot start today/);
        return true;
      });
      const elapsed = performance.now() - t0;
      assert.ok(elapsed >= 200, `gave up after ${elapsed.toFixed(0)} ms`);
    } finally {
      await rt.close();
    }
  });
});
