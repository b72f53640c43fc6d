// Configuration helpers, constants and the two module entries.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { describe, it } from "node:test";
import {
  ConfigError,
  RuntimeFactory,
  RuntimeTypeBun,
  RuntimeTypeDeno,
  RuntimeTypeNode,
  SupportedRuntimeTypes,
  TimeoutError,
  configFromEnv,
  defaultConfig,
  fromAppConfig,
  isBunAvailable,
  isDenoAvailable,
  isNodeAvailable,
  isValidRuntimeType,
  newId,
  testConfig,
} from "tool-runtime";

describe("config", () => {
  it("defaultConfig() and testConfig() hold the seed's values", () => {
    const d = defaultConfig();
    assert.equal(d.runtimeType, "bun");
    assert.equal(d.entrypointPath, "./tools.ts");
    assert.equal(d.toolExecutionTimeoutMs, 60_000);
    assert.deepEqual([d.backoffInitialIntervalMs, d.backoffMaxIntervalMs, d.backoffMaxElapsedTimeMs], [100, 5000, 30_000]);
    assert.equal(d.workerFilePerm, 0o600);
    assert.deepEqual(d.bunPermissions, ["--allow-read"]);
    assert.equal(d.environment, "production");
    assert.equal(d.maxOutputBytes, 10 * 1024 * 1024);
    assert.equal(d.maxStderrBytes, 1024 * 1024);
    assert.equal(d.sandbox, "strict");
    const t = testConfig();
    assert.equal(t.toolExecutionTimeoutMs, 5000);
    assert.deepEqual([t.backoffInitialIntervalMs, t.backoffMaxIntervalMs, t.backoffMaxElapsedTimeMs], [10, 100, 1000]);
    assert.equal(t.environment, "testing");
  });

  it("configFromEnv reads every COMPOZY_* variable", () => {
    const c = configFromEnv({
      COMPOZY_RUNTIME_TYPE: "node",
      COMPOZY_ENTRYPOINT: "./src/tools.js",
      COMPOZY_TOOL_TIMEOUT: "1m30s",
      COMPOZY_BUN_PERMISSIONS: "--allow-read,--allow-net=a.com,b.com",
      COMPOZY_NODE_OPTIONS: "--max-old-space-size=256,--no-warnings",
      COMPOZY_BACKOFF_INITIAL_INTERVAL: "50ms",
      COMPOZY_BACKOFF_MAX_INTERVAL: "2s",
      COMPOZY_BACKOFF_MAX_ELAPSED_TIME: "10s",
      UNRELATED: "ignored",
    });
    assert.equal(c.runtimeType, "node");
    assert.equal(c.entrypointPath, "./src/tools.js");
    assert.equal(c.toolExecutionTimeoutMs, 90_000);
    assert.deepEqual(c.bunPermissions, ["--allow-read", "--allow-net=a.com,b.com"]);
    assert.deepEqual(c.nodeOptions, ["--max-old-space-size=256", "--no-warnings"]);
    assert.deepEqual([c.backoffInitialIntervalMs, c.backoffMaxIntervalMs, c.backoffMaxElapsedTimeMs], [50, 2000, 10_000]);
    assert.deepEqual(configFromEnv({}), defaultConfig());
  });

  it("configFromEnv names the variable of a malformed value", () => {
    for (const [name, value] of [
      ["COMPOZY_TOOL_TIMEOUT", "30"],
      ["COMPOZY_RUNTIME_TYPE", "python"],
      ["COMPOZY_BACKOFF_INITIAL_INTERVAL", "soon"],
      ["COMPOZY_BUN_PERMISSIONS", "--allow-teleport"],
      ["COMPOZY_NODE_OPTIONS", "no-dashes"],
    ]) {
      assert.throws(
        () => configFromEnv({ [name]: value }),
        (e: any) => e instanceof ConfigError && e.code === "ERR_INVALID_CONFIG" && e.message.includes(name),
        `${name}=${value}`,
      );
    }
  });

  it("fromAppConfig takes the runtime fields of an app config", () => {
    const c = fromAppConfig({ environment: "testing", toolExecutionTimeoutMs: 1234, databaseUrl: "postgres://x" });
    assert.equal(c.toolExecutionTimeoutMs, 1234);
    assert.equal(c.environment, "testing");
    assert.equal(c.backoffInitialIntervalMs, 10);
    assert.equal(fromAppConfig({ environment: "production" }).toolExecutionTimeoutMs, 60_000);
  });

  it("every ERR_INVALID_CONFIG names the field's path, type errors too, from createRuntime and fromAppConfig", async () => {
    const factory = new RuntimeFactory(path.join(__dirname, "fixtures"));
    const cases: [Record<string, unknown>, string][] = [
      [{ memoryLimitMb: 512.5 }, "memoryLimitMb"],
      [{ memoryLimitMb: "abc" }, "memoryLimitMb"],
      [{ memoryLimitMb: -100 }, "memoryLimitMb"],
      [{ toolExecutionTimeoutMs: true }, "toolExecutionTimeoutMs"],
      [{ pool: { minIdle: "x" } }, "pool.minIdle"],
      [{ pool: { reuse: { maxRssMb: "big" } } }, "pool.reuse.maxRssMb"],
      [{ pool: { reuse: { maxRss: 1 } } }, "pool.reuse.maxRss"],
      [{ netHosts: { "api.test": "10.0.0.1" } }, "netHosts.api.test"],
      [{ permissions: "--allow-read" }, "permissions"],
    ];
    const names = (e: any, field: string) =>
      e instanceof ConfigError && e.code === "ERR_INVALID_CONFIG" && e.message.includes(`${field}: `);
    for (const [config, field] of cases) {
      await assert.rejects(factory.createRuntime(config as any), (e: any) => names(e, field), `createRuntime ${JSON.stringify(config)}`);
      assert.throws(() => fromAppConfig(config), (e: any) => names(e, field), `fromAppConfig ${JSON.stringify(config)}`);
    }
    // The allowed twins: the same fields, well-typed.
    const ok = fromAppConfig({ memoryLimitMb: 512, pool: { minIdle: 1, reuse: { maxRssMb: 256 } } });
    assert.equal(ok.memoryLimitMb, 512);
    assert.deepEqual(ok.pool?.reuse, { maxCallsPerWorker: 100, maxRssMb: 256 });
  });

  it("runtime types are exactly bun, node and deno, case-sensitive", () => {
    assert.equal(RuntimeTypeBun, "bun");
    assert.equal(RuntimeTypeNode, "node");
    assert.equal(RuntimeTypeDeno, "deno");
    assert.deepEqual([...SupportedRuntimeTypes], ["bun", "node", "deno"]);
    for (const s of ["bun", "node", "deno"]) assert.equal(isValidRuntimeType(s), true, s);
    for (const s of ["Bun", "NODE", "Deno", "python", "", " bun", 42]) assert.equal(isValidRuntimeType(s), false, String(s));
    assert.equal(isBunAvailable(), true);
    assert.equal(isNodeAvailable(), true);
    assert.equal(isDenoAvailable(), true);
  });

  it("newId() gives unique ids that sort in creation order", () => {
    const ids = Array.from({ length: 5000 }, () => newId());
    assert.equal(new Set(ids).size, ids.length);
    assert.deepEqual([...ids].sort(), ids);
    assert.match(ids[0], /^[0-9A-HJKMNP-TV-Z]{26}$/);
  });

  it("the CommonJS and ES module entries share their classes", () => {
    // A real ES module import, in a plain node process (the test itself runs as CommonJS).
    const script = `
      import * as esm from "tool-runtime";
      import { createRequire } from "node:module";
      const cjs = createRequire(import.meta.url)("tool-runtime");
      const same = esm.TimeoutError === cjs.TimeoutError && esm.default === cjs;
      // Node 23+ adds a "module.exports" name to the namespace of every CommonJS module.
      const names = Object.keys(esm).filter((k) => k !== "default" && k !== "module.exports").sort().join();
      console.log(JSON.stringify({ same, names, cjs: Object.keys(cjs).sort().join() }));`;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { cwd: path.join(__dirname, ".."), encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.same, true);
    assert.equal(out.names, out.cjs);
    assert.equal(require("tool-runtime").TimeoutError, TimeoutError);
  });
});
