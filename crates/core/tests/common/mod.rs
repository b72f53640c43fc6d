#![allow(dead_code)]
//! Shared set-up for the integration tests: real bun and node binaries, the JS fixtures.

use std::path::PathBuf;

use tool_runtime_core::config::{ConfigPatch, RuntimeConfig};
use tool_runtime_core::locate::RuntimeHints;
use tool_runtime_core::{Runtime, RuntimeFactory};

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

pub fn fixtures() -> PathBuf {
    repo_root().join("__test__/fixtures")
}

pub fn hints() -> RuntimeHints {
    let bun = repo_root().join("node_modules/bun/bin/bun.exe");
    assert!(bun.exists(), "bun is missing: run npm install first ({})", bun.display());
    let amaro = repo_root().join("node_modules/amaro");
    RuntimeHints { bun_path: Some(bun), deno_path: None, node_path: None, node_version: None, amaro_path: Some(amaro) }
}

pub fn factory() -> RuntimeFactory {
    RuntimeFactory::new(fixtures()).with_hints(hints())
}

pub async fn runtime(patch: serde_json::Value) -> Runtime {
    let patch = ConfigPatch::from_json(patch).unwrap();
    let config = RuntimeConfig::test().apply(patch).unwrap();
    factory().create_runtime(config).await.unwrap()
}

pub const RUNTIMES: [&str; 2] = ["bun", "node"];
