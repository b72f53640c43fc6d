"use strict";
// Loads the native addon through the generated loader (`binding.js`), and turns its failures
// into errors that say what is wrong on this machine. napi-rs's own message for every failure
// ("npm has a bug related to optional dependencies") sends users the wrong way when the real
// cause is an unsupported OS, a skipped optional dependency or a too-old glibc.

const SUPPORTED = Object.freeze(["linux-x64-gnu", "linux-arm64-gnu", "linux-x64-musl", "linux-arm64-musl"]);
const WHY_LINUX = "its sandbox is built from Linux kernel features (Landlock, seccomp, namespaces)";

function libc() {
  if (process.platform !== "linux") return null;
  // As napi-rs's loader decides: ldd names musl on musl systems; a process report (slower)
  // carries glibc's version where glibc runs.
  try {
    return require("node:fs").readFileSync("/usr/bin/ldd", "utf8").includes("musl") ? "musl" : "gnu";
  } catch {
    const header = process.report && process.report.getReport().header;
    return header && header.glibcVersionRuntime ? "gnu" : "musl";
  }
}

function nativeError(code, message, fields) {
  const err = new Error(message, fields.cause === undefined ? undefined : { cause: fields.cause });
  err.code = code;
  for (const [k, v] of Object.entries(fields)) if (k !== "cause") err[k] = v;
  return err;
}

// The loader reports each attempt (the file beside it, the platform package, ...) as a chain of
// plain Errors linked by `cause`, keeping only their messages.
function attempts(err) {
  const out = [];
  for (let e = err && err.cause; e && out.length < 32; e = e.cause) out.push(String(e.message));
  return out;
}

function explain(loadError, platform, packageName, version) {
  const messages = attempts(loadError);
  const glibc = messages.map((m) => /GLIBC_([0-9.]+)' not found/.exec(m)).find(Boolean);
  if (glibc) {
    const have = process.report.getReport().header.glibcVersionRuntime;
    return nativeError(
      "ERR_UNSUPPORTED_PLATFORM",
      `tool-runtime's native addon for ${platform} needs glibc ${glibc[1]} or newer; this system has glibc ${have}`,
      { platform, supported: SUPPORTED, glibc: have, needsGlibc: glibc[1], cause: loadError },
    );
  }
  const real = messages.find((m) => !m.startsWith("Cannot find module"));
  if (real === undefined) {
    return nativeError(
      "ERR_NATIVE_BINDING_MISSING",
      `tool-runtime's native addon for ${platform} is not installed: the package ${packageName}@${version} ` +
        "is an optional dependency, which npm leaves out with --omit=optional (or --no-optional), or when " +
        `the lockfile was written on another platform. Install it: npm install ${packageName}@${version}`,
      { platform, packageName, version, supported: SUPPORTED, cause: loadError },
    );
  }
  return nativeError(
    "ERR_NATIVE_BINDING_MISSING",
    `tool-runtime's native addon for ${platform} (${packageName}) failed to load: ${real ?? loadError.message}`,
    { platform, packageName, version, supported: SUPPORTED, cause: loadError },
  );
}

function loadBinding() {
  const { name, version } = require("../package.json");
  const family = libc();
  const platform = `${process.platform}-${process.arch}${family ? `-${family}` : ""}`;
  if (!SUPPORTED.includes(platform)) {
    throw nativeError(
      "ERR_UNSUPPORTED_PLATFORM",
      `tool-runtime does not run on ${platform}: it supports ${SUPPORTED.join(", ")}, because ${WHY_LINUX}`,
      { platform, supported: SUPPORTED },
    );
  }
  try {
    return require("../binding.js");
  } catch (e) {
    throw explain(e, platform, `${name}-${platform}`, version);
  }
}

module.exports = { loadBinding, SUPPORTED };
