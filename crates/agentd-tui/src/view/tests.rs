use ratatui::Terminal;
use ratatui::backend::TestBackend;
use serde_json::json;

use super::*;
use crate::state::tests::{approval, session};
use crate::state::{App, Key, TranscriptView};
use agentd_core::Status;
use agentd_proto::history::{Hit, MessageView, ToolView};

/// The screen as text, one line per row (styles dropped).
fn screen(app: &App, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| draw(f, app)).unwrap();
    let buf = t.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..h {
        let mut line = String::new();
        for x in 0..w {
            line.push_str(buf[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn busy() -> App {
    let mut a = App::new(1_000 + 125_000);
    let mut need = session("5e55a0b1-need", Status::NeedsApproval, "api", 1_000);
    need.session.model = Some("claude-opus-4-6".into());
    need.session.context_pct = Some(42.0);
    need.session.cost_usd = Some(1.234);
    need.session.last_tool = Some("Bash".into());
    let mut work = session("77aa0000-work", Status::Working, "web", 100_000);
    work.session.current_tool = Some("Edit".into());
    work.session.subagents = vec![agentd_core::Subagent {
        agent_id: "a1".into(),
        agent_type: Some("Explore".into()),
        active: true,
    }];
    a.set_snapshot(vec![
        need,
        work,
        session("9999idle", Status::Idle, "web", 50_000),
    ]);
    a.set_approvals(vec![approval(
        "ap1",
        "5e55a0b1-need",
        "Bash",
        json!({"command": "cargo publish --dry-run\nrm -rf target"}),
    )]);
    a
}

#[test]
fn sessions_and_a_pending_approval_at_80x24() {
    insta::assert_snapshot!(screen(&busy(), 80, 24));
}

#[test]
fn a_wide_screen_shows_each_sessions_cpu_and_memory() {
    let mut a = busy();
    a.set_processes(vec![
        agentd_proto::api::SessionProcess {
            session_id: "5e55a0b1-need".into(),
            process: agentd_proto::api::ProcessStats {
                cpu_pct: 3.4,
                rss_bytes: 312 << 20,
                processes: 2,
                hot: None,
                sampled_ms: 1,
            },
        },
        agentd_proto::api::SessionProcess {
            session_id: "77aa0000-work".into(),
            process: agentd_proto::api::ProcessStats {
                cpu_pct: 104.6,
                rss_bytes: 3 << 30,
                processes: 5,
                hot: Some(agentd_proto::api::HotProcess {
                    pid: 7,
                    comm: "cargo".into(),
                    since_ms: 1,
                }),
                sampled_ms: 1,
            },
        },
    ]);
    let wide = screen(&a, 110, 12);
    insta::assert_snapshot!(wide);
    // Narrow screens keep DOING readable instead.
    assert!(!screen(&a, 80, 12).contains("CPU"));
    // A live event keeps the figures until the next sample.
    let mut s = a.sessions[0].clone();
    s.process = None;
    a.apply_event(agentd_proto::api::EventNotification {
        subscription: 1,
        event: agentd_proto::api::EventRecord {
            seq: 9,
            ts: String::new(),
            ts_ms: 0,
            session_id: s.session.id.clone(),
            agent: "claude".into(),
            source: "hook".into(),
            name: "PreToolUse".into(),
            kind: "tool.started".into(),
            payload: json!({}),
            env: json!({}),
        },
        session: Some(s),
    });
    assert!(
        a.sessions
            .iter()
            .all(|s| s.process.is_some() || s.session.id == "9999idle")
    );
}

#[test]
fn edit_approval_renders_a_diff() {
    let mut a = busy();
    a.set_approvals(vec![approval(
        "ap2",
        "5e55a0b1-need",
        "Edit",
        json!({"file_path": "/w/src/lib.rs", "old_string": "let x = 1;", "new_string": "let x = 2;\nlet y = 3;"}),
    )]);
    insta::assert_snapshot!(screen(&a, 80, 24));
}

#[test]
fn question_approval_lists_options() {
    let mut a = busy();
    a.set_approvals(vec![approval(
        "ap3",
        "5e55a0b1-need",
        "AskUserQuestion",
        json!({"questions": [{"question": "Which database?", "options": [{"label": "SQLite"}, {"label": "Postgres"}]}]}),
    )]);
    insta::assert_snapshot!(screen(&a, 80, 24));
}

#[test]
fn escape_sequences_never_reach_the_terminal() {
    let mut a = busy();
    a.set_approvals(vec![approval(
        "ap4",
        "5e55a0b1-need",
        "Bash",
        json!({"command": "echo \u{1b}[2J\u{1b}]0;pwned\u{7} done"}),
    )]);
    a.sessions[0].session.last_tool = Some("\u{1b}[31mred\u{9b}".into());
    let s = screen(&a, 100, 24);
    assert!(
        !s.contains('\u{1b}') && !s.contains('\u{7}') && !s.contains('\u{9b}'),
        "{s:?}"
    );
    assert!(s.contains("\\x1b[2J"), "{s}");
    insta::assert_snapshot!(s);
}

#[test]
fn tiny_sizes_never_panic() {
    let a = busy();
    for (w, h) in [
        (1, 1),
        (5, 2),
        (19, 3),
        (20, 4),
        (30, 6),
        (80, 5),
        (200, 60),
    ] {
        // Whatever the size, the frame is exactly that size.
        let s = screen(&a, w, h);
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(lines.len(), usize::from(h), "{w}×{h}: {s:?}");
        assert!(
            lines.iter().all(|l| l.chars().count() <= usize::from(w)),
            "{w}×{h}: {s:?}"
        );
    }
    insta::assert_snapshot!(screen(&a, 10, 3));
}

#[test]
fn help_overlay() {
    let mut a = busy();
    a.key(Key::Char('?'), false);
    insta::assert_snapshot!(screen(&a, 80, 24));
}

#[test]
fn disconnected_screen_offers_to_start() {
    let mut a = App::new(0);
    a.conn = crate::state::Conn::Down("agentd is not running at /run/agentd.sock".into());
    insta::assert_snapshot!(screen(&a, 80, 12));
}

#[test]
fn search_results_and_transcript() {
    let mut a = busy();
    a.key(Key::Char('/'), false);
    for c in "migration".chars() {
        a.key(Key::Char(c), false);
    }
    a.set_hits(
        "migration",
        vec![Hit {
            session_id: "258c7280-ae70".into(),
            agent_id: None,
            uuid: None,
            ts_ms: None,
            ts: None,
            role: "assistant".into(),
            project: Some("/home/me/api".into()),
            snippet: "check the latest «migration» for patterns".into(),
            score: 3.2,
            kind: "transcript".into(),
            document_id: None,
            title: None,
        }],
    );
    insta::assert_snapshot!("search", screen(&a, 80, 12));
    a.set_transcript(
        TranscriptView {
            session_id: "258c7280-ae70".into(),
            total: 3,
            messages: vec![
                MessageView {
                    index: 0,
                    uuid: None,
                    ts_ms: None,
                    role: "user".into(),
                    agent_id: None,
                    model: None,
                    text: "fix the migration".into(),
                    tools: vec![],
                },
                MessageView {
                    index: 1,
                    uuid: None,
                    ts_ms: None,
                    role: "assistant".into(),
                    agent_id: Some("a77".into()),
                    model: None,
                    text: "Running it.".into(),
                    tools: vec![ToolView {
                        name: "Bash".into(),
                        summary: "mix ecto.migrate".into(),
                    }],
                },
                MessageView {
                    index: 2,
                    uuid: None,
                    ts_ms: None,
                    role: "tool_result".into(),
                    agent_id: Some("a77".into()),
                    model: None,
                    text: "ok\nsecond line hidden until x".into(),
                    tools: vec![],
                },
            ],
            scroll: 0,
            expanded: false,
        },
        None,
    );
    insta::assert_snapshot!("transcript", screen(&a, 80, 12));
    a.key(Key::Char('x'), false);
    insta::assert_snapshot!("transcript_expanded", screen(&a, 80, 12));
}

#[test]
fn help_wraps_and_the_footer_names_the_target_on_a_narrow_terminal() {
    let mut a = busy();
    // The session row with the pending approval is selected: a/d/r act on
    // it, and the footer says so even without room for the detail pane.
    assert!(a.target_approval().is_some());
    let narrow = screen(&a, 48, 10);
    assert!(narrow.contains("a/d/r → Bash 5e55a0b1"), "{narrow}");
    insta::assert_snapshot!("narrow_sessions", narrow);
    // On a row with nothing to decide, no target is named.
    a.key(Key::Char('j'), false);
    assert!(a.target_approval().is_none());
    assert!(!screen(&a, 48, 10).contains("a/d/r"));
    a.key(Key::Char('?'), false);
    let help = screen(&a, 44, 30);
    assert!(
        help.contains("transcript)"),
        "a long line wraps, not cut:\n{help}"
    );
    insta::assert_snapshot!("narrow_help", help);
}
