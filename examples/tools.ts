// Tools an AI agent can call. Every named export (and every own property of a default-exported
// object) is a tool: a function `tool(input, config, context)`, or an object with `execute` and
// the metadata `runtime.listTools()` reports (description, JSON Schemas, MCP-style annotations).
import type { ToolContext } from "tool-runtime";

export function greet(input: { name: string }): { message: string } {
  return { message: `Hello, ${input.name}!` };
}
greet.description = "Greets someone by name.";
greet.inputSchema = {
  type: "object",
  properties: { name: { type: "string", description: "Who to greet" } },
  required: ["name"],
  additionalProperties: false,
};
greet.outputSchema = { type: "object", properties: { message: { type: "string" } }, required: ["message"] };
greet.annotations = { title: "Greet", readOnlyHint: true, openWorldHint: false };

export const wordCount = {
  description: "Counts the words and characters of a text.",
  inputSchema: { type: "object", properties: { text: { type: "string" } }, required: ["text"] },
  outputSchema: {
    type: "object",
    properties: { words: { type: "integer" }, chars: { type: "integer" } },
    required: ["words", "chars"],
  },
  annotations: { title: "Word count", readOnlyHint: true, idempotentHint: true, openWorldHint: false },
  async execute(input: { text: string }): Promise<{ words: number; chars: number }> {
    const words = input.text.split(/\s+/).filter(Boolean).length;
    return { words, chars: input.text.length };
  },
};

/** A slow tool that reports progress and honours cancellation through `context.signal`. */
export const slow = {
  description: "Waits for the given time, reporting progress every 100 ms; stops when cancelled.",
  inputSchema: {
    type: "object",
    properties: { ms: { type: "integer", minimum: 0, description: "How long to wait, in ms" } },
    required: ["ms"],
  },
  annotations: { title: "Slow", readOnlyHint: true, openWorldHint: false },
  execute(input: { ms: number }, _config: unknown, context: ToolContext): Promise<{ done: boolean }> {
    return new Promise((resolve, reject) => {
      const started = Date.now();
      const ticker = setInterval(() => context.progress(Math.min(Date.now() - started, input.ms), input.ms), 100);
      const timer = setTimeout(() => {
        clearInterval(ticker);
        resolve({ done: true });
      }, input.ms);
      context.signal.addEventListener("abort", () => {
        clearTimeout(timer);
        clearInterval(ticker);
        reject(context.signal.reason);
      });
    });
  },
};

/** Logs each step and reports progress while it counts down. */
export const countdown = {
  description: "Counts down from a number, logging each step and reporting progress.",
  inputSchema: {
    type: "object",
    properties: { from: { type: "integer", minimum: 1, maximum: 100 }, stepMs: { type: "integer", minimum: 0 } },
    required: ["from"],
  },
  annotations: { title: "Countdown", readOnlyHint: true, openWorldHint: false },
  async execute(input: { from: number; stepMs?: number }, _config: unknown, context: ToolContext): Promise<{ liftoff: boolean }> {
    for (let i = input.from; i > 0; i--) {
      console.log(`${i}...`);
      context.progress(input.from - i + 1, input.from, `${i} left`);
      await new Promise((r) => setTimeout(r, input.stepMs ?? 50));
    }
    return { liftoff: true };
  },
};

/** Tries to read a file; the default policy allows reads, so this works for readable files. */
export async function readFile(input: { path: string }): Promise<{ bytes: number }> {
  const fs = await import("node:fs/promises");
  const data = await fs.readFile(input.path);
  return { bytes: data.length };
}
readFile.description = "Reads a file and returns its size in bytes.";
readFile.inputSchema = { type: "object", properties: { path: { type: "string" } }, required: ["path"] };
readFile.annotations = { title: "Read file", readOnlyHint: true, openWorldHint: false };

/** Tries to reach the network; denied by the default policy. */
export async function fetchUrl(input: { url: string }): Promise<{ status: number }> {
  const res = await fetch(input.url);
  return { status: res.status };
}
fetchUrl.description = "Fetches a URL and returns the HTTP status (the default policy denies the network).";
fetchUrl.inputSchema = { type: "object", properties: { url: { type: "string", format: "uri" } }, required: ["url"] };
fetchUrl.annotations = { title: "Fetch URL", readOnlyHint: true, openWorldHint: true };

const upper = (input: { text: string }) => input.text.toUpperCase();
upper.description = "Upper-cases a text.";
upper.inputSchema = { type: "object", properties: { text: { type: "string" } }, required: ["text"] };

export default {
  "text/upper": upper,
};
