// The AI SDK adapter (`tool-runtime/ai`) driven by the `ai` package's own mock language model:
// a real multi-step generateText loop whose tool calls run in the sandbox (examples/tools.ts, bun).
import assert from "node:assert/strict";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { generateText, stepCountIs } from "ai";
import { MockLanguageModelV3 } from "ai/test";
import { type Runtime, RuntimeFactory, ToolExecutionError } from "tool-runtime";
import { aiTools } from "tool-runtime/ai";
import { processesWithMarker } from "../scripts/proc";
import { waitFor } from "./helpers";
import { newMarker, waitPidsGone } from "./proc-helpers";

const EXAMPLES = path.join(__dirname, "..", "examples");

type Content = Awaited<ReturnType<MockLanguageModelV3["doGenerate"]>>["content"];

const usage = {
  inputTokens: { total: 1, noCache: 1, cacheRead: undefined, cacheWrite: undefined },
  outputTokens: { total: 1, text: 1, reasoning: undefined },
};

function answer(content: Content, finish: "tool-calls" | "stop") {
  return { content, finishReason: { unified: finish, raw: undefined }, usage, warnings: [] };
}

/** A model that asks for `calls` first, then answers with text; it records every prompt it got. */
function scriptedModel(calls: { toolCallId: string; toolName: string; input: unknown }[]) {
  const prompts: unknown[] = [];
  const model = new MockLanguageModelV3({
    doGenerate: async (options) => {
      prompts.push(options.prompt);
      if (prompts.length === 1) {
        return answer(
          calls.map((c) => ({ type: "tool-call" as const, toolCallId: c.toolCallId, toolName: c.toolName, input: JSON.stringify(c.input) })),
          "tool-calls",
        );
      }
      return answer([{ type: "text", text: "done" }], "stop");
    },
  });
  return { model, prompts };
}

describe("aiTools (tool-runtime/ai)", () => {
  let runtime: Runtime;
  before(async () => {
    runtime = await new RuntimeFactory(EXAMPLES).createRuntime({ entrypointPath: "tools.ts" });
  });
  after(async () => {
    await runtime.close();
  });

  it("gives each tool its description and input schema, under its MCP-style name", async () => {
    const tools = await aiTools(runtime);
    assert.ok(tools.greet, "greet is in the tool set");
    assert.ok(tools.text__upper, "text/upper is named text__upper");
    assert.equal(typeof tools.greet.description, "string");
    const schema = (tools.greet.inputSchema as { jsonSchema: Record<string, any> }).jsonSchema;
    assert.equal(schema.type, "object");
    assert.ok(schema.properties.name, "the schema names greet's input field");
    const only = await aiTools(runtime, { include: ["greet"] });
    assert.deepEqual(Object.keys(only), ["greet"]);
  });

  it("completes a two-step tool loop through the sandbox; a failing tool is a typed tool error fed back to the model", async () => {
    const { model, prompts } = scriptedModel([
      { toolCallId: "call-greet", toolName: "greet", input: { name: "Ada" } },
      { toolCallId: "call-fetch", toolName: "fetchUrl", input: { url: "http://127.0.0.1:9/" } },
    ]);
    const result = await generateText({ model, tools: await aiTools(runtime), prompt: "greet Ada", stopWhen: stepCountIs(5) });

    assert.equal(result.steps.length, 2);
    assert.equal(result.text, "done");
    const first = result.steps[0];
    const greet = first.toolResults.find((r) => r.toolCallId === "call-greet");
    assert.deepEqual(greet?.output, { message: "Hello, Ada!" });
    const failed = first.content.find((p) => p.type === "tool-error");
    assert.ok(failed && failed.type === "tool-error", "fetchUrl's failure is a tool-error part");
    assert.ok(failed.error instanceof ToolExecutionError, "the error is the package's typed error");
    assert.equal((failed.error as ToolExecutionError).code, "ERR_TOOL_FAILED");

    // The second step's prompt carries both outcomes back to the model.
    const second = JSON.stringify(prompts[1]);
    assert.match(second, /Hello, Ada!/);
    assert.match(second, /call-fetch/);
    assert.match(second, /error/);
  });

  it("passes the call's abortSignal through: aborting kills the tool's process tree", async () => {
    const marker = newMarker("ai-abort");
    const { model } = scriptedModel([{ toolCallId: "call-slow", toolName: "slow", input: { ms: 120_000 } }]);
    const ac = new AbortController();
    const tools = await aiTools(runtime, { include: ["slow"], env: { TR_MARK: marker } });
    // The SDK rejects with the signal's own AbortError at once; what matters is the sandbox.
    const outcome = generateText({ model, tools, prompt: "wait", abortSignal: ac.signal, stopWhen: stepCountIs(2) }).then(
      () => null,
      (e: unknown) => e,
    );
    let pids: number[] = [];
    await waitFor(() => (pids = processesWithMarker(marker)).length > 0, "the slow tool's process");
    ac.abort();
    assert.deepEqual(await waitPidsGone(pids), [], "the tool's processes are gone");
    assert.equal(((await outcome) as Error | null)?.name, "AbortError");
  });

  it("an unaborted slow call runs to its end (the twin of the abort)", async () => {
    const { model } = scriptedModel([{ toolCallId: "call-slow", toolName: "slow", input: { ms: 50 } }]);
    const result = await generateText({ model, tools: await aiTools(runtime, { include: ["slow"] }), prompt: "wait", stopWhen: stepCountIs(2) });
    assert.deepEqual(result.steps[0].toolResults[0]?.output, { done: true });
  });
});
