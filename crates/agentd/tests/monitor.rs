//! The process monitor on real processes: a session's agent process and
//! its busy child are summed (CPU %, resident memory) into the session as
//! every face shows it.

mod support;

use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::json;
use support::{TestDaemon, wait_for};

#[test]
fn a_sessions_process_tree_cpu_and_memory_are_sampled() {
    let d = TestDaemon::start();
    // The "agent": a shell whose child keeps a core busy.
    let mut agent = Command::new("sh")
        .args(["-c", "yes > /dev/null & wait"])
        .stdin(Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap();
    let pid = agent.id().to_string();
    let payload = json!({"session_id": "mon1", "hook_event_name": "SessionStart", "cwd": "/tmp", "source": "startup"});
    let out = support::agentd_cmd(&d.home)
        .arg("hook")
        .env("CLAUDE_PID", &pid)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin
                .take()
                .unwrap()
                .write_all(payload.to_string().as_bytes())?;
            c.wait_with_output()
        })
        .unwrap();
    assert!(out.status.success());
    let v = wait_for("a busy sample", Duration::from_secs(30), || {
        let v = d.client().session("mon1").ok()?;
        v.process
            .as_ref()
            .is_some_and(|p| p.cpu_pct > 30.0)
            .then_some(v)
    });
    let p = v.process.unwrap();
    assert!(p.processes >= 2, "{p:?}");
    assert!(p.rss_bytes > 0, "{p:?}");
    assert!(p.hot.is_none(), "flagged after seconds: {p:?}");
    // `agentd show` and `ls` print it.
    let shown = support::run(&d.home, &["show", "mon1"], None);
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(text.contains("% CPU"), "{text}");
    // SAFETY: signalling the process group the test started.
    unsafe {
        libc::kill(-(agent.id() as i32), libc::SIGKILL);
    }
    let _ = agent.wait();
    wait_for(
        "the figures to go with the process",
        Duration::from_secs(30),
        || {
            d.client()
                .session("mon1")
                .ok()?
                .process
                .is_none()
                .then_some(())
        },
    );
}
