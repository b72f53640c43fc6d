//! The host side of host calls for one worker: checks each request against the call's
//! functions and limits, runs it off the frame loop, and answers in the loop when it is done.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::Worker;
use crate::host::{self, HostCallMetrics, HostCallRecord, HostFunctions, HostReply};

/// Limits of one call's host calls.
#[derive(Debug, Clone, Copy)]
pub struct HostLimits {
    pub max_in_flight: u32,
    pub max_calls: u32,
    /// Largest arguments and result, in JSON bytes.
    pub max_bytes: usize,
}

/// The current call's host functions and what they have done so far.
pub(super) struct HostSession {
    /// Dropped when the call ends: the functions (JS closures, and the binding's handle that
    /// keeps the JS event loop alive) must not outlive the call on an idle reused worker.
    fns: Option<Arc<HostFunctions>>,
    limits: HostLimits,
    /// The worker's call number: a reply from an earlier call's host function is dropped.
    call_seq: u32,
    in_flight: u32,
    metrics: HostCallMetrics,
    /// Cancelled when the call ends: host calls still running are given up.
    ended: CancellationToken,
}

impl Drop for HostSession {
    fn drop(&mut self) {
        self.ended.cancel();
    }
}

/// A host call that finished, back to the frame loop.
pub(super) struct HostDone {
    call_seq: u32,
    id: u64,
    name: String,
    started: Instant,
    reply: HostReply,
}

pub(super) type HostChannel = (mpsc::UnboundedSender<HostDone>, mpsc::UnboundedReceiver<HostDone>);

pub(super) fn channel() -> HostChannel {
    mpsc::unbounded_channel()
}

impl Worker {
    /// Gives the call about to be sent its host functions (or none). Call after `begin_call`.
    pub fn set_host(&mut self, fns: Option<Arc<HostFunctions>>, limits: HostLimits) {
        self.host = fns.map(|fns| HostSession {
            fns: Some(fns),
            limits,
            call_seq: self.calls,
            in_flight: 0,
            metrics: HostCallMetrics::default(),
            ended: CancellationToken::new(),
        });
    }

    /// Gives up the host calls of the call that just ended; their figures stay for `metrics`.
    pub(super) fn end_host_calls(&mut self) {
        if let Some(s) = &mut self.host {
            s.ended.cancel();
            s.fns = None;
        }
    }

    pub(super) fn host_metrics(&self) -> Option<HostCallMetrics> {
        self.host.as_ref().map(|s| s.metrics.clone())
    }

    /// A host call frame that carried the call's nonce.
    pub(super) fn on_host_call(&mut self, id: u64, name: String, args: String) {
        let refuse = |code: &str, message: String| HostReply::Error(host::refusal(code, message));
        let Some((s, fns)) = self.host.as_mut().and_then(|s| s.fns.clone().map(|f| (s, f))) else {
            let reply = refuse(
                "ERR_HOST_FUNCTION_NOT_FOUND",
                format!("no host function {:?}: this call was given no host functions", truncate(&name)),
            );
            self.writer.send(&host::encode_reply(id, &reply));
            return;
        };
        s.metrics.count = s.metrics.count.saturating_add(1);
        let refused = if !fns.names.contains(&name) {
            let available = fns.names.iter().cloned().collect::<Vec<_>>().join(", ");
            Some(refuse(
                "ERR_HOST_FUNCTION_NOT_FOUND",
                format!("no host function {:?} was given to this call; available: {available}", truncate(&name)),
            ))
        } else if args.len() > s.limits.max_bytes {
            Some(refuse(
                "ERR_OUTPUT_TOO_LARGE",
                format!(
                    "the arguments of host function {name} are {} bytes, over the limit of {} bytes (maxOutputBytes)",
                    args.len(),
                    s.limits.max_bytes
                ),
            ))
        } else if s.metrics.count > s.limits.max_calls {
            Some(refuse(
                "ERR_HOST_CALL_LIMIT",
                format!("this call made more than maxHostCalls ({}) host calls", s.limits.max_calls),
            ))
        } else if s.in_flight >= s.limits.max_in_flight {
            Some(refuse(
                "ERR_HOST_CALL_LIMIT",
                format!("more than maxHostCallsInFlight ({}) host calls at once", s.limits.max_in_flight),
            ))
        } else {
            None
        };
        if let Some(reply) = refused {
            // Bounded: a tool flooding the channel with refused calls must not grow the host.
            if let (HostReply::Error(e), true) = (&reply, s.metrics.calls.len() < s.limits.max_calls as usize) {
                s.metrics.calls.push(HostCallRecord { name, ms: 0.0, ok: false, code: host::error_code(e) });
            }
            self.writer.send(&host::encode_reply(id, &reply));
            return;
        }
        s.in_flight += 1;
        let (tx, ended, call_seq) = (self.host_chan.0.clone(), s.ended.clone(), s.call_seq);
        let running = fns.dispatch.call(name.clone(), args);
        let started = Instant::now();
        tokio::spawn(async move {
            tokio::select! {
                reply = running => {
                    let _ = tx.send(HostDone { call_seq, id, name, started, reply });
                }
                _ = ended.cancelled() => {}
            }
        });
    }

    /// A host function finished: answer the tool, unless its call is over.
    pub(super) fn on_host_done(&mut self, done: HostDone) {
        let Some(s) = self.host.as_mut().filter(|s| s.call_seq == done.call_seq) else { return };
        s.in_flight = s.in_flight.saturating_sub(1);
        let ms = (done.started.elapsed().as_secs_f64() * 1000.0 * 100.0).round() / 100.0;
        let reply = match done.reply {
            HostReply::Value(v) if v.len() > s.limits.max_bytes => HostReply::Error(host::refusal(
                "ERR_OUTPUT_TOO_LARGE",
                format!(
                    "host function {} returned {} bytes, over the limit of {} bytes (maxOutputBytes)",
                    done.name,
                    v.len(),
                    s.limits.max_bytes
                ),
            )),
            other => other,
        };
        let code = match &reply {
            HostReply::Error(e) => host::error_code(e),
            HostReply::Value(_) => None,
        };
        s.metrics.total_ms = ((s.metrics.total_ms + ms) * 100.0).round() / 100.0;
        let ok = matches!(reply, HostReply::Value(_));
        s.metrics.calls.push(HostCallRecord { name: done.name, ms, ok, code });
        self.writer.send(&host::encode_reply(done.id, &reply));
    }
}

fn truncate(name: &str) -> &str {
    match name.char_indices().nth(64) {
        Some((i, _)) => &name[..i],
        None => name,
    }
}
