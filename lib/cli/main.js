"use strict";
// `tool-runtime` commands. Results go to stdout, errors to stderr; exit 0 ok, 1 the tool (or the
// machine) failed, 2 the command was called wrongly.

const { newId } = require("../../index.js");
const { UsageError, parse, jsonArg, envArgs, msArg } = require("./args.js");
const { openRuntime } = require("./project.js");
const { isLoopback } = require("../mcp-guard.js");
const { doctor, DOCTOR_HELP } = require("./doctor.js");

const COMMON_HELP = `Options of every command:
  --root DIR             the project folder (default: the current folder)
  --entrypoint PATH      the tools' module, relative to the root (default: ./tools.ts)
  --runtime bun|node|deno  the runtime that runs the tools (default: bun)
  --sandbox MODE         strict (default), best-effort or off
  --allow-read[=PATHS] --allow-write[=PATHS] --allow-net[=HOSTS] --allow-env[=NAMES]
  --allow-run[=PROGRAMS] --allow-all (-A) --deny-read|write|net|env|run[=...]
                         the permissions, as in the config (default: --allow-read)
  -h, --help             this help
COMPOZY_* variables apply as in configFromEnv().`;

const HELP = {
  main: `Usage: tool-runtime <command> [options]

Commands:
  list        the project's tools with their descriptions
  run <tool>  run one tool in the sandbox and print its result
  doctor      what this machine's sandbox can do, and whether the default config runs here
  mcp         serve the project's tools as an MCP server (stdio, or Streamable HTTP with --port)
  worker      take tool calls from a BullMQ queue on Redis (tool-runtime/queue) until SIGTERM

Run 'tool-runtime <command> --help' for a command's options.

${COMMON_HELP}`,
  list: `Usage: tool-runtime list [--json] [options]

Lists the tools of the entrypoint (loaded in the sandbox, like any call): id and description.
  --json                 print the tools' full metadata (id, description, schemas, annotations) as JSON

${COMMON_HELP}`,
  run: `Usage: tool-runtime run <tool> [--input JSON|@FILE] [--env NAME=VALUE]... [--timeout MS] [--json] [options]

Runs one tool in the sandbox. The result goes to stdout, a typed error (its code first) to stderr.
  --input JSON|@FILE     the tool's input (default {}); @- reads it from stdin
  --env NAME=VALUE       an environment variable of the call (repeatable)
  --timeout MS           the call's deadline (default: the config's, 60000)
  --json                 print the result, or the error, as one line of JSON
Exit codes: 0 the tool returned, 1 it failed (thrown, timed out, killed, ...), 2 a usage error
(bad flags or input, unknown tool, input refused by the tool's schema, invalid config).

${COMMON_HELP}`,
  doctor: `${DOCTOR_HELP}

${COMMON_HELP}`,
  mcp: `Usage: tool-runtime mcp [--env NAME=VALUE]... [--timeout MS] [--port N [--host ADDR]] [options]

Serves the project's tools as a Model Context Protocol server: over stdin/stdout by default, over
Streamable HTTP at http://ADDR:N/mcp with --port. Each tool call runs in its own sandboxed process.
Tool ids map to MCP names by replacing "/" with "__" (category/tool-name -> category__tool-name).
  --env NAME=VALUE       an environment variable of every call (repeatable)
  --timeout MS           each call's deadline (default: the config's)
  --port N               serve Streamable HTTP on this port (0 picks one; the address is printed on stderr)
  --host ADDR            the address to listen on with --port (default 127.0.0.1); an address
                         beyond loopback needs TOOL_RUNTIME_MCP_TOKEN
With --port, requests must carry "Authorization: Bearer $TOOL_RUNTIME_MCP_TOKEN" when that
variable is set, and on a loopback address only Host headers naming that address are served (a web
page cannot reach the server by DNS rebinding).

${COMMON_HELP}`,
  worker: `Usage: tool-runtime worker [options]

Runs a queue worker (tool-runtime/queue): takes tool calls from a BullMQ queue on Redis and runs
each in the sandbox, until SIGTERM or SIGINT, then finishes the calls in flight and exits 0.
Prints {"ready": "<worker id>"} on stdout once it takes calls. Needs the optional peers bullmq
and ioredis. The queue is configured by environment variables (the key never goes on the command
line, where other processes of the machine could read it):
  TOOL_RUNTIME_QUEUE_KEY   required: the 32-byte key shared with the clients (base64 or hex)
  TOOL_RUNTIME_REDIS_URL   redis://[:password@]host[:port][/db] (default redis://127.0.0.1:6379)
  TOOL_RUNTIME_QUEUE       the queue's name (default tools)
  TOOL_RUNTIME_CONCURRENCY, TOOL_RUNTIME_LOCK_MS, TOOL_RUNTIME_STALLED_MS, TOOL_RUNTIME_WORKER_ID

${COMMON_HELP}`,
};

const USAGE_CODES = new Set(["ERR_USAGE", "ERR_INVALID_ARGUMENT", "ERR_INVALID_CONFIG", "ERR_INVALID_INPUT", "ERR_TOOL_NOT_FOUND"]);

function errorObject(e) {
  if (!(e instanceof Error)) return { message: String(e) };
  const out = { name: e.name, code: e.code, message: e.message };
  for (const [k, v] of Object.entries(e)) if (v !== undefined && !(k in out)) out[k] = v;
  if (e.cause instanceof Error) out.cause = { name: e.cause.name, message: e.cause.message, code: e.cause.code, stack: e.cause.stack };
  if (out.reason instanceof Error) out.reason = { name: out.reason.name, message: out.reason.message };
  return out;
}

function reportError(e, json) {
  if (json) {
    process.stderr.write(`${JSON.stringify({ error: errorObject(e) })}\n`);
  } else {
    const lines = [`tool-runtime: ${e && e.code ? `${e.code}: ` : ""}${e && e.message ? e.message : String(e)}`];
    if (e && e.cause instanceof Error && !e.message.includes(e.cause.message)) lines.push(`  cause: ${e.cause.name}: ${e.cause.message}`);
    for (const issue of (e && Array.isArray(e.issues) && e.issues) || []) {
      const line = `${issue.path || "/"}: ${issue.message}`;
      if (!e.message.includes(issue.message)) lines.push(`  ${line}`);
    }
    if (e && e.missing) lines.push(`  missing: ${[].concat(e.missing).join(", ")}`);
    if (e && typeof e.stderr === "string" && e.stderr.trim()) lines.push(`  stderr:\n${e.stderr.trimEnd().replace(/^/gm, "    ")}`);
    if (e && e.code === "ERR_USAGE") lines.push("Run with --help for usage.");
    process.stderr.write(`${lines.join("\n")}\n`);
  }
  return e && USAGE_CODES.has(e.code) ? 2 : 1;
}

async function withRuntime(parsed, fn) {
  const runtime = await openRuntime(parsed);
  try {
    return await fn(runtime);
  } finally {
    await runtime.close();
  }
}

async function list(argv) {
  const parsed = parse(argv, { json: { type: "boolean" } });
  if (parsed.values.help) return help("list");
  if (parsed.positionals.length) throw new UsageError(`list takes no arguments, got ${parsed.positionals.join(" ")}`);
  const tools = await withRuntime(parsed, (runtime) => runtime.listTools());
  if (parsed.values.json) {
    process.stdout.write(`${JSON.stringify(tools, null, 2)}\n`);
  } else {
    const width = Math.max(0, ...tools.map((t) => t.id.length));
    for (const t of tools) process.stdout.write(`${t.id.padEnd(width)}  ${t.description ?? ""}`.trimEnd() + "\n");
  }
  return 0;
}

async function run(argv) {
  const parsed = parse(argv, { input: { type: "string" }, env: { type: "string", multiple: true }, timeout: { type: "string" }, json: { type: "boolean" } });
  const { values, positionals } = parsed;
  if (values.help) return help("run");
  if (positionals.length !== 1) throw new UsageError(`run takes one tool id, got ${positionals.length}`);
  const input = values.input === undefined ? {} : jsonArg("--input", values.input);
  const env = envArgs(values.env);
  const timeout = msArg("--timeout", values.timeout);
  const [toolId] = positionals;
  const result = await withRuntime(parsed, async (runtime) => {
    // Listing first is what makes the runtime check the input against the tool's schema
    // before the call's process starts.
    await runtime.listTools();
    return timeout === undefined ? runtime.executeTool(toolId, newId(), input, env) : runtime.executeToolWithTimeout(toolId, newId(), input, env, timeout);
  });
  process.stdout.write(`${values.json ? JSON.stringify(result) : JSON.stringify(result, null, 2)}\n`);
  return 0;
}

async function mcp(argv) {
  const parsed = parse(argv, { env: { type: "string", multiple: true }, timeout: { type: "string" }, port: { type: "string" }, host: { type: "string" } });
  const { values } = parsed;
  if (values.help) return help("mcp");
  if (parsed.positionals.length) throw new UsageError(`mcp takes no arguments, got ${parsed.positionals.join(" ")}`);
  const options = { env: envArgs(values.env), timeoutMs: msArg("--timeout", values.timeout) };
  const port = values.port === undefined ? undefined : Number(values.port);
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port < 65536 && /^\d+$/.test(values.port))) {
    throw new UsageError(`--port must be a port number, got ${values.port}`);
  }
  if (values.host !== undefined && port === undefined) throw new UsageError("--host needs --port");
  const host = values.host ?? "127.0.0.1";
  const token = process.env.TOOL_RUNTIME_MCP_TOKEN || undefined;
  if (port !== undefined && !isLoopback(host) && token === undefined) {
    throw new UsageError(`--host ${host} reaches beyond this machine: set TOOL_RUNTIME_MCP_TOKEN so that clients must authenticate`);
  }
  if (token !== undefined && token.length < 16) throw new UsageError("TOOL_RUNTIME_MCP_TOKEN must be at least 16 characters");
  const runtime = await openRuntime(parsed);
  const { serve } = require("./serve.js");
  return serve(runtime, options, port, host, token);
}

async function worker(argv) {
  const parsed = parse(argv);
  if (parsed.values.help) return help("worker");
  if (parsed.positionals.length) throw new UsageError(`worker takes no arguments, got ${parsed.positionals.join(" ")}`);
  // Loading the queue module is what checks that bullmq and ioredis are installed.
  const { workerOptionsFromEnv, startWorker, serveUntilSignalled } = require("../queue/from-env.js");
  workerOptionsFromEnv(process.env); // a bad queue setting is refused before a runtime starts
  const started = await startWorker(await openRuntime(parsed), process.env);
  return serveUntilSignalled(started);
}

function help(topic) {
  process.stdout.write(`${HELP[topic]}\n`);
  return 0;
}

const COMMANDS = { list, run, doctor: (argv) => doctor(argv, () => help("doctor")), mcp, worker };

/** Runs the command line `argv` (without node and the script); resolves the exit code. */
async function main(argv) {
  const [command, ...rest] = argv;
  let json = false;
  try {
    if (command === undefined || command === "-h" || command === "--help" || command === "help") return help(rest[0] in HELP ? rest[0] : "main");
    if (!Object.hasOwn(COMMANDS, command)) throw new UsageError(`unknown command ${JSON.stringify(command)}; the commands are ${Object.keys(COMMANDS).join(", ")}`);
    json = rest.includes("--json");
    return await COMMANDS[command](rest);
  } catch (e) {
    return reportError(e, json);
  }
}

module.exports = { main };
