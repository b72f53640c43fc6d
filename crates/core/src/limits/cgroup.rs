//! cgroups: a group per call holding its whole process tree, v2 where it is delegated to us,
//! else the v1 memory, pids and cpuacct controllers where we may create groups (as root).

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use super::{LimitSupport, Limits};

#[derive(Debug, Clone)]
enum Backend {
    /// cgroup v2, with the controllers that could be enabled below our base (CPU time is read
    /// from `cpu.stat`, which every v2 group has).
    V2 {
        base: PathBuf,
        memory: bool,
        pids: bool,
    },
    V1 {
        memory: Option<PathBuf>,
        pids: Option<PathBuf>,
        cpuacct: Option<PathBuf>,
    },
    None,
}

static BACKEND: OnceLock<Backend> = OnceLock::new();

fn backend() -> &'static Backend {
    BACKEND.get_or_init(probe)
}

/// The mechanism behind each limit on this machine.
pub(super) fn support() -> LimitSupport {
    match backend() {
        Backend::V2 { memory, pids, .. } => LimitSupport {
            memory: if *memory { "cgroup-v2" } else { "watchdog" },
            cpu: "cgroup-v2",
            processes: if *pids { "cgroup-v2" } else { "watchdog" },
            file_size: "rlimit",
        },
        Backend::V1 { memory, pids, cpuacct } => LimitSupport {
            memory: if memory.is_some() { "cgroup-v1" } else { "watchdog" },
            cpu: if cpuacct.is_some() { "cgroup-v1" } else { "watchdog" },
            processes: if pids.is_some() { "cgroup-v1" } else { "watchdog" },
            file_size: "rlimit",
        },
        Backend::None => {
            LimitSupport { memory: "watchdog", cpu: "watchdog", processes: "watchdog", file_size: "rlimit" }
        }
    }
}

/// Our own cgroup path for `controller` (`""` for the v2 hierarchy).
fn own_cgroup(controller: &str) -> Option<String> {
    let text = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    text.lines().find_map(|l| {
        let mut parts = l.splitn(3, ':');
        let (_, ctrls, path) = (parts.next()?, parts.next()?, parts.next()?);
        if controller.is_empty() {
            (ctrls.is_empty()).then(|| path.to_string())
        } else {
            ctrls.split(',').any(|c| c == controller).then(|| path.to_string())
        }
    })
}

/// Creates (or reuses) `<our cgroup>/tool-runtime-<pid>` and checks we can make groups in it.
fn make_base(mount: &Path, own: &str) -> Option<PathBuf> {
    let base = mount.join(own.trim_start_matches('/')).join(format!("tool-runtime-{}", std::process::id()));
    std::fs::create_dir_all(&base).ok()?;
    let probe = base.join("probe");
    std::fs::create_dir(&probe).ok()?;
    let ok = std::fs::OpenOptions::new().write(true).open(probe.join("cgroup.procs")).is_ok();
    let _ = std::fs::remove_dir(&probe);
    ok.then_some(base)
}

fn probe() -> Backend {
    // cgroup v2, delegated to us: each controller we want is enabled on its own, so one the
    // kernel refuses (not delegated, or absent) does not take the others down with it.
    if let Some(own) = own_cgroup("") {
        let mount = Path::new("/sys/fs/cgroup");
        let unified =
            if mount.join("cgroup.controllers").exists() { mount.to_path_buf() } else { mount.join("unified") };
        let dir = unified.join(own.trim_start_matches('/'));
        let ctrls = std::fs::read_to_string(dir.join("cgroup.controllers")).unwrap_or_default();
        let offered: Vec<&str> = ctrls.split_whitespace().collect();
        if offered.contains(&"memory") || offered.contains(&"pids") {
            if let Some(base) = make_base(&unified, &own) {
                let control = base.join("cgroup.subtree_control");
                let enabled = enable_each(&["memory", "pids", "cpu"], |c| std::fs::write(&control, format!("+{c}")));
                let memory = enabled.contains(&"memory");
                let pids = enabled.contains(&"pids");
                if memory || pids {
                    return Backend::V2 { base, memory, pids };
                }
            }
        }
    }
    let v1 = |ctrl: &str| -> Option<PathBuf> {
        let own = own_cgroup(ctrl)?;
        let mount = Path::new("/sys/fs/cgroup").join(ctrl);
        if !mount.join("cgroup.procs").exists() {
            return None;
        }
        make_base(&mount, &own)
    };
    let (memory, pids, cpuacct) = (v1("memory"), v1("pids"), v1("cpuacct"));
    if memory.is_none() && pids.is_none() && cpuacct.is_none() {
        return Backend::None;
    }
    Backend::V1 { memory, pids, cpuacct }
}

/// Enables each controller with its own write (the kernel rejects a whole multi-controller
/// write when any one of them fails) and returns those that took.
fn enable_each<'a>(wanted: &[&'a str], mut write: impl FnMut(&str) -> io::Result<()>) -> Vec<&'a str> {
    wanted.iter().copied().filter(|c| write(c).is_ok()).collect()
}

/// Threads per process the task limit allows for: `maxProcesses` counts processes, while the
/// kernel's pids controller counts threads too (node starts about 7, bun 2, more on big
/// machines).
fn tasks_per_process() -> u64 {
    let cpus = std::thread::available_parallelism().map(|n| n.get() as u64).unwrap_or(4);
    16 + 2 * cpus
}

/// The cgroup(s) of one call. The child joins them between fork and exec; they are removed
/// when the call is over.
#[derive(Debug)]
pub struct CallGroup {
    dirs: Vec<PathBuf>,
    procs: Vec<OwnedFd>,
    v2: bool,
    memory: Option<PathBuf>,
    pids: Option<PathBuf>,
    cpu: Option<PathBuf>,
}

fn open_write(path: &Path) -> io::Result<OwnedFd> {
    // std opens with O_CLOEXEC: the fd reaches the child only as the number it writes to.
    Ok(OwnedFd::from(std::fs::OpenOptions::new().write(true).open(path)?))
}

impl CallGroup {
    /// Creates the call's groups for the tree limits in `limits`; `None` when no cgroup is
    /// available or needed (the watchdog then samples /proc).
    pub fn create(limits: &Limits, name: &str) -> io::Result<Option<CallGroup>> {
        if !limits.any_tree_limit() {
            return Ok(None);
        }
        let mut g = CallGroup { dirs: vec![], procs: vec![], v2: false, memory: None, pids: None, cpu: None };
        let mk = |base: &Path| -> io::Result<PathBuf> {
            let d = base.join(name);
            std::fs::create_dir(&d)?;
            Ok(d)
        };
        match backend() {
            Backend::None => return Ok(None),
            Backend::V2 { base, memory, pids } => {
                let d = mk(base)?;
                g.dirs.push(d.clone());
                g.v2 = true;
                if let (true, Some(mb)) = (*memory, limits.memory_limit_mb) {
                    std::fs::write(d.join("memory.max"), (mb * 1024 * 1024).to_string())?;
                    let _ = std::fs::write(d.join("memory.swap.max"), "0");
                    g.memory = Some(d.clone());
                }
                if let (true, Some(n)) = (*pids, limits.max_processes) {
                    std::fs::write(d.join("pids.max"), (n * tasks_per_process()).to_string())?;
                    g.pids = Some(d.clone());
                }
                g.procs.push(open_write(&d.join("cgroup.procs"))?);
                g.cpu = Some(d);
            }
            Backend::V1 { memory, pids, cpuacct } => {
                if let (Some(base), Some(mb)) = (memory, limits.memory_limit_mb) {
                    let d = mk(base)?;
                    g.dirs.push(d.clone());
                    std::fs::write(d.join("memory.limit_in_bytes"), (mb * 1024 * 1024).to_string())?;
                    // Without swap accounting the file is absent; the plain limit still holds.
                    let _ = std::fs::write(d.join("memory.memsw.limit_in_bytes"), (mb * 1024 * 1024).to_string());
                    g.procs.push(open_write(&d.join("cgroup.procs"))?);
                    g.memory = Some(d);
                }
                if let (Some(base), Some(n)) = (pids, limits.max_processes) {
                    let d = mk(base)?;
                    g.dirs.push(d.clone());
                    std::fs::write(d.join("pids.max"), (n * tasks_per_process()).to_string())?;
                    g.procs.push(open_write(&d.join("cgroup.procs"))?);
                    g.pids = Some(d);
                }
                if let (Some(base), Some(_)) = (cpuacct, limits.cpu_time_limit_ms) {
                    let d = mk(base)?;
                    g.dirs.push(d.clone());
                    g.procs.push(open_write(&d.join("cgroup.procs"))?);
                    g.cpu = Some(d);
                }
                if g.dirs.is_empty() {
                    return Ok(None);
                }
            }
        }
        Ok(Some(g))
    }

    /// The open `cgroup.procs` files the child writes its pid to.
    pub fn procs_fds(&self) -> Vec<std::os::fd::RawFd> {
        self.procs.iter().map(|f| f.as_raw_fd()).collect()
    }

    /// Moves the calling (forked) process into the groups.
    ///
    /// # Safety
    /// Call only between fork and exec: raw syscalls, no allocation.
    pub unsafe fn join(&self) -> io::Result<()> {
        join_cgroups(&self.procs_fds())
    }

    fn read(dir: &Option<PathBuf>, file: &str) -> Option<String> {
        std::fs::read_to_string(dir.as_ref()?.join(file)).ok()
    }

    fn keyed(text: &str, key: &str) -> Option<u64> {
        text.lines().find_map(|l| {
            let (k, v) = l.split_once(' ')?;
            (k == key).then(|| v.trim().parse().ok()).flatten()
        })
    }

    /// Whether the kernel OOM-killed something in the group.
    pub fn oom_killed(&self) -> bool {
        let file = if self.v2 { "memory.events" } else { "memory.oom_control" };
        Self::read(&self.memory, file).and_then(|t| Self::keyed(&t, "oom_kill")).unwrap_or(0) > 0
    }

    /// Starts the peak-memory figure afresh (a reused worker's next call).
    pub fn reset_memory_peak(&self) {
        if let (Some(d), false) = (&self.memory, self.v2) {
            let _ = std::fs::write(d.join("memory.max_usage_in_bytes"), "0");
        }
    }

    /// Peak memory of the group in bytes.
    pub fn memory_peak(&self) -> Option<u64> {
        let file = if self.v2 { "memory.peak" } else { "memory.max_usage_in_bytes" };
        Self::read(&self.memory, file)?.trim().parse().ok()
    }

    /// Whether a fork failed at the task limit.
    pub fn pids_limit_hit(&self) -> bool {
        Self::read(&self.pids, "pids.events").and_then(|t| Self::keyed(&t, "max")).unwrap_or(0) > 0
    }

    /// Processes (not threads) in the group, from the pids (or any) group.
    pub fn process_count(&self) -> Option<u64> {
        let dir = self.pids.as_ref().or(self.dirs.first())?;
        Some(std::fs::read_to_string(dir.join("cgroup.procs")).ok()?.lines().count() as u64)
    }

    /// CPU time used by the group, in milliseconds.
    pub fn cpu_ms(&self) -> Option<u64> {
        if self.v2 {
            let t = Self::read(&self.cpu, "cpu.stat")?;
            return Self::keyed(&t, "usage_usec").map(|us| us / 1000);
        }
        Self::read(&self.cpu, "cpuacct.usage")?.trim().parse::<u64>().ok().map(|ns| ns / 1_000_000)
    }

    /// Every pid in the group (for the final kill: members may have left the process group).
    pub fn pids(&self) -> Vec<i32> {
        let mut out = Vec::new();
        for d in &self.dirs {
            if let Ok(t) = std::fs::read_to_string(d.join("cgroup.procs")) {
                out.extend(t.lines().filter_map(|l| l.trim().parse::<i32>().ok()));
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Kills every process in the group and removes the groups once they are empty.
    pub async fn destroy(mut self) {
        self.kill_all();
        for _ in 0..50 {
            let pids = self.pids();
            if pids.is_empty() {
                break;
            }
            self.kill_all();
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        for d in std::mem::take(&mut self.dirs) {
            for _ in 0..20 {
                if std::fs::remove_dir(&d).is_ok() || !d.exists() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }

    fn kill_all(&self) {
        if self.v2 {
            if let Some(d) = self.dirs.first() {
                let _ = std::fs::write(d.join("cgroup.kill"), "1");
            }
        }
        for p in self.pids() {
            // A pid that is already gone is an error worth ignoring.
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(p), nix::sys::signal::Signal::SIGKILL);
        }
    }
}

impl Drop for CallGroup {
    /// A group dropped without [`CallGroup::destroy`] (a worker dropped on an unusual path):
    /// kill its members now and remove the directories once the kernel has emptied them, off
    /// the caller's thread.
    fn drop(&mut self) {
        if self.dirs.is_empty() {
            return;
        }
        self.kill_all();
        let dirs = std::mem::take(&mut self.dirs);
        let _ = std::thread::Builder::new().name("tool-runtime-cgroup-cleanup".into()).spawn(move || {
            for d in dirs {
                for _ in 0..100 {
                    if std::fs::remove_dir(&d).is_ok() || !d.exists() {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
        });
    }
}

/// Writes the calling process's pid to each open `cgroup.procs` file.
///
/// # Safety
/// Call only between fork and exec: raw syscalls, no allocation.
pub unsafe fn join_cgroups(fds: &[std::os::fd::RawFd]) -> io::Result<()> {
    let mut buf = [0u8; 20];
    let pid = libc::getpid() as u64;
    let digits = format_u64(pid, &mut buf);
    for &fd in fds {
        if libc::write(fd, digits.as_ptr().cast(), digits.len()) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

fn format_u64(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &buf[i..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_pids_without_allocating() {
        let mut b = [0u8; 20];
        assert_eq!(format_u64(0, &mut b), b"0");
        let mut b = [0u8; 20];
        assert_eq!(format_u64(4_194_304, &mut b), b"4194304");
    }

    #[test]
    fn each_cgroup_controller_is_enabled_on_its_own() {
        // A kernel that refuses `cpu` (not delegated) must still give us memory and pids.
        let mut writes = Vec::new();
        let enabled = enable_each(&["memory", "pids", "cpu"], |c| {
            writes.push(c.to_string());
            if c == "cpu" {
                Err(io::Error::from_raw_os_error(libc::ENOENT))
            } else {
                Ok(())
            }
        });
        assert_eq!(enabled, vec!["memory", "pids"]);
        assert_eq!(writes, vec!["memory", "pids", "cpu"]);
    }
}
