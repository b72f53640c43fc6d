"use strict";
// Who may use an MCP HTTP endpoint: a bearer token, and the Host and Origin headers a request
// may carry. A server on 127.0.0.1 is reachable from every web page the machine's browser opens
// (DNS rebinding points a page's own name at 127.0.0.1), so the Host check is what keeps a page
// from calling tools; the token is what keeps other local users and the network out.

const { createHash, timingSafeEqual } = require("node:crypto");

const digest = (s) => createHash("sha256").update(s).digest();

function invalid(message) {
  return Object.assign(new TypeError(message), { code: "ERR_INVALID_ARGUMENT" });
}

function checkList(name, list) {
  if (list === undefined) return undefined;
  if (!Array.isArray(list) || !list.every((s) => typeof s === "string" && s.length > 0)) {
    throw invalid(`${name} must be an array of non-empty strings`);
  }
  return new Set(list.map((s) => s.toLowerCase()));
}

/**
 * `(req) => null | { status, message }`: why a request is refused, checked before any MCP
 * session is created or looked up.
 */
function requestGuard({ token, allowedHosts, allowedOrigins } = {}) {
  if (token !== undefined && (typeof token !== "string" || token.length < 16)) {
    throw invalid("token must be a string of at least 16 characters");
  }
  const hosts = checkList("allowedHosts", allowedHosts);
  const origins = checkList("allowedOrigins", allowedOrigins);
  const expected = token === undefined ? undefined : digest(token);
  return (req) => {
    const host = String(req.headers.host ?? "").toLowerCase();
    if (hosts && !hosts.has(host)) return { status: 403, message: `Host header ${JSON.stringify(host)} is not allowed` };
    const origin = req.headers.origin;
    if (origins && origin !== undefined && !origins.has(String(origin).toLowerCase())) {
      return { status: 403, message: `Origin ${JSON.stringify(origin)} is not allowed` };
    }
    // The scheme is case-insensitive (RFC 7235). Digests of equal length, so the comparison
    // takes the same time whatever was sent.
    const sent = /^bearer +(\S+) *$/i.exec(String(req.headers.authorization ?? ""));
    if (expected && !(sent && timingSafeEqual(digest(sent[1]), expected))) {
      return { status: 401, message: "missing or wrong bearer token", challenge: true };
    }
    return null;
  };
}

/** The Host headers a client sends for a server listening on loopback `host`:`port`. */
function loopbackHosts(host, port) {
  const own = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
  return [...new Set([own, `127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`])];
}

/**
 * The Origin headers a browser sends for a page served by that same server: any other origin is
 * a page of some other site (MCP's transport rules ask servers to refuse those). Clients that are
 * not browsers send no Origin and are not concerned.
 */
function loopbackOrigins(host, port) {
  return loopbackHosts(host, port).map((h) => `http://${h}`);
}

/** Whether `host` (a listen address) reaches only this machine. */
function isLoopback(host) {
  return host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

module.exports = { requestGuard, loopbackHosts, loopbackOrigins, isLoopback };
