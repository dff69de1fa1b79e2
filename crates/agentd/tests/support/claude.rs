//! The real Claude Code CLI in tests: the pinned binary, an isolated user
//! (HOME, onboarding done, project trusted, agentd installed), the fake
//! Messages API, and a private tmux server for interactive sessions.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use agentd_client::client::Message;
use agentd_proto::api::{ApprovalView, EventsList, SessionView, SubscribeResult};
use agentd_proto::method;
use fake_anthropic::{FakeApi, Script};
use serde_json::{Value, json};

use super::{TestDaemon, run, wait_for};

pub const API_KEY: &str = "sk-ant-test-0123456789abcdefghijklmnopqrstuvwxyz";
pub const WAIT: Duration = Duration::from_secs(90);

/// The pinned Claude Code executable: `$AGENTD_CLAUDE_BIN`, else installed
/// (and cached) by `scripts/install-claude-code.sh`.
pub fn claude_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(p) = std::env::var_os("AGENTD_CLAUDE_BIN") {
            return PathBuf::from(p);
        }
        super::install("install-claude-code.sh", "Claude Code")
    })
    .clone()
}

/// The Claude Code with the agent view (`claude --bg`, `claude agents`):
/// 2.1.332, installed (and cached) like the pinned one.
pub fn agent_view_claude_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        super::install_with(
            "install-claude-code.sh",
            "Claude Code 2.1.332",
            &[("CLAUDE_CODE_VERSION", "2.1.332")],
        )
    })
    .clone()
}

/// Kills, when dropped, every process whose `HOME` is the given folder: the
/// background sessions and the supervisor `claude --bg` leaves running.
pub struct KillByHome(pub PathBuf);

impl Drop for KillByHome {
    fn drop(&mut self) {
        let want = format!("HOME={}", self.0.display());
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return;
        };
        for e in entries.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else {
                continue;
            };
            let env = std::fs::read(e.path().join("environ")).unwrap_or_default();
            if env.split(|b| *b == 0).any(|kv| kv == want.as_bytes()) {
                // SAFETY: signalling a process this test's user started.
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                }
            }
        }
    }
}

/// An isolated Claude Code user: HOME with onboarding done, the project
/// trusted, the API key approved, and agentd installed into its settings.
pub struct ClaudeUser {
    dir: tempfile::TempDir,
    /// The project directory (canonical), Claude's cwd.
    pub project: PathBuf,
    /// The fake Messages API this user's Claude talks to.
    pub fake: FakeApi,
}

impl ClaudeUser {
    pub fn new(agentd_home: &Path) -> ClaudeUser {
        ClaudeUser::with_script(agentd_home, Script::default())
    }

    /// A user whose fake API plays `script`.
    pub fn with_script(agentd_home: &Path, script: Script) -> ClaudeUser {
        ClaudeUser::build(agentd_home, script, true)
    }

    /// A user who has not installed agentd's hooks.
    pub fn without_hooks(agentd_home: &Path) -> ClaudeUser {
        ClaudeUser::build(agentd_home, Script::default(), false)
    }

    /// A user whose fake API plays `script`, without agentd's hooks (the
    /// test installs them its own way).
    pub fn with_script_no_hooks(script: Script) -> ClaudeUser {
        ClaudeUser::build(Path::new("/nonexistent"), script, false)
    }

    fn build(agentd_home: &Path, script: Script, install: bool) -> ClaudeUser {
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
        if install {
            let out = super::agentd_cmd(agentd_home)
                .env("HOME", dir.path())
                .env_remove("CLAUDE_CONFIG_DIR")
                .arg("install")
                .output()
                .unwrap();
            assert!(out.status.success(), "agentd install: {out:?}");
        }
        let fake = FakeApi::start(script).unwrap();
        ClaudeUser { dir, project, fake }
    }

    pub fn home(&self) -> &Path {
        self.dir.path()
    }

    /// Where this user's Claude Code writes transcripts.
    pub fn projects(&self) -> PathBuf {
        self.dir.path().join(".claude/projects")
    }

    /// `claude` with only this user's environment.
    pub fn claude(&self) -> Command {
        let mut cmd = Command::new(claude_bin());
        cmd.env_clear()
            .envs(self.env())
            .current_dir(&self.project)
            .stdin(Stdio::null());
        cmd
    }

    /// The agent-view Claude Code ([`agent_view_claude_bin`], 2.1.332) run
    /// with `args` as this user, in the project, to the end.
    pub fn agent_view(&self, args: &[&str]) -> Output {
        Command::new(agent_view_claude_bin())
            .env_clear()
            .envs(self.env())
            .current_dir(&self.project)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// The environment a daemon needs to launch this user's Claude Code.
    pub fn daemon_env(&self) -> Vec<(String, String)> {
        let mut env = self.env();
        env.push(("AGENTD_CLAUDE".into(), claude_bin().display().to_string()));
        env.push((
            "AGENTD_INDEX_ROOTS".into(),
            self.projects().display().to_string(),
        ));
        env
    }

    pub fn env(&self) -> Vec<(String, String)> {
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

    pub fn headless(&self, prompt: &str) -> (Output, Vec<Value>) {
        self.headless_with(prompt, &[])
    }

    /// [`ClaudeUser::headless`] with more arguments (`--resume <id>`).
    pub fn headless_with(&self, prompt: &str, extra: &[&str]) -> (Output, Vec<Value>) {
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
            .args(extra)
            .output()
            .unwrap();
        let lines = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        (out, lines)
    }
}

pub fn session_id_of(stream: &[Value]) -> String {
    stream
        .iter()
        .find(|m| m["type"] == "system" && m["subtype"] == "init")
        .and_then(|m| m["session_id"].as_str())
        .unwrap_or_else(|| panic!("no system/init in {stream:?}"))
        .to_owned()
}

pub fn ls_json(home: &Path) -> Vec<Value> {
    let out = run(home, &["ls", "--json"], None);
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

pub fn hook_names(d: &TestDaemon, session: &str) -> Vec<String> {
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

/// A private tmux server; killed on drop.
pub struct Tmux {
    socket: String,
}

impl Tmux {
    pub fn start(script: &Path) -> Tmux {
        let tmux = Tmux {
            socket: {
                static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
                let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                format!("agentd-e2e-{}-{n}", std::process::id())
            },
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

    pub fn run(&self, args: &[&str], script: Option<&Path>) -> Output {
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

    pub fn screen(&self) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-p", "-t", "e2e"], None).stdout)
            .into_owned()
    }

    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "e2e"];
        args.extend_from_slice(keys);
        assert!(self.run(&args, None).status.success());
    }

    pub fn type_text(&self, text: &str) {
        assert!(
            self.run(&["send-keys", "-t", "e2e", "-l", text], None)
                .status
                .success()
        );
    }

    pub fn wait_screen(&self, what: &str, f: impl Fn(&str) -> bool) -> String {
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

    /// Does `act`, then waits (polling, up to 5 s) for `done`; again and
    /// again until it holds, for at most [`WAIT`]. For keys a loaded
    /// machine may drop (one sent in the first moments after a dialog
    /// renders is ignored): no fixed sleep decides anything.
    pub fn until<T>(&self, what: &str, act: impl Fn(), done: impl Fn() -> Option<T>) -> T {
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            act();
            let retry = Instant::now() + Duration::from_secs(5);
            while Instant::now() < retry {
                if let Some(v) = done() {
                    return v;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        panic!("timed out waiting for {what}; screen:\n{}", self.screen());
    }

    /// Answers the permission dialog with Enter ("1. Yes"), pressing again
    /// while it stays open.
    pub fn approve(&self) {
        self.wait_screen("the permission dialog", |s| {
            s.contains("Do you want to proceed?")
        });
        self.until(
            "the permission dialog to close",
            || self.keys(&["Enter"]),
            || (!self.screen().contains("Do you want to proceed?")).then_some(()),
        );
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"], None);
    }
}

pub fn get(d: &TestDaemon, id: &str) -> Option<SessionView> {
    d.client()
        .call(method::SESSIONS_GET, json!({"id": id}))
        .ok()
}

pub fn wait_session(
    d: &TestDaemon,
    id: &str,
    what: &str,
    f: impl Fn(&SessionView) -> bool,
) -> SessionView {
    wait_for(what, WAIT, || get(d, id).filter(|s| f(s)))
}

/// Records every status a session passes through, from live notifications.
pub fn record_statuses(d: &TestDaemon) -> Arc<Mutex<Vec<(String, String)>>> {
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

pub fn dedup(statuses: &[(String, String)], id: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (sid, st) in statuses {
        if sid == id && out.last() != Some(st) {
            out.push(st.clone());
        }
    }
    out
}

impl ClaudeUser {
    /// Starts interactive `claude` in a private tmux server, in the project.
    pub fn start_tmux(&self) -> Tmux {
        let script = self.home().join("run-claude.sh");
        let mut text = String::from("#!/bin/sh\nunset CLAUDE_CONFIG_DIR CLAUDECODE AGENTD_HOME\n");
        for (k, v) in self.env() {
            text.push_str(&format!("export {k}={}\n", shlex::try_quote(&v).unwrap()));
        }
        text.push_str(&format!(
            "cd {}\nexec {}\n",
            shlex::try_quote(self.project.to_str().unwrap()).unwrap(),
            shlex::try_quote(claude_bin().to_str().unwrap()).unwrap()
        ));
        std::fs::write(&script, text).unwrap();
        std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let tmux = Tmux::start(&script);
        tmux.wait_screen("the prompt", |s| s.contains('\u{276f}'));
        tmux
    }
}

/// Types a prompt into Claude Code in `tmux` and waits for the permission
/// dialog and the pending approval it causes.
pub fn prompt_until_pending(d: &TestDaemon, tmux: &Tmux, prompt: &str) -> ApprovalView {
    tmux.type_text(prompt);
    tmux.keys(&["Enter"]);
    tmux.wait_screen("the permission dialog", |s| {
        s.contains("Do you want to proceed?")
    });
    wait_for("a pending approval", WAIT, || {
        let out = run(&d.home, &["approvals", "--json"], None);
        let list: Vec<ApprovalView> = serde_json::from_slice(&out.stdout).ok()?;
        list.into_iter().next()
    })
}

/// Waits until the model's next request carries `marker` (a denial message
/// Claude Code passes on as the tool result), and checks the command did
/// not run.
pub fn denial_reaches_the_model(user: &ClaudeUser, marker: &str) {
    wait_for("the message to reach the model", WAIT, || {
        user.fake
            .bodies()
            .iter()
            .any(|b| b.to_string().contains(marker))
            .then_some(())
    });
    assert!(
        !user.project.join("out.txt").exists(),
        "the command did not run"
    );
}
