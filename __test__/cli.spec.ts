// The `tool-runtime` command line, run as a real child process: results on stdout, typed errors
// on stderr, exit codes 0 / 1 / 2, permission flags as in the config.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { FIXTURES, tempDir } from "./helpers";

const BIN = path.join(__dirname, "..", "bin", "tool-runtime.js");
const EXAMPLES = path.join(__dirname, "..", "examples");

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? "", ...env }, maxBuffer: 1 << 24 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === "number" ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

const fixtures = ["--root", FIXTURES, "--entrypoint", "tools.mjs"];

describe("tool-runtime --help", () => {
  for (const command of ["", "list", "run", "doctor", "mcp"]) {
    it(`${command || "(no command)"} --help prints its usage and exits 0`, async () => {
      const r = await cli(command ? [command, "--help"] : ["--help"]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`^Usage: tool-runtime ${command || "<command>"}`));
      assert.match(r.stdout, /--root DIR/);
      assert.match(r.stdout, /--allow-net/);
    });
  }
});

describe("tool-runtime list", () => {
  it("prints each tool's id and description", async () => {
    const r = await cli(["list", "--root", EXAMPLES]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^greet +Greets someone by name\.$/m);
    assert.match(r.stdout, /^text\/upper +Upper-cases a text\.$/m);
  });

  it("--json prints the full metadata", async () => {
    const r = await cli(["list", "--root", EXAMPLES, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const greet = JSON.parse(r.stdout).find((t: { id: string }) => t.id === "greet");
    assert.deepEqual(greet.inputSchema.required, ["name"]);
    assert.equal(greet.annotations.readOnlyHint, true);
  });
});

describe("tool-runtime run", () => {
  it("prints the result on stdout and exits 0", async () => {
    const r = await cli(["run", "greet", "--root", EXAMPLES, "--input", '{"name":"Ada"}']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { message: "Hello, Ada!" });
  });

  it("runs a tool on deno with --runtime deno", async () => {
    const r = await cli(["run", "greet", "--root", EXAMPLES, "--input", '{"name":"Ada"}', "--runtime", "deno"]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { message: "Hello, Ada!" });
  });

  it("reads --input from a file and passes --env to the call, on node too", async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, "input.json"), JSON.stringify({ names: ["GREETING"] }));
    for (const runtime of ["bun", "node"]) {
      const r = await cli(["run", "readEnv", ...fixtures, "--runtime", runtime, "--input", `@${path.join(dir, "input.json")}`, "--env", "GREETING=hi=there", "--json"]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout).env, { GREETING: "hi=there" });
      assert.equal(r.stdout.trim().split("\n").length, 1, "--json prints one line");
    }
  });

  it("a failing tool exits 1 with its code on stderr, as text or as JSON", async () => {
    const text = await cli(["run", "fails", ...fixtures]);
    assert.equal(text.code, 1);
    assert.equal(text.stdout, "");
    assert.match(text.stderr, /^tool-runtime: ERR_TOOL_FAILED: /);
    const json = await cli(["run", "fails", ...fixtures, "--json"]);
    assert.equal(json.code, 1);
    const { error } = JSON.parse(json.stderr);
    assert.equal(error.code, "ERR_TOOL_FAILED");
    assert.equal(error.toolId, "fails");
    assert.equal(typeof error.cause.message, "string");
  });

  it("--timeout is the call's deadline: exit 1 with ERR_TOOL_TIMEOUT", async () => {
    const r = await cli(["run", "sleeps", ...fixtures, "--input", '{"ms":60000}', "--timeout", "300"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^tool-runtime: ERR_TOOL_TIMEOUT: /);
  });

  it("usage errors exit 2: bad JSON, unknown tool, unknown flag, unknown command, bad --env", async () => {
    const cases: [string[], RegExp][] = [
      [["run", "greet", ...fixtures, "--input", "{nope"], /--input is not valid JSON/],
      [["run", "noSuchTool", ...fixtures], /ERR_TOOL_NOT_FOUND/],
      [["run", "greet", ...fixtures, "--frobnicate"], /ERR_USAGE: Unknown option '--frobnicate'/],
      [["frobnicate"], /unknown command "frobnicate"/],
      [["run", "greet", ...fixtures, "--env", "NOVALUE"], /--env NOVALUE: expected NAME=VALUE/],
      [["run", ...fixtures], /run takes one tool id/],
      [["run", "greet", ...fixtures, "--runtime", "quickjs"], /--runtime must be bun, node or deno/],
      [["run", "greet", "--root", EXAMPLES, "--input", '{"name":42}'], /ERR_INVALID_INPUT[^]*\/name/],
    ];
    for (const [args, message] of cases) {
      const r = await cli(args);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
  });
});

describe("tool-runtime run: permission flags", () => {
  let server: http.Server;
  let url: string;
  before(async () => {
    server = http.createServer((_req, res) => res.end("hello from loopback"));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  after(() => new Promise((resolve) => server.close(resolve)));

  const net = ["--root", FIXTURES, "--entrypoint", "net.mjs"];

  it("without --allow-net the tool cannot reach a loopback server", async () => {
    const r = await cli(["run", "fetchOrThrow", ...net, "--input", JSON.stringify({ url })]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /ERR_TOOL_FAILED/);
    assert.match(r.stderr, /ERR_NET_DENIED|refused/);
  });

  it("with --allow-net=127.0.0.1 it can", async () => {
    const r = await cli(["run", "fetchOrThrow", ...net, "--allow-read", "--allow-net=127.0.0.1", "--input", JSON.stringify({ url })]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { status: 200, body: "hello from loopback" });
  });
});

describe("tool-runtime doctor", () => {
  it("names each runtime's version and path, the Landlock ABI, and runs the default config", async () => {
    const r = await cli(["doctor"]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^ {2}bun {3}1\.\d+\.\d+\s+\/\S+/m);
    assert.match(r.stdout, new RegExp(`^  node  ${process.version.replace(/\./g, "\\.")}\\s+/\\S+`, "m"));
    assert.match(r.stdout, /^ {2}deno {2}2\.\d+\.\d+\s+\/\S+/m);
    assert.match(r.stdout, /landlock {9}ABI \d+/);
    assert.match(r.stdout, /config \(bun, strict, --allow-read\): a tool ran in the sandbox/);
    const json = JSON.parse((await cli(["doctor", "--json"])).stdout);
    assert.equal(typeof json.kernel.landlockAbi, "number");
    assert.equal(json.checked.ok, true);
  });

  it("exits 1 and says why when the strict sandbox cannot be had here", async () => {
    const r = await cli(["doctor"], { TOOL_RUNTIME_PRETEND_MISSING: "landlock" });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /landlock {9}unavailable/);
    assert.match(r.stdout, /--allow-read\s+refused: cannot enforce/);
    assert.match(r.stdout, /cannot run here: ERR_SANDBOX_UNAVAILABLE/);
  });
});
