//! The Factory/Runtime API: creating a runtime (locating the binary, resolving the policy,
//! writing the harness) and executing calls with deadlines, cancellation and start retries.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use backon::BackoffBuilder;
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::sync::{oneshot, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::{RuntimeConfig, RuntimeType};
use crate::error::{CallId, Error, ExitInfo, Result};
use crate::locate::{self, RuntimeHints};
use crate::policy::Policy;
use crate::protocol::{self, Frame, FrameReader, ReadError};
use crate::sandbox::{self, SandboxReport};
use crate::supervisor::{self, SharedTail, SpawnRequest};
use crate::validate;

/// Creates runtimes for one project root.
#[derive(Debug, Clone)]
pub struct RuntimeFactory {
    project_root: PathBuf,
    hints: RuntimeHints,
}

impl RuntimeFactory {
    pub fn new(project_root: impl Into<PathBuf>) -> Self {
        RuntimeFactory { project_root: project_root.into(), hints: RuntimeHints::default() }
    }

    pub fn with_hints(mut self, hints: RuntimeHints) -> Self {
        self.hints = hints;
        self
    }

    pub fn project_root(&self) -> &Path {
        &self.project_root
    }

    pub async fn create_runtime(&self, config: RuntimeConfig) -> Result<Runtime> {
        let factory = self.clone();
        tokio::task::spawn_blocking(move || Runtime::create(&factory.project_root, &factory.hints, config))
            .await
            .map_err(|e| Error::internal(format!("runtime creation panicked: {e}")))?
    }
}

/// Options of one call.
#[derive(Debug, Default, Clone)]
pub struct CallOptions {
    /// The tool's input as JSON text; `None` means `{}`.
    pub input_json: Option<String>,
    /// The tool's config (second argument) as JSON text; `None` means `null`.
    pub config_json: Option<String>,
    /// The call's environment variables.
    pub env: BTreeMap<String, String>,
    /// Overrides `toolExecutionTimeoutMs` for this call.
    pub timeout_ms: Option<u64>,
    /// Cancelling this token aborts the call.
    pub cancel: Option<CancellationToken>,
}

/// What a successful call produced.
#[derive(Debug, Clone)]
pub struct CallOutcome {
    /// The result as JSON text: always an object (see [`protocol::wrap_output`]).
    pub output_json: String,
}

pub struct Runtime {
    inner: Arc<Inner>,
}

struct Inner {
    config: RuntimeConfig,
    project_root: PathBuf,
    entrypoint: PathBuf,
    program: PathBuf,
    runtime_dir: PathBuf,
    worker_path: PathBuf,
    policy: Policy,
    sandbox: sandbox::RuntimeSandbox,
    closed: AtomicBool,
    close_token: CancellationToken,
    tracker: TaskTracker,
}

impl Drop for Inner {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.runtime_dir);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CancelReason {
    Timeout,
    Abort,
}

impl CancelReason {
    fn as_str(self) -> &'static str {
        match self {
            CancelReason::Timeout => "timeout",
            CancelReason::Abort => "abort",
        }
    }
}

/// What the outer future can see of a call that is still running.
#[derive(Default)]
struct CallState {
    started: AtomicBool,
    tails: Mutex<Option<(SharedTail, SharedTail)>>,
}

impl CallState {
    fn exit_snapshot(&self) -> ExitInfo {
        let tails = self.tails.lock().unwrap_or_else(|e| e.into_inner());
        match &*tails {
            Some((out, err)) => ExitInfo {
                stdout: out.lock().unwrap_or_else(|e| e.into_inner()).text(),
                stderr: err.lock().unwrap_or_else(|e| e.into_inner()).text(),
                ..ExitInfo::default()
            },
            None => ExitInfo::default(),
        }
    }
}

enum AttemptError {
    /// The process never reached the harness: worth retrying.
    Start(StartFailure),
    Final(Error),
}

enum StartFailure {
    Spawn(std::io::Error),
    DiedEarly(ExitInfo),
}

/// The base of every child's environment. Nothing else of the host's leaks in.
pub(crate) const BASE_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

impl Runtime {
    fn create(project_root: &Path, hints: &RuntimeHints, config: RuntimeConfig) -> Result<Runtime> {
        config.validate()?;
        let project_root = std::fs::canonicalize(project_root).map_err(|e| {
            Error::invalid_config(format!("project root {} is not usable: {e}", project_root.display()))
        })?;
        if !project_root.is_dir() {
            return Err(Error::invalid_config(format!("project root {} is not a directory", project_root.display())));
        }
        let entrypoint = crate::policy::canonical_or_absolute(&project_root, Path::new(&config.entrypoint_path));
        let program = locate::locate_runtime(config.runtime_type, config.runtime_path.as_deref(), hints)?;
        if config.runtime_type == RuntimeType::Node && is_typescript(&entrypoint) {
            let supports_ts = locate::node_version(&program, hints).is_some_and(|v| v >= (22, 6));
            if !supports_ts {
                return Err(Error::invalid_config(format!(
                    "entrypoint {} is TypeScript, which this node ({}) cannot run; use runtimeType \"bun\", \
                     node 22.6 or newer, or a .js/.mjs entrypoint",
                    entrypoint.display(),
                    program.display()
                )));
            }
        }
        let policy = Policy::parse(config.effective_permissions())?.resolve(&project_root)?;
        let runtime_dir = make_private_dir("tool-runtime-rt")
            .map_err(|e| Error::internal(format!("cannot create the runtime directory: {e}")))?;
        let worker_path = match crate::harness::write_worker(&runtime_dir, config.worker_file_perm) {
            Ok(p) => p,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&runtime_dir);
                return Err(e);
            }
        };
        let sandbox = match sandbox::RuntimeSandbox::plan(
            config.sandbox,
            &policy,
            &sandbox::RuntimeFiles {
                program: program.clone(),
                runtime_type: config.runtime_type,
                project_root: project_root.clone(),
                entrypoint: entrypoint.clone(),
                runtime_dir: runtime_dir.clone(),
            },
        ) {
            Ok(s) => s,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&runtime_dir);
                return Err(e);
            }
        };
        Ok(Runtime {
            inner: Arc::new(Inner {
                config,
                project_root,
                entrypoint,
                program,
                runtime_dir,
                worker_path,
                policy,
                sandbox,
                closed: AtomicBool::new(false),
                close_token: CancellationToken::new(),
                tracker: TaskTracker::new(),
            }),
        })
    }

    pub fn runtime_type(&self) -> RuntimeType {
        self.inner.config.runtime_type
    }

    pub fn config(&self) -> &RuntimeConfig {
        &self.inner.config
    }

    pub fn global_timeout_ms(&self) -> u64 {
        self.inner.config.tool_execution_timeout_ms
    }

    pub fn runtime_path(&self) -> &Path {
        &self.inner.program
    }

    pub fn entrypoint(&self) -> &Path {
        &self.inner.entrypoint
    }

    /// What this runtime enforces, mechanism by mechanism.
    pub fn sandbox_report(&self) -> SandboxReport {
        self.inner.sandbox.report()
    }

    pub fn is_closed(&self) -> bool {
        self.inner.closed.load(Ordering::SeqCst)
    }

    /// Stops accepting calls, aborts the ones in flight and waits until every process they
    /// started has been reaped. Idempotent.
    pub async fn close(&self) {
        self.inner.closed.store(true, Ordering::SeqCst);
        self.inner.close_token.cancel();
        self.inner.tracker.close();
        self.inner.tracker.wait().await;
        let dir = self.inner.runtime_dir.clone();
        let _ = tokio::task::spawn_blocking(move || std::fs::remove_dir_all(dir)).await;
    }

    /// Runs one tool call to completion, timeout or cancellation.
    pub async fn execute(&self, tool_id: &str, tool_exec_id: &str, opts: CallOptions) -> Result<CallOutcome> {
        let inner = &self.inner;
        if self.is_closed() {
            return Err(Error::Closed);
        }
        validate::validate_tool_id(tool_id)?;
        validate::validate_exec_id(tool_exec_id)?;
        validate::validate_env(&opts.env)?;
        let input_json = opts.input_json.unwrap_or_else(|| "{}".to_string());
        let config_json = opts.config_json.unwrap_or_else(|| "null".to_string());
        for (what, text) in [("input", &input_json), ("config", &config_json)] {
            if text.trim().is_empty() || text.contains('\n') {
                return Err(Error::invalid_argument(format!("{what} must be JSON text on one line")));
            }
        }
        let timeout_ms = opts.timeout_ms.unwrap_or(inner.config.tool_execution_timeout_ms);
        if timeout_ms == 0 {
            return Err(Error::invalid_argument("timeout must be greater than 0 ms"));
        }
        let call = CallId { tool_id: tool_id.to_string(), tool_exec_id: tool_exec_id.to_string() };
        let user_cancel = opts.cancel.unwrap_or_default();
        if user_cancel.is_cancelled() {
            return Err(Error::Aborted { call, reason: None, started: false });
        }
        let deadline = tokio::time::Instant::now() + Duration::from_millis(timeout_ms);
        let frame = Arc::new(protocol::encode_call(tool_id, tool_exec_id, &input_json, &config_json));
        let (cancel_tx, cancel_rx) = watch::channel(None::<CancelReason>);
        let (result_tx, result_rx) = oneshot::channel();
        let state = Arc::new(CallState::default());
        {
            let inner = inner.clone();
            let call = call.clone();
            let state = state.clone();
            let env = opts.env;
            inner.clone().tracker.spawn(async move {
                let r = run_with_retries(&inner, &call, frame, &env, cancel_rx, &state).await;
                let _ = result_tx.send(r);
            });
        }
        tokio::select! {
            biased;
            r = result_rx => r.unwrap_or_else(|_| Err(Error::internal("the call task ended without a result"))),
            _ = tokio::time::sleep_until(deadline) => {
                let _ = cancel_tx.send(Some(CancelReason::Timeout));
                Err(Error::Timeout {
                    call,
                    timeout_ms,
                    started: state.started.load(Ordering::SeqCst),
                    exit: state.exit_snapshot(),
                })
            }
            _ = user_cancel.cancelled() => {
                let _ = cancel_tx.send(Some(CancelReason::Abort));
                Err(Error::Aborted { call, reason: None, started: state.started.load(Ordering::SeqCst) })
            }
            _ = inner.close_token.cancelled() => {
                let _ = cancel_tx.send(Some(CancelReason::Abort));
                Err(Error::Closed)
            }
        }
    }
}

fn is_typescript(p: &Path) -> bool {
    matches!(p.extension().and_then(|e| e.to_str()), Some("ts" | "mts" | "cts" | "tsx"))
}

/// A fresh directory only this user can enter, under the system temp dir.
fn make_private_dir(prefix: &str) -> std::io::Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    let base = std::env::temp_dir();
    for _ in 0..16 {
        let suffix: u64 = rand::random();
        let dir = base.join(format!("{prefix}-{}-{suffix:016x}", std::process::id()));
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other("could not create a unique temp directory"))
}

async fn run_with_retries(
    inner: &Arc<Inner>,
    call: &CallId,
    frame: Arc<Vec<u8>>,
    env: &BTreeMap<String, String>,
    mut cancel_rx: watch::Receiver<Option<CancelReason>>,
    state: &Arc<CallState>,
) -> Result<CallOutcome> {
    let cfg = &inner.config;
    let initial = Duration::from_millis(cfg.backoff_initial_interval_ms);
    let max = Duration::from_millis(cfg.backoff_max_interval_ms);
    let max_elapsed = Duration::from_millis(cfg.backoff_max_elapsed_time_ms);
    let mut delays = backon::ExponentialBuilder::default()
        .with_min_delay(initial)
        .with_max_delay(max)
        .with_factor(2.0)
        .with_jitter()
        .without_max_times()
        .build();
    let first = Instant::now();
    let mut attempts = 0u32;
    loop {
        attempts += 1;
        let failure = match attempt(inner, call, frame.clone(), env, cancel_rx.clone(), state).await {
            Ok(v) => return Ok(v),
            Err(AttemptError::Final(e)) => return Err(e),
            Err(AttemptError::Start(f)) => f,
        };
        // Jitter must not push a delay outside the configured bounds.
        let delay = delays.next().unwrap_or(max).clamp(initial, max);
        if first.elapsed() + delay > max_elapsed {
            return Err(match failure {
                StartFailure::Spawn(e) => Error::RuntimeUnavailable {
                    runtime: cfg.runtime_type.as_str().to_string(),
                    path: Some(inner.program.display().to_string()),
                    reason: format!("could not start the runtime after {attempts} attempts: {e}"),
                },
                StartFailure::DiedEarly(exit) => Error::ProcessExited { call: call.clone(), exit },
            });
        }
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = cancel_rx.changed() => return Err(Error::Aborted { call: call.clone(), reason: None, started: false }),
        }
    }
}

enum Outcome {
    Done(String),
    Fail(Error),
    ChannelClosed,
    Cancelled(CancelReason),
}

#[derive(PartialEq, Eq, Clone, Copy, PartialOrd)]
enum Phase {
    Starting,
    Running,
    Loaded,
}

fn build_env(inner: &Inner, tmp: &Path, call_env: &BTreeMap<String, String>) -> Vec<(String, String)> {
    let mut env: BTreeMap<String, String> = BTreeMap::new();
    env.insert("PATH".into(), BASE_PATH.into());
    env.insert("HOME".into(), tmp.display().to_string());
    env.insert("TMPDIR".into(), tmp.display().to_string());
    env.insert("LANG".into(), "C.UTF-8".into());
    if !inner.policy.env.is_none() {
        for (k, v) in std::env::vars() {
            // Loader and runtime injection variables never pass, even under --allow-env.
            if inner.policy.env_allowed(&k) && validate::validate_env_name(&k).is_ok() {
                env.insert(k, v);
            }
        }
    }
    for (k, v) in call_env {
        env.insert(k.clone(), v.clone());
    }
    env.into_iter().collect()
}

fn runtime_args(inner: &Inner, tmp: &Path) -> Vec<OsString> {
    let mut args: Vec<OsString> = Vec::new();
    match inner.config.runtime_type {
        RuntimeType::Bun => {
            // Bun would otherwise try to install missing imports from the network.
            args.push("--no-install".into());
        }
        RuntimeType::Node => {
            for o in &inner.config.node_options {
                args.push(o.into());
            }
            args.extend(inner.sandbox.node_permission_args(tmp));
        }
    }
    args.push(inner.worker_path.clone().into_os_string());
    args.push(inner.entrypoint.clone().into_os_string());
    args
}

async fn attempt(
    inner: &Arc<Inner>,
    call: &CallId,
    frame: Arc<Vec<u8>>,
    call_env: &BTreeMap<String, String>,
    mut cancel_rx: watch::Receiver<Option<CancelReason>>,
    state: &Arc<CallState>,
) -> std::result::Result<CallOutcome, AttemptError> {
    let cfg = &inner.config;
    if !inner.entrypoint.is_file() {
        return Err(AttemptError::Final(Error::EntrypointFailed {
            call: call.clone(),
            entrypoint: inner.entrypoint.display().to_string(),
            message: format!("cannot find the entrypoint {}", inner.entrypoint.display()),
            stack: None,
            exit: ExitInfo::default(),
        }));
    }
    let tmp = make_private_dir("tool-runtime-call")
        .map_err(|e| AttemptError::Final(Error::internal(format!("cannot create the call's temp dir: {e}"))))?;
    let child_sandbox = match inner.sandbox.for_call(&tmp) {
        Ok(s) => s,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(AttemptError::Final(e));
        }
    };
    let req = SpawnRequest {
        program: inner.program.clone(),
        args: runtime_args(inner, &tmp),
        env: build_env(inner, &tmp, call_env),
        cwd: inner.project_root.clone(),
        sandbox: child_sandbox,
        tail_cap: cfg.max_stderr_bytes as usize,
    };
    let spawned = match supervisor::spawn(req) {
        Ok(s) => s,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&tmp);
            if supervisor::is_transient_spawn_error(&e) {
                return Err(AttemptError::Start(StartFailure::Spawn(e)));
            }
            return Err(AttemptError::Final(Error::RuntimeUnavailable {
                runtime: cfg.runtime_type.as_str().to_string(),
                path: Some(inner.program.display().to_string()),
                reason: format!("cannot start {}: {e}", inner.program.display()),
            }));
        }
    };
    *state.tails.lock().unwrap_or_else(|e| e.into_inner()) = Some((spawned.stdout.clone(), spawned.stderr.clone()));
    let supervisor::Spawned { mut child, pid, channel, stdout, stderr, capture } = spawned;
    let (rd, wr) = channel.into_split();
    let writer = Arc::new(tokio::sync::Mutex::new(wr));
    {
        let writer = writer.clone();
        tokio::spawn(async move {
            let _ = writer.lock().await.write_all(&frame).await;
        });
    }

    let max_output = cfg.max_output_bytes as usize;
    let mut reader = FrameReader::new(BufReader::with_capacity(64 * 1024, rd), max_output + 16);
    let mut phase = Phase::Starting;
    let mut exit_status: Option<std::process::ExitStatus> = None;
    let mut drain_deadline: Option<tokio::time::Instant> = None;
    let outcome = loop {
        tokio::select! {
            biased;
            changed = cancel_rx.changed() => {
                let reason = if changed.is_err() { CancelReason::Abort } else { (*cancel_rx.borrow()).unwrap_or(CancelReason::Abort) };
                break Outcome::Cancelled(reason);
            }
            next = reader.next() => match next {
                Ok(Some(line)) => match protocol::parse_frame(&line) {
                    Ok(Frame::Hello { .. }) => {
                        phase = Phase::Running;
                        state.started.store(true, Ordering::SeqCst);
                    }
                    Ok(Frame::Loaded) => phase = Phase::Loaded,
                    Ok(Frame::LoadError(t)) => break Outcome::Fail(Error::EntrypointFailed {
                        call: call.clone(),
                        entrypoint: inner.entrypoint.display().to_string(),
                        message: format!("{}: {}", t.name, t.message),
                        stack: t.stack,
                        exit: ExitInfo { stderr: stderr.lock().unwrap_or_else(|e| e.into_inner()).text(), ..ExitInfo::default() },
                    }),
                    Ok(Frame::NotFound { available }) => break Outcome::Fail(Error::ToolNotFound { call: call.clone(), available }),
                    Ok(Frame::Ok(raw)) => {
                        if raw.len() > max_output {
                            break Outcome::Fail(Error::OutputTooLarge { call: call.clone(), limit: max_output as u64, size: raw.len() as u64 });
                        }
                        break Outcome::Done(protocol::wrap_output(&raw));
                    }
                    Ok(Frame::Err(cause)) => break Outcome::Fail(Error::ToolFailed { call: call.clone(), cause }),
                    Ok(Frame::BadOutput { reason }) => break Outcome::Fail(Error::InvalidOutput { call: call.clone(), reason }),
                    Err(reason) => break Outcome::Fail(Error::InvalidOutput { call: call.clone(), reason: format!("garbage on the result channel: {reason}") }),
                },
                Ok(None) => break Outcome::ChannelClosed,
                Err(ReadError::TooLarge { seen }) => break Outcome::Fail(Error::OutputTooLarge { call: call.clone(), limit: max_output as u64, size: seen }),
                Err(ReadError::Io(reason)) => {
                    if phase == Phase::Starting {
                        break Outcome::ChannelClosed;
                    }
                    break Outcome::Fail(Error::InvalidOutput { call: call.clone(), reason: format!("the result channel broke: {reason}") });
                }
            },
            status = child.wait(), if exit_status.is_none() => {
                exit_status = status.ok();
                // Whatever the child wrote before it died is already buffered; a grandchild
                // holding the channel open must not keep us waiting for an end that never comes.
                drain_deadline = Some(tokio::time::Instant::now() + Duration::from_millis(100));
            }
            _ = tokio::time::sleep_until(drain_deadline.unwrap_or_else(tokio::time::Instant::now)), if drain_deadline.is_some() => {
                break Outcome::ChannelClosed;
            }
        }
    };

    let grace = Duration::from_millis(cfg.kill_grace_ms);
    match outcome {
        Outcome::Done(output) => {
            // The result is in: the process and anything it started go now.
            supervisor::kill_group(pid, libc::SIGKILL);
            spawn_cleanup(inner, child, pid, capture, tmp);
            Ok(CallOutcome { output_json: output })
        }
        Outcome::Fail(e) => {
            supervisor::kill_group(pid, libc::SIGKILL);
            spawn_cleanup(inner, child, pid, capture, tmp);
            Err(AttemptError::Final(e))
        }
        Outcome::Cancelled(reason) => {
            let inner2 = inner.clone();
            inner.tracker.spawn(async move {
                let cancel = protocol::encode_cancel(reason.as_str());
                let w = writer.clone();
                tokio::spawn(async move {
                    let _ = tokio::time::timeout(Duration::from_millis(100), async { w.lock().await.write_all(&cancel).await }).await;
                });
                supervisor::kill_group(pid, libc::SIGTERM);
                let _ = tokio::time::timeout(grace, child.wait()).await;
                supervisor::kill_group(pid, libc::SIGKILL);
                finish_cleanup(&inner2, child, pid, capture, tmp).await;
            });
            Err(AttemptError::Final(Error::Aborted { call: call.clone(), reason: Some(reason.as_str().into()), started: phase >= Phase::Running }))
        }
        Outcome::ChannelClosed => {
            // The channel ended without a result: wait briefly for the exit status, then make
            // sure nothing of the group survives (a tool may close fd 3 and keep running).
            if exit_status.is_none() {
                exit_status = tokio::time::timeout(Duration::from_millis(200), child.wait()).await.ok().and_then(|r| r.ok());
            }
            supervisor::kill_group(pid, libc::SIGKILL);
            if exit_status.is_none() {
                exit_status = child.wait().await.ok();
            }
            for h in capture {
                let _ = tokio::time::timeout(Duration::from_millis(500), h).await;
            }
            let mut exit = ExitInfo {
                stdout: stdout.lock().unwrap_or_else(|e| e.into_inner()).text(),
                stderr: stderr.lock().unwrap_or_else(|e| e.into_inner()).text(),
                ..ExitInfo::default()
            };
            if let Some(st) = exit_status {
                use std::os::unix::process::ExitStatusExt;
                exit.exit_code = st.code();
                exit.signal = st.signal().map(supervisor::signal_name);
            }
            let tmp2 = tmp.clone();
            inner.tracker.spawn_blocking(move || {
                let _ = std::fs::remove_dir_all(tmp2);
            });
            match phase {
                Phase::Starting => Err(AttemptError::Start(StartFailure::DiedEarly(exit))),
                Phase::Running => Err(AttemptError::Final(Error::EntrypointFailed {
                    call: call.clone(),
                    entrypoint: inner.entrypoint.display().to_string(),
                    message: "the process exited while loading the entrypoint".into(),
                    stack: None,
                    exit,
                })),
                Phase::Loaded => Err(AttemptError::Final(Error::ProcessExited { call: call.clone(), exit })),
            }
        }
    }
}

/// Reaps the child, kills what is left of its group and removes its temp dir, off the
/// caller's path.
fn spawn_cleanup(
    inner: &Arc<Inner>,
    child: tokio::process::Child,
    pid: i32,
    capture: Vec<tokio::task::JoinHandle<()>>,
    tmp: PathBuf,
) {
    let inner2 = inner.clone();
    inner.tracker.spawn(async move { finish_cleanup(&inner2, child, pid, capture, tmp).await });
}

async fn finish_cleanup(
    _inner: &Arc<Inner>,
    mut child: tokio::process::Child,
    pid: i32,
    capture: Vec<tokio::task::JoinHandle<()>>,
    tmp: PathBuf,
) {
    let _ = child.wait().await;
    // Members of the group outlive the leader's reaping; the group id stays reserved while
    // any of them lives, so this cannot hit an unrelated process.
    supervisor::kill_group(pid, libc::SIGKILL);
    for h in capture {
        let _ = tokio::time::timeout(Duration::from_secs(2), h).await;
    }
    let _ = tokio::task::spawn_blocking(move || std::fs::remove_dir_all(tmp)).await;
}
