//! The egress proxy behind `--allow-net=HOST[:PORT],...`: a tool whose policy lists hosts
//! runs in a network namespace with no route out, and its only way out is an HTTP proxy that
//! the host process runs here, on a listening socket the child created inside its namespace.
//!
//! Per connection the proxy reads one HTTP/1.x request head (parsed by `httparse`; ambiguous
//! body framing is refused with 400): `CONNECT host:port` (a tunnel,
//! used for HTTPS, WebSockets and, by the tool's JS shim, plain HTTP too) or an absolute-form
//! `METHOD http://host[:port]/path` request (plain HTTP from clients that honour
//! `HTTP_PROXY`). It then
//!
//! 1. checks the host and port the client named against the rules (deny wins over allow),
//!    before resolving anything: a denied name is never looked up, so DNS queries cannot carry
//!    data out;
//! 2. resolves the name itself and drops every address that a `--deny-net` address entry
//!    names, and, unless the destination was named exactly (an exact name or address, not a
//!    `*.` wildcard), every address of this host's own interfaces ([`HostAddrs`]) and of the
//!    IANA special-purpose blocks that are not globally reachable ([`special_class`]);
//! 3. connects to one of the addresses it checked, never resolving again, so DNS rebinding
//!    cannot switch the destination between the check and the connection;
//! 4. answers `200 Connection Established` and splices bytes both ways, or forwards the
//!    request rewritten to origin form (`Connection: close`: one request per connection);
//!    a refusal is `403 Forbidden` with `X-Tool-Runtime-Denied: <reason>`,
//!    `X-Tool-Runtime-Target: <host:port>` and a short text body, `tool-runtime: connection
//!    to HOST:PORT refused: <reason>`; an allowed destination that cannot be reached is
//!    `502`/`504` with `X-Tool-Runtime-Error: <errno name>` (ENOTFOUND, ECONNREFUSED,
//!    ETIMEDOUT, ...), the same target header and `tool-runtime: connection to HOST:PORT
//!    failed (<errno name>): <detail>`. The status line carries the same text in brackets
//!    (`HTTP/1.1 403 Forbidden [tool-runtime: ...]`), for clients that only report it.
//!
//! Every destination asked for is recorded as a [`NetEvent`] (with live byte counts), so a
//! call can report the hosts it was refused and an audit of what it reached.
//!
//! Over 500 lines because the proxy's connection handling (both request forms, the checks,
//! resolution, splicing and the event log) is one state machine that reads best in one place;
//! parsing, rules, resolution and host addresses live in their own modules.

mod http;
mod local;
mod resolve;
mod rules;

#[cfg(test)]
mod tests;

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use serde::Serialize;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

pub use crate::fdpass::{bind_loopback_listener, listener_from_fd, recv_fd, send_fd};
pub use local::HostAddrs;
pub use resolve::Resolver;
pub use rules::{special_class, Denial, Host, Naming, NetRules, HOST_INTERFACE};

use http::{RequestError, Target};

/// The port of the proxy's listener inside a tool's network namespace.
pub const PROXY_PORT: u16 = 3128;

/// The response header that carries the reason of a policy refusal.
pub const DENIED_HEADER: &str = "X-Tool-Runtime-Denied";
/// The response header that carries the errno name of a failed upstream connection.
pub const ERROR_HEADER: &str = "X-Tool-Runtime-Error";
/// The response header that names the destination (`host:port`) of a refusal or failure.
pub const TARGET_HEADER: &str = "X-Tool-Runtime-Target";

/// One destination a tool asked the proxy for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NetEvent {
    /// `CONNECT` for a tunnel, else the method of the plain HTTP request.
    pub method: String,
    /// The host as the tool named it (lowercased; an address literal without brackets).
    pub host: String,
    pub port: u16,
    /// The address connected to (or the one refused, or the last one tried).
    pub address: Option<IpAddr>,
    /// Whether the policy allowed the destination (an allowed destination can still fail to
    /// resolve or connect: then `reason` says why).
    pub allowed: bool,
    pub reason: Option<String>,
    /// Bytes the tool sent to the destination (for plain HTTP, the rewritten head included).
    pub bytes_sent: u64,
    /// Bytes the destination sent back.
    pub bytes_received: u64,
}

impl NetEvent {
    /// `host:port` (IPv6 in brackets).
    pub fn target(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

#[derive(Debug, Default)]
struct Counters {
    sent: AtomicU64,
    received: AtomicU64,
}

#[derive(Debug)]
struct Entry {
    event: NetEvent,
    live: Option<Arc<Counters>>,
}

/// The events of one proxy, shared with whoever reports them. Byte counts of open tunnels
/// are read live.
#[derive(Debug, Clone, Default)]
pub struct EventLog(Arc<Mutex<Vec<Entry>>>);

impl EventLog {
    fn push(&self, event: NetEvent, live: Option<Arc<Counters>>) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(Entry { event, live });
    }

    /// Every event so far, in order, with current byte counts.
    pub fn snapshot(&self) -> Vec<NetEvent> {
        self.since(0)
    }

    /// How many events there are: a call served by a long-lived proxy (a warm worker) notes
    /// this when it starts and reads [`EventLog::since`] when it ends.
    pub fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The events from index `start` on, with current byte counts.
    pub fn since(&self, start: usize) -> Vec<NetEvent> {
        let entries = self.0.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .iter()
            .skip(start)
            .map(|e| {
                let mut ev = e.event.clone();
                if let Some(c) = &e.live {
                    ev.bytes_sent = c.sent.load(Ordering::Relaxed);
                    ev.bytes_received = c.received.load(Ordering::Relaxed);
                }
                ev
            })
            .collect()
    }

    /// The destinations the policy refused, as `host:port`, each once, in order.
    pub fn denied_hosts(&self) -> Vec<String> {
        denied_hosts(&self.snapshot())
    }
}

/// The destinations refused in `events`, as `host:port`, each once, in order.
pub fn denied_hosts(events: &[NetEvent]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for ev in events {
        let t = ev.target();
        if !ev.allowed && !out.contains(&t) {
            out.push(t);
        }
    }
    out
}

/// Limits of the proxy.
#[derive(Debug, Clone)]
pub struct ProxyOptions {
    /// Largest request head accepted (431 beyond).
    pub max_head_bytes: usize,
    /// Time for a client to send its request head after connecting (408 beyond).
    pub head_timeout: Duration,
    /// Time to resolve a name.
    pub resolve_timeout: Duration,
    /// Time to connect to the destination, all addresses together.
    pub connect_timeout: Duration,
    /// Connections served at once; more wait in the listener's backlog.
    pub max_connections: usize,
}

impl Default for ProxyOptions {
    fn default() -> Self {
        ProxyOptions {
            max_head_bytes: 16 * 1024,
            head_timeout: Duration::from_secs(10),
            resolve_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(10),
            max_connections: 256,
        }
    }
}

/// The proxy of one call (or one worker): rules and resolver can be shared between proxies,
/// the event log is its own.
#[derive(Debug)]
pub struct EgressProxy {
    rules: Arc<NetRules>,
    resolver: Arc<Resolver>,
    /// This host's own addresses, refused to wildcards like loopback.
    host: Arc<HostAddrs>,
    options: ProxyOptions,
    events: EventLog,
}

/// Why a destination was not connected.
enum Refusal {
    Policy(Denial),
    Upstream { status: u16, phrase: &'static str, code: &'static str, message: String },
}

/// At most this many of a name's addresses are tried.
const MAX_ADDRESSES_TRIED: usize = 4;

impl EgressProxy {
    pub fn new(rules: Arc<NetRules>, resolver: Arc<Resolver>) -> EgressProxy {
        let host = HostAddrs::system();
        // Read now, when the worker starts, rather than on its first connection.
        host.current();
        EgressProxy { rules, resolver, host, options: ProxyOptions::default(), events: EventLog::default() }
    }

    /// Stands `host` in for the addresses of this host's interfaces.
    pub fn with_host_addrs(mut self, host: Arc<HostAddrs>) -> EgressProxy {
        self.host = host;
        self
    }

    pub fn with_options(mut self, options: ProxyOptions) -> EgressProxy {
        self.options = options;
        self
    }

    /// The event log (a shared handle: it stays readable after [`EgressProxy::serve`] ends).
    pub fn events(&self) -> EventLog {
        self.events.clone()
    }

    /// Accepts and serves connections on `listener` until `cancel` is cancelled, then aborts
    /// the connections still open (their byte counts stay in the log) and returns.
    pub async fn serve(self: Arc<Self>, listener: TcpListener, cancel: CancellationToken) {
        let mut tasks = JoinSet::new();
        loop {
            tokio::select! {
                biased;
                _ = cancel.cancelled() => break,
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
                accepted = listener.accept(), if tasks.len() < self.options.max_connections => match accepted {
                    Ok((stream, _)) => {
                        let me = self.clone();
                        tasks.spawn(async move { me.handle(stream).await });
                    }
                    // Out of descriptors or a connection reset before accept: let it pass.
                    Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
                },
            }
        }
        tasks.shutdown().await;
    }

    async fn handle(&self, mut client: TcpStream) {
        let _ = client.set_nodelay(true);
        let read = http::read_request(&mut client, self.options.max_head_bytes);
        let (req, rest) = match tokio::time::timeout(self.options.head_timeout, read).await {
            Ok(Ok(r)) => r,
            Ok(Err(RequestError::Closed)) => return,
            Ok(Err(RequestError::TooLarge)) => {
                let body =
                    format!("tool-runtime proxy: the request head is over {} bytes\n", self.options.max_head_bytes);
                let _ = http::respond(&mut client, 431, "Request Header Fields Too Large", &[], &body).await;
                return linger_close(client).await;
            }
            Ok(Err(RequestError::TooManyHeaders)) => {
                let body = "tool-runtime proxy: the request head has too many header fields\n";
                let _ = http::respond(&mut client, 431, "Request Header Fields Too Large", &[], body).await;
                return linger_close(client).await;
            }
            Ok(Err(RequestError::Bad(http::BadRequest(why)))) => {
                let _ =
                    http::respond(&mut client, 400, "Bad Request", &[], &format!("tool-runtime proxy: {why}\n")).await;
                return linger_close(client).await;
            }
            Err(_) => {
                let _ = http::respond(
                    &mut client,
                    408,
                    "Request Timeout",
                    &[],
                    "tool-runtime proxy: no request head in time\n",
                )
                .await;
                return linger_close(client).await;
            }
        };
        let (host, port) = match &req.target {
            Target::Connect { host, port } | Target::Absolute { host, port, .. } => (host.clone(), *port),
        };
        let mut upstream = match self.open(&req.method, &host, port).await {
            Ok(u) => u,
            Err(refusal) => {
                let target = host.with_port(port);
                // The full message goes in the reason phrase too (in brackets): clients such as
                // bun's fetch report a refused CONNECT by its status line alone.
                let _ = match refusal {
                    Refusal::Policy(denial) => {
                        let reason = denial.to_string();
                        let message = format!("tool-runtime: connection to {target} refused: {reason}");
                        let phrase = format!("Forbidden [{message}]");
                        let body = format!("{message}\n");
                        let headers = [(DENIED_HEADER, reason.as_str()), (TARGET_HEADER, target.as_str())];
                        http::respond(&mut client, 403, &phrase, &headers, &body).await
                    }
                    Refusal::Upstream { status, phrase, code, message } => {
                        let message = format!("tool-runtime: connection to {target} failed ({code}): {message}");
                        let phrase = format!("{phrase} [{message}]");
                        let body = format!("{message}\n");
                        let headers = [(ERROR_HEADER, code), (TARGET_HEADER, target.as_str())];
                        http::respond(&mut client, status, &phrase, &headers, &body).await
                    }
                };
                return linger_close(client).await;
            }
        };
        let first = match &req.target {
            Target::Connect { .. } => {
                if client.write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n").await.is_err() {
                    return;
                }
                rest
            }
            Target::Absolute { .. } if !http::is_upgrade(&req) => {
                return forward_plain(client, upstream, &req, rest, self.options.max_head_bytes).await;
            }
            Target::Absolute { .. } => {
                let mut h = http::origin_head(&req);
                h.extend_from_slice(&rest);
                h
            }
        };
        if !first.is_empty() && upstream.write_all(&first).await.is_err() {
            return;
        }
        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
    }

    /// Checks, resolves and connects; records the event either way.
    async fn open(&self, method: &str, host: &Host, port: u16) -> Result<Counted<TcpStream>, Refusal> {
        let event = |address: Option<IpAddr>, allowed: bool, reason: Option<String>| NetEvent {
            method: method.to_string(),
            host: host.to_string(),
            port,
            address,
            allowed,
            reason,
            bytes_sent: 0,
            bytes_received: 0,
        };
        let naming = match self.rules.check_host(host, port) {
            Ok(n) => n,
            Err(denial) => {
                self.events.push(event(None, false, Some(denial.to_string())), None);
                return Err(Refusal::Policy(denial));
            }
        };
        let addrs = match host {
            Host::Ip(ip) => vec![*ip],
            Host::Name(name) => {
                match tokio::time::timeout(self.options.resolve_timeout, self.resolver.resolve(name)).await {
                    Ok(Ok(a)) => a,
                    Ok(Err(e)) => {
                        let text = e.to_string();
                        let code = if text.contains("Temporary failure") { "EAI_AGAIN" } else { "ENOTFOUND" };
                        let message = format!("cannot resolve {name}: {text}");
                        self.events.push(event(None, true, Some(message.clone())), None);
                        return Err(Refusal::Upstream { status: 502, phrase: "Bad Gateway", code, message });
                    }
                    Err(_) => {
                        let message = format!("cannot resolve {name}: timed out");
                        self.events.push(event(None, true, Some(message.clone())), None);
                        return Err(Refusal::Upstream {
                            status: 504,
                            phrase: "Gateway Timeout",
                            code: "EAI_AGAIN",
                            message,
                        });
                    }
                }
            }
        };
        let mut first_denial: Option<(IpAddr, Denial)> = None;
        let mut candidates = Vec::new();
        for a in addrs {
            match self.rules.check_addr(a, port, naming, &self.host) {
                Ok(()) => candidates.push(a),
                Err(d) => {
                    first_denial.get_or_insert((a, d));
                }
            }
        }
        if candidates.is_empty() {
            let (addr, denial) = first_denial.unwrap_or((IpAddr::from([0, 0, 0, 0]), Denial::NotAllowed));
            self.events.push(event(Some(addr), false, Some(denial.to_string())), None);
            return Err(Refusal::Policy(denial));
        }
        let deadline = tokio::time::Instant::now() + self.options.connect_timeout;
        let mut last: Option<(IpAddr, io::Error)> = None;
        for a in candidates.into_iter().take(MAX_ADDRESSES_TRIED) {
            match tokio::time::timeout_at(deadline, TcpStream::connect(SocketAddr::new(a, port))).await {
                Ok(Ok(stream)) => {
                    let _ = stream.set_nodelay(true);
                    let counters = Arc::new(Counters::default());
                    self.events.push(event(Some(a), true, None), Some(counters.clone()));
                    return Ok(Counted { inner: stream, counters });
                }
                Ok(Err(e)) => last = Some((a, e)),
                Err(_) => {
                    last = Some((a, io::Error::new(io::ErrorKind::TimedOut, "connection timed out")));
                    break;
                }
            }
        }
        let (addr, err) = last.unwrap_or((IpAddr::from([0, 0, 0, 0]), io::Error::other("no address")));
        let code = errno_name(&err);
        let message = format!("cannot connect to {}: {err}", SocketAddr::new(addr, port));
        self.events.push(event(Some(addr), true, Some(message.clone())), None);
        let (status, phrase) = if code == "ETIMEDOUT" { (504, "Gateway Timeout") } else { (502, "Bad Gateway") };
        Err(Refusal::Upstream { status, phrase, code, message })
    }
}

fn errno_name(e: &io::Error) -> &'static str {
    if e.kind() == io::ErrorKind::TimedOut {
        return "ETIMEDOUT";
    }
    match e.raw_os_error() {
        Some(libc::ECONNREFUSED) => "ECONNREFUSED",
        Some(libc::ETIMEDOUT) => "ETIMEDOUT",
        Some(libc::EHOSTUNREACH) => "EHOSTUNREACH",
        Some(libc::ENETUNREACH) => "ENETUNREACH",
        Some(libc::ECONNRESET) => "ECONNRESET",
        Some(libc::EADDRNOTAVAIL) => "EADDRNOTAVAIL",
        Some(libc::EACCES) => "EACCES",
        Some(libc::EPERM) => "EPERM",
        _ => "ECONNREFUSED",
    }
}

/// Closes after the proxy's own answer without losing it: a client still sending (a request
/// body) would otherwise get a reset that can discard the answer before it is read.
async fn linger_close(mut client: TcpStream) {
    let _ = client.shutdown().await;
    let mut sink = [0u8; 8192];
    let drain = async {
        let mut total = 0usize;
        while let Ok(n) = client.read(&mut sink).await {
            total += n;
            if n == 0 || total > 1 << 20 {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), drain).await;
}

/// The upstream side of a connection, counting bytes as they pass.
struct Counted<S> {
    inner: S,
    counters: Arc<Counters>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Counted<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        let n = buf.filled().len() - before;
        self.counters.received.fetch_add(n as u64, Ordering::Relaxed);
        r
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Counted<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = &r {
            self.counters.sent.fetch_add(*n as u64, Ordering::Relaxed);
        }
        r
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// One plain-HTTP request, forwarded and answered, and nothing more on this connection: the
/// request body is forwarded by its length, the response is told `Connection: close`, and a
/// client that sends anything after its request (a second request, for another origin maybe)
/// has the connection closed under it, so it retries on a new one that is checked afresh.
async fn forward_plain<C, U>(client: C, upstream: U, req: &http::Request, rest: Vec<u8>, max_head: usize)
where
    C: AsyncRead + AsyncWrite + Unpin,
    U: AsyncRead + AsyncWrite + Unpin,
{
    let body_len = http::body_length(req);
    let (mut cr, mut cw) = tokio::io::split(client);
    let (mut ur, mut uw) = tokio::io::split(upstream);
    let mut head = http::origin_head(req);
    let (now, extra) = match body_len {
        Some(n) => {
            let take = (n.min(rest.len() as u64)) as usize;
            (rest[..take].to_vec(), rest.len() > take)
        }
        None => (rest, false),
    };
    let mut remaining = body_len.map(|n| n - now.len() as u64);
    head.extend_from_slice(&now);
    if uw.write_all(&head).await.is_err() {
        return;
    }
    let client_to_upstream = async move {
        let mut buf = vec![0u8; 16 * 1024];
        if extra {
            return;
        }
        loop {
            let want = match remaining {
                Some(0) => break,
                Some(n) => (n as usize).min(buf.len()),
                None => buf.len(),
            };
            let n = match cr.read(&mut buf[..want]).await {
                Ok(0) | Err(_) => {
                    // The client is done (or gone): keep waiting for the answer.
                    std::future::pending::<()>().await;
                    return;
                }
                Ok(n) => n,
            };
            if uw.write_all(&buf[..n]).await.is_err() {
                return;
            }
            if let Some(r) = remaining.as_mut() {
                *r -= n as u64;
            }
        }
        // The request is complete; anything more from the client ends the connection.
        match cr.read(&mut buf[..1]).await {
            Ok(0) | Err(_) => std::future::pending::<()>().await,
            Ok(_) => {}
        }
    };
    let upstream_to_client = async move {
        let Ok((head, early)) = http::read_head(&mut ur, max_head).await else { return };
        if cw.write_all(&http::close_response_head(&head)).await.is_err() || cw.write_all(&early).await.is_err() {
            return;
        }
        let _ = tokio::io::copy(&mut ur, &mut cw).await;
        let _ = cw.shutdown().await;
    };
    tokio::select! {
        _ = client_to_upstream => {}
        _ = upstream_to_client => {}
    }
}
