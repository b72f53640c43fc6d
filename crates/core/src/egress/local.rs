//! The addresses of this host's own interfaces. A service bound to 0.0.0.0 answers on every
//! one of them, so a wildcard-allowed name that resolves to one (the machine's eth0 address,
//! say, which may well be public) would reach host services as surely as loopback would: the
//! proxy treats them like loopback. Interfaces change (DHCP, VPNs, containers), so the list is
//! read again when it is older than a short TTL, at the moment a connection is checked.

use std::net::IpAddr;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

/// How long a reading of the interfaces is trusted. `getifaddrs` is a netlink dump (tens of
/// microseconds); a wildcard destination checks at most once per this interval.
const TTL: Duration = Duration::from_millis(250);

#[derive(Debug)]
pub struct HostAddrs {
    source: Source,
    cache: Mutex<Option<(Instant, Arc<Vec<IpAddr>>)>>,
}

#[derive(Debug)]
enum Source {
    System,
    Fixed(Arc<Vec<IpAddr>>),
}

static SYSTEM: LazyLock<Arc<HostAddrs>> =
    LazyLock::new(|| Arc::new(HostAddrs { source: Source::System, cache: Mutex::new(None) }));

impl HostAddrs {
    /// The host's interfaces, shared by every proxy of the process (one cache, one reading per
    /// TTL however many proxies there are).
    pub fn system() -> Arc<HostAddrs> {
        SYSTEM.clone()
    }

    /// A fixed list (tests: an address that stands for "an interface of this host").
    pub fn fixed(addrs: Vec<IpAddr>) -> Arc<HostAddrs> {
        let addrs = addrs.into_iter().map(|a| a.to_canonical()).collect();
        Arc::new(HostAddrs { source: Source::Fixed(Arc::new(addrs)), cache: Mutex::new(None) })
    }

    /// The current list (canonical forms), read again if the last reading is older than the TTL.
    pub fn current(&self) -> Arc<Vec<IpAddr>> {
        if let Source::Fixed(a) = &self.source {
            return a.clone();
        }
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((at, addrs)) = cache.as_ref() {
            if at.elapsed() < TTL {
                return addrs.clone();
            }
        }
        let addrs = Arc::new(read_interfaces());
        *cache = Some((Instant::now(), addrs.clone()));
        addrs
    }

    pub fn contains(&self, addr: IpAddr) -> bool {
        self.current().contains(&addr.to_canonical())
    }
}

/// Every address of every interface, up or not (an interface brought up later keeps its
/// address). If the interfaces cannot be read, the list is empty: the address classes of
/// [`super::special_class`] still apply.
fn read_interfaces() -> Vec<IpAddr> {
    let Ok(ifaces) = nix::ifaddrs::getifaddrs() else {
        return Vec::new();
    };
    let mut out: Vec<IpAddr> = Vec::new();
    for iface in ifaces {
        let Some(sa) = iface.address else { continue };
        let ip = if let Some(v4) = sa.as_sockaddr_in() {
            IpAddr::V4(v4.ip())
        } else if let Some(v6) = sa.as_sockaddr_in6() {
            IpAddr::V6(v6.ip()).to_canonical()
        } else {
            continue;
        };
        if !out.contains(&ip) {
            out.push(ip);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_real_interfaces_and_caches_them() {
        let host = HostAddrs::system();
        let addrs = host.current();
        assert!(addrs.contains(&IpAddr::from([127, 0, 0, 1])), "{addrs:?}");
        // Within the TTL the same reading is returned.
        assert!(Arc::ptr_eq(&addrs, &host.current()));
        std::thread::sleep(TTL + Duration::from_millis(10));
        assert!(!Arc::ptr_eq(&addrs, &host.current()));
    }

    #[test]
    fn fixed_lists_compare_canonically() {
        let host = HostAddrs::fixed(vec!["::ffff:93.184.216.34".parse().unwrap()]);
        assert!(host.contains("93.184.216.34".parse().unwrap()));
        assert!(!host.contains("93.184.216.35".parse().unwrap()));
    }
}
