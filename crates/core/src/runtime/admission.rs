//! Call admission: at most `maxConcurrency` calls run at once and at most `maxQueue` wait, in
//! the order the calls were made. A place in line is taken synchronously, when the call is made
//! (from JS: on the JS thread, before any `await`), so three calls made one after the other are
//! admitted in that order whatever order their async tasks later run in. Every place is an RAII
//! value: a running call's [`Permit`] hands the slot to the next waiter when dropped, and a waiting
//! [`Ticket`] that is dropped (its future abandoned) leaves the line.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::oneshot;

pub(crate) struct Admission {
    max_running: usize,
    max_waiting: Option<usize>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    running: usize,
    next_id: u64,
    waiting: VecDeque<(u64, oneshot::Sender<Permit>)>,
}

/// The right to run: one of the `maxConcurrency` slots, released on drop.
pub(crate) struct Permit {
    admission: Option<Arc<Admission>>,
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

impl Admission {
    pub fn new(max_running: usize, max_waiting: Option<usize>) -> Arc<Admission> {
        Arc::new(Admission { max_running: max_running.max(1), max_waiting, state: Mutex::new(State::default()) })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes a slot now, or a place at the end of the line, or refuses when the line is full.
    pub fn admit(self: &Arc<Self>) -> Result<Ticket, QueueFull> {
        let mut st = self.lock();
        // Nobody overtakes the line: a free slot goes to a new call only when no one waits.
        if st.running < self.max_running && st.waiting.is_empty() {
            st.running += 1;
            return Ok(Ticket::Running(Permit { admission: Some(self.clone()) }));
        }
        if let Some(max) = self.max_waiting {
            if st.waiting.len() >= max {
                return Err(QueueFull { max_queue: max });
            }
        }
        let (tx, rx) = oneshot::channel();
        st.next_id += 1;
        let id = st.next_id;
        st.waiting.push_back((id, tx));
        Ok(Ticket::Waiting(Waiting { admission: self.clone(), id, rx }))
    }

    /// A slot was freed: it goes to the first waiter still there, else back to the pool.
    fn release(self: &Arc<Self>) {
        loop {
            let next = {
                let mut st = self.lock();
                match st.waiting.pop_front() {
                    Some((_, tx)) => tx,
                    None => {
                        st.running = st.running.saturating_sub(1);
                        return;
                    }
                }
            };
            // The slot moves to the waiter as is: `running` does not change.
            match next.send(Permit { admission: Some(self.clone()) }) {
                Ok(()) => return,
                // That waiter gave up between leaving the line and now: try the next one.
                Err(mut p) => p.admission = None,
            }
        }
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
            a.release();
        }
    }
}

impl Ticket {
    /// Waits for this ticket's turn. Cancel-safe: dropping the future gives the place up.
    pub async fn ready(self) -> Permit {
        match self {
            Ticket::Running(p) => p,
            Ticket::Waiting(mut w) => {
                // The sender is only dropped after a send (release keeps the permit moving), or
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
        st.waiting.retain(|(id, _)| *id != self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn admits_in_call_order_and_bounds_the_line() {
        let a = Admission::new(1, Some(1));
        let first = a.admit().unwrap();
        let second = a.admit().unwrap();
        // The third call is made while the second waits: the line (1) is full.
        assert_eq!(a.admit().err(), Some(QueueFull { max_queue: 1 }));
        let running = first.ready().await;
        assert!(matches!(second, Ticket::Waiting(_)));
        drop(running);
        let _second = second.ready().await;
        assert_eq!(a.running(), 1);
        assert_eq!(a.waiting(), 0);
    }

    #[tokio::test]
    async fn an_abandoned_waiter_leaves_the_line_and_loses_nothing() {
        let a = Admission::new(1, Some(2));
        let running = a.admit().unwrap().ready().await;
        let gone = a.admit().unwrap();
        let kept = a.admit().unwrap();
        drop(gone);
        assert_eq!(a.waiting(), 1);
        drop(running);
        let p = tokio::time::timeout(std::time::Duration::from_secs(5), kept.ready()).await.unwrap();
        drop(p);
        assert_eq!(a.running(), 0);
    }

    #[tokio::test]
    async fn a_permit_sent_to_a_waiter_that_gives_up_passes_on() {
        let a = Admission::new(1, None);
        let running = a.admit().unwrap().ready().await;
        let w1 = a.admit().unwrap();
        let w2 = a.admit().unwrap();
        // The slot reaches w1's channel, then w1 is dropped without taking it.
        drop(running);
        drop(w1);
        let _p = tokio::time::timeout(std::time::Duration::from_secs(5), w2.ready()).await.unwrap();
        assert_eq!(a.running(), 1);
    }

    #[tokio::test]
    async fn free_slots_never_overtake_the_line() {
        let a = Admission::new(2, None);
        let p1 = a.admit().unwrap().ready().await;
        let p2 = a.admit().unwrap().ready().await;
        let w = a.admit().unwrap();
        drop(p1);
        // A new call while `w` holds the freed slot in its channel: it must queue behind.
        let late = a.admit().unwrap();
        assert!(matches!(late, Ticket::Waiting(_)));
        let pw = w.ready().await;
        drop((p2, pw));
        let _ = late.ready().await;
    }
}
