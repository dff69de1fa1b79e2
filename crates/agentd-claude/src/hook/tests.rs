use serde_json::json;

use super::*;

fn env() -> HookEnv {
    HookEnv {
        tmux_pane: Some("%3".into()),
        claude_pid: Some(42),
        project_dir: Some("/w/p".into()),
        git_branch: Some("main".into()),
        agent: None,
    }
}

#[test]
fn pre_tool_use_maps_to_tool_started_with_context() {
    let p = json!({
        "session_id": "abc", "hook_event_name": "PreToolUse", "cwd": "/w/p/sub",
        "transcript_path": "/t.jsonl", "permission_mode": "default",
        "tool_name": "Bash", "tool_input": {"command": "ls"}, "tool_use_id": "toolu_1",
        "agent_id": "a1", "agent_type": "Explore", "brand_new_field": 1
    });
    let e = to_event(&p, &env(), 7).unwrap();
    assert_eq!(e.session_id, "abc");
    assert_eq!(e.ts_ms, 7);
    assert_eq!(
        e.kind,
        EventKind::ToolStarted {
            tool: "Bash".into(),
            tool_use_id: Some("toolu_1".into())
        }
    );
    assert_eq!(e.context.cwd.as_deref(), Some("/w/p/sub"));
    assert_eq!(e.context.project_dir.as_deref(), Some("/w/p"));
    assert_eq!(e.context.permission_mode.as_deref(), Some("default"));
    assert_eq!(e.context.agent_id.as_deref(), Some("a1"));
    assert_eq!(e.context.pid, Some(42));
    assert_eq!(e.context.tmux_pane.as_deref(), Some("%3"));
}

#[test]
fn every_consumed_event_has_its_kind() {
    let cases = [
        ("SessionStart", "session.started"),
        ("UserPromptSubmit", "prompt.submitted"),
        ("PreToolUse", "tool.started"),
        ("PostToolUse", "tool.finished"),
        ("PostToolUseFailure", "tool.failed"),
        ("PermissionRequest", "permission.requested"),
        ("PermissionDenied", "permission.denied"),
        ("Notification", "notification"),
        ("Stop", "turn.stopped"),
        ("StopFailure", "turn.failed"),
        ("SubagentStart", "subagent.started"),
        ("SubagentStop", "subagent.stopped"),
        ("PreCompact", "compaction.started"),
        ("SessionEnd", "session.ended"),
        ("SomethingNew", "other"),
    ];
    for (name, kind) in cases {
        let p = json!({"session_id": "s", "hook_event_name": name, "tool_name": "Bash"});
        assert_eq!(
            to_event(&p, &HookEnv::default(), 0).unwrap().kind.name(),
            kind,
            "{name}"
        );
    }
}

#[test]
fn notifications_old_and_new() {
    let kind = |p: serde_json::Value| to_event(&p, &HookEnv::default(), 0).unwrap().kind;
    assert_eq!(
        kind(json!({"session_id": "s", "hook_event_name": "Notification",
            "message": "Claude needs your permission to use Bash"})),
        EventKind::PermissionRequested {
            tool: "Bash".into()
        }
    );
    assert_eq!(
        kind(json!({"session_id": "s", "hook_event_name": "Notification",
            "message": "Claude is waiting for your input"})),
        EventKind::Idle
    );
    assert_eq!(
        kind(json!({"session_id": "s", "hook_event_name": "Notification",
            "notification_type": "idle_prompt", "message": "x"})),
        EventKind::Idle
    );
    assert_eq!(
        kind(json!({"session_id": "s", "hook_event_name": "Notification",
            "notification_type": "elicitation_dialog"})),
        EventKind::InputRequested {
            reason: Some("elicitation_dialog".into())
        }
    );
}

#[test]
fn ask_user_question_means_needs_input() {
    let p =
        json!({"session_id": "s", "hook_event_name": "PreToolUse", "tool_name": "AskUserQuestion"});
    assert_eq!(
        to_event(&p, &HookEnv::default(), 0).unwrap().kind.name(),
        "input.requested"
    );
}

#[test]
fn subagent_start_is_not_from_inside_the_subagent() {
    let p = json!({"session_id": "s", "hook_event_name": "SubagentStart", "agent_id": "a", "agent_type": "t"});
    let e = to_event(&p, &HookEnv::default(), 0).unwrap();
    assert_eq!(e.context.agent_id, None);
    assert_eq!(
        e.kind,
        EventKind::SubagentStarted {
            agent_id: Some("a".into()),
            agent_type: Some("t".into())
        }
    );
}

#[test]
fn bad_payloads_are_named() {
    assert_eq!(
        to_event(&json!([1]), &HookEnv::default(), 0),
        Err(AdapterError::NotAnObject("an array"))
    );
    assert_eq!(
        to_event(&json!({"hook_event_name": "Stop"}), &HookEnv::default(), 0),
        Err(AdapterError::MissingField {
            field: "session_id"
        })
    );
    assert_eq!(
        to_event(&json!({"session_id": 5}), &HookEnv::default(), 0),
        Err(AdapterError::MissingField {
            field: "session_id"
        })
    );
}

proptest::proptest! {
    /// Any JSON object with a session id maps to an event; nothing panics.
    #[test]
    fn never_panics(name in ".{0,12}", tool in proptest::option::of(".{0,8}"), extra in ".{0,16}") {
        let p = json!({"session_id": "s", "hook_event_name": name, "tool_name": tool, "message": extra,
            "notification_type": extra, "model": extra});
        proptest::prop_assert!(to_event(&p, &HookEnv::default(), 0).is_ok());
    }
}

#[test]
fn an_oversize_payload_is_cut_to_fit_and_marked_never_dropped() {
    use super::{TRUNCATED_KEY, fit_payload};
    let small = serde_json::json!({"session_id": "s", "hook_event_name": "PostToolUse"});
    assert_eq!(fit_payload(small.clone(), 1 << 20), small);
    let big = serde_json::json!({
        "session_id": "s",
        "hook_event_name": "PostToolUse",
        "tool_name": "Bash",
        "tool_use_id": "toolu_1",
        "tool_input": {"command": "cat big"},
        "tool_response": {"stdout": "x".repeat(2 << 20)},
    });
    let max = 1 << 20;
    let fit = fit_payload(big, max);
    assert!(serde_json::to_vec(&fit).unwrap().len() <= max);
    assert_eq!(fit["session_id"], "s");
    assert_eq!(fit["tool_use_id"], "toolu_1");
    assert_eq!(fit["tool_input"]["command"], "cat big");
    assert!(fit.get("tool_response").is_none());
    let marker = &fit[TRUNCATED_KEY];
    assert!(marker["original_bytes"].as_u64().unwrap() > 2 << 20);
    assert!(marker["removed"]["tool_response"].as_u64().unwrap() > 2 << 20);
    // Still a valid event for the adapter.
    let e = super::to_event(&fit, &super::HookEnv::default(), 1).unwrap();
    assert_eq!(e.session_id, "s");
    // Not an object: the marker alone.
    let s = fit_payload(serde_json::json!("y".repeat(100)), 50);
    assert!(s[TRUNCATED_KEY]["original_bytes"].as_u64().is_some());
}

proptest::proptest! {
    #[test]
    fn fit_payload_always_fits(fields in proptest::collection::vec((".{1,8}", 0usize..5000), 0..40), max in 4200usize..20_000) {
        let mut m = serde_json::Map::new();
        m.insert("session_id".into(), serde_json::json!("s"));
        for (k, n) in fields {
            m.insert(k, serde_json::json!("z".repeat(n)));
        }
        let fit = super::fit_payload(serde_json::Value::Object(m), max);
        proptest::prop_assert!(serde_json::to_vec(&fit).unwrap().len() <= max);
        proptest::prop_assert_eq!(&fit["session_id"], "s");
    }
}
