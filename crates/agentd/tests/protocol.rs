//! The JSON-RPC API over the Unix socket: handshake, errors with stable
//! codes, limits, bad clients, and subscriptions.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use agentd_client::client::Message;
use agentd_client::{Client, ClientError};
use agentd_proto::api::{EventsList, SubscribeResult};
use agentd_proto::{code, method, notification};
use serde_json::{Value, json};
use support::TestDaemon;

fn raw(d: &TestDaemon) -> (UnixStream, BufReader<UnixStream>) {
    let s = UnixStream::connect(d.paths().socket).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let r = BufReader::new(s.try_clone().unwrap());
    (s, r)
}

fn roundtrip(w: &mut UnixStream, r: &mut BufReader<UnixStream>, line: &[u8]) -> Value {
    w.write_all(line).unwrap();
    w.write_all(b"\n").unwrap();
    let mut resp = String::new();
    r.read_line(&mut resp).unwrap();
    serde_json::from_str(&resp).unwrap_or_else(|e| panic!("bad response {resp:?}: {e}"))
}

const INIT: &[u8] =
    br#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocol_version":"1.0"}}"#;

fn ingest(c: &mut Client, session: &str, event: &str) -> u64 {
    let r: Value = c
        .call(method::HOOK_INGEST, json!({"payload": {"session_id": session, "hook_event_name": event, "tool_name": "Bash"}}))
        .unwrap();
    r["seq"].as_u64().unwrap()
}

#[test]
fn errors_have_stable_codes_and_the_connection_survives() {
    let d = TestDaemon::start();
    let (mut w, mut r) = raw(&d);
    let err_code = |v: &Value| v["error"]["code"].as_i64();

    let v = roundtrip(
        &mut w,
        &mut r,
        br#"{"jsonrpc":"2.0","id":1,"method":"health"}"#,
    );
    assert_eq!(err_code(&v), Some(code::NOT_INITIALIZED));
    assert_eq!(v["id"], 1);

    let v = roundtrip(
        &mut w,
        &mut r,
        br#"{"jsonrpc":"2.0","id":2,"method":"initialize","params":{"protocol_version":"2.3"}}"#,
    );
    assert_eq!(err_code(&v), Some(code::INCOMPATIBLE_VERSION));
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("2.3") && msg.contains("1.0"),
        "names both versions: {msg}"
    );

    let v = roundtrip(&mut w, &mut r, INIT);
    assert_eq!(v["result"]["protocol_version"], "1.0");

    let v = roundtrip(&mut w, &mut r, b"{this is not json");
    assert_eq!(err_code(&v), Some(code::PARSE_ERROR));
    assert_eq!(v["id"], Value::Null);
    let v = roundtrip(&mut w, &mut r, b"\xff\xfe\x00garbage");
    assert_eq!(err_code(&v), Some(code::PARSE_ERROR));
    let v = roundtrip(&mut w, &mut r, br#"{"jsonrpc":"2.0","id":3}"#);
    assert_eq!(err_code(&v), Some(code::INVALID_REQUEST));
    let v = roundtrip(
        &mut w,
        &mut r,
        br#"{"jsonrpc":"2.0","id":4,"method":"no.such"}"#,
    );
    assert_eq!(err_code(&v), Some(code::METHOD_NOT_FOUND));
    let v = roundtrip(
        &mut w,
        &mut r,
        br#"{"jsonrpc":"2.0","id":5,"method":"sessions.get","params":{"nope":1}}"#,
    );
    assert_eq!(err_code(&v), Some(code::INVALID_PARAMS));
    let v = roundtrip(
        &mut w,
        &mut r,
        br#"{"jsonrpc":"2.0","id":6,"method":"sessions.get","params":{"id":"missing"}}"#,
    );
    assert_eq!(err_code(&v), Some(code::NOT_FOUND));
    let v = roundtrip(
        &mut w,
        &mut r,
        br#"{"jsonrpc":"2.0","id":7,"method":"hook.ingest","params":{"payload":[1]}}"#,
    );
    assert_eq!(err_code(&v), Some(code::INVALID_PARAMS));
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("JSON object"),
        "{v}"
    );
    let v = roundtrip(&mut w, &mut r, br#"{"jsonrpc":"2.0","id":8,"method":"hook.ingest","params":{"payload":{"hook_event_name":"Stop"}}}"#);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("session_id"),
        "{v}"
    );

    // Still serving on the same connection.
    let v = roundtrip(
        &mut w,
        &mut r,
        br#"{"jsonrpc":"2.0","id":"last","method":"health"}"#,
    );
    assert_eq!(v["id"], "last");
    assert_eq!(v["result"]["status"], "ok");
}

#[test]
fn an_oversized_frame_is_cut_off_without_hurting_others() {
    let d = TestDaemon::start();
    let mut good = d.client();
    let (mut w, mut r) = raw(&d);
    let v = roundtrip(&mut w, &mut r, INIT);
    assert!(v["result"].is_object());
    // 2 MiB without a newline: the daemon must not buffer it all.
    let big = vec![b'x'; 2 << 20];
    let _ = w.write_all(&big); // the daemon may close mid-write
    let mut resp = String::new();
    r.read_line(&mut resp).unwrap();
    let v: Value = serde_json::from_str(&resp).unwrap();
    assert_eq!(v["error"]["code"], code::FRAME_TOO_LARGE);
    let mut rest = Vec::new();
    // The daemon closes it: end of stream, not a read timeout (10 s here).
    // A reset counts as closed: the daemon closed with our unread bytes
    // still in its receive buffer, so the kernel answers with RST.
    match r.read_to_end(&mut rest) {
        Ok(_) => assert!(rest.is_empty(), "nothing after the error: {rest:?}"),
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        Err(e) => panic!("the connection stayed open after the error: {e}"),
    }

    // A client that connects and vanishes mid-frame, and one that never speaks.
    {
        let (mut w2, _) = raw(&d);
        w2.write_all(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"meth")
            .unwrap();
    }
    let _silent = raw(&d);

    assert_eq!(ingest(&mut good, "s", "Stop"), 1);
    let h: agentd_proto::api::Health = good.call(method::HEALTH, json!({})).unwrap();
    assert_eq!(h.head_seq, 1);
}

#[test]
fn frames_near_the_limit_are_read_and_oversized_payloads_stored_cut_with_a_marker() {
    let d = TestDaemon::start();
    let mut c = d.client();
    // A frame just under 1 MiB is read whole; its payload is over the store
    // limit, so it is stored cut to fit, with a marker — never dropped.
    let pad = "y".repeat(agentd_proto::MAX_FRAME_BYTES - 200);
    let params = json!({"payload": {"session_id": "big", "hook_event_name": "X", "pad": pad}});
    let r: Value = c.call(method::HOOK_INGEST, params).unwrap();
    assert_eq!(r["seq"], 1);
    // The largest storable payload goes through whole, and reads back in one page.
    let pad = "z".repeat(agentd_proto::MAX_FRAME_BYTES - 80 * 1024);
    let params = json!({"payload": {"session_id": "big", "hook_event_name": "X", "pad": pad}});
    let r: Value = c.call(method::HOOK_INGEST, params).unwrap();
    assert_eq!(r["seq"], 2);
    let page: EventsList = c.call(method::EVENTS_LIST, json!({})).unwrap();
    let cut = &page.events[0].payload;
    assert!(cut.get("pad").is_none());
    assert_eq!(cut["session_id"], "big");
    assert_eq!(
        cut["agentd_truncated"]["removed"]["pad"]
            .as_u64()
            .map(|n| n > 1 << 19),
        Some(true)
    );
    assert_eq!(
        page.events[1].payload["pad"].as_str().map(str::len),
        Some(pad.len())
    );
}

#[test]
fn subscribe_sends_a_snapshot_then_live_events_and_resumes_after_seq() {
    let d = TestDaemon::start();
    let mut producer = d.client();
    ingest(&mut producer, "a", "UserPromptSubmit");

    let mut sub = d.client();
    let snap: SubscribeResult = sub.call(method::EVENTS_SUBSCRIBE, json!({})).unwrap();
    assert_eq!(snap.head_seq, 1);
    assert_eq!(snap.sessions.len(), 1);
    assert_eq!(snap.sessions[0].session.status.as_str(), "working");

    ingest(&mut producer, "a", "PreToolUse");
    ingest(&mut producer, "b", "Stop");
    let mut seen = Vec::new();
    while seen.len() < 2 {
        match sub.read_message().unwrap() {
            Message::Notification(m, p) if m == notification::EVENT => {
                assert_eq!(p["subscription"], snap.subscription);
                assert!(
                    p["session"]["status"].is_string(),
                    "live events carry the session: {p}"
                );
                seen.push((
                    p["seq"].as_u64().unwrap(),
                    p["kind"].as_str().unwrap().to_owned(),
                ));
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(
        seen,
        [
            (2, "tool.started".to_owned()),
            (3, "turn.stopped".to_owned())
        ]
    );
    drop(sub);

    // Missed while away: exactly seqs 4 and 5, then live 6.
    ingest(&mut producer, "a", "PostToolUse");
    ingest(&mut producer, "a", "Stop");
    let mut again = d.client();
    let _: SubscribeResult = again
        .call(
            method::EVENTS_SUBSCRIBE,
            json!({"after_seq": 3, "session_id": "a"}),
        )
        .unwrap();
    ingest(&mut producer, "b", "Stop"); // filtered out
    ingest(&mut producer, "a", "UserPromptSubmit");
    let mut got = Vec::new();
    while got.len() < 3 {
        if let Message::Notification(_, p) = again.read_message().unwrap() {
            got.push(p["seq"].as_u64().unwrap());
        }
    }
    assert_eq!(got, [4, 5, 7]);
}

#[test]
fn a_slow_subscriber_gets_lagged_then_every_event_in_order() {
    let d = TestDaemon::start();
    let mut sub = d.client();
    let _: SubscribeResult = sub
        .call(method::EVENTS_SUBSCRIBE, json!({"kinds": ["turn.stopped"]}))
        .unwrap();
    // Flood far beyond the broadcast ring while the subscriber reads nothing.
    let total = 6000u64;
    let mut producer = d.client();
    for chunk in 0..(total / 500) {
        let mut ids = Vec::new();
        for i in 0..500 {
            let n = chunk * 500 + i;
            ids.push(producer.send(method::HOOK_INGEST, json!({"payload": {"session_id": format!("s{}", n % 7), "hook_event_name": "Stop"}})).unwrap());
        }
        for _ in ids {
            match producer.read_message().unwrap() {
                Message::Response(r) => assert!(r.error.is_none(), "{r:?}"),
                other => panic!("{other:?}"),
            }
        }
    }
    // A fast subscriber is unaffected.
    let events: EventsList = producer
        .call(method::EVENTS_LIST, json!({"after_seq": total - 1}))
        .unwrap();
    assert_eq!(events.events.len(), 1);

    let mut lagged = false;
    let mut next = 1u64;
    while next <= total {
        match sub.read_message().unwrap() {
            Message::Notification(m, _) if m == notification::LAGGED => lagged = true,
            Message::Notification(m, p) if m == notification::EVENT => {
                assert_eq!(p["seq"].as_u64(), Some(next), "no gap, no duplicate");
                next += 1;
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(lagged, "the subscriber was told it lagged");
}

#[test]
fn many_concurrent_clients_all_land() {
    let d = TestDaemon::start();
    let threads: Vec<_> = (0..16)
        .map(|t| {
            let socket = d.paths().socket;
            std::thread::spawn(move || {
                let mut c = Client::connect(&socket, Duration::from_secs(10)).unwrap();
                for i in 0..100 {
                    ingest(
                        &mut c,
                        &format!("t{t}"),
                        if i % 2 == 0 {
                            "PreToolUse"
                        } else {
                            "PostToolUse"
                        },
                    );
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let mut c = d.client();
    let list: EventsList = c
        .call(method::EVENTS_LIST, json!({"limit": 10000}))
        .unwrap();
    let seqs: Vec<u64> = list.events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=1600).collect::<Vec<_>>());
    let s: agentd_proto::api::SessionView =
        c.call(method::SESSIONS_GET, json!({"id": "t3"})).unwrap();
    assert_eq!(s.session.tool_calls, 50);
}

#[test]
fn client_reports_not_running_for_a_missing_socket() {
    let dir = tempfile::tempdir().unwrap();
    let err = Client::connect(&dir.path().join("none.sock"), Duration::from_secs(1))
        .err()
        .unwrap();
    assert!(matches!(err, ClientError::NotRunning(_)), "{err}");
}
