#!/usr/bin/env node
"use strict";
const { main } = require("../lib/cli/main.js");

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // The MCP server and the queue worker resolve once they have shut down; anything they left
    // open must not keep us.
    if (process.argv[2] === "mcp" || process.argv[2] === "worker") process.exit(code);
  },
  (e) => {
    process.stderr.write(`tool-runtime: ${e && e.stack}\n`);
    process.exit(1);
  },
);
