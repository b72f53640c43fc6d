//! What a given node version can do by itself, and what the runtime supplies where it cannot:
//! the spelling of its permission flag and how it runs TypeScript.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// `major.minor` of a node binary.
pub type NodeVersion = (u32, u32);

/// The flag that turns node's permission model on. `--permission` is 22.13+ and 23.5+; node 24
/// refuses the older spelling, node 20 only knows it.
pub fn permission_flag(v: NodeVersion) -> &'static str {
    if v >= (23, 5) || (v.0 == 22 && v >= (22, 13)) {
        "--permission"
    } else {
        "--experimental-permission"
    }
}

/// How a node runs a TypeScript entrypoint and the `.ts` files it imports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeScript {
    /// Not a TypeScript entrypoint (or not node).
    None,
    /// Node's own transform (22.7+): `--experimental-transform-types`, source maps implied.
    Native,
    /// Node without it (20): the harness registers a load hook that transforms with `amaro`
    /// (node's own TypeScript library, from npm) in this package folder, with source maps.
    Amaro(PathBuf),
}

impl TypeScript {
    /// Both modes transform rather than only strip, so enums, namespaces and parameter
    /// properties run on every node alike, with stack traces on the `.ts` lines.
    pub fn plan(entrypoint: &Path, v: NodeVersion, amaro: Option<&Path>) -> Result<TypeScript, String> {
        match entrypoint.extension().and_then(|e| e.to_str()) {
            Some("ts" | "mts" | "cts") => {}
            Some("tsx") => {
                return Err(format!(
                    "entrypoint {} is TSX, which node does not run; use runtimeType \"bun\" or compile it",
                    entrypoint.display()
                ))
            }
            _ => return Ok(TypeScript::None),
        }
        if v >= (22, 7) {
            return Ok(TypeScript::Native);
        }
        match amaro {
            Some(dir) if dir.join("package.json").is_file() => Ok(TypeScript::Amaro(dir.to_path_buf())),
            _ => Err(format!(
                "entrypoint {} is TypeScript and node {}.{} has no TypeScript support of its own: the \
                 package's dependency `amaro` was not found (install the package's dependencies), or use \
                 node 22.7+, runtimeType \"bun\" or a .js/.mjs entrypoint",
                entrypoint.display(),
                v.0,
                v.1
            )),
        }
    }

    /// Node's own flags for this mode.
    pub fn node_args(&self) -> Vec<OsString> {
        match self {
            TypeScript::None => vec![],
            // The warning would land on every call's stderr.
            TypeScript::Native => {
                vec!["--experimental-transform-types".into(), "--disable-warning=ExperimentalWarning".into()]
            }
            TypeScript::Amaro(_) => vec!["--enable-source-maps".into()],
        }
    }

    /// The harness's flag (after the entrypoint) that makes it register the load hook.
    pub fn harness_arg(&self) -> Option<OsString> {
        match self {
            TypeScript::Amaro(dir) => Some(format!("--typescript={}", dir.display()).into()),
            _ => None,
        }
    }

    /// A folder the runtime reads to run TypeScript (granted by the sandbox).
    pub fn loader_dir(&self) -> Option<&Path> {
        match self {
            TypeScript::Amaro(dir) => Some(dir),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_flag_per_version() {
        assert_eq!(permission_flag((20, 20)), "--experimental-permission");
        assert_eq!(permission_flag((22, 12)), "--experimental-permission");
        assert_eq!(permission_flag((22, 13)), "--permission");
        assert_eq!(permission_flag((23, 4)), "--experimental-permission");
        assert_eq!(permission_flag((24, 0)), "--permission");
    }

    #[test]
    fn typescript_mode_per_version() {
        let ts = Path::new("/p/tools.ts");
        assert_eq!(TypeScript::plan(Path::new("/p/tools.mjs"), (20, 20), None), Ok(TypeScript::None));
        assert_eq!(TypeScript::plan(ts, (22, 7), None), Ok(TypeScript::Native));
        assert_eq!(TypeScript::plan(Path::new("/p/tools.cts"), (24, 0), None), Ok(TypeScript::Native));
        let e = TypeScript::plan(ts, (20, 20), Some(Path::new("/nonexistent"))).unwrap_err();
        assert!(e.contains("amaro") && e.contains("/p/tools.ts"), "{e}");
        assert!(TypeScript::plan(Path::new("/p/x.tsx"), (24, 0), None).unwrap_err().contains("TSX"));
    }
}
