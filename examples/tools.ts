// Tools an AI agent can call. Every named export (and every own property of a default-exported
// object) is a tool: `tool(input, config, context)`.
import type { ToolContext } from "tool-runtime";

export function greet(input: { name: string }): { message: string } {
  return { message: `Hello, ${input.name}!` };
}

export async function wordCount(input: { text: string }): Promise<{ words: number; chars: number }> {
  const words = input.text.split(/\s+/).filter(Boolean).length;
  return { words, chars: input.text.length };
}

/** A slow tool that honours cancellation through `context.signal`. */
export function slow(input: { ms: number }, _config: unknown, context: ToolContext): Promise<{ done: boolean }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => resolve({ done: true }), input.ms);
    context.signal.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(context.signal.reason);
    });
  });
}

/** Tries to read a file; the default policy allows reads, so this works for readable files. */
export async function readFile(input: { path: string }): Promise<{ bytes: number }> {
  const fs = await import("node:fs/promises");
  const data = await fs.readFile(input.path);
  return { bytes: data.length };
}

/** Tries to reach the network; denied by the default policy. */
export async function fetchUrl(input: { url: string }): Promise<{ status: number }> {
  const res = await fetch(input.url);
  return { status: res.status };
}

export default {
  "text/upper": (input: { text: string }) => input.text.toUpperCase(),
};
