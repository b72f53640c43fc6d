//! `listTools()`: the tools' metadata, read from the entrypoint in a sandboxed process like
//! any call (the entrypoint is untrusted code), and cached with the schemas compiled, so a
//! call's input can be checked against its `inputSchema` before its process starts, and each
//! tool's `concurrency` bounds its calls.
//!
//! A runtime lists its tools before it runs the first call of one (and again when the project's
//! files change): calls of tools wait in line until the listing is known (see `admission`), and
//! every call made meanwhile shares the one listing. A listing that fails does not fail the
//! calls: they run without what the listing would have told, and each gets its own error. The
//! same files are listed again after a backoff (`retry_delay`), unless what failed was metadata
//! the host refused.
//!
//! The cache holds while the project's source files are unchanged: a fingerprint of the path,
//! size, mtime and inode of every source file under the project root (outside `node_modules`
//! and hidden folders) and of the entrypoint, taken when the listing is made and compared when
//! it is used.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::sync::watch;

use super::{Inner, Runtime};
use crate::error::{CallId, Error, Issue, Result};
use crate::protocol;
use crate::worker::{Asked, CallError, CancelReason};

/// Files looked at for the fingerprint, at most: a project folder holding more than this is
/// fingerprinted by its first files in directory order.
const MAX_FILES: usize = 20_000;
/// How long a call may go by the fingerprint an earlier call took: a walk of a large project
/// costs milliseconds, too much for every call of a warm worker. A change to the files is seen by
/// calls within this time, and by `listTools()` at once.
const FINGERPRINT_REUSE: Duration = Duration::from_secs(1);
const SOURCE_EXTENSIONS: [&str; 10] = ["ts", "mts", "cts", "tsx", "js", "mjs", "cjs", "jsx", "json", "node"];

/// One tool's compiled schemas.
pub(crate) struct ToolSchemas {
    input: Option<jsonschema::Validator>,
    output: Option<jsonschema::Validator>,
    concurrency: Option<u32>,
}

pub(crate) struct Listing {
    /// The answer of `listTools()`, as JSON text.
    json: String,
    tools: HashMap<String, ToolSchemas>,
    fingerprint: u64,
}

#[derive(Default)]
pub(crate) struct Catalog {
    current: Mutex<Option<Arc<Listing>>>,
    /// One listing at a time: callers that arrive while one runs share its answer.
    listing: tokio::sync::Mutex<()>,
    /// The listing made on behalf of calls.
    for_calls: Mutex<ForCalls>,
    /// The last fingerprint taken, and when.
    last_fingerprint: Mutex<Option<Taken>>,
}

#[derive(Clone, Copy)]
struct Taken {
    /// Which of two walks at once is kept: the later one.
    started: Instant,
    /// Reused from then on for `FINGERPRINT_REUSE` (a walk of a large project may take long).
    finished: Instant,
    fingerprint: u64,
}

#[derive(Default)]
struct ForCalls {
    running: bool,
    /// The last listing made for calls failed. Each call reports the failure itself: an
    /// entrypoint that does not load fails the call as it would have anyway; a `concurrency`
    /// the host cannot honour fails every call of the entrypoint's tools with that message,
    /// rather than running them without the limit they asked for. (A schema the host cannot
    /// use only fails the listing: calls run, unchecked by the host.)
    failed: Option<Failed>,
    /// Listings for calls that failed in a row, for the backoff.
    failures: u32,
}

struct Failed {
    /// The files the listing failed on: a change lists again at once.
    fingerprint: u64,
    metadata: Option<BadMetadata>,
    /// Unchanged files are listed again from then on (an entrypoint whose load failed may have
    /// met a passing fault: a network read at the top level, a timeout); `None` for metadata
    /// the host refused, which the same files declare again.
    retry_at: Option<Instant>,
}

impl Failed {
    fn holds(&self, fingerprint: u64) -> bool {
        self.fingerprint == fingerprint && self.retry_at.is_none_or(|at| Instant::now() < at)
    }
}

/// The wait before unchanged files whose listing failed are listed again: 1 s after the first
/// failure, doubling to a minute. Each retry costs one sandboxed process (up to the call
/// timeout, for a listing that times out), so an entrypoint that keeps failing costs about one a
/// minute, while one that met a passing fault gets its limits and schema checks back soon.
fn retry_delay(failures: u32) -> Duration {
    Duration::from_secs(1u64 << failures.saturating_sub(1).min(6)).min(Duration::from_secs(60))
}

/// A listing made for calls, however it ends (a panic, a task dropped unrun when tokio shuts
/// down): the hold is lifted under the last good listing's limits, then another may start.
struct ListingForCalls(Arc<Inner>);

impl Drop for ListingForCalls {
    fn drop(&mut self) {
        let inner = &self.0;
        let current = inner.catalog.current.lock().unwrap_or_else(|e| e.into_inner()).clone();
        inner.admission.set_limits(current.as_deref().map(limits_of).unwrap_or_default());
        inner.catalog.for_calls.lock().unwrap_or_else(|e| e.into_inner()).running = false;
    }
}

/// The harness's code for a bad `concurrency` (describe.mjs).
const BAD_CONCURRENCY: &str = "TOOL_RUNTIME_BAD_CONCURRENCY";

#[derive(Clone)]
struct BadMetadata {
    message: String,
    stack: Option<String>,
    fails_calls: bool,
}

/// Whether a fingerprint must be taken now (`listTools()`, a new listing), may be a recent one
/// (calls), or is the last one taken however old (a call taking its place in line, on the JS
/// thread, where no walk of the project's folders belongs).
#[derive(Clone, Copy)]
pub(crate) enum Exact {
    Now,
    Recent,
    Known,
}

enum ListingError {
    Metadata(BadMetadata),
    Other(Error),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ToolInfo {
    id: String,
    input_schema: Option<serde_json::Value>,
    output_schema: Option<serde_json::Value>,
    concurrency: Option<u32>,
}

impl Runtime {
    /// The tools of the entrypoint with their metadata, as JSON text of an array
    /// (`[{ id, description?, inputSchema?, outputSchema?, annotations?, concurrency? }]`).
    pub async fn list_tools(&self) -> Result<String> {
        if self.is_closed() {
            return Err(Error::Closed);
        }
        match self.inner.listing(Exact::Now).await {
            Ok(l) => Ok(l.json.clone()),
            Err(ListingError::Other(e)) => Err(e),
            Err(ListingError::Metadata(m)) => Err(self.inner.bad_metadata(m.message, m.stack)),
        }
    }
}

impl Inner {
    /// The fresh listing, made now if there is none; the tools' limits follow it.
    async fn listing(self: &Arc<Self>, exact: Exact) -> std::result::Result<Arc<Listing>, ListingError> {
        let _one = self.catalog.listing.lock().await;
        if let Some(l) = self.fresh_listing(exact) {
            // A call may have held the admission after the listing that made this one lifted
            // it (it saw no listing, then this one landed): lift it again, or it stays held.
            self.admission.set_limits(limits_of(&l));
            return Ok(l);
        }
        let fingerprint = self.fingerprint(Exact::Now);
        let listing = match list_in_process(self).await.and_then(|json| {
            compile(json, fingerprint)
                .map_err(|message| ListingError::Metadata(BadMetadata { message, stack: None, fails_calls: false }))
        }) {
            Ok(l) => Arc::new(l),
            Err(e) => {
                {
                    let mut state = self.catalog.for_calls.lock().unwrap_or_else(|e| e.into_inner());
                    let same_files = state.failed.take().filter(|f| f.fingerprint == fingerprint);
                    state.failures = if same_files.is_some() { state.failures.saturating_add(1) } else { 1 };
                    state.failed = Some(match &e {
                        ListingError::Metadata(m) => {
                            Failed { fingerprint, metadata: m.fails_calls.then(|| m.clone()), retry_at: None }
                        }
                        // A passing failure (a timeout) of the same files keeps the refusal of
                        // metadata they still declare.
                        ListingError::Other(_) => Failed {
                            fingerprint,
                            metadata: same_files.and_then(|f| f.metadata),
                            retry_at: Some(Instant::now() + retry_delay(state.failures)),
                        },
                    });
                }
                // The calls run and report the failure themselves (an entrypoint that does not
                // load, with its file and line; metadata, see `ForCalls::failed`), under the
                // limits of the last listing that worked, if any.
                let previous = self.catalog.current.lock().unwrap_or_else(|e| e.into_inner()).clone();
                self.admission.set_limits(previous.as_deref().map(limits_of).unwrap_or_default());
                return Err(e);
            }
        };
        {
            let mut state = self.catalog.for_calls.lock().unwrap_or_else(|e| e.into_inner());
            state.failed = None;
            state.failures = 0;
        }
        *self.catalog.current.lock().unwrap_or_else(|e| e.into_inner()) = Some(listing.clone());
        self.admission.set_limits(limits_of(&listing));
        Ok(listing)
    }

    /// Before a call of a tool waits for its slot: when the project has no fresh listing, one
    /// is started (unless one runs already) and calls of tools are held until it is known.
    /// Called where a call takes its place in line (`Exact::Known`: a listing due by what is
    /// known, such as a failed one's retry, holds this very call, which would otherwise run
    /// without the limits the listing brings), and again before it waits (`Exact::Recent`: the
    /// files may have changed since).
    pub(crate) fn prepare_call(self: &Arc<Self>, exact: Exact) {
        if self.fresh_listing(exact).is_some() {
            return;
        }
        // Taken before the lock (a walk, for `Exact::Recent`, holds no lock a call waits on);
        // after a failure a fingerprint is known, so `Exact::Known` does not walk.
        let failed = self.catalog.for_calls.lock().unwrap_or_else(|e| e.into_inner()).failed.is_some();
        let fp = failed.then(|| self.fingerprint(exact));
        {
            let mut state = self.catalog.for_calls.lock().unwrap_or_else(|e| e.into_inner());
            let held_off = match (&state.failed, fp) {
                (Some(f), Some(fp)) => f.holds(fp),
                // A failure recorded meanwhile (by `listTools()`) starts its own backoff.
                (Some(_), None) => true,
                (None, _) => false,
            };
            if state.running || held_off {
                return;
            }
            state.running = true;
        }
        self.admission.hold();
        let task = ListingForCalls(self.clone());
        self.tracker.spawn_on(
            async move {
                let _ = task.0.listing(Exact::Recent).await;
                drop(task);
            },
            &self.tokio,
        );
    }

    /// Metadata the entrypoint declares that cannot be used: the entrypoint's fault, named.
    fn bad_metadata(&self, message: String, stack: Option<String>) -> Error {
        Error::EntrypointFailed {
            call: CallId { tool_id: "listTools".into(), tool_exec_id: String::new() },
            entrypoint: self.entrypoint.display().to_string(),
            message,
            stack,
            exit: Default::default(),
        }
    }

    /// What a call that has its slot goes by: the listing while the project's files are
    /// unchanged, or the refusal of metadata the host cannot honour.
    pub(crate) fn listing_for_call(&self, call: &CallId) -> Result<Option<Arc<Listing>>> {
        let fp = self.fingerprint(Exact::Recent);
        let current = self.catalog.current.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if let Some(l) = current.filter(|l| l.fingerprint == fp) {
            return Ok(Some(l));
        }
        let state = self.catalog.for_calls.lock().unwrap_or_else(|e| e.into_inner());
        match &state.failed {
            Some(Failed { fingerprint, metadata: Some(m), .. }) if *fingerprint == fp => Err(Error::EntrypointFailed {
                call: call.clone(),
                entrypoint: self.entrypoint.display().to_string(),
                message: m.message.clone(),
                stack: m.stack.clone(),
                exit: Default::default(),
            }),
            _ => Ok(None),
        }
    }

    /// The cached listing while the project's files are unchanged.
    fn fresh_listing(&self, exact: Exact) -> Option<Arc<Listing>> {
        let current = self.catalog.current.lock().unwrap_or_else(|e| e.into_inner()).clone()?;
        (current.fingerprint == self.fingerprint(exact)).then_some(current)
    }

    /// The project's fingerprint: taken now, or for a call, the one taken within
    /// `FINGERPRINT_REUSE`, or the last one taken (taken now only if there is none).
    fn fingerprint(&self, exact: Exact) -> u64 {
        let last = *self.catalog.last_fingerprint.lock().unwrap_or_else(|e| e.into_inner());
        match (exact, last) {
            (Exact::Known, Some(t)) => return t.fingerprint,
            (Exact::Recent, Some(t)) if t.finished.elapsed() < FINGERPRINT_REUSE => return t.fingerprint,
            _ => {}
        }
        // The walk holds no lock: a call taking its place in line (on the JS thread) never
        // waits for it. Of two walks at once, the one that started later is kept.
        let started = Instant::now();
        let fp = fingerprint(&self.project_root, &self.entrypoint);
        let mut last = self.catalog.last_fingerprint.lock().unwrap_or_else(|e| e.into_inner());
        if last.is_none_or(|t| t.started <= started) {
            *last = Some(Taken { started, finished: Instant::now(), fingerprint: fp });
        }
        fp
    }

    /// Checks a call's input against the tool's `inputSchema` when the listing knows it.
    pub(crate) fn check_input(listing: Option<&Listing>, call: &CallId, input: &str) -> Result<()> {
        let Some(listing) = listing else { return Ok(()) };
        let Some(validator) = listing.tools.get(&call.tool_id).and_then(|t| t.input.as_ref()) else { return Ok(()) };
        let value: serde_json::Value =
            serde_json::from_str(input).map_err(|e| Error::invalid_argument(format!("input is not JSON: {e}")))?;
        let issues = issues(validator, &value);
        if issues.is_empty() {
            return Ok(());
        }
        Err(Error::InvalidInput { call: call.clone(), issues })
    }

    /// A failure the process reported that contradicts the listing: the harness never says a
    /// listed tool is not found, nor that a tool with no `inputSchema` (so no Standard Schema)
    /// refused its input. A tool that learned its call's nonce could, to pass its own failure
    /// off as the host's or the caller's: that is garbage on the result channel.
    pub(crate) fn vet_failure(listing: Option<&Listing>, e: Error) -> Error {
        let (call, contradicts): (&CallId, fn(&ToolSchemas) -> bool) = match &e {
            Error::ToolNotFound { call, .. } => (call, |_| true),
            Error::InvalidInput { call, .. } => (call, |t| t.input.is_none()),
            _ => return e,
        };
        let Some(listing) = listing else { return e };
        match listing.tools.get(&call.tool_id) {
            Some(t) if contradicts(t) => Error::InvalidOutput {
                call: call.clone(),
                reason: format!("garbage on the result channel: a {} answer the harness does not give", e.code()),
            },
            _ => e,
        }
    }

    /// Checks a tool's result (`wrapped`: a non-object the caller receives as `{ value }`)
    /// against its `outputSchema` when the listing knows it.
    pub(crate) fn check_output(listing: Option<&Listing>, call: &CallId, output: &str, wrapped: bool) -> Result<()> {
        let Some(listing) = listing else { return Ok(()) };
        let Some(validator) = listing.tools.get(&call.tool_id).and_then(|t| t.output.as_ref()) else { return Ok(()) };
        let mut value: serde_json::Value = serde_json::from_str(output)
            .map_err(|e| Error::InvalidOutput { call: call.clone(), reason: format!("not JSON: {e}") })?;
        if wrapped {
            value = value.get_mut("value").map(std::mem::take).unwrap_or(serde_json::Value::Null);
        }
        let issues = issues(validator, &value);
        if issues.is_empty() {
            return Ok(());
        }
        Err(Error::OutputMismatch { call: call.clone(), issues })
    }
}

/// The `concurrency` of each tool that declares one.
fn limits_of(listing: &Listing) -> HashMap<String, usize> {
    listing.tools.iter().filter_map(|(id, t)| Some((id.clone(), t.concurrency? as usize))).collect()
}

fn issues(validator: &jsonschema::Validator, value: &serde_json::Value) -> Vec<Issue> {
    validator
        .iter_errors(value)
        .map(|e| Issue { path: e.instance_path().to_string(), message: e.to_string() })
        .collect()
}

/// Runs the entrypoint in a sandboxed process, as a call would, and asks the harness for the
/// metadata. Admitted like a call (it waits for a slot) and bounded by the runtime's timeout.
async fn list_in_process(inner: &Arc<Inner>) -> std::result::Result<String, ListingError> {
    list_process(inner).await.map_err(|e| match e {
        // The harness could not describe a tool (a schema it cannot convert, a bad concurrency).
        Error::ToolFailed { cause, .. } => ListingError::Metadata(BadMetadata {
            message: format!("{}: {}", cause.name, cause.message),
            stack: cause.stack,
            fails_calls: cause.code.as_deref() == Some(BAD_CONCURRENCY),
        }),
        e => ListingError::Other(e),
    })
}

async fn list_process(inner: &Arc<Inner>) -> Result<String> {
    let call = CallId { tool_id: "listTools".into(), tool_exec_id: crate::ids::new_id() };
    let timeout_ms = inner.config.tool_execution_timeout_ms;
    let ticket = inner
        .admission
        .admit(None)
        .map_err(|full| Error::QueueFull { call: call.clone(), max_queue: full.max_queue as u64 })?;
    let deadline = tokio::time::Instant::now() + Duration::from_millis(timeout_ms);
    let timeout = || Error::Timeout { call: call.clone(), timeout_ms, started: false, exit: Default::default() };
    let _permit = tokio::select! {
        // Closed first: no listing process starts after `close()`, slot or not.
        biased;
        _ = inner.close_token.cancelled() => return Err(Error::Closed),
        p = ticket.ready() => p,
        _ = tokio::time::sleep_until(deadline) => return Err(timeout()),
    };
    if !inner.entrypoint.is_file() {
        return Err(Error::EntrypointFailed {
            call,
            entrypoint: inner.entrypoint.display().to_string(),
            message: format!("cannot find the entrypoint {}", inner.entrypoint.display()),
            stack: None,
            exit: Default::default(),
        });
    }
    let mut worker = match inner.spawn_worker(&Default::default(), inner.default_limits()) {
        Ok(w) => w,
        Err(CallError::Final(e)) => return Err(e),
        Err(CallError::Start(_)) => return Err(Error::internal("the listing process could not start")),
    };
    let nonce = protocol::new_nonce();
    worker.begin_call(Arc::new(AtomicBool::new(false)), false, false, &nonce);
    worker.set_asked(Asked::Listing);
    worker.send(&protocol::encode_list(&nonce));
    let (_cancel_tx, mut cancel_rx) = watch::channel(None::<CancelReason>);
    let outcome = tokio::select! {
        r = worker.run(&call, &mut cancel_rx) => r,
        _ = tokio::time::sleep_until(deadline) => Err(CallError::Final(timeout())),
        _ = inner.close_token.cancelled() => Err(CallError::Final(Error::Closed)),
    };
    inner.tracker.spawn(worker.shutdown());
    match outcome {
        Ok(json) => Ok(json),
        Err(CallError::Final(e)) => Err(e),
        Err(CallError::Start(_)) => Err(Error::internal("the listing process exited before it started")),
    }
}

/// Parses the harness's answer and compiles each schema; a schema the validator refuses is an
/// error naming the tool.
fn compile(json: String, fingerprint: u64) -> std::result::Result<Listing, String> {
    let infos: Vec<ToolInfo> =
        serde_json::from_str(&json).map_err(|e| format!("the tool listing is not what the harness sends: {e}"))?;
    let mut tools = HashMap::new();
    for info in infos {
        let compile_one = |field: &str, schema: &Option<serde_json::Value>| {
            schema
                .as_ref()
                .map(|s| {
                    jsonschema::validator_for(s)
                        .map_err(|e| format!("tool {}: its {field} is not a usable JSON Schema: {e}", info.id))
                })
                .transpose()
        };
        let schemas = ToolSchemas {
            input: compile_one("inputSchema", &info.input_schema)?,
            output: compile_one("outputSchema", &info.output_schema)?,
            concurrency: match info.concurrency {
                Some(0) => return Err(format!("tool {}: concurrency must be a positive integer, got 0", info.id)),
                c => c,
            },
        };
        tools.insert(info.id.clone(), schemas);
    }
    Ok(Listing { json, tools, fingerprint })
}

/// A hash of what identifies the project's source files as they are now.
fn fingerprint(root: &Path, entrypoint: &Path) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    stat_into(entrypoint, &mut h);
    let mut seen = 0usize;
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            if seen >= MAX_FILES {
                return h.finish();
            }
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let Ok(kind) = entry.file_type() else { continue };
            if kind.is_dir() {
                if !name.starts_with('.') && name != "node_modules" {
                    stack.push(entry.path());
                }
            } else if Path::new(&*name)
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| SOURCE_EXTENSIONS.contains(&e))
            {
                seen += 1;
                stat_into(&entry.path(), &mut h);
            }
        }
    }
    h.finish()
}

fn stat_into(path: &Path, h: &mut impl Hasher) {
    path.hash(h);
    if let Ok(m) = std::fs::metadata(path) {
        (m.len(), m.mtime(), m.mtime_nsec(), m.ino()).hash(h);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_source_file_changes_the_fingerprint() {
        let dir = tempfile::tempdir().unwrap();
        let entry = dir.path().join("tools.ts");
        std::fs::write(&entry, "export const a = 1;").unwrap();
        std::fs::create_dir(dir.path().join("lib")).unwrap();
        std::fs::write(dir.path().join("lib/dep.ts"), "export const b = 1;").unwrap();
        let before = fingerprint(dir.path(), &entry);
        assert_eq!(before, fingerprint(dir.path(), &entry));
        std::fs::write(dir.path().join("lib/dep.ts"), "export const b = 22;").unwrap();
        let after = fingerprint(dir.path(), &entry);
        assert_ne!(before, after);
        // Files that are not sources, and node_modules, leave it alone.
        std::fs::write(dir.path().join("notes.txt"), "x").unwrap();
        std::fs::create_dir(dir.path().join("node_modules")).unwrap();
        std::fs::write(dir.path().join("node_modules/x.js"), "x").unwrap();
        assert_eq!(after, fingerprint(dir.path(), &entry));
    }

    #[test]
    fn a_failed_listing_is_retried_after_a_growing_wait() {
        let waits: Vec<u64> = (1..=9).map(|n| retry_delay(n).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(retry_delay(u32::MAX), Duration::from_secs(60));
    }

    #[test]
    fn issues_are_json_pointers() {
        let schema = serde_json::json!({
            "type": "object",
            "properties": { "user": { "type": "object", "properties": { "a/b": { "type": "string" } } } },
            "required": ["user"]
        });
        let v = jsonschema::validator_for(&schema).unwrap();
        let found = issues(&v, &serde_json::json!({ "user": { "a/b": 3 } }));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].path, "/user/a~1b");
        assert!(issues(&v, &serde_json::json!({ "user": {} })).is_empty());
        assert_eq!(issues(&v, &serde_json::json!({})).len(), 1);
    }
}
