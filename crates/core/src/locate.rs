//! Finding the bun or node binary: an explicit `runtimePath`, else a hint from the embedding
//! (the bun that `npm install` brought, the node that is running), else `PATH`.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::config::RuntimeType;
use crate::error::{Error, Result};

/// The `PATH` of every child: nothing of the host's own `PATH` leaks in, and `--allow-run=NAME`
/// looks names up here.
pub const BASE_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// Where the embedding suggests looking before `PATH`.
#[derive(Debug, Clone, Default)]
pub struct RuntimeHints {
    /// The bun binary installed with the package (`node_modules/bun/bin/bun.exe`).
    pub bun_path: Option<PathBuf>,
    /// The running node (`process.execPath`).
    pub node_path: Option<PathBuf>,
    /// `process.versions.node` of `node_path`, so no process is started to learn it.
    pub node_version: Option<String>,
    /// The `amaro` package folder installed with the package: node 20's TypeScript transform.
    pub amaro_path: Option<PathBuf>,
}

pub fn is_executable_file(path: &Path) -> bool {
    std::fs::metadata(path).map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0).unwrap_or(false)
}

pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(name)).find(|p| is_executable_file(p))
}

/// Resolves the binary for `runtime`, canonicalised (sandbox rules need real paths).
pub fn locate_runtime(runtime: RuntimeType, explicit: Option<&Path>, hints: &RuntimeHints) -> Result<PathBuf> {
    let unavailable = |path: Option<&Path>, reason: String| Error::RuntimeUnavailable {
        runtime: runtime.as_str().to_string(),
        path: path.map(|p| p.display().to_string()),
        reason,
    };
    if let Some(p) = explicit {
        if !is_executable_file(p) {
            return Err(unavailable(Some(p), format!("runtimePath {} is not an executable file", p.display())));
        }
        return std::fs::canonicalize(p).map_err(|e| unavailable(Some(p), e.to_string()));
    }
    let hint = match runtime {
        RuntimeType::Bun => hints.bun_path.as_deref(),
        RuntimeType::Node => hints.node_path.as_deref(),
    };
    let found = hint.filter(|p| is_executable_file(p)).map(Path::to_path_buf).or_else(|| which(runtime.as_str()));
    match found {
        Some(p) => std::fs::canonicalize(&p).map_err(|e| unavailable(Some(&p), e.to_string())),
        None => Err(unavailable(
            None,
            match runtime {
                RuntimeType::Bun => {
                    "bun was not found: install the package's dependencies (npm install) or set runtimePath".into()
                }
                RuntimeType::Node => "node was not found on PATH: set runtimePath".into(),
            },
        )),
    }
}

/// `major.minor` of a node binary: from the hint when it is the same binary, else by asking it.
pub fn node_version(path: &Path, hints: &RuntimeHints) -> Option<(u32, u32)> {
    let same = hints.node_path.as_deref().and_then(|h| std::fs::canonicalize(h).ok()).as_deref() == Some(path);
    let text = match (&hints.node_version, same) {
        (Some(v), true) => v.clone(),
        _ => {
            let out = std::process::Command::new(path).arg("--version").env_clear().output().ok()?;
            String::from_utf8_lossy(&out.stdout).trim().to_string()
        }
    };
    let mut parts = text.trim_start_matches('v').split('.');
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}
