//! What a tool's process starts with: its environment and its command line. Nothing of the
//! host's environment reaches it but what the policy names.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::Path;

use super::Inner;
use crate::config::RuntimeType;
use crate::limits::Limits;
use crate::locate::BASE_PATH;
use crate::validate;

/// The child's environment: the base, host variables passed by `--allow-env`, the call's own,
/// then the runtime's settings and the proxy's, which must win over all of them.
pub(super) fn build_env(inner: &Inner, tmp: &Path, call_env: &BTreeMap<String, String>) -> Vec<(String, String)> {
    let mut env: BTreeMap<String, String> = BTreeMap::new();
    env.insert("PATH".into(), BASE_PATH.into());
    env.insert("HOME".into(), tmp.display().to_string());
    env.insert("TMPDIR".into(), tmp.display().to_string());
    env.insert("LANG".into(), "C.UTF-8".into());
    if !inner.policy.env.is_none() {
        env.extend(host_vars(|k| inner.policy.env_allowed(k)));
    }
    for (k, v) in call_env {
        env.insert(k.clone(), v.clone());
    }
    // The runtime's own settings come after the host's and the call's variables, so neither
    // can change them (their prefixes are refused as well: `validate`).
    if inner.config.runtime_type == RuntimeType::Bun {
        // Bun would otherwise make a transpiler cache in every call's fresh HOME on start
        // (0.5 ms), one that no later call can use.
        env.insert("BUN_RUNTIME_TRANSPILER_CACHE_PATH".into(), "0".into());
    }
    if inner.config.runtime_type == RuntimeType::Deno {
        // A folder that cannot exist: deno then keeps its caches (module analysis, V8 code)
        // in memory. Never the user's ~/.cache/deno or the project, never shared between calls,
        // and a call's source (executeCode) lands in no file; a per-call cache folder would
        // only ever be written (it measured slower), never read again.
        env.insert("DENO_DIR".into(), "/dev/null/deno".into());
        env.insert("DENO_NO_UPDATE_CHECK".into(), "1".into());
    }
    env.extend(inner.sandbox.runtime_env());
    if inner.egress.is_some() {
        // The proxy is the only way out; these win over anything the call asked for.
        let url = format!("http://127.0.0.1:{}", crate::egress::PROXY_PORT);
        for k in ["TOOL_RUNTIME_PROXY", "HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"] {
            env.insert(k.into(), url.clone());
        }
        env.remove("NO_PROXY");
        env.remove("no_proxy");
    }
    env.into_iter().collect()
}

/// Host variables that `allowed` lets through. A variable whose name or value is not valid
/// UTF-8 is skipped (a tool's environment is text); loader and runtime injection variables
/// never pass, even under `--allow-env`, nor this package's own settings (`TOOL_RUNTIME_*`:
/// the queue key, the MCP server's token); `validate_env_name` refuses both.
fn host_vars(allowed: impl Fn(&str) -> bool) -> impl Iterator<Item = (String, String)> {
    std::env::vars_os().filter_map(move |(k, v)| {
        let (k, v) = (k.into_string().ok()?, v.into_string().ok()?);
        (allowed(&k) && validate::validate_env_name(&k).is_ok()).then_some((k, v))
    })
}

/// The runtime's arguments: flags, the harness, the entrypoint.
pub(super) fn runtime_args(inner: &Inner, tmp: &Path, limits: &Limits) -> Vec<OsString> {
    let mut args: Vec<OsString> = Vec::new();
    match inner.config.runtime_type {
        RuntimeType::Bun => {
            // Bun would otherwise try to install missing imports from the network.
            args.push("--no-install".into());
        }
        RuntimeType::Deno => {
            args.extend(crate::sandbox::DENO_BASE_ARGS.iter().map(OsString::from));
            if let Some(mb) = limits.memory_limit_mb {
                // As node's --max-old-space-size: a clean heap error before the kernel kills.
                args.push(format!("--v8-flags=--max-old-space-size={}", (mb * 3 / 4).max(16)).into());
            }
            args.extend(inner.sandbox.deno_permission_args(tmp));
        }
        RuntimeType::Node => {
            if let Some(mb) = limits.memory_limit_mb {
                // V8 then fails with a clean heap error before the kernel has to kill anything.
                args.push(format!("--max-old-space-size={}", (mb * 3 / 4).max(16)).into());
            }
            for o in &inner.config.node_options {
                args.push(o.into());
            }
            args.extend(inner.sandbox.node_permission_args(tmp));
            args.extend(inner.typescript.node_args());
        }
    }
    args.push(inner.dirs.worker_path().into_os_string());
    args.push(inner.entrypoint.clone().into_os_string());
    // Flags for the harness itself (after the entrypoint, so the runtime passes them on):
    // `--no-network` when the policy grants no network and the sandbox enforces it, so refused
    // connections are explained (an argument, not a variable: a call's environment is exactly
    // what it was given).
    if inner.sandbox.denies_all_network() {
        args.push("--no-network".into());
    }
    args.extend(inner.typescript.harness_arg());
    args
}

/// The environment a warm worker applies to `process.env` just before a call, as JSON.
pub(super) fn env_json(env: &[(String, String)]) -> String {
    let map: serde_json::Map<String, serde_json::Value> =
        env.iter().map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone()))).collect();
    serde_json::Value::Object(map).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_variables_that_are_not_text_are_skipped_not_fatal() {
        use std::os::unix::ffi::OsStringExt;
        // `std::env::vars()` panics on such a variable; a tool's policy with --allow-env must
        // not bring the call down with it.
        let name = "TR_CHILD_ENV_TEST_BAD";
        std::env::set_var(name, OsString::from_vec(vec![0x66, 0xff, 0x6f]));
        std::env::set_var("TR_CHILD_ENV_TEST_GOOD", "yes");
        let got: BTreeMap<String, String> = host_vars(|k| k.starts_with("TR_CHILD_ENV_TEST_")).collect();
        std::env::remove_var(name);
        std::env::remove_var("TR_CHILD_ENV_TEST_GOOD");
        assert_eq!(got.get("TR_CHILD_ENV_TEST_GOOD").map(String::as_str), Some("yes"));
        assert!(!got.contains_key(name));
    }
}
