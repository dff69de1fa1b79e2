use proptest::prelude::*;

use super::*;

fn ev(ts: i64, kind: EventKind) -> LifecycleEvent {
    LifecycleEvent {
        session_id: "s1".into(),
        ts_ms: ts,
        kind,
        context: EventContext::default(),
    }
}

fn tool(name: &str) -> EventKind {
    EventKind::ToolStarted {
        tool: name.into(),
        tool_use_id: None,
    }
}

fn run(kinds: Vec<EventKind>) -> Session {
    let mut s = Session::new("s1", "claude", 0);
    for (i, k) in kinds.into_iter().enumerate() {
        s.apply(i as u64 + 1, &ev(i as i64 + 1, k));
    }
    s
}

#[test]
fn a_headless_turn_goes_through_the_expected_statuses() {
    let mut s = Session::new("s1", "claude", 0);
    let steps = [
        (
            EventKind::SessionStarted {
                source: Some("startup".into()),
            },
            Status::Starting,
        ),
        (EventKind::PromptSubmitted, Status::Working),
        (tool("Bash"), Status::Working),
        (
            EventKind::PermissionRequested {
                tool: "Bash".into(),
            },
            Status::NeedsApproval,
        ),
        (
            EventKind::ToolFinished {
                tool: "Bash".into(),
                tool_use_id: None,
                failed: false,
            },
            Status::Working,
        ),
        (EventKind::TurnStopped, Status::Idle),
        (
            EventKind::SessionEnded {
                reason: Some("other".into()),
            },
            Status::Ended,
        ),
    ];
    for (i, (kind, want)) in steps.into_iter().enumerate() {
        s.apply(i as u64 + 1, &ev(i as i64 + 10, kind));
        assert_eq!(s.status, want, "after step {i}");
    }
    assert_eq!(s.prompts, 1);
    assert_eq!(s.tool_calls, 1);
    assert_eq!(s.last_tool.as_deref(), Some("Bash"));
    assert_eq!(s.current_tool, None);
    assert_eq!(s.end_reason.as_deref(), Some("other"));
    assert_eq!(s.last_seq, 7);
}

#[test]
fn compaction_restart_keeps_a_working_session_working() {
    let s = run(vec![
        EventKind::PromptSubmitted,
        EventKind::SessionStarted {
            source: Some("compact".into()),
        },
    ]);
    assert_eq!(s.status, Status::Working);
}

#[test]
fn an_ended_session_reopens_on_resume() {
    let s = run(vec![
        EventKind::SessionEnded { reason: None },
        EventKind::SessionStarted {
            source: Some("resume".into()),
        },
    ]);
    assert_eq!(s.status, Status::Starting);
    assert_eq!(s.end_reason, None);
}

#[test]
fn status_updates_do_not_revive_an_ended_session() {
    let s = run(vec![
        EventKind::ProcessExited,
        EventKind::StatusUpdated {
            context_pct: Some(3.0),
            cost_usd: Some(0.5),
        },
    ]);
    assert_eq!(s.status, Status::Ended);
    assert_eq!(s.end_reason.as_deref(), Some("process_exited"));
    assert_eq!(s.cost_usd, Some(0.5));
}

#[test]
fn context_fills_in_and_never_erases() {
    let mut s = Session::new("s1", "claude", 0);
    let mut e = ev(1, EventKind::PromptSubmitted);
    e.context.cwd = Some("/w/p".into());
    e.context.model = Some("m1".into());
    s.apply(1, &e);
    s.apply(2, &ev(2, EventKind::TurnStopped));
    assert_eq!(s.cwd.as_deref(), Some("/w/p"));
    assert_eq!(s.project.as_deref(), Some("/w/p"));
    assert_eq!(s.model.as_deref(), Some("m1"));
}

#[test]
fn approvals_hold_needs_approval_until_resolved() {
    use crate::{ApprovalStatus, Origin};
    let req = |id: &str| EventKind::ApprovalRequested {
        approval_id: id.into(),
        tool: "Bash".into(),
    };
    let res = |id: &str, status, origin| EventKind::ApprovalResolved {
        approval_id: id.into(),
        status,
        origin,
    };
    let s = run(vec![EventKind::PromptSubmitted, req("a"), tool("Read")]);
    assert_eq!(
        s.status,
        Status::NeedsApproval,
        "a pending approval wins over other activity"
    );
    let s = run(vec![
        EventKind::PromptSubmitted,
        req("a"),
        res("a", ApprovalStatus::Allowed, Origin::PermissionRequest),
    ]);
    assert_eq!(s.status, Status::Working);
    assert!(s.pending_approvals.is_empty());
    let s = run(vec![
        EventKind::PermissionRequested {
            tool: "Bash".into(),
        },
        req("a"),
        res("a", ApprovalStatus::TimedOut, Origin::PermissionRequest),
    ]);
    assert_eq!(
        s.status,
        Status::NeedsApproval,
        "Claude's own dialog is still up"
    );
    let s = run(vec![
        req("a"),
        res("a", ApprovalStatus::TimedOut, Origin::PreToolUse),
    ]);
    assert_eq!(
        s.status,
        Status::Working,
        "a PreToolUse hold that times out lets Claude go on"
    );
    let s = run(vec![
        req("a"),
        req("b"),
        res("a", ApprovalStatus::Denied, Origin::PermissionRequest),
    ]);
    assert_eq!(s.status, Status::NeedsApproval, "b still pending");
}

#[test]
fn subagents_are_tracked_by_id() {
    let s = run(vec![
        EventKind::SubagentStarted {
            agent_id: Some("a1".into()),
            agent_type: Some("Explore".into()),
        },
        EventKind::SubagentStarted {
            agent_id: Some("a2".into()),
            agent_type: None,
        },
        EventKind::SubagentStopped {
            agent_id: Some("a1".into()),
            agent_type: Some("Explore".into()),
        },
    ]);
    assert_eq!(s.subagents.len(), 2);
    assert!(!s.subagents[0].active);
    assert!(s.subagents[1].active);
}

fn any_kind() -> impl Strategy<Value = EventKind> {
    let name = prop_oneof![
        Just("Bash".to_owned()),
        Just("Edit".to_owned()),
        "[a-z]{1,4}"
    ];
    let opt = proptest::option::of("[a-z]{1,3}");
    prop_oneof![
        opt.clone()
            .prop_map(|source| EventKind::SessionStarted { source }),
        Just(EventKind::SessionStarted {
            source: Some("compact".into())
        }),
        Just(EventKind::PromptSubmitted),
        name.clone().prop_map(|tool| EventKind::ToolStarted {
            tool,
            tool_use_id: None
        }),
        (name.clone(), any::<bool>()).prop_map(|(tool, failed)| EventKind::ToolFinished {
            tool,
            tool_use_id: None,
            failed
        }),
        name.clone()
            .prop_map(|tool| EventKind::PermissionRequested { tool }),
        name.prop_map(|tool| EventKind::PermissionDenied { tool }),
        opt.clone()
            .prop_map(|reason| EventKind::InputRequested { reason }),
        Just(EventKind::TurnStopped),
        opt.clone()
            .prop_map(|error| EventKind::TurnFailed { error }),
        Just(EventKind::Idle),
        opt.clone().prop_map(|agent_id| EventKind::SubagentStarted {
            agent_id,
            agent_type: None
        }),
        opt.clone().prop_map(|agent_id| EventKind::SubagentStopped {
            agent_id,
            agent_type: None
        }),
        Just(EventKind::CompactionStarted),
        (
            proptest::option::of(0.0..100.0f64),
            proptest::option::of(0.0..10.0f64)
        )
            .prop_map(|(context_pct, cost_usd)| EventKind::StatusUpdated {
                context_pct,
                cost_usd
            }),
        opt.clone()
            .prop_map(|reason| EventKind::SessionEnded { reason }),
        Just(EventKind::ProcessExited),
        opt.prop_map(|n| EventKind::Other {
            name: n.unwrap_or_default()
        }),
    ]
}

proptest! {
    /// Whatever came before, each exit event takes the session where it must go.
    #[test]
    fn every_status_has_an_exit(prefix in proptest::collection::vec(any_kind(), 0..40)) {
        let exits: [(EventKind, Status); 4] = [
            (EventKind::SessionEnded { reason: None }, Status::Ended),
            (EventKind::ProcessExited, Status::Ended),
            (EventKind::PromptSubmitted, Status::Working),
            (EventKind::SessionStarted { source: Some("startup".into()) }, Status::Starting),
        ];
        // The daemon resolves pending approvals when the agent moves on
        // (answered in the terminal); the model must then follow the exit.
        let resolve_all = |kinds: &mut Vec<EventKind>| {
            for id in run(kinds.clone()).pending_approvals {
                kinds.push(EventKind::ApprovalResolved {
                    approval_id: id,
                    status: crate::ApprovalStatus::AnsweredInTerminal,
                    origin: crate::Origin::PermissionRequest,
                });
            }
        };
        for (exit, want) in exits {
            let mut kinds = prefix.clone();
            resolve_all(&mut kinds);
            kinds.push(exit);
            let s = run(kinds);
            prop_assert_eq!(s.status, want);
        }
        // A pending approval always means needs_approval, unless ended.
        let s = run(prefix.clone());
        if !s.pending_approvals.is_empty() {
            prop_assert!(s.status == Status::NeedsApproval || s.status == Status::Ended, "{:?}", s.status);
        }
        // needs_approval / needs_input always clear on these unless ended.
        let mut settled = prefix.clone();
        resolve_all(&mut settled);
        for clear in [
            EventKind::TurnStopped,
            EventKind::ToolFinished { tool: "Bash".into(), tool_use_id: None, failed: false },
            EventKind::PermissionDenied { tool: "Bash".into() },
        ] {
            let mut kinds = settled.clone();
            kinds.push(clear);
            let s = run(kinds);
            prop_assert!(!s.status.needs_user());
            prop_assert!(s.pending_permission.is_none());
        }
    }

    /// Counters only grow, times stay ordered, and replaying is deterministic.
    #[test]
    fn fold_is_deterministic_and_monotonic(kinds in proptest::collection::vec(any_kind(), 0..60)) {
        let mut s = Session::new("s1", "claude", 0);
        let (mut prompts, mut calls) = (0, 0);
        for (i, k) in kinds.iter().enumerate() {
            s.apply(i as u64 + 1, &ev(i as i64 + 1, k.clone()));
            prop_assert!(s.prompts >= prompts && s.tool_calls >= calls);
            prop_assert!(s.first_event_ms <= s.last_event_ms);
            prop_assert!(s.status_since_ms <= s.last_event_ms);
            prop_assert!(s.subagents.len() <= MAX_SUBAGENTS);
            prompts = s.prompts;
            calls = s.tool_calls;
        }
        prop_assert_eq!(run(kinds), s);
    }
}
