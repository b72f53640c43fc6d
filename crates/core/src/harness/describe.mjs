// What a tool says about itself: its description, annotations and schemas as JSON Schema, for
// `runtime.listTools()`; and the check of a value against a Standard Schema (zod, valibot,
// arktype), which runs here because such schemas can hold refinements JSON Schema cannot.
// Loaded by the harness before the tool's module, so the builtins it keeps are the real ones.

const stringify = JSON.stringify;
const parse = JSON.parse;
const isArray = Array.isArray;
// The AI SDK's `jsonSchema()` / `zodSchema()` wrappers carry this symbol and the JSON Schema.
const AI_SDK_SCHEMA = Symbol.for("vercel.ai.schema");

/** The tools' metadata, sorted by id: `[{ id, description?, inputSchema?, outputSchema?, annotations?, concurrency? }]`. */
export function describeTools(tools) {
  const out = [];
  const ids = [...tools.keys()].sort();
  // Checked first, for every tool: the host fails the calls of an entrypoint whose limits it
  // cannot honour, which it tells from other metadata errors by this error's code.
  for (const id of ids) {
    const concurrency = tools.get(id).meta.concurrency;
    if (concurrency != null) checkConcurrency(id, concurrency);
  }
  for (const id of ids) {
    const meta = tools.get(id).meta;
    const info = { id };
    const description = meta.description;
    if (typeof description === "string") info.description = description;
    else if (description != null) throw new TypeError(`tool ${id}: description must be a string`);
    const input = toJsonSchema(id, "inputSchema", meta.inputSchema, "input");
    if (input !== undefined) info.inputSchema = input;
    const output = toJsonSchema(id, "outputSchema", meta.outputSchema, "output");
    if (output !== undefined) info.outputSchema = output;
    if (meta.annotations != null) info.annotations = plainJson(id, "annotations", meta.annotations);
    const concurrency = meta.concurrency;
    if (concurrency != null) info.concurrency = checkConcurrency(id, concurrency);
    out.push(info);
  }
  return out;
}

// The host counts calls with a u32.
const MAX_CONCURRENCY = 4294967295;

function checkConcurrency(id, value) {
  if (typeof value === "number" && Number.isInteger(value) && value >= 1 && value <= MAX_CONCURRENCY) return value;
  const shown = typeof value === "number" ? String(value) : typeof value === "string" ? stringify(value) : `a value of type ${typeof value}`;
  const e = new TypeError(`tool ${id}: concurrency must be a positive integer (at most ${MAX_CONCURRENCY}), got ${shown}`);
  e.code = "TOOL_RUNTIME_BAD_CONCURRENCY";
  throw e;
}

function toJsonSchema(id, field, schema, io) {
  if (schema == null) return undefined;
  if (typeof schema !== "object" && typeof schema !== "function") {
    throw new TypeError(`tool ${id}: ${field} must be a JSON Schema object or a Standard Schema`);
  }
  const std = schema["~standard"];
  if (std !== null && typeof std === "object") {
    // The Standard JSON Schema interface (zod 4.2+, and others that adopt it).
    const converter = std.jsonSchema;
    if (converter && typeof converter[io] === "function") {
      return plainJson(id, field, converter[io]({ target: "draft-2020-12" }));
    }
    // zod 4 schemas convert themselves; valibot and arktype expose `toJsonSchema`.
    if (typeof schema.toJSONSchema === "function") return plainJson(id, field, schema.toJSONSchema({ io }));
    if (typeof schema.toJsonSchema === "function") return plainJson(id, field, schema.toJsonSchema());
    throw new TypeError(
      `tool ${id}: its ${field} (a Standard Schema from ${String(std.vendor)}) has no JSON Schema converter; ` +
        "pass a JSON Schema, or a schema whose library converts itself",
    );
  }
  if (schema[AI_SDK_SCHEMA] === true && schema.jsonSchema !== null && typeof schema.jsonSchema === "object") {
    return plainJson(id, field, schema.jsonSchema);
  }
  return plainJson(id, field, schema);
}

/** A JSON round trip: what the host receives is exactly what JSON can carry, or an error naming it. */
function plainJson(id, field, value) {
  let text;
  try {
    text = stringify(value);
  } catch (e) {
    throw new TypeError(`tool ${id}: ${field} is not JSON-serialisable: ${e && e.message}`);
  }
  const back = text === undefined ? undefined : parse(text);
  if (back === null || typeof back !== "object" || isArray(back)) {
    throw new TypeError(`tool ${id}: ${field} must be a JSON object`);
  }
  return back;
}

/** A Standard Schema the value is checked against inside the process, or null. */
export function standardOf(schema) {
  if (schema == null || (typeof schema !== "object" && typeof schema !== "function")) return null;
  const std = schema["~standard"];
  return std !== null && typeof std === "object" && typeof std.validate === "function" ? std : null;
}

/** `{ value }` (the schema's output: defaults and transforms applied) or `{ issues: [{ path, message }] }`. */
export async function checkStandard(std, value) {
  const result = await std.validate(value);
  if (result && isArray(result.issues)) return { issues: result.issues.map(issue) };
  return { value: result ? result.value : value };
}

function issue(i) {
  const segments = isArray(i && i.path) ? i.path : [];
  const path = segments
    .map((s) => String(s !== null && typeof s === "object" && "key" in s ? s.key : s))
    .map((s) => "/" + s.replaceAll("~", "~0").replaceAll("/", "~1"))
    .join("");
  return { path, message: String(i && i.message) };
}

