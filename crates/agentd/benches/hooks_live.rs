//! Live hook output to subscribers. Run: `cargo bench -p agentd --bench hooks_live`.
//!
//! 20 checks on a Stop, each printing 200 lines, run through `hooks.execute`
//! for a known session; 10 subscribers on `events.subscribe {kinds:
//! ["hook.output"]}` each read every line. Reported: lines delivered per
//! second across subscribers, beside the caller's own stream of the same
//! lines (`hook.output` notifications on the `hooks.execute` connection).

mod common;

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use agentd_client::Client;
use agentd_client::client::Message;
use common::Daemon;
use serde_json::{Value, json};

fn main() {
    println!(
        "agentd live hook output benchmark — {}",
        jiff::Timestamp::now().strftime("%Y-%m-%d %H:%M UTC")
    );
    let d = Daemon::start();
    let project = d.dir.path().join("project");
    std::fs::create_dir_all(project.join(".agentd")).unwrap();
    let mut toml = String::new();
    for i in 0..20 {
        toml.push_str(&format!(
            "[[hooks]]\nname = \"h{i}\"\nevents = [\"Stop\"]\ncommand = \"seq 1 200\"\n\n"
        ));
    }
    std::fs::write(project.join(".agentd/hooks.toml"), toml).unwrap();
    let mut c = d.client();
    let _: Value = c
        .call(
            "hook.ingest",
            json!({"payload": {"session_id": "bench", "hook_event_name": "SessionStart", "cwd": project}}),
        )
        .unwrap();
    const LINES: usize = 20 * 200;
    let subscribers = 10;
    let ready = Arc::new(Barrier::new(subscribers + 1));
    let handles: Vec<_> = (0..subscribers)
        .map(|_| {
            let socket = d.socket();
            let ready = Arc::clone(&ready);
            std::thread::spawn(move || {
                let mut s = Client::connect(&socket, Duration::from_secs(60)).unwrap();
                let _: Value = s
                    .call(
                        "events.subscribe",
                        json!({"kinds": ["hook.output"], "session_id": "bench"}),
                    )
                    .unwrap();
                s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
                ready.wait();
                let mut n = 0;
                while n < LINES {
                    if let Message::Notification(m, _) = s.read_message().unwrap()
                        && m == "event"
                    {
                        n += 1;
                    }
                }
                Instant::now()
            })
        })
        .collect();
    ready.wait();
    let start = Instant::now();
    let mut exec = Client::connect(&d.socket(), Duration::from_secs(60)).unwrap();
    let id = exec
        .send(
            "hooks.execute",
            json!({"event": "Stop", "cwd": project, "session_id": "bench"}),
        )
        .unwrap();
    exec.set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut caller_lines = 0;
    let caller_done = loop {
        match exec.read_message().unwrap() {
            Message::Notification(m, _) if m == "hook.output" => caller_lines += 1,
            Message::Response(r) if r.id == id => break Instant::now(),
            _ => {}
        }
    };
    let ends: Vec<Instant> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let last = *ends.iter().max().unwrap();
    let caller_s = (caller_done - start).as_secs_f64();
    let subs_s = (last - start).as_secs_f64();
    // Each subscriber's own rate: every line to it, over its own time.
    let mut rates: Vec<f64> = ends
        .iter()
        .map(|e| LINES as f64 / (*e - start).as_secs_f64())
        .collect();
    rates.sort_by(f64::total_cmp);
    println!("\n## 20 checks × 200 lines, 10 subscribers");
    println!("| path | lines | time | lines/s |");
    println!("|---|---:|---:|---:|");
    println!(
        "| `hooks.execute` caller (baseline: no event log) | {caller_lines} | {:.3} s | {:.0} |",
        caller_s,
        caller_lines as f64 / caller_s
    );
    println!(
        "| event log → 10 subscribers (every line to each) | {} | {:.3} s | **{:.0}** |",
        LINES * subscribers,
        subs_s,
        (LINES * subscribers) as f64 / subs_s
    );
    println!(
        "| each subscriber (slowest / median / fastest) | {LINES} each | | {:.0} / {:.0} / {:.0} |",
        rates[0],
        rates[rates.len() / 2],
        rates[rates.len() - 1]
    );
}
