//! Calls through the core API with real bun and node processes.

mod common;

use std::time::{Duration, Instant};

use serde_json::json;
use tool_runtime_core::CallOptions;

fn input(v: serde_json::Value) -> CallOptions {
    CallOptions { input_json: Some(v.to_string()), ..CallOptions::default() }
}

#[tokio::test]
async fn a_tool_returns_its_result_on_both_runtimes() {
    for rt in common::RUNTIMES {
        let r = common::runtime(json!({"runtimeType": rt, "entrypointPath": "tools.mjs"})).await;
        let out = r.execute("greet", "exec-1", input(json!({"name": "Ada"}))).await.unwrap();
        assert_eq!(out.output_json, r#"{"message":"Hello, Ada!"}"#, "{rt}");
        r.close().await;
    }
}

#[tokio::test]
async fn a_timeout_rejects_at_the_deadline_and_kills_the_group() {
    for rt in common::RUNTIMES {
        let r = common::runtime(json!({"runtimeType": rt, "entrypointPath": "tools.mjs"})).await;
        let t = Instant::now();
        let mut o = input(json!({"ms": 2000}));
        o.timeout_ms = Some(100);
        let e = r.execute("sleeps", "exec-2", o).await.unwrap_err();
        assert_eq!(e.code(), "ERR_TOOL_TIMEOUT", "{rt}: {e}");
        assert!(t.elapsed() < Duration::from_millis(1000), "{rt}: took {:?}", t.elapsed());
        r.close().await;
    }
}
