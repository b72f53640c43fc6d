//! Warm workers: runtime processes started ahead of time with the full sandbox applied and the
//! entrypoint imported, waiting for a call. Single-use workers serve one call and are replaced in
//! the background; reuse workers serve many calls in turn until recycled.
//!
//! Every worker a call takes, and every pool slot a call fills with a fresh worker, is a
//! [`Lease`]. Dropping the lease releases the slot; only [`Lease::recycle`] puts a worker back.
//! So no path through a call (a result, an error, a panic, a dropped future) can leak a slot.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use crate::config::PoolConfig;
use crate::limits::Limits;
use crate::worker::Worker;

pub(crate) struct Pool {
    pub cfg: PoolConfig,
    state: Mutex<PoolState>,
    /// Wakes the manager: a worker was taken, returned or died.
    pub wake: Notify,
    /// Wakes calls waiting for a worker: one became idle, or room was freed.
    pub available: Notify,
}

#[derive(Default)]
struct PoolState {
    idle: VecDeque<(Worker, Instant)>,
    /// Workers being started or warmed up.
    starting: u32,
    /// Workers serving a call (leases out).
    busy: u32,
    closed: bool,
}

/// A pool slot held by a call: a warm worker, or room for a fresh one.
pub(crate) struct Lease {
    pool: Arc<Pool>,
}

/// What a call gets from the pool.
pub(crate) enum Checkout {
    /// A warm worker started with exactly the call's limits.
    Warm(Lease, Box<Worker>),
    /// No fitting worker is idle, but there is room: start one, counted in the pool.
    Room(Lease),
    /// The pool is full: wait for [`Pool::available`] and try again.
    Full,
}

impl Pool {
    pub fn new(cfg: PoolConfig) -> Arc<Self> {
        Arc::new(Pool { cfg, state: Mutex::new(PoolState::default()), wake: Notify::new(), available: Notify::new() })
    }

    fn lock(&self) -> MutexGuard<'_, PoolState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn live(st: &PoolState) -> u32 {
        st.idle.len() as u32 + st.starting + st.busy
    }

    /// A worker for a call with `limits`. Workers whose limits differ are not used: node's heap
    /// cap and the CPU rlimit are fixed when a process starts, so a call asking for more than
    /// the worker was started with would be killed at the worker's limit. Such a call gets a
    /// fresh process with its own limits instead. Dead idle workers are dropped (killed) here.
    pub fn checkout(self: &Arc<Self>, limits: &Limits) -> Checkout {
        let mut st = self.lock();
        if st.closed {
            return Checkout::Full;
        }
        let mut dead = Vec::new();
        let mut found = None;
        // Most recently returned first: its pages are the warmest.
        let mut i = st.idle.len();
        while i > 0 {
            i -= 1;
            if !st.idle[i].0.is_alive() {
                dead.push(st.idle.remove(i).expect("index in range").0);
                continue;
            }
            if st.idle[i].0.limits() == limits {
                found = st.idle.remove(i).map(|(w, _)| w);
                break;
            }
        }
        let out = match found {
            Some(w) => {
                st.busy += 1;
                Checkout::Warm(Lease { pool: self.clone() }, Box::new(w))
            }
            None if Self::live(&st) < self.cfg.max_workers => {
                st.busy += 1;
                Checkout::Room(Lease { pool: self.clone() })
            }
            None if !st.idle.is_empty() => {
                // Full of idle workers that do not fit this call: retire the oldest to make room.
                dead.push(st.idle.pop_front().expect("not empty").0);
                st.busy += 1;
                Checkout::Room(Lease { pool: self.clone() })
            }
            None => Checkout::Full,
        };
        drop(st);
        drop(dead);
        self.wake.notify_one();
        out
    }

    /// How many workers to start now to get back to `minIdle`, within `maxWorkers`. Each is a
    /// [`Starting`] slot that the start fills or releases.
    pub fn reserve_starts(self: &Arc<Self>) -> Vec<Starting> {
        let mut st = self.lock();
        if st.closed {
            return Vec::new();
        }
        let want = self.cfg.min_idle.saturating_sub(st.idle.len() as u32 + st.starting);
        let room = self.cfg.max_workers.saturating_sub(Self::live(&st));
        let n = want.min(room);
        st.starting += n;
        (0..n).map(|_| Starting { pool: self.clone(), done: false }).collect()
    }

    /// Idle workers above `minIdle` that waited longer than `idleTimeoutMs` (dropped: killed).
    pub fn retire_expired(&self) {
        let mut st = self.lock();
        let timeout = Duration::from_millis(self.cfg.idle_timeout_ms);
        let mut out = Vec::new();
        while st.idle.len() as u32 > self.cfg.min_idle {
            match st.idle.front() {
                Some((_, since)) if since.elapsed() >= timeout => out.push(st.idle.pop_front().expect("front").0),
                _ => break,
            }
        }
        drop(st);
        drop(out);
    }

    /// Stops refilling and hands back every idle worker.
    pub fn close(&self) -> Vec<Worker> {
        let mut st = self.lock();
        st.closed = true;
        let out = st.idle.drain(..).map(|(w, _)| w).collect();
        drop(st);
        self.wake.notify_waiters();
        self.available.notify_waiters();
        out
    }

    pub fn is_closed(&self) -> bool {
        self.lock().closed
    }

    pub fn idle_count(&self) -> usize {
        self.lock().idle.len()
    }

    pub fn idle_pids(&self) -> Vec<i32> {
        self.lock().idle.iter().map(|(w, _)| w.pid()).collect()
    }

    /// Puts `worker` in the idle list, unless the pool is closed (then it is handed back).
    fn park(&self, worker: Worker) -> Option<Worker> {
        let mut st = self.lock();
        if st.closed {
            return Some(worker);
        }
        st.idle.push_back((worker, Instant::now()));
        None
    }
}

impl Lease {
    /// Puts the worker back for the next call (a reuse pool) and ends the lease. A closed pool
    /// hands the worker back to be stopped.
    pub fn recycle(self, worker: Worker) -> Option<Worker> {
        self.pool.park(worker)
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        {
            let mut st = self.pool.lock();
            st.busy = st.busy.saturating_sub(1);
        }
        self.pool.available.notify_waiters();
        self.pool.wake.notify_one();
    }
}

/// A worker being started for the pool's idle list.
pub(crate) struct Starting {
    pool: Arc<Pool>,
    done: bool,
}

impl Starting {
    /// The worker is warm: it joins the idle list (or is handed back when the pool closed).
    pub fn ready(mut self, worker: Worker) -> Option<Worker> {
        self.done = true;
        {
            let mut st = self.pool.lock();
            st.starting = st.starting.saturating_sub(1);
        }
        let rejected = self.pool.park(worker);
        self.pool.available.notify_waiters();
        rejected
    }
}

impl Drop for Starting {
    fn drop(&mut self) {
        if !self.done {
            let mut st = self.pool.lock();
            st.starting = st.starting.saturating_sub(1);
            drop(st);
            self.pool.available.notify_waiters();
        }
    }
}
