//! One runtime process and everything attached to it: the fd-3 channel, the captured output,
//! its private temp dir, its cgroup and the limit watchdog. A cold call spawns a worker and runs
//! one call on it; the pool spawns workers ahead of time and hands them to calls.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::watch;

use crate::error::{CallId, Error, ExitInfo, ThrownError};
use crate::limits::{self, CallGroup, LimitHit, Limits};
use crate::protocol::{self, Frame, FrameReader, ReadError};
use crate::supervisor::{self, SharedTail, SpawnRequest};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelReason {
    Timeout,
    Abort,
}

impl CancelReason {
    pub fn as_str(self) -> &'static str {
        match self {
            CancelReason::Timeout => "timeout",
            CancelReason::Abort => "abort",
        }
    }
}

/// Figures of one call, when asked for.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallMetrics {
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
}

#[derive(Debug, PartialEq, Eq, Clone, Copy, PartialOrd)]
pub enum Phase {
    Starting,
    Running,
    Loaded,
}

/// How a worker's process failed to get going.
pub enum StartFailure {
    Spawn(std::io::Error),
    DiedEarly(ExitInfo),
}

pub enum CallError {
    /// Worth retrying on a fresh process (nothing of the tool ran).
    Start(StartFailure),
    Final(Error),
}

/// The egress proxy serving one worker, and its record of connections.
struct ProxyHandle {
    token: tokio_util::sync::CancellationToken,
    events: crate::egress::EventLog,
}

pub type EgressRules = (Arc<crate::egress::NetRules>, Arc<crate::egress::Resolver>);

pub struct WorkerSpec {
    /// The worker may serve several calls (a reuse pool).
    pub reusable: bool,
    /// Rules and resolver of the egress proxy, when the policy lists hosts.
    pub egress: Option<EgressRules>,
    pub request: SpawnRequest,
    pub entrypoint: String,
    pub tmp: PathBuf,
    pub limits: Limits,
    pub group_name: String,
}

pub struct Worker {
    child: tokio::process::Child,
    pub pid: i32,
    reader: FrameReader<BufReader<OwnedReadHalf>>,
    writer: Arc<tokio::sync::Mutex<OwnedWriteHalf>>,
    /// Frames handed to a write task and not yet fully written: later frames queue behind.
    writes_in_flight: Arc<std::sync::atomic::AtomicUsize>,
    pub stdout: SharedTail,
    pub stderr: SharedTail,
    capture: Vec<tokio::task::JoinHandle<()>>,
    pub tmp: PathBuf,
    entrypoint: String,
    group: Option<CallGroup>,
    pub phase: Phase,
    load_error: Option<ThrownError>,
    exit_status: Option<std::process::ExitStatus>,
    limits: Limits,
    /// Peaks seen by the watchdog when no cgroup measures the tree.
    sampled_peak_rss: u64,
    sampled_cpu_ms: u64,
    pub calls: u32,
    /// Our handles on the stdout/stderr pipes (to wait for unread output before metrics).
    pending: Vec<std::os::fd::OwnedFd>,
    channel_inode: u64,
    /// Set when the harness says hello: the call's process is running.
    started_flag: Option<Arc<std::sync::atomic::AtomicBool>>,
    /// CPU time used before the current call (a reused worker's earlier calls).
    cpu_base_ms: u64,
    /// The current call asked for metrics.
    pub measure: bool,
    /// The current call's nonce: an answer without it was not written by the harness.
    pub nonce: String,
    /// The harness answered the current call itself (a result, or the tool's own failure):
    /// the process is as healthy as before it. False for anything the supervisor had to stop.
    pub answered: bool,
    proxy: Option<ProxyHandle>,
    /// Index of the first network event of the current call.
    events_start: usize,
    /// The environment last sent to a warm worker, to skip resending it unchanged.
    last_env: Option<String>,
    pub spawned_at: Instant,
    pub warm: bool,
}

/// What the frame loop produced.
enum Event {
    Loaded,
    Pong,
    Output(String),
    Fail(Error),
    Closed,
    Cancelled(CancelReason),
}

impl Worker {
    pub fn spawn(mut spec: WorkerSpec, max_output: usize) -> Result<Worker, CallError> {
        let group = match CallGroup::create(&spec.limits, &spec.group_name) {
            Ok(g) => g,
            Err(e) => return Err(CallError::Final(Error::internal(format!("cannot create the call's cgroup: {e}")))),
        };
        spec.request.cgroup_procs = group.as_ref().map(|g| g.procs_fds()).unwrap_or_default();
        spec.request.rlimits = Some(limits::Rlimits::from_limits(&spec.limits, !spec.reusable));
        let spawned = match supervisor::spawn(spec.request) {
            Ok(s) => s,
            Err(e) => {
                if let Some(g) = group {
                    tokio::spawn(g.destroy());
                }
                let _ = std::fs::remove_dir_all(&spec.tmp);
                return Err(CallError::Start(StartFailure::Spawn(e)));
            }
        };
        let supervisor::Spawned { child, pid, channel, stdout, stderr, capture, listener, pending, channel_inode } =
            spawned;
        let proxy = match (listener, spec.egress) {
            (Some(fd), Some((rules, resolver))) => match crate::egress::listener_from_fd(fd) {
                Ok(listener) => {
                    let proxy = Arc::new(crate::egress::EgressProxy::new(rules, resolver));
                    let events = proxy.events();
                    let token = tokio_util::sync::CancellationToken::new();
                    tokio::spawn(proxy.serve(listener, token.clone()));
                    Some(ProxyHandle { token, events })
                }
                Err(e) => {
                    supervisor::kill_group(pid, libc::SIGKILL);
                    return Err(CallError::Final(Error::internal(format!("egress proxy listener: {e}"))));
                }
            },
            _ => None,
        };
        let (rd, wr) = channel.into_split();
        Ok(Worker {
            child,
            pid,
            reader: FrameReader::new(BufReader::with_capacity(64 * 1024, rd), max_output + 16),
            writer: Arc::new(tokio::sync::Mutex::new(wr)),
            writes_in_flight: Arc::new(std::sync::atomic::AtomicUsize::new(0)),
            stdout,
            stderr,
            capture,
            tmp: spec.tmp,
            entrypoint: spec.entrypoint,
            group,
            phase: Phase::Starting,
            load_error: None,
            exit_status: None,
            limits: spec.limits,
            sampled_peak_rss: 0,
            sampled_cpu_ms: 0,
            calls: 0,
            pending,
            channel_inode,
            started_flag: None,
            cpu_base_ms: 0,
            measure: false,
            nonce: String::new(),
            answered: false,
            proxy,
            events_start: 0,
            last_env: None,
            spawned_at: Instant::now(),
            warm: false,
        })
    }

    /// Queues `frame` for the child without waiting for it to read (a large input must not
    /// block the frame loop).
    pub fn send(&self, frame: Arc<Vec<u8>>) {
        // Most frames fit the socket buffer: write them now, without a task hop, unless an
        // earlier frame is still being written (order matters).
        let mut written = 0;
        let queued = self.writes_in_flight.load(std::sync::atomic::Ordering::SeqCst) > 0;
        if let (false, Ok(w)) = (queued, self.writer.try_lock()) {
            while let Ok(n) = w.try_write(&frame[written..]) {
                written += n;
                if written == frame.len() {
                    return;
                }
            }
        }
        let writer = self.writer.clone();
        let in_flight = self.writes_in_flight.clone();
        in_flight.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        tokio::spawn(async move {
            let _ = writer.lock().await.write_all(&frame[written..]).await;
            in_flight.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        });
    }

    /// Sends the call's environment unless this worker already has exactly that one.
    pub fn send_env(&mut self, env_json: String) {
        if self.last_env.as_deref() == Some(env_json.as_str()) {
            return;
        }
        self.send(Arc::new(format!("env {env_json}\n").into_bytes()));
        self.last_env = Some(env_json);
    }

    fn exit_info(&self) -> ExitInfo {
        let mut exit = ExitInfo {
            stdout: self.stdout.lock().unwrap_or_else(|e| e.into_inner()).text(),
            stderr: self.stderr.lock().unwrap_or_else(|e| e.into_inner()).text(),
            ..ExitInfo::default()
        };
        if let Some(st) = self.exit_status {
            use std::os::unix::process::ExitStatusExt;
            exit.exit_code = st.code();
            exit.signal = st.signal().map(supervisor::signal_name);
        }
        exit
    }

    /// Checks the tree against its limits: from the cgroup when there is one, else by sampling.
    fn check_limits(&mut self) -> Option<LimitHit> {
        let l = self.limits;
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
                if used.saturating_sub(self.cpu_base_ms) > limit {
                    return Some(LimitHit::Cpu { limit_ms: limit });
                }
            }
            if let Some(limit) = l.max_processes {
                if g.pids_limit_hit() || g.process_count().unwrap_or(0) > limit {
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
        let s = limits::sample_tree(self.pid);
        self.sampled_peak_rss = self.sampled_peak_rss.max(s.rss_bytes);
        self.sampled_cpu_ms = self.sampled_cpu_ms.max(s.cpu_ms);
        if let Some(limit) = l.memory_limit_mb {
            if s.rss_bytes > limit * 1024 * 1024 {
                return Some(LimitHit::Memory { limit_mb: limit, peak_mb: s.rss_bytes / (1024 * 1024) });
            }
        }
        if let Some(limit) = l.cpu_time_limit_ms {
            if s.cpu_ms.saturating_sub(self.cpu_base_ms) > limit {
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

    fn limit_error(&self, call: &CallId, hit: LimitHit) -> Error {
        let exit = self.exit_info();
        match hit {
            LimitHit::Memory { limit_mb, peak_mb } => {
                Error::MemoryLimit { call: call.clone(), limit_mb, peak_mb, exit }
            }
            LimitHit::Cpu { limit_ms } => Error::CpuLimit { call: call.clone(), limit_ms, exit },
            LimitHit::Processes { limit } => Error::ProcessLimit { call: call.clone(), limit, exit },
        }
    }

    /// Sets a per-call memory limit on a worker that was started with another one.
    pub fn set_memory_limit(&mut self, mb: Option<u64>) {
        if mb == self.limits.memory_limit_mb {
            return;
        }
        self.limits.memory_limit_mb = mb;
        if let (Some(g), Some(mb)) = (&self.group, mb) {
            g.set_memory_limit(mb);
        }
    }

    pub fn set_cpu_limit(&mut self, ms: Option<u64>) {
        self.limits.cpu_time_limit_ms = ms;
    }

    /// Reads frames until the worker has loaded the entrypoint (pool warm-up).
    pub async fn wait_ready(
        &mut self,
        call: &CallId,
        cancel: &mut watch::Receiver<Option<CancelReason>>,
    ) -> Result<(), CallError> {
        let mut pinged = false;
        loop {
            if self.phase == Phase::Loaded && !pinged {
                if self.load_error.is_some() {
                    return Ok(());
                }
                self.send(Arc::new(protocol::encode_ping()));
                pinged = true;
            }
            match self.next_event(call, cancel, true).await {
                Event::Loaded => {}
                Event::Pong => return Ok(()),
                Event::Output(_) => return Err(CallError::Final(Error::internal("a result arrived before any call"))),
                Event::Fail(e) => return Err(CallError::Final(e)),
                Event::Closed => return Err(self.closed_error(call).await),
                Event::Cancelled(r) => {
                    return Err(CallError::Final(Error::Aborted {
                        call: call.clone(),
                        reason: Some(r.as_str().into()),
                        started: false,
                    }))
                }
            }
        }
    }

    /// Runs one call whose frames were already sent, until its outcome.
    pub async fn run(
        &mut self,
        call: &CallId,
        cancel: &mut watch::Receiver<Option<CancelReason>>,
    ) -> Result<String, CallError> {
        self.calls += 1;
        self.answered = false;
        // Limits and figures are per call, also on a worker that served calls before. Only
        // measured when something needs them: walking /proc on every call of a reused worker
        // would cost more than the call.
        let needs_cpu = self.limits.cpu_time_limit_ms.is_some() || self.measure;
        self.cpu_base_ms = if self.calls > 1 && needs_cpu { self.cpu_used_ms() } else { 0 };
        self.sampled_peak_rss = 0;
        if self.calls > 1 && (self.measure || self.limits.memory_limit_mb.is_some()) {
            if let Some(g) = &self.group {
                g.reset_memory_peak();
            }
        }
        match self.next_event(call, cancel, false).await {
            Event::Loaded | Event::Pong => Err(CallError::Final(Error::internal("unexpected warm-up frame"))),
            Event::Output(o) => Ok(o),
            Event::Fail(e) => Err(CallError::Final(e)),
            Event::Closed => Err(self.closed_error(call).await),
            Event::Cancelled(r) => Err(CallError::Final(Error::Aborted {
                call: call.clone(),
                reason: Some(r.as_str().into()),
                started: self.phase >= Phase::Running,
            })),
        }
    }

    /// A load error seen during warm-up, reported to the call that takes this worker.
    pub fn take_load_error(&mut self, call: &CallId) -> Option<Error> {
        self.load_error.take().map(|t| Error::EntrypointFailed {
            call: call.clone(),
            entrypoint: self.entrypoint.clone(),
            message: format!("{}: {}", t.name, t.message),
            stack: t.stack,
            exit: self.exit_info(),
        })
    }

    async fn next_event(
        &mut self,
        call: &CallId,
        cancel: &mut watch::Receiver<Option<CancelReason>>,
        until_loaded: bool,
    ) -> Event {
        let max_output = self.reader_cap();
        let mut drain_deadline: Option<tokio::time::Instant> = None;
        let watch_limits = self.limits.any_tree_limit();
        let mut tick = tokio::time::interval(Duration::from_millis(10));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        // A tool may close fd 3 while a duplicate keeps the socket open (bun reads through
        // one): the host then never sees the end, so it looks at the child's fd 3 itself.
        let mut channel_check = tokio::time::interval_at(
            tokio::time::Instant::now() + Duration::from_millis(200),
            Duration::from_millis(200),
        );
        channel_check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let check_channel = !until_loaded && self.channel_inode != 0;
        let mut channel_suspect = false;
        loop {
            tokio::select! {
                biased;
                changed = cancel.changed() => {
                    let reason = if changed.is_err() { CancelReason::Abort } else { (*cancel.borrow()).unwrap_or(CancelReason::Abort) };
                    return Event::Cancelled(reason);
                }
                next = self.reader.next() => match next {
                    Ok(Some(line)) => match protocol::parse_frame(&line) {
                        Ok(f) if f.nonce().is_some_and(|n| n.is_empty() || n != self.nonce) => {
                            return Event::Fail(Error::InvalidOutput { call: call.clone(), reason: "garbage on the result channel: an answer without the call's nonce (not written by the harness)".into() });
                        }
                        Ok(Frame::Hello { .. }) => {
                            self.phase = Phase::Running;
                            if let Some(f) = &self.started_flag {
                                f.store(true, std::sync::atomic::Ordering::SeqCst);
                            }
                        }
                        Ok(Frame::Pong) => return Event::Pong,
                        Ok(Frame::Loaded) => {
                            self.phase = Phase::Loaded;
                            if until_loaded {
                                return Event::Loaded;
                            }
                        }
                        Ok(Frame::LoadError(t)) => {
                            if until_loaded {
                                self.load_error = Some(t);
                                self.phase = Phase::Loaded;
                                return Event::Loaded;
                            }
                            return Event::Fail(Error::EntrypointFailed {
                                call: call.clone(),
                                entrypoint: self.entrypoint.clone(),
                                message: format!("{}: {}", t.name, t.message),
                                stack: t.stack,
                                exit: self.exit_info(),
                            });
                        }
                        Ok(Frame::NotFound { available, .. }) => {
                            self.answered = true;
                            return Event::Fail(Error::ToolNotFound { call: call.clone(), available });
                        }
                        Ok(Frame::Ok { raw, .. }) => {
                            if raw.len() > max_output {
                                return Event::Fail(Error::OutputTooLarge { call: call.clone(), limit: max_output as u64, size: raw.len() as u64 });
                            }
                            return Event::Output(protocol::wrap_output(&raw));
                        }
                        Ok(Frame::Err { cause, .. }) => {
                            self.answered = true;
                            return Event::Fail(Error::ToolFailed { call: call.clone(), cause, denied_hosts: self.denied_hosts() })
                        }
                        Ok(Frame::BadOutput { reason, .. }) => {
                            self.answered = true;
                            return Event::Fail(Error::InvalidOutput { call: call.clone(), reason });
                        }
                        Err(reason) => return Event::Fail(Error::InvalidOutput { call: call.clone(), reason: format!("garbage on the result channel: {reason}") }),
                    },
                    Ok(None) => return Event::Closed,
                    Err(ReadError::TooLarge { seen }) => return Event::Fail(Error::OutputTooLarge { call: call.clone(), limit: max_output as u64, size: seen }),
                    Err(ReadError::Io(reason)) => {
                        if self.phase == Phase::Starting {
                            return Event::Closed;
                        }
                        return Event::Fail(Error::InvalidOutput { call: call.clone(), reason: format!("the result channel broke: {reason}") });
                    }
                },
                status = self.child.wait(), if self.exit_status.is_none() => {
                    self.exit_status = status.ok();
                    // What the child wrote before it died is already buffered; a grandchild
                    // holding the channel open must not keep us waiting for an end.
                    drain_deadline = Some(tokio::time::Instant::now() + Duration::from_millis(100));
                }
                _ = tokio::time::sleep_until(drain_deadline.unwrap_or_else(tokio::time::Instant::now)), if drain_deadline.is_some() => {
                    return Event::Closed;
                }
                _ = tick.tick(), if watch_limits => {
                    if let Some(hit) = self.check_limits() {
                        supervisor::kill_group(self.pid, libc::SIGKILL);
                        return Event::Fail(self.limit_error(call, hit));
                    }
                }
                _ = channel_check.tick(), if check_channel && self.exit_status.is_none() => {
                    // Twice in a row: a process that is exiting (a crash) loses its fds an
                    // instant before its exit status shows; that is not a closed channel.
                    let open = supervisor::channel_open_in_child(self.pid, self.channel_inode);
                    let was_suspect = std::mem::replace(&mut channel_suspect, !open);
                    if !open && was_suspect {
                        supervisor::kill_group(self.pid, libc::SIGKILL);
                        return Event::Fail(Error::InvalidOutput {
                            call: call.clone(),
                            reason: "the tool closed the result channel (fd 3)".into(),
                        });
                    }
                }
            }
        }
    }

    /// Links the call's `started` flag: set once the harness runs (at once for a warm worker).
    pub fn watch_started(&mut self, flag: Arc<std::sync::atomic::AtomicBool>) {
        if self.phase >= Phase::Running {
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
        }
        self.started_flag = Some(flag);
    }

    /// Waits (briefly) until what the tool printed before its result has been read, so the
    /// byte counts in the metrics are complete.
    pub async fn settle_output(&self) {
        for _ in 0..50 {
            if self.pending.iter().all(|fd| supervisor::unread_bytes(fd) == 0) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        // A reader may hold bytes it has read but not yet counted.
        tokio::task::yield_now().await;
    }

    fn reader_cap(&self) -> usize {
        self.reader.max_frame().saturating_sub(16)
    }

    /// The channel ended without a result: collect the exit status and output, and decide what
    /// kind of failure it was.
    async fn closed_error(&mut self, call: &CallId) -> CallError {
        if self.exit_status.is_none() {
            self.exit_status =
                tokio::time::timeout(Duration::from_millis(200), self.child.wait()).await.ok().and_then(|r| r.ok());
        }
        // A tool may close fd 3 and keep running: nothing of the group survives this.
        supervisor::kill_group(self.pid, libc::SIGKILL);
        if self.exit_status.is_none() {
            self.exit_status = self.child.wait().await.ok();
        }
        for h in self.capture.drain(..) {
            let _ = tokio::time::timeout(Duration::from_millis(500), h).await;
        }
        if let Some(hit) = self.check_limits_after_exit() {
            return CallError::Final(self.limit_error(call, hit));
        }
        let exit = self.exit_info();
        match self.phase {
            Phase::Starting => CallError::Start(StartFailure::DiedEarly(exit)),
            Phase::Running => CallError::Final(Error::EntrypointFailed {
                call: call.clone(),
                entrypoint: self.entrypoint.clone(),
                message: "the process exited while loading the entrypoint".into(),
                stack: None,
                exit,
            }),
            Phase::Loaded => CallError::Final(Error::ProcessExited { call: call.clone(), exit }),
        }
    }

    /// A process that died may have died of a limit: the kernel's OOM kill, node's heap limit,
    /// RLIMIT_CPU's SIGXCPU, RLIMIT_FSIZE's SIGXFSZ.
    fn check_limits_after_exit(&mut self) -> Option<LimitHit> {
        let l = self.limits;
        if let (Some(g), Some(limit)) = (&self.group, l.memory_limit_mb) {
            if g.oom_killed() {
                return Some(LimitHit::Memory {
                    limit_mb: limit,
                    peak_mb: g.memory_peak().unwrap_or(0) / (1024 * 1024),
                });
            }
        }
        let stderr = self.stderr.lock().unwrap_or_else(|e| e.into_inner()).text();
        if let Some(limit) = l.memory_limit_mb {
            if stderr.contains("heap out of memory") || stderr.contains("Out of memory") {
                let peak = self.group.as_ref().and_then(|g| g.memory_peak()).unwrap_or(self.sampled_peak_rss);
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

    /// Connections of the current call through the egress proxy.
    pub fn net_events(&self) -> Vec<crate::egress::NetEvent> {
        self.proxy.as_ref().map(|p| p.events.since(self.events_start)).unwrap_or_default()
    }

    /// Destinations the egress proxy refused during the current call.
    pub fn denied_hosts(&self) -> Vec<String> {
        crate::egress::denied_hosts(&self.net_events())
    }

    /// CPU time the worker's tree has used so far, in ms.
    fn cpu_used_ms(&self) -> u64 {
        self.group.as_ref().and_then(|g| g.cpu_ms()).unwrap_or_else(|| limits::sample_tree(self.pid).cpu_ms)
    }

    /// Figures for the call that just ended (before the worker is killed).
    pub fn metrics(&self) -> CallMetrics {
        let (cpu, peak) = match &self.group {
            Some(g) => (g.cpu_ms(), g.memory_peak()),
            None => (None, None),
        };
        let leader = leader_figures(self.pid);
        let cpu = cpu.or(leader.map(|l| l.0)).map(|c| c.max(self.sampled_cpu_ms).saturating_sub(self.cpu_base_ms));
        let peak = peak.or(leader.map(|l| l.1)).map(|p| p.max(self.sampled_peak_rss));
        let mut m = CallMetrics {
            cpu_ms: cpu,
            peak_memory_mb: peak.map(|b| (b as f64 / (1024.0 * 1024.0) * 10.0).round() / 10.0),
            stdout_bytes: self.stdout.lock().unwrap_or_else(|e| e.into_inner()).total,
            stderr_bytes: self.stderr.lock().unwrap_or_else(|e| e.into_inner()).total,
            warm: self.warm,
            network: self.proxy.as_ref().map(|_| self.net_events()),
            ..CallMetrics::default()
        };
        if let Some(st) = self.exit_status {
            use std::os::unix::process::ExitStatusExt;
            m.exit_code = st.code();
            m.signal = st.signal().map(supervisor::signal_name);
        }
        m
    }

    /// Resident memory of the worker's process tree, in MB.
    /// Resident memory of the worker process itself (one /proc read: this runs per call).
    pub fn rss_mb(&self) -> u64 {
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(4096) as u64;
        std::fs::read_to_string(format!("/proc/{}/statm", self.pid))
            .ok()
            .and_then(|s| s.split_whitespace().nth(1).and_then(|v| v.parse::<u64>().ok()))
            .map(|pages| pages * page / (1024 * 1024))
            .unwrap_or(0)
    }

    pub fn is_alive(&mut self) -> bool {
        self.exit_status.is_none() && matches!(self.child.try_wait(), Ok(None))
    }

    /// Kills the process group now and cleans up in the background.
    pub fn kill(self, tracker: &tokio_util::task::TaskTracker) {
        supervisor::kill_group(self.pid, libc::SIGKILL);
        tracker.spawn(self.cleanup());
    }

    /// Asks the tool to stop (cancel frame, SIGTERM), then kills the group after `grace`.
    pub fn terminate(self, reason: CancelReason, grace: Duration, tracker: &tokio_util::task::TaskTracker) {
        let frame = protocol::encode_cancel(reason.as_str());
        let writer = self.writer.clone();
        let mut me = self;
        tracker.spawn(async move {
            // The frame carries the reason the tool's signal reports; SIGTERM follows it.
            let _ =
                tokio::time::timeout(Duration::from_millis(50), async { writer.lock().await.write_all(&frame).await })
                    .await;
            supervisor::kill_group(me.pid, libc::SIGTERM);
            if me.exit_status.is_none() {
                let _ = tokio::time::timeout(grace, me.child.wait()).await;
            }
            supervisor::kill_group(me.pid, libc::SIGKILL);
            me.cleanup().await;
        });
    }

    async fn cleanup(mut self) {
        if let Some(p) = self.proxy.take() {
            p.token.cancel();
        }
        if self.exit_status.is_none() {
            let _ = self.child.wait().await;
        }
        // Members of the group outlive the leader's reaping; the group id stays reserved while
        // any of them lives, so this cannot hit an unrelated process.
        supervisor::kill_group(self.pid, libc::SIGKILL);
        if let Some(g) = self.group.take() {
            g.destroy().await;
        }
        for h in self.capture.drain(..) {
            let _ = tokio::time::timeout(Duration::from_secs(2), h).await;
        }
        let tmp = std::mem::take(&mut self.tmp);
        let _ = tokio::task::spawn_blocking(move || std::fs::remove_dir_all(tmp)).await;
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

pub type SharedMetrics = Arc<Mutex<Option<CallMetrics>>>;
