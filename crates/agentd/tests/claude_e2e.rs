//! End-to-end against the real Claude Code CLI (the npm package pinned in
//! `scripts/install-claude-code.sh`), running offline against the fake
//! Messages API in `fake-anthropic`. Hooks and the status line are installed
//! with `agentd install`, exactly as a user would.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use agentd_client::client::Message;
use agentd_proto::api::{EventsList, SessionView, SubscribeResult};
use agentd_proto::method;
use fake_anthropic::{FakeApi, Script};
use serde_json::{Value, json};
use support::{TestDaemon, wait_for};

const API_KEY: &str = "sk-ant-test-0123456789abcdefghijklmnopqrstuvwxyz";
const WAIT: Duration = Duration::from_secs(90);

/// The pinned Claude Code executable: `$AGENTD_CLAUDE_BIN`, else installed
/// (and cached) by `scripts/install-claude-code.sh`.
fn claude_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(p) = std::env::var_os("AGENTD_CLAUDE_BIN") {
            return PathBuf::from(p);
        }
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/install-claude-code.sh");
        let out = Command::new("bash")
            .arg(&script)
            .stderr(Stdio::inherit())
            .output()
            .expect("run install script");
        assert!(
            out.status.success(),
            "installing Claude Code failed: {out:?}"
        );
        let stdout = String::from_utf8(out.stdout).expect("utf-8 path");
        PathBuf::from(
            stdout
                .lines()
                .last()
                .expect("script prints the path")
                .trim(),
        )
    })
    .clone()
}

/// An isolated Claude Code user: HOME with onboarding done, the project
/// trusted, the API key approved, and agentd installed into its settings.
struct ClaudeUser {
    dir: tempfile::TempDir,
    project: PathBuf,
    fake: FakeApi,
}

impl ClaudeUser {
    fn new(agentd_home: &Path) -> ClaudeUser {
        let dir = tempfile::Builder::new().prefix("agcc").tempdir().unwrap();
        let project = dir.path().join("project");
        std::fs::create_dir_all(&project).unwrap();
        let project = project.canonicalize().unwrap();
        let key_tail = &API_KEY[API_KEY.len() - 20..];
        let state = json!({
            "hasCompletedOnboarding": true,
            "hasSeenAutoDefaultNudge": true,
            "customApiKeyResponses": {"approved": [key_tail], "rejected": []},
            "projects": {project.to_str().unwrap(): {"hasTrustDialogAccepted": true}}
        });
        std::fs::write(dir.path().join(".claude.json"), state.to_string()).unwrap();
        std::fs::create_dir_all(dir.path().join(".claude")).unwrap();
        std::fs::write(
            dir.path().join(".claude/settings.json"),
            json!({"permissions": {"defaultMode": "default"}}).to_string(),
        )
        .unwrap();
        let out = support::agentd_cmd(agentd_home)
            .env("HOME", dir.path())
            .env_remove("CLAUDE_CONFIG_DIR")
            .arg("install")
            .output()
            .unwrap();
        assert!(out.status.success(), "agentd install: {out:?}");
        let fake = FakeApi::start(Script::default()).unwrap();
        ClaudeUser { dir, project, fake }
    }

    fn home(&self) -> &Path {
        self.dir.path()
    }

    /// `claude` with only this user's environment.
    fn claude(&self) -> Command {
        let mut cmd = Command::new(claude_bin());
        cmd.env_clear()
            .envs(self.env())
            .current_dir(&self.project)
            .stdin(Stdio::null());
        cmd
    }

    fn env(&self) -> Vec<(String, String)> {
        vec![
            ("PATH".into(), std::env::var("PATH").unwrap_or_default()),
            ("HOME".into(), self.home().display().to_string()),
            ("TERM".into(), "xterm-256color".into()),
            ("LANG".into(), "C.UTF-8".into()),
            ("ANTHROPIC_BASE_URL".into(), self.fake.base_url()),
            ("ANTHROPIC_API_KEY".into(), API_KEY.into()),
            ("DISABLE_TELEMETRY".into(), "1".into()),
            ("DISABLE_AUTOUPDATER".into(), "1".into()),
            (
                "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC".into(),
                "1".into(),
            ),
        ]
    }

    fn headless(&self, prompt: &str) -> (Output, Vec<Value>) {
        let out = self
            .claude()
            .args([
                "-p",
                prompt,
                "--output-format",
                "stream-json",
                "--verbose",
                "--allowedTools",
                "Bash",
            ])
            .output()
            .unwrap();
        let lines = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        (out, lines)
    }
}

fn session_id_of(stream: &[Value]) -> String {
    stream
        .iter()
        .find(|m| m["type"] == "system" && m["subtype"] == "init")
        .and_then(|m| m["session_id"].as_str())
        .unwrap_or_else(|| panic!("no system/init in {stream:?}"))
        .to_owned()
}

fn ls_json(home: &Path) -> Vec<Value> {
    let out = support::run(home, &["ls", "--json"], None);
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

fn hook_names(d: &TestDaemon, session: &str) -> Vec<String> {
    let list: EventsList = d
        .client()
        .call(
            method::EVENTS_LIST,
            json!({"session_id": session, "limit": 10000}),
        )
        .unwrap();
    let seqs: Vec<u64> = list.events.iter().map(|e| e.seq).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "seq order: {seqs:?}");
    list.events
        .into_iter()
        .filter(|e| e.source == "hook")
        .map(|e| e.name)
        .collect()
}

#[test]
fn headless_session_is_tracked_from_start_to_end() {
    let d = TestDaemon::start();
    let user = ClaudeUser::new(&d.home);
    let (out, stream) = user.headless("make a file");
    assert!(out.status.success(), "claude failed: {out:?}");
    let id = session_id_of(&stream);
    assert_eq!(stream.last().unwrap()["subtype"], "success", "{stream:?}");
    assert!(user.project.join("out.txt").exists(), "the tool ran");

    let sessions = ls_json(&d.home);
    let s = sessions
        .iter()
        .find(|s| s["id"] == id.as_str())
        .unwrap_or_else(|| panic!("{id} in {sessions:?}"));
    assert_eq!(s["status"], "ended");
    assert_eq!(s["cwd"], user.project.to_str().unwrap());
    assert_eq!(s["last_tool"], "Bash");
    assert_eq!(s["tool_calls"], 1);
    assert_eq!(s["prompts"], 1);
    assert_eq!(s["agent"], "claude");
    let transcript = s["transcript_path"].as_str().unwrap();
    assert!(
        Path::new(transcript).exists(),
        "Claude wrote the transcript at {transcript}"
    );
    assert!(
        s["pid"].as_u64().is_some(),
        "Claude's pid reached the daemon"
    );

    assert_eq!(
        hook_names(&d, &id),
        [
            "SessionStart",
            "UserPromptSubmit",
            "PreToolUse",
            "PostToolUse",
            "Stop",
            "SessionEnd"
        ]
    );
    assert!(user.fake.requests() >= 2);
}

#[test]
fn without_a_daemon_claude_runs_normally_and_the_hook_returns_at_once() {
    let root = tempfile::Builder::new().prefix("agd").tempdir().unwrap();
    let user = ClaudeUser::new(root.path()); // hooks installed, no daemon running
    let (out, stream) = user.headless("make a file");
    assert!(out.status.success(), "claude failed: {out:?}");
    let result = stream.last().unwrap();
    assert_eq!(result["type"], "result");
    assert_eq!(result["subtype"], "success");
    assert_eq!(result["result"], "done");
    assert!(user.project.join("out.txt").exists());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("hook error"), "{stderr}");

    // Spawned the way Claude spawns it: via sh -c, payload on stdin.
    let payload = json!({"session_id": "x", "hook_event_name": "PreToolUse", "tool_name": "Bash",
        "tool_input": {"command": "ls"}, "cwd": "/tmp", "transcript_path": "/tmp/x.jsonl"})
    .to_string();
    let mut fastest = Duration::MAX;
    for _ in 0..10 {
        let start = Instant::now();
        let out = support::agentd_cmd(root.path())
            .arg("hook")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                use std::io::Write;
                c.stdin.take().unwrap().write_all(payload.as_bytes())?;
                c.wait_with_output()
            })
            .unwrap();
        fastest = fastest.min(start.elapsed());
        assert_eq!(out.status.code(), Some(0));
        assert!(out.stdout.is_empty());
    }
    // The fastest of ten: robust to a noisy machine, still catches any wait.
    assert!(
        fastest < Duration::from_millis(50),
        "hook took {fastest:?} with no daemon"
    );
}

/// A private tmux server; killed on drop.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(script: &Path) -> Tmux {
        let tmux = Tmux {
            socket: format!("agentd-e2e-{}", std::process::id()),
        };
        let out = tmux.run(
            &[
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-s",
                "e2e",
                "-x",
                "200",
                "-y",
                "50",
            ],
            Some(script),
        );
        assert!(out.status.success(), "tmux: {out:?}");
        tmux
    }

    fn run(&self, args: &[&str], script: Option<&Path>) -> Output {
        let mut cmd = Command::new("tmux");
        // CI has no terminal; tmux still wants to know the outer TERM.
        if std::env::var_os("TERM").is_none() {
            cmd.env("TERM", "xterm-256color");
        }
        cmd.arg("-L").arg(&self.socket).args(args);
        if let Some(s) = script {
            cmd.arg(s);
        }
        cmd.output().expect("tmux is installed")
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-p", "-t", "e2e"], None).stdout)
            .into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "e2e"];
        args.extend_from_slice(keys);
        assert!(self.run(&args, None).status.success());
    }

    fn type_text(&self, text: &str) {
        assert!(
            self.run(&["send-keys", "-t", "e2e", "-l", text], None)
                .status
                .success()
        );
    }

    fn wait_screen(&self, what: &str, f: impl Fn(&str) -> bool) -> String {
        let mut last = String::new();
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            last = self.screen();
            if f(&last) {
                return last;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("timed out waiting for {what}; screen:\n{last}");
    }

    /// Answers the permission dialog with Enter ("1. Yes"), retrying: a key
    /// sent in the first ~100 ms after the dialog renders is ignored.
    fn approve(&self) {
        for _ in 0..20 {
            std::thread::sleep(Duration::from_millis(500));
            self.keys(&["Enter"]);
            std::thread::sleep(Duration::from_millis(700));
            if !self.screen().contains("Do you want to proceed?") {
                return;
            }
        }
        panic!(
            "the permission dialog did not close; screen:\n{}",
            self.screen()
        );
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"], None);
    }
}

fn get(d: &TestDaemon, id: &str) -> Option<SessionView> {
    d.client()
        .call(method::SESSIONS_GET, json!({"id": id}))
        .ok()
}

fn wait_session(
    d: &TestDaemon,
    id: &str,
    what: &str,
    f: impl Fn(&SessionView) -> bool,
) -> SessionView {
    wait_for(what, WAIT, || get(d, id).filter(|s| f(s)))
}

/// Records every status a session passes through, from live notifications.
fn record_statuses(d: &TestDaemon) -> Arc<Mutex<Vec<(String, String)>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut sub = d.client();
    let _: SubscribeResult = sub.call(method::EVENTS_SUBSCRIBE, json!({})).unwrap();
    sub.set_read_timeout(None).unwrap();
    let out = Arc::clone(&seen);
    std::thread::spawn(move || {
        while let Ok(msg) = sub.read_message() {
            if let Message::Notification(_, p) = msg
                && let (Some(id), Some(status)) =
                    (p["session_id"].as_str(), p["session"]["status"].as_str())
            {
                out.lock().unwrap().push((id.to_owned(), status.to_owned()));
            }
        }
    });
    seen
}

fn dedup(statuses: &[(String, String)], id: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (sid, st) in statuses {
        if sid == id && out.last() != Some(st) {
            out.push(st.clone());
        }
    }
    out
}

#[test]
fn interactive_session_in_tmux_with_approval_restart_and_exit() {
    let mut d = TestDaemon::start();
    let user = ClaudeUser::new(&d.home);
    let statuses = record_statuses(&d);
    let script = user.home().join("run-claude.sh");
    let mut text = String::from("#!/bin/sh\nunset CLAUDE_CONFIG_DIR CLAUDECODE AGENTD_HOME\n");
    for (k, v) in user.env() {
        text.push_str(&format!("export {k}={}\n", shlex::try_quote(&v).unwrap()));
    }
    text.push_str(&format!(
        "cd {}\nexec {}\n",
        shlex::try_quote(user.project.to_str().unwrap()).unwrap(),
        shlex::try_quote(claude_bin().to_str().unwrap()).unwrap()
    ));
    std::fs::write(&script, text).unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();

    let tmux = Tmux::start(&script);
    tmux.wait_screen("the prompt", |s| s.contains('❯'));
    let id = wait_for("the session to appear", WAIT, || {
        ls_json(&d.home)
            .first()
            .and_then(|s| s["id"].as_str().map(str::to_owned))
    });

    // Turn 1: the permission dialog, answered in the terminal.
    tmux.type_text("make a file");
    tmux.keys(&["Enter"]);
    tmux.wait_screen("the permission dialog", |s| {
        s.contains("Do you want to proceed?")
    });
    let s = wait_session(&d, &id, "needs_approval", |s| {
        s.session.status.as_str() == "needs_approval"
    });
    assert_eq!(s.session.pending_permission.as_deref(), Some("Bash"));
    tmux.approve();
    let s = wait_session(&d, &id, "idle after the turn", |s| {
        s.session.status.as_str() == "idle"
    });
    assert_eq!(s.session.last_tool.as_deref(), Some("Bash"));
    assert!(user.project.join("out.txt").exists());
    let s = wait_session(&d, &id, "model and cost from the status line", |s| {
        s.session.model.is_some() && s.session.cost_usd.is_some_and(|c| c > 0.0)
    });
    assert!(
        s.session.model.as_deref().unwrap().starts_with("claude-"),
        "{:?}",
        s.session.model
    );
    assert!(
        s.session
            .tmux_pane
            .as_deref()
            .is_some_and(|p| p.starts_with('%')),
        "{:?}",
        s.session.tmux_pane
    );
    let seen = dedup(&statuses.lock().unwrap(), &id);
    let want = ["working", "needs_approval", "working", "idle"];
    let mut it = seen.iter();
    assert!(
        want.iter().all(|w| it.any(|s| s == w)),
        "statuses in order {want:?}, saw {seen:?}"
    );

    // The daemon restarts mid-session: nothing lost, tracking continues.
    let before = get(&d, &id).unwrap();
    let events_before = hook_names(&d, &id);
    let (status, _) = d.stop();
    assert!(status.success());
    d.restart();
    assert_eq!(get(&d, &id).unwrap(), before);
    assert_eq!(hook_names(&d, &id), events_before);

    tmux.type_text("make another file");
    tmux.keys(&["Enter"]);
    tmux.wait_screen("the second permission dialog", |s| {
        s.contains("Do you want to proceed?")
    });
    wait_session(&d, &id, "needs_approval again", |s| {
        s.session.status.as_str() == "needs_approval"
    });
    tmux.approve();
    let s = wait_session(&d, &id, "idle after turn 2", |s| {
        s.session.status.as_str() == "idle" && s.session.prompts == 2
    });
    assert_eq!(s.session.tool_calls, 2);

    tmux.type_text("/exit");
    std::thread::sleep(Duration::from_millis(300));
    tmux.keys(&["Enter"]);
    let s = wait_session(&d, &id, "ended after /exit", |s| {
        s.session.status.as_str() == "ended"
    });
    assert_eq!(s.session.end_reason.as_deref(), Some("prompt_input_exit"));
    let names = hook_names(&d, &id);
    assert_eq!(names.first().map(String::as_str), Some("SessionStart"));
    assert_eq!(names.last().map(String::as_str), Some("SessionEnd"));
    assert_eq!(
        names.iter().filter(|n| *n == "PermissionRequest").count(),
        2,
        "{names:?}"
    );
}
