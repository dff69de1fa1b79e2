//! The process monitor on real processes: a session's agent process and
//! its busy child are summed (CPU %, resident memory) into the session as
//! every face shows it.

mod support;

use std::time::Duration;

use support::{TestDaemon, wait_for};

#[test]
fn a_sessions_process_tree_cpu_and_memory_are_sampled() {
    let d = TestDaemon::start();
    let mut agent = support::busy_agent(&d.home, "mon1");
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
    // `sessions.processes` has the same figures for every live session.
    let all = d.client().processes().unwrap();
    assert!(
        all.iter()
            .any(|p| p.session_id == "mon1" && p.process.processes >= 2),
        "{all:?}"
    );
    // GraphQL's query and subscription: web_e2e.rs (the board); gRPC:
    // grpc.rs.
    agent.kill();
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
