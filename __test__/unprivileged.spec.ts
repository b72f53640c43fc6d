// The sandbox and the limits for an ordinary user: as root, the checks run as a user made for
// the purpose (useradd + runuser); as an ordinary user, directly.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { it } from "node:test";

const USER = "tool-runtime-test";
const SCRIPT = path.join(__dirname, "..", "scripts", "unprivileged-check.mjs");

it("enforces the sandbox and the memory limit for an ordinary user, on bun and node", () => {
  let cmd: string[];
  if (process.getuid!() === 0) {
    if (spawnSync("id", ["-u", USER]).status !== 0) {
      const made = spawnSync("useradd", ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", USER], { encoding: "utf8" });
      assert.equal(made.status, 0, `useradd failed: ${made.stderr}`);
    }
    cmd = ["runuser", "-u", USER, "--", process.execPath, SCRIPT];
  } else {
    cmd = [process.execPath, SCRIPT];
  }
  const r = spawnSync(cmd[0], cmd.slice(1), { encoding: "utf8", timeout: 120_000, env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: "/tmp" } });
  process.stdout.write(r.stdout);
  assert.equal(r.status, 0, `unprivileged checks failed:\n${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /runs as an ordinary user/);
});
