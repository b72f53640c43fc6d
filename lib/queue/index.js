"use strict";
// tool-runtime/queue: tool calls spread over worker processes through BullMQ on Redis, with the
// API and the errors of a local `Runtime`.

const { createToolClient, ToolClient } = require("./client.js");
const { createToolWorker } = require("./worker.js");
const { runWorkerFromEnv, connectionFromUrl } = require("./from-env.js");

module.exports = { createToolClient, createToolWorker, runWorkerFromEnv, connectionFromUrl, ToolClient };
