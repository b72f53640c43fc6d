//! Bookkeeping that must hold on every path: limits that fit the call on warm workers, the
//! admission line, frame order on a worker's channel.

mod common;

use std::time::Duration;

use serde_json::json;
use tool_runtime_core::CallOptions;

/// A project folder with one entrypoint, made for the test.
fn project(source: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tools.mjs"), source).unwrap();
    dir
}

const TOOLS: &str = r#"
export function burn(input) {
  const start = process.cpuUsage();
  let x = 0;
  for (;;) {
    for (let i = 0; i < 100000; i++) x = (x * 31 + i) | 0;
    const used = process.cpuUsage(start);
    if ((used.user + used.system) / 1000 >= input.ms) return { x };
  }
}
// JS heap (not Buffers): what node's --max-old-space-size caps.
export function heap(input) {
  const keep = [];
  for (let i = 0; i < input.mb; i++) keep.push(new Array(1024 * 128).fill(i));
  return { arrays: keep.length };
}
export function env(input) {
  const out = {};
  for (const k of input.names) out[k] = (process.env[k] ?? "").length;
  return { lengths: out, input: input.pad.length };
}
export const slow = (input) => new Promise((r) => setTimeout(() => r({ slow: true }), input.ms));
export const quick = () => ({ quick: true });
"#;

async fn runtime_in(dir: &std::path::Path, patch: serde_json::Value) -> tool_runtime_core::Runtime {
    let patch = tool_runtime_core::ConfigPatch::from_json(patch).unwrap();
    let config = tool_runtime_core::RuntimeConfig::test().apply(patch).unwrap();
    tool_runtime_core::RuntimeFactory::new(dir).with_hints(common::hints()).create_runtime(config).await.unwrap()
}

/// Waits until the pool has a warm worker, so the next call is served by one.
async fn warm(r: &tool_runtime_core::Runtime) {
    for _ in 0..600 {
        if r.idle_workers() >= 1 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the pool never warmed up");
}

fn opts(input: serde_json::Value) -> CallOptions {
    CallOptions { input_json: Some(input.to_string()), timeout_ms: Some(60_000), ..CallOptions::default() }
}

#[tokio::test]
async fn a_call_asking_for_more_cpu_than_the_pool_default_gets_it() {
    let dir = project(TOOLS);
    for rt in common::RUNTIMES {
        // Warm workers start with the runtime's 300 ms (a CPU rlimit of 2 s as a backstop).
        let r = runtime_in(
            dir.path(),
            json!({"runtimeType": rt, "entrypointPath": "tools.mjs", "cpuTimeLimitMs": 300, "pool": {"minIdle": 1}}),
        )
        .await;
        warm(&r).await;
        let mut o = opts(json!({"ms": 2600}));
        o.cpu_time_limit_ms = Some(20_000);
        let out = r.execute("burn", "cpu-1", o).await;
        assert!(out.is_ok(), "{rt}: {:?}", out.err().map(|e| e.to_string()));
        // And the default still holds for calls that do not ask.
        warm(&r).await;
        let e = r.execute("burn", "cpu-2", opts(json!({"ms": 2000}))).await.unwrap_err();
        assert_eq!(e.code(), "ERR_CPU_LIMIT", "{rt}: {e}");
        assert!(e.to_string().contains("300 ms"), "{rt}: the error names the limit that fired: {e}");
        r.close().await;
    }
}

#[tokio::test]
async fn a_node_call_asking_for_more_memory_than_the_pool_default_gets_it() {
    let dir = project(TOOLS);
    // Warm node workers start with a 48 MB heap cap (3/4 of the runtime's 64 MB).
    let r = runtime_in(
        dir.path(),
        json!({"runtimeType": "node", "entrypointPath": "tools.mjs", "memoryLimitMb": 64, "pool": {"minIdle": 1}}),
    )
    .await;
    warm(&r).await;
    let mut o = opts(json!({"mb": 120}));
    o.memory_limit_mb = Some(1024);
    let out = r.execute("heap", "mem-1", o).await;
    assert!(out.is_ok(), "{:?}", out.err().map(|e| e.to_string()));
    warm(&r).await;
    let e = r.execute("heap", "mem-2", opts(json!({"mb": 120}))).await.unwrap_err();
    assert_eq!(e.code(), "ERR_MEMORY_LIMIT", "{e}");
    assert!(e.to_string().contains("64 MB"), "the error names the limit that fired: {e}");
    r.close().await;
}

#[tokio::test]
async fn an_abandoned_queued_call_gives_its_place_back() {
    let dir = project(TOOLS);
    let r = runtime_in(
        dir.path(),
        json!({"runtimeType": "bun", "entrypointPath": "tools.mjs", "maxConcurrency": 1, "maxQueue": 1}),
    )
    .await;
    let r = std::sync::Arc::new(r);
    let busy = {
        let r = r.clone();
        tokio::spawn(async move { r.execute("slow", "q-1", opts(json!({"ms": 1500}))).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Queued, then its future is dropped.
    let gave_up = tokio::time::timeout(Duration::from_millis(100), r.execute("quick", "q-2", opts(json!({})))).await;
    assert!(gave_up.is_err(), "the second call had to wait");
    // The line is empty again: this one queues instead of finding the line full.
    let third = r.execute("quick", "q-3", opts(json!({}))).await;
    assert!(third.is_ok(), "{:?}", third.err().map(|e| e.to_string()));
    assert!(busy.await.unwrap().is_ok());
    r.close().await;
}

#[tokio::test]
async fn calls_are_admitted_in_the_order_they_were_made() {
    let dir = project(TOOLS);
    let r = runtime_in(
        dir.path(),
        json!({"runtimeType": "bun", "entrypointPath": "tools.mjs", "maxConcurrency": 1, "maxQueue": 1}),
    )
    .await;
    for round in 0..5 {
        let a = r.admit("slow", &format!("a-{round}"), false).unwrap();
        let b = r.admit("quick", &format!("b-{round}"), false).unwrap();
        let c = r.admit("quick", &format!("c-{round}"), false);
        assert_eq!(c.err().map(|e| e.code()), Some("ERR_QUEUE_FULL"), "round {round}");
        // Whatever order the futures are polled in, `a` runs first and `b` after it.
        let (rb, ra) = tokio::join!(r.run(b, opts(json!({}))), r.run(a, opts(json!({"ms": 200}))));
        assert!(ra.is_ok() && rb.is_ok());
    }
    r.close().await;
}

#[tokio::test]
async fn large_env_and_input_frames_reach_a_reused_worker_whole_and_in_order() {
    let dir = project(TOOLS);
    for rt in common::RUNTIMES {
        let r = runtime_in(
            dir.path(),
            json!({"runtimeType": rt, "entrypointPath": "tools.mjs",
                   "pool": {"minIdle": 1, "maxWorkers": 1, "reuse": {"maxCallsPerWorker": 100}}}),
        )
        .await;
        for i in 0..12usize {
            // A new env each time, larger than the socket buffer, then the call frame.
            let mut o = opts(json!({"names": ["BIG_A", "BIG_B"], "pad": "p".repeat(300_000 + i)}));
            o.env.insert("BIG_A".into(), "a".repeat(200_000 + i));
            o.env.insert("BIG_B".into(), "b".repeat(100_000 + i));
            let out = r.execute("env", &format!("env-{i}"), o).await.unwrap_or_else(|e| panic!("{rt} #{i}: {e}"));
            let v: serde_json::Value = serde_json::from_str(&out.output_json).unwrap();
            assert_eq!(v["lengths"]["BIG_A"], 200_000 + i, "{rt} #{i}");
            assert_eq!(v["lengths"]["BIG_B"], 100_000 + i, "{rt} #{i}");
            assert_eq!(v["input"], 300_000 + i, "{rt} #{i}");
        }
        r.close().await;
    }
}
