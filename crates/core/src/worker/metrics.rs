//! Figures of one call, when asked for.

use serde::Serialize;

use super::Worker;
use crate::limits;
use crate::supervisor;

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallMetrics {
    /// The runtime process that served the call, as the host sees it (inside its own PID
    /// namespace the tool sees another number).
    pub pid: i32,
    pub wall_ms: f64,
    /// Time spent waiting for a free slot before the call started.
    pub queued_ms: f64,
    pub cpu_ms: Option<u64>,
    pub peak_memory_mb: Option<f64>,
    pub exit_code: Option<i32>,
    pub signal: Option<String>,
    pub stdout_bytes: u64,
    pub stderr_bytes: u64,
    /// Whether the call ran on a worker started ahead of time.
    pub warm: bool,
    /// Connections through the egress proxy (with `--allow-net=HOSTS`): host, port, address,
    /// allowed or refused (with the reason), bytes each way.
    pub network: Option<Vec<crate::egress::NetEvent>>,
    /// Host calls (when the call was given host functions): count, time, one entry each.
    pub host_calls: Option<crate::host::HostCallMetrics>,
}

impl Worker {
    /// Figures for the call that just ended (before the worker is stopped). Call
    /// [`Worker::settle_output`] first for complete byte counts.
    pub fn metrics(&self) -> CallMetrics {
        let (cpu, peak) = match &self.group {
            Some(g) => (g.cpu_ms(), g.memory_peak()),
            None => (None, None),
        };
        let leader = leader_figures(self.tree().runtime);
        let cpu = cpu
            .or(leader.map(|l| l.0))
            .map(|c| c.max(self.usage.sampled_cpu_ms).saturating_sub(self.usage.cpu_base_ms));
        let peak = peak.or(leader.map(|l| l.1)).map(|p| p.max(self.usage.sampled_peak_rss));
        let mut m = CallMetrics {
            pid: self.tree().runtime,
            cpu_ms: cpu,
            peak_memory_mb: peak.map(|b| (b as f64 / (1024.0 * 1024.0) * 10.0).round() / 10.0),
            stdout_bytes: self.stdout.total().saturating_sub(self.usage.stdout_base),
            stderr_bytes: self.stderr.total().saturating_sub(self.usage.stderr_base),
            warm: self.warm,
            network: self.proxy.as_ref().map(|_| self.net_events()),
            host_calls: self.host_metrics(),
            ..CallMetrics::default()
        };
        if let Some(st) = self.exit_status {
            use std::os::unix::process::ExitStatusExt;
            m.exit_code = st.code();
            m.signal = st.signal().map(supervisor::signal_name);
        }
        m
    }
}

/// CPU time (ms) and peak resident memory (bytes) of one process, from /proc.
fn leader_figures(pid: i32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let hwm_kb: u64 =
        status.lines().find_map(|l| l.strip_prefix("VmHWM:"))?.trim().trim_end_matches("kB").trim().parse().ok()?;
    let cpu = limits::sample_tree(pid).cpu_ms;
    Some((cpu, hwm_kb * 1024))
}
