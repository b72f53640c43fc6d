// The sandbox and the limits for an ordinary user: as root, the checks run as a user made for
// the purpose (useradd + runuser) and removed afterwards, pass or fail; as an ordinary user,
// directly.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, it } from "node:test";
import { processAlive, processesOfUser } from "../scripts/proc";
import { waitFor } from "./helpers";

/**
 * Test users are named after the process that made them, so runs in parallel (other checkouts
 * on the same machine) never share one, and a user whose maker is gone is a leftover.
 */
const USER_PREFIX = "tr-test-";
const USER = `${USER_PREFIX}${process.pid}`;
const REPO = path.join(__dirname, "..");
const AS_ROOT = process.getuid!() === 0;

/** Users from /etc/passwd whose name starts with USER_PREFIX, with their uids. */
function testUsers(): { name: string; uid: number }[] {
  return fs
    .readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .map((line) => line.split(":"))
    .filter((f) => f.length > 2 && f[0].startsWith(USER_PREFIX))
    .map((f) => ({ name: f[0], uid: Number(f[2]) }));
}

/**
 * Removes a test user, first killing what still runs as it (only this test runs anything as
 * such a user: a check cut short by its timeout, or an interrupted run, leaves those).
 */
async function removeUser(name: string): Promise<void> {
  const user = testUsers().find((u) => u.name === name);
  if (!user) return;
  for (const pid of processesOfUser(user.uid)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone meanwhile
    }
  }
  await waitFor(() => processesOfUser(user.uid).length === 0, `the processes of ${name} to end`);
  const r = spawnSync("userdel", [name], { encoding: "utf8" });
  assert.equal(r.status, 0, `userdel ${name} failed: ${r.stderr}`);
}

/** Users left by interrupted runs: their maker's pid is gone. */
function leftoverUsers(): string[] {
  return testUsers()
    .filter(({ name }) => {
      const pid = Number(name.slice(USER_PREFIX.length));
      return !Number.isInteger(pid) || !processAlive(pid);
    })
    .map((u) => u.name);
}

/** Everything the check writes (its work dirs, the runtime's harness dirs) goes in here. */
let scratch = "";
/** A copy of the package the test user can read, when the checkout sits where it cannot. */
let copy: string | null = null;

before(async () => {
  if (AS_ROOT) {
    for (const name of leftoverUsers()) await removeUser(name);
    // A pid reused since an interrupted run could name a user that is still there.
    await removeUser(USER);
    const made = spawnSync("useradd", ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", USER], { encoding: "utf8" });
    assert.equal(made.status, 0, `useradd failed: ${made.stderr}`);
  }
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), "tr-unpriv-run-"));
  if (AS_ROOT) fs.chownSync(scratch, testUsers().find((u) => u.name === USER)!.uid, -1);
});

after(async () => {
  try {
    if (AS_ROOT) await removeUser(USER);
  } finally {
    for (const dir of [scratch, copy]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }
});

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
  fs.cpSync(path.join(REPO, "node_modules", "deno"), path.join(dir, "node_modules", "deno"), { recursive: true });
  spawnSync("chmod", ["-R", "a+rX", dir]);
  return dir;
}

it("enforces the sandbox and the memory limit for an ordinary user, on bun, node and deno", () => {
  let cmd: string[];
  if (AS_ROOT) {
    const canRead = spawnSync("runuser", ["-u", USER, "--", "test", "-r", path.join(REPO, "index.js")]).status === 0;
    const root = canRead ? REPO : (copy = readableCopy());
    cmd = ["runuser", "-u", USER, "--", process.execPath, path.join(root, "scripts", "unprivileged-check.mjs")];
  } else {
    cmd = [process.execPath, path.join(REPO, "scripts", "unprivileged-check.mjs")];
  }
  const r = spawnSync(cmd[0], cmd.slice(1), {
    encoding: "utf8",
    timeout: 120_000,
    cwd: scratch,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: scratch, TMPDIR: scratch },
  });
  process.stdout.write(r.stdout);
  assert.equal(r.status, 0, `unprivileged checks failed:\n${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /runs as an ordinary user/);
  // What the check made in TMPDIR it removed itself (whatever else is there goes with `scratch`).
  assert.deepEqual(
    fs.readdirSync(scratch).filter((n) => n.startsWith("tr-unpriv-")),
    [],
    "the check left its work dirs behind",
  );
});
