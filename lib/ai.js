"use strict";
// `tool-runtime/ai`: a runtime's tools as a tool set for the `ai` package's generateText and
// streamText. Schemas come from the tools' own metadata; every execution is one sandboxed call
// that the SDK's abortSignal cancels (its process tree is killed).

const { jsonSchema, tool } = require("ai");
const { newId } = require("../index.js");
const { selectTools, toolName } = require("./names.js");

/**
 * `{ [name]: tool }` for every tool of the runtime (or those `include`/`exclude` pick), named as
 * for MCP (`category/tool-name` becomes `category__tool-name`). A failed call throws the
 * package's typed error, which the SDK reports to the model as a tool error.
 */
async function aiTools(runtime, options = {}) {
  const { env, config, timeoutMs, onLog, onProgress } = options;
  const set = {};
  for (const t of selectTools(await runtime.listTools(), options)) {
    const execute = (input, { abortSignal, toolCallId } = {}) => {
      const call = { toolId: t.id, toolCallId };
      const callOptions = { signal: abortSignal, config };
      if (onLog) callOptions.onLog = (entry) => onLog(entry, call);
      if (onProgress) callOptions.onProgress = (p) => onProgress(p, call);
      const callEnv = typeof env === "function" ? env(t.id) : env;
      return timeoutMs
        ? runtime.executeToolWithTimeout(t.id, newId(), input ?? {}, callEnv, timeoutMs, callOptions)
        : runtime.executeTool(t.id, newId(), input ?? {}, callEnv, callOptions);
    };
    const def = { inputSchema: jsonSchema(t.inputSchema ?? { type: "object" }), execute };
    if (t.description) def.description = t.description;
    if (t.outputSchema) def.outputSchema = jsonSchema(t.outputSchema);
    set[toolName(t.id)] = tool(def);
  }
  return set;
}

module.exports = { aiTools, toolName };
