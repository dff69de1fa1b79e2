//! Benchmarks of #14's daemon parts. Run:
//! `cargo bench -p agentd --bench agents [-- notify|monitor|discovery]`.
//!
//! * notify: a held approval (`hook.ingest` of a PermissionRequest) →
//!   the webhook receiver has it; 100 approvals one after another, with the
//!   default grouping window (300 ms) and with none.
//! * discovery: the idle daemon's own CPU over 20 s with 1 000 more
//!   processes of this user (each looked at every 5 s), beside none.
//! * monitor: the daemon's own CPU over 20 s with 100 live sessions whose
//!   agents are real processes (sampled every 2 s) against, in the same
//!   run, 100 sessions without a pid (nothing to sample).

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use agentd_client::Client;
use agentd_client::client::Message;
use common::{Daemon, ms, percentile, selection};
use fake_models::receiver::Receiver;
use serde_json::{Value, json};

fn held(d: &Daemon, n: usize) -> (Client, String) {
    let mut c = Client::connect_raw(&d.socket(), Duration::from_secs(60)).unwrap();
    c.send("initialize", json!({"protocol_version": "1.0"}))
        .unwrap();
    c.send(
        "hook.ingest",
        json!({"payload": {"session_id": format!("n{n}"), "hook_event_name": "PermissionRequest",
            "cwd": "/tmp/bench", "tool_name": "Bash", "tool_input": {"command": format!("make {n}")}}}),
    )
    .unwrap();
    loop {
        match c.read_message().unwrap() {
            Message::Notification(m, p) if m == "approval.held" => {
                return (c, p["approval_id"].as_str().unwrap().to_owned());
            }
            Message::Response(r) if r.error.is_some() => panic!("{r:?}"),
            _ => {}
        }
    }
}

fn notify(group_ms: u64) {
    let rx = Receiver::start(0).unwrap();
    let dir = tempfile::Builder::new().prefix("agb").tempdir().unwrap();
    std::fs::write(
        dir.path().join("agentd.toml"),
        format!(
            "[[notify.sinks]]\nkind = \"webhook\"\nurl = \"{}\"\ngroup_ms = {group_ms}\n",
            rx.url()
        ),
    )
    .unwrap();
    let d = Daemon::start_in(dir);
    let mut decider = d.client();
    let mut lat = Vec::new();
    for n in 0..100 {
        let before = rx.received().len();
        let start = Instant::now();
        let (_c, id) = held(&d, n);
        while rx.received().len() == before {
            assert!(start.elapsed() < Duration::from_secs(10), "no notification");
            std::thread::sleep(Duration::from_micros(200));
        }
        lat.push(start.elapsed());
        let _: Value = decider
            .call(
                "approvals.decide",
                json!({"id": id, "decision": {"behavior": "allow"}}),
            )
            .unwrap();
    }
    lat.sort();
    println!(
        "notify  approval → webhook, group_ms {group_ms:>3}: p50 {}  p99 {}  max {}  (n = {})",
        ms(percentile(&lat, 0.5)),
        ms(percentile(&lat, 0.99)),
        ms(*lat.last().unwrap()),
        lat.len()
    );
}

fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let rest = &stat[stat.rfind(')').map_or(0, |i| i + 1)..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    f.get(11).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
        + f.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
}

fn monitor(with_pids: bool) -> f64 {
    let d = Daemon::start();
    let mut agents: Vec<Child> = Vec::new();
    let mut c = d.client();
    for n in 0..100 {
        let env = if with_pids {
            let child = Command::new("sleep")
                .arg("600")
                .stdin(Stdio::null())
                .spawn()
                .unwrap();
            let pid = child.id();
            agents.push(child);
            json!({"claude_pid": pid})
        } else {
            json!({})
        };
        let _: Value = c
            .call(
                "hook.ingest",
                json!({"payload": {"session_id": format!("m{n}"), "hook_event_name": "UserPromptSubmit",
                    "cwd": "/tmp/bench"}, "env": env}),
            )
            .unwrap();
    }
    drop(c);
    // Let start-up work settle, then measure.
    std::thread::sleep(Duration::from_secs(3));
    let pid = d.child.id();
    let t0 = cpu_ticks(pid);
    let start = Instant::now();
    std::thread::sleep(Duration::from_secs(20));
    let used = (cpu_ticks(pid) - t0) as f64 / 100.0;
    let pct = used / start.elapsed().as_secs_f64() * 100.0;
    for mut a in agents {
        let _ = a.kill();
        let _ = a.wait();
    }
    pct
}

/// The idle daemon's CPU over 20 s while `extra` other processes of this
/// user run (discovery reads each one's `comm` every 5 s).
fn discovery(extra: usize) -> f64 {
    let others: Vec<Child> = (0..extra)
        .map(|_| {
            Command::new("sleep")
                .arg("600")
                .stdin(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    let d = Daemon::start();
    std::thread::sleep(Duration::from_secs(3));
    let pid = d.child.id();
    let t0 = cpu_ticks(pid);
    let start = Instant::now();
    std::thread::sleep(Duration::from_secs(20));
    let pct = (cpu_ticks(pid) - t0) as f64 / 100.0 / start.elapsed().as_secs_f64() * 100.0;
    for mut o in others {
        let _ = o.kill();
        let _ = o.wait();
    }
    pct
}

fn main() {
    let run = selection("agentd #14 benchmarks (notifications, process monitor)");
    if run("notify") {
        notify(300);
        notify(0);
    }
    if run("monitor") {
        let base = monitor(false);
        let sampled = monitor(true);
        println!(
            "monitor  daemon CPU over 20 s with 100 live sessions: {sampled:.2} % of a core with their processes sampled, {base:.2} % with none to sample"
        );
    }
    if run("discovery") {
        let base = discovery(0);
        let busy = discovery(1000);
        let procs = std::fs::read_dir("/proc")
            .map(|d| {
                d.flatten()
                    .filter(|e| {
                        e.file_name()
                            .to_str()
                            .is_some_and(|n| n.parse::<u32>().is_ok())
                    })
                    .count()
            })
            .unwrap_or(0);
        println!(
            "discovery  idle daemon CPU over 20 s: {busy:.2} % of a core with 1 000 more processes of this user to look at ({procs} in /proc after they ended), {base:.2} % without"
        );
    }
}
