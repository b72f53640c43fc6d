//! The Factory/Runtime API: creating a runtime (locating the binary, resolving the policy,
//! writing the harness) and executing calls: admission in call order, the deadline, the abort
//! signal, retries of start failures, and the warm pool.

mod admission;
mod attempt;
mod child_env;
mod pool;
mod retry;
mod tempdir;
mod tools;
mod warm;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{oneshot, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::{RuntimeConfig, RuntimeType};
use crate::error::{CallId, Error, ExitInfo, Result};
use crate::limits::Limits;
use crate::locate::{self, RuntimeHints};
use crate::nodever::TypeScript;
use crate::policy::Policy;
use crate::protocol;
use crate::sandbox::{self, SandboxReport};
use crate::supervisor::SpawnRequest;
use crate::validate;
use crate::worker::{CallError, CallMetrics, CancelReason, EgressRules, StartFailure, Worker, WorkerSpec};
use admission::{Admission, Ticket};
use attempt::{CallJob, CallState};
use pool::Pool;
use tempdir::RuntimeDirs;

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
    /// Receives the call's output lines and progress reports while it runs.
    pub events: Option<crate::worker::CallEvents>,
    /// Functions the tool may call back (`context.host.name(args)`).
    pub host: Option<Arc<crate::host::HostFunctions>>,
    /// Source to run as an ES module instead of a tool of the entrypoint.
    pub code: Option<InlineCode>,
}

/// Code given with the call (`executeCode`): it travels in the call frame and is imported from
/// memory, never from a file.
#[derive(Debug, Clone)]
pub struct InlineCode {
    pub source: String,
    /// `"js"` or `"ts"`.
    pub language: String,
}

/// What a successful call produced.
#[derive(Debug, Clone)]
pub struct CallOutcome {
    /// The result as JSON text: always an object (see [`protocol::wrap_output`]).
    pub output_json: String,
    /// Present when asked for with [`CallOptions::metrics`].
    pub metrics: Option<CallMetrics>,
    /// The tool returned a non-object, which `output_json` carries as `{ "value": ... }`.
    pub output_wrapped: bool,
}

/// A call that has its place in line: taken when the call was made, so calls are admitted in
/// the order they were made. Dropping it gives the place up.
pub struct Admitted {
    call: CallId,
    ticket: Ticket,
    /// When the call was made: its deadline counts from here, queue time included.
    made: Instant,
}

impl Admitted {
    pub fn call(&self) -> &CallId {
        &self.call
    }
}

pub struct Runtime {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    config: RuntimeConfig,
    project_root: PathBuf,
    entrypoint: PathBuf,
    program: PathBuf,
    dirs: RuntimeDirs,
    policy: Policy,
    sandbox: sandbox::RuntimeSandbox,
    closed: AtomicBool,
    close_token: CancellationToken,
    tracker: TaskTracker,
    /// Where the runtime's tasks run; `admit` starts one from the JS thread.
    tokio: tokio::runtime::Handle,
    admission: Arc<Admission>,
    pool: Option<Arc<Pool>>,
    /// The egress proxy's rules and resolver, when the policy lists hosts.
    egress: Option<EgressRules>,
    /// The tools' metadata and compiled schemas (`listTools()`).
    catalog: tools::Catalog,
    /// How node runs a TypeScript entrypoint.
    typescript: TypeScript,
}

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
        // Asked only when it matters (it may start the binary once): for the permission flag's
        // spelling and for how TypeScript runs.
        let needs_version = config.sandbox != crate::config::SandboxMode::Off || is_typescript(&entrypoint);
        let node_version = (config.runtime_type == RuntimeType::Node && needs_version)
            .then(|| locate::node_version(&program, hints))
            .flatten();
        let typescript = match node_version {
            Some(v) => TypeScript::plan(&entrypoint, v, hints.amaro_path.as_deref()).map_err(Error::invalid_config)?,
            None if config.runtime_type == RuntimeType::Node && is_typescript(&entrypoint) => {
                return Err(Error::invalid_config(format!(
                    "entrypoint {} is TypeScript and the version of node {} could not be read to choose how to run it",
                    entrypoint.display(),
                    program.display()
                )))
            }
            None => TypeScript::None,
        };
        let policy = Policy::parse(config.effective_permissions())?.resolve(&project_root)?;
        // Removed again when anything below fails: the dirs clean up after themselves.
        let mut dirs = RuntimeDirs::create()?;
        let sandbox = sandbox::RuntimeSandbox::plan(
            config.sandbox,
            &policy,
            &sandbox::RuntimeFiles {
                program: program.clone(),
                runtime_type: config.runtime_type,
                project_root: project_root.clone(),
                entrypoint: entrypoint.clone(),
                runtime_dir: dirs.root().to_path_buf(),
                calls_base: dirs.calls_base().to_path_buf(),
                harness_perm: config.worker_file_perm,
                temp_size_mb: config.max_temp_mb,
                node_version,
                typescript: typescript.clone(),
            },
        )?;
        dirs.place_harness(sandbox.harness_is_private().then(|| sandbox.harness_path()), config.worker_file_perm)?;
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
                // Held until the tools' listing says which of them limit their concurrency.
                admission: Admission::new(config.max_concurrency as usize, config.max_queue.map(|q| q as usize), true),
                pool,
                egress,
                typescript,
                config,
                project_root,
                entrypoint,
                program,
                dirs,
                policy,
                sandbox,
                catalog: tools::Catalog::default(),
                closed: AtomicBool::new(false),
                close_token: CancellationToken::new(),
                tracker: TaskTracker::new(),
                // `create` runs on tokio's blocking pool.
                tokio: tokio::runtime::Handle::current(),
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
        self.inner.stop();
        self.inner.tracker.close();
        self.inner.tracker.wait().await;
        self.inner.sandbox.release();
    }

    /// Starts the manager that keeps `minIdle` warm workers ready. It holds the runtime weakly:
    /// a runtime dropped without `close()` still stops it.
    fn start_pool(&self) {
        if self.inner.pool.is_none() {
            return;
        }
        let weak = Arc::downgrade(&self.inner);
        let token = self.inner.close_token.clone();
        self.inner.tracker.spawn(warm::pool_manager(weak, token));
    }

    /// Takes the call's place in line now: calls are admitted in the order this is called.
    /// Refuses at once when the line is full (`ERR_QUEUE_FULL`) or the runtime is closed.
    /// `inline_code`: the call runs code of its own (`executeCode`), not an entrypoint tool.
    pub fn admit(&self, tool_id: &str, tool_exec_id: &str, inline_code: bool) -> Result<Admitted> {
        if self.is_closed() {
            return Err(Error::Closed);
        }
        validate::validate_tool_id(tool_id)?;
        validate::validate_exec_id(tool_exec_id)?;
        let call = CallId { tool_id: tool_id.to_string(), tool_exec_id: tool_exec_id.to_string() };
        if !inline_code {
            self.inner.prepare_call(tools::Exact::Known);
        }
        match self.inner.admission.admit(Some(tool_id)) {
            Ok(ticket) => Ok(Admitted { call, ticket, made: Instant::now() }),
            Err(full) => Err(Error::QueueFull { call, max_queue: full.max_queue as u64 }),
        }
    }

    /// Runs one tool call to completion, timeout or cancellation.
    pub async fn execute(&self, tool_id: &str, tool_exec_id: &str, opts: CallOptions) -> Result<CallOutcome> {
        let admitted = self.admit(tool_id, tool_exec_id, opts.code.is_some())?;
        self.run(admitted, opts).await
    }

    /// Runs a call admitted with [`Runtime::admit`].
    pub async fn run(&self, admitted: Admitted, opts: CallOptions) -> Result<CallOutcome> {
        let inner = &self.inner;
        let Admitted { call, ticket, made } = admitted;
        validate::validate_env(&opts.env)?;
        // One JSON value each: text that closes the value early would forge the call frame.
        let input = protocol::json_value("input", opts.input_json.unwrap_or_else(|| "{}".to_string()))?;
        let config = protocol::json_value("config", opts.config_json.unwrap_or_else(|| "null".to_string()))?;
        let timeout_ms = opts.timeout_ms.unwrap_or(inner.config.tool_execution_timeout_ms);
        if timeout_ms == 0 {
            return Err(Error::invalid_argument("timeout must be greater than 0 ms"));
        }
        let limits = Limits {
            memory_limit_mb: opts.memory_limit_mb.or(inner.config.memory_limit_mb),
            cpu_time_limit_ms: opts.cpu_time_limit_ms.or(inner.config.cpu_time_limit_ms),
            ..inner.default_limits()
        };
        if let Some(mb) = limits.memory_limit_mb {
            if mb < 32 {
                return Err(Error::invalid_argument(format!("memoryLimitMb {mb} is below the 32 MB a runtime needs")));
            }
        }
        let user_cancel = opts.cancel.unwrap_or_default();
        if user_cancel.is_cancelled() {
            return Err(Error::Aborted { call, reason: None, started: false });
        }
        let deadline = tokio::time::Instant::from_std(made) + Duration::from_millis(timeout_ms);
        if opts.code.is_some() {
            inner.admission.untool(&ticket);
        } else {
            inner.prepare_call(tools::Exact::Recent);
        }

        // Wait for a slot, in line, still subject to the deadline and the abort signal (the
        // error then says the call never started).
        let permit = tokio::select! {
            p = ticket.ready() => p,
            _ = tokio::time::sleep_until(deadline) => {
                return Err(Error::Timeout { call, timeout_ms, started: false, exit: ExitInfo::default() });
            }
            _ = user_cancel.cancelled() => return Err(Error::Aborted { call, reason: None, started: false }),
            _ = inner.close_token.cancelled() => return Err(Error::Closed),
        };
        let queued_ms = made.elapsed().as_secs_f64() * 1000.0;
        // Refused here, before its process starts, when the listing knows the tool's schema.
        let listing = if opts.code.is_some() { None } else { inner.listing_for_call(&call)? };
        Inner::check_input(listing.as_deref(), &call, input.get())?;

        // Only answers carrying this call's nonce are this call's: a line the tool writes on
        // the channel itself is not.
        let nonce = protocol::new_nonce();
        let mut frame = protocol::encode_call(&call.tool_id, &call.tool_exec_id, &nonce, &input, &config);
        inner.extend_frame(&mut frame, opts.host.as_deref(), opts.code.as_ref())?;
        let (cancel_tx, cancel_rx) = watch::channel(None::<CancelReason>);
        let (result_tx, result_rx) = oneshot::channel();
        let state = Arc::new(CallState::default());
        let job = CallJob {
            call: call.clone(),
            frame,
            nonce,
            env: opts.env,
            state: state.clone(),
            limits,
            want_metrics: opts.metrics,
            events: opts.events,
            host: opts.host,
            code: opts.code.is_some(),
        };
        let task_inner = inner.clone();
        inner.tracker.spawn(async move {
            // The slot is held until the call's process is done with, not just answered.
            let _permit = permit;
            let r = retry::run_with_retries(&task_inner, &job, cancel_rx).await;
            let _ = result_tx.send(r);
        });
        let output_call = call.clone();
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
        let outcome =
            outcome.map_err(|e| inner.sandbox.explain(Inner::vet_failure(listing.as_deref(), e))).and_then(|o| {
                Inner::check_output(listing.as_deref(), &output_call, &o.output_json, o.output_wrapped)?;
                Ok(o)
            });
        outcome.map(|mut o| {
            if let Some(m) = &mut o.metrics {
                m.queued_ms = (queued_ms * 100.0).round() / 100.0;
                m.wall_ms = (made.elapsed().as_secs_f64() * 1000.0 * 100.0).round() / 100.0;
            }
            o
        })
    }
}

impl Drop for Runtime {
    /// A runtime dropped (or garbage-collected from JS) without `close()` releases what it
    /// started, as `close()` does, without waiting: idle workers are killed (their process
    /// groups, proxies, cgroups and temp dirs go with them), calls in flight are aborted, the
    /// pool stops refilling.
    fn drop(&mut self) {
        self.inner.stop();
    }
}

impl Inner {
    /// Stops accepting calls, aborts those in flight and stops the idle workers.
    fn stop(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.close_token.cancel();
        if let Some(pool) = &self.pool {
            // From `close()` the workers are stopped in order and waited for. A runtime dropped
            // where no tokio runtime runs (a JS garbage collector's finalizer) drops them: each
            // kills its process group and releases what it holds on its own.
            let can_spawn = tokio::runtime::Handle::try_current().is_ok();
            for w in pool.close() {
                if can_spawn {
                    self.tracker.spawn(w.shutdown());
                }
            }
        }
    }

    /// Limits of a call's host calls.
    fn host_limits(&self) -> crate::worker::HostLimits {
        crate::worker::HostLimits {
            max_in_flight: self.config.max_host_calls_in_flight,
            max_calls: self.config.max_host_calls,
            max_bytes: self.config.max_output_bytes as usize,
        }
    }

    /// Tells the harness about the call's host functions and inline code, in the call frame.
    fn extend_frame(
        &self,
        frame: &mut Vec<u8>,
        host: Option<&crate::host::HostFunctions>,
        code: Option<&InlineCode>,
    ) -> Result<()> {
        if let Some(h) = host {
            let l = self.host_limits();
            let v = serde_json::json!({ "names": h.names, "maxInFlight": l.max_in_flight, "maxBytes": l.max_bytes });
            crate::host::extend_call_frame(frame, "host", &v);
        }
        if let Some(c) = code {
            if c.language != "js" && c.language != "ts" {
                return Err(Error::invalid_argument(format!(
                    "language must be \"js\" or \"ts\", got {:?}",
                    c.language
                )));
            }
            if c.source.len() > self.config.max_output_bytes as usize {
                return Err(Error::invalid_argument(format!(
                    "the source is {} bytes, over the limit of {} bytes (maxOutputBytes)",
                    c.source.len(),
                    self.config.max_output_bytes
                )));
            }
            let v = serde_json::json!({ "source": c.source, "language": c.language });
            crate::host::extend_call_frame(frame, "code", &v);
        }
        Ok(())
    }

    /// The runtime's own limits (what warm workers are started with).
    fn default_limits(&self) -> Limits {
        Limits {
            memory_limit_mb: self.config.memory_limit_mb,
            cpu_time_limit_ms: self.config.cpu_time_limit_ms,
            max_processes: self.config.max_processes,
            max_file_size_mb: self.config.max_file_size_mb,
        }
    }

    /// The runtime binary cannot be started: an error naming it.
    fn unavailable(&self, e: &std::io::Error, attempts: u32) -> Error {
        let reason = if crate::supervisor::is_transient_spawn_error(e) {
            format!("could not start the runtime after {attempts} attempts: {e}")
        } else {
            format!("cannot start {}: {e}", self.program.display())
        };
        Error::RuntimeUnavailable {
            runtime: self.config.runtime_type.as_str().to_string(),
            path: Some(self.program.display().to_string()),
            reason,
        }
    }

    /// Starts a runtime process for a call (`call_env`) or, for the pool, with the base
    /// environment only (the call's arrives later in an `env` frame).
    fn spawn_worker(
        &self,
        call_env: &BTreeMap<String, String>,
        limits: Limits,
    ) -> std::result::Result<Worker, CallError> {
        let tmp = self.dirs.call_dir().map_err(CallError::Final)?;
        let child_sandbox = self.sandbox.for_call(tmp.path()).map_err(CallError::Final)?;
        let request = SpawnRequest {
            program: self.program.clone(),
            args: child_env::runtime_args(self, tmp.path(), &limits),
            env: child_env::build_env(self, tmp.path(), call_env),
            cwd: self.project_root.clone(),
            sandbox: child_sandbox,
            tail_cap: self.config.max_stderr_bytes as usize,
            cgroup_procs: Vec::new(),
            rlimits: None,
            receive_listener: self.egress.is_some(),
        };
        let spec = WorkerSpec {
            reusable: self.pool.as_ref().is_some_and(|p| p.cfg.reuse.is_some()),
            egress: self.egress.clone(),
            request,
            entrypoint: self.entrypoint.display().to_string(),
            group_name: format!("call-{}", crate::ids::new_id().to_ascii_lowercase()),
            tmp,
            limits,
            max_output: self.config.max_output_bytes as usize,
        };
        Worker::spawn(spec).map_err(|e| match e {
            CallError::Start(StartFailure::Spawn(io)) if !crate::supervisor::is_transient_spawn_error(&io) => {
                CallError::Final(self.unavailable(&io, 1))
            }
            other => other,
        })
    }
}

fn is_typescript(p: &Path) -> bool {
    matches!(p.extension().and_then(|e| e.to_str()), Some("ts" | "mts" | "cts" | "tsx"))
}
