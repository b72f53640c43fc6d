"use strict";
// `tool-runtime/mcp`: a runtime's tools as a Model Context Protocol server, built on the official
// SDK. Each tools/call is one sandboxed call; the client's notifications/cancelled aborts it (its
// process tree is killed), the tool's progress and output lines become MCP notifications.

const { randomUUID } = require("node:crypto");
const { Server } = require("@modelcontextprotocol/sdk/server/index.js");
const { StdioServerTransport } = require("@modelcontextprotocol/sdk/server/stdio.js");
const { StreamableHTTPServerTransport } = require("@modelcontextprotocol/sdk/server/streamableHttp.js");
const { requestGuard } = require("./mcp-guard.js");
const {
  CallToolRequestSchema,
  ErrorCode,
  ListToolsRequestSchema,
  LoggingLevelSchema,
  McpError,
  SetLevelRequestSchema,
} = require("@modelcontextprotocol/sdk/types.js");
const { newId } = require("../index.js");
const { ToolRuntimeError } = require("./errors.js");
const { selectTools, toolIdFromName, toolName } = require("./names.js");

const VERSION = require("../package.json").version;
const LEVELS = LoggingLevelSchema.options;

const isObjectSchema = (s) => s !== null && typeof s === "object" && s.type === "object";

function describe(t) {
  const out = {
    name: toolName(t.id),
    inputSchema: isObjectSchema(t.inputSchema) ? t.inputSchema : { type: "object" },
  };
  if (t.annotations && typeof t.annotations.title === "string") out.title = t.annotations.title;
  if (t.description) out.description = t.description;
  // MCP requires an object output schema; the runtime wraps non-object results as { value }.
  if (isObjectSchema(t.outputSchema)) out.outputSchema = t.outputSchema;
  if (t.annotations) out.annotations = t.annotations;
  return out;
}

/** The text of an isError result: the code first, then what an operator needs to act on it. */
function errorText(e) {
  const lines = [`${e.code}: ${e.message}`];
  if (e.cause && e.cause.message && !e.message.includes(e.cause.message)) lines.push(`cause: ${e.cause.name}: ${e.cause.message}`);
  for (const issue of Array.isArray(e.issues) ? e.issues : []) {
    const line = `${issue.path || "/"}: ${issue.message}`;
    if (!e.message.includes(issue.message)) lines.push(line);
  }
  return lines.join("\n");
}

function errorMeta(e) {
  const meta = { name: e.name, code: e.code };
  if (Array.isArray(e.issues)) meta.issues = e.issues;
  return meta;
}

/**
 * An MCP `Server` (low-level, from `@modelcontextprotocol/sdk/server/index.js`) serving the
 * runtime's tools; connect it to any transport. One server per connection.
 */
function createMcpServer(runtime, options = {}) {
  const { name = "tool-runtime", version = VERSION, env, config, timeoutMs } = options;
  const server = new Server({ name, version }, { capabilities: { tools: {}, logging: {} } });
  // The SDK keeps its own level per session; one server per connection keeps ours per client.
  let minLevel = 0;
  server.setRequestHandler(SetLevelRequestSchema, async (request) => {
    minLevel = Math.max(0, LEVELS.indexOf(request.params.level));
    return {};
  });

  const tools = async () => selectTools(await runtime.listTools(), options);

  server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: (await tools()).map(describe) }));

  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const id = toolIdFromName(request.params.name);
    const tool = id === null ? undefined : (await tools()).find((t) => t.id === id);
    if (!tool) throw new McpError(ErrorCode.InvalidParams, `unknown tool: ${request.params.name}`);
    const mcpName = request.params.name;
    const progressToken = request.params._meta?.progressToken;
    const notify = (notification) => extra.sendNotification(notification).catch(() => {});
    const callOptions = {
      signal: extra.signal,
      config,
      onProgress: (p) => {
        if (progressToken === undefined) return;
        notify({ method: "notifications/progress", params: { progressToken, ...p } });
      },
      onLog: (entry) => {
        const level = entry.stream === "stderr" ? "warning" : "info";
        if (LEVELS.indexOf(level) < minLevel) return;
        notify({ method: "notifications/message", params: { level, logger: mcpName, data: entry.line } });
      },
    };
    const callEnv = typeof env === "function" ? env(tool.id) : env;
    const input = request.params.arguments ?? {};
    try {
      const result = timeoutMs
        ? await runtime.executeToolWithTimeout(tool.id, newId(), input, callEnv, timeoutMs, callOptions)
        : await runtime.executeTool(tool.id, newId(), input, callEnv, callOptions);
      const out = { content: [{ type: "text", text: JSON.stringify(result) }] };
      if (isObjectSchema(tool.outputSchema)) out.structuredContent = result;
      return out;
    } catch (e) {
      if (!(e instanceof ToolRuntimeError)) throw e;
      return { isError: true, content: [{ type: "text", text: errorText(e) }], _meta: { "tool-runtime/error": errorMeta(e) } };
    }
  });
  return server;
}

/** Serves the runtime's tools on this process's stdin/stdout until the client goes. */
async function serveStdio(runtime, options = {}) {
  const server = createMcpServer(runtime, options);
  await server.connect(new StdioServerTransport());
  return server;
}

/**
 * A `(req, res, parsedBody?) => Promise<void>` handler for node's `http` (or express) serving
 * MCP's Streamable HTTP transport with sessions: each client session gets its own server, so a
 * cancellation reaches the call it names. `handler.close()` ends every session. `token`,
 * `allowedHosts` and `allowedOrigins` refuse a request before it reaches any session.
 */
function createMcpHttpHandler(runtime, options = {}) {
  const { token, allowedHosts, allowedOrigins, ...serverOptions } = options;
  const refusal = requestGuard({ token, allowedHosts, allowedOrigins });
  const sessions = new Map();
  async function handler(req, res, parsedBody) {
    const refused = refusal(req);
    if (refused) {
      const headers = { "content-type": "application/json" };
      if (refused.challenge) headers["www-authenticate"] = "Bearer";
      res.writeHead(refused.status, headers);
      res.end(JSON.stringify({ jsonrpc: "2.0", error: { code: -32000, message: refused.message }, id: null }));
      return;
    }
    const sid = req.headers["mcp-session-id"];
    let transport = typeof sid === "string" ? sessions.get(sid) : undefined;
    if (!transport && sid !== undefined) {
      res.writeHead(404, { "content-type": "application/json" });
      res.end(JSON.stringify({ jsonrpc: "2.0", error: { code: -32001, message: "unknown or closed MCP session" }, id: null }));
      return;
    }
    if (!transport) {
      const created = new StreamableHTTPServerTransport({
        sessionIdGenerator: randomUUID,
        onsessioninitialized: (id) => sessions.set(id, created),
      });
      created.onclose = () => {
        if (created.sessionId) sessions.delete(created.sessionId);
      };
      await createMcpServer(runtime, serverOptions).connect(created);
      transport = created;
    }
    await transport.handleRequest(req, res, parsedBody);
  }
  handler.close = async () => {
    const open = [...sessions.values()];
    sessions.clear();
    await Promise.all(open.map((t) => t.close()));
  };
  return handler;
}

module.exports = { createMcpServer, serveStdio, createMcpHttpHandler, toolName, toolIdFromName };
