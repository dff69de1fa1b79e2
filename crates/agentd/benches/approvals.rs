//! Approval benchmarks. Run: `cargo bench -p agentd --bench approvals`.
//!
//! * decision → hook reply: a held `hook.ingest` on one connection, an
//!   `approvals.decide` on another; inside the daemon = decide sent → held
//!   reply read (two socket hops included); end to end = `agentd approve`
//!   spawned → the `agentd hook` process (spawned as Claude Code does) exits.
//! * 1 000 pending approvals: `approvals.list` and `approvals.decide` latency.
//! * 200 held hook calls at once: daemon RSS and thread count before/after.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use agentd_client::Client;
use agentd_client::client::Message;
use common::{Daemon, ms, percentile};
use serde_json::{Value, json};

fn payload(n: usize) -> Value {
    json!({"session_id": format!("s{}", n % 50), "hook_event_name": "PermissionRequest", "cwd": "/tmp",
        "tool_name": "Bash", "tool_input": {"command": format!("cargo publish --dry-run {n}")}})
}

/// Sends a held hook.ingest; returns the connection and the approval id.
fn hold(d: &Daemon, n: usize) -> (Client, String) {
    let mut c = Client::connect_raw(&d.socket(), Duration::from_secs(60)).unwrap();
    c.send("initialize", json!({"protocol_version": "1.0"}))
        .unwrap();
    c.send("hook.ingest", json!({"payload": payload(n)}))
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

fn read_reply(c: &mut Client) -> Value {
    loop {
        if let Message::Response(r) = c.read_message().unwrap()
            && r.id == 2
        {
            return r.result.unwrap();
        }
    }
}

fn main() {
    println!(
        "agentd approval benchmarks — {}",
        jiff::Timestamp::now().strftime("%Y-%m-%d %H:%M UTC")
    );
    let d = Daemon::start();
    let mut decider = d.client();

    // Decision → reply, inside the daemon (socket hops included).
    let mut inside = Vec::new();
    for n in 0..300 {
        let (mut held, id) = hold(&d, n);
        let start = Instant::now();
        let _: Value = decider
            .call(
                "approvals.decide",
                json!({"id": id, "decision": {"behavior": "allow"}}),
            )
            .unwrap();
        let reply = read_reply(&mut held);
        inside.push(start.elapsed());
        assert!(reply["output"]["hookSpecificOutput"]["decision"]["behavior"] == "allow");
    }
    inside.sort();

    // End to end: processes as Claude Code and a user would spawn them.
    let exe = env!("CARGO_BIN_EXE_agentd");
    let mut e2e = Vec::new();
    for n in 0..60 {
        let mut hook = Command::new("/bin/sh")
            .arg("-c")
            .arg(format!("{exe} hook"))
            .env("AGENTD_HOME", d.dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        hook.stdin
            .take()
            .unwrap()
            .write_all(payload(1000 + n).to_string().as_bytes())
            .unwrap();
        let id = loop {
            let list: Vec<Value> = decider.call("approvals.list", json!({})).unwrap();
            if let Some(a) = list.first() {
                break a["id"].as_str().unwrap().to_owned();
            }
            std::thread::sleep(Duration::from_millis(2));
        };
        let start = Instant::now();
        let ok = Command::new(exe)
            .args(["approve", &id])
            .env("AGENTD_HOME", d.dir.path())
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(ok.success());
        let out = hook.wait_with_output().unwrap();
        e2e.push(start.elapsed());
        assert!(!out.stdout.is_empty());
    }
    e2e.sort();
    println!("\n## Decision → hook reply");
    println!("| path | runs | p50 | p99 |");
    println!("|---|---:|---:|---:|");
    println!(
        "| inside the daemon: decide sent → held reply read | {} | {} | {} |",
        inside.len(),
        ms(percentile(&inside, 0.5)),
        ms(percentile(&inside, 0.99))
    );
    println!(
        "| end to end: `agentd approve` spawned → `agentd hook` exited | {} | {} | {} |",
        e2e.len(),
        ms(percentile(&e2e, 0.5)),
        ms(percentile(&e2e, 0.99))
    );

    // 200 held at once: memory and threads.
    let (rss0, threads0) = (d.status_field("VmRSS:"), d.status_field("Threads:"));
    let held: Vec<(Client, String)> = (0..200).map(|n| hold(&d, 2000 + n)).collect();
    let (rss1, threads1) = (d.status_field("VmRSS:"), d.status_field("Threads:"));
    println!("\n## 200 hook calls held at once");
    println!("| | VmRSS | threads |");
    println!("|---|---:|---:|");
    println!("| before | {rss0} | {threads0} |");
    println!("| 200 held | {rss1} | {threads1} |");

    // 1 000 pending: list and decide latency.
    let mut more: Vec<(Client, String)> = (0..800).map(|n| hold(&d, 3000 + n)).collect();
    let mut list_t = Vec::new();
    for _ in 0..100 {
        let start = Instant::now();
        let list: Vec<Value> = decider.call("approvals.list", json!({})).unwrap();
        list_t.push(start.elapsed());
        assert_eq!(list.len(), 1000);
    }
    list_t.sort();
    // Every decision with 1 000 pending: each decided one is replaced by a
    // new held call before the next decision.
    let mut decide_t = Vec::new();
    let ids: Vec<String> = held
        .iter()
        .chain(more.iter())
        .take(200)
        .map(|(_, id)| id.clone())
        .collect();
    for (n, id) in ids.iter().enumerate() {
        let start = Instant::now();
        let _: Value = decider
            .call(
                "approvals.decide",
                json!({"id": id, "decision": {"behavior": "deny", "message": "bench"}}),
            )
            .unwrap();
        decide_t.push(start.elapsed());
        more.push(hold(&d, 9000 + n));
    }
    let still: Vec<Value> = decider.call("approvals.list", json!({})).unwrap();
    assert_eq!(still.len(), 1000, "1 000 pending throughout");
    decide_t.sort();
    println!("\n## With 1 000 pending approvals");
    println!("| call | runs | p50 | p95 |");
    println!("|---|---:|---:|---:|");
    println!(
        "| approvals.list (all 1 000) | {} | {} | {} |",
        list_t.len(),
        ms(percentile(&list_t, 0.5)),
        ms(percentile(&list_t, 0.95))
    );
    println!(
        "| approvals.decide (1 000 pending at each call) | {} | {} | {} |",
        decide_t.len(),
        ms(percentile(&decide_t, 0.5)),
        ms(percentile(&decide_t, 0.95))
    );
    drop(held);
    drop(more);
}
