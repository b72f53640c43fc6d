// `npm run pack:all`: every release tarball into dist/ — one platform package per target (its
// addon plus the shipped executables) and the main package, which lists exactly the platform
// packages packed alongside it as optional dependencies, all at the root package's version.
//
//   node scripts/release/pack.mjs              every target in napi.targets, release builds
//   node scripts/release/pack.mjs --host       the host's target only (what `npm test` installs)
//   node scripts/release/pack.mjs --debug      debug builds (fast; for tests, never for release)
//   node scripts/release/pack.mjs --only=T,T   these targets (the host's is always included)
import { execFileSync } from "node:child_process";
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { buildTarget } from "./build.mjs";
import { runArm64Gnu } from "./emulate.mjs";
import { HOST_TRIPLE, ROOT, rootPackage, targets } from "./platforms.mjs";

// What a user of the main package needs besides `files`: npm adds README and LICENSE itself.
const MAIN_EXTRA = ["CHANGELOG.md", "SECURITY.md"];

function npmPack(dir, dest) {
  const out = execFileSync("npm", ["pack", "--json", "--pack-destination", dest], { cwd: dir, encoding: "utf8" });
  const [{ filename, files }] = JSON.parse(out);
  return { tarball: path.join(dest, filename), files: files.map((f) => f.path) };
}

function stagePlatform(target, builtDir, files, version, stage) {
  const dir = path.join(stage, target.platform);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const pkg = JSON.parse(readFileSync(path.join(target.dir, "package.json"), "utf8"));
  pkg.version = version;
  pkg.files = files;
  pkg.main = target.addon;
  writeFileSync(path.join(dir, "package.json"), `${JSON.stringify(pkg, null, 2)}\n`);
  copyFileSync(path.join(target.dir, "README.md"), path.join(dir, "README.md"));
  copyFileSync(path.join(ROOT, "LICENSE"), path.join(dir, "LICENSE"));
  for (const f of files) cpSync(path.join(builtDir, f), path.join(dir, f));
  return dir;
}

function stageMain(root, loaderDir, platformPackages, stage) {
  const dir = path.join(stage, "main");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const { scripts, devDependencies, napi, overrides, ...pkg } = root;
  pkg.napi = { binaryName: napi.binaryName, targets: napi.targets };
  pkg.optionalDependencies = Object.fromEntries(platformPackages.map((name) => [name, root.version]));
  pkg.files = [...root.files, ...MAIN_EXTRA];
  writeFileSync(path.join(dir, "package.json"), `${JSON.stringify(pkg, null, 2)}\n`);
  for (const entry of [...root.files, ...MAIN_EXTRA, "README.md", "LICENSE"]) {
    // The loader and its types come from the release build, not from whatever is in the tree.
    const from = ["binding.js", "binding.d.ts"].includes(entry) ? path.join(loaderDir, entry) : path.join(ROOT, entry);
    if (!existsSync(from)) throw new Error(`package.json "files" lists ${entry}, which does not exist`);
    cpSync(from, path.join(dir, entry), { recursive: true });
  }
  return dir;
}

export function packAll({ hostOnly = false, only = null, profile = "release", dist = path.join(ROOT, "dist"), log = console.log } = {}) {
  const root = rootPackage();
  const wanted = (t) => t.triple === HOST_TRIPLE || (!hostOnly && (only === null || only.includes(t.triple)));
  const chosen = targets().filter(wanted);
  if (!chosen.some((t) => t.triple === HOST_TRIPLE)) throw new Error(`napi.targets does not list the host, ${HOST_TRIPLE}`);
  const stage = path.join(ROOT, "target", "pack");
  rmSync(dist, { recursive: true, force: true });
  mkdirSync(dist, { recursive: true });
  const packed = [];
  let loaderDir;
  for (const target of chosen) {
    const builtDir = path.join(stage, "build", profile, target.triple);
    log(`building ${target.triple} (${profile})`);
    const files = buildTarget(target, builtDir, { profile });
    if (target.triple === HOST_TRIPLE) loaderDir = builtDir;
    if (target.triple === "aarch64-unknown-linux-gnu" && HOST_TRIPLE === "x86_64-unknown-linux-gnu") {
      log(`  ran under qemu-aarch64: ${JSON.stringify(runArm64Gnu(path.join(builtDir, target.addon)))}`);
    }
    const dir = stagePlatform(target, builtDir, files, root.version, stage);
    packed.push({ name: target.packageName, target: target.triple, ...npmPack(dir, dist) });
  }
  const main = stageMain(root, loaderDir, packed.map((p) => p.name), stage);
  packed.unshift({ name: root.name, target: null, ...npmPack(main, dist) });
  for (const p of packed) log(`${path.relative(ROOT, p.tarball)}  ${p.files.join(" ")}`);
  return packed;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const only = args.find((a) => a.startsWith("--only="));
  packAll({
    hostOnly: args.includes("--host"),
    only: only ? only.slice("--only=".length).split(",") : null,
    profile: args.includes("--debug") ? "debug" : "release",
  });
}
