//! agentd's benchmarks (a bench binary, not timed tests). Run:
//!
//! ```sh
//! cargo bench -p agentd --bench daemon            # all
//! cargo bench -p agentd --bench daemon -- hook    # one: hook | ingest | latency | rss
//! ```
//!
//! Every figure comes with a baseline measured in the same run, because the
//! machines are noisy: the hook round trip beside spawning `/bin/cat` (and a
//! bash + jq + socat forwarder when those are installed).

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use agentd_client::Client;
use common::{Daemon, ms, percentile};

mod common;
use serde_json::{Value, json};

fn main() {
    let wants = common::selection("agentd benchmarks");
    if wants("hook") {
        hook_round_trip();
    }
    if wants("ingest") {
        ingest_throughput();
    }
    if wants("latency") {
        subscriber_latency();
    }
    if wants("rss") {
        daemon_rss();
    }
}

/// A real PreToolUse payload from the fixtures (Claude Code, March 2026).
fn pre_tool_use_payload() -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/claude/hooks/operator-use/logs/pre_tool_use.json");
    let fallback = json!({"session_id": "bench", "transcript_path": "/tmp/t.jsonl", "cwd": "/tmp",
        "permission_mode": "default", "hook_event_name": "PreToolUse", "tool_name": "Bash",
        "tool_input": {"command": "cargo test", "description": "run tests"}, "tool_use_id": "toolu_01"});
    let v: Value = std::fs::read(&path)
        .ok()
        .and_then(|b| serde_json::from_slice::<Vec<Value>>(&b).ok())
        .and_then(|list| list.into_iter().next())
        .unwrap_or(fallback);
    serde_json::to_vec(&v).unwrap()
}

/// Spawns `sh -c <command>` the way Claude Code runs a command hook: payload
/// on stdin, stdout captured. Returns the wall time.
fn spawn_once(command: &str, stdin: &[u8], env: &[(&str, &Path)]) -> Duration {
    let start = Instant::now();
    let mut child = Command::new("/bin/sh")
        .arg("-c")
        .arg(command)
        .envs(env.iter().map(|(k, v)| (*k, *v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    let took = start.elapsed();
    assert!(out.status.success(), "{command} failed");
    took
}

fn hook_round_trip() {
    let d = Daemon::start();
    // The payload's `cwd` is a real project (a git work tree, an empty
    // `.agentd/`), so the per-event lookups — the branch, the project's
    // `.agentd/hooks.toml` — are measured too.
    let project = d.dir.path().join("project");
    std::fs::create_dir_all(project.join(".git")).unwrap();
    std::fs::create_dir_all(project.join(".agentd")).unwrap();
    std::fs::write(project.join(".git/HEAD"), "ref: refs/heads/main\n").unwrap();
    let mut payload: Value = serde_json::from_slice(&pre_tool_use_payload()).unwrap();
    payload["cwd"] = json!(project);
    let payload = serde_json::to_vec(&payload).unwrap();
    let home = d.dir.path().to_path_buf();
    let socket = d.socket();
    let agentd = format!("{} hook", env!("CARGO_BIN_EXE_agentd"));
    let small = format!("{} hook", env!("CARGO_BIN_EXE_agentd-hook"));
    let forwarder = d.dir.path().join("forward.sh");
    // How shell-based monitors forward a hook: bash, jq, socat.
    std::fs::write(
        &forwarder,
        format!(
            "#!/bin/bash\npayload=$(cat)\nprintf '%s\\n%s\\n' '{{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{{\"protocol_version\":\"1.0\"}}}}' \"$(jq -c '{{jsonrpc:\"2.0\",id:1,method:\"hook.ingest\",params:{{payload:.}}}}' <<<\"$payload\")\" | socat -t 2 - UNIX-CONNECT:{} >/dev/null\n",
            socket.display()
        ),
    )
    .unwrap();
    Command::new("chmod")
        .arg("+x")
        .arg(&forwarder)
        .status()
        .unwrap();
    let has_socat = ["jq", "socat"].iter().all(|t| {
        Command::new("sh")
            .arg("-c")
            .arg(format!("command -v {t}"))
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    });

    let runs = 500;
    let env = [("AGENTD_HOME", home.as_path())];
    let mut cases: Vec<(&str, String, Vec<Duration>)> = vec![
        ("/bin/cat (baseline)", "/bin/cat".to_owned(), Vec::new()),
        ("agentd-hook hook (installed)", small, Vec::new()),
        ("agentd hook", agentd, Vec::new()),
    ];
    if has_socat {
        cases.push((
            "bash + jq + socat",
            forwarder.display().to_string(),
            Vec::new(),
        ));
    }
    for _ in 0..20 {
        for (_, cmd, _) in &cases {
            spawn_once(cmd, &payload, &env); // warm-up
        }
    }
    // Interleaved, so drift on a noisy machine hits every case alike.
    for _ in 0..runs {
        for (_, cmd, times) in cases.iter_mut() {
            times.push(spawn_once(cmd, &payload, &env));
        }
    }
    println!(
        "\n## Hook round trip ({runs} runs each, payload {} bytes, spawned via sh -c)",
        payload.len()
    );
    println!("| command | median | p99 | median / cat |");
    println!("|---|---:|---:|---:|");
    let cat_median = {
        let mut t = cases[0].2.clone();
        t.sort();
        percentile(&t, 0.5)
    };
    for (name, _, times) in &mut cases {
        times.sort();
        let median = percentile(times, 0.5);
        println!(
            "| {name} | {} | {} | {:.2}× |",
            ms(median),
            ms(percentile(times, 0.99)),
            median.as_secs_f64() / cat_median.as_secs_f64()
        );
    }
    if !has_socat {
        println!("(jq or socat not installed: forwarder baseline skipped)");
    }
    let mut c = d.client();
    let h: Value = c.call("health", json!({})).unwrap();
    let expected = (runs + 20) * if has_socat { 3 } else { 2 };
    println!("events stored: {} (expected {expected})", h["head_seq"]);
}

/// Runs `per_client` calls of `method` on each of `clients` connections at
/// once; returns the wall time.
fn hammer(d: &Daemon, clients: usize, per_client: usize, method: &'static str) -> Duration {
    let socket = d.socket();
    let barrier = Arc::new(Barrier::new(clients + 1));
    let threads: Vec<_> = (0..clients)
        .map(|t| {
            let socket = socket.clone();
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                let mut c = Client::connect(&socket, Duration::from_secs(30)).unwrap();
                let params = json!({"payload": {"session_id": format!("s{t}"), "hook_event_name": "PreToolUse",
                    "tool_name": "Bash", "tool_input": {"command": "ls"}, "cwd": "/tmp"}});
                barrier.wait();
                for _ in 0..per_client {
                    let _: Value = c.call(method, &params).unwrap();
                }
            })
        })
        .collect();
    barrier.wait();
    let start = Instant::now();
    for t in threads {
        t.join().unwrap();
    }
    start.elapsed()
}

fn ingest_throughput() {
    let d = Daemon::start();
    let (clients, per_client, rounds) = (16, 1000, 4);
    let total = clients * per_client * rounds;
    // Baseline: the same calls to `health`, which touches no store: the
    // ceiling of the socket + JSON-RPC path on this machine right now.
    // Interleaved in rounds, so drift on a noisy machine hits both alike.
    let (mut health, mut ingest) = (Duration::ZERO, Duration::ZERO);
    for _ in 0..rounds {
        health += hammer(&d, clients, per_client, "health");
        ingest += hammer(&d, clients, per_client, "hook.ingest");
    }
    let rate = |t: Duration| total as f64 / t.as_secs_f64();
    println!(
        "\n## Ingest ({clients} concurrent clients, one request in flight each, {total} calls each, in {rounds} interleaved rounds)"
    );
    println!("| method | time | calls/s | vs health |");
    println!("|---|---:|---:|---:|");
    println!(
        "| health (baseline, no store) | {:.2} s | {:.0} | 1.00× |",
        health.as_secs_f64(),
        rate(health)
    );
    println!(
        "| hook.ingest (stored, committed) | {:.2} s | {:.0} | {:.2}× |",
        ingest.as_secs_f64(),
        rate(ingest),
        rate(ingest) / rate(health)
    );
}

fn subscriber_latency() {
    let d = Daemon::start();
    let subscribers = 100;
    let events = 2000;
    let origin = Instant::now();
    let socket = d.socket();
    let ready = Arc::new(Barrier::new(subscribers + 1));
    let threads: Vec<_> = (0..subscribers)
        .map(|_| {
            let socket = socket.clone();
            let ready = Arc::clone(&ready);
            std::thread::spawn(move || {
                // A raw reader that only finds `t_ns`: the client's JSON
                // parsing is not the daemon's latency, and 100 parsing
                // threads would compete with the daemon for the 2 cores.
                use std::io::BufRead;
                let mut w = std::os::unix::net::UnixStream::connect(&socket).unwrap();
                w.write_all(b"{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{\"protocol_version\":\"1.0\"}}\n{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"events.subscribe\",\"params\":{}}\n").unwrap();
                let mut r = std::io::BufReader::new(w.try_clone().unwrap());
                let mut line = String::new();
                for _ in 0..2 {
                    line.clear();
                    r.read_line(&mut line).unwrap();
                }
                ready.wait();
                let mut lat = Vec::with_capacity(events);
                while lat.len() < events {
                    line.clear();
                    r.read_line(&mut line).unwrap();
                    let now = origin.elapsed().as_nanos() as u64;
                    let Some(at) = line.find("\"t_ns\":") else { continue };
                    let digits: String = line[at + 7..].chars().take_while(char::is_ascii_digit).collect();
                    let sent: u64 = digits.parse().unwrap();
                    lat.push(Duration::from_nanos(now.saturating_sub(sent)));
                }
                lat
            })
        })
        .collect();
    ready.wait();
    let mut producer = d.client();
    let mut round_trips = Vec::with_capacity(events);
    for i in 0..events {
        let t_ns = origin.elapsed().as_nanos() as u64;
        let _: Value = producer
            .call("hook.ingest", json!({"payload": {"session_id": format!("s{}", i % 10), "hook_event_name": "PostToolUse", "tool_name": "Bash", "t_ns": t_ns}}))
            .unwrap();
        // Baseline: a `health` round trip from the same client, same moment.
        let rt = Instant::now();
        let _: Value = producer.call("health", json!({})).unwrap();
        round_trips.push(rt.elapsed());
        // ~500 events/s: a busy day, not a flood (the flood is the ingest bench).
        std::thread::sleep(Duration::from_millis(2));
    }
    let mut all: Vec<Duration> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    all.sort();
    println!(
        "\n## Event → subscriber latency ({subscribers} subscribers, {events} events at ~500/s, ingest call to notification read)"
    );
    round_trips.sort();
    println!("| path | p50 | p99 | max |");
    println!("|---|---:|---:|---:|");
    println!(
        "| health round trip (baseline) | {} | {} | {} |",
        ms(percentile(&round_trips, 0.5)),
        ms(percentile(&round_trips, 0.99)),
        ms(*round_trips.last().unwrap())
    );
    println!(
        "| event → each of {subscribers} subscribers | {} | {} | {} |",
        ms(percentile(&all, 0.5)),
        ms(percentile(&all, 0.99)),
        ms(*all.last().unwrap())
    );
}

fn daemon_rss() {
    let d = Daemon::start();
    let sessions = 100;
    let total = 100_000;
    let socket = d.socket();
    let threads: Vec<_> = (0..16)
        .map(|t| {
            let socket = socket.clone();
            std::thread::spawn(move || {
                let mut c = Client::connect(&socket, Duration::from_secs(30)).unwrap();
                let mut i = t;
                let mut pending = 0;
                while i < total {
                    let session = format!("session-{:03}", i % sessions);
                    let name = ["UserPromptSubmit", "PreToolUse", "PostToolUse", "Stop"][i / sessions % 4];
                    c.send("hook.ingest", json!({"payload": {"session_id": session, "hook_event_name": name,
                        "tool_name": "Bash", "tool_input": {"command": "cargo build"}, "cwd": "/home/u/project",
                        "transcript_path": "/home/u/.claude/projects/p/x.jsonl"}, "env": {"claude_pid": 1}}))
                        .unwrap();
                    pending += 1;
                    if pending == 64 {
                        for _ in 0..pending {
                            c.read_message().unwrap();
                        }
                        pending = 0;
                    }
                    i += 16;
                }
                for _ in 0..pending {
                    c.read_message().unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let mut c = d.client();
    let h: Value = c.call("health", json!({})).unwrap();
    let status = std::fs::read_to_string(format!("/proc/{}/status", d.child.id())).unwrap();
    let field = |k: &str| {
        status
            .lines()
            .find(|l| l.starts_with(k))
            .map(|l| l[k.len()..].trim().to_owned())
            .unwrap_or_default()
    };
    println!(
        "\n## Daemon memory ({} sessions, {} events logged)",
        h["sessions"], h["head_seq"]
    );
    println!("| VmRSS | VmHWM (peak) |");
    println!("|---:|---:|");
    println!("| {} | {} |", field("VmRSS:"), field("VmHWM:"));
}
