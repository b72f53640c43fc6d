//! The part of the sandbox that runs in the forked child, before `execve`. Everything here is
//! prepared in the parent (strings formatted, BPF compiled) so the child only makes syscalls.

use std::collections::BTreeMap;
use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};

use seccompiler::{BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter, SeccompRule, TargetArch};

/// What the seccomp filter refuses (with EACCES).
#[derive(Debug, Clone, Copy)]
pub struct SeccompPlan {
    /// Every `execve` but the runtime's own: stops running programs through the dynamic
    /// loader (`ld.so /bin/sh`), which Landlock's execute right alone cannot.
    pub block_exec: bool,
    /// IPv4, IPv6 and packet sockets.
    pub block_inet: bool,
    /// Unix sockets (path sockets are not covered by Landlock before ABI 9).
    pub block_unix: bool,
}

#[derive(Debug)]
pub struct ChildSandbox {
    ruleset: Option<OwnedFd>,
    /// Rights for the child's own `/proc/self`, which only the child can open (0 = none).
    proc_self_access: u64,
    netns: bool,
    uid_map: CString,
    gid_map: CString,
    seccomp: Option<SeccompPlan>,
    bpf: Option<BpfProgram>,
}

#[cfg(target_arch = "x86_64")]
const ARCH: TargetArch = TargetArch::x86_64;
#[cfg(target_arch = "aarch64")]
const ARCH: TargetArch = TargetArch::aarch64;

impl ChildSandbox {
    pub(super) fn new(ruleset: Option<OwnedFd>, proc_self_access: u64, netns: bool, seccomp: Option<SeccompPlan>) -> Self {
        let uid = unsafe { libc::geteuid() };
        let gid = unsafe { libc::getegid() };
        ChildSandbox {
            ruleset,
            proc_self_access,
            netns,
            // Identity maps: the tool sees its real uid and gid.
            uid_map: CString::new(format!("{uid} {uid} 1\n")).expect("no NUL"),
            gid_map: CString::new(format!("{gid} {gid} 1\n")).expect("no NUL"),
            seccomp,
            bpf: None,
        }
    }

    /// Compiles the seccomp filter once the address of the runtime's path string is known:
    /// the filter lets `execve` through only for that exact pointer, which exists only in the
    /// forked child before it execs.
    pub fn prepare(&mut self, exec_path: *const libc::c_char) -> io::Result<()> {
        let Some(plan) = self.seccomp else { return Ok(()) };
        let err = |e: seccompiler::BackendError| io::Error::other(format!("seccomp filter: {e}"));
        let cond = |arg: u8, len: SeccompCmpArgLen, op: SeccompCmpOp, v: u64| SeccompCondition::new(arg, len, op, v).map_err(err);
        let mut rules: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
        let always = |rules: &mut BTreeMap<i64, Vec<SeccompRule>>, nr: libc::c_long| {
            rules.insert(nr, vec![]);
        };
        if plan.block_exec {
            rules.insert(
                libc::SYS_execve,
                vec![SeccompRule::new(vec![cond(0, SeccompCmpArgLen::Qword, SeccompCmpOp::Ne, exec_path as u64)?]).map_err(err)?],
            );
            always(&mut rules, libc::SYS_execveat);
        }
        let mut domains = Vec::new();
        if plan.block_inet {
            domains.extend([libc::AF_INET, libc::AF_INET6, libc::AF_PACKET]);
        }
        if plan.block_unix {
            domains.push(libc::AF_UNIX);
        }
        if !domains.is_empty() {
            let mut socket_rules = Vec::new();
            for d in domains {
                socket_rules.push(SeccompRule::new(vec![cond(0, SeccompCmpArgLen::Dword, SeccompCmpOp::Eq, d as u64)?]).map_err(err)?);
            }
            rules.insert(libc::SYS_socket, socket_rules);
            // io_uring can create and connect sockets without the socket(2) syscall.
            for nr in [libc::SYS_io_uring_setup, libc::SYS_io_uring_enter, libc::SYS_io_uring_register] {
                always(&mut rules, nr);
            }
        }
        // Leaving the process group would let a grandchild outlive the call's kill; the rest
        // are ways out of or around the sandbox that no tool needs.
        for nr in [
            libc::SYS_setsid,
            libc::SYS_setpgid,
            libc::SYS_unshare,
            libc::SYS_setns,
            libc::SYS_mount,
            libc::SYS_umount2,
            libc::SYS_pivot_root,
            libc::SYS_chroot,
            libc::SYS_ptrace,
            libc::SYS_process_vm_readv,
            libc::SYS_process_vm_writev,
            libc::SYS_bpf,
            libc::SYS_perf_event_open,
            libc::SYS_keyctl,
            libc::SYS_add_key,
            libc::SYS_request_key,
            libc::SYS_userfaultfd,
            libc::SYS_open_by_handle_at,
            libc::SYS_kexec_load,
            libc::SYS_init_module,
            libc::SYS_finit_module,
            libc::SYS_delete_module,
        ] {
            always(&mut rules, nr);
        }
        let filter = SeccompFilter::new(rules, SeccompAction::Allow, SeccompAction::Errno(libc::EACCES as u32), ARCH).map_err(err)?;
        let bpf: BpfProgram = filter.try_into().map_err(err)?;
        self.bpf = Some(bpf);
        Ok(())
    }

    /// Confines the calling (forked) process.
    ///
    /// # Safety
    /// Call only in the child between fork and exec: it makes raw syscalls and changes the
    /// process's namespaces, credentials and security state irreversibly.
    pub unsafe fn enter(&self) -> io::Result<()> {
        let fail = || Err(io::Error::last_os_error());
        if self.netns {
            if libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNET) != 0 {
                return fail();
            }
            write_proc(c"/proc/self/setgroups", b"deny")?;
            write_proc(c"/proc/self/uid_map", self.uid_map.as_bytes())?;
            write_proc(c"/proc/self/gid_map", self.gid_map.as_bytes())?;
            loopback_up();
        }
        if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
            return fail();
        }
        if let Some(ruleset) = &self.ruleset {
            let fd = ruleset.as_raw_fd();
            if self.proc_self_access != 0 {
                let proc_fd = libc::open(c"/proc/self".as_ptr(), libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC);
                if proc_fd < 0 {
                    return fail();
                }
                let attr = PathBeneathAttr { allowed_access: self.proc_self_access, parent_fd: proc_fd };
                let r = libc::syscall(libc::SYS_landlock_add_rule, fd, 1 /* LANDLOCK_RULE_PATH_BENEATH */, &attr as *const _, 0);
                libc::close(proc_fd);
                if r != 0 {
                    return fail();
                }
            }
            if libc::syscall(libc::SYS_landlock_restrict_self, fd, 0) != 0 {
                return fail();
            }
        }
        if let Some(bpf) = &self.bpf {
            let prog = libc::sock_fprog { len: bpf.len() as u16, filter: bpf.as_ptr() as *mut libc::sock_filter };
            if libc::syscall(libc::SYS_seccomp, 1 /* SECCOMP_SET_MODE_FILTER */, 0, &prog as *const _) != 0 {
                return fail();
            }
        }
        Ok(())
    }
}

#[repr(C, packed)]
struct PathBeneathAttr {
    allowed_access: u64,
    parent_fd: i32,
}

unsafe fn write_proc(path: &std::ffi::CStr, data: &[u8]) -> io::Result<()> {
    let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    let n = libc::write(fd, data.as_ptr().cast(), data.len());
    let err = io::Error::last_os_error();
    libc::close(fd);
    if n != data.len() as isize {
        return Err(err);
    }
    Ok(())
}

/// Brings up `lo` in the new network namespace, so a tool can talk to itself on 127.0.0.1.
unsafe fn loopback_up() {
    let s = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
    if s < 0 {
        return;
    }
    let mut ifr: libc::ifreq = std::mem::zeroed();
    for (i, b) in b"lo\0".iter().enumerate() {
        ifr.ifr_name[i] = *b as libc::c_char;
    }
    if libc::ioctl(s, libc::SIOCGIFFLAGS, &mut ifr) == 0 {
        ifr.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
        libc::ioctl(s, libc::SIOCSIFFLAGS, &ifr);
    }
    libc::close(s);
}
