//! The Factory/Runtime API: creating a runtime (locating the binary, resolving the policy,
//! writing the harness) and executing calls with deadlines, cancellation and start retries.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use backon::BackoffBuilder;
use tokio::sync::{oneshot, watch, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::{RuntimeConfig, RuntimeType};
use crate::error::{CallId, Error, ExitInfo, Result};
use crate::limits::Limits;
use crate::locate::{self, RuntimeHints};
use crate::policy::Policy;
use crate::pool::Pool;
use crate::protocol;
use crate::sandbox::{self, SandboxReport};
use crate::supervisor::{SharedTail, SpawnRequest};
use crate::validate;
use crate::worker::{CallError, CallMetrics, CancelReason, StartFailure, Worker, WorkerSpec};

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
        let runtime =
            tokio::task::spawn_blocking(move || Runtime::create(&factory.project_root, &factory.hints, config))
                .await
                .map_err(|e| Error::internal(format!("runtime creation panicked: {e}")))??;
        runtime.start_pool();
        Ok(runtime)
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
    /// Overrides `memoryLimitMb` for this call.
    pub memory_limit_mb: Option<u64>,
    /// Overrides `cpuTimeLimitMs` for this call.
    pub cpu_time_limit_ms: Option<u64>,
    /// Collect [`CallMetrics`].
    pub metrics: bool,
}

/// What a successful call produced.
#[derive(Debug, Clone)]
pub struct CallOutcome {
    /// The result as JSON text: always an object (see [`protocol::wrap_output`]).
    pub output_json: String,
    /// Present when asked for with [`CallOptions::metrics`].
    pub metrics: Option<CallMetrics>,
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
    /// Calls running at once; more wait here, in FIFO order.
    queue: Arc<Semaphore>,
    waiting: AtomicU32,
    pool: Option<Pool>,
    /// The egress proxy's rules and resolver, when the policy lists hosts.
    egress: Option<crate::worker::EgressRules>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.runtime_dir);
    }
}

/// What the outer future can see of a call that is still running.
#[derive(Default)]
struct CallState {
    started: Arc<AtomicBool>,
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

    fn watch(&self, w: &Worker) {
        *self.tails.lock().unwrap_or_else(|e| e.into_inner()) = Some((w.stdout.clone(), w.stderr.clone()));
    }
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
        let queue = Arc::new(Semaphore::new(config.max_concurrency as usize));
        let pool = config.pool.clone().map(Pool::new);
        let egress = sandbox.uses_proxy().then(|| {
            let mut resolver = crate::egress::Resolver::system();
            for (name, addrs) in &config.net_hosts {
                let ips = addrs.iter().filter_map(|a| a.parse().ok()).collect();
                resolver = resolver.with_override(name, ips);
            }
            (Arc::new(crate::egress::NetRules::from_policy(&policy)), Arc::new(resolver))
        });
        Ok(Runtime {
            inner: Arc::new(Inner {
                queue,
                waiting: AtomicU32::new(0),
                pool,
                egress,
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

    /// Idle warm workers right now (0 without a pool).
    pub fn idle_workers(&self) -> usize {
        self.inner.pool.as_ref().map(|p| p.idle_count()).unwrap_or(0)
    }

    /// Process ids of the idle warm workers.
    pub fn idle_worker_pids(&self) -> Vec<i32> {
        self.inner.pool.as_ref().map(|p| p.idle_pids()).unwrap_or_default()
    }

    /// Stops accepting calls, aborts the ones in flight, stops the warm workers and waits until
    /// every process has been reaped. Idempotent.
    pub async fn close(&self) {
        self.inner.closed.store(true, Ordering::SeqCst);
        self.inner.close_token.cancel();
        if let Some(pool) = &self.inner.pool {
            for w in pool.close() {
                w.kill(&self.inner.tracker);
            }
        }
        self.inner.tracker.close();
        self.inner.tracker.wait().await;
        self.inner.sandbox.release();
        let dir = self.inner.runtime_dir.clone();
        let _ = tokio::task::spawn_blocking(move || std::fs::remove_dir_all(dir)).await;
    }

    /// Starts the manager that keeps `minIdle` warm workers ready. It holds the runtime weakly:
    /// a runtime dropped without `close()` still stops it.
    fn start_pool(&self) {
        if self.inner.pool.is_none() {
            return;
        }
        let weak = Arc::downgrade(&self.inner);
        let token = self.inner.close_token.clone();
        self.inner.tracker.spawn(pool_manager(weak, token));
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
        let limits = Limits {
            memory_limit_mb: opts.memory_limit_mb.or(inner.config.memory_limit_mb),
            cpu_time_limit_ms: opts.cpu_time_limit_ms.or(inner.config.cpu_time_limit_ms),
            max_processes: inner.config.max_processes,
            max_file_size_mb: inner.config.max_file_size_mb,
        };
        if let Some(mb) = limits.memory_limit_mb {
            if mb < 32 {
                return Err(Error::invalid_argument(format!("memoryLimitMb {mb} is below the 32 MB a runtime needs")));
            }
        }
        let call = CallId { tool_id: tool_id.to_string(), tool_exec_id: tool_exec_id.to_string() };
        let user_cancel = opts.cancel.unwrap_or_default();
        if user_cancel.is_cancelled() {
            return Err(Error::Aborted { call, reason: None, started: false });
        }
        let t0 = Instant::now();
        let deadline = tokio::time::Instant::now() + Duration::from_millis(timeout_ms);

        // Wait for a slot: FIFO, bounded by maxQueue, and still subject to the deadline and
        // the abort signal (the error then says the call never started).
        let permit = match inner.queue.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                if let Some(max) = inner.config.max_queue {
                    if inner.waiting.load(Ordering::SeqCst) >= max {
                        return Err(Error::QueueFull { call, max_queue: max as u64 });
                    }
                }
                inner.waiting.fetch_add(1, Ordering::SeqCst);
                let acquired = tokio::select! {
                    p = inner.queue.clone().acquire_owned() => p.map_err(|_| Error::Closed),
                    _ = tokio::time::sleep_until(deadline) => Err(Error::Timeout { call: call.clone(), timeout_ms, started: false, exit: ExitInfo::default() }),
                    _ = user_cancel.cancelled() => Err(Error::Aborted { call: call.clone(), reason: None, started: false }),
                    _ = inner.close_token.cancelled() => Err(Error::Closed),
                };
                inner.waiting.fetch_sub(1, Ordering::SeqCst);
                acquired?
            }
        };
        let queued_ms = t0.elapsed().as_secs_f64() * 1000.0;

        let frame = Arc::new(protocol::encode_call(tool_id, tool_exec_id, &input_json, &config_json));
        let (cancel_tx, cancel_rx) = watch::channel(None::<CancelReason>);
        let (result_tx, result_rx) = oneshot::channel();
        let state = Arc::new(CallState::default());
        {
            let inner = inner.clone();
            let job = CallJob {
                call: call.clone(),
                frame,
                env: opts.env,
                state: state.clone(),
                limits,
                want_metrics: opts.metrics,
            };
            inner.clone().tracker.spawn(async move {
                // The slot is held until the call's process is done with, not just answered.
                let _permit = permit;
                let r = run_with_retries(&inner, &job, cancel_rx).await;
                let _ = result_tx.send(r);
            });
        }
        let outcome = tokio::select! {
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
        };
        outcome.map(|mut o| {
            if let Some(m) = &mut o.metrics {
                m.queued_ms = (queued_ms * 100.0).round() / 100.0;
                m.wall_ms = (t0.elapsed().as_secs_f64() * 1000.0 * 100.0).round() / 100.0;
            }
            o
        })
    }
}

fn is_typescript(p: &Path) -> bool {
    matches!(p.extension().and_then(|e| e.to_str()), Some("ts" | "mts" | "cts" | "tsx"))
}

/// Every call's temp dir lives in one folder per host process: a sandboxed call gets a private
/// tmpfs mounted over that folder, so no call sees another's files.
fn calls_base() -> std::io::Result<&'static Path> {
    static BASE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    if let Some(b) = BASE.get() {
        return Ok(b);
    }
    let dir = make_private_dir_in(&std::env::temp_dir(), "tool-runtime-calls")?;
    Ok(BASE.get_or_init(|| dir))
}

fn make_call_dir() -> std::io::Result<PathBuf> {
    make_private_dir_in(calls_base()?, "call")
}

/// A fresh directory only this user can enter, under the system temp dir.
fn make_private_dir(prefix: &str) -> std::io::Result<PathBuf> {
    make_private_dir_in(&std::env::temp_dir(), prefix)
}

fn make_private_dir_in(base: &Path, prefix: &str) -> std::io::Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
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

/// Everything one call carries through its attempts.
struct CallJob {
    call: CallId,
    /// The encoded call frame.
    frame: Arc<Vec<u8>>,
    env: BTreeMap<String, String>,
    state: Arc<CallState>,
    limits: Limits,
    want_metrics: bool,
}

async fn run_with_retries(
    inner: &Arc<Inner>,
    job: &CallJob,
    mut cancel_rx: watch::Receiver<Option<CancelReason>>,
) -> Result<CallOutcome> {
    let call = &job.call;
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
        let failure = match attempt(inner, job, cancel_rx.clone()).await {
            Ok(v) => return Ok(v),
            Err(CallError::Final(e)) => return Err(e),
            Err(CallError::Start(f)) => f,
        };
        // Jitter must not push a delay outside the configured bounds.
        let delay = delays.next().unwrap_or(max).clamp(initial, max);
        if first.elapsed() + delay > max_elapsed {
            return Err(match failure {
                StartFailure::Spawn(e) if !crate::supervisor::is_transient_spawn_error(&e) => {
                    Error::RuntimeUnavailable {
                        runtime: cfg.runtime_type.as_str().to_string(),
                        path: Some(inner.program.display().to_string()),
                        reason: format!("cannot start {}: {e}", inner.program.display()),
                    }
                }
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

fn build_env(inner: &Inner, tmp: &Path, call_env: &BTreeMap<String, String>) -> Vec<(String, String)> {
    let mut env: BTreeMap<String, String> = BTreeMap::new();
    env.insert("PATH".into(), BASE_PATH.into());
    env.insert("HOME".into(), tmp.display().to_string());
    env.insert("TMPDIR".into(), tmp.display().to_string());
    env.insert("LANG".into(), "C.UTF-8".into());
    if inner.config.runtime_type == RuntimeType::Bun {
        // Bun would otherwise make a transpiler cache in every call's fresh HOME on start
        // (0.5 ms), one that no later call can use.
        env.insert("BUN_RUNTIME_TRANSPILER_CACHE_PATH".into(), "0".into());
    }
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
    if inner.egress.is_some() {
        // The proxy is the only way out; these win over anything the call asked for.
        let url = format!("http://127.0.0.1:{}", crate::egress::PROXY_PORT);
        for k in ["TOOL_RUNTIME_PROXY", "HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"] {
            env.insert(k.into(), url.clone());
        }
        env.remove("NO_PROXY");
        env.remove("no_proxy");
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
    args.extend(harness_flags(inner));
    args
}

/// Flags for the harness itself (after the entrypoint, so the runtime passes them on):
/// `--no-network` when the policy grants no network and the sandbox enforces it, so refused
/// connections are explained (an argument rather than a variable: a call's environment is
/// exactly what it was given).
fn harness_flags(inner: &Inner) -> Vec<OsString> {
    if inner.sandbox.denies_all_network() {
        vec!["--no-network".into()]
    } else {
        Vec::new()
    }
}

/// The environment a warm worker applies to `process.env` just before a call, as JSON.
fn env_json(env: &[(String, String)]) -> String {
    let map: serde_json::Map<String, serde_json::Value> =
        env.iter().map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone()))).collect();
    serde_json::Value::Object(map).to_string()
}

/// Starts a runtime process for a call (`call_env`) or, for the pool, with the base
/// environment only (the call's arrives later in an `env` frame).
fn spawn_worker(
    inner: &Inner,
    call_env: &BTreeMap<String, String>,
    limits: Limits,
) -> std::result::Result<Worker, CallError> {
    let tmp = make_call_dir()
        .map_err(|e| CallError::Final(Error::internal(format!("cannot create the call's temp dir: {e}"))))?;
    let child_sandbox = match inner.sandbox.for_call(&tmp) {
        Ok(s) => s,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(CallError::Final(e));
        }
    };
    let mut args = runtime_args(inner, &tmp);
    if inner.config.runtime_type == RuntimeType::Node {
        if let Some(mb) = limits.memory_limit_mb {
            // V8 then fails with a clean heap error before the kernel has to kill anything.
            args.insert(0, format!("--max-old-space-size={}", (mb * 3 / 4).max(16)).into());
        }
    }
    let request = SpawnRequest {
        program: inner.program.clone(),
        args,
        env: build_env(inner, &tmp, call_env),
        cwd: inner.project_root.clone(),
        sandbox: child_sandbox,
        tail_cap: inner.config.max_stderr_bytes as usize,
        cgroup_procs: Vec::new(),
        rlimits: None,
        receive_listener: inner.egress.is_some(),
    };
    let spec = WorkerSpec {
        reusable: inner.pool.as_ref().is_some_and(|p| p.cfg.reuse.is_some()),
        egress: inner.egress.clone(),
        request,
        entrypoint: inner.entrypoint.display().to_string(),
        group_name: format!("call-{}", crate::ids::new_id().to_ascii_lowercase()),
        tmp,
        limits,
    };
    Worker::spawn(spec, inner.config.max_output_bytes as usize).map_err(|e| match e {
        CallError::Start(StartFailure::Spawn(io)) if !crate::supervisor::is_transient_spawn_error(&io) => {
            CallError::Final(Error::RuntimeUnavailable {
                runtime: inner.config.runtime_type.as_str().to_string(),
                path: Some(inner.program.display().to_string()),
                reason: format!("cannot start {}: {io}", inner.program.display()),
            })
        }
        other => other,
    })
}

async fn attempt(
    inner: &Arc<Inner>,
    job: &CallJob,
    mut cancel_rx: watch::Receiver<Option<CancelReason>>,
) -> std::result::Result<CallOutcome, CallError> {
    let CallJob { call, frame, env: call_env, state, limits, want_metrics } = job;
    let (limits, want_metrics) = (*limits, *want_metrics);
    // A warm worker when one is idle; else a fresh one, counted in the pool while there is
    // room under maxWorkers; else wait for one (the deadline and the abort signal still apply).
    let mut warm = None;
    let mut adopted = false;
    if let Some(pool) = &inner.pool {
        let available = pool.available.clone();
        loop {
            let notified = available.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let (w, dead) = pool.take();
            for d in dead {
                d.kill(&inner.tracker);
            }
            if w.is_some() {
                warm = w;
                break;
            }
            if pool.try_adopt() {
                adopted = true;
                break;
            }
            tokio::select! {
                _ = &mut notified => {}
                _ = tokio::time::sleep(Duration::from_millis(50)) => {}
                _ = cancel_rx.changed() => {
                    return Err(CallError::Final(Error::Aborted { call: call.clone(), reason: None, started: false }));
                }
            }
        }
    }
    let pooled = warm.is_some() || adopted;
    let mut worker = match warm {
        Some(mut w) => {
            if let Some(e) = w.take_load_error(call) {
                release(inner, None);
                w.kill(&inner.tracker);
                return Err(CallError::Final(e));
            }
            w.warm = true;
            w.set_memory_limit(limits.memory_limit_mb);
            w.set_cpu_limit(limits.cpu_time_limit_ms);
            let env = build_env(inner, &w.tmp, call_env);
            w.send_env(env_json(&env));
            w
        }
        None if !inner.entrypoint.is_file() => {
            if adopted {
                release(inner, None);
            }
            return Err(CallError::Final(Error::EntrypointFailed {
                call: call.clone(),
                entrypoint: inner.entrypoint.display().to_string(),
                message: format!("cannot find the entrypoint {}", inner.entrypoint.display()),
                stack: None,
                exit: ExitInfo::default(),
            }));
        }
        None => match spawn_worker(inner, call_env, limits) {
            Ok(w) => w,
            Err(e) => {
                if adopted {
                    release(inner, None);
                }
                return Err(e);
            }
        },
    };
    state.watch(&worker);
    worker.watch_started(state.started.clone());
    worker.measure = want_metrics;
    worker.send(frame.clone());
    let result = worker.run(call, &mut cancel_rx).await;
    let reusable = |w: &mut Worker| -> bool {
        let Some(reuse) = inner.pool.as_ref().and_then(|p| p.cfg.reuse.as_ref()) else { return false };
        pooled && w.is_alive() && w.calls < reuse.max_calls_per_worker && w.rss_mb() < reuse.max_rss_mb
    };
    match result {
        Ok(output) => {
            let metrics = if want_metrics {
                worker.settle_output().await;
                Some(worker.metrics())
            } else {
                None
            };
            finish(inner, worker, pooled, &reusable);
            Ok(CallOutcome { output_json: output, metrics })
        }
        Err(CallError::Final(Error::Aborted { reason: Some(r), started, call: c })) => {
            let reason = if r == "timeout" { CancelReason::Timeout } else { CancelReason::Abort };
            if pooled {
                release(inner, None);
            }
            worker.terminate(reason, Duration::from_millis(inner.config.kill_grace_ms), &inner.tracker);
            Err(CallError::Final(Error::Aborted { call: c, reason: Some(r), started }))
        }
        Err(CallError::Final(e)) => {
            // A tool that threw leaves a healthy process behind; anything the supervisor had to
            // stop (a limit, garbage, a closed channel, an oversized answer) does not.
            let healthy = worker.answered;
            if healthy {
                finish(inner, worker, pooled, &reusable);
            } else {
                if pooled {
                    release(inner, None);
                }
                worker.kill(&inner.tracker);
            }
            Err(CallError::Final(e))
        }
        Err(start @ CallError::Start(_)) => {
            if pooled {
                release(inner, None);
            }
            worker.kill(&inner.tracker);
            Err(start)
        }
    }
}

/// After a call: back to the pool when reuse allows, else gone.
fn finish(inner: &Arc<Inner>, mut worker: Worker, pooled: bool, reusable: &dyn Fn(&mut Worker) -> bool) {
    if pooled && reusable(&mut worker) {
        if let Some(w) = inner.pool.as_ref().and_then(|p| p.release(Some(worker))) {
            w.kill(&inner.tracker);
        }
        return;
    }
    if pooled {
        release(inner, None);
    }
    worker.kill(&inner.tracker);
}

fn release(inner: &Inner, worker: Option<Worker>) {
    if let Some(pool) = &inner.pool {
        if let Some(w) = pool.release(worker) {
            w.kill(&inner.tracker);
        }
    }
}

const REFILL_DELAY_MS: u64 = 2;

/// Keeps `minIdle` workers warm, retires idle ones past `idleTimeoutMs`.
async fn pool_manager(weak: Weak<Inner>, token: CancellationToken) {
    loop {
        let Some(inner) = weak.upgrade() else { return };
        let Some(pool) = inner.pool.as_ref() else { return };
        if pool.is_closed() {
            return;
        }
        for w in pool.expired() {
            w.kill(&inner.tracker);
        }
        for _ in 0..pool.reserve_starts() {
            let inner2 = inner.clone();
            inner.tracker.spawn(async move { warm_one(inner2).await });
        }
        let wake = pool.wake.clone();
        // Do not hold the runtime alive while waiting.
        drop(inner);
        tokio::select! {
            _ = token.cancelled() => return,
            _ = wake.notified() => {
                // Let the answer that freed the slot reach its caller first: forking a large
                // host process stalls its other threads while page tables are copied.
                tokio::time::sleep(Duration::from_millis(REFILL_DELAY_MS)).await;
            }
            _ = tokio::time::sleep(Duration::from_millis(250)) => {}
        }
    }
}

/// Starts one worker and waits until it has imported the entrypoint.
async fn warm_one(inner: Arc<Inner>) {
    let Some(pool) = inner.pool.as_ref() else { return };
    let limits = Limits {
        memory_limit_mb: inner.config.memory_limit_mb,
        cpu_time_limit_ms: inner.config.cpu_time_limit_ms,
        max_processes: inner.config.max_processes,
        max_file_size_mb: inner.config.max_file_size_mb,
    };
    let mut worker = match spawn_worker(&inner, &BTreeMap::new(), limits) {
        Ok(w) => w,
        Err(_) => {
            // Back off before the manager tries again, so a broken runtime is not hammered.
            tokio::time::sleep(Duration::from_millis(inner.config.backoff_initial_interval_ms)).await;
            pool.started(None);
            return;
        }
    };
    let (_keep, mut rx) = watch::channel(None::<CancelReason>);
    let placeholder = CallId { tool_id: "(warm-up)".into(), tool_exec_id: "(warm-up)".into() };
    let ready = tokio::select! {
        r = worker.wait_ready(&placeholder, &mut rx) => r.is_ok(),
        _ = tokio::time::sleep(Duration::from_millis(inner.config.tool_execution_timeout_ms)) => false,
        _ = inner.close_token.cancelled() => false,
    };
    if ready {
        if let Some(w) = pool.started(Some(worker)) {
            w.kill(&inner.tracker);
        }
    } else {
        pool.started(None);
        worker.kill(&inner.tracker);
        tokio::time::sleep(Duration::from_millis(inner.config.backoff_initial_interval_ms)).await;
    }
}
