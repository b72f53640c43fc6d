// Loads the package and reports what happened as one JSON line. `create-bun` also asks for a bun
// runtime; `run-node` runs a tool on node.
async function main(tr) {
  const out = { loaded: true, bun: tr.isBunAvailable(), node: tr.isNodeAvailable() };
  const factory = new tr.RuntimeFactory(process.cwd());
  if (process.argv[2] === "create-bun") {
    try {
      await (await factory.createRuntime({ runtimeType: "bun", entrypointPath: "tools.ts" })).close();
      out.created = true;
    } catch (e) {
      Object.assign(out, { created: false, code: e.code, path: e.path, message: e.message });
    }
  }
  if (process.argv[2] === "run-node") {
    const runtime = await factory.createRuntime({ runtimeType: "node", entrypointPath: "tools.mjs" });
    out.greet = await runtime.executeTool("greet", tr.newId(), { name: "node" });
    await runtime.close();
  }
  return out;
}

let tr;
try {
  tr = require("tool-runtime");
} catch (e) {
  console.log(JSON.stringify({ loaded: false, code: e.code, message: e.message, platform: e.platform, supported: e.supported }));
}
if (tr) main(tr).then((out) => console.log(JSON.stringify(out)));
