//! Deno's own permission model as a second layer, compiled from the same policy as the kernel
//! rules (never the only layer: Deno follows a symlink out of an allowed folder, the kernel
//! does not). Deno is where the policy's flag syntax comes from, so most flags pass through
//! with the paths the kernel rules use; what differs is said where it happens.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::RuntimeSandbox;
use crate::config::{RuntimeType, SandboxMode};
use crate::policy::{Grant, NetTarget};

/// Flags of every deno call, sandboxed or not: a call never fetches anything (no remote
/// modules, no npm or JSR downloads), a user's `deno.json`/`deno.lock` does not change how the
/// harness runs (the tool runs as on node: from the project's `node_modules`), and nothing
/// ever waits on a permission prompt.
pub const DENO_BASE_ARGS: [&str; 7] =
    ["run", "--no-config", "--no-lock", "--node-modules-dir=manual", "--no-remote", "--cached-only", "--no-prompt"];

/// One of deno's permission flags: bare (`--allow-env`) or with its list of values.
enum DenoFlag {
    Bare(&'static str),
    List(&'static str, Vec<String>),
}

impl DenoFlag {
    fn into_arg(self) -> OsString {
        match self {
            DenoFlag::Bare(flag) => flag.into(),
            DenoFlag::List(flag, items) => format!("{flag}={}", items.join(",")).into(),
        }
    }
}

fn joined(flag: &'static str, items: impl IntoIterator<Item = String>) -> Option<DenoFlag> {
    let mut items: Vec<String> = items.into_iter().collect();
    items.sort();
    items.dedup();
    (!items.is_empty()).then_some(DenoFlag::List(flag, items))
}

fn paths(v: &[PathBuf]) -> impl Iterator<Item = String> + '_ {
    v.iter().map(|p| p.display().to_string())
}

fn host(t: &NetTarget) -> String {
    let h = if t.host.contains(':') { format!("[{}]", t.host) } else { t.host.clone() };
    match t.port {
        Some(p) => format!("{h}:{p}"),
        None => h,
    }
}

impl RuntimeSandbox {
    /// Deno splits its permission flags' values on commas and has no escape for one (deno 2.9
    /// reads `,,` as an empty path), so a path holding a comma (a project folder named so, or a
    /// policy path under it) would reach deno as its pieces: the grant would not work, and the
    /// pieces would be granted instead. Refused when the runtime is made, naming the path.
    /// `calls_base`: the folder of the calls' temp dirs, which the flags always list.
    pub(super) fn refuse_commas_for_deno(&self, calls_base: &Path) -> crate::error::Result<()> {
        // What a call's flags list, one temp dir standing for every call's.
        let mut listed = self.deno_flags(&calls_base.join("call")).into_iter().flat_map(|f| match f {
            DenoFlag::List(_, items) => items,
            DenoFlag::Bare(_) => Vec::new(),
        });
        match listed.find(|s| s.contains(',')) {
            Some(path) => Err(crate::error::Error::invalid_config(format!(
                "{path} holds a comma, which deno's permission flags cannot express (deno splits their values \
                 on commas, with no escape): run this project on bun or node, or from a path without a comma"
            ))),
            None => Ok(()),
        }
    }

    pub fn deno_permission_args(&self, tmp: &Path) -> Vec<OsString> {
        self.deno_flags(tmp).into_iter().map(DenoFlag::into_arg).collect()
    }

    fn deno_flags(&self, tmp: &Path) -> Vec<DenoFlag> {
        if self.runtime_type != RuntimeType::Deno {
            return Vec::new();
        }
        if self.mode == SandboxMode::Off {
            // As node without its permission flags: no sandbox means no confinement at all.
            return vec![DenoFlag::Bare("--allow-all")];
        }
        let p = &self.policy;
        if p.read.is_all() && p.write.is_all() && p.net_allowed() && p.env.is_all() && p.run.is_all() && p.no_denies() {
            // `--allow-all`: deno's as well, which alone opens /proc, /dev and /sys to a tool
            // (no --allow-read reaches them); the kernel sandbox still applies.
            return vec![DenoFlag::Bare("--allow-all")];
        }
        let mut args: Vec<DenoFlag> = Vec::new();
        let tmp = tmp.to_path_buf();
        if self.node_read.is_empty() {
            args.push(DenoFlag::Bare("--allow-read"));
        } else {
            args.extend(joined("--allow-read", paths(&self.node_read).chain(paths(std::slice::from_ref(&tmp)))));
        }
        match &p.write {
            Grant::All => args.push(DenoFlag::Bare("--allow-write")),
            Grant::Some(v) => args.extend(joined("--allow-write", paths(v).chain(paths(std::slice::from_ref(&tmp))))),
            Grant::None => args.extend(joined("--allow-write", paths(std::slice::from_ref(&tmp)))),
        }
        // Unlike node's model, deno's carves denies out of its grants.
        if let Grant::Some(v) = &p.deny_read {
            args.extend(joined("--deny-read", paths(v)));
        }
        if let Grant::Some(v) = &p.deny_write {
            args.extend(joined("--deny-write", paths(v)));
        }
        // The network: all of it, none, or the policy's hosts plus the egress proxy the
        // harness and HTTP_PROXY route them through (deno checks the destination host, not the
        // proxy it goes through, so the hosts themselves must be granted).
        if p.net_allowed() {
            args.push(DenoFlag::Bare("--allow-net"));
        } else if self.proxy {
            let proxy = format!("127.0.0.1:{}", crate::egress::PROXY_PORT);
            match &p.net {
                Grant::Some(v) => args.extend(joined("--allow-net", v.iter().map(host).chain([proxy]))),
                _ => args.push(DenoFlag::Bare("--allow-net")),
            }
            if let Grant::Some(v) = &p.deny_net {
                args.extend(joined("--deny-net", v.iter().map(host)));
            }
        }
        if p.net_allowed() || self.proxy {
            // node:dns's Resolver asks deno for the interfaces before it sends a query.
            args.push(DenoFlag::Bare("--allow-sys=networkInterfaces"));
        }
        // The process's environment is already exactly what the policy lets through (built by
        // the host), and a warm worker rewrites `process.env` before each call.
        args.push(DenoFlag::Bare("--allow-env"));
        if p.run_allowed() {
            match &p.run {
                Grant::Some(progs) => {
                    // Deno compares the path a tool spawns, not the file: a name is granted as
                    // itself and at every PATH folder that has it (`/bin/sh` and `/usr/bin/sh`
                    // are one file to the kernel rules), a path as given and resolved.
                    let mut names: Vec<String> = Vec::new();
                    for prog in progs {
                        names.push(prog.clone());
                        let real = super::rules::resolve_program(prog);
                        if !prog.contains('/') {
                            // Only the spellings of the file the kernel rules grant: another
                            // folder's program of the same name is another program.
                            for dir in crate::locate::BASE_PATH.split(':') {
                                let at = Path::new(dir).join(prog);
                                if real.is_some() && std::fs::canonicalize(&at).ok() == real {
                                    names.push(at.display().to_string());
                                }
                            }
                        }
                        if let Some(real) = real {
                            names.push(real.display().to_string());
                        }
                    }
                    args.extend(joined("--allow-run", names));
                }
                _ => args.push(DenoFlag::Bare("--allow-run")),
            }
            if let Grant::Some(v) = &p.deny_run {
                args.extend(joined("--deny-run", v.iter().cloned()));
            }
        }
        // No --allow-ffi (native addons, dlopen) and no other --allow-sys (host facts): deno's
        // defaults deny them and nothing in the policy grants them.
        args
    }
}
