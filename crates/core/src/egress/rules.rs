//! `--allow-net`/`--deny-net` as matching rules, the syntax of a host a client asks for, and
//! the address classes the proxy refuses unless a destination was named exactly.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

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
    /// was allowed.
    pub fn check_addr(&self, addr: IpAddr, port: u16, naming: Naming) -> Result<(), Denial> {
        let addr = addr.to_canonical();
        if self.deny.iter().any(|r| r.matches_addr(addr, port)) {
            return Err(Denial::Denied);
        }
        if naming == Naming::Wildcard {
            if let Some(class) = special_class(addr) {
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

/// The class of an address that is not the public internet (loopback, private, link-local,
/// the cloud metadata address, carrier-grade NAT, unspecified, multicast, reserved), looking
/// through IPv4-mapped, IPv4-compatible, NAT64 and 6to4 IPv6 forms. `None`: public.
pub fn special_class(addr: IpAddr) -> Option<&'static str> {
    match addr.to_canonical() {
        IpAddr::V4(v4) => special_v4(v4),
        IpAddr::V6(v6) => special_v6(v6),
    }
}

fn special_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, _, _] = ip.octets();
    Some(if ip == Ipv4Addr::new(169, 254, 169, 254) {
        "cloud metadata"
    } else if a == 0 {
        "unspecified"
    } else if ip.is_loopback() {
        "loopback"
    } else if ip.is_private() {
        "private"
    } else if ip.is_link_local() {
        "link-local"
    } else if a == 100 && (64..128).contains(&b) {
        "carrier-grade NAT"
    } else if ip.is_multicast() {
        "multicast"
    } else if ip.is_broadcast() || a >= 240 {
        "reserved"
    } else {
        return None;
    })
}

fn special_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let seg = ip.segments();
    let embedded_v4 = |hi: u16, lo: u16| Ipv4Addr::from(((hi as u32) << 16) | lo as u32);
    Some(if ip.is_unspecified() {
        "unspecified"
    } else if ip.is_loopback() {
        "loopback"
    } else if seg[0] & 0xfe00 == 0xfc00 {
        "private"
    } else if seg[0] & 0xffc0 == 0xfe80 {
        "link-local"
    } else if seg[0] & 0xffc0 == 0xfec0 {
        "site-local"
    } else if ip.is_multicast() {
        "multicast"
    } else if seg[..6] == [0; 6] {
        // IPv4-compatible (::a.b.c.d), deprecated: judged as the IPv4 address it carries.
        return special_v4(embedded_v4(seg[6], seg[7])).or(Some("reserved"));
    } else if seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        // NAT64: a translator would connect to the embedded IPv4 address.
        return special_v4(embedded_v4(seg[6], seg[7]));
    } else if seg[0] == 0x64 && seg[1] == 0xff9b && seg[2] == 1 {
        "private"
    } else if seg[0] == 0x2002 {
        // 6to4: the relay would deliver to the embedded IPv4 address.
        return special_v4(embedded_v4(seg[1], seg[2]));
    } else {
        return None;
    })
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
        let rules = NetRules::new(&[t("*.example.test", None), t("exact.test", None)], &[t("203.0.113.9", None)]);
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(rules.check_addr(ip("93.184.216.34"), 443, Naming::Wildcard).is_ok());
        assert!(matches!(
            rules.check_addr(ip("127.0.0.1"), 443, Naming::Wildcard),
            Err(Denial::SpecialAddress { class: "loopback", .. })
        ));
        assert!(rules.check_addr(ip("127.0.0.1"), 443, Naming::Exact).is_ok());
        assert_eq!(rules.check_addr(ip("203.0.113.9"), 443, Naming::Exact), Err(Denial::Denied));
        assert_eq!(rules.check_addr(ip("::ffff:203.0.113.9"), 443, Naming::Any), Err(Denial::Denied));
        // A private address listed exactly may be reached through a wildcard name too.
        let listed = NetRules::new(&[t("*.corp.test", None), t("10.0.0.5", Some(443))], &[]);
        assert!(listed.check_addr(ip("10.0.0.5"), 443, Naming::Wildcard).is_ok());
        assert!(listed.check_addr(ip("10.0.0.5"), 80, Naming::Wildcard).is_err());
        assert!(listed.check_addr(ip("10.0.0.6"), 443, Naming::Wildcard).is_err());
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
            ("255.255.255.255", "reserved"),
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
        for public in ["93.184.216.34", "172.32.0.1", "100.128.0.1", "8.8.8.8", "2606:4700::1111", "64:ff9b::808:808"] {
            assert_eq!(c(public), None, "{public}");
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
        assert!(any.check_addr("127.0.0.1".parse().unwrap(), 1, Naming::Any).is_ok());
    }
}
