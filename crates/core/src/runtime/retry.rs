//! Start failures (the runtime could not be spawned, or died before the harness ran) are
//! retried with exponential backoff and jitter, bounded by `backoffMaxElapsedTimeMs` and the
//! call's deadline. A tool that started is never retried.

use std::sync::Arc;
use std::time::{Duration, Instant};

use backon::BackoffBuilder;
use tokio::sync::watch;

use super::attempt::{attempt, CallJob};
use super::{CallOutcome, Inner};
use crate::error::{Error, Result};
use crate::worker::{CallError, CancelReason, StartFailure};

pub(super) async fn run_with_retries(
    inner: &Arc<Inner>,
    job: &CallJob,
    mut cancel_rx: watch::Receiver<Option<CancelReason>>,
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
        let failure = match attempt(inner, job, cancel_rx.clone()).await {
            Ok(v) => return Ok(v),
            Err(CallError::Final(e)) => return Err(e),
            Err(CallError::Start(f)) => f,
        };
        // Jitter must not push a delay outside the configured bounds.
        let delay = delays.next().unwrap_or(max).clamp(initial, max);
        if first.elapsed() + delay > max_elapsed {
            return Err(match failure {
                StartFailure::Spawn(e) => inner.unavailable(&e, attempts),
                StartFailure::DiedEarly(exit) => Error::ProcessExited { call: job.call.clone(), exit },
            });
        }
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = cancel_rx.changed() => return Err(Error::Aborted { call: job.call.clone(), reason: None, started: false }),
        }
    }
}
