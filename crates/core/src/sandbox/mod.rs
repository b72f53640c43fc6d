//! Kernel sandbox (filled in by the sandbox work): what is prepared in the parent and entered
//! in the child between fork and exec.

use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::config::{RuntimeType, SandboxMode};
use crate::error::Result;
use crate::policy::Policy;

/// The files a runtime needs to start and load the entrypoint.
#[derive(Debug, Clone)]
pub struct RuntimeFiles {
    pub program: PathBuf,
    pub runtime_type: RuntimeType,
    pub project_root: PathBuf,
    pub entrypoint: PathBuf,
    pub runtime_dir: PathBuf,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SandboxReport {
    pub mode: SandboxMode,
}

#[derive(Debug)]
pub struct RuntimeSandbox {
    mode: SandboxMode,
}

impl RuntimeSandbox {
    pub fn plan(mode: SandboxMode, _policy: &Policy, _files: &RuntimeFiles) -> Result<Self> {
        Ok(RuntimeSandbox { mode })
    }

    pub fn report(&self) -> SandboxReport {
        SandboxReport { mode: self.mode }
    }

    pub fn for_call(&self, _tmp: &Path) -> Result<Option<ChildSandbox>> {
        Ok(None)
    }

    pub fn node_permission_args(&self) -> Vec<OsString> {
        Vec::new()
    }
}

/// Everything the child needs to confine itself, prepared in the parent.
#[derive(Debug, Default)]
pub struct ChildSandbox {}

impl ChildSandbox {
    /// Runs in the forked child: async-signal-safe syscalls only.
    ///
    /// # Safety
    /// Call only between fork and exec.
    pub unsafe fn enter(&self, _exec_path: *const libc::c_char) -> io::Result<()> {
        Ok(())
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Capabilities {
    pub landlock_abi: Option<u32>,
}

pub fn capabilities() -> Capabilities {
    Capabilities { landlock_abi: None }
}
