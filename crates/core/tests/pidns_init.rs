//! The `tool-runtime-init` binary as cargo builds it: its probe, its refusal to run on its
//! own, and the core finding it beside the test binaries (cargo's layout) without any setting.

mod common;

use std::process::Command;

use serde_json::json;
use tool_runtime_core::CallOptions;

const INIT: &str = env!("CARGO_BIN_EXE_tool-runtime-init");

#[test]
fn the_probe_passes_on_this_machine() {
    let root = nix::unistd::geteuid().is_root();
    for mode in if root { vec!["root", "userns"] } else { vec!["userns"] } {
        let out = Command::new(INIT).args(["--probe", mode]).output().unwrap();
        assert!(out.status.success(), "{mode}: {}", String::from_utf8_lossy(&out.stderr));
    }
}

#[test]
fn run_without_a_plan_it_refuses_with_a_reason() {
    let out = Command::new(INIT).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--plan"), "{out:?}");
}

#[tokio::test]
async fn a_runtime_finds_it_and_calls_get_their_own_pid_namespace() {
    assert!(std::env::var_os(tool_runtime_core::sandbox::init::INIT_PATH_ENV).is_none());
    for rt in common::RUNTIMES {
        let r = common::runtime(json!({"runtimeType": rt, "entrypointPath": "tools.mjs", "sandbox": "strict"})).await;
        assert!(r.sandbox_report().other_processes.contains(&"pid-namespace"), "{rt}");
        // The runtime is PID 2 of its namespace; the metrics name it as the host sees it.
        let o =
            CallOptions { input_json: Some(json!({"name": "pid"}).to_string()), metrics: true, ..Default::default() };
        let out = r.execute("greet", "pidns-cargo", o).await.unwrap();
        let pid = out.metrics.as_ref().map(|m| m.pid).unwrap_or(0);
        assert!(pid > 2, "{rt}: metrics.pid {pid}");
        r.close().await;
    }
}
