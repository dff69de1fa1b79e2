//! Plugin and MCP benchmarks. Run: `cargo bench -p agentd --bench plugins
//! [-- decide|reload|hook|mcp]`.
//!
//! * decide: one warm WAT policy plugin (`agentd_plugins::wat::match_policy`,
//!   a fresh instance per call, as in the daemon) deciding a Bash call,
//!   p50/p99, beside the rules-only judgement of the same call; and the
//!   cost of compiling a module (cold) and of preparing a cached one.
//! * reload: a plugin saved in a watched folder → the first `decide` that
//!   sees the new version, p50/p99 over 20 saves.
//! * hook: the PreToolUse hook round trip (`agentd-hook hook`, the binary
//!   Claude Code runs) against a daemon with three plugins deciding on Bash
//!   beside one with none, interleaved.
//! * mcp: `search_history` through `agentd mcp` (stdio, JSON-RPC lines)
//!   beside the same search over the socket (`search`), interleaved.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use agentd_plugins::{Plugins, Settings, StdHost, ToolCall, wat};
use common::{Daemon, ms, percentile, selection};
use serde_json::{Value, json};

fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

fn report(
    name: &str,
    mut times: Vec<Duration>,
    unit: fn(Duration) -> String,
) -> (Duration, Duration) {
    times.sort();
    let (p50, p99) = (percentile(&times, 0.5), percentile(&times, 0.99));
    println!(
        "  {name:<46} p50 {:>12}  p99 {:>12}  (n = {})",
        unit(p50),
        unit(p99),
        times.len()
    );
    (p50, p99)
}

fn write_plugin(dir: &std::path::Path, name: &str, wat: &str) {
    std::fs::write(
        dir.join(format!("{name}.toml")),
        format!("name = \"{name}\"\nversion = \"1\"\ntools = [\"Bash\"]\n"),
    )
    .unwrap();
    std::fs::write(dir.join(format!("{name}.wasm")), wat).unwrap();
}

fn decide() {
    println!("decide");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("plugins");
    std::fs::create_dir_all(&dir).unwrap();
    write_plugin(
        &dir,
        "no-rm",
        &wat::match_policy("rm -rf /", r#"{"decision":"deny","message":"no"}"#),
    );
    let host = Arc::new(StdHost::new(tmp.path().join("kv.db")));
    let p = Plugins::open(
        dir,
        tmp.path().join("state.json"),
        Settings::default(),
        host,
    )
    .unwrap();
    let input =
        json!({"command": "cargo test --workspace && git status", "description": "run the tests"});
    let call = ToolCall {
        tool: "Bash",
        input: &input,
        session: json!({"session_id": "s", "cost_usd": 1.5}),
        cwd: None,
    };
    let rules: Vec<agentd_claude::rules::Rule> =
        toml::from_str::<Value>("rules = [{rule = \"Bash(rm:*)\", action = \"deny\"}]")
            .ok()
            .and_then(|v| serde_json::from_value(v["rules"].clone()).ok())
            .unwrap_or_default();
    assert_eq!(rules.len(), 1, "the bench's rule parses");
    let rule_call = agentd_claude::rules::Call {
        tool: "Bash",
        input: &input,
        cwd: Some("/w"),
        home: Some("/home/me"),
    };
    for _ in 0..1000 {
        assert!(p.decide(&call)[0].failure.is_none());
    }
    let (mut plug, mut rule) = (Vec::new(), Vec::new());
    for _ in 0..20_000 {
        let t = Instant::now();
        let d = p.decide(&call);
        plug.push(t.elapsed());
        std::hint::black_box(d);
        let t = Instant::now();
        let r = agentd_claude::rules::evaluate(&rules, &rule_call);
        rule.push(t.elapsed());
        std::hint::black_box(r.is_some());
    }
    report("plugin decide (fresh instance, warm module)", plug, us);
    report("rules only (one rule, same call)", rule, us);
    // Compiling: a new module each time (cold), then the cached one.
    let rt = agentd_plugins::runtime::Runtime::new().unwrap();
    let (mut cold, mut warm) = (Vec::new(), Vec::new());
    for i in 0..30 {
        let text = wat::match_policy(&format!("needle-{i}"), r#"{"decision":"allow"}"#);
        let t = Instant::now();
        rt.prepare(text.as_bytes()).unwrap();
        cold.push(t.elapsed());
        let t = Instant::now();
        rt.prepare(text.as_bytes()).unwrap();
        warm.push(t.elapsed());
    }
    report("compile a module (cold)", cold, ms);
    report("prepare a cached module", warm, us);
}

fn reload() {
    println!("reload");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("plugins");
    let host = Arc::new(StdHost::new(tmp.path().join("kv.db")));
    let p = Arc::new(
        Plugins::open(
            dir.clone(),
            tmp.path().join("state.json"),
            Settings::default(),
            host,
        )
        .unwrap(),
    );
    let _w = agentd_plugins::watch::watch(Arc::clone(&p)).unwrap();
    let input = json!({"command": "rm x"});
    let call = ToolCall {
        tool: "Bash",
        input: &input,
        session: Value::Null,
        cwd: None,
    };
    let mut times = Vec::new();
    for i in 0..20 {
        let message = format!("v{i}");
        let answer = json!({"decision": "deny", "message": message}).to_string();
        let t = Instant::now();
        write_plugin(&dir, "p", &wat::match_policy("rm", &answer));
        loop {
            let d = p.decide(&call);
            if d.first()
                .map(|d| format!("{:?}", d.verdict))
                .is_some_and(|v| v.contains(&message))
            {
                break;
            }
            assert!(t.elapsed() < Duration::from_secs(30), "never reloaded");
            std::thread::sleep(Duration::from_millis(1));
        }
        times.push(t.elapsed());
    }
    report("save → new version deciding (watch + compile)", times, ms);
}

fn hook_once(home: &std::path::Path, payload: &[u8]) -> Duration {
    let t = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_agentd-hook"))
        .arg("hook")
        .env("AGENTD_HOME", home)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(payload).unwrap();
    assert!(child.wait().unwrap().success());
    t.elapsed()
}

fn hook() {
    println!("hook");
    let none = Daemon::start();
    let three = Daemon::start();
    let dir = three.dir.path().join("plugins");
    std::fs::create_dir_all(&dir).unwrap();
    for (i, name) in ["a-guard", "b-guard", "c-guard"].iter().enumerate() {
        write_plugin(
            &dir,
            name,
            &wat::match_policy(&format!("never-{i}"), r#"{"decision":"deny"}"#),
        );
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while three
        .client()
        .plugins()
        .map(|l| l.iter().filter(|p| p.state == "enabled").count())
        .unwrap_or(0)
        < 3
    {
        assert!(Instant::now() < deadline, "plugins did not load");
        std::thread::sleep(Duration::from_millis(20));
    }
    let payload = json!({"session_id": "5e55a0b1-0000-4000-8000-00000000b000", "hook_event_name": "PreToolUse",
        "cwd": "/tmp", "transcript_path": "/nonexistent/t.jsonl", "tool_name": "Bash",
        "tool_input": {"command": "cargo test"}, "tool_use_id": "toolu_1"}).to_string();
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..20 {
        hook_once(none.dir.path(), payload.as_bytes());
        hook_once(three.dir.path(), payload.as_bytes());
    }
    for _ in 0..400 {
        a.push(hook_once(none.dir.path(), payload.as_bytes()));
        b.push(hook_once(three.dir.path(), payload.as_bytes()));
    }
    let (n50, n99) = report("PreToolUse round trip, no plugins", a, ms);
    let (t50, t99) = report("PreToolUse round trip, three plugins", b, ms);
    let calls: u64 = three
        .client()
        .plugins()
        .unwrap()
        .iter()
        .map(|p| p.calls)
        .sum();
    println!(
        "  ratio p50 {:.2}×, p99 {:.2}× ({calls} plugin calls)",
        t50.as_secs_f64() / n50.as_secs_f64(),
        t99.as_secs_f64() / n99.as_secs_f64()
    );
}

fn mcp() {
    println!("mcp");
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("projects/-w-p");
    std::fs::create_dir_all(&root).unwrap();
    for s in 0..50 {
        let sid = format!("5e55a0b1-0000-4000-8000-{s:012}");
        let mut text = String::new();
        for i in 0..40 {
            let word = if i % 7 == 0 { "wombat" } else { "koala" };
            text.push_str(&format!(
                "{}\n",
                json!({"type": "user", "uuid": format!("{sid}-{i}"), "sessionId": sid, "timestamp": "2026-11-23T10:00:00.000Z",
                       "cwd": "/w/p", "message": {"role": "user", "content": format!("the {word} number {i} of session {s}")}})
            ));
        }
        std::fs::write(root.join(format!("{sid}.jsonl")), text).unwrap();
    }
    let projects = tmp.path().join("projects");
    let d = Daemon::start_with_env(&[("AGENTD_INDEX_ROOTS", projects.as_os_str())]);
    let mut client = d.client();
    let deadline = Instant::now() + Duration::from_secs(60);
    while client
        .index_status(false)
        .map(|s| s.state != "ready")
        .unwrap_or(true)
    {
        assert!(Instant::now() < deadline, "index not ready");
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut mcp = Command::new(env!("CARGO_BIN_EXE_agentd"))
        .arg("mcp")
        .env("AGENTD_HOME", d.dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut to = mcp.stdin.take().unwrap();
    let mut from = BufReader::new(mcp.stdout.take().unwrap());
    let mut line = String::new();
    let mut rpc = |msg: Value, answer: bool| -> Value {
        writeln!(to, "{msg}").unwrap();
        to.flush().unwrap();
        if !answer {
            return Value::Null;
        }
        line.clear();
        from.read_line(&mut line).unwrap();
        serde_json::from_str(&line).unwrap()
    };
    rpc(
        json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "bench", "version": "0"}}}),
        true,
    );
    rpc(
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        false,
    );
    let query = agentd_proto::history::SearchQuery {
        query: "wombat".into(),
        project: None,
        session_id: None,
        since_ms: None,
        until_ms: None,
        limit: Some(10),
        offset: None,
    };
    let (mut over_mcp, mut over_socket) = (Vec::new(), Vec::new());
    for i in 0..520u64 {
        let t = Instant::now();
        let r = rpc(
            json!({"jsonrpc": "2.0", "id": i + 1, "method": "tools/call", "params": {"name": "search_history", "arguments": {"query": "wombat"}}}),
            true,
        );
        let a = t.elapsed();
        assert!(
            r["result"]["content"][0]["text"]
                .as_str()
                .unwrap_or_default()
                .contains("wombat"),
            "{r}"
        );
        let t = Instant::now();
        let hits = client.search(&query).unwrap();
        let b = t.elapsed();
        assert_eq!(hits.len(), 10);
        if i >= 20 {
            over_mcp.push(a);
            over_socket.push(b);
        }
    }
    report("search_history through agentd mcp (stdio)", over_mcp, ms);
    report("search over the socket (search)", over_socket, ms);
    drop(to);
    let _ = mcp.wait();
}

fn main() {
    let run = selection("agentd plugin and MCP benchmarks");
    if run("decide") {
        decide();
    }
    if run("reload") {
        reload();
    }
    if run("hook") {
        hook();
    }
    if run("mcp") {
        mcp();
    }
}
