// A strict TypeScript consumer (nodenext, exactOptionalPropertyTypes): type-checked with tsc,
// calls checked against the entrypoint's module type.
import {
  ConfigError,
  ProcessError,
  RuntimeFactory,
  newId,
  type AbortError,
  type ToolInput,
  type ToolOutput,
  type Runtime,
} from "tool-runtime";

type Tools = typeof import("./tools");

export async function typed(): Promise<string> {
  const runtime = await new RuntimeFactory(process.cwd()).createRuntime<Tools>({ entrypointPath: "tools.ts" });
  const hello = await runtime.executeTool("greet", newId(), { name: "Ada" });
  const greeting: string = hello.greeting;
  const counted: { value: number } = await runtime.executeTool("count", newId(), { items: ["a"] });
  const timed = await runtime.executeToolWithTimeout("greet", newId(), { name: "B" }, {}, 1000, { metrics: true });
  const wall: number = timed.metrics.wallMs + timed.result.greeting.length;
  // @ts-expect-error: not a tool of the entrypoint
  await runtime.executeTool("nope", newId(), {});
  // @ts-expect-error: greet takes { name: string }
  await runtime.executeTool("greet", newId(), { name: 1 });
  // @ts-expect-error: a string result is not { value: number }
  const wrong: { value: string } = await runtime.executeTool("count", newId(), { items: [] });
  const input: ToolInput<Tools, "count"> = { items: [] };
  const output: ToolOutput<Tools, "greet"> = { greeting: "", runtime: "" };
  await runtime.close();
  return `${greeting} ${counted.value} ${wall} ${wrong.value} ${input.items.length} ${output.greeting}`;
}

export async function untyped(runtime: Runtime): Promise<unknown> {
  const anyResult = await runtime.executeTool("anything", newId(), { any: "input" });
  const chosen = await runtime.executeTool<{ n: number }>("anything", newId());
  return [anyResult["key"], chosen.n];
}

export function fields(e: unknown): unknown[] {
  if (e instanceof ConfigError) return [e.code, e.missing];
  if (e instanceof ProcessError) return [e.runtime, e.path, e.exitCode, e.stderr];
  return [(e as AbortError).reason];
}
