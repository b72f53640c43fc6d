//! What this machine's kernel offers, probed once per process.

use std::sync::OnceLock;

use serde::Serialize;

/// Set to a comma-separated list (`landlock`, `userns`, `seccomp`, `landlock-scope`, `mountns`, `pidns`) to make the
/// probe report those mechanisms as missing. For tests of the fail-closed paths only.
pub const PRETEND_MISSING_ENV: &str = "TOOL_RUNTIME_PRETEND_MISSING";

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Capabilities {
    /// Landlock ABI version, `None` when Landlock is unavailable.
    pub landlock_abi: Option<u32>,
    /// Unprivileged user namespaces with a private network namespace.
    pub user_namespaces: bool,
    /// seccomp filters.
    pub seccomp: bool,
    /// A private mount namespace per call (root, or user namespaces): the call's temp dir and
    /// the harness live on a tmpfs of its own.
    pub private_mounts: bool,
    /// A PID namespace per call with its own `/proc` (with a private mount), made by the init
    /// binary.
    pub pid_namespaces: bool,
    /// The init binary, when it is there and the kernel gives it what it needs.
    #[serde(skip)]
    pub init: Option<std::path::PathBuf>,
    /// Why there is no PID namespace per call, when there is none.
    #[serde(skip)]
    pub pid_namespace_missing: Option<String>,
    /// Mechanisms hidden by `TOOL_RUNTIME_PRETEND_MISSING`.
    pub pretended_missing: Vec<String>,
}

impl Capabilities {
    /// Landlock with at least `abi`.
    pub fn landlock_at_least(&self, abi: u32) -> bool {
        self.landlock_abi.is_some_and(|a| a >= abi)
    }
}

fn landlock_abi() -> Option<u32> {
    // LANDLOCK_CREATE_RULESET_VERSION = 1 << 0
    // SAFETY: with the VERSION flag the kernel reads no attribute (NULL, size 0) and returns a number.
    let v = unsafe { libc::syscall(libc::SYS_landlock_create_ruleset, std::ptr::null::<u8>(), 0usize, 1u32) };
    if v > 0 {
        Some(v as u32)
    } else {
        None
    }
}

fn seccomp_available() -> bool {
    // PR_GET_SECCOMP fails with EINVAL on kernels built without seccomp.
    // SAFETY: PR_GET_SECCOMP reads no memory and returns a number.
    unsafe { libc::prctl(libc::PR_GET_SECCOMP, 0, 0, 0, 0) >= 0 }
}

/// Forks a child that tries what the sandbox will do: a new user and network namespace.
fn user_namespaces_work() -> bool {
    // SAFETY: the child only calls unshare(2) and _exit(2) (async-signal-safe) after the fork;
    // the parent reaps it.
    unsafe {
        let pid = libc::fork();
        if pid < 0 {
            return false;
        }
        if pid == 0 {
            let ok = libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNET) == 0;
            libc::_exit(if ok { 0 } else { 1 });
        }
        let mut status = 0;
        loop {
            let r = libc::waitpid(pid, &mut status, 0);
            if r == pid {
                break;
            }
            if r < 0 && *libc::__errno_location() != libc::EINTR {
                return false;
            }
        }
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0
    }
}

static PROBED: OnceLock<Capabilities> = OnceLock::new();

/// The machine's capabilities, with any pretended-missing mechanisms removed.
pub fn capabilities() -> Capabilities {
    let real = PROBED
        .get_or_init(|| {
            let user_namespaces = user_namespaces_work();
            let root = nix::unistd::geteuid().is_root();
            let init = if root || user_namespaces {
                // With user namespaces, the stricter case: a call's namespaces are owned by one.
                super::init::locate().and_then(|p| super::init::probe(&p, user_namespaces).map(|()| p))
            } else {
                Err("neither root nor user namespaces: no private mount for a /proc of its own".to_string())
            };
            Capabilities {
                landlock_abi: landlock_abi(),
                user_namespaces,
                seccomp: seccomp_available(),
                private_mounts: false,
                pid_namespaces: false,
                pid_namespace_missing: init.as_ref().err().cloned(),
                init: init.ok(),
                pretended_missing: Vec::new(),
            }
        })
        .clone();
    let pretend = std::env::var(PRETEND_MISSING_ENV).unwrap_or_default();
    let mut caps = real;
    for m in pretend.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        match m {
            "landlock" => caps.landlock_abi = None,
            "landlock-scope" => caps.landlock_abi = caps.landlock_abi.map(|a| a.min(5)),
            "userns" => caps.user_namespaces = false,
            "seccomp" => caps.seccomp = false,
            "mountns" => caps.private_mounts = false,
            "pidns" => caps.pid_namespaces = false,
            _ => continue,
        }
        caps.pretended_missing.push(m.to_string());
    }
    // Root may always mount in a namespace of its own; anyone else needs a user namespace.
    let root = nix::unistd::geteuid().is_root();
    caps.private_mounts = (root || caps.user_namespaces) && !caps.pretended_missing.iter().any(|m| m == "mountns");
    if !caps.private_mounts {
        caps.pid_namespace_missing = Some("no private mount namespace for a /proc of its own".into());
    } else if caps.pretended_missing.iter().any(|m| m == "pidns") {
        caps.pid_namespace_missing = Some("pretended missing".into());
    }
    caps.pid_namespaces = caps.pid_namespace_missing.is_none();
    caps
}
