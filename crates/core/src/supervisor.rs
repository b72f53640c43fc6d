//! Process supervision: spawning a runtime in its own process group with a private channel on
//! fd 3, capturing the tails of stdout/stderr without ever blocking the child, and killing the
//! whole group. The sandbox is entered between fork and exec; this module owns the `execve` so
//! the sandbox's seccomp filter can tell the runtime's own exec from any later one.

use std::ffi::{CString, OsString};
use std::io;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use tokio::io::AsyncReadExt;
use tokio::task::JoinHandle;

use crate::sandbox::ChildSandbox;

pub use crate::fdpass::CHANNEL_FD;

/// The last `cap` bytes a stream produced, and how many it produced in all.
#[derive(Debug, Default)]
pub struct Tail {
    buf: std::collections::VecDeque<u8>,
    cap: usize,
    pub total: u64,
    /// The current call's line-by-line listener (`onLog`), if it has one.
    pub live: Option<crate::worker::LineSink>,
}

impl Tail {
    pub fn new(cap: usize) -> Self {
        Tail { buf: Default::default(), cap, total: 0, live: None }
    }

    fn push(&mut self, data: &[u8]) {
        self.total += data.len() as u64;
        if let Some(live) = &mut self.live {
            live.push(data);
        }
        if self.cap == 0 {
            return;
        }
        let data = if data.len() > self.cap { &data[data.len() - self.cap..] } else { data };
        let overflow = (self.buf.len() + data.len()).saturating_sub(self.cap);
        self.buf.drain(..overflow);
        self.buf.extend(data);
    }

    pub fn text(&self) -> String {
        let (a, b) = self.buf.as_slices();
        let mut v = Vec::with_capacity(a.len() + b.len());
        v.extend_from_slice(a);
        v.extend_from_slice(b);
        String::from_utf8_lossy(&v).into_owned()
    }
}

pub type SharedTail = Arc<Mutex<Tail>>;

pub struct SpawnRequest {
    pub program: PathBuf,
    pub args: Vec<OsString>,
    pub env: Vec<(String, String)>,
    pub cwd: PathBuf,
    pub sandbox: Option<ChildSandbox>,
    pub tail_cap: usize,
    /// Open `cgroup.procs` files the child joins before anything else.
    pub cgroup_procs: Vec<RawFd>,
    pub rlimits: Option<crate::limits::Rlimits>,
    /// The child hands over the egress proxy's listener (see the sandbox) before it execs.
    pub receive_listener: bool,
}

pub struct Spawned {
    pub child: tokio::process::Child,
    pub pid: i32,
    pub channel: tokio::net::UnixStream,
    pub stdout: Capture,
    pub stderr: Capture,
    /// The egress proxy's listener, created by the child inside its network namespace.
    pub listener: Option<OwnedFd>,
    /// Inode of the child's end of the channel (`/proc/<pid>/fd/3` shows `socket:[inode]`).
    pub channel_inode: u64,
    /// The spawned process is the init binary's waiter: the runtime runs in a PID namespace
    /// below it (see [`ProcessTree::in_pid_namespace`]).
    pub pid_namespace: bool,
}

/// The processes of a call, as the host sees them. With a PID namespace the spawned process
/// (`pid`) only waits; the namespace's init and the runtime are its children.
#[derive(Debug, Clone, Copy)]
pub struct ProcessTree {
    /// The runtime process itself (its fds, its memory).
    pub runtime: i32,
    /// The process whose descendants (and itself, unless it is a helper) are the call's tree.
    pub root: i32,
    /// Processes of ours in the tree that are not the tool's (the waiter and the init; 0: none).
    pub helpers: [i32; 2],
}

impl ProcessTree {
    pub fn direct(pid: i32) -> Self {
        ProcessTree { runtime: pid, root: pid, helpers: [0, 0] }
    }

    /// The init and the runtime below the waiter `pid`, once both exist (the waiter forks
    /// them after its own exec, so not yet when `spawn` returns).
    pub fn in_pid_namespace(pid: i32) -> Option<Self> {
        let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).ok()?;
        // In the order they were forked: the init first.
        let mut it = children.split_whitespace().filter_map(|c| c.parse::<i32>().ok());
        let (init, runtime) = (it.next()?, it.next()?);
        Some(ProcessTree { runtime, root: pid, helpers: [pid, init] })
    }

    /// How many of the call's processes are ours.
    pub fn helper_count(&self) -> u64 {
        self.helpers.iter().filter(|&&p| p != 0).count() as u64
    }

    /// The tool's processes: the tree without our helpers.
    pub fn sample(&self) -> crate::limits::TreeSample {
        crate::limits::sample_below(self.root, &self.helpers)
    }
}

/// One of the child's output streams, drained to its end by a task that keeps the tail.
pub struct Capture {
    pub tail: SharedTail,
    /// Our own handle on the pipe, to see whether output is still unread.
    fd: Option<OwnedFd>,
    sync: tokio::sync::mpsc::UnboundedSender<tokio::sync::oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Capture {
    fn start<R: tokio::io::AsyncRead + Unpin + Send + 'static>(r: R, fd: Option<OwnedFd>, cap: usize) -> Capture {
        let tail = Arc::new(Mutex::new(Tail::new(cap)));
        let (sync, rx) = tokio::sync::mpsc::unbounded_channel();
        let task = tokio::spawn(drain(r, tail.clone(), rx));
        Capture { tail, fd, sync, task: Some(task) }
    }

    pub fn text(&self) -> String {
        self.tail.lock().unwrap_or_else(|e| e.into_inner()).text()
    }

    pub fn total(&self) -> u64 {
        self.tail.lock().unwrap_or_else(|e| e.into_inner()).total
    }

    /// Returns once everything written to the stream so far has been read and counted: the
    /// pipe is empty, and the drain task has answered a round trip (so bytes it took out of
    /// the pipe just before are in the tail too). Bounded: a stream that never settles (a
    /// tool still printing) is left as it is after about 100 ms.
    pub async fn settle(&self) {
        for _ in 0..50 {
            if self.fd.as_ref().is_none_or(|fd| unread_bytes(fd) == 0) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        let (tx, rx) = tokio::sync::oneshot::channel();
        if self.sync.send(tx).is_ok() {
            let _ = tokio::time::timeout(std::time::Duration::from_millis(50), rx).await;
        }
    }

    /// Waits (bounded) for the stream to end: every process holding its write end is gone.
    pub async fn finish(&mut self, within: std::time::Duration) {
        if let Some(t) = self.task.take() {
            let _ = tokio::time::timeout(within, t).await;
        }
    }
}

/// Bytes waiting unread in a pipe or socket.
pub fn unread_bytes(fd: &OwnedFd) -> usize {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one c_int through the pointer, which points at `n`.
    if unsafe { libc::ioctl(fd.as_raw_fd(), libc::FIONREAD, &mut n) } < 0 {
        return 0;
    }
    n.max(0) as usize
}

/// Whether the child still holds our channel as its fd 3.
pub fn channel_open_in_child(pid: i32, inode: u64) -> bool {
    match std::fs::read_link(format!("/proc/{pid}/fd/{CHANNEL_FD}")) {
        Ok(target) => target.as_os_str().as_bytes() == format!("socket:[{inode}]").as_bytes(),
        // A process we cannot inspect (gone, or not ours): nothing to conclude.
        Err(e) => e.kind() != io::ErrorKind::NotFound,
    }
}

/// Whether `pid` is gone or dying: a zombie (`Z`), dead (`X`), or no longer in `/proc`. Such a
/// process has lost its fds without closing anything on purpose.
pub fn process_exiting(pid: i32) -> bool {
    match std::fs::read(format!("/proc/{pid}/stat")) {
        // The state follows the command name, which is in parentheses and may hold any byte.
        Ok(stat) => match stat.iter().rposition(|&b| b == b')') {
            Some(end) => matches!(stat.get(end + 2), Some(b'Z' | b'X')),
            None => false,
        },
        Err(_) => true,
    }
}

/// Pointers for `execve`, built in the parent so the child only makes syscalls. The path, the
/// argv array and the envp array each sit in a mapping of their own at a random address: the
/// seccomp filter admits only this triple, and a tool must not be able to find it (see
/// [`crate::sandbox::ExecPointers`]).
pub(crate) struct ExecImage {
    _strings: Vec<CString>,
    path: Scattered,
    argv: Scattered,
    envp: Scattered,
}

// SAFETY: the pointers refer into `_strings` and the mappings, owned by the same struct and
// never written after construction; the struct is only read, in the forked child.
unsafe impl Send for ExecImage {}
// SAFETY: as for Send: nothing is written through the pointers after construction.
unsafe impl Sync for ExecImage {}

fn cstring(bytes: &[u8]) -> io::Result<CString> {
    CString::new(bytes).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL byte in an argument"))
}

impl ExecImage {
    pub(crate) fn new(program: &std::path::Path, args: &[OsString], env: &[(String, String)]) -> io::Result<Self> {
        let path = cstring(program.as_os_str().as_bytes())?;
        let mut strings = vec![path];
        let mut argv_idx = vec![0usize];
        for a in args {
            strings.push(cstring(a.as_bytes())?);
            argv_idx.push(strings.len() - 1);
        }
        let mut env_idx = Vec::new();
        for (k, v) in env {
            strings.push(cstring(format!("{k}={v}").as_bytes())?);
            env_idx.push(strings.len() - 1);
        }
        let array = |idx: &[usize]| -> Vec<u8> {
            let mut ptrs: Vec<*const libc::c_char> = idx.iter().map(|&i| strings[i].as_ptr()).collect();
            ptrs.push(std::ptr::null());
            ptrs.iter().flat_map(|p| (*p as usize).to_ne_bytes()).collect()
        };
        let argv = Scattered::new(&array(&argv_idx))?;
        let envp = Scattered::new(&array(&env_idx))?;
        let path = Scattered::new(strings[0].as_bytes_with_nul())?;
        Ok(ExecImage { _strings: strings, path, argv, envp })
    }

    /// Execs the image; returns only on failure.
    ///
    /// # Safety
    /// Replaces the process: call only where nothing must run after a successful exec.
    pub(crate) unsafe fn exec(&self) -> io::Error {
        libc::execve(self.path.at.cast(), self.argv.at.cast(), self.envp.at.cast());
        io::Error::last_os_error()
    }

    pub(crate) fn pointers(&self) -> crate::sandbox::ExecPointers {
        crate::sandbox::ExecPointers { path: self.path.at as u64, argv: self.argv.at as u64, envp: self.envp.at as u64 }
    }
}

/// A read-only copy of some bytes in a private anonymous mapping at a random page of the user
/// address space, at a random 16-byte-aligned offset; unmapped when dropped (the forked child
/// has its own copy until it execs).
struct Scattered {
    base: *mut libc::c_void,
    len: usize,
    at: *const u8,
}

/// Bits of user address space to place mappings in: x86_64 has 47; aarch64 kernels have 39
/// to 48, so the smallest is used there.
const USER_VA_BITS: u32 = if cfg!(target_arch = "x86_64") { 47 } else { 39 };

impl Scattered {
    fn new(bytes: &[u8]) -> io::Result<Self> {
        let page = nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
            .ok()
            .flatten()
            .and_then(|p| u64::try_from(p).ok())
            .unwrap_or(4096)
            .max(4096);
        let top = 1u64 << USER_VA_BITS;
        // Below this sit mmap_min_addr and the program's own image.
        let bottom = 1u64 << 32;
        for _ in 0..64 {
            let offset = rand::random_range(0..page / 16) * 16;
            let len = (offset + bytes.len() as u64).div_ceil(page) * page;
            let addr = rand::random_range(bottom..top - len) & !(page - 1);
            // SAFETY: a fresh anonymous mapping; NOREPLACE never touches an existing one.
            let base = unsafe {
                libc::mmap(
                    addr as *mut libc::c_void,
                    len as usize,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED_NOREPLACE,
                    -1,
                    0,
                )
            };
            if base == libc::MAP_FAILED {
                // EEXIST: that range is taken; any other failure is tried elsewhere too.
                continue;
            }
            // SAFETY: `offset + bytes.len()` fits in the `len` bytes just mapped at `base`.
            let placed = Scattered { base, len: len as usize, at: unsafe { base.cast::<u8>().add(offset as usize) } };
            if base as u64 != addr {
                // A kernel before 4.17 reads the flag as a hint and may put it anywhere.
                continue;
            }
            // SAFETY: `at..at + bytes.len()` lies inside the mapping just made.
            unsafe {
                std::ptr::copy_nonoverlapping(bytes.as_ptr(), placed.at.cast_mut(), bytes.len());
                libc::mprotect(base, placed.len, libc::PROT_READ);
            }
            return Ok(placed);
        }
        Err(io::Error::other("no free random address for the runtime's exec arguments"))
    }
}

impl Drop for Scattered {
    fn drop(&mut self) {
        // SAFETY: the mapping is ours and nothing points into it once the image is dropped.
        unsafe { libc::munmap(self.base, self.len) };
    }
}

/// Moves `fd` to a number >= 10 (close-on-exec), so the stdio set-up in the child can never
/// clobber it even when the host runs with fds 0-2 closed.
fn high_fd(fd: OwnedFd) -> io::Result<OwnedFd> {
    // SAFETY: F_DUPFD_CLOEXEC takes an integer and returns a new fd or -1.
    let n = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 10) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `n` is a fresh fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(n) })
}

pub fn spawn(mut req: SpawnRequest) -> io::Result<Spawned> {
    let (parent_end, child_end) = std::os::unix::net::UnixStream::pair()?;
    let child_end = high_fd(OwnedFd::from(child_end))?;
    let child_fd = child_end.as_raw_fd();
    let channel_inode = { nix::sys::stat::fstat(&child_end).map(|st| st.st_ino).unwrap_or(0) };
    let host_pid = std::process::id() as i32;
    // With a PID namespace the host execs the init binary, which confines and execs the
    // runtime (see `sandbox::init`); the host's child then only sets up the namespaces.
    let init = req.sandbox.as_ref().and_then(|s| s.init_program()).map(std::path::Path::to_path_buf);
    let pid_namespace = init.is_some();
    let mut cmd = std::process::Command::new(init.as_deref().unwrap_or(&req.program));
    cmd.current_dir(&req.cwd)
        .env_clear()
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let receive_listener = req.receive_listener && req.sandbox.as_ref().is_some_and(|s| s.proxy_listener);
    let mut image = None;
    let mut init_fds: Vec<OwnedFd> = Vec::new();
    let sandbox = match req.sandbox.take() {
        Some(sb) if pid_namespace => {
            let exec = crate::sandbox::init::Exec {
                program: req.program.clone().into_os_string(),
                args: req.args.clone(),
                env: req.env.clone(),
            };
            let plan = high_fd(sb.init_plan(exec).to_memfd()?)?;
            cmd.arg("--plan").arg(plan.as_raw_fd().to_string());
            init_fds.push(plan);
            if let Some(ruleset) = sb.ruleset_fd() {
                let ruleset = high_fd(ruleset.try_clone_to_owned()?)?;
                cmd.arg("--ruleset").arg(ruleset.as_raw_fd().to_string());
                init_fds.push(ruleset);
            }
            Some(Arc::new(sb))
        }
        Some(mut sb) => {
            let img = ExecImage::new(&req.program, &req.args, &req.env)?;
            sb.prepare(img.pointers())?;
            image = Some(Arc::new(img));
            Some(Arc::new(sb))
        }
        None => {
            image = Some(Arc::new(ExecImage::new(&req.program, &req.args, &req.env)?));
            None
        }
    };
    let exec = image.clone();
    let pass_fds: Vec<RawFd> = init_fds.iter().map(|fd| fd.as_raw_fd()).collect();
    let cgroup_procs = req.cgroup_procs.clone();
    let rlimits = req.rlimits;
    // SAFETY: the closure runs in the forked child and only makes raw syscalls on memory that
    // was fully built before the fork (no allocation, no locks).
    unsafe {
        cmd.pre_exec(move || {
            if libc::dup2(child_fd, CHANNEL_FD) < 0 {
                return Err(io::Error::last_os_error());
            }
            // If the orchestrator dies, its tools die with it.
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0);
            if libc::getppid() != host_pid {
                libc::_exit(1);
            }
            crate::limits::join_cgroups(&cgroup_procs)?;
            if let Some(r) = &rlimits {
                r.apply()?;
            }
            if let Some(sb) = &sandbox {
                sb.enter()?;
            }
            // Nothing but stdio and the channel crosses into the runtime, whatever the host
            // process inherited without close-on-exec. Marked, not closed: std reports a failed
            // exec through a pipe of its own that must stay open until then.
            const CLOSE_RANGE_CLOEXEC: u32 = 1 << 2;
            libc::syscall(libc::SYS_close_range, 4u32, u32::MAX, CLOSE_RANGE_CLOEXEC);
            // The init binary's plan and ruleset, at the numbers its arguments name.
            for &fd in &pass_fds {
                if libc::fcntl(fd, libc::F_SETFD, 0) != 0 {
                    return Err(io::Error::last_os_error());
                }
            }
            match &exec {
                Some(exec) => Err(exec.exec()),
                // std execs the init binary.
                None => Ok(()),
            }
        });
    }
    // With a PID namespace the spawned process is not killed alone when dropped: it ends once
    // the call's processes are gone (a group kill), and tokio reaps it then.
    let mut child = tokio::process::Command::from(cmd).kill_on_drop(!pid_namespace).spawn()?;
    drop(child_end);
    drop(init_fds);
    let pid = child.id().map(|p| p as i32).unwrap_or(0);
    // spawn() returned after the exec, so the child has sent the listener already: this
    // blocking receive returns at once.
    let listener = if receive_listener {
        use std::os::fd::AsFd;
        match crate::fdpass::recv_fd(parent_end.as_fd()) {
            Ok(fd) => Some(fd),
            Err(e) => {
                kill_group(pid, libc::SIGKILL);
                return Err(e);
            }
        }
    } else {
        None
    };
    parent_end.set_nonblocking(true)?;
    let channel = tokio::net::UnixStream::from_std(parent_end)?;

    let own_fd = |fd: std::os::fd::BorrowedFd<'_>| fd.try_clone_to_owned().ok();
    let (stdout, stderr) = match (child.stdout.take(), child.stderr.take()) {
        (Some(out), Some(err)) => {
            let (out_fd, err_fd) = (own_fd(out.as_fd()), own_fd(err.as_fd()));
            (Capture::start(out, out_fd, req.tail_cap), Capture::start(err, err_fd, req.tail_cap))
        }
        _ => return Err(io::Error::other("the child's output pipes are missing")),
    };
    Ok(Spawned { child, pid, channel, stdout, stderr, listener, channel_inode, pid_namespace })
}

/// Reads a pipe to its end, keeping only the tail, so a tool printing gigabytes never blocks.
/// Between reads it answers `sync` requests: an answer means every byte read before it has
/// been counted. It ends with the stream.
async fn drain<R: tokio::io::AsyncRead + Unpin>(
    mut r: R,
    tail: SharedTail,
    mut sync: tokio::sync::mpsc::UnboundedReceiver<tokio::sync::oneshot::Sender<()>>,
) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        tokio::select! {
            biased;
            n = r.read(&mut buf) => match n {
                Ok(0) | Err(_) => break,
                Ok(n) => tail.lock().unwrap_or_else(|e| e.into_inner()).push(&buf[..n]),
            },
            Some(ack) = sync.recv() => { let _ = ack.send(()); }
        }
    }
    // At the end of the stream every byte is counted: a later `settle` finds the task gone
    // and returns at once.
    drop(sync);
}

/// Sends `sig` to every process in the group led by `pgid`. A group that is already gone is
/// not an error.
pub fn kill_group(pgid: i32, sig: libc::c_int) {
    if pgid > 0 {
        if let Ok(sig) = nix::sys::signal::Signal::try_from(sig) {
            let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pgid), sig);
        }
    }
}

pub fn signal_name(sig: i32) -> String {
    nix::sys::signal::Signal::try_from(sig).map(|s| s.as_str().to_string()).unwrap_or_else(|_| format!("signal {sig}"))
}

pub fn is_transient_spawn_error(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EAGAIN | libc::ETXTBSY | libc::ENOMEM | libc::EMFILE | libc::ENFILE | libc::EINTR | libc::EBUSY)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zombie_or_a_reaped_process_is_exiting_and_a_live_one_is_not() {
        let mut child = std::process::Command::new("sleep").arg("30").spawn().unwrap();
        let pid = child.id() as i32;
        assert!(!process_exiting(pid), "a sleeping process");
        child.kill().unwrap();
        // Killed but not reaped: a zombie until `wait`.
        let until = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while !process_exiting(pid) && std::time::Instant::now() < until {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert!(process_exiting(pid), "a zombie");
        child.wait().unwrap();
        assert!(process_exiting(pid), "a reaped process");
        assert!(!process_exiting(std::process::id() as i32), "this process");
    }

    #[test]
    fn exec_arguments_sit_at_independent_random_addresses() {
        let req = SpawnRequest {
            program: "/bin/echo".into(),
            args: vec!["hi".into()],
            env: vec![("A".into(), "b".into())],
            cwd: "/".into(),
            sandbox: None,
            tail_cap: 0,
            cgroup_procs: vec![],
            rlimits: None,
            receive_listener: false,
        };
        let images: Vec<ExecImage> =
            (0..4).map(|_| ExecImage::new(&req.program, &req.args, &req.env).unwrap()).collect();
        let mut seen = std::collections::HashSet::new();
        for img in &images {
            let p = img.pointers();
            for v in [p.path, p.argv, p.envp] {
                assert!((1 << 32..1 << USER_VA_BITS).contains(&v) && v % 16 == 0, "{v:#x}");
                assert!(seen.insert(v), "{v:#x} drawn twice");
            }
            // SAFETY: the image keeps its strings and pointer arrays mapped while it lives.
            unsafe {
                assert_eq!(std::ffi::CStr::from_ptr(img.path.at.cast()), c"/bin/echo");
                let argv = img.argv.at.cast::<*const libc::c_char>();
                assert_eq!(std::ffi::CStr::from_ptr(*argv.add(1)), c"hi");
                assert!((*argv.add(2)).is_null());
                let envp = img.envp.at.cast::<*const libc::c_char>();
                assert_eq!(std::ffi::CStr::from_ptr(*envp), c"A=b");
            }
        }
        let first = images[0].pointers().path;
        drop(images);
        // Unmapped with the image: the page is free again.
        let page = first & !4095;
        // SAFETY: MAP_FIXED_NOREPLACE never replaces a mapping; a fresh anonymous page.
        let r = unsafe {
            libc::mmap(
                page as *mut _,
                4096,
                libc::PROT_READ,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED_NOREPLACE,
                -1,
                0,
            )
        };
        assert_eq!(r as u64, page);
        // SAFETY: unmaps only the page this test just mapped.
        unsafe { libc::munmap(r, 4096) };
    }

    #[test]
    fn tail_keeps_the_last_bytes_and_counts_all() {
        let mut t = Tail::new(5);
        t.push(b"hello ");
        t.push(b"world");
        assert_eq!(t.text(), "world");
        assert_eq!(t.total, 11);
        t.push(b"0123456789");
        assert_eq!(t.text(), "56789");
    }
}
