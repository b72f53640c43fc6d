//! The seccomp filter: a pure function from the plan and the addresses of the runtime's
//! `execve` arguments to BPF programs, installed by the child between fork and exec.
//!
//! The filter is a denylist (everything not named is allowed) built from an audit of the
//! syscalls that can reach beyond the calling process; SECURITY.md has the table. seccompiler
//! gives a filter one action, so the refusals come as several programs, one per errno, which
//! the kernel stacks (the strictest answer wins; the programs never both refuse one call).
//!
//! Over 500 lines because half of it is the filter's tests: each forks, installs the filter
//! and probes syscalls in the child, and they need the private builders above them.

use std::collections::BTreeMap;
use std::io;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter, SeccompRule, TargetArch,
};

/// What the seccomp filter refuses beyond what it always refuses.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct SeccompPlan {
    /// Every `execve` but the runtime's own: stops running programs through the dynamic
    /// loader (`ld.so /bin/sh`), which Landlock's execute right alone cannot.
    pub block_exec: bool,
    /// IPv4 and IPv6 sockets. Families other than unix, netlink, IPv4 and IPv6 (vsock, which
    /// reaches the hypervisor's host from any network namespace, packet, and the rest) are
    /// refused whatever the policy says.
    pub block_inet: bool,
    /// Unix sockets (path sockets are not covered by Landlock before ABI 9).
    pub block_unix: bool,
}

/// The three arguments of the runtime's own `execve`. Each lives at an independently random
/// address (see the supervisor's `ExecImage`), and the filter lets `execve` through only when
/// all three match, so a wrong guess of any one gets the same `EACCES` and none can be
/// learned on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExecPointers {
    pub path: u64,
    pub argv: u64,
    pub envp: u64,
}

#[cfg(target_arch = "x86_64")]
const ARCH: TargetArch = TargetArch::x86_64;
#[cfg(target_arch = "aarch64")]
const ARCH: TargetArch = TargetArch::aarch64;

const PRIO_USER: u64 = libc::PRIO_USER as u64;
const IOPRIO_WHO_USER: u64 = 3;
/// The same on x86_64 and arm64; libc's type for it differs between its targets.
const TIOCSTI: u64 = 0x5412;

/// `clone(2)` flags a tool may not pass. `CLONE_PARENT` makes the new process a child of the
/// tool's parent (the orchestrator, which never reaps it, so it stays a zombie and outlives
/// the call's process-group kill); the rest create namespaces, which `unshare` is refused for.
/// `CLONE_NEWTIME` is absent on purpose: in `clone(2)` its bit is part of the exit signal,
/// and only `clone3` (answered `ENOSYS`) can ask for it.
const CLONE_REFUSED: [libc::c_int; 8] = [
    libc::CLONE_PARENT,
    libc::CLONE_NEWUSER,
    libc::CLONE_NEWNS,
    libc::CLONE_NEWPID,
    libc::CLONE_NEWNET,
    libc::CLONE_NEWUTS,
    libc::CLONE_NEWIPC,
    libc::CLONE_NEWCGROUP,
];

type Rules = BTreeMap<i64, Vec<SeccompRule>>;

fn err(e: seccompiler::BackendError) -> io::Error {
    io::Error::other(format!("seccomp filter: {e}"))
}

fn cond(arg: u8, len: SeccompCmpArgLen, op: SeccompCmpOp, v: u64) -> io::Result<SeccompCondition> {
    SeccompCondition::new(arg, len, op, v).map_err(err)
}

fn rule(conds: Vec<SeccompCondition>) -> io::Result<SeccompRule> {
    SeccompRule::new(conds).map_err(err)
}

/// A rule matching when 32-bit argument `arg` is not `v` (pids, `which` and flags are ints:
/// the kernel ignores the upper half, so the filter must too).
fn arg_ne(arg: u8, v: u64) -> io::Result<SeccompRule> {
    rule(vec![cond(arg, SeccompCmpArgLen::Dword, SeccompCmpOp::Ne, v)?])
}

fn arg_eq(arg: u8, v: u64) -> io::Result<SeccompRule> {
    rule(vec![cond(arg, SeccompCmpArgLen::Dword, SeccompCmpOp::Eq, v)?])
}

fn compile(rules: Rules, errno: i32) -> io::Result<BpfProgram> {
    let filter =
        SeccompFilter::new(rules, SeccompAction::Allow, SeccompAction::Errno(errno as u32), ARCH).map_err(err)?;
    filter.try_into().map_err(err)
}

/// The programs to install, in any order.
pub fn build(plan: SeccompPlan, exec: ExecPointers) -> io::Result<Vec<BpfProgram>> {
    Ok(vec![
        refuse_x32(compile(escapes(plan, exec)?, libc::EACCES)?),
        compile(other_processes()?.into_iter().chain(file_modes()?).collect(), libc::EPERM)?,
        {
            // glibc (2.34+) and the runtimes try clone3 first and fall back to clone on ENOSYS;
            // clone3 passes its flags in memory, where a filter cannot look.
            let mut rules = Rules::new();
            rules.insert(libc::SYS_clone3, vec![]);
            compile(rules, libc::ENOSYS)?
        },
    ])
}

/// Ways out of the sandbox, refused with `EACCES` as they always were.
fn escapes(plan: SeccompPlan, exec: ExecPointers) -> io::Result<Rules> {
    let mut rules = Rules::new();
    let always = |rules: &mut Rules, nr: libc::c_long| {
        rules.insert(nr, vec![]);
    };
    if plan.block_exec {
        // Refused when any of the three differs: rules are alternatives, so this is the
        // negation of one rule requiring all three to match.
        let mut differs = Vec::new();
        for (arg, v) in [(0, exec.path), (1, exec.argv), (2, exec.envp)] {
            differs.push(rule(vec![cond(arg, SeccompCmpArgLen::Qword, SeccompCmpOp::Ne, v)?])?);
        }
        rules.insert(libc::SYS_execve, differs);
        always(&mut rules, libc::SYS_execveat);
    }
    // socket(2) is refused for every address family but those allowed: an allowlist, so a
    // family the network namespace does not isolate (AF_VSOCK reaches the hypervisor's
    // host) cannot slip through. Netlink stays: it is per network namespace, and the
    // runtimes list interfaces with it.
    let mut families = vec![libc::AF_NETLINK];
    if !plan.block_unix {
        families.push(libc::AF_UNIX);
    }
    if !plan.block_inet {
        families.extend([libc::AF_INET, libc::AF_INET6]);
    }
    let mut not_allowed = Vec::new();
    for f in families {
        not_allowed.push(cond(0, SeccompCmpArgLen::Dword, SeccompCmpOp::Ne, f as u64)?);
    }
    rules.insert(libc::SYS_socket, vec![rule(not_allowed)?]);
    // io_uring can create and connect sockets without the socket(2) syscall.
    for nr in [libc::SYS_io_uring_setup, libc::SYS_io_uring_enter, libc::SYS_io_uring_register] {
        always(&mut rules, nr);
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
    // SysV IPC and POSIX message queues name host objects by number or by a name outside
    // the filesystem, where Landlock does not look: another process's shared memory would
    // be one shmat away. The runtimes use neither.
    for nr in [
        libc::SYS_shmget,
        libc::SYS_shmat,
        libc::SYS_shmctl,
        libc::SYS_shmdt,
        libc::SYS_msgget,
        libc::SYS_msgsnd,
        libc::SYS_msgrcv,
        libc::SYS_msgctl,
        libc::SYS_semget,
        libc::SYS_semop,
        libc::SYS_semtimedop,
        libc::SYS_semctl,
        libc::SYS_mq_open,
        libc::SYS_mq_unlink,
        libc::SYS_mq_timedsend,
        libc::SYS_mq_timedreceive,
        libc::SYS_mq_notify,
        libc::SYS_mq_getsetattr,
    ] {
        always(&mut rules, nr);
    }
    Ok(rules)
}

/// Syscalls that name a process (or a user's processes) and change it, refused with `EPERM`
/// unless they name the caller itself as 0. Other processes of the same uid (the
/// orchestrator, concurrent calls) pass the kernel's own checks, and neither Landlock nor the
/// namespaces look at these: a tool could lower another call's open-file limit, or make the
/// orchestrator `SCHED_IDLE`. A process must name itself as 0 (what libc and the runtimes do).
fn other_processes() -> io::Result<Rules> {
    let mut rules = Rules::new();
    for nr in [
        libc::SYS_prlimit64,
        libc::SYS_sched_setaffinity,
        libc::SYS_sched_setscheduler,
        libc::SYS_sched_setparam,
        libc::SYS_sched_setattr,
        // Landlock's ptrace restriction refuses these for other processes already; the rule
        // keeps it so without depending on the Landlock ABI.
        libc::SYS_migrate_pages,
        libc::SYS_move_pages,
    ] {
        rules.insert(nr, vec![arg_ne(0, 0)?]);
    }
    // (which, who, ...): `who` 0 is the caller, its process group or its uid. The whole uid
    // includes the orchestrator, so PRIO_USER / IOPRIO_WHO_USER are refused outright.
    rules.insert(libc::SYS_setpriority, vec![arg_ne(1, 0)?, arg_eq(0, PRIO_USER)?]);
    rules.insert(libc::SYS_ioprio_set, vec![arg_ne(1, 0)?, arg_eq(0, IOPRIO_WHO_USER)?]);
    let mut clone = Vec::new();
    for flag in CLONE_REFUSED {
        let flag = flag as u64;
        clone.push(rule(vec![cond(0, SeccompCmpArgLen::Dword, SeccompCmpOp::MaskedEq(flag), flag)?])?);
    }
    rules.insert(libc::SYS_clone, clone);
    // Pushes input into a terminal as if typed: through the controlling terminal the tool
    // shares with the orchestrator (`/dev/tty`, readable under the default policy), a line
    // for the shell that started it. Allowed without privilege where `dev.tty.legacy_tiocsti`
    // is 1.
    rules.insert(libc::SYS_ioctl, vec![arg_eq(1, TIOCSTI)?]);
    // A lease is enforced on everyone: with one on a file its uid owns (any root-owned file
    // under a root orchestrator, the project's own files), a tool stalls every other process's
    // open of that file, the orchestrator's and other calls' included, for the kernel's
    // lease-break time. Tools need advisory locks at most.
    rules.insert(libc::SYS_fcntl, vec![arg_eq(1, libc::F_SETLEASE as u64)?]);
    // Frees the memory of a process being killed, found by pidfd with no permission check of
    // its own: nothing a tool needs, and it reaches other processes.
    rules.insert(libc::SYS_process_mrelease, vec![]);
    Ok(rules)
}

/// fchmodat2(2), numbered alike on x86_64 and arm64 (the libc crate names it on x86_64 only).
const SYS_FCHMODAT2: libc::c_long = 452;

/// Setting the setuid or setgid bit, refused with `EPERM`. Landlock does not cover a file's
/// mode, and a file's owner may change it without privilege: under a root orchestrator a tool
/// could otherwise make any root-owned program (`/bin/bash`) setuid root, for every user of
/// the host. Other mode changes are a known limit (SECURITY.md).
fn file_modes() -> io::Result<Rules> {
    let mut rules = Rules::new();
    let mut setid = |nr: libc::c_long, mode_arg: u8| -> io::Result<()> {
        let mut any = Vec::new();
        for bit in [libc::S_ISUID, libc::S_ISGID] {
            let bit = bit as u64;
            any.push(rule(vec![cond(mode_arg, SeccompCmpArgLen::Dword, SeccompCmpOp::MaskedEq(bit), bit)?])?);
        }
        rules.insert(nr, any);
        Ok(())
    };
    #[cfg(target_arch = "x86_64")]
    setid(libc::SYS_chmod, 1)?;
    setid(libc::SYS_fchmod, 1)?;
    setid(libc::SYS_fchmodat, 2)?;
    setid(SYS_FCHMODAT2, 2)?;
    Ok(rules)
}

/// On x86_64, syscalls of the x32 ABI carry the same audit architecture as native ones with
/// bit 30 set in their number, so a filter keyed on native numbers would not see them. This
/// inserts, right after the architecture check, a refusal of every number with that bit.
fn refuse_x32(bpf: BpfProgram) -> BpfProgram {
    if !cfg!(target_arch = "x86_64") {
        return bpf;
    }
    // seccompiler starts with: load arch; jeq arch, skip 1; ret kill. Anything else is not
    // the layout this splice was written for: keep the filter as built.
    let arch_check_len = 3;
    if bpf.len() < arch_check_len || bpf[2].code != (libc::BPF_RET | libc::BPF_K) as u16 {
        return bpf;
    }
    const X32_SYSCALL_BIT: u32 = 0x4000_0000;
    const SECCOMP_DATA_NR_OFFSET: u32 = 0;
    let stmt = |code: u32, k: u32| seccompiler::sock_filter { code: code as u16, jt: 0, jf: 0, k };
    let guard = [
        stmt(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS, SECCOMP_DATA_NR_OFFSET),
        seccompiler::sock_filter {
            code: (libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K) as u16,
            jt: 0,
            jf: 1,
            k: X32_SYSCALL_BIT,
        },
        stmt(libc::BPF_RET | libc::BPF_K, libc::SECCOMP_RET_ERRNO | libc::EACCES as u32),
    ];
    let mut out = Vec::with_capacity(bpf.len() + guard.len());
    out.extend_from_slice(&bpf[..arch_check_len]);
    out.extend_from_slice(&guard);
    out.extend_from_slice(&bpf[arch_check_len..]);
    out
}

/// Installs the programs on the calling thread (and what it execs).
///
/// # Safety
/// Call only in the forked child, after `PR_SET_NO_NEW_PRIVS`: it makes raw syscalls only.
pub unsafe fn install(programs: &[BpfProgram]) -> io::Result<()> {
    for bpf in programs {
        let prog = libc::sock_fprog { len: bpf.len() as u16, filter: bpf.as_ptr() as *mut libc::sock_filter };
        if libc::syscall(libc::SYS_seccomp, 1 /* SECCOMP_SET_MODE_FILTER */, 0, &prog as *const _) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NONE: ExecPointers = ExecPointers { path: 1, argv: 2, envp: 3 };
    const OPEN: SeccompPlan = SeccompPlan { block_exec: true, block_inet: false, block_unix: false };

    /// Forks, installs the filter alone and reports the probe's result as the exit code.
    fn probe_in_child(programs: &[BpfProgram], probe: &dyn Fn() -> i32) -> i32 {
        super::super::in_forked_child(&|| {
            // SAFETY: in the forked child: prctl and the filter's installation are syscalls.
            let confined =
                unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 && install(programs).is_ok() };
            if !confined {
                return 100;
            }
            probe()
        })
    }

    fn errno() -> i32 {
        // SAFETY: errno is thread-local and always readable.
        unsafe { *libc::__errno_location() }
    }

    /// The errno of a raw syscall, 0 when it succeeded.
    fn sys_errno(r: libc::c_long) -> i32 {
        if r < 0 {
            errno()
        } else {
            0
        }
    }

    /// A process of ours to aim at: a child sleeping until killed.
    struct Victim(libc::pid_t);

    impl Victim {
        fn new() -> Self {
            // SAFETY: test-only raw syscalls on objects this test owns.
            unsafe {
                let pid = libc::fork();
                assert!(pid >= 0);
                if pid == 0 {
                    libc::pause();
                    libc::_exit(0);
                }
                Victim(pid)
            }
        }
    }

    impl Drop for Victim {
        fn drop(&mut self) {
            // SAFETY: test-only raw syscalls on objects this test owns.
            unsafe {
                libc::kill(self.0, libc::SIGKILL);
                libc::waitpid(self.0, std::ptr::null_mut(), 0);
            }
        }
    }

    #[test]
    fn other_processes_are_out_of_reach_and_the_caller_is_not() {
        let victim = Victim::new();
        let other = victim.0 as libc::c_long;
        let progs = build(OPEN, NONE).unwrap();
        // SAFETY: runs in the forked child; raw syscalls on its own memory only.
        let probe = move || unsafe {
            let lim = libc::rlimit { rlim_cur: 64, rlim_max: 64 };
            let none = std::ptr::null_mut::<libc::rlimit>();
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(0, &mut set);
            let size = std::mem::size_of::<libc::cpu_set_t>();
            let param = libc::sched_param { sched_priority: 0 };
            // sched_attr: size, policy (SCHED_IDLE), flags, nice, priority, ...
            let attr: [u32; 12] = [48, libc::SCHED_IDLE as u32, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
            let idle_ioprio = 3 << 13;
            let mask: u64 = 1;
            let refused = [
                libc::syscall(libc::SYS_prlimit64, other, libc::RLIMIT_NOFILE, &lim, none),
                libc::syscall(libc::SYS_setpriority, libc::PRIO_PROCESS, other, 19),
                libc::syscall(libc::SYS_sched_setaffinity, other, size, &set),
                libc::syscall(libc::SYS_sched_setscheduler, other, libc::SCHED_IDLE, &param),
                libc::syscall(libc::SYS_sched_setparam, other, &param),
                libc::syscall(libc::SYS_sched_setattr, other, attr.as_ptr(), 0),
                libc::syscall(libc::SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, other, idle_ioprio),
                libc::syscall(libc::SYS_migrate_pages, other, 64, &mask, &mask),
                libc::syscall(libc::SYS_move_pages, other, 0, none, none, none, 0),
                libc::syscall(libc::SYS_process_mrelease, libc::syscall(libc::SYS_pidfd_open, other, 0), 0),
            ];
            // The exit code names the first attempt that was not refused.
            for (i, r) in refused.into_iter().enumerate() {
                if sys_errno(r) != libc::EPERM {
                    return i as i32 + 1;
                }
            }
            for (i, flags) in CLONE_REFUSED.into_iter().enumerate() {
                let r = libc::syscall(libc::SYS_clone, flags | libc::SIGCHLD, 0, 0, 0, 0);
                if r == 0 {
                    // A clone that got through: the child leaves at once.
                    libc::_exit(0);
                }
                if sys_errno(r) != libc::EPERM {
                    return 32 + i as i32;
                }
            }
            if sys_errno(libc::syscall(libc::SYS_clone3, std::ptr::null::<u8>(), 0)) != libc::ENOSYS {
                return 64;
            }
            // The same on itself, named as 0, works.
            let own = [
                libc::syscall(libc::SYS_prlimit64, 0, libc::RLIMIT_NOFILE, &lim, none),
                libc::syscall(libc::SYS_setpriority, libc::PRIO_PROCESS, 0, 19),
                libc::syscall(libc::SYS_sched_setaffinity, 0, size, &set),
                libc::syscall(libc::SYS_sched_setattr, 0, attr.as_ptr(), 0),
                libc::syscall(libc::SYS_ioprio_set, 1, 0, idle_ioprio),
            ];
            if let Some(i) = own.iter().position(|&r| r < 0) {
                return 128 + i as i32;
            }
            // Every process of the caller's uid: tried as a uid nothing else runs as, so that
            // a filter letting them through renices nothing but this process.
            if libc::geteuid() == 0 && libc::setresuid(4_000_123, 4_000_123, 4_000_123) != 0 {
                return 90;
            }
            let user_wide = [
                libc::syscall(libc::SYS_setpriority, libc::PRIO_USER, 0, 19),
                libc::syscall(libc::SYS_ioprio_set, IOPRIO_WHO_USER, 0, idle_ioprio),
            ];
            match user_wide.iter().position(|&r| sys_errno(r) != libc::EPERM) {
                Some(i) => 96 + i as i32,
                None => 0,
            }
        };
        assert_eq!(probe_in_child(&progs, &probe), 0);
    }

    #[test]
    fn clone_without_refused_flags_and_threads_work() {
        let progs = build(OPEN, NONE).unwrap();
        // SAFETY: runs in the forked child; raw syscalls on its own memory only.
        let probe = || unsafe {
            let pid = libc::syscall(libc::SYS_clone, libc::SIGCHLD, 0, 0, 0, 0);
            if pid == 0 {
                libc::_exit(7);
            }
            let mut status = 0;
            if pid < 0 || libc::waitpid(pid as i32, &mut status, 0) != pid as i32 || libc::WEXITSTATUS(status) != 7 {
                return 1;
            }
            // std's threads go through glibc's clone3-then-clone.
            match std::thread::spawn(|| 5).join() {
                Ok(5) => 0,
                _ => 2,
            }
        };
        assert_eq!(probe_in_child(&progs, &probe), 0);
    }

    #[test]
    fn execve_needs_all_three_pointers_and_each_wrong_one_answers_alike() {
        // Each wrong triple would run something that exits with its own code.
        let path = c"/bin/sh";
        let (dash_c, script) = (c"-c", c"exit ${CODE:-42}");
        let argv = [path.as_ptr(), dash_c.as_ptr(), script.as_ptr(), std::ptr::null()];
        let envp = [std::ptr::null::<libc::c_char>()];
        let right = ExecPointers { path: path.as_ptr() as u64, argv: argv.as_ptr() as u64, envp: envp.as_ptr() as u64 };
        let progs = build(OPEN, right).unwrap();
        // SAFETY: runs in the forked child; raw syscalls on its own memory only.
        let probe = || unsafe {
            let other_path = c"/bin/false";
            let other_script = c"exit 3";
            let other_argv = [path.as_ptr(), dash_c.as_ptr(), other_script.as_ptr(), std::ptr::null()];
            let code = c"CODE=5";
            let other_envp = [code.as_ptr(), std::ptr::null()];
            let unmapped = 8usize as *const libc::c_char;
            type Triple = (*const libc::c_char, *const *const libc::c_char, *const *const libc::c_char);
            let wrong: [Triple; 6] = [
                (other_path.as_ptr(), argv.as_ptr(), envp.as_ptr()),
                (path.as_ptr(), other_argv.as_ptr(), envp.as_ptr()),
                (path.as_ptr(), argv.as_ptr(), other_envp.as_ptr()),
                // Unmapped memory in any one place: the same answer, no EFAULT to learn from.
                (unmapped, argv.as_ptr(), envp.as_ptr()),
                (path.as_ptr(), unmapped.cast(), envp.as_ptr()),
                (path.as_ptr(), argv.as_ptr(), unmapped.cast()),
            ];
            for (i, (p, a, e)) in wrong.into_iter().enumerate() {
                if libc::execve(p, a, e) != -1 || errno() != libc::EACCES {
                    return 10 + i as i32;
                }
            }
            libc::execve(path.as_ptr(), argv.as_ptr(), envp.as_ptr());
            2
        };
        // The shell ran with the right triple.
        assert_eq!(probe_in_child(&progs, &probe), 42);
    }

    /// In a new session with a pty as its controlling terminal, the errno of pushing a byte
    /// into the terminal's input (0 when it went in).
    fn push_into_terminal(filtered: bool) -> i32 {
        let progs = build(OPEN, NONE).unwrap();
        // SAFETY: test-only fork; the child makes raw syscalls and _exits.
        unsafe {
            let pid = libc::fork();
            assert!(pid >= 0);
            if pid == 0 {
                let master = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY);
                if master < 0 || libc::grantpt(master) != 0 || libc::unlockpt(master) != 0 || libc::setsid() < 0 {
                    libc::_exit(100);
                }
                // Opened without O_NOCTTY by a session leader: its controlling terminal.
                let tty = libc::open(libc::ptsname(master), libc::O_RDWR);
                if tty < 0 {
                    libc::_exit(101);
                }
                if filtered && (libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || install(&progs).is_err()) {
                    libc::_exit(102);
                }
                let c = b'x';
                libc::_exit(sys_errno(libc::ioctl(tty, libc::TIOCSTI, &c) as libc::c_long));
            }
            let mut status = 0;
            assert_eq!(libc::waitpid(pid, &mut status, 0), pid);
            libc::WEXITSTATUS(status)
        }
    }

    /// The errno of taking a read lease on a file of ours (0 when it was taken).
    fn take_lease(filtered: bool) -> i32 {
        let file = std::env::temp_dir().join(format!("tr-seccomp-lease-{}-{filtered}", std::process::id()));
        std::fs::write(&file, b"").unwrap();
        let path = std::ffi::CString::new(file.as_os_str().as_encoded_bytes()).unwrap();
        let progs = build(OPEN, NONE).unwrap();
        let errno = probe_in_child(if filtered { &progs } else { &[] }, &|| {
            // SAFETY: in the forked child: open and fcntl on a path that outlives the call.
            unsafe {
                let fd = libc::open(path.as_ptr(), libc::O_RDONLY);
                sys_errno(libc::fcntl(fd, libc::F_SETLEASE, libc::F_RDLCK) as libc::c_long)
            }
        });
        std::fs::remove_file(&file).unwrap();
        errno
    }

    #[test]
    fn no_lease_is_taken_on_a_file() {
        assert_eq!(take_lease(false), 0, "the unfiltered twin could not take a lease");
        assert_eq!(take_lease(true), libc::EPERM);
    }

    #[test]
    fn nothing_is_typed_into_a_terminal() {
        assert_eq!(push_into_terminal(false), 0, "the unfiltered twin could not push input");
        assert_eq!(push_into_terminal(true), libc::EPERM);
    }

    #[test]
    fn no_setuid_or_setgid_bit_is_set_and_other_modes_are() {
        let file = std::env::temp_dir().join(format!("tr-seccomp-mode-{}", std::process::id()));
        std::fs::write(&file, b"").unwrap();
        let path = std::ffi::CString::new(file.as_os_str().as_encoded_bytes()).unwrap();
        let progs = build(OPEN, NONE).unwrap();
        // SAFETY: runs in the forked child; raw syscalls on its own memory only.
        let probe = || unsafe {
            let fd = libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC);
            let refused = [
                libc::chmod(path.as_ptr(), 0o4755),
                libc::chmod(path.as_ptr(), 0o2755),
                libc::fchmod(fd, 0o6755),
                libc::fchmodat(libc::AT_FDCWD, path.as_ptr(), 0o4700, 0),
            ];
            if let Some(i) = refused.iter().position(|&r| r != -1 || errno() != libc::EPERM) {
                return 1 + i as i32;
            }
            if sys_errno(libc::syscall(SYS_FCHMODAT2, libc::AT_FDCWD, path.as_ptr(), 0o4700, 0)) != libc::EPERM {
                return 10;
            }
            if libc::fchmod(fd, 0o640) != 0 || libc::chmod(path.as_ptr(), 0o600) != 0 {
                return 20;
            }
            0
        };
        let r = probe_in_child(&progs, &probe);
        let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&file).unwrap().permissions());
        std::fs::remove_file(&file).unwrap();
        assert_eq!(r, 0);
        assert_eq!(mode & 0o7777, 0o600);
    }

    #[test]
    fn x32_syscalls_are_refused_right_after_the_arch_check() {
        let progs = build(SeccompPlan { block_exec: true, block_inet: true, block_unix: true }, NONE).unwrap();
        if cfg!(target_arch = "x86_64") {
            assert_eq!(progs[0][4].k, 0x4000_0000);
            assert_eq!(progs[0][5].k, libc::SECCOMP_RET_ERRNO | libc::EACCES as u32);
        }
    }
}
