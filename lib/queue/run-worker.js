#!/usr/bin/env node
"use strict";
// Runs one queue worker until SIGTERM or SIGINT, then closes it gracefully (calls in flight
// finish). Configured by environment variables: see runWorkerFromEnv in from-env.js. The same
// worker is `tool-runtime worker` on the command line.

const { runWorkerFromEnv, serveUntilSignalled } = require("./from-env.js");

runWorkerFromEnv().then(
  (worker) => serveUntilSignalled(worker).then((code) => process.exit(code)),
  (e) => {
    process.stderr.write(`tool-runtime worker: ${e && e.code ? `${e.code}: ` : ""}${e && e.message}\n`);
    process.exit(1);
  },
);
