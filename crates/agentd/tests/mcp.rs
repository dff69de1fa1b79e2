//! agentd's MCP server, driven by clients nobody here wrote: the official
//! Python SDK (PyPI `mcp`) over stdio (`agentd mcp`) and streamable HTTP
//! (`/mcp`), raw JSON-RPC lines for the older protocol versions, and the
//! real Claude Code calling `search_history` and `ask_human` as the fake
//! Messages API scripts it.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use agentd_proto::method;
use serde_json::{Value, json};
use support::{TestDaemon, python, run, wait_for};

const SESSION: &str = "5e55a0b1-0000-4000-8000-00000000c0de";
const LIVE: &str = "5e55a0b1-0000-4000-8000-0000000011fe";

/// A history with one past session that decided something memorable.
fn history(root: &Path) {
    let dir = root.join("-w-api");
    std::fs::create_dir_all(&dir).unwrap();
    let lines = [
        json!({"type": "user", "uuid": "u1", "sessionId": SESSION, "timestamp": "2026-11-20T10:00:00.000Z", "cwd": "/w/api",
               "message": {"role": "user", "content": "Which store for the session cache?"}}),
        json!({"type": "assistant", "uuid": "a1", "sessionId": SESSION, "timestamp": "2026-11-20T10:00:05.000Z", "requestId": "req_1",
               "message": {"id": "msg_1", "role": "assistant", "model": "claude-sonnet-4-5",
                           "content": [{"type": "text", "text": "We decided: the session cache lives in PostgreSQL, keyed by tenant."}],
                           "usage": {"input_tokens": 1200, "output_tokens": 340}}}),
    ];
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(dir.join(format!("{SESSION}.jsonl")), text).unwrap();
}

fn daemon_with_history() -> (tempfile::TempDir, TestDaemon) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("projects");
    history(&root);
    let home = tmp.path().join("home");
    let d = TestDaemon::start_with_env(
        &home,
        vec![("AGENTD_INDEX_ROOTS".into(), root.display().to_string())],
    );
    let out = run(&d.home, &["index", "--wait"], None);
    assert!(out.status.success(), "{out:?}");
    (tmp, d)
}

/// A live session the daemon knows (SessionStart through the hook).
fn live_session(d: &TestDaemon) {
    let start = json!({"session_id": LIVE, "hook_event_name": "SessionStart", "cwd": "/w/live",
                       "transcript_path": "/nonexistent/x.jsonl", "source": "startup"});
    let out = run(&d.home, &["hook"], Some(start.to_string().as_bytes()));
    assert!(out.status.success(), "{out:?}");
}

fn addr(d: &TestDaemon) -> String {
    let h: Value = d.client().call(method::HEALTH, json!({})).unwrap();
    h["http_addr"].as_str().unwrap().to_owned()
}

fn token(d: &TestDaemon) -> String {
    std::fs::read_to_string(d.paths().token)
        .unwrap()
        .trim()
        .to_owned()
}

fn client_script() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mcp/client.py")
}

/// The SDK client over stdio (`agentd --home H mcp`) running `steps`.
fn sdk_stdio(d: &TestDaemon, steps: &Value) -> Value {
    let home = d.home.display().to_string();
    sdk(
        &["stdio", support::bin().to_str().unwrap(), "--home", &home],
        steps,
    )
}

/// The SDK client over streamable HTTP running `steps`.
fn sdk_http(d: &TestDaemon, steps: &Value) -> Value {
    let url = format!("http://{}/mcp", addr(d));
    sdk(&["http", &url, &token(d)], steps)
}

fn sdk(args: &[&str], steps: &Value) -> Value {
    let mut cmd = Command::new(python());
    cmd.arg(client_script()).args(args);
    client(cmd, steps)
}

/// Runs an MCP client command that reads `steps` on stdin and prints one
/// JSON object; that object.
fn client(mut cmd: Command, steps: &Value) -> Value {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(steps.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "MCP client {cmd:?}: {out:?}");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out:?}"))
}

/// The official TypeScript SDK (npm `@modelcontextprotocol/sdk`, pinned in
/// `scripts/install-node-clients.sh`) running `steps` with `args` as
/// `client.mjs` takes them.
fn node_sdk(args: &[&str], steps: &Value) -> Value {
    static MODULES: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    let modules = MODULES
        .get_or_init(|| support::install("install-node-clients.sh", "the MCP TypeScript SDK"));
    let mut cmd = Command::new("node");
    cmd.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mcp/client.mjs"))
        .args(args)
        .env("NODE_PATH", modules);
    client(cmd, steps)
}

const TOOLS: [&str; 8] = [
    "ask_human",
    "get_answer",
    "get_transcript",
    "index_memory",
    "list_sessions",
    "search_history",
    "search_memory",
    "usage",
];

fn text_of(r: &Value, i: usize) -> &str {
    assert_eq!(r["results"][i]["is_error"], json!(false), "step {i}: {r}");
    r["results"][i]["text"].as_str().unwrap()
}

fn question_id(text: &str) -> String {
    let at = text
        .find("apr_")
        .unwrap_or_else(|| panic!("no question id in {text}"));
    text[at..at + 20].to_owned()
}

#[test]
fn the_official_sdk_calls_every_tool_over_stdio_and_http() {
    let (_tmp, d) = daemon_with_history();
    live_session(&d);
    let steps = json!([
        {"call": "search_history", "args": {"query": "session cache PostgreSQL"}},
        {"call": "get_transcript", "args": {"session_id": &SESSION[..13]}},
        {"call": "list_sessions", "args": {}},
        {"call": "usage", "args": {"by": "model"}},
        {"call": "index_memory", "args": {"title": "Cache decision", "text": "The session cache is PostgreSQL, keyed by tenant; Redis was rejected.", "tags": ["adr"]}},
        {"call": "search_memory", "args": {"query": "Redis rejected"}},
        {"call": "ask_human", "args": {"question": "Deploy to staging now?", "options": ["yes", "no"], "session_id": LIVE, "wait_s": 0}},
        {"call": "search_history", "args": {"query": "cache", "since": "yesterday"}},
        {"call": "get_transcript", "args": {"session_id": "no-such-session"}},
        {"call": "usage", "args": {"by": "planet"}},
        {"call": "ask_human", "args": {"question": "Who am I?"}},
        {"read": format!("agentd://sessions/{SESSION}")},
        {"call": "search_history", "args": {}},
    ]);
    let r = sdk_stdio(&d, &steps);
    assert_eq!(r["server"], "agentd", "{r}");
    let tools: Vec<&str> = r["tools"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(tools, TOOLS, "{r}");
    assert!(
        r["tools"]["search_history"]
            .as_array()
            .unwrap()
            .contains(&json!("query")),
        "{r}"
    );
    assert!(
        r["resources"]
            .as_array()
            .unwrap()
            .contains(&json!(format!("agentd://sessions/{SESSION}"))),
        "{r}"
    );

    let hits = text_of(&r, 0);
    assert!(
        hits.contains(SESSION)
            && hits.contains("«PostgreSQL»")
            && hits.contains("2026-11-20T10:00:05Z"),
        "a hit cites its session and time: {hits}"
    );
    let transcript = text_of(&r, 1);
    assert!(
        transcript.contains("Which store for the session cache?")
            && transcript.contains("#1 [2026-11-20T10:00:05Z] assistant"),
        "{transcript}"
    );
    let sessions = text_of(&r, 2);
    assert!(
        sessions.contains(LIVE) && sessions.contains(SESSION),
        "{sessions}"
    );
    // Most recent first: the live one reported just now.
    assert!(sessions.find(LIVE) < sessions.find(SESSION), "{sessions}");
    let usage = text_of(&r, 3);
    assert!(
        usage.contains("claude-sonnet-4-5") && usage.contains("1540 tokens"),
        "{usage}"
    );
    assert!(text_of(&r, 4).contains("Cache decision"), "{r}");
    let memory = text_of(&r, 5);
    assert!(
        memory.contains("Cache decision") && memory.contains("«Redis»"),
        "{memory}"
    );
    let pending = text_of(&r, 6);
    assert!(pending.contains("No answer yet"), "{pending}");
    let id = question_id(pending);

    // What the model got wrong comes back as tool errors it can read.
    for (i, what) in [
        (7, "not a time"),
        (8, "no-such-session"),
        (9, "planet"),
        (10, "session_id"),
    ] {
        assert_eq!(r["results"][i]["is_error"], json!(true), "step {i}: {r}");
        let text = r["results"][i]["text"].as_str().unwrap();
        assert!(text.contains(what), "step {i}: {text}");
    }
    let summary = r["results"][11]["text"].as_str().unwrap();
    assert!(
        summary.contains(SESSION) && summary.contains("First messages"),
        "{summary}"
    );
    assert!(
        r["results"][12]["error"].is_string() || r["results"][12]["is_error"] == json!(true),
        "{r}"
    );

    // The question is in every approval queue, on the live session.
    let out = run(&d.home, &["approvals", "--json"], None);
    let pending: Value = serde_json::from_slice(&out.stdout).unwrap();
    let q = pending
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == id.as_str())
        .unwrap_or_else(|| panic!("{id} not pending: {pending}"));
    assert_eq!(q["session_id"], LIVE);
    assert_eq!(q["origin"], "ask_human");
    assert_eq!(
        q["tool_input"]["questions"][0]["question"],
        "Deploy to staging now?"
    );

    // Answered from the CLI; read over HTTP by another client.
    let out = run(&d.home, &["answer", &id, "yes"], None);
    assert!(out.status.success(), "{out:?}");
    let r = sdk_http(
        &d,
        &json!([{"call": "get_answer", "args": {"id": id, "wait_s": 5}}]),
    );
    assert_eq!(r["tools"].as_object().unwrap().len(), TOOLS.len(), "{r}");
    assert!(text_of(&r, 0).starts_with("The user answered"), "{r}");
    assert!(text_of(&r, 0).ends_with(": yes"), "{r}");

    // A question asked over HTTP waits in the call until it is answered.
    let url = format!("http://{}/mcp", addr(&d));
    let tok = token(&d);
    let waiting = std::thread::spawn(move || {
        sdk(
            &["http", &url, &tok],
            &json!([{"call": "ask_human", "args": {"question": "Which region?", "session_id": LIVE, "wait_s": 120}}]),
        )
    });
    let id = wait_for(
        "the question to be pending",
        Duration::from_secs(60),
        || {
            let out = run(&d.home, &["approvals", "--json"], None);
            let v: Value = serde_json::from_slice(&out.stdout).ok()?;
            v.as_array()?
                .iter()
                .find(|a| a["tool_input"]["questions"][0]["question"] == "Which region?")
                .map(|a| a["id"].as_str().unwrap().to_owned())
        },
    );
    let out = run(&d.home, &["answer", &id, "eu-west-1"], None);
    assert!(out.status.success(), "{out:?}");
    let r = waiting.join().unwrap();
    assert!(text_of(&r, 0).ends_with(": eu-west-1"), "{r}");
    // The session went back to work when its question was answered.
    let s: Value = d
        .client()
        .call(method::SESSIONS_GET, json!({"id": LIVE}))
        .unwrap();
    assert_ne!(s["status"], "needs_approval", "{s}");
}

#[test]
fn the_typescript_sdk_gets_what_the_python_sdk_gets_over_stdio_and_http() {
    let (_tmp, d) = daemon_with_history();
    live_session(&d);
    let steps = json!([
        {"call": "search_history", "args": {"query": "session cache PostgreSQL"}},
        {"call": "get_transcript", "args": {"session_id": &SESSION[..13]}},
        {"call": "list_sessions", "args": {}},
        {"call": "usage", "args": {"by": "model"}},
        {"call": "usage", "args": {"by": "planet"}},
        {"read": format!("agentd://sessions/{SESSION}")},
        {"call": "search_history", "args": {}},
    ]);
    let py = sdk_stdio(&d, &steps);
    assert!(
        text_of(&py, 0).contains("«PostgreSQL»"),
        "the Python SDK's answer: {py}"
    );
    let home = d.home.display().to_string();
    let url = format!("http://{}/mcp", addr(&d));
    let stdio = node_sdk(
        &["stdio", support::bin().to_str().unwrap(), "--home", &home],
        &steps,
    );
    let http = node_sdk(&["http", &url, &token(&d)], &steps);
    for (how, r) in [("stdio", &stdio), ("http", &http)] {
        assert_eq!(r["server"], "agentd", "{how}: {r}");
        assert_eq!(r["instructions"], py["instructions"], "{how}");
        for k in ["tools", "resources", "results"] {
            assert_eq!(r[k], py[k], "{how}: {k} differ from the Python SDK's");
        }
    }
    // Errors the model can fix are tool errors in both SDKs.
    assert_eq!(stdio["results"][4]["is_error"], json!(true), "{stdio}");
}

#[test]
fn mcp_over_http_needs_the_token() {
    let d = TestDaemon::start();
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"x","version":"1"}}}"#;
    let headers = [
        ("Host", "127.0.0.1"),
        ("Content-Type", "application/json"),
        ("Accept", "application/json, text/event-stream"),
    ];
    let (status, _) = support::http(&addr(&d), "POST /mcp", &headers, body);
    assert_eq!(status, 401);
    let bad = [
        ("Host", "127.0.0.1"),
        ("Content-Type", "application/json"),
        ("Accept", "application/json, text/event-stream"),
        ("Authorization", "Bearer wrong"),
    ];
    let (status, _) = support::http(&addr(&d), "POST /mcp", &bad, body);
    assert_eq!(status, 401);
    let auth = format!("Bearer {}", token(&d));
    let good = [
        ("Host", "127.0.0.1"),
        ("Content-Type", "application/json"),
        ("Accept", "application/json, text/event-stream"),
        ("Authorization", auth.as_str()),
    ];
    let (status, text) = support::http(&addr(&d), "POST /mcp", &good, body);
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("\"agentd\""), "{text}");
}

/// `agentd mcp` as a raw line protocol.
struct Raw {
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    stdout: BufReader<std::process::ChildStdout>,
}

impl Raw {
    fn start(d: &TestDaemon) -> Raw {
        let mut child = support::agentd_cmd(&d.home)
            .arg("mcp")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Raw {
            child,
            stdin,
            stdout,
        }
    }

    fn send(&mut self, line: &str) {
        self.stdin.write_all(line.as_bytes()).unwrap();
        self.stdin.write_all(b"\n").unwrap();
        self.stdin.flush().unwrap();
    }

    fn recv(&mut self) -> Value {
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"))
    }
}

#[test]
fn older_protocol_versions_are_served_and_a_bad_line_breaks_nothing() {
    let d = TestDaemon::start();
    for version in ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"] {
        let mut raw = Raw::start(&d);
        raw.send("this is not JSON");
        raw.send(
            &json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                "protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}}})
            .to_string(),
        );
        let init = raw.recv();
        assert_eq!(init["id"], 1, "{init}");
        assert_eq!(init["result"]["protocolVersion"], version, "{init}");
        raw.send(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
        raw.send(r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#);
        let list = raw.recv();
        let names: Vec<&str> = list["result"]["tools"]
            .as_array()
            .unwrap_or_else(|| panic!("{list}"))
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        assert_eq!(names.len(), TOOLS.len(), "{list}");
        raw.send(
            r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"list_sessions","arguments":{}}}"#,
        );
        let r = raw.recv();
        assert_eq!(r["id"], 3, "{r}");
        assert_eq!(r["result"]["content"][0]["text"], "No sessions.", "{r}");
        // Closing stdin ends the session and the process.
        drop(raw.stdin);
        let status = wait_for("agentd mcp to exit", Duration::from_secs(20), || {
            raw.child.try_wait().ok().flatten()
        });
        assert!(status.success(), "{status:?}");
    }
    // The daemon served on.
    let h: Value = d.client().call(method::HEALTH, json!({})).unwrap();
    assert_eq!(h["status"], "ok", "{h}");
}

#[test]
fn agentd_mcp_without_a_daemon_says_how_to_start_it() {
    let home = tempfile::tempdir().unwrap();
    let out = run(home.path(), &["mcp"], Some(b""));
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(out.stdout.is_empty(), "stdout is the protocol's: {out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("agentd start"), "{err}");
}

#[test]
fn install_registers_the_server_for_the_real_claude_code_once() {
    let d = TestDaemon::start();
    let user = tempfile::tempdir().unwrap();
    let claude_json = user.path().join(".claude.json");
    std::fs::write(&claude_json, r#"{"numStartups": 7, "mcpServers": {"other": {"type": "stdio", "command": "true", "args": []}}}"#).unwrap();
    let install = || {
        support::agentd_cmd(&d.home)
            .env("HOME", user.path())
            .env_remove("CLAUDE_CONFIG_DIR")
            .args(["install", "--mcp"])
            .output()
            .unwrap()
    };
    let out = install();
    assert!(out.status.success(), "{out:?}");
    let out = install();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("already registered"),
        "{out:?}"
    );
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&claude_json).unwrap()).unwrap();
    assert_eq!(doc["numStartups"], 7);
    assert_eq!(doc["mcpServers"]["other"]["command"], "true");
    let args = doc["mcpServers"]["agentd"]["args"].as_array().unwrap();
    assert_eq!(args.last().unwrap(), "mcp", "{doc}");
    // The real Claude Code reads it and reaches the server.
    let claude = support::claude::claude_bin();
    let out = Command::new(&claude)
        .args(["mcp", "get", "agentd"])
        .env("HOME", user.path())
        .env_remove("CLAUDE_CONFIG_DIR")
        .env("DISABLE_AUTOUPDATER", "1")
        .current_dir(user.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(text.contains("Connected") || text.contains("✓"), "{text}");
    let out = support::agentd_cmd(&d.home)
        .env("HOME", user.path())
        .env_remove("CLAUDE_CONFIG_DIR")
        .args(["uninstall", "--mcp"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&claude_json).unwrap()).unwrap();
    assert!(doc["mcpServers"].get("agentd").is_none(), "{doc}");
    assert_eq!(doc["mcpServers"]["other"]["command"], "true");
}

/// `--mcp-config` naming `agentd mcp` for this daemon.
fn mcp_config(d: &TestDaemon) -> String {
    json!({"mcpServers": {"agentd": {
        "command": support::bin(),
        "args": ["--home", d.home, "mcp"],
    }}})
    .to_string()
}

/// The text of the `tool_result` Claude Code fed back for its MCP call.
fn tool_result_text(stream: &[Value]) -> String {
    stream
        .iter()
        .filter(|m| m["type"] == "user")
        .flat_map(|m| {
            m["message"]["content"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter(|b| b["type"] == "tool_result")
        .map(|b| match &b["content"] {
            Value::String(s) => s.clone(),
            Value::Array(parts) => parts
                .iter()
                .filter_map(|p| p["text"].as_str())
                .collect::<Vec<_>>()
                .join(""),
            other => other.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn real_claude_code_searches_its_past_through_mcp() {
    use support::claude::ClaudeUser;
    let script = fake_anthropic::Script {
        tool_call: Some((
            "mcp__agentd__search_history".into(),
            json!({"query": "session cache PostgreSQL"}),
        )),
        final_text: "found the decision".into(),
        ..fake_anthropic::Script::default()
    };
    let d0 = TestDaemon::start();
    let user = ClaudeUser::with_script(&d0.home, script);
    drop(d0);
    // The daemon indexes this user's transcripts; an earlier session is there.
    let tmp = tempfile::tempdir().unwrap();
    history(&user.projects());
    let d = TestDaemon::start_with_env(&tmp.path().join("home"), user.daemon_env());
    // Hooks report to this daemon's root.
    let out = support::agentd_cmd(&d.home)
        .env("HOME", user.home())
        .env_remove("CLAUDE_CONFIG_DIR")
        .arg("install")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let out = run(&d.home, &["index", "--wait"], None);
    assert!(out.status.success(), "{out:?}");

    let config = mcp_config(&d);
    let (out, stream) = user.headless_with(
        "what did we decide about the session cache?",
        &[
            "--mcp-config",
            &config,
            "--strict-mcp-config",
            "--allowedTools",
            "mcp__agentd__search_history",
        ],
    );
    assert!(out.status.success(), "{out:?}");
    let result = tool_result_text(&stream);
    assert!(
        result.contains(SESSION) && result.contains("«PostgreSQL»"),
        "Claude Code got the earlier session's hit: {result}\n{stream:?}"
    );
    assert!(
        stream
            .iter()
            .any(|m| m["type"] == "result" && m["result"] == "found the decision"),
        "{stream:?}"
    );
}

#[test]
fn real_claude_code_asks_a_human_and_gets_the_answer_given_with_agentd_answer() {
    use support::claude::{ClaudeUser, session_id_of};
    let script = fake_anthropic::Script {
        tool_call: Some((
            "mcp__agentd__ask_human".into(),
            json!({"question": "Ship the migration tonight?", "options": ["ship", "wait"]}),
        )),
        final_text: "ok, as you said".into(),
        ..fake_anthropic::Script::default()
    };
    let d = TestDaemon::start();
    let user = ClaudeUser::with_script(&d.home, script);
    let config = mcp_config(&d);
    let claude = std::thread::spawn(move || {
        let r = user.headless_with(
            "ask me before shipping",
            &[
                "--mcp-config",
                &config,
                "--strict-mcp-config",
                "--allowedTools",
                "mcp__agentd__ask_human",
            ],
        );
        (user, r)
    });
    let question = wait_for(
        "the question to be pending",
        Duration::from_secs(120),
        || {
            let out = run(&d.home, &["approvals", "--json"], None);
            let v: Value = serde_json::from_slice(&out.stdout).ok()?;
            v.as_array()?
                .iter()
                .find(|a| a["origin"] == "ask_human")
                .cloned()
        },
    );
    assert_eq!(
        question["tool_input"]["questions"][0]["question"],
        "Ship the migration tonight?"
    );
    // Asked by the session whose agent runs `agentd mcp`: it needs the user.
    let session = question["session_id"].as_str().unwrap().to_owned();
    let s: Value = d
        .client()
        .call(method::SESSIONS_GET, json!({"id": session}))
        .unwrap();
    assert_eq!(s["status"], "needs_approval", "{s}");
    let id = question["id"].as_str().unwrap();
    let out = run(&d.home, &["answer", id, "ship"], None);
    assert!(out.status.success(), "{out:?}");
    let (_user, (out, stream)) = claude.join().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(session_id_of(&stream), session);
    let result = tool_result_text(&stream);
    // After ToolSearch's result (Claude Code defers MCP tools), ask_human's.
    let answer = result.lines().last().unwrap_or_default();
    assert!(
        answer.starts_with("The user answered") && answer.ends_with(": ship"),
        "{result}"
    );
}
