//! HQ benchmarks. Run: `cargo bench -p agentd --bench hq [-- fanin|decide]`
//! (`AGENTD_BENCH_RUNNERS` sets how many simulated runners, default 1 000).
//!
//! * fanin: simulated runners (the runner link's own protocol over
//!   tokio-tungstenite: hello, then batches of 50 events, acks) dial one
//!   `agentd hq serve`: time to connect them all, HQ's RSS after, and
//!   events/s until HQ acknowledged every event — beside the same number of
//!   events from one runner, in the same run.
//! * terminal: a shell on a real runner (`agentd serve` linked to HQ),
//!   reached browser-style over a WebSocket through HQ (browser ⇄ HQ ⇄
//!   runner ⇄ PTY) beside the runner's own `/terminals/{id}` (browser ⇄
//!   runner ⇄ PTY), interleaved in one run: keystroke → echo (a byte to
//!   `cat` in raw mode) p50/p99, and `cat` of a 100 MB file in MB/s (the
//!   client acknowledges every 64 KiB, as the web page does).
//! * decide: an approval held on a real runner (`agentd serve` linked to
//!   HQ; the `agentd hook` process Claude Code would run) decided at HQ
//!   (`POST /hq/v1/approvals/{id}/decision`) → the hook process exits;
//!   p50/p99 beside the same decision over the runner's own socket.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use agentd_proto::api::EventRecord;
use agentd_proto::hq::{HqMessage, RUNNER_PATH, RunnerMessage};
use common::{ms, percentile, selection};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

struct Hq {
    _dir: tempfile::TempDir,
    child: Child,
    addr: String,
}

impl Hq {
    fn start(tokens: &[(&str, bool)]) -> (Hq, Vec<String>) {
        let dir = tempfile::Builder::new().prefix("hqb").tempdir().unwrap();
        let root = dir.path().join("root");
        let paths = agentd_hq::server::HqPaths::new(&root);
        let store = agentd_hq::server::open_store(&paths).unwrap();
        let secrets = tokens
            .iter()
            .map(|(name, runner)| {
                let p = if *runner {
                    agentd_hq::token::Principal::Runner((*name).to_owned())
                } else {
                    agentd_hq::token::Principal::User {
                        name: (*name).to_owned(),
                        role: agentd_hq::token::Role::Admin,
                    }
                };
                store.create_token(&p, 0).unwrap()
            })
            .collect();
        drop(store);
        let child = Command::new(env!("CARGO_BIN_EXE_agentd"))
            .env("AGENTD_HOME", &root)
            .env("AGENTD_HTTP_LISTEN", "127.0.0.1:0")
            .env("AGENTD_LOG", "warn")
            .args(["hq", "serve"])
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        let addr = loop {
            if let Some(i) = agentd_hq::server::running(&paths) {
                break i.addr;
            }
            assert!(Instant::now() < deadline, "HQ did not start");
            std::thread::sleep(Duration::from_millis(20));
        };
        (
            Hq {
                _dir: dir,
                child,
                addr,
            },
            secrets,
        )
    }

    fn rss_kb(&self) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default()
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for Hq {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn event(seq: u64, session: &str) -> EventRecord {
    let name = if seq == 1 {
        "SessionStart"
    } else {
        "PreToolUse"
    };
    EventRecord {
        seq,
        ts: String::new(),
        ts_ms: 1_700_000_000_000 + seq as i64,
        session_id: session.to_owned(),
        agent: "claude".into(),
        source: "hook".into(),
        name: name.into(),
        kind: String::new(),
        payload: json!({"session_id": session, "hook_event_name": name, "cwd": "/work/p",
            "tool_name": "Bash", "tool_input": {"command": format!("cargo test {seq}")}}),
        env: json!({}),
    }
}

type Ws = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

async fn dial(addr: &str, token: &str) -> Ws {
    let mut req = format!("ws://{addr}{RUNNER_PATH}")
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("Authorization", format!("Bearer {token}").parse().unwrap());
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut ws, _) = tokio_tungstenite::client_async(req, tcp).await.unwrap();
    let hello = RunnerMessage::Hello {
        runner: None,
        version: "bench".into(),
        os: "linux".into(),
        labels: vec![],
        head_seq: u64::MAX / 2,
        hostname: None,
    };
    ws.send(Message::Text(serde_json::to_string(&hello).unwrap().into()))
        .await
        .unwrap();
    match next(&mut ws).await {
        HqMessage::Welcome { .. } => ws,
        other => panic!("{other:?}"),
    }
}

async fn next(ws: &mut Ws) -> HqMessage {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => return serde_json::from_str(t.as_str()).unwrap(),
            Some(Ok(_)) => {}
            other => panic!("link ended: {other:?}"),
        }
    }
}

/// Sends `events` in batches of 50 and waits until the last is acked.
async fn send_all(ws: &mut Ws, name: &str, events: u64) {
    const BATCH: u64 = 50;
    let mut seq = 1;
    while seq <= events {
        let last = (seq + BATCH - 1).min(events);
        let batch: Vec<_> = (seq..=last)
            .map(|s| event(s, &format!("{name}-s{}", s % 4)))
            .collect();
        ws.send(Message::Text(
            serde_json::to_string(&RunnerMessage::Events { events: batch })
                .unwrap()
                .into(),
        ))
        .await
        .unwrap();
        seq = last + 1;
    }
    loop {
        if let HqMessage::Ack { seq } = next(ws).await
            && seq >= events
        {
            return;
        }
    }
}

fn raise_fd_limit() {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut l = getrlimit(Resource::Nofile);
    l.current = l.maximum;
    let _ = setrlimit(Resource::Nofile, l);
}

fn fanin() {
    raise_fd_limit();
    let n: usize = std::env::var("AGENTD_BENCH_RUNNERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000);
    let per_runner: u64 = 100;
    let names: Vec<String> = (0..n).map(|i| format!("r{i}")).collect();
    let mut specs: Vec<(&str, bool)> = names.iter().map(|n| (n.as_str(), true)).collect();
    specs.push(("solo", true));
    specs.push(("watcher", false));
    let (hq, tokens) = Hq::start(&specs);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let idle_kb = hq.rss_kb();
    rt.block_on(async {
        // Baseline: one runner sends n × per_runner events.
        let solo_events = n as u64 * per_runner;
        let mut solo = dial(&hq.addr, &tokens[n]).await;
        let t = Instant::now();
        send_all(&mut solo, "solo", solo_events).await;
        let solo_rate = solo_events as f64 / t.elapsed().as_secs_f64();

        let t = Instant::now();
        let sem = std::sync::Arc::new(tokio::sync::Semaphore::new(64));
        let mut dials = Vec::new();
        for token in &tokens[..n] {
            let token = token.clone();
            let addr = hq.addr.clone();
            let sem = sem.clone();
            dials.push(tokio::spawn(async move {
                let _p = sem.acquire().await.unwrap();
                dial(&addr, &token).await
            }));
        }
        let mut links = Vec::new();
        for d in dials {
            links.push(d.await.unwrap());
        }
        let connect = t.elapsed();
        let connected_kb = hq.rss_kb();
        // A subscriber (what a browser's board holds) receives the fan-in.
        let total = n as u64 * per_runner;
        let watcher = subscribe(&hq.addr, &tokens[n + 1]).await;
        let received = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counting = tokio::spawn(count_events(watcher, std::sync::Arc::clone(&received), total));
        let t = Instant::now();
        let mut sends = Vec::new();
        for (mut ws, name) in links.into_iter().zip(names.iter().cloned()) {
            sends.push(tokio::spawn(async move {
                send_all(&mut ws, &name, per_runner).await;
                ws
            }));
        }
        let mut links = Vec::new();
        for s in sends {
            links.push(s.await.unwrap());
        }
        let fan = t.elapsed();
        let rate = (n as u64 * per_runner) as f64 / fan.as_secs_f64();
        let cut = tokio::time::timeout(Duration::from_secs(60), counting)
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_else(|| "timed out".into());
        let got = received.load(std::sync::atomic::Ordering::Relaxed);
        let watched = t.elapsed();
        println!("fan-in: {n} runners × {per_runner} events (batches of 50)");
        println!(
            "  connect all: {} ({:.2} ms a runner, 64 dialling at once)",
            ms(connect),
            connect.as_secs_f64() * 1e3 / n as f64
        );
        println!(
            "  HQ RSS: {:.1} MB idle → {:.1} MB with {n} links → {:.1} MB after the fan-in",
            idle_kb as f64 / 1024.0,
            connected_kb as f64 / 1024.0,
            hq.rss_kb() as f64 / 1024.0
        );
        println!(
            "  events/s acknowledged: {rate:.0} from {n} runners; baseline one runner: {solo_rate:.0} ({:.2}×)",
            rate / solo_rate
        );
        println!(
            "  a GraphQL subscriber received {got} of {total} events ({:.0}/s until its last; {cut})",
            got as f64 / watched.as_secs_f64()
        );
        drop(links);
    });
}

/// A `graphql-transport-ws` subscription to every event, acknowledged.
async fn subscribe(addr: &str, token: &str) -> Ws {
    let mut req = format!("ws://{addr}{}", agentd_proto::hq::GRAPHQL_PATH)
        .into_client_request()
        .unwrap();
    req.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut ws, _) = tokio_tungstenite::client_async(req, tcp).await.unwrap();
    let init =
        json!({"type": "connection_init", "payload": {"authorization": format!("Bearer {token}")}});
    ws.send(Message::Text(init.to_string().into()))
        .await
        .unwrap();
    loop {
        if let Some(Ok(Message::Text(t))) = ws.next().await {
            assert!(t.as_str().contains("connection_ack"), "{t}");
            break;
        }
    }
    let sub = json!({"id": "1", "type": "subscribe", "payload": {"query":
        "subscription { events { runner event { seq } } }"}});
    ws.send(Message::Text(sub.to_string().into()))
        .await
        .unwrap();
    ws
}

/// Counts `next` messages until `total`, an error, or the end; says which.
async fn count_events(
    mut ws: Ws,
    received: std::sync::Arc<std::sync::atomic::AtomicU64>,
    total: u64,
) -> String {
    while let Some(Ok(m)) = ws.next().await {
        if let Message::Text(t) = m {
            if t.as_str().contains("\"next\"") && !t.as_str().contains("\"errors\"") {
                if received.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1 >= total {
                    return "all of them".into();
                }
            } else {
                return format!(
                    "stopped: {}",
                    t.as_str().chars().take(160).collect::<String>()
                );
            }
        }
    }
    "the socket ended".into()
}

fn hook(home: &Path, session: &str) -> Child {
    use std::io::Write;
    let payload = json!({"session_id": session, "hook_event_name": "PermissionRequest", "cwd": "/tmp",
        "tool_name": "Bash", "tool_input": {"command": "git push"}});
    let mut child = Command::new(env!("CARGO_BIN_EXE_agentd"))
        .env("AGENTD_HOME", home)
        .arg("hook")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(payload.to_string().as_bytes())
        .unwrap();
    child
}

fn decide() {
    let (hq, tokens) = Hq::start(&[("runner", true), ("ann", false)]);
    let (mut daemon, runner_dir, _, _) = runner(&hq, &tokens[0]);
    let socket = agentd_client::Paths::resolve(Some(runner_dir.path()))
        .unwrap()
        .socket;
    let mut local = agentd_client::Client::connect(&socket, Duration::from_secs(10)).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client =
        agentd_hq::client::HqClient::new(&format!("http://{}", hq.addr), &tokens[1], None).unwrap();
    let rounds = 50;
    let mut at_hq = Vec::new();
    let mut local_times = Vec::new();
    for i in 0..rounds * 2 {
        let via_hq = i % 2 == 0;
        let mut child = hook(runner_dir.path(), &format!("s{i}"));
        // Pending at HQ (so the decision can be routed) before the clock starts.
        let id = loop {
            let list: Vec<agentd_proto::hq::HqApprovalView> = rt
                .block_on(client.get_json(agentd_proto::hq::APPROVALS_PATH))
                .unwrap();
            if let Some(a) = list
                .into_iter()
                .find(|a| a.approval.approval.session_id == format!("s{i}"))
            {
                break a.approval.approval.id;
            }
            std::thread::sleep(Duration::from_millis(2));
        };
        let t = Instant::now();
        if via_hq {
            let body = json!({"decision": {"behavior": "allow"}});
            let _: serde_json::Value = rt
                .block_on(client.post_json(&agentd_proto::hq::decision_path(&id), &body))
                .unwrap();
        } else {
            let _: serde_json::Value = local
                .call(
                    agentd_proto::method::APPROVALS_DECIDE,
                    json!({"id": id, "decision": {"behavior": "allow"}}),
                )
                .unwrap();
        }
        child.wait().unwrap();
        if via_hq {
            at_hq.push(t.elapsed());
        } else {
            local_times.push(t.elapsed());
        }
    }
    at_hq.sort();
    local_times.sort();
    println!("approval decided → held `agentd hook` exits ({rounds} each, interleaved):");
    println!(
        "  at HQ (HTTP → HQ → link → runner): p50 {}  p99 {}",
        ms(percentile(&at_hq, 0.5)),
        ms(percentile(&at_hq, 0.99))
    );
    println!(
        "  on the runner's socket (baseline):  p50 {}  p99 {}",
        ms(percentile(&local_times, 0.5)),
        ms(percentile(&local_times, 0.99))
    );
    let _ = daemon.kill();
    let _ = daemon.wait();
}

/// A runner daemon linked to HQ with HTTP on a free port; (child, its
/// root, its HTTP address, its bearer token).
fn runner(hq: &Hq, token: &str) -> (Child, tempfile::TempDir, String, String) {
    let dir = tempfile::Builder::new().prefix("hqr").tempdir().unwrap();
    std::fs::write(
        dir.path().join("agentd.toml"),
        format!("[hq]\nurl = \"http://{}\"\ntoken = \"{token}\"\n", hq.addr),
    )
    .unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_agentd"))
        .env("AGENTD_HOME", dir.path())
        .env("AGENTD_HTTP_LISTEN", "127.0.0.1:0")
        .env("AGENTD_LOG", "warn")
        .env("AGENTD_INDEX", "off")
        .env("SHELL", "/bin/sh")
        .arg("serve")
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let socket = agentd_client::Paths::resolve(Some(dir.path()))
        .unwrap()
        .socket;
    let deadline = Instant::now() + Duration::from_secs(20);
    let (addr, linked) = loop {
        if let Ok(mut c) = agentd_client::Client::connect(&socket, Duration::from_secs(10))
            && let Ok(h) = c.call::<_, serde_json::Value>("health", json!({}))
        {
            let linked = h["hq"]["connected"] == json!(true);
            if let (Some(a), true) = (h["http_addr"].as_str(), linked) {
                break (a.to_owned(), linked);
            }
        }
        assert!(
            Instant::now() < deadline,
            "the runner did not start and link"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(linked);
    let bearer = std::fs::read_to_string(dir.path().join("token"))
        .unwrap()
        .trim()
        .to_owned();
    (child, dir, addr, bearer)
}

type TermWs =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A terminal WebSocket (its `hello` read).
async fn attach(url: &str, token: &str) -> TermWs {
    let mut req = url.into_client_request().unwrap();
    req.headers_mut()
        .insert("Authorization", format!("Bearer {token}").parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) if t.as_str().contains("\"hello\"") => break,
            Some(Ok(_)) => {}
            other => panic!("no hello: {other:?}"),
        }
    }
    ws
}

/// Reads output until `needle` has arrived (acknowledging every 64 KiB);
/// the bytes read.
async fn read_until(ws: &mut TermWs, needle: &[u8], offset: &mut u64) -> u64 {
    let mut tail: Vec<u8> = Vec::new();
    let mut n = 0u64;
    let mut acked = *offset;
    loop {
        match ws.next().await {
            Some(Ok(Message::Binary(b))) => {
                n += b.len() as u64;
                *offset += b.len() as u64;
                tail.extend_from_slice(&b);
                if tail.windows(needle.len()).any(|w| w == needle) {
                    return n;
                }
                let keep = tail.len().saturating_sub(needle.len());
                tail.drain(..keep);
                if *offset - acked >= 64 * 1024 {
                    acked = *offset;
                    let ack = json!({"type": "ack", "offset": acked}).to_string();
                    ws.send(Message::Text(ack.into())).await.unwrap();
                }
            }
            Some(Ok(_)) => {}
            other => panic!("the terminal ended: {other:?}"),
        }
    }
}

fn terminal() {
    let (hq, tokens) = Hq::start(&[("runner", true), ("ops", false)]);
    let (mut daemon, _dir, daemon_addr, bearer) = runner(&hq, &tokens[0]);
    let work = tempfile::tempdir().unwrap();
    let big = work.path().join("big.txt");
    {
        use std::io::Write;
        let mut f = std::io::BufWriter::new(std::fs::File::create(&big).unwrap());
        let line =
            "agentd terminal throughput line 0123456789 abcdefghijklmnopqrstuvwxyz ABCDEFGHIJ\n";
        let mut written = 0usize;
        while written < 100_000_000 {
            f.write_all(line.as_bytes()).unwrap();
            written += line.len();
        }
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client =
        agentd_hq::client::HqClient::new(&format!("http://{}", hq.addr), &tokens[1], None).unwrap();
    let start = || -> String {
        let body = json!({"kind": "shell", "cwd": work.path(), "cols": 120, "rows": 40});
        let t: agentd_proto::hq::HqTerminalView = rt
            .block_on(client.post_json(&agentd_proto::hq::terminals_path("runner"), &body))
            .unwrap();
        t.terminal.id
    };
    let (via_hq, local) = (start(), start());
    let hq_url = format!(
        "ws://{}{}/attach",
        hq.addr,
        agentd_proto::hq::terminal_path("runner", &via_hq)
    );
    let local_url = format!("ws://{daemon_addr}/terminals/{local}");
    let keys = 200;
    let echo = rt.block_on(async {
        let mut a = attach(&hq_url, &tokens[1]).await;
        let mut b = attach(&local_url, &bearer).await;
        let (mut oa, mut ob) = (0u64, 0u64);
        for (ws, off) in [(&mut a, &mut oa), (&mut b, &mut ob)] {
            ws.send(Message::Binary(
                b"stty raw -echo; echo READY-$((1+1)); exec cat\n"
                    .to_vec()
                    .into(),
            ))
            .await
            .unwrap();
            read_until(ws, b"READY-2", off).await;
        }
        let (mut ta, mut tb) = (Vec::new(), Vec::new());
        for _ in 0..keys {
            for (ws, off, times) in [(&mut a, &mut oa, &mut ta), (&mut b, &mut ob, &mut tb)] {
                let t = Instant::now();
                ws.send(Message::Binary(b"x".to_vec().into()))
                    .await
                    .unwrap();
                read_until(ws, b"x", off).await;
                times.push(t.elapsed());
            }
        }
        ta.sort();
        tb.sort();
        (ta, tb)
    });
    // Throughput: `cat` of the file in fresh shells, alternating, twice each.
    let cat = format!("cat {}; echo DONE-$((40+2))\n", big.display());
    let mut rates: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    for round in 0..4 {
        let which = round % 2;
        let id = start();
        let (url, token) = if which == 0 {
            (
                format!(
                    "ws://{}{}/attach",
                    hq.addr,
                    agentd_proto::hq::terminal_path("runner", &id)
                ),
                tokens[1].clone(),
            )
        } else {
            (format!("ws://{daemon_addr}/terminals/{id}"), bearer.clone())
        };
        let rate = rt.block_on(async {
            let mut ws = attach(&url, &token).await;
            let mut off = 0u64;
            ws.send(Message::Binary(b"echo READY-$((1+1))\n".to_vec().into()))
                .await
                .unwrap();
            read_until(&mut ws, b"READY-2", &mut off).await;
            let t = Instant::now();
            ws.send(Message::Binary(cat.clone().into_bytes().into()))
                .await
                .unwrap();
            let n = read_until(&mut ws, b"DONE-42", &mut off).await;
            n as f64 / 1e6 / t.elapsed().as_secs_f64()
        });
        rates[which].push(rate);
        let _: serde_json::Value = rt
            .block_on(client.delete_json(&agentd_proto::hq::terminal_path("runner", &id)))
            .unwrap_or_default();
    }
    let best = |v: &[f64]| v.iter().copied().fold(0.0f64, f64::max);
    let (mb_hq, mb_local) = (best(&rates[0]), best(&rates[1]));
    let (echo_hq, echo_local) = (echo.0, echo.1);
    println!("terminal through HQ (browser ⇄ HQ ⇄ runner ⇄ PTY) beside the runner's own socket:");
    println!(
        "  keystroke → echo, {keys} keys interleaved: via HQ p50 {} p99 {};  local p50 {} p99 {}",
        ms(percentile(&echo_hq, 0.5)),
        ms(percentile(&echo_hq, 0.99)),
        ms(percentile(&echo_local, 0.5)),
        ms(percentile(&echo_local, 0.99)),
    );
    println!(
        "  cat of a 100 MB file (best of 2 each, alternating): via HQ {mb_hq:.1} MB/s;  local {mb_local:.1} MB/s  ({:.2}×)",
        mb_hq / mb_local
    );
    let _ = daemon.kill();
    let _ = daemon.wait();
}

fn main() {
    let wanted = selection("agentd HQ benchmarks");
    if wanted("terminal") {
        terminal();
    }
    if wanted("decide") {
        decide();
    }
    if wanted("fanin") {
        fanin();
    }
}
