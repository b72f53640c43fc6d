//! The folders module resolution reads, whatever the read policy: every `node_modules` from the
//! project root up (packages hoisted to a workspace root), and the targets of the symlinks in
//! them (workspace packages, `npm link`, a pnpm store outside the project), followed the same
//! way from each target.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// At most this many folders are followed: a tree larger than that is cut short (what was
/// not reached fails to resolve, saying the sandbox may be why).
const MAX_FOLDERS: usize = 4096;

/// Canonical folders to grant read on, outside `project_root` (which is granted already).
pub fn resolution_dirs(project_root: &Path) -> Vec<PathBuf> {
    let mut granted: BTreeSet<PathBuf> = BTreeSet::new();
    let mut pending: Vec<PathBuf> = node_modules_up(project_root);
    let mut seen = 0usize;
    while let Some(nm) = pending.pop() {
        seen += 1;
        if seen > MAX_FOLDERS {
            break;
        }
        if !covered(&granted, project_root, &nm) {
            granted.insert(nm.clone());
        }
        for target in symlink_targets(&nm) {
            if covered(&granted, project_root, &target) {
                continue;
            }
            granted.insert(target.clone());
            pending.extend(node_modules_up(&target).into_iter().filter(|d| !granted.contains(d)));
        }
    }
    // A folder beneath another granted one adds nothing.
    let all: Vec<PathBuf> = granted.iter().cloned().collect();
    all.into_iter().filter(|p| !granted.iter().any(|g| g != p && p.starts_with(g))).collect()
}

/// The folders that hold the granted `node_modules` folders (or the ones the granted packages
/// sit in).
pub fn holders_of_node_modules(dirs: &[PathBuf]) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = dirs
        .iter()
        .filter_map(|d| {
            let nm = d.ancestors().find(|a| a.file_name().is_some_and(|n| n == "node_modules"))?;
            nm.parent().map(Path::to_path_buf)
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

fn covered(granted: &BTreeSet<PathBuf>, project_root: &Path, p: &Path) -> bool {
    p.starts_with(project_root) || granted.iter().any(|g| p.starts_with(g))
}

/// The existing `node_modules` folders in `dir` and above it, canonical.
fn node_modules_up(dir: &Path) -> Vec<PathBuf> {
    dir.ancestors().filter_map(|a| std::fs::canonicalize(a.join("node_modules")).ok()).filter(|p| p.is_dir()).collect()
}

/// Where the symlinked packages of one `node_modules` (and of its `@scope` folders) point.
fn symlink_targets(nm: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(nm) else { return out };
    for e in entries.flatten() {
        let Ok(ft) = e.file_type() else { continue };
        let name = e.file_name();
        if ft.is_symlink() {
            if let Ok(t) = std::fs::canonicalize(e.path()) {
                if t.is_dir() {
                    out.push(t);
                }
            }
        } else if ft.is_dir() && name.to_string_lossy().starts_with('@') {
            out.extend(symlink_targets(&e.path()));
        }
    }
    out
}

/// The words bun and node use when a module cannot be found or read.
const RESOLUTION_FAILURES: [&str; 6] = [
    "Cannot find package",
    // Deno's own permission layer, refusing a module outside --allow-read.
    "Requires read access to",
    "Cannot find module",
    "ERR_MODULE_NOT_FOUND",
    "ERR_ACCESS_DENIED",
    "Access to this API has been restricted",
];

/// What to add to a load error that may come from the sandbox rather than a missing module.
pub fn resolution_hint(message: &str) -> Option<&'static str> {
    RESOLUTION_FAILURES.iter().any(|w| message.contains(w)).then_some(
        " (the sandbox is on: modules resolve from the project, every node_modules above it and the folders \
         their symlinks point to, as listed in runtime.sandbox.runtimeAccess.read; a module elsewhere needs \
         --allow-read of its folder)",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn follows_hoisted_folders_and_symlinks_out_of_the_project() {
        let base =
            std::fs::canonicalize(std::env::temp_dir()).unwrap().join(format!("modules-test-{}", std::process::id()));
        let ws = base.join("ws");
        let app = ws.join("packages/app");
        std::fs::create_dir_all(app.join("src")).unwrap();
        std::fs::create_dir_all(ws.join("packages/lib")).unwrap();
        std::fs::create_dir_all(ws.join("node_modules/@scope")).unwrap();
        symlink("../../packages/lib", ws.join("node_modules/@scope/lib")).unwrap();
        // A store outside the workspace, with its own node_modules beside the package.
        let pkg = base.join("store/dep@1/node_modules/dep");
        std::fs::create_dir_all(&pkg).unwrap();
        std::fs::create_dir_all(base.join("store/sub@2/node_modules/sub")).unwrap();
        symlink(base.join("store/sub@2/node_modules/sub"), base.join("store/dep@1/node_modules/sub")).unwrap();
        std::fs::create_dir_all(app.join("node_modules")).unwrap();
        symlink(&pkg, app.join("node_modules/dep")).unwrap();

        let got = resolution_dirs(&app);
        std::fs::remove_dir_all(&base).unwrap();
        for want in [
            ws.join("node_modules"),
            ws.join("packages/lib"),
            base.join("store/dep@1/node_modules"),
            base.join("store/sub@2/node_modules"),
        ] {
            assert!(got.contains(&want), "{} missing from {got:?}", want.display());
        }
        assert!(!got.iter().any(|p| p.starts_with(&app)), "the project is granted already: {got:?}");
    }
}
