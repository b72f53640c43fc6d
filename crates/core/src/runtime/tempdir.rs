//! The runtime's private directories, removed when the runtime goes: the folder with the
//! harness, and the folder that holds every call's temp dir. A sandboxed call gets a private
//! tmpfs mounted over the latter, so no call sees another's files.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

pub(super) struct RuntimeDirs {
    /// Holds the harness files.
    root: tempfile::TempDir,
    worker_path: PathBuf,
    /// Holds the calls' temp dirs.
    calls: tempfile::TempDir,
}

fn private_dir(prefix: &str, parent: &Path) -> std::io::Result<tempfile::TempDir> {
    use std::os::unix::fs::PermissionsExt;
    tempfile::Builder::new()
        .prefix(&format!("{prefix}-{}-", std::process::id()))
        .permissions(std::fs::Permissions::from_mode(0o700))
        .tempdir_in(parent)
}

impl RuntimeDirs {
    pub fn create(worker_file_perm: u32) -> Result<RuntimeDirs> {
        let tmp = std::env::temp_dir();
        let root = private_dir("tool-runtime-rt", &tmp)
            .map_err(|e| Error::internal(format!("cannot create the runtime directory: {e}")))?;
        let worker_path = crate::harness::write_worker(root.path(), worker_file_perm)?;
        let calls = private_dir("tool-runtime-calls", &tmp)
            .map_err(|e| Error::internal(format!("cannot create the calls directory: {e}")))?;
        Ok(RuntimeDirs { root, worker_path, calls })
    }

    pub fn root(&self) -> &Path {
        self.root.path()
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
