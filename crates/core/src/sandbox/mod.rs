//! The kernel sandbox: the permission policy turned into Landlock rules, a seccomp filter and
//! private user/network namespaces, prepared in the parent and entered by the child between
//! fork and exec. Every mechanism is chosen from what the machine offers ([`capabilities`]);
//! in strict mode a policy that cannot be enforced fails `createRuntime` instead of running
//! with less protection than asked for.

mod capabilities;
mod child;
mod deno;
pub mod init;
mod modules;
mod report;
mod rules;
mod seccomp;

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use landlock::{
    Access, AccessFs, AccessNet, BitFlags, CompatLevel, Compatible, PathBeneath, Ruleset, RulesetAttr,
    RulesetCreatedAttr, Scope, ABI,
};

pub use capabilities::{capabilities, Capabilities, PRETEND_MISSING_ENV};
pub use child::ChildSandbox;
// For tests that build a network namespace the way a call's is built.
#[doc(hidden)]
pub use child::{loopback_up, write_proc};
pub use deno::DENO_BASE_ARGS;
pub use report::{DeniedReport, HarnessReport, PermissionReport, RuntimeAccess, SandboxReport};
pub use seccomp::ExecPointers;

use crate::config::{RuntimeType, SandboxMode};
use crate::error::{Error, Result};
use crate::policy::{Grant, Policy};
use rules::{FsRule, RuleSet};

/// The files a runtime needs to start and load the entrypoint.
#[derive(Debug, Clone)]
pub struct RuntimeFiles {
    pub program: PathBuf,
    pub runtime_type: RuntimeType,
    pub project_root: PathBuf,
    pub entrypoint: PathBuf,
    /// The runtime's own folder, inside `calls_base`: the harness when it is on disk.
    pub runtime_dir: PathBuf,
    /// The folder holding every call's temp dir, mounted over by each call's private tmpfs.
    pub calls_base: PathBuf,
    /// Mode of the harness files (`workerFilePerm`).
    pub harness_perm: u32,
    /// Size of a call's private tmpfs (`maxTempMb`).
    pub temp_size_mb: u64,
    /// Node's `major.minor` (`None`: bun, or a node that did not say).
    pub node_version: Option<crate::nodever::NodeVersion>,
    /// How node runs a TypeScript entrypoint (its loader is read by the runtime).
    pub typescript: crate::nodever::TypeScript,
}

/// The sandbox plan of one runtime: rules resolved and files opened once, reused per call.
#[derive(Debug)]
pub struct RuntimeSandbox {
    mode: SandboxMode,
    caps: Capabilities,
    policy: Policy,
    runtime_type: RuntimeType,
    /// Landlock ABI in use (`None`: no Landlock).
    abi: Option<ABI>,
    /// Open handles of the rule paths; released when the runtime closes.
    rules: std::sync::Mutex<RuleSet>,
    /// Whether the child adds a read rule for its own `/proc/self` (bun reads its maps).
    proc_self: bool,
    netns: bool,
    /// The network goes through the egress proxy (`--allow-net=HOSTS`).
    proxy: bool,
    seccomp: bool,
    missing: Vec<String>,
    runtime_access: RuntimeAccess,
    node_read: Vec<PathBuf>,
    /// Paths the policy denies, as enforced (for the report).
    denied: (Vec<PathBuf>, Vec<PathBuf>),
    /// The harness's folder as a call sees it.
    harness_dir: PathBuf,
    harness_perm: u32,
    temp_size_mb: u64,
    /// Node must not read `/etc/ssl/openssl.cnf`: a deny covers it.
    openssl_conf_denied: bool,
    /// The flag that turns node's permission model on, per version.
    permission_flag: &'static str,
}

/// Read access without execute: Landlock counts execute among its read rights.
fn read_access() -> BitFlags<AccessFs> {
    AccessFs::ReadFile | AccessFs::ReadDir
}

impl RuntimeSandbox {
    pub fn plan(mode: SandboxMode, policy: &Policy, files: &RuntimeFiles) -> Result<Self> {
        let caps = capabilities();
        let mut plan = RuntimeSandbox {
            mode,
            caps: caps.clone(),
            policy: policy.clone(),
            runtime_type: files.runtime_type,
            abi: None,
            rules: Default::default(),
            proc_self: false,
            netns: false,
            proxy: false,
            seccomp: false,
            missing: Vec::new(),
            runtime_access: RuntimeAccess { read: vec![], execute: vec![], write: vec![], list: vec![] },
            node_read: Vec::new(),
            denied: Default::default(),
            harness_dir: files.runtime_dir.clone(),
            harness_perm: files.harness_perm,
            temp_size_mb: files.temp_size_mb,
            openssl_conf_denied: false,
            permission_flag: files
                .node_version
                .map(crate::nodever::permission_flag)
                .unwrap_or("--experimental-permission"),
        };
        if mode == SandboxMode::Off {
            return Ok(plan);
        }
        if caps.private_mounts {
            plan.harness_dir = files.calls_base.join(crate::harness::PRIVATE_DIR_NAME);
        }

        // What the policy needs, mechanism by mechanism, and what is missing for it.
        let mut missing = Vec::new();
        if caps.landlock_abi.is_none() {
            missing.push("Landlock (filesystem, execute and network rules)".to_string());
        } else if !caps.landlock_at_least(6) {
            missing.push(format!(
                "Landlock ABI 6 (signal and abstract unix socket scoping; this kernel has ABI {})",
                caps.landlock_abi.unwrap_or(0)
            ));
        }
        if !policy.net_allowed() && !caps.user_namespaces && !caps.seccomp {
            missing.push("user namespaces or seccomp (network isolation)".to_string());
        }
        if policy.needs_proxy() && !caps.user_namespaces {
            missing.push("user namespaces (a host allowlist, --allow-net=HOSTS, reaches the network only through the egress proxy inside a private network namespace; without one the tool gets no network)".to_string());
        }
        if !caps.seccomp {
            missing.push(
                "seccomp (blocking exec through the dynamic loader, path unix sockets, new sessions)".to_string(),
            );
        }
        if !caps.pid_namespaces {
            missing.push(format!(
                "a PID namespace per call (root, or user namespaces with a private mount, and the {} binary \
                 beside the addon): without one a tool sees the host's processes and their command lines; {}",
                init::INIT_BINARY_NAME,
                caps.pid_namespace_missing.as_deref().unwrap_or("unavailable")
            ));
        }
        if mode == SandboxMode::Strict && !missing.is_empty() {
            return Err(Error::SandboxUnavailable { missing: missing.join("; ") });
        }
        plan.missing = missing;
        plan.seccomp = caps.seccomp;
        plan.netns = !policy.net_allowed() && caps.user_namespaces;
        plan.proxy = policy.needs_proxy() && plan.netns;
        plan.abi = caps.landlock_abi.map(|v| ABI::from(v as i32));
        if let Some(abi) = plan.abi {
            plan.build_rules(abi, policy, files)?;
        }
        plan.refuse_commas_for_deno(&files.calls_base)?;
        Ok(plan)
    }

    fn build_rules(&mut self, abi: ABI, policy: &Policy, files: &RuntimeFiles) -> Result<()> {
        let needs = rules::runtime_needs(files, &self.harness_dir)?;
        let file_rights = AccessFs::from_file(abi);
        let write_rights = AccessFs::from_write(abi) & !AccessFs::Execute;
        let mut rules = RuleSet::default();

        // The policy's reads and writes, with denies carved out of the trees they fall in.
        let deny_read = match &policy.deny_read {
            Grant::None => vec![],
            Grant::All => vec![PathBuf::from("/")],
            Grant::Some(v) => v.clone(),
        };
        let mut deny_write = match &policy.deny_write {
            Grant::None => vec![],
            Grant::All => vec![PathBuf::from("/")],
            Grant::Some(v) => v.clone(),
        };
        rules::refuse_denied_needs(files, &needs, &deny_read)?;
        self.denied = (deny_read.clone(), deny_write.clone());
        if !self.caps.private_mounts {
            // The harness is on disk, in a folder beside every call's temp dir: no write grant
            // may reach it (another call would run what was written there).
            deny_write.push(files.calls_base.clone());
        }
        let reads: Vec<PathBuf> = match &policy.read {
            Grant::None => vec![],
            Grant::All => vec![PathBuf::from("/")],
            Grant::Some(v) => v.clone(),
        };
        for p in &reads {
            rules.grant_except(p, read_access(), &deny_read, file_rights);
        }
        let writes: Vec<PathBuf> = match &policy.write {
            Grant::None => vec![],
            Grant::All => vec![PathBuf::from("/")],
            Grant::Some(v) => v.clone(),
        };
        for p in &writes {
            // Writing implies reading what one writes, unless that read is denied.
            rules.grant_except(p, write_rights, &deny_write, file_rights);
            rules.grant_except(p, read_access(), &deny_read, file_rights);
        }
        // Programs the tool may run.
        let deny_run: Vec<PathBuf> = match &policy.deny_run {
            Grant::None => vec![],
            Grant::All => vec![PathBuf::from("/")],
            Grant::Some(v) => v.iter().filter_map(|p| rules::resolve_program(p)).collect(),
        };
        match &policy.run {
            Grant::None => {}
            Grant::All => rules.grant_except(Path::new("/"), read_access() | AccessFs::Execute, &deny_run, file_rights),
            Grant::Some(progs) => {
                for p in progs {
                    let path = rules::resolve_program(p).ok_or_else(|| {
                        Error::invalid_config(format!(
                            "--allow-run={p}: no such program on {}",
                            crate::locate::BASE_PATH
                        ))
                    })?;
                    rules.grant_except(&path, AccessFs::Execute | AccessFs::ReadFile, &deny_run, file_rights);
                }
            }
        }

        // What the runtime itself needs, less what the policy denies (checked above for what
        // it cannot start without). The harness is the runtime's own, not a host file.
        for p in &needs.read {
            if *p == self.harness_dir {
                rules.grant(p, read_access(), file_rights);
                continue;
            }
            rules.grant_except(p, read_access(), &deny_read, file_rights);
            if needs.module_trees.contains(p) && deny_read.iter().any(|d| d.starts_with(p)) {
                // Module resolution lists folders (bun opens each one it resolves in): names
                // beneath the tree stay listable, the denied files' contents do not.
                rules.grant(p, AccessFs::ReadDir.into(), file_rights);
            }
        }
        self.openssl_conf_denied = rules::is_denied(Path::new(rules::OPENSSL_CONF), &deny_read);
        for p in &needs.execute {
            rules.grant(p, AccessFs::Execute | AccessFs::ReadFile, file_rights);
        }
        for p in &needs.write {
            rules.grant(p, write_rights | read_access(), file_rights);
        }
        for p in &needs.list {
            rules.grant(p, AccessFs::ReadDir.into(), file_rights);
        }
        self.proc_self = !policy.read.is_all() || !deny_read.is_empty();
        self.rules = std::sync::Mutex::new(rules.open()?);
        self.node_read = if policy.read.is_all() && deny_read.is_empty() {
            vec![]
        } else {
            let mut v = reads.clone();
            // Writing implies reading in the kernel rules above; node's layer must agree.
            v.extend(writes.iter().cloned());
            v.extend(needs.read.iter().cloned());
            v.extend(needs.execute.iter().cloned());
            v
        };
        self.runtime_access =
            RuntimeAccess { read: needs.read, execute: needs.execute, write: needs.write, list: needs.list };
        Ok(())
    }

    /// Whether each call writes its own harness onto its private tmpfs.
    pub fn harness_is_private(&self) -> bool {
        self.mode != SandboxMode::Off && self.caps.private_mounts
    }

    /// The harness as a call sees it.
    pub fn harness_path(&self) -> PathBuf {
        self.harness_dir.join(crate::harness::WORKER_FILE_NAME)
    }

    /// Variables the runtime needs because of the policy, over anything the call set.
    pub fn runtime_env(&self) -> Vec<(String, String)> {
        let mut env = Vec::new();
        if self.mode != SandboxMode::Off && self.runtime_type == RuntimeType::Node && self.openssl_conf_denied {
            // Node reads its OpenSSL configuration at start and fails without it.
            env.push(("OPENSSL_CONF".to_string(), "/dev/null".to_string()));
        }
        env
    }

    /// Path unix sockets stay reachable when the policy grants writes (seccomp cannot tell
    /// which path a socket will connect to, so any `--allow-write` opens them).
    fn unix_sockets_allowed(&self) -> bool {
        !self.policy.write.is_none() && !self.policy.deny_write.is_all()
    }

    /// The confinement of one call, whose private temp dir is `tmp`.
    pub fn for_call(&self, tmp: &Path) -> Result<Option<ChildSandbox>> {
        if self.mode == SandboxMode::Off {
            return Ok(None);
        }
        let private_tmp = self.private_tmp(tmp);
        let ruleset = match self.abi {
            Some(abi) => Some(
                self.ruleset(abi, (private_tmp.is_none()).then_some(tmp))
                    .map_err(|e| Error::internal(format!("landlock ruleset: {e}")))?,
            ),
            None => None,
        };
        let proc_self_access = if ruleset.is_some() && self.proc_self { read_access().bits() } else { 0 };
        let seccomp = if self.seccomp {
            Some(child::SeccompPlan {
                block_exec: !self.policy.run_allowed(),
                // With the proxy, inet sockets exist but only reach it: the namespace has no
                // route out and Landlock allows connecting to the proxy's port alone.
                block_inet: !self.policy.net_allowed() && !self.proxy,
                block_unix: !self.unix_sockets_allowed() && !self.caps.landlock_at_least(9),
            })
        } else {
            None
        };
        let mut sb = ChildSandbox::new(ruleset, proc_self_access, self.netns, seccomp, private_tmp);
        if let Some(init) = self.caps.init.as_ref().filter(|_| self.caps.pid_namespaces) {
            sb = sb.with_pid_namespace(init.clone());
        }
        sb.proxy_listener = self.proxy;
        Ok(Some(sb))
    }

    /// A private tmpfs over the folder of call temp dirs, when the machine lets us mount one
    /// (root, or a user namespace).
    fn private_tmp(&self, tmp: &Path) -> Option<child::PrivateTmp> {
        use std::ffi::CString;
        use std::os::unix::ffi::OsStrExt;
        let root = nix::unistd::geteuid().is_root();
        if !self.caps.private_mounts {
            return None;
        }
        let base = tmp.parent()?;
        let access = match self.abi {
            Some(abi) => ((AccessFs::from_write(abi) & !AccessFs::Execute) | read_access()).bits(),
            None => 0,
        };
        let cstr = |p: &Path| CString::new(p.as_os_str().as_bytes()).ok();
        let dir = base.join(crate::harness::PRIVATE_DIR_NAME);
        let files: Option<Vec<_>> =
            crate::harness::FILES.iter().map(|(name, source)| Some((cstr(&dir.join(name))?, *source))).collect();
        Some(child::PrivateTmp {
            base: cstr(base)?,
            own: cstr(tmp)?,
            access,
            needs_userns: !root && !self.netns,
            mount_options: CString::new(format!("mode=0700,size={}", self.temp_size_mb * 1024 * 1024)).ok()?,
            harness: child::PrivateHarness {
                dir: cstr(&dir)?,
                files: files?,
                perm: self.harness_perm as libc::mode_t,
                access: if self.abi.is_some() { read_access().bits() } else { 0 },
            },
        })
    }

    fn ruleset(&self, abi: ABI, tmp: Option<&Path>) -> std::result::Result<std::os::fd::OwnedFd, String> {
        let mut handled = AccessFs::from_all(abi);
        if abi as i32 >= 9 {
            handled |= AccessFs::from_write(abi) & !AccessFs::from_write(ABI::V8);
        }
        let mut rs = Ruleset::default()
            .set_compatibility(CompatLevel::BestEffort)
            .handle_access(handled)
            .map_err(|e| e.to_string())?;
        if !self.policy.net_allowed() && abi as i32 >= 4 {
            rs = rs.handle_access(AccessNet::from_all(abi)).map_err(|e| e.to_string())?;
        }
        if abi as i32 >= 6 {
            rs = rs.scope(Scope::from_all(abi)).map_err(|e| e.to_string())?;
        }
        let mut created = rs.create().map_err(|e| e.to_string())?;
        if self.proxy && !self.policy.net_allowed() && abi as i32 >= 4 {
            // The only TCP connection allowed: to the egress proxy's port on loopback.
            created = created
                .add_rule(landlock::NetPort::new(crate::egress::PROXY_PORT, AccessNet::ConnectTcp))
                .map_err(|e| e.to_string())?;
        }
        let rules = self.rules.lock().unwrap_or_else(|e| e.into_inner());
        for FsRule { fd, access, .. } in rules.opened().iter() {
            created = created.add_rule(PathBeneath::new(fd, *access)).map_err(|e| e.to_string())?;
        }
        if let Some(tmp) = tmp {
            let tmp_fd = rules::open_path(tmp).map_err(|e| e.to_string())?;
            let write_rights = AccessFs::from_write(abi) & !AccessFs::Execute;
            created =
                created.add_rule(PathBeneath::new(tmp_fd, write_rights | read_access())).map_err(|e| e.to_string())?;
        }
        let fd: Option<std::os::fd::OwnedFd> = created.into();
        fd.ok_or_else(|| "Landlock is not supported".to_string())
    }

    /// Node's own permission model as a second layer: never the only one.
    /// Closes the rule paths' handles (the runtime is closed: no call will need them).
    pub fn release(&self) {
        *self.rules.lock().unwrap_or_else(|e| e.into_inner()) = RuleSet::default();
    }

    /// A load error that may be the sandbox's doing (a module it kept out of reach) says so.
    pub fn explain(&self, e: crate::error::Error) -> crate::error::Error {
        match e {
            Error::EntrypointFailed { call, entrypoint, mut message, stack, exit } if self.mode != SandboxMode::Off => {
                let text = format!("{message}\n{}", stack.as_deref().unwrap_or(""));
                if let Some(hint) = modules::resolution_hint(&text) {
                    message.push_str(hint);
                }
                Error::EntrypointFailed { call, entrypoint, message, stack, exit }
            }
            other => other,
        }
    }

    /// Whether the policy grants no network at all (no `--allow-net`, or `--deny-net` of
    /// everything) and the sandbox enforces that.
    pub fn denies_all_network(&self) -> bool {
        self.mode != SandboxMode::Off && !self.policy.net_allowed() && !self.policy.needs_proxy()
    }

    /// Whether calls reach the network through the egress proxy.
    pub fn uses_proxy(&self) -> bool {
        self.mode != SandboxMode::Off && self.proxy
    }

    pub fn node_permission_args(&self, tmp: &Path) -> Vec<OsString> {
        if self.mode == SandboxMode::Off || self.runtime_type != RuntimeType::Node {
            return Vec::new();
        }
        let mut args: Vec<OsString> = vec![self.permission_flag.into()];
        // One flag per path: node 20 no longer accepts comma-separated lists.
        let flags = |args: &mut Vec<OsString>, flag: &str, paths: &[PathBuf]| {
            // Node 20 aborts on a path given twice; a path beneath another adds nothing.
            let mut paths: Vec<&PathBuf> = paths.iter().collect();
            paths.sort();
            paths.dedup();
            let mut kept: Vec<&PathBuf> = Vec::new();
            for p in paths {
                if !kept.iter().any(|k| p.starts_with(k)) {
                    kept.push(p);
                }
            }
            for p in kept {
                args.push(format!("{flag}={}", p.display()).into());
            }
        };
        if self.node_read.is_empty() {
            args.push("--allow-fs-read=*".into());
        } else {
            let mut paths = self.node_read.clone();
            paths.push(tmp.to_path_buf());
            flags(&mut args, "--allow-fs-read", &paths);
        }
        match &self.policy.write {
            // Node's model cannot carve out `--deny-write` paths: the kernel rules do (as for
            // `--deny-read`), so a bare `--allow-write` stays a bare allow here.
            Grant::All => args.push("--allow-fs-write=*".into()),
            Grant::Some(v) => {
                let mut paths = v.clone();
                paths.push(tmp.to_path_buf());
                flags(&mut args, "--allow-fs-write", &paths);
            }
            _ => flags(&mut args, "--allow-fs-write", &[tmp.to_path_buf()]),
        }
        if self.policy.run_allowed() {
            args.push("--allow-child-process".into());
        }
        // Worker threads live in the same confined process; the kernel rules still hold.
        args.push("--allow-worker".into());
        args.push("--disable-warning=ExperimentalWarning".into());
        args.push("--disable-warning=SecurityWarning".into());
        args
    }
}

/// Runs `body` in a forked child and returns its result as the child's exit code (the sandbox
/// tests confine the child, then probe).
#[cfg(test)]
pub(crate) fn in_forked_child(body: &dyn Fn() -> i32) -> i32 {
    // SAFETY: test-only fork; the child runs `body` (raw syscalls) and _exits.
    unsafe {
        let pid = libc::fork();
        assert!(pid >= 0);
        if pid == 0 {
            libc::_exit(body());
        }
        let mut status = 0;
        assert_eq!(libc::waitpid(pid, &mut status, 0), pid);
        assert!(libc::WIFEXITED(status), "status {status:#x}");
        libc::WEXITSTATUS(status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities_can_be_pretended_missing() {
        std::env::set_var(PRETEND_MISSING_ENV, "landlock,userns");
        let c = capabilities();
        std::env::remove_var(PRETEND_MISSING_ENV);
        assert_eq!(c.landlock_abi, None);
        assert!(!c.user_namespaces);
        assert_eq!(c.pretended_missing, vec!["landlock", "userns"]);
    }
}
