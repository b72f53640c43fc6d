//! The host <-> harness protocol on fd 3: one frame per line, `<tag> <json>\n`. JSON never
//! contains a raw newline, so framing needs no escaping. The result payload is passed through
//! as raw JSON text: the host never re-encodes a tool's output.
//!
//! The tool shares its process (and fd 3) with the harness, so it can write frames too. Each
//! call frame therefore carries a random nonce that only the harness keeps; the harness's
//! answers to that call (`ok`, `err`, `notfound`, `badout`) are `<tag> <nonce> <json>\n`, and
//! the host takes an answer only with the nonce of the call it is waiting for.

use serde::Deserialize;
use serde_json::value::RawValue;
use tokio::io::{AsyncBufRead, AsyncBufReadExt};

use crate::error::{Error, Issue, ThrownError};

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
        nonce: String,
        available: Vec<String>,
    },
    /// The tool returned; raw JSON text, empty for `undefined`.
    Ok {
        nonce: String,
        raw: String,
    },
    /// The tool threw.
    Err {
        nonce: String,
        cause: ThrownError,
    },
    /// The tool returned something JSON cannot carry.
    BadOutput {
        nonce: String,
        reason: String,
    },
    /// Answer to a warm-up ping.
    Pong,
    /// The tools' metadata (`runtime.listTools()`): raw JSON text of an array.
    Tools {
        nonce: String,
        raw: String,
    },
    /// A Standard Schema refused the call's input or the tool's output, inside the process.
    Invalid {
        nonce: String,
        kind: Direction,
        issues: Vec<Issue>,
    },
    /// `context.progress(...)` of the running call.
    Progress {
        nonce: String,
        update: Progress,
    },
    /// The tool calls a host function (see `crate::host`); `args` is one JSON value.
    HostCall {
        nonce: String,
        id: u64,
        name: String,
        args: String,
    },
    /// Inline code (`executeCode`) did not compile.
    CodeError {
        nonce: String,
        error: CodeErrorBody,
    },
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CodeErrorBody {
    pub name: String,
    pub message: String,
    pub line: Option<u32>,
    pub column: Option<u32>,
    pub line_text: Option<String>,
}

#[derive(Deserialize)]
struct HostCallBody {
    id: u64,
    name: String,
    args: Option<Box<RawValue>>,
}

/// Which side of a call a schema check refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Input,
    Output,
}

/// A progress report of a running call.
#[derive(Debug, Clone, PartialEq, serde::Serialize, Deserialize)]
pub struct Progress {
    pub progress: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Deserialize)]
struct InvalidBody {
    kind: Direction,
    issues: Vec<Issue>,
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

impl Frame {
    /// The frame's tag, as written on the channel.
    pub fn tag(&self) -> &'static str {
        match self {
            Frame::Hello { .. } => "hello",
            Frame::Loaded => "loaded",
            Frame::LoadError(_) => "loaderr",
            Frame::NotFound { .. } => "notfound",
            Frame::Ok { .. } => "ok",
            Frame::Err { .. } => "err",
            Frame::BadOutput { .. } => "badout",
            Frame::Pong => "pong",
            Frame::Tools { .. } => "tools",
            Frame::Invalid { .. } => "invalid",
            Frame::Progress { .. } => "progress",
            Frame::HostCall { .. } => "hcall",
            Frame::CodeError { .. } => "codeerr",
        }
    }

    /// The nonce of an answer to a call; `None` for frames that are not answers.
    pub fn nonce(&self) -> Option<&str> {
        match self {
            Frame::NotFound { nonce, .. }
            | Frame::Ok { nonce, .. }
            | Frame::Err { nonce, .. }
            | Frame::BadOutput { nonce, .. }
            | Frame::Tools { nonce, .. }
            | Frame::Invalid { nonce, .. }
            | Frame::Progress { nonce, .. }
            | Frame::HostCall { nonce, .. }
            | Frame::CodeError { nonce, .. } => Some(nonce),
            _ => None,
        }
    }
}

pub fn parse_frame(line: &[u8]) -> Result<Frame, String> {
    let text = std::str::from_utf8(line).map_err(|_| "frame is not UTF-8".to_string())?;
    let (tag, rest) = text.split_once(' ').unwrap_or((text, ""));
    let json = |what: &str| format!("malformed {what} frame");
    // Answers carry the call's nonce before their JSON body.
    let answer = || -> (String, &str) {
        let (nonce, body) = rest.split_once(' ').unwrap_or((rest, ""));
        (nonce.to_string(), body)
    };
    let body = rest;
    Ok(match tag {
        "hello" => Frame::Hello { pid: serde_json::from_str::<HelloBody>(body).map_err(|_| json(tag))?.pid },
        "loaded" => Frame::Loaded,
        "loaderr" => Frame::LoadError(serde_json::from_str(body).map_err(|_| json(tag))?),
        "notfound" => {
            let (nonce, body) = answer();
            let available = serde_json::from_str::<NotFoundBody>(body).map_err(|_| json(tag))?.available;
            Frame::NotFound { nonce, available }
        }
        "ok" => {
            let (nonce, body) = answer();
            Frame::Ok { nonce, raw: body.to_string() }
        }
        "pong" => Frame::Pong,
        "err" => {
            let (nonce, body) = answer();
            Frame::Err { nonce, cause: serde_json::from_str(body).map_err(|_| json(tag))? }
        }
        "badout" => {
            let (nonce, body) = answer();
            let reason = serde_json::from_str::<BadOutputBody>(body).map_err(|_| json(tag))?.reason;
            Frame::BadOutput { nonce, reason }
        }
        "tools" => {
            let (nonce, body) = answer();
            Frame::Tools { nonce, raw: body.to_string() }
        }
        "invalid" => {
            let (nonce, body) = answer();
            let b = serde_json::from_str::<InvalidBody>(body).map_err(|_| json(tag))?;
            Frame::Invalid { nonce, kind: b.kind, issues: b.issues }
        }
        "progress" => {
            let (nonce, body) = answer();
            Frame::Progress { nonce, update: serde_json::from_str(body).map_err(|_| json(tag))? }
        }
        "codeerr" => {
            let (nonce, body) = answer();
            Frame::CodeError { nonce, error: serde_json::from_str(body).map_err(|_| json(tag))? }
        }
        "hcall" => {
            let (nonce, body) = answer();
            let b = serde_json::from_str::<HostCallBody>(body).map_err(|_| json(tag))?;
            let args = b.args.map(|a| a.get().to_string()).unwrap_or_else(|| "null".into());
            Frame::HostCall { nonce, id: b.id, name: b.name, args }
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

/// A caller's JSON text (`what`: "input", "config") as one JSON value on one line, or
/// `ERR_INVALID_ARGUMENT`. Spliced into a call frame unchecked, text such as
/// `1,"toolId":"other"` would forge the frame's other fields.
pub fn json_value(what: &str, text: String) -> Result<Box<RawValue>, Error> {
    if text.contains(['\n', '\r']) {
        return Err(Error::invalid_argument(format!("{what} must be JSON text on one line")));
    }
    RawValue::from_string(text).map_err(|e| Error::invalid_argument(format!("{what} is not one JSON value: {e}")))
}

/// A fresh, unguessable nonce for one call.
pub fn new_nonce() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// A call frame carrying `nonce`, which the harness echoes in its answer.
pub fn encode_call(tool_id: &str, tool_exec_id: &str, nonce: &str, input: &RawValue, config: &RawValue) -> Vec<u8> {
    let (input, config) = (input.get(), config.get());
    let mut out = Vec::with_capacity(input.len() + config.len() + tool_id.len() + 128);
    out.extend_from_slice(b"call {\"toolId\":");
    out.extend_from_slice(serde_json::to_string(tool_id).expect("string").as_bytes());
    out.extend_from_slice(b",\"toolExecId\":");
    out.extend_from_slice(serde_json::to_string(tool_exec_id).expect("string").as_bytes());
    out.extend_from_slice(b",\"nonce\":");
    out.extend_from_slice(serde_json::to_string(nonce).expect("string").as_bytes());
    out.extend_from_slice(b",\"input\":");
    out.extend_from_slice(input.as_bytes());
    out.extend_from_slice(b",\"config\":");
    out.extend_from_slice(config.as_bytes());
    out.extend_from_slice(b"}\n");
    out
}

/// A warm-up ping shaped like a call, so the harness exercises a call's path while idle.
pub fn encode_ping() -> Vec<u8> {
    b"ping {\"toolId\":\"warm-up\",\"toolExecId\":\"warm-up\",\"input\":{\"a\":[1,\"b\"]},\"config\":null}\n".to_vec()
}

/// Asks the harness for the tools' metadata; it answers with a `tools` frame carrying `nonce`.
pub fn encode_list(nonce: &str) -> Vec<u8> {
    format!("list {}\n", serde_json::json!({ "nonce": nonce })).into_bytes()
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
        let ok = |nonce: &str, raw: &str| Frame::Ok { nonce: nonce.into(), raw: raw.into() };
        assert_eq!(parse_frame(b"ok n1 "), Ok(ok("n1", "")));
        assert_eq!(parse_frame(br#"ok n1 {"a":1}"#), Ok(ok("n1", r#"{"a":1}"#)));
        // A frame written without a nonce has its body's first word taken as one: never a match.
        assert_eq!(parse_frame(br#"ok {"forged":true}"#).unwrap().nonce(), Some(r#"{"forged":true}"#));
        assert!(parse_frame(b"\xff\xfe").is_err());
        assert!(parse_frame(b"bogus {}").is_err());
        assert!(parse_frame(b"err {not json").is_err());
        let hc = parse_frame(br#"hcall n1 {"id":3,"name":"add","args":{"a":[1]}}"#).unwrap();
        assert_eq!(hc, Frame::HostCall { nonce: "n1".into(), id: 3, name: "add".into(), args: r#"{"a":[1]}"#.into() });
        assert!(parse_frame(br#"hcall n1 {"id":3,"name":"add","args":{"a":}"#).is_err());
        assert!(parse_frame(br#"hcall n1 {"id":-1,"name":"add"}"#).is_err());
    }

    #[test]
    fn each_frame_names_its_own_tag() {
        for line in [
            r#"hello {"pid":7}"#,
            "loaded {}",
            r#"loaderr {"name":"E","message":"m"}"#,
            r#"notfound n {"available":[]}"#,
            "ok n {}",
            r#"err n {"name":"E","message":"m"}"#,
            r#"badout n {"reason":"r"}"#,
            "pong {}",
            "tools n []",
            r#"invalid n {"kind":"output","issues":[]}"#,
            r#"progress n {"progress":1}"#,
            r#"hcall n {"id":1,"name":"f"}"#,
            r#"codeerr n {"name":"SyntaxError","message":"m","line":null,"column":null,"lineText":null}"#,
        ] {
            let tag = line.split(' ').next().unwrap();
            assert_eq!(parse_frame(line.as_bytes()).unwrap().tag(), tag);
        }
    }

    #[test]
    fn metadata_frames_carry_their_nonce() {
        let f = parse_frame(br#"tools n1 [{"id":"a"}]"#).unwrap();
        assert_eq!(f, Frame::Tools { nonce: "n1".into(), raw: r#"[{"id":"a"}]"#.into() });
        let f = parse_frame(br#"invalid n2 {"kind":"input","issues":[{"path":"/a","message":"m"}]}"#).unwrap();
        assert_eq!(f.nonce(), Some("n2"));
        assert!(matches!(f, Frame::Invalid { kind: Direction::Input, ref issues, .. } if issues[0].path == "/a"));
        let f = parse_frame(br#"progress n3 {"progress":1,"total":4}"#).unwrap();
        assert_eq!(f.nonce(), Some("n3"));
        assert!(parse_frame(br#"progress n3 {"total":4}"#).is_err());
        assert!(parse_frame(br#"invalid n2 {"kind":"sideways","issues":[]}"#).is_err());
    }

    #[test]
    fn caller_json_must_be_one_value_on_one_line() {
        assert_eq!(json_value("input", r#"{"a":[1,"b"]}"#.into()).unwrap().get(), r#"{"a":[1,"b"]}"#);
        for bad in [r#"1,"toolId":"other""#, "", "{", "{\n}", "1 2", r#"{"a":1}}"#] {
            let e = json_value("input", bad.into()).unwrap_err();
            assert_eq!(e.code(), "ERR_INVALID_ARGUMENT", "{bad:?}");
        }
        let v = |s: &str| json_value("x", s.into()).unwrap();
        let frame = encode_call("t", "e", "n", &v(r#"{"toolId":"x"}"#), &v("null"));
        let parsed: serde_json::Value = serde_json::from_slice(&frame[5..]).unwrap();
        assert_eq!(parsed["toolId"], "t");
        assert_eq!(parsed["nonce"], "n");
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
