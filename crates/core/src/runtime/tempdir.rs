//! The runtime's private directories. Every runtime of this process keeps its folders in one
//! folder per process (`tool-runtime-calls-<pid>-*`): each call's temp dir, and the runtime's
//! own folder (`rt-*`, the harness when it is on disk). A sandboxed call gets a private tmpfs
//! mounted over that shared folder, so it sees neither other calls' files nor any harness on
//! disk; without a private mount, the sandbox carves the whole folder out of every write grant.
//! The runtime's folder and each call's temp dir are removed when dropped; the shared folder,
//! empty by then, stays for the life of the process (later runtimes use it).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::error::{Error, Result};

pub(super) struct RuntimeDirs {
    /// The runtime's own folder, inside the shared folder.
    root: tempfile::TempDir,
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

/// The folder shared by every runtime of this process.
fn calls_base() -> Result<&'static Path> {
    static BASE: OnceLock<PathBuf> = OnceLock::new();
    if let Some(b) = BASE.get() {
        return Ok(b);
    }
    let dir = private_dir("tool-runtime-calls", &std::env::temp_dir())
        .map_err(|e| Error::internal(format!("cannot create the folder of call temp dirs: {e}")))?
        .keep();
    // Another thread may have won the race: its folder is the one, ours goes.
    let base = BASE.get_or_init(|| dir.clone());
    if *base != dir {
        let _ = std::fs::remove_dir(&dir);
    }
    Ok(base)
}

impl RuntimeDirs {
    pub fn create() -> Result<RuntimeDirs> {
        let root = private_dir("rt", calls_base()?)
            .map_err(|e| Error::internal(format!("cannot create the runtime directory: {e}")))?;
        Ok(RuntimeDirs { root, worker_path: PathBuf::new() })
    }

    pub fn root(&self) -> &Path {
        self.root.path()
    }

    pub fn calls_base(&self) -> &Path {
        self.root.path().parent().expect("the runtime's folder is inside the shared folder")
    }

    /// Where the harness is: each call writes its own onto its private tmpfs when it has one
    /// (`private_path`); otherwise it is written here, once, into the runtime's folder.
    pub fn place_harness(&mut self, private_path: Option<PathBuf>, perm: u32) -> Result<()> {
        self.worker_path = match private_path {
            Some(p) => p,
            None => crate::harness::write_worker(self.root.path(), perm)?,
        };
        Ok(())
    }

    pub fn worker_path(&self) -> PathBuf {
        self.worker_path.clone()
    }

    /// A fresh temp dir for one call (0700), removed when dropped.
    pub fn call_dir(&self) -> Result<tempfile::TempDir> {
        private_dir("call", self.calls_base())
            .map_err(|e| Error::internal(format!("cannot create the call's temp dir: {e}")))
    }
}
