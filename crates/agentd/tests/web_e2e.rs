//! The web UI end to end, in a real browser: Debian's headless Chromium
//! driven by Playwright (`tests/web/driver.py`), against a real daemon and
//! the real Claude Code CLI in tmux. Screenshots land in
//! `target/web-artifacts/`.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use agentd_proto::api::{ApprovalView, WebLogin, WebSessionView};
use agentd_proto::method;
use serde_json::{Value, json};
use support::claude::{
    ClaudeUser, Tmux, WAIT, denial_reaches_the_model, prompt_until_pending, wait_session,
};
use support::{TestDaemon, python, run, wait_for};

const CHROMIUM: &str = "/usr/bin/chromium";

fn driver() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/web/driver.py")
}

/// Where screenshots go (kept: they are the test's artifacts).
fn artifacts() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/web-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn need_chromium() {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium), or run scripts/test.sh, which does"
    );
}

/// A fresh one-time sign-in link, from the CLI.
fn login_link(d: &TestDaemon) -> String {
    let out = run(&d.home, &["web", "--json"], None);
    assert!(out.status.success(), "{out:?}");
    let link: WebLogin = serde_json::from_slice(&out.stdout).unwrap();
    assert!(link.lan_urls.is_empty(), "loopback only: {link:?}");
    link.url
}

fn web_sessions(d: &TestDaemon) -> Vec<WebSessionView> {
    let out = run(&d.home, &["web", "sessions", "--json"], None);
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Runs a driver scenario to the end; its JSON result.
fn drive(args: &[&str]) -> Value {
    need_chromium();
    let out = Command::new(python())
        .arg(driver())
        .args(args)
        .arg("--out")
        .arg(artifacts())
        .stdin(Stdio::null())
        .output()
        .expect("run the Playwright driver");
    assert!(
        out.status.success(),
        "the browser scenario {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.lines().last().unwrap_or("null")).unwrap()
}

#[test]
fn sign_in_works_once_refuses_other_origins_and_revoking_cuts_a_browser_off() {
    need_chromium();
    let d = TestDaemon::start();
    assert!(web_sessions(&d).is_empty());
    let (first, second) = (login_link(&d), login_link(&d));
    let mut browser = Command::new(python())
        .arg(driver())
        .args(["auth", "--login", &first, "--login2", &second, "--out"])
        .arg(artifacts())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the Playwright driver");
    let mut lines = BufReader::new(browser.stdout.take().unwrap()).lines();
    let report: Value = match lines.next() {
        Some(Ok(line)) => serde_json::from_str(&line).unwrap(),
        _ => {
            let out = browser.wait_with_output().unwrap();
            panic!(
                "the auth scenario failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    };
    // The first browser signed out; the second one is signed in.
    let signed = web_sessions(&d);
    assert_eq!(signed.len(), 1, "{signed:?}");
    assert!(
        signed[0]
            .user_agent
            .as_deref()
            .is_some_and(|u| u.contains("Chrome")),
        "{signed:?}"
    );
    assert_eq!(signed[0].address.as_deref(), Some("127.0.0.1"));
    // The cross-origin POSTs changed nothing.
    // (`search` exits 1 when nothing matches, as grep does.)
    let hits = run(&d.home, &["search", "csrf-marker", "--json"], None);
    let hits: Value = serde_json::from_slice(&hits.stdout).unwrap();
    assert_eq!(hits.as_array().map(Vec::len), Some(0), "{report}\n{hits}");
    // Revoking it cuts it off: its WebSocket closes, its API calls are refused.
    let out = run(&d.home, &["web", "revoke", &signed[0].id], None);
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("signed out"));
    writeln!(browser.stdin.as_mut().unwrap()).unwrap();
    let done = lines.next();
    let status = browser.wait().unwrap();
    let mut stderr = String::new();
    let _ = std::io::Read::read_to_string(&mut browser.stderr.take().unwrap(), &mut stderr);
    assert!(status.success(), "after the revoke: {stderr}");
    assert!(
        done.is_some_and(|l| l.is_ok_and(|l| l.contains("\"revoked\": true"))),
        "{stderr}"
    );
    assert!(web_sessions(&d).is_empty());
    // A revoked session stays revoked across a restart; the file is 0600.
    let file = d.home.join("web-sessions.json");
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&file).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
    let out = run(&d.home, &["web", "revoke", "web_"], None);
    assert!(!out.status.success(), "nothing left to revoke");
    assert!(String::from_utf8_lossy(&out.stderr).contains("agentd web sessions"));
}

fn approval_status(d: &TestDaemon, id: &str) -> String {
    let v: ApprovalView = d
        .client()
        .call(method::APPROVALS_GET, json!({"id": id}))
        .unwrap();
    v.approval.status.as_str().to_owned()
}

/// A daemon, Claude Code in tmux, and the permission prompt for its Bash
/// call: (daemon, user, tmux, the approval, its command).
fn claude_asking() -> (TestDaemon, ClaudeUser, Tmux, ApprovalView, String) {
    need_chromium();
    let d = TestDaemon::start();
    let user = ClaudeUser::new(&d.home);
    let tmux = user.start_tmux();
    let pending = prompt_until_pending(&d, &tmux, "make a file");
    let command = pending.approval.tool_input["command"]
        .as_str()
        .unwrap()
        .to_owned();
    (d, user, tmux, pending, command)
}

#[test]
fn approving_in_the_browser_lets_real_claude_code_run_the_command() {
    let (d, user, tmux, pending, command) = claude_asking();
    assert_eq!(command, "echo hello > out.txt");
    let result = drive(&["approve", "--login", &login_link(&d), "--command", &command]);
    assert!(result["decided_ms"].as_f64().is_some(), "{result}");
    tmux.wait_screen("the dialog to close", |s| {
        !s.contains("Do you want to proceed?")
    });
    wait_for("the command to run", WAIT, || {
        user.project.join("out.txt").exists().then_some(())
    });
    wait_session(&d, &pending.approval.session_id, "idle", |s| {
        s.session.status.as_str() == "idle"
    });
    assert_eq!(approval_status(&d, &pending.approval.id), "allowed");
    let v: ApprovalView = d
        .client()
        .call(method::APPROVALS_GET, json!({"id": pending.approval.id}))
        .unwrap();
    assert_eq!(v.approval.decided_by.as_deref(), Some("web"));
}

#[test]
fn denying_in_the_browser_blocks_the_command_and_claude_code_reads_the_message() {
    let (d, user, tmux, pending, command) = claude_asking();
    let message = "web-says-no: write it under /tmp instead";
    drive(&[
        "deny",
        "--login",
        &login_link(&d),
        "--command",
        &command,
        "--message",
        message,
    ]);
    tmux.wait_screen("the dialog to close", |s| {
        !s.contains("Do you want to proceed?")
    });
    // The next request to the model carries the denial as the tool result.
    denial_reaches_the_model(&user, "web-says-no");
    assert_eq!(approval_status(&d, &pending.approval.id), "denied");
}

#[test]
fn search_opens_a_real_transcript_at_the_hit_and_the_usage_table_equals_the_cli() {
    need_chromium();
    let root = tempfile::tempdir().unwrap();
    let user = ClaudeUser::new(root.path());
    let d = TestDaemon::start_with_env(root.path(), user.daemon_env());
    let (out, _) = user.headless("please find the pangolin-lighthouse notes");
    assert!(out.status.success(), "claude failed: {out:?}");
    wait_for("the prompt to be searchable", WAIT, || {
        let out = run(&d.home, &["search", "pangolin", "--json"], None);
        let hits: Vec<Value> = serde_json::from_slice(&out.stdout).ok()?;
        (!hits.is_empty()).then_some(())
    });
    let result = drive(&[
        "history",
        "--login",
        &login_link(&d),
        "--phrase",
        "pangolin",
        "--timezone",
        "UTC",
    ]);
    assert!(
        result["opened"]
            .as_str()
            .is_some_and(|h| h.starts_with("#/session/") && h.contains("uuid=")),
        "{result}"
    );
    let cli = run(
        &d.home,
        &["usage", "daily", "--timezone", "UTC", "--json"],
        None,
    );
    assert!(cli.status.success(), "{cli:?}");
    let cli: Value = serde_json::from_slice(&cli.stdout).unwrap();
    let want: Vec<Value> = cli["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            json!({
                "period": r["period"],
                "input_tokens": r["input_tokens"],
                "output_tokens": r["output_tokens"],
                "cache_creation_tokens": r["cache_creation_tokens"],
                "cache_read_tokens": r["cache_read_tokens"],
                "total_tokens": r["total_tokens"],
                "cost_usd": r["cost_usd"],
            })
        })
        .collect();
    assert!(!want.is_empty(), "the session has usage: {cli}");
    let got = result["usage"].as_array().unwrap();
    assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
    for (g, w) in got.iter().zip(&want) {
        for k in [
            "period",
            "input_tokens",
            "output_tokens",
            "cache_creation_tokens",
            "cache_read_tokens",
            "total_tokens",
        ] {
            assert_eq!(g[k], w[k], "{k}: page {g} vs cli {w}");
        }
        let (gc, wc) = (g["cost_usd"].as_f64(), w["cost_usd"].as_f64());
        match (gc, wc) {
            (Some(a), Some(b)) => assert!((a - b).abs() < 1e-9, "cost: page {g} vs cli {w}"),
            (a, b) => assert_eq!(a, b, "cost: page {g} vs cli {w}"),
        }
    }
}

#[test]
fn a_terminal_in_the_browser_types_resizes_replays_after_a_reload_and_closes_its_group() {
    need_chromium();
    let d = TestDaemon::start();
    let dir = tempfile::tempdir().unwrap();
    let result = drive(&[
        "terminal",
        "--login",
        &login_link(&d),
        "--cwd",
        dir.path().to_str().unwrap(),
    ]);
    assert!(
        result["echoed"]
            .as_str()
            .is_some_and(|e| e.starts_with("web-")),
        "{result}"
    );
    assert_ne!(
        result["before"], result["after"],
        "the PTY follows the viewport: {result}"
    );
    // Listed, then closed: its whole process group ends.
    let id = result["id"].as_str().unwrap();
    let list: Vec<agentd_proto::api::TerminalView> =
        d.client().call(method::TERMINALS_LIST, json!({})).unwrap();
    let t = list
        .iter()
        .find(|t| t.id == id)
        .expect("the terminal is listed");
    assert_eq!(t.kind, "shell");
    assert_eq!(t.cwd, dir.path().to_str().unwrap());
    assert!(t.output_bytes > 0);
    let health: Value = d.client().call(method::HEALTH, json!({})).unwrap();
    assert_eq!(health["limits"]["terminals"], 1, "{health}");
    assert_eq!(health["limits"]["web_sessions"], 1, "{health}");
    let pid = rustix::process::Pid::from_raw(t.pid as i32).unwrap();
    let closed: agentd_proto::api::TerminalView = d
        .client()
        .call(method::TERMINALS_CLOSE, json!({"id": id}))
        .unwrap();
    assert!(closed.exit_code.is_some(), "{closed:?}");
    assert!(
        rustix::process::test_kill_process_group(pid).is_err(),
        "the terminal's process group outlived its close"
    );
    let list: Vec<agentd_proto::api::TerminalView> =
        d.client().call(method::TERMINALS_LIST, json!({})).unwrap();
    assert!(list.is_empty(), "{list:?}");
    let health: Value = d.client().call(method::HEALTH, json!({})).unwrap();
    assert_eq!(health["limits"]["terminals"], 0, "{health}");
}

#[test]
fn an_mcp_elicitation_is_answered_through_its_form_on_a_phone() {
    need_chromium();
    let d = TestDaemon::start();
    let ask = json!({"session_id": "e1", "hook_event_name": "Elicitation", "cwd": "/tmp",
        "mcp_server_name": "github", "message": "Which repository?",
        "requested_schema": {"type": "object", "required": ["repo"], "properties": {
            "repo": {"type": "string", "title": "Repository"},
            "private": {"type": "boolean", "title": "Private"}}}});
    let hook = support::spawn_hook(&d.home, ask.to_string().as_bytes(), &[]);
    wait_for("the elicitation to be pending", WAIT, || {
        let out = run(&d.home, &["approvals", "--json"], None);
        let list: Vec<ApprovalView> = serde_json::from_slice(&out.stdout).ok()?;
        (!list.is_empty()).then_some(())
    });
    drive(&[
        "elicit",
        "--login",
        &login_link(&d),
        "--phrase",
        "Which repository?",
    ]);
    let out = hook.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        answer,
        json!({"hookSpecificOutput": {"hookEventName": "Elicitation", "action": "accept",
            "content": {"repo": "agentd", "private": true}}})
    );
}

#[test]
fn the_qr_code_is_for_a_tls_listener_beyond_loopback_only() {
    // Loopback: a phone cannot reach it, and the error says what to set.
    let d = TestDaemon::start();
    let out = run(&d.home, &["web", "--qr"], None);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("tls = true") && err.contains("0.0.0.0"),
        "{err}"
    );

    // TLS on every interface: links for the machine's other addresses.
    let home = tempfile::tempdir().unwrap();
    std::fs::write(home.path().join("agentd.toml"), "[http]\ntls = true\n").unwrap();
    let d = TestDaemon::start_with_env(
        home.path(),
        vec![("AGENTD_HTTP_LISTEN".into(), "0.0.0.0:0".into())],
    );
    let out = run(&d.home, &["web", "--json"], None);
    assert!(out.status.success(), "{out:?}");
    let link: WebLogin = serde_json::from_slice(&out.stdout).unwrap();
    assert!(link.url.starts_with("https://127.0.0.1:"), "{link:?}");
    for url in &link.lan_urls {
        assert!(
            url.starts_with("https://") && url.contains("/login?code="),
            "{url}"
        );
        assert!(
            !url.contains("127.0.0.1") && !url.contains("[::1]"),
            "{url}"
        );
    }
    let out = run(&d.home, &["web", "--qr"], None);
    if link.lan_urls.is_empty() {
        // A machine with no address but loopback (a bare sandbox).
        assert_eq!(out.status.code(), Some(1), "{out:?}");
    } else {
        assert!(out.status.success(), "{out:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("On another device"), "{text}");
        assert!(
            text.contains('█') || text.contains('▀') || text.contains('▄'),
            "a QR code: {text}"
        );
    }
}

#[test]
fn claude_code_started_in_a_browser_terminal_is_an_ordinary_session_approved_from_the_board() {
    need_chromium();
    let root = tempfile::tempdir().unwrap();
    let user = ClaudeUser::new(root.path());
    // The daemon runs with this user's environment, so the `claude` its
    // terminal starts is this user's (settings, hooks, the fake API).
    let d = TestDaemon::start_with_env(root.path(), user.daemon_env());
    let result = drive(&[
        "claude-terminal",
        "--login",
        &login_link(&d),
        "--cwd",
        user.project.to_str().unwrap(),
        "--phrase",
        "make a file",
        "--command",
        "echo hello > out.txt",
    ]);
    wait_for("the command to run", WAIT, || {
        user.project.join("out.txt").exists().then_some(())
    });
    let terminals: Vec<agentd_proto::api::TerminalView> =
        d.client().call(method::TERMINALS_LIST, json!({})).unwrap();
    let t = terminals
        .iter()
        .find(|t| Some(t.id.as_str()) == result["id"].as_str())
        .expect("the terminal is listed");
    assert_eq!(t.kind, "claude");
    // The session Claude Code's hooks reported is the terminal's process.
    let sessions = support::claude::ls_json(&d.home);
    let s = sessions
        .iter()
        .find(|s| s["pid"].as_u64() == Some(u64::from(t.pid)))
        .unwrap_or_else(|| panic!("no session with the terminal's pid {}: {sessions:?}", t.pid));
    let id = s["id"].as_str().unwrap().to_owned();
    wait_session(&d, &id, "idle", |s| s.session.status.as_str() == "idle");
    let closed: agentd_proto::api::TerminalView = d
        .client()
        .call(method::TERMINALS_CLOSE, json!({"id": t.id}))
        .unwrap();
    assert!(closed.exit_code.is_some());
}

#[test]
fn web_open_hands_the_opener_a_private_page_never_the_code() {
    let d = TestDaemon::start();
    // A fake `xdg-open` that records what it was given.
    let bin = tempfile::tempdir().unwrap();
    let record = bin.path().join("args");
    std::fs::write(
        bin.path().join("xdg-open"),
        format!("#!/bin/sh\nprintf '%s' \"$*\" > {}\n", record.display()),
    )
    .unwrap();
    std::fs::set_permissions(
        bin.path().join("xdg-open"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = support::agentd_cmd(&d.home)
        .env("PATH", path)
        .args(["web", "--open"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    // The opener runs detached: its file exists (empty) before its
    // printf has written it.
    let given = wait_for("the opener to run", WAIT, || {
        std::fs::read_to_string(&record)
            .ok()
            .filter(|s| !s.is_empty())
    });
    assert!(
        given.starts_with("file://") && !given.contains("code="),
        "{given}"
    );
    let page = std::path::PathBuf::from(given.trim_start_matches("file://"));
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&page).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
    let html = std::fs::read_to_string(&page).unwrap();
    let printed = String::from_utf8_lossy(&out.stdout);
    let url = printed
        .split_whitespace()
        .find(|w| w.contains("/login?code="))
        .expect("the link is printed");
    assert!(html.contains(url), "{html}");
}

/// Codex CLI and Gemini CLI sessions (the real CLIs, offline) sit on the
/// board beside each other with their agent, and the filter picks one.
#[test]
fn codex_and_gemini_sessions_are_on_the_board_with_their_agent() {
    need_chromium();
    let d = TestDaemon::start();
    let mut ids = Vec::new();
    for agent in ["codex", "gemini"] {
        let user = support::agents::AgentUser::new(agent, &d.home, fake_models::Script::default());
        let out = user.prompt("say hello");
        assert!(out.status.success(), "{agent}: {out:?}");
        let cwd = user.project.to_string_lossy().into_owned();
        let id = wait_for(&format!("the {agent} session"), WAIT, || {
            d.client()
                .sessions_page(&agentd_proto::api::SessionsListParams {
                    agent: Some(agent.into()),
                    history: Some(false),
                    ..Default::default()
                })
                .ok()?
                .sessions
                .into_iter()
                .find(|s| s.session.cwd.as_deref() == Some(cwd.as_str()))
                .map(|s| s.session.id)
        });
        ids.push(id);
    }
    let login = login_link(&d);
    drive(&[
        "agents",
        "--login",
        &login,
        "--session",
        &ids[0],
        "--session2",
        &ids[1],
    ]);
}

#[test]
fn a_sessions_cpu_and_memory_reach_the_board_and_leave_with_its_process() {
    need_chromium();
    let d = TestDaemon::start();
    let mut agent = support::busy_agent(&d.home, "web-proc");
    let pid = agent.id().to_string();
    wait_for("a sample", WAIT, || {
        d.client().session("web-proc").ok()?.process.map(|_| ())
    });
    let login = login_link(&d);
    let result = drive(&[
        "processes",
        "--login",
        &login,
        "--session",
        "web-proc",
        "--pid",
        &pid,
    ]);
    agent.kill();
    assert_eq!(result["ok"], true, "{result}");
}
