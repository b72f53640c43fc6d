//! A host variable that is not valid UTF-8 must not break calls whose policy passes host
//! variables through (`--allow-env`), cold or warm. Its own test binary: it changes the
//! process environment.

mod common;

use serde_json::json;
use tool_runtime_core::CallOptions;

#[tokio::test]
async fn calls_go_on_when_a_host_variable_is_not_text() {
    use std::os::unix::ffi::OsStringExt;
    std::env::set_var("TR_HOSTENV_BAD", std::ffi::OsString::from_vec(vec![b'x', 0xff, b'y']));
    std::env::set_var("TR_HOSTENV_GOOD", "passed");
    for rt in common::RUNTIMES {
        for pool in [json!(null), json!({"minIdle": 1, "maxWorkers": 1})] {
            let r = common::runtime(json!({
                "runtimeType": rt, "entrypointPath": "tools.mjs", "pool": pool,
                "permissions": ["--allow-read", "--allow-env=TR_HOSTENV_*"],
            }))
            .await;
            // Several calls in turn: a warm worker's slot that leaked would stop the second.
            for i in 0..3 {
                let o = CallOptions {
                    input_json: Some(json!({"names": ["TR_HOSTENV_GOOD", "TR_HOSTENV_BAD"]}).to_string()),
                    ..CallOptions::default()
                };
                let out =
                    r.execute("readEnv", &format!("h-{i}"), o).await.unwrap_or_else(|e| panic!("{rt} {pool}: {e}"));
                let v: serde_json::Value = serde_json::from_str(&out.output_json).unwrap();
                assert_eq!(v["env"]["TR_HOSTENV_GOOD"], "passed", "{rt} {pool}");
                assert_eq!(v["env"]["TR_HOSTENV_BAD"], serde_json::Value::Null, "{rt} {pool}");
            }
            r.close().await;
        }
    }
}
