"use strict";
// What the client and the worker share: the optional dependencies, option checks, Redis names.

const { ConfigError } = require("../errors.js");

/** bullmq and ioredis are optional peers: only this subpath needs them. */
function load(name) {
  try {
    return require(name);
  } catch (e) {
    if (e && e.code === "MODULE_NOT_FOUND" && String(e.message).includes(`'${name}'`)) {
      throw new ConfigError(`tool-runtime/queue needs the ${name} package: npm install bullmq ioredis`, {
        code: "ERR_INVALID_CONFIG",
        field: name,
      });
    }
    throw e;
  }
}

function configError(message, field) {
  return new ConfigError(message, { code: "ERR_INVALID_CONFIG", field });
}

function checkOptions(options, where) {
  if (!options || typeof options !== "object") throw configError(`${where} takes an options object`, "options");
  if (typeof options.queue !== "string" || !/^[A-Za-z0-9_.-]{1,100}$/.test(options.queue)) {
    throw configError(`${where}.queue must be a name of 1-100 characters A-Za-z0-9_.-`, "queue");
  }
  if (!options.connection || typeof options.connection !== "object") {
    throw configError(`${where}.connection must be ioredis connection options ({ host, port, ... })`, "connection");
  }
}

function positive(options, field, fallback, where) {
  const v = options[field];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== "number" || !Number.isInteger(v) || v <= 0) {
    throw configError(`${where}.${field} must be a positive whole number, got ${String(v)}`, field);
  }
  return v;
}

/**
 * The Redis names this package adds beside BullMQ's own (`<prefix>:<queue>:<jobId>` hashes and
 * lists): execution ids already used, cancellations, worker metrics.
 */
function names(prefix, queue) {
  const base = `${prefix}:${queue}:tr`;
  return {
    used: (id) => `${base}:used:${id}`,
    cancelled: (id) => `${base}:cancel:${id}`,
    cancelChannel: `${base}:cancel`,
    worker: (id) => `${base}:worker:${id}`,
    workerPattern: `${base}:worker:*`,
    job: (id) => `${prefix}:${queue}:${id}`,
  };
}

/** ioredis options for a connection of our own beside BullMQ's. */
function redisOptions(connection) {
  return { ...connection, maxRetriesPerRequest: null, lazyConnect: false };
}

/** What a worker answers, unsealed, to a call it cannot open: it cannot seal for that key. */
const KEY_MISMATCH = "tool-runtime: the call was sealed with another key";

module.exports = { KEY_MISMATCH, load, configError, checkOptions, positive, names, redisOptions };
