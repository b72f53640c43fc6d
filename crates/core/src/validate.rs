//! Argument checks that run before any process starts: tool ids, execution ids and per-call
//! environment variables (the seed's safety rules, plus refusing loader injection).

use std::collections::BTreeMap;

use crate::error::{Error, Result};

/// Tool ids: non-empty, only `A-Za-z0-9_/.-`, not absolute, no `..`, no leading dot.
pub fn validate_tool_id(id: &str) -> Result<()> {
    let bad = |why: &str| Err(Error::invalid_argument(format!("invalid tool id {id:?}: {why}")));
    if id.is_empty() {
        return bad("must not be empty");
    }
    if id.len() > 256 {
        return bad("longer than 256 characters");
    }
    if let Some(c) = id.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '/' | '.' | '-'))) {
        return bad(&format!("character {c:?} is not allowed (use A-Z a-z 0-9 _ / . -)"));
    }
    if id.starts_with('/') {
        return bad("must not be an absolute path");
    }
    if id.starts_with('.') {
        return bad("must not start with a dot");
    }
    // The seed refuses `..` anywhere, not only as a path segment (`a..b`).
    if id.contains("..") {
        return bad("must not contain '..'");
    }
    if id.split('/').any(str::is_empty) {
        return bad("must not contain empty path segments");
    }
    Ok(())
}

/// Execution ids travel into error messages and the protocol: keep them printable and short.
pub fn validate_exec_id(id: &str) -> Result<()> {
    if id.is_empty() || id.len() > 256 || !id.chars().all(|c| c.is_ascii_graphic()) {
        return Err(Error::invalid_argument(format!(
            "invalid tool execution id {id:?}: 1 to 256 printable ASCII characters without spaces"
        )));
    }
    Ok(())
}

/// Variables a tool may not set because they change what the runtime loads or how it runs.
/// `TOOL_RUNTIME_` is this package's own: the harness reads `TOOL_RUNTIME_PROXY` to pick its
/// network shim, and the host's settings (the queue key, the MCP token) must not reach a tool.
const REFUSED_PREFIXES: &[&str] =
    &["LD_", "DYLD_", "NODE_", "BUN_", "DENO_", "JSC_", "MALLOC_", "GLIBC_", "NPM_CONFIG_", "TOOL_RUNTIME_"];
const REFUSED_NAMES: &[&str] = &[
    "NODE_OPTIONS",
    "NODE_PATH",
    "BUN_OPTIONS",
    "UV_THREADPOOL_SIZE",
    "TZDIR",
    "GCONV_PATH",
    "HOSTALIASES",
    "RESOLV_HOST_CONF",
    "OPENSSL_CONF",
    "OPENSSL_MODULES",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "TMPDIR",
];
/// Harmless members of the refused prefixes that tools commonly rely on.
const ALLOWED_NAMES: &[&str] = &["NODE_ENV", "BUN_ENV"];

pub fn validate_env_name(name: &str) -> Result<()> {
    let valid = !name.is_empty()
        && !name.as_bytes()[0].is_ascii_digit()
        && name.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
    if !valid {
        return Err(Error::invalid_argument(format!(
            "invalid environment variable name {name:?}: only A-Z, 0-9 and _ (not starting with a digit)"
        )));
    }
    if !ALLOWED_NAMES.contains(&name)
        && (REFUSED_NAMES.contains(&name) || REFUSED_PREFIXES.iter().any(|p| name.starts_with(p)))
    {
        return Err(Error::invalid_argument(format!(
            "environment variable {name} is refused: it controls how the runtime loads code, where it writes, or this package's own settings"
        )));
    }
    Ok(())
}

pub fn validate_env_value(name: &str, value: &str) -> Result<()> {
    if value.contains(['\0', '\r', '\n']) {
        return Err(Error::invalid_argument(format!(
            "environment variable {name} has a NUL, CR or LF character in its value"
        )));
    }
    // Node 20 crashes (SIGSEGV in ICU) on some malformed locale names; locale variables must
    // look like one (`en_US.UTF-8`, `C`, `de_DE@euro`, `en:fr` for LANGUAGE).
    if is_locale_variable(name)
        && !value.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '@' | '-' | ':' | '+'))
    {
        return Err(Error::invalid_argument(format!(
            "environment variable {name} is not a locale name (letters, digits and _ . @ - : + only)"
        )));
    }
    Ok(())
}

fn is_locale_variable(name: &str) -> bool {
    name == "LANG" || name == "LANGUAGE" || name.starts_with("LC_")
}

pub fn validate_env(env: &BTreeMap<String, String>) -> Result<()> {
    for (k, v) in env {
        validate_env_name(k)?;
        validate_env_value(k, v)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_ids_follow_the_seed_rules() {
        for ok in ["greet", "category/tool-name", "a.b_c-1", "A/B/C", "a.b.c", "v1.2/x.y"] {
            assert!(validate_tool_id(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../b",
            ".hidden",
            "a b",
            "a;b",
            "a//b",
            "é",
            "a/",
            "a..b",
            "tool...name",
            "a/b..",
        ] {
            let e = validate_tool_id(bad).unwrap_err();
            assert_eq!(e.code(), "ERR_INVALID_ARGUMENT", "{bad}");
        }
    }

    #[test]
    fn env_names_and_values_are_checked() {
        assert!(validate_env_name("API_KEY").is_ok());
        assert!(validate_env_name("NODE_ENV").is_ok());
        for bad in [
            "api_key",
            "1ABC",
            "A-B",
            "",
            "LD_PRELOAD",
            "NODE_OPTIONS",
            "BUN_OPTIONS",
            "DYLD_INSERT_LIBRARIES",
            "NODE_PATH",
            "TMPDIR",
            "TOOL_RUNTIME_PROXY",
        ] {
            assert!(validate_env_name(bad).is_err(), "{bad}");
        }
        assert!(validate_env_value("A", "x\ny").is_err());
        assert!(validate_env_value("A", "x\0").is_err());
        assert!(validate_env_value("A", "x\r").is_err());
        assert!(validate_env_value("A", "plain value = ok").is_ok());
        assert!(validate_env_value("LANG", "en_US.UTF-8").is_ok());
        assert!(validate_env_value("LANGUAGE", "en:fr").is_ok());
        assert!(validate_env_value("LANG", " oU'=4!e47(?A>").is_err());
        assert!(validate_env_value("LC_ALL", "x y").is_err());
    }
}
