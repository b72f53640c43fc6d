// Builds the native addon (and the shipped executables) for one target into a staging folder,
// and checks that what came out is the right ELF for that target.
//
// The host's target: napi build, as `npm run build`. Other glibc targets: rustup's standard
// library, linked by zig (cargo-zigbuild from PyPI) against glibc 2.17. (napi-rs's
// `--use-napi-cross` asks npm for a toolchain version that is not published.)
// musl targets: rustup has no musl standard library on machines that only reach package
// registries, so the standard library is built from source (`-Zbuild-std`) with Debian's
// rustc-web and its matching rust-web-src, and linked with zig's musl (cargo-zigbuild from
// PyPI). `-crt-static` makes a shared object that loads into a musl node.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, copyFileSync, chmodSync } from "node:fs";
import path from "node:path";
import { ROOT, HOST_TRIPLE, platformFiles, shippedExecutables } from "./platforms.mjs";
import { debianRust, zigTools } from "./toolchain.mjs";

const NAPI = path.join(ROOT, "node_modules", ".bin", "napi");

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: ROOT, stdio: ["ignore", "inherit", "inherit"], ...opts });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} exited with ${r.status ?? r.signal}`);
}

/** Whether rustup's standard library for `triple` is installed. */
export function rustupHasStd(triple) {
  const dir = execFileSync("rustc", ["--print", "target-libdir", "--target", triple], { encoding: "utf8" }).trim();
  return existsSync(dir) && readdirSync(dir).some((f) => f.startsWith("libstd-") && f.endsWith(".rlib"));
}

// Lowest glibc a foreign-architecture glibc build links against (zig links with stubs of it).
const GLIBC_FLOOR = "2.17";

function buildHost(target, outDir, profile, executables) {
  if (!rustupHasStd(target.triple)) {
    throw new Error(`${target.triple}: Rust's standard library for it is not installed (rustup target add ${target.triple})`);
  }
  // Shares target/release with `npm run build`, so packing after a build (as `npm test` does)
  // reuses it, and writes the loader (binding.js) the main package ships.
  const common = ["--output-dir", outDir, ...(profile === "release" ? ["--release"] : [])];
  run(NAPI, ["build", "--platform", "--js", "binding.js", "--dts", "binding.d.ts", ...common]);
  for (const exe of executables) run(NAPI, ["build", "--bin", exe.name, "--package", exe.cargoPackage, ...common]);
}

function buildWithZig(target, outDir, profile, executables) {
  const zig = zigTools();
  const musl = target.libc === "musl";
  let env = { ...process.env, PATH: `${zig.binDir}:${process.env.PATH}` };
  const args = ["zigbuild", ...(profile === "release" ? ["--release"] : [])];
  if (musl) {
    const rust = debianRust();
    env = {
      ...env,
      ...rust.env,
      // -Zbuild-std on a stable compiler; the compiler and the library source are one release.
      RUSTC_BOOTSTRAP: "1",
      [`CARGO_TARGET_${target.triple.toUpperCase().replaceAll("-", "_")}_RUSTFLAGS`]: "-C target-feature=-crt-static",
    };
    args.push("--target", target.triple, "-Zbuild-std=std,panic_abort");
  } else {
    if (!rustupHasStd(target.triple)) {
      throw new Error(`${target.triple}: Rust's standard library for it is not installed (rustup target add ${target.triple})`);
    }
    args.push("--target", `${target.triple}.${GLIBC_FLOOR}`);
  }
  // One folder per target: cargo locks its target folder, and these builds may run at once.
  env.CARGO_TARGET_DIR = path.join(ROOT, "target", `${musl ? "build-std" : "zig"}-${target.triple}`);
  run(zig.cargoZigbuild, [...args, "--package", "tool-runtime-node", "--lib"], { env });
  const built = path.join(env.CARGO_TARGET_DIR, target.triple, profile);
  copyFileSync(path.join(built, "libtool_runtime_node.so"), path.join(outDir, target.addon));
  for (const exe of executables) {
    run(zig.cargoZigbuild, [...args, "--package", exe.cargoPackage, "--bin", exe.name], { env });
    copyFileSync(path.join(built, exe.name), path.join(outDir, exe.name));
    chmodSync(path.join(outDir, exe.name), 0o755);
  }
}

/** Builds `target` into `outDir`; returns the files a platform package carries. */
export function buildTarget(target, outDir, { profile = "release", executables = shippedExecutables() } = {}) {
  mkdirSync(outDir, { recursive: true });
  (target.triple === HOST_TRIPLE ? buildHost : buildWithZig)(target, outDir, profile, executables);
  const files = platformFiles(target, executables);
  for (const f of files) verifyElf(target, path.join(outDir, f), f === target.addon ? "addon" : "executable");
  return files;
}

function tool(cmd, args) {
  return execFileSync(cmd, args, { encoding: "utf8", maxBuffer: 64 << 20 });
}

/**
 * `file` must name the target's architecture; the dynamic section must need the target's libc
 * (glibc's libc.so.6, musl's libc.so); an addon must define `napi_register_module_v1`, the
 * symbol node looks up when it loads a `.node`.
 */
export function verifyElf(target, file, kind) {
  const described = tool("file", ["-b", file]).trim();
  const problems = [];
  if (!described.startsWith("ELF 64-bit LSB")) problems.push("not a 64-bit little-endian ELF");
  if (!described.includes(target.elfArch)) problems.push(`not ${target.elfArch}`);
  const needed = [...tool("readelf", ["-d", "--wide", file]).matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
  const libc = target.libc === "gnu" ? needed.includes("libc.so.6") : needed.some((n) => /^libc(\.musl-[a-z0-9_]+)?\.so(\.1)?$/.test(n));
  if (!libc) problems.push(`does not link ${target.libc === "gnu" ? "glibc (libc.so.6)" : "musl"}: needs ${needed.join(", ")}`);
  if (target.libc === "musl" && needed.includes("libc.so.6")) problems.push("links glibc");
  if (kind === "addon") {
    const exported = tool("readelf", ["--dyn-syms", "--wide", file])
      .split("\n")
      .some((l) => / napi_register_module_v1$/.test(l) && !/\bUND\b/.test(l));
    if (!exported) problems.push("does not export napi_register_module_v1");
  }
  if (problems.length) throw new Error(`${file} (${target.triple}): ${problems.join("; ")}\n  file: ${described}`);
  return { file, described, needed };
}
