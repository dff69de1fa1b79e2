//! The daemon's lifecycle: one per root, stale sockets, graceful shutdown,
//! restarts that lose nothing, and the CLI when no daemon runs.

mod support;

use agentd_client::spool;

use std::time::Duration;

use agentd_proto::api::{EventsList, SessionView};
use agentd_proto::method;
use serde_json::json;
use support::{TestDaemon, run, wait_for};

fn hook(d: &TestDaemon, payload: serde_json::Value) {
    let out = run(&d.home, &["hook"], Some(payload.to_string().as_bytes()));
    assert!(out.status.success(), "hook failed: {out:?}");
    assert!(
        out.stdout.is_empty(),
        "observer hooks print nothing: {out:?}"
    );
}

#[test]
fn a_second_daemon_is_refused_naming_the_running_pid() {
    let d = TestDaemon::start();
    let out = run(&d.home, &["serve"], None);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("already running (pid {})", d.pid())),
        "{err}"
    );
    // The first one still serves.
    let mut c = d.client();
    let h: agentd_proto::api::Health = c.call(method::HEALTH, json!({})).unwrap();
    assert_eq!(h.pid, d.pid());
    assert_eq!(h.status, "ok", "{h:?}");
    assert!(h.http_addr.unwrap().starts_with("127.0.0.1:"));
}

#[test]
fn a_stale_socket_is_replaced_and_shutdown_removes_the_socket() {
    let dir = tempfile::Builder::new().prefix("agd").tempdir().unwrap();
    std::fs::create_dir_all(dir.path()).unwrap();
    // A crashed daemon leaves its socket file behind.
    let stale = std::os::unix::net::UnixListener::bind(dir.path().join("agentd.sock")).unwrap();
    drop(stale);
    assert!(dir.path().join("agentd.sock").exists());

    let mode = |p: &std::path::Path| {
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(p).unwrap().permissions())
            & 0o777
    };
    // A root agentd did not create keeps its mode (it is not writable by
    // others, or agentd would refuse it); what agentd creates is private.
    let root_mode = mode(dir.path());
    let mut d = TestDaemon::start_in(dir.path());
    let paths = d.paths();
    assert_eq!(mode(&paths.socket), 0o600);
    assert_eq!(mode(&paths.root), root_mode);
    assert_eq!(mode(&paths.token), 0o600);
    assert_eq!(mode(&paths.db), 0o600);

    let (status, took) = d.stop();
    assert!(status.success(), "{status:?}\n{}", d.log());
    assert!(!paths.socket.exists(), "socket removed on shutdown");
    // Generous bound: the requirement is 2 s; this only catches hangs.
    assert!(took < Duration::from_secs(5), "shutdown took {took:?}");
    assert!(d.log().contains("stopped"), "{}", d.log());
}

#[test]
fn restart_and_crash_lose_nothing() {
    let dir = tempfile::Builder::new().prefix("agd").tempdir().unwrap();
    let mut d = TestDaemon::start_in(dir.path());
    let base = json!({"session_id": "sess-r", "cwd": "/tmp", "transcript_path": "/tmp/t.jsonl"});
    let with = |name: &str, extra: serde_json::Value| {
        let mut p = base.clone();
        p["hook_event_name"] = json!(name);
        for (k, v) in extra.as_object().unwrap() {
            p[k] = v.clone();
        }
        p
    };
    hook(&d, with("SessionStart", json!({"source": "startup"})));
    hook(&d, with("UserPromptSubmit", json!({"prompt": "hi"})));
    hook(
        &d,
        with(
            "PreToolUse",
            json!({"tool_name": "Bash", "tool_input": {"command": "ls"}}),
        ),
    );

    // The process sample is a reading of the moment, not state.
    let sessions = |d: &TestDaemon| -> Vec<SessionView> {
        let list: Vec<SessionView> = d.client().call(method::SESSIONS_LIST, json!({})).unwrap();
        list.into_iter()
            .map(|v| SessionView { process: None, ..v })
            .collect()
    };
    let before = sessions(&d);
    d.stop();
    d.restart();
    let after = sessions(&d);
    assert_eq!(before, after);
    assert_eq!(after[0].session.status.as_str(), "working");

    // A crash (SIGKILL) loses nothing either: every acknowledged event was committed.
    hook(&d, with("PostToolUse", json!({"tool_name": "Bash"})));
    hook(&d, with("Stop", json!({})));
    d.kill();
    d.restart();
    let s: SessionView = d
        .client()
        .call(method::SESSIONS_GET, json!({"id": "sess-r"}))
        .unwrap();
    assert_eq!(s.session.status.as_str(), "idle");
    assert_eq!(s.session.tool_calls, 1);
    assert_eq!(s.session.prompts, 1);
    let events: EventsList = d.client().call(method::EVENTS_LIST, json!({})).unwrap();
    let seqs: Vec<u64> = events.events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, [1, 2, 3, 4, 5]);
    let names: Vec<&str> = events.events.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "SessionStart",
            "UserPromptSubmit",
            "PreToolUse",
            "PostToolUse",
            "Stop"
        ]
    );
}

#[test]
fn hooks_without_a_daemon_are_spooled_and_ingested_at_start() {
    let dir = tempfile::Builder::new().prefix("agd").tempdir().unwrap();
    let before = jiff::Timestamp::now().as_millisecond();
    for name in ["SessionStart", "UserPromptSubmit", "Stop"] {
        let p = json!({"session_id": "spooled", "hook_event_name": name, "cwd": "/tmp"});
        let out = run(dir.path(), &["hook"], Some(p.to_string().as_bytes()));
        assert!(out.status.success() && out.stdout.is_empty(), "{out:?}");
    }
    // One file per event: a hook killed mid-write leaves only a temporary
    // file, never a torn record.
    let spool = dir.path().join("spool");
    assert_eq!(std::fs::read_dir(&spool).unwrap().count(), 3);
    std::fs::write(spool.join(".tmp-killed"), b"{\"ts_ms\":1,\"pay").unwrap();
    // The one-file spool of agentd before 0.2 is drained too, torn last
    // line and all.
    let legacy =
        json!({"ts_ms": before, "payload": {"session_id": "legacy", "hook_event_name": "Stop"}});
    std::fs::write(
        dir.path().join("spool.ndjson"),
        format!("{legacy}\n{{\"ts_ms\":1,\"pay"),
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(50));
    let d = TestDaemon::start_in(dir.path());
    let events: EventsList = d.client().call(method::EVENTS_LIST, json!({})).unwrap();
    let names: Vec<&str> = events.events.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["Stop", "SessionStart", "UserPromptSubmit", "Stop"]);
    assert_eq!(events.events[0].session_id, "legacy");
    assert!(spool::list(&spool).is_empty());
    let started = jiff::Timestamp::now().as_millisecond();
    for e in &events.events {
        assert!(
            e.ts_ms >= before && e.ts_ms < started - 40,
            "keeps the hook's receive time"
        );
    }
    let s: SessionView = d
        .client()
        .call(method::SESSIONS_GET, json!({"id": "spooled"}))
        .unwrap();
    assert_eq!(s.session.status.as_str(), "idle");
    assert!(!dir.path().join("spool.ndjson").exists());
    assert!(!dir.path().join("spool.ndjson.draining").exists());
    let _ = std::fs::remove_file(spool.join(".tmp-killed"));
    // No root, no spool: a user who never ran agentd gets no files.
    let none = dir.path().join("never-started");
    run(
        &none,
        &["hook"],
        Some(br#"{"session_id":"x","hook_event_name":"Stop"}"#),
    );
    assert!(!none.exists());
}

#[test]
fn a_session_whose_process_is_gone_ends() {
    let d = TestDaemon::start();
    // A process that exits at once stands in for a Claude Code that died
    // without SessionEnd.
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    let mut c = d.client();
    let _: serde_json::Value = c
        .call(
            method::HOOK_INGEST,
            json!({"payload": {"session_id": "gone", "hook_event_name": "UserPromptSubmit"}, "env": {"claude_pid": pid}}),
        )
        .unwrap();
    let s = wait_for(
        "the reaper to end the session",
        Duration::from_secs(20),
        || {
            let s: SessionView = c.call(method::SESSIONS_GET, json!({"id": "gone"})).ok()?;
            (s.session.status.as_str() == "ended").then_some(s)
        },
    );
    assert_eq!(s.session.end_reason.as_deref(), Some("process_exited"));
}

#[test]
fn cli_without_a_daemon_says_how_to_start_it() {
    let dir = tempfile::Builder::new().prefix("agd").tempdir().unwrap();
    for args in [
        &["ls"][..],
        &["ls", "--json"],
        &["show", "x"],
        &["events"],
        &["health"],
        &["status"],
    ] {
        let out = run(dir.path(), args, None);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(text.trim().lines().count(), 1, "{args:?}: one line: {text}");
        assert!(text.contains("agentd start"), "{args:?}: {text}");
        assert!(!text.contains("panicked"), "{text}");
    }
}

#[test]
fn start_stop_status() {
    let dir = tempfile::Builder::new().prefix("agd").tempdir().unwrap();
    let out = run(dir.path(), &["start"], None);
    assert!(out.status.success(), "{out:?}");
    let out = run(dir.path(), &["status"], None);
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("is running (pid"));
    let pid: u32 = std::fs::read_to_string(dir.path().join("agentd.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let out = run(dir.path(), &["stop"], None);
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("stopped (pid {pid})")));
    assert!(!dir.path().join("agentd.sock").exists());
    assert_eq!(run(dir.path(), &["status"], None).status.code(), Some(2));
    assert!(
        std::fs::read_to_string(dir.path().join("agentd.log"))
            .unwrap()
            .contains("agentd serving")
    );
}

#[test]
fn paths_json_has_every_key() {
    let dir = tempfile::Builder::new().prefix("agd").tempdir().unwrap();
    let out = run(dir.path(), &["paths", "--json"], None);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let root = dir.path().to_str().unwrap();
    assert_eq!(v["root"], root);
    for key in ["config", "db", "socket", "token", "log"] {
        assert!(v[key].as_str().unwrap().starts_with(root), "{key}: {v}");
    }
}

#[test]
fn a_non_loopback_http_address_is_refused() {
    let dir = tempfile::Builder::new().prefix("agd").tempdir().unwrap();
    let out = support::agentd_cmd(dir.path())
        .env("AGENTD_HTTP_LISTEN", "0.0.0.0:0")
        .arg("serve")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("non-loopback"),
        "{out:?}"
    );
}

/// Runs the small `agentd-hook` the way Claude Code does (`sh -c`), as a
/// child of this test process, with `env` added and no inherited
/// `CLAUDE_PID`.
fn small_hook(d: &TestDaemon, payload: serde_json::Value, env: &[(&str, &str)]) {
    use std::io::Write;
    let mut child = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "{} --home {} hook",
            env!("CARGO_BIN_EXE_agentd-hook"),
            d.home.display()
        ))
        .env_remove("CLAUDE_PID")
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(payload.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "agentd-hook failed: {out:?}");
}

#[test]
fn the_daemon_finds_the_agent_behind_a_hook_from_the_socket_peer() {
    let d = TestDaemon::start();
    let mut c = d.client();
    let pid_of = |c: &mut agentd_client::Client, id: &str| -> Option<u32> {
        let s: SessionView = c.call(method::SESSIONS_GET, json!({"id": id})).unwrap();
        s.session.pid
    };
    // Through `sh -c`, the agent is the first ancestor that is not a
    // shell: this test process.
    small_hook(
        &d,
        json!({"session_id": "peer", "hook_event_name": "SessionStart", "cwd": "/tmp"}),
        &[],
    );
    assert_eq!(pid_of(&mut c, "peer"), Some(std::process::id()));

    // A session whose recorded agent exited is looked up again.
    let mut gone = std::process::Command::new("true").spawn().unwrap();
    let dead = gone.id();
    gone.wait().unwrap();
    let _: serde_json::Value = c
        .call(
            method::HOOK_INGEST,
            json!({"payload": {"session_id": "moved", "hook_event_name": "UserPromptSubmit"}, "env": {"claude_pid": dead}}),
        )
        .unwrap();
    small_hook(
        &d,
        json!({"session_id": "moved", "hook_event_name": "PreToolUse", "tool_name": "Read", "tool_input": {}}),
        &[],
    );
    assert_eq!(pid_of(&mut c, "moved"), Some(std::process::id()));

    // Another client's ancestors are not an agent: a script or the CLI
    // ingesting for a session gives it no pid.
    let _: serde_json::Value = c
        .call(
            method::STATUS_INGEST,
            json!({"payload": {"session_id": "scripted", "model": {"id": "claude-opus-5-5"}}}),
        )
        .unwrap();
    assert_eq!(pid_of(&mut c, "scripted"), None);

    // What the agent says (`CLAUDE_PID`, Claude Code 2.1) wins.
    small_hook(
        &d,
        json!({"session_id": "told", "hook_event_name": "SessionStart", "cwd": "/tmp"}),
        &[("CLAUDE_PID", "4242")],
    );
    assert_eq!(pid_of(&mut c, "told"), Some(4242));
}

#[test]
fn a_chained_status_line_that_ignores_its_stdin_does_not_kill_agentd_hook() {
    use std::io::Write;
    // No daemon needed: the status line renders whatever happens. A
    // payload far over a pipe's buffer, to a command that never reads it:
    // writing gets EPIPE (SIGPIPE is ignored), not a killed process.
    let home = tempfile::tempdir().unwrap();
    let payload = json!({"session_id": "s", "pad": "x".repeat(512 * 1024)}).to_string();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_agentd-hook"))
        .args(["--home"])
        .arg(home.path())
        .args(["statusline", "--chain", "echo chained"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(payload.as_bytes()).unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "chained\n");
}
