"use strict";
// What a call carries through Redis (input, config, env) and what comes back (the result or
// the error) is sealed with AES-256-GCM under a key that the clients and workers hold and Redis
// never sees. The job id and queue name are the additional data, so a sealed blob copied into
// another job does not open there.

const crypto = require("node:crypto");
const { ConfigError } = require("../errors.js");

const ALGORITHM = "aes-256-gcm";
const VERSION = "s1";

/** Accepts 32 bytes as a Buffer/Uint8Array, or as base64 or hex text. */
function parseKey(key, where) {
  let bytes;
  if (typeof key === "string") {
    const text = key.trim();
    bytes = /^[0-9a-f]{64}$/i.test(text) ? Buffer.from(text, "hex") : Buffer.from(text, "base64");
  } else if (key instanceof Uint8Array) {
    bytes = Buffer.from(key);
  }
  if (!bytes || bytes.length !== 32) {
    throw new ConfigError(
      `${where}.key must be 32 bytes (a Buffer, or 64 hex or 44 base64 characters); make one with \`openssl rand -base64 32\``,
      { code: "ERR_INVALID_CONFIG", field: "key" },
    );
  }
  return crypto.createSecretKey(bytes);
}

function aad(queue, jobId) {
  return Buffer.from(`${queue}\0${jobId}`, "utf8");
}

/** `value` (anything JSON can carry) sealed into one line of text. */
function seal(key, queue, jobId, value) {
  const iv = crypto.randomBytes(12);
  const cipher = crypto.createCipheriv(ALGORITHM, key, iv);
  cipher.setAAD(aad(queue, jobId));
  const body = Buffer.concat([cipher.update(JSON.stringify(value), "utf8"), cipher.final()]);
  return [VERSION, iv.toString("base64"), cipher.getAuthTag().toString("base64"), body.toString("base64")].join(".");
}

/** Is this text something `seal` made (rather than, say, an error BullMQ wrote itself)? */
function isSealed(text) {
  return typeof text === "string" && text.startsWith(`${VERSION}.`) && text.split(".").length === 4;
}

/** The value back; throws when the text was not sealed for this job under this key. */
function open(key, queue, jobId, text) {
  if (!isSealed(text)) throw new Error("not a sealed payload");
  const [, iv, tag, body] = text.split(".");
  const decipher = crypto.createDecipheriv(ALGORITHM, key, Buffer.from(iv, "base64"), { authTagLength: 16 });
  decipher.setAAD(aad(queue, jobId));
  decipher.setAuthTag(Buffer.from(tag, "base64"));
  const plain = Buffer.concat([decipher.update(Buffer.from(body, "base64")), decipher.final()]);
  return JSON.parse(plain.toString("utf8"));
}

module.exports = { parseKey, seal, open, isSealed };
