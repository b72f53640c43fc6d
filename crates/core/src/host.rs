//! Host functions: a tool calls back into the orchestrator through the call's channel.
//!
//! The tool writes `hcall <nonce> {"id":N,"name":"...","args":<json>}`; the host answers
//! `hret {"id":N,"value":<json>}` (no `value`: `undefined`) or `hret {"id":N,"error":{...}}`.
//! The frame loop only takes a host call that carries the current call's nonce (anything else
//! on the channel is garbage and ends the call), and only runs a function given to that call:
//! every other name is answered with `ERR_HOST_FUNCTION_NOT_FOUND` and runs nothing. Limits
//! are the host's, whatever the harness does: calls in flight, calls in total, bytes each way.
//!
//! The functions themselves live outside this crate (the binding calls JS): [`HostDispatch`].

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde::Serialize;

pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// What a host function gave back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostReply {
    /// The result as JSON text; empty for `undefined`.
    Value(String),
    /// What it threw, as a JSON object `{ name, message, code, ... }`.
    Error(String),
}

/// Runs host functions by name. `args_json` is one JSON value (checked by the frame parser).
pub trait HostDispatch: Send + Sync {
    fn call(&self, name: String, args_json: String) -> BoxFuture<HostReply>;
}

/// The host functions given to one call.
#[derive(Clone)]
pub struct HostFunctions {
    pub names: BTreeSet<String>,
    pub dispatch: Arc<dyn HostDispatch>,
}

impl std::fmt::Debug for HostFunctions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostFunctions").field("names", &self.names).finish_non_exhaustive()
    }
}

/// Host calls of one call, in `metrics.hostCalls`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HostCallMetrics {
    /// Host call frames the tool sent (refused ones included).
    pub count: u32,
    /// Time spent in host functions, summed over the calls that ran (they may overlap).
    pub total_ms: f64,
    /// One entry per host call that finished, in the order they finished.
    pub calls: Vec<HostCallRecord>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HostCallRecord {
    pub name: String,
    pub ms: f64,
    pub ok: bool,
    /// The error's `code` when the call failed (a refusal by the host has one).
    pub code: Option<String>,
}

/// The `entrypoint` an error names when inline code (`executeCode`) failed to compile.
pub const INLINE_CODE: &str = "<inline code>";

/// Longest host function name, in bytes (the harness refuses longer ones before sending).
pub const MAX_NAME_BYTES: usize = 256;

/// A refusal the host sends without running anything.
pub(crate) fn refusal(code: &str, message: String) -> String {
    serde_json::json!({ "name": "HostCallError", "message": message, "code": code }).to_string()
}

/// The answer frame to host call `id`.
pub(crate) fn encode_reply(id: u64, reply: &HostReply) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(format!("hret {{\"id\":{id}").as_bytes());
    match reply {
        HostReply::Value(v) if v.is_empty() => {}
        HostReply::Value(v) => {
            out.extend_from_slice(b",\"value\":");
            out.extend_from_slice(v.as_bytes());
        }
        HostReply::Error(e) => {
            out.extend_from_slice(b",\"error\":");
            out.extend_from_slice(e.as_bytes());
        }
    }
    out.extend_from_slice(b"}\n");
    out
}

/// The `code` of a JSON error object, if any.
pub(crate) fn error_code(error_json: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Coded {
        code: Option<String>,
    }
    serde_json::from_str::<Coded>(error_json).ok().and_then(|c| c.code)
}

/// Adds `"key":value` to an encoded call frame (which ends with `}\n`).
pub(crate) fn extend_call_frame(frame: &mut Vec<u8>, key: &str, value: &serde_json::Value) {
    debug_assert!(frame.ends_with(b"}\n"));
    frame.truncate(frame.len() - 2);
    frame.push(b',');
    frame.extend_from_slice(serde_json::to_string(key).expect("string").as_bytes());
    frame.push(b':');
    frame.extend_from_slice(value.to_string().as_bytes());
    frame.extend_from_slice(b"}\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_one_json_line() {
        let v = |r: &HostReply| -> serde_json::Value {
            let f = encode_reply(7, r);
            assert!(f.starts_with(b"hret ") && f.ends_with(b"\n"));
            serde_json::from_slice(&f[5..]).unwrap()
        };
        assert_eq!(v(&HostReply::Value("[1,2]".into())), serde_json::json!({"id":7,"value":[1,2]}));
        assert_eq!(v(&HostReply::Value(String::new())), serde_json::json!({"id":7}));
        let err = refusal("ERR_X", "no\nnewline escapes".into());
        assert!(!err.contains('\n'));
        assert_eq!(v(&HostReply::Error(err.clone()))["error"]["code"], "ERR_X");
        assert_eq!(error_code(&err).as_deref(), Some("ERR_X"));
    }

    #[test]
    fn call_frames_take_extra_fields() {
        let mut frame = b"call {\"toolId\":\"t\"}\n".to_vec();
        extend_call_frame(&mut frame, "host", &serde_json::json!({"names":["a"]}));
        let parsed: serde_json::Value = serde_json::from_slice(&frame[5..]).unwrap();
        assert_eq!(parsed["toolId"], "t");
        assert_eq!(parsed["host"]["names"][0], "a");
    }
}
