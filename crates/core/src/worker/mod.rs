//! One runtime process and everything attached to it: the fd-3 channel, the captured output,
//! its private temp dir, its cgroup, the egress proxy serving it and the limit watchdog. A cold
//! call spawns a worker and runs one call on it; the pool spawns workers ahead of time.
//!
//! A `Worker` owns its resources: dropping it kills the whole process group, stops the proxy,
//! and removes the cgroup and the temp dir, whatever path led there. [`Worker::shutdown`] does
//! the same in order and waits for it (what `close()` waits for).

mod events;
mod host;
mod live;
mod metrics;
mod watchdog;
mod writer;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::BufReader;
use tokio::net::unix::OwnedReadHalf;
use tokio::sync::watch;

use crate::error::{CallId, Error, ExitInfo, ThrownError};
use crate::limits::{self, CallGroup, Limits};
use crate::protocol::{self, FrameReader};
use crate::supervisor::{self, Capture, SpawnRequest};

pub use events::Asked;
pub use host::HostLimits;
pub use live::{CallEvent, CallEvents, LineSink, Stream};
pub use metrics::CallMetrics;
use writer::FrameWriter;

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

#[derive(Debug, PartialEq, Eq, Clone, Copy, PartialOrd)]
pub(crate) enum Phase {
    Starting,
    Running,
    Loaded,
}

/// How a worker's process failed to get going.
pub(crate) enum StartFailure {
    Spawn(std::io::Error),
    DiedEarly(ExitInfo),
}

pub(crate) enum CallError {
    /// Worth retrying on a fresh process (nothing of the tool ran).
    Start(StartFailure),
    Final(Error),
}

/// The egress proxy serving one worker; stopped when dropped.
struct ProxyHandle {
    token: tokio_util::sync::CancellationToken,
    events: crate::egress::EventLog,
}

impl Drop for ProxyHandle {
    fn drop(&mut self) {
        self.token.cancel();
    }
}

pub(crate) type EgressRules = (Arc<crate::egress::NetRules>, Arc<crate::egress::Resolver>);

pub(crate) struct WorkerSpec {
    /// The worker may serve several calls (a reuse pool).
    pub reusable: bool,
    /// Rules and resolver of the egress proxy, when the policy lists hosts.
    pub egress: Option<EgressRules>,
    pub request: SpawnRequest,
    pub entrypoint: String,
    pub tmp: tempfile::TempDir,
    pub limits: Limits,
    pub group_name: String,
    pub max_output: usize,
}

/// Peaks and baselines the watchdog keeps for the current call.
#[derive(Default)]
struct Usage {
    /// Peaks seen by sampling when no cgroup measures the tree.
    sampled_peak_rss: u64,
    sampled_cpu_ms: u64,
    /// CPU time used before the current call (a reused worker's earlier calls).
    cpu_base_ms: u64,
    /// Output bytes of earlier calls on the same worker.
    stdout_base: u64,
    stderr_base: u64,
}

pub(crate) struct Worker {
    child: tokio::process::Child,
    /// The process spawned: its process group is the call's.
    pid: i32,
    /// The runtime runs in a PID namespace below `pid` (the init binary's waiter).
    pid_namespace: bool,
    /// The runtime process and the call's tree there, once both exist.
    resolved_tree: std::sync::OnceLock<supervisor::ProcessTree>,
    /// Set once the leader's exit status was collected: from then on its process group id may
    /// be reused, so the group is never signalled again.
    exit_status: Option<std::process::ExitStatus>,
    reader: FrameReader<BufReader<OwnedReadHalf>>,
    writer: FrameWriter,
    stdout: Capture,
    stderr: Capture,
    tmp: tempfile::TempDir,
    entrypoint: String,
    group: Option<CallGroup>,
    proxy: Option<ProxyHandle>,
    phase: Phase,
    load_error: Option<ThrownError>,
    /// The limits the process was started with (fixed: node's heap cap, the CPU rlimit).
    limits: Limits,
    usage: Usage,
    calls: u32,
    channel_inode: u64,
    /// Set when the harness says hello: the call's process is running.
    started_flag: Option<Arc<AtomicBool>>,
    /// The current call asked for metrics.
    measure: bool,
    /// The current call's nonce: an answer without it was not written by the harness.
    nonce: String,
    /// What the host asked for: only answers of that kind are taken.
    asked: Asked,
    /// The harness answered the current call itself (a result, or the tool's own failure):
    /// the process is as healthy as before it. False for anything the supervisor had to stop.
    answered: bool,
    /// Index of the first network event of the current call.
    events_start: usize,
    /// The environment last sent to a warm worker, to skip resending it unchanged.
    last_env: Option<String>,
    warm: bool,
    /// Where the current call's output lines and progress reports go, if anywhere.
    events: Option<CallEvents>,
    /// The last result was not an object (it reaches the caller as `{ "value": ... }`).
    output_wrapped: bool,
    /// Largest result, in JSON bytes.
    max_output: usize,
    /// The current call's host functions, if it was given any.
    host: Option<host::HostSession>,
    /// Host calls that finished, back to the frame loop.
    host_chan: host::HostChannel,
}

impl Worker {
    pub fn spawn(mut spec: WorkerSpec) -> Result<Worker, CallError> {
        let group = CallGroup::create(&spec.limits, &spec.group_name)
            .map_err(|e| CallError::Final(Error::internal(format!("cannot create the call's cgroup: {e}"))))?;
        spec.request.cgroup_procs = group.as_ref().map(|g| g.procs_fds()).unwrap_or_default();
        spec.request.rlimits = Some(limits::Rlimits::from_limits(&spec.limits, !spec.reusable));
        // On failure `group` and `spec.tmp` are dropped: both clean up after themselves.
        let spawned = supervisor::spawn(spec.request).map_err(|e| CallError::Start(StartFailure::Spawn(e)))?;
        let supervisor::Spawned { child, pid, channel, stdout, stderr, listener, channel_inode, pid_namespace } =
            spawned;
        let (rd, wr) = channel.into_split();
        let mut worker = Worker {
            child,
            pid,
            pid_namespace,
            resolved_tree: Default::default(),
            exit_status: None,
            // Room for a frame's tag, nonce and fields around a payload of `max_output` bytes
            // (a host call's arguments, with its name of up to 256 bytes).
            reader: FrameReader::new(BufReader::with_capacity(64 * 1024, rd), spec.max_output + 1024),
            writer: FrameWriter::new(wr),
            stdout,
            stderr,
            tmp: spec.tmp,
            entrypoint: spec.entrypoint,
            group,
            proxy: None,
            phase: Phase::Starting,
            load_error: None,
            limits: spec.limits,
            usage: Usage::default(),
            calls: 0,
            channel_inode,
            started_flag: None,
            measure: false,
            nonce: String::new(),
            asked: Asked::Call,
            answered: false,
            events_start: 0,
            last_env: None,
            warm: false,
            events: None,
            output_wrapped: false,
            max_output: spec.max_output,
            host: None,
            host_chan: host::channel(),
        };
        if let (Some(fd), Some((rules, resolver))) = (listener, spec.egress) {
            // A failure here drops `worker`, which kills the process just started.
            let listener = crate::egress::listener_from_fd(fd)
                .map_err(|e| CallError::Final(Error::internal(format!("egress proxy listener: {e}"))))?;
            let proxy = Arc::new(crate::egress::EgressProxy::new(rules, resolver));
            let events = proxy.events();
            let token = tokio_util::sync::CancellationToken::new();
            tokio::spawn(proxy.serve(listener, token.clone()));
            worker.proxy = Some(ProxyHandle { token, events });
        }
        Ok(worker)
    }

    /// The runtime process's pid.
    pub fn pid(&self) -> i32 {
        self.tree().runtime
    }

    /// The runtime process and the call's tree as the host sees them.
    fn tree(&self) -> supervisor::ProcessTree {
        if !self.pid_namespace {
            return supervisor::ProcessTree::direct(self.pid);
        }
        if let Some(t) = self.resolved_tree.get() {
            return *t;
        }
        match supervisor::ProcessTree::in_pid_namespace(self.pid) {
            Some(t) => *self.resolved_tree.get_or_init(|| t),
            // Not forked yet: the waiter is ours, not the tool's.
            None => supervisor::ProcessTree { helpers: [self.pid, 0], ..supervisor::ProcessTree::direct(self.pid) },
        }
    }

    /// The runtime's pid, once it is known (with a PID namespace, not before its init forked it).
    fn runtime_pid(&self) -> Option<i32> {
        let t = self.tree();
        (!self.pid_namespace || self.resolved_tree.get().is_some()).then_some(t.runtime)
    }

    /// The call's private temp dir.
    pub fn tmp(&self) -> &std::path::Path {
        self.tmp.path()
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    pub fn calls(&self) -> u32 {
        self.calls
    }

    /// Whether the harness answered the last call itself (the process is healthy).
    pub fn answered(&self) -> bool {
        self.answered
    }

    /// Sends a frame after every frame sent before it, without waiting for the child to read
    /// (a large input must not block the frame loop).
    pub fn send(&mut self, frame: &[u8]) {
        self.writer.send(frame);
    }

    /// Sends the call's environment unless this worker already has exactly that one.
    pub fn send_env(&mut self, env_json: String) {
        if self.last_env.as_deref() == Some(env_json.as_str()) {
            return;
        }
        self.writer.send(format!("env {env_json}\n").as_bytes());
        self.last_env = Some(env_json);
    }

    /// Prepares the worker for the call about to be sent: metrics wanted, the `started` flag
    /// to set (at once for a warm worker), whether it came from the pool, the call's nonce, and
    /// the per-call baselines of the figures. Call it before sending the call frame.
    pub fn begin_call(&mut self, started: Arc<AtomicBool>, measure: bool, warm: bool, nonce: &str) {
        self.nonce = nonce.to_string();
        self.asked = Asked::Call;
        self.measure = measure;
        self.warm = warm;
        self.calls += 1;
        self.answered = false;
        self.events_start = self.proxy.as_ref().map(|p| p.events.len()).unwrap_or(0);
        // Before the call frame goes out: a reused worker may answer (and print) at once.
        self.reset_usage();
        if self.phase >= Phase::Running {
            started.store(true, Ordering::SeqCst);
        }
        self.started_flag = Some(started);
    }

    /// What the call just begun asks for, when it is not a tool call (after `begin_call`).
    pub fn set_asked(&mut self, asked: Asked) {
        self.asked = asked;
    }

    pub fn output_wrapped(&self) -> bool {
        self.output_wrapped
    }

    /// Sends the current call's output lines and progress reports to `events` (`None`: stop,
    /// delivering any unfinished last line first).
    pub fn set_live(&mut self, events: Option<CallEvents>) {
        for (tail, stream) in [(&self.stdout.tail, Stream::Stdout), (&self.stderr.tail, Stream::Stderr)] {
            let mut t = tail.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(mut old) = t.live.take() {
                old.flush();
            }
            t.live = events.clone().map(|tx| LineSink::new(stream, tx));
        }
        self.events = events;
    }

    /// The tails of the child's stdout and stderr, shared with whoever wants a snapshot while
    /// the call runs (a timeout reports them).
    pub fn tails(&self) -> (supervisor::SharedTail, supervisor::SharedTail) {
        (self.stdout.tail.clone(), self.stderr.tail.clone())
    }

    fn exit_info(&self) -> ExitInfo {
        let mut exit = ExitInfo { stdout: self.stdout.text(), stderr: self.stderr.text(), ..ExitInfo::default() };
        if let Some(st) = self.exit_status {
            use std::os::unix::process::ExitStatusExt;
            exit.exit_code = st.code();
            exit.signal = st.signal().map(supervisor::signal_name);
        }
        exit
    }

    /// Reads frames until the worker has loaded the entrypoint (pool warm-up).
    pub async fn wait_ready(
        &mut self,
        call: &CallId,
        cancel: &mut watch::Receiver<Option<CancelReason>>,
    ) -> Result<(), CallError> {
        use events::Event;
        let mut pinged = false;
        loop {
            if self.phase == Phase::Loaded && !pinged {
                if self.load_error.is_some() {
                    return Ok(());
                }
                self.writer.send(&protocol::encode_ping());
                pinged = true;
            }
            match self.next_event(call, cancel, true).await {
                Event::Loaded => {}
                Event::Pong => return Ok(()),
                Event::Output(_) | Event::Tools(_) => {
                    return Err(CallError::Final(Error::internal("a result arrived before any call")))
                }
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
        use events::Event;
        let event = self.next_event(call, cancel, false).await;
        self.end_host_calls();
        match event {
            Event::Loaded | Event::Pong => Err(CallError::Final(Error::internal("unexpected warm-up frame"))),
            Event::Output(o) | Event::Tools(o) => Ok(o),
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

    /// Waits until what the tool printed before its result has been read and counted, so the
    /// byte counts in the metrics are complete.
    pub async fn settle_output(&self) {
        tokio::join!(self.stdout.settle(), self.stderr.settle());
    }

    /// The channel ended without a result: collect the exit status and output, and decide what
    /// kind of failure it was.
    async fn closed_error(&mut self, call: &CallId) -> CallError {
        if self.exit_status.is_none() {
            // A tool may close fd 3 and keep running: nothing of the group survives this. The
            // group is signalled before the leader is reaped, while its id is still reserved.
            let exited = tokio::time::timeout(Duration::from_millis(200), self.child.wait()).await;
            match exited {
                Ok(status) => {
                    supervisor::kill_group(self.pid, libc::SIGKILL);
                    self.exit_status = status.ok();
                }
                Err(_) => {
                    supervisor::kill_group(self.pid, libc::SIGKILL);
                    self.exit_status = self.child.wait().await.ok();
                }
            }
        }
        self.stdout.finish(Duration::from_millis(500)).await;
        self.stderr.finish(Duration::from_millis(500)).await;
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

    /// Connections of the current call through the egress proxy.
    pub fn net_events(&self) -> Vec<crate::egress::NetEvent> {
        self.proxy.as_ref().map(|p| p.events.since(self.events_start)).unwrap_or_default()
    }

    /// Destinations the egress proxy refused during the current call.
    pub fn denied_hosts(&self) -> Vec<String> {
        crate::egress::denied_hosts(&self.net_events())
    }

    /// Resident memory of the worker process itself, in MB (one /proc read: this runs per call).
    pub fn rss_mb(&self) -> u64 {
        limits::process_rss_bytes(self.tree().runtime).unwrap_or(0) / (1024 * 1024)
    }

    pub fn is_alive(&mut self) -> bool {
        if self.exit_status.is_some() {
            return false;
        }
        match self.child.try_wait() {
            Ok(None) => true,
            Ok(Some(status)) => {
                // Reaped just now: what is left of its group still holds the group id.
                supervisor::kill_group(self.pid, libc::SIGKILL);
                self.exit_status = Some(status);
                false
            }
            Err(_) => false,
        }
    }

    /// Kills the process group and waits until everything the worker held is released: the
    /// process reaped, the proxy stopped, the cgroup removed, the output drained.
    pub async fn shutdown(mut self) {
        self.proxy.take();
        if self.exit_status.is_none() {
            supervisor::kill_group(self.pid, libc::SIGKILL);
            self.exit_status = Some(self.child.wait().await.unwrap_or_else(|_| {
                use std::os::unix::process::ExitStatusExt;
                std::process::ExitStatus::from_raw(libc::SIGKILL)
            }));
        }
        if let Some(g) = self.group.take() {
            g.destroy().await;
        }
        self.stdout.finish(Duration::from_secs(2)).await;
        self.stderr.finish(Duration::from_secs(2)).await;
        // `tmp` goes with `self`.
    }

    /// Asks the tool to stop (cancel frame, SIGTERM), then kills the group after `grace`.
    pub async fn terminate(mut self, reason: CancelReason, grace: Duration) {
        // The frame carries the reason the tool's signal reports; SIGTERM follows it.
        self.writer.send(&protocol::encode_cancel(reason.as_str()));
        tokio::time::sleep(Duration::from_millis(1)).await;
        if self.exit_status.is_none() {
            supervisor::kill_group(self.pid, libc::SIGTERM);
            if let Ok(status) = tokio::time::timeout(grace, self.child.wait()).await {
                // The leader is gone; members of its group that ignored SIGTERM still hold the
                // group id, so this reaches them (`shutdown` no longer signals a reaped group).
                supervisor::kill_group(self.pid, libc::SIGKILL);
                self.exit_status = status.ok();
            }
        }
        self.shutdown().await;
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        // The safety net for every path that did not go through `shutdown` (a runtime dropped
        // without `close()`, a panic): the group dies with its handle. `child` is killed and
        // reaped by tokio, `group` and `tmp` remove themselves, `proxy` stops.
        if self.exit_status.is_none() {
            supervisor::kill_group(self.pid, libc::SIGKILL);
        }
    }
}
