"use strict";
// Command-line parsing for `tool-runtime`: node's own parseArgs for the options, and the
// permission flags taken out first, because they take an optional `=value` parseArgs cannot express.

const fs = require("node:fs");
const { parseArgs } = require("node:util");

/** A mistake in how the command was called: exit code 2. */
class UsageError extends Error {
  constructor(message) {
    super(message);
    this.name = "UsageError";
    this.code = "ERR_USAGE";
  }
}

const PERMISSION = /^(?:-A|--(?:allow|deny)-(?:read|write|net|env|run|all)(?:=.*)?)$/;

const COMMON = {
  root: { type: "string" },
  entrypoint: { type: "string" },
  runtime: { type: "string" },
  sandbox: { type: "string" },
  help: { type: "boolean", short: "h" },
};

/**
 * Splits `argv` into permission flags, options (`COMMON` plus `extra`) and positionals.
 * Throws `UsageError` for anything unknown or malformed.
 */
function parse(argv, extra = {}) {
  const permissions = [];
  const rest = [];
  for (const arg of argv) (PERMISSION.test(arg) ? permissions : rest).push(arg);
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options: { ...COMMON, ...extra }, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(e.message);
  }
  return { permissions, values: parsed.values, positionals: parsed.positionals };
}

/** `JSON` text or `@file` (`@-` for stdin), parsed. */
function jsonArg(flag, text) {
  let source = text;
  if (text.startsWith("@")) {
    const file = text.slice(1);
    try {
      source = fs.readFileSync(file === "-" ? 0 : file, "utf8");
    } catch (e) {
      throw new UsageError(`${flag} ${text}: ${e.message}`);
    }
  }
  try {
    return JSON.parse(source);
  } catch (e) {
    throw new UsageError(`${flag} is not valid JSON: ${e.message}`);
  }
}

/** `K=V` pairs into an env object. */
function envArgs(pairs = []) {
  const env = {};
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new UsageError(`--env ${pair}: expected NAME=VALUE`);
    env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return env;
}

/** A positive whole number of milliseconds, or undefined. */
function msArg(flag, text) {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n <= 0) throw new UsageError(`${flag} must be a positive whole number of milliseconds, got ${text}`);
  return n;
}

module.exports = { UsageError, parse, jsonArg, envArgs, msArg };
