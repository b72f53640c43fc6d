// The network allowlist (--allow-net=HOST[:PORT],... and --deny-net), on bun and node, through
// the public API. A tool with a host list runs in a private network namespace whose only way out
// is the host's egress proxy; these tests drive real clients (fetch, http/https.request, bun's
// WebSocket, a hand-made WebSocket handshake, raw net.connect, a hand-made CONNECT tunnel)
// against servers this test runs on loopback, under names that only the proxy's resolver knows
// (`netHosts`: no test touches real DNS). One server listens on 0.0.0.0 and is reached at an
// address of this host's own non-loopback interface, which wildcards must not reach.
//
// Every refusal is proven on the server side (the server saw no connection) and has an allowed
// twin that reaches the same server, so no test passes because a tool is simply broken.
//
// HTTPS: the servers use a self-signed certificate made with openssl in `before`. Tools trust it
// through https.request's `ca` option (both runtimes) and bun's fetch `tls: { ca }` option. Node's
// fetch (the egress shim's replacement, crates/core/src/harness/egress.mjs nodeFetch) has no way
// to be given a CA: it ignores `dispatcher`, its agents are private to the shim, and
// NODE_EXTRA_CA_CERTS is refused as a per-call variable (validate.rs, NODE_ prefix). On node the
// test only checks that fetch reaches the server and rejects the certificate.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import https from "node:https";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { type ExecuteOptions, type Runtime, type RuntimeConfigInput, type RuntimeType, ToolExecutionError } from "tool-runtime";
import { RUNTIMES, makeRuntime, sleep, tempDir } from "./helpers";

// ---------------------------------------------------------------------------------------------
// What the tools report, and what the runtime reports about their connections.

/** What every tool of fixtures/net.mjs returns. */
interface Outcome {
  ok: boolean;
  status?: number;
  body?: string;
  data?: string;
  name?: string | null;
  code?: string | null;
  message?: string;
  causeCode?: string | null;
  causeMessage?: string | null;
  denied?: string | null;
  [key: string]: unknown;
}

/** One entry of `metrics.network`. */
type NetEvent = import("tool-runtime").NetEvent;

/** ToolExecutionError fields index.d.ts does not declare yet. */
type NetToolError = ToolExecutionError & { deniedHosts?: string[]; cause?: { code?: string; message: string } };

const NOT_ALLOWED = "not allowed by the policy (--allow-net)";
const DENIED = "denied by the policy (--deny-net)";
/** The refusal of a wildcard-matched name that resolves to an address needing an exact entry. */
const specialAddress = (addr: string, cls: string) =>
  `it resolves to ${addr}, a ${cls} address, which only an exact --allow-net entry (the name or the address, not a wildcard) may reach`;

// ---------------------------------------------------------------------------------------------
// Servers on loopback, each counting the TCP connections it accepts.

interface Counted {
  name: string;
  conns: number;
  sockets: Set<net.Socket>;
}

function counter(name: string): Counted {
  return { name, conns: 0, sockets: new Set() };
}

function track(c: Counted) {
  return (socket: net.Socket) => {
    c.conns++;
    c.sockets.add(socket);
    socket.on("close", () => c.sockets.delete(socket));
    socket.on("error", () => {});
  };
}

/** Answers with { path, host, method, bodyLength } as JSON; /redirect?to=URL redirects. */
function handler(req: http.IncomingMessage, res: http.ServerResponse) {
  const url = new URL(req.url ?? "/", "http://x");
  if (url.pathname === "/redirect") {
    res.writeHead(302, { location: url.searchParams.get("to") ?? "/" });
    res.end();
    return;
  }
  let bodyLength = 0;
  req.on("data", (c: Buffer) => (bodyLength += c.length));
  req.on("end", () => {
    const pad = Number(url.searchParams.get("pad") ?? 0);
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ path: url.pathname, host: req.headers.host, method: req.method, bodyLength, pad: "x".repeat(pad) }));
  });
}

/** A WebSocket echo done by hand: handshake, then each client frame comes back as "echo:<text>". */
function upgrade(req: http.IncomingMessage, socket: import("node:stream").Duplex) {
  const accept = crypto
    .createHash("sha1")
    .update(`${req.headers["sec-websocket-key"]}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
    .digest("base64");
  socket.on("error", () => {});
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
  let buf = Buffer.alloc(0);
  socket.on("data", (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 2) {
      const op = buf[0] & 0x0f;
      let len = buf[1] & 0x7f;
      let off = 2;
      if (len === 126) {
        if (buf.length < 4) return;
        len = buf.readUInt16BE(2);
        off = 4;
      }
      if (buf.length < off + 4 + len) return;
      const mask = buf.subarray(off, off + 4);
      const payload = Buffer.from(buf.subarray(off + 4, off + 4 + len));
      buf = buf.subarray(off + 4 + len);
      for (let i = 0; i < payload.length; i++) payload[i] ^= mask[i % 4];
      if (op === 8) {
        socket.end(Buffer.from([0x88, 0]));
        return;
      }
      if (op !== 1 && op !== 2) continue;
      const out = Buffer.concat([Buffer.from("echo:"), payload]);
      socket.write(Buffer.concat([Buffer.from([0x80 | op, out.length]), out]));
    }
  });
}

/**
 * A minimal HTTP/1.1 server that keeps every connection open whatever the request says
 * (`Connection: close` included) and answers each request with { server, line }.
 */
function keepAliveServer(c: Counted): net.Server {
  return net.createServer((socket) => {
    track(c)(socket);
    let buf = "";
    socket.on("data", (d) => {
      buf += d;
      let end: number;
      while ((end = buf.indexOf("\r\n\r\n")) >= 0) {
        const line = buf.slice(0, end).split("\r\n")[0];
        buf = buf.slice(end + 4);
        const body = JSON.stringify({ server: c.name, line });
        socket.write(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: keep-alive\r\n\r\n${body}`);
      }
    });
  });
}

const web = counter("web");
const other = counter("other");
const secure = counter("secure");
const echo = counter("echo");
const keep1 = counter("keep1");
const keep2 = counter("keep2");
const own = counter("own (0.0.0.0)");
let webServer: http.Server;
let otherServer: http.Server;
let secureServer: https.Server;
let echoServer: net.Server;
let keep1Server: net.Server;
let keep2Server: net.Server;
let ownServer: http.Server;
let certDir: string;
let caPath: string;
// Ports: H web (http + ws), O other (http), S secure (https + wss), E echo (raw TCP), K1/K2 keep-alive.
let H = 0;
let O = 0;
let S = 0;
let E = 0;
let K1 = 0;
let K2 = 0;
/** The 0.0.0.0 server's port, and a port nothing listens on. */
let OWN = 0;
let CLOSED = 0;

/** An IPv4 address of one of this host's own interfaces other than loopback (eth0's). */
const HOST_ADDR = Object.values(os.networkInterfaces())
  .flat()
  .find((a) => a && a.family === "IPv4" && !a.internal)?.address;

/** Names the proxy resolves (and nothing else: tests must not touch real DNS). */
const NET_HOSTS: Record<string, string[]> = {
  "api.test": ["127.0.0.1"],
  "evil.test": ["127.0.0.1"],
  "corp.test": ["127.0.0.1"],
  "db.corp.test": ["127.0.0.1"],
  "a.db.corp.test": ["127.0.0.1"],
  "xcorp.test": ["127.0.0.1"],
  // Never connected to: a wildcard refuses them before any connection is attempted.
  "ten.corp.test": ["10.0.0.1"],
  "meta.corp.test": ["169.254.169.254"],
  // This host's own interface address, where the 0.0.0.0 server answers.
  "own.example.test": [HOST_ADDR ?? "192.0.2.1"],
};

function listen(server: net.Server, host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host, port: 0 }, () => resolve((server.address() as net.AddressInfo).port));
  });
}

before(async () => {
  certDir = tempDir("tr-netallow-");
  caPath = path.join(certDir, "cert.pem");
  const keyPath = path.join(certDir, "key.pem");
  execFileSync(
    "openssl",
    [
      "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=api.test",
      "-addext", "subjectAltName=DNS:api.test,DNS:evil.test,DNS:db.corp.test,IP:127.0.0.1",
      "-keyout", keyPath, "-out", caPath,
    ],
    { stdio: "ignore", timeout: 30000 },
  );
  webServer = http.createServer(handler).on("connection", track(web)).on("upgrade", upgrade);
  otherServer = http.createServer(handler).on("connection", track(other));
  secureServer = https
    .createServer({ key: fs.readFileSync(keyPath), cert: fs.readFileSync(caPath) }, handler)
    .on("connection", track(secure))
    .on("upgrade", upgrade);
  echoServer = net.createServer((socket) => {
    track(echo)(socket);
    socket.pipe(socket);
  });
  keep1Server = keepAliveServer(keep1);
  keep2Server = keepAliveServer(keep2);
  [H, O, S, E, K1, K2] = await Promise.all([webServer, otherServer, secureServer, echoServer, keep1Server, keep2Server].map((s) => listen(s)));
  ownServer = http.createServer(handler).on("connection", track(own));
  OWN = await listen(ownServer, "0.0.0.0");
  const closed = net.createServer();
  CLOSED = await listen(closed);
  await new Promise((r) => closed.close(r));
});

after(async () => {
  await Promise.all([...runtimes.values()].map(async (p) => (await p.catch(() => null))?.close()));
  for (const c of [web, other, secure, echo, keep1, keep2, own]) for (const s of c.sockets) s.destroy();
  for (const s of [webServer, otherServer, secureServer, echoServer, keep1Server, keep2Server, ownServer]) s?.close();
  if (certDir) fs.rmSync(certDir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// Helpers.

const runtimes = new Map<string, Promise<Runtime>>();

/** One runtime per (type, permissions), shared by the tests and closed at the end. */
function runtime(runtimeType: RuntimeType, permissions: string[]): Promise<Runtime> {
  const key = `${runtimeType} ${permissions.join(" ")}`;
  let rt = runtimes.get(key);
  if (!rt) {
    rt = makeRuntime({ runtimeType, entrypointPath: "net.mjs", permissions, netHosts: NET_HOSTS, toolExecutionTimeoutMs: 30000 } as RuntimeConfigInput);
    runtimes.set(key, rt);
  }
  return rt;
}

const WITH_METRICS = { metrics: true } as unknown as ExecuteOptions;
let execCounter = 0;

/** Runs a tool with metrics on; returns its outcome and the call's connections. */
async function call(rt: Runtime, tool: string, input: unknown): Promise<{ result: Outcome & Record<string, any>; network: NetEvent[] }> {
  const out = (await rt.executeTool(tool, `net-${++execCounter}`, input, null, WITH_METRICS)) as unknown as {
    result: Outcome;
    metrics: { network: NetEvent[] | null };
  };
  assert.ok(Array.isArray(out.metrics.network), `metrics.network is ${JSON.stringify(out.metrics.network)}`);
  return { result: out.result, network: out.metrics.network };
}

/** Runs `fn` and asserts that none of `servers` accepted a connection meanwhile. */
async function unseen<T>(servers: Counted[], what: string, fn: () => Promise<T>): Promise<T> {
  const before = servers.map((s) => s.conns);
  const r = await fn();
  await sleep(20);
  servers.forEach((s, i) => assert.equal(s.conns, before[i], `${what}: the ${s.name} server accepted ${s.conns - before[i]} connection(s)`));
  return r;
}

/** Runs `fn` and asserts that `server` accepted at least one connection meanwhile. */
async function seen<T>(server: Counted, what: string, fn: () => Promise<T>): Promise<T> {
  const before = server.conns;
  const r = await fn();
  assert.ok(server.conns > before, `${what}: the ${server.name} server saw no connection`);
  return r;
}

/** An HTTP outcome that reached the handler at `path`. */
function reached(o: Outcome, path: string, what: string): Record<string, any> {
  assert.equal(o.ok, true, `${what}: ${JSON.stringify(o)}`);
  assert.equal(o.status, 200, `${what}: ${JSON.stringify(o)}`);
  const body = JSON.parse(String(o.body));
  assert.equal(body.path, path, `${what}: ${o.body}`);
  return body;
}

/** A refusal by the policy, as the tool saw it: ERR_NET_DENIED with the target and reason. */
function refused(o: Outcome, target: string | null, reason: string, what: string) {
  assert.equal(o.ok, false, `${what}: the connection was made: ${JSON.stringify(o)}`);
  assert.equal(o.code, "ERR_NET_DENIED", `${what}: ${JSON.stringify(o)}`);
  if (target !== null) assert.equal(o.message, `tool-runtime: connection to ${target} refused: ${reason}`, what);
  else assert.ok(String(o.message).endsWith(` refused: ${reason}`), `${what}: ${o.message}`);
}

/** The call's refused entry for host:port, with its reason and no bytes. */
function refusedEvent(network: NetEvent[], host: string, port: number, reason: string, what: string): NetEvent {
  const ev = network.find((e) => e.host === host && e.port === port && !e.allowed);
  assert.ok(ev, `${what}: no refused entry for ${host}:${port} in ${JSON.stringify(network)}`);
  assert.equal(ev.reason, reason, what);
  assert.equal(ev.bytesSent, 0, what);
  assert.equal(ev.bytesReceived, 0, what);
  return ev;
}

// ---------------------------------------------------------------------------------------------

for (const runtimeType of RUNTIMES) {
  describe(`--allow-net on ${runtimeType}`, () => {
    const exact = () => runtime(runtimeType, [`--allow-read=${certDir}`, `--allow-net=api.test:${H},api.test:${S}`]);

    it("reports the egress proxy as the enforcer and the listed hosts as granted", async () => {
      const rt = await exact();
      assert.ok(rt.sandbox.net.enforcedBy.length > 0, JSON.stringify(rt.sandbox.net));
      assert.ok(String(rt.sandbox.net.enforcedBy[0]).startsWith("egress-proxy"), JSON.stringify(rt.sandbox.net));
      assert.deepEqual(rt.sandbox.net.granted, [
        { host: "api.test", port: H },
        { host: "api.test", port: S },
      ]);
    });

    it("an exact name reaches its host:port over fetch and http.request; the same host on another port is refused; a port-less entry reaches both", async () => {
      const rt = await exact();
      const viaFetch = await seen(web, "fetch api.test", () => call(rt, "fetchText", { url: `http://api.test:${H}/by-name` }));
      assert.equal(reached(viaFetch.result, "/by-name", "fetch api.test").host, `api.test:${H}`);
      const viaRequest = await seen(web, "http.request api.test", () => call(rt, "request", { url: `http://api.test:${H}/by-name-2` }));
      reached(viaRequest.result, "/by-name-2", "http.request api.test");
      for (const tool of ["fetchText", "request"]) {
        const r = await unseen([other], `${tool} api.test on another port`, () => call(rt, tool, { url: `http://api.test:${O}/` }));
        refused(r.result, `api.test:${O}`, NOT_ALLOWED, `${tool} api.test on another port`);
        refusedEvent(r.network, "api.test", O, NOT_ALLOWED, tool);
      }
      // The twin: the same name without a port reaches every port.
      const any = await runtime(runtimeType, ["--allow-net=api.test"]);
      for (const tool of ["fetchText", "request"]) {
        const r = await seen(other, `${tool} api.test:O with a port-less entry`, () => call(any, tool, { url: `http://api.test:${O}/any-port` }));
        reached(r.result, "/any-port", `${tool} with a port-less entry`);
        reached((await call(any, tool, { url: `http://api.test:${H}/any-port` })).result, "/any-port", `${tool} api.test:H with a port-less entry`);
      }
    });

    it("an IP literal reaches that address and port (also in IPv4-mapped form); another port, and a name resolving to that address, are refused", async () => {
      const rt = await runtime(runtimeType, [`--allow-net=127.0.0.1:${H}`]);
      for (const tool of ["fetchText", "request"]) {
        const r = await seen(web, `${tool} 127.0.0.1`, () => call(rt, tool, { url: `http://127.0.0.1:${H}/by-ip` }));
        reached(r.result, "/by-ip", `${tool} 127.0.0.1`);
        const ev = r.network.find((e) => e.allowed);
        assert.ok(ev && ev.host === "127.0.0.1" && ev.port === H && ev.address === "127.0.0.1", JSON.stringify(r.network));
        const mapped = await seen(web, `${tool} [::ffff:127.0.0.1]`, () => call(rt, tool, { url: `http://[::ffff:127.0.0.1]:${H}/mapped` }));
        reached(mapped.result, "/mapped", `${tool} [::ffff:127.0.0.1]`);

        const port = await unseen([other], `${tool} 127.0.0.1 on another port`, () => call(rt, tool, { url: `http://127.0.0.1:${O}/` }));
        refused(port.result, `127.0.0.1:${O}`, NOT_ALLOWED, `${tool} 127.0.0.1 on another port`);
        // The address entry does not allow names, even one that resolves to it (its twin,
        // api.test:H by name, is reached in the test above).
        const name = await unseen([web], `${tool} api.test -> 127.0.0.1`, () => call(rt, tool, { url: `http://api.test:${H}/` }));
        refused(name.result, `api.test:${H}`, NOT_ALLOWED, `${tool} api.test with only the address listed`);
      }
      // The twin of the other port: a port-less address entry.
      const any = await runtime(runtimeType, ["--allow-net=127.0.0.1"]);
      const r = await seen(other, "127.0.0.1:O with a port-less entry", () => call(any, "fetchText", { url: `http://127.0.0.1:${O}/any-port` }));
      reached(r.result, "/any-port", "127.0.0.1:O with a port-less entry");
    });

    it("an unlisted name is refused before it is resolved, though it maps to the allowed address; so is a redirect to it; the listed twin gets through", async () => {
      const rt = await exact();
      for (const tool of ["fetchText", "request"]) {
        const r = await unseen([web], `${tool} evil.test`, () => call(rt, tool, { url: `http://evil.test:${H}/` }));
        refused(r.result, `evil.test:${H}`, NOT_ALLOWED, `${tool} evil.test`);
        const ev = refusedEvent(r.network, "evil.test", H, NOT_ALLOWED, `${tool} evil.test`);
        assert.equal(ev.address, null, "a refused name is never resolved");
        const twin = await seen(web, `${tool} api.test`, () => call(rt, tool, { url: `http://api.test:${H}/twin` }));
        reached(twin.result, "/twin", `${tool} api.test (twin of evil.test)`);
      }
      // fetch follows redirects: one to an unlisted name is refused, one within the allowed
      // host is followed.
      const away = `http://evil.test:${O}/away`;
      const redirect = await unseen([other], "redirect to evil.test", () =>
        call(rt, "fetchText", { url: `http://api.test:${H}/redirect?to=${encodeURIComponent(away)}` }),
      );
      refused(redirect.result, `evil.test:${O}`, NOT_ALLOWED, "redirect to evil.test");
      assert.ok(redirect.network.some((e) => e.allowed && e.host === "api.test"), JSON.stringify(redirect.network));
      const home = `http://api.test:${H}/home`;
      const followed = await call(rt, "fetchText", { url: `http://api.test:${H}/redirect?to=${encodeURIComponent(home)}` });
      reached(followed.result, "/home", "redirect within api.test");
    });

    it("*.corp.test matches subdomains (never the bare domain) and cannot reach loopback/private/metadata by itself; an exact listing of the name can", async () => {
      const rt = await runtime(runtimeType, ["--allow-net=*.corp.test"]);
      assert.deepEqual(rt.sandbox.net.granted, [{ host: "*.corp.test", port: null }]);
      await unseen([web], "wildcard names", async () => {
        // Matched by the wildcard: refused for the address class, after resolution (a reason
        // other than "not allowed by the policy" proves the wildcard matched).
        for (const host of ["db.corp.test", "a.db.corp.test"]) {
          for (const tool of ["fetchText", "request"]) {
            const r = await call(rt, tool, { url: `http://${host}:${H}/` });
            refused(r.result, `${host}:${H}`, specialAddress("127.0.0.1", "loopback"), `${tool} ${host}`);
            assert.equal(refusedEvent(r.network, host, H, specialAddress("127.0.0.1", "loopback"), host).address, "127.0.0.1");
          }
        }
        const ten = await call(rt, "fetchText", { url: `http://ten.corp.test:${H}/` });
        refused(ten.result, `ten.corp.test:${H}`, specialAddress("10.0.0.1", "private"), "ten.corp.test");
        const meta = await call(rt, "fetchText", { url: `http://meta.corp.test:80/latest/meta-data/` });
        refused(meta.result, "meta.corp.test:80", specialAddress("169.254.169.254", "cloud metadata"), "meta.corp.test");
        // Not matched: the bare domain and a name that merely ends with the same letters.
        for (const host of ["corp.test", "xcorp.test"]) {
          const r = await call(rt, "fetchText", { url: `http://${host}:${H}/` });
          refused(r.result, `${host}:${H}`, NOT_ALLOWED, `fetch ${host}`);
          assert.equal(refusedEvent(r.network, host, H, NOT_ALLOWED, host).address, null);
        }
      });
      // The twin: listing the name exactly lets it reach loopback; its sibling under the
      // wildcard still cannot.
      const listed = await runtime(runtimeType, [`--allow-net=*.corp.test,db.corp.test:${H}`]);
      for (const tool of ["fetchText", "request"]) {
        const r = await seen(web, `${tool} db.corp.test listed exactly`, () => call(listed, tool, { url: `http://db.corp.test:${H}/exact` }));
        reached(r.result, "/exact", `${tool} db.corp.test listed exactly`);
      }
      const sibling = await unseen([web], "a.db.corp.test", () => call(listed, "fetchText", { url: `http://a.db.corp.test:${H}/` }));
      refused(sibling.result, `a.db.corp.test:${H}`, specialAddress("127.0.0.1", "loopback"), "a.db.corp.test beside an exact db.corp.test");
      // Listing the address exactly (with its port) lets any wildcard-matched name reach it.
      const byAddress = await runtime(runtimeType, [`--allow-net=*.corp.test,127.0.0.1:${H}`]);
      const viaAddress = await seen(web, "db.corp.test through an exact address", () => call(byAddress, "fetchText", { url: `http://db.corp.test:${H}/addr` }));
      reached(viaAddress.result, "/addr", "db.corp.test through an exact address entry");
    });

    it("--deny-net wins over --allow-net: by name and port, by address (names resolving to it and the IPv4-mapped form), by wildcard; the undenied twin gets through", async () => {
      const byName = await runtime(runtimeType, ["--allow-net=api.test", `--deny-net=api.test:${H}`]);
      for (const tool of ["fetchText", "request"]) {
        const r = await unseen([web], `${tool} denied api.test:H`, () => call(byName, tool, { url: `http://api.test:${H}/` }));
        refused(r.result, `api.test:${H}`, DENIED, `${tool} denied api.test:H`);
        refusedEvent(r.network, "api.test", H, DENIED, tool);
        const twin = await seen(other, `${tool} api.test:O`, () => call(byName, tool, { url: `http://api.test:${O}/undenied` }));
        reached(twin.result, "/undenied", `${tool} api.test:O beside a denied api.test:H`);
      }

      const byAddress = await runtime(runtimeType, ["--allow-net=api.test,127.0.0.1", `--deny-net=127.0.0.1:${H}`]);
      await unseen([web], "address deny", async () => {
        const name = await call(byAddress, "fetchText", { url: `http://api.test:${H}/` });
        refused(name.result, `api.test:${H}`, DENIED, "api.test resolving to a denied address");
        assert.equal(refusedEvent(name.network, "api.test", H, DENIED, "api.test").address, "127.0.0.1");
        refused((await call(byAddress, "fetchText", { url: `http://127.0.0.1:${H}/` })).result, `127.0.0.1:${H}`, DENIED, "denied literal");
        for (const tool of ["fetchText", "request"]) {
          const mapped = await call(byAddress, tool, { url: `http://[::ffff:127.0.0.1]:${H}/` });
          refused(mapped.result, null, DENIED, `${tool} IPv4-mapped form of a denied address`);
        }
      });
      for (const url of [`http://api.test:${O}/twin`, `http://127.0.0.1:${O}/twin`, `http://[::ffff:127.0.0.1]:${O}/twin`]) {
        const r = await seen(other, url, () => call(byAddress, "fetchText", { url }));
        reached(r.result, "/twin", `${url} beside a denied 127.0.0.1:H`);
      }

      const byWildcard = await runtime(runtimeType, [`--allow-net=api.test:${H}`, "--deny-net=*.test"]);
      const r = await unseen([web], "wildcard deny", () => call(byWildcard, "fetchText", { url: `http://api.test:${H}/` }));
      refused(r.result, `api.test:${H}`, DENIED, "api.test under --deny-net=*.test");
      const plain = await exact();
      const twin = await seen(web, "api.test without the deny", () => call(plain, "fetchText", { url: `http://api.test:${H}/twin` }));
      reached(twin.result, "/twin", "api.test:H without --deny-net");
    });

    it("HTTPS with a self-signed certificate: https.request trusting it reaches the allowed name; the unlisted name is refused before any TLS; without the CA the certificate is rejected", async () => {
      const rt = await exact();
      const ok = await seen(secure, "https.request api.test", () => call(rt, "request", { url: `https://api.test:${S}/tls`, caPath }));
      assert.equal(reached(ok.result, "/tls", "https.request api.test with the CA").host, `api.test:${S}`);
      const ev = ok.network.find((e) => e.allowed);
      assert.ok(ev && ev.method === "CONNECT" && ev.bytesSent > 0 && ev.bytesReceived > 0, JSON.stringify(ok.network));

      for (const tool of ["request", "fetchText"]) {
        const denied = await unseen([secure], `${tool} https evil.test`, () => call(rt, tool, { url: `https://evil.test:${S}/`, caPath }));
        refused(denied.result, `evil.test:${S}`, NOT_ALLOWED, `${tool} https evil.test`);
      }
      // TLS verification survives the tunnel: the server is reached, the certificate refused.
      const untrusted = await seen(secure, "https.request without the CA", () => call(rt, "request", { url: `https://api.test:${S}/` }));
      assert.equal(untrusted.result.ok, false, JSON.stringify(untrusted.result));
      assert.match(String(untrusted.result.code), /SELF_SIGNED|UNABLE_TO_VERIFY/, JSON.stringify(untrusted.result));

      if (runtimeType === "bun") {
        // Bun's fetch takes the CA as `tls: { ca }`.
        const f = await seen(secure, "bun fetch with tls.ca", () => call(rt, "fetchText", { url: `https://api.test:${S}/fetch-tls`, caPath }));
        reached(f.result, "/fetch-tls", "bun fetch https with tls.ca");
      } else {
        // Node's fetch cannot be given a CA (see the header): it reaches the server and
        // rejects the certificate.
        const f = await seen(secure, "node fetch https", () => call(rt, "fetchText", { url: `https://api.test:${S}/`, caPath }));
        assert.equal(f.result.ok, false, JSON.stringify(f.result));
        assert.match(String(f.result.causeCode ?? f.result.code), /SELF_SIGNED|UNABLE_TO_VERIFY/, JSON.stringify(f.result));
      }
    });

    it("raw TCP (net.connect) fails closed even to an allowed host:port, the echo server sees nothing; a CONNECT tunnel through the proxy echoes; one to an unlisted name is refused", async () => {
      const rt = await runtime(runtimeType, [`--allow-net=127.0.0.1:${E},api.test:${E}`]);
      const raw = await unseen([echo], "net.connect 127.0.0.1:E", () => call(rt, "tcpEcho", { host: "127.0.0.1", port: E, message: "raw hello" }));
      assert.equal(raw.result.ok, false, `net.connect reached the echo server: ${JSON.stringify(raw.result)}`);
      assert.deepEqual(raw.network, [], "net.connect does not go through the proxy");
      for (const target of [`127.0.0.1:${E}`, `api.test:${E}`]) {
        const t = await seen(echo, `tunnel to ${target}`, () => call(rt, "tunnelEcho", { target, message: "tunnelled hello" }));
        assert.equal(t.result.ok, true, `tunnel to ${target}: ${JSON.stringify(t.result)}`);
        assert.ok(String(t.result.data).includes("tunnelled hello"));
        const ev = t.network.find((e) => e.allowed);
        assert.ok(ev && ev.method === "CONNECT" && ev.bytesSent >= 15 && ev.bytesReceived >= 15, JSON.stringify(t.network));
      }
      const denied = await unseen([echo], "tunnel to evil.test", () => call(rt, "tunnelEcho", { target: `evil.test:${E}`, message: "x" }));
      assert.equal(denied.result.ok, false, JSON.stringify(denied.result));
      assert.equal(denied.result.status, 403);
      assert.equal(denied.result.denied, NOT_ALLOWED);
      refusedEvent(denied.network, "evil.test", E, NOT_ALLOWED, "tunnel to evil.test");
    });

    it("WebSockets go through the proxy: the allowed name echoes over ws and wss, the unlisted name is refused and its server sees nothing", async () => {
      const rt = await exact();
      const info = (await rt.executeTool("runtimeInfo", `net-${++execCounter}`, {})) as { hasGlobalWebSocket: boolean };
      // Bun's global WebSocket (given the proxy by the shim). Node 20 has none; node 22+'s
      // (undici) cannot be routed by the shim and fails closed, even to an allowed host.
      if (runtimeType === "bun") assert.equal(info.hasGlobalWebSocket, true);
      if (runtimeType === "node" && info.hasGlobalWebSocket) {
        const closed = await unseen([web], "node's global WebSocket", () => call(rt, "wsGlobal", { url: `ws://api.test:${H}/ws`, message: "hi" }));
        assert.equal(closed.result.ok, false, JSON.stringify(closed.result));
      }
      const tools = runtimeType === "bun" ? ["wsGlobal", "wsUpgrade"] : ["wsUpgrade"];
      for (const tool of tools) {
        const ws = await seen(web, `${tool} ws://api.test`, () => call(rt, tool, { url: `ws://api.test:${H}/ws`, message: "hi" }));
        assert.deepEqual(ws.result, { ok: true, data: "echo:hi" }, `${tool} ws://api.test`);
        const wss = await seen(secure, `${tool} wss://api.test`, () => call(rt, tool, { url: `wss://api.test:${S}/ws`, message: "hi", caPath }));
        assert.deepEqual(wss.result, { ok: true, data: "echo:hi" }, `${tool} wss://api.test`);
        const denied = await unseen([web], `${tool} ws://evil.test`, () => call(rt, tool, { url: `ws://evil.test:${H}/ws`, message: "hi" }));
        assert.equal(denied.result.ok, false, `${tool} ws://evil.test: ${JSON.stringify(denied.result)}`);
        // A refused global WebSocket fails like any failed WebSocket; the refusal is in the
        // call's network report (and the http client's error says ERR_NET_DENIED).
        if (tool === "wsUpgrade") refused(denied.result, `evil.test:${H}`, NOT_ALLOWED, "wsUpgrade ws://evil.test");
        refusedEvent(denied.network, "evil.test", H, NOT_ALLOWED, `${tool} ws://evil.test`);
      }
    });

    it("a refusal the tool lets escape is on the ToolExecutionError as deniedHosts; the allowed twin resolves", async () => {
      const rt = await exact();
      const e = (await unseen([web], "fetchOrThrow evil.test", () =>
        rt.executeTool("fetchOrThrow", `net-${++execCounter}`, { url: `http://evil.test:${H}/` }).then(
          (v) => assert.fail(`resolved with ${JSON.stringify(v)}`),
          (err: unknown) => err,
        ),
      )) as NetToolError;
      assert.ok(e instanceof ToolExecutionError, String(e));
      assert.equal(e.code, "ERR_TOOL_FAILED");
      assert.deepEqual(e.deniedHosts, [`evil.test:${H}`]);
      assert.equal(e.cause?.code, "ERR_NET_DENIED", JSON.stringify(e.cause));
      assert.equal(e.cause?.message, `tool-runtime: connection to evil.test:${H} refused: ${NOT_ALLOWED}`);

      const twin = (await rt.executeTool("fetchOrThrow", `net-${++execCounter}`, { url: `http://api.test:${H}/twin` })) as { status: number };
      assert.equal(twin.status, 200);

      // Refusals the tool swallowed before failing for another reason are reported too, each
      // once and in order; allowed destinations are not.
      const urls = [`http://evil.test:${H}/`, `http://api.test:${H}/fine`, `http://api.test:${O}/`, `http://evil.test:${H}/again`];
      const later = (await rt.executeTool("tryAllThenThrow", `net-${++execCounter}`, { urls }).then(
        (v) => assert.fail(`resolved with ${JSON.stringify(v)}`),
        (err: unknown) => err,
      )) as NetToolError;
      assert.equal(later.code, "ERR_TOOL_FAILED");
      assert.match(later.message, /gave up after trying every URL/);
      assert.deepEqual(later.deniedHosts, [`evil.test:${H}`, `api.test:${O}`]);

      const clean = (await rt.executeTool("tryAllThenThrow", `net-${++execCounter}`, { urls: [`http://api.test:${H}/fine`] }).then(
        (v) => assert.fail(`resolved with ${JSON.stringify(v)}`),
        (err: unknown) => err,
      )) as NetToolError;
      assert.equal(clean.code, "ERR_TOOL_FAILED");
      assert.deepEqual(clean.deniedHosts ?? [], [], "no refusal, no denied hosts");
    });

    it("metrics.network lists every connection of the call in order: allowed ones with address and byte counts, refused ones with the reason and no bytes", async () => {
      const rt = await exact();
      const body = "b".repeat(5000);
      const urls = [`http://api.test:${H}/big?pad=20000`, `http://evil.test:${H}/`, `http://api.test:${O}/`];
      const r = await call(rt, "fetchAll", { urls });
      const results = r.result.results as Outcome[];
      reached(results[0], "/big", "first fetch");
      refused(results[1], `evil.test:${H}`, NOT_ALLOWED, "second fetch");
      refused(results[2], `api.test:${O}`, NOT_ALLOWED, "third fetch");
      assert.equal(r.network.length, 3, JSON.stringify(r.network));
      const [ok, evil, port] = r.network;
      assert.ok(ok.method === "CONNECT" || ok.method === "GET", ok.method);
      assert.deepEqual({ ...ok, method: "", bytesSent: 0, bytesReceived: 0 }, {
        method: "",
        host: "api.test",
        port: H,
        address: "127.0.0.1",
        allowed: true,
        reason: null,
        bytesSent: 0,
        bytesReceived: 0,
      });
      assert.ok(ok.bytesSent > 0, `bytesSent ${ok.bytesSent}`);
      assert.ok(ok.bytesReceived >= 20000, `bytesReceived ${ok.bytesReceived} for a 20 kB answer`);
      assert.deepEqual(evil, { method: ok.method, host: "evil.test", port: H, address: null, allowed: false, reason: NOT_ALLOWED, bytesSent: 0, bytesReceived: 0 });
      assert.deepEqual(port, { method: ok.method, host: "api.test", port: O, address: null, allowed: false, reason: NOT_ALLOWED, bytesSent: 0, bytesReceived: 0 });

      // Bytes sent count the request body.
      const post = await call(rt, "request", { url: `http://api.test:${H}/post`, method: "POST", body });
      assert.equal(reached(post.result, "/post", "POST").bodyLength, 5000);
      assert.equal(post.network.length, 1, JSON.stringify(post.network));
      assert.ok(post.network[0].bytesSent >= 5000, `bytesSent ${post.network[0].bytesSent} for a 5000-byte body`);

      // A call that makes no connection reports none.
      assert.deepEqual((await call(rt, "runtimeInfo", {})).network, []);
    });

    // Bun's fetch sends plain http to the proxy in absolute form (node's goes through CONNECT
    // tunnels), as HTTP_PROXY-aware clients do on both runtimes. The proxy serves one such
    // request per connection; a server that keeps the connection open must not make the
    // client's next request (to another origin, or a refused one) land on it.
    const keptAlive = (tool: string) => async () => {
      const rt = await runtime(runtimeType, [`--allow-net=api.test:${K1},api.test:${K2}`]);
      const urls = [`http://api.test:${K1}/one`, `http://api.test:${K2}/two`, `http://evil.test:${K2}/three`];
      const r = await call(rt, tool, { urls });
      const [one, two, three] = r.result.results as Outcome[];
      assert.equal(one.ok, true, JSON.stringify(one));
      assert.equal(JSON.parse(String(one.body)).server, "keep1");
      assert.equal(two.ok, true, JSON.stringify(two));
      assert.equal(JSON.parse(String(two.body)).server, "keep2", `api.test:${K2}/two was answered by ${two.body}`);
      refused(three, `evil.test:${K2}`, NOT_ALLOWED, `evil.test:${K2} after a kept-alive connection (answered: ${three.body})`);
      assert.deepEqual(
        r.network.map((e) => `${e.host}:${e.port} ${e.allowed}`),
        [`api.test:${K1} true`, `api.test:${K2} true`, `evil.test:${K2} false`],
      );
    };
    it("fetch: each plain-HTTP request reaches the origin it names, even when a server keeps the connection open; an unlisted one stays refused", keptAlive("fetchAll"));
    it("an HTTP_PROXY-aware client (absolute form, kept-alive proxy connection): each request reaches the origin it names; an unlisted one stays refused", keptAlive("proxyAwareAll"));
  });
}

// ---------------------------------------------------------------------------------------------

for (const runtimeType of RUNTIMES) {
  describe(`network refusals and failures on ${runtimeType}`, () => {
    it("a wildcard name resolving to this host's own (non-loopback) interface address is refused like loopback, before connecting; the name or the address listed exactly reaches the 0.0.0.0 server", async () => {
      assert.ok(HOST_ADDR, `this host has no non-loopback IPv4 address: ${JSON.stringify(os.networkInterfaces())}`);
      const reason = specialAddress(HOST_ADDR, "host interface");
      const wild = await runtime(runtimeType, ["--allow-net=*.example.test"]);
      for (const tool of ["fetchText", "request"]) {
        const r = await unseen([own], `${tool} own.example.test`, () => call(wild, tool, { url: `http://own.example.test:${OWN}/` }));
        refused(r.result, `own.example.test:${OWN}`, reason, `${tool} own.example.test`);
        assert.equal(refusedEvent(r.network, "own.example.test", OWN, reason, tool).address, HOST_ADDR);
      }
      const e = (await unseen([own], "fetchOrThrow own.example.test", () =>
        wild.executeTool("fetchOrThrow", `net-${++execCounter}`, { url: `http://own.example.test:${OWN}/` }).then(
          (v) => assert.fail(`resolved with ${JSON.stringify(v)}`),
          (err: unknown) => err,
        ),
      )) as NetToolError;
      assert.ok(e instanceof ToolExecutionError, String(e));
      assert.deepEqual(e.deniedHosts, [`own.example.test:${OWN}`]);
      assert.equal(e.cause?.code, "ERR_NET_DENIED", JSON.stringify(e.cause));

      const byAddress = await runtime(runtimeType, [`--allow-net=*.example.test,${HOST_ADDR}`]);
      const byName = await runtime(runtimeType, ["--allow-net=own.example.test"]);
      for (const [rt, what] of [[byAddress, "the address listed"], [byName, "the name listed"]] as const) {
        for (const tool of ["fetchText", "request"]) {
          const r = await seen(own, `${tool} with ${what}`, () => call(rt, tool, { url: `http://own.example.test:${OWN}/own` }));
          reached(r.result, "/own", `${tool} with ${what}`);
        }
      }
    });

    it("a fetch or http(s).request to an allowed host whose port refuses fails with ECONNREFUSED (node's fetch: a TypeError with cause.code and code; bun's: code) and a message naming host:port; the open port answers", async () => {
      const rt = await runtime(runtimeType, ["--allow-net=api.test"]);
      for (const [tool, url] of [
        ["fetchText", `http://api.test:${CLOSED}/`],
        ["fetchText", `https://api.test:${CLOSED}/`],
        ["request", `http://api.test:${CLOSED}/`],
        ["request", `https://api.test:${CLOSED}/`],
      ]) {
        const what = `${tool} ${url}`;
        const r = await call(rt, tool, { url });
        assert.equal(r.result.ok, false, `${what}: ${JSON.stringify(r.result)}`);
        assert.equal(r.result.code, "ECONNREFUSED", `${what}: ${JSON.stringify(r.result)}`);
        if (runtimeType === "node" && tool === "fetchText") {
          assert.equal(r.result.name, "TypeError", what);
          assert.equal(r.result.causeCode, "ECONNREFUSED", `${what}: ${JSON.stringify(r.result)}`);
        }
        assert.ok(String(r.result.message).includes(`connection to api.test:${CLOSED} failed (ECONNREFUSED)`), `${what}: ${r.result.message}`);
        const ev = r.network.find((n) => n.port === CLOSED);
        assert.ok(ev?.allowed && /cannot connect/.test(String(ev.reason)), `${what}: ${JSON.stringify(r.network)}`);
      }
      reached((await seen(web, "fetch the open port", () => call(rt, "fetchText", { url: `http://api.test:${H}/open` }))).result, "/open", "open port");
    });

    it("with no --allow-net at all, fetch (and, on node and deno, http(s).request and net.connect) fail with ERR_NET_DENIED naming host:port, names included (no lookup); bare --allow-net reaches the same servers", async () => {
      const none = await runtime(runtimeType, []);
      const run = async (rt: Runtime, tool: string, input: unknown) => (await rt.executeTool(tool, `net-${++execCounter}`, input, null)) as Outcome;
      const noNetwork = (target: string) => `tool-runtime: connection to ${target} refused: the policy grants no network (--allow-net)`;
      const cases: [string, Record<string, unknown>, string, boolean][] = [
        // [tool, input, target, whether this runtime's client is covered]
        ["fetchText", { url: `http://127.0.0.1:${H}/` }, `127.0.0.1:${H}`, true],
        ["fetchText", { url: `https://api.test:${S}/` }, `api.test:${S}`, true],
        ["request", { url: `http://127.0.0.1:${H}/` }, `127.0.0.1:${H}`, runtimeType !== "bun"],
        ["request", { url: `https://api.test:${S}/` }, `api.test:${S}`, runtimeType !== "bun"],
        ["tcpEcho", { host: "127.0.0.1", port: E, message: "hi" }, `127.0.0.1:${E}`, runtimeType !== "bun"],
      ];
      for (const [tool, input, target, covered] of cases) {
        const what = `${tool} ${target}`;
        const o = await unseen([web, secure, echo], what, () => run(none, tool, input));
        assert.equal(o.ok, false, `${what}: ${JSON.stringify(o)}`);
        if (covered) {
          assert.equal(o.code, "ERR_NET_DENIED", `${what}: ${JSON.stringify(o)}`);
          assert.equal(o.message, noNetwork(target), what);
        } else {
          // Bun's node:net is not patched (see netdeny.mjs): the kernel's refusal, unexplained.
          assert.ok(["EACCES", "EPERM", "ENETUNREACH", "EAI_AGAIN", "ENOTFOUND"].includes(String(o.code)), `${what}: ${JSON.stringify(o)}`);
        }
      }
      const e = (await none.executeTool("fetchOrThrow", `net-${++execCounter}`, { url: `http://api.test:${H}/` }).then(
        (v) => assert.fail(`resolved with ${JSON.stringify(v)}`),
        (err: unknown) => err,
      )) as NetToolError;
      assert.equal(e.cause?.code, "ERR_NET_DENIED", JSON.stringify(e.cause));
      assert.equal(e.cause?.message, noNetwork(`api.test:${H}`));

      const all = await runtime(runtimeType, ["--allow-net"]);
      reached(await seen(web, "fetch with --allow-net", () => run(all, "fetchText", { url: `http://127.0.0.1:${H}/all` })), "/all", "fetch with --allow-net");
      reached(await seen(web, "request with --allow-net", () => run(all, "request", { url: `http://127.0.0.1:${H}/all2` })), "/all2", "request with --allow-net");
      const echoed = await seen(echo, "tcpEcho with --allow-net", () => run(all, "tcpEcho", { host: "127.0.0.1", port: E, message: "hi" }));
      assert.equal(echoed.ok, true, JSON.stringify(echoed));
    });
  });
}
