//! Resource limits: memory, CPU time, processes and file size, enforced by the strongest
//! mechanism the machine offers. A cgroup (v2 where delegated to us, else the v1 memory, pids
//! and cpuacct controllers where we may create groups, as root) holds the call's whole process
//! tree; without one, a watchdog samples the tree from /proc. rlimits add per-process backstops.

mod cgroup;

use std::io;

use serde::Serialize;

pub use cgroup::{join_cgroups, CallGroup};

/// The mechanism behind each limit on this machine.
pub fn support() -> LimitSupport {
    cgroup::support()
}

/// The limits of one call. `None` means unlimited.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Limits {
    pub memory_limit_mb: Option<u64>,
    pub cpu_time_limit_ms: Option<u64>,
    pub max_processes: Option<u64>,
    pub max_file_size_mb: Option<u64>,
}

impl Limits {
    pub fn any_tree_limit(&self) -> bool {
        self.memory_limit_mb.is_some() || self.cpu_time_limit_ms.is_some() || self.max_processes.is_some()
    }
}

/// Which limit a call went over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitHit {
    Memory { limit_mb: u64, peak_mb: u64 },
    Cpu { limit_ms: u64 },
    Processes { limit: u64 },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LimitSupport {
    /// `"cgroup-v2"`, `"cgroup-v1"` or `"watchdog"`.
    pub memory: &'static str,
    pub cpu: &'static str,
    pub processes: &'static str,
    /// `"rlimit"`.
    pub file_size: &'static str,
}

/// Per-process backstops set between fork and exec.
// setrlimit's resource argument: glibc's own enum type, a plain int on musl.
#[cfg(target_env = "gnu")]
type RlimitResource = libc::__rlimit_resource_t;
#[cfg(not(target_env = "gnu"))]
type RlimitResource = libc::c_int;

#[derive(Debug, Clone, Copy)]
pub struct Rlimits {
    pub file_size_bytes: Option<u64>,
    pub cpu_seconds: Option<u64>,
}

impl Rlimits {
    /// `per_call_process`: the process serves one call, so a per-process CPU backstop fits
    /// (a reused worker's CPU time adds up over its calls; the watchdog measures per call).
    pub fn from_limits(l: &Limits, per_call_process: bool) -> Self {
        Rlimits {
            file_size_bytes: l.max_file_size_mb.map(|mb| mb * 1024 * 1024),
            // Whole seconds, rounded up with a second of slack: the sampled limit is the
            // precise one, this only stops a tool that escaped the group.
            cpu_seconds: l.cpu_time_limit_ms.filter(|_| per_call_process).map(|ms| ms.div_ceil(1000) + 1),
        }
    }

    /// # Safety
    /// Call only between fork and exec.
    pub unsafe fn apply(&self) -> io::Result<()> {
        let set = |res: RlimitResource, v: u64| -> io::Result<()> {
            let r = libc::rlimit { rlim_cur: v, rlim_max: v };
            if libc::setrlimit(res, &r) != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        };
        // A crashing tool must not write a core file of the runtime's heap.
        set(libc::RLIMIT_CORE, 0)?;
        if let Some(b) = self.file_size_bytes {
            set(libc::RLIMIT_FSIZE, b)?;
        }
        if let Some(s) = self.cpu_seconds {
            set(libc::RLIMIT_CPU, s)?;
        }
        Ok(())
    }
}

fn sysconf(var: nix::unistd::SysconfVar) -> Option<u64> {
    nix::unistd::sysconf(var).ok().flatten().and_then(|v| u64::try_from(v).ok())
}

fn page_size() -> u64 {
    sysconf(nix::unistd::SysconfVar::PAGE_SIZE).unwrap_or(4096).max(4096)
}

/// Resident memory of one process, in bytes (one read of `/proc/<pid>/statm`).
pub fn process_rss_bytes(pid: i32) -> Option<u64> {
    let statm = std::fs::read_to_string(format!("/proc/{pid}/statm")).ok()?;
    Some(statm.split_whitespace().nth(1)?.parse::<u64>().ok()? * page_size())
}

/// Resident memory and CPU time of a process tree, from /proc (the watchdog's view when no
/// cgroup holds the tree).
#[derive(Debug, Default, Clone, Copy)]
pub struct TreeSample {
    pub rss_bytes: u64,
    pub cpu_ms: u64,
    pub processes: u64,
}

pub fn sample_tree(root: i32) -> TreeSample {
    sample_below(root, &[])
}

/// The tree from `root`, without the processes in `skip` (their children are counted).
pub fn sample_below(root: i32, skip: &[i32]) -> TreeSample {
    let mut s = TreeSample::default();
    let tick = sysconf(nix::unistd::SysconfVar::CLK_TCK).unwrap_or(100).max(1);
    let mut stack = vec![root];
    let mut seen = 0;
    while let Some(pid) = stack.pop() {
        seen += 1;
        if seen > 100_000 {
            break;
        }
        let counted = !skip.contains(&pid);
        if counted {
            // A process that is gone (no statm) has no children left to visit either.
            let Some(rss) = process_rss_bytes(pid) else { continue };
            s.rss_bytes += rss;
        }
        // Otherwise only its children: a helper of ours (a PID namespace's waiter or init).
        if let Some(stat) = counted.then(|| std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()).flatten() {
            if let Some(rest) = stat.rfind(')').map(|i| &stat[i + 2..]) {
                let f: Vec<&str> = rest.split_whitespace().collect();
                // utime and stime are fields 14 and 15 of stat (11 and 12 after the state).
                let ticks: u64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0)
                    + f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
                s.cpu_ms += ticks * 1000 / tick;
            }
        }
        s.processes += counted as u64;
        if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
            for t in tasks.flatten() {
                if let Ok(children) = std::fs::read_to_string(t.path().join("children")) {
                    stack.extend(children.split_whitespace().filter_map(|c| c.parse::<i32>().ok()));
                }
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_this_process() {
        let s = sample_tree(std::process::id() as i32);
        assert!(s.rss_bytes > 0 && s.processes >= 1);
    }
}
