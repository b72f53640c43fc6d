// The queue tests start Debian's redis-server on a loopback port of their own: `npm test`
// installs it when it is missing (apt-get, as root or through sudo), so a fresh machine needs
// nothing installed by hand. Anything else (no apt-get, no sudo) stops here with what to do.
import { spawnSync } from "node:child_process";

const has = (cmd) => spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;

if (!has("redis-server")) {
  if (!has("apt-get")) {
    console.error("redis-server is missing and there is no apt-get to install it: install redis-server, then run npm test again");
    process.exit(1);
  }
  const root = process.getuid && process.getuid() === 0;
  if (!root && !has("sudo")) {
    console.error("redis-server is missing: run `sudo apt-get install -y redis-server` (or npm test as root)");
    process.exit(1);
  }
  const run = (args) => {
    const [cmd, ...rest] = root ? args : ["sudo", ...args];
    console.error(`ensure-redis: ${[cmd, ...rest].join(" ")}`);
    const r = spawnSync(cmd, rest, { stdio: "inherit", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
    if (r.status !== 0) process.exit(r.status ?? 1);
  };
  run(["apt-get", "update"]);
  run(["apt-get", "install", "-y", "redis-server"]);
}
