"use strict";
// Inline code (`runtime.executeCode`): argument checks, and syntax errors with their position.
// bun reports where its parser stopped; node's loader does not say where a module's syntax
// error is, so on node the source is parsed here first (acorn), before any process starts.
// TypeScript for node has its types stripped here (amaro, node's own TypeScript library), in
// the mode that keeps every line and column where it was.

const { ProcessError, ValidationError } = require("./errors.js");

const INLINE_TOOL_ID = "inline-code";
const INLINE_ENTRYPOINT = "<inline code>";

function syntaxError(toolExecId, name, message, line, column, lineText) {
  const at = line == null ? "" : ` (line ${line}, column ${column})`;
  const full = `${name}: ${message}${at}`;
  return new ProcessError(`entrypoint ${INLINE_ENTRYPOINT} failed to load: ${full}`, {
    code: "ERR_ENTRYPOINT_FAILED",
    toolId: INLINE_TOOL_ID,
    toolExecId,
    entrypoint: INLINE_ENTRYPOINT,
    loadError: { message: full, stack: lineText ?? null },
    line: line ?? null,
    column: column ?? null,
    exitCode: null,
    signal: null,
    stderr: "",
    stdout: "",
  });
}

/** Parses JavaScript module source as node would; throws `ERR_ENTRYPOINT_FAILED` with the position. */
function checkSyntax(source, toolExecId) {
  const acorn = require("acorn");
  try {
    acorn.parse(source, { ecmaVersion: "latest", sourceType: "module", allowHashBang: true });
  } catch (e) {
    if (!(e instanceof SyntaxError) || !e.loc) throw e;
    const message = e.message.replace(/ \(\d+:\d+\)$/, "");
    throw syntaxError(toolExecId, "SyntaxError", message, e.loc.line, e.loc.column + 1, source.split("\n")[e.loc.line - 1] ?? null);
  }
}

/** TypeScript source as JavaScript for node; a syntax error is `ERR_ENTRYPOINT_FAILED` with the position. */
function stripTypes(source, toolExecId) {
  const { transformSync } = require("amaro");
  const fail = (e) => {
    if (e && typeof e === "object" && typeof e.startLine === "number" && typeof e.message === "string") {
      const name = e.code === "UnsupportedSyntax" ? "Error" : "SyntaxError";
      throw syntaxError(toolExecId, name, e.message, e.startLine, (e.startColumn ?? 0) + 1, source.split("\n")[e.startLine - 1] ?? null);
    }
    throw e;
  };
  try {
    return transformSync(source, { mode: "strip-only" }).code;
  } catch (e) {
    // Enums, namespaces and parameter properties need code generated: lines may then move.
    if (!(e && e.code === "UnsupportedSyntax")) fail(e);
  }
  try {
    return transformSync(source, { mode: "transform" }).code;
  } catch (e) {
    return fail(e);
  }
}

/** A native `ERR_ENTRYPOINT_FAILED` of inline code gets `line` and `column` from its message. */
function withPosition(err) {
  if (err && err.code === "ERR_ENTRYPOINT_FAILED" && err.entrypoint === INLINE_ENTRYPOINT) {
    const m = /\(line (\d+), column (\d+)\)$/.exec(err.loadError?.message ?? "");
    err.line = m ? Number(m[1]) : null;
    err.column = m ? Number(m[2]) : null;
  }
  return err;
}

function checkCodeOptions(source, options) {
  if (typeof source !== "string") {
    throw new ValidationError(`source must be a string, got ${source === null ? "null" : typeof source}`, { code: "ERR_INVALID_ARGUMENT" });
  }
  if (options !== undefined && options !== null && (typeof options !== "object" || Array.isArray(options))) {
    throw new ValidationError("options must be an object", { code: "ERR_INVALID_ARGUMENT" });
  }
  const language = options?.language ?? "js";
  if (language !== "js" && language !== "ts") {
    throw new ValidationError(`options.language must be "js" or "ts", got ${JSON.stringify(String(language))}`, { code: "ERR_INVALID_ARGUMENT" });
  }
  const timeoutMs = options?.timeoutMs;
  if (timeoutMs !== undefined && (typeof timeoutMs !== "number" || !Number.isInteger(timeoutMs) || timeoutMs <= 0)) {
    throw new ValidationError(`options.timeoutMs must be a positive whole number of milliseconds, got ${String(timeoutMs)}`, {
      code: "ERR_INVALID_ARGUMENT",
    });
  }
  if (options?.toolExecId !== undefined && typeof options.toolExecId !== "string") {
    throw new ValidationError("options.toolExecId must be a string", { code: "ERR_INVALID_ARGUMENT" });
  }
  return language;
}

module.exports = { INLINE_TOOL_ID, checkSyntax, stripTypes, withPosition, checkCodeOptions };
