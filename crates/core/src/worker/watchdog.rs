//! The limit watchdog: the call's tree checked against its limits, from the cgroup when there
//! is one, else by sampling /proc; and, after an exit, which limit (if any) the death came from.

use super::Worker;
use crate::error::{CallId, Error};
use crate::limits::LimitHit;

impl Worker {
    /// Starts the per-call figures afresh (a reused worker's next call).
    pub(super) fn reset_usage(&mut self) {
        // Only measured when something needs them: walking /proc on every call of a reused
        // worker would cost more than the call.
        let needs_cpu = self.limits.cpu_time_limit_ms.is_some() || self.measure;
        self.usage.cpu_base_ms = if self.calls > 1 && needs_cpu { self.cpu_used_ms() } else { 0 };
        self.usage.sampled_peak_rss = 0;
        self.usage.sampled_cpu_ms = 0;
        self.usage.stdout_base = self.stdout.total();
        self.usage.stderr_base = self.stderr.total();
        if self.calls > 1 && (self.measure || self.limits.memory_limit_mb.is_some()) {
            if let Some(g) = &self.group {
                g.reset_memory_peak();
            }
        }
    }

    /// Checks the tree against its limits.
    pub(super) fn check_limits(&mut self) -> Option<LimitHit> {
        let l = self.limits;
        let base = self.usage.cpu_base_ms;
        if let Some(g) = &self.group {
            if let Some(limit) = l.memory_limit_mb {
                if g.oom_killed() {
                    return Some(LimitHit::Memory {
                        limit_mb: limit,
                        peak_mb: g.memory_peak().unwrap_or(0) / (1024 * 1024),
                    });
                }
            }
            if let (Some(limit), Some(used)) = (l.cpu_time_limit_ms, g.cpu_ms()) {
                if used.saturating_sub(base) > limit {
                    return Some(LimitHit::Cpu { limit_ms: limit });
                }
            }
            if let Some(limit) = l.max_processes {
                let tool_processes = g.process_count().unwrap_or(0).saturating_sub(self.tree().helper_count());
                if g.pids_limit_hit() || tool_processes > limit {
                    return Some(LimitHit::Processes { limit });
                }
            }
            // Limits the cgroup backend could not take are sampled below.
            let sampled_needed = (l.memory_limit_mb.is_some() && g.memory_peak().is_none())
                || (l.cpu_time_limit_ms.is_some() && g.cpu_ms().is_none());
            if !sampled_needed {
                return None;
            }
        }
        let s = self.tree().sample();
        self.usage.sampled_peak_rss = self.usage.sampled_peak_rss.max(s.rss_bytes);
        self.usage.sampled_cpu_ms = self.usage.sampled_cpu_ms.max(s.cpu_ms);
        if let Some(limit) = l.memory_limit_mb {
            if s.rss_bytes > limit * 1024 * 1024 {
                return Some(LimitHit::Memory { limit_mb: limit, peak_mb: s.rss_bytes / (1024 * 1024) });
            }
        }
        if let Some(limit) = l.cpu_time_limit_ms {
            if s.cpu_ms.saturating_sub(base) > limit {
                return Some(LimitHit::Cpu { limit_ms: limit });
            }
        }
        if let Some(limit) = l.max_processes {
            if self.group.is_none() && s.processes > limit {
                return Some(LimitHit::Processes { limit });
            }
        }
        None
    }

    pub(super) fn limit_error(&self, call: &CallId, hit: LimitHit) -> Error {
        let exit = self.exit_info();
        match hit {
            LimitHit::Memory { limit_mb, peak_mb } => {
                Error::MemoryLimit { call: call.clone(), limit_mb, peak_mb, exit }
            }
            LimitHit::Cpu { limit_ms } => Error::CpuLimit { call: call.clone(), limit_ms, exit },
            LimitHit::Processes { limit } => Error::ProcessLimit { call: call.clone(), limit, exit },
        }
    }

    /// A process that died may have died of a limit: the kernel's OOM kill, node's heap limit,
    /// RLIMIT_CPU's SIGXCPU, the pids controller.
    pub(super) fn check_limits_after_exit(&mut self) -> Option<LimitHit> {
        let l = self.limits;
        if let (Some(g), Some(limit)) = (&self.group, l.memory_limit_mb) {
            if g.oom_killed() {
                return Some(LimitHit::Memory {
                    limit_mb: limit,
                    peak_mb: g.memory_peak().unwrap_or(0) / (1024 * 1024),
                });
            }
        }
        if let Some(limit) = l.memory_limit_mb {
            let stderr = self.stderr.text();
            if stderr.contains("heap out of memory") || stderr.contains("Out of memory") {
                let peak = self.group.as_ref().and_then(|g| g.memory_peak()).unwrap_or(self.usage.sampled_peak_rss);
                return Some(LimitHit::Memory { limit_mb: limit, peak_mb: peak / (1024 * 1024) });
            }
        }
        use std::os::unix::process::ExitStatusExt;
        let sig = self.exit_status.and_then(|s| s.signal());
        if let (Some(limit), Some(libc::SIGXCPU)) = (l.cpu_time_limit_ms, sig) {
            return Some(LimitHit::Cpu { limit_ms: limit });
        }
        if let (Some(g), Some(limit)) = (&self.group, l.max_processes) {
            if g.pids_limit_hit() {
                return Some(LimitHit::Processes { limit });
            }
        }
        None
    }

    /// CPU time the worker's tree has used so far, in ms.
    pub(super) fn cpu_used_ms(&self) -> u64 {
        self.group.as_ref().and_then(|g| g.cpu_ms()).unwrap_or_else(|| self.tree().sample().cpu_ms)
    }
}
