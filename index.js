"use strict";
// The package entry: a thin layer over the generated native loader (`binding.js`) that gives the
// API its TypeScript-friendly shape, turns native errors into classes, and handles what is easier
// in JS (AbortSignal listeners, an already-aborted signal, JSON encoding of inputs).

const fs = require("node:fs");
const path = require("node:path");
const binding = require("./lib/native.js").loadBinding();
const errors = require("./lib/errors.js");
const { liveEvents } = require("./lib/live.js");
const hostFns = require("./lib/host.js");
const inlineCode = require("./lib/code.js");
const { mcpHostFunctions } = require("./lib/mcp-host.js");

const { ToolRuntimeError, ToolExecutionError, TimeoutError, AbortError, ProcessError, ValidationError, ConfigError, fromNative } =
  errors;

const RuntimeTypeBun = "bun";
const RuntimeTypeNode = "node";
const RuntimeTypeDeno = "deno";
const SupportedRuntimeTypes = Object.freeze([RuntimeTypeBun, RuntimeTypeNode, RuntimeTypeDeno]);

/**
 * The deno that the `deno` package installed: its postinstall script links the binary into the
 * package folder; without that script it stays in the platform package (an optional dependency).
 * A package with neither still gives its own path, so the error names what is missing.
 */
function denoHint() {
  let dir;
  try {
    dir = path.dirname(require.resolve("deno/package.json"));
  } catch {
    return undefined;
  }
  const own = path.join(dir, "deno");
  if (fs.existsSync(own)) return own;
  const libc = process.report.getReport().header.glibcVersionRuntime ? "glibc" : "musl";
  try {
    const platform = require.resolve(`@deno/${process.platform}-${process.arch === "x64" ? "x64" : "arm64"}-${libc}/package.json`, { paths: [dir] });
    return path.join(path.dirname(platform), "deno");
  } catch {
    return own;
  }
}

/** Where to look for runtimes before PATH: the bun and deno this package installed, the running node. */
function runtimeHints() {
  let bunPath;
  try {
    bunPath = path.join(path.dirname(require.resolve("bun/package.json")), "bin", "bun.exe");
  } catch {
    bunPath = undefined;
  }
  let amaroPath;
  try {
    // amaro exports no ./package.json: its main file is dist/index.js.
    amaroPath = path.dirname(path.dirname(require.resolve("amaro")));
  } catch {
    amaroPath = undefined;
  }
  return { bunPath, denoPath: denoHint(), nodePath: process.execPath, nodeVersion: process.versions.node, amaroPath };
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
  #hostFunctions;
  #hostErrorStack;

  /** @internal */
  constructor(nativeRuntime, host) {
    this.#native = nativeRuntime;
    this.#hostFunctions = host ? host.functions : null;
    this.#hostErrorStack = Boolean(host && host.errorStack);
  }

  /** `"bun"`, `"node"` or `"deno"`. */
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

  /**
   * Runs `source` as an ES module in a sandboxed process, like a tool call: `input`, `config`
   * and `host` are in scope; its default export (or what a default-exported function returns
   * when called like a tool) is the result.
   */
  async executeCode(source, options) {
    let language = inlineCode.checkCodeOptions(source, options);
    const o = options ?? {};
    const toolExecId = o.toolExecId ?? newId();
    if (this.runtimeType === "node") {
      if (language === "ts") {
        source = inlineCode.stripTypes(source, toolExecId);
        language = "js";
      }
      inlineCode.checkSyntax(source, toolExecId);
    } else if (this.runtimeType === "deno") {
      // Deno's parse errors carry no position the harness can read; acorn's (and amaro's, for
      // TypeScript) do, as on node. Deno still runs the TypeScript itself.
      inlineCode.checkSyntax(language === "ts" ? inlineCode.stripTypes(source, toolExecId) : source, toolExecId);
    }
    try {
      return await this.#execute(inlineCode.INLINE_TOOL_ID, toolExecId, o.input, o.env, o.timeoutMs, o, { source, language });
    } catch (e) {
      throw inlineCode.withPosition(e);
    }
  }

  async #execute(toolId, toolExecId, input, env, timeoutMs, options, code) {
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
    const onEvent = liveEvents(options);
    const inputJson = toJson("input", input);
    const configJson = toJson("options.config", options ? options.config : undefined);
    const cleanEnv = checkEnv(env);
    const callHost = hostFns.mergeHostFunctions(
      this.#hostFunctions,
      hostFns.checkHostFunctions("options.hostFunctions", options ? options.hostFunctions : undefined),
    );
    // The call's place in line is taken here, synchronously (before this async function first
    // awaits), so calls are admitted in the order they were made.
    const callId = native(() => this.#native.beginCall(toolId, toolExecId, !!code));
    // addEventListener rather than onabort: user code may own onabort.
    const onAbort = () => this.#native.cancel(callId);
    let outcome;
    let running;
    // Host functions' `ctx.signal`: fires when the call ends, however it ends.
    const hostEnd = callHost ? new AbortController() : null;
    try {
      if (callHost) {
        const ctx = Object.freeze({ toolId, toolExecId, signal: hostEnd.signal });
        const dispatch = hostFns.makeDispatch(callHost, ctx, this.#hostErrorStack);
        this.#native.setHostFunctions(callId, Object.keys(callHost), dispatch);
      }
      if (code) this.#native.setInlineCode(callId, code.source, code.language);
      if (signal) signal.addEventListener("abort", onAbort, { once: true });
      running = this.#native.execute(callId, inputJson, configJson, cleanEnv, timeoutMs, limits, onEvent);
    } finally {
      if (running === undefined) this.#native.forgetCall(callId);
    }
    try {
      outcome = await running;
    } catch (e) {
      const err = fromNative(e);
      // The native side only knows that the call was cancelled; why is the signal's.
      if (err instanceof AbortError && signal && signal.aborted) err.reason = abortReason(signal);
      if (hostEnd) hostEnd.abort(hostFns.endReason(err));
      throw err;
    } finally {
      if (signal) signal.removeEventListener("abort", onAbort);
    }
    if (hostEnd) hostEnd.abort(hostFns.endReason(null));
    try {
      const result = JSON.parse(outcome.output);
      return limits && limits.metrics ? { result, metrics: outcome.metrics } : result;
    } catch (e) {
      throw new ValidationError(`tool ${toolId} returned an invalid output: ${e && e.message}`, {
        code: "ERR_INVALID_OUTPUT",
        toolId,
        toolExecId,
        issues: [],
      });
    }
  }

  /**
   * The entrypoint's tools with their descriptions, JSON Schemas and annotations. The first
   * listing loads the entrypoint in a sandboxed process like a call; the answer is cached
   * until a source file of the project changes.
   */
  async listTools() {
    const json = await nativeAsync(() => this.#native.listTools());
    return JSON.parse(json);
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
    // Host functions live in this process: they never reach the native config.
    const { hostFunctions, hostErrorStack, ...nativeConfig } = config ?? {};
    let functions;
    try {
      functions = hostFns.checkHostFunctions("hostFunctions", hostFunctions);
    } catch (e) {
      throw new ConfigError(e.message, { code: "ERR_INVALID_CONFIG" });
    }
    if (hostErrorStack !== undefined && typeof hostErrorStack !== "boolean") {
      throw new ConfigError("hostErrorStack must be a boolean", { code: "ERR_INVALID_CONFIG" });
    }
    const nativeRuntime = await nativeAsync(() => binding.createRuntime(this.projectRoot, nativeConfig, runtimeHints()));
    return new Runtime(nativeRuntime, { functions, errorStack: hostErrorStack === true });
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

function isDenoAvailable() {
  return binding.findRuntime(RuntimeTypeDeno, runtimeHints()) !== null;
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
  isDenoAvailable,
  newId,
  sandboxCapabilities,
  mcpHostFunctions,
  RuntimeTypeBun,
  RuntimeTypeNode,
  RuntimeTypeDeno,
  SupportedRuntimeTypes,
  ToolRuntimeError,
  ToolExecutionError,
  TimeoutError,
  AbortError,
  ProcessError,
  ValidationError,
  ConfigError,
};
