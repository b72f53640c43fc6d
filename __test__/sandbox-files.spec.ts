// The sandbox's own files, on bun and node through the public API: the harness every call runs
// (no tool can change what another call runs), `--deny-read` inside what the runtime reads to
// start, and the size of the private temp dir. Every denied case has an allowed twin.
// (Apart from sandbox.spec.ts, which takes most of the per-file time budget on its own.)
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { ConfigError, type Runtime, type RuntimeConfigInput, type RuntimeType, sandboxCapabilities } from "tool-runtime";
import { FIXTURES, RUNTIMES, makeRuntime, tempDir } from "./helpers";
import { type Call, type Outcome, allowed, denied, nextExecId, withRuntime } from "./hostile-helpers";


const LOADER = "/lib64/ld-linux-x86-64.so.2";
const base = tempDir("tr-sandbox-files-");
after(() => fs.rmSync(base, { recursive: true, force: true }));



/** A project root of its own: the hostile tools, a sibling module, a `.env` and a data file. */
function makeProject(): string {
  const root = tempDir("tr-project-");
  fs.copyFileSync(path.join(FIXTURES, "hostile.mjs"), path.join(root, "hostile.mjs"));
  fs.writeFileSync(path.join(root, "sibling.mjs"), 'export const sibling = "from the sibling";\n');
  fs.writeFileSync(
    path.join(root, "entry.mjs"),
    'export * from "./hostile.mjs";\nimport { sibling } from "./sibling.mjs";\nexport function siblingValue() {\n  return { value: sibling };\n}\n',
  );
  fs.writeFileSync(path.join(root, ".env"), "API_KEY=project-secret\n");
  fs.writeFileSync(path.join(root, "data.txt"), "project data");
  return root;
}

/** `withRuntime` for a runtime of another project root. */
async function withRuntimeIn(root: string, runtimeType: RuntimeType, config: RuntimeConfigInput, fn: (call: Call, rt: Runtime) => Promise<void>) {
  const rt = await makeRuntime({ runtimeType, entrypointPath: "entry.mjs", ...config }, root);
  try {
    await fn((tool, input = {}) => rt.executeTool(tool, nextExecId(), input) as Promise<Outcome>, rt);
  } finally {
    await rt.close();
  }
}

const MODES = [
  { name: "cold", config: {} },
  { name: "pool", config: { pool: { minIdle: 1 } } },
] as const;

for (const runtimeType of RUNTIMES) {
  const other: RuntimeType = runtimeType === "bun" ? "node" : "bun";
  // Node's and deno's own layers refuse before the kernel (the symlink cases reach the kernel).
  const fsDenied = runtimeType === "node" ? ["EACCES", "ERR_ACCESS_DENIED"] : runtimeType === "deno" ? ["EACCES", "NotCapable"] : ["EACCES"];
  const run = (config: RuntimeConfigInput, fn: (call: Call, rt: Runtime) => Promise<void>) => withRuntime(runtimeType, config, fn);

  describe(`sandbox on ${runtimeType}: nothing a tool writes is run by another call`, () => {
    /**
     * Victims of the other runtime type (cold, pooled, and unconfined with its harness on
     * disk), an attack by a `runtimeType` tool with `permissions`, then each victim's calls:
     * they must answer normally, with no trace of injected code.
     */
    async function attackAndCheck(permissions: string[], expectPrivate: boolean) {
      const marker = `INJECTED-${process.pid}-${nextExecId()}`;
      // Without a private mount there is no PID namespace either, which strict refuses.
      const mode = expectPrivate ? {} : { sandbox: "best-effort" as const };
      const victims = [
        await makeRuntime({ runtimeType: other, entrypointPath: "hostile.mjs", ...mode }),
        await makeRuntime({ runtimeType: other, entrypointPath: "hostile.mjs", pool: { minIdle: 1 }, ...mode }),
        await makeRuntime({ runtimeType: other, entrypointPath: "hostile.mjs", sandbox: "off" }),
      ];
      try {
        for (const v of victims.slice(0, 2)) assert.equal(v.sandbox.harness.private, expectPrivate, JSON.stringify(v.sandbox.harness));
        assert.equal(victims[2].sandbox.harness.private, false);
        await run({ permissions, ...mode }, async (call, rt) => {
          assert.equal(rt.sandbox.harness.private, expectPrivate);
          const r = (await call("injectHarness", { root: os.tmpdir(), pid: process.pid, marker })) as Outcome & {
            found: string[];
            written: string[];
            errors: Record<string, string>;
            harness: string;
            mode: number;
          };
          assert.deepEqual(r.written, [], `the tool rewrote a harness: ${JSON.stringify(r)}`);
          // It did try its own harness, and the kernel refused it.
          assert.ok(r.found.includes(r.harness), JSON.stringify(r));
          // A read-only mount of the call's own (a write grant reaches it), or outside every grant.
          assert.equal(r.errors[r.harness], expectPrivate ? "EROFS" : "EACCES", JSON.stringify(r.errors));
          assert.equal(r.mode, 0o600, "the harness has workerFilePerm's mode");
          // The twin: the same grant writes elsewhere in the system temp dir.
          const elsewhere = path.join(base, `${marker}.txt`);
          allowed(await call("writeFile", { path: elsewhere, data: marker }), "a write elsewhere in the temp dir");
          assert.equal(fs.readFileSync(elsewhere, "utf8"), marker);
        });
        for (const v of victims) {
          for (let i = 0; i < 2; i++) {
            const out = await v.executeTool("injectedMarker", `victim-${nextExecId()}`, {}, { SECRET: `secret-${i}` });
            assert.deepEqual(out, { marker: null, secret: `secret-${i}` }, `${v.config.sandbox} victim ran injected code`);
          }
        }
      } finally {
        await Promise.all(victims.map((v) => v.close()));
      }
    }

    for (const [label, permissions] of [
      ["--allow-write=<system temp dir>", ["--allow-read", `--allow-write=${os.tmpdir()}`]],
      ["a bare --allow-write", ["--allow-read", "--allow-write"]],
    ] as const) {
      it(`a tool with ${label} cannot rewrite any harness: each call's own is read-only on its private tmpfs`, async () => {
        await attackAndCheck([...permissions], true);
      });

      it(`without a private mount namespace, ${label} still cannot reach the harness on disk (Landlock carves it out)`, async () => {
        process.env.TOOL_RUNTIME_PRETEND_MISSING = "mountns";
        try {
          await attackAndCheck([...permissions], false);
        } finally {
          delete process.env.TOOL_RUNTIME_PRETEND_MISSING;
        }
      });
    }
  });

  describe(`sandbox on ${runtimeType}: a deny always wins, also over what the runtime reads`, () => {
    let project: string;
    before(() => {
      project = makeProject();
    });
    after(() => fs.rmSync(project, { recursive: true, force: true }));

    const inProject = (config: RuntimeConfigInput, fn: (call: Call, rt: Runtime) => Promise<void>) =>
      withRuntimeIn(project, runtimeType, config, fn);

    for (const mode of MODES) {
      it(`--deny-read=./.env inside the project root hides it while the rest of the project loads and reads (${mode.name})`, async () => {
        await inProject({ ...mode.config, permissions: ["--allow-read", "--deny-read=./.env"] }, async (call, rt) => {
          const envFile = path.join(project, ".env");
          assert.deepEqual(rt.sandbox.denied.read, [envFile]);
          assert.deepEqual(rt.sandbox.denied.enforcedBy, runtimeType === "deno" ? ["landlock", "deno-permissions"] : ["landlock"]);
          // Node's own layer lets the project root through whole: the kernel is what refuses.
          denied(await call("readFile", { path: envFile }), fsDenied, "read the denied .env");
          assert.ok((await call("listDir", { path: project })).entries, "the project root stays listable");
          assert.equal((await call("readFile", { path: path.join(project, "data.txt") })).data, "project data");
          assert.deepEqual(await call("siblingValue"), { value: "from the sibling" });
        });
        // The twin: without the deny the same tool reads it.
        await inProject({ ...mode.config, permissions: ["--allow-read"] }, async (call) => {
          assert.equal((await call("readFile", { path: path.join(project, ".env") })).data, "API_KEY=project-secret\n");
        });
      });

      it(`--deny-read=/etc/ssl/openssl.cnf holds and the runtime still starts (${mode.name})`, async () => {
        await inProject({ ...mode.config, permissions: ["--allow-read", "--deny-read=/etc/ssl/openssl.cnf"] }, async (call) => {
          denied(await call("readFile", { path: "/etc/ssl/openssl.cnf" }), fsDenied, "read the denied openssl.cnf");
          denied(await call("readFile", { path: "/usr/lib/ssl/openssl.cnf" }), fsDenied, "read openssl.cnf through a symlink");
          allowed(await call("listDir", { path: "/etc/ssl/certs" }), "the rest of /etc/ssl");
        });
        await inProject({ ...mode.config, permissions: ["--allow-read"] }, async (call) => {
          allowed(await call("readFile", { path: "/etc/ssl/openssl.cnf" }), "openssl.cnf without the deny");
        });
      });
    }

    it("refuses a deny that takes away what the runtime cannot start without, naming the flag", async () => {
      const probe = await makeRuntime({ runtimeType, entrypointPath: "entry.mjs" }, project);
      const program = probe.runtimePath;
      await probe.close();
      const loader = fs.realpathSync(LOADER);
      for (const [flag, why] of [
        [`--deny-read=${fs.realpathSync(program)}`, /runtime binary/],
        [`--deny-read=${loader}`, /dynamic loader/],
        [`--deny-read=${path.dirname(loader)}`, /(dynamic loader|shared libraries)/],
        ["--deny-read=/usr", /(runtime binary|dynamic loader|shared libraries)/],
        [`--deny-read=${fs.realpathSync("/lib/x86_64-linux-gnu/libc.so.6")}`, /shared library it loads/],
        ["--deny-read=./entry.mjs", /entrypoint/],
        ["--deny-read=.", /entrypoint/],
        ["--deny-read", /(runtime binary|dynamic loader|shared libraries)/],
      ] as const) {
        await assert.rejects(makeRuntime({ runtimeType, entrypointPath: "entry.mjs", permissions: ["--allow-read", flag] }, project), (e: any) => {
          assert.ok(e instanceof ConfigError, String(e));
          assert.equal(e.code, "ERR_INVALID_CONFIG");
          assert.ok(e.message.includes("--deny-read"), e.message);
          assert.match(e.message, why);
          assert.match(e.message, /cannot start without/);
          return true;
        });
      }
      // The twin: a narrower deny beside them is fine.
      await inProject({ permissions: ["--allow-read", "--deny-read=./data.txt"] }, async (call) => {
        assert.deepEqual(await call("siblingValue"), { value: "from the sibling" });
        denied(await call("readFile", { path: path.join(project, "data.txt") }), fsDenied, "read the denied data file");
      });
    });
  });

  describe(`sandbox on ${runtimeType}: the private temp dir is bounded by maxTempMb`, () => {
    it("defaults to 64 MB", async () => {
      await run({}, async (_call, rt) => {
        assert.equal(rt.config.maxTempMb, 64);
      });
    });

    for (const mode of MODES) {
      it(`writing maxTempMb + 1 MB fails with ENOSPC inside the tool; a bit less succeeds (${mode.name})`, async () => {
        await run({ ...mode.config, maxTempMb: 8 }, async (call) => {
          const full = await call("fillTmp", { mb: 9 });
          denied(full, ["ENOSPC"], "fill the temp dir past maxTempMb");
          allowed(await call("fillTmp", { mb: 7 }), "7 MB in an 8 MB temp dir");
        });
        // The twin: a larger temp dir takes the same 9 MB.
        await run({ ...mode.config, maxTempMb: 16 }, async (call) => {
          allowed(await call("fillTmp", { mb: 9 }), "9 MB in a 16 MB temp dir");
        });
      });
    }

    it("counts the temp dir's files with the call's memory where a cgroup holds the call", async (t) => {
      const mechanism = sandboxCapabilities().limits?.memory;
      if (process.getuid?.() === 0) assert.match(String(mechanism), /^cgroup/, "root gets a memory cgroup on Linux");
      if (mechanism !== "cgroup-v1" && mechanism !== "cgroup-v2") {
        t.diagnostic(`memory limits use ${mechanism} here: files in the temp dir are not sampled`);
        return;
      }
      await run({ memoryLimitMb: 64, maxTempMb: 512 }, async (call) => {
        await assert.rejects(call("fillTmp", { mb: 200 }), (e: any) => {
          assert.equal(e.code, "ERR_MEMORY_LIMIT", String(e));
          return true;
        });
      });
      await run({ memoryLimitMb: 512, maxTempMb: 512 }, async (call) => {
        allowed(await call("fillTmp", { mb: 200 }), "200 MB of temp files under a 512 MB memory limit");
      });
    });
  });
}
