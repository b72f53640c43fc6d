//! Runtime configuration: defaults, the test preset, partial configs from JS or an app config,
//! and the `COMPOZY_*` environment variables. Durations are whole milliseconds throughout.
//!
//! Over 500 lines because of its tests (field paths in errors, presets, env variables).

use std::collections::HashMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::duration::parse_go_duration_ms;
use crate::error::{Error, Result};

pub const RUNTIME_TYPE_BUN: &str = "bun";
pub const RUNTIME_TYPE_NODE: &str = "node";
pub const RUNTIME_TYPE_DENO: &str = "deno";
pub const SUPPORTED_RUNTIME_TYPES: [&str; 3] = [RUNTIME_TYPE_BUN, RUNTIME_TYPE_NODE, RUNTIME_TYPE_DENO];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", try_from = "String")]
pub enum RuntimeType {
    Bun,
    Node,
    Deno,
}

impl RuntimeType {
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            RUNTIME_TYPE_BUN => Ok(RuntimeType::Bun),
            RUNTIME_TYPE_NODE => Ok(RuntimeType::Node),
            RUNTIME_TYPE_DENO => Ok(RuntimeType::Deno),
            other => Err(Error::invalid_config(format!(
                "runtimeType: unsupported runtime type {other:?}; supported types are: {}",
                SUPPORTED_RUNTIME_TYPES.join(", ")
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RuntimeType::Bun => RUNTIME_TYPE_BUN,
            RuntimeType::Node => RUNTIME_TYPE_NODE,
            RuntimeType::Deno => RUNTIME_TYPE_DENO,
        }
    }
}

/// Exactly `bun`, `node` or `deno`, case-sensitive.
pub fn is_valid_runtime_type(s: &str) -> bool {
    SUPPORTED_RUNTIME_TYPES.contains(&s)
}

/// How hard the kernel sandbox is required.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", try_from = "String")]
pub enum SandboxMode {
    /// Every mechanism the policy needs must be available, or `createRuntime` fails.
    Strict,
    /// Enforce what the machine offers and report the rest.
    BestEffort,
    /// No kernel confinement at all (the environment is still cleaned).
    Off,
}

impl SandboxMode {
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "strict" => Ok(SandboxMode::Strict),
            "best-effort" => Ok(SandboxMode::BestEffort),
            "off" => Ok(SandboxMode::Off),
            other => Err(Error::invalid_config(format!(
                "sandbox: unsupported sandbox mode {other:?}; use \"strict\", \"best-effort\" or \"off\""
            ))),
        }
    }
}

/// Serde reports these with the field's path in front: keep only the explanation.
fn without_field(e: Error) -> String {
    match e {
        Error::InvalidConfig { message } => message.split_once(": ").map(|(_, m)| m.to_string()).unwrap_or(message),
        other => other.to_string(),
    }
}

impl TryFrom<String> for RuntimeType {
    type Error = String;
    fn try_from(s: String) -> std::result::Result<Self, String> {
        RuntimeType::parse(&s).map_err(without_field)
    }
}

impl TryFrom<String> for SandboxMode {
    type Error = String;
    fn try_from(s: String) -> std::result::Result<Self, String> {
        SandboxMode::parse(&s).map_err(without_field)
    }
}

/// A complete runtime configuration: the camelCase object JS users see, and the only place its
/// fields are declared. Fields left out take their value from [`RuntimeConfig::default`]
/// (or from the config a [`ConfigPatch`] is applied to); unknown fields are refused, so a
/// typo is never silently ignored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct RuntimeConfig {
    pub runtime_type: RuntimeType,
    pub entrypoint_path: String,
    pub tool_execution_timeout_ms: u64,
    pub worker_file_perm: u32,
    pub bun_permissions: Vec<String>,
    /// Deno-style permission flags for every runtime type; `None` means "use `bunPermissions`".
    pub permissions: Option<Vec<String>>,
    pub node_options: Vec<String>,
    pub backoff_initial_interval_ms: u64,
    pub backoff_max_interval_ms: u64,
    pub backoff_max_elapsed_time_ms: u64,
    pub environment: String,
    pub max_output_bytes: u64,
    pub max_stderr_bytes: u64,
    /// An empty string means none.
    #[serde(deserialize_with = "non_empty_path")]
    pub runtime_path: Option<PathBuf>,
    pub sandbox: SandboxMode,
    /// Time between SIGTERM and SIGKILL when a call is timed out or aborted.
    pub kill_grace_ms: u64,
    /// Memory of a call's whole process tree, in MB.
    pub memory_limit_mb: Option<u64>,
    /// CPU time of a call's whole process tree, in ms (separate from the wall-clock timeout).
    pub cpu_time_limit_ms: Option<u64>,
    /// Processes a call's tree may hold at once (the runtime itself included).
    pub max_processes: Option<u64>,
    /// Largest file a tool may write, in MB.
    pub max_file_size_mb: Option<u64>,
    /// Size of a call's private temp dir (a tmpfs), in MB: its files are memory.
    pub max_temp_mb: u64,
    /// Calls running at once; more wait in a FIFO queue.
    pub max_concurrency: u32,
    /// Calls waiting at most; more reject at once with `ERR_QUEUE_FULL`. `None`: unbounded.
    pub max_queue: Option<u32>,
    /// Warm workers; `None` (or `false`) starts a fresh process per call; `true` takes the
    /// pool's defaults.
    #[serde(deserialize_with = "pool_or_bool")]
    pub pool: Option<PoolConfig>,
    /// Fixed name resolution for the egress proxy (`--allow-net=HOSTS`), like a hosts file:
    /// `{ "api.internal": ["10.0.0.5"] }`. Names not listed resolve through the system.
    pub net_hosts: std::collections::BTreeMap<String, Vec<String>>,
    /// Host function calls one tool call may have running at once (the harness queues the rest).
    pub max_host_calls_in_flight: u32,
    /// Host function calls one tool call may make in total.
    pub max_host_calls: u32,
}

/// Warm, sandboxed workers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct PoolConfig {
    /// Workers kept started and waiting.
    pub min_idle: u32,
    /// Workers alive at once, idle and busy. Left out (or 0): `maxConcurrency + minIdle`.
    pub max_workers: u32,
    /// Idle workers above `minIdle` exit after this long.
    pub idle_timeout_ms: u64,
    /// Serve many calls per worker (module state survives between calls); `None`: one call
    /// per worker.
    pub reuse: Option<ReuseConfig>,
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig { min_idle: 2, max_workers: 0, idle_timeout_ms: 30_000, reuse: None }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct ReuseConfig {
    pub max_calls_per_worker: u32,
    pub max_rss_mb: u64,
}

impl Default for ReuseConfig {
    fn default() -> Self {
        ReuseConfig { max_calls_per_worker: 100, max_rss_mb: 512 }
    }
}

pub fn default_concurrency() -> u32 {
    std::thread::available_parallelism().map(|n| n.get() as u32).unwrap_or(2)
}

/// `pool`: an object, `true` for the defaults, `false` or `null` for none. A visitor rather
/// than an untagged enum, so an error inside the object keeps its path (`pool.reuse.maxRssMb`).
fn pool_or_bool<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Option<PoolConfig>, D::Error> {
    struct V;
    impl<'de> serde::de::Visitor<'de> for V {
        type Value = Option<PoolConfig>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an object, a boolean or null")
        }
        fn visit_bool<E>(self, b: bool) -> std::result::Result<Self::Value, E> {
            Ok(b.then(PoolConfig::default))
        }
        fn visit_unit<E>(self) -> std::result::Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E>(self) -> std::result::Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> std::result::Result<Self::Value, A::Error> {
            PoolConfig::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(Some)
        }
    }
    d.deserialize_any(V)
}

fn non_empty_path<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Option<PathBuf>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.filter(|p| !p.is_empty()).map(PathBuf::from))
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            runtime_type: RuntimeType::Bun,
            entrypoint_path: "./tools.ts".into(),
            tool_execution_timeout_ms: 60_000,
            worker_file_perm: 0o600,
            bun_permissions: vec!["--allow-read".into()],
            permissions: None,
            node_options: Vec::new(),
            backoff_initial_interval_ms: 100,
            backoff_max_interval_ms: 5_000,
            backoff_max_elapsed_time_ms: 30_000,
            environment: "production".into(),
            max_output_bytes: 10 * 1024 * 1024,
            max_stderr_bytes: 1024 * 1024,
            runtime_path: None,
            sandbox: SandboxMode::Strict,
            kill_grace_ms: 500,
            memory_limit_mb: None,
            cpu_time_limit_ms: None,
            max_processes: None,
            max_file_size_mb: None,
            max_temp_mb: 64,
            max_concurrency: default_concurrency(),
            max_queue: None,
            pool: None,
            net_hosts: Default::default(),
            max_host_calls_in_flight: 64,
            max_host_calls: 10_000,
        }
    }
}

impl RuntimeConfig {
    /// The seed's test preset: short timeout and fast backoff.
    pub fn test() -> Self {
        RuntimeConfig {
            tool_execution_timeout_ms: 5_000,
            backoff_initial_interval_ms: 10,
            backoff_max_interval_ms: 100,
            backoff_max_elapsed_time_ms: 1_000,
            environment: "testing".into(),
            ..RuntimeConfig::default()
        }
    }

    /// The permission flags in force: `permissions` when given, else the seed's `bunPermissions`.
    pub fn effective_permissions(&self) -> &[String] {
        self.permissions.as_deref().unwrap_or(&self.bun_permissions)
    }

    /// Applies the fields present in `patch` on top of `self`, fills in the defaults that
    /// depend on other fields, and validates the result. Errors name the field's path.
    pub fn apply(self, patch: ConfigPatch) -> Result<Self> {
        let serde_json::Value::Object(mut merged) = serde_json::to_value(&self).expect("config serialises") else {
            unreachable!("a config serialises to an object")
        };
        merged.extend(patch.0);
        let mut c: RuntimeConfig = serde_path_to_error::deserialize(serde_json::Value::Object(merged))
            .map_err(|e| Error::invalid_config(format!("{}: {}", e.path(), e.inner())))?;
        if let Some(p) = &mut c.pool {
            if p.max_workers == 0 {
                p.max_workers = c.max_concurrency.saturating_add(p.min_idle);
            }
        }
        c.validate()?;
        Ok(c)
    }

    /// Checks values that are well-typed but make no sense.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::invalid_config(m));
        if self.entrypoint_path.trim().is_empty() {
            return bad("entrypointPath must not be empty".into());
        }
        if self.entrypoint_path.contains('\0') {
            return bad("entrypointPath must not contain NUL".into());
        }
        if self.tool_execution_timeout_ms == 0 {
            return bad("toolExecutionTimeoutMs must be greater than 0".into());
        }
        if self.worker_file_perm > 0o777 {
            return bad(format!("workerFilePerm {:#o} is not a file mode (0 to 0o777)", self.worker_file_perm));
        }
        if self.worker_file_perm & 0o400 == 0 {
            return bad(format!(
                "workerFilePerm {:#o} does not let the owner read the worker harness",
                self.worker_file_perm
            ));
        }
        if self.backoff_initial_interval_ms == 0 {
            return bad("backoffInitialIntervalMs must be greater than 0".into());
        }
        if self.backoff_max_interval_ms < self.backoff_initial_interval_ms {
            return bad(format!(
                "backoffMaxIntervalMs ({}) is smaller than backoffInitialIntervalMs ({})",
                self.backoff_max_interval_ms, self.backoff_initial_interval_ms
            ));
        }
        if self.max_output_bytes == 0 {
            return bad("maxOutputBytes must be greater than 0".into());
        }
        for opt in &self.node_options {
            if !opt.starts_with('-') || opt.contains('\0') {
                return bad(format!("nodeOptions entry {opt:?} is not a flag"));
            }
        }
        for (name, v) in [
            ("memoryLimitMb", self.memory_limit_mb),
            ("cpuTimeLimitMs", self.cpu_time_limit_ms),
            ("maxProcesses", self.max_processes),
            ("maxFileSizeMb", self.max_file_size_mb),
        ] {
            if v == Some(0) {
                return bad(format!("{name} must be greater than 0 (leave it out for no limit)"));
            }
        }
        if let Some(mb) = self.memory_limit_mb {
            if mb < 32 {
                return bad(format!("memoryLimitMb {mb} is below the 32 MB a runtime needs to start"));
            }
        }
        if self.max_temp_mb == 0 {
            return bad("maxTempMb must be greater than 0".into());
        }
        if self.max_host_calls_in_flight == 0 || self.max_host_calls == 0 {
            return bad("maxHostCallsInFlight and maxHostCalls must be at least 1".into());
        }
        if self.max_concurrency == 0 {
            return bad("maxConcurrency must be at least 1".into());
        }
        if let Some(p) = &self.pool {
            if p.max_workers == 0 || p.min_idle > p.max_workers {
                return bad(format!(
                    "pool: minIdle ({}) must not exceed maxWorkers ({}), which must be at least 1",
                    p.min_idle, p.max_workers
                ));
            }
            if let Some(r) = &p.reuse {
                if r.max_calls_per_worker == 0 || r.max_rss_mb == 0 {
                    return bad("pool.reuse: maxCallsPerWorker and maxRssMb must be greater than 0".into());
                }
            }
        }
        for (name, addrs) in &self.net_hosts {
            if name.is_empty() || addrs.is_empty() {
                return bad(format!("netHosts: {name:?} needs a name and at least one address"));
            }
            for a in addrs {
                if a.parse::<std::net::IpAddr>().is_err() {
                    return bad(format!("netHosts: {a:?} (for {name}) is not an IP address"));
                }
            }
        }
        crate::policy::Policy::parse(self.effective_permissions())?;
        Ok(())
    }
}

/// A partial configuration: the fields of [`RuntimeConfig`] it sets, as JSON. Explicit `null`
/// means "not given", as JS users expect; names and types are checked when it is applied.
#[derive(Debug, Clone, Default)]
pub struct ConfigPatch(serde_json::Map<String, serde_json::Value>);

impl ConfigPatch {
    /// Reads a partial config from a JSON object (or `null`).
    pub fn from_json(value: serde_json::Value) -> Result<Self> {
        match value {
            serde_json::Value::Null => Ok(ConfigPatch::default()),
            serde_json::Value::Object(m) => Ok(ConfigPatch(m.into_iter().filter(|(_, v)| !v.is_null()).collect())),
            _ => Err(Error::invalid_config("config must be an object")),
        }
    }

    /// The runtime fields of an application config. Unlike [`ConfigPatch::from_json`], keys that
    /// are not runtime fields are ignored: an app config holds much more than the runtime's part.
    pub fn from_app_config(value: serde_json::Value) -> Result<Self> {
        if !value.is_object() {
            return Err(Error::invalid_config("app config must be an object"));
        }
        let mut patch = Self::from_json(value)?;
        let fields = serde_json::to_value(RuntimeConfig::default()).expect("config serialises");
        patch.0.retain(|k, _| fields.get(k).is_some());
        Ok(patch)
    }

    /// Sets one field (camelCase name) to a JSON value.
    pub fn set(&mut self, field: &str, value: impl Into<serde_json::Value>) {
        self.0.insert(field.to_string(), value.into());
    }

    fn get_str(&self, field: &str) -> Option<&str> {
        self.0.get(field).and_then(|v| v.as_str())
    }
}

/// `fromAppConfig`: the test preset when the app runs in `testing`, the defaults otherwise, with
/// the app's runtime fields on top.
pub fn from_app_config(app: serde_json::Value) -> Result<RuntimeConfig> {
    let patch = ConfigPatch::from_app_config(app)?;
    let base = match patch.get_str("environment") {
        Some("testing") | Some("test") => RuntimeConfig::test(),
        _ => RuntimeConfig::default(),
    };
    base.apply(patch)
}

/// Splits a comma-separated flag list where a piece that does not start with `-` continues the
/// previous flag's value: `--allow-read,--allow-net=a.com,b.com` is two flags.
pub fn split_flag_list(var: &str, raw: &str) -> Result<Vec<String>> {
    let mut flags: Vec<String> = Vec::new();
    if raw.trim().is_empty() {
        return Ok(flags);
    }
    for piece in raw.split(',') {
        let piece = piece.trim();
        if piece.starts_with('-') {
            flags.push(piece.to_string());
        } else if let Some(last) = flags.last_mut() {
            if piece.is_empty() || !last.contains('=') {
                return Err(Error::invalid_config(format!(
                    "{var}: {piece:?} does not start with -- and does not continue a flag value (in {raw:?})"
                )));
            }
            last.push(',');
            last.push_str(piece);
        } else {
            return Err(Error::invalid_config(format!(
                "{var}: the first entry {piece:?} is not a flag (flags start with --)"
            )));
        }
    }
    Ok(flags)
}

/// `configFromEnv`: the defaults with every `COMPOZY_*` variable that is set applied on top.
/// A malformed value is an error naming the variable.
pub fn config_from_env(env: &HashMap<String, String>) -> Result<RuntimeConfig> {
    let mut patch = ConfigPatch::default();
    let get = |k: &str| env.get(k).map(|s| s.as_str()).filter(|s| !s.trim().is_empty());
    let dur = |k: &str| -> Result<Option<u64>> {
        match get(k) {
            None => Ok(None),
            Some(v) => parse_go_duration_ms(v).map(Some).map_err(|e| Error::invalid_config(format!("{k}: {e}"))),
        }
    };
    if let Some(t) = get("COMPOZY_RUNTIME_TYPE") {
        RuntimeType::parse(t.trim())
            .map_err(|e| Error::invalid_config(format!("COMPOZY_RUNTIME_TYPE: {}", without_field(e))))?;
        patch.set("runtimeType", t.trim());
    }
    if let Some(e) = get("COMPOZY_ENTRYPOINT") {
        patch.set("entrypointPath", e.trim());
    }
    if let Some(ms) = dur("COMPOZY_TOOL_TIMEOUT")? {
        if ms == 0 {
            return Err(Error::invalid_config("COMPOZY_TOOL_TIMEOUT: must be greater than 0"));
        }
        patch.set("toolExecutionTimeoutMs", ms);
    }
    if let Some(v) = get("COMPOZY_BUN_PERMISSIONS") {
        let flags = split_flag_list("COMPOZY_BUN_PERMISSIONS", v)?;
        crate::policy::Policy::parse(&flags)
            .map_err(|e| Error::invalid_config(format!("COMPOZY_BUN_PERMISSIONS: {e}")))?;
        patch.set("bunPermissions", flags);
    }
    if let Some(v) = get("COMPOZY_NODE_OPTIONS") {
        patch.set("nodeOptions", split_flag_list("COMPOZY_NODE_OPTIONS", v)?);
    }
    for (var, field) in [
        ("COMPOZY_BACKOFF_INITIAL_INTERVAL", "backoffInitialIntervalMs"),
        ("COMPOZY_BACKOFF_MAX_INTERVAL", "backoffMaxIntervalMs"),
        ("COMPOZY_BACKOFF_MAX_ELAPSED_TIME", "backoffMaxElapsedTimeMs"),
    ] {
        if let Some(ms) = dur(var)? {
            patch.set(field, ms);
        }
    }
    RuntimeConfig::default().apply(patch)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn defaults_match_the_seed() {
        let c = RuntimeConfig::default();
        assert_eq!(c.runtime_type, RuntimeType::Bun);
        assert_eq!(c.entrypoint_path, "./tools.ts");
        assert_eq!(c.tool_execution_timeout_ms, 60_000);
        assert_eq!(
            (c.backoff_initial_interval_ms, c.backoff_max_interval_ms, c.backoff_max_elapsed_time_ms),
            (100, 5_000, 30_000)
        );
        assert_eq!(c.worker_file_perm, 0o600);
        assert_eq!(c.bun_permissions, vec!["--allow-read"]);
        assert_eq!(c.environment, "production");
        assert_eq!(c.max_output_bytes, 10 * 1024 * 1024);
        assert_eq!(c.max_stderr_bytes, 1024 * 1024);
        let t = RuntimeConfig::test();
        assert_eq!(t.tool_execution_timeout_ms, 5_000);
        assert_eq!(t.environment, "testing");
    }

    #[test]
    fn env_variables_all_apply() {
        let c = config_from_env(&env(&[
            ("COMPOZY_RUNTIME_TYPE", "node"),
            ("COMPOZY_ENTRYPOINT", "./src/tools.js"),
            ("COMPOZY_TOOL_TIMEOUT", "1m30s"),
            ("COMPOZY_BUN_PERMISSIONS", "--allow-read,--allow-env=A,B"),
            ("COMPOZY_NODE_OPTIONS", "--max-old-space-size=256,--no-warnings"),
            ("COMPOZY_BACKOFF_INITIAL_INTERVAL", "50ms"),
            ("COMPOZY_BACKOFF_MAX_INTERVAL", "2s"),
            ("COMPOZY_BACKOFF_MAX_ELAPSED_TIME", "10s"),
        ]))
        .unwrap();
        assert_eq!(c.runtime_type, RuntimeType::Node);
        assert_eq!(c.entrypoint_path, "./src/tools.js");
        assert_eq!(c.tool_execution_timeout_ms, 90_000);
        assert_eq!(c.bun_permissions, vec!["--allow-read", "--allow-env=A,B"]);
        assert_eq!(c.node_options, vec!["--max-old-space-size=256", "--no-warnings"]);
        assert_eq!(c.backoff_initial_interval_ms, 50);
        assert_eq!(c.backoff_max_interval_ms, 2_000);
        assert_eq!(c.backoff_max_elapsed_time_ms, 10_000);
    }

    #[test]
    fn malformed_env_values_name_the_variable() {
        for (k, v) in [
            ("COMPOZY_TOOL_TIMEOUT", "30"),
            ("COMPOZY_RUNTIME_TYPE", "quickjs"),
            ("COMPOZY_BACKOFF_MAX_INTERVAL", "fast"),
            ("COMPOZY_BUN_PERMISSIONS", "allow-read"),
            ("COMPOZY_BUN_PERMISSIONS", "--allow-teleport"),
            ("COMPOZY_NODE_OPTIONS", "max-old-space-size=1"),
        ] {
            let err = config_from_env(&env(&[(k, v)])).unwrap_err();
            assert_eq!(err.code(), "ERR_INVALID_CONFIG");
            assert!(err.to_string().contains(k), "{k}={v}: {err}");
        }
    }

    #[test]
    fn flag_lists_join_continuations() {
        let f = split_flag_list("X", "--allow-read,--allow-net=a.com,b.com,--allow-env").unwrap();
        assert_eq!(f, vec!["--allow-read", "--allow-net=a.com,b.com", "--allow-env"]);
        assert!(split_flag_list("X", "--allow-read,b.com").is_err());
    }

    #[test]
    fn patches_refuse_unknown_fields_and_bad_types() {
        let apply = |v: serde_json::Value| RuntimeConfig::default().apply(ConfigPatch::from_json(v).unwrap());
        let e = apply(serde_json::json!({"runtimeTipe": "bun"})).unwrap_err();
        assert!(e.to_string().contains("runtimeTipe"), "{e}");
        let e = RuntimeConfig::default()
            .apply(ConfigPatch::from_json(serde_json::json!({"runtimeType": "quickjs"})).unwrap())
            .unwrap_err();
        assert!(e.to_string().contains("bun, node, deno"), "{e}");
        assert!(apply(serde_json::json!({"toolExecutionTimeoutMs": -1})).is_err());
        assert!(ConfigPatch::from_json(serde_json::json!([1])).is_err());
    }

    #[test]
    fn type_errors_name_the_field_path() {
        let apply = |v: serde_json::Value| RuntimeConfig::default().apply(ConfigPatch::from_json(v).unwrap());
        for (patch, field) in [
            (serde_json::json!({"memoryLimitMb": 512.5}), "memoryLimitMb"),
            (serde_json::json!({"memoryLimitMb": "abc"}), "memoryLimitMb"),
            (serde_json::json!({"memoryLimitMb": -100}), "memoryLimitMb"),
            (serde_json::json!({"pool": {"minIdle": "x"}}), "pool.minIdle"),
            (serde_json::json!({"pool": {"reuse": {"maxRssMb": -1}}}), "pool.reuse.maxRssMb"),
            (serde_json::json!({"pool": {"reuse": {"maxRss": 1}}}), "pool.reuse.maxRss"),
            (serde_json::json!({"pool": 3}), "pool"),
            (serde_json::json!({"netHosts": {"a": [1]}}), "netHosts.a[0]"),
            (serde_json::json!({"sandbox": "loose"}), "sandbox"),
            (serde_json::json!({"runtimeType": "quickjs"}), "runtimeType"),
        ] {
            let e = apply(patch.clone()).unwrap_err();
            assert_eq!(e.code(), "ERR_INVALID_CONFIG");
            assert!(e.to_string().contains(&format!("{field}: ")), "{patch}: {e}");
        }
        let e = from_app_config(serde_json::json!({"pool": {"reuse": {"maxRssMb": "big"}}})).unwrap_err();
        assert!(e.to_string().contains("pool.reuse.maxRssMb: "), "{e}");
    }

    #[test]
    fn pool_takes_true_objects_and_defaults_max_workers_from_concurrency() {
        let apply = |v: serde_json::Value| RuntimeConfig::default().apply(ConfigPatch::from_json(v).unwrap()).unwrap();
        let c = apply(serde_json::json!({"maxConcurrency": 3, "pool": true}));
        assert_eq!(c.pool, Some(PoolConfig { min_idle: 2, max_workers: 5, idle_timeout_ms: 30_000, reuse: None }));
        let c = apply(serde_json::json!({"maxConcurrency": 3, "pool": {"minIdle": 1, "reuse": {}}}));
        let p = c.pool.clone().unwrap();
        assert_eq!((p.min_idle, p.max_workers), (1, 4));
        assert_eq!(p.reuse, Some(ReuseConfig { max_calls_per_worker: 100, max_rss_mb: 512 }));
        assert_eq!(apply(serde_json::json!({"pool": false})).pool, None);
        // A complete config applies to itself unchanged (what `runtime.config` hands back).
        let full = serde_json::to_value(&c).unwrap();
        assert_eq!(apply(full).pool, c.pool);
        assert_eq!(apply(serde_json::json!({"runtimePath": ""})).runtime_path, None);
    }

    #[test]
    fn app_config_ignores_foreign_keys_and_uses_the_test_preset_for_testing() {
        let c = from_app_config(serde_json::json!({
            "environment": "testing", "toolExecutionTimeoutMs": 1234, "databaseUrl": "postgres://"
        }))
        .unwrap();
        assert_eq!(c.tool_execution_timeout_ms, 1234);
        assert_eq!(c.backoff_initial_interval_ms, 10);
    }
}
