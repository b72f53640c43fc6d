import type { Tool } from "ai";
import type { Runtime } from "../index.js";
import type { ToolSelection, CallHooks } from "./mcp.js";

export interface AiToolsOptions extends ToolSelection {
  /** The env of every call, or a function giving each tool its own. */
  env?: Record<string, string> | ((toolId: string) => Record<string, string> | undefined);
  /** Reaches every tool as its second argument. */
  config?: unknown;
  /** A deadline per call, instead of the runtime's `toolExecutionTimeoutMs`. */
  timeoutMs?: number;
  /** Each line a tool writes, while it runs, with the call it belongs to. */
  onLog?: (entry: Parameters<NonNullable<CallHooks["onLog"]>>[0], call: { toolId: string; toolCallId?: string }) => void;
  /** Each `context.progress(...)` of a tool, with the call it belongs to. */
  onProgress?: (p: Parameters<NonNullable<CallHooks["onProgress"]>>[0], call: { toolId: string; toolCallId?: string }) => void;
}

/** The runtime's tools as a tool set for `generateText`/`streamText`, keyed by `toolName(id)`. */
export declare function aiTools(runtime: Runtime, options?: AiToolsOptions): Promise<Record<string, Tool<any, any>>>;
/** The name a tool id is exposed under: `/` becomes `__`. */
export declare function toolName(id: string): string;
