"use strict";
// The runtime a command works on: the project folder's entrypoint, with the config that
// `configFromEnv` reads from COMPOZY_* variables and the command line's flags on top.

const path = require("node:path");
const { RuntimeFactory, configFromEnv } = require("../../index.js");
const { UsageError } = require("./args.js");

/** The config the common flags describe (see `args.js`). */
function configFrom({ values, permissions }) {
  const config = configFromEnv(process.env);
  if (values.entrypoint !== undefined) config.entrypointPath = values.entrypoint;
  if (values.runtime !== undefined) {
    if (!["bun", "node", "deno"].includes(values.runtime)) throw new UsageError(`--runtime must be bun, node or deno, got ${values.runtime}`);
    config.runtimeType = values.runtime;
  }
  if (values.sandbox !== undefined) config.sandbox = values.sandbox;
  if (permissions.length) config.permissions = permissions;
  return config;
}

function projectRoot(values) {
  return path.resolve(values.root ?? process.cwd());
}

async function openRuntime(parsed, overrides = {}) {
  return new RuntimeFactory(projectRoot(parsed.values)).createRuntime({ ...configFrom(parsed), ...overrides });
}

module.exports = { configFrom, projectRoot, openRuntime };
