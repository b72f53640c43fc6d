//! Name resolution for the proxy: the system resolver, with fixed answers for chosen names
//! (tests map their names to loopback servers and never touch real DNS).

use std::collections::HashMap;
use std::io;
use std::net::IpAddr;

#[derive(Debug, Clone, Default)]
pub struct Resolver {
    overrides: HashMap<String, Vec<IpAddr>>,
    system: bool,
}

impl Resolver {
    /// The system resolver (`getaddrinfo` through `tokio::net::lookup_host`).
    pub fn system() -> Resolver {
        Resolver { overrides: HashMap::new(), system: true }
    }

    /// Only the given answers: any other name fails as not found, without a query.
    pub fn fixed(overrides: HashMap<String, Vec<IpAddr>>) -> Resolver {
        let overrides = overrides.into_iter().map(|(k, v)| (normalize(&k), v)).collect();
        Resolver { overrides, system: false }
    }

    /// Answers `name` with `addrs`, before any system lookup.
    pub fn with_override(mut self, name: &str, addrs: Vec<IpAddr>) -> Resolver {
        self.overrides.insert(normalize(name), addrs);
        self
    }

    /// The addresses of `name`, in the resolver's order, without duplicates.
    pub async fn resolve(&self, name: &str) -> io::Result<Vec<IpAddr>> {
        let key = normalize(name);
        if let Some(addrs) = self.overrides.get(&key) {
            return Ok(addrs.clone());
        }
        if !self.system {
            return Err(io::Error::new(io::ErrorKind::NotFound, format!("{name}: no such host")));
        }
        let mut out: Vec<IpAddr> = Vec::new();
        for sa in tokio::net::lookup_host((key.as_str(), 0)).await? {
            let ip = sa.ip().to_canonical();
            if !out.contains(&ip) {
                out.push(ip);
            }
        }
        if out.is_empty() {
            return Err(io::Error::new(io::ErrorKind::NotFound, format!("{name}: no addresses")));
        }
        Ok(out)
    }
}

fn normalize(name: &str) -> String {
    name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase()
}
