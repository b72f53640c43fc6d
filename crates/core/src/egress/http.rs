//! The little of HTTP/1.x the proxy speaks: one request head from the client (CONNECT or an
//! absolute-form request, parsed by `httparse` and refused on any ambiguous framing), its
//! rewrite to origin form, and the proxy's own short answers.
//!
//! Over 500 lines because of its tests: every smuggling and framing attempt is a case.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::rules::Host;

/// Why no response head could be read.
#[derive(Debug)]
pub(crate) enum HeadError {
    /// The client closed (or broke) the connection first.
    Closed,
    /// Over the size cap.
    TooLarge,
}

/// Reads one response head (through the blank line) from the destination. Returns the head
/// and the bytes of the body that came with it.
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

/// How the request body is delimited (RFC 9112 section 6.3), once ambiguous framing has
/// been refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// `Content-Length: n`, or no body (0) without either header.
    Length(u64),
    /// `Transfer-Encoding: ..., chunked`.
    Chunked,
}

#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub method: String,
    pub target: Target,
    /// `HTTP/1.0` or `HTTP/1.1`.
    pub version: String,
    pub headers: Vec<(String, String)>,
    pub framing: Framing,
}

/// A request the proxy cannot serve: answered with 400 and this text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BadRequest(pub String);

/// More header fields than this is refused like an oversized head (431).
const MAX_HEADERS: usize = 128;

/// Why no request could be read.
#[derive(Debug)]
pub(crate) enum RequestError {
    Closed,
    TooLarge,
    TooManyHeaders,
    Bad(BadRequest),
}

/// Reads and parses one request head. Returns the request and any bytes the client already
/// sent after its head (a body or an early TLS hello), which must be forwarded.
pub(crate) async fn read_request<R: AsyncRead + Unpin>(
    r: &mut R,
    max: usize,
) -> Result<(Request, Vec<u8>), RequestError> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    loop {
        let n = r.read(&mut chunk).await.map_err(|_| RequestError::Closed)?;
        if n == 0 {
            return Err(RequestError::Closed);
        }
        let from = buf.len().saturating_sub(2);
        buf.extend_from_slice(&chunk[..n]);
        // Parse only once a blank line (CRLF or, to refuse it with a reason, bare LF) has
        // arrived: a client sending a byte at a time costs a scan, not a parse, per read.
        let blank = buf[from..].windows(2).any(|w| w == b"\n\n") || find(&buf[from..], b"\n\r\n").is_some();
        if blank {
            if let Some((req, len)) = try_parse(&buf)? {
                if len > max {
                    return Err(RequestError::TooLarge);
                }
                let rest = buf.split_off(len);
                return Ok((req, rest));
            }
        }
        if buf.len() > max {
            return Err(RequestError::TooLarge);
        }
    }
}

/// The request at the start of `buf` and the length of its head, or `None` if the head is
/// not complete yet.
fn try_parse(buf: &[u8]) -> Result<Option<(Request, usize)>, RequestError> {
    let bad = |s: &str| RequestError::Bad(BadRequest(s.to_string()));
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Request::new(&mut headers);
    let len = match parsed.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(RequestError::TooManyHeaders),
        Err(httparse::Error::HeaderName) => {
            return Err(bad("malformed header name (whitespace in or before a name, obsolete line folding, or a character that is not a token)"))
        }
        Err(httparse::Error::HeaderValue) => return Err(bad("malformed header value")),
        Err(httparse::Error::NewLine) => return Err(bad("malformed line ending")),
        Err(httparse::Error::Version) => return Err(bad("only HTTP/1.0 and HTTP/1.1 are supported")),
        Err(httparse::Error::Token) => return Err(bad("malformed request line")),
        Err(e) => return Err(RequestError::Bad(BadRequest(format!("malformed request head: {e}")))),
    };
    // httparse accepts a bare LF as a line ending; a server behind the proxy might not, and
    // two parsers that split a head differently is how requests are smuggled.
    let head = &buf[..len];
    if head.iter().enumerate().any(|(i, &b)| b == b'\n' && (i == 0 || head[i - 1] != b'\r')) {
        return Err(bad("a line ends in a bare LF: request heads must use CRLF"));
    }
    let method = parsed.method.unwrap_or_default();
    let target = parsed.path.unwrap_or_default();
    if !target.is_ascii() {
        return Err(bad("malformed request target"));
    }
    let version = if parsed.version == Some(0) { "HTTP/1.0" } else { "HTTP/1.1" };
    let mut out = Vec::with_capacity(parsed.headers.len());
    for h in parsed.headers.iter() {
        let value = std::str::from_utf8(h.value).map_err(|_| bad("a header value is not UTF-8"))?;
        out.push((h.name.to_string(), value.trim_matches([' ', '\t']).to_string()));
    }
    let framing = framing(&out, version).map_err(RequestError::Bad)?;
    let target = if method.eq_ignore_ascii_case("CONNECT") {
        let (host, port) = split_authority(target)
            .map_err(|e| RequestError::Bad(BadRequest(format!("CONNECT target {target:?}: {e}"))))?;
        let port =
            port.ok_or_else(|| RequestError::Bad(BadRequest(format!("CONNECT target {target:?} has no port"))))?;
        Target::Connect { host, port }
    } else {
        parse_absolute(target).map_err(RequestError::Bad)?
    };
    let req = Request { method: method.to_string(), target, version: version.to_string(), headers: out, framing };
    Ok(Some((req, len)))
}

/// The body's framing, refusing every ambiguous form (RFC 9112 sections 6.1-6.3): the proxy
/// forwards the body by it, and the origin must not read a different request boundary.
fn framing(headers: &[(String, String)], version: &str) -> Result<Framing, BadRequest> {
    let bad = |s: &str| Err(BadRequest(s.to_string()));
    let lengths: Vec<&str> =
        headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case("content-length")).map(|(_, v)| v.as_str()).collect();
    let codings: Vec<String> = headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("transfer-encoding"))
        .flat_map(|(_, v)| v.split(',').map(|c| c.trim().to_ascii_lowercase()).collect::<Vec<_>>())
        .collect();
    let has_te = headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("transfer-encoding"));
    if has_te {
        if !lengths.is_empty() {
            return bad("both Content-Length and Transfer-Encoding: the body's length is ambiguous");
        }
        if version == "HTTP/1.0" {
            return bad("Transfer-Encoding in an HTTP/1.0 request");
        }
        if codings.last().map(String::as_str) != Some("chunked") {
            return bad("Transfer-Encoding must end with chunked");
        }
        if codings.iter().filter(|c| *c == "chunked").count() > 1 || codings.iter().any(|c| c.is_empty()) {
            return bad("malformed Transfer-Encoding (chunked more than once, or an empty coding)");
        }
        return Ok(Framing::Chunked);
    }
    match lengths.as_slice() {
        [] => Ok(Framing::Length(0)),
        [one] => {
            if one.is_empty() || !one.bytes().all(|b| b.is_ascii_digit()) {
                return bad("malformed Content-Length");
            }
            one.parse().map(Framing::Length).map_err(|_| BadRequest("Content-Length is too large".into()))
        }
        _ => bad("more than one Content-Length"),
    }
}

/// Parses a complete request head (through its blank line).
#[cfg(test)]
pub(crate) fn parse_request(head: &[u8]) -> Result<Request, BadRequest> {
    match try_parse(head) {
        Ok(Some((req, len))) if len == head.len() => Ok(req),
        Ok(_) => Err(BadRequest("the request head is incomplete".into())),
        Err(RequestError::Bad(b)) => Err(b),
        Err(e) => Err(BadRequest(format!("{e:?}"))),
    }
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

/// The request body's length, `None` for a chunked body (forwarded until the client stops).
pub(crate) fn body_length(req: &Request) -> Option<u64> {
    match req.framing {
        Framing::Length(n) => Some(n),
        Framing::Chunked => None,
    }
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

    fn refused(raw: &str) -> String {
        match req(raw) {
            Ok(r) => panic!("{raw:?} was accepted: {r:?}"),
            Err(BadRequest(why)) => why,
        }
    }

    #[test]
    fn ambiguous_framing_is_refused_with_a_reason() {
        let cases: &[(&str, &str)] = &[
            // CL.CL: two lengths, even equal ones.
            (
                "POST http://a.test/ HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
                "more than one Content-Length",
            ),
            (
                "POST http://a.test/ HTTP/1.1\r\nContent-Length: 5\r\ncontent-length: 6\r\n\r\n",
                "more than one Content-Length",
            ),
            // CL.TE and TE.CL.
            (
                "POST http://a.test/ HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n",
                "both Content-Length and Transfer-Encoding",
            ),
            (
                "POST http://a.test/ HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n",
                "both Content-Length and Transfer-Encoding",
            ),
            // TE.TE: a coding other than a final chunked, obfuscated or repeated.
            ("POST http://a.test/ HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", "must end with chunked"),
            ("POST http://a.test/ HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", "must end with chunked"),
            ("POST http://a.test/ HTTP/1.1\r\nTransfer-Encoding: xchunked\r\n\r\n", "must end with chunked"),
            (
                "POST http://a.test/ HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n\r\n",
                "must end with chunked",
            ),
            ("POST http://a.test/ HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", "chunked more than once"),
            ("POST http://a.test/ HTTP/1.1\r\nTransfer-Encoding: ,chunked\r\n\r\n", "an empty coding"),
            ("POST http://a.test/ HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", "HTTP/1.0"),
            // Lengths a lenient parser reads differently.
            ("POST http://a.test/ HTTP/1.1\r\nContent-Length: +5\r\n\r\n", "malformed Content-Length"),
            ("POST http://a.test/ HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\n", "malformed Content-Length"),
            ("POST http://a.test/ HTTP/1.1\r\nContent-Length: 0x5\r\n\r\n", "malformed Content-Length"),
            ("POST http://a.test/ HTTP/1.1\r\nContent-Length: \r\n\r\n", "malformed Content-Length"),
            ("POST http://a.test/ HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n", "too large"),
            // Whitespace and folding tricks in header names.
            ("POST http://a.test/ HTTP/1.1\r\nTransfer-Encoding : chunked\r\n\r\n", "malformed header name"),
            ("POST http://a.test/ HTTP/1.1\r\nTransfer-Encoding\t: chunked\r\n\r\n", "malformed header name"),
            ("POST http://a.test/ HTTP/1.1\r\n Transfer-Encoding: chunked\r\n\r\n", "malformed header name"),
            ("POST http://a.test/ HTTP/1.1\r\nX: a\r\n\tTransfer-Encoding: chunked\r\n\r\n", "malformed header name"),
            ("POST http://a.test/ HTTP/1.1\r\nContent\x00-Length: 5\r\n\r\n", "malformed header name"),
            // Bare LF where CRLF is required.
            ("POST http://a.test/ HTTP/1.1\nContent-Length: 5\r\n\r\n", "bare LF"),
            ("POST http://a.test/ HTTP/1.1\r\nX: 1\nContent-Length: 5\r\n\r\n", "bare LF"),
            ("GET http://a.test/ HTTP/1.1\n\n", "bare LF"),
            // A lone CR inside a value.
            ("GET http://a.test/ HTTP/1.1\r\nX: a\rContent-Length: 5\r\n\r\n", "malformed"),
        ];
        for (raw, why) in cases {
            let got = refused(raw);
            assert!(got.contains(why), "{raw:?}: {got:?} does not say {why:?}");
        }
    }

    #[test]
    fn unambiguous_framing_is_accepted() {
        let framing = |raw: &str| req(raw).unwrap_or_else(|e| panic!("{raw:?}: {e:?}")).framing;
        assert_eq!(framing("GET http://a.test/ HTTP/1.1\r\n\r\n"), Framing::Length(0));
        assert_eq!(framing("POST http://a.test/ HTTP/1.1\r\nContent-Length: 5\r\n\r\n"), Framing::Length(5));
        assert_eq!(framing("POST http://a.test/ HTTP/1.1\r\nContent-Length:  12 \r\n\r\n"), Framing::Length(12));
        assert_eq!(framing("POST http://a.test/ HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"), Framing::Chunked);
        assert_eq!(
            framing("POST http://a.test/ HTTP/1.1\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n"),
            Framing::Chunked
        );
        assert_eq!(
            framing("POST http://a.test/ HTTP/1.1\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"),
            Framing::Chunked
        );
        assert_eq!(framing("POST http://a.test/ HTTP/1.0\r\nContent-Length: 3\r\n\r\n"), Framing::Length(3));
    }

    async fn read(raw: &[u8], max: usize) -> Result<(Request, Vec<u8>), RequestError> {
        let (mut a, mut b) = tokio::io::duplex(64 * 1024);
        a.write_all(raw).await.unwrap();
        drop(a);
        read_request(&mut b, max).await
    }

    #[tokio::test]
    async fn heads_are_read_up_to_their_blank_line_and_no_further() {
        let (r, rest) = read(b"POST http://a.test/ HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET", 1024).await.unwrap();
        assert_eq!(r.framing, Framing::Length(3));
        assert_eq!(rest, b"abcGET");
        assert!(matches!(read(b"GET http://a.test/ HTTP/1.1\n\n", 1024).await, Err(RequestError::Bad(_))));
        assert!(matches!(read(b"GET http://a.test/ HTTP/1.1\r\nX: y\r\n", 1024).await, Err(RequestError::Closed)));
        let big = format!("GET http://a.test/ HTTP/1.1\r\nX: {}\r\n\r\n", "y".repeat(2000));
        assert!(matches!(read(big.as_bytes(), 1024).await, Err(RequestError::TooLarge)));
        assert!(read(big.as_bytes(), 4096).await.is_ok());
        let many = format!("GET http://a.test/ HTTP/1.1\r\n{}\r\n", "X: y\r\n".repeat(MAX_HEADERS + 1));
        assert!(matches!(read(many.as_bytes(), 64 * 1024).await, Err(RequestError::TooManyHeaders)));
    }
}
