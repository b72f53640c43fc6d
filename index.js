"use strict";
// The package entry: a thin layer over the generated native loader (`binding.js`) that gives the
// API its TypeScript-friendly shape, turns native errors into classes, and handles what is easier
// in JS (AbortSignal listeners, an already-aborted signal, JSON encoding of inputs).

const path = require("node:path");
const binding = require("./lib/native.js").loadBinding();
const errors = require("./lib/errors.js");

const { ToolRuntimeError, ToolExecutionError, TimeoutError, AbortError, ProcessError, ValidationError, ConfigError, fromNative } =
  errors;

const RuntimeTypeBun = "bun";
const RuntimeTypeNode = "node";
const SupportedRuntimeTypes = Object.freeze([RuntimeTypeBun, RuntimeTypeNode]);

/** Where to look for runtimes before PATH: the bun this package installed, the running node. */
function runtimeHints() {
  let bunPath;
  try {
    bunPath = path.join(path.dirname(require.resolve("bun/package.json")), "bin", "bun.exe");
  } catch {
    bunPath = undefined;
  }
  return { bunPath, nodePath: process.execPath, nodeVersion: process.versions.node };
}

function native(fn) {
  try {
    return fn();
  } catch (e) {
    throw fromNative(e);
  }
}

async function nativeAsync(fn) {
  try {
    return await fn();
  } catch (e) {
    throw fromNative(e);
  }
}

function toJson(what, value) {
  if (value === undefined) return undefined;
  let text;
  try {
    text = JSON.stringify(value);
  } catch (e) {
    throw new ValidationError(`${what} is not JSON-serialisable: ${e && e.message}`, { code: "ERR_INVALID_ARGUMENT" });
  }
  if (text === undefined) {
    throw new ValidationError(`${what} is not JSON-serialisable (a ${typeof value})`, { code: "ERR_INVALID_ARGUMENT" });
  }
  return text;
}

function checkEnv(env) {
  if (env === undefined || env === null) return undefined;
  if (typeof env !== "object" || Array.isArray(env)) {
    throw new ValidationError("env must be an object of string values", { code: "ERR_INVALID_ARGUMENT" });
  }
  const out = {};
  for (const key of Object.keys(env)) {
    const value = env[key];
    if (typeof value !== "string") {
      throw new ValidationError(`env ${key} must be a string, got ${value === null ? "null" : typeof value}`, {
        code: "ERR_INVALID_ARGUMENT",
      });
    }
    // A lone surrogate cannot cross into the process environment unchanged (it would turn
    // into U+FFFD on the way): refuse it rather than pass another value.
    if (!value.isWellFormed() || !key.isWellFormed()) {
      throw new ValidationError(`env ${key} holds a lone surrogate, which an environment variable cannot carry`, {
        code: "ERR_INVALID_ARGUMENT",
      });
    }
    out[key] = value;
  }
  return out;
}

function checkString(what, value) {
  if (typeof value !== "string") {
    throw new ValidationError(`${what} must be a string, got ${value === null ? "null" : typeof value}`, {
      code: "ERR_INVALID_ARGUMENT",
    });
  }
}

/**
 * The value the signal was aborted with, as given: `abort(reason)`'s argument, the platform's
 * `AbortError` DOMException for a bare `abort()`, its `TimeoutError` for `AbortSignal.timeout()`.
 */
function abortReason(signal) {
  return signal.reason === undefined ? null : signal.reason;
}

function callLimits(options) {
  if (!options) return undefined;
  const out = {};
  for (const key of ["memoryLimitMb", "cpuTimeLimitMs"]) {
    const v = options[key];
    if (v === undefined || v === null) continue;
    if (typeof v !== "number" || !Number.isInteger(v) || v <= 0) {
      throw new ValidationError(`options.${key} must be a positive whole number, got ${String(v)}`, { code: "ERR_INVALID_ARGUMENT" });
    }
    out[key] = v;
  }
  if (options.metrics !== undefined && typeof options.metrics !== "boolean") {
    throw new ValidationError("options.metrics must be a boolean", { code: "ERR_INVALID_ARGUMENT" });
  }
  if (options.metrics) out.metrics = true;
  return Object.keys(out).length ? out : undefined;
}

class Runtime {
  #native;

  /** @internal */
  constructor(nativeRuntime) {
    this.#native = nativeRuntime;
  }

  /** `"bun"` or `"node"`. */
  get runtimeType() {
    return this.#native.runtimeType;
  }

  /** The runtime binary in use. */
  get runtimePath() {
    return this.#native.runtimePath;
  }

  /** The complete configuration, defaults filled in. */
  get config() {
    return this.#native.config;
  }

  /** What this machine offers and what this runtime enforces, permission by permission. */
  get sandbox() {
    return this.#native.sandboxReport();
  }

  /** Idle warm workers (with `pool` configured). */
  get pool() {
    return this.#native.poolStats();
  }

  /** The default per-call timeout in milliseconds. */
  getGlobalTimeout() {
    return this.#native.globalTimeoutMs();
  }

  executeTool(toolId, toolExecId, input, env, options) {
    return this.#execute(toolId, toolExecId, input, env, undefined, options);
  }

  executeToolWithTimeout(toolId, toolExecId, input, env, timeoutMs, options) {
    if (typeof timeoutMs !== "number" || !Number.isInteger(timeoutMs) || timeoutMs <= 0) {
      return Promise.reject(
        new ValidationError(`timeoutMs must be a positive whole number of milliseconds, got ${String(timeoutMs)}`, {
          code: "ERR_INVALID_ARGUMENT",
        }),
      );
    }
    return this.#execute(toolId, toolExecId, input, env, timeoutMs, options);
  }

  async #execute(toolId, toolExecId, input, env, timeoutMs, options) {
    checkString("toolId", toolId);
    checkString("toolExecId", toolExecId);
    if (options !== undefined && options !== null && typeof options !== "object") {
      throw new ValidationError("options must be an object", { code: "ERR_INVALID_ARGUMENT" });
    }
    const signal = options ? options.signal : undefined;
    if (signal !== undefined && signal !== null && !(signal instanceof AbortSignal)) {
      throw new ValidationError("options.signal must be an AbortSignal", { code: "ERR_INVALID_ARGUMENT" });
    }
    if (signal && signal.aborted) {
      throw new AbortError(`tool ${toolId} was aborted before it started`, {
        code: "ERR_ABORTED",
        toolId,
        toolExecId,
        reason: abortReason(signal),
        isCanceled: true,
        started: false,
      });
    }
    const limits = callLimits(options);
    const inputJson = toJson("input", input);
    const configJson = toJson("options.config", options ? options.config : undefined);
    const cleanEnv = checkEnv(env);
    // The call's place in line is taken here, synchronously (before this async function first
    // awaits), so calls are admitted in the order they were made.
    const callId = native(() => this.#native.beginCall(toolId, toolExecId));
    // addEventListener rather than onabort: user code may own onabort.
    const onAbort = () => this.#native.cancel(callId);
    let outcome;
    let running;
    try {
      if (signal) signal.addEventListener("abort", onAbort, { once: true });
      running = this.#native.execute(callId, inputJson, configJson, cleanEnv, timeoutMs, limits);
    } finally {
      if (running === undefined) this.#native.forgetCall(callId);
    }
    try {
      outcome = await running;
    } catch (e) {
      const err = fromNative(e);
      // The native side only knows that the call was cancelled; why is the signal's.
      if (err instanceof AbortError && signal && signal.aborted) err.reason = abortReason(signal);
      throw err;
    } finally {
      if (signal) signal.removeEventListener("abort", onAbort);
    }
    try {
      const result = JSON.parse(outcome.output);
      return limits && limits.metrics ? { result, metrics: outcome.metrics } : result;
    } catch (e) {
      throw new ToolExecutionError(`tool ${toolId} returned an invalid output: ${e && e.message}`, {
        code: "ERR_INVALID_OUTPUT",
        toolId,
        toolExecId,
      });
    }
  }

  /** Stops the runtime: aborts calls in flight and waits for their processes. Idempotent. */
  async close() {
    await this.#native.close();
  }

  get closed() {
    return this.#native.closed;
  }
}

class RuntimeFactory {
  constructor(projectRoot) {
    if (typeof projectRoot !== "string" || projectRoot.length === 0) {
      throw new ConfigError("projectRoot must be a non-empty string", { code: "ERR_INVALID_CONFIG" });
    }
    this.projectRoot = path.resolve(projectRoot);
  }

  async createRuntime(config) {
    if (config !== undefined && config !== null && (typeof config !== "object" || Array.isArray(config))) {
      throw new ConfigError("config must be an object", { code: "ERR_INVALID_CONFIG" });
    }
    const nativeRuntime = await nativeAsync(() => binding.createRuntime(this.projectRoot, config ?? {}, runtimeHints()));
    return new Runtime(nativeRuntime);
  }
}

function newDefaultFactory(projectRoot) {
  return new RuntimeFactory(projectRoot ?? process.cwd());
}

function defaultConfig() {
  return binding.defaultConfig();
}

function testConfig() {
  return binding.testConfig();
}

function fromAppConfig(appConfig) {
  return native(() => binding.fromAppConfig(appConfig ?? {}));
}

function configFromEnv(env = process.env) {
  const clean = {};
  for (const [k, v] of Object.entries(env ?? {})) if (typeof v === "string") clean[k] = v;
  return native(() => binding.configFromEnv(clean));
}

function isValidRuntimeType(s) {
  return typeof s === "string" && binding.isValidRuntimeType(s);
}

function isBunAvailable() {
  return binding.findRuntime(RuntimeTypeBun, runtimeHints()) !== null;
}

function isNodeAvailable() {
  return binding.findRuntime(RuntimeTypeNode, runtimeHints()) !== null;
}

function newId() {
  return binding.newId();
}

function sandboxCapabilities() {
  return { ...binding.sandboxCapabilities(), limits: binding.limitSupport() };
}

module.exports = {
  RuntimeFactory,
  Runtime,
  newDefaultFactory,
  defaultConfig,
  testConfig,
  fromAppConfig,
  configFromEnv,
  isValidRuntimeType,
  isBunAvailable,
  isNodeAvailable,
  newId,
  sandboxCapabilities,
  RuntimeTypeBun,
  RuntimeTypeNode,
  SupportedRuntimeTypes,
  ToolRuntimeError,
  ToolExecutionError,
  TimeoutError,
  AbortError,
  ProcessError,
  ValidationError,
  ConfigError,
};
