//! A runtime dropped without `close()` (a JS runtime object garbage-collected) releases
//! everything it started: warm workers and their process groups, their egress proxies, their
//! temp dirs and the runtime's own folders. Its own test binary: it looks at the whole temp dir.

mod common;

use std::path::Path;
use std::time::Duration;

use serde_json::json;

fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat.rsplit_once(") ").map(|(_, r)| r.chars().next().unwrap_or('X')).unwrap_or('X');
            state != 'Z' && state != 'X'
        }
        Err(_) => false,
    }
}

/// What this process's runtimes left in the temp dir: anything inside the shared folder (the
/// shared folder itself stays, empty, for later runtimes).
fn our_dirs() -> Vec<String> {
    let prefix = format!("tool-runtime-calls-{}-", std::process::id());
    let mut out = Vec::new();
    for base in std::fs::read_dir(std::env::temp_dir()).unwrap().flatten() {
        if !base.file_name().to_string_lossy().starts_with(prefix.as_str()) {
            continue;
        }
        for e in std::fs::read_dir(base.path()).unwrap().flatten() {
            out.push(e.path().display().to_string());
        }
    }
    out
}

fn children(pid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    for t in std::fs::read_dir(format!("/proc/{pid}/task")).into_iter().flatten().flatten() {
        if let Ok(c) = std::fs::read_to_string(t.path().join("children")) {
            out.extend(c.split_whitespace().filter_map(|p| p.parse::<i32>().ok()));
        }
    }
    out
}

fn pids_in(dir: &Path) -> Vec<i32> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .flat_map(|t| t.split_whitespace().filter_map(|p| p.parse().ok()).collect::<Vec<i32>>())
        .collect()
}

#[tokio::test]
async fn a_dropped_runtime_kills_its_workers_and_their_children_and_removes_its_folders() {
    for rt in common::RUNTIMES {
        let project = tempfile::tempdir().unwrap();
        let marks = tempfile::tempdir().unwrap();
        let marks_path = std::fs::canonicalize(marks.path()).unwrap();
        // Each warm worker starts a grandchild when it imports the entrypoint and leaves a mark
        // (pids inside a call's PID namespace mean nothing here: the host's view is read below).
        std::fs::write(
            project.path().join("tools.mjs"),
            format!(
                r#"import {{ spawn }} from "node:child_process";
import fs from "node:fs";
const child = spawn("sleep", ["60"], {{ stdio: "ignore" }});
fs.writeFileSync({dir:?} + "/" + Math.random(), String(child.pid));
export const hi = () => ({{ hi: true }});
"#,
                dir = marks_path.display().to_string()
            ),
        )
        .unwrap();
        let patch = tool_runtime_core::ConfigPatch::from_json(json!({
            "runtimeType": rt, "entrypointPath": "tools.mjs", "pool": {"minIdle": 2},
            "permissions": ["--allow-read", "--allow-run", format!("--allow-write={}", marks_path.display()),
                            "--allow-net=127.0.0.1"],
        }))
        .unwrap();
        let config = tool_runtime_core::RuntimeConfig::test().apply(patch).unwrap();
        let r = tool_runtime_core::RuntimeFactory::new(project.path())
            .with_hints(common::hints())
            .create_runtime(config)
            .await
            .unwrap();
        let mut waited = 0;
        while r.idle_workers() < 2 || pids_in(&marks_path).len() < 2 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            waited += 1;
            assert!(waited < 400, "{rt}: the pool never warmed up");
        }
        // The workers and everything below them, as the host sees them.
        let mut pids = r.idle_worker_pids();
        let mut i = 0;
        while i < pids.len() {
            pids.extend(children(pids[i]));
            i += 1;
        }
        assert!(pids.len() >= 4, "{rt}: workers and their grandchildren: {pids:?}");
        assert!(pids.iter().all(|&p| alive(p)), "{rt}: {pids:?}");
        assert!(!our_dirs().is_empty());
        let fds_before_drop = std::fs::read_dir("/proc/self/fd").unwrap().count();
        drop(r);
        let mut left = pids.clone();
        for _ in 0..100 {
            left.retain(|&p| alive(p));
            if left.is_empty() && our_dirs().is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(left, Vec::<i32>::new(), "{rt}: processes left running after the runtime was dropped");
        assert_eq!(our_dirs(), Vec::<String>::new(), "{rt}: folders left behind");
        // The workers' proxies, channels and pipes are closed.
        let fds_after = std::fs::read_dir("/proc/self/fd").unwrap().count();
        assert!(fds_after + 6 <= fds_before_drop, "{rt}: {fds_before_drop} fds before the drop, {fds_after} after");
    }
}
