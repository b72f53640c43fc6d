//! The frame loop: reads what the harness sends on fd 3 while watching the process, the
//! deadline/abort signal, the limits and the channel itself.

use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::sync::watch;

use super::{CancelReason, Phase, Worker};
use crate::error::{CallId, Error};
use crate::protocol::{self, Frame, ReadError};
use crate::supervisor;

/// What the host asked the harness for. A tool that learns the nonce (it shares the harness's
/// JavaScript realm) can write answers carrying it, so an answer of another kind than what was
/// asked is garbage: a tool call is never answered with a listing or a compile error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asked {
    Call,
    /// `executeCode`: inline code, which may fail to compile (`codeerr`).
    Code,
    /// `listTools()`.
    Listing,
}

/// What the frame loop produced.
pub(super) enum Event {
    Loaded,
    Pong,
    Output(String),
    /// The answer to a `list` frame: the tools' metadata as raw JSON text.
    Tools(String),
    Fail(Error),
    Closed,
    Cancelled(CancelReason),
}

impl Worker {
    pub(super) async fn next_event(
        &mut self,
        call: &CallId,
        cancel: &mut watch::Receiver<Option<CancelReason>>,
        until_loaded: bool,
    ) -> Event {
        let max_output = self.max_output;
        let mut drain_deadline: Option<tokio::time::Instant> = None;
        let watch_limits = self.limits.any_tree_limit();
        let mut tick = tokio::time::interval(Duration::from_millis(10));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        // A tool may close fd 3 while a duplicate keeps the socket open (bun reads through
        // one): the host then never sees the end, so it looks at the child's fd 3 itself.
        let mut channel_check = tokio::time::interval_at(
            tokio::time::Instant::now() + Duration::from_millis(200),
            Duration::from_millis(200),
        );
        channel_check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let check_channel = !until_loaded && self.channel_inode != 0;
        let mut channel_suspect = false;
        // Set when the channel looked closed: until when its exit may still show, and whether
        // that wait was already extended for a dying process.
        let mut closed_wait: Option<(tokio::time::Instant, bool)> = None;
        let mut wait_failed = false;
        loop {
            tokio::select! {
                biased;
                changed = cancel.changed() => {
                    let reason = if changed.is_err() { CancelReason::Abort } else { (*cancel.borrow()).unwrap_or(CancelReason::Abort) };
                    return Event::Cancelled(reason);
                }
                next = self.reader.next() => match next {
                    Ok(Some(line)) => {
                        if let Some(event) = self.on_frame(call, &line, until_loaded, max_output) {
                            return event;
                        }
                    }
                    Ok(None) => return Event::Closed,
                    Err(ReadError::TooLarge { seen }) => return Event::Fail(Error::OutputTooLarge { call: call.clone(), limit: max_output as u64, size: seen }),
                    Err(ReadError::Io(reason)) => {
                        if self.phase == Phase::Starting {
                            return Event::Closed;
                        }
                        return Event::Fail(Error::InvalidOutput { call: call.clone(), reason: format!("the result channel broke: {reason}") });
                    }
                },
                Some(done) = self.host_chan.1.recv() => self.on_host_done(done),
                status = self.child.wait(), if self.exit_status.is_none() && !wait_failed => {
                    // An error here (ECHILD) would be ready again at once: asked once only.
                    wait_failed = status.is_err();
                    // Members of the group may outlive the leader (a grandchild holding the
                    // channel open): signal them while the group id is still reserved by them.
                    supervisor::kill_group(self.pid, libc::SIGKILL);
                    self.exit_status = status.ok();
                    // What the child wrote before it died is already buffered; a grandchild
                    // holding the channel open must not keep us waiting for an end.
                    drain_deadline = Some(tokio::time::Instant::now() + Duration::from_millis(100));
                }
                _ = tokio::time::sleep_until(drain_deadline.unwrap_or_else(tokio::time::Instant::now)), if drain_deadline.is_some() => {
                    return Event::Closed;
                }
                _ = tick.tick(), if watch_limits => {
                    if let Some(hit) = self.check_limits() {
                        if self.exit_status.is_none() {
                            supervisor::kill_group(self.pid, libc::SIGKILL);
                        }
                        return Event::Fail(self.limit_error(call, hit));
                    }
                }
                _ = channel_check.tick(), if check_channel && self.exit_status.is_none() && closed_wait.is_none() => {
                    // Twice in a row: a process that is exiting (a crash) loses its fds an
                    // instant before its exit status shows; that is not a closed channel.
                    // A runtime not forked yet by its PID namespace's init cannot have closed it.
                    let open = self.runtime_pid().is_none_or(|pid| supervisor::channel_open_in_child(pid, self.channel_inode));
                    let was_suspect = std::mem::replace(&mut channel_suspect, !open);
                    if !open && was_suspect {
                        // A process that is dying (a crash on a loaded machine) can take a while
                        // to be reaped after its fds are gone: give it a moment to show its exit
                        // (the `child.wait()` arm) before calling the channel closed by the tool.
                        // The loop goes on meanwhile, so a cancel is not held up.
                        closed_wait = Some((tokio::time::Instant::now() + Duration::from_millis(500), false));
                    }
                }
                _ = tokio::time::sleep_until(closed_wait.map_or_else(tokio::time::Instant::now, |w| w.0)), if closed_wait.is_some() && self.exit_status.is_none() => {
                    let extended = closed_wait.is_some_and(|w| w.1);
                    if !extended && self.runtime_pid().is_none_or(supervisor::process_exiting) {
                        // Its fds are gone because it is dying, and its exit has not reached
                        // us yet (its PID namespace's init reaps it, then mirrors its exit):
                        // a crash under load, not a closed channel.
                        closed_wait = Some((tokio::time::Instant::now() + Duration::from_secs(5), true));
                    } else {
                        supervisor::kill_group(self.pid, libc::SIGKILL);
                        return Event::Fail(Error::InvalidOutput {
                            call: call.clone(),
                            reason: "the tool closed the result channel (fd 3)".into(),
                        });
                    }
                }
            }
        }
    }

    /// One frame from the harness; `None` when the loop goes on.
    fn on_frame(&mut self, call: &CallId, line: &[u8], until_loaded: bool, max_output: usize) -> Option<Event> {
        let frame = match protocol::parse_frame(line) {
            Ok(f) => f,
            Err(reason) => {
                return Some(Event::Fail(Error::InvalidOutput {
                    call: call.clone(),
                    reason: format!("garbage on the result channel: {reason}"),
                }))
            }
        };
        if frame.nonce().is_some_and(|n| n.is_empty() || n != self.nonce) {
            return Some(Event::Fail(Error::InvalidOutput {
                call: call.clone(),
                reason:
                    "garbage on the result channel: an answer without the call's nonce (not written by the harness)"
                        .into(),
            }));
        }
        if !self.in_place(&frame, until_loaded) {
            return Some(Event::Fail(Error::InvalidOutput {
                call: call.clone(),
                reason: format!("garbage on the result channel: a {} frame where the harness sends none", frame.tag()),
            }));
        }
        Some(match frame {
            Frame::Hello { .. } => {
                self.phase = Phase::Running;
                if let Some(f) = &self.started_flag {
                    f.store(true, Ordering::SeqCst);
                }
                return None;
            }
            Frame::Pong => Event::Pong,
            Frame::CodeError { error, .. } => {
                // The process is as healthy as before: only the call's own source failed.
                self.answered = true;
                let at = match (error.line, error.column) {
                    (Some(l), Some(c)) => format!(" (line {l}, column {c})"),
                    _ => String::new(),
                };
                Event::Fail(Error::EntrypointFailed {
                    call: call.clone(),
                    entrypoint: crate::host::INLINE_CODE.into(),
                    message: format!("{}: {}{at}", error.name, error.message),
                    stack: error.line_text,
                    exit: self.exit_info(),
                })
            }
            Frame::HostCall { id, name, args, .. } => {
                self.on_host_call(id, name, args);
                return None;
            }
            Frame::Loaded => {
                self.phase = Phase::Loaded;
                if !until_loaded {
                    return None;
                }
                Event::Loaded
            }
            Frame::LoadError(t) => {
                if until_loaded {
                    self.load_error = Some(t);
                    self.phase = Phase::Loaded;
                    return Some(Event::Loaded);
                }
                Event::Fail(Error::EntrypointFailed {
                    call: call.clone(),
                    entrypoint: self.entrypoint.clone(),
                    message: format!("{}: {}", t.name, t.message),
                    stack: t.stack,
                    exit: self.exit_info(),
                })
            }
            Frame::NotFound { available, .. } => {
                self.answered = true;
                Event::Fail(Error::ToolNotFound { call: call.clone(), available })
            }
            Frame::Ok { raw, .. } => {
                if raw.len() > max_output {
                    return Some(Event::Fail(Error::OutputTooLarge {
                        call: call.clone(),
                        limit: max_output as u64,
                        size: raw.len() as u64,
                    }));
                }
                let wrapped = !raw.trim_start().starts_with('{');
                // Wrapped text is spliced into `{"value":...}`: text that is not one JSON value
                // (`1,"extra":2`) would add keys the tool never returned.
                if wrapped && !raw.trim().is_empty() && serde_json::from_str::<serde::de::IgnoredAny>(&raw).is_err() {
                    return Some(Event::Fail(Error::InvalidOutput {
                        call: call.clone(),
                        reason: "the result is not one JSON value".into(),
                    }));
                }
                self.answered = true;
                self.output_wrapped = wrapped;
                Event::Output(protocol::wrap_output(&raw))
            }
            Frame::Err { cause, .. } => {
                self.answered = true;
                Event::Fail(Error::ToolFailed { call: call.clone(), cause, denied_hosts: self.denied_hosts() })
            }
            Frame::BadOutput { reason, .. } => {
                self.answered = true;
                Event::Fail(Error::InvalidOutput { call: call.clone(), reason })
            }
            Frame::Tools { raw, .. } => {
                self.answered = true;
                Event::Tools(raw)
            }
            Frame::Invalid { kind, issues, .. } => {
                self.answered = true;
                let call = call.clone();
                Event::Fail(match kind {
                    protocol::Direction::Input => Error::InvalidInput { call, issues },
                    protocol::Direction::Output => Error::OutputMismatch { call, issues },
                })
            }
            Frame::Progress { update, .. } => {
                if let Some(tx) = &self.events {
                    let _ = tx.send(super::CallEvent::Progress(update));
                }
                return None;
            }
        })
    }

    /// Whether the harness sends this frame now: the start frames once each, in order, before
    /// any answer; a pong only to the warm-up ping; only answers of the kind that was asked.
    /// Anything else was written by the tool (raw on fd 3, or with a nonce it learned).
    fn in_place(&self, frame: &Frame, until_loaded: bool) -> bool {
        match frame {
            Frame::Hello { .. } => self.phase == Phase::Starting,
            Frame::Loaded | Frame::LoadError(_) => self.phase == Phase::Running,
            Frame::Pong => until_loaded && self.phase == Phase::Loaded,
            Frame::Tools { .. } => self.asked == Asked::Listing,
            Frame::CodeError { .. } => self.asked == Asked::Code,
            // A listing that fails to describe a tool answers `err`.
            Frame::Err { .. } => true,
            Frame::NotFound { .. }
            | Frame::Ok { .. }
            | Frame::BadOutput { .. }
            | Frame::Invalid { .. }
            | Frame::Progress { .. }
            | Frame::HostCall { .. } => self.asked != Asked::Listing,
        }
    }
}
