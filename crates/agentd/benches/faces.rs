//! The network faces under load (a bench binary, not timed tests). Run:
//!
//! ```sh
//! cargo bench -p agentd --bench faces             # all
//! cargo bench -p agentd --bench faces -- unary    # one: unary | stream | fanout
//! ```
//!
//! * `unary`: the first page of 200 sessions through JSON-RPC (socket, the
//!   baseline), GraphQL (HTTP/1.1) and gRPC (tonic over h2c), interleaved,
//!   each on a warm connection.
//! * `stream`: `ExecuteHooks` streaming a hook's 1 000 000 lines to one
//!   gRPC client, beside the in-process runner doing the same (baseline).
//! * `fanout`: 1 000 GraphQL WebSocket subscribers (`events`), event →
//!   every subscriber latency, and memory per subscriber.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use agentd_daemon::grpc::pb;
use common::{Daemon, ms, percentile};
use serde_json::{Value, json};

mod common;

fn main() {
    let wants = common::selection("agentd faces benchmarks");
    if wants("unary") {
        unary();
    }
    if wants("stream") {
        execute_hooks_stream();
    }
    if wants("fanout") {
        ws_fanout();
    }
}

/// A daemon with HTTP on a free loopback port; (daemon, address, token).
fn daemon_with_http() -> (Daemon, String, String) {
    let d = Daemon::start_with_env(&[("AGENTD_HTTP_LISTEN", std::ffi::OsStr::new("127.0.0.1:0"))]);
    let health: Value = d.client().call("health", json!({})).unwrap();
    let addr = health["http_addr"].as_str().unwrap().to_owned();
    let token = std::fs::read_to_string(d.dir.path().join("token"))
        .unwrap()
        .trim()
        .to_owned();
    (d, addr, token)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A tonic channel over h2c to `addr`.
fn channel(rt: &tokio::runtime::Runtime, addr: &str) -> tonic::transport::Channel {
    rt.block_on(
        tonic::transport::Channel::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect(),
    )
    .unwrap()
}

fn authorized<T>(msg: T, token: &str) -> tonic::Request<T> {
    let mut r = tonic::Request::new(msg);
    r.metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    r
}

/// One keep-alive HTTP/1.1 connection to the daemon's port.
struct Http {
    stream: std::net::TcpStream,
    reader: std::io::BufReader<std::net::TcpStream>,
    host: String,
    token: String,
}

impl Http {
    fn connect(addr: &str, token: String) -> Http {
        let stream = std::net::TcpStream::connect(addr).unwrap();
        stream.set_nodelay(true).unwrap();
        let reader = std::io::BufReader::new(stream.try_clone().unwrap());
        Http {
            stream,
            reader,
            host: addr.to_owned(),
            token,
        }
    }

    /// POSTs `body` to `path`; the response body (Content-Length framed).
    fn post(&mut self, path: &str, body: &str) -> Vec<u8> {
        use std::io::{BufRead, Read};
        write!(
            self.stream,
            "POST {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            self.host,
            self.token,
            body.len()
        )
        .unwrap();
        let mut len = 0usize;
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line).unwrap();
            if line == "\r\n" || line.is_empty() {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().unwrap();
            }
        }
        let mut buf = vec![0; len];
        self.reader.read_exact(&mut buf).unwrap();
        buf
    }
}

/// The same question — the first page of 200 sessions — through each face.
fn unary() {
    let (d, addr, token) = daemon_with_http();
    let mut c = d.client();
    for i in 0..200 {
        let _: Value = c
            .call(
                "hook.ingest",
                json!({"payload": {"session_id": format!("bench-{i:03}"), "hook_event_name": "UserPromptSubmit",
                    "cwd": format!("/w/p{}", i % 10), "prompt": "go"}}),
            )
            .unwrap();
    }
    let mut http = Http::connect(&addr, token.clone());
    let rt = runtime();
    let mut grpc = pb::session_service_client::SessionServiceClient::new(channel(&rt, &addr));
    let list = || {
        authorized(
            pb::ListSessionsRequest {
                history: Some(false),
                ..Default::default()
            },
            &token,
        )
    };
    let query = json!({"query": "{ sessions(history: false) { nodes { id status cwd model lastEventMs pendingApprovals } nextOffset } }"}).to_string();
    // Every field JSON-RPC sends: the same bytes of answer, near enough.
    let every = json!({"query": "{ sessions(history: false) { nodes { id agent status statusSinceMs cwd project gitBranch model permissionMode transcriptPath currentTool lastTool pendingApprovals prompts toolCalls subagents { agentId agentType active } contextPct costUsd tmuxPane pid endReason lastError firstEventMs lastEventMs lastSeq updatedAt startedAt live history { title firstPrompt models userMessages assistantMessages totalTokens subagents } } nextOffset } }"}).to_string();
    // Warm all.
    for _ in 0..50 {
        let _: Value = c
            .call("sessions.list", json!({"paged": true, "history": false}))
            .unwrap();
        http.post("/graphql", &query);
        rt.block_on(grpc.list(list())).unwrap();
    }
    let (mut rpc, mut gql, mut gql_all, mut grpc_lat) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..500 {
        let t = Instant::now();
        let page: Value = c
            .call("sessions.list", json!({"paged": true, "history": false}))
            .unwrap();
        rpc.push(t.elapsed());
        assert_eq!(page["sessions"].as_array().unwrap().len(), 200);
        let t = Instant::now();
        let body = http.post("/graphql", &query);
        gql.push(t.elapsed());
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            v["data"]["sessions"]["nodes"].as_array().unwrap().len(),
            200
        );
        let t = Instant::now();
        let body = http.post("/graphql", &every);
        gql_all.push(t.elapsed());
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            v["data"]["sessions"]["nodes"].as_array().unwrap().len(),
            200,
            "{v}"
        );
        let t = Instant::now();
        let r = rt.block_on(grpc.list(list())).unwrap();
        grpc_lat.push(t.elapsed());
        assert_eq!(r.into_inner().sessions.len(), 200);
    }
    for v in [&mut rpc, &mut gql, &mut gql_all, &mut grpc_lat] {
        v.sort();
    }
    println!("\n## Unary: `sessions` with 200 sessions, 500 calls each, interleaved");
    println!("| face | p50 | p99 | ÷ JSON-RPC p50 |");
    println!("|---|---:|---:|---:|");
    let base = percentile(&rpc, 0.5).as_secs_f64();
    for (name, lat) in [
        ("JSON-RPC `sessions.list` (socket, baseline)", &rpc),
        ("GraphQL `sessions`, 6 fields (HTTP/1.1 keep-alive)", &gql),
        ("GraphQL `sessions`, every field", &gql_all),
        ("gRPC `SessionService/List` (tonic, h2c)", &grpc_lat),
    ] {
        println!(
            "| {name} | {} | {} | {:.2}× |",
            ms(percentile(lat, 0.5)),
            ms(percentile(lat, 0.99)),
            percentile(lat, 0.5).as_secs_f64() / base
        );
    }
}

/// A project whose one Stop hook prints `lines` lines.
fn chatty_project(lines: u64) -> tempfile::TempDir {
    let p = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(p.path().join(".agentd")).unwrap();
    std::fs::write(
        p.path().join(".agentd/hooks.toml"),
        format!("[[hooks]]\nname = \"chatty\"\nevents = [\"Stop\"]\nargs = [\"seq\", \"1\", \"{lines}\"]\ntimeout = 600\n"),
    )
    .unwrap();
    p
}

/// `ExecuteHooks` to one gRPC client against the in-process runner.
fn execute_hooks_stream() {
    const LINES: u64 = 1_000_000;
    let project = chatty_project(LINES);
    let dir = project.path().canonicalize().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // Baseline: the runner in this process, counting lines as they come.
    let in_process = |rt: &tokio::runtime::Runtime| {
        let store_dir = tempfile::tempdir().unwrap();
        let store = agentd_hooks::store::Store::open(&store_dir.path().join("hooks.db")).unwrap();
        let engine = Arc::new(agentd_hooks::Engine::new(
            store,
            store_dir.path().join("logs"),
            2,
        ));
        let defs = agentd_hooks::def::project(&dir).unwrap();
        let req = agentd_hooks::Request {
            event: "Stop".into(),
            payload: json!({}),
            project_dir: dir.clone(),
            session_id: None,
            no_cache: true,
            only_dir: None,
            only_hooks: Vec::new(),
        };
        let n = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&n);
        let t = Instant::now();
        let out = rt.block_on(engine.execute(
            &defs,
            &req,
            Arc::new(move |e| {
                if let agentd_hooks::RunEvent::Output(_) = e {
                    counter.fetch_add(1, Ordering::Relaxed);
                }
            }),
        ));
        let took = t.elapsed();
        assert!(out.runs[0].passed);
        (n.load(Ordering::Relaxed), took)
    };
    let (d, addr, token) = daemon_with_http();
    let mut hooks = pb::hook_service_client::HookServiceClient::new(channel(&rt, &addr));
    let mut over_grpc = || {
        rt.block_on(async {
            let t = Instant::now();
            let mut stream = hooks
                .execute_hooks(authorized(
                    pb::ExecuteHooksRequest {
                        event: "Stop".into(),
                        cwd: dir.display().to_string(),
                        no_cache: true,
                        ..Default::default()
                    },
                    &token,
                ))
                .await
                .unwrap()
                .into_inner();
            let (mut lines, mut completed) = (0u64, 0u64);
            while let Some(m) = stream.message().await.unwrap() {
                match m.output {
                    Some(pb::hook_output::Output::Line(_)) => lines += 1,
                    Some(pb::hook_output::Output::Completed(_)) => completed += 1,
                    _ => {}
                }
            }
            assert_eq!(completed, 1);
            (lines, t.elapsed())
        })
    };
    println!("\n## ExecuteHooks: one hook printing {LINES} lines, 3 runs each, alternating");
    println!("| path | lines | time | lines/s | ÷ in-process |");
    println!("|---|---:|---:|---:|---:|");
    let (mut base, mut grpc) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        base.push(in_process(&rt));
        grpc.push(over_grpc());
    }
    let rate = |(n, t): &(u64, Duration)| *n as f64 / t.as_secs_f64();
    let median = |v: &mut Vec<(u64, Duration)>| {
        v.sort_by(|a, b| rate(a).total_cmp(&rate(b)));
        v[1]
    };
    let (b, g) = (median(&mut base), median(&mut grpc));
    for (name, r) in [
        ("in-process runner, observer counting (baseline)", b),
        ("gRPC `ExecuteHooks` to one tonic client (h2c)", g),
    ] {
        assert_eq!(r.0, LINES, "{name} lost lines");
        println!(
            "| {name} | {} | {} | {:.0} | {:.2}× |",
            r.0,
            ms(r.1),
            rate(&r),
            rate(&r) / rate(&b)
        );
    }
    drop(d);
}

/// One GraphQL WebSocket subscriber reading `events` on its own thread:
/// the latency of each event (now − the `t_ns` the sender put in it).
fn subscriber(
    addr: &str,
    token: &str,
    origin: Instant,
    events: usize,
) -> std::thread::JoinHandle<Vec<Duration>> {
    use tungstenite::client::IntoClientRequest;
    let stream = std::net::TcpStream::connect(addr).unwrap();
    stream.set_nodelay(true).unwrap();
    let mut req = format!("ws://{addr}/graphql")
        .into_client_request()
        .unwrap();
    req.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (mut ws, _) = tungstenite::client(req, stream).unwrap();
    ws.send(tungstenite::Message::text(
        json!({"type": "connection_init", "payload": {"authorization": format!("Bearer {token}")}})
            .to_string(),
    ))
    .unwrap();
    let ack = ws.read().unwrap();
    assert!(ack.to_text().unwrap().contains("connection_ack"), "{ack:?}");
    ws.send(tungstenite::Message::text(
        json!({"id": "1", "type": "subscribe", "payload": {"query": "subscription { events { seq payload } }"}}).to_string(),
    ))
    .unwrap();
    std::thread::Builder::new()
        .stack_size(128 << 10)
        .spawn(move || {
            let mut got = Vec::with_capacity(events);
            while got.len() < events {
                let m = ws.read().unwrap();
                let Ok(text) = m.to_text() else { continue };
                let now = origin.elapsed().as_nanos() as u64;
                if let Some(sent) = t_ns_of(text) {
                    got.push(Duration::from_nanos(now.saturating_sub(sent)));
                }
            }
            got
        })
        .unwrap()
}

/// One JSON-RPC subscriber (`events.subscribe` on the socket) read the
/// same way: the baseline for what 1 000 reader threads cost here.
fn socket_subscriber(
    d: &Daemon,
    origin: Instant,
    events: usize,
) -> std::thread::JoinHandle<Vec<Duration>> {
    use std::io::BufRead;
    let mut s = std::os::unix::net::UnixStream::connect(d.socket()).unwrap();
    s.write_all(b"{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{\"protocol_version\":\"1.0\"}}\n{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"events.subscribe\",\"params\":{}}\n").unwrap();
    let mut r = std::io::BufReader::new(s);
    std::thread::Builder::new()
        .stack_size(128 << 10)
        .spawn(move || {
            let mut got = Vec::with_capacity(events);
            let mut line = String::new();
            while got.len() < events {
                line.clear();
                if r.read_line(&mut line).unwrap() == 0 {
                    break;
                }
                let now = origin.elapsed().as_nanos() as u64;
                if let Some(sent) = t_ns_of(&line) {
                    got.push(Duration::from_nanos(now.saturating_sub(sent)));
                }
            }
            got
        })
        .unwrap()
}

/// The `t_ns` a sender put in an event, found without parsing the line.
fn t_ns_of(text: &str) -> Option<u64> {
    let at = text.find("\"t_ns\":")?;
    text[at + 7..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .ok()
}

/// 1 000 GraphQL WebSocket subscribers: event → every subscriber; and the
/// same with 1 000 JSON-RPC subscribers on the socket (baseline). Twice:
/// each subscriber a thread of this process, then all of them tasks of one
/// reader thread (so 1 000 threads do not compete with the daemon for the
/// two cores).
fn ws_fanout() {
    println!("\n## Fan-out: 1000 subscribers, 200 events (one per 20 ms)");
    println!(
        "| subscribers | readers | pairs delivered | p50 | p99 | max | daemon RSS before → with | per subscriber |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|");
    for graphql in [false, true] {
        fanout_round(graphql, false);
    }
    for graphql in [false, true] {
        fanout_round(graphql, true);
    }
}

const FANOUT_SUBSCRIBERS: usize = 1000;
const FANOUT_EVENTS: usize = 200;

/// One fan-out round: subscribe everyone, send the events, report.
fn fanout_round(graphql: bool, tasks: bool) {
    let (d, addr, token) = daemon_with_http();
    let origin = Instant::now();
    let rss_before = d.status_kb("VmRSS:");
    let readers: Box<dyn FnOnce() -> Vec<Duration>> = if tasks {
        let socket = d.socket();
        let handle = std::thread::spawn(move || {
            runtime().block_on(async move {
                let mut spawned = Vec::new();
                for _ in 0..FANOUT_SUBSCRIBERS {
                    let (addr, token, socket) = (addr.clone(), token.clone(), socket.clone());
                    spawned.push(tokio::spawn(async move {
                        if graphql {
                            ws_task(&addr, &token, origin, FANOUT_EVENTS).await
                        } else {
                            socket_task(&socket, origin, FANOUT_EVENTS).await
                        }
                    }));
                }
                let mut all = Vec::new();
                for t in spawned {
                    all.extend(t.await.unwrap());
                }
                all
            })
        });
        Box::new(move || handle.join().unwrap())
    } else {
        let threads: Vec<_> = (0..FANOUT_SUBSCRIBERS)
            .map(|_| {
                if graphql {
                    subscriber(&addr, &token, origin, FANOUT_EVENTS)
                } else {
                    socket_subscriber(&d, origin, FANOUT_EVENTS)
                }
            })
            .collect();
        Box::new(move || {
            threads
                .into_iter()
                .flat_map(|r| r.join().unwrap())
                .collect()
        })
    };
    let mut c = d.client();
    // Every subscription is live before the first event.
    let t = Instant::now();
    loop {
        let h: Value = c.call("health", json!({})).unwrap();
        if h["limits"]["subscribers"].as_u64().unwrap_or(0) >= FANOUT_SUBSCRIBERS as u64 {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(120), "subscribers: {h}");
        std::thread::sleep(Duration::from_millis(50));
    }
    let rss_subscribed = d.status_kb("VmRSS:");
    for i in 0..FANOUT_EVENTS {
        let t_ns = origin.elapsed().as_nanos() as u64;
        let _: Value = c
            .call(
                "hook.ingest",
                json!({"payload": {"session_id": format!("s{}", i % 10),
                "hook_event_name": "PostToolUse", "tool_name": "Bash", "t_ns": t_ns}}),
            )
            .unwrap();
        // One event every 20 ms: latency, not throughput.
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut all = readers();
    all.sort();
    let per_sub_kb = rss_subscribed.saturating_sub(rss_before) as f64 / FANOUT_SUBSCRIBERS as f64;
    let name = if graphql {
        "GraphQL `events` over WebSocket"
    } else {
        "JSON-RPC `events.subscribe` (socket, baseline)"
    };
    let readers = if tasks {
        "one thread, 1000 tasks"
    } else {
        "1000 threads"
    };
    println!(
        "| {name} | {readers} | {} of {} | {} | {} | {} | {:.1} → {:.1} MB | {per_sub_kb:.1} KB |",
        all.len(),
        FANOUT_SUBSCRIBERS * FANOUT_EVENTS,
        ms(percentile(&all, 0.5)),
        ms(percentile(&all, 0.99)),
        ms(*all.last().unwrap()),
        rss_before as f64 / 1024.0,
        rss_subscribed as f64 / 1024.0
    );
    let _ = std::io::stdout().flush();
}

/// A GraphQL WebSocket subscriber as a task: each event's latency.
async fn ws_task(addr: &str, token: &str, origin: Instant, events: usize) -> Vec<Duration> {
    use futures_util::{SinkExt, StreamExt};
    use tungstenite::client::IntoClientRequest;
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let mut req = format!("ws://{addr}/graphql")
        .into_client_request()
        .unwrap();
    req.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (mut ws, _) = tokio_tungstenite::client_async(req, stream).await.unwrap();
    ws.send(tungstenite::Message::text(
        json!({"type": "connection_init", "payload": {"authorization": format!("Bearer {token}")}})
            .to_string(),
    ))
    .await
    .unwrap();
    let ack = ws.next().await.unwrap().unwrap();
    assert!(ack.to_text().unwrap().contains("connection_ack"), "{ack:?}");
    ws.send(tungstenite::Message::text(
        json!({"id": "1", "type": "subscribe", "payload": {"query": "subscription { events { seq payload } }"}})
            .to_string(),
    ))
    .await
    .unwrap();
    let mut got = Vec::with_capacity(events);
    while got.len() < events {
        let Some(Ok(m)) = ws.next().await else { break };
        let now = origin.elapsed().as_nanos() as u64;
        if let Ok(text) = m.to_text()
            && let Some(sent) = t_ns_of(text)
        {
            got.push(Duration::from_nanos(now.saturating_sub(sent)));
        }
    }
    got
}

/// A JSON-RPC subscriber as a task: each event's latency.
async fn socket_task(socket: &std::path::Path, origin: Instant, events: usize) -> Vec<Duration> {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
    let mut s = tokio::net::UnixStream::connect(socket).await.unwrap();
    s.write_all(b"{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{\"protocol_version\":\"1.0\"}}\n{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"events.subscribe\",\"params\":{}}\n")
        .await
        .unwrap();
    let mut lines = tokio::io::BufReader::new(s).lines();
    let mut got = Vec::with_capacity(events);
    while got.len() < events {
        let Ok(Some(line)) = lines.next_line().await else {
            break;
        };
        let now = origin.elapsed().as_nanos() as u64;
        if let Some(sent) = t_ns_of(&line) {
            got.push(Duration::from_nanos(now.saturating_sub(sent)));
        }
    }
    got
}
