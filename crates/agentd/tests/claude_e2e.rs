//! End-to-end against the real Claude Code CLI (the npm package pinned in
//! `scripts/install-claude-code.sh`), running offline against the fake
//! Messages API in `fake-anthropic`. Hooks and the status line are installed
//! with `agentd install`, exactly as a user would.

mod support;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::json;
use support::claude::{
    ClaudeUser, WAIT, dedup, get, hook_names, ls_json, record_statuses, session_id_of, wait_session,
};
use support::{TestDaemon, wait_for};

#[test]
fn headless_session_is_tracked_from_start_to_end() {
    let d = TestDaemon::start();
    let user = ClaudeUser::new(&d.home);
    let (out, stream) = user.headless("make a file");
    assert!(out.status.success(), "claude failed: {out:?}");
    let id = session_id_of(&stream);
    assert_eq!(stream.last().unwrap()["subtype"], "success", "{stream:?}");
    assert!(user.project.join("out.txt").exists(), "the tool ran");

    let sessions = ls_json(&d.home);
    let s = sessions
        .iter()
        .find(|s| s["id"] == id.as_str())
        .unwrap_or_else(|| panic!("{id} in {sessions:?}"));
    assert_eq!(s["status"], "ended");
    assert_eq!(s["cwd"], user.project.to_str().unwrap());
    assert_eq!(s["last_tool"], "Bash");
    assert_eq!(s["tool_calls"], 1);
    assert_eq!(s["prompts"], 1);
    assert_eq!(s["agent"], "claude");
    let transcript = s["transcript_path"].as_str().unwrap();
    assert!(
        Path::new(transcript).exists(),
        "Claude wrote the transcript at {transcript}"
    );
    assert!(
        s["pid"].as_u64().is_some(),
        "Claude's pid reached the daemon"
    );

    assert_eq!(
        hook_names(&d, &id),
        [
            "SessionStart",
            "UserPromptSubmit",
            "PreToolUse",
            "PostToolUse",
            "Stop",
            "SessionEnd"
        ]
    );
    assert!(user.fake.requests() >= 2);
}

#[test]
fn without_a_daemon_claude_runs_normally_and_the_hook_returns_at_once() {
    let root = tempfile::Builder::new().prefix("agd").tempdir().unwrap();
    let user = ClaudeUser::new(root.path()); // hooks installed, no daemon running
    let (out, stream) = user.headless("make a file");
    assert!(out.status.success(), "claude failed: {out:?}");
    let result = stream.last().unwrap();
    assert_eq!(result["type"], "result");
    assert_eq!(result["subtype"], "success");
    assert_eq!(result["result"], "done");
    assert!(user.project.join("out.txt").exists());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("hook error"), "{stderr}");

    // Spawned the way Claude spawns it: via sh -c, payload on stdin.
    let payload = json!({"session_id": "x", "hook_event_name": "PreToolUse", "tool_name": "Bash",
        "tool_input": {"command": "ls"}, "cwd": "/tmp", "transcript_path": "/tmp/x.jsonl"})
    .to_string();
    let mut fastest = Duration::MAX;
    for _ in 0..10 {
        let start = Instant::now();
        let out = support::agentd_cmd(root.path())
            .arg("hook")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                use std::io::Write;
                c.stdin.take().unwrap().write_all(payload.as_bytes())?;
                c.wait_with_output()
            })
            .unwrap();
        fastest = fastest.min(start.elapsed());
        assert_eq!(out.status.code(), Some(0));
        assert!(out.stdout.is_empty());
    }
    // The fastest of ten: robust to a noisy machine, still catches any wait.
    assert!(
        fastest < Duration::from_millis(50),
        "hook took {fastest:?} with no daemon"
    );
}

#[test]
fn interactive_session_in_tmux_with_approval_restart_and_exit() {
    let mut d = TestDaemon::start();
    let user = ClaudeUser::new(&d.home);
    let statuses = record_statuses(&d);
    let tmux = user.start_tmux();
    let id = wait_for("the session to appear", WAIT, || {
        ls_json(&d.home)
            .first()
            .and_then(|s| s["id"].as_str().map(str::to_owned))
    });

    // Turn 1: the permission dialog, answered in the terminal.
    tmux.type_text("make a file");
    tmux.keys(&["Enter"]);
    tmux.wait_screen("the permission dialog", |s| {
        s.contains("Do you want to proceed?")
    });
    let s = wait_session(&d, &id, "needs_approval", |s| {
        s.session.status.as_str() == "needs_approval"
    });
    assert_eq!(s.session.pending_permission.as_deref(), Some("Bash"));
    tmux.approve();
    let s = wait_session(&d, &id, "idle after the turn", |s| {
        s.session.status.as_str() == "idle"
    });
    assert_eq!(s.session.last_tool.as_deref(), Some("Bash"));
    assert!(user.project.join("out.txt").exists());
    // agentd held the PermissionRequest too; the terminal answered first.
    let approvals: Vec<serde_json::Value> = serde_json::from_slice(
        &support::run(&d.home, &["approvals", "--all", "--json"], None).stdout,
    )
    .unwrap();
    assert_eq!(approvals.len(), 1, "{approvals:?}");
    assert_eq!(approvals[0]["status"], "answered_in_terminal");
    assert_eq!(approvals[0]["decided_by"], "terminal");
    let s = wait_session(&d, &id, "model and cost from the status line", |s| {
        s.session.model.is_some() && s.session.cost_usd.is_some_and(|c| c > 0.0)
    });
    assert!(
        s.session.model.as_deref().unwrap().starts_with("claude-"),
        "{:?}",
        s.session.model
    );
    assert!(
        s.session
            .tmux_pane
            .as_deref()
            .is_some_and(|p| p.starts_with('%')),
        "{:?}",
        s.session.tmux_pane
    );
    let seen = dedup(&statuses.lock().unwrap(), &id);
    let want = ["working", "needs_approval", "working", "idle"];
    let mut it = seen.iter();
    assert!(
        want.iter().all(|w| it.any(|s| s == w)),
        "statuses in order {want:?}, saw {seen:?}"
    );

    // The daemon restarts mid-session: nothing lost, tracking continues.
    let before = get(&d, &id).unwrap();
    let events_before = hook_names(&d, &id);
    let (status, _) = d.stop();
    assert!(status.success());
    d.restart();
    let after = get(&d, &id).unwrap();
    if after.session.last_seq == before.session.last_seq {
        // The process sample is a reading of the moment, not state.
        assert_eq!(
            agentd_proto::api::SessionView {
                process: None,
                ..after.clone()
            },
            agentd_proto::api::SessionView {
                process: None,
                ..before.clone()
            }
        );
    } else {
        // Claude Code refreshes its status line on its own: a refresh that
        // landed around the restart (or was spooled while the daemon was
        // down, then drained) moves the session on. Nothing else may.
        let page: serde_json::Value = d
            .client()
            .call(
                agentd_proto::method::EVENTS_LIST,
                json!({"after_seq": before.session.last_seq, "session_id": id}),
            )
            .unwrap();
        let sources: Vec<&str> = page["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["source"].as_str())
            .collect();
        assert!(
            !sources.is_empty() && sources.iter().all(|s| *s == "statusline"),
            "only status-line refreshes came after {before:?}: {sources:?}"
        );
        let same = |s: &agentd_proto::api::SessionView| {
            (
                s.session.status,
                s.session.prompts,
                s.session.tool_calls,
                s.session.pending_approvals.clone(),
                s.session.last_tool.clone(),
                s.session.first_event_ms,
            )
        };
        assert_eq!(same(&after), same(&before));
    }
    assert_eq!(hook_names(&d, &id), events_before);

    tmux.type_text("make another file");
    tmux.keys(&["Enter"]);
    tmux.wait_screen("the second permission dialog", |s| {
        s.contains("Do you want to proceed?")
    });
    wait_session(&d, &id, "needs_approval again", |s| {
        s.session.status.as_str() == "needs_approval"
    });
    tmux.approve();
    let s = wait_session(&d, &id, "idle after turn 2", |s| {
        s.session.status.as_str() == "idle" && s.session.prompts == 2
    });
    assert_eq!(s.session.tool_calls, 2);

    tmux.type_text("/exit");
    tmux.wait_screen("/exit typed", |s| s.contains("/exit"));
    // A key sent while the input is still settling can be ignored: press
    // Enter until the session ends (each wait a condition).
    let s = tmux.until(
        "the session to end after /exit",
        || tmux.keys(&["Enter"]),
        || get(&d, &id).filter(|s| s.session.status.as_str() == "ended"),
    );
    assert_eq!(s.session.end_reason.as_deref(), Some("prompt_input_exit"));
    let names = hook_names(&d, &id);
    assert_eq!(names.first().map(String::as_str), Some("SessionStart"));
    assert_eq!(names.last().map(String::as_str), Some("SessionEnd"));
    assert_eq!(
        names.iter().filter(|n| *n == "PermissionRequest").count(),
        2,
        "{names:?}"
    );
}
