//! Sessions agentd launches, with the real Claude Code CLI: `can_use_tool`
//! answered through approvals, `send` continuing the session, `kill` ending
//! it, and a helpful error when `claude` is missing.

mod support;

use agentd_proto::api::{ApprovalView, Health};
use agentd_proto::method;
use serde_json::json;
use support::claude::{ClaudeUser, WAIT, wait_session};
use support::{TestDaemon, run, wait_for};

fn next_pending(d: &TestDaemon) -> ApprovalView {
    wait_for("a can_use_tool approval", WAIT, || {
        let list: Vec<ApprovalView> = d.client().call(method::APPROVALS_LIST, json!({})).ok()?;
        list.into_iter().next()
    })
}

#[test]
fn launch_approve_send_deny_and_kill() {
    let root = tempfile::Builder::new().prefix("agd").tempdir().unwrap();
    let user = ClaudeUser::without_hooks(root.path());
    let d = TestDaemon::start_with_env(root.path(), user.daemon_env());
    let h: Health = d.client().call(method::HEALTH, json!({})).unwrap();
    assert_eq!(h.status, "ok", "{:?}", h.problems);

    let project = user.project.to_str().unwrap();
    let out = run(&d.home, &["launch", "--cwd", project, "make a file"], None);
    assert!(out.status.success(), "{out:?}");
    let id = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert_eq!(id.len(), 36, "a session id: {id}");

    // The Bash call needs permission: Claude Code asks agentd (can_use_tool).
    let pending = next_pending(&d);
    assert_eq!(pending.approval.origin, agentd_core::Origin::CanUseTool);
    assert_eq!(pending.approval.session_id, id);
    assert_eq!(
        pending.approval.tool_input["command"],
        "echo hello > out.txt"
    );
    wait_session(&d, &id, "needs_approval", |s| {
        s.session.status.as_str() == "needs_approval"
    });
    assert!(
        run(&d.home, &["approve", &pending.approval.id], None)
            .status
            .success()
    );
    wait_for("the command to run", WAIT, || {
        user.project.join("out.txt").exists().then_some(())
    });
    let s = wait_session(&d, &id, "idle after the result", |s| {
        s.session.status.as_str() == "idle"
    });
    assert_eq!(s.session.last_tool.as_deref(), Some("Bash"));
    assert!(s.session.pid.is_some());

    // Same process, next turn: deny this time.
    std::fs::remove_file(user.project.join("out.txt")).unwrap();
    let out = run(&d.home, &["send", &id[..8], "once more"], None);
    assert!(out.status.success(), "{out:?}");
    let line = String::from_utf8_lossy(&out.stdout);
    assert!(
        line.starts_with(&format!("{id}: message sent")),
        "a plain line: {line}"
    );
    let pending = next_pending(&d);
    let out = run(
        &d.home,
        &[
            "deny",
            &pending.approval.id,
            "--message",
            "launched-deny-reason",
        ],
        None,
    );
    assert!(out.status.success(), "{out:?}");
    wait_for("the denial to reach the model", WAIT, || {
        user.fake
            .bodies()
            .iter()
            .any(|b| b.to_string().contains("launched-deny-reason"))
            .then_some(())
    });
    wait_session(&d, &id, "idle after turn 2", |s| {
        s.session.status.as_str() == "idle" && s.session.prompts == 2
    });
    assert!(
        !user.project.join("out.txt").exists(),
        "the denied command did not run"
    );

    let out = run(&d.home, &["kill", &id], None);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("{id}: stopped (SIGINT)"),
        "{out:?}"
    );
    let s = wait_session(&d, &id, "ended after kill", |s| {
        s.session.status.as_str() == "ended"
    });
    assert_eq!(s.session.end_reason.as_deref(), Some("process_exited"));
}

#[test]
fn a_missing_claude_degrades_health_and_launch_says_how_to_fix_it() {
    let root = tempfile::Builder::new().prefix("agd").tempdir().unwrap();
    let d = TestDaemon::start_with_env(
        root.path(),
        vec![("AGENTD_CLAUDE".into(), "/nonexistent/claude".into())],
    );
    let h: Health = d.client().call(method::HEALTH, json!({})).unwrap();
    assert_eq!(h.status, "degraded");
    assert!(
        h.problems[0].contains("/nonexistent/claude"),
        "{:?}",
        h.problems
    );
    let out = run(&d.home, &["launch", "hello"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("AGENTD_CLAUDE"),
        "{out:?}"
    );
}

#[test]
fn a_launched_session_with_hooks_installed_has_one_approval_per_tool_call() {
    // Hooks installed: Claude Code reports the permission request twice,
    // through the PermissionRequest hook and `can_use_tool` on stdio.
    let root = tempfile::Builder::new().prefix("agd").tempdir().unwrap();
    let user = ClaudeUser::new(root.path());
    let d = TestDaemon::start_with_env(root.path(), user.daemon_env());
    let project = user.project.to_str().unwrap();
    let out = run(&d.home, &["launch", "--cwd", project, "make a file"], None);
    assert!(out.status.success(), "{out:?}");
    let id = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let pending = next_pending(&d);
    wait_for("the PermissionRequest hook to report too", WAIT, || {
        support::claude::hook_names(&d, &id)
            .iter()
            .any(|n| n == "PermissionRequest")
            .then_some(())
    });
    let all: Vec<ApprovalView> = d
        .client()
        .call(method::APPROVALS_LIST, json!({"all": true}))
        .unwrap();
    assert_eq!(all.len(), 1, "one tool call, one approval: {all:?}");
    assert!(
        run(&d.home, &["approve", &pending.approval.id], None)
            .status
            .success()
    );
    wait_for("the command to run", WAIT, || {
        user.project.join("out.txt").exists().then_some(())
    });
    wait_session(&d, &id, "idle after the result", |s| {
        s.session.status.as_str() == "idle"
    });
    let all: Vec<ApprovalView> = d
        .client()
        .call(method::APPROVALS_LIST, json!({"all": true}))
        .unwrap();
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0].approval.status.as_str(), "allowed", "{all:?}");
    assert!(run(&d.home, &["kill", &id], None).status.success());
}
