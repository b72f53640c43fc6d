// An orchestrator calling tools from examples/tools.ts, the way an agent loop would.
// Run: npm run example
import path from "node:path";
import { RuntimeFactory, TimeoutError, ToolExecutionError, newId } from "tool-runtime";

async function main(): Promise<void> {
  const factory = new RuntimeFactory(path.join(__dirname));
  // Defaults: bun, the strict kernel sandbox, `--allow-read` only (no writes outside the call's
  // temp dir, no network, no subprocesses, no host environment).
  const runtime = await factory.createRuntime({ entrypointPath: "tools.ts", toolExecutionTimeoutMs: 10_000 });
  console.log(`runtime: ${runtime.runtimeType} (${runtime.runtimePath})`);
  console.log(`sandbox: ${runtime.sandbox.mode}, network enforced by ${runtime.sandbox.net.enforcedBy.join(" + ") || "nothing"}`);

  try {
    // What a model is told about the tools: descriptions and JSON Schemas from tools.ts.
    for (const tool of await runtime.listTools()) console.log(`tool ${tool.id.padEnd(10)} ${tool.description ?? ""}`);
    console.log("greet      ->", await runtime.executeTool("greet", newId(), { name: "Ada" }));
    console.log("wordCount  ->", await runtime.executeTool("wordCount", newId(), { text: "tools run in their own process" }));
    console.log("text/upper ->", await runtime.executeTool("text/upper", newId(), { text: "default export" }));

    // The call's own env reaches the tool; nothing else of ours does.
    try {
      await runtime.executeTool("fetchUrl", newId(), { url: "http://127.0.0.1:9/" });
    } catch (e) {
      if (e instanceof ToolExecutionError) console.log(`fetchUrl   -> ${e.code}: ${e.cause?.message} (no network under the default policy)`);
      else throw e;
    }

    // A deadline kills the tool's whole process tree and rejects with a typed error.
    try {
      await runtime.executeToolWithTimeout("slow", newId(), { ms: 5_000 }, {}, 200);
    } catch (e) {
      if (e instanceof TimeoutError) console.log(`slow       -> caught ${e.name} (${e.code}): ${e.message}`);
      else throw e;
    }

    // Cancellation with an AbortSignal.
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    try {
      await runtime.executeTool("slow", newId(), { ms: 5_000 }, {}, { signal: ac.signal });
    } catch (e) {
      console.log(`slow       -> ${(e as Error).name}: ${(e as Error).message}`);
    }
  } finally {
    await runtime.close();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
