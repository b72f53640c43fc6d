//! What a running call reports while it runs: the lines its process writes to stdout and
//! stderr, and its `context.progress(...)` reports. The caller receives them on a channel;
//! nothing here buffers more than one unfinished line per stream.

use std::time::{SystemTime, UNIX_EPOCH};

use tokio::sync::mpsc::UnboundedSender;

use crate::protocol::Progress;

/// A line longer than this is delivered in pieces of this size: a tool printing without
/// newlines must not make the host hold its whole output.
const MAX_LINE: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum CallEvent {
    Log { stream: Stream, line: String, time_ms: f64 },
    Progress(Progress),
}

pub type CallEvents = UnboundedSender<CallEvent>;

/// Splits one output stream into lines for the call's event channel.
#[derive(Debug)]
pub struct LineSink {
    stream: Stream,
    partial: Vec<u8>,
    tx: CallEvents,
}

impl LineSink {
    pub fn new(stream: Stream, tx: CallEvents) -> Self {
        LineSink { stream, partial: Vec::new(), tx }
    }

    pub fn push(&mut self, mut data: &[u8]) {
        while let Some(i) = data.iter().position(|&b| b == b'\n') {
            self.partial.extend_from_slice(&data[..i]);
            self.emit();
            data = &data[i + 1..];
        }
        self.partial.extend_from_slice(data);
        while self.partial.len() >= MAX_LINE {
            let rest = self.partial.split_off(MAX_LINE);
            self.emit();
            self.partial = rest;
        }
    }

    /// Delivers an unfinished last line (the call ended without its newline).
    pub fn flush(&mut self) {
        if !self.partial.is_empty() {
            self.emit();
        }
    }

    fn emit(&mut self) {
        let bytes = std::mem::take(&mut self.partial);
        let bytes = bytes.strip_suffix(b"\r").unwrap_or(&bytes);
        let line = String::from_utf8_lossy(bytes).into_owned();
        let _ = self.tx.send(CallEvent::Log { stream: self.stream, line, time_ms: now_ms() });
    }
}

fn now_ms() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64() * 1000.0).unwrap_or(0.0).round()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(rx: &mut tokio::sync::mpsc::UnboundedReceiver<CallEvent>) -> Vec<String> {
        let mut out = Vec::new();
        while let Ok(CallEvent::Log { line, .. }) = rx.try_recv() {
            out.push(line);
        }
        out
    }

    #[test]
    fn lines_split_across_chunks_and_flush_at_the_end() {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let mut s = LineSink::new(Stream::Stdout, tx);
        s.push(b"one\ntw");
        assert_eq!(lines(&mut rx), ["one"]);
        s.push(b"o\r\nthree");
        assert_eq!(lines(&mut rx), ["two"]);
        s.flush();
        assert_eq!(lines(&mut rx), ["three"]);
        s.push(&vec![b'x'; MAX_LINE + 3]);
        assert_eq!(lines(&mut rx).iter().map(|l| l.len()).collect::<Vec<_>>(), [MAX_LINE]);
    }
}
