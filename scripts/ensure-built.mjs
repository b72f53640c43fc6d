// Builds the addon (release) only when a Rust source, the manifest or the lockfile is newer
// than the addon in the tree, so `npm run example` starts at once when nothing changed.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const INPUTS = ["src", "crates", "Cargo.toml", "Cargo.lock", "build.rs", "package.json"];

function newest(p) {
  const s = statSync(p);
  if (!s.isDirectory()) return s.mtimeMs;
  return Math.max(s.mtimeMs, ...readdirSync(p).map((e) => newest(path.join(p, e))));
}

const { napi } = JSON.parse(await import("node:fs").then((fs) => fs.readFileSync(path.join(ROOT, "package.json"), "utf8")));
const family = process.report.getReport().header.glibcVersionRuntime ? "gnu" : "musl";
const addon = path.join(ROOT, `${napi.binaryName}.${process.platform}-${process.arch}-${family}.node`);
const outputs = [addon, path.join(ROOT, "tool-runtime-init"), path.join(ROOT, "binding.js"), path.join(ROOT, "binding.d.ts")];
const built = outputs.every((p) => existsSync(p)) ? Math.min(...outputs.map((p) => statSync(p).mtimeMs)) : -Infinity;
const changed = Math.max(...INPUTS.map((p) => path.join(ROOT, p)).filter(existsSync).map(newest));
if (changed > built) {
  const r = spawnSync("npm", ["run", "build"], { cwd: ROOT, stdio: "inherit" });
  process.exit(r.status ?? 1);
}
