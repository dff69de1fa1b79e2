//! Load: many hook clients at once, with and without subscribers; and
//! crashes: `kill -9` at random moments under load and during a spool
//! drain. Run:
//!
//! ```sh
//! cargo bench -p agentd --bench load            # both
//! cargo bench -p agentd --bench load -- load    # one: load | crash
//! ```
//!
//! Clients speak exactly as `agentd hook` does (`client::oneshot`: connect,
//! `initialize` as `agentd-hook`, one `hook.ingest` with a delivery id) and,
//! like it, spool what was not acknowledged. Every event carries its own
//! number, so the log can be checked for each one: present exactly once.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use agentd_client::client;
use agentd_client::{Paths, spool};
use agentd_proto::api::{EventsList, IngestParams, IngestResult};
use agentd_proto::method;
use common::{Daemon, ms, percentile};
use serde_json::{Value, json};

mod common;

fn main() {
    let wants = common::selection("agentd load and crash benchmarks");
    if wants("load") {
        load();
    }
    if wants("crash") {
        crash();
    }
    if wants("retention") {
        retention();
    }
}

/// A simulated month of a heavy user: what the event log costs on disk
/// with whole payloads, and after retention.
fn retention() {
    const DAYS: i64 = 30;
    const TOOL_CALLS: usize = 2000; // per day
    const SNAPSHOTS: usize = 500; // status-line refreshes per day
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agentd.db");
    let mut w = agentd_store::Writer::open(&path).unwrap();
    let now = jiff::Timestamp::now().as_millisecond();
    let mut seed = 7u64;
    let pre = |n: usize| {
        json!({"session_id": format!("s{}", n % 20), "hook_event_name": "PreToolUse", "tool_name": "Bash",
            "tool_use_id": format!("toolu_{n}"), "cwd": "/home/me/work/project", "transcript_path": "/home/me/.claude/projects/p/s.jsonl",
            "permission_mode": "default", "tool_input": {"command": "cargo test --workspace", "description": "run the tests"}})
        .to_string()
    };
    // PostToolUse sizes as in the fixture corpus: median 9.6 KB, p90 29 KB,
    // max 57 KB.
    let mut post_bytes = 0u64;
    for day in 0..DAYS {
        let day_ms = now - (DAYS - day) * 86_400_000;
        let mut b = w.batch().unwrap();
        for i in 0..TOOL_CALLS {
            let n = (day as usize) * TOOL_CALLS + i;
            let ts = day_ms + (i as i64) * 20_000;
            let p = pre(n);
            b.append(&ev(ts, n, "hook", "PreToolUse", &p)).unwrap();
            let size = match rand(&mut seed, 10) {
                0..=4 => 5_000 + rand(&mut seed, 4_600),
                5..=8 => 9_600 + rand(&mut seed, 19_400),
                _ => 29_000 + rand(&mut seed, 28_000),
            } as usize;
            let out = json!({"session_id": format!("s{}", n % 20), "hook_event_name": "PostToolUse", "tool_name": "Bash",
                "tool_use_id": format!("toolu_{n}"), "cwd": "/home/me/work/project",
                "tool_input": {"command": "cargo test --workspace"},
                "tool_response": {"stdout": "t".repeat(size), "stderr": "", "interrupted": false}})
            .to_string();
            post_bytes += out.len() as u64;
            b.append(&ev(ts + 5_000, n, "hook", "PostToolUse", &out))
                .unwrap();
        }
        for i in 0..SNAPSHOTS {
            let snap = json!({"session_id": format!("s{}", i % 20), "model": {"id": "claude-opus-5-5"},
                "cost": {"total_cost_usd": 1.25, "total_duration_ms": 600000}, "context_window": {"used_percentage": 42},
                "workspace": {"current_dir": "/home/me/work/project"}, "transcript_path": "/home/me/.claude/projects/p/s.jsonl",
                "pad": "s".repeat(1000)})
            .to_string();
            b.append(&ev(
                day_ms + (i as i64) * 60_000,
                i,
                "statusline",
                "StatusLine",
                &snap,
            ))
            .unwrap();
        }
        b.commit().unwrap();
    }
    let (full, _) = w.vacuum(true).unwrap();
    let t = Instant::now();
    let cutoff = now - 14 * 86_400_000;
    let mut totals = (0u64, 0u64);
    loop {
        let mut b = w.batch().unwrap();
        let c = b
            .compact_step(cutoff, agentd_daemon::retention::STEP, 2048, &|p| {
                agentd_daemon::retention::compact_payload(p, 2048)
            })
            .unwrap();
        b.commit().unwrap();
        totals.0 += c.compacted;
        totals.1 += c.deleted;
        if c.reached_cutoff {
            break;
        }
    }
    let took = t.elapsed();
    let (_, after) = w.vacuum(false).unwrap();
    let events = DAYS as usize * (2 * TOOL_CALLS + SNAPSHOTS);
    println!(
        "\n## Retention: a simulated month ({DAYS} days × {TOOL_CALLS} tool calls + {SNAPSHOTS} status-line refreshes a day = {events} events)"
    );
    println!("| | agentd.db | per day |");
    println!("|---|---:|---:|");
    println!(
        "| whole payloads (PostToolUse payloads alone: {:.0} MB) | {:.0} MB | {:.1} MB |",
        post_bytes as f64 / 1e6,
        full as f64 / 1e6,
        full as f64 / 1e6 / DAYS as f64
    );
    println!(
        "| after retention (whole for 14 days, then cut to 2 KB; one snapshot per session) | **{:.0} MB** | {:.1} MB (kept whole) / {:.2} MB (compacted) |",
        after as f64 / 1e6,
        full as f64 / 1e6 / DAYS as f64,
        (after as f64 - full as f64 * 14.0 / DAYS as f64).max(0.0) / 1e6 / 16.0
    );
    println!(
        "compaction: {} payloads cut, {} snapshots dropped, in {:.1} s ({} events per writer transaction)",
        totals.0,
        totals.1,
        took.as_secs_f64(),
        agentd_daemon::retention::STEP
    );
}

fn ev<'a>(
    ts_ms: i64,
    n: usize,
    source: &'a str,
    name: &'a str,
    payload: &'a str,
) -> agentd_store::NewEvent<'a> {
    agentd_store::NewEvent {
        ts_ms,
        session_id: SESSIONS[n % SESSIONS.len()],
        agent: "claude",
        source,
        name,
        kind: "other",
        payload,
        env: "{}",
    }
}

const SESSIONS: [&str; 20] = [
    "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "s12", "s13", "s14",
    "s15", "s16", "s17", "s18", "s19",
];

/// One hook event numbered `n`, as the hook client sends it; spooled (as
/// the hook does) when not acknowledged. Returns the latency and whether
/// it was acknowledged.
fn deliver(paths: &Paths, n: u64, sessions: u64) -> (Duration, bool) {
    let payload = json!({
        "session_id": format!("load-{}", n % sessions),
        "hook_event_name": if n.is_multiple_of(2) { "PreToolUse" } else { "PostToolUse" },
        "tool_name": "Bash",
        "tool_use_id": format!("toolu_{n}"),
        "tool_input": {"command": "cargo test"},
        "n": n,
    });
    let params = IngestParams {
        payload,
        env: Value::Null,
        event_id: Some(format!("load-{n:016x}")),
    };
    let t = Instant::now();
    let r = client::oneshot::<_, IngestResult>(
        &paths.socket,
        Duration::from_secs(2),
        method::HOOK_INGEST,
        &params,
    );
    let took = t.elapsed();
    match r {
        Ok(_) => (took, true),
        Err(_) => {
            let e = spool::Spooled {
                id: params.event_id,
                ts_ms: 0,
                payload: params.payload,
                env: Value::Null,
            };
            spool::write(&paths.spool, &e).expect("spool");
            (took, false)
        }
    }
}

/// Every stored event's number `n` → how many times it is stored.
fn stored_counts(d: &Daemon) -> HashMap<u64, u32> {
    counts_via(&mut d.client())
}

fn counts_via(c: &mut agentd_client::Client) -> HashMap<u64, u32> {
    let mut counts = HashMap::new();
    let mut after = 0;
    loop {
        let page: EventsList = c
            .call(
                method::EVENTS_LIST,
                json!({"after_seq": after, "limit": 10_000}),
            )
            .unwrap();
        let Some(last) = page.events.last().map(|e| e.seq) else {
            break;
        };
        for e in &page.events {
            if let Some(n) = e.payload.get("n").and_then(Value::as_u64) {
                *counts.entry(n).or_insert(0) += 1;
            }
        }
        after = last;
    }
    counts
}

struct Round {
    events_per_s: f64,
    p50: Duration,
    p99: Duration,
    rss_peak_kb: u64,
    rss_after_kb: u64,
    delivered_to_each: Vec<u64>,
}

fn load_round(subscribers: usize) -> Round {
    const CLIENTS: u64 = 1000;
    const PER_CLIENT: u64 = 20;
    const SESSIONS: u64 = 100;
    let d = Daemon::start();
    let paths = Paths::resolve(Some(d.dir.path())).unwrap();
    let total = CLIENTS * PER_CLIENT;
    // Subscribers count the lines they read, until they have them all —
    // without parsing them: on two cores, 100 parsing readers in this
    // process would measure this process, not the daemon.
    let mut readers = Vec::new();
    for _ in 0..subscribers {
        use std::io::{BufRead, Read, Write};
        let mut s = std::os::unix::net::UnixStream::connect(paths.socket.clone()).unwrap();
        s.write_all(b"{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{\"protocol_version\":\"1.0\"}}\n{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"events.subscribe\",\"params\":{}}\n").unwrap();
        s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
        let mut r = std::io::BufReader::new(s);
        let mut line = String::new();
        for _ in 0..2 {
            line.clear();
            r.read_line(&mut line).unwrap();
        }
        readers.push(std::thread::spawn(move || {
            let mut n = 0u64;
            let mut chunk = vec![0u8; 64 << 10];
            while n < total {
                match r.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(k) => n += chunk[..k].iter().filter(|&&b| b == b'\n').count() as u64,
                }
            }
            n
        }));
    }
    let peak = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, done, pid) = (Arc::clone(&peak), Arc::clone(&done), d.child.id());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                let kb = std::fs::read_to_string(format!("/proc/{pid}/status"))
                    .ok()
                    .and_then(|s| {
                        s.lines()
                            .find_map(|l| l.strip_prefix("VmRSS:"))
                            .and_then(|v| v.split_whitespace().next()?.parse().ok())
                    })
                    .unwrap_or(0);
                peak.fetch_max(kb, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let barrier = Arc::new(Barrier::new(CLIENTS as usize + 1));
    let lat = Arc::new(Mutex::new(Vec::with_capacity(total as usize)));
    let mut threads = Vec::new();
    for c in 0..CLIENTS {
        let (barrier, lat, paths) = (Arc::clone(&barrier), Arc::clone(&lat), paths.clone());
        threads.push(
            std::thread::Builder::new()
                .stack_size(256 << 10)
                .spawn(move || {
                    barrier.wait();
                    let mut mine = Vec::with_capacity(PER_CLIENT as usize);
                    for k in 0..PER_CLIENT {
                        let (t, ok) = deliver(&paths, c * PER_CLIENT + k, SESSIONS);
                        assert!(ok, "event {} not acknowledged", c * PER_CLIENT + k);
                        mine.push(t);
                    }
                    lat.lock().unwrap().extend(mine);
                })
                .unwrap(),
        );
    }
    barrier.wait();
    let start = Instant::now();
    for t in threads {
        t.join().unwrap();
    }
    let took = start.elapsed();
    let delivered_to_each: Vec<u64> = readers.into_iter().map(|r| r.join().unwrap()).collect();
    // After the burst: the daemon gives memory back once the log has been
    // quiet for 5 s (checked every 5 s).
    std::thread::sleep(Duration::from_secs(12));
    let rss_after_kb = d.status_kb("VmRSS:");
    done.store(true, Ordering::Relaxed);
    sampler.join().unwrap();
    // Every acknowledged event is in the log exactly once.
    let counts = stored_counts(&d);
    assert_eq!(counts.len() as u64, total, "lost events");
    assert!(counts.values().all(|&c| c == 1), "duplicated events");
    let mut lat = lat.lock().unwrap().clone();
    lat.sort();
    Round {
        events_per_s: total as f64 / took.as_secs_f64(),
        p50: percentile(&lat, 0.5),
        p99: percentile(&lat, 0.99),
        rss_peak_kb: peak.load(Ordering::Relaxed),
        rss_after_kb,
        delivered_to_each,
    }
}

fn load() {
    println!("\n## Load: 1 000 concurrent hook clients × 20 events over 100 sessions");
    println!(
        "| subscribers | events/s | vs none | hook p50 | hook p99 | RSS peak | RSS after | each subscriber got |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---|");
    let base = load_round(0);
    let subs = load_round(100);
    for (n, r) in [(0, &base), (100, &subs)] {
        let each = if r.delivered_to_each.is_empty() {
            "-".to_owned()
        } else {
            let min = r.delivered_to_each.iter().min().unwrap();
            let max = r.delivered_to_each.iter().max().unwrap();
            format!("{min}–{max} of 20000")
        };
        println!(
            "| {n} | {:.0} | {:.2}× | {} | {} | {:.1} MB | {:.1} MB | {each} |",
            r.events_per_s,
            r.events_per_s / base.events_per_s,
            ms(r.p50),
            ms(r.p99),
            r.rss_peak_kb as f64 / 1024.0,
            r.rss_after_kb as f64 / 1024.0,
        );
    }
    println!("every acknowledged event stored exactly once: yes (20 000 of 20 000, each run)");
}

/// Starts a daemon in `home` (kept across kills) and waits until it
/// answers.
fn start_in(home: &Path) -> std::process::Child {
    let child = spawn_in(home);
    let socket = Paths::resolve(Some(home)).unwrap().socket;
    let deadline = Instant::now() + Duration::from_secs(60);
    while agentd_client::Client::connect(&socket, Duration::from_secs(5)).is_err() {
        assert!(Instant::now() < deadline, "daemon did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

/// Starts a daemon in `home` without waiting for it.
fn spawn_in(home: &Path) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_agentd"))
        .env("AGENTD_HOME", home)
        .env("AGENTD_HTTP_LISTEN", "off")
        .env("AGENTD_LOG", "warn")
        .env("AGENTD_INDEX", "off")
        .arg("serve")
        .stdin(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

/// A pseudo-random number in `0..n` (xorshift; no dependency).
fn rand(state: &mut u64, n: u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state % n
}

fn crash() {
    const ROUNDS: usize = 20;
    let mut seed = 0x9e37_79b9_7f4a_7c15u64
        ^ std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64);
    println!("\n## Crash: kill -9 at random moments ({ROUNDS} rounds each)");
    println!(
        "| scenario | events sent | acknowledged | spooled | killed at (ms) | lost | duplicated |"
    );
    println!("|---|---:|---:|---:|---|---:|---:|");
    for scenario in ["under load (16 clients)", "during spool drain"] {
        let (mut sent, mut acked, mut spooled, mut lost, mut dup) = (0u64, 0u64, 0u64, 0u64, 0u64);
        let mut kills = Vec::new();
        let mut left_in_spool = Vec::new();
        for _ in 0..ROUNDS {
            let home = tempfile::Builder::new().prefix("agc").tempdir().unwrap();
            let paths = Paths::resolve(Some(home.path())).unwrap();
            let n_events: u64 = 4000;
            let kill_ms = 50 + rand(&mut seed, 700);
            kills.push(kill_ms);
            let mut child;
            if scenario == "during spool drain" {
                // The root exists; the daemon is down: everything spools.
                child = start_in(home.path());
                let _ = child.kill();
                let _ = child.wait();
                for n in 0..n_events {
                    let (_, ok) = deliver(&paths, n, 50);
                    assert!(!ok);
                }
                spooled += n_events;
                // The daemon drains before it even binds the socket: kill
                // it at a random moment of that.
                child = spawn_in(home.path());
                std::thread::sleep(Duration::from_millis(kill_ms / 2));
                let _ = child.kill();
                let _ = child.wait();
                left_in_spool.push(spool::list(&paths.spool).len());
            } else {
                child = start_in(home.path());
                let next = Arc::new(AtomicU64::new(0));
                let acks = Arc::new(AtomicU64::new(0));
                let spools = Arc::new(AtomicU64::new(0));
                let mut threads = Vec::new();
                for _ in 0..16 {
                    let (next, acks, spools, paths) = (
                        Arc::clone(&next),
                        Arc::clone(&acks),
                        Arc::clone(&spools),
                        paths.clone(),
                    );
                    threads.push(std::thread::spawn(move || {
                        loop {
                            let n = next.fetch_add(1, Ordering::Relaxed);
                            if n >= n_events {
                                break;
                            }
                            if deliver(&paths, n, 50).1 {
                                acks.fetch_add(1, Ordering::Relaxed);
                            } else {
                                spools.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }));
                }
                std::thread::sleep(Duration::from_millis(kill_ms));
                let _ = child.kill();
                let _ = child.wait();
                for t in threads {
                    t.join().unwrap();
                }
                acked += acks.load(Ordering::Relaxed);
                spooled += spools.load(Ordering::Relaxed);
            }
            sent += n_events;
            // Restart: the spool drains; then count.
            let _child = ChildGuard(start_in(home.path()));
            let deadline = Instant::now() + Duration::from_secs(120);
            while !spool::list(&paths.spool).is_empty() {
                assert!(Instant::now() < deadline, "spool not drained");
                std::thread::sleep(Duration::from_millis(50));
            }
            let mut c =
                agentd_client::Client::connect(&paths.socket, Duration::from_secs(30)).unwrap();
            let counts = counts_via(&mut c);
            lost += (0..n_events).filter(|n| !counts.contains_key(n)).count() as u64;
            dup += counts
                .values()
                .filter(|&&c| c > 1)
                .map(|&c| u64::from(c - 1))
                .sum::<u64>();
        }
        kills.sort();
        println!(
            "| {scenario} | {sent} | {acked} | {spooled} | {}–{} | {lost} | {dup} |",
            kills[0],
            kills[kills.len() - 1]
        );
        if !left_in_spool.is_empty() {
            // How far each killed drain had got: proof the kill landed
            // mid-drain (4000 = before the first commit, 0 = after).
            println!("records left in the spool at each kill: {left_in_spool:?}");
        }
    }
}

/// Kills the daemon when dropped.
struct ChildGuard(std::process::Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
