//! HQ and runners, end to end: real `agentd hq serve` and `agentd serve`
//! processes on loopback, the CLI as a user runs it.

mod support;

use std::path::PathBuf;
use std::process::{Child, Output, Stdio};
use std::time::Duration;

use agentd_proto::api::{EventsList, EventsListParams, Health};
use agentd_proto::hq::{HqSessionView, RunnerView};
use agentd_proto::method;
use serde_json::json;
use support::{TestDaemon, agentd_cmd, wait_for};

/// An `agentd hq serve` in its own root; killed on drop.
struct Hq {
    home: PathBuf,
    _dir: tempfile::TempDir,
    child: Option<Child>,
    addr: String,
}

impl Hq {
    fn start() -> Hq {
        let dir = tempfile::Builder::new().prefix("hq").tempdir().unwrap();
        let mut hq = Hq {
            home: dir.path().join("root"),
            _dir: dir,
            child: None,
            addr: "127.0.0.1:0".into(),
        };
        hq.restart();
        hq
    }

    /// Starts HQ (again, on the same port once it has one).
    fn restart(&mut self) {
        assert!(self.child.is_none());
        let _ = std::fs::remove_file(self.home.join("hq.json"));
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.home.with_extension("log"))
            .unwrap();
        let child = agentd_cmd(&self.home)
            .env("AGENTD_HTTP_LISTEN", &self.addr)
            .args(["hq", "serve"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
        let info = self.home.join("hq.json");
        self.addr = wait_for("HQ to listen", Duration::from_secs(20), || {
            let v: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&info).ok()?).ok()?;
            v["addr"].as_str().map(str::to_owned)
        });
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// `agentd hq …` in HQ's root.
    fn cli(&self, args: &[&str]) -> Output {
        support::run(&self.home, args, None)
    }

    fn token(&self, args: &[&str]) -> String {
        let mut all = vec!["hq", "token", "create"];
        all.extend(args);
        let out = self.cli(&all);
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.home.with_extension("log")).unwrap_or_default()
    }
}

impl Drop for Hq {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!("HQ log:\n{}", self.log());
        }
    }
}

/// A user's CLI call against HQ with `token` in `AGENTD_HQ_TOKEN`.
fn as_user(token: &str, args: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    agentd_cmd(dir.path())
        .env("AGENTD_HQ_TOKEN", token)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn runners(hq: &Hq, token: &str) -> Vec<RunnerView> {
    let out = as_user(token, &["hq", "runners", "--json", "--hq", &hq.url()]);
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

fn runner_config(hq: &Hq, token: &str) -> String {
    format!(
        "[hq]\nurl = \"{}\"\ntoken = \"{token}\"\nlabels = [\"test\"]\n",
        hq.url()
    )
}

fn ingest(d: &TestDaemon, session: &str, event: &str, extra: serde_json::Value) {
    let mut payload = json!({"session_id": session, "hook_event_name": event, "cwd": "/work/p"});
    if let (Some(p), Some(e)) = (payload.as_object_mut(), extra.as_object()) {
        p.extend(e.clone());
    }
    let _: serde_json::Value = d
        .client()
        .call(
            method::HOOK_INGEST,
            json!({"payload": payload, "env": null}),
        )
        .unwrap();
}

fn health(d: &TestDaemon) -> Health {
    d.client().call(method::HEALTH, json!({})).unwrap()
}

/// Every event of a runner's own log: (seq, session, name, payload).
fn own_log(d: &TestDaemon) -> Vec<(u64, String, String, serde_json::Value)> {
    let mut c = d.client();
    let mut after = 0;
    let mut out = Vec::new();
    loop {
        let page: EventsList = c
            .events(&EventsListParams {
                after_seq: after,
                limit: Some(500),
                ..Default::default()
            })
            .unwrap();
        let Some(last) = page.events.last() else {
            return out;
        };
        after = last.seq;
        out.extend(
            page.events
                .into_iter()
                .map(|e| (e.seq, e.session_id, e.name, e.payload)),
        );
    }
}

/// A runner's log as HQ stored it.
fn hq_log(hq: &Hq, runner: &str) -> Vec<(u64, String, String, serde_json::Value)> {
    let store = agentd_hq::store::Store::open(&hq.home.join("hq.db")).unwrap();
    store
        .events(runner, 0, usize::MAX)
        .unwrap()
        .into_iter()
        .map(|e| {
            (
                e.seq,
                e.session_id,
                e.name,
                serde_json::from_str(&e.payload).unwrap(),
            )
        })
        .collect()
}

fn wait_caught_up(hq: &Hq, user: &str, d: &TestDaemon, name: &str) {
    let head = health(d).head_seq;
    wait_for(
        &format!("HQ to hold runner {name}'s log up to seq {head}"),
        Duration::from_secs(60),
        || {
            runners(hq, user)
                .into_iter()
                .find(|r| r.name == name && r.online && r.acked_seq >= head)
        },
    );
}

#[test]
fn two_runners_forward_their_logs_exactly_once_through_an_hq_crash() {
    let mut hq = Hq::start();
    let r1 = hq.token(&["--runner", "laptop"]);
    let r2 = hq.token(&["--runner", "ci-box"]);
    let user = hq.token(&["--user", "ann", "--role", "viewer"]);
    assert!(r1.starts_with("agentd_hq_runner_") && user.starts_with("agentd_hq_user_"));

    let d1 = TestDaemon::with_config(&runner_config(&hq, &r1));
    let d2 = TestDaemon::with_config(&runner_config(&hq, &r2));
    ingest(&d1, "a1", "SessionStart", json!({}));
    ingest(
        &d1,
        "a1",
        "PreToolUse",
        json!({"tool_name": "Bash", "tool_input": {"command": "ls"}}),
    );
    ingest(&d1, "a2", "SessionStart", json!({}));
    ingest(&d1, "a2", "SessionEnd", json!({"reason": "exit"}));
    ingest(&d2, "b1", "UserPromptSubmit", json!({"prompt": "hi"}));
    wait_caught_up(&hq, &user, &d1, "laptop");
    wait_caught_up(&hq, &user, &d2, "ci-box");

    let listed = runners(&hq, &user);
    let laptop = listed.iter().find(|r| r.name == "laptop").unwrap();
    assert_eq!(laptop.labels, vec!["test".to_owned()]);
    assert_eq!(laptop.os.as_deref(), Some(std::env::consts::OS));
    assert_eq!(laptop.sessions, 2);
    let h1 = health(&d1).hq.expect("health shows the link");
    assert!(
        h1.connected && h1.runner.as_deref() == Some("laptop"),
        "{h1:?}"
    );

    // Every machine's sessions, each with its runner and the status the
    // runner itself shows.
    let out = as_user(&user, &["ls", "--json", "--hq", &hq.url()]);
    assert!(out.status.success(), "{out:?}");
    let sessions: Vec<HqSessionView> = serde_json::from_slice(&out.stdout).unwrap();
    let mut seen: Vec<(String, String, String)> = sessions
        .iter()
        .map(|s| {
            (
                s.runner.clone(),
                s.session.session.id.clone(),
                s.session.session.status.as_str().to_owned(),
            )
        })
        .collect();
    seen.sort();
    let own = |d: &TestDaemon, id: &str| {
        let v: agentd_proto::api::SessionView = d
            .client()
            .call(method::SESSIONS_GET, json!({"id": id}))
            .unwrap();
        v.session.status.as_str().to_owned()
    };
    assert_eq!(
        seen,
        vec![
            ("ci-box".into(), "b1".into(), own(&d2, "b1")),
            ("laptop".into(), "a1".into(), own(&d1, "a1")),
            ("laptop".into(), "a2".into(), own(&d1, "a2")),
        ]
    );
    let table = as_user(&user, &["ls", "--hq", &hq.url()]);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.starts_with("RUNNER") && text.contains("ci-box") && !text.contains("a2"),
        "{text}"
    );

    // HQ dies (SIGKILL) while runner 1 keeps ingesting; the runners keep
    // working, dial again by themselves, and HQ ends up with each log
    // exactly as the runner has it.
    let writer = {
        let home = d1.home.clone();
        std::thread::spawn(move || {
            let socket = agentd_client::Paths::resolve(Some(&home)).unwrap().socket;
            let mut c = agentd_client::Client::connect(&socket, Duration::from_secs(10)).unwrap();
            for i in 0..300 {
                let _: serde_json::Value = c
                    .call(
                        method::HOOK_INGEST,
                        json!({"payload": {"session_id": "a1", "hook_event_name": "PostToolUse",
                            "tool_name": "Bash", "tool_response": {"i": i}, "cwd": "/work/p"}, "env": null}),
                    )
                    .unwrap();
            }
        })
    };
    wait_for("some events to be sent", Duration::from_secs(30), || {
        (health(&d1).head_seq > 50).then_some(())
    });
    hq.kill();
    ingest(&d2, "b1", "Stop", json!({}));
    writer.join().unwrap();
    let down = health(&d1);
    assert_eq!(down.status, "ok", "a runner works without HQ");
    wait_for(
        "runner 1 to see the link down",
        Duration::from_secs(60),
        || (!health(&d1).hq?.connected).then_some(()),
    );
    hq.restart();
    wait_caught_up(&hq, &user, &d1, "laptop");
    wait_caught_up(&hq, &user, &d2, "ci-box");
    assert_eq!(hq_log(&hq, "laptop"), own_log(&d1), "no loss, no duplicate");
    assert_eq!(hq_log(&hq, "ci-box"), own_log(&d2), "no loss, no duplicate");
    assert!(health(&d1).hq.unwrap().connects >= 2);
    // Sessions were rebuilt from the stored logs at HQ's restart.
    let status = as_user(&user, &["hq", "status", "--json", "--hq", &hq.url()]);
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["runners"], 2);
    assert_eq!(status["online"], 2);
    assert_eq!(status["sessions"], 3);
}

#[test]
fn tokens_roles_revocation_and_host_checks() {
    let hq = Hq::start();
    let r1 = hq.token(&["--runner", "box"]);
    let user = hq.token(&["--user", "bob", "--role", "approver"]);

    // A user token cannot link a runner; a runner token cannot read HQ.
    let wrong = TestDaemon::with_config(&runner_config(&hq, &user));
    let why = wait_for("the link to be refused", Duration::from_secs(30), || {
        health(&wrong).hq?.last_error
    });
    assert!(why.contains("runner token"), "{why}");
    assert_eq!(health(&wrong).status, "ok");
    drop(wrong);
    let out = as_user(&r1, &["ls", "--hq", &hq.url()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("runner token"),
        "{out:?}"
    );
    let out = as_user("agentd_hq_user_nope", &["hq", "runners", "--hq", &hq.url()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("401"),
        "{out:?}"
    );
    let out = as_user("", &["ls", "--hq", &hq.url()]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");

    // DNS rebinding: another name for this address is refused.
    let (status, _) = raw_get(&hq.addr, "/hq/v1/status", "evil.example", &user);
    assert_eq!(status, 403);
    let (status, body) = raw_get(&hq.addr, "/hq/v1/status", "127.0.0.1", &user);
    assert_eq!(status, 200, "{body}");

    // Revoking a runner's token cuts its link at once and keeps it out.
    let d = TestDaemon::with_config(&runner_config(&hq, &r1));
    wait_for("the runner to link", Duration::from_secs(30), || {
        health(&d).hq.filter(|h| h.connected)
    });
    let list = hq.cli(&["hq", "token", "list", "--json"]);
    let tokens: Vec<serde_json::Value> = serde_json::from_slice(&list.stdout).unwrap();
    let id = tokens
        .iter()
        .find(|t| t["name"] == "box")
        .and_then(|t| t["id"].as_str())
        .unwrap()
        .to_owned();
    assert!(
        !String::from_utf8_lossy(&list.stdout).contains(&r1),
        "token list never shows a secret"
    );
    let out = hq.cli(&["hq", "token", "revoke", &id[..8]]);
    assert!(out.status.success(), "{out:?}");
    let why = wait_for("the link to be cut", Duration::from_secs(15), || {
        let h = health(&d).hq?;
        (!h.connected).then_some(h.last_error.unwrap_or_default())
    });
    assert!(why.contains("revoked"), "{why}");
    let why = wait_for("the runner to be refused", Duration::from_secs(60), || {
        health(&d).hq?.last_error.filter(|e| e.contains("401"))
    });
    assert!(why.contains("unknown or revoked token"), "{why}");
    let listed = runners(&hq, &user);
    assert!(!listed.iter().any(|r| r.online), "{listed:?}");

    // hq.db is private and holds no secret.
    let db = hq.home.join("hq.db");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&db).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let bytes = std::fs::read(&db).unwrap();
    assert!(!String::from_utf8_lossy(&bytes).contains(&user));
}

#[test]
fn runner_join_writes_a_private_config_and_refuses_what_would_leak() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("root");
    let ok = support::run(
        &home,
        &[
            "runner",
            "join",
            "http://127.0.0.1:41970/",
            "--token",
            "agentd_hq_runner_abc",
        ],
        None,
    );
    assert!(ok.status.success(), "{ok:?}");
    let config = home.join("agentd.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    let parsed = agentd_client::Config::parse(&text).unwrap();
    assert_eq!(parsed.hq.url.as_deref(), Some("http://127.0.0.1:41970"));
    assert_eq!(parsed.hq.token.as_deref(), Some("agentd_hq_runner_abc"));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&config).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // `agentd config` never prints the token.
    let shown = support::run(&home, &["config"], None);
    assert!(!String::from_utf8_lossy(&shown.stdout).contains("agentd_hq_runner_abc"));

    for (url, token, says) in [
        ("http://hq.example:1", "agentd_hq_runner_abc", "loopback"),
        ("wss://hq.example", "agentd_hq_runner_abc", "TLS"),
        ("http://127.0.0.1:1", "agentd_hq_user_abc", "runner token"),
    ] {
        let out = support::run(&home, &["runner", "join", url, "--token", token], None);
        assert_eq!(out.status.code(), Some(2), "{url}: {out:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(says),
            "{out:?}"
        );
    }
    // Joining again rewrites, keeping the rest of the file.
    std::fs::write(
        &config,
        format!("# mine\n[daemon]\nlog = \"debug\"\n\n{text}"),
    )
    .unwrap();
    let again = support::run(
        &home,
        &[
            "runner",
            "join",
            "http://localhost:2",
            "--token",
            "agentd_hq_runner_def",
        ],
        None,
    );
    assert!(again.status.success(), "{again:?}");
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(
        text.contains("# mine") && text.contains("log = \"debug\""),
        "{text}"
    );
    assert_eq!(
        agentd_client::Config::parse(&text)
            .unwrap()
            .hq
            .token
            .as_deref(),
        Some("agentd_hq_runner_def")
    );
}

/// One HTTP/1.1 GET with `Host: host`; (status, body).
fn raw_get(addr: &str, path: &str, host: &str, token: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut buf = String::new();
    let _ = s.read_to_string(&mut buf);
    let status = buf
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = buf.split("\r\n\r\n").nth(1).unwrap_or("").to_owned();
    (status, body)
}
