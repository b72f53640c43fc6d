// Builds the tool-runtime-init binary (the init of each sandboxed call's PID namespace) and
// puts it beside the .node file, where the addon looks for it.
// Usage: node scripts/build-init.mjs [--release]
import { execFileSync } from "node:child_process";
import { copyFileSync, chmodSync, renameSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const release = process.argv.includes("--release");
const args = ["build", "-p", "tool-runtime-core", "--bin", "tool-runtime-init"];
if (release) args.push("--release");
execFileSync("cargo", args, { cwd: root, stdio: "inherit" });
const targetDir = process.env.CARGO_TARGET_DIR ?? join(root, "target");
const built = join(targetDir, release ? "release" : "debug", "tool-runtime-init");
// Copied under another name and renamed: a running call's init is never overwritten in place.
const dest = join(root, "tool-runtime-init");
copyFileSync(built, `${dest}.tmp`);
chmodSync(`${dest}.tmp`, 0o755);
renameSync(`${dest}.tmp`, dest);
