//! Keeping the pool warm: a manager task that starts workers up to `minIdle` and retires idle
//! ones past `idleTimeoutMs`, and the warm-up of one worker.

use std::collections::BTreeMap;
use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::pool::Starting;
use super::Inner;
use crate::error::CallId;
use crate::worker::CancelReason;

const REFILL_DELAY_MS: u64 = 2;

/// Keeps `minIdle` workers warm, retires idle ones past `idleTimeoutMs`.
pub(super) async fn pool_manager(weak: Weak<Inner>, token: CancellationToken) {
    loop {
        let Some(inner) = weak.upgrade() else { return };
        let Some(pool) = inner.pool.clone() else { return };
        if pool.is_closed() {
            return;
        }
        pool.retire_expired();
        for slot in pool.reserve_starts() {
            inner.tracker.spawn(warm_one(inner.clone(), slot));
        }
        // Do not hold the runtime alive while waiting.
        drop(inner);
        tokio::select! {
            _ = token.cancelled() => return,
            _ = pool.wake.notified() => {
                // Let the answer that freed the slot reach its caller first: forking a large
                // host process stalls its other threads while page tables are copied.
                tokio::time::sleep(Duration::from_millis(REFILL_DELAY_MS)).await;
            }
            _ = tokio::time::sleep(Duration::from_millis(250)) => {}
        }
    }
}

/// Starts one worker into `slot` and waits until it has imported the entrypoint.
async fn warm_one(inner: Arc<Inner>, slot: Starting) {
    let backoff = Duration::from_millis(inner.config.backoff_initial_interval_ms);
    let mut worker = match inner.spawn_worker(&BTreeMap::new(), inner.default_limits()) {
        Ok(w) => w,
        Err(_) => {
            // Back off before the manager tries again (it does not while this slot is held), so
            // a broken runtime is not hammered.
            tokio::time::sleep(backoff).await;
            drop(slot);
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
        if let Some(w) = slot.ready(worker) {
            w.shutdown().await;
        }
    } else {
        worker.shutdown().await;
        tokio::time::sleep(backoff).await;
        drop(slot);
    }
}
