//! Approvals through the real binary: held hook calls, decisions from the
//! CLI, the first decision winning, moot and orphaned requests, rules,
//! timeouts and restarts.

mod support;

use std::path::Path;
use std::process::{Child, Output};
use std::time::Duration;

use agentd_proto::api::{ApprovalView, SessionView};
use agentd_proto::method;
use serde_json::{Value, json};
use support::{TestDaemon, run, wait_for};

fn permission_request(session: &str, command: &str) -> Value {
    json!({"session_id": session, "hook_event_name": "PermissionRequest", "cwd": "/tmp",
        "tool_name": "Bash", "tool_input": {"command": command},
        "permission_suggestions": [{"type": "addRules", "rules": [{"toolName": "Bash", "ruleContent": command}],
            "behavior": "allow", "destination": "localSettings"}]})
}

/// `agentd hook` as Claude Code runs it, left running.
fn spawn_hook(home: &Path, payload: &Value) -> Child {
    support::spawn_hook(home, payload.to_string().as_bytes(), &[])
}

fn pending(d: &TestDaemon, n: usize) -> Vec<ApprovalView> {
    wait_for(
        &format!("{n} pending approvals"),
        Duration::from_secs(20),
        || {
            let list: Vec<ApprovalView> =
                d.client().call(method::APPROVALS_LIST, json!({})).ok()?;
            (list.len() == n).then_some(list)
        },
    )
}

/// The pending approvals now (no waiting): for asserting that none is
/// left once a decision has been acknowledged.
fn pending_now(d: &TestDaemon) -> Vec<ApprovalView> {
    d.client().call(method::APPROVALS_LIST, json!({})).unwrap()
}

fn stdout_json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("hook stdout is not JSON ({e}): {out:?}"))
}

fn status_of(d: &TestDaemon, session: &str) -> String {
    let s: SessionView = d
        .client()
        .call(method::SESSIONS_GET, json!({"id": session}))
        .unwrap();
    s.session.status.as_str().to_owned()
}

#[test]
fn approve_from_the_cli_releases_the_held_hook_with_claudes_output_shape() {
    let d = TestDaemon::start();
    let hook = spawn_hook(&d.home, &permission_request("s1", "rm -rf build"));
    let list = pending(&d, 1);
    let a = &list[0].approval;
    assert_eq!(a.tool_name, "Bash");
    assert_eq!(a.tool_input["command"], "rm -rf build");
    assert_eq!(
        a.asked_because.as_deref(),
        Some("agentd.toml has no [[rules]]; every tool call it is asked about goes to a human")
    );
    assert_eq!(a.session_id, "s1");
    assert_eq!(status_of(&d, "s1"), "needs_approval");

    // The CLI JSON has the documented keys.
    let out = run(&d.home, &["approvals", "--json"], None);
    let listed: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    for key in [
        "id",
        "session_id",
        "tool_name",
        "tool_input",
        "status",
        "created_at",
        "decided_by",
    ] {
        assert!(listed[0].get(key).is_some(), "{key} in {}", listed[0]);
    }
    assert_eq!(listed[0]["status"], "pending");

    let out = run(&d.home, &["approve", &a.id[..8], "--always"], None);
    assert!(out.status.success(), "{out:?}");
    let hook = hook.wait_with_output().unwrap();
    assert_eq!(hook.status.code(), Some(0));
    assert_eq!(
        stdout_json(&hook),
        json!({"hookSpecificOutput": {"hookEventName": "PermissionRequest", "decision": {"behavior": "allow",
            "updatedPermissions": [{"type": "addRules", "rules": [{"toolName": "Bash", "ruleContent": "rm -rf build"}],
                "behavior": "allow", "destination": "localSettings"}]}}})
    );
    assert_eq!(status_of(&d, "s1"), "working");
    let done: ApprovalView = d
        .client()
        .call(method::APPROVALS_GET, json!({"id": a.id}))
        .unwrap();
    assert_eq!(done.approval.status.as_str(), "allowed");
    // Named by who decided: user@host, as ssh and git name people.
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let host = host.trim().split('.').next().unwrap();
    let by = done.approval.decided_by.unwrap();
    let (user, at) = by.split_once('@').unwrap_or_else(|| panic!("{by}"));
    assert!(!user.is_empty() && user != "unknown", "{by}");
    assert_eq!(at, host, "{by}");
    assert!(done.decided_at.is_some());
    let left = pending_now(&d);
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn deny_sends_the_message_and_the_second_decider_loses() {
    let d = TestDaemon::start();
    let hook = spawn_hook(&d.home, &permission_request("s2", "git push --force"));
    let id = pending(&d, 1)[0].approval.id.clone();
    // Two deciders at once: exactly one wins.
    let (a, b) = std::thread::scope(|s| {
        let one = s.spawn(|| run(&d.home, &["deny", &id, "--message", "not on main"], None));
        let two = s.spawn(|| run(&d.home, &["approve", &id], None));
        (one.join().unwrap(), two.join().unwrap())
    });
    assert_eq!(
        a.status.success() as u8 + b.status.success() as u8,
        1,
        "{a:?}\n{b:?}"
    );
    let loser = if a.status.success() { &b } else { &a };
    let err = String::from_utf8_lossy(&loser.stderr);
    assert!(
        err.contains("was already")
            && err.contains(" by ")
            && err.contains('@')
            && err.contains(" at 20"),
        "{err}"
    );

    let hook = hook.wait_with_output().unwrap();
    let out = stdout_json(&hook);
    let decision = &out["hookSpecificOutput"]["decision"];
    if a.status.success() {
        assert_eq!(
            *decision,
            json!({"behavior": "deny", "message": "not on main"})
        );
    } else {
        assert_eq!(decision["behavior"], "allow");
    }
}

#[test]
fn answered_in_the_terminal_settles_the_approval_and_releases_the_hook() {
    let d = TestDaemon::start();
    let hook = spawn_hook(&d.home, &permission_request("s3", "make"));
    let id = pending(&d, 1)[0].approval.id.clone();
    // The tool ran: the human said yes in Claude Code's own dialog.
    let post = json!({"session_id": "s3", "hook_event_name": "PostToolUse", "tool_name": "Bash",
        "tool_input": {"command": "make"}, "tool_response": {}});
    assert!(
        run(&d.home, &["hook"], Some(post.to_string().as_bytes()))
            .status
            .success()
    );
    let hook = hook.wait_with_output().unwrap();
    assert!(
        hook.status.success() && hook.stdout.is_empty(),
        "no decision: {hook:?}"
    );
    let a: ApprovalView = d
        .client()
        .call(method::APPROVALS_GET, json!({"id": id}))
        .unwrap();
    assert_eq!(a.approval.status.as_str(), "answered_in_terminal");
    assert_eq!(a.approval.decided_by.as_deref(), Some("terminal"));
    assert_eq!(status_of(&d, "s3"), "working");
    // Deciding now is refused, naming who answered.
    let out = run(&d.home, &["approve", &id], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("already answered in terminal by terminal")
    );
}

#[test]
fn a_vanished_hook_call_expires_instead_of_taking_a_decision() {
    let d = TestDaemon::start();
    let mut hook = spawn_hook(&d.home, &permission_request("s4", "ls"));
    let id = pending(&d, 1)[0].approval.id.clone();
    hook.kill().unwrap();
    hook.wait().unwrap();
    let out = wait_for("the orphan to be noticed", Duration::from_secs(10), || {
        let out = run(&d.home, &["approve", &id], None);
        (!out.status.success()).then_some(out)
    });
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("can no longer be decided"),
        "{out:?}"
    );
    let a: ApprovalView = d
        .client()
        .call(method::APPROVALS_GET, json!({"id": id}))
        .unwrap();
    assert_eq!(a.approval.status.as_str(), "expired");
}

#[test]
fn rules_decide_without_a_human_and_ask_rules_hold_pre_tool_use() {
    let dir = tempfile::Builder::new().prefix("agd").tempdir().unwrap();
    std::fs::write(
        dir.path().join("agentd.toml"),
        r#"
[approvals]
timeout_s = 1

[[rules]]
rule = "Bash(rm:*)"
action = "deny"
message = "no rm here"

[[rules]]
rule = "Bash(ls:*)"
action = "allow"

[[rules]]
rule = "Bash(git push:*)"
action = "ask"
on_timeout = "deny"
"#,
    )
    .unwrap();
    let d = TestDaemon::start_in(dir.path());
    let pre = |cmd: &str| {
        json!({"session_id": "r", "hook_event_name": "PreToolUse", "tool_name": "Bash",
        "tool_input": {"command": cmd}, "tool_use_id": "toolu_1", "cwd": "/tmp"})
    };

    let out = run(
        &d.home,
        &["hook"],
        Some(pre("rm -rf /tmp/x").to_string().as_bytes()),
    );
    assert_eq!(
        stdout_json(&out),
        json!({"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": "deny",
            "permissionDecisionReason": "no rm here"}})
    );
    let out = run(
        &d.home,
        &["hook"],
        Some(pre("ls -la").to_string().as_bytes()),
    );
    assert_eq!(
        stdout_json(&out)["hookSpecificOutput"]["permissionDecision"],
        "allow"
    );
    let out = run(
        &d.home,
        &["hook"],
        Some(pre("echo hi").to_string().as_bytes()),
    );
    assert!(out.stdout.is_empty(), "no rule: Claude decides");
    let out = run(
        &d.home,
        &["hook"],
        Some(permission_request("r", "ls").to_string().as_bytes()),
    );
    assert_eq!(
        stdout_json(&out)["hookSpecificOutput"]["decision"]["behavior"],
        "allow"
    );

    // `ask` holds the PreToolUse call; nobody answers within 1 s; on_timeout = deny.
    let out = run(
        &d.home,
        &["hook"],
        Some(pre("git push origin main").to_string().as_bytes()),
    );
    let reply = stdout_json(&out);
    assert_eq!(
        reply["hookSpecificOutput"]["permissionDecision"], "deny",
        "{reply}"
    );
    let all: Vec<ApprovalView> = d
        .client()
        .call(method::APPROVALS_LIST, json!({"all": true}))
        .unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].approval.status.as_str(), "timed_out");
    // It says which rule sent it to a human.
    let why = all[0].approval.asked_because.as_deref().unwrap_or_default();
    assert!(
        why.contains("asks a human") && why.contains("git push"),
        "{why}"
    );
    assert_eq!(
        status_of(&d, "r"),
        "working",
        "a PreToolUse hold that ends lets Claude go on"
    );

    let out = run(
        &d.home,
        &["rules", "test", "Bash", r#"{"command": "rm -rf x && ls"}"#],
        None,
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("deny: rule #1 `Bash(rm:*)`") && text.contains("starts with `rm`"),
        "{text}"
    );
    let out = run(
        &d.home,
        &["rules", "test", "Edit", r#"{"file_path": "/x"}"#],
        None,
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("no rule matches"));
}

#[test]
fn questions_get_answers() {
    let d = TestDaemon::start();
    let ask = json!({"session_id": "q", "hook_event_name": "PermissionRequest", "tool_name": "AskUserQuestion",
        "tool_input": {"questions": [{"question": "Which DB?", "options": [{"label": "sqlite"}, {"label": "pg"}]}]}});
    let hook = spawn_hook(&d.home, &ask);
    let id = pending(&d, 1)[0].approval.id.clone();
    assert!(
        run(&d.home, &["answer", &id, "sqlite"], None)
            .status
            .success()
    );
    let out = stdout_json(&hook.wait_with_output().unwrap());
    let decision = &out["hookSpecificOutput"]["decision"];
    assert_eq!(decision["behavior"], "allow");
    assert_eq!(
        decision["updatedInput"]["answers"],
        json!({"Which DB?": "sqlite"})
    );
}

#[test]
fn a_restart_expires_pending_approvals_and_nothing_is_lost() {
    let dir = tempfile::Builder::new().prefix("agd").tempdir().unwrap();
    let mut d = TestDaemon::start_in(dir.path());
    let hook = spawn_hook(&d.home, &permission_request("s5", "cargo publish"));
    let id = pending(&d, 1)[0].approval.id.clone();
    d.stop();
    // The hook fails open when its daemon goes away.
    let hook = hook.wait_with_output().unwrap();
    assert!(hook.status.success() && hook.stdout.is_empty(), "{hook:?}");
    d.restart();
    let a: ApprovalView = d
        .client()
        .call(method::APPROVALS_GET, json!({"id": id}))
        .unwrap();
    assert_eq!(a.approval.status.as_str(), "expired");
    assert!(a.approval.reason.unwrap().contains("restarted"));
    let left = pending_now(&d);
    assert!(left.is_empty(), "{left:?}");
    let s: SessionView = d
        .client()
        .call(method::SESSIONS_GET, json!({"id": "s5"}))
        .unwrap();
    assert!(s.session.pending_approvals.is_empty());
    // Claude Code's own dialog may still be up: the next terminal answer moves it on.
    let post = json!({"session_id": "s5", "hook_event_name": "PostToolUse", "tool_name": "Bash"});
    let out = run(&d.home, &["hook"], Some(post.to_string().as_bytes()));
    assert!(out.status.success() && out.stdout.is_empty(), "{out:?}");
    assert_eq!(status_of(&d, "s5"), "working");
}

#[test]
fn mcp_elicitations_are_answered_declined_or_settled_in_the_terminal() {
    let d = TestDaemon::start();
    let ask = |session: &str| {
        json!({"session_id": session, "hook_event_name": "Elicitation", "cwd": "/tmp",
            "mcp_server_name": "github", "message": "Which repository?",
            "requested_schema": {"type": "object", "properties": {"repo": {"type": "string"}}}})
    };
    // Answered with JSON content: accepted with it.
    let hook = spawn_hook(&d.home, &ask("e1"));
    let a = pending(&d, 1).remove(0);
    assert_eq!(a.approval.tool_name, "mcp__github");
    assert_eq!(a.approval.tool_input["message"], "Which repository?");
    assert_eq!(a.approval.origin, agentd_core::Origin::Elicitation);
    assert_eq!(status_of(&d, "e1"), "needs_approval");
    let ok = run(
        &d.home,
        &["answer", &a.approval.id, r#"{"repo": "agentd"}"#],
        None,
    );
    assert!(ok.status.success(), "{ok:?}");
    let out = stdout_json(&hook.wait_with_output().unwrap());
    assert_eq!(
        out,
        json!({"hookSpecificOutput": {"hookEventName": "Elicitation", "action": "accept", "content": {"repo": "agentd"}}})
    );
    // Denied: declined.
    let hook = spawn_hook(&d.home, &ask("e2"));
    let a = pending(&d, 1).remove(0);
    assert!(
        run(&d.home, &["deny", &a.approval.id], None)
            .status
            .success()
    );
    let out = stdout_json(&hook.wait_with_output().unwrap());
    assert_eq!(out["hookSpecificOutput"]["action"], "decline");
    // Answered in Claude Code's own dialog: ElicitationResult settles it.
    let hook = spawn_hook(&d.home, &ask("e3"));
    let a = pending(&d, 1).remove(0);
    let result = json!({"session_id": "e3", "hook_event_name": "ElicitationResult", "cwd": "/tmp",
        "mcp_server_name": "github", "action": "accept", "content": {"repo": "x"}});
    let r = run(&d.home, &["hook"], Some(result.to_string().as_bytes()));
    assert!(r.status.success());
    let out = hook.wait_with_output().unwrap();
    assert!(out.status.success());
    assert!(
        out.stdout.is_empty(),
        "no decision: Claude Code's own answer stands"
    );
    let settled: ApprovalView = d
        .client()
        .call(method::APPROVALS_GET, json!({"id": a.approval.id}))
        .unwrap();
    assert_eq!(settled.approval.status.as_str(), "answered_in_terminal");
    assert_ne!(status_of(&d, "e3"), "needs_approval");
}

#[test]
fn a_held_hook_waits_past_its_fail_open_timeout_until_the_decision() {
    // A 200 ms fail-open timeout: without `approval.held` extending the
    // wait, the hook would give up (and print nothing) long before anyone
    // decides.
    let d = TestDaemon::start();
    let mut hook = support::spawn_hook(
        &d.home,
        permission_request("held", "make deploy")
            .to_string()
            .as_bytes(),
        &[("AGENTD_HOOK_TIMEOUT_MS", "200")],
    );
    let id = pending(&d, 1)[0].approval.id.clone();
    // Well past the timeout, the hook still waits (its process is alive).
    let since = std::time::Instant::now();
    wait_for("ten timeouts to pass", Duration::from_secs(60), || {
        (since.elapsed() > Duration::from_millis(2000)).then_some(())
    });
    assert!(
        hook.try_wait().unwrap().is_none(),
        "the hook gave up while held"
    );
    let out = run(&d.home, &["approve", &id], None);
    assert!(out.status.success(), "{out:?}");
    let out = hook.wait_with_output().unwrap();
    assert_eq!(
        stdout_json(&out)["hookSpecificOutput"]["decision"]["behavior"],
        "allow"
    );
}

#[test]
fn a_multi_line_command_is_shown_line_by_line_before_anyone_decides() {
    let d = TestDaemon::start();
    let hook = spawn_hook(
        &d.home,
        &permission_request("ml", "cargo publish --dry-run\nrm -rf target"),
    );
    let id = pending(&d, 1)[0].approval.id.clone();
    let out = run(&d.home, &["approvals"], None);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("cargo publish --dry-run ⏎ +1 line"), "{text}");
    assert!(
        !text.contains("--dry-run rm -rf"),
        "folded into one line: {text}"
    );
    assert!(text.contains("1 $ cargo publish --dry-run"), "{text}");
    assert!(text.contains("2 $ rm -rf target"), "{text}");
    assert!(run(&d.home, &["deny", &id], None).status.success());
    let out = hook.wait_with_output().unwrap();
    assert!(out.status.success());
}

/// Claude Code 2.1.332's hook before a skill's shell command is judged by
/// the same rules as a PreToolUse, held for a human like one, and answered
/// under its own event name; the stored event is the payload as sent.
#[test]
fn a_skills_shell_command_is_judged_and_held_like_a_tool_call() {
    let d = TestDaemon::with_config(
        "[[rules]]\nrule = \"Bash(rm:*)\"\naction = \"deny\"\nmessage = \"no rm\"\n\n\
         [[rules]]\nrule = \"Bash(git push:*)\"\naction = \"ask\"\n",
    );
    let skill = |cmd: &str| {
        json!({"session_id": "sk", "hook_event_name": "PreSkillShellCommand", "tool_name": "Bash",
            "tool_input": {"command": cmd}, "skill_name": "deploy", "cwd": "/tmp"})
    };
    let out = run(
        &d.home,
        &["hook"],
        Some(skill("rm -rf x").to_string().as_bytes()),
    );
    assert_eq!(
        stdout_json(&out),
        json!({"hookSpecificOutput": {"hookEventName": "PreSkillShellCommand",
            "permissionDecision": "deny", "permissionDecisionReason": "no rm"}})
    );
    let held = spawn_hook(&d.home, &skill("git push origin main"));
    let a = pending(&d, 1).remove(0);
    assert_eq!(a.approval.tool_name, "Bash");
    assert_eq!(status_of(&d, "sk"), "needs_approval");
    let decided = run(&d.home, &["approve", &a.approval.id], None);
    assert!(decided.status.success(), "{decided:?}");
    let out = stdout_json(&held.wait_with_output().unwrap());
    assert_eq!(
        out["hookSpecificOutput"]["hookEventName"], "PreSkillShellCommand",
        "{out}"
    );
    assert_eq!(out["hookSpecificOutput"]["permissionDecision"], "allow");
    let events = d
        .client()
        .events(&agentd_proto::api::EventsListParams {
            session_id: Some("sk".into()),
            ..Default::default()
        })
        .unwrap()
        .events;
    let first = events.iter().find(|e| e.source == "hook").unwrap();
    assert_eq!(first.name, "PreSkillShellCommand");
    assert_eq!(first.kind, "tool.started");
    assert_eq!(first.payload["skill_name"], "deploy");
}
