#!/usr/bin/env node
"use strict";
const { main } = require("../lib/cli/main.js");

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // The MCP server resolves once it has shut down; anything it left open must not keep us.
    if (process.argv[2] === "mcp") process.exit(code);
  },
  (e) => {
    process.stderr.write(`tool-runtime: ${e && e.stack}\n`);
    process.exit(1);
  },
);
