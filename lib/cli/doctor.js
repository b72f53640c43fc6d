"use strict";
// `tool-runtime doctor`: each runtime with its version and path, the kernel's sandbox mechanisms,
// which policies the strict sandbox would refuse here and why, and a real call under the config
// the flags describe (the defaults without flags) in a throwaway project. Exit 1 when that call
// cannot run here.

const { spawnSync } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { RuntimeFactory, newId, sandboxCapabilities } = require("../../index.js");
const { parse, UsageError } = require("./args.js");
const { configFrom } = require("./project.js");

const DOCTOR_HELP = `Usage: tool-runtime doctor [--json] [options]

Reports each runtime found (version, path), the kernel's sandbox mechanisms (Landlock ABI, user
namespaces, seccomp, private mounts, how limits are enforced), which permission policies the
strict sandbox would refuse on this machine and why, and runs a trivial tool under the config the
flags describe (the defaults without flags: bun, strict, --allow-read) in a throwaway project
(--root and --entrypoint are accepted and not used).
  --json                 print the report as JSON
Exit codes: 0 that config runs here, 1 it does not, 2 a usage error.`;

/** Policies worth knowing about: the one asked for, and one per kind of confinement. */
function probePolicies(permissions) {
  const asked = permissions ?? ["--allow-read"];
  const probes = [asked, ["--allow-read", "--allow-write=."], ["--allow-read", "--allow-net=example.com"], ["--allow-read", "--deny-read=./.env"]];
  const seen = new Set();
  return probes.filter((p) => !seen.has(p.join(" ")) && seen.add(p.join(" ")));
}

function version(binary) {
  const out = spawnSync(binary, ["--version"], { encoding: "utf8", timeout: 10_000, env: { PATH: process.env.PATH ?? "/usr/bin:/bin" } });
  // deno prints "deno 2.9.6 (stable, ...)" and then its V8 and TypeScript versions.
  return out.status === 0 ? out.stdout.trim().split("\n")[0].replace(/^deno (\S+).*/, "$1") : null;
}

function brief(e) {
  return { code: e && e.code, message: e && e.message, ...(e && e.missing ? { missing: e.missing } : {}) };
}

async function checkRuntime(root, type, config) {
  const factory = new RuntimeFactory(root);
  const entry = { runtime: type, found: false, path: null, version: null, run: null };
  let runtime;
  try {
    runtime = await factory.createRuntime({ ...config, runtimeType: type, sandbox: "off" });
  } catch (e) {
    entry.error = brief(e);
    return entry;
  }
  entry.found = true;
  entry.path = runtime.runtimePath;
  entry.version = version(runtime.runtimePath);
  await runtime.close();
  return entry;
}

async function strictVerdicts(root, type, config, permissions) {
  const factory = new RuntimeFactory(root);
  const verdicts = [];
  for (const policy of probePolicies(permissions)) {
    const verdict = { permissions: policy, strict: "ok" };
    try {
      const runtime = await factory.createRuntime({ ...config, runtimeType: type, permissions: policy, sandbox: "best-effort" });
      if (runtime.sandbox.missing.length) {
        verdict.strict = "refused";
        verdict.missing = runtime.sandbox.missing;
      }
      await runtime.close();
    } catch (e) {
      verdict.strict = "error";
      verdict.error = brief(e);
    }
    verdicts.push(verdict);
  }
  return verdicts;
}

async function tryCall(root, config) {
  const started = performance.now();
  let runtime;
  try {
    runtime = await new RuntimeFactory(root).createRuntime(config);
    const out = await runtime.executeTool("ping", newId(), {});
    if (out.pong !== true) throw new Error(`unexpected answer ${JSON.stringify(out)}`);
    return { ok: true, ms: Math.round(performance.now() - started) };
  } catch (e) {
    return { ok: false, error: brief(e) };
  } finally {
    if (runtime) await runtime.close();
  }
}

function print(report) {
  const w = (s) => process.stdout.write(`${s}\n`);
  w("runtimes");
  for (const r of report.runtimes) {
    w(r.found ? `  ${r.runtime.padEnd(5)} ${String(r.version ?? "?").padEnd(10)} ${r.path}` : `  ${r.runtime.padEnd(5)} not found (${r.error?.code}: ${r.error?.message})`);
  }
  const k = report.kernel;
  w("kernel");
  w(`  landlock         ${k.landlockAbi === null ? "unavailable" : `ABI ${k.landlockAbi}`}`);
  w(`  user namespaces  ${k.userNamespaces ? "yes" : "no"}`);
  w(`  seccomp          ${k.seccomp ? "yes" : "no"}`);
  w(`  private mounts   ${k.privateMounts ? "yes" : "no"}`);
  if (k.limits) w(`  limits           memory ${k.limits.memory}, cpu ${k.limits.cpu}, processes ${k.limits.processes}, file size ${k.limits.fileSize}`);
  if (k.pretendedMissing?.length) w(`  pretended missing (TOOL_RUNTIME_PRETEND_MISSING): ${k.pretendedMissing.join(", ")}`);
  w(`strict sandbox (${report.checked.runtime})`);
  for (const v of report.strict) {
    const why = v.strict === "refused" ? `refused: cannot enforce ${v.missing.join("; ")}` : v.strict === "error" ? `error: ${v.error.code}: ${v.error.message}` : "ok";
    w(`  ${v.permissions.join(" ").padEnd(40)} ${why}`);
  }
  const c = report.checked;
  const policy = `${c.runtime}, ${c.sandbox}, ${c.permissions.join(" ")}`;
  w(c.ok ? `config (${policy}): a tool ran in the sandbox in ${c.ms} ms` : `config (${policy}): cannot run here: ${c.error.code}: ${c.error.message}`);
}

async function doctor(argv, help) {
  const parsed = parse(argv, { json: { type: "boolean" } });
  if (parsed.values.help) return help();
  if (parsed.positionals.length) throw new UsageError(`doctor takes no arguments, got ${parsed.positionals.join(" ")}`);
  const config = configFrom(parsed);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "tool-runtime-doctor-"));
  try {
    fs.writeFileSync(path.join(root, "tools.mjs"), "export function ping() { return { pong: true }; }\n");
    const base = { ...config, entrypointPath: "tools.mjs" };
    const runtimes = [];
    for (const type of ["bun", "node", "deno"]) runtimes.push(await checkRuntime(root, type, base));
    const permissions = parsed.permissions.length ? parsed.permissions : (config.permissions ?? config.bunPermissions);
    const checked = { runtime: config.runtimeType, sandbox: config.sandbox, permissions, ...(await tryCall(root, base)) };
    const found = runtimes.find((r) => r.runtime === config.runtimeType && r.found) ?? runtimes.find((r) => r.found);
    const strict = found ? await strictVerdicts(root, found.runtime, base, parsed.permissions.length ? parsed.permissions : permissions) : [];
    const report = { runtimes, kernel: sandboxCapabilities(), strict, checked };
    if (parsed.values.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    else print(report);
    return checked.ok ? 0 : 1;
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

module.exports = { doctor, DOCTOR_HELP };
