//! The part of the sandbox that runs in the forked child, before `execve`. Everything here is
//! prepared in the parent (strings formatted, BPF compiled) so the child only makes syscalls.

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};

use seccompiler::BpfProgram;

pub use super::seccomp::SeccompPlan;
use super::seccomp::{self, ExecPointers};

#[derive(Debug)]
pub struct ChildSandbox {
    ruleset: Option<OwnedFd>,
    /// Rights for the child's own `/proc/self`, which only the child can open (0 = none).
    proc_self_access: u64,
    netns: bool,
    uid_map: CString,
    gid_map: CString,
    seccomp: Option<SeccompPlan>,
    bpf: Vec<BpfProgram>,
    private_tmp: Option<PrivateTmp>,
    /// Create the egress proxy's listener inside the new network namespace and hand it to
    /// the host over the channel (fd 3).
    pub proxy_listener: bool,
    /// The init binary that gives the call a PID namespace of its own, with its own `/proc`
    /// (needs the private mount).
    init: Option<std::path::PathBuf>,
}

/// The call's temp dir on a private tmpfs, mounted over the folder that holds every call's
/// temp dir: other calls' files are not there to read, and the memory goes with the call.
#[derive(Debug)]
pub struct PrivateTmp {
    /// The folder holding every call's temp dir (the mount point).
    pub base: CString,
    /// This call's temp dir, made inside the new tmpfs.
    pub own: CString,
    /// Landlock rights on `own` (0 without Landlock).
    pub access: u64,
    /// Whether a user namespace is needed to mount (not root and no network namespace).
    pub needs_userns: bool,
    /// The tmpfs mount options: its mode and size (`maxTempMb`).
    pub mount_options: CString,
    pub harness: PrivateHarness,
}

/// The call's own copy of the harness, on its private tmpfs beside the temp dir, mounted
/// read-only: nothing another call's tool wrote can be what this call runs, and this call's
/// tool cannot change it either.
#[derive(Debug)]
pub struct PrivateHarness {
    pub dir: CString,
    /// Paths and contents (embedded in the binary: nothing to allocate after the fork).
    pub files: Vec<(CString, &'static str)>,
    pub perm: libc::mode_t,
    /// Landlock rights on `dir` (0 without Landlock).
    pub access: u64,
}

impl ChildSandbox {
    pub(super) fn new(
        ruleset: Option<OwnedFd>,
        proc_self_access: u64,
        netns: bool,
        seccomp: Option<SeccompPlan>,
        private_tmp: Option<PrivateTmp>,
    ) -> Self {
        let uid = nix::unistd::geteuid().as_raw();
        let gid = nix::unistd::getegid().as_raw();
        ChildSandbox {
            ruleset,
            proc_self_access,
            netns,
            // Identity maps: the tool sees its real uid and gid.
            uid_map: CString::new(format!("{uid} {uid} 1\n")).expect("no NUL"),
            gid_map: CString::new(format!("{gid} {gid} 1\n")).expect("no NUL"),
            seccomp,
            bpf: Vec::new(),
            init: None,
            private_tmp,
            proxy_listener: false,
        }
    }

    /// Gives the call a PID namespace with its own `/proc`, made by the init binary `init`:
    /// only the call's processes are visible to it, and when the runtime ends, the namespace's
    /// init takes every process of the call with it. Only with a private mount namespace (for
    /// the `/proc` mount).
    pub(super) fn with_pid_namespace(mut self, init: std::path::PathBuf) -> Self {
        if self.private_tmp.is_some() {
            self.init = Some(init);
        }
        self
    }

    /// The init binary that makes the call's PID namespace, when there is one: the host
    /// execs it instead of the runtime, and it confines and execs the runtime (see
    /// [`super::init`]).
    pub fn init_program(&self) -> Option<&std::path::Path> {
        self.init.as_deref()
    }

    /// The Landlock ruleset, for the init binary to inherit.
    pub fn ruleset_fd(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        use std::os::fd::AsFd;
        self.ruleset.as_ref().map(|r| r.as_fd())
    }

    /// What the init binary needs to confine the runtime it execs.
    pub fn init_plan(&self, exec: super::init::Exec) -> super::init::InitPlan {
        let pt = self.private_tmp.as_ref();
        super::init::InitPlan {
            exec,
            seccomp: self.seccomp,
            ruleset: self.ruleset.is_some(),
            tmp_rule: pt.filter(|pt| pt.access != 0).map(|pt| (pt.own.clone(), pt.access)),
            harness_rule: pt.map(|pt| &pt.harness).filter(|h| h.access != 0).map(|h| (h.dir.clone(), h.access)),
            proc_self_access: self.proc_self_access,
        }
    }

    /// Compiles the seccomp filter once the addresses of the runtime's `execve` arguments are
    /// known: the filter lets `execve` through only with those exact pointers, which exist
    /// only in the forked child before it execs.
    pub fn prepare(&mut self, exec: ExecPointers) -> io::Result<()> {
        if let Some(plan) = self.seccomp {
            self.bpf = seccomp::build(plan, exec)?;
        }
        Ok(())
    }

    /// Confines the calling (forked) process. With a PID namespace, only the namespaces, the
    /// private mount and the harness are set up here; the init binary this process execs does
    /// the rest (see [`super::init`]).
    ///
    /// # Safety
    /// Call only in the child between fork and exec: it makes raw syscalls and changes the
    /// process's namespaces, credentials and security state irreversibly.
    pub unsafe fn enter(&self) -> io::Result<()> {
        self.enter_namespaces()?;
        if self.init.is_some() {
            return keep_sys_admin_across_exec();
        }
        let pt = self.private_tmp.as_ref();
        let confinement = Confinement {
            ruleset: self.ruleset.as_ref().map(|r| r.as_raw_fd()),
            tmp_rule: pt.filter(|pt| pt.access != 0).map(|pt| (pt.own.as_c_str(), pt.access)),
            harness_rule: pt.map(|pt| &pt.harness).filter(|h| h.access != 0).map(|h| (h.dir.as_c_str(), h.access)),
            proc_self_access: self.proc_self_access,
            own_proc: false,
        };
        confine(&confinement, &self.bpf)
    }

    /// New user, network and mount namespaces, the private tmpfs and the call's harness.
    unsafe fn enter_namespaces(&self) -> io::Result<()> {
        let fail = || Err(io::Error::last_os_error());
        let mut flags = 0;
        if self.netns {
            flags |= libc::CLONE_NEWUSER | libc::CLONE_NEWNET;
        }
        if let Some(pt) = &self.private_tmp {
            flags |= libc::CLONE_NEWNS;
            if pt.needs_userns {
                flags |= libc::CLONE_NEWUSER;
            }
        }
        if flags != 0 && libc::unshare(flags) != 0 {
            return fail();
        }
        if flags & libc::CLONE_NEWUSER != 0 {
            write_proc(c"/proc/self/setgroups", b"deny")?;
            write_proc(c"/proc/self/uid_map", self.uid_map.as_bytes())?;
            write_proc(c"/proc/self/gid_map", self.gid_map.as_bytes())?;
        }
        if self.netns {
            loopback_up();
            if self.proxy_listener {
                use std::os::fd::{AsFd, BorrowedFd};
                let listener = crate::fdpass::bind_loopback_listener(crate::egress::PROXY_PORT)?;
                crate::fdpass::send_fd(BorrowedFd::borrow_raw(crate::fdpass::CHANNEL_FD), listener.as_fd())?;
                // `listener` is close-on-exec: only the host keeps it.
                drop(listener);
            }
        }
        if let Some(pt) = &self.private_tmp {
            // Private propagation first, so the tmpfs never shows up on the host.
            if libc::mount(
                std::ptr::null(),
                c"/".as_ptr(),
                std::ptr::null(),
                libc::MS_REC | libc::MS_PRIVATE,
                std::ptr::null(),
            ) != 0
            {
                return fail();
            }
            if libc::mount(
                c"tmpfs".as_ptr(),
                pt.base.as_ptr(),
                c"tmpfs".as_ptr(),
                libc::MS_NOSUID | libc::MS_NODEV,
                pt.mount_options.as_ptr().cast(),
            ) != 0
            {
                return fail();
            }
            if libc::mkdir(pt.own.as_ptr(), 0o700) != 0 {
                return fail();
            }
            // Read-only needs CAP_SYS_ADMIN in this namespace: before the capabilities go.
            write_private_harness(&pt.harness)?;
        }
        Ok(())
    }
}

/// What [`confine`] applies: references only, so the forked host child allocates nothing.
pub(super) struct Confinement<'a> {
    pub ruleset: Option<libc::c_int>,
    /// The call's temp dir and the harness folder, which exist only in the call's mount
    /// namespace: their Landlock rules are made here.
    pub tmp_rule: Option<(&'a CStr, u64)>,
    pub harness_rule: Option<(&'a CStr, u64)>,
    /// Rights on the process's own `/proc/self` (0 = none).
    pub proc_self_access: u64,
    /// `/proc` is the call's own (a PID namespace): the runtime's reads there, granted on the
    /// host's `/proc`, are granted again on the new files.
    pub own_proc: bool,
}

/// Drops every capability, sets no-new-privs, restricts the process with Landlock and installs
/// the seccomp filter: the last steps before the runtime's exec.
///
/// # Safety
/// Call only in the process about to exec the runtime: it changes its security state
/// irreversibly. Raw syscalls only (it also runs between fork and exec in the host).
pub(super) unsafe fn confine(c: &Confinement<'_>, bpf: &[BpfProgram]) -> io::Result<()> {
    let fail = || Err(io::Error::last_os_error());
    // A tool holds no capabilities: not those of a root orchestrator (CAP_MKNOD would let
    // it make a disk's device node in its temp dir and read around every rule), nor those
    // of the user namespace it was just given (the namespace is set up by now).
    drop_capabilities()?;
    if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
        return fail();
    }
    if let Some(fd) = c.ruleset {
        if let Some((dir, access)) = c.tmp_rule {
            add_path_rule(fd, dir, access)?;
        }
        if let Some((dir, access)) = c.harness_rule {
            add_path_rule(fd, dir, access)?;
        }
        if c.proc_self_access != 0 {
            add_path_rule(fd, c"/proc/self", c.proc_self_access)?;
        }
        if c.own_proc && c.proc_self_access != 0 {
            // The runtime's reads of /proc were granted on the host's /proc, which the
            // call's own /proc now covers: grant them again on the new files.
            for file in [c"/proc/cpuinfo", c"/proc/meminfo", c"/proc/stat"] {
                add_path_rule(fd, file, 1 << 2 /* LANDLOCK_ACCESS_FS_READ_FILE */)?;
            }
        }
        if libc::syscall(libc::SYS_landlock_restrict_self, fd, 0) != 0 {
            return fail();
        }
    }
    seccomp::install(bpf)
}

/// Keeps `CAP_SYS_ADMIN` (in the call's user namespace) across the exec of the init binary,
/// which needs it to make the PID namespace and mount its `/proc`: an exec as a uid other
/// than 0 clears every capability but the ambient ones. Root keeps its capabilities anyway.
unsafe fn keep_sys_admin_across_exec() -> io::Result<()> {
    if libc::geteuid() == 0 {
        return Ok(());
    }
    const CAP_SYS_ADMIN: u32 = 21;
    let header = CapHeader { version: 0x2008_0522, pid: 0 };
    let mut data = [CapData { effective: 0, permitted: 0, inheritable: 0 }; 2];
    if libc::syscall(libc::SYS_capget, &header as *const CapHeader, data.as_mut_ptr()) != 0 {
        return Err(io::Error::last_os_error());
    }
    data[0].inheritable |= 1 << CAP_SYS_ADMIN;
    if libc::syscall(libc::SYS_capset, &header as *const CapHeader, data.as_ptr()) != 0 {
        return Err(io::Error::last_os_error());
    }
    if libc::prctl(
        libc::PR_CAP_AMBIENT,
        libc::PR_CAP_AMBIENT_RAISE as libc::c_ulong,
        CAP_SYS_ADMIN as libc::c_ulong,
        0,
        0,
    ) != 0
    {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// Empties the ambient, bounding, effective, permitted and inheritable capability sets. With
/// no-new-privs set afterwards, the exec (even as uid 0) cannot regain any.
unsafe fn drop_capabilities() -> io::Result<()> {
    // Kernels before 4.3 have no ambient set (EINVAL): nothing to clear there.
    libc::prctl(libc::PR_CAP_AMBIENT, libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong, 0, 0, 0);
    // Dropping from the bounding set needs CAP_SETPCAP; without it the process holds no
    // capability an exec could raise from the bounding set anyway (no-new-privs).
    let mut cap: libc::c_ulong = 0;
    while libc::prctl(libc::PR_CAPBSET_READ, cap, 0, 0, 0) >= 0 {
        libc::prctl(libc::PR_CAPBSET_DROP, cap, 0, 0, 0);
        cap += 1;
    }
    let header = CapHeader { version: 0x2008_0522 /* _LINUX_CAPABILITY_VERSION_3 */, pid: 0 };
    let data = [CapData { effective: 0, permitted: 0, inheritable: 0 }; 2];
    if libc::syscall(libc::SYS_capset, &header as *const CapHeader, data.as_ptr()) != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Writes the harness files into `h.dir` and makes that folder a read-only bind mount of
/// itself. Raw syscalls on memory prepared before the fork only.
unsafe fn write_private_harness(h: &PrivateHarness) -> io::Result<()> {
    let fail = || Err(io::Error::last_os_error());
    if libc::mkdir(h.dir.as_ptr(), 0o700) != 0 {
        return fail();
    }
    for (path, source) in &h.files {
        let fd = libc::open(
            path.as_ptr(),
            libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC,
            h.perm as libc::c_uint,
        );
        if fd < 0 {
            return fail();
        }
        let r = write_all_fd(fd, source.as_bytes()).and_then(|()| {
            // The umask may have narrowed the mode; the configured one is what was asked for.
            if libc::fchmod(fd, h.perm) != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
        libc::close(fd);
        r?;
    }
    let flags = libc::MS_NOSUID | libc::MS_NODEV;
    if libc::mount(h.dir.as_ptr(), h.dir.as_ptr(), std::ptr::null(), libc::MS_BIND, std::ptr::null()) != 0 {
        return fail();
    }
    if libc::mount(
        std::ptr::null(),
        h.dir.as_ptr(),
        std::ptr::null(),
        libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY | flags,
        std::ptr::null(),
    ) != 0
    {
        return fail();
    }
    Ok(())
}

unsafe fn write_all_fd(fd: libc::c_int, mut data: &[u8]) -> io::Result<()> {
    while !data.is_empty() {
        let n = libc::write(fd, data.as_ptr().cast(), data.len());
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        data = &data[n as usize..];
    }
    Ok(())
}

/// Adds a Landlock rule for a path that exists only in this mount namespace.
unsafe fn add_path_rule(ruleset: libc::c_int, path: &std::ffi::CStr, access: u64) -> io::Result<()> {
    // A folder or a single file (its access then holds file rights only).
    let dir = libc::open(path.as_ptr(), libc::O_PATH | libc::O_CLOEXEC);
    if dir < 0 {
        return Err(io::Error::last_os_error());
    }
    let attr = PathBeneathAttr { allowed_access: access, parent_fd: dir };
    let r = libc::syscall(
        libc::SYS_landlock_add_rule,
        ruleset,
        1, /* LANDLOCK_RULE_PATH_BENEATH */
        &attr as *const _,
        0,
    );
    let err = io::Error::last_os_error();
    libc::close(dir);
    if r != 0 {
        return Err(err);
    }
    Ok(())
}

#[repr(C, packed)]
struct PathBeneathAttr {
    allowed_access: u64,
    parent_fd: i32,
}

/// Writes `data` to a `/proc` file in one `write`, as the uid/gid maps require.
///
/// # Safety
/// Async-signal-safe (only syscalls): callable between `fork` and `exec`.
pub unsafe fn write_proc(path: &std::ffi::CStr, data: &[u8]) -> io::Result<()> {
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
///
/// # Safety
/// Async-signal-safe (only syscalls): callable between `fork` and `exec`.
pub unsafe fn loopback_up() {
    let s = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
    if s < 0 {
        return;
    }
    let mut ifr: libc::ifreq = std::mem::zeroed();
    for (i, b) in b"lo\0".iter().enumerate() {
        ifr.ifr_name[i] = *b as libc::c_char;
    }
    // The request's type is c_ulong on glibc and c_int on musl: `Ioctl` is whichever it is.
    if libc::ioctl(s, libc::SIOCGIFFLAGS as libc::Ioctl, &mut ifr) == 0 {
        ifr.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
        libc::ioctl(s, libc::SIOCSIFFLAGS as libc::Ioctl, &ifr);
    }
    libc::close(s);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Forks, confines the child with a seccomp-only sandbox and reports, as its exit code, a
    /// bit per probe that did not behave.
    fn probe_in_child(plan: SeccompPlan, probe: unsafe fn() -> i32) -> i32 {
        let mut sb = ChildSandbox::new(None, 0, false, Some(plan), None);
        sb.prepare(ExecPointers { path: 1, argv: 2, envp: 3 }).unwrap();
        super::super::in_forked_child(&|| {
            // SAFETY: in the forked child, which `enter` confines before the probe runs.
            unsafe {
                if sb.enter().is_err() {
                    return 100;
                }
                probe()
            }
        })
    }

    unsafe fn socket_errno(domain: i32) -> i32 {
        let fd = libc::socket(domain, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        if fd >= 0 {
            libc::close(fd);
            return 0;
        }
        *libc::__errno_location()
    }

    #[test]
    fn only_allowed_socket_families_are_created() {
        unsafe fn probe() -> i32 {
            let mut bad = 0;
            // Refused by the filter whether or not the kernel knows the family (38 is AF_ALG).
            let refused =
                [(1, libc::AF_VSOCK), (2, libc::AF_INET), (4, libc::AF_INET6), (8, libc::AF_PACKET), (16, 38)];
            for (bit, domain) in refused {
                if socket_errno(domain) != libc::EACCES {
                    bad |= bit;
                }
            }
            if socket_errno(libc::AF_UNIX) != 0 {
                bad |= 32;
            }
            bad
        }
        let plan = SeccompPlan { block_exec: true, block_inet: true, block_unix: false };
        assert_eq!(probe_in_child(plan, probe), 0);
    }

    #[test]
    fn the_network_policy_keeps_vsock_out() {
        unsafe fn probe() -> i32 {
            let mut bad = 0;
            if socket_errno(libc::AF_VSOCK) != libc::EACCES {
                bad |= 1;
            }
            if socket_errno(libc::AF_INET) == libc::EACCES {
                bad |= 2;
            }
            if socket_errno(libc::AF_UNIX) != libc::EACCES {
                bad |= 4;
            }
            bad
        }
        let plan = SeccompPlan { block_exec: false, block_inet: false, block_unix: true };
        assert_eq!(probe_in_child(plan, probe), 0);
    }

    #[test]
    fn the_child_holds_no_capabilities() {
        unsafe fn probe() -> i32 {
            let header = CapHeader { version: 0x2008_0522, pid: 0 };
            let mut data = [CapData { effective: 1, permitted: 1, inheritable: 1 }; 2];
            if libc::syscall(libc::SYS_capget, &header as *const CapHeader, data.as_mut_ptr()) != 0 {
                return 1;
            }
            let any = data.iter().any(|d| d.effective != 0 || d.permitted != 0 || d.inheritable != 0);
            let bounding = libc::prctl(libc::PR_CAPBSET_READ, 12 /* CAP_NET_ADMIN */, 0, 0, 0);
            (any as i32) * 2 + (bounding == 1 && libc::geteuid() == 0) as i32 * 4
        }
        let plan = SeccompPlan { block_exec: false, block_inet: false, block_unix: false };
        assert_eq!(probe_in_child(plan, probe), 0);
    }

    #[test]
    fn host_ipc_objects_are_out_of_reach() {
        unsafe fn probe() -> i32 {
            let mut bad = 0;
            if libc::shmget(libc::IPC_PRIVATE, 4096, libc::IPC_CREAT | 0o600) != -1
                || *libc::__errno_location() != libc::EACCES
            {
                bad |= 1;
            }
            if libc::msgget(libc::IPC_PRIVATE, libc::IPC_CREAT | 0o600) != -1
                || *libc::__errno_location() != libc::EACCES
            {
                bad |= 2;
            }
            if libc::syscall(libc::SYS_mq_open, c"tr-probe".as_ptr(), libc::O_RDONLY) != -1
                || *libc::__errno_location() != libc::EACCES
            {
                bad |= 4;
            }
            bad
        }
        let plan = SeccompPlan { block_exec: false, block_inet: false, block_unix: false };
        assert_eq!(probe_in_child(plan, probe), 0);
    }
}
