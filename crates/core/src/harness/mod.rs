//! The worker harness: a small ES module embedded in the binary. A sandboxed call with a
//! private mount namespace gets its own copy, written by the child onto its private tmpfs and
//! mounted read-only (see `sandbox::child`); otherwise it is written once per runtime into the
//! runtime's private directory with `workerFilePerm`.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

pub const WORKER_SOURCE: &str = include_str!("worker.mjs");
pub const WORKER_FILE_NAME: &str = "worker.mjs";
/// Routes a tool's HTTP clients through the egress proxy (loaded by the harness when the
/// policy lists hosts).
pub const EGRESS_SOURCE: &str = include_str!("egress.mjs");
pub const EGRESS_FILE_NAME: &str = "egress.mjs";
/// Makes a refused connection say why when the policy grants no network (loaded by the
/// harness when started with `--no-network`).
pub const NETDENY_SOURCE: &str = include_str!("netdeny.mjs");
pub const NETDENY_FILE_NAME: &str = "netdeny.mjs";
/// Tool metadata and Standard Schema checks (imported by the harness).
pub const DESCRIBE_SOURCE: &str = include_str!("describe.mjs");
pub const DESCRIBE_FILE_NAME: &str = "describe.mjs";
/// Runs TypeScript through `amaro` on a node without its own (loaded by the harness when
/// started with `--typescript=DIR`).
pub const TSLOAD_SOURCE: &str = include_str!("tsload.mjs");
pub const TSLOAD_FILE_NAME: &str = "tsload.mjs";
/// Every file of the harness, by name.
pub const FILES: [(&str, &str); 5] = [
    (EGRESS_FILE_NAME, EGRESS_SOURCE),
    (NETDENY_FILE_NAME, NETDENY_SOURCE),
    (WORKER_FILE_NAME, WORKER_SOURCE),
    (DESCRIBE_FILE_NAME, DESCRIBE_SOURCE),
    (TSLOAD_FILE_NAME, TSLOAD_SOURCE),
];
/// The folder, beside the call temp dirs on a call's private tmpfs, that holds its harness.
pub const PRIVATE_DIR_NAME: &str = "harness";

/// Writes the harness (and the network shims beside it) into `dir` with mode `perm` and returns
/// the harness's path.
pub fn write_worker(dir: &Path, perm: u32) -> Result<PathBuf> {
    for (name, source) in FILES {
        write_file(dir, name, source, perm)?;
    }
    Ok(dir.join(WORKER_FILE_NAME))
}

fn write_file(dir: &Path, name: &str, source: &str, perm: u32) -> Result<PathBuf> {
    let path = dir.join(name);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(perm)
        .open(&path)
        .map_err(|e| Error::internal(format!("cannot write the worker harness to {}: {e}", path.display())))?;
    f.write_all(source.as_bytes()).map_err(|e| Error::internal(format!("cannot write the worker harness: {e}")))?;
    // The process umask may have narrowed the mode; the configured one is what was asked for.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(perm))
        .map_err(|e| Error::internal(format!("cannot set the worker harness mode: {e}")))?;
    Ok(path)
}
