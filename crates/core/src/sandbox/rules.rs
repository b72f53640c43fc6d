//! Landlock path rules: what a runtime needs, and grants with denied paths carved out.
//!
//! Landlock can only grant, so `--deny-read=/a/b` inside an allowed `/a` is built by granting
//! every entry of `/a` except `b` (recursively along the way to the denied path). Entries
//! created later in those folders are not covered, which fails closed.

use std::collections::BTreeMap;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use landlock::{AccessFs, BitFlags};

use super::RuntimeFiles;
use crate::config::RuntimeType;
use crate::error::{Error, Result};

#[derive(Debug)]
pub struct FsRule {
    pub fd: OwnedFd,
    pub access: BitFlags<AccessFs>,
}

/// Rules keyed by path (access rights of the same path are merged), opened once.
#[derive(Debug, Default)]
pub struct RuleSet {
    wanted: BTreeMap<PathBuf, (BitFlags<AccessFs>, bool)>,
    opened: Vec<FsRule>,
}

impl RuleSet {
    /// Grants `access` beneath `path` (masked to file rights when `path` is not a folder).
    /// Paths that do not exist are skipped: there is nothing to grant yet.
    pub fn grant(&mut self, path: &Path, access: BitFlags<AccessFs>, file_rights: BitFlags<AccessFs>) {
        let Ok(meta) = std::fs::metadata(path) else { return };
        let access = if meta.is_dir() { access } else { access & file_rights };
        let e = self.wanted.entry(path.to_path_buf()).or_insert((BitFlags::EMPTY, meta.is_dir()));
        e.0 |= access;
    }

    /// Grants `access` beneath `path` except beneath any of `denied`.
    pub fn grant_except(
        &mut self,
        path: &Path,
        access: BitFlags<AccessFs>,
        denied: &[PathBuf],
        file_rights: BitFlags<AccessFs>,
    ) {
        if denied.iter().any(|d| path.starts_with(d)) {
            return;
        }
        let inside: Vec<&PathBuf> = denied.iter().filter(|d| d.starts_with(path)).collect();
        if inside.is_empty() {
            self.grant(path, access, file_rights);
            return;
        }
        let Ok(entries) = std::fs::read_dir(path) else { return };
        for entry in entries.flatten() {
            // A symlink rule would grant its target's tree; the target is reached by its own
            // path and the rules there.
            if entry.file_type().map(|t| t.is_symlink()).unwrap_or(true) {
                continue;
            }
            self.grant_except(&entry.path(), access, denied, file_rights);
        }
    }

    /// Opens every path once (`O_PATH`), so each call's ruleset is built from open files.
    pub fn open(self) -> Result<RuleSet> {
        let mut opened = Vec::with_capacity(self.wanted.len());
        for (path, (access, _)) in self.wanted {
            if access.is_empty() {
                continue;
            }
            match open_path(&path) {
                Ok(fd) => opened.push(FsRule { fd, access }),
                Err(e) => {
                    return Err(Error::internal(format!("cannot open {} for a sandbox rule: {e}", path.display())))
                }
            }
        }
        Ok(RuleSet { wanted: BTreeMap::new(), opened })
    }

    pub fn opened(&self) -> &[FsRule] {
        &self.opened
    }
}

/// An `O_PATH` handle: enough for a Landlock rule, without read access to the file itself.
pub fn open_path(path: &Path) -> std::io::Result<OwnedFd> {
    use std::os::fd::FromRawFd;
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "NUL in path"))?;
    // SAFETY: `c` is a NUL-terminated path that outlives the call.
    let fd = unsafe { libc::open(c.as_ptr(), libc::O_PATH | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `fd` was just opened and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// What a runtime needs to start and to load the entrypoint and its imports.
pub struct RuntimeNeeds {
    pub read: Vec<PathBuf>,
    /// The folders the runtime resolves modules in (among `read`).
    pub module_trees: Vec<PathBuf>,
    pub execute: Vec<PathBuf>,
    pub write: Vec<PathBuf>,
    /// Folders the runtime lists, beyond `read`.
    pub list: Vec<PathBuf>,
}

fn existing(paths: &[&str]) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = paths.iter().filter_map(|p| std::fs::canonicalize(p).ok()).collect();
    out.sort();
    out.dedup();
    out
}

/// Where OpenSSL (node's) looks for its configuration unless `OPENSSL_CONF` says otherwise.
pub const OPENSSL_CONF: &str = "/etc/ssl/openssl.cnf";

/// Folders of shared libraries: a deny covering one of them leaves no runtime able to start.
const LIBRARY_DIRS: &[&str] =
    &["/lib", "/lib64", "/usr/lib", "/usr/lib64", "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu"];

/// Whether `path` lies beneath (or is) one of `denied`.
pub fn is_denied(path: &Path, denied: &[PathBuf]) -> bool {
    denied.iter().any(|d| path.starts_with(d))
}

/// Refuses a `--deny-read` that takes away what the runtime cannot start without: its binary,
/// the loader, a folder of shared libraries, the entrypoint. Everything else the runtime
/// reads (the project root, `/etc/ssl`, ...) has the denies carved out of it instead.
pub fn refuse_denied_needs(files: &RuntimeFiles, needs: &RuntimeNeeds, deny_read: &[PathBuf]) -> Result<()> {
    let mut essential: Vec<(PathBuf, String)> = vec![];
    for p in &needs.execute {
        let what = if *p == files.program { "the runtime binary" } else { "the dynamic loader" };
        essential.push((p.clone(), what.to_string()));
    }
    for dir in existing(LIBRARY_DIRS) {
        essential.push((dir, "a folder of shared libraries".to_string()));
    }
    if !deny_read.is_empty() {
        if let Some(loader) = needs.execute.iter().find(|p| **p != files.program) {
            for lib in shared_libraries(loader, &files.program) {
                essential.push((lib, "a shared library it loads".to_string()));
            }
        }
    }
    essential.push((files.entrypoint.clone(), "the entrypoint".to_string()));
    for (path, what) in essential {
        if let Some(d) = deny_read.iter().find(|d| path.starts_with(d)) {
            return Err(Error::invalid_config(format!(
                "--deny-read={} denies {what} ({}), which the {} runtime cannot start without; \
                 deny a narrower path",
                d.display(),
                path.display(),
                files.runtime_type.as_str()
            )));
        }
    }
    Ok(())
}

pub fn runtime_needs(files: &RuntimeFiles, harness_dir: &Path) -> Result<RuntimeNeeds> {
    let mut read = existing(&[
        // Shared libraries and the loader's cache.
        "/lib",
        "/lib64",
        "/usr/lib",
        "/usr/lib64",
        "/usr/local/lib",
        "/etc/ld.so.cache",
        // Randomness, time zones, TLS configuration and certificates.
        "/dev/urandom",
        "/dev/random",
        "/etc/localtime",
        "/usr/share/zoneinfo",
        "/etc/ssl",
        // CPU and memory facts the runtimes size their thread pools and heaps by.
        "/proc/cpuinfo",
        "/proc/meminfo",
        "/proc/stat",
        "/sys/devices/system/cpu",
        "/sys/fs/cgroup",
    ]);
    // The project's module tree, the entrypoint (which may live elsewhere), the harness.
    let mut module_trees = vec![files.project_root.clone()];
    if let Some(dir) = files.entrypoint.parent() {
        if !dir.starts_with(&files.project_root) {
            module_trees.push(dir.to_path_buf());
        }
    }
    // What module resolution reads beyond the project: hoisted node_modules above it and the
    // targets of symlinked packages (workspaces, pnpm, npm link).
    let resolution = super::modules::resolution_dirs(&files.project_root);
    // Bun's resolver lists every folder above the importing file to find a node_modules in it,
    // and does not look into one it cannot list.
    let list = if files.runtime_type == RuntimeType::Bun {
        super::modules::holders_of_node_modules(&resolution)
    } else {
        vec![]
    };
    module_trees.extend(resolution);
    read.extend(module_trees.iter().cloned());
    read.push(harness_dir.to_path_buf());
    let mut execute = vec![files.program.clone()];
    match elf_interpreter(&files.program) {
        Some(interp) => execute.push(interp),
        None if is_script(&files.program) => {
            return Err(Error::invalid_config(format!(
                "runtimePath {} is a script; the sandbox needs the real {} binary (or sandbox: \"off\")",
                files.program.display(),
                files.runtime_type.as_str()
            )))
        }
        None => {}
    }
    if files.runtime_type == RuntimeType::Node {
        // Node resolves its own install prefix for built-in module lookups.
        if let Some(prefix) = files.program.parent().and_then(Path::parent) {
            let lib = prefix.join("lib/node_modules");
            if lib.is_dir() {
                read.push(lib);
            }
        }
    }
    if let Some(dir) = files.typescript.loader_dir() {
        read.push(dir.to_path_buf());
    }
    let write = existing(&["/dev/null"]);
    Ok(RuntimeNeeds { read, module_trees, execute, write, list })
}

/// The shared libraries `program` loads, as its own loader resolves them (`ld.so --list`:
/// the runtime's binary is trusted, and the loader only maps it). Empty when that fails.
fn shared_libraries(loader: &Path, program: &Path) -> Vec<PathBuf> {
    let Ok(out) = std::process::Command::new(loader)
        .arg("--list")
        .arg(program)
        .env_clear()
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
    else {
        return vec![];
    };
    // Lines look like `libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)`.
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split("=> ").nth(1)?.split(" (").next())
        .filter_map(|p| std::fs::canonicalize(p.trim()).ok())
        .collect()
}

fn is_script(p: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 2];
    std::fs::File::open(p).and_then(|mut f| f.read_exact(&mut head)).map(|_| &head == b"#!").unwrap_or(false)
}

/// The `PT_INTERP` of an ELF64 little-endian executable: the dynamic loader the kernel opens
/// (and so must be allowed to execute) when it starts the runtime.
pub fn elf_interpreter(program: &Path) -> Option<PathBuf> {
    let data = std::fs::read(program).ok()?;
    if data.len() < 64 || &data[..4] != b"\x7fELF" || data[4] != 2 || data[5] != 1 {
        return None;
    }
    let u16_at =
        |o: usize| -> Option<usize> { Some(u16::from_le_bytes(data.get(o..o + 2)?.try_into().ok()?) as usize) };
    let u64_at =
        |o: usize| -> Option<usize> { u64::from_le_bytes(data.get(o..o + 8)?.try_into().ok()?).try_into().ok() };
    let phoff: usize = u64_at(0x20)?;
    let phentsize: usize = u16_at(0x36)?;
    let phnum: usize = u16_at(0x38)?;
    for i in 0..phnum {
        let ph = phoff + i * phentsize;
        let p_type = u32::from_le_bytes(data.get(ph..ph + 4)?.try_into().ok()?);
        if p_type == 3 {
            let off: usize = u64_at(ph + 8)?;
            let size: usize = u64_at(ph + 32)?;
            let raw = data.get(off..off + size)?;
            let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
            let path = PathBuf::from(std::str::from_utf8(&raw[..end]).ok()?);
            return std::fs::canonicalize(path).ok();
        }
    }
    None
}

/// `--allow-run=NAME`: an absolute path as is, a bare name looked up on the tool's `PATH`.
pub fn resolve_program(name: &str) -> Option<PathBuf> {
    let p = Path::new(name);
    if p.is_absolute() {
        return std::fs::canonicalize(p).ok();
    }
    crate::locate::BASE_PATH
        .split(':')
        .map(|d| Path::new(d).join(name))
        .find(|c| crate::locate::is_executable_file(c))
        .and_then(|c| std::fs::canonicalize(c).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_loader_of_a_dynamic_binary() {
        let interp = elf_interpreter(Path::new("/bin/sh")).expect("sh is dynamic");
        assert!(interp.to_string_lossy().contains("ld-linux"), "{}", interp.display());
    }

    #[test]
    fn lists_the_libraries_a_binary_loads() {
        let sh = std::fs::canonicalize("/bin/sh").unwrap();
        let loader = elf_interpreter(&sh).expect("sh is dynamic");
        let libs = shared_libraries(&loader, &sh);
        assert!(
            libs.iter().any(|l| l.file_name().is_some_and(|n| n.to_string_lossy().starts_with("libc.so"))),
            "{libs:?}"
        );
    }

    #[test]
    fn refuses_denies_of_what_the_runtime_cannot_start_without() {
        let program = std::fs::canonicalize("/bin/sh").unwrap();
        let files = RuntimeFiles {
            program: program.clone(),
            runtime_type: RuntimeType::Node,
            project_root: PathBuf::from("/nonexistent/project"),
            entrypoint: PathBuf::from("/nonexistent/project/tools.mjs"),
            runtime_dir: PathBuf::from("/nonexistent/rt"),
            calls_base: PathBuf::from("/nonexistent"),
            harness_perm: 0o600,
            temp_size_mb: 64,
            node_version: None,
            typescript: crate::nodever::TypeScript::None,
        };
        let needs = runtime_needs(&files, &files.runtime_dir).unwrap();
        let libc = shared_libraries(&needs.execute[1], &program)
            .into_iter()
            .find(|l| l.to_string_lossy().contains("libc.so"))
            .expect("sh loads libc");
        for (deny, why) in [
            (program.clone(), "runtime binary"),
            (needs.execute[1].clone(), "dynamic loader"),
            (libc, "shared library it loads"),
            (PathBuf::from("/nonexistent/project"), "entrypoint"),
            (PathBuf::from("/"), "runtime binary"),
        ] {
            let e = refuse_denied_needs(&files, &needs, std::slice::from_ref(&deny)).unwrap_err().to_string();
            assert!(e.contains(&format!("--deny-read={}", deny.display())) && e.contains(why), "{e}");
        }
        // What the runtime reads but can start without has the deny carved out instead.
        for deny in ["/etc/ssl/openssl.cnf", "/nonexistent/project/.env", "/usr/share/doc"] {
            refuse_denied_needs(&files, &needs, &[PathBuf::from(deny)]).unwrap();
        }
    }

    #[test]
    fn carves_denied_paths_out_of_a_grant() {
        let dir = std::env::temp_dir().join(format!("rules-test-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("a/secret")).unwrap();
        std::fs::create_dir_all(dir.join("a/open")).unwrap();
        std::fs::write(dir.join("a/file"), "x").unwrap();
        let mut rs = RuleSet::default();
        let all = AccessFs::ReadFile | AccessFs::ReadDir;
        rs.grant_except(&dir, all, &[dir.join("a/secret")], AccessFs::ReadFile.into());
        let granted: Vec<_> = rs.wanted.keys().cloned().collect();
        assert!(granted.contains(&dir.join("a/open")));
        assert!(granted.contains(&dir.join("a/file")));
        assert!(!granted.iter().any(|p| p.starts_with(dir.join("a/secret"))));
        assert!(!granted.contains(&dir));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
