#!/usr/bin/env node
"use strict";
// Runs one queue worker until SIGTERM or SIGINT, then closes it gracefully (calls in flight
// finish). Configured by environment variables: see runWorkerFromEnv in from-env.js.

const { runWorkerFromEnv } = require("./from-env.js");

runWorkerFromEnv().then(
  (worker) => {
    process.stdout.write(`${JSON.stringify({ ready: worker.id })}\n`);
    worker.onError((e) => process.stderr.write(`tool-runtime worker ${worker.id}: ${e && e.message}\n`));
    let stopping = false;
    const stop = () => {
      if (stopping) return;
      stopping = true;
      worker.close().then(
        () => process.exit(0),
        (e) => {
          process.stderr.write(`tool-runtime worker: close failed: ${e && e.message}\n`);
          process.exit(1);
        },
      );
    };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
  },
  (e) => {
    process.stderr.write(`tool-runtime worker: ${e && e.code ? `${e.code}: ` : ""}${e && e.message}\n`);
    process.exit(1);
  },
);
