//! Warm workers: runtime processes started ahead of time with the full sandbox applied and the
//! entrypoint imported, waiting for a call. Single-use workers serve one call and are replaced in
//! the background; reuse workers serve many calls in turn until recycled.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use crate::config::PoolConfig;
use crate::worker::Worker;

pub(crate) struct Pool {
    pub cfg: PoolConfig,
    state: Mutex<PoolState>,
    /// Wakes the manager: a worker was taken, returned or died.
    pub wake: std::sync::Arc<Notify>,
    /// Wakes calls waiting for a worker: one became idle, or room was freed.
    pub available: std::sync::Arc<Notify>,
}

#[derive(Default)]
struct PoolState {
    idle: VecDeque<(Worker, Instant)>,
    /// Workers being started or warmed up.
    starting: u32,
    /// Workers serving a call.
    busy: u32,
    closed: bool,
}

impl Pool {
    pub fn new(cfg: PoolConfig) -> Self {
        Pool {
            cfg,
            state: Mutex::new(PoolState::default()),
            wake: std::sync::Arc::new(Notify::new()),
            available: std::sync::Arc::new(Notify::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PoolState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A warm worker for a call, if one is idle. Dead idle workers are handed back for cleanup.
    pub fn take(&self) -> (Option<Worker>, Vec<Worker>) {
        let mut dead = Vec::new();
        let mut st = self.lock();
        let mut found = None;
        // Most recently returned first: its pages are the warmest.
        while let Some((mut w, _)) = st.idle.pop_back() {
            if w.is_alive() {
                found = Some(w);
                break;
            }
            dead.push(w);
        }
        if found.is_some() {
            st.busy += 1;
        }
        drop(st);
        self.wake.notify_one();
        (found, dead)
    }

    /// Counts a freshly started worker as the pool's (busy) when there is room for it.
    pub fn try_adopt(&self) -> bool {
        let mut st = self.lock();
        let live = st.idle.len() as u32 + st.starting + st.busy;
        if st.closed || live >= self.cfg.max_workers {
            return false;
        }
        st.busy += 1;
        true
    }

    /// A call finished with a worker it took: reuse it, or count it gone.
    pub fn release(&self, worker: Option<Worker>) -> Option<Worker> {
        let rejected = self.settle(worker, |st| st.busy = st.busy.saturating_sub(1));
        self.wake.notify_one();
        rejected
    }

    /// Updates the counts, makes `worker` idle (unless the pool is closed: then it is handed
    /// back to be killed) and wakes the calls waiting for a worker.
    fn settle(&self, worker: Option<Worker>, count: impl FnOnce(&mut PoolState)) -> Option<Worker> {
        let mut st = self.lock();
        count(&mut st);
        let rejected = match worker {
            Some(w) if !st.closed => {
                st.idle.push_back((w, Instant::now()));
                None
            }
            other => other,
        };
        drop(st);
        self.available.notify_waiters();
        rejected
    }

    /// How many workers to start now to get back to `minIdle`, within `maxWorkers`.
    pub fn reserve_starts(&self) -> u32 {
        let mut st = self.lock();
        if st.closed {
            return 0;
        }
        let live = st.idle.len() as u32 + st.starting + st.busy;
        let want = self.cfg.min_idle.saturating_sub(st.idle.len() as u32 + st.starting);
        let room = self.cfg.max_workers.saturating_sub(live);
        let n = want.min(room);
        st.starting += n;
        n
    }

    /// A started worker finished warming up (or failed to: `None`).
    pub fn started(&self, worker: Option<Worker>) -> Option<Worker> {
        self.settle(worker, |st| st.starting = st.starting.saturating_sub(1))
    }

    /// Idle workers above `minIdle` that waited longer than `idleTimeoutMs`.
    pub fn expired(&self) -> Vec<Worker> {
        let mut st = self.lock();
        let timeout = Duration::from_millis(self.cfg.idle_timeout_ms);
        let mut out = Vec::new();
        while st.idle.len() as u32 > self.cfg.min_idle {
            match st.idle.front() {
                Some((_, since)) if since.elapsed() >= timeout => out.push(st.idle.pop_front().expect("front").0),
                _ => break,
            }
        }
        out
    }

    /// Stops refilling and hands back every idle worker.
    pub fn close(&self) -> Vec<Worker> {
        let mut st = self.lock();
        st.closed = true;
        let out = st.idle.drain(..).map(|(w, _)| w).collect();
        drop(st);
        self.wake.notify_waiters();
        out
    }

    pub fn is_closed(&self) -> bool {
        self.lock().closed
    }

    pub fn idle_count(&self) -> usize {
        self.lock().idle.len()
    }

    pub fn idle_pids(&self) -> Vec<i32> {
        self.lock().idle.iter().map(|(w, _)| w.pid).collect()
    }
}
