//! Finding the bun, node or deno binary: an explicit `runtimePath`, else a hint from the
//! embedding (the bun or deno that `npm install` brought, the node that is running), else `PATH`.

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
    /// The deno binary installed with the package: `node_modules/deno/deno` (put there by its
    /// postinstall script) or its platform package's (`@deno/linux-x64-glibc/deno`).
    pub deno_path: Option<PathBuf>,
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

/// A file `execve` refuses with "Exec format error": neither ELF nor a `#!` script. bun's npm
/// package ships such a 450-byte shell snippet as `bin/bun.exe` until its postinstall script
/// puts the real binary there, so an install with `--ignore-scripts` leaves one behind.
pub fn is_unrunnable(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 4];
    let read = std::fs::File::open(path).and_then(|mut f| f.read(&mut head));
    match read {
        Ok(n) => !(head[..n].starts_with(b"\x7fELF") || head[..n].starts_with(b"#!")),
        Err(_) => false,
    }
}

/// What to tell the user about an unrunnable bun from the npm package: it is the placeholder.
fn bun_placeholder_reason(path: &Path) -> String {
    let package = path.parent().and_then(Path::parent).unwrap_or(path);
    format!(
        "{} is the placeholder of bun's npm package, not bun: its postinstall script did not run \
         (installed with --ignore-scripts, or by a package manager that skips install scripts). \
         Run `node install.js` in {}, or `npm rebuild bun`, or set runtimePath",
        path.display(),
        package.display()
    )
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
        if is_unrunnable(p) {
            return Err(unavailable(
                Some(p),
                format!("runtimePath {} is neither an ELF binary nor a #! script, so it cannot be run", p.display()),
            ));
        }
        return std::fs::canonicalize(p).map_err(|e| unavailable(Some(p), e.to_string()));
    }
    let hint = match runtime {
        RuntimeType::Bun => hints.bun_path.as_deref(),
        RuntimeType::Node => hints.node_path.as_deref(),
        RuntimeType::Deno => hints.deno_path.as_deref(),
    };
    let placeholder = hint.filter(|p| is_executable_file(p) && is_unrunnable(p));
    let found = hint
        .filter(|p| is_executable_file(p) && !is_unrunnable(p))
        .map(Path::to_path_buf)
        .or_else(|| which(runtime.as_str()));
    match (found, placeholder) {
        (Some(p), _) => std::fs::canonicalize(&p).map_err(|e| unavailable(Some(&p), e.to_string())),
        (None, Some(p)) if runtime == RuntimeType::Bun => Err(unavailable(Some(p), bun_placeholder_reason(p))),
        (None, _) => Err(unavailable(
            None,
            match runtime {
                RuntimeType::Bun => {
                    "bun was not found: install it beside tool-runtime (npm install bun, an optional peer \
                     dependency), put it on PATH, or set runtimePath; or use runtimeType \"node\""
                        .into()
                }
                RuntimeType::Node => "node was not found on PATH: set runtimePath".into(),
                RuntimeType::Deno => match hints.deno_path.as_deref() {
                    // The package is there but its platform binary is not: deno's npm package
                    // brings the binary as an optional dependency, which an install may omit.
                    Some(p) => format!(
                        "deno's npm package is installed but {} is not a deno binary (its platform package \
                         @deno/<platform> was not installed: optional dependencies omitted, or another \
                         platform); reinstall deno, put it on PATH, or set runtimePath",
                        p.display()
                    ),
                    None => "deno was not found: install it beside tool-runtime (npm install deno, an optional \
                             peer dependency), put it on PATH, or set runtimePath; or use runtimeType \"node\""
                        .into(),
                },
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    // The first line of the placeholder bun 1.4's npm package ships as bin/bun.exe.
    const PLACEHOLDER: &str = "echo \"Error: Bun's postinstall script was not run.\" >&2\nexit 1\n";

    fn executable(dir: &Path, name: &str, body: &[u8]) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, body).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    #[test]
    fn the_npm_placeholder_of_bun_is_unrunnable_and_a_real_binary_or_script_is_not() {
        let dir = tempfile::tempdir().unwrap();
        assert!(is_unrunnable(&executable(dir.path(), "bun.exe", PLACEHOLDER.as_bytes())));
        assert!(!is_unrunnable(&executable(dir.path(), "script", b"#!/bin/sh\nexit 0\n")));
        assert!(!is_unrunnable(&std::env::current_exe().unwrap()));
    }

    #[test]
    fn a_deno_package_without_its_platform_binary_says_so() {
        if which("deno").is_some() {
            return; // a deno on PATH is found instead, rightly
        }
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("node_modules/deno/deno");
        let hints = RuntimeHints { deno_path: Some(missing.clone()), ..Default::default() };
        match locate_runtime(RuntimeType::Deno, None, &hints) {
            Err(Error::RuntimeUnavailable { runtime, reason, .. }) => {
                assert_eq!(runtime, "deno");
                assert!(reason.contains(&missing.display().to_string()), "{reason}");
                assert!(reason.contains("@deno/<platform>"), "{reason}");
            }
            other => panic!("expected RuntimeUnavailable, got {other:?}"),
        }
        // The twin: the same hint at a real binary is taken.
        let real = std::env::current_exe().unwrap();
        let hints = RuntimeHints { deno_path: Some(real.clone()), ..Default::default() };
        assert_eq!(locate_runtime(RuntimeType::Deno, None, &hints).unwrap(), real.canonicalize().unwrap());
    }

    #[test]
    fn an_explicit_placeholder_is_refused_by_name_and_a_real_binary_is_taken() {
        let dir = tempfile::tempdir().unwrap();
        let stub = executable(dir.path(), "bun.exe", PLACEHOLDER.as_bytes());
        match locate_runtime(RuntimeType::Bun, Some(&stub), &RuntimeHints::default()) {
            Err(Error::RuntimeUnavailable { path, reason, .. }) => {
                assert_eq!(path.as_deref(), Some(stub.to_str().unwrap()));
                assert!(reason.contains("neither an ELF binary nor a #! script"), "{reason}");
            }
            other => panic!("expected RuntimeUnavailable, got {other:?}"),
        }
        let real = std::env::current_exe().unwrap();
        assert_eq!(
            locate_runtime(RuntimeType::Bun, Some(&real), &RuntimeHints::default()).unwrap(),
            real.canonicalize().unwrap()
        );
    }
}
