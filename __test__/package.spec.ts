// The package as users get it: the tarballs `pack:all` makes (here the host's platform package
// and the main package), installed into a fresh project outside the repository with no Rust
// toolchain involved, then used from ESM, CommonJS and strict TypeScript, on bun and on node.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { tempDir } from "./helpers";

const ROOT = path.resolve(__dirname, "..");
const CONSUMER_FILES = path.join(__dirname, "consumer");
const repoPackage = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));

// npm run-script passes its configuration down as npm_* variables; the consumer's npm must not
// inherit the repository's.
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.toLowerCase().startsWith("npm_")) env[k] = v;
  return { ...env, ...extra };
}

function run(cmd: string, args: string[], cwd: string, env = cleanEnv()): string {
  const r = spawnSync(cmd, args, { cwd, env, encoding: "utf8", maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, `${cmd} ${args.join(" ")} failed (${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

function lastJson(text: string): any {
  const line = text.trim().split("\n").pop();
  return JSON.parse(line ?? "null");
}

interface Packed {
  name: string;
  target: string | null;
  tarball: string;
  files: string[];
}

describe("the packed package, installed into a fresh project", () => {
  let work: string;
  let consumer: string;
  let packed: Packed[];
  let main: Packed;
  let platform: Packed;

  before(async () => {
    work = tempDir("tr-package-");
    const { packAll } = await import(path.join(ROOT, "scripts/release/pack.mjs"));
    packed = packAll({ hostOnly: true, dist: path.join(work, "dist"), log: () => {} });
    main = packed.find((p) => p.target === null)!;
    platform = packed.find((p) => p.target !== null)!;
    consumer = path.join(work, "consumer");
    fs.cpSync(CONSUMER_FILES, consumer, { recursive: true });
    const pkg = {
      name: "consumer",
      private: true,
      dependencies: {
        "tool-runtime": `file:${main.tarball}`,
        bun: repoPackage.devDependencies.bun,
        "@types/node": repoPackage.devDependencies["@types/node"],
      },
      // The platform package comes from its tarball, as the registry would serve it.
      overrides: { [platform.name]: `file:${platform.tarball}` },
    };
    fs.writeFileSync(path.join(consumer, "package.json"), JSON.stringify(pkg, null, 2));
    // bun and @types/node come from the npm cache the repository's own install filled, or the
    // registry; tool-runtime and its platform package only from the tarballs.
    run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund"], consumer);
  });

  after(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it("packs lockstep versions, the platform package as an optional dependency, and no sources or tests", () => {
    for (const p of packed) assert.ok(path.basename(p.tarball).endsWith(`-${repoPackage.version}.tgz`), p.tarball);
    const installed = JSON.parse(fs.readFileSync(path.join(consumer, "node_modules/tool-runtime/package.json"), "utf8"));
    assert.deepEqual(installed.optionalDependencies, { [platform.name]: repoPackage.version });
    assert.equal(installed.devDependencies, undefined);
    assert.equal(installed.scripts, undefined);
    // Every peer is optional (bun and deno for node-only users; ai, bullmq, ioredis for the subpaths that need them).
    assert.deepEqual(Object.keys(installed.peerDependenciesMeta).sort(), Object.keys(installed.peerDependencies).sort());
    assert.ok(Object.values(installed.peerDependenciesMeta).every((m: any) => m.optional === true));
    assert.ok("bun" in installed.peerDependencies);
    assert.ok("deno" in installed.peerDependencies);
    for (const f of ["index.js", "index.mjs", "index.d.ts", "binding.js", "lib/native.js", "lib/typed.d.ts", "README.md", "LICENSE"]) {
      assert.ok(main.files.includes(f), `main package lacks ${f}: ${main.files.join(" ")}`);
    }
    const unwanted = main.files.filter((f) => /\.(rs|node|spec\.ts)$|^(src|crates|__test__|scripts|npm)\//.test(f));
    assert.deepEqual(unwanted, []);
    assert.deepEqual(platform.files.filter((f) => f.endsWith(".node")), [`tool-runtime.${platform.name.replace("tool-runtime-", "")}.node`]);
    assert.ok(fs.existsSync(path.join(consumer, "node_modules", platform.name, platform.files.find((f) => f.endsWith(".node"))!)));
  });

  it("runs a sandboxed tool on bun and on node from an ES module, errors shared with CommonJS", () => {
    const out = lastJson(run("node", ["esm.mjs"], consumer));
    assert.equal(out.errorsShared, true);
    for (const rt of ["bun", "node"]) {
      assert.deepEqual(out[rt].greet, { greeting: "hello esm", runtime: rt });
      assert.deepEqual(out[rt].failed, { code: "ERR_TOOL_FAILED", esm: true, cjs: true, message: "on purpose" });
      assert.equal(out[rt].mode, "strict");
      assert.equal(out[rt].enforced, true);
    }
  });

  it("runs a sandboxed tool on bun and on node from CommonJS, errors shared with the ES module", () => {
    const out = lastJson(run("node", ["cjs.cjs"], consumer));
    assert.equal(out.errorsShared, true);
    for (const rt of ["bun", "node"]) {
      assert.deepEqual(out[rt].greet, { greeting: "hello cjs", runtime: rt });
      assert.deepEqual(out[rt].failed, { code: "ERR_TOOL_FAILED", esm: true, cjs: true, message: "on purpose" });
      assert.equal(out[rt].enforced, true);
    }
  });

  // typed.ts holds calls that must not type-check (`@ts-expect-error`): tsc fails if they do.
  it("type-checks a strict nodenext consumer whose calls are checked against its tools", () => {
    run(process.execPath, [path.join(ROOT, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.json"], consumer);
  });

  it("has types that resolve under node16, nodenext and bundler (are-the-types-wrong)", () => {
    const attw = path.join(ROOT, "node_modules/@arethetypeswrong/cli/dist/index.js");
    const r = spawnSync(process.execPath, [attw, main.tarball, "--format", "json", "--profile", "node16"], { encoding: "utf8", env: cleanEnv() });
    const report = JSON.parse(r.stdout);
    // node10 resolution (moduleResolution "node") predates "exports": the ./mcp, ./ai and ./queue
    // subpaths cannot resolve there. The node16 profile leaves it out; so does this check.
    const problems = Object.values(report.problems as Record<string, { resolutionKind?: string }[]>)
      .flat()
      .filter((p) => p.resolutionKind !== "node10");
    assert.deepEqual(problems, [], JSON.stringify(report.problems, null, 2));
    assert.equal(r.status, 0, r.stderr);
    const resolutions = Object.keys(report.analysis.entrypoints["."].resolutions);
    for (const kind of ["node16-cjs", "node16-esm", "bundler"]) assert.ok(resolutions.includes(kind), resolutions.join(" "));
  });

  it("says which platforms are supported, and why, on an unsupported one", () => {
    for (const pretend of ["darwin-arm64", "win32-x64", "linux-ia32"]) {
      const out = lastJson(run("node", ["-r", "./pretend-platform.cjs", "probe.cjs"], consumer, cleanEnv({ PRETEND_PLATFORM: pretend })));
      assert.equal(out.loaded, false, pretend);
      assert.equal(out.code, "ERR_UNSUPPORTED_PLATFORM");
      assert.match(out.message, /Linux kernel features/);
      assert.deepEqual(out.supported, ["linux-x64-gnu", "linux-arm64-gnu", "linux-x64-musl", "linux-arm64-musl"]);
    }
    const here = lastJson(run("node", ["-r", "./pretend-platform.cjs", "probe.cjs"], consumer, cleanEnv({ PRETEND_PLATFORM: `linux-${process.arch}` })));
    assert.equal(here.loaded, true);
  });

  it("names the missing platform package and how to install it, instead of napi-rs's npm-bug hint", () => {
    const dir = path.join(consumer, "node_modules", platform.name);
    fs.renameSync(dir, `${dir}.away`);
    try {
      const out = lastJson(run("node", ["probe.cjs"], consumer));
      assert.equal(out.loaded, false);
      assert.equal(out.code, "ERR_NATIVE_BINDING_MISSING");
      assert.ok(out.message.includes(`npm install ${platform.name}@${repoPackage.version}`), out.message);
      assert.doesNotMatch(out.message, /npm has a bug/);
    } finally {
      fs.renameSync(`${dir}.away`, dir);
    }
    assert.equal(lastJson(run("node", ["probe.cjs"], consumer)).loaded, true);
  });

  // Last: it puts bun's npm placeholder in place of bun in this consumer.
  it("reports bun unavailable, and why, when bun's postinstall did not run; node still works", () => {
    const noBunOnPath = cleanEnv({ PATH: `${path.dirname(process.execPath)}:/usr/bin:/bin` });
    const before = lastJson(run("node", ["probe.cjs", "create-bun"], consumer, noBunOnPath));
    assert.deepEqual(before, { loaded: true, bun: true, node: true, created: true });
    // The file bun's package ships as bin/bun.exe before its postinstall script replaces it.
    const cache = tempDir("tr-bun-pkg-");
    try {
      run("npm", ["pack", `bun@${repoPackage.devDependencies.bun}`, "--prefer-offline", "--pack-destination", cache], cache);
      execFileSync("tar", ["xzf", fs.readdirSync(cache).find((f) => f.endsWith(".tgz"))!, "package/bin/bun.exe"], { cwd: cache });
      const bunExe = path.join(consumer, "node_modules/bun/bin/bun.exe");
      fs.rmSync(bunExe); // a hard link to bunx.exe: replace it, do not write through it
      fs.copyFileSync(path.join(cache, "package/bin/bun.exe"), bunExe);
      fs.chmodSync(bunExe, 0o755);
    } finally {
      fs.rmSync(cache, { recursive: true, force: true });
    }
    const out = lastJson(run("node", ["probe.cjs", "create-bun"], consumer, noBunOnPath));
    assert.equal(out.bun, false);
    assert.equal(out.node, true);
    assert.equal(out.created, false);
    assert.equal(out.code, "ERR_RUNTIME_UNAVAILABLE");
    assert.equal(out.path, path.join(fs.realpathSync(consumer), "node_modules/bun/bin/bun.exe"));
    assert.match(out.message, /postinstall script did not run/);
    assert.match(out.message, /npm rebuild bun/);
    const nodeOnly = lastJson(run("node", ["probe.cjs", "run-node"], consumer, noBunOnPath));
    assert.deepEqual(nodeOnly.greet, { greeting: "hello node", runtime: "node" });
  });
});
