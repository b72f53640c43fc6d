// An ES module consumer: runs a sandboxed tool on bun and on node and checks that the error
// classes are the same objects as the CommonJS entry's.
import { createRequire } from "node:module";
import { RuntimeFactory, ToolExecutionError, newId } from "tool-runtime";

const cjs = createRequire(import.meta.url)("tool-runtime");
const out = { errorsShared: cjs.ToolExecutionError === ToolExecutionError };
const factory = new RuntimeFactory(process.cwd());
for (const [runtimeType, entrypointPath] of [["bun", "tools.ts"], ["node", "tools.mjs"]]) {
  const runtime = await factory.createRuntime({ runtimeType, entrypointPath });
  try {
    const greet = await runtime.executeTool("greet", newId(), { name: "esm" });
    let failed;
    try {
      await runtime.executeTool("fail", newId(), { message: "on purpose" });
    } catch (e) {
      failed = { code: e.code, esm: e instanceof ToolExecutionError, cjs: e instanceof cjs.ToolExecutionError, message: e.cause?.message };
    }
    out[runtimeType] = { greet, failed, enforced: runtime.sandbox.enforced, mode: runtime.sandbox.mode };
  } finally {
    await runtime.close();
  }
}
console.log(JSON.stringify(out));
