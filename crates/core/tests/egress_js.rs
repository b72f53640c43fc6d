//! The JS egress shim (`harness/egress.mjs`) on real node and bun against the real proxy:
//! local HTTP, HTTPS (a self-signed certificate made with `openssl` at test time) and
//! WebSocket servers on loopback, test names that only the proxy's resolver knows (so a
//! client that went around the proxy would fail to resolve them), one allowed name and one
//! unlisted. No test touches real DNS or any non-loopback address.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tool_runtime_core::egress::{EgressProxy, EventLog, NetRules, Resolver};
use tool_runtime_core::policy::NetTarget;

const LOCAL: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

/// HTTP and HTTPS servers with the same handler, a WebSocket echo on both, printing
/// `ports <http> <https>` when ready.
const SERVERS_JS: &str = r#"
import http from "node:http";
import https from "node:https";
import fs from "node:fs";
import crypto from "node:crypto";
import zlib from "node:zlib";
const [key, cert] = process.argv.slice(2).map((p) => fs.readFileSync(p));
function handler(req, res) {
  const url = new URL(req.url, "http://x");
  if (url.pathname === "/redirect") {
    const n = Number(url.searchParams.get("n") ?? 1);
    res.writeHead(302, { location: n > 1 ? `/redirect?n=${n - 1}` : "/final" });
    return res.end();
  }
  if (url.pathname === "/gzip") {
    res.writeHead(200, { "content-encoding": "gzip", "content-type": "text/plain" });
    return res.end(zlib.gzipSync(Buffer.from("compressed hello")));
  }
  if (url.pathname === "/slow") {
    res.writeHead(200);
    res.write("start");
    return setTimeout(() => res.end("end"), 3000).unref();
  }
  const body = [];
  req.on("data", (c) => body.push(c));
  req.on("end", () => {
    res.writeHead(200, { "content-type": "application/json", "set-cookie": ["a=1", "b=2"] });
    res.end(JSON.stringify({ method: req.method, url: req.url, host: req.headers.host, body: Buffer.concat(body).toString() }));
  });
}
function upgrade(req, socket) {
  const accept = crypto.createHash("sha1").update(req.headers["sec-websocket-key"] + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64");
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
  let buf = Buffer.alloc(0);
  socket.on("error", () => {});
  socket.on("data", (d) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 2) {
      const op = buf[0] & 0x0f;
      let len = buf[1] & 0x7f;
      let off = 2;
      if (len === 126) { len = buf.readUInt16BE(2); off = 4; }
      const mask = buf.subarray(off, off + 4);
      off += 4;
      if (buf.length < off + len) return;
      const payload = Buffer.from(buf.subarray(off, off + len));
      buf = buf.subarray(off + len);
      for (let i = 0; i < payload.length; i++) payload[i] ^= mask[i % 4];
      if (op === 8) { socket.end(Buffer.from([0x88, 0])); return; }
      const out = Buffer.concat([Buffer.from("echo:"), payload]);
      socket.write(Buffer.concat([Buffer.from([0x80 | op, out.length]), out]));
    }
  });
}
const h = http.createServer(handler).on("upgrade", upgrade).listen(0, "127.0.0.1");
const s = https.createServer({ key, cert }, handler).on("upgrade", upgrade).listen(0, "127.0.0.1");
await Promise.all([h, s].map((srv) => new Promise((r) => srv.once("listening", r))));
console.log(`ports ${h.address().port} ${s.address().port}`);
"#;

/// Exercises the shim; prints one JSON line per check: {name, ok, value | code, message}.
const CLIENT_JS: &str = r#"
await import(process.env.EGRESS_SHIM);
import http from "node:http";
import https from "node:https";
import tls from "node:tls";
const H = process.env.HTTP_PORT, S = process.env.HTTPS_PORT;
const isBun = typeof Bun !== "undefined";
async function check(name, f) {
  try {
    console.log(JSON.stringify({ name, ok: true, value: await f() }));
  } catch (e) {
    const c = e?.cause;
    console.log(JSON.stringify({ name, ok: false, errName: e?.name, code: e?.code ?? null, message: String(e?.message), causeCode: c?.code ?? null }));
  }
}
const get = (mod, url, opts = {}) =>
  new Promise((resolve, reject) => {
    const req = mod.get(url, opts, (res) => {
      let d = "";
      res.on("data", (c) => (d += c));
      res.on("end", () => resolve(`${res.statusCode} ${JSON.parse(d).url}`));
    });
    req.on("error", reject);
  });
await check("fetch-http", async () => { const r = await fetch(`http://api.test:${H}/a?x=1`); return `${r.status} ${(await r.json()).url}`; });
await check("fetch-https", async () => { const r = await fetch(`https://api.test:${S}/b`); const j = await r.json(); return `${r.status} ${j.url} ${j.host}`; });
await check("fetch-post", async () => { const r = await fetch(`https://api.test:${S}/p`, { method: "POST", body: JSON.stringify({ a: 1 }) }); const j = await r.json(); return `${j.method} ${j.body}`; });
await check("fetch-form", async () => { const r = await fetch(`http://api.test:${H}/f`, { method: "POST", body: new URLSearchParams({ q: "a b" }) }); return (await r.json()).body; });
await check("fetch-bytes", async () => { const r = await fetch(`https://api.test:${S}/u`, { method: "PUT", body: new Uint8Array([104, 105]) }); return (await r.json()).body; });
await check("fetch-set-cookie", async () => { const r = await fetch(`https://api.test:${S}/c`); await r.text(); return r.headers.getSetCookie().join(";"); });
await check("fetch-redirect", async () => { const r = await fetch(`http://api.test:${H}/redirect?n=3`); await r.text(); return `${r.status} ${new URL(r.url).pathname} ${r.redirected}`; });
await check("fetch-redirect-manual", async () => { const r = await fetch(`https://api.test:${S}/redirect?n=1`, { redirect: "manual" }); return `${r.status} ${r.headers.get("location")}`; });
await check("fetch-gzip", async () => (await (await fetch(`https://api.test:${S}/gzip`)).text()));
await check("fetch-abort", async () => { const r = await fetch(`http://api.test:${H}/slow`, { signal: AbortSignal.timeout(300) }); return await r.text(); });
await check("fetch-denied-https", () => fetch(`https://evil.test:${S}/`));
await check("fetch-denied-http", () => fetch(`http://evil.test:${H}/`));
await check("fetch-refused-port", () => fetch(`http://api.test:1/`));
await check("http-get", () => get(http, `http://api.test:${H}/h`));
await check("https-get", () => get(https, `https://api.test:${S}/hs`));
await check("https-get-agent-false", () => get(https, `https://api.test:${S}/af`, { agent: false }));
await check("https-get-own-agent", () => get(https, `https://api.test:${S}/oa`, { agent: new https.Agent({ keepAlive: true }) }));
await check("http-get-denied", () => get(http, `http://evil.test:${H}/`));
await check("https-get-denied", () => get(https, `https://evil.test:${S}/`));
// Clients that speak to the proxy themselves (HTTP_PROXY-aware libraries), in absolute form.
const viaProxy = (url) =>
  new Promise((resolve, reject) => {
    const p = new URL(process.env.TOOL_RUNTIME_PROXY);
    const req = http.request({ hostname: p.hostname, port: p.port, path: url, headers: { host: new URL(url).host } }, (res) => {
      let d = "";
      res.on("data", (c) => (d += c));
      res.on("end", () => resolve(`${res.statusCode} ${JSON.parse(d).url}`));
    });
    req.on("error", reject);
    req.end();
  });
await check("proxy-aware-http", () => viaProxy(`http://api.test:${H}/pa`));
await check("proxy-aware-https", () => viaProxy(`https://api.test:${S}/pas`));
await check("proxy-aware-denied", () => viaProxy(`http://evil.test:${H}/`));
// createConnection without an agent (the `ws` package on node does this).
await check("create-connection", () =>
  new Promise((resolve, reject) => {
    const req = https.request({ host: "api.test", port: S, path: "/cc", createConnection: (o) => tls.connect(o) }, (res) => {
      res.resume();
      res.on("end", () => resolve(String(res.statusCode)));
    });
    req.on("error", reject);
    req.end();
  }),
);
if (isBun) {
  const ws = (url) =>
    new Promise((resolve, reject) => {
      const w = new WebSocket(url);
      w.onopen = () => w.send("hi");
      w.onmessage = (m) => { resolve(String(m.data)); w.close(); };
      w.onerror = (e) => reject(new Error(e.message ?? "websocket error"));
    });
  await check("websocket", () => ws(`wss://api.test:${S}/ws`));
  await check("websocket-denied", () => ws(`wss://evil.test:${S}/ws`));
}
"#;

struct Servers {
    child: Child,
    http: u16,
    https: u16,
    cert: PathBuf,
}

impl Drop for Servers {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh directory for this test's files.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("egress-js-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Starts the servers with a self-signed certificate for the test names; `None` without
/// openssl.
fn servers(dir: &Path) -> Option<Servers> {
    let (key, cert) = (dir.join("key.pem"), dir.join("cert.pem"));
    let made = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=api.test"])
        .args(["-addext", "subjectAltName=DNS:api.test,DNS:evil.test"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !matches!(made, Ok(s) if s.success()) {
        eprintln!("skipped: openssl is not available to make a test certificate");
        return None;
    }
    let script = dir.join("servers.mjs");
    std::fs::write(&script, SERVERS_JS).unwrap();
    let mut child = Command::new("node")
        .arg(&script)
        .arg(&key)
        .arg(&cert)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("node runs");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let ports: Vec<u16> = line.split_whitespace().skip(1).map(|p| p.parse().unwrap()).collect();
    assert_eq!(ports.len(), 2, "servers said {line:?}");
    Some(Servers { child, http: ports[0], https: ports[1], cert })
}

struct Proxy {
    port: u16,
    events: EventLog,
    cancel: CancellationToken,
}

async fn proxy() -> Proxy {
    let mut names: HashMap<String, Vec<IpAddr>> = HashMap::new();
    names.insert("api.test".into(), vec![LOCAL]);
    names.insert("evil.test".into(), vec![LOCAL]);
    let rules = NetRules::new(&[NetTarget { host: "api.test".into(), port: None }], &[]);
    let proxy = Arc::new(EgressProxy::new(Arc::new(rules), Arc::new(Resolver::fixed(names))));
    let listener = tokio::net::TcpListener::bind((LOCAL, 0)).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let cancel = CancellationToken::new();
    let events = proxy.events();
    tokio::spawn(proxy.serve(listener, cancel.clone()));
    Proxy { port, events, cancel }
}

fn shim_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/harness/egress.mjs")
}

/// Runs the client on `program`; returns each check's JSON by name.
async fn run_client(
    program: &Path,
    dir: &Path,
    servers: &Servers,
    proxy: &Proxy,
) -> HashMap<String, serde_json::Value> {
    let script = dir.join("client.mjs");
    std::fs::write(&script, CLIENT_JS).unwrap();
    let proxy_url = format!("http://127.0.0.1:{}", proxy.port);
    let out = tokio::process::Command::new(program)
        .arg(&script)
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", dir)
        .env("TOOL_RUNTIME_PROXY", &proxy_url)
        .env("HTTP_PROXY", &proxy_url)
        .env("HTTPS_PROXY", &proxy_url)
        .env("NODE_EXTRA_CA_CERTS", &servers.cert)
        .env("EGRESS_SHIM", shim_path())
        .env("HTTP_PORT", servers.http.to_string())
        .env("HTTPS_PORT", servers.https.to_string())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(90), out).await.expect("the client finishes").unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{} failed: {stderr}\n{stdout}", program.display());
    stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|v| (v["name"].as_str().unwrap().to_string(), v))
        .collect()
}

fn value<'a>(results: &'a HashMap<String, serde_json::Value>, name: &str) -> &'a str {
    let r = results.get(name).unwrap_or_else(|| panic!("no result for {name}"));
    assert_eq!(r["ok"], true, "{name}: {r}");
    r["value"].as_str().unwrap_or_else(|| panic!("{name}: {r}"))
}

fn failure<'a>(results: &'a HashMap<String, serde_json::Value>, name: &str) -> &'a serde_json::Value {
    let r = results.get(name).unwrap_or_else(|| panic!("no result for {name}"));
    assert_eq!(r["ok"], false, "{name} should have failed: {r}");
    r
}

async fn routes_through_the_proxy(program: PathBuf, runtime: &str) {
    let dir = scratch(runtime);
    let Some(servers) = servers(&dir) else { return };
    let proxy = proxy().await;
    let results = run_client(&program, &dir, &servers, &proxy).await;
    let (h, s) = (servers.http, servers.https);

    assert_eq!(value(&results, "fetch-http"), "200 /a?x=1");
    assert_eq!(value(&results, "fetch-https"), format!("200 /b api.test:{s}"));
    assert_eq!(value(&results, "fetch-post"), r#"POST {"a":1}"#);
    assert_eq!(value(&results, "fetch-form"), "q=a+b");
    assert_eq!(value(&results, "fetch-bytes"), "hi");
    assert_eq!(value(&results, "fetch-set-cookie"), "a=1;b=2");
    assert_eq!(value(&results, "fetch-redirect"), "200 /final true");
    assert_eq!(value(&results, "fetch-redirect-manual"), "302 /final");
    assert_eq!(value(&results, "fetch-gzip"), "compressed hello");
    let abort = failure(&results, "fetch-abort");
    assert!(matches!(abort["errName"].as_str(), Some("TimeoutError" | "AbortError")), "{abort}");
    for (name, port) in [
        ("fetch-denied-https", s),
        ("fetch-denied-http", h),
        ("http-get-denied", h),
        ("https-get-denied", s),
        ("proxy-aware-denied", h),
    ] {
        let r = failure(&results, name);
        assert_eq!(r["code"], "ERR_NET_DENIED", "{name}: {r}");
        assert_eq!(
            r["message"],
            format!("tool-runtime: connection to evil.test:{port} refused: not allowed by the policy (--allow-net)"),
            "{name}"
        );
    }
    let refused = failure(&results, "fetch-refused-port");
    assert!(refused["code"] == "ECONNREFUSED" || refused["causeCode"] == "ECONNREFUSED", "{refused}");
    assert_eq!(value(&results, "http-get"), "200 /h");
    assert_eq!(value(&results, "https-get"), "200 /hs");
    assert_eq!(value(&results, "https-get-agent-false"), "200 /af");
    assert_eq!(value(&results, "https-get-own-agent"), "200 /oa");
    assert_eq!(value(&results, "proxy-aware-http"), "200 /pa");
    assert_eq!(value(&results, "proxy-aware-https"), "200 /pas");
    assert_eq!(failure(&results, "proxy-aware-denied")["code"], "ERR_NET_DENIED");
    assert_eq!(value(&results, "create-connection"), "200");
    if runtime == "bun" {
        assert_eq!(value(&results, "websocket"), "echo:hi");
        let r = failure(&results, "websocket-denied");
        let message = r["message"].as_str().unwrap();
        assert!(message.contains(&format!("connection to evil.test:{s} refused")), "{r}");
    }

    // Everything went through the proxy: the refused destinations are recorded, and every
    // allowed one went to the loopback servers with bytes both ways.
    let mut denied = proxy.events.denied_hosts();
    denied.sort();
    let mut expected = vec![format!("evil.test:{h}"), format!("evil.test:{s}")];
    expected.sort();
    assert_eq!(denied, expected);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let events = proxy.events.snapshot();
    let reached: Vec<_> = events.iter().filter(|e| e.allowed && e.reason.is_none()).collect();
    // Keep-alive reuses tunnels: fewer connections than requests, but both servers reached.
    assert!(reached.iter().any(|e| e.port == h) && reached.iter().any(|e| e.port == s), "{events:#?}");
    for e in &reached {
        assert_eq!((e.host.as_str(), e.address), ("api.test", Some(LOCAL)), "{e:?}");
        assert!(e.port == h || e.port == s, "{e:?}");
        assert!(e.bytes_sent > 0 && e.bytes_received > 0, "{e:?}");
    }
    assert!(events.iter().any(|e| e.port == 1 && e.allowed && e.reason.is_some()), "{events:#?}");
    proxy.cancel.cancel();
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_fetch_http_and_https_go_through_the_proxy() {
    routes_through_the_proxy(PathBuf::from("node"), "node").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bun_fetch_http_https_and_websocket_go_through_the_proxy() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let bun = root.join("node_modules/bun/bin/bun.exe");
    assert!(bun.exists(), "bun is missing: run npm install first ({})", bun.display());
    routes_through_the_proxy(bun, "bun").await;
}

/// Runs inside the namespace: the proxy is the only way out.
const ISOLATED_JS: &str = r#"
await import(process.env.EGRESS_SHIM);
import net from "node:net";
const S = process.env.HTTPS_PORT, H = process.env.HTTP_PORT;
async function check(name, f) {
  try {
    console.log(JSON.stringify({ name, ok: true, value: await f() }));
  } catch (e) {
    console.log(JSON.stringify({ name, ok: false, code: e?.code ?? e?.cause?.code ?? null, message: String(e?.message) }));
  }
}
await check("fetch-https", async () => { const r = await fetch(`https://api.test:${S}/iso`); return `${r.status} ${(await r.json()).url}`; });
await check("fetch-denied", () => fetch(`https://evil.test:${S}/`));
await check("fetch-address", () => fetch(`http://127.0.0.1:${H}/`));
// A raw socket reaches only the namespace's own loopback, where nothing listens.
await check("raw-loopback", () => new Promise((resolve, reject) => {
  const s = net.connect(Number(H), "127.0.0.1", () => { s.destroy(); resolve("connected"); });
  s.on("error", reject);
}));
"#;

/// Starts `program script` in a new user and network namespace whose listener on
/// 127.0.0.1:3128 comes back over a socketpair, as the runtime's wiring will do.
fn spawn_isolated(
    program: &Path,
    script: &Path,
    env: &[(&str, String)],
) -> std::io::Result<(tokio::process::Child, tokio::net::TcpListener)> {
    use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
    use std::os::unix::process::CommandExt;
    use tool_runtime_core::egress::{bind_loopback_listener, listener_from_fd, recv_fd, send_fd, PROXY_PORT};
    use tool_runtime_core::sandbox::{loopback_up, write_proc};

    let (host_end, child_end) = std::os::unix::net::UnixStream::pair()?;
    let child_fd = child_end.as_raw_fd();
    let (uid, gid) = (nix::unistd::geteuid().as_raw(), nix::unistd::getegid().as_raw());
    let uid_map = std::ffi::CString::new(format!("{uid} {uid} 1\n")).unwrap();
    let gid_map = std::ffi::CString::new(format!("{gid} {gid} 1\n")).unwrap();
    let mut cmd = Command::new(program);
    cmd.arg(script).env_clear().env("PATH", "/usr/local/bin:/usr/bin:/bin");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    // SAFETY: only syscalls between fork and exec; the strings were made before the fork.
    unsafe {
        cmd.pre_exec(move || {
            if libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNET) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            write_proc(c"/proc/self/setgroups", b"deny")?;
            write_proc(c"/proc/self/uid_map", uid_map.as_bytes())?;
            write_proc(c"/proc/self/gid_map", gid_map.as_bytes())?;
            loopback_up();
            let listener = bind_loopback_listener(PROXY_PORT)?;
            send_fd(BorrowedFd::borrow_raw(child_fd), listener.as_fd())
        });
    }
    let child = tokio::process::Command::from(cmd).kill_on_drop(true).spawn()?;
    drop(child_end);
    // The pre_exec send happened before spawn returned.
    let listener = listener_from_fd(recv_fd(host_end.as_fd())?)?;
    Ok((child, listener))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inside_a_network_namespace_only_the_proxy_is_reachable() {
    let dir = scratch("isolated");
    let Some(servers) = servers(&dir) else { return };
    let script = dir.join("isolated.mjs");
    std::fs::write(&script, ISOLATED_JS).unwrap();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    for program in [which("node"), root.join("node_modules/bun/bin/bun.exe")] {
        let proxy_url = format!("http://127.0.0.1:{}", tool_runtime_core::egress::PROXY_PORT);
        let env = [
            ("TOOL_RUNTIME_PROXY", proxy_url.clone()),
            ("HTTP_PROXY", proxy_url.clone()),
            ("HTTPS_PROXY", proxy_url),
            ("HOME", dir.display().to_string()),
            ("NODE_EXTRA_CA_CERTS", servers.cert.display().to_string()),
            ("EGRESS_SHIM", shim_path().display().to_string()),
            ("HTTP_PORT", servers.http.to_string()),
            ("HTTPS_PORT", servers.https.to_string()),
        ];
        let (child, listener) = match spawn_isolated(&program, &script, &env) {
            Ok(x) => x,
            Err(e) => {
                eprintln!("skipped: cannot make a user and network namespace here: {e}");
                return;
            }
        };
        let mut names: HashMap<String, Vec<IpAddr>> = HashMap::new();
        names.insert("api.test".into(), vec![LOCAL]);
        names.insert("evil.test".into(), vec![LOCAL]);
        let rules = NetRules::new(&[NetTarget { host: "api.test".into(), port: None }], &[]);
        let proxy = Arc::new(EgressProxy::new(Arc::new(rules), Arc::new(Resolver::fixed(names))));
        let events = proxy.events();
        let cancel = CancellationToken::new();
        let serving = tokio::spawn(proxy.serve(listener, cancel.clone()));
        let out = tokio::time::timeout(Duration::from_secs(90), child.wait_with_output())
            .await
            .expect("the client finishes")
            .unwrap();
        cancel.cancel();
        serving.await.unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{}: {}\n{stdout}", program.display(), String::from_utf8_lossy(&out.stderr));
        let results: HashMap<String, serde_json::Value> = stdout
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .map(|v| (v["name"].as_str().unwrap().to_string(), v))
            .collect();
        assert_eq!(value(&results, "fetch-https"), "200 /iso", "{}", program.display());
        assert_eq!(failure(&results, "fetch-denied")["code"], "ERR_NET_DENIED");
        // An address literal is a destination like any other: not in the allowlist.
        assert_eq!(failure(&results, "fetch-address")["code"], "ERR_NET_DENIED");
        assert_eq!(failure(&results, "raw-loopback")["code"], "ECONNREFUSED", "{}", program.display());
        let mut denied = events.denied_hosts();
        denied.sort();
        assert_eq!(denied, vec![format!("127.0.0.1:{}", servers.http), format!("evil.test:{}", servers.https)]);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn which(name: &str) -> PathBuf {
    std::env::var_os("PATH")
        .and_then(|p| std::env::split_paths(&p).map(|d| d.join(name)).find(|p| p.is_file()))
        .unwrap_or_else(|| PathBuf::from(name))
}
