//! The gRPC face (`agentd.v1` on the daemon's HTTP port, h2c) with clients
//! nobody here wrote: grpcurl 1.8 (reflection, `grpc.health.v1`) and
//! Python `grpcio` with stubs generated from `proto/` by `grpcio-tools`.
//! The same daemon answers the same questions through JSON-RPC, GraphQL and
//! gRPC; bad calls get clear statuses and the daemon keeps serving.

mod support;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use agentd_proto::method;
use serde_json::{Value, json};
use support::{TestDaemon, python, run, wait_for};

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

/// grpcurl with `args`: flags, then the verb or method (last).
fn grpcurl(d: &TestDaemon, args: &[&str]) -> Output {
    let bin = python().with_file_name("grpcurl");
    let (verb, flags) = args.split_last().unwrap();
    Command::new(bin)
        .arg("-plaintext")
        .args(flags)
        .arg(addr(d))
        .arg(verb)
        .output()
        .unwrap()
}

/// Stubs for `agentd.v1`, generated once per test run from `proto/`.
fn stubs(dir: &Path) {
    let proto = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../proto");
    let out = Command::new(python())
        .args(["-m", "grpc_tools.protoc"])
        .arg(format!("-I{}", proto.display()))
        .arg(format!("--python_out={}", dir.display()))
        .arg(format!("--grpc_python_out={}", dir.display()))
        .arg(proto.join("agentd/v1/agentd.proto"))
        .output()
        .unwrap();
    assert!(out.status.success(), "protoc: {out:?}");
}

/// A grpcio client: one call per invocation, JSON in and out.
const CLIENT: &str = r#"
import json, os, sys, threading, grpc
from google.protobuf import json_format
from agentd.v1 import agentd_pb2 as pb, agentd_pb2_grpc as rpc
addr, token, what = sys.argv[1], sys.argv[2], sys.argv[3]
args = json.loads(sys.argv[4]) if len(sys.argv) > 4 else {}
md = [("authorization", "Bearer " + token)] if token else []
ca = os.environ.get("AGENTD_TEST_CA")
ch = grpc.secure_channel(addr, grpc.ssl_channel_credentials(open(ca, "rb").read())) if ca else grpc.insecure_channel(addr)
def out(m):
    return json_format.MessageToDict(m, preserving_proto_field_name=True)
try:
    if what == "list":
        r = rpc.SessionServiceStub(ch).List(pb.ListSessionsRequest(history=False), metadata=md, timeout=30)
        print(json.dumps(out(r)))
    elif what == "get":
        r = rpc.SessionServiceStub(ch).Get(pb.GetSessionRequest(id=args["id"]), metadata=md, timeout=30)
        print(json.dumps(out(r)))
    elif what == "active":
        r = rpc.SessionServiceStub(ch).GetActive(pb.GetActiveRequest(cwd=args["cwd"]), metadata=md, timeout=30)
        print(json.dumps(out(r)))
    elif what == "watch":
        got = []
        for e in rpc.SessionServiceStub(ch).WatchEvents(pb.WatchEventsRequest(after_seq=args["after"]), metadata=md, timeout=60):
            got.append(out(e))
            if len(got) == args["n"]:
                break
        print(json.dumps(got))
    elif what == "approvals":
        r = rpc.ApprovalServiceStub(ch).List(pb.ListApprovalsRequest(), metadata=md, timeout=30)
        print(json.dumps(out(r)))
    elif what == "decide":
        r = rpc.ApprovalServiceStub(ch).Decide(pb.DecideRequest(id=args["id"], behavior=pb.DecideRequest.BEHAVIOR_ALLOW, reason="via grpc"), metadata=md, timeout=30)
        print(json.dumps(out(r)))
    elif what == "hooks":
        got = [out(m) for m in rpc.HookServiceStub(ch).ExecuteHooks(pb.ExecuteHooksRequest(event="Stop", cwd=args["cwd"], no_cache=True), metadata=md, timeout=60)]
        print(json.dumps(got))
    elif what == "slots":
        st = rpc.SlotServiceStub(ch)
        a = st.Acquire(pb.AcquireSlotRequest(holder="grpc-client", ttl_s=600), metadata=md, timeout=30)
        listed = st.List(pb.ListSlotsRequest(), metadata=md, timeout=30)
        released = st.Release(pb.ReleaseSlotRequest(id=a.id), metadata=md, timeout=30)
        print(json.dumps({"acquired": out(a), "listed": out(listed), "released": out(released)}))
    elif what == "memory":
        m = rpc.MemoryServiceStub(ch)
        d = m.IndexDocument(pb.IndexDocumentRequest(title="Release runbook", text="tag, build, then publish the crate", tags=["ops"]), metadata=md, timeout=30)
        r = m.Search(pb.SearchRequest(query="publish crate"), metadata=md, timeout=30)
        print(json.dumps({"doc": out(d), "search": out(r)}))
    elif what == "record":
        r = rpc.HookServiceStub(ch).RecordExecution(pb.RecordExecutionRequest(hook="ci-lint", dir=args["dir"], event="Stop", session_id=args["sid"], exit_code=1, duration_ms=1500, output="lint: 2 problems\nsrc/a.rs:1 unused"), metadata=md, timeout=30)
        print(json.dumps(out(r)))
    elif what in ("check", "validate"):
        req = pb.FileValidationRequest(hook=args["hook"], dir=args["dir"], globs=args.get("globs", []))
        if "files_hash" in args:
            req.files_hash = args["files_hash"]
        h = rpc.HookServiceStub(ch)
        r = (h.CheckFileValidation if what == "check" else h.RecordFileValidation)(req, metadata=md, timeout=30)
        print(json.dumps(out(r)))
    elif what == "pending":
        h = rpc.HookServiceStub(ch)
        lines = []
        def run():
            for m in h.ExecuteHooks(pb.ExecuteHooksRequest(event="Stop", cwd=args["cwd"], hooks=["slow"], no_cache=True), metadata=md, timeout=120):
                lines.append(out(m))
        t = threading.Thread(target=run); t.start()
        seen = []
        import time
        deadline = time.time() + 60
        while not seen and time.time() < deadline:
            seen = out(h.GetPendingHooks(pb.GetPendingHooksRequest(), metadata=md, timeout=30)).get("runs", [])
            time.sleep(0.05)
        t.join()
        after = out(h.GetPendingHooks(pb.GetPendingHooksRequest(), metadata=md, timeout=30)).get("runs", [])
        print(json.dumps({"pending": seen, "after": after, "lines": lines}))
    elif what == "processes":
        # The stream's samples until one has the session, with the session
        # as Get shows it.
        for m in rpc.SessionServiceStub(ch).WatchProcesses(pb.WatchProcessesRequest(), metadata=md, timeout=60):
            sample = out(m)
            if any(p["session_id"] == args["id"] for p in sample.get("sessions", [])):
                break
        s = rpc.SessionServiceStub(ch).Get(pb.GetSessionRequest(id=args["id"]), metadata=md, timeout=30)
        print(json.dumps({"sample": sample, "session": out(s)}))
    elif what == "status":
        r = rpc.CoordinatorServiceStub(ch).Status(pb.StatusRequest(), metadata=md, timeout=30)
        print(json.dumps(out(r)))
except grpc.RpcError as e:
    print(json.dumps({"code": e.code().name, "details": e.details()}))
    sys.exit(3)
"#;

struct Py {
    dir: tempfile::TempDir,
}

impl Py {
    fn new() -> Py {
        let dir = tempfile::tempdir().unwrap();
        stubs(dir.path());
        Py { dir }
    }

    /// Runs one call; (exit code, JSON answer).
    fn call(&self, d: &TestDaemon, token: &str, what: &str, args: Value) -> (i32, Value) {
        self.call_with(d, token, what, args, None)
    }

    /// [`Py::call`], over TLS trusting `ca` when given.
    fn call_with(
        &self,
        d: &TestDaemon,
        token: &str,
        what: &str,
        args: Value,
        ca: Option<&str>,
    ) -> (i32, Value) {
        let mut cmd = Command::new(python());
        cmd.args(["-c", CLIENT, &addr(d), token, what, &args.to_string()])
            .env("PYTHONPATH", self.dir.path());
        if let Some(ca) = ca {
            cmd.env("AGENTD_TEST_CA", ca);
        }
        let out = cmd.output().unwrap();
        let v =
            serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{what}: {e}: {out:?}"));
        (out.status.code().unwrap_or(-1), v)
    }
}

fn hook(d: &TestDaemon, payload: &Value) {
    let out = run(&d.home, &["hook"], Some(payload.to_string().as_bytes()));
    assert!(out.status.success(), "{out:?}");
}

#[test]
fn grpcurl_lists_every_service_by_reflection_and_health_is_open_but_nothing_else_is() {
    let d = TestDaemon::start();
    let out = grpcurl(&d, &["list"]);
    assert!(out.status.success(), "{out:?}");
    let list = String::from_utf8_lossy(&out.stdout);
    for s in [
        "agentd.v1.ApprovalService",
        "agentd.v1.CoordinatorService",
        "agentd.v1.HookService",
        "agentd.v1.IndexerService",
        "agentd.v1.MemoryService",
        "agentd.v1.PluginService",
        "agentd.v1.SessionService",
        "agentd.v1.SlotService",
        "grpc.health.v1.Health",
    ] {
        assert!(list.contains(s), "{s} missing from\n{list}");
    }
    let out = grpcurl(&d, &["grpc.health.v1.Health/Check"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("SERVING"),
        "{out:?}"
    );
    // The API itself needs the token.
    let out = grpcurl(&d, &["agentd.v1.CoordinatorService/Health"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Unauthenticated"),
        "{out:?}"
    );
    let auth = format!("authorization: Bearer {}", token(&d));
    let out = grpcurl(&d, &["-H", &auth, "agentd.v1.CoordinatorService/Health"]);
    assert!(out.status.success(), "{out:?}");
    let h: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(h["version"], env!("CARGO_PKG_VERSION"));
    // Unknown methods and other authorities: refused; still serving.
    let out = grpcurl(&d, &["-H", &auth, "agentd.v1.SessionService/Nope"]);
    assert!(!out.status.success(), "{out:?}");
    let out = grpcurl(
        &d,
        &["-authority", "evil.example", "grpc.health.v1.Health/Check"],
    );
    assert!(!out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("403"),
        "{out:?}"
    );
    let out = grpcurl(&d, &["grpc.health.v1.Health/Check"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("SERVING"),
        "{out:?}"
    );
}

#[test]
fn grpcio_sees_what_json_rpc_sees_decides_streams_and_runs_hooks() {
    let d = TestDaemon::start();
    let py = Py::new();
    let t = token(&d);
    let project = tempfile::tempdir().unwrap();
    let cwd = project.path().canonicalize().unwrap();
    let cwd_s = cwd.to_str().unwrap().to_owned();
    for (sid, event) in [
        ("dddd4444-0000-4000-8000-000000000004", "SessionStart"),
        ("dddd4444-0000-4000-8000-000000000004", "UserPromptSubmit"),
        ("eeee5555-0000-4000-8000-000000000005", "SessionStart"),
    ] {
        hook(
            &d,
            &json!({"session_id": sid, "hook_event_name": event, "cwd": cwd_s, "prompt": "go"}),
        );
    }
    // Sessions: the same through gRPC and JSON-RPC.
    let (code, g) = py.call(&d, &t, "list", json!({}));
    assert_eq!(code, 0, "{g}");
    let rpc: Value = d
        .client()
        .call(
            method::SESSIONS_LIST,
            json!({"paged": true, "history": false}),
        )
        .unwrap();
    let ids = |list: &Value, key: &str| -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["id"].as_str().unwrap().into(),
                    s[key].as_str().unwrap().into(),
                )
            })
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        ids(&g["sessions"], "status"),
        ids(&rpc["sessions"], "status")
    );
    // By prefix, and the live one in a directory.
    let (_, s) = py.call(&d, &t, "get", json!({"id": "dddd4444"}));
    assert_eq!(s["id"], "dddd4444-0000-4000-8000-000000000004", "{s}");
    assert_eq!(s["prompts"], "1", "uint64 is a string in proto3 JSON: {s}");
    let (_, s) = py.call(&d, &t, "active", json!({"cwd": cwd_s}));
    assert_eq!(
        s["id"], "eeee5555-0000-4000-8000-000000000005",
        "the latest: {s}"
    );
    let (code, e) = py.call(&d, &t, "get", json!({"id": "nope"}));
    assert_eq!((code, e["code"].as_str()), (3, Some("NOT_FOUND")), "{e}");
    // No token: UNAUTHENTICATED, nothing runs.
    let (code, e) = py.call(&d, "", "list", json!({}));
    assert_eq!(
        (code, e["code"].as_str()),
        (3, Some("UNAUTHENTICATED")),
        "{e}"
    );

    // The log as a stream: every event in seq order.
    let (_, events) = py.call(&d, &t, "watch", json!({"after": 0, "n": 3}));
    let seqs: Vec<u64> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_str().unwrap().parse().unwrap())
        .collect();
    assert_eq!(seqs, [1, 2, 3], "{events}");

    // An approval decided through gRPC, seen resolved through GraphQL too.
    let request = json!({"session_id": "dddd4444-0000-4000-8000-000000000004",
        "hook_event_name": "PermissionRequest", "cwd": cwd_s,
        "tool_name": "Bash", "tool_input": {"command": "make release"}});
    let held = support::spawn_hook(&d.home, request.to_string().as_bytes(), &[]);
    let id = wait_for("the approval", Duration::from_secs(30), || {
        let (_, a) = py.call(&d, &t, "approvals", json!({}));
        a["approvals"][0]["id"].as_str().map(str::to_owned)
    });
    let (code, a) = py.call(&d, &t, "decide", json!({"id": id}));
    assert_eq!(code, 0, "{a}");
    assert_eq!(a["status"], "allowed");
    assert_eq!(a["decided_by"], "grpc");
    let out = held.wait_with_output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    assert_eq!(
        v["hookSpecificOutput"]["decision"]["behavior"], "allow",
        "{out:?}"
    );
    let (code, again) = py.call(&d, &t, "decide", json!({"id": id}));
    assert_eq!(
        (code, again["code"].as_str()),
        (3, Some("ALREADY_EXISTS")),
        "{again}"
    );
    let a: Value = d
        .client()
        .call(method::APPROVALS_GET, json!({"id": id}))
        .unwrap();
    assert_eq!(
        (a["status"].as_str(), a["reason"].as_str()),
        (Some("allowed"), Some("via grpc"))
    );

    // A project's hooks, streamed line by line, then their outcome.
    std::fs::create_dir_all(cwd.join(".agentd")).unwrap();
    std::fs::write(
        cwd.join(".agentd/hooks.toml"),
        "[[hooks]]\nname = \"count\"\nevents = [\"Stop\"]\ncommand = \"seq 1 3; echo oops >&2; exit 1\"\n",
    )
    .unwrap();
    let (code, outs) = py.call(&d, &t, "hooks", json!({"cwd": cwd_s}));
    assert_eq!(code, 0, "{outs}");
    let outs = outs.as_array().unwrap();
    let lines: Vec<(&str, &str)> = outs
        .iter()
        .filter_map(|o| o.get("line"))
        .map(|l| (l["stream"].as_str().unwrap(), l["text"].as_str().unwrap()))
        .collect();
    for want in [
        ("stdout", "1"),
        ("stdout", "2"),
        ("stdout", "3"),
        ("stderr", "oops"),
    ] {
        assert!(lines.contains(&want), "{want:?} in {lines:?}");
    }
    let done = outs.last().unwrap();
    assert_eq!(done["completed"]["hook"], "count", "{outs:?}");
    assert_eq!(done["completed"]["exit_code"], 1);
    // Slots through gRPC, seen through JSON-RPC while held.
    let (code, sl) = py.call(&d, &t, "slots", json!({}));
    assert_eq!(code, 0, "{sl}");
    assert_eq!(sl["acquired"]["holder"], "grpc-client", "{sl}");
    assert_eq!(sl["listed"]["slots"][0]["id"], sl["acquired"]["id"], "{sl}");
    assert_eq!(sl["released"]["id"], sl["acquired"]["id"], "{sl}");
    let held: Vec<Value> = d.client().call(method::SLOTS_LIST, json!({})).unwrap();
    assert!(held.is_empty(), "{held:?}");
    // Memory through gRPC: stored, then found as a document hit.
    let (code, mem) = py.call(&d, &t, "memory", json!({}));
    assert_eq!(code, 0, "{mem}");
    assert_eq!(mem["doc"]["tags"][0], "ops", "{mem}");
    let hit = &mem["search"]["hits"][0];
    assert_eq!(hit["kind"], "document", "{mem}");
    assert_eq!(hit["document_id"], mem["doc"]["id"], "{mem}");
    assert!(
        hit["snippet"].as_str().unwrap().contains("«publish»"),
        "{mem}"
    );
    // Still serving, with counts by status.
    let (code, st) = py.call(&d, &t, "status", json!({}));
    assert_eq!(code, 0, "{st}");
    assert!(
        st["sessions_by_status"]
            .as_object()
            .is_some_and(|m| !m.is_empty()),
        "{st}"
    );
}

#[test]
fn grpcio_watches_process_figures_and_sessions_carry_them() {
    let d = TestDaemon::start();
    let py = Py::new();
    let mut agent = support::busy_agent(&d.home, "grpc-proc");
    let (code, v) = py.call(&d, &token(&d), "processes", json!({"id": "grpc-proc"}));
    agent.kill();
    assert_eq!(code, 0, "{v}");
    let mine = v["sample"]["sessions"]
        .as_array()
        .and_then(|all| all.iter().find(|p| p["session_id"] == "grpc-proc"))
        .unwrap_or_else(|| panic!("{v}"));
    assert!(mine["process"]["processes"].as_u64() >= Some(2), "{v}");
    assert!(
        mine["process"]["rss_bytes"].as_str().is_some(),
        "uint64 as a string: {v}"
    );
    assert!(
        v["session"]["process"]["processes"].as_u64() >= Some(2),
        "{v}"
    );
    assert_eq!(
        v["session"]["discovered"],
        Value::Null,
        "false is left out: {v}"
    );
}

#[test]
fn a_quiet_watch_stream_outlives_the_http_idle_timeout() {
    // The HTTP side closes connections that move no byte for 30 s (against
    // slowloris); a WatchEvents stream with nothing to say for longer must
    // survive it (the server pings HTTP/2 connections).
    let d = TestDaemon::start();
    let py = Py::new();
    let t = token(&d);
    let head = {
        let h: Value = d.client().call(method::HEALTH, json!({})).unwrap();
        h["head_seq"].as_u64().unwrap()
    };
    let watcher = Command::new(python())
        .args([
            "-c",
            CLIENT,
            &addr(&d),
            &t,
            "watch",
            &json!({"after": head, "n": 1}).to_string(),
        ])
        .env("PYTHONPATH", py.dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let since = std::time::Instant::now();
    wait_for("40 quiet seconds", Duration::from_secs(120), || {
        (since.elapsed() > Duration::from_secs(40)).then_some(())
    });
    hook(
        &d,
        &json!({"session_id": "late", "hook_event_name": "SessionStart"}),
    );
    let out = watcher.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let got: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(got[0]["session_id"], "late", "{got}");
}

#[test]
fn with_tls_on_https_grpc_and_the_ca_work_and_plain_http_does_not() {
    let d = TestDaemon::with_config("[http]\ntls = true\n");
    let out = run(&d.home, &["tls", "ca"], None);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("SHA-256 fingerprint: ") && text.contains("never edits"),
        "{text}"
    );
    let out = run(&d.home, &["tls", "ca", "--path"], None);
    let ca = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(Path::new(&ca).exists(), "{ca}");
    // HTTPS with the CA (Python's own ssl and http.client).
    let https = r#"
import http.client, ssl, sys
host, port = sys.argv[1].rsplit(":", 1)
ctx = ssl.create_default_context(cafile=sys.argv[2])
c = http.client.HTTPSConnection(host, int(port), context=ctx, timeout=30)
c.request("GET", "/health")
r = c.getresponse()
print(r.status, r.read().decode()[:40])
"#;
    let out = Command::new(python())
        .args(["-c", https, &addr(&d), &ca])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("200"),
        "{out:?}"
    );
    // Without the CA, the certificate is not trusted; plain HTTP gets no answer.
    let out = Command::new(python())
        .args([
            "-c",
            &https.replace("cafile=sys.argv[2]", ""),
            &addr(&d),
            &ca,
        ])
        .output()
        .unwrap();
    assert!(!out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("CERTIFICATE_VERIFY_FAILED"),
        "{out:?}"
    );
    // gRPC over TLS: grpcurl with the CA lists the services.
    let bin = python().with_file_name("grpcurl");
    let out = Command::new(&bin)
        .args(["-cacert", &ca, &addr(&d), "list"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("agentd.v1.SessionService"),
        "{out:?}"
    );
    let auth = format!("authorization: Bearer {}", token(&d));
    let out = Command::new(&bin)
        .args([
            "-cacert",
            &ca,
            "-H",
            &auth,
            &addr(&d),
            "agentd.v1.CoordinatorService/Health",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let out = Command::new(&bin)
        .args(["-plaintext", &addr(&d), "list"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "plaintext against TLS: {out:?}");
    // Python grpcio over TLS with the CA: a unary call and a stream.
    hook(
        &d,
        &json!({"session_id": "tls-1", "hook_event_name": "SessionStart", "cwd": "/tmp"}),
    );
    let py = Py::new();
    let (code, s) = py.call_with(&d, &token(&d), "get", json!({"id": "tls-1"}), Some(&ca));
    assert_eq!((code, s["id"].as_str()), (0, Some("tls-1")), "{s}");
    let (code, events) = py.call_with(
        &d,
        &token(&d),
        "watch",
        json!({"after": 0, "n": 1}),
        Some(&ca),
    );
    assert_eq!(code, 0, "{events}");
    assert_eq!(events[0]["session_id"], "tls-1", "{events}");
    // Without trusting the CA, grpcio refuses the certificate.
    let (code, e) = py.call_with(&d, &token(&d), "get", json!({"id": "tls-1"}), None);
    assert_eq!((code, e["code"].as_str()), (3, Some("UNAVAILABLE")), "{e}");
}

#[test]
fn grpcio_drives_the_hook_service_for_runners_outside_agentd() {
    let d = TestDaemon::start();
    let py = Py::new();
    let t = token(&d);
    let project = tempfile::tempdir().unwrap();
    let dir = project.path().canonicalize().unwrap();
    let dir_s = dir.to_str().unwrap().to_owned();
    std::fs::create_dir_all(dir.join(".agentd")).unwrap();
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(dir.join("src/a.rs"), "fn a() {}").unwrap();
    std::fs::write(
        dir.join(".agentd/hooks.toml"),
        r#"
[[hooks]]
name = "lint"
events = ["Stop"]
command = "echo linting"
if_changed = ["src/**"]

[[hooks]]
name = "slow"
events = ["Stop"]
command = "echo started; sleep 2; echo done"
"#,
    )
    .unwrap();
    hook(
        &d,
        &json!({"session_id": "ext-1", "hook_event_name": "SessionStart", "cwd": dir_s}),
    );

    // RecordExecution: an outside run joins the history and the session's
    // events, as JSON-RPC's `hooks.history` shows.
    let (code, r) = py.call(&d, &t, "record", json!({"dir": dir_s, "sid": "ext-1"}));
    assert_eq!(code, 0, "{r}");
    assert_eq!(r["outcome"], "ran");
    assert_eq!(
        r.get("passed"),
        None,
        "exit 1 did not pass (false is proto3's default): {r}"
    );
    assert_eq!(r["head"][1], "src/a.rs:1 unused", "{r}");
    let history: Value = d
        .client()
        .call(method::HOOKS_HISTORY, json!({"session_id": "ext-1"}))
        .unwrap();
    assert_eq!(history[0]["run_id"], r["run_id"], "{history}");
    let finished = wait_for("the HookFinished event", Duration::from_secs(30), || {
        let page: Value = d
            .client()
            .call(
                method::EVENTS_LIST,
                json!({"session_id": "ext-1", "kinds": ["hook.finished"]}),
            )
            .ok()?;
        page["events"].as_array().filter(|e| !e.is_empty()).cloned()
    });
    assert_eq!(finished[0]["payload"]["hook"], "ci-lint");

    // The change cache: nothing recorded, record a pass, unchanged until
    // a selected file changes. Globs come from the defined hook.
    let (code, c) = py.call(&d, &t, "check", json!({"hook": "lint", "dir": dir_s}));
    assert_eq!(code, 0, "{c}");
    assert_eq!(
        c.get("unchanged").and_then(Value::as_bool),
        None,
        "false is proto3's default: {c}"
    );
    assert_eq!(c["files"], "1", "{c}");
    let (_, v) = py.call(
        &d,
        &t,
        "validate",
        json!({"hook": "lint", "dir": dir_s, "files_hash": c["files_hash"]}),
    );
    assert_eq!(v["unchanged"], true, "{v}");
    // agentd's own runner skips it now: the same cache.
    let ran: Value = d
        .client()
        .call(
            method::HOOKS_EXECUTE,
            json!({"event": "Stop", "cwd": dir_s, "hooks": ["lint"]}),
        )
        .unwrap();
    assert_eq!(ran["runs"][0]["outcome"], "cached", "{ran}");
    std::fs::write(dir.join("src/a.rs"), "fn a() { 1; }").unwrap();
    let (_, c) = py.call(&d, &t, "check", json!({"hook": "lint", "dir": dir_s}));
    assert_eq!(c.get("unchanged"), None, "changed: {c}");
    // Bad input: a hook nobody defined, no globs; a relative dir.
    let (code, e) = py.call(&d, &t, "check", json!({"hook": "nope", "dir": dir_s}));
    assert_eq!(
        (code, e["code"].as_str()),
        (3, Some("INVALID_ARGUMENT")),
        "{e}"
    );
    assert!(
        e["details"].as_str().unwrap().contains("give `globs`"),
        "{e}"
    );
    let (code, e) = py.call(
        &d,
        &t,
        "check",
        json!({"hook": "x", "dir": "rel/dir", "globs": ["*"]}),
    );
    assert_eq!(
        (code, e["code"].as_str()),
        (3, Some("INVALID_ARGUMENT")),
        "{e}"
    );

    // GetPendingHooks: a run in progress is listed while it runs, and
    // gone once it finished; ExecuteHooks streamed its lines meanwhile.
    let (code, p) = py.call(&d, &t, "pending", json!({"cwd": dir_s}));
    assert_eq!(code, 0, "{p}");
    assert_eq!(p["pending"][0]["hook"], "slow", "{p}");
    assert_eq!(p["pending"][0]["event"], "Stop", "{p}");
    assert!(p["after"].as_array().unwrap().is_empty(), "{p}");
    let lines: Vec<&str> = p["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["line"]["text"].as_str())
        .collect();
    assert_eq!(lines, ["started", "done"], "{p}");
}

#[test]
fn a_non_loopback_listener_needs_tls() {
    let home = tempfile::Builder::new().prefix("agd").tempdir().unwrap();
    let out = support::agentd_cmd(home.path())
        .env("AGENTD_HTTP_LISTEN", "0.0.0.0:0")
        .arg("serve")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("without TLS"),
        "{out:?}"
    );
    std::fs::write(home.path().join("agentd.toml"), "[http]\ntls = true\n").unwrap();
    let d = TestDaemon::start_with_env(
        home.path(),
        vec![("AGENTD_HTTP_LISTEN".into(), "0.0.0.0:0".into())],
    );
    let h: Value = d.client().call(method::HEALTH, json!({})).unwrap();
    assert!(
        h["http_addr"].as_str().unwrap().starts_with("0.0.0.0:"),
        "{h}"
    );
}

#[test]
fn shutdown_through_grpc_stops_the_daemon_gracefully() {
    let mut d = TestDaemon::start();
    let auth = format!("authorization: Bearer {}", token(&d));
    let out = grpcurl(&d, &["-H", &auth, "agentd.v1.CoordinatorService/Shutdown"]);
    assert!(out.status.success(), "{out:?}");
    let socket = d.paths().socket;
    let since = std::time::Instant::now();
    while !d.child_exited() {
        assert!(
            since.elapsed() < Duration::from_secs(30),
            "the daemon did not stop"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!socket.exists(), "the socket is removed on the way out");
}
