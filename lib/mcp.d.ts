import type { IncomingMessage, ServerResponse } from "node:http";
import type { Server } from "@modelcontextprotocol/sdk/server/index.js";
import type { ExecuteOptions, Runtime, ToolInfo } from "../index.js";

/** Which tools to expose: ids, or a predicate on the listed tool. Default: all. */
export interface ToolSelection {
  include?: string[] | ((tool: ToolInfo) => boolean);
  exclude?: string[] | ((tool: ToolInfo) => boolean);
}

export type CallHooks = Pick<ExecuteOptions, "onLog" | "onProgress">;

export interface McpServerOptions extends ToolSelection {
  /** Server name and version announced to clients (default `tool-runtime` and this package's version). */
  name?: string;
  version?: string;
  /** The env of every call, or a function giving each tool its own. */
  env?: Record<string, string> | ((toolId: string) => Record<string, string> | undefined);
  /** Reaches every tool as its second argument. */
  config?: unknown;
  /** A deadline per call, instead of the runtime's `toolExecutionTimeoutMs`. */
  timeoutMs?: number;
}

/** A low-level MCP `Server` serving the runtime's tools; connect it to a transport. One per connection. */
export declare function createMcpServer(runtime: Runtime, options?: McpServerOptions): Server;
/** Serves the runtime's tools over this process's stdin and stdout. */
export declare function serveStdio(runtime: Runtime, options?: McpServerOptions): Promise<Server>;

export interface McpHttpHandler {
  (req: IncomingMessage, res: ServerResponse, parsedBody?: unknown): Promise<void>;
  /** Ends every open session. */
  close(): Promise<void>;
}
export interface McpHttpOptions extends McpServerOptions {
  /**
   * Requests must carry `Authorization: Bearer <token>` (at least 16 characters); others get 401
   * before any session is created.
   */
  token?: string;
  /**
   * The `Host` headers accepted (`host:port`, compared case-insensitively); others get 403. A
   * server on loopback should list its own (`127.0.0.1:PORT`, `localhost:PORT`): that stops web
   * pages from reaching it by DNS rebinding.
   */
  allowedHosts?: string[];
  /** The `Origin` headers accepted when a request has one (browsers); others get 403. */
  allowedOrigins?: string[];
}
/** A Streamable HTTP handler for `http.createServer` or express, one MCP server per session. */
export declare function createMcpHttpHandler(runtime: Runtime, options?: McpHttpOptions): McpHttpHandler;

/** The MCP name of a tool id: `/` becomes `__`; throws `ERR_INVALID_ARGUMENT` for an id without one. */
export declare function toolName(id: string): string;
/** The tool id an MCP name stands for, or null. */
export declare function toolIdFromName(name: string): string | null;
