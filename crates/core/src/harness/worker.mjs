// Worker harness: the only code of ours that runs inside a tool's process (bun, node or deno).
// It imports the entrypoint, reads calls from fd 3, runs the tool and writes the outcome back on
// fd 3, so the tool's own stdout and stderr can never corrupt a result. One line per frame:
// "<tag> <json>\n". The host trusts nothing it reads here beyond framing; limits and deadlines
// are enforced by the host, not by this file. The answers to a call ("ok", "err", "notfound",
// "badout", "invalid", "progress") or to a listing ("tools") are "<tag> <nonce> <json>\n" with
// the request's nonce, which stays in runCall's (listTools') scope: a tool that writes to fd 3
// itself cannot make the host take what it writes as an answer. Code that patches what this
// file reads or writes with can learn the nonce; what it can then answer is checked by the host
// like any result (output schema, size, which answers fit what was asked).
import fs from "node:fs";
import { checkStandard, describeTools, standardOf } from "./describe.mjs";

const CHANNEL_FD = 3;
const isBun = typeof globalThis.Bun !== "undefined";
const isDeno = typeof globalThis.Deno !== "undefined";
// Captured before the tool's module runs, so a tool that replaces globals cannot break framing.
const stringify = JSON.stringify;
const parse = JSON.parse;
const toolsEntry = process.argv[2];
const encoder = new TextEncoder();
// What the harness writes frames with, captured so that a tool patching prototypes later
// (`TextEncoder.prototype.encode`, a typed array's `length`, node's socket `write`) does not see
// them go by. Defence in depth only: the tool shares this realm and can reach what the harness
// reads with, so the host treats every answer as the tool's own claim and checks it.
const encode = TextEncoder.prototype.encode.bind(encoder);
const byteLength = Function.prototype.call.bind(
  Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Uint8Array.prototype), "length").get,
);
const writeSync = fs.writeSync;

function writeAll(text) {
  const bytes = encode(text);
  const n = byteLength(bytes);
  let off = 0;
  while (off < n) {
    try {
      off += writeSync(CHANNEL_FD, bytes, off, n - off);
    } catch (e) {
      if (e && e.code === "EAGAIN") {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
        continue;
      }
      throw e;
    }
  }
}

// On node too (not deno, below), frames go out with the captured `fs.writeSync` rather than the socket's `write`
// (stream methods on prototypes the tool can patch); the socket only reads. libuv made fd 3
// non-blocking, which `writeAll` handles (EAGAIN: wait a millisecond, write the rest).
let send = (tag, payload) => writeAll(`${tag} ${payload}\n`);
if (!isBun) {
  const net = await import("node:net");
  const socket = new net.Socket({ fd: CHANNEL_FD, readable: true, writable: true });
  if (isDeno) {
    // Deno's node:fs cannot write to an fd it did not open (EBADF): frames go out through the
    // socket, its `write` captured now (the stream machinery behind it stays reachable).
    const write = socket.write.bind(socket);
    send = (tag, payload) => {
      write(`${tag} ${payload}\n`);
    };
  }
  startReading((onChunk, onEnd) => {
    socket.on("data", onChunk);
    socket.on("end", onEnd);
    socket.on("error", onEnd);
  });
}
send("hello", stringify({ pid: process.pid }));

let controller = null;
let calls = 0;
let toolsCache = null;
// bun imports absolute paths as they are (and loading node:url costs it ~1 ms); node wants a URL.
const entrySpecifier = isBun ? toolsEntry : (await import("node:url")).pathToFileURL(toolsEntry).href;
// With a host allowlist, the tool's HTTP clients are routed through the egress proxy before
// any of its code runs; with no network at all, its connections fail saying so.
const harnessFlags = process.argv.slice(3);
const netShim = process.env.TOOL_RUNTIME_PROXY ? "./egress.mjs" : harnessFlags.includes("--no-network") ? "./netdeny.mjs" : null;
// A node without TypeScript of its own (20) gets amaro's transform as a load hook first.
const amaroDir = harnessFlags.find((f) => f.startsWith("--typescript="))?.slice("--typescript=".length);
if (amaroDir) {
  const { register } = await import("node:module");
  register(new URL("./tsload.mjs", import.meta.url).href, { data: { amaro: amaroDir } });
}
const egressReady = netShim ? import(new URL(netShim, import.meta.url).href) : null;
const moduleReady = (egressReady ?? Promise.resolve()).then(() => import(entrySpecifier)).then(
  (mod) => {
    toolsCache = collectTools(mod);
    send("loaded", "{}");
    return mod;
  },
  (err) => {
    send("loaderr", stringify(describe(err)));
    return null;
  },
);

process.on("SIGTERM", () => {
  // The host sends a cancel frame (with the reason) just before SIGTERM: let it land first.
  // This is only the fallback for a frame that never comes. Deno, on a loaded machine, ran this
  // listener more than 20 ms, and once more than 150 ms, before the frame's data event; 400 ms
  // still leaves a tool part of the default 500 ms grace before SIGKILL.
  setTimeout(
    () => {
      if (controller) controller.abort(new DOMException("the call was terminated", "AbortError"));
    },
    isDeno ? 400 : 20,
  );
});

function startReading(attach) {
  const decoder = new TextDecoder();
  let pending = "";
  attach(
    (chunk) => {
      pending += typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true });
      let nl;
      while ((nl = pending.indexOf("\n")) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        onFrame(line);
      }
    },
    () => {
      // The host went away: nothing can receive a result any more.
      process.exit(0);
    },
  );
}

function onFrame(line) {
  const space = line.indexOf(" ");
  const tag = space < 0 ? line : line.slice(0, space);
  const body = space < 0 ? "" : line.slice(space + 1);
  if (tag === "call") {
    let req;
    try {
      req = parse(body);
    } catch (e) {
      // No nonce to answer with: the host reads this as garbage and ends the call.
      send("err", `- ${stringify({ name: "ProtocolError", message: `malformed call frame: ${e.message}`, nonError: false })}`);
      return;
    }
    runCall(req);
  } else if (tag === "cancel") {
    let reason = "aborted";
    try {
      reason = parse(body).reason;
    } catch {}
    if (controller) {
      const name = reason === "timeout" ? "TimeoutError" : "AbortError";
      controller.abort(new DOMException(`the call was cancelled (${reason})`, name));
    }
  } else if (tag === "list") {
    listTools(body);
  } else if (tag === "hret") {
    onHostReply(body);
  } else if (tag === "ping") {
    warmUp(body);
  } else if (tag === "env") {
    // Warm workers receive the call's environment just before the call.
    const next = parse(body);
    for (const k of Object.keys(process.env)) delete process.env[k];
    Object.assign(process.env, next);
  }
}

// Pooled workers are sent one ping while idle: it takes the path a call takes (frame parse,
// AbortController, JSON round trip, a frame back) without running a tool, because the first
// time through that path costs a fresh process about a millisecond.
async function warmUp(body) {
  const req = parse(body);
  const c = new AbortController();
  c.signal.addEventListener("abort", () => {});
  const value = await Promise.resolve({ toolId: req.toolId, input: req.input, config: req.config ?? null });
  send("pong", stringify(value));
}

function collectTools(mod) {
  const tools = new Map();
  const add = (name, value) => {
    const tool = asTool(value);
    if (tool) tools.set(name, tool);
  };
  for (const name of Object.keys(mod)) {
    if (name === "default") continue;
    add(name, mod[name]);
  }
  const def = mod.default;
  if (def !== null && typeof def === "object") {
    for (const name of Object.keys(def)) {
      if (Object.prototype.hasOwnProperty.call(def, name)) add(name, def[name]);
    }
  }
  return tools;
}

// A tool is a function (possibly carrying description/schemas as properties) or an object
// `{ description?, inputSchema?, outputSchema?, annotations?, execute }` (the AI SDK's shape).
function asTool(value) {
  if (typeof value === "function") return { run: value, meta: value };
  if (value !== null && typeof value === "object" && typeof value.execute === "function") {
    return { run: (input, config, context) => value.execute(input, config, context), meta: value };
  }
  return null;
}
async function runCall({ toolId, toolExecId, nonce, input, config, host: hostSpec, code }) {
  const answer = (tag, payload) => send(tag, `${nonce} ${payload}`);
  calls += 1;
  const mod = await moduleReady;
  if (mod === null) return; // loaderr already sent
  const callState = { ended: false, pending: new Set() };
  const host = makeHost(hostSpec, nonce, callState);
  let tool;
  if (code) {
    const run = await importCode(code, input, config ?? null, host, answer);
    if (run === null) return; // codeerr already sent
    tool = { run, meta: {} };
  } else {
    const tools = toolsCache ?? (toolsCache = collectTools(mod));
    tool = tools.get(toolId);
    if (tool === undefined) {
      answer("notfound", stringify({ available: [...tools.keys()].sort() }));
      return;
    }
  }
  controller = new AbortController();
  // Progress frames carry this call's nonce; once the call is answered they stop, so a timer
  // the tool leaves behind cannot report into a later call on the same worker.
  let answered = false;
  const progress = (progress, total, message) => {
    if (answered || typeof progress !== "number" || !Number.isFinite(progress)) return;
    const p = { progress };
    if (typeof total === "number" && Number.isFinite(total)) p.total = total;
    if (typeof message === "string") p.message = message;
    answer("progress", stringify(p));
  };
  const context = { toolId, toolExecId, signal: controller.signal, progress, host };
  let value;
  try {
    const inputStd = standardOf(tool.meta.inputSchema);
    if (inputStd) {
      const checked = await checkStandard(inputStd, input);
      if (checked.issues) {
        answered = true;
        endHostCalls(callState);
        answer("invalid", stringify({ kind: "input", issues: checked.issues }));
        return;
      }
      input = checked.value;
    }
    value = await tool.run(input, config ?? null, context);
    const outputStd = standardOf(tool.meta.outputSchema);
    if (outputStd) {
      const checked = await checkStandard(outputStd, value);
      if (checked.issues) {
        answered = true;
        endHostCalls(callState);
        answer("invalid", stringify({ kind: "output", issues: checked.issues }));
        return;
      }
      value = checked.value;
    }
  } catch (err) {
    answered = true;
    endHostCalls(callState);
    answer("err", stringify(describe(err)));
    return;
  }
  answered = true;
  endHostCalls(callState);
  let json;
  try {
    json = value === undefined ? "" : stringify(value);
  } catch (err) {
    answer("badout", stringify({ reason: `the result is not JSON-serialisable: ${safeString(err && err.message)}` }));
    return;
  }
  if (json === undefined) {
    answer("badout", stringify({ reason: `the result is not JSON-serialisable (a ${typeof value})` }));
    return;
  }
  answer("ok", json);
}

// `runtime.listTools()`: the tools' metadata, answered with the request's nonce.
async function listTools(body) {
  let nonce;
  try {
    nonce = parse(body).nonce;
  } catch {}
  if (typeof nonce !== "string") return;
  const mod = await moduleReady;
  if (mod === null) return; // loaderr already sent
  const tools = toolsCache ?? (toolsCache = collectTools(mod));
  let json;
  try {
    json = stringify(describeTools(tools));
  } catch (err) {
    send("err", `${nonce} ${stringify(describe(err))}`);
    return;
  }
  send("tools", `${nonce} ${json}`);
}

// Host calls: "hcall <nonce> {id,name,args}" out, "hret {id,value|error}" back. The host checks
// the nonce, the name and every limit itself; the checks here only give a tool clear errors
// early (and queue calls past maxInFlight instead of having them refused).
const hostPending = new Map();
let hostSeq = 0;

function hostError(code, message, name = "HostCallError") {
  const e = new Error(message);
  e.name = name;
  e.code = code;
  return e;
}

function makeHost(spec, nonce, callState) {
  const names = spec ? spec.names : [];
  const maxInFlight = spec ? spec.maxInFlight : 1;
  const maxBytes = spec ? spec.maxBytes : Infinity;
  let inFlight = 0;
  const waiting = [];
  const next = () => {
    inFlight -= 1;
    if (waiting.length > 0 && !callState.ended) waiting.shift()();
  };
  const invoke = (name, args) =>
    new Promise((resolve, reject) => {
      if (callState.ended) return reject(hostError("ERR_CALL_ENDED", `host function ${name} was called after its tool call ended`));
      let json;
      try {
        json = args === undefined ? "null" : stringify(args);
      } catch (e) {
        return reject(hostError("ERR_INVALID_ARGUMENT", `the arguments of host function ${name} are not JSON-serialisable: ${safeString(e && e.message)}`));
      }
      if (json === undefined) return reject(hostError("ERR_INVALID_ARGUMENT", `the arguments of host function ${name} are not JSON-serialisable`));
      const size = byteLength(encode(json));
      if (size > maxBytes) {
        return reject(hostError("ERR_OUTPUT_TOO_LARGE", `the arguments of host function ${name} are ${size} bytes, over the limit of ${maxBytes} bytes (maxOutputBytes)`));
      }
      const start = () => {
        inFlight += 1;
        const id = ++hostSeq;
        hostPending.set(id, { resolve, reject, done: next, callState });
        callState.pending.add(id);
        send("hcall", `${nonce} {"id":${id},"name":${stringify(name)},"args":${json}}`);
      };
      if (inFlight < maxInFlight) start();
      else waiting.push(start);
    });
  const fns = Object.create(null);
  for (const name of names) fns[name] = (args) => invoke(name, args);
  // Any other name still goes to the host, which refuses it (ERR_HOST_FUNCTION_NOT_FOUND);
  // "then" stays undefined so that `await context.host` is not taken for a promise.
  return new Proxy(Object.freeze(fns), {
    get(target, prop) {
      if (typeof prop !== "string" || prop === "then") return undefined;
      return target[prop] ?? ((args) => invoke(prop, args));
    },
  });
}

function endHostCalls(callState) {
  callState.ended = true;
  for (const id of callState.pending) {
    const p = hostPending.get(id);
    hostPending.delete(id);
    if (p) p.reject(hostError("ERR_CALL_ENDED", "the tool call ended before its host function answered"));
  }
  callState.pending.clear();
}

function onHostReply(body) {
  let reply;
  try {
    reply = parse(body);
  } catch {
    return;
  }
  const p = hostPending.get(reply.id);
  if (!p) return;
  hostPending.delete(reply.id);
  p.callState.pending.delete(reply.id);
  p.done();
  if (reply.error) {
    const { name, message, code, stack } = reply.error;
    const e = hostError(code ?? null, String(message ?? ""), String(name ?? "Error"));
    if (typeof stack === "string") e.hostStack = stack;
    p.reject(e);
  } else {
    p.resolve(reply.value);
  }
}

// Inline code (executeCode): imported from a data: URL, so the source is never written to a
// file. The prologue shares the source's first line, so line numbers are the source's own.
const codeScopes = new Map();
let codeSeq = 0;
Object.defineProperty(globalThis, Symbol.for("tool-runtime.code"), {
  value: Object.freeze({
    take(token) {
      const scope = codeScopes.get(token);
      codeScopes.delete(token);
      return scope;
    },
  }),
});

async function importCode({ source, language }, input, config, host, answer) {
  const token = `${process.pid}-${++codeSeq}`;
  const prologue = `const { input, config, host } = globalThis[Symbol.for("tool-runtime.code")].take(${stringify(token)}); `;
  codeScopes.set(token, { input, config, host });
  const type = language === "ts" ? "typescript" : "javascript";
  const text = prologue + source;
  const url = `data:text/${type};base64,${typeof Buffer !== "undefined" ? Buffer.from(text).toString("base64") : btoa(text)}`;
  let mod;
  try {
    mod = await import(url);
  } catch (err) {
    // The prologue takes the scope as evaluation starts: if it is still here, the source
    // failed to parse or link, else its top-level code threw (a JSON.parse SyntaxError too).
    const loaded = !codeScopes.has(token);
    codeScopes.delete(token);
    const pos = err && err.position;
    if (loaded) {
      answer("err", stringify(describe(err)));
    } else if (pos && typeof pos.line === "number") {
      const column = pos.line === 1 ? pos.column - prologue.length : pos.column;
      answer("codeerr", stringify({ name: "SyntaxError", message: safeString(err.message), line: pos.line, column, lineText: pos.line === 1 ? source.split("\n")[0] : safeString(pos.lineText ?? "") }));
    } else {
      const name = safeString((err && err.name) ?? "Error");
      answer("codeerr", stringify({ name, message: safeString(err && err.message), line: null, column: null, lineText: null }));
    }
    return null;
  }
  const value = mod.default;
  return typeof value === "function" ? value : () => value;
}

function safeString(v) {
  try {
    return String(v);
  } catch {
    return "<unprintable>";
  }
}

// Bun's BuildMessage and ResolveMessage (a module that does not parse or resolve) carry no
// stack, only a position: make one of it, so the error names the file and line.
function positionOf(err) {
  try {
    const p = err.position;
    if (p && typeof p.file === "string") return `${p.file}:${p.line}:${p.column}\n${safeString(p.lineText ?? "")}`;
  } catch {}
  return null;
}

function describe(err) {
  try {
    if (err instanceof Error || (err !== null && typeof err === "object" && "message" in err && "stack" in err)) {
      return {
        name: safeString(err.name ?? "Error"),
        message: safeString(err.message ?? ""),
        stack: typeof err.stack === "string" ? err.stack : positionOf(err),
        code: err.code === undefined || err.code === null ? null : safeString(err.code),
        nonError: false,
      };
    }
    let message;
    try {
      message = typeof err === "string" ? err : stringify(err);
    } catch {}
    if (typeof message !== "string") message = safeString(err);
    const code = err !== null && typeof err === "object" && err.code != null ? safeString(err.code) : null;
    return { name: "NonError", message, stack: null, code, nonError: true };
  } catch {
    return { name: "NonError", message: "<unprintable thrown value>", stack: null, code: null, nonError: true };
  }
}

// bun answers a call about 2 ms sooner when its entry module is still evaluating (awaiting this
// loop) than when reading runs detached after the module has finished: so bun's channel loop
// is the module's last, awaited, statement.
if (isBun) {
  await new Promise((resolve) => {
    startReading(async (onChunk, onEnd) => {
      try {
        const reader = globalThis.Bun.file(CHANNEL_FD).stream().getReader();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          onChunk(value);
        }
      } catch {}
      onEnd();
      resolve();
    });
  });
}
