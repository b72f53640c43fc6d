//! One attempt at a call: a worker (warm from the pool, or started for the call), the call
//! frame, the outcome, and what becomes of the worker afterwards.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

use super::child_env::{build_env, env_json};
use super::pool::{Checkout, Lease, Pool};
use super::{CallOutcome, Inner};
use crate::error::{CallId, Error, ExitInfo};
use crate::limits::Limits;
use crate::supervisor::SharedTail;
use crate::worker::{Asked, CallError, CancelReason, Worker};

/// Everything one call carries through its attempts.
pub(super) struct CallJob {
    pub call: CallId,
    /// The encoded call frame.
    pub frame: Vec<u8>,
    /// The nonce in `frame`: only answers carrying it are this call's.
    pub nonce: String,
    pub env: BTreeMap<String, String>,
    pub state: Arc<CallState>,
    pub limits: Limits,
    pub want_metrics: bool,
    pub events: Option<crate::worker::CallEvents>,
    pub host: Option<Arc<crate::host::HostFunctions>>,
    /// The call runs inline code (`executeCode`), which may answer that it did not compile.
    pub code: bool,
}

/// What the caller's side can see of a call that is still running.
#[derive(Default)]
pub(super) struct CallState {
    pub started: Arc<AtomicBool>,
    tails: Mutex<Option<(SharedTail, SharedTail)>>,
}

impl CallState {
    pub fn exit_snapshot(&self) -> ExitInfo {
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
        *self.tails.lock().unwrap_or_else(|e| e.into_inner()) = Some(w.tails());
    }
}

pub(super) async fn attempt(
    inner: &Arc<Inner>,
    job: &CallJob,
    mut cancel_rx: watch::Receiver<Option<CancelReason>>,
) -> Result<CallOutcome, CallError> {
    let call = &job.call;
    // A warm worker when one fits; else a fresh one, counted in the pool while there is room
    // under maxWorkers; else wait for one (the deadline and the abort signal still apply).
    let (warm, lease) = match &inner.pool {
        Some(pool) => {
            let (w, lease) = lease_worker(pool, &job.limits, call, &mut cancel_rx).await?;
            (w, Some(lease))
        }
        None => (None, None),
    };
    let is_warm = warm.is_some();
    let mut worker = match warm {
        Some(mut w) => {
            if let Some(e) = w.take_load_error(call) {
                inner.tracker.spawn(w.shutdown());
                return Err(CallError::Final(e));
            }
            let env = build_env(inner, w.tmp(), &job.env);
            w.send_env(env_json(&env));
            w
        }
        None if !inner.entrypoint.is_file() => {
            return Err(CallError::Final(Error::EntrypointFailed {
                call: call.clone(),
                entrypoint: inner.entrypoint.display().to_string(),
                message: format!("cannot find the entrypoint {}", inner.entrypoint.display()),
                stack: None,
                exit: ExitInfo::default(),
            }));
        }
        None => inner.spawn_worker(&job.env, job.limits)?,
    };
    job.state.watch(&worker);
    worker.begin_call(job.state.started.clone(), job.want_metrics, is_warm, &job.nonce);
    if job.code {
        worker.set_asked(Asked::Code);
    }
    worker.set_live(job.events.clone());
    worker.set_host(job.host.clone(), inner.host_limits());
    worker.send(&job.frame);
    let ran = worker.run(call, &mut cancel_rx).await;
    if job.events.is_some() {
        // Lines printed just before the answer are still in the pipes: they belong to the call.
        if ran.is_ok() {
            worker.settle_output().await;
        }
        worker.set_live(None);
    }
    match ran {
        Ok(output) => {
            let metrics = if job.want_metrics {
                worker.settle_output().await;
                Some(worker.metrics())
            } else {
                None
            };
            let output_wrapped = worker.output_wrapped();
            finish(inner, worker, lease);
            Ok(CallOutcome { output_json: output, metrics, output_wrapped })
        }
        Err(CallError::Final(Error::Aborted { reason: Some(r), started, call: c })) => {
            // The slot and the pool lease are free at once, as the caller was told; the process
            // gets its grace period in the background (counted by `close()`).
            drop(lease);
            let reason = if r == "timeout" { CancelReason::Timeout } else { CancelReason::Abort };
            inner.tracker.spawn(worker.terminate(reason, Duration::from_millis(inner.config.kill_grace_ms)));
            Err(CallError::Final(Error::Aborted { call: c, reason: Some(r), started }))
        }
        // A tool that threw leaves a healthy process behind; anything the supervisor had to
        // stop (a limit, garbage, a closed channel, an oversized answer) does not.
        Err(CallError::Final(e)) if worker.answered() => {
            finish(inner, worker, lease);
            Err(CallError::Final(e))
        }
        Err(e) => {
            drop(lease);
            inner.tracker.spawn(worker.shutdown());
            Err(e)
        }
    }
}

/// Waits for a pool slot that fits the call: a warm worker, or room to start one.
async fn lease_worker(
    pool: &Arc<Pool>,
    limits: &Limits,
    call: &CallId,
    cancel_rx: &mut watch::Receiver<Option<CancelReason>>,
) -> Result<(Option<Worker>, Lease), CallError> {
    loop {
        let notified = pool.available.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        match pool.checkout(limits) {
            Checkout::Warm(lease, w) => return Ok((Some(*w), lease)),
            Checkout::Room(lease) => return Ok((None, lease)),
            Checkout::Full if pool.is_closed() => return Err(CallError::Final(Error::Closed)),
            Checkout::Full => {}
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

/// After a call: back to the pool when reuse allows, else stopped. The lease (if any) ends
/// here either way.
fn finish(inner: &Arc<Inner>, mut worker: Worker, lease: Option<Lease>) {
    let reuse = inner.pool.as_ref().and_then(|p| p.cfg.reuse.clone());
    if let (Some(lease), Some(reuse)) = (lease, reuse) {
        if worker.is_alive() && worker.calls() < reuse.max_calls_per_worker && worker.rss_mb() < reuse.max_rss_mb {
            if let Some(w) = lease.recycle(worker) {
                inner.tracker.spawn(w.shutdown());
            }
            return;
        }
    }
    inner.tracker.spawn(worker.shutdown());
}
