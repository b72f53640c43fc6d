// The platform packages (napi-rs's convention: one npm package per OS/CPU/libc, listed by the
// main package as optional dependencies) and the one list of what each of them carries.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const rootPackage = () => JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8"));

// Cargo `[[bin]]` targets that ship beside the `.node` in every platform package (the runtime
// looks for them next to the addon). Each is built for every target when the workspace has it.
export const EXECUTABLES = ["tool-runtime-init"];

const TRIPLES = {
  "x86_64-unknown-linux-gnu": { platform: "linux-x64-gnu", elfArch: "x86-64", qemu: null },
  "aarch64-unknown-linux-gnu": { platform: "linux-arm64-gnu", elfArch: "ARM aarch64", qemu: "qemu-aarch64" },
  "x86_64-unknown-linux-musl": { platform: "linux-x64-musl", elfArch: "x86-64", qemu: null },
  "aarch64-unknown-linux-musl": { platform: "linux-arm64-musl", elfArch: "ARM aarch64", qemu: "qemu-aarch64" },
};

export const HOST_TRIPLE = execFileSync("rustc", ["--print", "host-tuple"], { encoding: "utf8" }).trim();

/** Every target of `napi.targets`, with where its package lives and what it carries. */
export function targets() {
  const pkg = rootPackage();
  return pkg.napi.targets.map((triple) => {
    const known = TRIPLES[triple];
    if (!known) throw new Error(`napi.targets lists ${triple}, which scripts/release/platforms.mjs does not know`);
    const libc = triple.endsWith("-musl") ? "musl" : "gnu";
    return {
      triple,
      ...known,
      libc,
      packageName: `${pkg.name}-${known.platform}`,
      dir: path.join(ROOT, "npm", known.platform),
      addon: `${pkg.napi.binaryName}.${known.platform}.node`,
    };
  });
}

/** The `EXECUTABLES` this workspace defines, with the package that defines each. */
export function shippedExecutables() {
  const meta = JSON.parse(
    execFileSync("cargo", ["metadata", "--no-deps", "--format-version", "1"], { cwd: ROOT, encoding: "utf8", maxBuffer: 64 << 20 }),
  );
  const found = [];
  for (const p of meta.packages) {
    for (const t of p.targets) {
      if (t.kind.includes("bin") && EXECUTABLES.includes(t.name)) found.push({ name: t.name, cargoPackage: p.name });
    }
  }
  return found;
}

/** The files of a platform package: the addon, then the executables. */
export function platformFiles(target, executables = shippedExecutables()) {
  return [target.addon, ...executables.map((e) => e.name)];
}
