//! The little of HTTP/1.x the proxy speaks: one request head from the client (CONNECT or an
//! absolute-form request), its rewrite to origin form, and the proxy's own short answers.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::rules::Host;

/// Why no request head could be read.
#[derive(Debug)]
pub(crate) enum HeadError {
    /// The client closed (or broke) the connection first.
    Closed,
    /// Over the size cap.
    TooLarge,
}

/// Reads one request head (through the blank line). Returns the head and any bytes the
/// client already sent after it (a body or an early TLS hello), which must be forwarded.
pub(crate) async fn read_head<R: AsyncRead + Unpin>(r: &mut R, max: usize) -> Result<(Vec<u8>, Vec<u8>), HeadError> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    loop {
        let n = r.read(&mut chunk).await.map_err(|_| HeadError::Closed)?;
        if n == 0 {
            return Err(HeadError::Closed);
        }
        let from = buf.len().saturating_sub(3);
        buf.extend_from_slice(&chunk[..n]);
        if let Some(pos) = find(&buf[from..], b"\r\n\r\n") {
            let end = from + pos + 4;
            if end > max {
                return Err(HeadError::TooLarge);
            }
            let rest = buf.split_off(end);
            return Ok((buf, rest));
        }
        if buf.len() > max {
            return Err(HeadError::TooLarge);
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// What the client asked the proxy for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// `CONNECT host:port`: a tunnel.
    Connect { host: Host, port: u16 },
    /// `METHOD http://host[:port]/path`: one plain HTTP request.
    Absolute { host: Host, port: u16, authority: String, path: String },
}

#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub method: String,
    pub target: Target,
    /// `HTTP/1.0` or `HTTP/1.1`.
    pub version: String,
    pub headers: Vec<(String, String)>,
}

/// A request the proxy cannot serve: answered with 400 and this text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BadRequest(pub String);

pub(crate) fn parse_request(head: &[u8]) -> Result<Request, BadRequest> {
    let bad = |s: &str| BadRequest(s.to_string());
    let text = std::str::from_utf8(head).map_err(|_| bad("the request head is not UTF-8"))?;
    let text = text.strip_suffix("\r\n\r\n").ok_or_else(|| bad("the request head is incomplete"))?;
    let mut lines = text.split("\r\n");
    let line = lines.next().unwrap_or_default();
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad("malformed request line"));
    };
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)) {
        return Err(bad("malformed method"));
    }
    if version != "HTTP/1.1" && version != "HTTP/1.0" {
        return Err(bad("only HTTP/1.0 and HTTP/1.1 are supported"));
    }
    if target.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return Err(bad("malformed request target"));
    }
    let mut headers = Vec::new();
    for l in lines {
        let (name, value) = l.split_once(':').ok_or_else(|| bad("malformed header line"))?;
        let token =
            |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
        if !token(name) {
            return Err(bad("malformed header name (obsolete line folding is not supported)"));
        }
        if value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
            return Err(bad("malformed header value"));
        }
        headers.push((name.to_string(), value.trim_matches([' ', '\t']).to_string()));
    }
    let target = if method.eq_ignore_ascii_case("CONNECT") {
        let (host, port) =
            split_authority(target).map_err(|e| BadRequest(format!("CONNECT target {target:?}: {e}")))?;
        let port = port.ok_or_else(|| BadRequest(format!("CONNECT target {target:?} has no port")))?;
        Target::Connect { host, port }
    } else {
        parse_absolute(target)?
    };
    Ok(Request { method: method.to_string(), target, version: version.to_string(), headers })
}

fn parse_absolute(target: &str) -> Result<Target, BadRequest> {
    let lower = target.get(..8).unwrap_or(target).to_ascii_lowercase();
    let rest = if lower.starts_with("http://") {
        &target[7..]
    } else if lower.starts_with("https://") {
        return Err(BadRequest(
            "the proxy does not make TLS connections for clients: send CONNECT host:443 and speak TLS through the tunnel"
                .into(),
        ));
    } else if target.starts_with('/') {
        return Err(BadRequest(
            "this is an HTTP proxy: send absolute-form requests (GET http://host/path) or CONNECT host:port".into(),
        ));
    } else {
        return Err(BadRequest(format!("unsupported request target {target:?}: only http:// URLs and CONNECT")));
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, mut path) = rest.split_at(end);
    if let Some(i) = path.find('#') {
        path = &path[..i];
    }
    if authority.contains('@') {
        return Err(BadRequest("credentials in the URL are not supported".into()));
    }
    let (host, port) = split_authority(authority).map_err(|e| BadRequest(format!("URL {target:?}: {e}")))?;
    let port = port.unwrap_or(80);
    let path = if path.is_empty() {
        "/".to_string()
    } else if path.starts_with('?') {
        format!("/{path}")
    } else {
        path.to_string()
    };
    let authority = if port == 80 { host.authority() } else { host.with_port(port) };
    Ok(Target::Absolute { host, port, authority, path })
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`.
fn split_authority(s: &str) -> Result<(Host, Option<u16>), String> {
    let (host, port) = if s.starts_with('[') {
        match s.find(']') {
            Some(i) => {
                let (h, after) = s.split_at(i + 1);
                match after {
                    "" => (h, None),
                    p => (h, Some(p.strip_prefix(':').ok_or("junk after the IPv6 address")?)),
                }
            }
            None => return Err("unclosed IPv6 bracket".into()),
        }
    } else {
        match s.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    let port = match port {
        None | Some("") => None,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 && p.bytes().all(|b| b.is_ascii_digit()) => Some(n),
            _ => return Err(format!("invalid port {p:?}")),
        },
    };
    Ok((Host::parse(host)?, port))
}

/// The head forwarded to the origin for an absolute-form request: origin-form request line,
/// `Host` from the URL, hop-by-hop and proxy headers dropped, and `Connection: close` (one
/// request per proxied connection, so a client that reuses its proxy connection for another
/// origin cannot end up at the first one) unless the client asks for an upgrade.
pub(crate) fn origin_head(req: &Request) -> Vec<u8> {
    let Target::Absolute { authority, path, .. } = &req.target else {
        return Vec::new();
    };
    let connection_tokens: Vec<String> = req
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("connection") || n.eq_ignore_ascii_case("proxy-connection"))
        .flat_map(|(_, v)| v.split(',').map(|t| t.trim().to_ascii_lowercase()).collect::<Vec<_>>())
        .collect();
    let upgrade = connection_tokens.iter().any(|t| t == "upgrade");
    let mut out = format!("{} {} {}\r\nHost: {}\r\n", req.method, path, req.version, authority);
    for (name, value) in &req.headers {
        let lower = name.to_ascii_lowercase();
        let hop =
            matches!(lower.as_str(), "host" | "connection" | "proxy-connection" | "proxy-authorization" | "keep-alive")
                || (connection_tokens.contains(&lower) && !(upgrade && lower == "upgrade"));
        if !hop {
            out.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    out.push_str(if upgrade { "Connection: Upgrade\r\n\r\n" } else { "Connection: close\r\n\r\n" });
    out.into_bytes()
}

/// Whether the client asks to upgrade the connection (a WebSocket over plain HTTP), which is
/// then spliced as a tunnel.
pub(crate) fn is_upgrade(req: &Request) -> bool {
    req.headers.iter().any(|(n, v)| {
        (n.eq_ignore_ascii_case("connection") || n.eq_ignore_ascii_case("proxy-connection"))
            && v.split(',').any(|t| t.trim().eq_ignore_ascii_case("upgrade"))
    })
}

/// The request body's length: `Content-Length`, 0 without one, `None` for a chunked body
/// (forwarded until the client stops).
pub(crate) fn body_length(req: &Request) -> Option<u64> {
    let chunked = req
        .headers
        .iter()
        .any(|(n, v)| n.eq_ignore_ascii_case("transfer-encoding") && v.to_ascii_lowercase().contains("chunked"));
    if chunked {
        return None;
    }
    Some(
        req.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.trim().parse().ok())
            .unwrap_or(0),
    )
}

/// A response head with its connection headers replaced by `Connection: close`.
pub(crate) fn close_response_head(head: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(head);
    let mut out = String::with_capacity(head.len() + 20);
    for (i, line) in text.split("\r\n").enumerate() {
        if line.is_empty() {
            continue;
        }
        let name = line.split(':').next().unwrap_or("").trim();
        if i > 0 && (name.eq_ignore_ascii_case("connection") || name.eq_ignore_ascii_case("keep-alive")) {
            continue;
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str("Connection: close\r\n\r\n");
    out.into_bytes()
}

/// Writes one complete response of the proxy's own and flushes it.
pub(crate) async fn respond<W: AsyncWrite + Unpin>(
    w: &mut W,
    status: u16,
    reason: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> std::io::Result<()> {
    let reason: String = reason.chars().filter(|c| !c.is_control()).collect();
    let mut out = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (n, v) in headers {
        // Values are built by the proxy from validated hosts; strip anything that could split
        // the head all the same.
        let v: String = v.chars().filter(|c| !c.is_control()).collect();
        out.push_str(&format!("{n}: {v}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(body);
    w.write_all(out.as_bytes()).await?;
    w.flush().await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(s: &str) -> Result<Request, BadRequest> {
        parse_request(s.as_bytes())
    }

    #[test]
    fn connect_and_absolute_targets() {
        let r = req("CONNECT api.test:443 HTTP/1.1\r\nHost: api.test:443\r\n\r\n").unwrap();
        assert_eq!(r.target, Target::Connect { host: Host::Name("api.test".into()), port: 443 });
        let r = req("CONNECT [::1]:8443 HTTP/1.1\r\n\r\n").unwrap();
        assert_eq!(r.target, Target::Connect { host: Host::Ip("::1".parse().unwrap()), port: 8443 });
        let r = req("GET http://API.test:8080?q=1#frag HTTP/1.1\r\nHost: evil\r\nProxy-Connection: keep-alive\r\nX-A: b\r\n\r\n").unwrap();
        assert_eq!(
            r.target,
            Target::Absolute {
                host: Host::Name("api.test".into()),
                port: 8080,
                authority: "api.test:8080".into(),
                path: "/?q=1".into()
            }
        );
        assert_eq!(
            String::from_utf8(origin_head(&r)).unwrap(),
            "GET /?q=1 HTTP/1.1\r\nHost: api.test:8080\r\nX-A: b\r\nConnection: close\r\n\r\n"
        );
        let r = req(
            "GET http://api.test/ws HTTP/1.1\r\nConnection: Upgrade, X-Hop\r\nUpgrade: websocket\r\nX-Hop: 1\r\n\r\n",
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(origin_head(&r)).unwrap(),
            "GET /ws HTTP/1.1\r\nHost: api.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
        );
    }

    #[test]
    fn responses_are_told_to_close() {
        let head = b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nContent-Length: 2\r\n\r\n";
        let out = String::from_utf8(close_response_head(head)).unwrap();
        assert_eq!(out, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n");
    }

    #[test]
    fn malformed_requests_are_refused() {
        for bad in [
            "CONNECT api.test HTTP/1.1\r\n\r\n",
            "CONNECT api.test:0 HTTP/1.1\r\n\r\n",
            "CONNECT api.test:99999 HTTP/1.1\r\n\r\n",
            "CONNECT 127.1:80 HTTP/1.1\r\n\r\n",
            "GET /path HTTP/1.1\r\n\r\n",
            "GET https://api.test/ HTTP/1.1\r\n\r\n",
            "GET ftp://api.test/ HTTP/1.1\r\n\r\n",
            "GET http://user:pw@api.test/ HTTP/1.1\r\n\r\n",
            "GET http://api.test/ HTTP/2\r\n\r\n",
            "GET http://api.test/  HTTP/1.1\r\n\r\n",
            "GET http://api.test/ HTTP/1.1\r\n folded\r\n\r\n",
            "GET http://api.test/ HTTP/1.1\r\nNo colon\r\n\r\n",
        ] {
            assert!(req(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
