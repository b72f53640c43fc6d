//! Deno-style permission flags, parsed into a policy. Parsing is purely syntactic; paths are
//! made absolute and canonical by [`Policy::resolve`] when a runtime is created, so a symlink
//! swapped in later cannot widen what was granted.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Result};

/// What one permission grants: nothing, everything, or a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "kind", content = "items")]
pub enum Grant<T> {
    None,
    All,
    Some(Vec<T>),
}

// Not derived: a derive would require `T: Default`, which path and host lists do not need.
#[allow(clippy::derivable_impls)]
impl<T> Default for Grant<T> {
    fn default() -> Self {
        Grant::None
    }
}

impl<T: Clone> Grant<T> {
    fn add(&mut self, items: Option<Vec<T>>) {
        match items {
            None => *self = Grant::All,
            Some(new) => match self {
                Grant::All => {}
                Grant::None => *self = Grant::Some(new),
                Grant::Some(v) => v.extend(new),
            },
        }
    }

    pub fn is_none(&self) -> bool {
        matches!(self, Grant::None)
    }

    pub fn is_all(&self) -> bool {
        matches!(self, Grant::All)
    }
}

/// A network destination in `--allow-net=HOST[:PORT]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NetTarget {
    pub host: String,
    pub port: Option<u16>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Policy {
    pub read: Grant<PathBuf>,
    pub write: Grant<PathBuf>,
    pub net: Grant<NetTarget>,
    pub env: Grant<String>,
    pub run: Grant<String>,
    pub deny_read: Grant<PathBuf>,
    pub deny_write: Grant<PathBuf>,
    pub deny_net: Grant<NetTarget>,
    pub deny_env: Grant<String>,
    pub deny_run: Grant<String>,
}

impl Policy {
    /// Parses flags in Deno's syntax. Unknown or malformed flags are errors naming the flag.
    pub fn parse(flags: &[String]) -> Result<Self> {
        let mut p = Policy::default();
        for flag in flags {
            let flag = flag.trim();
            let (name, value) = match flag.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (flag, None),
            };
            let bad = |why: &str| Error::invalid_config(format!("permission flag {flag:?}: {why}"));
            let list = |v: Option<&str>| -> Result<Option<Vec<String>>> {
                match v {
                    None => Ok(None),
                    Some(v) => {
                        let items: Vec<String> = v.split(',').map(|s| s.trim().to_string()).collect();
                        if items.iter().any(|s| s.is_empty()) {
                            return Err(bad("empty entry in the list"));
                        }
                        if items.iter().any(|s| s.contains('\0')) {
                            return Err(bad("NUL in the list"));
                        }
                        Ok(Some(items))
                    }
                }
            };
            let paths = |v: Option<&str>| -> Result<Option<Vec<PathBuf>>> {
                Ok(list(v)?.map(|v| v.into_iter().map(PathBuf::from).collect()))
            };
            let hosts = |v: Option<&str>| -> Result<Option<Vec<NetTarget>>> {
                match list(v)? {
                    None => Ok(None),
                    Some(items) => items
                        .iter()
                        .map(|s| parse_net_target(s).map_err(|why| bad(&why)))
                        .collect::<Result<Vec<_>>>()
                        .map(Some),
                }
            };
            let envs = |v: Option<&str>| -> Result<Option<Vec<String>>> {
                let items = list(v)?;
                if let Some(items) = &items {
                    for e in items {
                        let name = e.strip_suffix('*').unwrap_or(e);
                        if name.contains('*') || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                            return Err(bad(&format!("{e:?} is not a variable name or PREFIX_* pattern")));
                        }
                    }
                }
                Ok(items)
            };
            match name {
                "--allow-all" | "-A" => {
                    if value.is_some() {
                        return Err(bad("takes no value"));
                    }
                    p.read = Grant::All;
                    p.write = Grant::All;
                    p.net = Grant::All;
                    p.env = Grant::All;
                    p.run = Grant::All;
                }
                "--allow-read" | "-R" => p.read.add(paths(value)?),
                "--allow-write" | "-W" => p.write.add(paths(value)?),
                "--allow-net" | "-N" => p.net.add(hosts(value)?),
                "--allow-env" | "-E" => p.env.add(envs(value)?),
                "--allow-run" => p.run.add(list(value)?),
                "--deny-read" => p.deny_read.add(paths(value)?),
                "--deny-write" => p.deny_write.add(paths(value)?),
                "--deny-net" => p.deny_net.add(hosts(value)?),
                "--deny-env" => p.deny_env.add(envs(value)?),
                "--deny-run" => p.deny_run.add(list(value)?),
                _ => {
                    return Err(Error::invalid_config(format!(
                        "unknown permission flag {flag:?}; supported: --allow-read, --allow-write, --allow-net, \
                         --allow-env, --allow-run, --allow-all (-A), and --deny-read, --deny-write, --deny-net, \
                         --deny-env, --deny-run"
                    )))
                }
            }
        }
        Ok(p)
    }

    /// Makes every path absolute (against `project_root`) and canonical. A path that does not
    /// exist is kept absolute and lexically normalised: it cannot hold a symlink yet.
    pub fn resolve(mut self, project_root: &Path) -> Result<Self> {
        let fix = |g: &mut Grant<PathBuf>| {
            if let Grant::Some(v) = g {
                for p in v.iter_mut() {
                    *p = canonical_or_absolute(project_root, p);
                }
            }
        };
        fix(&mut self.read);
        fix(&mut self.write);
        fix(&mut self.deny_read);
        fix(&mut self.deny_write);
        Ok(self)
    }

    /// Whether no `--deny-*` flag was given.
    pub fn no_denies(&self) -> bool {
        self.deny_read.is_none()
            && self.deny_write.is_none()
            && self.deny_net.is_none()
            && self.deny_env.is_none()
            && self.deny_run.is_none()
    }

    /// Whether the tool may start other programs at all.
    pub fn run_allowed(&self) -> bool {
        !self.run.is_none() && !self.deny_run.is_all()
    }

    /// Whether the network goes through the egress proxy: a host allowlist, or everything but
    /// a host denylist.
    pub fn needs_proxy(&self) -> bool {
        match (&self.net, &self.deny_net) {
            (_, Grant::All) => false,
            (Grant::Some(_), _) => true,
            (Grant::All, Grant::Some(_)) => true,
            _ => false,
        }
    }

    /// Whether the tool gets the host's network (bare `--allow-net`, no deny).
    pub fn net_allowed(&self) -> bool {
        self.net.is_all() && self.deny_net.is_none()
    }

    /// Whether the host variable `name` passes `--allow-env`/`--deny-env`.
    pub fn env_allowed(&self, name: &str) -> bool {
        let matches = |pats: &[String]| {
            pats.iter().any(|p| match p.strip_suffix('*') {
                Some(prefix) => name.starts_with(prefix),
                None => p == name,
            })
        };
        let allowed = match &self.env {
            Grant::None => false,
            Grant::All => true,
            Grant::Some(p) => matches(p),
        };
        let denied = match &self.deny_env {
            Grant::None => false,
            Grant::All => true,
            Grant::Some(p) => matches(p),
        };
        allowed && !denied
    }
}

impl std::fmt::Display for NetTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let host = if self.host.contains(':') { format!("[{}]", self.host) } else { self.host.clone() };
        match self.port {
            Some(p) => write!(f, "{host}:{p}"),
            None => write!(f, "{host}"),
        }
    }
}

fn parse_net_target(s: &str) -> std::result::Result<NetTarget, String> {
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (h, after) = rest.split_once(']').ok_or_else(|| format!("{s:?}: unclosed IPv6 bracket"))?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or_else(|| format!("{s:?}: junk after the address"))?),
        };
        (h.to_string(), port)
    } else if s.matches(':').count() > 1 {
        (s.to_string(), None) // a bare IPv6 literal
    } else {
        match s.split_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (s.to_string(), None),
        }
    };
    let port = match port {
        None => None,
        Some(p) => Some(p.parse::<u16>().map_err(|_| format!("{s:?}: invalid port {p:?}"))?),
    };
    let valid_host = !host.is_empty()
        && (host.parse::<std::net::IpAddr>().is_ok()
            || host
                .strip_prefix("*.")
                .unwrap_or(&host)
                .split('.')
                .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')));
    if !valid_host {
        return Err(format!("{s:?} is not a host name or IP address"));
    }
    Ok(NetTarget { host: host.to_ascii_lowercase(), port })
}

/// Lexical `..`/`.` removal for paths that do not exist yet.
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

pub(crate) fn canonical_or_absolute(root: &Path, p: &Path) -> PathBuf {
    let abs = if p.is_absolute() { p.to_path_buf() } else { root.join(p) };
    std::fs::canonicalize(&abs).unwrap_or_else(|_| normalize(&abs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(flags: &[&str]) -> Result<Policy> {
        Policy::parse(&flags.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn the_seed_default_reads_anywhere_and_nothing_else() {
        let p = parse(&["--allow-read"]).unwrap();
        assert!(p.read.is_all());
        assert!(p.write.is_none() && p.net.is_none() && p.env.is_none() && p.run.is_none());
    }

    #[test]
    fn lists_accumulate_and_all_absorbs() {
        let p = parse(&["--allow-read=/a,/b", "--allow-read=/c", "--allow-env=API_KEY,AWS_*"]).unwrap();
        assert_eq!(p.read, Grant::Some(vec!["/a".into(), "/b".into(), "/c".into()]));
        assert!(p.env_allowed("API_KEY") && p.env_allowed("AWS_REGION") && !p.env_allowed("HOME"));
        let p = parse(&["-A"]).unwrap();
        assert!(p.read.is_all() && p.net.is_all() && p.run_allowed());
    }

    #[test]
    fn deny_beats_allow_for_env_and_run() {
        let p = parse(&["--allow-env", "--deny-env=SECRET_*", "--allow-run", "--deny-run"]).unwrap();
        assert!(p.env_allowed("PATHX") && !p.env_allowed("SECRET_TOKEN"));
        assert!(!p.run_allowed());
    }

    #[test]
    fn unknown_and_malformed_flags_are_named() {
        for bad in ["--allow-teleport", "--allow-read=", "--allow-env=lower-case", "--allow-all=x", "allow-read"] {
            let e = parse(&[bad]).unwrap_err();
            assert_eq!(e.code(), "ERR_INVALID_CONFIG");
            assert!(e.to_string().contains(bad), "{bad}: {e}");
        }
    }

    #[test]
    fn host_lists_go_through_the_proxy() {
        let p = parse(&["--allow-net=api.example.com,*.cdn.test:443"]).unwrap();
        assert!(p.needs_proxy() && !p.net_allowed());
        assert!(parse(&["--allow-net", "--deny-net=evil.test"]).unwrap().needs_proxy());
        assert!(!parse(&["--allow-net=a.test", "--deny-net"]).unwrap().needs_proxy());
        assert!(!parse(&["--allow-net"]).unwrap().needs_proxy());
        assert!(parse(&["--allow-net"]).unwrap().net_allowed());
        assert!(!parse(&["--allow-net", "--deny-net"]).unwrap().net_allowed());
        assert!(parse(&["--allow-net=[::1]:8080", "--deny-net"]).is_ok());
        assert!(parse(&["--allow-net=bad host"]).is_err());
    }

    #[test]
    fn paths_resolve_against_the_project_and_through_symlinks() {
        let dir = std::env::temp_dir().join(format!("policy-test-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("real")).unwrap();
        let _ = std::fs::remove_file(dir.join("link"));
        std::os::unix::fs::symlink(dir.join("real"), dir.join("link")).unwrap();
        let p = parse(&["--allow-read=link,./missing/../other"]).unwrap().resolve(&dir).unwrap();
        let canon = std::fs::canonicalize(&dir).unwrap();
        assert_eq!(p.read, Grant::Some(vec![canon.join("real"), dir.join("other")]));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
