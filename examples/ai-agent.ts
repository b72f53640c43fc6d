// An AI SDK agent whose tools are examples/tools.ts, each call in its own sandboxed process.
// Run: npx tsx examples/ai-agent.ts
//
// The model here is the SDK's scripted mock, so the example runs offline and shows the loop:
// step 1 the model asks for tools, the sandbox runs them, step 2 it answers with their results.
// With a real provider, pass e.g. `model: openai("gpt-5")` from `@ai-sdk/openai` instead.
import path from "node:path";
import { generateText, stepCountIs } from "ai";
import { MockLanguageModelV3 } from "ai/test";
import { RuntimeFactory } from "tool-runtime";
import { aiTools } from "tool-runtime/ai";

const usage = {
  inputTokens: { total: 0, noCache: 0, cacheRead: undefined, cacheWrite: undefined },
  outputTokens: { total: 0, text: 0, reasoning: undefined },
};

/** Asks for two tools, then sums up what they returned. */
const model = new MockLanguageModelV3({
  doGenerate: async ({ prompt }) => {
    const results = prompt.filter((m) => m.role === "tool");
    if (results.length === 0) {
      return {
        content: [
          { type: "tool-call", toolCallId: "1", toolName: "greet", input: JSON.stringify({ name: "Ada" }) },
          { type: "tool-call", toolCallId: "2", toolName: "text__upper", input: JSON.stringify({ text: "sandboxed" }) },
        ],
        finishReason: { unified: "tool-calls", raw: undefined },
        usage,
        warnings: [],
      };
    }
    return { content: [{ type: "text", text: `The tools said: ${JSON.stringify(results)}` }], finishReason: { unified: "stop", raw: undefined }, usage, warnings: [] };
  },
});

async function main(): Promise<void> {
  const runtime = await new RuntimeFactory(path.join(__dirname)).createRuntime({ entrypointPath: "tools.ts", toolExecutionTimeoutMs: 10_000 });
  try {
    const tools = await aiTools(runtime, { exclude: ["fetchUrl"] });
    console.log("tools:", Object.keys(tools).join(", "));
    const { steps, text } = await generateText({ model, tools, prompt: "Greet Ada and shout 'sandboxed'.", stopWhen: stepCountIs(4) });
    for (const [i, step] of steps.entries()) {
      for (const r of step.toolResults) console.log(`step ${i + 1}: ${r.toolName}(${JSON.stringify(r.input)}) -> ${JSON.stringify(r.output)}`);
    }
    console.log("answer:", text);
  } finally {
    await runtime.close();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
