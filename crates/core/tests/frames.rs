//! A call's input and config reach the harness as JSON values, never as text spliced into the
//! call frame: text that would forge the frame's other fields is refused before any process
//! starts, through the core API with real bun and node processes.

mod common;

use serde_json::json;
use tool_runtime_core::CallOptions;

#[tokio::test]
async fn input_or_config_text_that_would_forge_the_call_frame_is_refused() {
    for rt in common::RUNTIMES {
        let r = common::runtime(json!({"runtimeType": rt, "entrypointPath": "tools.mjs"})).await;
        // Spliced unparsed, each would run `echo` (or a tool id that skipped validation)
        // in place of `greet`: JSON.parse keeps the last of duplicate keys.
        let forged = [r#"{"name":"Ada"},"toolId":"echo""#, r#"1,"toolId":"../escape""#, r#"{},"input":{}"#];
        for text in forged {
            let input = CallOptions { input_json: Some(text.into()), ..CallOptions::default() };
            let e = r.execute("greet", "forge-in", input).await.unwrap_err();
            assert_eq!(e.code(), "ERR_INVALID_ARGUMENT", "{rt}: input {text}: {e}");
            let config = CallOptions { config_json: Some(text.into()), ..CallOptions::default() };
            let e = r.execute("greet", "forge-cfg", config).await.unwrap_err();
            assert_eq!(e.code(), "ERR_INVALID_ARGUMENT", "{rt}: config {text}: {e}");
        }
        // The same values as proper JSON reach the tool as they are.
        let opts = CallOptions {
            input_json: Some(r#"{"name":"Ada","toolId":"echo"}"#.into()),
            config_json: Some(r#"{"toolId":"echo"}"#.into()),
            ..CallOptions::default()
        };
        let out = r.execute("greet", "plain", opts).await.unwrap();
        assert_eq!(out.output_json, r#"{"message":"Hello, Ada!"}"#, "{rt}");
        r.close().await;
    }
}
