// Worker harness: the only code of ours that runs inside a tool's process (bun or node).
// It imports the entrypoint, reads calls from fd 3, runs the tool and writes the outcome back on
// fd 3, so the tool's own stdout and stderr can never corrupt a result. One line per frame:
// "<tag> <json>\n". The host trusts nothing it reads here beyond framing; limits and deadlines
// are enforced by the host, not by this file. The answers to a call ("ok", "err", "notfound",
// "badout", "invalid", "progress") or to a listing ("tools") are "<tag> <nonce> <json>\n" with
// the request's nonce, which stays in runCall's (listTools') scope: the tool can write to fd 3
// too, but cannot make the host take what it writes as an answer.
import fs from "node:fs";
import { checkStandard, describeTools, standardOf } from "./describe.mjs";

const CHANNEL_FD = 3;
const isBun = typeof globalThis.Bun !== "undefined";
// Captured before the tool's module runs, so a tool that replaces globals cannot break framing.
const stringify = JSON.stringify;
const parse = JSON.parse;
const toolsEntry = process.argv[2];
const encoder = new TextEncoder();
const writeSync = fs.writeSync;

function writeAll(text) {
  const bytes = encoder.encode(text);
  let off = 0;
  while (off < bytes.length) {
    try {
      off += writeSync(CHANNEL_FD, bytes, off, bytes.length - off);
    } catch (e) {
      if (e && e.code === "EAGAIN") {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
        continue;
      }
      throw e;
    }
  }
}

let send;
if (isBun) {
  send = (tag, payload) => writeAll(`${tag} ${payload}\n`);
} else {
  const net = await import("node:net");
  const socket = new net.Socket({ fd: CHANNEL_FD, readable: true, writable: true });
  send = (tag, payload) => {
    socket.write(`${tag} ${payload}\n`);
  };
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
const netShim = process.env.TOOL_RUNTIME_PROXY ? "./egress.mjs" : process.argv[3] === "--no-network" ? "./netdeny.mjs" : null;
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
  setTimeout(() => {
    if (controller) controller.abort(new DOMException("the call was terminated", "AbortError"));
  }, 20);
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
async function runCall({ toolId, toolExecId, nonce, input, config }) {
  const answer = (tag, payload) => send(tag, `${nonce} ${payload}`);
  calls += 1;
  const mod = await moduleReady;
  if (mod === null) return; // loaderr already sent
  const tools = toolsCache ?? (toolsCache = collectTools(mod));
  const tool = tools.get(toolId);
  if (tool === undefined) {
    answer("notfound", stringify({ available: [...tools.keys()].sort() }));
    return;
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
  const context = { toolId, toolExecId, signal: controller.signal, progress };
  let value;
  try {
    const inputStd = standardOf(tool.meta.inputSchema);
    if (inputStd) {
      const checked = await checkStandard(inputStd, input);
      if (checked.issues) {
        answered = true;
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
        answer("invalid", stringify({ kind: "output", issues: checked.issues }));
        return;
      }
      value = checked.value;
    }
  } catch (err) {
    answered = true;
    answer("err", stringify(describe(err)));
    return;
  }
  answered = true;
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

function safeString(v) {
  try {
    return String(v);
  } catch {
    return "<unprintable>";
  }
}

function describe(err) {
  try {
    if (err instanceof Error || (err !== null && typeof err === "object" && "message" in err && "stack" in err)) {
      return {
        name: safeString(err.name ?? "Error"),
        message: safeString(err.message ?? ""),
        stack: typeof err.stack === "string" ? err.stack : null,
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
