// Escape attempts against the kernel sandbox, on bun and node, through the public API. Every
// denied case has an allowed twin (the same tool with the matching allow flag, or sandbox
// "off") that succeeds, so no test passes because a tool is simply broken. Network effects are
// asserted on the host side: the test's own servers must see nothing.
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import dgram from "node:dgram";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { ConfigError, type Runtime, type RuntimeConfigInput, type RuntimeType, sandboxCapabilities } from "tool-runtime";
import { FIXTURES, RUNTIMES, makeRuntime, processAlive, sleep, tempDir } from "./helpers";

/** What every hostile tool returns. */
interface Outcome {
  ok: boolean;
  code?: string | null;
  message?: string;
  data?: string | null;
  [key: string]: unknown;
}

const BUN = path.join(path.dirname(require.resolve("bun/package.json")), "bin", "bun.exe");
const LOADER = "/lib64/ld-linux-x86-64.so.2";
const NET_ERRORS = ["EACCES", "EPERM", "ECONNREFUSED", "ENETUNREACH", "EHOSTUNREACH", "EAI_AGAIN", "ETIMEOUT", "ECONNRESET"];
const EACCES = 13;

// ---------------------------------------------------------------------------------------------
// The files, servers and processes the tools go after. All created by the test, all on loopback.

const base = tempDir("tr-sandbox-");
const dirs = {
  secret: path.join(base, "secret"),
  allowed: path.join(base, "allowed"),
  out: path.join(base, "out"),
  write: path.join(base, "write"),
  write2: path.join(base, "write2"),
  tree: path.join(base, "tree"),
  sockets: path.join(base, "sockets"),
  other: path.join(base, "other"),
};
const SECRET = `TOP SECRET ${process.pid}`;
const secretFile = path.join(dirs.secret, "secret.txt");

/** A counting server: `count` goes up per connection, datagram or request. */
interface Counter {
  count: number;
  last?: string;
}
const tcp: Counter = { count: 0 };
const udp: Counter = { count: 0 };
const web: Counter = { count: 0 };
const dnsServer: Counter = { count: 0 };
const pathUnix: Counter = { count: 0 };
const abstractNode: Counter = { count: 0 };
const abstractBun: Counter = { count: 0 };
let tcpServer: net.Server;
let udpSocket: dgram.Socket;
let webServer: http.Server;
let dnsSocket: dgram.Socket;
let pathUnixServer: net.Server;
let abstractNodeServer: net.Server;
let abstractBunServer: ChildProcess;
const socketPath = path.join(dirs.sockets, "service.sock");
// Node 20 binds abstract names padded to the full sockaddr_un and bun uses the exact length, so
// each runtime's tools get a server that speaks its dialect (a separate bun process for bun).
const abstractNodeName = `\0tr-sandbox-node-${process.pid}`;
const abstractBunName = `tr-sandbox-bun-${process.pid}`;
const victims: ChildProcess[] = [];
// A SysV shared memory segment of the host's, holding a secret.
const SHM_SECRET = `SHM SECRET ${process.pid}`;
let shmId = -1;

/** Runs a bun:ffi script in an unconfined bun and returns its last line of output. */
function bunFfi(body: string): string {
  const script = `const { dlopen, FFIType, ptr } = require("bun:ffi");\n${body}`;
  const r = spawnSync(BUN, ["-e", script], { encoding: "utf8", timeout: 10000 });
  assert.equal(r.status, 0, `bun ffi script failed: ${r.stderr}`);
  return r.stdout.trim().split("\n").at(-1) ?? "";
}

const SHM_LIBC = `const libc = dlopen("libc.so.6", {
  shmget: { args: [FFIType.i32, FFIType.u64, FFIType.i32], returns: FFIType.i32 },
  shmat: { args: [FFIType.i32, FFIType.ptr, FFIType.i32], returns: FFIType.i64 },
  shmdt: { args: [FFIType.i64], returns: FFIType.i32 },
  shmctl: { args: [FFIType.i32, FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
  memcpy: { args: [FFIType.i64, FFIType.ptr, FFIType.u64], returns: FFIType.ptr },
});`;

function listen(server: net.Server | http.Server, where: net.ListenOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(where, () => resolve());
  });
}

function port(s: net.Server | http.Server | dgram.Socket): number {
  return (s.address() as net.AddressInfo).port;
}

/** Answers every A query with 192.0.2.1 (TEST-NET-1). */
function answerDns(msg: Buffer, rinfo: dgram.RemoteInfo) {
  dnsServer.count++;
  let end = 12;
  while (end < msg.length && msg[end] !== 0) end += msg[end] + 1;
  const question = msg.subarray(12, end + 5);
  const header = Buffer.from([msg[0], msg[1], 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0]);
  const answer = Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1]);
  dnsSocket.send(Buffer.concat([header, question, answer]), rinfo.port, rinfo.address);
}

function spawnVictim(): ChildProcess {
  const v = spawn("sleep", ["30"], { stdio: "ignore" });
  victims.push(v);
  return v;
}

before(async () => {
  for (const d of Object.values(dirs)) fs.mkdirSync(d, { recursive: true });
  fs.writeFileSync(secretFile, SECRET);
  fs.writeFileSync(path.join(dirs.allowed, "hello.txt"), "hello");
  // Links inside an allowed folder that lead out of it.
  fs.symlinkSync(secretFile, path.join(dirs.allowed, "secret-link"));
  fs.symlinkSync(dirs.secret, path.join(dirs.allowed, "secret-dir"));
  fs.symlinkSync(dirs.out, path.join(dirs.write, "out-link"));
  fs.symlinkSync(dirs.secret, path.join(dirs.write, "secret-dir"));
  for (const sub of ["open", "hidden", "rw", "ro"]) {
    fs.mkdirSync(path.join(dirs.tree, sub));
    fs.writeFileSync(path.join(dirs.tree, sub, "file.txt"), sub);
  }

  tcpServer = net.createServer((s) => {
    tcp.count++;
    s.setEncoding("utf8");
    s.on("data", (d) => (tcp.last = String(d)));
    s.on("error", () => {});
  });
  await listen(tcpServer, { host: "127.0.0.1", port: 0 });

  udpSocket = dgram.createSocket("udp4");
  udpSocket.on("message", (m) => {
    udp.count++;
    udp.last = m.toString();
  });
  await new Promise<void>((r) => udpSocket.bind(0, "127.0.0.1", r));

  webServer = http.createServer((_req, res) => {
    web.count++;
    res.end("pong");
  });
  await listen(webServer, { host: "127.0.0.1", port: 0 });

  dnsSocket = dgram.createSocket("udp4");
  dnsSocket.on("message", answerDns);
  await new Promise<void>((r) => dnsSocket.bind(0, "127.0.0.1", r));

  const unixHandler = (counter: Counter) => (s: net.Socket) => {
    counter.count++;
    s.on("data", () => s.end("pong"));
    s.on("error", () => {});
  };
  pathUnixServer = net.createServer(unixHandler(pathUnix));
  await listen(pathUnixServer, { path: socketPath });
  abstractNodeServer = net.createServer(unixHandler(abstractNode));
  await listen(abstractNodeServer, { path: abstractNodeName });

  const script =
    'const s = require("node:net").createServer((c) => { console.log("conn"); c.on("data", () => c.end("pong")); c.on("error", () => {}); });' +
    's.listen({ path: "\\0" + process.env.TR_ABSTRACT_NAME }, () => console.log("ready"));';
  abstractBunServer = spawn(BUN, ["-e", script], { env: { ...process.env, TR_ABSTRACT_NAME: abstractBunName }, stdio: ["ignore", "pipe", "inherit"] });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the bun abstract socket server did not start")), 5000);
    abstractBunServer.stdout!.setEncoding("utf8");
    abstractBunServer.stdout!.on("data", (chunk: string) => {
      for (const line of chunk.split("\n")) {
        if (line === "ready") {
          clearTimeout(timer);
          resolve();
        }
        if (line === "conn") abstractBun.count++;
      }
    });
  });

  // IPC_PRIVATE, IPC_CREAT | 0600; the secret is copied in and the segment left for the tools.
  shmId = Number(
    bunFfi(`${SHM_LIBC}
const id = libc.symbols.shmget(0, 4096, 0o1000 | 0o600);
if (id < 0) throw new Error("shmget failed");
const addr = libc.symbols.shmat(id, null, 0);
const msg = Buffer.from(${JSON.stringify(SHM_SECRET)} + "\\0");
libc.symbols.memcpy(addr, ptr(msg), msg.length);
libc.symbols.shmdt(addr);
console.log(id);`),
  );
  assert.ok(shmId >= 0);

  process.env.TR_HOST_SECRET = "host-secret-value";
  process.env.TR_OTHER = "other-value";
  process.env.NODE_TR_PROBE = "node-injection";
  process.env.BUN_TR_PROBE = "bun-injection";
  process.env.DENO_TR_PROBE = "deno-injection";
  process.env.TOOL_RUNTIME_TR_PROBE = "a secret of the orchestrator's";
});

after(async () => {
  for (const v of victims) v.kill("SIGKILL");
  abstractBunServer?.kill("SIGKILL");
  await Promise.all(
    [tcpServer, webServer, pathUnixServer, abstractNodeServer].map((s) => new Promise<void>((r) => (s ? s.close(() => r()) : r()))),
  );
  udpSocket?.close();
  dnsSocket?.close();
  for (const k of ["TR_HOST_SECRET", "TR_OTHER", "NODE_TR_PROBE", "BUN_TR_PROBE", "DENO_TR_PROBE", "TOOL_RUNTIME_TR_PROBE"]) delete process.env[k];
  if (shmId >= 0) bunFfi(`${SHM_LIBC}\nconsole.log(libc.symbols.shmctl(${shmId}, 0 /* IPC_RMID */, null));`);
  fs.rmSync(base, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// Helpers.

type Call = (tool: string, input?: unknown) => Promise<Outcome>;

let execCounter = 0;

/** Runs `fn` with a hostile runtime of `config`, closing it afterwards. */
async function withRuntime(runtimeType: RuntimeType, config: RuntimeConfigInput, fn: (call: Call, rt: Runtime) => Promise<void>) {
  const rt = await makeRuntime({ runtimeType, entrypointPath: "hostile.mjs", ...config });
  try {
    await fn((tool, input = {}) => rt.executeTool(tool, `sbx-${++execCounter}`, input) as Promise<Outcome>, rt);
  } finally {
    await rt.close();
  }
}

function deniedBy(r: Outcome, codes: string[], what: string) {
  assert.equal(r.ok, false, `${what}: the attempt succeeded: ${JSON.stringify(r)}`);
  assert.ok(codes.includes(String(r.code)), `${what}: failed with ${r.code} (${r.message}); expected one of ${codes.join(", ")}`);
}

function allowed(r: Outcome, what: string) {
  assert.equal(r.ok, true, `${what}: the allowed twin failed: ${JSON.stringify(r)}`);
}

/** Waits up to `ms` for `counter` to pass `seen`. */
async function waitFor(counter: Counter, seen: number, ms = 2000) {
  for (let t = 0; t < ms && counter.count <= seen; t += 20) await sleep(20);
}

function capEff(status: string): bigint {
  return BigInt(`0x${/^CapEff:\s*(\S+)/m.exec(status)?.[1] ?? "0"}`);
}

// ---------------------------------------------------------------------------------------------

for (const runtimeType of RUNTIMES) {
  // Node's own permission layer refuses some fs calls before the kernel sees them; the symlink
  // variants get past it (it checks path strings) so the kernel's answer is asserted too.
  // Deno's layer, likewise, refuses before the kernel with NotCapable (and follows symlinks).
  const fsDenied = runtimeType === "node" ? ["EACCES", "ERR_ACCESS_DENIED"] : runtimeType === "deno" ? ["EACCES", "NotCapable"] : ["EACCES"];
  const run = (config: RuntimeConfigInput, fn: (call: Call, rt: Runtime) => Promise<void>) => withRuntime(runtimeType, config, fn);
  // Deno's own layer refuses what its flags do not grant before the kernel is asked
  // (NotCapable); the kernel's answer on deno is asserted through the symlink cases (deno
  // follows them), the bun-child probes (outside deno's layer) and netallow's raw sockets.
  const denied = (r: Outcome, codes: string[], what: string) => deniedBy(r, runtimeType === "deno" ? [...codes, "NotCapable"] : codes, what);
  // Raw-syscall probes: bun tools make them in-process through bun:ffi; node tools, which have
  // no FFI, through a bun child they are allowed to run (the child inherits the confinement).
  // Deno tools too: deno's own layer denies FFI, and the child is outside that layer, so what
  // it meets is the kernel alone.
  const viaChild = runtimeType !== "bun";
  const ffiRun = viaChild ? [`--allow-run=${BUN}`] : [];
  const ffiProbe = (probe: string, args: unknown) => (viaChild ? { probe, args, bunPath: BUN } : { probe, args });

  describe(`sandbox on ${runtimeType}: files`, () => {
    it("does not read a secret outside --allow-read=<dir>; the allowed dir is readable", async () => {
      await run({ permissions: [`--allow-read=${dirs.allowed}`] }, async (call) => {
        denied(await call("readFile", { path: secretFile }), fsDenied, "read the secret");
        denied(await call("listDir", { path: dirs.secret }), fsDenied, "list the secret dir");
        const hello = await call("readFile", { path: path.join(dirs.allowed, "hello.txt") });
        allowed(hello, "read the allowed dir");
        assert.equal(hello.data, "hello");
      });
      await run({ permissions: [`--allow-read=${dirs.secret}`] }, async (call) => {
        const r = await call("readFile", { path: secretFile });
        allowed(r, "read the secret with its dir allowed");
        assert.equal(r.data, SECRET);
      });
    });

    it("does not follow a symlink in an allowed folder out of it; allowing the target's dir does", async () => {
      await run({ permissions: [`--allow-read=${dirs.allowed}`] }, async (call) => {
        denied(await call("readFile", { path: path.join(dirs.allowed, "secret-link") }), ["EACCES"], "file symlink");
        denied(await call("readFile", { path: path.join(dirs.allowed, "secret-dir", "secret.txt") }), ["EACCES"], "dir symlink");
      });
      await run({ permissions: [`--allow-read=${dirs.allowed},${dirs.secret}`] }, async (call) => {
        for (const p of [path.join(dirs.allowed, "secret-link"), path.join(dirs.allowed, "secret-dir", "secret.txt")]) {
          const r = await call("readFile", { path: p });
          allowed(r, `read through ${p}`);
          assert.equal(r.data, SECRET);
        }
      });
    });

    it("writes only into its temp dir by default; --allow-write=<dir> writes there and nowhere else", async () => {
      const outFile = path.join(dirs.out, `default-${runtimeType}.txt`);
      await run({}, async (call) => {
        denied(await call("writeFile", { path: outFile }), fsDenied, "write outside");
        allowed(await call("writeFile", { path: "$TMP/inside.txt" }), "write into TMPDIR");
      });
      assert.equal(fs.existsSync(outFile), false, "a file appeared outside");

      const inFile = path.join(dirs.write, `allowed-${runtimeType}.txt`);
      const viaLink = path.join(dirs.write, "out-link", `via-link-${runtimeType}.txt`);
      await run({ permissions: ["--allow-read", `--allow-write=${dirs.write}`] }, async (call) => {
        allowed(await call("writeFile", { path: inFile, data: "twin" }), "write into the allowed dir");
        denied(await call("writeFile", { path: outFile }), fsDenied, "write outside with another dir allowed");
        // A symlink in the allowed dir that points out of it: node's layer lets the path through.
        denied(await call("writeFile", { path: viaLink }), ["EACCES"], "write through a dir symlink");
      });
      assert.equal(fs.readFileSync(inFile, "utf8"), "twin");
      assert.equal(fs.existsSync(outFile), false);
      assert.equal(fs.existsSync(path.join(dirs.out, `via-link-${runtimeType}.txt`)), false);
    });

    it("sets no setuid or setgid bit on a host file outside its write paths; unconfined it can", async () => {
      const file = path.join(dirs.secret, `modes-${runtimeType}`);
      fs.writeFileSync(file, "#!/bin/sh\n");
      fs.chmodSync(file, 0o755);
      const via = viaChild ? { bunPath: BUN } : {};
      await run({ permissions: ["--allow-read", ...ffiRun] }, async (call) => {
        denied(await call("chmod", { path: file, mode: 0o4755, ...via }), ["EPERM"], "chmod u+s");
        denied(await call("chmod", { path: file, mode: 0o2755, ...via }), ["EPERM"], "chmod g+s");
        // What stays possible (SECURITY.md, known limits): Landlock does not cover modes.
        allowed(await call("chmod", { path: file, mode: 0o700, ...via }), "a plain mode change");
      });
      assert.equal(fs.statSync(file).mode & 0o7777, 0o700);
      await run({ sandbox: "off" }, async (call) => {
        allowed(await call("chmod", { path: file, mode: 0o4755, ...via }), "chmod u+s unconfined");
      });
      assert.equal(fs.statSync(file).mode & 0o7777, 0o4755);
      fs.rmSync(file);
    });

    it("cannot hard-link or rename files across the boundary; with --allow-write on both sides it can", async () => {
      const tag = runtimeType;
      await run({}, async (call) => {
        // TMPDIR is a private tmpfs, so the kernel may answer EXDEV before Landlock's EACCES.
        denied(await call("link", { prepare: { "$TMP/a": "a" }, from: "$TMP/a", to: path.join(dirs.out, `l-${tag}`) }), [...fsDenied, "EXDEV"], "link TMPDIR → outside");
        denied(await call("rename", { prepare: { "$TMP/b": "b" }, from: "$TMP/b", to: path.join(dirs.out, `r-${tag}`) }), [...fsDenied, "EXDEV"], "rename TMPDIR → outside");
      });
      await run({ permissions: ["--allow-read", `--allow-write=${dirs.write}`] }, async (call) => {
        const out = path.join(dirs.write, "out-link");
        denied(await call("link", { prepare: { "$TMP/a": "a" }, from: "$TMP/a", to: path.join(out, `l2-${tag}`) }), ["EACCES", "EXDEV"], "link through a symlink out");
        denied(await call("rename", { prepare: { "$TMP/b": "b" }, from: "$TMP/b", to: path.join(out, `r2-${tag}`) }), ["EACCES", "EXDEV"], "rename through a symlink out");
        // The twin: the same moves within the allowed dir.
        allowed(await call("link", { prepare: { [path.join(dirs.write, `src-a-${tag}`)]: "a" }, from: path.join(dirs.write, `src-a-${tag}`), to: path.join(dirs.write, `l-${tag}`) }), "link within the allowed dir");
        allowed(await call("rename", { prepare: { [path.join(dirs.write, `src-b-${tag}`)]: "b" }, from: path.join(dirs.write, `src-b-${tag}`), to: path.join(dirs.write, `r-${tag}`) }), "rename within the allowed dir");
      });
      for (const f of [`l-${tag}`, `r-${tag}`, `l2-${tag}`, `r2-${tag}`]) assert.equal(fs.existsSync(path.join(dirs.out, f)), false, f);
      assert.equal(fs.readFileSync(path.join(dirs.write, `l-${tag}`), "utf8"), "a");
      assert.equal(fs.readFileSync(path.join(dirs.write, `r-${tag}`), "utf8"), "b");

      // Linking an unreadable secret into a writable dir on the same filesystem (TMPDIR is a
      // private tmpfs, where any link from outside is EXDEV and would prove nothing).
      await run({ permissions: [`--allow-read=${dirs.allowed}`, `--allow-write=${dirs.write}`] }, async (call) => {
        denied(await call("link", { from: secretFile, to: path.join(dirs.write, `stolen-${tag}`), readBack: true }), [...fsDenied, "EXDEV"], "link the secret into a write dir");
        const viaLink = path.join(dirs.write, "secret-dir", "secret.txt");
        denied(await call("link", { from: viaLink, to: path.join(dirs.write, `stolen2-${tag}`), readBack: true }), ["EACCES", "EXDEV"], "link the secret via a dir symlink");
      });
      assert.equal(fs.existsSync(path.join(dirs.write, `stolen-${tag}`)), false);
      // The twin: a file the tool may write anyway can be linked into the write dir and read back.
      const linkable = path.join(dirs.secret, `linkable-${tag}.txt`);
      fs.writeFileSync(linkable, "linkable");
      await run({ permissions: ["--allow-read", `--allow-write=${dirs.secret}`, `--allow-write=${dirs.write}`] }, async (call) => {
        const r = await call("link", { from: linkable, to: path.join(dirs.write, `linked-${tag}`), readBack: true });
        allowed(r, "link a writable file into the write dir");
        assert.equal(r.data, "linkable");
      });
    });

    it("cannot read another call's temp dir, while that call reads its own", async () => {
      const publish = path.join(dirs.write, `published-${runtimeType}`);
      await run({ permissions: ["--allow-read", `--allow-write=${dirs.write}`] }, async (call, rt) => {
        const holder = rt.executeTool("holdSecret", `sbx-hold-${runtimeType}`, { secret: "other-call-secret", publish, ms: 1500 }) as Promise<Outcome>;
        for (let i = 0; i < 100 && !fs.existsSync(publish); i++) await sleep(20);
        const other = fs.readFileSync(publish, "utf8");
        // The host cannot see it either: the file lives on the call's private tmpfs.
        assert.equal(fs.existsSync(other), false, "the call's temp file is visible on the host");
        denied(await call("readFile", { path: other }), ["ENOENT", "EACCES"], "read another call's temp file");
        const own = await holder;
        allowed(own, "the holder reads its own temp file");
        assert.equal(own.data, "other-call-secret");
      });
    });

    it("--deny-read carves a subdir out of an allowed tree, also out of a bare --allow-read", async () => {
      const hidden = path.join(dirs.tree, "hidden", "file.txt");
      const open = path.join(dirs.tree, "open", "file.txt");
      for (const permissions of [[`--allow-read=${dirs.tree}`, `--deny-read=${path.join(dirs.tree, "hidden")}`], ["--allow-read", `--deny-read=${path.join(dirs.tree, "hidden")}`]]) {
        await run({ permissions }, async (call) => {
          denied(await call("readFile", { path: hidden }), ["EACCES"], `${permissions}: read the denied subdir`);
          denied(await call("listDir", { path: path.join(dirs.tree, "hidden") }), ["EACCES"], `${permissions}: list the denied subdir`);
          const r = await call("readFile", { path: open });
          allowed(r, `${permissions}: read a sibling`);
          assert.equal(r.data, "open");
        });
      }
      // The twin: without the deny the same file is readable.
      await run({ permissions: [`--allow-read=${dirs.tree}`] }, async (call) => {
        assert.equal((await call("readFile", { path: hidden })).data, "hidden");
      });
    });

    it("--deny-write carves a subdir out of an allowed write tree, also out of a bare --allow-write", async () => {
      for (const [i, permissions] of [
        ["--allow-read", `--allow-write=${dirs.tree}`, `--deny-write=${path.join(dirs.tree, "ro")}`],
        ["--allow-read", "--allow-write", `--deny-write=${path.join(dirs.tree, "ro")}`],
      ].entries()) {
        const roFile = path.join(dirs.tree, "ro", `new-${runtimeType}-${i}.txt`);
        const rwFile = path.join(dirs.tree, "rw", `new-${runtimeType}-${i}.txt`);
        await run({ permissions }, async (call) => {
          denied(await call("writeFile", { path: roFile }), ["EACCES"], `${permissions}: write the denied subdir`);
          denied(await call("writeFile", { path: path.join(dirs.tree, "ro", "file.txt") }), ["EACCES"], `${permissions}: overwrite in the denied subdir`);
          allowed(await call("writeFile", { path: rwFile, data: "rw" }), `${permissions}: write a sibling`);
          assert.equal((await call("readFile", { path: path.join(dirs.tree, "ro", "file.txt") })).data, "ro", "deny-write must not deny reading");
        });
        assert.equal(fs.existsSync(roFile), false);
        assert.equal(fs.readFileSync(path.join(dirs.tree, "ro", "file.txt"), "utf8"), "ro");
        assert.equal(fs.readFileSync(rwFile, "utf8"), "rw");
      }
    });

    it("each allow flag grants what it names and no more", async () => {
      const permissions = [`--allow-read=${dirs.allowed}`, `--allow-write=${dirs.write}`, "--allow-env=TR_HOST_SECRET"];
      await run({ permissions }, async (call) => {
        allowed(await call("readFile", { path: path.join(dirs.allowed, "hello.txt") }), "read A");
        denied(await call("readFile", { path: path.join(dirs.tree, "open", "file.txt") }), fsDenied, "read B");
        allowed(await call("writeFile", { path: path.join(dirs.write, `a-${runtimeType}.txt`), data: "A" }), "write A");
        // Writing implies reading what one writes, on both runtimes.
        assert.equal((await call("readFile", { path: path.join(dirs.write, `a-${runtimeType}.txt`) })).data, "A");
        denied(await call("writeFile", { path: path.join(dirs.write2, `b-${runtimeType}.txt`) }), fsDenied, "write B");
        const env = (await call("env", { names: ["TR_HOST_SECRET", "TR_OTHER"] })).env as Record<string, string | null>;
        assert.deepEqual(env, { TR_HOST_SECRET: "host-secret-value", TR_OTHER: null });
        denied(await call("tcpConnect", { host: "127.0.0.1", port: port(tcpServer) }), NET_ERRORS, "the network");
        denied(await call("run", { cmd: "/bin/sh", args: ["-c", "echo hi"] }), fsDenied, "running a program");
      });
      assert.equal(fs.existsSync(path.join(dirs.write2, `b-${runtimeType}.txt`)), false);
    });
  });

  describe(`sandbox on ${runtimeType}: programs`, () => {
    it("runs no program by default, not even through the dynamic loader; bare --allow-run runs /bin/sh", async () => {
      await run({}, async (call) => {
        denied(await call("run", { cmd: "/bin/sh", args: ["-c", "echo hi"] }), fsDenied, "spawn /bin/sh");
        denied(await call("run", { cmd: LOADER, args: ["/bin/sh", "-c", "echo hi"] }), fsDenied, "exec through ld.so");
        denied(await call("run", { cmd: process.execPath, args: ["-e", "1"] }), fsDenied, "exec a node binary");
      });
      await run({ permissions: ["--allow-read", "--allow-run"] }, async (call) => {
        const r = await call("run", { cmd: "/bin/sh", args: ["-c", "echo hi"] });
        allowed(r, "spawn /bin/sh with --allow-run");
        assert.equal(r.stdout, "hi\n");
      });
    });

    it("--allow-run=/bin/sh and --allow-run=sh run exactly sh", async () => {
      for (const flag of ["--allow-run=/bin/sh", "--allow-run=sh"]) {
        await run({ permissions: ["--allow-read", flag] }, async (call) => {
          const r = await call("run", { cmd: "/bin/sh", args: ["-c", "echo hi"] });
          allowed(r, `${flag}: sh`);
          assert.equal(r.stdout, "hi\n");
          denied(await call("run", { cmd: "/usr/bin/env", args: [] }), ["EACCES"], `${flag}: /usr/bin/env`);
          const viaSh = await call("run", { cmd: "/bin/sh", args: ["-c", "cat /etc/hostname"] });
          assert.equal(viaSh.ok, false, `${flag}: sh ran cat: ${JSON.stringify(viaSh)}`);
          assert.equal(viaSh.status, 126);
          assert.match(String(viaSh.stderr), /Permission denied/);
        });
      }
    });

    it("refuses --allow-run of a program that does not exist", async () => {
      await assert.rejects(makeRuntime({ runtimeType, entrypointPath: "hostile.mjs", permissions: ["--allow-run=no-such-program-tr"] }), (e: any) => {
        assert.ok(e instanceof ConfigError);
        assert.equal(e.code, "ERR_INVALID_CONFIG");
        assert.match(e.message, /no-such-program-tr/);
        return true;
      });
    });
  });

  describe(`sandbox on ${runtimeType}: network`, () => {
    it("cannot connect over TCP to the host's loopback; --allow-net can, and the server sees it", async () => {
      const seen = tcp.count;
      await run({}, async (call) => {
        denied(await call("tcpConnect", { host: "127.0.0.1", port: port(tcpServer) }), NET_ERRORS, "tcp connect");
        denied(await call("tcpConnect", { host: "::1", port: port(tcpServer) }), NET_ERRORS, "tcp connect over IPv6");
      });
      await sleep(300);
      assert.equal(tcp.count, seen, "the host's server saw a connection");
      await run({ permissions: ["--allow-read", "--allow-net"] }, async (call) => {
        allowed(await call("tcpConnect", { host: "127.0.0.1", port: port(tcpServer), message: `hi from ${runtimeType}` }), "tcp connect with --allow-net");
      });
      await waitFor(tcp, seen);
      assert.equal(tcp.count, seen + 1);
    });

    it("cannot send UDP to the host's loopback; --allow-net delivers the datagram", async () => {
      const seen = udp.count;
      await run({}, async (call) => {
        denied(await call("udpSend", { host: "127.0.0.1", port: port(udpSocket) }), NET_ERRORS, "udp send");
      });
      await sleep(300);
      assert.equal(udp.count, seen, "the host's socket received a datagram");
      await run({ permissions: ["--allow-read", "--allow-net"] }, async (call) => {
        allowed(await call("udpSend", { host: "127.0.0.1", port: port(udpSocket), message: `dgram from ${runtimeType}` }), "udp send with --allow-net");
      });
      await waitFor(udp, seen);
      assert.equal(udp.count, seen + 1);
      assert.equal(udp.last, `dgram from ${runtimeType}`);
    });

    it("cannot resolve names: not through the system resolver, not through a resolver on the host's loopback", async () => {
      const seen = dnsServer.count;
      await run({}, async (call) => {
        // No twin for these two: only real external DNS could make them succeed, and the test
        // must not depend on the internet. The loopback resolver below is their twin.
        // Deno's dns.resolve4 reports its own refusal as UNKNOWN; the loopback resolver's count
        // below shows no query got out.
        const dnsErrors = runtimeType === "deno" ? [...NET_ERRORS, "UNKNOWN"] : NET_ERRORS;
        denied(await call("dnsResolve", { name: "example.com" }), dnsErrors, "resolve4 via /etc/resolv.conf");
        denied(await call("dnsRawQuery", { name: "example.com" }), NET_ERRORS, "raw query to the configured resolver");
        denied(await call("dnsResolve", { name: "tool.test", server: `127.0.0.1:${port(dnsSocket)}` }), dnsErrors, "resolve4 via the host's loopback resolver");
      });
      await sleep(300);
      assert.equal(dnsServer.count, seen, "the host's resolver saw a query");
      await run({ permissions: ["--allow-read", "--allow-net"] }, async (call) => {
        const r = await call("dnsResolve", { name: "tool.test", server: `127.0.0.1:${port(dnsSocket)}` });
        allowed(r, "resolve4 via the loopback resolver with --allow-net");
        assert.deepEqual(r.addrs, ["192.0.2.1"]);
      });
      assert.ok(dnsServer.count > seen);
    });

    it("cannot fetch from an HTTP server on the host's loopback; --allow-net can", async () => {
      const seen = web.count;
      const url = `http://127.0.0.1:${port(webServer)}/`;
      await run({}, async (call) => {
        denied(await call("fetchUrl", { url }), NET_ERRORS, "fetch");
      });
      await sleep(300);
      assert.equal(web.count, seen, "the host's HTTP server saw a request");
      await run({ permissions: ["--allow-read", "--allow-net"] }, async (call) => {
        const r = await call("fetchUrl", { url });
        allowed(r, "fetch with --allow-net");
        assert.equal(r.body, "pong");
      });
      assert.equal(web.count, seen + 1);
    });

    it("keeps the network closed with seccomp alone when user namespaces are missing", async () => {
      const seen = tcp.count;
      process.env.TOOL_RUNTIME_PRETEND_MISSING = "userns";
      let rt: Runtime;
      try {
        rt = await makeRuntime({ runtimeType, entrypointPath: "hostile.mjs" });
      } finally {
        delete process.env.TOOL_RUNTIME_PRETEND_MISSING;
      }
      try {
        assert.ok(!rt.sandbox.net.enforcedBy.includes("network-namespace"));
        assert.ok(rt.sandbox.net.enforcedBy.includes("seccomp"), JSON.stringify(rt.sandbox.net));
        const r = (await rt.executeTool("tcpConnect", "nons-1", { host: "127.0.0.1", port: port(tcpServer) })) as Outcome;
        denied(r, NET_ERRORS, "tcp connect without a network namespace");
        const kill = (await rt.executeTool("kill", "nons-2", { pid: process.pid, signal: 0 })) as Outcome;
        denied(kill, ["EPERM", "ESRCH"], "signal the orchestrator without a user namespace");
      } finally {
        await rt.close();
      }
      await sleep(300);
      assert.equal(tcp.count, seen);
    });

    it("creates no socket of a family the network namespace does not isolate (vsock, packet)", async () => {
      // Only socket(2) is called: nothing is connected anywhere.
      const input = ffiProbe("sockets", [
        ["vsock", 40, 1],
        ["packet", 17, 3],
        ["inet", 2, 1],
      ]);
      await run({ permissions: ["--allow-read", ...ffiRun] }, async (call) => {
        const r = await call("ffiProbe", input);
        allowed(r, "the probe itself");
        assert.deepEqual(r.result, { vsock: EACCES, packet: EACCES, inet: EACCES });
      });
      await run({ permissions: ["--allow-read", "--allow-net", ...ffiRun] }, async (call) => {
        const r = await call("ffiProbe", input);
        allowed(r, "the probe itself");
        const errnos = r.result as Record<string, number>;
        assert.equal(errnos.inet, 0, "--allow-net opens inet sockets");
        assert.equal(errnos.vsock, EACCES, "--allow-net is not the hypervisor's vsock");
      });
      // The twin: unconfined, the kernel itself answers (0, or EAFNOSUPPORT without vsock).
      await run({ sandbox: "off" }, async (call) => {
        const r = await call("ffiProbe", input);
        allowed(r, "the probe itself");
        const errnos = r.result as Record<string, number>;
        assert.equal(errnos.inet, 0);
        assert.notEqual(errnos.vsock, EACCES);
      });
    });
  });

  describe(`sandbox on ${runtimeType}: environment`, () => {
    const names = ["TR_HOST_SECRET", "TR_OTHER"];
    const envOfNames = async (permissions: string[] | null, wanted: string[]) => {
      let env: Record<string, string | null> = {};
      await run({ permissions }, async (call) => {
        env = (await call("env", { names: wanted })).env as Record<string, string | null>;
      });
      return env;
    };
    const envOf = async (permissions: string[] | null) => {
      let env: Record<string, string | null> = {};
      await run({ permissions }, async (call) => {
        env = (await call("env", { names: [...names, "NODE_TR_PROBE", "BUN_TR_PROBE", "DENO_TR_PROBE"] })).env as Record<string, string | null>;
      });
      return env;
    };

    it("sees no host variable by default; --allow-env=NAME shows exactly that one", async () => {
      assert.deepEqual(await envOf(null), { TR_HOST_SECRET: null, TR_OTHER: null, NODE_TR_PROBE: null, BUN_TR_PROBE: null, DENO_TR_PROBE: null });
      assert.deepEqual(await envOf(["--allow-read", "--allow-env=TR_HOST_SECRET"]), {
        TR_HOST_SECRET: "host-secret-value",
        TR_OTHER: null,
        NODE_TR_PROBE: null,
        BUN_TR_PROBE: null,
        DENO_TR_PROBE: null,
      });
    });

    it("--allow-env=TR_* matches the prefix; --deny-env beats allow; injection variables never pass", async () => {
      assert.deepEqual(await envOf(["--allow-read", "--allow-env=TR_*"]), {
        TR_HOST_SECRET: "host-secret-value",
        TR_OTHER: "other-value",
        NODE_TR_PROBE: null,
        BUN_TR_PROBE: null,
        DENO_TR_PROBE: null,
      });
      assert.deepEqual(await envOf(["--allow-read", "--allow-env=TR_*", "--deny-env=TR_OTHER"]), {
        TR_HOST_SECRET: "host-secret-value",
        TR_OTHER: null,
        NODE_TR_PROBE: null,
        BUN_TR_PROBE: null,
        DENO_TR_PROBE: null,
      });
      const all = await envOf(["--allow-read", "--allow-env", "--deny-env=TR_HOST_SECRET"]);
      assert.equal(all.TR_HOST_SECRET, null);
      assert.equal(all.TR_OTHER, "other-value");
      assert.equal(all.NODE_TR_PROBE, null, "NODE_* passed under a bare --allow-env");
      assert.equal(all.BUN_TR_PROBE, null, "BUN_* passed under a bare --allow-env");
      assert.equal(all.DENO_TR_PROBE, null, "DENO_* passed under a bare --allow-env");
      const own = (await envOfNames(["--allow-read", "--allow-env"], ["TOOL_RUNTIME_TR_PROBE"])).TOOL_RUNTIME_TR_PROBE;
      assert.equal(own, null, "TOOL_RUNTIME_* (the queue key, the MCP token) passed under a bare --allow-env");
    });
  });

  describe(`sandbox on ${runtimeType}: other processes`, () => {
    it("cannot read the orchestrator's /proc/<pid>/environ; unconfined it can", async () => {
      const environ = `/proc/${process.pid}/environ`;
      await run({}, async (call) => {
        denied(await call("readFile", { path: environ }), ["EACCES", "EPERM", "ENOENT"], "read the orchestrator's environ");
        denied(await call("openFile", { path: `/proc/${process.pid}/mem` }), ["EACCES", "EPERM", "ENOENT"], "open the orchestrator's mem");
      });
      await run({ sandbox: "off" }, async (call) => {
        const r = await call("readFile", { path: environ });
        allowed(r, "read the orchestrator's environ unconfined");
        assert.match(String(r.data), /PATH=/);
      });
    });

    it("cannot read /proc/<pid>/mem or environ of another process of the host; unconfined it can", async () => {
      const victim = spawnVictim();
      await run({}, async (call) => {
        denied(await call("openFile", { path: `/proc/${victim.pid}/mem` }), ["EACCES", "EPERM", "ENOENT"], "open a process's mem");
        denied(await call("readFile", { path: `/proc/${victim.pid}/environ` }), ["EACCES", "EPERM", "ENOENT"], "read a process's environ");
      });
      await run({ sandbox: "off" }, async (call) => {
        allowed(await call("readFile", { path: `/proc/${victim.pid}/environ` }), "read a process's environ unconfined");
        // Opening mem takes ptrace-attach rights, which Yama gives non-root users only over
        // their descendants; as root the unconfined twin must succeed.
        if (process.getuid?.() === 0) allowed(await call("openFile", { path: `/proc/${victim.pid}/mem` }), "open a process's mem unconfined");
      });
    });

    it("cannot signal the orchestrator or another process; the victim lives; unconfined it can", async () => {
      const victim = spawnVictim();
      await run({}, async (call) => {
        denied(await call("kill", { pid: process.pid, signal: 0 }), ["EPERM", "ESRCH"], "signal 0 to the orchestrator");
        denied(await call("kill", { pid: victim.pid, signal: "SIGTERM" }), ["EPERM", "ESRCH"], "SIGTERM to a host process");
        denied(await call("kill", { pid: victim.pid, signal: "SIGKILL" }), ["EPERM", "ESRCH"], "SIGKILL to a host process");
      });
      // Without the user namespace (--allow-net), Landlock's signal scope alone must hold.
      await run({ permissions: ["--allow-read", "--allow-net"] }, async (call) => {
        denied(await call("kill", { pid: victim.pid, signal: "SIGTERM" }), ["EPERM", "ESRCH"], "SIGTERM to a host process with --allow-net");
      });
      await sleep(200);
      assert.ok(processAlive(victim.pid!), "the victim was killed");

      const victim2 = spawnVictim();
      await run({ sandbox: "off" }, async (call) => {
        allowed(await call("kill", { pid: process.pid, signal: 0 }), "signal 0 to the orchestrator unconfined");
        allowed(await call("kill", { pid: victim2.pid, signal: "SIGTERM" }), "SIGTERM unconfined");
      });
      for (let i = 0; i < 50 && processAlive(victim2.pid!); i++) await sleep(20);
      assert.equal(processAlive(victim2.pid!), false, "the unconfined twin could not kill its victim");
    });

    it("cannot connect to the host's abstract unix sockets, even with --allow-net and --allow-write; unconfined it can", async () => {
      const counter = runtimeType === "node" ? abstractNode : abstractBun;
      const name = runtimeType === "node" ? abstractNodeName : `\0${abstractBunName}`;
      const seen = counter.count;
      await run({}, async (call) => {
        denied(await call("unixConnect", { path: name }), ["EACCES", "EPERM", "ECONNREFUSED"], "abstract socket, default policy");
      });
      // No network namespace and unix sockets allowed: Landlock's scope is what refuses, with
      // EPERM (bun reports every failed unix connect as ECONNREFUSED; the server's count and the
      // unconfined twin below show the name is right and nothing got through).
      await run({ permissions: ["--allow-read", "--allow-net", `--allow-write=${dirs.other}`] }, async (call) => {
        // Deno reports EPERM as EACCES (both are its PermissionDenied).
        const codes = runtimeType === "bun" ? ["EPERM", "ECONNREFUSED"] : runtimeType === "deno" ? ["EPERM", "EACCES"] : ["EPERM"];
        denied(await call("unixConnect", { path: name }), codes, "abstract socket with --allow-net and --allow-write");
      });
      await sleep(300);
      assert.equal(counter.count, seen, "the host's abstract socket saw a connection");
      await run({ sandbox: "off" }, async (call) => {
        const r = await call("unixConnect", { path: name });
        allowed(r, "abstract socket unconfined");
        assert.equal(r.reply, "pong");
      });
      await waitFor(counter, seen);
      assert.equal(counter.count, seen + 1);
    });

    it("cannot connect to a path unix socket under the default policy; --allow-write=<its dir> can", async () => {
      const seen = pathUnix.count;
      await run({}, async (call) => {
        denied(await call("unixConnect", { path: socketPath }), ["EACCES", "EPERM"], "path socket, default policy");
      });
      await sleep(300);
      assert.equal(pathUnix.count, seen, "the host's socket saw a connection");
      // Deno's own layer counts a unix socket as network too: there it also takes --allow-net.
      const denoNet = runtimeType === "deno" ? ["--allow-net"] : [];
      await run({ permissions: ["--allow-read", `--allow-write=${dirs.sockets}`, ...denoNet] }, async (call) => {
        const r = await call("unixConnect", { path: socketPath });
        allowed(r, "path socket with --allow-write=<its dir>");
        assert.equal(r.reply, "pong");
      });
      assert.equal(pathUnix.count, seen + 1);
    });

    it("cannot attach the host's SysV shared memory; unconfined it can", async () => {
      const input = ffiProbe("shm", { id: shmId, length: SHM_SECRET.length });
      for (const permissions of [["--allow-read", ...ffiRun], ["--allow-read", "--allow-net", ...ffiRun]]) {
        await run({ permissions }, async (call) => {
          const r = await call("ffiProbe", input);
          allowed(r, "the probe itself");
          assert.deepEqual(r.result, { errno: EACCES, data: null }, `${permissions}: ${JSON.stringify(r.result)}`);
        });
      }
      await run({ sandbox: "off" }, async (call) => {
        const r = await call("ffiProbe", input);
        allowed(r, "the probe itself");
        assert.deepEqual(r.result, { errno: 0, data: SHM_SECRET });
      });
    });

    it("holds no capabilities, not even when the orchestrator does", async () => {
      const own = capEff(fs.readFileSync("/proc/self/status", "utf8"));
      const viaBun = runtimeType === "deno";
      const cases = viaBun ? [["--allow-read", ...ffiRun], ["--allow-read", "--allow-net", ...ffiRun]] : [null, ["--allow-read", "--allow-net"]];
      for (const permissions of cases) {
        await run({ permissions }, async (call) => {
          const s = await call("procStatus", viaBun ? { bunPath: BUN } : {});
          for (const set of ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"]) {
            assert.equal(BigInt(`0x${s[set]}`), 0n, `${JSON.stringify(permissions)}: ${set} is ${s[set]}`);
          }
          assert.equal(s.NoNewPrivs, "1");
          assert.equal(s.Seccomp, "2");
        });
      }
      // The twin: unconfined, a root orchestrator's tool runs with root's capabilities.
      await run({ sandbox: "off" }, async (call) => {
        const s = await call("procStatus");
        assert.equal(BigInt(`0x${s.CapEff}`) !== 0n, own !== 0n, `unconfined CapEff ${s.CapEff}, orchestrator's ${own.toString(16)}`);
      });
    });
  });

  describe(`sandbox on ${runtimeType}: modes, report and configuration`, () => {
    it("a project folder named with a comma: deno refuses a narrow policy at createRuntime, naming it; bun and node run it", async () => {
      // Deno splits its permission flags on commas, with no escape: the folder would reach it
      // as two paths that are not the project.
      const root = path.join(tempDir(), "tools,v2");
      fs.mkdirSync(path.join(root, "data"), { recursive: true });
      fs.writeFileSync(path.join(root, "tools.mjs"), "export const hi = () => ({ hi: true });\n");
      const narrow = { runtimeType, permissions: ["--allow-read=./data"] };
      if (runtimeType === "deno") {
        await assert.rejects(makeRuntime(narrow, root), (e: any) => {
          assert.equal(e.code, "ERR_INVALID_CONFIG");
          assert.match(e.message, /tools,v2\S* holds a comma/);
          return true;
        });
      }
      // The allowed twins: reads granted whole list no path on deno; bun and node take any path.
      for (const config of runtimeType === "deno" ? [{ runtimeType, permissions: ["--allow-read"] }] : [narrow]) {
        const rt = await makeRuntime(config, root);
        try {
          assert.deepEqual(await rt.executeTool("hi", `comma-${++execCounter}`, {}), { hi: true });
        } finally {
          await rt.close();
        }
      }
    });

    it("strict mode refuses to start when a mechanism is missing; best-effort runs and reports it", async () => {
      process.env.TOOL_RUNTIME_PRETEND_MISSING = "landlock";
      try {
        await assert.rejects(makeRuntime({ runtimeType, entrypointPath: "hostile.mjs" }), (e: any) => {
          assert.ok(e instanceof ConfigError, String(e));
          assert.equal(e.code, "ERR_SANDBOX_UNAVAILABLE");
          assert.match(e.message, /Landlock/);
          assert.match(e.message, /best-effort/);
          return true;
        });
        const rt = await makeRuntime({ runtimeType, entrypointPath: "hostile.mjs", sandbox: "best-effort" });
        try {
          assert.equal(rt.sandbox.mode, "best-effort");
          assert.ok(rt.sandbox.missing.length > 0);
          assert.match(rt.sandbox.missing.join("; "), /Landlock/);
          assert.ok(!rt.sandbox.read.enforcedBy.includes("landlock"), JSON.stringify(rt.sandbox.read));
          assert.ok(!rt.sandbox.write.enforcedBy.includes("landlock"), JSON.stringify(rt.sandbox.write));
          assert.deepEqual(rt.sandbox.machine.pretendedMissing, ["landlock"]);
          assert.equal(rt.sandbox.machine.landlockAbi, null);
          // It still runs tools.
          const r = (await rt.executeTool("tmpdir", "be-1", {})) as { dir: string };
          assert.ok(r.dir.length > 0);
        } finally {
          await rt.close();
        }
        // Node's and deno's read lists come with the Landlock rules: without them a narrow read
        // policy is enforced by nothing, and the report says so; reads granted whole stay listed.
        const narrow = await makeRuntime({ runtimeType, entrypointPath: "hostile.mjs", sandbox: "best-effort", permissions: [`--allow-read=${FIXTURES}`] });
        try {
          assert.deepEqual(narrow.sandbox.read.enforcedBy, [], JSON.stringify(narrow.sandbox.read));
          if (runtimeType === "node") assert.ok(narrow.sandbox.write.enforcedBy.includes("node-permission-model"));
        } finally {
          await narrow.close();
        }
      } finally {
        delete process.env.TOOL_RUNTIME_PRETEND_MISSING;
      }
    });

    it("reports what enforces the default policy", async () => {
      const caps = sandboxCapabilities();
      assert.ok((caps.landlockAbi ?? 0) >= 6, `this machine's Landlock ABI is ${caps.landlockAbi}`);
      await run({}, async (_call, rt) => {
        const s = rt.sandbox;
        assert.equal(s.mode, "strict");
        assert.equal(s.enforced, true);
        assert.deepEqual(s.missing, []);
        assert.equal(s.read.granted, "all");
        assert.equal(s.write.granted, "none");
        assert.equal(s.net.granted, "none");
        assert.ok(s.read.enforcedBy.includes("landlock"));
        assert.ok(s.write.enforcedBy.includes("landlock"));
        assert.ok(s.net.enforcedBy.includes("network-namespace"));
        assert.ok(s.net.enforcedBy.includes("seccomp"));
        assert.ok(s.signals.includes("landlock-scope"));
        assert.ok(s.abstractUnixSockets.includes("landlock-scope"));
        assert.ok(s.otherProcesses.includes("landlock"));
        assert.ok(s.otherProcesses.includes("seccomp"));
        assert.ok(s.pathUnixSockets.length > 0);
        assert.equal(s.noNewPrivs, true);
        if (runtimeType === "node") assert.ok(s.read.enforcedBy.includes("node-permission-model"));
        if (runtimeType === "deno") {
          for (const p of [s.read, s.write, s.net, s.run]) assert.ok(p.enforcedBy.includes("deno-permissions"), JSON.stringify(p));
        }
      });
      if (runtimeType === "deno") {
        // Deno's layer is really on: the kernel lets a call read its own /proc/self, deno's
        // flags do not (only its --allow-all, which the policy --allow-all gives it).
        await run({}, async (call) => {
          denied(await call("readFile", { path: "/proc/self/status" }), ["NotCapable"], "deno: /proc/self/status under --allow-read");
        });
        await run({ permissions: ["--allow-all"] }, async (call) => {
          allowed(await call("readFile", { path: "/proc/self/status" }), "deno: /proc/self/status under --allow-all");
        });
        // The report names deno's layer only where it holds: not for a bare --allow-run (deno
        // then checks nothing), and not for denies without Landlock (deno compares the path it
        // is given, so a symlink gets past it).
        await run({ permissions: ["--allow-read", "--allow-run"] }, async (_call, rt) => {
          assert.ok(!rt.sandbox.run.enforcedBy.includes("deno-permissions"), JSON.stringify(rt.sandbox.run));
        });
        process.env.TOOL_RUNTIME_PRETEND_MISSING = "landlock";
        try {
          await run({ sandbox: "best-effort", permissions: ["--allow-read", `--deny-read=${base}`] }, async (_call, rt) => {
            assert.deepEqual(rt.sandbox.denied.enforcedBy, []);
          });
        } finally {
          delete process.env.TOOL_RUNTIME_PRETEND_MISSING;
        }
      }
      // Any --allow-write opens path unix sockets (seccomp cannot tell paths apart before
      // Landlock ABI 9), and the report says so rather than claiming what it cannot enforce.
      if ((caps.landlockAbi ?? 0) < 9) {
        await run({ permissions: ["--allow-read", `--allow-write=${dirs.other}`] }, async (_call, rt) => {
          assert.deepEqual(rt.sandbox.pathUnixSockets, []);
        });
      }
      await run({ sandbox: "off" }, async (_call, rt) => {
        assert.equal(rt.sandbox.enforced, false);
        assert.deepEqual(rt.sandbox.read.enforcedBy, []);
      });
    });

    it("routes a host list through the egress proxy, and refuses malformed hosts and unknown flags, naming them", async () => {
      await run({ permissions: ["--allow-read", "--allow-net=api.example.com"] }, async (_call, rt) => {
        assert.deepEqual(rt.sandbox.net.granted, [{ host: "api.example.com", port: null }]);
        assert.equal(rt.sandbox.net.enforcedBy[0], "egress-proxy");
      });
      await assert.rejects(makeRuntime({ runtimeType, entrypointPath: "hostile.mjs", permissions: ["--allow-net=bad_host!"] }), (e: any) => {
        assert.ok(e instanceof ConfigError);
        assert.equal(e.code, "ERR_INVALID_CONFIG");
        assert.match(e.message, /bad_host!/);
        return true;
      });
      await assert.rejects(makeRuntime({ runtimeType, entrypointPath: "hostile.mjs", permissions: ["--allow-read", "--allow-teleport"] }), (e: any) => {
        assert.ok(e instanceof ConfigError);
        assert.equal(e.code, "ERR_INVALID_CONFIG");
        assert.match(e.message, /--allow-teleport/);
        return true;
      });
    });
  });
}
