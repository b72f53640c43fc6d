// examples/tools.ts as a Model Context Protocol server. Every tool call runs in its own sandboxed
// bun process (default policy: read-only files, no network, no subprocesses).
//
//   stdio (for an MCP client's config):   npx tsx examples/mcp-server.ts
//   Streamable HTTP on 127.0.0.1:3000:     npx tsx examples/mcp-server.ts --http 3000
//
// `npx tool-runtime mcp --root examples` does the same without writing any code.
import http from "node:http";
import path from "node:path";
import { RuntimeFactory } from "tool-runtime";
import { createMcpHttpHandler, serveStdio } from "tool-runtime/mcp";

async function main(): Promise<void> {
  const runtime = await new RuntimeFactory(path.join(__dirname)).createRuntime({ entrypointPath: "tools.ts", toolExecutionTimeoutMs: 30_000 });
  const httpFlag = process.argv.indexOf("--http");
  if (httpFlag === -1) {
    const server = await serveStdio(runtime);
    // stdout is the protocol's: anything else goes to stderr.
    process.stdin.once("end", async () => {
      await server.close();
      await runtime.close();
    });
    return;
  }
  const port = Number(process.argv[httpFlag + 1] ?? 3000);
  // Only this server's own Host names: a web page cannot reach it through DNS rebinding.
  const mcp = createMcpHttpHandler(runtime, { allowedHosts: [`127.0.0.1:${port}`, `localhost:${port}`] });
  const server = http.createServer((req, res) => {
    if (req.url?.startsWith("/mcp")) void mcp(req, res);
    else res.writeHead(404).end();
  });
  server.listen(port, "127.0.0.1", () => console.error(`MCP server at http://127.0.0.1:${port}/mcp`));
  process.once("SIGINT", async () => {
    await mcp.close();
    server.close();
    await runtime.close();
  });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
