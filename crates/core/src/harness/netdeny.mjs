// Network-denied shim: loaded by the worker harness before the entrypoint when the policy grants
// no network at all (no --allow-net) and the sandbox enforces it (argument --no-network). The
// kernel already refuses every connection; this only makes the refusal say so, before any name
// is looked up: fetch (both runtimes) and, on node, everything that ends in
// net.Socket.prototype.connect (http/https agents, tls/net.connect, undici) fail with the egress
// shim's NetDeniedError: code ERR_NET_DENIED, "tool-runtime: connection to HOST:PORT refused:
// the policy grants no network (--allow-net)".
//
// It runs on every cold start under such a policy, so it is small and loads nothing: node:net
// is already loaded on node (the harness's channel). Bun's http(s).request and net.connect are
// not covered: loading bun's node:net costs ~10 ms of CPU per start; they fail closed with the
// kernel's EACCES. Unix-domain sockets (a `path`) and non-network URLs pass untouched.
const REASON = "the policy grants no network (--allow-net)";
const PORTS = { "http:": 80, "https:": 443, "ws:": 80, "wss:": 443 };

function denied(host, port) {
  host = String(host).replace(/^\[(.*)\]$/, "$1");
  const target = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
  const err = new Error(`tool-runtime: connection to ${target} refused: ${REASON}`);
  err.name = "NetDeniedError";
  err.code = "ERR_NET_DENIED";
  err.target = target;
  err.reason = REASON;
  return err;
}

const nativeFetch = globalThis.fetch;
globalThis.fetch = function fetch(input, init) {
  let url;
  try {
    url = new URL(typeof input === "string" || input instanceof URL ? input : input?.url);
  } catch {
    return nativeFetch.call(this, input, init);
  }
  const port = PORTS[url.protocol];
  if (port === undefined) return nativeFetch.call(this, input, init);
  return Promise.reject(denied(url.hostname, url.port || port));
};
// (No fetch.preconnect: on bun even that one property write costs ~0.1 ms per start.)

// The originals, for tests that prove the kernel refuses what the shim would: a tool can undo
// this shim (it is an explanation, not the enforcement).
const natives = { fetch: nativeFetch };
globalThis[Symbol.for("tool-runtime.native")] = natives;

// A function, not a block: bun compiles an unexecuted top-level block on every start
// (~0.15 ms), a function body only when called.
if (typeof globalThis.Bun === "undefined") patchNodeConnect();

function patchNodeConnect() {
  const Socket = process.getBuiltinModule("node:net").Socket;
  const connect = Socket.prototype.connect;
  natives.connect = connect;
  // Arguments: options, (port[, host]), a path, or net.connect's normalized [options, callback].
  Socket.prototype.connect = function (...args) {
    const first = Array.isArray(args[0]) ? args[0][0] : args[0];
    let host = "localhost";
    let port;
    if (first !== null && typeof first === "object" && first.path == null) {
      host = first.host ?? host;
      port = first.port;
    } else if (typeof first === "number" || /^\d+$/.test(first)) {
      port = first;
      if (typeof args[1] === "string") host = args[1];
    } else {
      return connect.apply(this, args);
    }
    // Asynchronously, like a refused connection: listeners are attached after connect().
    process.nextTick(() => this.destroy(denied(host, Number(port))));
    return this;
  };
}
