// Real project layouts under a narrow read policy (--allow-read=./data), on bun and node: an npm
// workspace (built with npm itself: a dependency hoisted to the workspace root's node_modules, a
// workspace package symlinked there) and a pnpm-style tree (the project's node_modules is a
// symlink into a store outside the project, whose packages are symlinks into a virtual store).
// Resolution must work; what the policy does not grant must stay out of reach.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { ProcessError, type Runtime } from "tool-runtime";
import { RUNTIMES, makeRuntime, tempDir } from "./helpers";
import { rejection } from "./proc-helpers";

function write(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}

const TOOLS = `import fs from "node:fs";
import { pad } from "pad";
import { shout } from "@ws/lib";
export function run() {
  return { text: shout(pad(fs.readFileSync("./data/input.txt", "utf8").trim())) };
}
export function readOutside({ file }) {
  return { text: fs.readFileSync(file, "utf8") };
}
`;

/** An npm workspace: ws/packages/app depends on @ws/lib (a workspace) and pad (a tarball). */
function npmWorkspace(): { root: string; project: string } {
  const root = fs.realpathSync(tempDir("tr-ws-"));
  write(path.join(root, "vendor/pad/package.json"), JSON.stringify({ name: "pad", version: "1.0.0", type: "module", main: "index.js" }));
  write(path.join(root, "vendor/pad/index.js"), `export const pad = (s) => \`[\${s}]\`;\n`);
  execFileSync("npm", ["pack", "--silent", "--pack-destination", path.join(root, "vendor")], { cwd: path.join(root, "vendor/pad") });
  write(path.join(root, "ws/package.json"), JSON.stringify({ name: "ws", private: true, workspaces: ["packages/*"] }));
  write(path.join(root, "ws/secret.txt"), "workspace secret\n");
  write(path.join(root, "ws/packages/lib/package.json"), JSON.stringify({ name: "@ws/lib", version: "1.0.0", type: "module", main: "index.js", dependencies: { pad: "file:../../../vendor/pad-1.0.0.tgz" } }));
  // The workspace package resolves its own dependency from the workspace root's node_modules.
  write(path.join(root, "ws/packages/lib/index.js"), `import { pad } from "pad";\nexport const shout = (s) => pad(s.toUpperCase());\n`);
  const app = path.join(root, "ws/packages/app");
  write(path.join(app, "package.json"), JSON.stringify({ name: "app", version: "1.0.0", type: "module", dependencies: { "@ws/lib": "1.0.0", pad: "file:../../../vendor/pad-1.0.0.tgz" } }));
  write(path.join(app, "tools.mjs"), TOOLS);
  write(path.join(app, "data/input.txt"), "hello\n");
  execFileSync("npm", ["install", "--offline", "--no-audit", "--no-fund", "--silent"], { cwd: path.join(root, "ws") });
  assert.ok(fs.lstatSync(path.join(root, "ws/node_modules/@ws/lib")).isSymbolicLink(), "npm linked the workspace package");
  assert.ok(fs.existsSync(path.join(root, "ws/node_modules/pad/index.js")), "npm hoisted pad to the workspace root");
  assert.ok(!fs.existsSync(path.join(app, "node_modules/pad")), "pad is not in the project's own node_modules");
  return { root, project: app };
}

/** pnpm's layout, outside the project: node_modules -> store/proj/node_modules, packages -> .pnpm. */
function pnpmStore(): { root: string; project: string } {
  const root = fs.realpathSync(tempDir("tr-pnpm-"));
  const vs = path.join(root, "store/.pnpm");
  write(path.join(vs, "pad@1.0.0/node_modules/pad/package.json"), JSON.stringify({ name: "pad", version: "1.0.0", type: "module", main: "index.js" }));
  write(path.join(vs, "pad@1.0.0/node_modules/pad/index.js"), `export const pad = (s) => \`[\${s}]\`;\n`);
  write(path.join(vs, "@ws+lib@1.0.0/node_modules/@ws/lib/package.json"), JSON.stringify({ name: "@ws/lib", version: "1.0.0", type: "module", main: "index.js" }));
  write(path.join(vs, "@ws+lib@1.0.0/node_modules/@ws/lib/index.js"), `import { pad } from "pad";\nexport const shout = (s) => pad(s.toUpperCase());\n`);
  // pnpm links a package's dependencies beside it, in its own node_modules.
  fs.symlinkSync("../../pad@1.0.0/node_modules/pad", path.join(vs, "@ws+lib@1.0.0/node_modules/pad"));
  const nm = path.join(root, "store/projects/app/node_modules");
  fs.mkdirSync(path.join(nm, "@ws"), { recursive: true });
  fs.symlinkSync("../../../.pnpm/pad@1.0.0/node_modules/pad", path.join(nm, "pad"));
  fs.symlinkSync("../../../../.pnpm/@ws+lib@1.0.0/node_modules/@ws/lib", path.join(nm, "@ws/lib"));
  const app = path.join(root, "app");
  write(path.join(app, "package.json"), JSON.stringify({ name: "app", version: "1.0.0", type: "module" }));
  write(path.join(app, "tools.mjs"), TOOLS);
  write(path.join(app, "data/input.txt"), "hello\n");
  write(path.join(root, "secret.txt"), "store secret\n");
  fs.symlinkSync(nm, path.join(app, "node_modules"));
  return { root, project: app };
}

const LAYOUTS = [
  { name: "an npm workspace (hoisted and linked packages)", build: npmWorkspace, secret: "ws/secret.txt" },
  { name: "a pnpm-style store outside the project", build: pnpmStore, secret: "secret.txt" },
];

for (const layout of LAYOUTS) {
  describe(`module resolution in ${layout.name}`, () => {
    let built: { root: string; project: string };
    before(() => {
      built = layout.build();
    });
    after(() => {
      fs.rmSync(built.root, { recursive: true, force: true });
    });

    for (const runtimeType of RUNTIMES) {
      describe(`on ${runtimeType} with --allow-read=./data`, () => {
        let rt: Runtime;
        before(async () => {
          rt = await makeRuntime({ runtimeType, permissions: ["--allow-read=./data"] }, built.project);
        });
        after(async () => {
          await rt?.close();
        });

        it("resolves hoisted, linked and stored packages and reads ./data", async () => {
          assert.deepEqual(await rt.executeTool("run", "l-1"), { text: "[[HELLO]]" });
        });

        it("lists what resolution needs in runtime.sandbox.runtimeAccess", () => {
          const read = rt.sandbox.runtimeAccess.read;
          assert.ok(read.some((p) => p.endsWith("node_modules") && !p.startsWith(built.project)), read.join("\n"));
        });

        it("still keeps the files beside those folders out of reach", async () => {
          const e = await rejection(rt.executeTool("readOutside", "l-2", { file: path.join(built.root, layout.secret) }));
          assert.equal(e.code, "ERR_TOOL_FAILED", String(e));
          assert.match(String(e.cause?.code ?? e.cause?.message), /EACCES|ERR_ACCESS_DENIED|denied|Requires read access/i);
        });
      });
    }
  });
}

describe("a module kept out of reach by the sandbox", () => {
  for (const runtimeType of RUNTIMES) {
    it(`on ${runtimeType}: the load error says the sandbox may be why; granting its folder loads it`, async () => {
      const outside = fs.realpathSync(tempDir("tr-outside-"));
      const project = fs.realpathSync(tempDir("tr-project-"));
      fs.writeFileSync(path.join(outside, "mod.mjs"), "export const where = 'outside';\n");
      fs.writeFileSync(path.join(project, "tools.mjs"), `import { where } from ${JSON.stringify(path.join(outside, "mod.mjs"))};\nexport const run = () => ({ where });\n`);
      try {
        const denied = await makeRuntime({ runtimeType, permissions: ["--allow-read=./data"] }, project);
        const e = await rejection(denied.executeTool("run", "o-1"));
        await denied.close();
        assert.ok(e instanceof ProcessError, String(e));
        assert.equal(e.code, "ERR_ENTRYPOINT_FAILED");
        assert.match(e.message, /the sandbox is on: modules resolve from the project/);
        const allowed = await makeRuntime({ runtimeType, permissions: [`--allow-read=${outside}`] }, project);
        assert.deepEqual(await allowed.executeTool("run", "o-2"), { where: "outside" });
        await allowed.close();
      } finally {
        fs.rmSync(outside, { recursive: true, force: true });
        fs.rmSync(project, { recursive: true, force: true });
      }
    });
  }
});
