// The sandbox and the limits for an ordinary user: as root, the checks run as a user made for
// the purpose (useradd + runuser); as an ordinary user, directly.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { it } from "node:test";

const USER = "tool-runtime-test";
const REPO = path.join(__dirname, "..");

/**
 * A copy of what the check needs, where the test user can read it, for when the checkout sits
 * in a folder it cannot enter (a clone under /root).
 */
function readableCopy(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tr-unpriv-pkg-"));
  fs.chmodSync(dir, 0o755);
  for (const f of ["package.json", "index.js", "binding.js", "lib", "scripts/unprivileged-check.mjs"]) {
    fs.cpSync(path.join(REPO, f), path.join(dir, f), { recursive: true });
  }
  for (const f of fs.readdirSync(REPO).filter((n) => n.endsWith(".node"))) fs.copyFileSync(path.join(REPO, f), path.join(dir, f));
  fs.cpSync(path.join(REPO, "node_modules", "bun"), path.join(dir, "node_modules", "bun"), { recursive: true });
  spawnSync("chmod", ["-R", "a+rX", dir]);
  return dir;
}

it("enforces the sandbox and the memory limit for an ordinary user, on bun and node", () => {
  let cmd: string[];
  let copy: string | null = null;
  if (process.getuid!() === 0) {
    if (spawnSync("id", ["-u", USER]).status !== 0) {
      const made = spawnSync("useradd", ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", USER], { encoding: "utf8" });
      assert.equal(made.status, 0, `useradd failed: ${made.stderr}`);
    }
    const canRead = spawnSync("runuser", ["-u", USER, "--", "test", "-r", path.join(REPO, "index.js")]).status === 0;
    const root = canRead ? REPO : (copy = readableCopy());
    cmd = ["runuser", "-u", USER, "--", process.execPath, path.join(root, "scripts", "unprivileged-check.mjs")];
  } else {
    cmd = [process.execPath, path.join(REPO, "scripts", "unprivileged-check.mjs")];
  }
  try {
    const r = spawnSync(cmd[0], cmd.slice(1), {
      encoding: "utf8",
      timeout: 120_000,
      cwd: os.tmpdir(),
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: "/tmp" },
    });
    process.stdout.write(r.stdout);
    assert.equal(r.status, 0, `unprivileged checks failed:\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /runs as an ordinary user/);
  } finally {
    if (copy) fs.rmSync(copy, { recursive: true, force: true });
  }
});
