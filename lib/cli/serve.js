"use strict";
// `tool-runtime mcp`: serves until the client goes (stdin closes) or a signal comes, then closes
// the runtime, which kills every call still running.

const http = require("node:http");
const { serveStdio, createMcpHttpHandler } = require("../mcp.js");
const { isLoopback, loopbackHosts, loopbackOrigins } = require("../mcp-guard.js");

async function serve(runtime, options, port, host, token) {
  let finish;
  const done = new Promise((resolve) => (finish = resolve));
  const closers = [];
  let closing = false;
  const shutdown = async () => {
    if (closing) return;
    closing = true;
    for (const close of closers) await close().catch(() => {});
    await runtime.close();
    finish(0);
  };
  if (port === undefined) {
    const server = await serveStdio(runtime, options);
    closers.push(() => server.close());
    process.stdin.once("end", shutdown);
    process.stdin.once("close", shutdown);
  } else {
    // Made once the port is known (--port 0): the Host check names it. No request is read
    // before then, as the listen callback runs before any connection's events.
    let handler;
    const httpServer = http.createServer((req, res) => {
      if (new URL(req.url ?? "/", "http://localhost").pathname !== "/mcp") {
        res.writeHead(404, { "content-type": "text/plain" }).end("MCP is served at /mcp\n");
        return;
      }
      handler(req, res).catch((e) => {
        process.stderr.write(`tool-runtime: MCP request failed: ${e && e.stack}\n`);
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
    });
    await new Promise((resolve, reject) =>
      httpServer.once("error", reject).listen(port, host, () => {
        const bound = httpServer.address().port;
        const loopback = isLoopback(host);
        const allowedHosts = loopback ? loopbackHosts(host, bound) : undefined;
        const allowedOrigins = loopback ? loopbackOrigins(host, bound) : undefined;
        handler = createMcpHttpHandler(runtime, { ...options, token, allowedHosts, allowedOrigins });
        resolve();
      }),
    );
    closers.push(() => handler.close(), () => new Promise((resolve) => httpServer.close(() => resolve())));
    const address = httpServer.address();
    const shown = address.family === "IPv6" ? `[${address.address}]` : address.address;
    process.stderr.write(`tool-runtime: MCP over Streamable HTTP at http://${shown}:${address.port}/mcp\n`);
  }
  process.once("SIGINT", shutdown);
  process.once("SIGTERM", shutdown);
  return done;
}

module.exports = { serve };
