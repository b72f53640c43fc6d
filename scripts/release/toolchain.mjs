// The tools a cross build needs beyond rustup's, installed by this script from package
// registries when missing (never by hand): Debian's rustc-web (a stable compiler with its own
// library source, for -Zbuild-std), musl/qemu bits from Debian, zig and cargo-zigbuild from PyPI.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { ROOT } from "./platforms.mjs";

const ZIGLANG = "ziglang==0.15.2";
const CARGO_ZIGBUILD = "cargo-zigbuild==0.24.1";

function installed(pkg) {
  const r = spawnSync("dpkg-query", ["-W", "-f=${Status}", pkg], { encoding: "utf8" });
  return r.status === 0 && r.stdout.includes("install ok installed");
}

/** Installs Debian packages that are missing (as root), else says which command to run. */
export function ensureDebianPackages(pkgs) {
  const missing = pkgs.filter((p) => !installed(p));
  if (missing.length === 0) return;
  if (process.getuid() !== 0) {
    throw new Error(`missing Debian packages: ${missing.join(" ")} (install them: sudo apt-get install ${missing.join(" ")})`);
  }
  const apt = (args) => {
    const r = spawnSync("apt-get", args, { stdio: "inherit", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
    return r.status === 0;
  };
  if (!apt(["install", "-y", "--no-install-recommends", ...missing])) {
    if (!apt(["update"]) || !apt(["install", "-y", "--no-install-recommends", ...missing])) {
      throw new Error(`apt-get could not install ${missing.join(" ")}`);
    }
  }
}

/** Debian's rustc-web: its compiler and cargo, and the library source that matches them. */
export function debianRust() {
  ensureDebianPackages(["rustc-web", "cargo-web", "rust-web-src"]);
  // rustc-web installs as /usr/bin/rustc and /usr/bin/cargo (rustup's, earlier on PATH, stay the default).
  const binDir = "/usr/bin";
  const sysroot = execFileSync(path.join(binDir, "rustc"), ["--print", "sysroot"], { encoding: "utf8" }).trim();
  if (!existsSync(path.join(sysroot, "lib/rustlib/src/rust/library/Cargo.lock"))) {
    throw new Error(`rust-web-src is installed but ${sysroot}/lib/rustlib/src/rust/library is not there`);
  }
  return { binDir, env: { RUSTC: path.join(binDir, "rustc"), CARGO: path.join(binDir, "cargo") } };
}

/** zig (its musl is the C library the musl targets link with) and cargo-zigbuild, in a venv. */
export function zigTools() {
  const venv = path.join(ROOT, "target", "release-tools", "zig");
  const bin = path.join(venv, "bin");
  if (!existsSync(path.join(bin, "cargo-zigbuild")) || !existsSync(path.join(bin, "python-zig-ok"))) {
    execFileSync("python3", ["-m", "venv", venv], { stdio: "inherit" });
    execFileSync(path.join(bin, "pip"), ["install", "--disable-pip-version-check", "-q", ZIGLANG, CARGO_ZIGBUILD], { stdio: "inherit" });
    execFileSync("sh", ["-c", `printf '#!/bin/sh\\nexec "%s" -m ziglang "$@"\\n' "${path.join(bin, "python3")}" > "${path.join(bin, "zig")}" && chmod +x "${path.join(bin, "zig")}" && touch "${path.join(bin, "python-zig-ok")}"`]);
  }
  return { binDir: bin, cargoZigbuild: path.join(bin, "cargo-zigbuild") };
}
