//! The napi binding: converts JS values to core types, and core errors to the JS value a call
//! throws or rejects with: a plain object (`code`, `message`, the error's fields) that
//! `lib/errors.js` turns into the class `lib/codes.js` names. No behaviour lives here.

// As in the core: errors travel once per call, on the failure path; boxing them buys nothing.
#![allow(clippy::result_large_err)]

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use napi::bindgen_prelude::*;
use napi::threadsafe_function::ThreadsafeFunction;
use napi_derive::napi;
use tokio_util::sync::CancellationToken;
use tool_runtime_core::config::{self, ConfigPatch, RuntimeConfig, RuntimeType};
use tool_runtime_core::host::{BoxFuture, HostDispatch, HostFunctions, HostReply};
use tool_runtime_core::locate::{self, RuntimeHints};
use tool_runtime_core::{Admitted, CallEvent, CallOptions, Error as CoreError, InlineCode, RuntimeFactory};

/// The JS function that receives a call's live events (`lib/live.js` routes them to `onLog`
/// and `onProgress`). It never throws: the JS side catches what the user's callbacks throw.
type EventSink = ThreadsafeFunction<serde_json::Value, (), serde_json::Value, Status, false>;

fn event_json(e: CallEvent) -> serde_json::Value {
    match e {
        CallEvent::Log { stream, line, time_ms } => {
            serde_json::json!({ "kind": "log", "stream": stream.as_str(), "line": line, "time": time_ms })
        }
        CallEvent::Progress(p) => {
            let mut v = serde_json::to_value(p).expect("serialises");
            v["kind"] = "progress".into();
            v
        }
    }
}

/// Delivers a call's events to JS in order, each one after the JS callback of the one before
/// returned. Once `done` fires (the call is over) it delivers what is still queued and ends,
/// so every line the call produced reaches JS before its promise settles.
async fn forward_events(
    sink: EventSink,
    mut rx: tokio::sync::mpsc::UnboundedReceiver<CallEvent>,
    mut done: tokio::sync::oneshot::Receiver<()>,
) {
    loop {
        tokio::select! {
            biased;
            ev = rx.recv() => match ev {
                Some(ev) => { let _ = sink.call_async(event_json(ev)).await; }
                None => return,
            },
            _ = &mut done => break,
        }
    }
    rx.close();
    while let Some(ev) = rx.recv().await {
        let _ = sink.call_async(event_json(ev)).await;
    }
}

/// A core error as the value JS receives: napi throws (or rejects with) a JS value it holds a
/// reference to as it is, so the error's fields arrive as an object, not as text.
fn js_error(env: &Env, e: CoreError) -> napi::Error {
    match env.to_js_value(&e.to_json()) {
        Ok(value) => napi::Error::from(value),
        Err(err) => err,
    }
}

/// The same for a synchronous function: throws the value now and tells napi that an exception
/// is pending (a returned error would be rebuilt from its message text).
fn thrown(env: &Env, e: CoreError) -> napi::Error {
    match env.to_js_value(&e.to_json()).and_then(|v| env.throw(v)) {
        Ok(()) => napi::Error::new(Status::PendingException, "thrown".to_string()),
        Err(err) => err,
    }
}

/// Runs `fut` on the runtime's tokio threads; its error is turned into a JS value on the JS
/// thread. (A plain `async fn` could only reject with a generic error carrying a message.)
fn promise<'env, T, V, F>(env: &'env Env, fut: F, ok: impl FnOnce(T) -> V + 'static) -> Result<PromiseRaw<'env, V>>
where
    T: Send + 'static,
    V: ToNapiValue,
    F: std::future::Future<Output = std::result::Result<T, CoreError>> + Send + 'static,
{
    env.spawn_future_with_callback(async move { Ok(fut.await) }, move |env, r| r.map(ok).map_err(|e| js_error(env, e)))
}

fn ms(name: &str, v: f64) -> std::result::Result<u64, CoreError> {
    if !v.is_finite() || v <= 0.0 || v.fract() != 0.0 || v > 9_007_199_254_740_991.0 {
        return Err(CoreError::invalid_argument(format!(
            "{name} must be a positive whole number of milliseconds, got {v}"
        )));
    }
    Ok(v as u64)
}

#[napi(object)]
pub struct BindingHints {
    pub bun_path: Option<String>,
    pub deno_path: Option<String>,
    pub node_path: Option<String>,
    pub node_version: Option<String>,
    pub amaro_path: Option<String>,
}

impl From<BindingHints> for RuntimeHints {
    fn from(h: BindingHints) -> Self {
        RuntimeHints {
            bun_path: h.bun_path.map(PathBuf::from),
            deno_path: h.deno_path.map(PathBuf::from),
            node_path: h.node_path.map(PathBuf::from),
            node_version: h.node_version,
            amaro_path: h.amaro_path.map(PathBuf::from),
        }
    }
}

fn config_json(c: &RuntimeConfig) -> serde_json::Value {
    serde_json::to_value(c).expect("config serialises")
}

#[napi]
pub fn default_config() -> serde_json::Value {
    config_json(&RuntimeConfig::default())
}

#[napi]
pub fn test_config() -> serde_json::Value {
    config_json(&RuntimeConfig::test())
}

fn resolve(partial: serde_json::Value) -> std::result::Result<RuntimeConfig, CoreError> {
    RuntimeConfig::default().apply(ConfigPatch::from_json(partial)?)
}

#[napi]
pub fn from_app_config(env: &Env, app: serde_json::Value) -> Result<serde_json::Value> {
    config::from_app_config(app).map(|c| config_json(&c)).map_err(|e| thrown(env, e))
}

#[napi]
pub fn config_from_env(env: &Env, vars: HashMap<String, String>) -> Result<serde_json::Value> {
    config::config_from_env(&vars).map(|c| config_json(&c)).map_err(|e| thrown(env, e))
}

#[napi]
pub fn is_valid_runtime_type(s: String) -> bool {
    config::is_valid_runtime_type(&s)
}

#[napi]
pub fn new_id() -> String {
    tool_runtime_core::ids::new_id()
}

/// The path of the runtime binary that `createRuntime` would use, or `null`.
#[napi]
pub fn find_runtime(runtime_type: String, hints: BindingHints) -> Option<String> {
    let t = RuntimeType::parse(&runtime_type).ok()?;
    locate::locate_runtime(t, None, &hints.into()).ok().map(|p| p.display().to_string())
}

#[napi]
pub fn sandbox_capabilities() -> serde_json::Value {
    serde_json::to_value(tool_runtime_core::sandbox::capabilities()).expect("serialises")
}

#[napi(ts_return_type = "Promise<BindingRuntime>")]
pub fn create_runtime<'env>(
    env: &'env Env,
    project_root: String,
    config: serde_json::Value,
    hints: BindingHints,
) -> Result<PromiseRaw<'env, BindingRuntime>> {
    let factory = RuntimeFactory::new(project_root).with_hints(hints.into());
    let created = async move { factory.create_runtime(resolve(config)?).await };
    promise(env, created, |runtime| BindingRuntime {
        inner: Arc::new(runtime),
        calls: Arc::new(Mutex::new(HashMap::new())),
        next_call: Mutex::new(0),
    })
}

#[napi(object)]
#[derive(Default)]
pub struct BindingCallLimits {
    pub memory_limit_mb: Option<f64>,
    pub cpu_time_limit_ms: Option<f64>,
    pub metrics: Option<bool>,
}

#[napi(object)]
pub struct BindingOutcome {
    /// The result as JSON text.
    pub output: String,
    pub metrics: Option<serde_json::Value>,
}

#[napi(object)]
pub struct BindingPoolStats {
    pub idle: u32,
    pub idle_pids: Vec<i32>,
}

#[napi]
pub fn limit_support() -> serde_json::Value {
    serde_json::to_value(tool_runtime_core::limits::support()).expect("serialises")
}

#[napi]
pub struct BindingRuntime {
    inner: Arc<tool_runtime_core::Runtime>,
    calls: Arc<Mutex<HashMap<u32, PendingCall>>>,
    next_call: Mutex<u32>,
}

/// A call between `beginCall` (its place in line, taken on the JS thread in call order) and
/// the end of `execute`.
struct PendingCall {
    cancel: CancellationToken,
    admitted: Option<Admitted>,
    host: Option<Arc<HostFunctions>>,
    code: Option<InlineCode>,
}

/// What `lib/host.js` answers for one host call: the result (or what was thrown) as JSON text.
#[napi(object)]
pub struct BindingHostReply {
    pub ok: bool,
    pub json: String,
}

type HostFn =
    ThreadsafeFunction<FnArgs<(String, String)>, Promise<BindingHostReply>, FnArgs<(String, String)>, Status, false>;

/// Host functions that live in JS: each call goes to the JS thread and its promise is awaited
/// here, off the frame loop.
struct JsHost(Arc<HostFn>);

impl HostDispatch for JsHost {
    fn call(&self, name: String, args_json: String) -> BoxFuture<HostReply> {
        let f = self.0.clone();
        Box::pin(async move {
            let answered = match f.call_async(FnArgs::from((name, args_json))).await {
                Ok(promise) => promise.await,
                Err(e) => Err(e),
            };
            match answered {
                Ok(BindingHostReply { ok: true, json }) => HostReply::Value(json),
                Ok(BindingHostReply { ok: false, json }) => HostReply::Error(json),
                // lib/host.js never rejects; this is the JS thread going away (the host exiting).
                Err(e) => HostReply::Error(
                    serde_json::json!({ "name": "Error", "message": e.reason, "code": "ERR_INTERNAL" }).to_string(),
                ),
            }
        })
    }
}

#[napi]
impl BindingRuntime {
    #[napi(getter)]
    pub fn runtime_type(&self) -> String {
        self.inner.runtime_type().as_str().to_string()
    }

    #[napi(getter)]
    pub fn runtime_path(&self) -> String {
        self.inner.runtime_path().display().to_string()
    }

    #[napi(getter)]
    pub fn config(&self) -> serde_json::Value {
        config_json(self.inner.config())
    }

    #[napi]
    pub fn global_timeout_ms(&self) -> f64 {
        self.inner.global_timeout_ms() as f64
    }

    #[napi]
    pub fn sandbox_report(&self) -> serde_json::Value {
        serde_json::to_value(self.inner.sandbox_report()).expect("serialises")
    }

    /// Takes the call's place in line, synchronously on the JS thread, so calls are admitted
    /// in the order they were made; a cancel that arrives before the call's async body runs is
    /// never lost either. Throws at once `ERR_QUEUE_FULL`, `ERR_RUNTIME_CLOSED` or a bad id.
    /// `inline_code`: an `executeCode` call, which never waits for the tools' listing.
    #[napi]
    pub fn begin_call(&self, env: &Env, tool_id: String, tool_exec_id: String, inline_code: bool) -> Result<u32> {
        let admitted = self.inner.admit(&tool_id, &tool_exec_id, inline_code).map_err(|e| thrown(env, e))?;
        let mut n = self.next_call.lock().unwrap_or_else(|e| e.into_inner());
        *n = n.wrapping_add(1);
        let pending =
            PendingCall { cancel: CancellationToken::new(), admitted: Some(admitted), host: None, code: None };
        self.calls.lock().unwrap_or_else(|e| e.into_inner()).insert(*n, pending);
        Ok(*n)
    }

    #[napi]
    pub fn cancel(&self, call_id: u32) {
        if let Some(p) = self.calls.lock().unwrap_or_else(|e| e.into_inner()).get(&call_id) {
            p.cancel.cancel();
        }
    }

    /// Gives up a call begun but never executed (its place in line goes to the next call).
    #[napi]
    pub fn forget_call(&self, call_id: u32) {
        self.calls.lock().unwrap_or_else(|e| e.into_inner()).remove(&call_id);
    }

    /// Gives a begun call its host functions: `dispatch(name, argsJson)` runs one of `names`.
    #[napi]
    pub fn set_host_functions(
        &self,
        call_id: u32,
        names: Vec<String>,
        #[napi(ts_arg_type = "(name: string, argsJson: string) => Promise<BindingHostReply>")] dispatch: HostFn,
    ) {
        if let Some(p) = self.calls.lock().unwrap_or_else(|e| e.into_inner()).get_mut(&call_id) {
            let names = names.into_iter().collect();
            p.host = Some(Arc::new(HostFunctions { names, dispatch: Arc::new(JsHost(Arc::new(dispatch))) }));
        }
    }

    /// Makes a begun call run `source` (an ES module) instead of a tool of the entrypoint.
    #[napi]
    pub fn set_inline_code(&self, call_id: u32, source: String, language: String) {
        if let Some(p) = self.calls.lock().unwrap_or_else(|e| e.into_inner()).get_mut(&call_id) {
            p.code = Some(InlineCode { source, language });
        }
    }

    /// Idle warm workers and their process ids.
    #[napi]
    pub fn pool_stats(&self) -> BindingPoolStats {
        BindingPoolStats { idle: self.inner.idle_workers() as u32, idle_pids: self.inner.idle_worker_pids() }
    }

    #[napi(ts_return_type = "Promise<BindingOutcome>")]
    #[allow(clippy::too_many_arguments)]
    pub fn execute<'env>(
        &self,
        js_env: &'env Env,
        call_id: u32,
        input_json: Option<String>,
        config_json: Option<String>,
        env: Option<HashMap<String, String>>,
        timeout_ms: Option<f64>,
        limits: Option<BindingCallLimits>,
        on_event: Option<EventSink>,
    ) -> Result<PromiseRaw<'env, BindingOutcome>> {
        let (token, admitted, host, code) = {
            let mut calls = self.calls.lock().unwrap_or_else(|e| e.into_inner());
            match calls.get_mut(&call_id).map(|p| (p.cancel.clone(), p.admitted.take(), p.host.take(), p.code.take())) {
                Some((token, Some(admitted), host, code)) => (token, admitted, host, code),
                _ => {
                    return Err(thrown(
                        js_env,
                        CoreError::internal(format!("call {call_id} was not begun, or ran already")),
                    ))
                }
            }
        };
        let calls = self.calls.clone();
        let forget = scopeguard(move || {
            calls.lock().unwrap_or_else(|e| e.into_inner()).remove(&call_id);
        });
        let inner = self.inner.clone();
        let call = async move {
            let _forget = forget;
            let limits = limits.unwrap_or_default();
            let opt_ms = |name: &str, v: Option<f64>| v.map(|v| ms(name, v)).transpose();
            let opts = CallOptions {
                input_json,
                config_json,
                env: env.map(|m| m.into_iter().collect::<BTreeMap<_, _>>()).unwrap_or_default(),
                timeout_ms: opt_ms("timeoutMs", timeout_ms)?,
                cancel: Some(token),
                memory_limit_mb: opt_ms("memoryLimitMb", limits.memory_limit_mb)?,
                cpu_time_limit_ms: opt_ms("cpuTimeLimitMs", limits.cpu_time_limit_ms)?,
                metrics: limits.metrics.unwrap_or(false),
                events: None,
                host,
                code,
            };
            let Some(sink) = on_event else { return inner.run(admitted, opts).await };
            let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
            let (done_tx, done_rx) = tokio::sync::oneshot::channel();
            let forwarder = tokio::spawn(forward_events(sink, rx, done_rx));
            let r = inner.run(admitted, CallOptions { events: Some(tx), ..opts }).await;
            let _ = done_tx.send(());
            let _ = forwarder.await;
            r
        };
        promise(js_env, call, |out| BindingOutcome {
            output: out.output_json,
            metrics: out.metrics.map(|m| serde_json::to_value(m).expect("serialises")),
        })
    }

    /// The entrypoint's tools and their metadata, as JSON text (see `Runtime::list_tools`).
    #[napi(ts_return_type = "Promise<string>")]
    pub fn list_tools<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, String>> {
        let inner = self.inner.clone();
        promise(env, async move { inner.list_tools().await }, |json| json)
    }

    #[napi]
    pub async fn close(&self) {
        self.inner.close().await;
    }

    #[napi(getter)]
    pub fn closed(&self) -> bool {
        self.inner.is_closed()
    }
}

struct Guard<F: FnOnce()>(Option<F>);

impl<F: FnOnce()> Drop for Guard<F> {
    fn drop(&mut self) {
        if let Some(f) = self.0.take() {
            f();
        }
    }
}

fn scopeguard<F: FnOnce()>(f: F) -> Guard<F> {
    Guard(Some(f))
}
