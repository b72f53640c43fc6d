"use strict";
// MCP tools as host functions: sandboxed code (a tool, or `executeCode` source a model wrote)
// calls an MCP server's tools through `host.name(args)`, while the MCP client, and whatever
// network or credentials it needs, stays in the orchestrator. Works with any client shaped
// like the official SDK's `Client` (`listTools`, `callTool`); the SDK is not a dependency.

/** A host function name for an MCP tool name: `get-forecast` → `get_forecast`. */
function hostName(prefix, name) {
  let id = `${prefix}${name}`.replace(/[^A-Za-z0-9_$]/g, "_");
  if (!/^[A-Za-z_$]/.test(id)) id = `_${id}`;
  if (id === "then") id = "_then";
  return id.slice(0, 256);
}

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** A TypeScript type for a JSON Schema (the subset tools use; anything else is `unknown`). */
function schemaType(schema, depth = 0) {
  if (!schema || typeof schema !== "object" || depth > 8) return "unknown";
  if (Array.isArray(schema.enum)) return schema.enum.map((v) => JSON.stringify(v)).join(" | ") || "never";
  if ("const" in schema) return JSON.stringify(schema.const);
  for (const key of ["anyOf", "oneOf"]) {
    if (Array.isArray(schema[key])) return schema[key].map((s) => schemaType(s, depth + 1)).join(" | ") || "unknown";
  }
  if (Array.isArray(schema.allOf)) return schema.allOf.map((s) => schemaType(s, depth + 1)).join(" & ") || "unknown";
  const type = schema.type;
  if (Array.isArray(type)) return type.map((t) => schemaType({ ...schema, type: t }, depth + 1)).join(" | ");
  switch (type) {
    case "string":
      return "string";
    case "number":
    case "integer":
      return "number";
    case "boolean":
      return "boolean";
    case "null":
      return "null";
    case "array":
      return `Array<${schemaType(schema.items, depth + 1)}>`;
    case "object":
    case undefined: {
      const props = schema.properties && typeof schema.properties === "object" ? schema.properties : null;
      if (!props) return type === "object" ? "Record<string, unknown>" : "unknown";
      const required = new Set(Array.isArray(schema.required) ? schema.required : []);
      const fields = Object.entries(props).map(([k, v]) => {
        const doc = v && typeof v.description === "string" ? `/** ${comment(v.description)} */ ` : "";
        return `${doc}${IDENT.test(k) ? k : JSON.stringify(k)}${required.has(k) ? "" : "?"}: ${schemaType(v, depth + 1)}`;
      });
      return `{ ${fields.join("; ")} }`;
    }
    default:
      return "unknown";
  }
}

function comment(text) {
  return String(text).replace(/\*\//g, "*\\/").replace(/\s+/g, " ").trim();
}

function resultText(result) {
  const parts = Array.isArray(result && result.content) ? result.content : [];
  return parts.filter((p) => p && p.type === "text").map((p) => p.text).join("\n") || "the MCP tool reported an error";
}

/**
 * Host functions for every tool of an MCP client, and a `.d.ts` text declaring them as `host`
 * (for a model writing code against them). A tool with an output schema resolves its
 * `structuredContent`; any other resolves `{ content }`. A tool result with `isError` rejects
 * with code `ERR_MCP_TOOL` and the tool's text as the message.
 */
async function mcpHostFunctions(client, options = {}) {
  if (!client || typeof client.listTools !== "function" || typeof client.callTool !== "function") {
    const { ValidationError } = require("./errors.js");
    throw new ValidationError("mcpHostFunctions needs an MCP client (listTools, callTool)", { code: "ERR_INVALID_ARGUMENT" });
  }
  const prefix = options.prefix ?? "";
  const tools = [];
  let cursor;
  do {
    const page = await client.listTools(cursor ? { cursor } : undefined);
    tools.push(...page.tools);
    cursor = page.nextCursor;
  } while (cursor);

  const functions = {};
  const names = {};
  const lines = ["declare const host: {"];
  for (const tool of tools) {
    const name = hostName(prefix, tool.name);
    if (Object.hasOwn(functions, name)) throw new Error(`MCP tools ${names[name]} and ${tool.name} both map to host function ${name}`);
    names[name] = tool.name;
    const structured = Boolean(tool.outputSchema);
    functions[name] = async (args, ctx) => {
      const result = await client.callTool({ name: tool.name, arguments: args ?? {} }, undefined, { signal: ctx.signal });
      if (result.isError) {
        const e = new Error(resultText(result));
        e.name = "McpToolError";
        e.code = "ERR_MCP_TOOL";
        throw e;
      }
      return structured && result.structuredContent !== undefined ? result.structuredContent : { content: result.content };
    };
    const doc = [tool.description, tool.name !== name ? `MCP tool "${tool.name}".` : null].filter(Boolean).map(comment).join(" ");
    if (doc) lines.push(`  /** ${doc} */`);
    const out = structured ? schemaType(tool.outputSchema) : "{ content: Array<{ type: string; text?: string; [key: string]: unknown }> }";
    lines.push(`  ${name}(args: ${schemaType(tool.inputSchema)}): Promise<${out}>;`);
  }
  lines.push("};", "");
  return { functions, declarations: lines.join("\n"), names };
}

module.exports = { mcpHostFunctions, schemaType };
