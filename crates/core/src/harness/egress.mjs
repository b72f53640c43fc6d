// Over 500 lines: node and bun each need their own routing (fetch, http/https, WebSocket),
// kept in the one file that must load before any of the tool's code.
// Egress shim: loaded by the worker harness before the entrypoint when the tool's policy lists
// hosts (--allow-net=HOST,...) and TOOL_RUNTIME_PROXY is set (http://127.0.0.1:3128). The tool
// runs in a network namespace with no route out; its only way out is the host's egress proxy,
// which checks every destination against the policy. This module makes the runtime's HTTP
// clients go through it, on node and on bun:
//
// - http/https (both runtimes): every http.Agent and https.Agent (the global ones, `agent:
//   false`, and agents the tool makes) opens its connections as CONNECT tunnels through the
//   proxy; https runs TLS over the tunnel with the agent's own TLS options (ca,
//   rejectUnauthorized, servername, session cache). Plain http also uses a tunnel (to port
//   80 or the URL's port), so keep-alive sockets stay bound to one origin. Requests that pass
//   `createConnection` and no agent (the `ws` package does) are given the global agent
//   instead. Agent subclasses that override createConnection (agent-base, https-proxy-agent)
//   are left alone: they dial directly and fail closed.
// - fetch: node's fetch (undici) ignores HTTP(S)_PROXY and node 20 does not expose undici, so
//   it is replaced with a small implementation over the tunnelling agents (see nodeFetch).
//   Bun's fetch is native: it is given the proxy explicitly (`proxy` option), whatever the
//   environment says.
// - WebSocket: bun's global WebSocket is given the proxy (`proxy` option). Node 20 has no
//   global WebSocket; the `ws` package works through the patched http/https. Node 22+'s
//   global WebSocket (undici) cannot be routed and fails closed (no route). On bun, `ws`
//   resolves to bun's built-in stand-in, which cannot be patched (bun refuses to override a
//   built-in module): it dials directly and fails closed unless the tool passes
//   `{ proxy: process.env.HTTPS_PROXY }`.
// - Clients that honour HTTP(S)_PROXY themselves (axios, https-proxy-agent, curl run with
//   --allow-run) talk to the proxy directly; their agents' connections to the proxy address
//   are not tunnelled again, `http.request` of an https URL in absolute form to the proxy
//   becomes an https request through a tunnel (the proxy does not make TLS connections for
//   clients), and a proxy refusal they receive as a response becomes the request's error.
// - Raw sockets (net.connect, tls.connect, http2.connect, Bun.connect, dgram, the `undici`
//   package on node) are out of scope: they have no route out of the namespace and fail
//   closed. (Raw TCP to an allowed host is possible through a CONNECT tunnel: openTunnel.)
//
// A destination the policy refuses surfaces as a NetDeniedError: message "tool-runtime:
// connection to HOST:PORT refused: <reason>", code "ERR_NET_DENIED", for fetch,
// http(s).request and tunnels alike. An allowed destination that cannot be reached fails with
// the usual errno code (ENOTFOUND, ECONNREFUSED, ETIMEDOUT, ...), as a direct connection would.
import net from "node:net";
import http from "node:http";
import https from "node:https";
import zlib from "node:zlib";
import nodeModule from "node:module";

const isBun = typeof globalThis.Bun !== "undefined";
const MAX_HEAD = 16 * 1024;
const DENIED_HEADER = "x-tool-runtime-denied";
const ERROR_HEADER = "x-tool-runtime-error";
const TARGET_HEADER = "x-tool-runtime-target";
// Captured before any tool code runs.
const rawConnect = net.connect;
const NativeResponse = globalThis.Response;
const NativeRequest = globalThis.Request;
const NativeHeaders = globalThis.Headers;

/** A connection the policy refused. */
export class NetDeniedError extends Error {
  constructor(target, reason) {
    super(`tool-runtime: connection to ${target} refused: ${reason}`);
    this.name = "NetDeniedError";
    this.code = "ERR_NET_DENIED";
    this.target = target;
    this.reason = reason;
  }
}

/** The proxy in use: { host, port, href }, or null before install(). */
let proxy = null;

/** Routes this process's HTTP clients through the proxy at `proxyUrl` (idempotent). */
export function install(proxyUrl) {
  if (proxy) return;
  const u = new URL(proxyUrl);
  if (u.protocol !== "http:") throw new Error(`tool-runtime: unsupported proxy URL ${proxyUrl}`);
  proxy = { host: unbracket(u.hostname), port: Number(u.port || 80), href: `http://${u.host}` };
  patchAgents();
  patchRequestFunctions();
  patchProxyAnswers();
  if (isBun) {
    patchBunFetch();
    patchBunWebSocket();
  } else {
    globalThis.fetch = nodeFetch;
  }
  // `import { request } from "node:https"` sees the patched functions too.
  nodeModule.syncBuiltinESMExports?.();
}

function unbracket(host) {
  return String(host).replace(/^\[(.*)\]$/, "$1");
}

function formatTarget(host, port) {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

function isProxyAddress(host, port) {
  return Number(port) === proxy.port && (host === proxy.host || host === "localhost" || host === "127.0.0.1");
}

/**
 * Opens a CONNECT tunnel to host:port through the proxy. Resolves with the connected socket
 * (bytes written go to the destination), rejects with NetDeniedError when the policy refuses,
 * or with an errno-coded Error when the destination cannot be reached.
 */
export function openTunnel(host, port, { signal } = {}) {
  if (!proxy) return Promise.reject(new Error("tool-runtime: the egress proxy is not installed"));
  host = unbracket(host);
  port = Number(port);
  const target = formatTarget(host, port);
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const socket = rawConnect({ host: proxy.host, port: proxy.port });
    socket.setNoDelay(true);
    let buffered = Buffer.alloc(0);
    let head = null; // a non-200 answer, whose body is being read
    let done = false;
    const finish = (err) => {
      if (done) return;
      done = true;
      socket.removeListener("readable", onReadable);
      socket.removeListener("error", onError);
      socket.removeListener("end", onEnd);
      socket.removeListener("close", onEnd);
      signal?.removeEventListener("abort", onAbort);
      if (err) {
        socket.destroy();
        reject(err);
      } else {
        resolve(socket);
      }
    };
    const onAbort = () => finish(signal.reason);
    const onError = (e) => finish(head ? answerError(host, port, head, buffered) : proxyUnreachable(e));
    const onEnd = () =>
      finish(
        head
          ? answerError(host, port, head, buffered)
          : new Error(`tool-runtime: the network proxy closed the connection to ${target} without an answer`),
      );
    // Paused-mode reads: nothing past the answer's head is consumed by us.
    const onReadable = () => {
      let chunk;
      while (!done && (chunk = socket.read()) !== null) {
        buffered = buffered.length ? Buffer.concat([buffered, chunk]) : chunk;
        if (!head) {
          const end = buffered.indexOf("\r\n\r\n");
          if (end < 0) {
            if (buffered.length > MAX_HEAD) finish(new Error("tool-runtime: the network proxy sent an oversized answer"));
            continue;
          }
          const parsed = parseHead(buffered.subarray(0, end).toString("latin1"));
          const rest = buffered.subarray(end + 4);
          if (parsed.status === 200) {
            finish(null);
            if (rest.length) socket.unshift(rest);
            return;
          }
          head = parsed;
          buffered = rest;
        }
        if (head.contentLength !== undefined && buffered.length >= head.contentLength) {
          finish(answerError(host, port, head, buffered));
        }
      }
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    socket.on("readable", onReadable);
    socket.on("error", onError);
    socket.on("end", onEnd);
    socket.on("close", onEnd);
    socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
  });
}

function parseHead(text) {
  const lines = text.split("\r\n");
  const m = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(lines[0]);
  const headers = Object.create(null);
  for (const line of lines.slice(1)) {
    const i = line.indexOf(":");
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  const len = Number(headers["content-length"]);
  return {
    status: m ? Number(m[1]) : 0,
    phrase: m?.[2] ?? "",
    headers,
    contentLength: Number.isFinite(len) ? len : undefined,
  };
}

/** The error for a proxy answer other than 200 to CONNECT. */
function answerError(host, port, head, body) {
  const target = formatTarget(host, port);
  const denied = head.headers[DENIED_HEADER];
  if (head.status === 403 && denied) return new NetDeniedError(target, denied);
  const text = body.toString("utf8").trim();
  const code = head.headers[ERROR_HEADER];
  const err = new Error(
    text.startsWith("tool-runtime:")
      ? text
      : `tool-runtime: the network proxy answered ${head.status} ${head.phrase} to a connection to ${target}`,
  );
  decorateErrno(err, code, host, port);
  return err;
}

function decorateErrno(err, code, host, port) {
  err.code = code || "ERR_PROXY_TUNNEL";
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") {
    err.syscall = "getaddrinfo";
    err.hostname = host;
  } else if (code) {
    err.syscall = "connect";
    err.host = host;
    err.port = port;
  }
  return err;
}

function proxyUnreachable(cause) {
  const err = new Error(
    `tool-runtime: cannot reach the network proxy at ${proxy.host}:${proxy.port}: ${cause?.message ?? cause}`,
    { cause },
  );
  err.code = cause?.code ?? "ECONNREFUSED";
  return err;
}

// ---------------------------------------------------------------------------------------------
// http and https agents

function patchAgents() {
  const directHttp = http.Agent.prototype.createConnection;
  const directHttps = https.Agent.prototype.createConnection;
  http.Agent.prototype.createConnection = function createConnection(options, cb) {
    return tunnelledConnection(this, options, cb, directHttp, null);
  };
  https.Agent.prototype.createConnection = function createConnection(options, cb) {
    return tunnelledConnection(this, options, cb, directHttps, directHttps);
  };
}

// Agents call createConnection(options, callback); the socket comes through the callback once
// the tunnel is up (node and bun both support that form). Called without a callback (some
// code calls agent.createConnection(options) for a socket) it cannot tunnel: it dials
// directly, which fails closed.
function tunnelledConnection(agent, options, cb, direct, tlsOverTunnel) {
  if (options === null || typeof options !== "object" || typeof cb !== "function" || options.socketPath) {
    return direct.apply(agent, arguments.length > 2 ? [options, cb] : [options]);
  }
  const host = unbracket(options.host ?? options.hostname ?? "localhost");
  const port = Number(options.port) || (tlsOverTunnel ? 443 : 80);
  // A client that speaks the proxy protocol itself (HTTP_PROXY-aware libraries) goes straight
  // to the proxy.
  if (isProxyAddress(host, port)) return direct.call(agent, options, cb);
  openTunnel(host, port).then(
    (socket) => {
      if (!tlsOverTunnel) {
        cb(null, socket);
        return;
      }
      let secure;
      try {
        secure = tlsOverTunnel.call(agent, { ...options, host, port, socket });
      } catch (e) {
        socket.destroy();
        cb(e);
        return;
      }
      cb(null, secure);
    },
    (err) => cb(err),
  );
  return undefined;
}

// http.request/get and https.request/get: two adjustments before the real function runs.
function patchRequestFunctions() {
  for (const mod of [http, https]) {
    for (const name of ["request", "get"]) {
      const original = mod[name];
      const patched = function (...args) {
        const i = typeof args[0] === "string" || args[0] instanceof URL ? 1 : 0;
        const opts = args[i];
        if (opts !== null && typeof opts === "object") {
          // `createConnection` without an agent dials directly (the `ws` package does this):
          // use the tunnelling global agent instead.
          if (typeof opts.createConnection === "function" && opts.agent == null && !opts.socketPath) {
            const copy = { ...opts, agent: mod.globalAgent };
            delete copy.createConnection;
            args = [...args];
            args[i] = copy;
          }
          // HTTP_PROXY-aware libraries (axios, ...) send https URLs in absolute form to the
          // proxy, which does not make TLS connections for clients: send them as https
          // requests through a tunnel instead.
          if (mod === http && i === 0 && typeof opts.path === "string" && /^https:\/\//i.test(opts.path)) {
            const host = unbracket(opts.hostname ?? opts.host ?? "");
            if (isProxyAddress(host, opts.port ?? 80)) {
              const { host: _h, hostname: _hn, port: _p, path, agent: _a, protocol: _pr, ...rest } = opts;
              return https[name](path, { ...rest, agent: https.globalAgent }, ...args.slice(1));
            }
          }
        }
        return original.apply(this, args);
      };
      Object.defineProperty(patched, "name", { value: name });
      mod[name] = patched;
    }
  }
}

// Clients that speak to the proxy themselves (HTTP_PROXY-aware libraries: axios's own CONNECT
// agent, https-proxy-agent, absolute-form plain http) receive its refusals as responses. A
// response carrying the proxy's refusal headers becomes the request's error instead, as if
// the connection had failed: NetDeniedError for a policy refusal, an errno-coded Error when
// the destination could not be reached.
function patchProxyAnswers() {
  const emit = http.ClientRequest.prototype.emit;
  http.ClientRequest.prototype.emit = function (event, ...args) {
    if (event === "response") {
      const err = refusalOf(args[0]);
      if (err) {
        args[0].resume();
        emit.call(this, "error", err);
        this.destroy();
        return true;
      }
    }
    return emit.call(this, event, ...args);
  };
}

function refusalOf(res) {
  const headers = res?.headers;
  if (!headers || (res.statusCode !== 403 && res.statusCode < 502)) return null;
  const target = headers[TARGET_HEADER];
  if (typeof target !== "string") return null;
  if (res.statusCode === 403 && typeof headers[DENIED_HEADER] === "string") {
    return new NetDeniedError(target, headers[DENIED_HEADER]);
  }
  const code = headers[ERROR_HEADER];
  if (typeof code !== "string") return null;
  const t = /^\[?(.*?)\]?:(\d+)$/.exec(target);
  const err = new Error(`tool-runtime: connection to ${target} failed (${code})`);
  return decorateErrno(err, code, t?.[1] ?? target, Number(t?.[2]));
}

// ---------------------------------------------------------------------------------------------
// bun: fetch and WebSocket are native and take a `proxy` option

const DENIED_TEXT = /^tool-runtime: connection to (\S+) refused: (.*)$/s;
const FAILED_TEXT = /^tool-runtime: connection to \S+ failed \(([A-Z0-9_]+)\)/;

function patchBunFetch() {
  const native = globalThis.fetch;
  const wrapped = async function fetch(input, init) {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input?.url;
    const viaProxy = typeof url === "string" && /^https?:/i.test(url);
    if (!viaProxy) return native(input, init);
    let res;
    try {
      res = await native(input, { ...(init ?? {}), proxy: proxy.href });
    } catch (e) {
      throw bunProxyError(e) ?? e;
    }
    // Plain http goes to the proxy in absolute form: its refusals come back as responses.
    if ((res.status === 403 && res.headers.has(DENIED_HEADER)) || (res.status >= 502 && res.headers.has(ERROR_HEADER))) {
      const text = (await res.text()).trim();
      const denied = DENIED_TEXT.exec(text);
      if (denied) throw new NetDeniedError(denied[1], denied[2]);
      const target = new URL(res.url || url);
      const err = new Error(text);
      throw decorateErrno(err, res.headers.get(ERROR_HEADER), target.hostname, Number(target.port) || 80);
    }
    return res;
  };
  for (const key of Object.keys(native)) wrapped[key] = native[key];
  // preconnect would dial directly: a no-op is the honest equivalent.
  wrapped.preconnect = () => {};
  // Bun.fetch is read-only: it, and bun's built-in stand-ins for the `node-fetch` and `undici`
  // packages, stay native and take the proxy from HTTPS_PROXY/HTTP_PROXY (which the runtime
  // sets); their refusals are ERR_PROXY_TUNNEL errors whose message carries the proxy's text.
  globalThis.fetch = wrapped;
}

// Bun reports a refused CONNECT by the proxy's status line, which carries the message in
// brackets: "Proxy refused to open a tunnel: 403 Forbidden [tool-runtime: ...]".
function bunProxyError(e) {
  const m = /\[(tool-runtime: connection to [\s\S]*)\]\s*$/.exec(String(e?.message ?? ""));
  if (!m) return null;
  const denied = DENIED_TEXT.exec(m[1]);
  if (denied) {
    const err = new NetDeniedError(denied[1], denied[2]);
    err.cause = e;
    return err;
  }
  const err = new Error(m[1], { cause: e });
  const target = /connection to (\S+) failed/.exec(m[1])?.[1] ?? "";
  const t = /^\[?(.*?)\]?:(\d+)$/.exec(target);
  return decorateErrno(err, FAILED_TEXT.exec(m[1])?.[1], t?.[1] ?? target, Number(t?.[2]));
}

// A refused WebSocket fails like any failed WebSocket (an error event, then close 1006): the
// refusal itself is in the call's denied hosts.
function patchBunWebSocket() {
  const Native = globalThis.WebSocket;
  if (typeof Native !== "function") return;
  const ProxiedWebSocket = class WebSocket extends Native {
    constructor(url, protocolsOrOptions) {
      let options;
      if (protocolsOrOptions === undefined || protocolsOrOptions === null) options = {};
      else if (typeof protocolsOrOptions === "string" || Array.isArray(protocolsOrOptions))
        options = { protocols: protocolsOrOptions };
      else options = { ...protocolsOrOptions };
      super(url, { ...options, proxy: proxy.href });
    }
  };
  globalThis.WebSocket = ProxiedWebSocket;
}

// ---------------------------------------------------------------------------------------------
// node: fetch over the tunnelling agents
//
// Supported: string/URL/Request input; method, headers, body (string, ArrayBuffer, typed
// arrays, DataView, Blob, URLSearchParams, FormData, ReadableStream with duplex: "half" - all
// buffered before sending), redirect "follow" (up to 20, with the spec's method and header
// rewriting) / "manual" (the 3xx response itself, not an opaque-redirect) / "error", signal
// (before and during the body), gzip/deflate/br decoding. Returns a global Response with
// status, statusText, headers (set-cookie kept apart), a streamed body, url and redirected.
// Not supported: streaming request bodies (buffered instead), credentials/mode/cache/
// integrity/keepalive/priority (ignored), undici's `dispatcher` (ignored), HTTP/2.
// data: and blob: URLs go to the original fetch: they need no network.

const originalFetch = globalThis.fetch;
const fetchAgents = {
  "http:": new http.Agent({ keepAlive: true }),
  "https:": new https.Agent({ keepAlive: true }),
};
const NULL_BODY_STATUS = new Set([101, 103, 204, 205, 304]);
const REDIRECT_STATUS = new Set([301, 302, 303, 307, 308]);

async function nodeFetch(input, init) {
  let request;
  try {
    request = new NativeRequest(input, init);
  } catch (e) {
    throw e instanceof TypeError ? e : new TypeError(String(e?.message ?? e));
  }
  let url = new URL(request.url);
  if (url.protocol !== "http:" && url.protocol !== "https:") return originalFetch(input, init);
  const signal = request.signal;
  if (signal.aborted) throw signal.reason;
  let method = request.method;
  const headers = new NativeHeaders(request.headers);
  let body = request.body === null ? null : Buffer.from(await request.arrayBuffer());
  const mode = request.redirect;
  let redirects = 0;
  for (;;) {
    if (signal.aborted) throw signal.reason;
    let res;
    try {
      res = await sendOnce(url, method, headers, body, signal);
    } catch (e) {
      if (signal.aborted) throw signal.reason;
      if (e instanceof NetDeniedError) throw e;
      throw fetchFailed(e);
    }
    const location = res.headers.location;
    if (REDIRECT_STATUS.has(res.statusCode) && location !== undefined && mode !== "manual") {
      res.resume();
      if (mode === "error") throw new TypeError("fetch failed", { cause: new Error("unexpected redirect") });
      if (++redirects > 20) throw new TypeError("fetch failed", { cause: new Error("redirect count exceeded") });
      let next;
      try {
        next = new URL(location, url);
      } catch (e) {
        throw new TypeError("fetch failed", { cause: e });
      }
      if (next.protocol !== "http:" && next.protocol !== "https:") {
        throw new TypeError("fetch failed", { cause: new Error(`redirect to a ${next.protocol} URL`) });
      }
      if (
        ((res.statusCode === 301 || res.statusCode === 302) && method === "POST") ||
        (res.statusCode === 303 && method !== "GET" && method !== "HEAD")
      ) {
        method = "GET";
        body = null;
        for (const h of ["content-type", "content-length", "content-encoding", "content-language", "content-location"]) {
          headers.delete(h);
        }
      }
      if (next.origin !== url.origin) {
        for (const h of ["authorization", "proxy-authorization", "cookie"]) headers.delete(h);
      }
      url = next;
      continue;
    }
    return toResponse(res, url, redirects > 0, method, signal);
  }
}

// undici's "fetch failed" says nothing more; the cause's message names the destination and
// its code is the errno name the proxy reported, so both are carried up (bun's fetch rejects
// with that code itself).
function fetchFailed(cause) {
  const detail = cause?.message;
  const err = new TypeError(detail ? `fetch failed: ${detail}` : "fetch failed", { cause });
  if (typeof cause?.code === "string") err.code = cause.code;
  return err;
}

function sendOnce(url, method, headers, body, signal) {
  return new Promise((resolve, reject) => {
    const mod = url.protocol === "https:" ? https : http;
    const out = {};
    headers.forEach((value, name) => {
      out[name] = value;
    });
    out.accept ??= "*/*";
    out["accept-encoding"] ??= "gzip, deflate, br";
    out["user-agent"] ??= "node";
    if (body !== null && out["transfer-encoding"] === undefined) out["content-length"] = String(body.length);
    else if (body === null && ["POST", "PUT", "PATCH"].includes(method)) out["content-length"] = "0";
    const req = mod.request(url, { method, headers: out, agent: fetchAgents[url.protocol] });
    const onAbort = () => req.destroy(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    req.on("response", (res) => {
      signal.removeEventListener("abort", onAbort);
      resolve(res);
    });
    req.on("error", (e) => {
      signal.removeEventListener("abort", onAbort);
      reject(e);
    });
    req.end(body ?? undefined);
  });
}

function toResponse(res, url, redirected, method, signal) {
  const headers = new NativeHeaders();
  const raw = res.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    try {
      headers.append(raw[i], raw[i + 1]);
    } catch {}
  }
  const status = res.statusCode;
  let stream = null;
  if (method === "HEAD" || NULL_BODY_STATUS.has(status)) {
    res.resume();
  } else {
    stream = toWebStream(decode(res), signal);
  }
  let response;
  try {
    response = new NativeResponse(stream, { status, statusText: res.statusMessage ?? "", headers });
  } catch (e) {
    res.destroy();
    throw new TypeError("fetch failed", { cause: e });
  }
  Object.defineProperty(response, "url", { value: url.href, enumerable: true });
  Object.defineProperty(response, "redirected", { value: redirected, enumerable: true });
  return response;
}

function decode(res) {
  const codings = String(res.headers["content-encoding"] ?? "")
    .toLowerCase()
    .split(",")
    .map((c) => c.trim())
    .filter((c) => c && c !== "identity");
  let stream = res;
  for (const coding of codings.reverse()) {
    let decoder;
    if (coding === "gzip" || coding === "x-gzip") decoder = zlib.createGunzip({ finishFlush: zlib.constants.Z_SYNC_FLUSH });
    else if (coding === "deflate") decoder = zlib.createInflate({ finishFlush: zlib.constants.Z_SYNC_FLUSH });
    else if (coding === "br") decoder = zlib.createBrotliDecompress({ finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH });
    else return stream; // unknown coding: the bytes as they came
    const source = stream;
    source.on("error", (e) => decoder.destroy(e));
    stream = source.pipe(decoder);
  }
  if (stream !== res) res.on("aborted", () => stream.destroy(new Error("terminated")));
  return stream;
}

function toWebStream(source, signal) {
  let closed = false;
  const onAbort = () => source.destroy(signal.reason);
  signal.addEventListener("abort", onAbort, { once: true });
  const end = () => {
    closed = true;
    signal.removeEventListener("abort", onAbort);
  };
  return new ReadableStream(
    {
      start(controller) {
        source.on("data", (chunk) => {
          if (closed) return;
          controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
          if (controller.desiredSize <= 0) source.pause();
        });
        source.on("end", () => {
          if (closed) return;
          end();
          controller.close();
        });
        source.on("error", (e) => {
          if (closed) return;
          end();
          controller.error(e);
        });
        source.on("close", () => {
          // Closed before "end" (the connection broke).
          if (closed) return;
          end();
          controller.error(new TypeError("terminated"));
        });
      },
      pull() {
        source.resume();
      },
      cancel(reason) {
        end();
        source.destroy();
      },
    },
    { highWaterMark: 64 * 1024, size: (chunk) => chunk.byteLength },
  );
}

const fromEnv = process.env.TOOL_RUNTIME_PROXY;
if (fromEnv) install(fromEnv);
