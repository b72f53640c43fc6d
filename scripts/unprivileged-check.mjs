// Runs as an ordinary (non-root) user: the sandbox and the limits must hold without privilege
// (Landlock, seccomp and user namespaces need none; limits fall back to the watchdog where no
// cgroup is ours). Prints one line per check and exits non-zero if any fails.
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { RuntimeFactory, sandboxCapabilities } = require("../index.js");

const work = fs.mkdtempSync(path.join(os.tmpdir(), "tr-unpriv-"));
// Outside the project root, which a runtime may always read (its module tree).
const secretDir = fs.mkdtempSync(path.join(os.tmpdir(), "tr-unpriv-secret-"));
fs.writeFileSync(path.join(secretDir, "key.txt"), "s3cret");
fs.writeFileSync(
  path.join(work, "tools.mjs"),
  `import fs from "node:fs";
import net from "node:net";
import { spawnSync } from "node:child_process";
const attempt = async (fn) => { try { return { ok: true, data: await fn() }; } catch (e) { return { ok: false, code: e.code ?? e.name }; } };
export const read = ({ path }) => attempt(() => fs.readFileSync(path, "utf8"));
export const write = ({ path }) => attempt(() => fs.writeFileSync(path, "x"));
export const tmp = () => attempt(() => { fs.writeFileSync(process.env.TMPDIR + "/f", "x"); return "ok"; });
export const connect = ({ port }) => attempt(() => new Promise((res, rej) => { const s = net.connect(port, "127.0.0.1", () => { s.end(); res("connected"); }); s.on("error", rej); }));
export const sh = () => { try { const r = spawnSync("/bin/sh", ["-c", "echo hi"]); return { ok: !r.error && r.status === 0, code: r.error?.code ?? r.status }; } catch (e) { return { ok: false, code: e.code }; } };
export const signalHost = ({ pid }) => attempt(() => process.kill(pid, 0));
export const hostCmdline = ({ pid }) => attempt(() => fs.readFileSync("/proc/" + pid + "/cmdline", "latin1"));
export const allocate = ({ mb }) => { const keep = []; for (let i = 0; i < mb; i++) keep.push(Buffer.alloc(1 << 20, 1)); return { held: keep.length }; };
`,
);

const server = net.createServer((s) => {
  server.connections = (server.connections ?? 0) + 1;
  s.end();
});
await new Promise((r) => server.listen(0, "127.0.0.1", r));
const port = server.address().port;

const results = [];
const check = (name, ok, detail = "") => {
  results.push(ok);
  console.log(`${ok ? "ok  " : "FAIL"} ${name}${detail ? `: ${detail}` : ""}`);
};

// Removed however the checks end, so a failing run leaves nothing in TMPDIR either.
try {
  const caps = sandboxCapabilities();
  check("runs as an ordinary user", process.getuid() !== 0, `uid ${process.getuid()}`);
  console.log(`     capabilities: ${JSON.stringify(caps)}`);

  for (const runtimeType of ["bun", "node", "deno"]) {
    const factory = new RuntimeFactory(work);
    const rt = await factory.createRuntime({ runtimeType, entrypointPath: "tools.mjs", toolExecutionTimeoutMs: 20_000 });
    const call = (tool, input = {}) => rt.executeTool(tool, `u-${Math.random()}`, input);
    check(`${runtimeType}: strict sandbox created`, rt.sandbox.enforced && rt.sandbox.missing.length === 0, JSON.stringify(rt.sandbox.net.enforcedBy));
    const secret = await call("read", { path: path.join(secretDir, "key.txt") });
    check(`${runtimeType}: reads are allowed by default`, secret.ok && secret.data === "s3cret");
    const out = await call("write", { path: path.join(work, "written.txt") });
    check(`${runtimeType}: writes outside TMPDIR are refused`, !out.ok && !fs.existsSync(path.join(work, "written.txt")), out.code);
    check(`${runtimeType}: TMPDIR is writable`, (await call("tmp")).ok);
    const before = server.connections ?? 0;
    const conn = await call("connect", { port });
    check(`${runtimeType}: no network`, !conn.ok && (server.connections ?? 0) === before, conn.code);
    const sh = await call("sh");
    check(`${runtimeType}: no subprocess`, !sh.ok, String(sh.code));
    const sig = await call("signalHost", { pid: process.pid });
    check(`${runtimeType}: cannot signal the host`, !sig.ok, sig.code);
    const cmdline = await call("hostCmdline", { pid: process.pid });
    // Deno's own layer refuses /proc first (NotCapable); pidns.spec.ts shows its namespace.
    const unseen = runtimeType === "deno" ? ["ENOENT", "NotCapable"] : ["ENOENT"];
    check(`${runtimeType}: own PID namespace, the host's command line unseen`, rt.sandbox.otherProcesses.includes("pid-namespace") && unseen.includes(cmdline.code), cmdline.code);
    await rt.close();

    const narrow = await factory.createRuntime({ runtimeType, entrypointPath: "tools.mjs", permissions: [`--allow-read=${work}`] });
    const denied = await narrow.executeTool("read", "u-narrow", { path: path.join(secretDir, "key.txt") });
    check(`${runtimeType}: --allow-read=<file> keeps the secret out`, !denied.ok, denied.code);
    await narrow.close();

    const open = await factory.createRuntime({ runtimeType, entrypointPath: "tools.mjs", permissions: ["--allow-read", "--allow-net"] });
    const twin = await open.executeTool("connect", "u-net", { port });
    check(`${runtimeType}: --allow-net connects (twin)`, twin.ok, twin.code);
    await open.close();

    const limited = await factory.createRuntime({ runtimeType, entrypointPath: "tools.mjs", memoryLimitMb: 128 });
    try {
      await limited.executeTool("allocate", "u-mem", { mb: 1024 });
      check(`${runtimeType}: memory limit without a cgroup`, false, "the call succeeded");
    } catch (e) {
      check(`${runtimeType}: memory limit without a cgroup (${caps.limits.memory})`, e.code === "ERR_MEMORY_LIMIT", `${e.code} peak ${e.peakMb} MB`);
    }
    const small = await limited.executeTool("allocate", "u-mem-ok", { mb: 16 });
    check(`${runtimeType}: under the memory limit succeeds (twin)`, small.held === 16);
    await limited.close();
  }
} finally {
  server.close();
  fs.rmSync(work, { recursive: true, force: true });
  fs.rmSync(secretDir, { recursive: true, force: true });
}
const failed = results.filter((r) => !r).length;
console.log(`${results.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
