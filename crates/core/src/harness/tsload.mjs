// TypeScript load hook for a node without its own (node 20): registered by the harness before
// the entrypoint is imported when it is started with --typescript=<amaro folder>. It gives
// `.ts`, `.mts` and `.cts` files to amaro, node's own TypeScript library (the one node 22+
// bundles), in transform mode, so what runs and how it fails match node 22+ run with
// --experimental-transform-types; the inline source map puts stack traces on the .ts lines
// (node is started with --enable-source-maps). It runs on node's loader thread.
import fs from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

let transformSync;

export function initialize(data) {
  transformSync = createRequire(`${data.amaro}/package.json`)("./dist/index.js").transformSync;
}

const TYPESCRIPT = /\.([cm]?)ts$/;

export async function load(url, context, nextLoad) {
  const ext = url.startsWith("file:") ? TYPESCRIPT.exec(new URL(url).pathname) : null;
  if (!ext) return nextLoad(url, context);
  const filename = fileURLToPath(url);
  const source = fs.readFileSync(filename, "utf8");
  let out;
  try {
    out = transformSync(source, { mode: "transform", sourceMap: true, filename });
  } catch (e) {
    throw typescriptError(e, url);
  }
  const map = out.map ? `\n//# sourceMappingURL=data:application/json;base64,${Buffer.from(out.map).toString("base64")}` : "";
  return { format: formatOf(ext[1], filename), shortCircuit: true, source: `${out.code}${map}\n//# sourceURL=${url}` };
}

// .mts is a module and .cts CommonJS; .ts follows the nearest package.json's "type" and, with
// none, is a module (node 22+ detects the syntax; ES modules are what TypeScript tools write).
function formatOf(kind, filename) {
  if (kind === "m") return "module";
  if (kind === "c") return "commonjs";
  for (let dir = filename; ; ) {
    const parent = dir.slice(0, dir.lastIndexOf("/")) || "/";
    try {
      const type = JSON.parse(fs.readFileSync(`${parent}/package.json`, "utf8")).type;
      return type === "commonjs" ? "commonjs" : "module";
    } catch (e) {
      if (e && e.code !== "ENOENT") return "module";
    }
    if (parent === "/") return "module";
    dir = parent;
  }
}

// amaro throws its parser's diagnostic as a plain object; node 22+ turns the same diagnostic
// into a SyntaxError whose stack starts with the file, the line and the code frame. Do the same
// here, so a load error reads alike on every node.
function typescriptError(e, url) {
  if (e instanceof Error || e === null || typeof e !== "object" || typeof e.message !== "string") return e;
  const unsupported = e.code === "UnsupportedSyntax";
  const code = unsupported ? "ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX" : "ERR_INVALID_TYPESCRIPT_SYNTAX";
  const err = unsupported ? new Error(e.message) : new SyntaxError(e.message);
  err.code = code;
  err.stack = `${url}:${e.startLine}\n${e.snippet ?? ""}\n${err.name} [${code}]: ${e.message}\n    at ${url}:${e.startLine}:${(e.startColumn ?? 0) + 1}`;
  return err;
}
