// MCP tools as host functions: a real MCP server process (fixtures/mcp-server.mjs, the official
// SDK) reached through the SDK's stdio client in this process, called by model-written code
// that runs sandboxed with no network at all.
import assert from "node:assert/strict";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import ts from "typescript";
import { type McpHostFunctions, type Runtime, mcpHostFunctions } from "tool-runtime";
import { FIXTURES, RUNTIMES, makeRuntime } from "./helpers";
import { rejection } from "./proc-helpers";

describe("MCP tools as host functions", () => {
  let client: Client;
  let transport: StdioClientTransport;
  let mcp: McpHostFunctions;
  before(async () => {
    transport = new StdioClientTransport({ command: process.execPath, args: [path.join(FIXTURES, "mcp-server.mjs")], stderr: "pipe" });
    client = new Client({ name: "tool-runtime-test", version: "1.0.0" });
    await client.connect(transport);
    mcp = await mcpHostFunctions(client);
  });
  after(async () => {
    await client.close();
  });

  it("maps every tool to a host function with an identifier name", () => {
    assert.deepEqual(Object.keys(mcp.functions).sort(), ["add", "explode", "get_forecast"]);
    assert.equal(mcp.names.get_forecast, "get-forecast");
  });

  it("declares them in a .d.ts text that type-checks model-written code, and catches a wrong call", () => {
    assert.match(mcp.declarations, /add\(args: \{ a: number; b: number \}\): Promise<\{ sum: number \}>;/);
    assert.match(mcp.declarations, /get_forecast\(args: \{ city: string; days\?: number \}\)/);
    const check = (code: string) => {
      const files: Record<string, string> = { "/host.d.ts": mcp.declarations, "/snippet.ts": `export {};\n${code}` };
      const host = ts.createCompilerHost({});
      const read = host.readFile.bind(host);
      host.readFile = (f) => files[f] ?? read(f);
      host.fileExists = (f) => f in files || ts.sys.fileExists(f);
      host.getSourceFile = (f, lang) => {
        const text = host.readFile(f);
        return text === undefined ? undefined : ts.createSourceFile(f, text, lang);
      };
      const program = ts.createProgram(Object.keys(files), { noEmit: true, strict: true, types: [], target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ES2022, lib: ["lib.es2022.d.ts"] }, host);
      return ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"));
    };
    assert.deepEqual(check("const r = await host.add({ a: 1, b: 2 }); const n: number = r.sum;"), []);
    assert.ok(check("await host.add({ a: 'one', b: 2 });").some((m) => /not assignable to type 'number'/.test(m)));
  });

  for (const runtimeType of RUNTIMES) {
    describe(`${runtimeType}: model-written code calls the MCP server's tools`, () => {
      let rt: Runtime;
      before(async () => {
        rt = await makeRuntime({ runtimeType, permissions: [], hostFunctions: mcp.functions, toolExecutionTimeoutMs: 30_000 });
      });
      after(async () => {
        await rt.close();
      });

      it("reaches the MCP server only through host functions; the sandbox has no network", async () => {
        assert.deepEqual(rt.sandbox.net.granted, "none");
        const source = [
          "let net;",
          "try { await fetch('http://127.0.0.1:9/'); net = 'reached'; } catch (e) { net = e.code ?? e.name; }",
          "const [{ sum }, forecast] = await Promise.all([host.add({ a: 20, b: 22 }), host.get_forecast({ city: input.city, days: 3 })]);",
          "export default { sum, forecast: forecast.content[0].text, net };",
        ].join("\n");
        const out = (await rt.executeCode(source, { input: { city: "Lisbon" } })) as { sum: number; forecast: string; net: string };
        assert.equal(out.sum, 42);
        assert.equal(out.net, "ERR_NET_DENIED");
        // The answer came from the server process, not from anything in the sandbox.
        assert.equal(out.forecast, `Lisbon: sunny for 3 day(s), served by pid ${transport.pid}`);
      });

      it("an MCP tool error rejects in the code with ERR_MCP_TOOL and the tool's text", async () => {
        const out = await rt.executeCode("let res; try { await host.explode({}); res = { threw: false }; } catch (e) { res = { code: e.code, message: e.message }; } export default res;");
        assert.deepEqual(out, { code: "ERR_MCP_TOOL", message: "the forecast service is down" });
      });

      it("a name that is not one of the server's tools rejects with ERR_HOST_FUNCTION_NOT_FOUND", async () => {
        const e = await rejection(rt.executeCode("export default await host.delete_everything({});"));
        assert.equal(e.code, "ERR_TOOL_FAILED");
        assert.equal(e.cause?.code, "ERR_HOST_FUNCTION_NOT_FOUND");
      });
    });
  }
});
