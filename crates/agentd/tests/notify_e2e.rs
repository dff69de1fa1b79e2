//! "Needs you" notifications from a real daemon to local receivers: a
//! webhook and an ntfy-compatible server get one notification per approval
//! (ntfy's approve button decides it, checked like any decision), a burst
//! is grouped, quiet hours suppress, failures are retried and shown in
//! `health`, and a desktop notification reaches a real `dbus-daemon`
//! session bus.

mod support;

use std::collections::HashMap;
use std::process::Child;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use agentd_proto::api::{ApprovalView, Health};
use agentd_proto::method;
use fake_models::receiver::Receiver;
use serde_json::{Value, json};
use support::{TestDaemon, wait_for};

const WAIT: Duration = Duration::from_secs(30);

fn permission_request(session: &str, command: &str) -> Value {
    json!({"session_id": session, "hook_event_name": "PermissionRequest", "cwd": "/tmp/proj-notify",
        "tool_name": "Bash", "tool_input": {"command": command}})
}

fn hook(d: &TestDaemon, payload: &Value) -> Child {
    support::spawn_hook(&d.home, payload.to_string().as_bytes(), &[])
}

fn health(d: &TestDaemon) -> Health {
    d.client().health().unwrap()
}

fn pending(d: &TestDaemon) -> Vec<ApprovalView> {
    d.client().call(method::APPROVALS_LIST, json!({})).unwrap()
}

fn sink(kind: &str, url: &str, extra: &str) -> String {
    format!("[[notify.sinks]]\nkind = \"{kind}\"\nurl = \"{url}\"\n{extra}\n")
}

#[test]
fn an_approval_reaches_a_webhook_and_ntfy_whose_button_decides_it() {
    let web = Receiver::start(0).unwrap();
    let ntfy = Receiver::start(0).unwrap();
    let d = TestDaemon::with_config(&format!(
        "{}{}",
        sink("webhook", &format!("{}/hook", web.url()), "name = \"team\""),
        sink(
            "ntfy",
            &format!("{}/agentd-alerts", ntfy.url()),
            "headers = { Authorization = \"Bearer tk_1\" }"
        ),
    ));
    let mut held = hook(&d, &permission_request("n1", "rm -rf build"));
    let got = wait_for("the webhook", WAIT, || {
        let r = web.received();
        (!r.is_empty()).then_some(r)
    });
    let body = got[0].json();
    assert_eq!(got[0].path, "/hook");
    assert_eq!(body["reason"], "approval");
    assert_eq!(body["count"], 1);
    assert_eq!(body["title"], "proj-notify: approve Bash?");
    assert_eq!(body["body"], "rm -rf build");
    assert_eq!(body["needs"][0]["session_id"], "n1");
    assert!(
        body["url"]
            .as_str()
            .is_some_and(|u| u.ends_with("/#/session/n1")),
        "{body}"
    );
    let msg = wait_for("ntfy", WAIT, || ntfy.received().into_iter().next());
    assert_eq!(msg.path, "/");
    assert!(
        msg.headers
            .iter()
            .any(|(k, v)| k == "authorization" && v == "Bearer tk_1"),
        "{:?}",
        msg.headers
    );
    let m = msg.json();
    assert_eq!(m["topic"], "agentd-alerts");
    assert_eq!(m["priority"], 4);
    let approve = m["actions"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["label"] == "Approve"))
        .and_then(|x| x["url"].as_str())
        .expect("an Approve action")
        .to_owned();
    // A forged signature is refused, and decides nothing.
    let addr = health(&d).http_addr.unwrap();
    let path = approve.split_once(&addr).unwrap().1;
    let forged = format!("{}{}", &path[..path.len() - 4], "0000");
    let (status, _) = support::http(&addr, &format!("POST {forged}"), &[("Host", &addr)], "");
    assert_eq!(status, 400);
    assert_eq!(pending(&d).len(), 1);
    // The phone's button: a POST of the signed link, no token.
    let (status, text) = support::http(&addr, &format!("POST {path}"), &[("Host", &addr)], "");
    assert_eq!(status, 200, "{text}");
    let out = wait_for("the hook to be released", WAIT, || {
        held.try_wait().ok().flatten()
    });
    assert!(out.success());
    let mut stdout = String::new();
    std::io::Read::read_to_string(held.stdout.as_mut().unwrap(), &mut stdout).unwrap();
    let answer: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        answer["hookSpecificOutput"]["decision"]["behavior"], "allow",
        "{answer}"
    );
    // Used once: the same link again is a conflict, not a second decision.
    let (status, _) = support::http(&addr, &format!("POST {path}"), &[("Host", &addr)], "");
    assert_eq!(status, 409);
    let h = health(&d);
    let team = h.notify.iter().find(|s| s.name == "team").unwrap();
    assert_eq!((team.sent, team.failed), (1, 0));
}

#[test]
fn a_burst_of_fifty_approvals_is_grouped_and_quiet_hours_suppress() {
    let web = Receiver::start(0).unwrap();
    let quiet = Receiver::start(0).unwrap();
    let d = TestDaemon::with_config(&format!(
        "{}{}",
        sink("webhook", &web.url(), "group_ms = 1500"),
        sink(
            "webhook",
            &quiet.url(),
            "name = \"night\"\nquiet_hours = \"00:00-00:00\""
        ),
    ));
    let mut held: Vec<Child> = (0..50)
        .map(|i| {
            hook(
                &d,
                &permission_request(&format!("b{}", i % 5), &format!("make job{i}")),
            )
        })
        .collect();
    let got = wait_for("all 50 to be notified", WAIT, || {
        let r = web.received();
        let n: u64 = r
            .iter()
            .map(|x| x.json()["count"].as_u64().unwrap_or(0))
            .sum();
        (n == 50).then_some(r)
    });
    assert!(got.len() <= 10, "{} notifications for one burst", got.len());
    let grouped = got
        .iter()
        .find(|x| x.json()["count"].as_u64() > Some(1))
        .unwrap()
        .json();
    assert_eq!(grouped["reason"], "grouped");
    assert!(
        grouped["title"]
            .as_str()
            .unwrap()
            .contains("things need you"),
        "{grouped}"
    );
    let h = health(&d);
    let night = h.notify.iter().find(|s| s.name == "night").unwrap();
    assert_eq!((night.sent, night.suppressed), (0, 50));
    assert!(quiet.received().is_empty());
    for c in &mut held {
        let _ = c.kill();
        let _ = c.wait();
    }
}

#[test]
fn a_failing_sink_is_retried_and_a_dead_one_shows_in_health() {
    let flaky = Receiver::start(2).unwrap();
    let d = TestDaemon::with_config(&format!(
        "{}{}",
        sink("webhook", &flaky.url(), "name = \"flaky\""),
        // Nothing listens there.
        sink(
            "webhook",
            "http://127.0.0.1:9",
            "name = \"dead\"\nattempts = 2"
        ),
    ));
    let mut held = hook(&d, &permission_request("f1", "cargo publish"));
    wait_for("the third attempt to land", WAIT, || {
        (flaky.received().len() == 1).then_some(())
    });
    assert_eq!(flaky.attempts(), 3);
    let h = wait_for("the dead sink to give up", WAIT, || {
        let h = health(&d);
        h.notify
            .iter()
            .any(|s| s.name == "dead" && s.failed == 1)
            .then_some(h)
    });
    assert_eq!(h.status, "degraded");
    assert!(
        h.problems.iter().any(|p| p.contains("`dead`")),
        "{:?}",
        h.problems
    );
    let flaky_view = h.notify.iter().find(|s| s.name == "flaky").unwrap();
    assert_eq!((flaky_view.sent, flaky_view.failed), (1, 0));
    let _ = held.kill();
    let _ = held.wait();
}

/// A stand-in for the desktop's notification service on a real session bus.
/// (app, summary, body, actions) of one notification.
type Shown = (String, String, String, Vec<String>);

struct NotificationServer {
    got: Arc<Mutex<Vec<Shown>>>,
}

#[zbus::interface(name = "org.freedesktop.Notifications")]
impl NotificationServer {
    #[allow(clippy::too_many_arguments)]
    fn notify(
        &self,
        app_name: String,
        _replaces_id: u32,
        _app_icon: String,
        summary: String,
        body: String,
        actions: Vec<String>,
        _hints: HashMap<String, zbus::zvariant::OwnedValue>,
        _expire_timeout: i32,
    ) -> u32 {
        let Ok(mut g) = self.got.lock() else { return 0 };
        g.push((app_name, summary, body, actions));
        // Notification ids count from 1.
        g.len() as u32
    }
}

#[test]
fn a_desktop_notification_reaches_the_session_bus_and_its_deny_button_decides() {
    let dir = tempfile::tempdir().unwrap();
    let mut bus = std::process::Command::new("dbus-daemon")
        .args(["--session", "--nofork"])
        .arg(format!(
            "--address=unix:path={}",
            dir.path().join("bus").display()
        ))
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("dbus-daemon (Debian package dbus-daemon; scripts/test.sh installs it)");
    let address = format!("unix:path={}", dir.path().join("bus").display());
    let address_for_intruder = address.clone();
    let got = Arc::new(Mutex::new(Vec::new()));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let addr = address.clone();
    let _conn = wait_for("the session bus", WAIT, || {
        rt.block_on(async {
            zbus::connection::Builder::address(addr.as_str())
                .ok()?
                .name("org.freedesktop.Notifications")
                .ok()?
                .serve_at(
                    "/org/freedesktop/Notifications",
                    NotificationServer {
                        got: Arc::clone(&got),
                    },
                )
                .ok()?
                .build()
                .await
                .ok()
        })
    });
    let root = tempfile::Builder::new().prefix("agd").tempdir().unwrap();
    std::fs::write(
        root.path().join("agentd.toml"),
        "[[notify.sinks]]\nkind = \"desktop\"\nreasons = [\"approval\"]\n",
    )
    .unwrap();
    let d = TestDaemon::start_with_env(
        root.path(),
        vec![("DBUS_SESSION_BUS_ADDRESS".into(), address)],
    );
    let held = hook(&d, &permission_request("dsk", "terraform apply"));
    let (app, summary, body, actions) = wait_for("the desktop notification", WAIT, || {
        got.lock().ok()?.first().cloned()
    });
    assert_eq!(app, "agentd");
    assert_eq!(summary, "proj-notify: approve Bash?");
    assert_eq!(body, "terraform apply");
    assert_eq!(actions, ["allow", "Approve", "deny", "Deny"]);
    // A signal from another connection than the server's is not heeded;
    // the server's own "default" (a click on the body) decides nothing.
    let intruder = rt.block_on(async {
        zbus::connection::Builder::address(address_for_intruder.as_str())
            .unwrap()
            .build()
            .await
            .unwrap()
    });
    for (conn, key) in [(&intruder, "allow"), (&_conn, "default")] {
        rt.block_on(conn.emit_signal(
            None::<()>,
            "/org/freedesktop/Notifications",
            "org.freedesktop.Notifications",
            "ActionInvoked",
            &(1u32, key),
        ))
        .unwrap();
    }
    // The user clicks Deny: the held hook call is answered with the denial.
    rt.block_on(_conn.emit_signal(
        None::<()>,
        "/org/freedesktop/Notifications",
        "org.freedesktop.Notifications",
        "ActionInvoked",
        &(1u32, "deny"),
    ))
    .unwrap();
    let out = held.wait_with_output().unwrap();
    let reply: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out:?}"));
    assert_eq!(
        reply["hookSpecificOutput"]["decision"]["behavior"], "deny",
        "{reply}"
    );
    let all: Vec<ApprovalView> = d
        .client()
        .call(method::APPROVALS_LIST, json!({"all": true}))
        .unwrap();
    let decided = all.iter().find(|a| a.approval.session_id == "dsk").unwrap();
    assert_eq!(
        decided.approval.decided_by.as_deref(),
        Some("desktop"),
        "{decided:?}"
    );
    let _ = bus.kill();
    let _ = bus.wait();
}

#[test]
fn only_a_failed_blocking_check_is_notified() {
    let web = Receiver::start(0).unwrap();
    let d = TestDaemon::with_config(&sink(
        "webhook",
        &web.url(),
        "group_ms = 0\nreasons = [\"check_failed\"]",
    ));
    let p = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(p.path().join(".agentd")).unwrap();
    // The warning-only check fails first; the blocking one a moment later.
    std::fs::write(
        p.path().join(".agentd/hooks.toml"),
        r#"
[[hooks]]
name = "lint"
events = ["Stop"]
command = "echo 'lint: 2 warnings' >&2; exit 1"
blocking = false

[[hooks]]
name = "test"
events = ["Stop"]
command = "sleep 1; echo 'test: 1 failed' >&2; exit 1"
"#,
    )
    .unwrap();
    let cwd = p.path().canonicalize().unwrap();
    let start = json!({"session_id": "chk", "hook_event_name": "SessionStart", "cwd": cwd, "source": "startup"});
    assert!(hook(&d, &start).wait().unwrap().success());
    let stop = json!({"session_id": "chk", "hook_event_name": "Stop", "cwd": cwd, "stop_hook_active": false});
    let out = hook(&d, &stop).wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let got = wait_for("the failed test's notification", WAIT, || {
        let r = web.received();
        (!r.is_empty()).then_some(r)
    });
    // Delivery is in event order: lint's would have come first.
    assert_eq!(
        got.len(),
        1,
        "{:?}",
        got.iter().map(|r| r.json()).collect::<Vec<_>>()
    );
    let n = got[0].json();
    assert_eq!(n["reason"], "check_failed", "{n}");
    assert!(
        n["title"].as_str().unwrap().contains("check test failed"),
        "{n}"
    );
}
