use super::*;
use agentd_core::{Approval, Origin, Session};
use agentd_proto::api::ApprovalView;
use agentd_proto::history::MessageView;

pub(crate) fn session(id: &str, status: Status, project: &str, last: i64) -> SessionView {
    let mut s = Session::new(id, "claude", 1_000);
    s.status = status;
    s.project = Some(format!("/home/me/{project}"));
    s.cwd = s.project.clone();
    s.last_event_ms = last;
    s.status_since_ms = last;
    SessionView::new(s)
}

pub(crate) fn approval(
    id: &str,
    session: &str,
    tool: &str,
    input: serde_json::Value,
) -> ApprovalView {
    ApprovalView::new(Approval {
        session_id: session.into(),
        cwd: Some("/home/me/api".into()),
        ..Approval::pending(id.into(), tool, input, Origin::PermissionRequest, 1_000)
    })
}

fn app() -> App {
    let mut a = App::new(100_000);
    a.set_snapshot(vec![
        session("s-idle", Status::Idle, "web", 50_000),
        session("s-work", Status::Working, "api", 60_000),
        session("s-need", Status::NeedsApproval, "api", 70_000),
        session("s-gone", Status::Ended, "web", 10_000),
    ]);
    a
}

fn ids(a: &App) -> Vec<String> {
    a.rows()
        .iter()
        .map(|r| match r {
            Row::Approval(x) => format!("A:{}", x.approval.id),
            Row::Project(p) => format!("#{p}"),
            Row::Session(s) => s.session.id.clone(),
        })
        .collect()
}

#[test]
fn needs_you_first_then_by_project_and_ended_hidden() {
    let mut a = app();
    assert_eq!(
        ids(&a),
        ["#needs you", "s-need", "#api", "s-work", "#web", "s-idle"]
    );
    a.key(Key::Char('e'), false);
    assert_eq!(
        ids(&a),
        [
            "#needs you",
            "s-need",
            "#api",
            "s-work",
            "#web",
            "s-idle",
            "s-gone"
        ]
    );
    a.set_approvals(vec![approval(
        "ap1",
        "s-need",
        "Bash",
        serde_json::json!({"command": "ls"}),
    )]);
    assert_eq!(ids(&a)[0], "A:ap1");
}

#[test]
fn moving_skips_headings_and_stays_in_bounds() {
    let mut a = app();
    assert_eq!(a.selected, 1, "the first selectable row");
    a.key(Key::Char('j'), false);
    assert_eq!(a.selected, 3);
    for _ in 0..10 {
        a.key(Key::Down, false);
    }
    assert_eq!(a.selected, 5);
    for _ in 0..10 {
        a.key(Key::Char('k'), false);
    }
    assert_eq!(a.selected, 1);
}

#[test]
fn approve_and_deny_act_on_the_selected_session_approval() {
    let mut a = app();
    a.set_approvals(vec![approval(
        "ap1",
        "s-need",
        "Bash",
        serde_json::json!({"command": "ls"}),
    )]);
    // Row 0 is the approval itself.
    a.selected = 0;
    assert_eq!(
        a.key(Key::Char('a'), false),
        Some(Action::Approve("ap1".into()))
    );
    // On the session that owns it, too.
    a.selected = 2;
    assert_eq!(
        a.key(Key::Char('y'), false),
        Some(Action::Approve("ap1".into()))
    );
    assert_eq!(a.key(Key::Char('d'), false), None);
    assert_eq!(a.mode, Mode::Deny);
    for c in "no rm".chars() {
        a.key(Key::Char(c), false);
    }
    a.key(Key::Backspace, false);
    assert_eq!(
        a.key(Key::Enter, false),
        Some(Action::Deny("ap1".into(), "no r".into()))
    );
    assert_eq!(a.mode, Mode::Sessions);
    // Nothing to approve on another session.
    a.selected = 4;
    assert_eq!(a.key(Key::Char('a'), false), None);
    assert!(a.notice.is_some());
}

#[test]
fn search_types_and_opens() {
    let mut a = app();
    a.key(Key::Char('/'), false);
    assert_eq!(
        a.key(Key::Char('m'), false),
        Some(Action::Search("m".into()))
    );
    assert_eq!(
        a.key(Key::Char('i'), false),
        Some(Action::Search("mi".into()))
    );
    // A stale answer is dropped.
    a.set_hits("m", vec![]);
    let hit = Hit {
        session_id: "s-old".into(),
        agent_id: None,
        uuid: None,
        ts_ms: None,
        ts: None,
        role: "user".into(),
        project: None,
        snippet: "«mi»gration".into(),
        score: 1.0,
        kind: "transcript".into(),
        document_id: None,
        title: None,
    };
    a.set_hits("mi", vec![hit]);
    assert_eq!(
        a.key(Key::Enter, false),
        Some(Action::OpenHit("s-old".into(), None))
    );
    let msg = |i: u64| MessageView {
        index: i,
        uuid: Some(format!("u{i}")),
        ts_ms: None,
        role: "user".into(),
        agent_id: None,
        model: None,
        text: format!("m{i}"),
        tools: vec![],
    };
    a.set_transcript(
        TranscriptView {
            session_id: "s-old".into(),
            messages: (0..20).map(msg).collect(),
            total: 100,
            ..TranscriptView::default()
        },
        Some("u3"),
    );
    assert_eq!(a.mode, Mode::Transcript);
    assert_eq!(
        a.transcript.as_ref().map(|t| t.scroll),
        Some(3),
        "opened at the hit"
    );
    // Near the end of what is loaded, more is asked for.
    assert_eq!(
        a.key(Key::Char('j'), false),
        Some(Action::MoreTranscript("s-old".into(), 20))
    );
    a.append_transcript("s-old", 20, (20..60).map(msg).collect(), 100);
    assert_eq!(a.transcript.as_ref().map(|t| t.messages.len()), Some(60));
    // A page overlapping what is shown adds only what is new.
    a.append_transcript("s-old", 60, (58..62).map(msg).collect(), 100);
    assert_eq!(a.transcript.as_ref().map(|t| t.messages.len()), Some(62));
    let t = a.transcript.as_ref().unwrap();
    assert_eq!(
        t.messages
            .iter()
            .filter(|m| m.uuid.as_deref() == Some("u59"))
            .count(),
        1
    );
    // A stale page is ignored.
    a.append_transcript("s-old", 10, (10..20).map(msg).collect(), 100);
    assert_eq!(a.transcript.as_ref().map(|t| t.messages.len()), Some(62));
    assert_eq!(a.tailing(), Some("s-old"));
    a.key(Key::Char('g'), false);
    assert_eq!(a.transcript.as_ref().map(|t| t.scroll), Some(0));
    a.key(Key::Esc, false);
    assert_eq!(a.mode, Mode::Search, "back to the results");
    a.key(Key::Esc, false);
    assert_eq!(a.mode, Mode::Sessions);
}

#[test]
fn enter_jumps_to_tmux_only_inside_tmux() {
    let mut a = App::new(0);
    let mut s = session("s1", Status::Idle, "api", 0);
    s.session.tmux_pane = Some("%7".into());
    a.set_snapshot(vec![s]);
    assert_eq!(
        a.key(Key::Enter, true),
        Some(Action::JumpToPane("%7".into()))
    );
    assert_eq!(
        a.key(Key::Enter, false),
        Some(Action::OpenTranscript("s1".into()))
    );
}

#[test]
fn disconnected_offers_to_start_and_quit() {
    let mut a = App::new(0);
    assert_eq!(a.key(Key::Char('s'), false), Some(Action::StartDaemon));
    assert_eq!(a.key(Key::Char('q'), false), Some(Action::Quit));
    assert_eq!(a.key(Key::Ctrl('c'), false), Some(Action::Quit));
}

#[test]
fn events_replace_sessions_and_keep_the_selection_valid() {
    let mut a = app();
    a.selected = 5;
    a.remember();
    let mut gone = session("s-idle", Status::Ended, "web", 90_000);
    gone.session.end_reason = Some("x".into());
    a.apply_event(EventNotification {
        subscription: 1,
        event: agentd_proto::api::EventRecord {
            seq: 9,
            ts: String::new(),
            ts_ms: 0,
            session_id: "s-idle".into(),
            agent: "claude".into(),
            source: "hook".into(),
            name: "SessionEnd".into(),
            kind: "session.ended".into(),
            payload: serde_json::Value::Null,
            env: serde_json::Value::Null,
        },
        session: Some(gone),
    });
    assert_eq!(ids(&a), ["#needs you", "s-need", "#api", "s-work"]);
    assert_eq!(a.selected, 3);
}

#[test]
fn the_selection_follows_its_session_and_typing_keeps_its_approval() {
    let mut a = app();
    a.set_approvals(vec![
        approval(
            "ap1",
            "s-need",
            "Bash",
            serde_json::json!({"command": "ls"}),
        ),
        approval(
            "ap2",
            "s-work",
            "Bash",
            serde_json::json!({"command": "rm x"}),
        ),
    ]);
    // Select s-work (rows: ap1, ap2, #needs you, s-need, #api, s-work, ...).
    let pos = a
        .rows()
        .iter()
        .position(|r| matches!(r, Row::Session(s) if s.session.id == "s-work"))
        .unwrap();
    a.selected = pos;
    a.remember();
    // ap1 resolves elsewhere: rows shift up; the selection stays on s-work.
    a.set_approvals(vec![approval(
        "ap2",
        "s-work",
        "Bash",
        serde_json::json!({"command": "rm x"}),
    )]);
    assert!(matches!(a.current(), Some(Row::Session(s)) if s.session.id == "s-work"));
    // Start typing a deny for ap2; it is decided elsewhere meanwhile.
    a.key(Key::Char('d'), false);
    a.key(Key::Char('x'), false);
    a.set_approvals(vec![approval(
        "ap3",
        "s-work",
        "Bash",
        serde_json::json!({"command": "other"}),
    )]);
    assert_eq!(
        a.key(Key::Enter, false),
        None,
        "never sent to another approval"
    );
    assert_eq!(
        a.notice.as_deref(),
        Some("that approval was decided meanwhile")
    );
}

#[test]
fn showing_ended_sessions_loads_past_ones_and_never_shows_one_twice() {
    let mut a = app();
    assert_eq!(a.key(Key::Char('e'), false), Some(Action::LoadHistory));
    let mut past = session("s-past", Status::Ended, "old", 5_000);
    past.live = false;
    // The index also knows a session the registry holds: shown once.
    let dup = session("s-gone", Status::Ended, "web", 10_000);
    a.set_history(vec![past, dup]);
    let shown = ids(&a);
    assert!(shown.contains(&"s-past".to_owned()), "{shown:?}");
    assert_eq!(
        shown.iter().filter(|s| *s == "s-gone").count(),
        1,
        "{shown:?}"
    );
    // Hiding them again hides the past ones too, and asks for nothing.
    assert_eq!(a.key(Key::Char('e'), false), None);
    assert!(!ids(&a).contains(&"s-past".to_owned()));
}

#[test]
fn esc_from_a_transcript_returns_to_where_it_was_opened() {
    let mut a = App::new(0);
    a.set_snapshot(vec![session("s1", Status::Idle, "p", 0)]);
    // A search with results, left with Esc…
    a.key(Key::Char('/'), false);
    a.key(Key::Char('x'), false);
    a.set_hits(
        "x",
        vec![Hit {
            session_id: "s1".into(),
            agent_id: None,
            uuid: None,
            ts_ms: None,
            ts: None,
            role: "user".into(),
            project: None,
            snippet: "«x»".into(),
            score: 1.0,
            kind: "transcript".into(),
            document_id: None,
            title: None,
        }],
    );
    a.key(Key::Esc, false);
    assert_eq!(a.mode, Mode::Sessions);
    // …then a transcript opened from the list goes back to the list.
    assert_eq!(
        a.key(Key::Char('t'), false),
        Some(Action::OpenTranscript("s1".into()))
    );
    a.set_transcript(
        TranscriptView {
            session_id: "s1".into(),
            ..TranscriptView::default()
        },
        None,
    );
    a.key(Key::Esc, false);
    assert_eq!(a.mode, Mode::Sessions, "not the old search");
}
