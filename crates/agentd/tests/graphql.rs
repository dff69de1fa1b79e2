//! The GraphQL face (`POST /graphql`) against the real daemon: the same
//! answers as JSON-RPC, one approval decided here and seen resolved
//! everywhere, and bad requests refused with clear errors while the daemon
//! keeps serving.

mod support;

use std::io::{Read, Write};
use std::time::Duration;

use agentd_proto::method;
use serde_json::{Value, json};
use support::claude::{ClaudeUser, session_id_of};
use support::{TestDaemon, python, run, wait_for};

/// One HTTP/1.1 request to the daemon's port; the status and the body.
fn http(d: &TestDaemon, headers: &[(&str, &str)], body: &str) -> (u16, String) {
    let health: Value = d.client().call(method::HEALTH, json!({})).unwrap();
    let addr = health["http_addr"].as_str().unwrap().to_owned();
    let mut s = std::net::TcpStream::connect(&addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut req = format!(
        "POST /graphql HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_owned()
    };
    (status, body)
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}

fn token(d: &TestDaemon) -> String {
    std::fs::read_to_string(d.paths().token)
        .unwrap()
        .trim()
        .to_owned()
}

/// A GraphQL request with the daemon's token; the JSON answer.
fn gql(d: &TestDaemon, query: &str, variables: Value) -> Value {
    let auth = format!("Bearer {}", token(d));
    let body = json!({"query": query, "variables": variables}).to_string();
    let (status, body) = http(d, &[("Authorization", &auth)], &body);
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

fn hook(d: &TestDaemon, payload: &Value) {
    let out = run(&d.home, &["hook"], Some(payload.to_string().as_bytes()));
    assert!(out.status.success(), "{out:?}");
}

#[test]
fn graphql_answers_as_json_rpc_does_and_a_decision_made_here_is_seen_everywhere() {
    let d = TestDaemon::start();
    for (sid, event) in [
        ("aaaa1111-0000-4000-8000-000000000001", "SessionStart"),
        ("aaaa1111-0000-4000-8000-000000000001", "UserPromptSubmit"),
        ("bbbb2222-0000-4000-8000-000000000002", "SessionStart"),
    ] {
        hook(
            &d,
            &json!({"session_id": sid, "hook_event_name": event, "cwd": "/w/p", "prompt": "go"}),
        );
    }
    // Sessions: the same ids and statuses through both faces.
    let rpc: Value = d
        .client()
        .call(
            method::SESSIONS_LIST,
            json!({"paged": true, "history": false}),
        )
        .unwrap();
    let g = gql(
        &d,
        "query { sessions(history: false) { nodes { id status cwd live } nextOffset } }",
        json!({}),
    );
    let pairs = |list: &Value, id: &str, status: &str| -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s[id].as_str().unwrap().to_owned(),
                    s[status].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        pairs(&g["data"]["sessions"]["nodes"], "id", "status"),
        pairs(&rpc["sessions"], "id", "status"),
        "{g}"
    );
    assert_eq!(g["data"]["sessions"]["nextOffset"], Value::Null);
    // One session by prefix, with its events.
    let g = gql(
        &d,
        "query($id: String!) { session(id: $id) { id status prompts } events(sessionId: $id) { events { seq name kind } headSeq } }",
        json!({"id": "aaaa1111"}),
    );
    assert_eq!(
        g["data"]["session"]["id"], "aaaa1111-0000-4000-8000-000000000001",
        "{g}"
    );
    assert_eq!(g["data"]["session"]["prompts"], 1);
    let names: Vec<&str> = g["data"]["events"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["SessionStart", "UserPromptSubmit"]);

    // A held permission request, decided through GraphQL.
    let request = json!({"session_id": "cccc3333-0000-4000-8000-000000000003",
        "hook_event_name": "PermissionRequest", "cwd": "/w/p",
        "tool_name": "Bash", "tool_input": {"command": "make deploy"}});
    let held = support::spawn_hook(&d.home, request.to_string().as_bytes(), &[]);
    let id = wait_for("the approval", Duration::from_secs(30), || {
        let g = gql(
            &d,
            "{ approvals { id toolName toolInput status } }",
            json!({}),
        );
        g["data"]["approvals"][0]["id"].as_str().map(str::to_owned)
    });
    let g = gql(
        &d,
        "mutation($id: String!) { decide(id: $id, decision: {behavior: ALLOW}, reason: \"checked\") { id status decidedBy } }",
        json!({"id": id}),
    );
    assert_eq!(g["data"]["decide"]["status"], "allowed", "{g}");
    assert_eq!(g["data"]["decide"]["decidedBy"], "graphql");
    let out = held.wait_with_output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    assert_eq!(
        v["hookSpecificOutput"]["decision"]["behavior"], "allow",
        "{out:?}"
    );
    // Seen resolved through JSON-RPC and the CLI.
    let a: Value = d
        .client()
        .call(method::APPROVALS_GET, json!({"id": id}))
        .unwrap();
    assert_eq!(a["status"], "allowed");
    assert_eq!(a["reason"], "checked");
    let out = run(&d.home, &["approvals", "--all", "--json"], None);
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list[0]["status"], "allowed", "{list}");
    // Memory: a document stored here is a search hit of its own kind.
    let g = gql(
        &d,
        "mutation { indexDocument(title: \"Deploy rule\", text: \"never deploy on fridays\", tags: [\"ops\"]) { id tags } }",
        json!({}),
    );
    assert_eq!(g["data"]["indexDocument"]["tags"][0], "ops", "{g}");
    let g = gql(
        &d,
        "{ search(query: \"fridays\") { kind documentId title snippet } }",
        json!({}),
    );
    assert_eq!(g["data"]["search"][0]["kind"], "document", "{g}");
    assert_eq!(g["data"]["search"][0]["title"], "Deploy rule", "{g}");
    // A second decision loses, with a stable code.
    let g = gql(
        &d,
        "mutation($id: String!) { decide(id: $id, decision: {behavior: DENY, message: \"no\"}) { id } }",
        json!({"id": id}),
    );
    assert_eq!(g["errors"][0]["extensions"]["code"], "CONFLICT", "{g}");
}

#[test]
fn graphql_refuses_missing_tokens_and_bad_queries_clearly_and_keeps_serving() {
    let d = TestDaemon::start();
    let query = json!({"query": "{ health { status } }"}).to_string();
    // No token, a wrong token: 401, nothing executed.
    let (status, _) = http(&d, &[], &query);
    assert_eq!(status, 401);
    let (status, _) = http(&d, &[("Authorization", "Bearer nope")], &query);
    assert_eq!(status, 401);
    // A page of another origin, even with the token: 403.
    let auth = format!("Bearer {}", token(&d));
    let (status, _) = http(
        &d,
        &[("Authorization", &auth), ("Origin", "https://evil.example")],
        &query,
    );
    assert_eq!(status, 403);
    // Malformed GraphQL: an error naming the problem.
    let g = gql(&d, "{ health { status ", json!({}));
    assert!(
        g["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("expected"),
        "{g}"
    );
    // A reasonable nested query passes; one nested too deep is refused
    // before anything runs.
    let nested = "query { sessions { nodes { history { models } subagents { agentId } } } }";
    let g = gql(&d, nested, json!({}));
    assert!(g["errors"].is_null(), "{g}");
    let q = format!(
        "{{ __schema {{ types {{ fields {{ type {} name {} }} }} }} }}",
        "{ ofType ".repeat(8),
        "} ".repeat(8)
    );
    let g = gql(&d, &q, json!({}));
    assert!(
        g["errors"][0]["message"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("nested too deep"),
        "{g}"
    );
    // Unknown things: stable codes.
    let g = gql(&d, "{ approval(id: \"apr_nope\") { id } }", json!({}));
    assert_eq!(g["errors"][0]["extensions"]["code"], "NOT_FOUND", "{g}");
    let g = gql(&d, "{ nothing }", json!({}));
    assert!(
        g["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("nothing")
    );
    // Over the body limit: refused, not read.
    let big =
        json!({"query": format!("{{ health {{ status }} }} #{}", "x".repeat(2 << 20))}).to_string();
    let (status, _) = http(&d, &[("Authorization", &auth)], &big);
    assert_eq!(status, 413);
    // Still serving, both faces.
    let g = gql(&d, "{ health { status headSeq } }", json!({}));
    assert_eq!(g["data"]["health"]["status"], "ok", "{g}");
    let h: Value = d.client().call(method::HEALTH, json!({})).unwrap();
    assert_eq!(h["status"], "ok");
}

/// A graphql-transport-ws client (Python `websockets`, nobody here wrote
/// it): `connection_init` with the token in its payload, one `events`
/// subscription, prints the first `n` events as a JSON array (or the
/// server's refusal, exit 2).
const WS_CLIENT: &str = r#"
import asyncio, json, sys, websockets
url, token, after, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
async def main():
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": "Bearer " + token}}))
        try:
            ack = json.loads(await asyncio.wait_for(ws.recv(), 30))
        except websockets.ConnectionClosed as e:
            print(json.dumps({"closed": e.rcvd.code if e.rcvd else None, "reason": e.rcvd.reason if e.rcvd else ""}))
            sys.exit(2)
        if ack.get("type") != "connection_ack":
            print(json.dumps(ack)); sys.exit(2)
        q = "subscription($a: Int) { events(afterSeq: $a) { seq name sessionId } }"
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": q, "variables": {"a": None if after == "null" else int(after)}}}))
        got = []
        while len(got) < n:
            m = json.loads(await asyncio.wait_for(ws.recv(), 120))
            if m["type"] == "next":
                got.append(m["payload"]["data"]["events"])
            elif m["type"] in ("error", "complete"):
                print(json.dumps(m)); sys.exit(2)
        print(json.dumps(got))
asyncio.run(main())
"#;

fn ws_client(d: &TestDaemon, token: &str, after: Option<u64>, n: usize) -> std::process::Child {
    let health: Value = d.client().call(method::HEALTH, json!({})).unwrap();
    let url = format!("ws://{}/graphql", health["http_addr"].as_str().unwrap());
    std::process::Command::new(python())
        .args(["-c", WS_CLIENT, &url, token])
        .arg(after.map_or("null".to_owned(), |a| a.to_string()))
        .arg(n.to_string())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

fn seqs_of(out: &std::process::Output) -> Vec<Value> {
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out:?}"))
}

#[test]
fn a_graphql_ws_client_follows_a_real_claude_session_in_seq_order_and_resumes_exactly() {
    let d = TestDaemon::start();
    let user = ClaudeUser::new(&d.home);
    // Subscribed from the start of the log: whatever the timing, every
    // hook event of the session arrives, in seq order, none twice.
    let live = ws_client(&d, &token(&d), Some(0), 6);
    let (out, stream) = user.headless("make a file");
    assert!(out.status.success(), "claude failed: {out:?}");
    let id = session_id_of(&stream);
    let got = seqs_of(&live.wait_with_output().unwrap());
    let names: Vec<&str> = got.iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "SessionStart",
            "UserPromptSubmit",
            "PreToolUse",
            "PostToolUse",
            "Stop",
            "SessionEnd"
        ],
        "{got:?}"
    );
    assert!(got.iter().all(|e| e["sessionId"] == id.as_str()));
    let seqs: Vec<u64> = got.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    // Reconnecting after the third: exactly the three it missed.
    let again = ws_client(&d, &token(&d), Some(seqs[2]), 3);
    let rest = seqs_of(&again.wait_with_output().unwrap());
    let rest: Vec<u64> = rest.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(rest, seqs[3..]);
    // A wrong token: refused at connection_init, nothing subscribed.
    let refused = ws_client(&d, "nope", Some(0), 1)
        .wait_with_output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2), "{refused:?}");
    let text = String::from_utf8_lossy(&refused.stdout);
    assert!(!text.contains("\"seq\""), "{text}");
    // An evil Origin is refused before the upgrade.
    let (status, _) = http_get_ws(&d, "https://evil.example");
    assert_eq!(status, 403);
}

/// A WebSocket upgrade request with `origin`; the status.
fn http_get_ws(d: &TestDaemon, origin: &str) -> (u16, String) {
    let health: Value = d.client().call(method::HEALTH, json!({})).unwrap();
    let addr = health["http_addr"].as_str().unwrap().to_owned();
    let mut s = std::net::TcpStream::connect(&addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "GET /graphql HTTP/1.1\r\nHost: {addr}\r\nOrigin: {origin}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n"
    )
    .unwrap();
    let mut buf = [0u8; 512];
    let n = s.read(&mut buf).unwrap_or(0);
    let head = String::from_utf8_lossy(&buf[..n]).into_owned();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, head)
}

/// A graphql-transport-ws client for any subscription: prints the `data`
/// of the first `n` results as a JSON array (exit 2 on an error).
const WS_ANY: &str = r#"
import asyncio, json, sys, websockets
url, token, query, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
async def main():
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": "Bearer " + token}}))
        ack = json.loads(await asyncio.wait_for(ws.recv(), 30))
        if ack.get("type") != "connection_ack":
            print(json.dumps(ack)); sys.exit(2)
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}))
        got = []
        while len(got) < n:
            m = json.loads(await asyncio.wait_for(ws.recv(), 120))
            if m["type"] == "next":
                got.append(m["payload"]["data"])
            else:
                print(json.dumps(m)); sys.exit(2)
        print(json.dumps(got))
asyncio.run(main())
"#;

fn subscribe(d: &TestDaemon, query: &str, n: usize) -> std::process::Child {
    let health: Value = d.client().call(method::HEALTH, json!({})).unwrap();
    let url = format!("ws://{}/graphql", health["http_addr"].as_str().unwrap());
    std::process::Command::new(python())
        .args(["-c", WS_ANY, &url, &token(d), query, &n.to_string()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

fn results(child: std::process::Child) -> Vec<Value> {
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out:?}"))
}

#[test]
fn graphql_runs_hooks_and_streams_sessions_approvals_and_hook_output_live() {
    let d = TestDaemon::start();
    let project = tempfile::tempdir().unwrap();
    let dir = project.path().canonicalize().unwrap();
    let cwd = dir.to_str().unwrap().to_owned();
    std::fs::create_dir_all(dir.join(".agentd")).unwrap();
    std::fs::write(
        dir.join(".agentd/hooks.toml"),
        "[[hooks]]\nname = \"talk\"\nevents = [\"Stop\"]\ncommand = \"echo one; echo two >&2\"\n",
    )
    .unwrap();
    hook(
        &d,
        &json!({"session_id": "gq-1", "hook_event_name": "SessionStart", "cwd": cwd,
            "n": 7, "big": 123456789012345678901234567890u128, "f": 1.5}),
    );
    // Payload numbers come out as numbers, digits kept (serde_json's
    // arbitrary precision is not async-graphql's).
    let e = gql(
        &d,
        "{ events(sessionId: \"gq-1\") { events { payload } } }",
        json!({}),
    );
    let payload = &e["data"]["events"]["events"][0]["payload"];
    assert_eq!(payload["n"], 7, "{e}");
    assert_eq!(payload["f"], 1.5, "{e}");
    assert_eq!(
        payload["big"].to_string(),
        "123456789012345678901234567890",
        "{e}"
    );
    // Three live subscriptions, each on its own WebSocket; all counted by
    // `health` before anything happens (they see from now on). The daemon's
    // own tasks (plugins) subscribe too: count from what is there now.
    let h: Value = d.client().call(method::HEALTH, json!({})).unwrap();
    let already = h["limits"]["subscribers"].as_u64().unwrap();
    let sessions = subscribe(
        &d,
        r#"subscription { sessions(sessionId: "gq-1") { id status prompts } }"#,
        1,
    );
    let approvals = subscribe(
        &d,
        "subscription { approvals { id status toolName decidedBy } }",
        2,
    );
    let output = subscribe(
        &d,
        r#"subscription { hookOutput(sessionId: "gq-1") { kind hook stream line run { outcome passed } } }"#,
        4,
    );
    wait_for("three subscribers", Duration::from_secs(60), || {
        let h: Value = d.client().call(method::HEALTH, json!({})).ok()?;
        (h["limits"]["subscribers"].as_u64()? >= already + 2
            && h["limits"]["hook_watchers"].as_u64()? >= 1)
            .then_some(())
    });

    // A session change: the session as it is after the event.
    hook(
        &d,
        &json!({"session_id": "gq-1", "hook_event_name": "UserPromptSubmit", "cwd": cwd, "prompt": "go"}),
    );
    let s = results(sessions);
    assert_eq!(s[0]["sessions"]["id"], "gq-1", "{s:?}");
    assert_eq!(s[0]["sessions"]["prompts"], 1, "{s:?}");

    // An approval requested, then decided through GraphQL: both stream.
    let request = json!({"session_id": "gq-1", "hook_event_name": "PermissionRequest", "cwd": cwd,
        "tool_name": "Bash", "tool_input": {"command": "make deploy"}});
    let held = support::spawn_hook(&d.home, request.to_string().as_bytes(), &[]);
    let id = wait_for("the approval", Duration::from_secs(30), || {
        let a = gql(&d, "{ approvals { id } }", json!({}));
        a["data"]["approvals"][0]["id"].as_str().map(str::to_owned)
    });
    let decided = gql(
        &d,
        "mutation($id: String!) { decide(id: $id, decision: {behavior: ALLOW}, by: \"gq-test\") { status } }",
        json!({"id": id}),
    );
    assert_eq!(decided["data"]["decide"]["status"], "allowed", "{decided}");
    assert!(held.wait_with_output().unwrap().status.success());
    let a = results(approvals);
    let statuses: Vec<&str> = a
        .iter()
        .map(|x| x["approvals"]["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["pending", "allowed"], "{a:?}");
    assert_eq!(a[1]["approvals"]["decidedBy"], "gq-test", "{a:?}");
    assert!(a.iter().all(|x| x["approvals"]["id"] == id.as_str()));

    // executeHooks answers with the runs; hookOutput saw them live.
    let ran = gql(
        &d,
        "mutation($cwd: String!) { executeHooks(event: \"Stop\", cwd: $cwd, sessionId: \"gq-1\", noCache: true) { blocked runs { hook outcome passed head } } }",
        json!({"cwd": cwd}),
    );
    let runs = &ran["data"]["executeHooks"]["runs"];
    assert_eq!(runs[0]["hook"], "talk", "{ran}");
    assert_eq!(runs[0]["passed"], true, "{ran}");
    let live = results(output);
    let kinds: Vec<&str> = live
        .iter()
        .map(|x| x["hookOutput"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds[0], "STARTED", "{live:?}");
    assert_eq!(kinds[3], "FINISHED", "{live:?}");
    let mut lines: Vec<(String, String)> = live[1..3]
        .iter()
        .map(|x| {
            (
                x["hookOutput"]["stream"].as_str().unwrap().to_owned(),
                x["hookOutput"]["line"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    lines.sort();
    assert_eq!(
        lines,
        [
            ("stderr".into(), "two".into()),
            ("stdout".into(), "one".into())
        ]
    );
    assert_eq!(live[3]["hookOutput"]["run"]["outcome"], "ran", "{live:?}");

    // The record, and nothing left in progress.
    let q = gql(
        &d,
        "{ hookRuns(sessionId: \"gq-1\") { hook outcome } pendingHooks { runId } }",
        json!({}),
    );
    assert_eq!(q["data"]["hookRuns"][0]["hook"], "talk", "{q}");
    assert_eq!(q["data"]["pendingHooks"], json!([]), "{q}");
    // The change cache: a hook with no globs defined is a clear error.
    let bad = gql(
        &d,
        "query($d: String!) { fileValidation(input: {hook: \"talk\", dir: $d}) { unchanged } }",
        json!({"d": cwd}),
    );
    assert_eq!(bad["errors"][0]["extensions"]["code"], "INVALID", "{bad}");
}
