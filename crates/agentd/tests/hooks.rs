//! The hook runner through the real daemon, `agentd hook` and the CLI:
//! definitions and their origins, a failing Stop check blocking with
//! Claude Code's output shape, the cache on the second Stop, live output
//! of `hooks run`, history, and bad definitions named.

mod support;

use std::path::Path;

use serde_json::{Value, json};
use support::{TestDaemon, hook_runs, run};

fn project() -> tempfile::TempDir {
    let p = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(p.path().join("src")).unwrap();
    std::fs::create_dir_all(p.path().join(".agentd")).unwrap();
    std::fs::write(p.path().join("src/lib.rs"), "fn broken() {}").unwrap();
    std::fs::write(
        p.path().join(".agentd/hooks.toml"),
        r#"
[[hooks]]
name = "check"
events = ["Stop"]
command = "echo checking; if grep -q broken src/lib.rs; then echo 'error: src/lib.rs is broken' >&2; exit 1; fi"
if_changed = ["src/**"]
timeout = 30

[[hooks]]
name = "fmt"
events = ["PostToolUse"]
matcher = "Edit|Write"
args = ["true"]
"#,
    )
    .unwrap();
    p
}

fn stop(session: &str, cwd: &Path) -> Vec<u8> {
    json!({"session_id": session, "hook_event_name": "Stop", "cwd": cwd, "stop_hook_active": false,
        "transcript_path": "/nonexistent.jsonl"})
    .to_string()
    .into_bytes()
}

#[test]
fn a_failing_stop_check_blocks_then_passes_then_is_cached() {
    let d = TestDaemon::start();
    let p = project();
    let cwd = p.path().canonicalize().unwrap();

    let ls = run(
        &d.home,
        &["hooks", "ls", "--json", "--cwd", cwd.to_str().unwrap()],
        None,
    );
    assert!(ls.status.success(), "{ls:?}");
    let v: Value = serde_json::from_slice(&ls.stdout).unwrap();
    let names: Vec<&str> = v["hooks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["check", "fmt"]);
    assert_eq!(v["hooks"][0]["origin"]["kind"], "project");

    // Through `agentd hook`, as Claude Code runs it.
    let out = run(&d.home, &["hook"], Some(&stop("s1", &cwd)));
    assert!(out.status.success(), "{out:?}");
    let o: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out:?}"));
    assert_eq!(o["decision"], "block");
    let reason = o["reason"].as_str().unwrap();
    assert!(
        reason.contains("- check in ") && reason.contains("(exit 1)"),
        "{reason}"
    );
    assert!(reason.contains("error: src/lib.rs is broken"), "{reason}");
    assert!(
        reason.contains("re-run: agentd hooks run Stop --hook check --dir "),
        "{reason}"
    );

    // Subscribers see the check live: started, its output, finished — in
    // the event log of the session, in order.
    let events = support::wait_for(
        "the hook events",
        std::time::Duration::from_secs(10),
        || {
            let ev = run(&d.home, &["events", "--json", "--session", "s1"], None);
            let kinds: Vec<String> = String::from_utf8_lossy(&ev.stdout)
                .lines()
                .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                .filter_map(|e| e["kind"].as_str().map(str::to_owned))
                .filter(|k| k.starts_with("hook."))
                .collect();
            (kinds.last().map(String::as_str) == Some("hook.finished")).then_some(kinds)
        },
    );
    assert_eq!(
        events.first().map(String::as_str),
        Some("hook.started"),
        "{events:?}"
    );
    assert!(
        events.iter().filter(|k| *k == "hook.output").count() >= 2,
        "{events:?}"
    );

    // "Fixed": passes, Claude may stop.
    std::fs::write(p.path().join("src/lib.rs"), "fn fixed() {}").unwrap();
    let out = run(&d.home, &["hook"], Some(&stop("s1", &cwd)));
    assert!(out.status.success());
    assert!(
        out.stdout.is_empty(),
        "no output: {:?}",
        String::from_utf8_lossy(&out.stdout)
    );
    // Nothing changed: served from the cache.
    let out = run(&d.home, &["hook"], Some(&stop("s1", &cwd)));
    assert!(out.stdout.is_empty());
    let runs = hook_runs(&d.home, Some("s1"));
    let outcomes: Vec<(&str, bool)> = runs
        .iter()
        .map(|r| {
            (
                r["outcome"].as_str().unwrap(),
                r["passed"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [("cached", true), ("ran", true), ("ran", false)],
        "newest first"
    );
    assert!(runs[0]["why"].as_str().unwrap().contains("unchanged"));
    assert!(
        Path::new(runs[2]["log"].as_str().unwrap()).exists(),
        "full output kept in a log file"
    );

    // `hooks run` streams output and says what it did; --no-cache forces.
    let r = run(
        &d.home,
        &[
            "hooks",
            "run",
            "Stop",
            "--cwd",
            cwd.to_str().unwrap(),
            "--no-cache",
            "--session",
            "s1",
        ],
        None,
    );
    assert!(r.status.success(), "{r:?}");
    let text = String::from_utf8_lossy(&r.stdout);
    assert!(text.contains("check | checking"), "{text}");
    assert!(text.contains("passed  check"), "{text}");

    // A matcher that does not match runs nothing; one that does runs fmt.
    let post = |tool: &str| {
        json!({"session_id": "s1", "hook_event_name": "PostToolUse", "cwd": cwd, "tool_name": tool,
            "tool_input": {}, "tool_response": {}})
        .to_string()
        .into_bytes()
    };
    let before = hook_runs(&d.home, None).len();
    for tool in ["Bash", "Write"] {
        let out = run(&d.home, &["hook"], Some(&post(tool)));
        assert!(out.status.success(), "{tool}: {out:?}");
    }
    let after = hook_runs(&d.home, None);
    assert_eq!(after.len(), before + 1);
    assert_eq!(after[0]["hook"], "fmt");
}

#[test]
fn bad_definitions_are_named_and_the_hook_path_fails_open() {
    let d = TestDaemon::start();
    let p = project();
    std::fs::write(
        p.path().join(".agentd/hooks.toml"),
        "[[hooks]]\nname = \"lint\"\nevents = [\"Stop\"]\ncommand = \"false\"\ntimeout = \"5s\"\n",
    )
    .unwrap();
    let cwd = p.path().canonicalize().unwrap();
    let ls = run(
        &d.home,
        &["hooks", "ls", "--cwd", cwd.to_str().unwrap()],
        None,
    );
    assert!(!ls.status.success());
    let err = String::from_utf8_lossy(&ls.stderr);
    assert!(
        err.contains(".agentd/hooks.toml")
            && err.contains("hook `lint`")
            && err.contains("invalid type"),
        "{err}"
    );
    // Claude Code is not hurt: the bad entry is skipped, the turn ends.
    let out = run(&d.home, &["hook"], Some(&stop("s2", &cwd)));
    assert!(out.status.success());
    assert!(out.stdout.is_empty());
}

#[test]
fn hooks_run_streams_every_line_before_the_result() {
    let d = TestDaemon::start();
    let p = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(p.path().join(".agentd")).unwrap();
    std::fs::write(
        p.path().join(".agentd/hooks.toml"),
        "[[hooks]]\nname = \"count\"\nevents = [\"Stop\"]\ncommand = \"seq 1 2000\"\n",
    )
    .unwrap();
    let cwd = p.path().canonicalize().unwrap();
    let r = run(
        &d.home,
        &["hooks", "run", "Stop", "--cwd", cwd.to_str().unwrap()],
        None,
    );
    assert!(r.status.success(), "{r:?}");
    let text = String::from_utf8_lossy(&r.stdout);
    let lines: Vec<&str> = text.lines().filter(|l| l.starts_with("count | ")).collect();
    assert_eq!(lines.len(), 2000);
    assert_eq!(lines[1999], "count | 2000");
    assert!(
        text.trim_end().ends_with("always runs"),
        "the summary comes last: {text}"
    );
}

#[test]
fn agentd_toml_hooks_are_checked_once_and_listed_with_their_origin() {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(
        home.path().join("agentd.toml"),
        "[[hooks]]\nname = \"global\"\nevents = [\"Stop\"]\nargs = [\"true\"]\n",
    )
    .unwrap();
    let d = TestDaemon::start_in(home.path());
    let p = project();
    let cwd = p.path().canonicalize().unwrap();
    let ls = run(
        &d.home,
        &["hooks", "ls", "--json", "--cwd", cwd.to_str().unwrap()],
        None,
    );
    let v: Value = serde_json::from_slice(&ls.stdout).unwrap();
    let global = &v["hooks"][0];
    assert_eq!(global["name"], "global");
    assert_eq!(global["origin"]["kind"], "config");
    assert!(
        global["origin"]["file"]
            .as_str()
            .unwrap()
            .ends_with("agentd.toml")
    );
    // It runs for any project's Stop, beside the project's own.
    let out = run(&d.home, &["hook"], Some(&stop("s9", &cwd)));
    assert!(out.status.success());
    let h = hook_runs(&d.home, None);
    assert!(
        h.iter()
            .any(|r| r["hook"] == "global" && r["passed"] == true),
        "{h:?}"
    );
}

#[test]
fn running_checks_hold_the_hook_past_its_fail_open_timeout() {
    let d = TestDaemon::start();
    let p = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(p.path().join(".agentd")).unwrap();
    // A check that takes longer than the hook's 200 ms fail-open timeout
    // and fails: its verdict must still reach Claude Code.
    std::fs::write(
        p.path().join(".agentd/hooks.toml"),
        "[[hooks]]\nname = \"slow\"\nevents = [\"Stop\"]\ncommand = \"sleep 1; echo slow check failed >&2; exit 1\"\n",
    )
    .unwrap();
    let cwd = p.path().canonicalize().unwrap();
    let payload = json!({"session_id": "slow", "hook_event_name": "Stop", "cwd": cwd});
    let out = support::spawn_hook(
        &d.home,
        payload.to_string().as_bytes(),
        &[("AGENTD_HOOK_TIMEOUT_MS", "200")],
    )
    .wait_with_output()
    .unwrap();
    assert!(out.status.success(), "{out:?}");
    let v: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("no verdict ({e}): {out:?}"));
    assert_eq!(v["decision"], "block", "{v}");
    assert!(
        v["reason"].as_str().unwrap().contains("slow check failed"),
        "{v}"
    );
}

#[test]
fn hooks_history_is_a_table_with_headers_and_says_when_empty() {
    let d = TestDaemon::start();
    let out = run(&d.home, &["hooks", "history"], None);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "no runs yet\n");
    let p = project();
    let cwd = p.path().canonicalize().unwrap();
    let stop = json!({"session_id": "hist", "hook_event_name": "Stop", "cwd": cwd});
    assert!(
        run(&d.home, &["hook"], Some(stop.to_string().as_bytes()))
            .status
            .success()
    );
    let out = run(&d.home, &["hooks", "history"], None);
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let head = lines.next().unwrap();
    for col in ["STARTED", "SESSION", "HOOK", "EXIT", "OUTCOME"] {
        assert!(head.contains(col), "{head}");
    }
    let row = lines.next().unwrap_or_else(|| panic!("a run: {text}"));
    assert!(
        row.contains("hist") && row.contains("check") && row.contains("FAILED"),
        "{text}"
    );
}
