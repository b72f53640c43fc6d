//! What a runtime's sandbox enforces, mechanism by mechanism, as `runtime.sandbox` shows it.

use std::path::PathBuf;

use serde::Serialize;

use super::{Capabilities, RuntimeSandbox};
use crate::config::{RuntimeType, SandboxMode};
use crate::policy::Grant;

/// How one permission is enforced.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PermissionReport {
    /// What the policy grants: `"none"`, `"all"` or the list.
    pub granted: serde_json::Value,
    /// The mechanisms that enforce it, strongest first. Empty means not enforced.
    pub enforced_by: Vec<&'static str>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SandboxReport {
    pub mode: SandboxMode,
    /// What the machine offers.
    pub machine: Capabilities,
    /// Whether any kernel confinement is applied.
    pub enforced: bool,
    pub read: PermissionReport,
    pub write: PermissionReport,
    pub net: PermissionReport,
    pub run: PermissionReport,
    pub env: PermissionReport,
    /// Signals to processes outside the sandbox.
    pub signals: Vec<&'static str>,
    /// Host abstract unix sockets.
    pub abstract_unix_sockets: Vec<&'static str>,
    /// Path unix sockets outside `--allow-write`.
    pub path_unix_sockets: Vec<&'static str>,
    /// `/proc/<pid>/environ`, `/mem`, fds and memory of processes outside the sandbox, their
    /// limits and scheduling, and host SysV IPC objects and message queues.
    pub other_processes: Vec<&'static str>,
    pub no_new_privs: bool,
    /// What the policy asks for and this machine cannot enforce (best-effort mode).
    pub missing: Vec<String>,
    /// What every runtime is granted regardless of the policy, to start and load its code.
    pub runtime_access: RuntimeAccess,
    /// `--deny-read` and `--deny-write` paths and what enforces them: node's permission model
    /// cannot carve a path out of an allowed tree, so it never counts here (deno's can).
    pub denied: DeniedReport,
    pub harness: HarnessReport,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeniedReport {
    pub read: Vec<PathBuf>,
    pub write: Vec<PathBuf>,
    pub enforced_by: Vec<&'static str>,
}

/// Where a call's harness comes from.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HarnessReport {
    pub path: PathBuf,
    /// On the call's private tmpfs, read-only (else on disk in the runtime's folder).
    pub private: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuntimeAccess {
    pub read: Vec<PathBuf>,
    pub execute: Vec<PathBuf>,
    pub write: Vec<PathBuf>,
    /// Folders whose names (not contents), and those of the folders beneath, can be listed:
    /// on bun, the folders holding a `node_modules` its resolver looks for.
    pub list: Vec<PathBuf>,
}

fn grant_json<T: Serialize>(g: &Grant<T>) -> serde_json::Value {
    match g {
        Grant::None => "none".into(),
        Grant::All => "all".into(),
        Grant::Some(v) => serde_json::to_value(v).unwrap_or_default(),
    }
}

impl RuntimeSandbox {
    /// What this runtime enforces, mechanism by mechanism.
    pub fn report(&self) -> SandboxReport {
        let on = self.mode != SandboxMode::Off;
        let landlock = on && self.abi.is_some();
        let scope = landlock && self.caps.landlock_at_least(6);
        let node = on && self.runtime_type == RuntimeType::Node;
        let deno = on && self.runtime_type == RuntimeType::Deno;
        let mut fs_by = vec![];
        if landlock {
            fs_by.push("landlock");
        }
        if node {
            fs_by.push("node-permission-model");
        }
        if deno {
            fs_by.push("deno-permissions");
        }
        // Node's and deno's read lists are built with the Landlock rules (`build_rules`): without
        // Landlock they grant every read, so they hold no narrower read policy.
        let layers_read = !self.node_read.is_empty() || (self.policy.read.is_all() && self.policy.deny_read.is_none());
        let read_by: Vec<_> = fs_by.iter().copied().filter(|m| layers_read || *m == "landlock").collect();
        let mut net_by = vec![];
        if on && !self.policy.net_allowed() {
            if self.proxy {
                net_by.push("egress-proxy");
            }
            if self.netns {
                net_by.push("network-namespace");
            }
            if self.seccomp {
                net_by.push("seccomp");
            }
            if landlock && self.caps.landlock_at_least(4) {
                net_by.push("landlock-tcp");
            }
            if deno {
                net_by.push("deno-permissions");
            }
        }
        let mut run_by = vec![];
        if landlock {
            run_by.push("landlock");
        }
        if on && self.seccomp && !self.policy.run_allowed() {
            run_by.push("seccomp");
        }
        if node && !self.policy.run_allowed() {
            run_by.push("node-permission-model");
        }
        // Under a bare --allow-run deno checks nothing; with a list (or none) it does.
        if deno && !self.policy.run.is_all() {
            run_by.push("deno-permissions");
        }
        let mut abstract_by = vec![];
        if self.netns {
            abstract_by.push("network-namespace");
        }
        if scope {
            abstract_by.push("landlock-scope");
        }
        let mut path_unix_by = vec![];
        if landlock && self.caps.landlock_at_least(9) {
            path_unix_by.push("landlock");
        } else if on && self.seccomp && !self.unix_sockets_allowed() {
            path_unix_by.push("seccomp");
        }
        SandboxReport {
            mode: self.mode,
            machine: self.caps.clone(),
            enforced: on && (landlock || self.seccomp || self.netns),
            read: PermissionReport { granted: grant_json(&self.policy.read), enforced_by: read_by },
            write: PermissionReport { granted: grant_json(&self.policy.write), enforced_by: fs_by },
            net: PermissionReport {
                granted: if self.policy.deny_net.is_all() { "none".into() } else { grant_json(&self.policy.net) },
                enforced_by: net_by,
            },
            run: PermissionReport { granted: grant_json(&self.policy.run), enforced_by: run_by },
            env: PermissionReport { granted: grant_json(&self.policy.env), enforced_by: vec!["environment"] },
            signals: if scope { vec!["landlock-scope"] } else { vec![] },
            abstract_unix_sockets: abstract_by,
            path_unix_sockets: path_unix_by,
            other_processes: {
                // Landlock guards their /proc files, fds and memory; seccomp their limits and
                // scheduling, SysV IPC and message queues.
                // A PID namespace of its own hides them from the call altogether.
                let mut v = vec![];
                if on && self.caps.pid_namespaces {
                    v.push("pid-namespace");
                }
                if landlock {
                    v.push("landlock");
                }
                if on && self.seccomp {
                    v.push("seccomp");
                }
                v
            },
            no_new_privs: on && (landlock || self.seccomp),
            missing: self.missing.clone(),
            runtime_access: self.runtime_access.clone(),
            denied: DeniedReport {
                read: self.denied.0.clone(),
                write: self.denied.1.clone(),
                // Deno compares the path it is given, so a symlink to a denied file gets past
                // its check: it counts only beside Landlock, never alone.
                enforced_by: match (landlock, deno) {
                    (true, true) => vec!["landlock", "deno-permissions"],
                    (true, false) => vec!["landlock"],
                    (false, _) => vec![],
                },
            },
            harness: HarnessReport {
                path: self.harness_dir.join(crate::harness::WORKER_FILE_NAME),
                private: self.harness_is_private(),
            },
        }
    }
}
