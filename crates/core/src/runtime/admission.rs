//! Call admission: at most `maxConcurrency` calls run at once, at most `concurrency` calls of a
//! tool that declares it, and at most `maxQueue` wait, in the order the calls were made. A place
//! in line is taken synchronously, when the call is made (from JS: on the JS thread, before any
//! `await`), so three calls made one after the other are admitted in that order whatever order
//! their async tasks later run in. A free slot goes to the first waiter that may take it: a call
//! of a tool at its own limit keeps its place without blocking calls of other tools behind it.
//! Every place is an RAII value: a running call's [`Permit`] hands the slot on when dropped, and
//! a waiting [`Ticket`] that is dropped (its future abandoned) leaves the line.
//!
//! The tools' limits come from their listing. Until it is known the admission is *held*: calls
//! of tools wait (in line, under their deadline), while the listing itself, which has no tool,
//! is admitted.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::oneshot;

pub(crate) struct Admission {
    max_running: usize,
    max_waiting: Option<usize>,
    state: Mutex<State>,
}

struct State {
    running: usize,
    /// Of which the runtime's own work (the listing).
    running_internal: usize,
    next_id: u64,
    waiting: VecDeque<Waiter>,
    /// Each limited tool's `concurrency`.
    limits: HashMap<Arc<str>, usize>,
    /// Calls running, per tool.
    running_by_tool: HashMap<Arc<str>, usize>,
    /// The limits are not known yet: calls of tools wait.
    held: bool,
}

struct Waiter {
    id: u64,
    tool: Option<Arc<str>>,
    internal: bool,
    tx: oneshot::Sender<Permit>,
}

/// The right to run: one of the `maxConcurrency` slots (and of its tool's), released on drop.
pub(crate) struct Permit {
    admission: Option<Arc<Admission>>,
    tool: Option<Arc<str>>,
    internal: bool,
}

/// A place in line, or a slot already granted.
pub(crate) enum Ticket {
    Running(Permit),
    Waiting(Waiting),
}

pub(crate) struct Waiting {
    admission: Arc<Admission>,
    id: u64,
    rx: oneshot::Receiver<Permit>,
}

/// The line is full (`maxQueue` calls waiting).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct QueueFull {
    pub max_queue: usize,
}

impl State {
    fn may_run(&self, max_running: usize, tool: Option<&Arc<str>>) -> bool {
        if self.running >= max_running {
            return false;
        }
        let Some(tool) = tool else { return true };
        if self.held {
            return false;
        }
        self.limits.get(tool).is_none_or(|&limit| self.running_by_tool.get(tool).copied().unwrap_or(0) < limit)
    }

    /// Whether a new call would go past `maxQueue` by waiting. While held, the first calls, for
    /// the slots free but for the listing's, wait only for the listing: they would be running
    /// without it, so they do not count (the new one included: with `maxQueue: 0` the first
    /// call of a fresh runtime waits for the listing rather than being refused).
    fn line_full(&self, max_running: usize, max_waiting: usize) -> bool {
        if !self.held {
            return self.waiting.len() >= max_waiting;
        }
        let free = max_running.saturating_sub(self.running - self.running_internal);
        let with_new = self.waiting.iter().filter(|w| w.tool.is_some()).count() + 1;
        with_new.saturating_sub(free) > max_waiting
    }

    fn take_slot(&mut self, tool: Option<&Arc<str>>, internal: bool) {
        self.running += 1;
        self.running_internal += usize::from(internal);
        if let Some(t) = tool {
            *self.running_by_tool.entry(t.clone()).or_default() += 1;
        }
    }
}

impl Admission {
    /// Starts held when tools declare limits the host learns only from their listing.
    pub fn new(max_running: usize, max_waiting: Option<usize>, held: bool) -> Arc<Admission> {
        Arc::new(Admission {
            max_running: max_running.max(1),
            max_waiting,
            state: Mutex::new(State {
                running: 0,
                running_internal: 0,
                next_id: 0,
                waiting: VecDeque::new(),
                limits: HashMap::new(),
                running_by_tool: HashMap::new(),
                held,
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes a slot now, or a place at the end of the line, or refuses when the line is full.
    /// `tool`: the tool called (`None` for work of the runtime's own, such as the listing,
    /// which is never held and never refused for a full line).
    pub fn admit(self: &Arc<Self>, tool: Option<&str>) -> Result<Ticket, QueueFull> {
        let internal = tool.is_none();
        let tool: Option<Arc<str>> = tool.map(Arc::from);
        let mut st = self.lock();
        // Nobody overtakes a waiter that could run: a free slot goes to a new call only when
        // every waiter is blocked by its own tool's limit (or by the hold).
        let blocked_line = st.waiting.iter().all(|w| !st.may_run(self.max_running, w.tool.as_ref()));
        if blocked_line && st.may_run(self.max_running, tool.as_ref()) {
            st.take_slot(tool.as_ref(), internal);
            return Ok(Ticket::Running(Permit { admission: Some(self.clone()), tool, internal }));
        }
        if let (Some(max), Some(_)) = (self.max_waiting, &tool) {
            if st.line_full(self.max_running, max) {
                return Err(QueueFull { max_queue: max });
            }
        }
        let (tx, rx) = oneshot::channel();
        st.next_id += 1;
        let id = st.next_id;
        st.waiting.push_back(Waiter { id, tool, internal, tx });
        Ok(Ticket::Waiting(Waiting { admission: self.clone(), id, rx }))
    }

    /// Sets the tools' limits (`concurrency` by tool id) and lifts the hold.
    pub fn set_limits(self: &Arc<Self>, limits: HashMap<String, usize>) {
        {
            let mut st = self.lock();
            st.limits = limits.into_iter().map(|(k, v)| (Arc::from(k), v.max(1))).collect();
            st.held = false;
        }
        self.dispatch();
    }

    /// Calls of tools wait until [`Admission::set_limits`] (a new listing is being made).
    pub fn hold(&self) {
        self.lock().held = true;
    }

    /// The waiting call is not a call of an entrypoint tool (inline code): no tool limit and no
    /// hold apply to it.
    pub fn untool(self: &Arc<Self>, ticket: &Ticket) {
        let Ticket::Waiting(w) = ticket else { return };
        {
            let mut st = self.lock();
            if let Some(waiter) = st.waiting.iter_mut().find(|x| x.id == w.id) {
                waiter.tool = None;
            }
        }
        self.dispatch();
    }

    /// Hands free slots to the first waiters that may take them.
    fn dispatch(self: &Arc<Self>) {
        loop {
            let (tx, permit) = {
                let mut st = self.lock();
                let Some(i) = st.waiting.iter().position(|w| st.may_run(self.max_running, w.tool.as_ref())) else {
                    return;
                };
                let Some(w) = st.waiting.remove(i) else { return };
                st.take_slot(w.tool.as_ref(), w.internal);
                (w.tx, Permit { admission: Some(self.clone()), tool: w.tool, internal: w.internal })
            };
            // A waiter that gave up between leaving the line and now: the permit comes back
            // and its drop frees the slot again (outside the lock).
            if let Err(p) = tx.send(permit) {
                drop(p);
            }
        }
    }

    fn release(self: &Arc<Self>, tool: Option<&Arc<str>>, internal: bool) {
        {
            let mut st = self.lock();
            st.running = st.running.saturating_sub(1);
            if internal {
                st.running_internal = st.running_internal.saturating_sub(1);
            }
            if let Some(t) = tool {
                if let Some(n) = st.running_by_tool.get_mut(t) {
                    *n = n.saturating_sub(1);
                    if *n == 0 {
                        st.running_by_tool.remove(t);
                    }
                }
            }
        }
        self.dispatch();
    }

    /// Calls waiting right now.
    #[cfg(test)]
    pub fn waiting(&self) -> usize {
        self.lock().waiting.len()
    }

    #[cfg(test)]
    pub fn running(&self) -> usize {
        self.lock().running
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if let Some(a) = self.admission.take() {
            a.release(self.tool.as_ref(), self.internal);
        }
    }
}

impl Ticket {
    /// Waits for this ticket's turn. Cancel-safe: dropping the future gives the place up.
    pub async fn ready(self) -> Permit {
        match self {
            Ticket::Running(p) => p,
            Ticket::Waiting(mut w) => {
                // The sender is only dropped after a send (dispatch keeps the permit moving), or
                // with the whole admission, which the waiter holds alive: a closed channel cannot
                // happen, and a permit-less return would break the count, so wait forever then.
                match (&mut w.rx).await {
                    Ok(p) => p,
                    Err(_) => std::future::pending().await,
                }
            }
        }
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        // Still in line: leave it. Already handed a permit: the receiver drops it with us, and
        // the permit's own drop passes the slot on.
        let mut st = self.admission.lock();
        st.waiting.retain(|w| w.id != self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn admits_in_call_order_and_bounds_the_line() {
        let a = Admission::new(1, Some(1), false);
        let first = a.admit(Some("t")).unwrap();
        let second = a.admit(Some("t")).unwrap();
        // The third call is made while the second waits: the line (1) is full.
        assert_eq!(a.admit(Some("t")).err(), Some(QueueFull { max_queue: 1 }));
        let running = first.ready().await;
        assert!(matches!(second, Ticket::Waiting(_)));
        drop(running);
        let _second = second.ready().await;
        assert_eq!(a.running(), 1);
        assert_eq!(a.waiting(), 0);
    }

    #[tokio::test]
    async fn an_abandoned_waiter_leaves_the_line_and_loses_nothing() {
        let a = Admission::new(1, Some(2), false);
        let running = a.admit(Some("t")).unwrap().ready().await;
        let gone = a.admit(Some("t")).unwrap();
        let kept = a.admit(Some("t")).unwrap();
        drop(gone);
        assert_eq!(a.waiting(), 1);
        drop(running);
        let p = tokio::time::timeout(std::time::Duration::from_secs(5), kept.ready()).await.unwrap();
        drop(p);
        assert_eq!(a.running(), 0);
    }

    #[tokio::test]
    async fn a_permit_sent_to_a_waiter_that_gives_up_passes_on() {
        let a = Admission::new(1, None, false);
        let running = a.admit(Some("t")).unwrap().ready().await;
        let w1 = a.admit(Some("t")).unwrap();
        let w2 = a.admit(Some("t")).unwrap();
        // The slot reaches w1's channel, then w1 is dropped without taking it.
        drop(running);
        drop(w1);
        let _p = tokio::time::timeout(std::time::Duration::from_secs(5), w2.ready()).await.unwrap();
        assert_eq!(a.running(), 1);
    }

    #[tokio::test]
    async fn free_slots_never_overtake_the_line() {
        let a = Admission::new(2, None, false);
        let p1 = a.admit(Some("t")).unwrap().ready().await;
        let p2 = a.admit(Some("t")).unwrap().ready().await;
        let w = a.admit(Some("t")).unwrap();
        drop(p1);
        // A new call while `w` holds the freed slot in its channel: it must queue behind.
        let late = a.admit(Some("t")).unwrap();
        assert!(matches!(late, Ticket::Waiting(_)));
        let pw = w.ready().await;
        drop((p2, pw));
        let _ = late.ready().await;
    }

    #[tokio::test]
    async fn a_tool_at_its_limit_waits_without_blocking_other_tools() {
        let a = Admission::new(4, Some(2), false);
        a.set_limits(HashMap::from([("one".to_string(), 1)]));
        let first = a.admit(Some("one")).unwrap().ready().await;
        let second = a.admit(Some("one")).unwrap();
        assert!(matches!(second, Ticket::Waiting(_)));
        // Another tool overtakes the blocked waiter: a slot is free and it may take it.
        let other = a.admit(Some("two")).unwrap();
        assert!(matches!(other, Ticket::Running(_)));
        // The waiters count toward maxQueue.
        let _third = a.admit(Some("one")).unwrap();
        assert_eq!(a.admit(Some("one")).err(), Some(QueueFull { max_queue: 2 }));
        drop(first);
        let p = tokio::time::timeout(std::time::Duration::from_secs(5), second.ready()).await.unwrap();
        assert_eq!(a.running(), 2);
        assert_eq!(a.waiting(), 1);
        drop(p);
    }

    #[tokio::test]
    async fn a_held_admission_admits_only_work_without_a_tool() {
        let a = Admission::new(1, Some(1), true);
        let call = a.admit(Some("t")).unwrap();
        assert!(matches!(call, Ticket::Waiting(_)));
        // That call waits only for the listing: the line (1) has room for one more.
        let second = a.admit(Some("t")).unwrap();
        assert_eq!(a.admit(Some("t")).err(), Some(QueueFull { max_queue: 1 }));
        drop(second);
        // The listing is never refused for a full line, and the held call does not block it.
        let listing = a.admit(None).unwrap();
        assert!(matches!(listing, Ticket::Running(_)));
        // The slot the listing holds is not counted against the calls waiting for it.
        let second = a.admit(Some("t")).unwrap();
        drop(second);
        a.set_limits(HashMap::new());
        assert_eq!(a.waiting(), 1);
        drop(listing);
        let _p = tokio::time::timeout(std::time::Duration::from_secs(5), call.ready()).await.unwrap();
        // Inline code is not held.
        let b = Admission::new(1, None, true);
        let code = b.admit(Some("inline-code")).unwrap();
        b.untool(&code);
        assert!(tokio::time::timeout(std::time::Duration::from_secs(5), code.ready()).await.is_ok());
    }

    #[tokio::test]
    async fn with_max_queue_zero_the_first_call_of_a_held_admission_waits_for_the_listing() {
        let a = Admission::new(1, Some(0), true);
        let first = a.admit(Some("t")).unwrap();
        assert!(matches!(first, Ticket::Waiting(_)));
        // The one slot is the first call's: a second would really wait, past maxQueue 0.
        assert_eq!(a.admit(Some("t")).err(), Some(QueueFull { max_queue: 0 }));
        a.set_limits(HashMap::new());
        let _p = tokio::time::timeout(std::time::Duration::from_secs(5), first.ready()).await.unwrap();
    }
}
