//! Every way a call can fail, as one enum with a stable `code` per variant. The binding maps
//! each variant to a JS error class once; callers branch on `code`, never on message text.

use serde::Serialize;

/// How a child process ended, as far as the supervisor saw it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExitInfo {
    pub exit_code: Option<i32>,
    /// Signal name such as `SIGKILL` when the process died from a signal.
    pub signal: Option<String>,
    /// Tail of the child's stderr (capped at `maxStderrBytes`).
    pub stderr: String,
    /// Tail of the child's stdout (capped at `maxStderrBytes`).
    pub stdout: String,
}

/// What a tool threw, as the worker harness described it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ThrownError {
    pub name: String,
    pub message: String,
    pub stack: Option<String>,
    pub code: Option<String>,
    /// True when the thrown value was not an `Error` (a string, a plain object, ...).
    pub non_error: bool,
}

/// One way a value failed its schema: where (a JSON pointer, `""` for the value itself) and why.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Issue {
    pub path: String,
    pub message: String,
}

/// Identifies the call an error belongs to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallId {
    pub tool_id: String,
    pub tool_exec_id: String,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    #[error("invalid config: {message}")]
    InvalidConfig { message: String },

    #[error("{message}")]
    InvalidArgument { message: String },

    #[error("tool {} failed: {}: {}", call.tool_id, cause.name, cause.message)]
    ToolFailed {
        call: CallId,
        cause: ThrownError,
        /// Destinations the egress proxy refused during the call.
        denied_hosts: Vec<String>,
    },

    #[error("tool {} not found in the entrypoint; available tools: {}", call.tool_id, list_or_none(available))]
    ToolNotFound { call: CallId, available: Vec<String> },

    #[error("tool {} returned {size} bytes of output, over the limit of {limit} bytes (maxOutputBytes)", call.tool_id)]
    OutputTooLarge { call: CallId, limit: u64, size: u64 },

    #[error("tool {} returned an invalid output: {reason}", call.tool_id)]
    InvalidOutput { call: CallId, reason: String },

    #[error("tool {} refused its input: {}", call.tool_id, describe_issues(issues))]
    InvalidInput { call: CallId, issues: Vec<Issue> },

    #[error("tool {} returned an output that does not match its outputSchema: {}", call.tool_id, describe_issues(issues))]
    OutputMismatch { call: CallId, issues: Vec<Issue> },

    #[error("tool {} hit its timeout of {timeout_ms} ms{}", call.tool_id, if *started { "" } else { " before it started (it waited in the queue)" })]
    Timeout { call: CallId, timeout_ms: u64, started: bool, exit: ExitInfo },

    #[error("tool {} was aborted{}", call.tool_id, if *started { "" } else { " before it started" })]
    Aborted { call: CallId, reason: Option<String>, started: bool },

    #[error("tool {} process exited without a result ({}){}", call.tool_id, describe_exit(exit), stderr_hint(&exit.stderr))]
    ProcessExited { call: CallId, exit: ExitInfo },

    #[error("entrypoint {entrypoint} failed to load: {message}")]
    EntrypointFailed { call: CallId, entrypoint: String, message: String, stack: Option<String>, exit: ExitInfo },

    #[error("{runtime} runtime is unavailable: {reason}")]
    RuntimeUnavailable { runtime: String, path: Option<String>, reason: String },

    #[error("the sandbox cannot be enforced on this machine: {missing}. Set sandbox: \"best-effort\" to run with what is available, or \"off\" to run unconfined")]
    SandboxUnavailable { missing: String },

    #[error("tool {} went over its memory limit of {limit_mb} MB (peak {peak_mb} MB)", call.tool_id)]
    MemoryLimit { call: CallId, limit_mb: u64, peak_mb: u64, exit: ExitInfo },

    #[error("tool {} went over its CPU time limit of {limit_ms} ms", call.tool_id)]
    CpuLimit { call: CallId, limit_ms: u64, exit: ExitInfo },

    #[error("tool {} went over its process limit of {limit}", call.tool_id)]
    ProcessLimit { call: CallId, limit: u64, exit: ExitInfo },

    #[error("tool {} rejected: the queue is full ({max_queue} calls waiting)", call.tool_id)]
    QueueFull { call: CallId, max_queue: u64 },

    #[error("the runtime is closed")]
    Closed,

    /// A queued call (`tool-runtime/queue`) whose worker died while running it, and that was
    /// not safe to run again. Built by the JS queue layer; here for the one table of codes.
    #[error("tool {} was lost: its worker died while running it", call.tool_id)]
    WorkerLost { call: CallId },

    /// The queue (Redis) could not take a call, or lost one it held. Built by the JS queue layer.
    #[error("tool {} could not go through the queue: {reason}", call.tool_id)]
    QueueUnavailable { call: CallId, reason: String },

    #[error("internal error: {message}")]
    Internal { message: String },
}

/// The one table of codes: each variant's stable `code` and the JS class its errors are
/// built as. `lib/codes.js` and `lib/codes.d.ts` are generated from it (see the test
/// `codes_files_are_generated_and_up_to_date`).
macro_rules! codes {
    ($($variant:ident => $code:literal, $class:literal;)* $(#[also] $alias:ident => $acode:literal, $aclass:literal;)*) => {
        impl Error {
            /// The stable code JS callers branch on.
            pub fn code(&self) -> &'static str {
                match self { $(Error::$variant { .. } => $code,)* $(Error::$alias { .. } => $acode,)* }
            }

            /// The JS class the binding builds for this error.
            pub fn class(&self) -> &'static str {
                match self { $(Error::$variant { .. } => $class,)* $(Error::$alias { .. } => $aclass,)* }
            }
        }

        /// Variants that share another variant's code (and must share its class).
        #[cfg(test)]
        const ALSO: &[(&str, &str)] = &[$(($acode, $aclass)),*];

        /// Every code and its JS class, in declaration order.
        pub const CODES: &[(&str, &str)] = &[$(($code, $class)),*];
    };
}

codes! {
    InvalidConfig => "ERR_INVALID_CONFIG", "ConfigError";
    InvalidArgument => "ERR_INVALID_ARGUMENT", "ValidationError";
    ToolFailed => "ERR_TOOL_FAILED", "ToolExecutionError";
    ToolNotFound => "ERR_TOOL_NOT_FOUND", "ToolExecutionError";
    OutputTooLarge => "ERR_OUTPUT_TOO_LARGE", "ToolExecutionError";
    InvalidOutput => "ERR_INVALID_OUTPUT", "ValidationError";
    InvalidInput => "ERR_INVALID_INPUT", "ValidationError";
    Timeout => "ERR_TOOL_TIMEOUT", "TimeoutError";
    Aborted => "ERR_ABORTED", "AbortError";
    ProcessExited => "ERR_PROCESS_EXITED", "ProcessError";
    EntrypointFailed => "ERR_ENTRYPOINT_FAILED", "ProcessError";
    RuntimeUnavailable => "ERR_RUNTIME_UNAVAILABLE", "ProcessError";
    SandboxUnavailable => "ERR_SANDBOX_UNAVAILABLE", "ConfigError";
    MemoryLimit => "ERR_MEMORY_LIMIT", "ProcessError";
    CpuLimit => "ERR_CPU_LIMIT", "ProcessError";
    ProcessLimit => "ERR_PROCESS_LIMIT", "ProcessError";
    QueueFull => "ERR_QUEUE_FULL", "ToolExecutionError";
    Closed => "ERR_RUNTIME_CLOSED", "ToolRuntimeError";
    WorkerLost => "ERR_WORKER_LOST", "ToolExecutionError";
    QueueUnavailable => "ERR_QUEUE_UNAVAILABLE", "ToolExecutionError";
    Internal => "ERR_INTERNAL", "ToolRuntimeError";
    #[also] OutputMismatch => "ERR_INVALID_OUTPUT", "ValidationError";
}

/// `lib/codes.js`: the code table for the JS layer.
pub fn codes_js() -> String {
    let mut s = String::from(GENERATED_HEADER);
    s.push_str("\"use strict\";\n\n/** Every error code and the class its errors are built as. */\nmodule.exports = Object.freeze({\n");
    for (code, class) in CODES {
        s.push_str(&format!("  {code}: \"{class}\",\n"));
    }
    s.push_str("});\n");
    s
}

/// `lib/codes.d.ts`: the code union of the public types.
pub fn codes_dts() -> String {
    let mut s = String::from(GENERATED_HEADER);
    s.push_str("/** Every `code` this package rejects with. */\nexport type ErrorCode =\n");
    for (i, (code, _)) in CODES.iter().enumerate() {
        s.push_str(&format!("  | \"{code}\"{}\n", if i + 1 == CODES.len() { ";" } else { "" }));
    }
    s.push_str("\n// The class of the errors carrying each code.\n");
    for (code, class) in CODES {
        s.push_str(&format!("export declare const {code}: \"{class}\";\n"));
    }
    s
}

const GENERATED_HEADER: &str =
    "// Generated from crates/core/src/error.rs by `UPDATE_CODES=1 cargo test -p tool-runtime-core codes`. Do not edit.\n";

fn describe_issues(issues: &[Issue]) -> String {
    let shown: Vec<String> = issues
        .iter()
        .take(5)
        .map(|i| if i.path.is_empty() { i.message.clone() } else { format!("{}: {}", i.path, i.message) })
        .collect();
    let more = issues.len().saturating_sub(shown.len());
    if more > 0 {
        format!("{} (and {more} more)", shown.join("; "))
    } else {
        shown.join("; ")
    }
}

fn list_or_none(v: &[String]) -> String {
    if v.is_empty() {
        "(none)".to_string()
    } else {
        v.join(", ")
    }
}

fn describe_exit(exit: &ExitInfo) -> String {
    match (&exit.exit_code, &exit.signal) {
        (_, Some(sig)) => format!("killed by {sig}"),
        (Some(code), None) => format!("exit code {code}"),
        (None, None) => "no exit status".to_string(),
    }
}

fn stderr_hint(stderr: &str) -> String {
    let last = stderr.trim_end().lines().rev().find(|l| !l.trim().is_empty());
    match last {
        Some(l) => format!(": {}", truncate(l.trim(), 300)),
        None => String::new(),
    }
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

impl Error {
    pub fn invalid_config(message: impl Into<String>) -> Self {
        Error::InvalidConfig { message: message.into() }
    }

    pub fn invalid_argument(message: impl Into<String>) -> Self {
        Error::InvalidArgument { message: message.into() }
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Error::Internal { message: message.into() }
    }

    /// The error as one JSON object: `code`, `message` and every field an operator needs.
    /// The binding hands it to JS as an object (never inside a message), and `lib/errors.js`
    /// builds the class that [`CODES`] names for its code.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::json;
        let mut v = json!({
            "code": self.code(),
            "message": self.to_string(),
        });
        let obj = v.as_object_mut().expect("object");
        let mut put_call = |c: &CallId| {
            obj.insert("toolId".into(), json!(c.tool_id));
            obj.insert("toolExecId".into(), json!(c.tool_exec_id));
        };
        match self {
            Error::ToolFailed { call, .. }
            | Error::ToolNotFound { call, .. }
            | Error::OutputTooLarge { call, .. }
            | Error::InvalidOutput { call, .. }
            | Error::InvalidInput { call, .. }
            | Error::OutputMismatch { call, .. }
            | Error::Timeout { call, .. }
            | Error::Aborted { call, .. }
            | Error::ProcessExited { call, .. }
            | Error::EntrypointFailed { call, .. }
            | Error::MemoryLimit { call, .. }
            | Error::CpuLimit { call, .. }
            | Error::ProcessLimit { call, .. }
            | Error::QueueFull { call, .. }
            | Error::WorkerLost { call }
            | Error::QueueUnavailable { call, .. } => put_call(call),
            _ => {}
        }
        let mut put_exit = |e: &ExitInfo| {
            obj.insert("exitCode".into(), json!(e.exit_code));
            obj.insert("signal".into(), json!(e.signal));
            obj.insert("stderr".into(), json!(e.stderr));
            obj.insert("stdout".into(), json!(e.stdout));
        };
        match self {
            Error::Timeout { exit, .. }
            | Error::ProcessExited { exit, .. }
            | Error::EntrypointFailed { exit, .. }
            | Error::MemoryLimit { exit, .. }
            | Error::CpuLimit { exit, .. }
            | Error::ProcessLimit { exit, .. } => put_exit(exit),
            _ => {}
        }
        match self {
            Error::ToolFailed { cause, denied_hosts, .. } => {
                obj.insert("cause".into(), json!(cause));
                if !denied_hosts.is_empty() {
                    obj.insert("deniedHosts".into(), json!(denied_hosts));
                }
            }
            Error::InvalidInput { issues, .. } | Error::OutputMismatch { issues, .. } => {
                obj.insert("issues".into(), json!(issues));
            }
            Error::InvalidOutput { .. } => {
                obj.insert("issues".into(), json!([]));
            }
            Error::ToolNotFound { available, .. } => {
                obj.insert("availableTools".into(), json!(available));
            }
            Error::OutputTooLarge { limit, size, .. } => {
                obj.insert("limit".into(), json!(limit));
                obj.insert("size".into(), json!(size));
            }
            Error::Timeout { timeout_ms, started, .. } => {
                obj.insert("timeoutMs".into(), json!(timeout_ms));
                obj.insert("timedOut".into(), json!(true));
                obj.insert("started".into(), json!(started));
            }
            Error::Aborted { reason, started, .. } => {
                obj.insert("reason".into(), json!(reason));
                obj.insert("isCanceled".into(), json!(true));
                obj.insert("started".into(), json!(started));
            }
            Error::EntrypointFailed { entrypoint, stack, message, .. } => {
                obj.insert("entrypoint".into(), json!(entrypoint));
                obj.insert("loadError".into(), json!({ "message": message, "stack": stack }));
            }
            Error::RuntimeUnavailable { runtime, path, .. } => {
                obj.insert("runtime".into(), json!(runtime));
                obj.insert("path".into(), json!(path));
            }
            Error::SandboxUnavailable { missing } => {
                obj.insert("missing".into(), json!(missing));
            }
            Error::MemoryLimit { limit_mb, peak_mb, .. } => {
                obj.insert("limit".into(), json!("memory"));
                obj.insert("limitMb".into(), json!(limit_mb));
                obj.insert("peakMb".into(), json!(peak_mb));
            }
            Error::CpuLimit { limit_ms, .. } => {
                obj.insert("limit".into(), json!("cpu"));
                obj.insert("limitMs".into(), json!(limit_ms));
            }
            Error::ProcessLimit { limit, .. } => {
                obj.insert("limit".into(), json!("processes"));
                obj.insert("maxProcesses".into(), json!(limit));
            }
            Error::QueueFull { max_queue, .. } => {
                obj.insert("maxQueue".into(), json!(max_queue));
            }
            _ => {}
        }
        v
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_serialises_with_class_code_and_message() {
        let call = CallId { tool_id: "greet".into(), tool_exec_id: "x1".into() };
        let e = Error::Timeout { call, timeout_ms: 100, started: true, exit: ExitInfo::default() };
        let v = e.to_json();
        assert_eq!(e.class(), "TimeoutError");
        assert_eq!(v["code"], "ERR_TOOL_TIMEOUT");
        assert_eq!(v["toolId"], "greet");
        assert!(v["message"].as_str().unwrap().contains("timeout of 100 ms"));
    }

    /// The JS layer's code files are generated from [`CODES`]; this fails (and, with
    /// `UPDATE_CODES=1`, rewrites them) when they are out of date.
    #[test]
    fn codes_files_are_generated_and_up_to_date() {
        let lib = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../lib");
        for (name, want) in [("codes.js", codes_js()), ("codes.d.ts", codes_dts())] {
            let path = lib.join(name);
            if std::env::var_os("UPDATE_CODES").is_some() {
                std::fs::write(&path, &want).unwrap();
            }
            let have = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(
                have == want,
                "lib/{name} is out of date: run UPDATE_CODES=1 cargo test -p tool-runtime-core codes"
            );
        }
    }

    #[test]
    fn shared_codes_keep_one_class() {
        for (code, class) in ALSO {
            assert!(CODES.contains(&(code, class)), "{code} must appear in CODES with class {class}");
        }
    }

    #[test]
    fn validation_errors_carry_their_issues() {
        let call = CallId { tool_id: "greet".into(), tool_exec_id: "x1".into() };
        let issues = vec![Issue { path: "/name".into(), message: "must be a string".into() }];
        let v = Error::InvalidInput { call: call.clone(), issues }.to_json();
        assert_eq!(v["code"], "ERR_INVALID_INPUT");
        assert_eq!(v["issues"][0]["path"], "/name");
        assert!(v["message"].as_str().unwrap().contains("/name: must be a string"), "{v}");
        let v = Error::OutputMismatch { call, issues: vec![] }.to_json();
        assert_eq!(v["code"], "ERR_INVALID_OUTPUT");
    }

    #[test]
    fn process_exit_message_names_signal_and_stderr_tail() {
        let exit = ExitInfo {
            exit_code: None,
            signal: Some("SIGSEGV".into()),
            stderr: "warming up\nboom\n".into(),
            stdout: String::new(),
        };
        let e = Error::ProcessExited { call: CallId::default(), exit };
        let m = e.to_string();
        assert!(m.contains("killed by SIGSEGV"), "{m}");
        assert!(m.ends_with(": boom"), "{m}");
    }
}
