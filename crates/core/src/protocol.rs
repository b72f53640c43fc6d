//! The host <-> harness protocol on fd 3: one frame per line, `<tag> <json>\n`. JSON never
//! contains a raw newline, so framing needs no escaping. The result payload is passed through
//! as raw JSON text: the host never re-encodes a tool's output.

use serde::Deserialize;
use tokio::io::{AsyncBufRead, AsyncBufReadExt};

use crate::error::ThrownError;

#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// The harness is running (the process started; from here on it is never retried).
    Hello {
        pid: u32,
    },
    /// The entrypoint was imported.
    Loaded,
    /// The entrypoint failed to import.
    LoadError(ThrownError),
    NotFound {
        available: Vec<String>,
    },
    /// The tool returned; raw JSON text, empty for `undefined`.
    Ok(String),
    /// The tool threw.
    Err(ThrownError),
    /// The tool returned something JSON cannot carry.
    BadOutput {
        reason: String,
    },
    /// Answer to a warm-up ping.
    Pong,
}

#[derive(Deserialize)]
struct HelloBody {
    pid: u32,
}

#[derive(Deserialize)]
struct NotFoundBody {
    available: Vec<String>,
}

#[derive(Deserialize)]
struct BadOutputBody {
    reason: String,
}

pub fn parse_frame(line: &[u8]) -> Result<Frame, String> {
    let text = std::str::from_utf8(line).map_err(|_| "frame is not UTF-8".to_string())?;
    let (tag, body) = text.split_once(' ').unwrap_or((text, ""));
    let json = |what: &str| format!("malformed {what} frame");
    Ok(match tag {
        "hello" => Frame::Hello { pid: serde_json::from_str::<HelloBody>(body).map_err(|_| json(tag))?.pid },
        "loaded" => Frame::Loaded,
        "loaderr" => Frame::LoadError(serde_json::from_str(body).map_err(|_| json(tag))?),
        "notfound" => {
            Frame::NotFound { available: serde_json::from_str::<NotFoundBody>(body).map_err(|_| json(tag))?.available }
        }
        "ok" => Frame::Ok(body.to_string()),
        "pong" => Frame::Pong,
        "err" => Frame::Err(serde_json::from_str(body).map_err(|_| json(tag))?),
        "badout" => {
            Frame::BadOutput { reason: serde_json::from_str::<BadOutputBody>(body).map_err(|_| json(tag))?.reason }
        }
        other => return Err(format!("unknown frame tag {:?}", truncate(other, 40))),
    })
}

fn truncate(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// A call frame. `input_json` and `config_json` are JSON texts produced by the caller.
pub fn encode_call(tool_id: &str, tool_exec_id: &str, input_json: &str, config_json: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(input_json.len() + config_json.len() + tool_id.len() + 64);
    out.extend_from_slice(b"call {\"toolId\":");
    out.extend_from_slice(serde_json::to_string(tool_id).expect("string").as_bytes());
    out.extend_from_slice(b",\"toolExecId\":");
    out.extend_from_slice(serde_json::to_string(tool_exec_id).expect("string").as_bytes());
    out.extend_from_slice(b",\"input\":");
    out.extend_from_slice(input_json.as_bytes());
    out.extend_from_slice(b",\"config\":");
    out.extend_from_slice(config_json.as_bytes());
    out.extend_from_slice(b"}\n");
    out
}

/// A warm-up ping shaped like a call, so the harness exercises a call's path while idle.
pub fn encode_ping() -> Vec<u8> {
    b"ping {\"toolId\":\"warm-up\",\"toolExecId\":\"warm-up\",\"input\":{\"a\":[1,\"b\"]},\"config\":null}\n".to_vec()
}

pub fn encode_cancel(reason: &str) -> Vec<u8> {
    format!("cancel {}\n", serde_json::json!({ "reason": reason })).into_bytes()
}

/// The value a caller gets for a tool's raw JSON output: objects as they are, any other JSON
/// value as `{ "value": x }`, `undefined` (empty) as `{}`.
pub fn wrap_output(raw: &str) -> String {
    let trimmed = raw.trim_start();
    if trimmed.is_empty() {
        "{}".to_string()
    } else if trimmed.starts_with('{') {
        raw.to_string()
    } else {
        let mut s = String::with_capacity(raw.len() + 10);
        s.push_str("{\"value\":");
        s.push_str(raw);
        s.push('}');
        s
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum ReadError {
    /// A frame grew past the cap; `seen` bytes had arrived when reading stopped.
    TooLarge {
        seen: u64,
    },
    Io(String),
}

/// Reads newline-terminated frames, refusing any frame longer than `max_frame` bytes without
/// buffering more than that.
pub struct FrameReader<R> {
    inner: R,
    buf: Vec<u8>,
    max_frame: usize,
}

impl<R: AsyncBufRead + Unpin> FrameReader<R> {
    pub fn new(inner: R, max_frame: usize) -> Self {
        FrameReader { inner, buf: Vec::new(), max_frame }
    }

    pub fn max_frame(&self) -> usize {
        self.max_frame
    }

    /// The next frame without its newline, or `None` at end of stream. A partial frame at end
    /// of stream is returned as `Io` ("truncated frame").
    ///
    /// Cancel-safe: the caller polls this in a `select!` with timers, and a frame that arrived
    /// in part when another branch won stays buffered for the next call.
    pub async fn next(&mut self) -> Result<Option<Vec<u8>>, ReadError> {
        loop {
            let available = self.inner.fill_buf().await.map_err(|e| ReadError::Io(e.to_string()))?;
            if available.is_empty() {
                if self.buf.is_empty() {
                    return Ok(None);
                }
                return Err(ReadError::Io(format!("truncated frame ({} bytes without an end)", self.buf.len())));
            }
            match available.iter().position(|&b| b == b'\n') {
                Some(i) => {
                    if self.buf.len() + i > self.max_frame {
                        return Err(ReadError::TooLarge { seen: (self.buf.len() + i) as u64 });
                    }
                    self.buf.extend_from_slice(&available[..i]);
                    self.inner.consume(i + 1);
                    return Ok(Some(std::mem::take(&mut self.buf)));
                }
                None => {
                    let n = available.len();
                    if self.buf.len() + n > self.max_frame {
                        return Err(ReadError::TooLarge { seen: (self.buf.len() + n) as u64 });
                    }
                    self.buf.extend_from_slice(available);
                    self.inner.consume(n);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_wrap_like_the_spec_says() {
        assert_eq!(wrap_output(r#"{"a":1}"#), r#"{"a":1}"#);
        assert_eq!(wrap_output("42"), r#"{"value":42}"#);
        assert_eq!(wrap_output("[1]"), r#"{"value":[1]}"#);
        assert_eq!(wrap_output("null"), r#"{"value":null}"#);
        assert_eq!(wrap_output(""), "{}");
    }

    #[test]
    fn frames_parse_and_garbage_is_refused() {
        assert_eq!(parse_frame(br#"hello {"pid":7}"#), Ok(Frame::Hello { pid: 7 }));
        assert_eq!(parse_frame(b"ok "), Ok(Frame::Ok(String::new())));
        assert!(parse_frame(b"\xff\xfe").is_err());
        assert!(parse_frame(b"bogus {}").is_err());
        assert!(parse_frame(b"err {not json").is_err());
    }

    #[tokio::test]
    async fn a_frame_survives_a_read_cancelled_halfway() {
        use tokio::io::AsyncWriteExt;
        let (mut tx, rx) = tokio::io::duplex(64);
        let mut r = FrameReader::new(tokio::io::BufReader::new(rx), 1 << 20);
        tx.write_all(b"ok {\"data\":\"xxxx").await.unwrap();
        // Another select! branch wins while half the frame has been read.
        let cancelled = tokio::time::timeout(std::time::Duration::from_millis(20), r.next()).await;
        assert!(cancelled.is_err());
        tx.write_all(b"yyyy\"}\n").await.unwrap();
        assert_eq!(r.next().await, Ok(Some(b"ok {\"data\":\"xxxxyyyy\"}".to_vec())));
    }

    #[tokio::test]
    async fn reader_caps_frames_and_reports_truncation() {
        let data: &[u8] = b"one\ntwo\nthree-is-long\npartial";
        let mut r = FrameReader::new(data, 8);
        assert_eq!(r.next().await, Ok(Some(b"one".to_vec())));
        assert_eq!(r.next().await, Ok(Some(b"two".to_vec())));
        assert!(matches!(r.next().await, Err(ReadError::TooLarge { .. })));
        let mut r = FrameReader::new(&b"partial"[..], 100);
        assert!(matches!(r.next().await, Err(ReadError::Io(_))));
    }
}
