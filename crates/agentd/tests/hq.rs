//! HQ and runners, end to end: real `agentd hq serve` and `agentd serve`
//! processes on loopback, the CLI as a user runs it.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::time::Duration;

use agentd_proto::api::{EventsList, EventsListParams, Health};
use agentd_proto::hq::{HqApprovalView, HqSessionView, RunnerView};
use agentd_proto::method;
use serde_json::json;
use support::{TestDaemon, agentd_cmd, http, wait_for};

/// An `agentd hq serve` in its own root; killed on drop.
struct Hq {
    home: PathBuf,
    _dir: tempfile::TempDir,
    child: Option<Child>,
    addr: String,
    tls: bool,
}

impl Hq {
    fn start() -> Hq {
        Hq::with_config(None)
    }

    /// HQ with `agentd.toml` = `config` in its root.
    fn with_config(config: Option<&str>) -> Hq {
        let dir = tempfile::Builder::new().prefix("hq").tempdir().unwrap();
        let home = dir.path().join("root");
        if let Some(c) = config {
            std::fs::create_dir_all(&home).unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).unwrap();
            std::fs::write(home.join("agentd.toml"), c).unwrap();
        }
        let mut hq = Hq {
            home,
            _dir: dir,
            child: None,
            addr: "127.0.0.1:0".into(),
            tls: config.is_some_and(|c| c.contains("tls = true")),
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
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
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

/// JSON as the CLI prints it, through a `Value` (flattened structs cannot
/// take arbitrary-precision numbers straight from text).
fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> T {
    let v: serde_json::Value = serde_json::from_slice(bytes).unwrap();
    serde_json::from_value(v).unwrap()
}

fn runners(hq: &Hq, token: &str) -> Vec<RunnerView> {
    let out = as_user(token, &["hq", "runners", "--json", "--hq", &hq.url()]);
    assert!(out.status.success(), "{out:?}");
    decode(&out.stdout)
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

/// `agentd doctor --json`'s `hq` check on a runner.
fn doctor_hq(d: &TestDaemon) -> serde_json::Value {
    let out = support::run(&d.home, &["doctor", "--json"], None);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "hq")
        .cloned()
        .unwrap_or_else(|| panic!("no hq check: {v}"))
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

/// A runner's log as HQ stored it (in `hq.db`, or the database).
fn hq_log(
    hq: &Hq,
    runner: &str,
    database: Option<&str>,
) -> Vec<(u64, String, String, serde_json::Value)> {
    let rows = match database {
        None => agentd_hq::store::Store::open(&hq.home.join("hq.db"))
            .unwrap()
            .events(runner, 0, usize::MAX)
            .unwrap(),
        Some(url) => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async {
                let pg = agentd_hq::pg::PgStore::open(url).await.unwrap();
                pg.events(runner, 0, 1_000_000).await.unwrap()
            }),
    };
    rows.into_iter()
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
    forwards_exactly_once_through_an_hq_crash(None);
}

/// The same on PostgreSQL (`[hq] database`), a real server started here.
#[test]
fn on_postgres_two_runners_forward_their_logs_exactly_once_through_an_hq_crash() {
    let pg = support::postgres::Postgres::start();
    forwards_exactly_once_through_an_hq_crash(Some(&pg.url));
}

fn forwards_exactly_once_through_an_hq_crash(database: Option<&str>) {
    let config = database.map(|url| format!("[hq]\ndatabase = \"{url}\"\n"));
    let mut hq = Hq::with_config(config.as_deref());
    assert_eq!(hq.home.join("hq.db").exists(), database.is_none());
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
    let sessions: Vec<HqSessionView> = decode(&out.stdout);
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
    assert_eq!(
        hq_log(&hq, "laptop", database),
        own_log(&d1),
        "no loss, no duplicate"
    );
    assert_eq!(
        hq_log(&hq, "ci-box", database),
        own_log(&d2),
        "no loss, no duplicate"
    );
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
    let auth = format!("Bearer {user}");
    let (status, _) = http(
        &hq.addr,
        "GET /hq/v1/status",
        &[("Host", "evil.example"), ("Authorization", &auth)],
        "",
    );
    assert_eq!(status, 403);
    let (status, body) = http(
        &hq.addr,
        "GET /hq/v1/status",
        &[("Host", "127.0.0.1"), ("Authorization", &auth)],
        "",
    );
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
    // `agentd doctor` on the runner says so, with what to do.
    let check = doctor_hq(&d);
    assert_eq!(check["ok"], false, "{check}");
    assert!(check["detail"].as_str().unwrap().contains("401"), "{check}");
    assert!(
        check["fix"].as_str().unwrap().contains("runner join"),
        "{check}"
    );

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
    assert_eq!(
        std::fs::metadata(&home).unwrap().permissions().mode() & 0o777,
        0o700,
        "the root it made is private"
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

fn hq_approvals(hq: &Hq, token: &str, all: bool) -> Vec<HqApprovalView> {
    let mut args = vec!["approvals", "--json", "--hq"];
    let url = hq.url();
    args.push(&url);
    if all {
        args.push("--all");
    }
    let out = as_user(token, &args);
    assert!(out.status.success(), "{out:?}");
    decode(&out.stdout)
}

#[test]
fn an_approval_held_on_a_runner_is_decided_at_hq_first_decision_wins_and_it_is_audited() {
    let hq = Hq::start();
    let r1 = hq.token(&["--runner", "box"]);
    let viewer = hq.token(&["--user", "val", "--role", "viewer"]);
    let approver = hq.token(&["--user", "ann", "--role", "approver"]);
    let d = TestDaemon::with_config(&runner_config(&hq, &r1));
    wait_for("the runner to link", Duration::from_secs(30), || {
        health(&d).hq.filter(|h| h.connected)
    });

    let request = json!({"session_id": "s1", "hook_event_name": "PermissionRequest", "cwd": "/tmp",
        "tool_name": "Bash", "tool_input": {"command": "git push origin main"}});
    let hook = support::spawn_hook(&d.home, request.to_string().as_bytes(), &[]);
    let pending = wait_for("HQ to show the approval", Duration::from_secs(30), || {
        hq_approvals(&hq, &viewer, false).into_iter().next()
    });
    assert_eq!(pending.runner, "box");
    assert_eq!(
        pending.approval.approval.tool_input["command"],
        "git push origin main"
    );
    let id = pending.approval.approval.id.clone();

    // A viewer cannot decide.
    let out = as_user(&viewer, &["approve", &id, "--hq", &hq.url()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("403"),
        "{out:?}"
    );
    // An approver can, by a prefix; the held hook call gets the answer.
    let out = as_user(
        &approver,
        &[
            "deny",
            &id[..10],
            "--hq",
            &hq.url(),
            "-m",
            "not from HQ, not on main",
        ],
    );
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("denied on box"),
        "{out:?}"
    );
    let hook = hook.wait_with_output().unwrap();
    let answer: serde_json::Value = serde_json::from_slice(&hook.stdout).unwrap();
    assert_eq!(
        answer["hookSpecificOutput"]["decision"],
        json!({"behavior": "deny", "message": "not from HQ, not on main"})
    );
    let own: agentd_proto::api::ApprovalView = d
        .client()
        .call(method::APPROVALS_GET, json!({"id": id}))
        .unwrap();
    assert_eq!(own.approval.status.as_str(), "denied");
    assert_eq!(own.approval.decided_by.as_deref(), Some("hq:ann"));
    // The first decision won: a second one is a conflict naming it.
    wait_for("HQ to learn the outcome", Duration::from_secs(30), || {
        hq_approvals(&hq, &viewer, false).is_empty().then_some(())
    });
    let out = as_user(&approver, &["approve", &id, "--hq", &hq.url()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("409") && err.contains("hq:ann"), "{err}");
    // Unknown ids and offline runners say so.
    let out = as_user(&approver, &["approve", "nope", "--hq", &hq.url()]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("404"),
        "{out:?}"
    );
    let hook = support::spawn_hook(
        &d.home,
        json!({"session_id": "s2", "hook_event_name": "PermissionRequest", "cwd": "/tmp",
            "tool_name": "Bash", "tool_input": {"command": "ls"}})
        .to_string()
        .as_bytes(),
        &[],
    );
    let second = wait_for(
        "HQ to show the second approval",
        Duration::from_secs(30),
        || hq_approvals(&hq, &viewer, false).into_iter().next(),
    );
    let mut d = d;
    d.kill();
    let out = as_user(
        &approver,
        &["approve", &second.approval.approval.id, "--hq", &hq.url()],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("503") || err.contains("offline"), "{err}");
    drop(hook);

    // Everything tried through HQ is in its audit log, with who and from where.
    let out = as_user(&viewer, &["hq", "audit", "--json", "--hq", &hq.url()]);
    let audit: Vec<agentd_proto::hq::AuditEntry> = decode(&out.stdout);
    let decided: Vec<_> = audit
        .iter()
        .filter(|e| e.action == "approval.decide")
        .collect();
    assert!(decided.len() >= 3, "{audit:?}");
    assert!(
        decided
            .iter()
            .any(|e| e.user == "val" && e.outcome.contains("viewer")),
        "a refused attempt is audited: {audit:?}"
    );
    let ok = decided.iter().find(|e| e.outcome == "ok: denied").unwrap();
    assert_eq!((ok.user.as_str(), ok.runner.as_str()), ("ann", "box"));
    assert!(
        ok.peer
            .as_deref()
            .is_some_and(|p| p.starts_with("127.0.0.1:"))
    );
}

/// The issue's proof: a real Claude Code session on a runner hits a
/// permission prompt, it shows at HQ, it is approved at HQ, and the tool
/// runs on the runner.
/// The issue's scenario in a real browser: a real Claude Code session on a
/// runner asks for a tool call → HQ shows it (CLI and the web board, with
/// its runner) → approved in HQ's web UI → the tool runs on the runner.
/// Then a shell on the runner through HQ in the same page: HQ is killed and
/// restarted while it is attached, and the page re-attaches by itself and
/// replays the earlier output after a reload.
#[test]
fn a_real_claude_code_prompt_on_a_runner_is_approved_in_hqs_web_ui_and_a_terminal_outlives_an_hq_crash()
 {
    use std::io::{BufRead, BufReader, Write};
    use support::claude::{ClaudeUser, WAIT, prompt_until_pending};
    let mut hq = Hq::start();
    let r1 = hq.token(&["--runner", "workstation"]);
    let operator = hq.token(&["--user", "olga", "--role", "operator"]);
    let d = TestDaemon::with_config(&runner_config(&hq, &r1));
    let user = ClaudeUser::new(&d.home);
    let tmux = user.start_tmux();
    let pending = prompt_until_pending(&d, &tmux, "make a file");
    let id = pending.approval.id.clone();
    let at_hq = wait_for("HQ to show the prompt", WAIT, || {
        hq_approvals(&hq, &operator, false)
            .into_iter()
            .find(|a| a.approval.approval.id == id)
    });
    assert_eq!(at_hq.runner, "workstation");
    assert_eq!(
        at_hq.approval.approval.tool_input["command"],
        "echo hello > out.txt"
    );
    let out = as_user(&operator, &["ls", "--json", "--hq", &hq.url()]);
    assert!(out.status.success(), "{out:?}");
    let sessions: Vec<HqSessionView> = decode(&out.stdout);
    let s = sessions
        .iter()
        .find(|s| s.session.session.id == pending.approval.session_id)
        .unwrap();
    assert_eq!(s.session.session.status.as_str(), "needs_approval");

    let work = tempfile::tempdir().unwrap();
    let driver = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/web/driver.py");
    let artifacts = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/web-artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    assert!(
        Path::new("/usr/bin/chromium").exists(),
        "/usr/bin/chromium is missing: run scripts/test.sh, which installs it"
    );
    let mut browser = std::process::Command::new(support::python())
        .arg(driver)
        .args([
            "hq",
            "--login",
            &hq.url(),
            "--token",
            &operator,
            "--runner",
            "workstation",
            "--session",
            &pending.approval.session_id,
            "--command",
            "echo hello > out.txt",
            "--cwd",
            work.path().to_str().unwrap(),
            "--out",
        ])
        .arg(&artifacts)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the Playwright driver");
    let mut lines = BufReader::new(browser.stdout.take().unwrap()).lines();
    let first: serde_json::Value = match lines.next() {
        Some(Ok(line)) => serde_json::from_str(&line).unwrap(),
        _ => {
            let out = browser.wait_with_output().unwrap();
            panic!(
                "the hq browser scenario failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    };
    // The approval made in the browser reached the runner's held hook.
    tmux.wait_screen("the dialog to close", |s| {
        !s.contains("Do you want to proceed?")
    });
    wait_for("the command to run on the runner", WAIT, || {
        user.project.join("out.txt").exists().then_some(())
    });
    let own: agentd_proto::api::ApprovalView = d
        .client()
        .call(method::APPROVALS_GET, json!({"id": id}))
        .unwrap();
    assert_eq!(own.approval.status.as_str(), "allowed");
    assert_eq!(own.approval.decided_by.as_deref(), Some("hq:olga"));
    let term = first["id"].as_str().unwrap().to_owned();
    assert!(
        first["echoed"]
            .as_str()
            .is_some_and(|e| e.starts_with("hq-")),
        "{first}"
    );

    // HQ dies with the browser attached to the runner's terminal.
    hq.kill();
    hq.restart();
    writeln!(browser.stdin.as_mut().unwrap()).unwrap();
    let second = lines.next();
    let status = browser.wait().unwrap();
    let mut stderr = String::new();
    let _ = std::io::Read::read_to_string(&mut browser.stderr.take().unwrap(), &mut stderr);
    assert!(status.success(), "after HQ's restart: {stderr}");
    assert!(
        second.is_some_and(|l| l.is_ok_and(|l| l.contains("again-"))),
        "{stderr}"
    );
    // The shell ran on the runner, and every step is in the audit log.
    let list: Vec<agentd_proto::api::TerminalView> =
        d.client().call(method::TERMINALS_LIST, json!({})).unwrap();
    assert!(
        list.iter()
            .any(|t| t.id == term && t.cwd == work.path().to_str().unwrap()),
        "{list:?}"
    );
    let out = as_user(&operator, &["hq", "audit", "--json", "--hq", &hq.url()]);
    let audit: Vec<agentd_proto::hq::AuditEntry> = decode(&out.stdout);
    for action in ["approval.decide", "terminal.start", "terminal.attach"] {
        assert!(
            audit.iter().any(|e| e.action == action
                && e.user == "olga"
                && e.outcome.starts_with("ok")
                && e.peer
                    .as_deref()
                    .is_some_and(|p| p.starts_with("127.0.0.1"))),
            "{action} by olga: {audit:?}"
        );
    }
}

/// HQ over TLS: runners pin HQ's CA (copied by `runner join --ca`), users
/// pass it in `AGENTD_HQ_CA`; any other CA, or none, is refused.
#[test]
fn over_tls_runners_and_users_pin_hqs_ca_and_nothing_else_is_trusted() {
    let hq = Hq::with_config(Some("[http]\ntls = true\n"));
    assert!(hq.url().starts_with("https://"));
    let ca = hq.home.join("tls/ca.pem");
    assert!(ca.exists(), "HQ made its CA");
    let r1 = hq.token(&["--runner", "remote"]);
    let user = hq.token(&["--user", "ann", "--role", "viewer"]);

    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("runner");
    let out = support::run(&home, &["runner", "join", &hq.url(), "--token", &r1], None);
    assert_eq!(out.status.code(), Some(2), "TLS needs a CA: {out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--ca"),
        "{out:?}"
    );
    let out = support::run(
        &home,
        &[
            "runner",
            "join",
            &hq.url(),
            "--token",
            &r1,
            "--ca",
            ca.to_str().unwrap(),
        ],
        None,
    );
    assert!(out.status.success(), "{out:?}");
    assert!(home.join("hq-ca.pem").exists());
    let d = TestDaemon::start_in(&home);
    ingest(&d, "t1", "SessionStart", json!({}));
    let h = wait_for("the TLS link", Duration::from_secs(30), || {
        health(&d).hq.filter(|h| h.connected && h.acked_seq >= 1)
    });
    assert!(h.url.starts_with("https://"), "{h:?}");
    let check = doctor_hq(&d);
    assert_eq!(check["ok"], true, "{check}");
    assert!(
        check["detail"]
            .as_str()
            .unwrap()
            .contains("as runner remote"),
        "{check}"
    );

    // A user with the CA reads HQ; without it, or with another CA, not.
    let with_ca = |ca: Option<&Path>| {
        let tmp = tempfile::tempdir().unwrap();
        let mut cmd = agentd_cmd(tmp.path());
        cmd.env("AGENTD_HQ_TOKEN", &user)
            .args(["ls", "--json", "--hq", &hq.url()]);
        if let Some(ca) = ca {
            cmd.env("AGENTD_HQ_CA", ca);
        }
        cmd.output().unwrap()
    };
    let out = with_ca(Some(&ca));
    assert!(out.status.success(), "{out:?}");
    let sessions: Vec<HqSessionView> = decode(&out.stdout);
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0].runner, "remote");
    let out = with_ca(None);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("CA"),
        "{out:?}"
    );
    // Another agentd's CA (a daemon with TLS on makes its own).
    let other = TestDaemon::with_config("[http]\ntls = true\n");
    let other_ca = other.home.join("tls/ca.pem");
    wait_for("the other CA", Duration::from_secs(20), || {
        other_ca.exists().then_some(())
    });
    let out = with_ca(Some(&other_ca));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("TLS"),
        "{out:?}"
    );
    // A runner pinning the wrong CA never links.
    let wrong = TestDaemon::with_config(&format!(
        "[hq]\nurl = \"{}\"\ntoken = \"{r1}\"\nca = \"{}\"\n",
        hq.url(),
        other_ca.display()
    ));
    let why = wait_for(
        "the wrong CA to be refused",
        Duration::from_secs(30),
        || health(&wrong).hq?.last_error,
    );
    assert!(why.contains("TLS"), "{why}");
    // Plain text to a TLS HQ does not get through either.
    let out = as_user(&user, &["ls", "--hq", &format!("http://{}", hq.addr)]);
    assert_ne!(out.status.code(), Some(0), "{out:?}");
}

/// Team scale: two HQ processes on one PostgreSQL serve the same runners.
/// Each sees every runner and session; a decision made at one reaches a
/// runner linked to the other (routed by LISTEN/NOTIFY); a token revoked
/// through one cuts a link held by the other.
#[test]
fn two_hqs_on_one_postgres_see_everything_and_route_decisions_to_each_others_runners() {
    let pg = support::postgres::Postgres::start();
    let config = format!("[hq]\ndatabase = \"{}\"\n", pg.url);
    let a = Hq::with_config(Some(&config));
    let b = Hq::with_config(Some(&config));
    assert!(!a.home.join("hq.db").exists(), "the state is in PostgreSQL");
    let r1 = a.token(&["--runner", "one"]);
    let r2 = b.token(&["--runner", "two"]);
    let user = a.token(&["--user", "ann", "--role", "approver"]);
    let d1 = TestDaemon::with_config(&runner_config(&a, &r1));
    let d2 = TestDaemon::with_config(&runner_config(&b, &r2));
    ingest(&d1, "s1", "SessionStart", json!({}));
    ingest(&d2, "s2", "SessionStart", json!({}));
    for hq in [&a, &b] {
        wait_for(
            "both runners online at each HQ",
            Duration::from_secs(30),
            || {
                let r = runners(hq, &user);
                (r.len() == 2 && r.iter().all(|r| r.online && r.sessions == 1)).then_some(())
            },
        );
        let out = as_user(&user, &["ls", "--json", "--hq", &hq.url()]);
        let sessions: Vec<HqSessionView> = decode(&out.stdout);
        let mut seen: Vec<_> = sessions.iter().map(|s| s.runner.clone()).collect();
        seen.sort();
        assert_eq!(seen, ["one", "two"]);
    }

    // Runner one is linked to A; its approval is decided at B.
    let request = json!({"session_id": "s1", "hook_event_name": "PermissionRequest", "cwd": "/tmp",
        "tool_name": "Bash", "tool_input": {"command": "make deploy"}});
    let hook = support::spawn_hook(&d1.home, request.to_string().as_bytes(), &[]);
    let pending = wait_for(
        "B to show runner one's approval",
        Duration::from_secs(30),
        || hq_approvals(&b, &user, false).into_iter().next(),
    );
    assert_eq!(pending.runner, "one");
    let out = as_user(
        &user,
        &["approve", &pending.approval.approval.id, "--hq", &b.url()],
    );
    assert!(out.status.success(), "{out:?}");
    let hook = hook.wait_with_output().unwrap();
    let answer: serde_json::Value = serde_json::from_slice(&hook.stdout).unwrap();
    assert_eq!(
        answer["hookSpecificOutput"]["decision"]["behavior"],
        "allow"
    );
    let own: agentd_proto::api::ApprovalView = d1
        .client()
        .call(
            method::APPROVALS_GET,
            json!({"id": pending.approval.approval.id}),
        )
        .unwrap();
    assert_eq!(own.approval.decided_by.as_deref(), Some("hq:ann"));

    // A terminal on runner two (linked to B), started and attached through
    // A: A reaches B (registered in PostgreSQL, signed with the shared
    // secret), B has runner two dial back, and the bytes pass both HQs.
    let operator = a.token(&["--user", "olga", "--role", "operator"]);
    let work = tempfile::tempdir().unwrap();
    let (status, body) = http(
        &a.addr,
        &format!("POST {}", agentd_proto::hq::terminals_path("two")),
        &[
            ("Authorization", &format!("Bearer {operator}")),
            ("Content-Type", "application/json"),
            ("Host", "127.0.0.1"),
        ],
        &json!({"kind": "shell", "cwd": work.path()}).to_string(),
    );
    assert_eq!(status, 200, "{body}");
    let t: agentd_proto::hq::HqTerminalView = serde_json::from_str(&body).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut ws = TermSocket::open(&a, &operator, "two", &t.terminal.id, None).await;
        ws.type_line("echo across-$((20+3))").await;
        ws.read_until("across-23").await;
        // Another HQ cannot be impersonated: the peer route needs the
        // shared secret.
        let mut req =
            tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
                format!(
                    "ws://{}/hq/v1/peer/terminal?runner=two&id={}",
                    b.addr, t.terminal.id
                ),
            )
            .unwrap();
        req.headers_mut().insert(
            "Authorization",
            format!("Bearer {operator}").parse().unwrap(),
        );
        let err = tokio_tungstenite::connect_async(req).await.unwrap_err();
        assert!(err.to_string().contains("401"), "{err}");
    });
    // An answer too large for a NOTIFY (PostgreSQL's limit is 8 000 bytes)
    // still crosses HQs: terminals in a deep directory, listed through A.
    let mut deep = work.path().to_path_buf();
    for i in 0..12 {
        deep.push(format!("{i}{}", "d".repeat(200)));
    }
    std::fs::create_dir_all(&deep).unwrap();
    for _ in 0..3 {
        let (status, body) = http(
            &a.addr,
            &format!("POST {}", agentd_proto::hq::terminals_path("two")),
            &[
                ("Authorization", &format!("Bearer {operator}")),
                ("Content-Type", "application/json"),
                ("Host", "127.0.0.1"),
            ],
            &json!({"kind": "shell", "cwd": deep}).to_string(),
        );
        assert_eq!(status, 200, "{body}");
    }
    let (status, body) = http(
        &a.addr,
        &format!("GET {}", agentd_proto::hq::terminals_path("two")),
        &[
            ("Authorization", &format!("Bearer {operator}")),
            ("Host", "127.0.0.1"),
        ],
        "",
    );
    assert_eq!(status, 200, "{body}");
    assert!(
        body.len() > 8_000,
        "the answer must exceed a NOTIFY: {}",
        body.len()
    );
    let listed: Vec<agentd_proto::hq::HqTerminalView> = serde_json::from_str(&body).unwrap();
    assert_eq!(listed.len(), 4);

    // Revoked through B, runner one's link at A is cut.
    let list = b.cli(&["hq", "token", "list", "--json"]);
    let tokens: Vec<serde_json::Value> = serde_json::from_slice(&list.stdout).unwrap();
    let id = tokens
        .iter()
        .find(|t| t["name"] == "one")
        .and_then(|t| t["id"].as_str())
        .unwrap()
        .to_owned();
    let out = b.cli(&["hq", "token", "revoke", &id]);
    assert!(out.status.success(), "{out:?}");
    let why = wait_for("A to cut runner one", Duration::from_secs(15), || {
        let h = health(&d1).hq?;
        (!h.connected).then_some(h.last_error.unwrap_or_default())
    });
    assert!(why.contains("revoked"), "{why}");
}

/// Launch anywhere: an operator starts the real Claude Code on a runner
/// through HQ; its permission request is answered at HQ; lesser roles
/// cannot launch, and the launch is audited.
#[test]
fn an_operator_launches_claude_code_on_a_runner_through_hq() {
    use support::claude::{ClaudeUser, WAIT};
    let hq = Hq::start();
    let r1 = hq.token(&["--runner", "gpu-box"]);
    let operator = hq.token(&["--user", "olga", "--role", "operator"]);
    let approver = hq.token(&["--user", "ann", "--role", "approver"]);
    let root = tempfile::Builder::new().prefix("agd").tempdir().unwrap();
    std::fs::write(root.path().join("agentd.toml"), runner_config(&hq, &r1)).unwrap();
    let user = ClaudeUser::without_hooks(root.path());
    let d = TestDaemon::start_with_env(root.path(), user.daemon_env());
    wait_for("the runner to link", Duration::from_secs(30), || {
        health(&d).hq.filter(|h| h.connected)
    });
    let project = user.project.to_str().unwrap();
    let args = [
        "launch",
        "--runner",
        "gpu-box",
        "--hq",
        &hq.url(),
        "--cwd",
        project,
        "make a file",
    ];
    let out = as_user(&approver, &args);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("403"),
        "{out:?}"
    );
    let out = as_user(&operator, &args);
    assert!(out.status.success(), "{out:?}");
    let id = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert_eq!(id.len(), 36, "a session id: {id}");

    // Its can_use_tool request reaches HQ and is approved there.
    let pending = wait_for("the launched session's approval at HQ", WAIT, || {
        hq_approvals(&hq, &approver, false)
            .into_iter()
            .find(|a| a.approval.approval.session_id == id)
    });
    assert_eq!(pending.runner, "gpu-box");
    let out = as_user(
        &approver,
        &["approve", &pending.approval.approval.id, "--hq", &hq.url()],
    );
    assert!(out.status.success(), "{out:?}");
    wait_for("the command to run on the runner", WAIT, || {
        user.project.join("out.txt").exists().then_some(())
    });
    let out = as_user(&operator, &["hq", "audit", "--json", "--hq", &hq.url()]);
    let audit: Vec<agentd_proto::hq::AuditEntry> = decode(&out.stdout);
    let launched: Vec<_> = audit
        .iter()
        .filter(|e| e.action == "session.launch")
        .collect();
    assert_eq!(launched.len(), 2, "{audit:?}");
    assert!(
        launched
            .iter()
            .any(|e| e.user == "olga" && e.outcome == format!("ok: {id}"))
    );
    assert!(
        launched
            .iter()
            .any(|e| e.user == "ann" && e.outcome.contains("operator"))
    );
    // The session's tokens and cost, as the runner's own index reports
    // them, are HQ's usage too.
    let own = wait_for("the runner to index the session's usage", WAIT, || {
        let out = support::run(&d.home, &["usage", "--json"], None);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
        (v["totals"]["total_tokens"].as_u64()? > 0).then_some(v)
    });
    let out = as_user(&operator, &["usage", "--json", "--hq", &hq.url()]);
    assert!(out.status.success(), "{out:?}");
    let at_hq: agentd_proto::hq::HqUsage = decode(&out.stdout);
    let own_totals: agentd_proto::history::UsageRow =
        serde_json::from_value(own["totals"].clone()).unwrap();
    assert_eq!(at_hq.totals, own_totals, "HQ's totals are the runner's");
    assert_eq!(at_hq.rows.len(), own["rows"].as_array().unwrap().len());
    assert_eq!(at_hq.runners.len(), 1);
    assert_eq!(at_hq.runners[0].runner, "gpu-box");
    assert_eq!(at_hq.runners[0].totals.as_ref(), Some(&own_totals));
    let out = as_user(&operator, &["usage", "model", "--hq", &hq.url()]);
    assert!(out.status.success(), "{out:?}");
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("claude-"), "{table}");
    // Ended from HQ by an operator (an approver may not); the runner ends
    // its process group and HQ sees the session end.
    let out = as_user(&approver, &["kill", &id[..8], "--hq", &hq.url()]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("403"),
        "{out:?}"
    );
    let out = as_user(&operator, &["kill", &id[..8], "--hq", &hq.url()]);
    assert!(out.status.success(), "{out:?}");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains(&format!("{id} on gpu-box: stopped")),
        "{said}"
    );
    wait_for("HQ to see the session end", WAIT, || {
        let out = as_user(&operator, &["ls", "--all", "--json", "--hq", &hq.url()]);
        let sessions: Vec<HqSessionView> = serde_json::from_slice::<serde_json::Value>(&out.stdout)
            .ok()
            .and_then(|v| serde_json::from_value(v).ok())?;
        sessions
            .into_iter()
            .find(|s| s.session.session.id == id && s.session.session.status.as_str() == "ended")
    });
    let out = as_user(&operator, &["hq", "audit", "--json", "--hq", &hq.url()]);
    let audit: Vec<agentd_proto::hq::AuditEntry> = decode(&out.stdout);
    assert!(
        audit
            .iter()
            .any(|e| e.action == "session.kill" && e.user == "olga" && e.outcome == "ok"),
        "{audit:?}"
    );
    assert!(
        audit.iter().any(|e| e.action == "session.kill"
            && e.user == "ann"
            && e.outcome.contains("operator")),
        "{audit:?}"
    );
    // An offline runner says so.
    let mut d = d;
    d.kill();
    wait_for("HQ to see the runner go", Duration::from_secs(30), || {
        runners(&hq, &operator)
            .iter()
            .all(|r| !r.online)
            .then_some(())
    });
    let out = as_user(&operator, &args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("503") && err.contains("offline"), "{err}");
    // Its usage is left out, and the report says why.
    let out = as_user(&operator, &["usage", "--hq", &hq.url()]);
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("not counted: gpu-box: runner gpu-box is offline"),
        "{out:?}"
    );
}

/// A hostile or broken runner (a leaked runner token) cannot hurt HQ: bad
/// frames, a wrong order, another runner's name, an oversized frame and
/// sequence numbers that go backwards are each refused with a reason, and
/// HQ goes on serving the good runner beside them.
#[test]
fn bad_runner_frames_are_refused_and_hq_keeps_serving() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let hq = Hq::start();
    let good = hq.token(&["--runner", "good"]);
    let evil = hq.token(&["--runner", "evil"]);
    let user = hq.token(&["--user", "ann", "--role", "viewer"]);
    let d = TestDaemon::with_config(&runner_config(&hq, &good));
    wait_for("the good runner to link", Duration::from_secs(30), || {
        health(&d).hq.filter(|h| h.connected)
    });
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let addr = hq.addr.clone();
    // Sends `frames` on a fresh link and returns the error HQ answers with.
    let attempt = |frames: Vec<Message>| -> String {
        rt.block_on(async {
            let mut req = format!("ws://{addr}{}", agentd_proto::hq::RUNNER_PATH)
                .into_client_request()
                .unwrap();
            req.headers_mut()
                .insert("Authorization", format!("Bearer {evil}").parse().unwrap());
            let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
            for f in frames {
                if ws.send(f).await.is_err() {
                    break;
                }
            }
            let mut said = String::new();
            let deadline = tokio::time::sleep(Duration::from_secs(20));
            tokio::pin!(deadline);
            loop {
                tokio::select! {
                    _ = &mut deadline => return format!("no answer; heard {said}"),
                    m = ws.next() => match m {
                        Some(Ok(Message::Text(t))) => {
                            let v: serde_json::Value = serde_json::from_str(t.as_str()).unwrap();
                            if v["type"] == "error" {
                                return v["message"].as_str().unwrap_or("").to_owned();
                            }
                            said.push_str(t.as_str());
                        }
                        Some(Ok(_)) => {}
                        // Closed without a word (an oversized frame).
                        _ => return format!("closed; heard {said}"),
                    },
                }
            }
        })
    };
    let hello = |runner: Option<&str>| {
        Message::Text(
            json!({"type": "hello", "runner": runner, "version": "x", "os": "y", "head_seq": 100})
                .to_string()
                .into(),
        )
    };
    let events = |seqs: &[u64]| {
        let events: Vec<serde_json::Value> = seqs
            .iter()
            .map(|s| {
                json!({"seq": s, "ts": "", "ts_ms": 1, "session_id": "x", "agent": "claude",
                "source": "hook", "name": "SessionStart", "kind": "", "payload": {"session_id": "x",
                "hook_event_name": "SessionStart"}, "env": {}})
            })
            .collect();
        Message::Text(
            json!({"type": "events", "events": events})
                .to_string()
                .into(),
        )
    };
    let why = attempt(vec![Message::Text("{not json".into())]);
    assert!(why.contains("not a runner message"), "{why}");
    let why = attempt(vec![events(&[1])]);
    assert!(why.contains("first message must be a hello"), "{why}");
    let why = attempt(vec![hello(Some("good"))]);
    assert!(why.contains("this token is runner \"evil\""), "{why}");
    let why = attempt(vec![Message::Binary(vec![0u8; 16].into())]);
    assert!(why.contains("binary"), "{why}");
    let why = attempt(vec![hello(None), hello(None)]);
    assert!(why.contains("hello twice"), "{why}");
    let why = attempt(vec![
        hello(None),
        Message::Text(
            "x".repeat(agentd_proto::hq::MAX_LINK_FRAME_BYTES + 1)
                .into(),
        ),
    ]);
    assert!(why.starts_with("closed"), "{why}");
    // Sequence numbers that go back are not stored twice or out of order.
    let why = attempt(vec![
        hello(None),
        events(&[5, 6]),
        events(&[3, 6, 7]),
        Message::Text("{}".into()),
    ]);
    assert!(why.contains("not a runner message"), "{why}");
    let store = agentd_hq::store::Store::open(&hq.home.join("hq.db")).unwrap();
    let seqs: Vec<u64> = store
        .events("evil", 0, 100)
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(seqs, [5, 6, 7]);

    // The good runner never noticed.
    ingest(&d, "g1", "SessionStart", json!({}));
    wait_caught_up(&hq, &user, &d, "good");
    assert_eq!(health(&d).hq.unwrap().connects, 1);
}

/// HQ's GraphQL face: every runner's sessions and approvals in one
/// schema (the runner's own types), a decision by mutation, roles and
/// tokens enforced with stable error codes.
#[test]
fn graphql_at_hq_reads_every_runner_and_decides_within_roles() {
    let hq = Hq::start();
    let r1 = hq.token(&["--runner", "one"]);
    let viewer = hq.token(&["--user", "val", "--role", "viewer"]);
    let approver = hq.token(&["--user", "ann", "--role", "approver"]);
    let d = TestDaemon::with_config(&runner_config(&hq, &r1));
    ingest(&d, "s1", "SessionStart", json!({}));
    let request = json!({"session_id": "s1", "hook_event_name": "PermissionRequest", "cwd": "/tmp",
        "tool_name": "Bash", "tool_input": {"command": "terraform apply"}});
    let hook = support::spawn_hook(&d.home, request.to_string().as_bytes(), &[]);
    let post = |token: &str, body: &serde_json::Value| {
        let auth = format!("Bearer {token}");
        http(
            &hq.addr,
            &format!("POST {}", agentd_proto::hq::GRAPHQL_PATH),
            &[
                ("Host", "127.0.0.1"),
                ("Authorization", &auth),
                ("Content-Type", "application/json"),
            ],
            &body.to_string(),
        )
    };
    let gql = |token: &str, query: &str, variables: serde_json::Value| {
        let (status, body) = post(token, &json!({"query": query, "variables": variables}));
        (
            status,
            serde_json::from_str::<serde_json::Value>(&body).unwrap_or(json!(body)),
        )
    };
    let q = "{ status { runners online sessions } runners { name online labels sessions }
        sessions { runner session { id status cwd } }
        approvals { runner approval { id toolName toolInput status } } }";
    let data = wait_for(
        "the pending approval in GraphQL",
        Duration::from_secs(30),
        || {
            let (status, v) = gql(&viewer, q, json!({}));
            assert_eq!(status, 200, "{v}");
            (v["data"]["approvals"].as_array()?.len() == 1).then_some(v["data"].clone())
        },
    );
    assert_eq!(data["status"]["runners"], 1);
    assert_eq!(data["runners"][0]["name"], "one");
    assert_eq!(data["runners"][0]["labels"], json!(["test"]));
    assert_eq!(data["sessions"][0]["runner"], "one");
    assert_eq!(data["sessions"][0]["session"]["status"], "needs_approval");
    let a = &data["approvals"][0];
    assert_eq!(a["approval"]["toolInput"]["command"], "terraform apply");
    let id = a["approval"]["id"].as_str().unwrap().to_owned();
    // Usage across runners: each runner accounted for (counted, or why not).
    let (_, v) = gql(
        &viewer,
        "{ usage(groupBy: DAILY, timezone: \"UTC\") { timezone totals { totalTokens } runners { runner totals { totalTokens } error } } }",
        json!({}),
    );
    let runners_usage = v["data"]["usage"]["runners"].as_array().unwrap();
    assert_eq!(runners_usage.len(), 1, "{v}");
    assert_eq!(runners_usage[0]["runner"], "one");
    assert!(
        !runners_usage[0]["totals"].is_null() || runners_usage[0]["error"].is_string(),
        "{v}"
    );
    // Steering needs an operator; a session that agentd did not launch is
    // refused by its runner, naming why.
    let steer = "mutation($s: String!) { steer(session: $s, action: KILL) { runner result } }";
    let (_, v) = gql(&viewer, steer, json!({"s": "s1"}));
    assert_eq!(v["errors"][0]["extensions"]["code"], "FORBIDDEN", "{v}");
    let operator = hq.token(&["--user", "olga", "--role", "operator"]);
    let (_, v) = gql(&operator, steer, json!({"s": "s1"}));
    let why = v["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(why.contains("launch"), "{v}");

    let decide = "mutation($id: String!) { decide(id: $id, decision: {behavior: DENY, message: \"not today\"}) { runner approval { status decidedBy } } }";
    let (_, v) = gql(&viewer, decide, json!({"id": id}));
    assert_eq!(v["errors"][0]["extensions"]["code"], "FORBIDDEN", "{v}");
    let (_, v) = gql(&approver, decide, json!({"id": id}));
    assert_eq!(v["data"]["decide"]["approval"]["status"], "denied", "{v}");
    assert_eq!(v["data"]["decide"]["approval"]["decidedBy"], "hq:ann");
    let hook = hook.wait_with_output().unwrap();
    let answer: serde_json::Value = serde_json::from_slice(&hook.stdout).unwrap();
    assert_eq!(
        answer["hookSpecificOutput"]["decision"]["message"],
        "not today"
    );
    let (_, v) = gql(&approver, decide, json!({"id": id}));
    assert_eq!(v["errors"][0]["extensions"]["code"], "CONFLICT", "{v}");
    let (_, v) = gql(&r1, q, json!({}));
    assert_eq!(
        v["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "a runner token reads nothing: {v}"
    );
    let (status, _) = gql("agentd_hq_user_forged", q, json!({}));
    assert_eq!(status, 401);
    let (status, _) = post(&viewer, &json!("nope"));
    assert_eq!(status, 400);
}

/// GraphQL subscriptions at HQ: one WebSocket streams every runner's
/// events as HQ stores them; without a live user token the connection is
/// refused before any subscription starts.
#[test]
fn a_graphql_subscription_at_hq_streams_every_runners_events() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let hq = Hq::start();
    let r1 = hq.token(&["--runner", "one"]);
    let r2 = hq.token(&["--runner", "two"]);
    let viewer = hq.token(&["--user", "val", "--role", "viewer"]);
    let d1 = TestDaemon::with_config(&runner_config(&hq, &r1));
    let d2 = TestDaemon::with_config(&runner_config(&hq, &r2));
    for d in [&d1, &d2] {
        wait_for("the runner to link", Duration::from_secs(30), || {
            health(d).hq.filter(|h| h.connected)
        });
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let url = format!("ws://{}{}", hq.addr, agentd_proto::hq::GRAPHQL_PATH);
    let open = || {
        let mut req = url.as_str().into_client_request().unwrap();
        req.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            "graphql-transport-ws".parse().unwrap(),
        );
        req
    };
    rt.block_on(async {
        // A forged token: no ack, the socket closes.
        let (mut ws, _) = tokio_tungstenite::connect_async(open()).await.unwrap();
        let init = json!({"type": "connection_init", "payload": {"authorization": "Bearer agentd_hq_user_forged"}});
        ws.send(Message::Text(init.to_string().into())).await.unwrap();
        let refused = tokio::time::timeout(Duration::from_secs(20), async {
            loop {
                match ws.next().await {
                    Some(Ok(Message::Text(t))) => assert!(!t.as_str().contains("connection_ack"), "{t}"),
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                    Some(Ok(_)) => {}
                }
            }
        })
        .await;
        assert!(refused.is_ok(), "a forged token must be refused");

        let (mut ws, _) = tokio_tungstenite::connect_async(open()).await.unwrap();
        let init = json!({"type": "connection_init", "payload": {"authorization": format!("Bearer {viewer}")}});
        ws.send(Message::Text(init.to_string().into())).await.unwrap();
        let ack = loop {
            match ws.next().await {
                Some(Ok(Message::Text(t))) => break serde_json::from_str::<serde_json::Value>(t.as_str()).unwrap(),
                Some(Ok(_)) => {}
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(ack["type"], "connection_ack", "{ack}");
        let sub = json!({"id": "1", "type": "subscribe", "payload": {"query":
            "subscription { events { runner event { seq sessionId name } } }"}});
        ws.send(Message::Text(sub.to_string().into())).await.unwrap();
        // Live from now on: ingest on both runners until each is seen.
        let mut seen: std::collections::BTreeMap<String, String> = Default::default();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        let mut n = 0;
        while seen.len() < 2 {
            assert!(tokio::time::Instant::now() < deadline, "saw only {seen:?}");
            n += 1;
            ingest(&d1, &format!("one-{n}"), "SessionStart", json!({}));
            ingest(&d2, &format!("two-{n}"), "SessionStart", json!({}));
            let got = tokio::time::timeout(Duration::from_secs(2), async {
                loop {
                    match ws.next().await {
                        Some(Ok(Message::Text(t))) => {
                            return serde_json::from_str::<serde_json::Value>(t.as_str()).unwrap();
                        }
                        Some(Ok(_)) => {}
                        other => panic!("{other:?}"),
                    }
                }
            })
            .await;
            if let Ok(m) = got {
                assert_eq!(m["type"], "next", "{m}");
                let e = &m["payload"]["data"]["events"];
                let runner = e["runner"].as_str().unwrap().to_owned();
                let session = e["event"]["sessionId"].as_str().unwrap().to_owned();
                assert!(session.starts_with(&runner), "{m}");
                assert_eq!(e["event"]["name"], "SessionStart");
                seen.insert(runner, session);
            }
        }
    });
}

/// A subscriber that does not read while a runner sends more than HQ's
/// live feed holds (4 096 events) still gets every event once, in order:
/// it is caught up from HQ's store, never cut off.
#[test]
fn a_subscriber_that_falls_behind_is_caught_up_from_the_store() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let hq = Hq::start();
    let r1 = hq.token(&["--runner", "busy"]);
    let viewer = hq.token(&["--user", "val", "--role", "viewer"]);
    let d = TestDaemon::with_config(&runner_config(&hq, &r1));
    wait_for("the runner to link", Duration::from_secs(30), || {
        health(&d).hq.filter(|h| h.connected)
    });
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut req = format!("ws://{}{}", hq.addr, agentd_proto::hq::GRAPHQL_PATH)
        .into_client_request()
        .unwrap();
    req.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    req.headers_mut()
        .insert("Authorization", format!("Bearer {viewer}").parse().unwrap());
    let mut ws = rt.block_on(async {
        let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
        ws.send(Message::Text(
            json!({"type": "connection_init", "payload": {}})
                .to_string()
                .into(),
        ))
        .await
        .unwrap();
        loop {
            if let Some(Ok(Message::Text(t))) = ws.next().await {
                assert!(t.as_str().contains("connection_ack"), "{t}");
                break;
            }
        }
        let sub = json!({"id": "1", "type": "subscribe", "payload": {"query":
            "subscription { events(runner: \"busy\") { event { seq payload } } }"}});
        ws.send(Message::Text(sub.to_string().into()))
            .await
            .unwrap();
        ws
    });
    // A probe event until the subscription is live, then the burst, unread.
    rt.block_on(async {
        let mut n = 0;
        loop {
            n += 1;
            ingest(&d, &format!("probe-{n}"), "SessionStart", json!({}));
            if let Ok(Some(Ok(Message::Text(_)))) =
                tokio::time::timeout(Duration::from_millis(500), ws.next()).await
            {
                return;
            }
            assert!(n < 60, "the subscription never went live");
        }
    });
    // Big enough (~13 MB of messages) that the socket's buffers cannot
    // hide the lag: HQ's live feed overflows for this subscriber.
    // Large enough that the kernel's socket buffers (several MB, tuned by
    // load) cannot absorb what the live feed (4 096 events) overflows by.
    let burst = 6_000u64;
    let pad = "x".repeat(8_000);
    let mut c = d.client();
    for i in 0..burst {
        let _: serde_json::Value = c
            .call(
                method::HOOK_INGEST,
                json!({"payload": {"session_id": format!("b{}", i % 7), "hook_event_name": "PreToolUse",
                    "tool_name": "Bash", "tool_input": {"i": i, "pad": pad}, "cwd": "/w"}, "env": null}),
            )
            .unwrap();
    }
    let head = health(&d).head_seq;
    let seqs = rt.block_on(async {
        let mut seqs = Vec::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
        while seqs.last().copied().unwrap_or(0) < head {
            let m = tokio::time::timeout_at(deadline, ws.next())
                .await
                .unwrap_or_else(|_| panic!("stopped at {:?} of {head}", seqs.last()));
            if let Some(Ok(Message::Text(t))) = m {
                let v: serde_json::Value = serde_json::from_str(t.as_str()).unwrap();
                assert_eq!(v["type"], "next", "{v}");
                assert!(v["payload"]["errors"].is_null(), "{v}");
                seqs.push(
                    v["payload"]["data"]["events"]["event"]["seq"]
                        .as_u64()
                        .unwrap(),
                );
            }
        }
        seqs
    });
    // Every event after the first delivered one, once, in order.
    let first = seqs[0];
    let expected: Vec<u64> = (first..=head).collect();
    assert_eq!(
        seqs.len() as u64,
        head - first + 1,
        "missing or doubled events"
    );
    assert_eq!(seqs, expected);
    assert!(seqs.len() as u64 >= burst, "{} events", seqs.len());
    assert!(
        hq.log().contains("caught up from the store"),
        "the subscriber never fell behind: the test proved nothing"
    );
}

/// HQ refuses a root or a config other users could have changed (the
/// config names the database HQ trusts).
#[test]
fn hq_refuses_a_root_or_config_others_can_write() {
    use std::os::unix::fs::PermissionsExt;
    let serve = |home: &Path| -> Output {
        let mut child = agentd_cmd(home)
            .args(["hq", "serve"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let exited = wait_for("HQ to refuse", Duration::from_secs(20), || {
            child.try_wait().ok().flatten()
        });
        assert!(!exited.success());
        child.wait_with_output().unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    let open_root = dir.path().join("open");
    std::fs::create_dir(&open_root).unwrap();
    std::fs::set_permissions(&open_root, std::fs::Permissions::from_mode(0o777)).unwrap();
    let out = serve(&open_root);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("refusing"),
        "{out:?}"
    );

    let root = dir.path().join("root");
    std::fs::create_dir(&root).unwrap();
    std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o700)).unwrap();
    let config = root.join("agentd.toml");
    std::fs::write(
        &config,
        "[hq]\ndatabase = \"postgres://evil@127.0.0.1:1/x\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o666)).unwrap();
    let out = serve(&root);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("refusing") && err.contains("agentd.toml"),
        "{err}"
    );
}

/// A runner whose root was replaced (its log starts again at seq 1) is
/// refused, with what to do; an admin forgets HQ's copy (refused while it
/// is linked, and below admin), and the runner links again from the start.
#[test]
fn a_runner_whose_root_was_replaced_links_again_after_an_admin_forgets_it() {
    let hq = Hq::start();
    let r1 = hq.token(&["--runner", "phoenix"]);
    let admin = hq.token(&["--user", "ada", "--role", "admin"]);
    let operator = hq.token(&["--user", "olga", "--role", "operator"]);
    let config = runner_config(&hq, &r1);
    let mut old = TestDaemon::with_config(&config);
    for i in 0..5 {
        ingest(&old, &format!("old-{i}"), "SessionStart", json!({}));
    }
    wait_caught_up(&hq, &admin, &old, "phoenix");
    // Not while it is linked; not below admin.
    let out = as_user(&admin, &["hq", "forget", "phoenix", "--hq", &hq.url()]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("409"),
        "{out:?}"
    );
    old.kill();
    wait_for("HQ to see it go", Duration::from_secs(30), || {
        runners(&hq, &admin).iter().all(|r| !r.online).then_some(())
    });
    let out = as_user(&operator, &["hq", "forget", "phoenix", "--hq", &hq.url()]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("403"),
        "{out:?}"
    );

    // A fresh root with the same token: refused, saying what to do.
    let new = TestDaemon::with_config(&config);
    let why = wait_for(
        "the replaced runner to be refused",
        Duration::from_secs(30),
        || health(&new).hq?.last_error,
    );
    assert!(why.contains("agentd hq forget phoenix"), "{why}");
    let out = as_user(&admin, &["hq", "forget", "phoenix", "--hq", &hq.url()]);
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("5 events"),
        "{out:?}"
    );
    // It links again (after its backoff) and HQ holds its new log only.
    ingest(&new, "new-0", "SessionStart", json!({}));
    wait_caught_up(&hq, &admin, &new, "phoenix");
    assert_eq!(hq_log(&hq, "phoenix", None), own_log(&new));
    let out = as_user(&admin, &["ls", "--json", "--hq", &hq.url()]);
    let sessions: Vec<HqSessionView> = decode(&out.stdout);
    let ids: Vec<&str> = sessions
        .iter()
        .map(|s| s.session.session.id.as_str())
        .collect();
    assert_eq!(ids, ["new-0"]);
}

/// A terminal socket through HQ: its `hello` and the output that follows.
struct TermSocket {
    ws: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    hello: serde_json::Value,
    output: Vec<u8>,
}

impl TermSocket {
    async fn open(hq: &Hq, token: &str, runner: &str, id: &str, from: Option<u64>) -> TermSocket {
        use futures_util::StreamExt;
        use tokio_tungstenite::tungstenite::Message;
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut url = format!(
            "ws://{}{}/attach",
            hq.addr,
            agentd_proto::hq::terminal_path(runner, id)
        );
        if let Some(f) = from {
            url.push_str(&format!("?from={f}"));
        }
        let mut req = url.into_client_request().unwrap();
        req.headers_mut()
            .insert("Authorization", format!("Bearer {token}").parse().unwrap());
        let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
        let hello = loop {
            match ws.next().await {
                Some(Ok(Message::Text(t))) => break serde_json::from_str(t.as_str()).unwrap(),
                Some(Ok(Message::Ping(_))) => {}
                other => panic!("expected the terminal's hello, got {other:?}"),
            }
        };
        TermSocket {
            ws,
            hello,
            output: Vec::new(),
        }
    }

    async fn type_line(&mut self, line: &str) {
        use futures_util::SinkExt;
        self.ws
            .send(tokio_tungstenite::tungstenite::Message::Binary(
                format!("{line}\n").into_bytes().into(),
            ))
            .await
            .unwrap();
    }

    /// Reads output until it holds `needle` (a generous ceiling).
    async fn read_until(&mut self, needle: &str) {
        use futures_util::StreamExt;
        use tokio_tungstenite::tungstenite::Message;
        let found = tokio::time::timeout(Duration::from_secs(30), async {
            while !String::from_utf8_lossy(&self.output).contains(needle) {
                match self.ws.next().await {
                    Some(Ok(Message::Binary(b))) => self.output.extend_from_slice(&b),
                    Some(Ok(_)) => {}
                    other => panic!("the terminal socket ended before {needle:?}: {other:?}"),
                }
            }
        })
        .await;
        assert!(
            found.is_ok(),
            "no {needle:?} in {:?}",
            String::from_utf8_lossy(&self.output)
        );
    }

    /// The offset after the output read so far.
    fn end(&self) -> u64 {
        self.hello["from"].as_u64().unwrap() + self.output.len() as u64
    }
}

/// Browser ⇄ HQ ⇄ runner ⇄ PTY: an operator starts a shell on a runner
/// through HQ, types into it over HQ's WebSocket, survives HQ being killed
/// (the runner keeps the PTY; a re-attach after the restart resumes from
/// the offset it had and can replay the earlier output), several terminals
/// per runner, one writer at a time, and a close ends the process group.
/// Roles hold and every step is audited.
#[test]
fn an_operator_attaches_to_a_runners_terminal_through_hq_across_an_hq_crash() {
    let mut hq = Hq::start();
    let r1 = hq.token(&["--runner", "box"]);
    let operator = hq.token(&["--user", "olga", "--role", "operator"]);
    let viewer = hq.token(&["--user", "val", "--role", "viewer"]);
    let d = TestDaemon::with_config(&runner_config(&hq, &r1));
    wait_for("the runner to link", Duration::from_secs(30), || {
        health(&d).hq.filter(|h| h.connected)
    });
    let work = tempfile::tempdir().unwrap();
    let cwd = work.path().to_str().unwrap();
    let start = |token: &str| {
        http(
            &hq.addr,
            &format!("POST {}", agentd_proto::hq::terminals_path("box")),
            &[
                ("Authorization", &format!("Bearer {token}")),
                ("Content-Type", "application/json"),
                ("Host", "127.0.0.1"),
            ],
            &json!({"kind": "shell", "cwd": cwd}).to_string(),
        )
    };
    let (status, body) = start(&viewer);
    assert_eq!(status, 403, "{body}");
    let (status, body) = start(&operator);
    assert_eq!(status, 200, "{body}");
    let first: agentd_proto::hq::HqTerminalView = serde_json::from_str(&body).unwrap();
    assert_eq!(first.runner, "box");
    let (status, body) = start(&operator);
    assert_eq!(status, 200, "{body}");
    let second: agentd_proto::hq::HqTerminalView = serde_json::from_str(&body).unwrap();
    let (status, body) = http(
        &hq.addr,
        &format!("GET {}", agentd_proto::hq::terminals_path("box")),
        &[
            ("Authorization", &format!("Bearer {viewer}")),
            ("Host", "127.0.0.1"),
        ],
        "",
    );
    assert_eq!(status, 200, "{body}");
    let listed: Vec<agentd_proto::hq::HqTerminalView> = serde_json::from_str(&body).unwrap();
    let ids: Vec<&str> = listed.iter().map(|t| t.terminal.id.as_str()).collect();
    assert!(
        ids.contains(&first.terminal.id.as_str()) && ids.contains(&second.terminal.id.as_str()),
        "{ids:?}"
    );

    // The same through GraphQL: listed for a viewer, not startable by one.
    let gql = |token: &str, query: &str| {
        let (status, body) = http(
            &hq.addr,
            &format!("POST {}", agentd_proto::hq::GRAPHQL_PATH),
            &[
                ("Authorization", &format!("Bearer {token}")),
                ("Content-Type", "application/json"),
                ("Host", "127.0.0.1"),
            ],
            &json!({ "query": query }).to_string(),
        );
        assert_eq!(status, 200, "{body}");
        serde_json::from_str::<serde_json::Value>(&body).unwrap()
    };
    let v = gql(
        &viewer,
        r#"{ terminals(runner: "box") { runner terminal { id kind cwd } } }"#,
    );
    let listed = v["data"]["terminals"].as_array().unwrap();
    assert_eq!(listed.len(), 2, "{v}");
    assert_eq!(listed[0]["terminal"]["kind"], "shell", "{v}");
    let v = gql(
        &viewer,
        r#"mutation { startTerminal(runner: "box", kind: "shell") { terminal { id } } }"#,
    );
    assert_eq!(v["errors"][0]["extensions"]["code"], "FORBIDDEN", "{v}");

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let id = first.terminal.id.clone();
    let offset = rt.block_on(async {
        // A viewer cannot attach; an unknown terminal is a 404 before any
        // upgrade.
        for (token, term, code) in [
            (&viewer, id.as_str(), "403"),
            (&operator, "term_nope", "404"),
        ] {
            let mut req =
                tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
                    format!(
                        "ws://{}{}/attach",
                        hq.addr,
                        agentd_proto::hq::terminal_path("box", term)
                    ),
                )
                .unwrap();
            req.headers_mut()
                .insert("Authorization", format!("Bearer {token}").parse().unwrap());
            let err = tokio_tungstenite::connect_async(req).await.unwrap_err();
            assert!(err.to_string().contains(code), "{err}");
        }
        let mut t = TermSocket::open(&hq, &operator, "box", &id, None).await;
        assert_eq!(t.hello["writer"], json!(true), "{}", t.hello);
        t.type_line("echo hq-$((6*7))").await;
        t.read_until("hq-42").await;
        // A second watcher of the same terminal is not its writer.
        let w = TermSocket::open(&hq, &operator, "box", &id, None).await;
        assert_eq!(w.hello["writer"], json!(false), "{}", w.hello);
        drop(w);
        // The other terminal is its own.
        let mut o = TermSocket::open(&hq, &operator, "box", &second.terminal.id, None).await;
        o.type_line("echo other-$((2+3))").await;
        o.read_until("other-5").await;
        assert!(!String::from_utf8_lossy(&o.output).contains("hq-42"));
        t.end()
    });

    // HQ dies with the terminal attached; the runner keeps the PTY.
    hq.kill();
    hq.restart();
    wait_for("the runner to link again", Duration::from_secs(60), || {
        runners(&hq, &viewer)
            .into_iter()
            .find(|r| r.name == "box" && r.online)
    });
    rt.block_on(async {
        // Resumed where it was: nothing before `offset` again.
        let mut t = TermSocket::open(&hq, &operator, "box", &id, Some(offset)).await;
        assert_eq!(t.hello["from"], json!(offset), "{}", t.hello);
        t.type_line("echo back-$((50+5))").await;
        t.read_until("back-55").await;
        assert!(!String::from_utf8_lossy(&t.output).contains("hq-42"));
        // Re-attached from the start: the earlier output is replayed.
        let mut again = TermSocket::open(&hq, &operator, "box", &id, Some(0)).await;
        again.read_until("back-55").await;
        assert!(String::from_utf8_lossy(&again.output).contains("hq-42"));
    });

    // Closing ends its process group on the runner.
    let pid = first.terminal.pid;
    let (status, body) = http(
        &hq.addr,
        &format!("DELETE {}", agentd_proto::hq::terminal_path("box", &id)),
        &[
            ("Authorization", &format!("Bearer {operator}")),
            ("Host", "127.0.0.1"),
        ],
        "",
    );
    assert_eq!(status, 200, "{body}");
    wait_for("the shell to be gone", Duration::from_secs(30), || {
        (!Path::new(&format!("/proc/{pid}")).exists()
            || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .is_ok_and(|s| s.contains(") Z ")))
        .then_some(())
    });
    let (_, body) = http(
        &hq.addr,
        &format!("GET {}", agentd_proto::hq::terminals_path("box")),
        &[
            ("Authorization", &format!("Bearer {viewer}")),
            ("Host", "127.0.0.1"),
        ],
        "",
    );
    let listed: Vec<agentd_proto::hq::HqTerminalView> = serde_json::from_str(&body).unwrap();
    assert!(listed.iter().all(|t| t.terminal.id != id), "{listed:?}");

    let out = as_user(&operator, &["hq", "audit", "--json", "--hq", &hq.url()]);
    let audit: Vec<agentd_proto::hq::AuditEntry> = decode(&out.stdout);
    let count = |action: &str, user: &str, ok: bool| {
        audit
            .iter()
            .filter(|e| e.action == action && e.user == user && e.outcome.starts_with("ok") == ok)
            .count()
    };
    assert_eq!(count("terminal.start", "olga", true), 2, "{audit:?}");
    assert_eq!(count("terminal.start", "val", false), 2, "{audit:?}");
    assert!(count("terminal.attach", "olga", true) >= 5, "{audit:?}");
    assert_eq!(count("terminal.attach", "val", false), 1, "{audit:?}");
    assert_eq!(count("terminal.close", "olga", true), 1, "{audit:?}");
}

/// HQ's browser sign-in: only from HQ's own origin and with a user token;
/// the cookie alone reads nothing (another local server may receive it),
/// the CSRF key alone neither; revoking the token signs the browser out at
/// once; a restart keeps it signed in (the MAC key is in HQ's root, 0600);
/// the page's assets need nothing and carry the CSP.
#[test]
fn hqs_browser_sign_in_needs_its_origin_its_key_and_a_live_token() {
    let mut hq = Hq::start();
    let runner = hq.token(&["--runner", "r"]);
    let user = hq.token(&["--user", "una", "--role", "viewer"]);
    let origin = format!("http://{}", hq.addr);
    let login = |token: &str, origin: &str| {
        http(
            &hq.addr,
            "POST /hq/login",
            &[
                ("Host", hq.addr.as_str()),
                ("Origin", origin),
                ("Content-Type", "application/json"),
            ],
            &json!({"token": token}).to_string(),
        )
    };
    let (status, body) = login(&user, "http://localhost:3000");
    assert_eq!(status, 403, "another origin: {body}");
    let (status, body) = login(&runner, &origin);
    assert_eq!(status, 403, "a runner token: {body}");
    assert!(body.contains("user token"), "{body}");
    let (status, body) = login("agentd_hq_user_nope", &origin);
    assert_eq!(status, 401, "{body}");
    // The cookie, from the raw response.
    let raw = {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(&hq.addr).unwrap();
        let body = json!({"token": user}).to_string();
        write!(
            s,
            "POST /hq/login HTTP/1.1\r\nHost: {}\r\nOrigin: {origin}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            hq.addr,
            body.len()
        )
        .unwrap();
        let mut r = String::new();
        s.read_to_string(&mut r).unwrap();
        r
    };
    let cookie = raw
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .and_then(|c| c.split(';').next())
        .expect("a cookie")
        .to_owned();
    assert!(raw.contains("HttpOnly; SameSite=Strict"), "{raw}");
    assert!(!cookie.contains(&user), "the cookie holds no token");
    let key: serde_json::Value =
        serde_json::from_str(raw.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    let key = key["csrf"].as_str().unwrap().to_owned();
    // HQ restarts on the same address.
    let addr = hq.addr.clone();
    let read = |headers: &[(&str, &str)]| {
        let mut all = vec![("Host", addr.as_str())];
        all.extend_from_slice(headers);
        http(&addr, "GET /hq/v1/sessions", &all, "").0
    };
    assert_eq!(read(&[("Cookie", &cookie)]), 401, "the cookie alone");
    assert_eq!(read(&[("x-agentd-csrf", &key)]), 401, "the key alone");
    assert_eq!(
        read(&[("Cookie", &cookie), ("x-agentd-csrf", &"0".repeat(64))]),
        401,
        "a wrong key"
    );
    assert_eq!(
        read(&[
            ("Cookie", &cookie),
            ("x-agentd-csrf", &key),
            ("Origin", "http://evil.test")
        ]),
        403,
        "another origin (refused before any sign-in is read)"
    );
    assert_eq!(read(&[("Cookie", &cookie), ("x-agentd-csrf", &key)]), 200);
    // A viewer's page cannot decide.
    let (status, _) = http(
        &hq.addr,
        &format!("POST {}", agentd_proto::hq::decision_path("apr_x")),
        &[
            ("Host", hq.addr.as_str()),
            ("Origin", &origin),
            ("Cookie", &cookie),
            ("x-agentd-csrf", &key),
            ("Content-Type", "application/json"),
        ],
        r#"{"decision":{"behavior":"allow"}}"#,
    );
    assert_eq!(status, 403);
    // Still signed in after a restart; web.key is private.
    hq.kill();
    hq.restart();
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(hq.home.join("web.key"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    assert_eq!(read(&[("Cookie", &cookie), ("x-agentd-csrf", &key)]), 200);
    // Revoking the token signs the browser out.
    let list = hq.cli(&["hq", "token", "list", "--json"]);
    let tokens: Vec<serde_json::Value> = serde_json::from_slice(&list.stdout).unwrap();
    let id = tokens
        .iter()
        .find(|t| t["name"] == "una")
        .and_then(|t| t["id"].as_str())
        .unwrap()
        .to_owned();
    let out = hq.cli(&["hq", "token", "revoke", &id]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(read(&[("Cookie", &cookie), ("x-agentd-csrf", &key)]), 401);
    // The page itself needs nothing, and says what it may load.
    let (status, page) = http(&hq.addr, "GET /", &[("Host", hq.addr.as_str())], "");
    assert_eq!(status, 200);
    assert!(page.contains("/hq.js"), "{page}");
    // Every module the page imports is served (an unknown path would reach
    // the gRPC router and answer `application/grpc`).
    for path in [
        "/hq.js",
        "/ui.js",
        "/terminal-view.js",
        "/vendor/preact.js",
        "/vendor/preact-hooks.js",
        "/vendor/htm.js",
        "/vendor/graphql-ws.js",
        "/vendor/graphql-ws-common.js",
        "/vendor/xterm.js",
        "/vendor/xterm-addon-fit.js",
    ] {
        let (status, body) = http(
            &hq.addr,
            &format!("GET {path}"),
            &[("Host", hq.addr.as_str())],
            "",
        );
        assert_eq!(status, 200, "{path}");
        assert!(
            body.contains("export") || body.contains("import"),
            "{path} is not a module"
        );
    }
}

/// `grpcurl` (a real gRPC client, through server reflection) on HQ's port:
/// every runner's sessions and approvals, an approval decided within
/// roles (the runner's held hook call gets the answer), and the live event
/// stream; no token, no data.
#[test]
fn grpc_at_hq_reads_every_runner_decides_within_roles_and_streams_events() {
    use std::io::{BufRead, BufReader};
    let hq = Hq::start();
    let r1 = hq.token(&["--runner", "box"]);
    let viewer = hq.token(&["--user", "val", "--role", "viewer"]);
    let approver = hq.token(&["--user", "ann", "--role", "approver"]);
    let d = TestDaemon::with_config(&runner_config(&hq, &r1));
    wait_for("the runner to link", Duration::from_secs(30), || {
        health(&d).hq.filter(|h| h.connected)
    });
    let grpcurl = |token: Option<&str>, data: Option<&str>, method: &str| {
        let mut c = std::process::Command::new(support::python().with_file_name("grpcurl"));
        c.arg("-plaintext");
        if let Some(t) = token {
            c.args(["-H", &format!("authorization: Bearer {t}")]);
        }
        if let Some(d) = data {
            c.args(["-d", d]);
        }
        c.arg(&hq.addr).arg(method);
        c
    };
    let out = grpcurl(None, None, "list").output().unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("agentd.hq.v1.HqService"),
        "{out:?}"
    );
    let out = grpcurl(None, None, "agentd.hq.v1.HqService/ListSessions")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Unauthenticated"),
        "{out:?}"
    );
    // The live stream, from before the runner's events arrive.
    let mut watch = grpcurl(Some(&viewer), None, "agentd.hq.v1.HqService/WatchEvents")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = watch.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let mut seen = String::new();
    let mut read_until = |what: &str, mut poke: Box<dyn FnMut() + '_>| {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while !seen.contains(what) {
            assert!(std::time::Instant::now() < deadline, "no {what} in {seen}");
            poke();
            while let Ok(line) = rx.recv_timeout(Duration::from_millis(300)) {
                seen.push_str(&line);
            }
        }
    };
    // The stream is up once a marker event sent after it started arrives
    // (grpcurl first reads the server's reflection).
    read_until(
        "\"g0\"",
        Box::new(|| ingest(&d, "g0", "UserPromptSubmit", json!({"prompt": "hi"}))),
    );
    let request = json!({"session_id": "g1", "hook_event_name": "PermissionRequest", "cwd": "/tmp",
        "tool_name": "Bash", "tool_input": {"command": "make deploy"}});
    let hook = support::spawn_hook(&d.home, request.to_string().as_bytes(), &[]);
    read_until("PermissionRequest", Box::new(|| {}));
    let _ = watch.kill();
    let _ = watch.wait();
    assert!(seen.contains("\"g1\""), "{seen}");
    assert!(seen.contains("\"runner\": \"box\""), "{seen}");

    let pending = wait_for("HQ to show the approval", Duration::from_secs(30), || {
        let out = grpcurl(Some(&viewer), None, "agentd.hq.v1.HqService/ListApprovals")
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
        v["approvals"]
            .as_array()?
            .iter()
            .find(|a| a["approval"]["sessionId"] == "g1")
            .cloned()
    });
    assert_eq!(pending["runner"], "box");
    let id = pending["approval"]["id"].as_str().unwrap().to_owned();
    let out = grpcurl(Some(&viewer), None, "agentd.hq.v1.HqService/ListSessions")
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        v["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["runner"] == "box" && s["session"]["id"] == "g1"),
        "{v}"
    );
    let decide =
        json!({"id": id, "behavior": "BEHAVIOR_DENY", "message": "not via gRPC"}).to_string();
    let out = grpcurl(
        Some(&viewer),
        Some(&decide),
        "agentd.hq.v1.HqService/Decide",
    )
    .output()
    .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("PermissionDenied"),
        "{out:?}"
    );
    let out = grpcurl(
        Some(&approver),
        Some(&decide),
        "agentd.hq.v1.HqService/Decide",
    )
    .output()
    .unwrap();
    assert!(out.status.success(), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["approval"]["status"], "denied", "{v}");
    let hook = hook.wait_with_output().unwrap();
    let answer: serde_json::Value = serde_json::from_slice(&hook.stdout).unwrap();
    assert_eq!(
        answer["hookSpecificOutput"]["decision"],
        json!({"behavior": "deny", "message": "not via gRPC"})
    );
    let out = grpcurl(Some(&viewer), None, "agentd.hq.v1.HqService/ListRunners")
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["runners"][0]["name"], "box", "{v}");
    assert_eq!(v["runners"][0]["online"], true, "{v}");
    // Usage across runners; steering needs an operator.
    let out = grpcurl(
        Some(&viewer),
        Some(r#"{"groupBy": "daily", "timezone": "UTC"}"#),
        "agentd.hq.v1.HqService/Usage",
    )
    .output()
    .unwrap();
    assert!(out.status.success(), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["runners"][0]["runner"], "box", "{v}");
    let out = grpcurl(
        Some(&viewer),
        Some(r#"{"session": "g1", "action": "ACTION_KILL"}"#),
        "agentd.hq.v1.HqService/Steer",
    )
    .output()
    .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("PermissionDenied"),
        "{out:?}"
    );
}

/// `agentd hq token create --runner` without a name: the first runner to
/// link with the token names it by its host name, and the token is that
/// runner's from then on; a second unnamed token on a host of the same
/// name is refused with what to do.
#[test]
fn an_unnamed_runner_token_takes_its_runners_host_name() {
    let hq = Hq::start();
    let viewer = hq.token(&["--user", "val", "--role", "viewer"]);
    let t1 = hq.token(&["--runner"]);
    let t2 = hq.token(&["--runner"]);
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_owned();
    let mut d1 = TestDaemon::with_config(&runner_config(&hq, &t1));
    let linked = wait_for("the runner to link", Duration::from_secs(30), || {
        health(&d1).hq.filter(|h| h.connected)
    });
    assert_eq!(linked.runner.as_deref(), Some(host.as_str()));
    let listed = runners(&hq, &viewer);
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].name, host);
    let list = hq.cli(&["hq", "token", "list", "--json"]);
    let tokens: Vec<serde_json::Value> = serde_json::from_slice(&list.stdout).unwrap();
    let names: Vec<&str> = tokens.iter().filter_map(|t| t["name"].as_str()).collect();
    assert!(
        names.contains(&host.as_str()) && names.contains(&"*"),
        "{names:?}"
    );
    // The same host name again, with the other unnamed token: refused.
    let d2 = TestDaemon::with_config(&runner_config(&hq, &t2));
    let why = wait_for(
        "the second runner to be refused",
        Duration::from_secs(30),
        || {
            health(&d2)
                .hq?
                .last_error
                .filter(|e| e.contains("knows a runner named"))
        },
    );
    assert!(why.contains("--runner OTHER-NAME"), "{why}");
    // The bound token links again as the same runner.
    d1.stop();
    d1.restart();
    wait_for("the runner to link again", Duration::from_secs(30), || {
        health(&d1)
            .hq
            .filter(|h| h.connected && h.runner.as_deref() == Some(host.as_str()))
    });
    assert_eq!(runners(&hq, &viewer).len(), 1);
}
