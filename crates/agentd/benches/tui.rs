//! TUI benchmarks. Run: `cargo bench -p agentd --bench tui`.
//!
//! * Frame render time of the sessions view with 200 sessions (and 20
//!   pending approvals) at 200×50, beside an empty screen of the same size
//!   (the fixed cost of a frame) in the same run.
//! * Memory: process RSS growth with 200 sessions and a 50 000-message
//!   transcript open.
//! * Idle CPU of a real `agentd tui` in tmux against a daemon with 200
//!   sessions, over 10 s (needs tmux).

mod common;

use std::time::{Duration, Instant};

use agentd_core::{Approval, Origin, Session, Status};
use agentd_index::query::{MessageView, ToolView};
use agentd_proto::api::{ApprovalView, SessionView};
use agentd_tui::state::{App, TranscriptView};
use common::{Daemon, ms, percentile};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use serde_json::json;

fn sessions(n: usize) -> Vec<SessionView> {
    let statuses = [
        Status::Working,
        Status::Idle,
        Status::NeedsApproval,
        Status::Starting,
    ];
    (0..n)
        .map(|i| {
            let mut s = Session::new(format!("{i:08x}-0000-4000-8000-000000000000"), "claude", 0);
            s.status = statuses[i % statuses.len()];
            s.project = Some(format!("/home/me/project-{}", i % 12));
            s.model = Some("claude-opus-4-6".into());
            s.context_pct = Some((i % 100) as f64);
            s.cost_usd = Some(i as f64 / 10.0);
            s.last_tool = Some("Bash".into());
            SessionView::new(s)
        })
        .collect()
}

fn approvals(n: usize) -> Vec<ApprovalView> {
    (0..n)
        .map(|i| {
            ApprovalView::new(Approval {
                session_id: format!("{:08x}-0000-4000-8000-000000000000", i * 4 + 2),
                cwd: Some("/home/me".into()),
                ..Approval::pending(
                    format!("ap{i}"),
                    "Bash",
                    json!({"command": format!("cargo test -p crate{i}")}),
                    Origin::PermissionRequest,
                    0,
                )
            })
        })
        .collect()
}

fn frames(app: &App, n: usize) -> Vec<Duration> {
    let mut t = Terminal::new(TestBackend::new(200, 50)).unwrap();
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let start = Instant::now();
        t.draw(|f| agentd_tui::view::draw(f, app)).unwrap();
        out.push(start.elapsed());
    }
    out.sort();
    out
}

fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, a)| a).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    f.get(11).and_then(|u| u.parse::<u64>().ok()).unwrap_or(0)
        + f.get(12).and_then(|s| s.parse::<u64>().ok()).unwrap_or(0)
}

fn main() {
    println!(
        "agentd TUI benchmarks — {}",
        jiff::Timestamp::now().strftime("%Y-%m-%d %H:%M UTC")
    );
    let empty = App::new(0);
    let mut busy = App::new(0);
    busy.set_snapshot(sessions(200));
    busy.set_approvals(approvals(20));
    // Interleave the two so machine noise hits both alike.
    let (mut base, mut full) = (Vec::new(), Vec::new());
    for _ in 0..10 {
        base.extend(frames(&empty, 100));
        full.extend(frames(&busy, 100));
    }
    base.sort();
    full.sort();
    println!("\n## Frame render (200×50, TestBackend)");
    println!("| screen | frames | p50 | p99 |");
    println!("|---|---:|---:|---:|");
    println!(
        "| empty (baseline) | {} | {} | {} |",
        base.len(),
        ms(percentile(&base, 0.5)),
        ms(percentile(&base, 0.99))
    );
    println!(
        "| 200 sessions, 20 approvals | {} | {} | {} |",
        full.len(),
        ms(percentile(&full, 0.5)),
        ms(percentile(&full, 0.99))
    );

    let before = rss_kb();
    let mut app = App::new(0);
    app.set_snapshot(sessions(200));
    let messages: Vec<MessageView> = (0..50_000)
        .map(|i| MessageView {
            index: i,
            uuid: Some(format!("{i:08x}-uuid")),
            ts_ms: Some(i as i64),
            role: if i % 2 == 0 { "user" } else { "assistant" }.into(),
            agent_id: None,
            model: None,
            text: format!("message {i}: a line of ordinary length about the code being changed"),
            tools: if i % 3 == 0 {
                vec![ToolView {
                    name: "Bash".into(),
                    summary: "cargo test --workspace".into(),
                }]
            } else {
                vec![]
            },
        })
        .collect();
    app.set_transcript(
        TranscriptView {
            session_id: "s".into(),
            messages,
            total: 50_000,
            scroll: 25_000,
            expanded: false,
        },
        None,
    );
    let tr = frames(&app, 20);
    let after = rss_kb();
    println!("\n## Memory");
    println!(
        "200 sessions + a 50 000-message transcript open: RSS {:.1} MB → {:.1} MB (+{:.1} MB); transcript frame p50 {}",
        before as f64 / 1024.0,
        after as f64 / 1024.0,
        (after - before) as f64 / 1024.0,
        ms(percentile(&tr, 0.5))
    );

    // Idle CPU of a real `agentd tui` in tmux.
    if std::process::Command::new("tmux")
        .arg("-V")
        .output()
        .is_err()
    {
        println!("\n(idle CPU skipped: tmux is not installed)");
        return;
    }
    let d = Daemon::start();
    let mut c = d.client();
    for i in 0..200 {
        let _: serde_json::Value = c
            .call(
                "hook.ingest",
                json!({"payload": {"session_id": format!("s{i}"), "hook_event_name": "UserPromptSubmit",
                    "cwd": format!("/w/p{}", i % 10), "prompt": "go"}}),
            )
            .unwrap();
    }
    let socket = format!("agentd-bench-{}", std::process::id());
    let exe = env!("CARGO_BIN_EXE_agentd");
    let script = d.dir.path().join("tui.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nexport AGENTD_HOME='{}'\nexport TERM=xterm-256color\nexec '{exe}' tui\n",
            d.dir.path().display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let tmux = |args: &[&str]| {
        std::process::Command::new("tmux")
            .env("TERM", "xterm-256color")
            .arg("-L")
            .arg(&socket)
            .args(args)
            .output()
            .unwrap()
    };
    tmux(&[
        "-f",
        "/dev/null",
        "new-session",
        "-d",
        "-s",
        "b",
        "-x",
        "200",
        "-y",
        "50",
        script.to_str().unwrap(),
    ]);
    std::thread::sleep(Duration::from_secs(2));
    let pid: u32 = String::from_utf8_lossy(&tmux(&["list-panes", "-F", "#{pane_pid}"]).stdout)
        .trim()
        .parse()
        .unwrap_or(0);
    let hz = 100.0; // USER_HZ on Linux
    let t0 = cpu_ticks(pid);
    let start = Instant::now();
    std::thread::sleep(Duration::from_secs(10));
    let used = (cpu_ticks(pid) - t0) as f64 / hz;
    let pct = used / start.elapsed().as_secs_f64() * 100.0;
    tmux(&["kill-server"]);
    println!("\n## Idle CPU");
    println!(
        "`agentd tui` with 200 sessions, no events, 10 s: **{pct:.2} %** of one core ({used:.2} s CPU)"
    );
}
