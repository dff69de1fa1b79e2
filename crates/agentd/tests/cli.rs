//! The hook and status-line clients, install/uninstall, and the CLI views.

mod support;

use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};
use support::{TestDaemon, run};

#[test]
fn hook_fails_open_without_a_daemon_or_with_bad_input() {
    let dir = tempfile::Builder::new().prefix("agd").tempdir().unwrap();
    let payload = json!({"session_id": "s", "hook_event_name": "PreToolUse", "tool_name": "Bash"})
        .to_string();
    for input in [payload.as_bytes(), b"not json at all", b"", b"[1,2,3]"] {
        let out = run(dir.path(), &["hook"], Some(input));
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        assert!(out.stdout.is_empty(), "{out:?}");
    }
    // A socket path that exists but where nothing listens.
    std::fs::write(dir.path().join("agentd.sock"), b"").unwrap();
    let out = run(dir.path(), &["hook"], Some(payload.as_bytes()));
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
}

/// A "daemon" at `dir`'s socket that accepts one connection and never
/// answers, holding it until the returned sender is dropped; the thread
/// says whether a client connected.
fn silent_daemon(
    dir: &std::path::Path,
) -> (std::sync::mpsc::Sender<()>, std::thread::JoinHandle<bool>) {
    let listener = std::os::unix::net::UnixListener::bind(dir.join("agentd.sock")).unwrap();
    let (release, wait) = std::sync::mpsc::channel::<()>();
    let held = std::thread::spawn(move || {
        let conn = listener.accept();
        let _ = wait.recv(); // until the test is done
        conn.is_ok()
    });
    (release, held)
}

/// Runs `agentd hook` with `payload` and `timeout_ms`; its output, or a
/// failure when it has not returned within 60 s (it would wait on the
/// silent daemon for ever if it ignored its time limit).
fn hook_against(dir: &std::path::Path, timeout_ms: &str, payload: &[u8]) -> std::process::Output {
    let mut child = support::spawn_hook(dir, payload, &[("AGENTD_HOOK_TIMEOUT_MS", timeout_ms)]);
    let status = support::wait_for("the hook to give up", Duration::from_secs(60), || {
        child.try_wait().ok().flatten()
    });
    let mut stdout = Vec::new();
    use std::io::Read;
    child
        .stdout
        .take()
        .unwrap()
        .read_to_end(&mut stdout)
        .unwrap();
    std::process::Output {
        status,
        stdout,
        stderr: Vec::new(),
    }
}

#[test]
fn hook_fails_open_when_the_daemon_is_too_slow() {
    let dir = tempfile::Builder::new().prefix("agd").tempdir().unwrap();
    let (release, held) = silent_daemon(dir.path());
    // The daemon never answers and never closes: only the hook's own
    // time limit can end it.
    let out = hook_against(
        dir.path(),
        "300",
        br#"{"session_id":"s","hook_event_name":"Stop"}"#,
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
    drop(release);
    assert!(held.join().unwrap(), "the hook did connect");
    // What it could not deliver waits in the spool.
    assert_eq!(
        agentd_client::spool::list(&dir.path().join("spool")).len(),
        1
    );
}

#[test]
fn session_end_never_waits_past_its_one_second_budget() {
    let dir = tempfile::Builder::new().prefix("agd").tempdir().unwrap();
    let (release, held) = silent_daemon(dir.path());
    // An hour's timeout: only the SessionEnd cap (1 s, inside Claude
    // Code's 1.5 s budget for all SessionEnd hooks) can end it.
    let out = hook_against(
        dir.path(),
        "3600000",
        br#"{"session_id":"s","hook_event_name":"SessionEnd","reason":"exit"}"#,
    );
    assert_eq!(out.status.code(), Some(0));
    drop(release);
    assert!(held.join().unwrap());
}

#[test]
fn hook_and_statusline_reach_the_daemon() {
    let d = TestDaemon::start();
    let out = support::agentd_cmd(&d.home)
        .env("TMUX_PANE", "%7")
        .env("CLAUDE_PROJECT_DIR", "/work/proj")
        .arg("hook")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(br#"{"session_id":"s9","hook_event_name":"UserPromptSubmit","cwd":"/work/proj/sub","prompt":"hi"}"#)?;
            c.wait_with_output()
        })
        .unwrap();
    assert!(out.status.success() && out.stdout.is_empty(), "{out:?}");

    let status = json!({"session_id": "s9", "model": {"id": "claude-opus-5-5", "display_name": "Opus 5.5"},
        "cost": {"total_cost_usd": 0.0123}, "context_window": {"used_percentage": 41.6}});
    let out = run(
        &d.home,
        &["statusline"],
        Some(status.to_string().as_bytes()),
    );
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Opus 5.5 · ctx 42% · $0.012\n"
    );

    let out = run(&d.home, &["ls", "--json"], None);
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let s = &list[0];
    assert_eq!(s["id"], "s9");
    assert_eq!(s["status"], "working");
    assert_eq!(s["tmux_pane"], "%7");
    assert_eq!(s["project"], "/work/proj");
    assert_eq!(s["cwd"], "/work/proj/sub");
    assert_eq!(s["model"], "claude-opus-5-5");
    assert_eq!(s["cost_usd"], 0.0123);
    assert_eq!(s["prompts"], 1);
    for key in ["transcript_path", "last_tool", "tool_calls", "updated_at"] {
        assert!(s.get(key).is_some(), "{key} in {s}");
    }

    let out = run(&d.home, &["ls"], None);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.starts_with("STATUS"), "{table}");
    assert!(
        table.contains("working") && table.contains("proj") && table.contains("claude-opus-5-5"),
        "{table}"
    );

    let out = run(&d.home, &["show", "s9"], None);
    assert!(String::from_utf8_lossy(&out.stdout).contains("tmux pane       %7"));
    let out = run(&d.home, &["show", "nope"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no session `nope`"));

    let out = run(&d.home, &["events", "--json"], None);
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    for (l, (seq, kind)) in lines
        .iter()
        .zip([(1, "prompt.submitted"), (2, "status.updated")])
    {
        assert_eq!(l["seq"], seq);
        assert_eq!(l["kind"], kind);
        assert_eq!(l["session_id"], "s9");
        assert!(l["ts"].as_str().unwrap().ends_with('Z'));
    }
    let out = run(&d.home, &["events", "--json", "--after", "1"], None);
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
}

#[test]
fn events_follow_streams_and_survives_a_daemon_restart() {
    let mut d = TestDaemon::start();
    let hook = |d: &TestDaemon, name: &str| {
        let p = json!({"session_id": "f", "hook_event_name": name});
        let out = run(&d.home, &["hook"], Some(p.to_string().as_bytes()));
        assert!(out.status.success());
    };
    hook(&d, "SessionStart"); // seq 1: before the follower, and not asked for
    // `--after 1`: whenever the follower's subscription starts, it gets
    // everything after seq 1 (no race with the next hook).
    let mut follow = support::agentd_cmd(&d.home)
        .args(["events", "--json", "--follow", "--after", "1"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = follow.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout).lines() {
            let v: Value = serde_json::from_str(&line.unwrap()).unwrap();
            let _ = tx.send((
                v["seq"].as_u64().unwrap(),
                v["kind"].as_str().unwrap().to_owned(),
            ));
        }
    });
    hook(&d, "UserPromptSubmit");
    let first = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(first, (2, "prompt.submitted".to_owned()));

    d.stop();
    hook(&d, "Stop"); // spooled while the daemon is down
    d.restart();
    hook(&d, "SessionEnd");
    let next: Vec<_> = (0..2)
        .map(|_| rx.recv_timeout(Duration::from_secs(10)).unwrap())
        .collect();
    assert_eq!(
        next,
        [
            (3, "turn.stopped".to_owned()),
            (4, "session.ended".to_owned())
        ]
    );
    let _ = follow.kill();
    let _ = follow.wait();
}

#[test]
fn statusline_chains_the_users_own_command() {
    let dir = tempfile::Builder::new().prefix("agd").tempdir().unwrap();
    let out = run(
        dir.path(),
        &["statusline", "--chain", "read x; echo \"mine: ${#x}\""],
        Some(b"{\"session_id\":\"abc\"}\n"),
    );
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "mine: 20\n");
}

fn claude_home() -> tempfile::TempDir {
    tempfile::Builder::new().prefix("agh").tempdir().unwrap()
}

fn install_cmd(
    home: &std::path::Path,
    agentd_home: &std::path::Path,
    args: &[&str],
) -> std::process::Output {
    support::agentd_cmd(agentd_home)
        .env("HOME", home)
        .env_remove("CLAUDE_CONFIG_DIR")
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn install_is_idempotent_keeps_everything_and_uninstall_restores() {
    let home = claude_home();
    let root = home.path().join("agentd");
    let settings = home.path().join(".claude/settings.json");
    std::fs::create_dir_all(settings.parent().unwrap()).unwrap();
    let original = json!({
        "permissions": {"allow": ["Bash(ls:*)"]},
        "hooks": {"Stop": [{"hooks": [{"type": "command", "command": "say done"}]}]},
        "statusLine": {"type": "command", "command": "my-statusline.sh", "padding": 0}
    });
    std::fs::write(&settings, serde_json::to_string_pretty(&original).unwrap()).unwrap();

    let out = install_cmd(home.path(), &root, &["install", "--dry-run"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        serde_json::from_slice::<Value>(&std::fs::read(&settings).unwrap()).unwrap(),
        original,
        "dry run writes nothing"
    );

    let out = install_cmd(home.path(), &root, &["install"]);
    assert!(out.status.success(), "{out:?}");
    let once = std::fs::read(&settings).unwrap();
    let doc: Value = serde_json::from_slice(&once).unwrap();
    let bin = support::bin().canonicalize().unwrap();
    let hook_cmd = doc["hooks"]["PreToolUse"][0]["hooks"][0]["command"]
        .as_str()
        .unwrap();
    assert!(
        hook_cmd.starts_with(bin.to_str().unwrap()) && hook_cmd.ends_with(" hook"),
        "{hook_cmd}"
    );
    assert_eq!(doc["hooks"]["Stop"][0]["hooks"][0]["command"], "say done");
    assert_eq!(doc["permissions"], original["permissions"]);
    assert!(
        doc["statusLine"]["command"]
            .as_str()
            .unwrap()
            .contains("--chain my-statusline.sh")
    );
    let backups = std::fs::read_dir(settings.parent().unwrap())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .contains("agentd-backup")
        })
        .count();
    assert_eq!(backups, 1);

    let out = install_cmd(home.path(), &root, &["install"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("already installed"));
    assert_eq!(std::fs::read(&settings).unwrap(), once, "twice = same file");

    let out = install_cmd(home.path(), &root, &["uninstall"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        serde_json::from_slice::<Value>(&std::fs::read(&settings).unwrap()).unwrap(),
        original
    );
}

#[test]
fn install_refuses_invalid_json_untouched() {
    let home = claude_home();
    let settings = home.path().join(".claude/settings.json");
    std::fs::create_dir_all(settings.parent().unwrap()).unwrap();
    std::fs::write(&settings, "{\"hooks\": [,]}").unwrap();
    let out = install_cmd(home.path(), &home.path().join("a"), &["install"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not valid JSON") && err.contains("refusing"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(&settings).unwrap(),
        "{\"hooks\": [,]}"
    );
    // CLAUDE_CONFIG_DIR wins over HOME.
    let cfg = home.path().join("cfg");
    let out = support::agentd_cmd(&home.path().join("a"))
        .env("HOME", home.path())
        .env("CLAUDE_CONFIG_DIR", &cfg)
        .arg("install")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(cfg.join("settings.json").exists());
}

#[test]
fn version_and_help_work() {
    let out = Command::new(support::bin())
        .arg("--version")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("agentd "));
    let out = Command::new(support::bin()).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for cmd in [
        "serve",
        "start",
        "stop",
        "hook",
        "statusline",
        "install",
        "ls",
        "events",
    ] {
        assert!(help.contains(cmd), "{cmd}");
    }
    assert!(help.contains("Exit status:"), "{help}");
    // Every command's help ends with examples.
    for args in [
        &["serve"][..],
        &["start"],
        &["stop"],
        &["status"],
        &["hook"],
        &["statusline"],
        &["install"],
        &["uninstall"],
        &["ls"],
        &["show"],
        &["events"],
        &["health"],
        &["gc"],
        &["approvals"],
        &["approve"],
        &["deny"],
        &["answer"],
        &["launch"],
        &["send"],
        &["interrupt"],
        &["kill"],
        &["search"],
        &["transcript"],
        &["usage"],
        &["tui"],
        &["hooks"],
        &["hooks", "ls"],
        &["hooks", "run"],
        &["hooks", "history"],
        &["index"],
        &["rules"],
        &["rules", "test"],
        &["paths"],
        &["doctor"],
        &["completions"],
        &["man"],
        &["config"],
        &["config", "edit"],
        &["memory"],
        &["memory", "add"],
        &["tls"],
        &["tls", "ca"],
        &["slots"],
        &["slots", "acquire"],
        &["slots", "release"],
    ] {
        let out = Command::new(support::bin())
            .args(args)
            .arg("--help")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{args:?}: {out:?}");
        assert!(
            text.contains("agentd ") && (text.contains("Example") || text.contains("for example")),
            "{args:?} --help has no example:\n{text}"
        );
    }
    // `answer` covers MCP elicitations as the README does.
    let out = Command::new(support::bin())
        .args(["answer", "--help"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("elicitation") && text.contains("requested_schema"),
        "{text}"
    );
}

#[test]
fn ended_sessions_are_not_live() {
    let d = TestDaemon::start();
    for name in ["SessionStart", "SessionEnd"] {
        let p = json!({"session_id": "gone", "hook_event_name": name, "reason": "exit"});
        assert!(
            run(&d.home, &["hook"], Some(p.to_string().as_bytes()))
                .status
                .success()
        );
    }
    let p = json!({"session_id": "here", "hook_event_name": "SessionStart"});
    assert!(
        run(&d.home, &["hook"], Some(p.to_string().as_bytes()))
            .status
            .success()
    );
    let out = run(&d.home, &["ls", "--json"], None);
    let list: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let live = |id: &str| {
        list.iter()
            .find(|s| s["id"] == id)
            .map(|s| s["live"].clone())
    };
    assert_eq!(live("gone"), Some(json!(false)), "{list:?}");
    assert_eq!(live("here"), Some(json!(true)), "{list:?}");
}

#[test]
fn errors_name_the_problem_once_without_protocol_codes() {
    let d = TestDaemon::start();
    let out = run(&d.home, &["show", "nope"], None);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("agentd: ") && !err.contains("agentd: agentd:"),
        "{err}"
    );
    assert!(err.contains("nope") && !err.contains("code -3"), "{err}");
    // With --json the same error is a JSON object on stderr, code and all.
    let out = run(&d.home, &["show", "nope", "--json"], None);
    assert_eq!(out.status.code(), Some(1));
    let err: Value = serde_json::from_slice(&out.stderr).expect("a JSON error");
    assert_eq!(err["error"]["code"], -32002, "{err}");
    assert_eq!(err["error"]["exit_code"], 1, "{err}");
    assert!(
        err["error"]["message"].as_str().unwrap().contains("nope"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
    // Daemon down: exit 2, JSON too.
    let down = tempfile::tempdir().unwrap();
    let out = run(down.path(), &["ls", "--json"], None);
    assert_eq!(out.status.code(), Some(2));
    let err: Value = serde_json::from_slice(&out.stderr).expect("a JSON error");
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("agentd start"),
        "{err}"
    );
}

#[test]
fn no_match_exits_1_as_grep_does_and_a_bad_status_is_a_usage_error() {
    let d = TestDaemon::start();
    let p = json!({"session_id": "w1", "hook_event_name": "UserPromptSubmit", "prompt": "go"});
    assert!(
        run(&d.home, &["hook"], Some(p.to_string().as_bytes()))
            .status
            .success()
    );
    let out = run(&d.home, &["ls", "--status", "working", "--json"], None);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let list: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list.len(), 1);
    let out = run(
        &d.home,
        &["ls", "--status", "needs_approval,needs_input"],
        None,
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(out.stderr.is_empty(), "no match is not an error message");
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("no session is needs_approval or needs_input")
    );
    let out = run(&d.home, &["ls", "--status", "busy"], None);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs_approval"));
    let out = run(&d.home, &["search", "zyzzyva", "--json"], None);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "[]");
    assert!(out.stderr.is_empty());
}

#[test]
fn show_transcript_and_events_default_to_the_latest_session_here() {
    let d = TestDaemon::start();
    let here = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let cwd = here.path().canonicalize().unwrap();
    let other = elsewhere.path().canonicalize().unwrap();
    for (sid, dir) in [
        ("older-here", &cwd),
        ("newer-here", &cwd),
        ("newest-elsewhere", &other),
    ] {
        let p = json!({"session_id": sid, "hook_event_name": "SessionStart", "cwd": dir});
        assert!(
            run(&d.home, &["hook"], Some(p.to_string().as_bytes()))
                .status
                .success()
        );
    }
    let in_dir = |dir: &std::path::Path, args: &[&str]| {
        support::agentd_cmd(&d.home)
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap()
    };
    let out = in_dir(&cwd, &["show", "--json"]);
    assert!(out.status.success(), "{out:?}");
    let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["id"], "newer-here");
    let out = in_dir(&cwd, &["events", "--session", "--json"]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.contains("newer-here"), "{text}");
    // Nothing ran here: say so, and how to name one.
    let empty = tempfile::tempdir().unwrap();
    let out = in_dir(empty.path(), &["transcript"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no session has run in") && err.contains("agentd ls --all"),
        "{err}"
    );
}

#[test]
fn completions_for_every_shell_and_a_man_page() {
    let d = tempfile::tempdir().unwrap();
    for (shell, marker) in [
        ("bash", "complete -F _agentd"),
        ("zsh", "#compdef agentd"),
        ("fish", "complete -c agentd"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let out = run(d.path(), &["completions", shell], None);
        assert!(out.status.success(), "{shell}: {out:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(marker), "{shell}: {marker} missing");
        assert!(
            text.contains("approvals") && text.contains("hooks"),
            "{shell}"
        );
    }
    let out = run(d.path(), &["man"], None);
    let page = String::from_utf8_lossy(&out.stdout);
    assert!(
        page.contains(".TH agentd 1") && page.contains("completions"),
        "{page}"
    );
    let out = run(d.path(), &["completions", "tcsh"], None);
    assert_eq!(out.status.code(), Some(2), "a usage error");
}

#[test]
fn events_take_a_session_id_prefix() {
    let d = TestDaemon::start();
    for (sid, name) in [
        ("52786e60-aaaa-4bbb-8ccc-000000000001", "SessionStart"),
        ("52786e60-aaaa-4bbb-8ccc-000000000001", "Stop"),
        ("99999999-aaaa-4bbb-8ccc-000000000002", "SessionStart"),
    ] {
        let p = json!({"session_id": sid, "hook_event_name": name});
        assert!(
            run(&d.home, &["hook"], Some(p.to_string().as_bytes()))
                .status
                .success()
        );
    }
    let out = run(
        &d.home,
        &["events", "--session", "52786e60", "--json"],
        None,
    );
    assert!(out.status.success(), "{out:?}");
    let lines: Vec<Value> = out
        .stdout
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines
            .iter()
            .all(|e| e["session_id"] == "52786e60-aaaa-4bbb-8ccc-000000000001")
    );
}

#[test]
fn dates_take_every_form_and_usage_defaults_to_daily() {
    let d = TestDaemon::start();
    for since in [
        "7d",
        "yesterday",
        "today",
        "2026-01-01",
        "2026-01-01T00:00:00Z",
        "12h",
    ] {
        let out = run(&d.home, &["usage", "--since", since, "--json"], None);
        assert!(out.status.success(), "{since}: {out:?}");
    }
    let out = run(&d.home, &["usage", "--since", "last tuesday"], None);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("last tuesday") && err.contains("7d") && err.contains("YYYY-MM-DD"),
        "{err}"
    );
    // The same parser serves search: an age is accepted there too.
    let out = run(&d.home, &["search", "x", "--since", "3d", "--json"], None);
    assert_eq!(out.status.code(), Some(1), "no match, no error: {out:?}");
    assert!(out.stderr.is_empty(), "{out:?}");
    let out = run(&d.home, &["search", "x", "--since", "soon"], None);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot read the time"),
        "{out:?}"
    );
}

#[test]
fn doctor_names_each_problem_with_its_fix_and_is_quiet_when_all_is_well() {
    let tmp = tempfile::Builder::new().prefix("agd").tempdir().unwrap();
    let claude_home = tmp.path().join("claude");
    // No daemon, nothing installed: problems, each with its fix, exit 1.
    let out = support::agentd_cmd(tmp.path())
        .env("CLAUDE_CONFIG_DIR", &claude_home)
        .args(["doctor", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], false);
    let by = |name: &str| -> Value {
        v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["check"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no {name} check: {v}"))
    };
    assert_eq!(by("daemon")["fix"], "agentd start");
    assert_eq!(by("hooks")["fix"], "agentd install");
    assert_eq!(by("status line")["fix"], "agentd install");
    // Running and installed: those are fine now.
    let d = TestDaemon::start_in(tmp.path());
    let install = support::agentd_cmd(tmp.path())
        .env("CLAUDE_CONFIG_DIR", &claude_home)
        .arg("install")
        .output()
        .unwrap();
    assert!(install.status.success(), "{install:?}");
    let out = support::agentd_cmd(&d.home)
        .env("CLAUDE_CONFIG_DIR", &claude_home)
        .arg("doctor")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for line in [
        "ok  daemon",
        "ok  hooks",
        "ok  status line",
        "ok  token",
        "ok  socket",
        "ok  http",
    ] {
        assert!(text.contains(line), "{line}: {text}");
    }
}

#[test]
fn config_shows_each_origin_and_edit_only_saves_a_valid_file() {
    let home = tempfile::Builder::new().prefix("agd").tempdir().unwrap();
    let config = home.path().join("agentd.toml");
    std::fs::write(&config, "[hook]\ntimeout_ms = 700\n").unwrap();
    let mut cmd = support::agentd_cmd(home.path());
    let out = cmd
        .args(["config", "--json"])
        .env("AGENTD_LOG", "debug")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let origin = |key: &str| {
        v["settings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["key"] == key)
            .map(|s| (s["value"].clone(), s["origin"].as_str().unwrap().to_owned()))
            .unwrap()
    };
    assert_eq!(
        origin("hook.timeout_ms"),
        (json!(700), format!("{}:2", config.display()))
    );
    assert_eq!(
        origin("daemon.log"),
        (json!("debug"), "env AGENTD_LOG".to_owned())
    );
    assert_eq!(origin("daemon.stale_after_s").1, "default");

    // An editor that writes an invalid file: nothing changes, the error
    // names the line, the draft is kept.
    let script = home.path().join("editor.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\nprintf '[hook]\\ntimeout_ms = \"soon\"\\n' > \"$1\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let edit = |editor: &std::path::Path| {
        support::agentd_cmd(home.path())
            .args(["config", "edit"])
            .env("EDITOR", editor)
            .env_remove("VISUAL")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    };
    let out = edit(&script);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 2") && err.contains("unchanged"), "{err}");
    assert_eq!(
        std::fs::read_to_string(&config).unwrap(),
        "[hook]\ntimeout_ms = 700\n"
    );
    assert!(home.path().join("agentd.toml.edit").exists(), "draft kept");
    // The same for `agentd config` on an invalid file itself.
    std::fs::write(&config, "[hook]\n\ntimeout_ms = [\n").unwrap();
    let out = run(home.path(), &["config"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("line 3"),
        "{out:?}"
    );
    std::fs::write(&config, "[hook]\ntimeout_ms = 700\n").unwrap();
    // A valid edit replaces the file, 0600.
    std::fs::write(
        &script,
        "#!/bin/sh\nprintf '[hook]\\ntimeout_ms = 1500\\n' > \"$1\"\n",
    )
    .unwrap();
    let out = edit(&script);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        std::fs::read_to_string(&config).unwrap(),
        "[hook]\ntimeout_ms = 1500\n"
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&config).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(!home.path().join("agentd.toml.edit").exists());
}
