"use strict";
// Tool ids (`A-Za-z0-9_/.-`) to the names MCP clients and model providers accept. MCP allows
// `A-Za-z0-9_.-`, 1 to 128 characters, and clients refuse `/`, which ids use for categories.
// The mapping is one rule, `/` <-> `__`, so that `category/tool-name` reads as
// `category__tool-name`. For it to be reversible an id may not hold `_` next to another `_`
// or to `/`; such ids (and names over 128 characters) are refused up front rather than served
// under a name that would decode to another tool.

const { ValidationError } = require("./errors.js");

const MAX_NAME = 128;

/** Why `id` has no tool name, or null when it has one. */
function unmappable(id) {
  if (typeof id !== "string" || !/^[A-Za-z0-9_/.-]+$/.test(id)) return "it is not a valid tool id";
  if (/_[_/]|\/_/.test(id)) return "`_` next to `_` or `/` would make its name ambiguous (`/` maps to `__`)";
  if (id.replaceAll("/", "__").length > MAX_NAME) return `its name would be longer than ${MAX_NAME} characters`;
  return null;
}

/** The MCP/model-facing name of a tool id: `/` becomes `__`. Throws `ERR_INVALID_ARGUMENT` for ids without one. */
function toolName(id) {
  const why = unmappable(id);
  if (why) {
    throw new ValidationError(`tool ${JSON.stringify(id)} cannot be exposed: ${why}`, { code: "ERR_INVALID_ARGUMENT", toolId: id });
  }
  return id.replaceAll("/", "__");
}

/** The tool id a name stands for, or null when no id maps to it. */
function toolIdFromName(name) {
  if (typeof name !== "string" || !/^[A-Za-z0-9_.-]{1,128}$/.test(name)) return null;
  const id = name.replaceAll("__", "/");
  return unmappable(id) === null && id.replaceAll("/", "__") === name ? id : null;
}

/**
 * Picks the tools to expose: `include`/`exclude` are lists of ids or predicates on the tool.
 * Throws `ERR_INVALID_ARGUMENT` naming every id that has no name, so no tool silently goes missing.
 */
function selectTools(tools, { include, exclude } = {}) {
  const matches = (rule, t) => (typeof rule === "function" ? rule(t) : Array.isArray(rule) ? rule.includes(t.id) : false);
  const picked = tools.filter((t) => (include === undefined || matches(include, t)) && !(exclude !== undefined && matches(exclude, t)));
  const bad = picked.map((t) => [t.id, unmappable(t.id)]).filter(([, why]) => why);
  if (bad.length) {
    throw new ValidationError(`tools cannot be exposed: ${bad.map(([id, why]) => `${JSON.stringify(id)} (${why})`).join("; ")}`, {
      code: "ERR_INVALID_ARGUMENT",
      toolIds: bad.map(([id]) => id),
    });
  }
  return picked;
}

module.exports = { toolName, toolIdFromName, selectTools };
