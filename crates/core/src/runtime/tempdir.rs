//! The runtime's private directories, removed when the runtime goes: the folder that holds
//! every call's temp dir (a sandboxed call gets a private tmpfs mounted over it, so no call sees
//! another's files, and writes its own read-only harness there), and inside it the runtime's
//! own folder, where the harness lives on disk when calls get no private mount namespace.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

pub(super) struct RuntimeDirs {
    /// Holds the calls' temp dirs (and `root`).
    calls: tempfile::TempDir,
    /// The runtime's own folder, inside `calls`.
    root: PathBuf,
    /// The harness every call runs, once it is known where it lives.
    worker_path: PathBuf,
}

fn private_dir(prefix: &str, parent: &Path) -> std::io::Result<tempfile::TempDir> {
    use std::os::unix::fs::PermissionsExt;
    tempfile::Builder::new()
        .prefix(&format!("{prefix}-{}-", std::process::id()))
        .permissions(std::fs::Permissions::from_mode(0o700))
        .tempdir_in(parent)
}

impl RuntimeDirs {
    pub fn create() -> Result<RuntimeDirs> {
        let calls = private_dir("tool-runtime-calls", &std::env::temp_dir())
            .map_err(|e| Error::internal(format!("cannot create the folder of call temp dirs: {e}")))?;
        // Beside the call temp dirs: a call's private tmpfs hides it, and without one the
        // sandbox keeps every write grant out of that folder.
        let root = private_dir("rt", calls.path())
            .map_err(|e| Error::internal(format!("cannot create the runtime directory: {e}")))?
            .keep();
        Ok(RuntimeDirs { calls, root, worker_path: PathBuf::new() })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn calls_base(&self) -> &Path {
        self.calls.path()
    }

    /// Where the harness is: each call writes its own onto its private tmpfs when it has one
    /// (`private_path`); otherwise it is written here, once, into the runtime's folder.
    pub fn place_harness(&mut self, private_path: Option<PathBuf>, perm: u32) -> Result<()> {
        self.worker_path = match private_path {
            Some(p) => p,
            None => crate::harness::write_worker(&self.root, perm)?,
        };
        Ok(())
    }

    pub fn worker_path(&self) -> PathBuf {
        self.worker_path.clone()
    }

    /// A fresh temp dir for one call (0700), removed when dropped.
    pub fn call_dir(&self) -> Result<tempfile::TempDir> {
        private_dir("call", self.calls.path())
            .map_err(|e| Error::internal(format!("cannot create the call's temp dir: {e}")))
    }
}
