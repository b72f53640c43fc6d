// The MCP server (`tool-runtime/mcp`, `tool-runtime mcp`) against the official SDK's client: over
// stdio to a real `tool-runtime mcp` child process, and over Streamable HTTP on a loopback port.
// The tools are examples/tools.ts, run on bun in the strict sandbox.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { LoggingMessageNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { type Runtime, RuntimeFactory } from "tool-runtime";
import { createMcpHttpHandler, type McpHttpHandler, toolIdFromName, toolName } from "tool-runtime/mcp";
import { processesWithMarker } from "../scripts/proc";
import { waitFor } from "./helpers";
import { newMarker, rejection, waitPidsGone } from "./proc-helpers";

const EXAMPLES = path.join(__dirname, "..", "examples");
const BIN = path.join(__dirname, "..", "bin", "tool-runtime.js");

type TextResult = { isError?: boolean; content: { type: string; text: string }[]; structuredContent?: unknown; _meta?: Record<string, unknown> };

/** The checks both transports must pass; `marker` is in the env of every call the server makes. */
function behaves(connect: () => { client: Client; marker: string }) {
  it("lists the example tools with descriptions and schemas, `/` mapped to `__`", async () => {
    const { client } = connect();
    const { tools } = await client.listTools();
    const byName = new Map(tools.map((t) => [t.name, t]));
    for (const name of ["greet", "wordCount", "slow", "fetchUrl", "text__upper"]) assert.ok(byName.has(name), `${name} is listed`);
    const greet = byName.get("greet")!;
    assert.equal(typeof greet.description, "string");
    assert.equal(greet.inputSchema.type, "object");
    assert.ok((greet.inputSchema.properties as Record<string, unknown>).name, "greet's schema names its field");
    for (const t of tools) assert.match(t.name, /^[A-Za-z0-9_.-]{1,128}$/);
    assert.equal(greet.title, "Greet");
    assert.equal(greet.annotations?.readOnlyHint, true);
    assert.deepEqual(greet.outputSchema?.required, ["message"]);
  });

  it("a result carries structuredContent when the tool has an output schema", async () => {
    const { client } = connect();
    const r = (await client.callTool({ name: "greet", arguments: { name: "Ada" } })) as TextResult;
    assert.deepEqual(r.structuredContent, { message: "Hello, Ada!" });
    const upper = (await client.callTool({ name: "text__upper", arguments: { text: "a" } })) as TextResult;
    assert.equal(upper.structuredContent, undefined, "no output schema, no structuredContent");
  });

  it("input the schema refuses is an isError result naming the code and the field", async () => {
    const { client } = connect();
    const r = (await client.callTool({ name: "greet", arguments: { name: 42 } })) as TextResult;
    assert.equal(r.isError, true);
    assert.match(r.content[0].text, /^ERR_INVALID_INPUT: /);
    assert.match(r.content[0].text, /\/name/);
  });

  it("a tool's progress and output lines reach the client as notifications", async () => {
    const { client } = connect();
    const logs: unknown[] = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
      if (n.params.logger === "countdown") logs.push(n.params.data);
    });
    const progress: { progress: number; total?: number; message?: string }[] = [];
    const r = (await client.callTool({ name: "countdown", arguments: { from: 3, stepMs: 20 } }, undefined, {
      onprogress: (p) => progress.push({ progress: p.progress, total: p.total, message: p.message }),
    })) as TextResult;
    assert.deepEqual(JSON.parse(r.content[0].text), { liftoff: true });
    assert.deepEqual(progress, [
      { progress: 1, total: 3, message: "3 left" },
      { progress: 2, total: 3, message: "2 left" },
      { progress: 3, total: 3, message: "1 left" },
    ]);
    assert.deepEqual(logs, ["3...", "2...", "1..."]);
  });

  it("calls a tool in the sandbox", async () => {
    const { client } = connect();
    const r = (await client.callTool({ name: "greet", arguments: { name: "Ada" } })) as TextResult;
    assert.ok(!r.isError, JSON.stringify(r));
    assert.deepEqual(JSON.parse(r.content[0].text), { message: "Hello, Ada!" });
    const upper = (await client.callTool({ name: "text__upper", arguments: { text: "abc" } })) as TextResult;
    assert.deepEqual(JSON.parse(upper.content[0].text), { value: "ABC" });
  });

  it("a failing tool is an isError result whose text starts with its code", async () => {
    const { client } = connect();
    const r = (await client.callTool({ name: "fetchUrl", arguments: { url: "http://127.0.0.1:9/" } })) as TextResult;
    assert.equal(r.isError, true);
    assert.match(r.content[0].text, /^ERR_TOOL_FAILED: /);
    assert.deepEqual(r._meta?.["tool-runtime/error"], { name: "ToolExecutionError", code: "ERR_TOOL_FAILED" });
  });

  it("an unknown tool name is a protocol error naming it", async () => {
    const { client } = connect();
    const e = await rejection(client.callTool({ name: "no__such", arguments: {} }));
    assert.match(String(e.message), /unknown tool: no__such/);
  });

  it("the client's cancellation aborts the call and its process tree is gone", async () => {
    const { client, marker } = connect();
    const ac = new AbortController();
    const call = client.callTool({ name: "slow", arguments: { ms: 120_000 } }, undefined, { signal: ac.signal, timeout: 600_000 });
    // The tool's processes carry the marker in their environment; the server's (given it as
    // an argument) only in their command lines.
    const mine = () => {
      const servers = new Set(processesWithMarker(marker, { environ: false }));
      return processesWithMarker(marker).filter((p) => !servers.has(p));
    };
    let pids: number[] = [];
    await waitFor(() => (pids = mine()).length > 0, "the slow tool's process");
    ac.abort();
    await rejection(call);
    assert.deepEqual(await waitPidsGone(pids), [], "the tool's processes are gone");
    // The twin: the same tool, not cancelled, finishes.
    const r = (await client.callTool({ name: "slow", arguments: { ms: 50 } })) as TextResult;
    assert.deepEqual(JSON.parse(r.content[0].text), { done: true });
  });
}

describe("MCP over stdio: `npx tool-runtime mcp` as a child process", () => {
  const marker = newMarker("mcp-stdio");
  let client: Client;
  let transport: StdioClientTransport;
  before(async () => {
    transport = new StdioClientTransport({
      // As a user would: npx finds this package's own bin (after `npm install tool-runtime`, the installed one).
      command: "npx",
      args: ["--no-install", "tool-runtime", "mcp", "--env", `TR_MARK=${marker}`],
      cwd: EXAMPLES,
      stderr: "inherit",
    });
    client = new Client({ name: "tool-runtime-test", version: "1.0.0" });
    await client.connect(transport);
  });
  after(async () => {
    await client.close();
  });
  behaves(() => ({ client, marker }));

  it("the server exits when the client goes, leaving no process behind", async () => {
    const c = new Client({ name: "short-lived", version: "1.0.0" });
    const t = new StdioClientTransport({ command: process.execPath, args: [BIN, "mcp", "--root", EXAMPLES], stderr: "inherit" });
    await c.connect(t);
    const pid = t.pid!;
    await c.listTools();
    await c.close();
    assert.deepEqual(await waitPidsGone([pid]), []);
  });
});

describe("MCP over Streamable HTTP: createMcpHttpHandler on a loopback server", () => {
  const marker = newMarker("mcp-http");
  let runtime: Runtime;
  let handler: McpHttpHandler;
  let server: http.Server;
  let client: Client;
  before(async () => {
    runtime = await new RuntimeFactory(EXAMPLES).createRuntime({ entrypointPath: "tools.ts" });
    handler = createMcpHttpHandler(runtime, { env: { TR_MARK: marker } });
    server = http.createServer((req, res) => void handler(req, res));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    client = new Client({ name: "tool-runtime-test", version: "1.0.0" });
    await client.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp`)));
  });
  after(async () => {
    await client.close();
    await handler.close();
    await new Promise((resolve) => server.close(resolve));
    await runtime.close();
  });
  behaves(() => ({ client, marker }));
});

describe("tool-runtime mcp --port: Streamable HTTP from the command line", () => {
  it("serves on the printed address, and SIGTERM stops it cleanly", async () => {
    const child = spawn(process.execPath, [BIN, "mcp", "--root", EXAMPLES, "--port", "0"], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    await waitFor(() => /http:\/\/127\.0\.0\.1:\d+\/mcp/.test(stderr), "the server's address on stderr");
    const url = /http:\/\/127\.0\.0\.1:\d+\/mcp/.exec(stderr)![0];
    const client = new Client({ name: "tool-runtime-test", version: "1.0.0" });
    await client.connect(new StreamableHTTPClientTransport(new URL(url)));
    const r = (await client.callTool({ name: "greet", arguments: { name: "Ada" } })) as TextResult;
    assert.deepEqual(JSON.parse(r.content[0].text), { message: "Hello, Ada!" });
    await client.close();
    child.kill("SIGTERM");
    assert.equal(await exited, 0, stderr);
  });
});

/** A raw POST of an MCP `initialize` with the given headers: the status and body the server answers. */
function initialize(port: number, headers: Record<string, string>): Promise<{ status: number; body: string; auth?: string }> {
  const body = JSON.stringify({
    jsonrpc: "2.0",
    id: 1,
    method: "initialize",
    params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } },
  });
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port,
        path: "/mcp",
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8").on("data", (d: string) => (text += d));
        res.on("end", () => resolve({ status: res.statusCode!, body: text, auth: res.headers["www-authenticate"] as string | undefined }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

describe("MCP over HTTP: who may connect", () => {
  const TOKEN = "test-token-0123456789abcdef";
  let runtime: Runtime;
  before(async () => {
    runtime = await new RuntimeFactory(EXAMPLES).createRuntime({ entrypointPath: "tools.ts" });
  });
  after(() => runtime.close());

  it("a handler with a token and allowed hosts refuses requests without the token or from another Host, and serves the rest", async () => {
    let port = 0;
    let handler: McpHttpHandler | undefined;
    const server = http.createServer((req, res) => void handler!(req, res));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
    handler = createMcpHttpHandler(runtime, { token: TOKEN, allowedHosts: [`127.0.0.1:${port}`], allowedOrigins: ["https://app.example"] });
    try {
      const none = await initialize(port, {});
      assert.equal(none.status, 401, none.body);
      assert.equal(none.auth, "Bearer");
      assert.equal((await initialize(port, { authorization: `Bearer ${TOKEN}x` })).status, 401);
      assert.equal((await initialize(port, { authorization: TOKEN })).status, 401, "the scheme is part of the check");
      const rebound = await initialize(port, { authorization: `Bearer ${TOKEN}`, host: `attacker.example:${port}` });
      assert.equal(rebound.status, 403, rebound.body);
      assert.match(rebound.body, /attacker\.example/);
      const page = await initialize(port, { authorization: `Bearer ${TOKEN}`, origin: "https://evil.example" });
      assert.equal(page.status, 403, page.body);
      // The allowed twins: the listed Origin, and the SDK's client with the token.
      assert.equal((await initialize(port, { authorization: `Bearer ${TOKEN}`, origin: "https://app.example" })).status, 200);
      assert.equal((await initialize(port, { authorization: `bearer ${TOKEN}` })).status, 200, "the scheme is case-insensitive");
      const client = new Client({ name: "tool-runtime-test", version: "1.0.0" });
      const transport = new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${TOKEN}` } },
      });
      await client.connect(transport);
      const r = (await client.callTool({ name: "greet", arguments: { name: "Ada" } })) as TextResult;
      assert.deepEqual(JSON.parse(r.content[0].text), { message: "Hello, Ada!" });
      await client.close();
    } finally {
      await handler.close();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("refuses a short token and malformed host lists", () => {
    assert.throws(() => createMcpHttpHandler(runtime, { token: "short" }), (e: any) => e.code === "ERR_INVALID_ARGUMENT");
    assert.throws(() => createMcpHttpHandler(runtime, { allowedHosts: [""] }), (e: any) => e.code === "ERR_INVALID_ARGUMENT");
  });

  it("`tool-runtime mcp --host` beyond loopback needs TOOL_RUNTIME_MCP_TOKEN (exit 2, nothing listens)", async () => {
    const env = { ...process.env };
    delete env.TOOL_RUNTIME_MCP_TOKEN;
    const child = spawn(process.execPath, [BIN, "mcp", "--root", EXAMPLES, "--port", "0", "--host", "0.0.0.0"], { stdio: ["ignore", "ignore", "pipe"], env });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const code = await new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c)));
    assert.equal(code, 2, stderr);
    assert.match(stderr, /TOOL_RUNTIME_MCP_TOKEN/);
    assert.doesNotMatch(stderr, /Streamable HTTP at/);
  });

  it("`tool-runtime mcp --port` with TOOL_RUNTIME_MCP_TOKEN wants it, and serves only its own Host names and origins", async () => {
    const child = spawn(process.execPath, [BIN, "mcp", "--root", EXAMPLES, "--port", "0"], {
      stdio: ["ignore", "ignore", "pipe"],
      env: { ...process.env, TOOL_RUNTIME_MCP_TOKEN: TOKEN },
    });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c)));
    try {
      await waitFor(() => /http:\/\/127\.0\.0\.1:\d+\/mcp/.test(stderr), "the server's address on stderr");
      const port = Number(/127\.0\.0\.1:(\d+)\/mcp/.exec(stderr)![1]);
      assert.equal((await initialize(port, {})).status, 401);
      assert.equal((await initialize(port, { authorization: `Bearer ${TOKEN}`, host: `rebound.example:${port}` })).status, 403);
      assert.equal((await initialize(port, { authorization: `Bearer ${TOKEN}`, host: `localhost:${port}` })).status, 200);
      assert.equal((await initialize(port, { authorization: `Bearer ${TOKEN}` })).status, 200);
      // A web page of another site is refused even with the right Host; the server's own origin is not.
      assert.equal((await initialize(port, { authorization: `Bearer ${TOKEN}`, origin: "https://evil.example" })).status, 403);
      assert.equal((await initialize(port, { authorization: `Bearer ${TOKEN}`, origin: `http://localhost:${port}` })).status, 200);
    } finally {
      child.kill("SIGTERM");
    }
    assert.equal(await exited, 0, stderr);
  });
});

describe("tool names", () => {
  it("map ids to MCP names and back", () => {
    for (const [id, name] of [
      ["greet", "greet"],
      ["category/tool-name", "category__tool-name"],
      ["a/b/c.d", "a__b__c.d"],
      ["snake_case/x", "snake_case__x"],
      ["a//b", "a____b"],
    ]) {
      assert.equal(toolName(id), name);
      assert.equal(toolIdFromName(name), id);
    }
  });

  it("refuse ids whose name would be ambiguous, naming the id", () => {
    for (const id of ["a__b", "a_/b", "a/_b"]) {
      assert.throws(() => toolName(id), (e: any) => e.code === "ERR_INVALID_ARGUMENT" && e.message.includes(JSON.stringify(id)));
    }
    for (const name of ["a___b", "a/b", "", "x".repeat(129)]) assert.equal(toolIdFromName(name), null);
  });
});
