//! `--allow-net`/`--deny-net` as matching rules, the syntax of a host a client asks for, and
//! the address classes the proxy refuses unless a destination was named exactly.
//!
//! Over 500 lines because of its tests: the special-purpose address tables are checked entry
//! by entry.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::local::HostAddrs;
use crate::policy::{Grant, NetTarget, Policy};

/// A destination host as a client named it: a validated, lowercased DNS name or an address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Host {
    Name(String),
    /// Canonical: an IPv4-mapped IPv6 address is stored as the IPv4 address it maps.
    Ip(IpAddr),
}

impl Host {
    /// Parses the host of a CONNECT target or of an absolute URL: a bracketed IPv6 literal
    /// (`[::1]`), a dotted-quad IPv4 literal or a DNS name. Names are lowercased and lose one
    /// trailing dot. Names whose last label is numeric (`127.1`, `2130706433`, `0x7f.1`) are
    /// refused: resolvers read them as IPv4 addresses in forms no rule could match.
    pub fn parse(s: &str) -> Result<Host, String> {
        if let Some(inner) = s.strip_prefix('[') {
            let inner = inner.strip_suffix(']').ok_or_else(|| format!("{s:?}: unclosed IPv6 bracket"))?;
            let ip: Ipv6Addr = inner.parse().map_err(|_| format!("{s:?} is not an IPv6 address"))?;
            return Ok(Host::Ip(IpAddr::V6(ip).to_canonical()));
        }
        if let Ok(ip) = s.parse::<Ipv4Addr>() {
            return Ok(Host::Ip(IpAddr::V4(ip)));
        }
        let name = s.strip_suffix('.').unwrap_or(s).to_ascii_lowercase();
        if name.is_empty() || name.len() > 253 {
            return Err(format!("{s:?} is not a host name"));
        }
        let labels_ok = name.split('.').all(|l| {
            !l.is_empty() && l.len() <= 63 && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
        if !labels_ok {
            return Err(format!("{s:?} is not a host name"));
        }
        let last = name.rsplit('.').next().unwrap_or_default();
        if last.bytes().all(|b| b.is_ascii_digit()) || (last.starts_with("0x") && last.len() > 2) {
            return Err(format!("{s:?} is neither a host name nor a dotted-quad IPv4 address"));
        }
        Ok(Host::Name(name))
    }

    /// `host:port`, with brackets around IPv6 addresses.
    pub fn with_port(&self, port: u16) -> String {
        format!("{}:{port}", self.authority())
    }

    /// The host as it appears in a URL authority (IPv6 in brackets).
    pub fn authority(&self) -> String {
        match self {
            Host::Name(n) => n.clone(),
            Host::Ip(IpAddr::V6(ip)) => format!("[{ip}]"),
            Host::Ip(ip) => ip.to_string(),
        }
    }
}

impl std::fmt::Display for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Host::Name(n) => f.write_str(n),
            Host::Ip(ip) => write!(f, "{ip}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Pattern {
    /// An exact name.
    Name(String),
    /// `*.example.com`, stored as `.example.com`: any name strictly below it, at any depth
    /// (`a.example.com`, `a.b.example.com`), never `example.com` itself.
    Suffix(String),
    /// An address literal (canonical).
    Ip(IpAddr),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Rule {
    pattern: Pattern,
    /// `None`: any port.
    port: Option<u16>,
}

impl Rule {
    fn from_target(t: &NetTarget) -> Rule {
        let host = t.host.trim_end_matches('.').to_ascii_lowercase();
        let pattern = if let Ok(ip) = host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() {
            Pattern::Ip(ip.to_canonical())
        } else if let Some(rest) = host.strip_prefix("*.") {
            Pattern::Suffix(format!(".{rest}"))
        } else {
            Pattern::Name(host)
        };
        Rule { pattern, port: t.port }
    }

    fn port_matches(&self, port: u16) -> bool {
        self.port.is_none_or(|p| p == port)
    }

    /// Whether the rule matches what the client asked for, and whether it names it exactly.
    fn matches_host(&self, host: &Host, port: u16) -> Option<Naming> {
        if !self.port_matches(port) {
            return None;
        }
        match (&self.pattern, host) {
            (Pattern::Name(n), Host::Name(h)) if n == h => Some(Naming::Exact),
            (Pattern::Suffix(s), Host::Name(h)) if h.ends_with(s.as_str()) => Some(Naming::Wildcard),
            (Pattern::Ip(a), Host::Ip(b)) if a == b => Some(Naming::Exact),
            _ => None,
        }
    }

    fn matches_addr(&self, addr: IpAddr, port: u16) -> bool {
        matches!(&self.pattern, Pattern::Ip(a) if *a == addr.to_canonical()) && self.port_matches(port)
    }
}

/// How an allowing rule names a destination: only an exact name or address may reach the
/// address classes of [`special_class`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Naming {
    Exact,
    Wildcard,
    /// Allowed by bare `--allow-net` (with a `--deny-net` list): every address, as the host's
    /// own network would give.
    Any,
}

/// Why the proxy refused a destination on policy grounds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denial {
    /// No `--allow-net` entry matches.
    NotAllowed,
    /// A `--deny-net` entry matches (deny wins over allow).
    Denied,
    /// A wildcard allowed the name, but it resolves only to addresses of a class that needs
    /// an exact entry.
    SpecialAddress { addr: IpAddr, class: &'static str },
}

impl std::fmt::Display for Denial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Denial::NotAllowed => f.write_str("not allowed by the policy (--allow-net)"),
            Denial::Denied => f.write_str("denied by the policy (--deny-net)"),
            Denial::SpecialAddress { addr, class } => write!(
                f,
                "it resolves to {addr}, a {class} address, which only an exact --allow-net entry (the name or the address, not a wildcard) may reach"
            ),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Allow {
    Any,
    List(Vec<Rule>),
}

/// The network part of a policy, as the proxy applies it. Deny wins over allow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetRules {
    allow: Allow,
    deny: Vec<Rule>,
}

impl NetRules {
    /// Allows the `allow` destinations except the `deny` ones.
    pub fn new(allow: &[NetTarget], deny: &[NetTarget]) -> NetRules {
        NetRules {
            allow: Allow::List(allow.iter().map(Rule::from_target).collect()),
            deny: deny.iter().map(Rule::from_target).collect(),
        }
    }

    /// Allows every destination except the `deny` ones: bare `--allow-net` with a
    /// `--deny-net` list. Addresses of every class are reachable, as they are with bare
    /// `--allow-net` alone, unless denied by an address entry.
    pub fn allow_any_except(deny: &[NetTarget]) -> NetRules {
        NetRules { allow: Allow::Any, deny: deny.iter().map(Rule::from_target).collect() }
    }

    /// The rules of `--allow-net` and `--deny-net` as granted.
    pub fn from_grants(allow: &Grant<NetTarget>, deny: &Grant<NetTarget>) -> NetRules {
        let deny_list: &[NetTarget] = match deny {
            Grant::All => return NetRules::new(&[], &[]),
            Grant::None => &[],
            Grant::Some(v) => v,
        };
        match allow {
            Grant::None => NetRules::new(&[], deny_list),
            Grant::All => NetRules::allow_any_except(deny_list),
            Grant::Some(v) => NetRules::new(v, deny_list),
        }
    }

    pub fn from_policy(policy: &Policy) -> NetRules {
        NetRules::from_grants(&policy.net, &policy.deny_net)
    }

    /// The check on what the client asked for, before any name is resolved (a denied name
    /// is never looked up: DNS queries would carry data out).
    pub fn check_host(&self, host: &Host, port: u16) -> Result<Naming, Denial> {
        if self.deny.iter().any(|r| r.matches_host(host, port).is_some()) {
            return Err(Denial::Denied);
        }
        if let Host::Ip(ip) = host {
            if self.deny.iter().any(|r| r.matches_addr(*ip, port)) {
                return Err(Denial::Denied);
            }
        }
        match &self.allow {
            Allow::Any => Ok(Naming::Any),
            Allow::List(rules) => {
                let mut best = None;
                for r in rules {
                    match r.matches_host(host, port) {
                        Some(Naming::Exact) => return Ok(Naming::Exact),
                        Some(n) => best = Some(n),
                        None => {}
                    }
                }
                best.ok_or(Denial::NotAllowed)
            }
        }
    }

    /// The check on one address the name resolved to (or the literal), given how the name
    /// was allowed. `host` holds the addresses of this host's own interfaces, which a wildcard
    /// may not reach any more than loopback.
    pub fn check_addr(&self, addr: IpAddr, port: u16, naming: Naming, host: &HostAddrs) -> Result<(), Denial> {
        let addr = addr.to_canonical();
        if self.deny.iter().any(|r| r.matches_addr(addr, port)) {
            return Err(Denial::Denied);
        }
        if naming == Naming::Wildcard {
            let class = match special_class(addr) {
                Some("loopback") => Some("loopback"),
                _ if host.contains(addr) => Some(HOST_INTERFACE),
                other => other,
            };
            if let Some(class) = class {
                // An address listed exactly may be reached whatever name led to it.
                let listed =
                    matches!(&self.allow, Allow::List(rules) if rules.iter().any(|r| r.matches_addr(addr, port)));
                if !listed {
                    return Err(Denial::SpecialAddress { addr, class });
                }
            }
        }
        Ok(())
    }
}

/// The class of an address of one of this host's own interfaces (other than loopback).
pub const HOST_INTERFACE: &str = "host interface";

/// The class of an address that is not the public internet: the IANA IPv4 and IPv6
/// special-purpose registries (every block not marked globally reachable) and the cloud
/// metadata address, looking through IPv4-mapped, IPv4-compatible, NAT64 (64:ff9b::/96) and
/// 6to4 forms to the IPv4 address they lead to. Every IPv6 address outside 2000::/3 (global
/// unicast) is reserved. `None`: public.
pub fn special_class(addr: IpAddr) -> Option<&'static str> {
    match addr.to_canonical() {
        IpAddr::V4(v4) => special_v4(v4),
        IpAddr::V6(v6) => special_v6(v6),
    }
}

/// `(first address, prefix length, class)`, IPv4; the first match wins.
const V4_BLOCKS: &[([u8; 4], u8, &str)] = &[
    ([169, 254, 169, 254], 32, "cloud metadata"),
    ([0, 0, 0, 0], 8, "unspecified"),
    ([10, 0, 0, 0], 8, "private"),
    ([100, 64, 0, 0], 10, "carrier-grade NAT"),
    ([127, 0, 0, 0], 8, "loopback"),
    ([169, 254, 0, 0], 16, "link-local"),
    ([172, 16, 0, 0], 12, "private"),
    // 192.0.0.9 and 192.0.0.10 (PCP and TURN anycast) are globally reachable: see v4_global.
    ([192, 0, 0, 0], 24, "IETF protocol assignment"),
    ([192, 0, 2, 0], 24, "documentation"),
    ([192, 88, 99, 0], 24, "deprecated 6to4 relay"),
    ([192, 168, 0, 0], 16, "private"),
    ([198, 18, 0, 0], 15, "benchmarking"),
    ([198, 51, 100, 0], 24, "documentation"),
    ([203, 0, 113, 0], 24, "documentation"),
    ([224, 0, 0, 0], 4, "multicast"),
    ([255, 255, 255, 255], 32, "broadcast"),
    ([240, 0, 0, 0], 4, "reserved"),
];

fn in_v4(ip: Ipv4Addr, first: [u8; 4], len: u8) -> bool {
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    u32::from(ip) & mask == u32::from(Ipv4Addr::from(first))
}

fn special_v4(ip: Ipv4Addr) -> Option<&'static str> {
    if ip == Ipv4Addr::new(192, 0, 0, 9) || ip == Ipv4Addr::new(192, 0, 0, 10) {
        return None;
    }
    V4_BLOCKS.iter().find(|(first, len, _)| in_v4(ip, *first, *len)).map(|(_, _, class)| *class)
}

/// `(first address as segments, prefix length, class)`, IPv6 inside 2000::/3 or with a class
/// more telling than "reserved"; the first match wins. Globally reachable exceptions inside
/// these blocks come first with an empty class.
const V6_BLOCKS: &[([u16; 8], u8, &str)] = &[
    ([0x100, 0, 0, 0, 0, 0, 0, 0], 64, "discard-only"),
    ([0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48, "local-use NAT64"),
    // 2001::/23, IETF protocol assignments: not global, except these subranges.
    ([0x2001, 1, 0, 0, 0, 0, 0, 1], 128, ""),
    ([0x2001, 1, 0, 0, 0, 0, 0, 2], 128, ""),
    ([0x2001, 1, 0, 0, 0, 0, 0, 3], 128, ""),
    ([0x2001, 3, 0, 0, 0, 0, 0, 0], 32, ""),
    ([0x2001, 4, 0x112, 0, 0, 0, 0, 0], 48, ""),
    ([0x2001, 0x20, 0, 0, 0, 0, 0, 0], 28, ""),
    ([0x2001, 0x30, 0, 0, 0, 0, 0, 0], 28, ""),
    ([0x2001, 0, 0, 0, 0, 0, 0, 0], 32, "Teredo"),
    ([0x2001, 2, 0, 0, 0, 0, 0, 0], 48, "benchmarking"),
    ([0x2001, 0, 0, 0, 0, 0, 0, 0], 23, "IETF protocol assignment"),
    ([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32, "documentation"),
    ([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20, "documentation"),
    ([0x5f00, 0, 0, 0, 0, 0, 0, 0], 16, "segment routing"),
    ([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7, "private"),
    ([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10, "link-local"),
    ([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10, "site-local"),
    ([0xff00, 0, 0, 0, 0, 0, 0, 0], 8, "multicast"),
];

fn in_v6(ip: Ipv6Addr, first: [u16; 8], len: u8) -> bool {
    let mask = if len == 0 { 0 } else { u128::MAX << (128 - len) };
    u128::from(ip) & mask == u128::from(Ipv6Addr::from(first))
}

fn special_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let seg = ip.segments();
    let embedded_v4 = |hi: u16, lo: u16| Ipv4Addr::from(((hi as u32) << 16) | lo as u32);
    if ip.is_unspecified() {
        return Some("unspecified");
    }
    if ip.is_loopback() {
        return Some("loopback");
    }
    if seg[..6] == [0; 6] {
        // IPv4-compatible (::a.b.c.d), deprecated: judged as the IPv4 address it carries.
        return special_v4(embedded_v4(seg[6], seg[7])).or(Some("reserved"));
    }
    if seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        // NAT64: a translator would connect to the embedded IPv4 address.
        return special_v4(embedded_v4(seg[6], seg[7]));
    }
    if seg[0] == 0x2002 {
        // 6to4: the relay would deliver to the embedded IPv4 address.
        return special_v4(embedded_v4(seg[1], seg[2]));
    }
    if let Some((_, _, class)) = V6_BLOCKS.iter().find(|(first, len, _)| in_v6(ip, *first, *len)) {
        return (!class.is_empty()).then_some(*class);
    }
    // Outside 2000::/3 nothing is allocated for global unicast.
    (seg[0] & 0xe000 != 0x2000).then_some("reserved")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(host: &str, port: Option<u16>) -> NetTarget {
        NetTarget { host: host.into(), port }
    }

    fn h(s: &str) -> Host {
        Host::parse(s).unwrap()
    }

    #[test]
    fn hosts_parse_strictly() {
        assert_eq!(h("API.Test."), Host::Name("api.test".into()));
        assert_eq!(h("[::1]"), Host::Ip("::1".parse().unwrap()));
        assert_eq!(h("[::ffff:10.0.0.1]"), Host::Ip("10.0.0.1".parse().unwrap()));
        assert_eq!(h("10.0.0.1"), Host::Ip("10.0.0.1".parse().unwrap()));
        for bad in ["", "127.1", "2130706433", "0x7f.1", "a..b", "a b", "[::1", "[zz]", "x@y", "a/b", "ex.0x10"] {
            assert!(Host::parse(bad).is_err(), "{bad:?} parsed");
        }
        assert_eq!(h("[::1]").with_port(80), "[::1]:80");
    }

    #[test]
    fn exact_wildcard_ports_and_deny() {
        let rules = NetRules::new(
            &[t("api.test", Some(443)), t("*.example.test", None), t("10.1.2.3", None), t("::1", Some(8080))],
            &[t("bad.example.test", None), t("*.evil.example.test", Some(443))],
        );
        assert_eq!(rules.check_host(&h("api.test"), 443), Ok(Naming::Exact));
        assert_eq!(rules.check_host(&h("api.test"), 80), Err(Denial::NotAllowed));
        assert_eq!(rules.check_host(&h("a.b.example.test"), 1), Ok(Naming::Wildcard));
        assert_eq!(rules.check_host(&h("example.test"), 443), Err(Denial::NotAllowed));
        assert_eq!(rules.check_host(&h("xexample.test"), 443), Err(Denial::NotAllowed));
        assert_eq!(rules.check_host(&h("bad.example.test"), 443), Err(Denial::Denied));
        assert_eq!(rules.check_host(&h("x.evil.example.test"), 443), Err(Denial::Denied));
        assert_eq!(rules.check_host(&h("x.evil.example.test"), 80), Ok(Naming::Wildcard));
        assert_eq!(rules.check_host(&h("10.1.2.3"), 22), Ok(Naming::Exact));
        assert_eq!(rules.check_host(&h("[::ffff:10.1.2.3]"), 22), Ok(Naming::Exact));
        assert_eq!(rules.check_host(&h("[::1]"), 8080), Ok(Naming::Exact));
        assert_eq!(rules.check_host(&h("[::1]"), 8081), Err(Denial::NotAllowed));
        assert_eq!(rules.check_host(&h("other.test"), 443), Err(Denial::NotAllowed));
    }

    #[test]
    fn addresses_of_wildcard_names_must_be_public() {
        let none = HostAddrs::fixed(vec![]);
        let rules = NetRules::new(&[t("*.example.test", None), t("exact.test", None)], &[t("203.0.113.9", None)]);
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(rules.check_addr(ip("93.184.216.34"), 443, Naming::Wildcard, &none).is_ok());
        assert!(matches!(
            rules.check_addr(ip("127.0.0.1"), 443, Naming::Wildcard, &none),
            Err(Denial::SpecialAddress { class: "loopback", .. })
        ));
        assert!(rules.check_addr(ip("127.0.0.1"), 443, Naming::Exact, &none).is_ok());
        assert_eq!(rules.check_addr(ip("203.0.113.9"), 443, Naming::Exact, &none), Err(Denial::Denied));
        assert_eq!(rules.check_addr(ip("::ffff:203.0.113.9"), 443, Naming::Any, &none), Err(Denial::Denied));
        // A private address listed exactly may be reached through a wildcard name too.
        let listed = NetRules::new(&[t("*.corp.test", None), t("10.0.0.5", Some(443))], &[]);
        assert!(listed.check_addr(ip("10.0.0.5"), 443, Naming::Wildcard, &none).is_ok());
        assert!(listed.check_addr(ip("10.0.0.5"), 80, Naming::Wildcard, &none).is_err());
        assert!(listed.check_addr(ip("10.0.0.6"), 443, Naming::Wildcard, &none).is_err());
    }

    #[test]
    fn special_classes() {
        let c = |s: &str| special_class(s.parse().unwrap());
        for (addr, class) in [
            ("127.0.0.1", "loopback"),
            ("127.255.0.9", "loopback"),
            ("10.9.8.7", "private"),
            ("172.16.0.1", "private"),
            ("172.31.255.255", "private"),
            ("192.168.1.1", "private"),
            ("169.254.169.254", "cloud metadata"),
            ("169.254.1.1", "link-local"),
            ("100.64.0.1", "carrier-grade NAT"),
            ("100.127.255.255", "carrier-grade NAT"),
            ("0.0.0.0", "unspecified"),
            ("0.1.2.3", "unspecified"),
            ("224.0.0.1", "multicast"),
            ("255.255.255.255", "broadcast"),
            ("192.0.0.8", "IETF protocol assignment"),
            ("192.0.2.2", "documentation"),
            ("192.88.99.1", "deprecated 6to4 relay"),
            ("198.18.0.1", "benchmarking"),
            ("198.19.255.255", "benchmarking"),
            ("198.51.100.7", "documentation"),
            ("203.0.113.200", "documentation"),
            ("::ffff:192.0.2.2", "documentation"),
            ("::ffff:0.0.0.0", "unspecified"),
            ("64:ff9b::c000:202", "documentation"),
            ("64:ff9b::7f00:1", "loopback"),
            ("64:ff9b:1::808:808", "local-use NAT64"),
            ("100::1", "discard-only"),
            ("2001::1", "Teredo"),
            ("2001:2::1", "benchmarking"),
            ("2001:10::1", "IETF protocol assignment"),
            ("2001:1ff::1", "IETF protocol assignment"),
            ("2001:db8::1", "documentation"),
            ("2002:c000:202::1", "documentation"),
            ("2002:a9fe:a9fe::1", "cloud metadata"),
            ("3fff:fff::1", "documentation"),
            ("5f00::1", "segment routing"),
            ("fd00::2", "private"),
            ("4000::1", "reserved"),
            ("1::1", "reserved"),
            ("240.0.0.1", "reserved"),
            ("::", "unspecified"),
            ("::1", "loopback"),
            ("fc00::1", "private"),
            ("fd12:3456::1", "private"),
            ("fe80::1", "link-local"),
            ("febf::1", "link-local"),
            ("fec0::1", "site-local"),
            ("ff02::1", "multicast"),
            ("::ffff:127.0.0.1", "loopback"),
            ("::ffff:169.254.169.254", "cloud metadata"),
            ("::10.0.0.1", "private"),
            ("64:ff9b::a9fe:a9fe", "cloud metadata"),
            ("2002:7f00:1::", "loopback"),
            ("fd00:ec2::254", "private"),
        ] {
            assert_eq!(c(addr), Some(class), "{addr}");
        }
        for public in [
            "93.184.216.34",
            "172.32.0.1",
            "100.128.0.1",
            "8.8.8.8",
            "192.0.0.9",
            "192.0.0.10",
            "192.0.3.1",
            "198.20.0.1",
            "2606:4700::1111",
            "64:ff9b::808:808",
            "2002:808:808::1",
            "2001:1::1",
            "2001:3::1",
            "2001:4:112::1",
            "2001:20::1",
            "2001:200::1",
            "2001:db9::1",
            "3fff:1000::1",
            "2620:4f:8000::1",
        ] {
            assert_eq!(c(public), None, "{public}");
        }
    }

    #[test]
    fn addresses_of_this_host_need_an_exact_entry_like_loopback() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        // A public address that stands for one of this host's interfaces.
        let host = HostAddrs::fixed(vec![ip("93.184.216.34"), ip("2606:4700::1111")]);
        let rules = NetRules::new(&[t("*.example.test", None), t("2606:4700::1111", Some(443))], &[]);
        assert_eq!(
            rules.check_addr(ip("93.184.216.34"), 443, Naming::Wildcard, &host),
            Err(Denial::SpecialAddress { addr: ip("93.184.216.34"), class: HOST_INTERFACE })
        );
        assert_eq!(
            rules.check_addr(ip("::ffff:93.184.216.34"), 443, Naming::Wildcard, &host),
            Err(Denial::SpecialAddress { addr: ip("93.184.216.34"), class: HOST_INTERFACE })
        );
        // Named exactly, or listed exactly as an address, it is reachable.
        assert!(rules.check_addr(ip("93.184.216.34"), 443, Naming::Exact, &host).is_ok());
        assert!(rules.check_addr(ip("2606:4700::1111"), 443, Naming::Wildcard, &host).is_ok());
        assert!(rules.check_addr(ip("2606:4700::1111"), 80, Naming::Wildcard, &host).is_err());
        // Addresses of other hosts stay public; loopback stays loopback.
        assert!(rules.check_addr(ip("93.184.216.35"), 443, Naming::Wildcard, &host).is_ok());
        let lo = HostAddrs::fixed(vec![ip("127.0.0.1")]);
        assert_eq!(
            rules.check_addr(ip("127.0.0.1"), 443, Naming::Wildcard, &lo),
            Err(Denial::SpecialAddress { addr: ip("127.0.0.1"), class: "loopback" })
        );
        // The real interfaces: every one of them is refused to a wildcard.
        let real = HostAddrs::system();
        for a in real.current().iter() {
            assert!(
                matches!(rules.check_addr(*a, 9, Naming::Wildcard, &real), Err(Denial::SpecialAddress { .. })),
                "{a}"
            );
        }
    }

    #[test]
    fn grants_map_to_rules() {
        let list = Grant::Some(vec![t("a.test", None)]);
        assert_eq!(NetRules::from_grants(&list, &Grant::All).check_host(&h("a.test"), 1), Err(Denial::NotAllowed));
        assert_eq!(
            NetRules::from_grants(&Grant::None, &Grant::None).check_host(&h("a.test"), 1),
            Err(Denial::NotAllowed)
        );
        let any = NetRules::from_grants(&Grant::All, &list);
        assert_eq!(any.check_host(&h("b.test"), 1), Ok(Naming::Any));
        assert_eq!(any.check_host(&h("a.test"), 1), Err(Denial::Denied));
        let none = HostAddrs::fixed(vec![]);
        assert!(any.check_addr("127.0.0.1".parse().unwrap(), 1, Naming::Any, &none).is_ok());
    }
}
