//! The call's PID namespace, made by a small binary of ours (`tool-runtime-init`) that the host
//! execs in place of the runtime once the user, network and mount namespaces, the private tmpfs
//! and the harness are set up. No process of a call is then a fork of the host that never
//! execs (such a fork would pin a copy-on-write image of the host's memory for as long as it
//! lives). Three processes, all of this binary until the last execs:
//!
//! - the one the host spawned (the *waiter*): it stays in the host's PID namespace, forks the
//!   two below, leaves the call's process group (a group kill reaches the call, not it), waits
//!   for the runtime, then kills the namespace's init and ends as the runtime ended: the host
//!   sees the runtime's exit status and reaps its only child of the call normally;
//! - the namespace's init (PID 1): it mounts the call's own `/proc` and reaps every orphan of
//!   the call; when it is killed, the kernel kills whatever is left in the namespace;
//! - the runtime (PID 2, the waiter's child, so its exit status is never lost to a kill of the
//!   init): it drops every capability, restricts itself with Landlock and the seccomp filter
//!   (whose exec rule admits only the argument pointers this process placed) and execs bun or
//!   node.

use std::ffi::{CString, OsStr, OsString};
use std::io::{self, Read, Seek, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::child::{confine, Confinement, SeccompPlan};
use crate::supervisor::ExecImage;

/// The binary's file name; it is looked for beside the library that holds this code (the
/// `.node` file of the npm package).
pub const INIT_BINARY_NAME: &str = "tool-runtime-init";
/// Overrides where the init binary is (a packaging layout of its own, tests).
pub const INIT_PATH_ENV: &str = "TOOL_RUNTIME_INIT";

/// The runtime's exec, as the host would have made it.
#[derive(Debug, Serialize, Deserialize)]
pub struct Exec {
    pub program: OsString,
    pub args: Vec<OsString>,
    pub env: Vec<(String, String)>,
}

/// Everything the init binary needs, sent by the host in a memfd.
#[derive(Debug, Serialize, Deserialize)]
pub struct InitPlan {
    pub exec: Exec,
    pub seccomp: Option<SeccompPlan>,
    /// A Landlock ruleset is inherited (its fd number follows `--ruleset`).
    pub ruleset: bool,
    pub tmp_rule: Option<(CString, u64)>,
    pub harness_rule: Option<(CString, u64)>,
    pub proc_self_access: u64,
}

impl InitPlan {
    /// The plan in a memfd (close-on-exec; the host's child clears that on its copy only),
    /// read from its start by the init binary.
    pub(crate) fn to_memfd(&self) -> io::Result<OwnedFd> {
        // SAFETY: memfd_create takes a NUL-terminated name and flags, returns a new fd or -1.
        let fd = unsafe { libc::memfd_create(c"tool-runtime-plan".as_ptr(), libc::MFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` is a fresh fd that nothing else owns.
        let mut file = unsafe { std::fs::File::from_raw_fd(fd) };
        file.write_all(&serde_json::to_vec(self).map_err(io::Error::other)?)?;
        file.rewind()?;
        Ok(OwnedFd::from(file))
    }
}

/// Where the init binary is: `TOOL_RUNTIME_INIT`, else beside the library or executable that
/// holds this code (for cargo's test binaries in `target/*/deps`, one folder up).
pub fn locate() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os(INIT_PATH_ENV) {
        let p = PathBuf::from(p);
        return usable(&p).map(|()| p);
    }
    let mut dirs = Vec::new();
    if let Some(object) = this_object() {
        dirs.extend(object.parent().map(Path::to_path_buf));
    }
    if let Some(dir) = std::env::current_exe().ok().and_then(|e| e.parent().map(Path::to_path_buf)) {
        if dir.file_name() == Some(OsStr::new("deps")) {
            dirs.extend(dir.parent().map(Path::to_path_buf));
        }
        dirs.push(dir);
    }
    let candidates: Vec<PathBuf> = dirs.iter().map(|d| d.join(INIT_BINARY_NAME)).collect();
    candidates.iter().find(|p| usable(p).is_ok()).cloned().ok_or_else(|| {
        let tried: Vec<String> = candidates.iter().map(|p| p.display().to_string()).collect();
        format!("the {INIT_BINARY_NAME} binary is missing or not executable (looked at {})", tried.join(", "))
    })
}

fn usable(p: &Path) -> Result<(), String> {
    if crate::locate::is_executable_file(p) {
        Ok(())
    } else {
        Err(format!("{} ({INIT_PATH_ENV}) is not an executable file", p.display()))
    }
}

/// The file of the shared object (the `.node`) or executable this code was loaded from.
fn this_object() -> Option<PathBuf> {
    let mut info: libc::Dl_info = libc::Dl_info {
        dli_fname: std::ptr::null(),
        dli_fbase: std::ptr::null_mut(),
        dli_sname: std::ptr::null(),
        dli_saddr: std::ptr::null_mut(),
    };
    // SAFETY: dladdr fills `info` for an address of this object's code; the name it points
    // to lives as long as the object stays loaded (for good: it holds this very function).
    let found = unsafe { libc::dladdr(this_object as *const libc::c_void, &mut info) };
    if found == 0 || info.dli_fname.is_null() {
        return None;
    }
    // SAFETY: non-null, NUL-terminated, owned by the loader (see above).
    let name = unsafe { std::ffi::CStr::from_ptr(info.dli_fname) };
    std::fs::canonicalize(OsStr::from_bytes(name.to_bytes())).ok()
}

/// Runs `init --probe`: the binary starts, and this kernel gives a process of ours what a call
/// needs (a PID namespace owned by a new user namespace when `userns`, and a `/proc` of its
/// own). The reason is the binary's own words when it fails.
pub(super) fn probe(init: &Path, userns: bool) -> Result<(), String> {
    let out = std::process::Command::new(init)
        .arg("--probe")
        .arg(if userns { "userns" } else { "root" })
        .env_clear()
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .output()
        .map_err(|e| format!("{} could not be run: {e}", init.display()))?;
    if out.status.success() {
        return Ok(());
    }
    let said = String::from_utf8_lossy(&out.stderr).trim().to_string();
    Err(if said.is_empty() { format!("{} --probe ended with {}", init.display(), out.status) } else { said })
}

/// The init binary's `main`.
pub fn main() -> ! {
    let args: Vec<OsString> = std::env::args_os().collect();
    let arg = |i: usize| args.get(i).map(|a| a.as_bytes()).unwrap_or_default();
    if arg(1) == b"--probe" {
        std::process::exit(run_probe(arg(2) == b"userns"));
    }
    let fd_after = |flag: &[u8]| -> Option<RawFd> {
        let i = (1..args.len()).find(|&i| arg(i) == flag)?;
        std::str::from_utf8(arg(i + 1)).ok()?.parse().ok()
    };
    let Some(plan_fd) = fd_after(b"--plan") else {
        eprintln!("{INIT_BINARY_NAME}: run by tool-runtime only (--plan FD [--ruleset FD])");
        std::process::exit(2);
    };
    match run(plan_fd, fd_after(b"--ruleset")) {
        Ok(never) => match never {},
        Err(e) => {
            eprintln!("{INIT_BINARY_NAME}: {e}");
            std::process::exit(126);
        }
    }
}

fn run(plan_fd: RawFd, ruleset: Option<RawFd>) -> io::Result<std::convert::Infallible> {
    // SAFETY: the host put the plan's memfd at this number for this process alone.
    let mut file = unsafe { std::fs::File::from_raw_fd(plan_fd) };
    let mut text = Vec::new();
    file.read_to_end(&mut text)?;
    drop(file);
    let plan: InitPlan = serde_json::from_slice(&text).map_err(io::Error::other)?;
    let ruleset = if plan.ruleset { ruleset } else { None };
    // Everything the runtime's exec needs is made here, before any fork, in this small
    // single-threaded process.
    let image = ExecImage::new(Path::new(&plan.exec.program), &plan.exec.args, &plan.exec.env)?;
    let bpf = match plan.seccomp {
        Some(p) => super::seccomp::build(p, image.pointers())?,
        None => Vec::new(),
    };
    let confinement = Confinement {
        ruleset,
        tmp_rule: plan.tmp_rule.as_ref().map(|(p, a)| (p.as_c_str(), *a)),
        harness_rule: plan.harness_rule.as_ref().map(|(p, a)| (p.as_c_str(), *a)),
        proc_self_access: plan.proc_self_access,
        own_proc: true,
    };
    // SAFETY: this process is single-threaded (nothing here starts a thread), so each fork's
    // child may run ordinary code; every branch ends in exec or exit.
    unsafe {
        if libc::unshare(libc::CLONE_NEWPID) != 0 {
            return Err(io::Error::other(format!("a PID namespace: {}", io::Error::last_os_error())));
        }
        let (ready_r, ready_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
        // The first child is the namespace's PID 1.
        let init = libc::fork();
        if init < 0 {
            return Err(io::Error::last_os_error());
        }
        if init == 0 {
            drop(ready_r);
            namespace_init(confinement.ruleset, ready_w)
        }
        drop(ready_w);
        let mut byte = [0u8; 1];
        if libc::read(ready_r.as_raw_fd(), byte.as_mut_ptr().cast(), 1) != 1 {
            // The init said why on stderr.
            libc::_exit(127);
        }
        drop(ready_r);
        // The runtime is this process's child (PID 2 inside), so its exit status is ours to
        // collect even when its namespace's init is killed at the same moment.
        let runtime = libc::fork();
        if runtime < 0 {
            return Err(io::Error::last_os_error());
        }
        if runtime == 0 {
            // Nothing but stdio and the channel crosses into the runtime.
            cloexec_from(4);
            if let Err(e) = confine(&confinement, &bpf) {
                die("confining the runtime", e);
            }
            die("exec of the runtime", image.exec());
        }
        // A group kill is for the call's processes; this one ends once they are gone.
        libc::setpgid(0, libc::getpgid(libc::getppid()));
        close_call_fds(confinement.ruleset, -1);
        mirror_exit_of(runtime, init)
    }
}

/// PID 1 of the call's namespace: mounts its `/proc`, says so on `ready`, and reaps every
/// orphan of the call until the waiter kills it (when the runtime has ended), which makes the
/// kernel kill whatever is left in the namespace.
unsafe fn namespace_init(ruleset: Option<RawFd>, ready: OwnedFd) -> ! {
    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0);
    if libc::mount(
        c"proc".as_ptr(),
        c"/proc".as_ptr(),
        c"proc".as_ptr(),
        libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
        std::ptr::null(),
    ) != 0
    {
        die("mounting the call's /proc", io::Error::last_os_error());
    }
    libc::write(ready.as_raw_fd(), b"1".as_ptr().cast(), 1);
    drop(ready);
    close_call_fds(ruleset, -1);
    // SIGCHLD is waited for, not handled: blocked, it still wakes sigwaitinfo.
    let mut chld: libc::sigset_t = std::mem::zeroed();
    libc::sigemptyset(&mut chld);
    libc::sigaddset(&mut chld, libc::SIGCHLD);
    libc::sigprocmask(libc::SIG_BLOCK, &chld, std::ptr::null_mut());
    loop {
        while libc::waitpid(-1, std::ptr::null_mut(), libc::WNOHANG) > 0 {}
        libc::sigwaitinfo(&chld, std::ptr::null_mut());
    }
}

fn die(what: &str, e: io::Error) -> ! {
    eprintln!("{INIT_BINARY_NAME}: {what}: {e}");
    // SAFETY: ends the process at once, as a failed exec would.
    unsafe { libc::_exit(127) }
}

/// Closes stdio, the channel and the ruleset, so they end with the runtime, and whatever else
/// but `keep` (-1: nothing kept).
unsafe fn close_call_fds(ruleset: Option<RawFd>, keep: RawFd) {
    for fd in [0, 1, 2, crate::fdpass::CHANNEL_FD].into_iter().chain(ruleset) {
        if fd != keep {
            libc::close(fd);
        }
    }
    // Anything the host let through: best effort (kernels before 5.9 have no close_range,
    // and the fds that matter are closed above).
    if keep > 0 {
        libc::syscall(libc::SYS_close_range, 0u32, (keep - 1) as u32, 0u32);
    }
    libc::syscall(libc::SYS_close_range, (keep + 1) as u32, u32::MAX, 0u32);
}

/// Marks every fd from `first` on close-on-exec, walking `/proc/self/fd` where the kernel has
/// no close_range.
unsafe fn cloexec_from(first: RawFd) {
    const CLOSE_RANGE_CLOEXEC: u32 = 1 << 2;
    if libc::syscall(libc::SYS_close_range, first as u32, u32::MAX, CLOSE_RANGE_CLOEXEC) == 0 {
        return;
    }
    let fds: Vec<RawFd> = std::fs::read_dir("/proc/self/fd")
        .map(|d| d.flatten().filter_map(|e| e.file_name().to_str()?.parse().ok()).collect())
        .unwrap_or_default();
    for fd in fds.into_iter().filter(|&fd| fd >= first) {
        libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
    }
}

/// The waiter: waits for the runtime, ends the namespace (killing its init kills every process
/// left there), and ends as the runtime did.
unsafe fn mirror_exit_of(runtime: libc::pid_t, init: libc::pid_t) -> ! {
    // SIGTERM and the like are for the runtime (a deadline's grace period); this waiter
    // goes with SIGKILL, or when the call's processes are gone.
    for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP, libc::SIGPIPE, libc::SIGQUIT] {
        libc::signal(sig, libc::SIG_IGN);
    }
    let wait = |pid: libc::pid_t| -> libc::c_int {
        let mut st: libc::c_int = 0;
        loop {
            let r = libc::waitpid(pid, &mut st, 0);
            if r == pid {
                return st;
            }
            if r < 0 && *libc::__errno_location() != libc::EINTR {
                return libc::SIGKILL;
            }
        }
    };
    let s = wait(runtime);
    libc::kill(init, libc::SIGKILL);
    wait(init);
    if libc::WIFEXITED(s) {
        libc::_exit(libc::WEXITSTATUS(s));
    }
    let sig = if libc::WIFSIGNALED(s) { libc::WTERMSIG(s) } else { libc::SIGKILL };
    libc::signal(sig, libc::SIG_DFL);
    let mut set: libc::sigset_t = std::mem::zeroed();
    libc::sigemptyset(&mut set);
    libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
    libc::kill(libc::getpid(), sig);
    libc::_exit(128 + sig);
}

/// `--probe`: what a call's set-up needs from the kernel, in this process (exit 0 when it
/// works, else the reason on stderr).
fn run_probe(userns: bool) -> i32 {
    let step = |what: &str, ok: bool| -> Result<(), String> {
        if ok {
            Ok(())
        } else {
            Err(format!("{what}: {}", io::Error::last_os_error()))
        }
    };
    // SAFETY: single-threaded; the child only mounts and exits; the parent reaps it.
    let r = unsafe {
        (|| -> Result<(), String> {
            let (uid, gid) = (libc::geteuid(), libc::getegid());
            let mut flags = libc::CLONE_NEWNS | libc::CLONE_NEWPID;
            if userns {
                flags |= libc::CLONE_NEWUSER;
            }
            step("unshare (user, mount and PID namespaces)", libc::unshare(flags) == 0)?;
            if userns {
                let write = |p: &str, s: String| std::fs::write(p, s).map_err(|e| format!("{p}: {e}"));
                write("/proc/self/setgroups", "deny".into())?;
                write("/proc/self/uid_map", format!("{uid} {uid} 1\n"))?;
                write("/proc/self/gid_map", format!("{gid} {gid} 1\n"))?;
            }
            let private = libc::MS_REC | libc::MS_PRIVATE;
            step(
                "private mounts",
                libc::mount(std::ptr::null(), c"/".as_ptr(), std::ptr::null(), private, std::ptr::null()) == 0,
            )?;
            let child = libc::fork();
            step("fork", child >= 0)?;
            if child == 0 {
                let flags = libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
                if libc::mount(c"proc".as_ptr(), c"/proc".as_ptr(), c"proc".as_ptr(), flags, std::ptr::null()) != 0 {
                    eprintln!("mounting a /proc of its own in a PID namespace: {}", io::Error::last_os_error());
                    libc::_exit(3);
                }
                libc::_exit(0);
            }
            let mut st = 0;
            step("waitpid", libc::waitpid(child, &mut st, 0) == child)?;
            if libc::WIFEXITED(st) && libc::WEXITSTATUS(st) == 0 {
                Ok(())
            } else {
                Err(String::new())
            }
        })()
    };
    match r {
        Ok(()) => 0,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("{e}");
            }
            1
        }
    }
}
