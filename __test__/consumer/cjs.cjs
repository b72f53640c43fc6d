// A CommonJS consumer: the same calls through require, errors checked against the ESM entry.
const { RuntimeFactory, ToolExecutionError, newId } = require("tool-runtime");

async function main() {
  const esm = await import("tool-runtime");
  const out = { errorsShared: esm.ToolExecutionError === ToolExecutionError };
  const factory = new RuntimeFactory(process.cwd());
  for (const [runtimeType, entrypointPath] of [["bun", "tools.ts"], ["node", "tools.mjs"]]) {
    const runtime = await factory.createRuntime({ runtimeType, entrypointPath });
    try {
      const greet = await runtime.executeTool("greet", newId(), { name: "cjs" });
      let failed;
      try {
        await runtime.executeTool("fail", newId(), { message: "on purpose" });
      } catch (e) {
        failed = { code: e.code, esm: e instanceof esm.ToolExecutionError, cjs: e instanceof ToolExecutionError, message: e.cause?.message };
      }
      out[runtimeType] = { greet, failed, enforced: runtime.sandbox.enforced, mode: runtime.sandbox.mode };
    } finally {
      await runtime.close();
    }
  }
  console.log(JSON.stringify(out));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
