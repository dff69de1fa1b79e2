//! Every real hook and status-line payload in `../shared/fixtures/claude` is
//! accepted, and stored exactly as received: unknown events and fields are
//! kept, not dropped.

mod support;

use std::path::{Path, PathBuf};

use agentd_client::client::Message;
use agentd_proto::api::{EventsList, SessionView};
use agentd_proto::method;
use serde_json::{Value, json};
use support::TestDaemon;

fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "json") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The payloads in a fixture file: a list of payloads (hook loggers), or
/// logger envelopes with `input_data` (status-line loggers), or one payload.
fn payloads(path: &Path) -> Vec<Value> {
    let v: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let items = match v {
        Value::Array(items) => items,
        one => vec![one],
    };
    items
        .into_iter()
        .map(|item| match item.get("input_data") {
            Some(inner) => inner.clone(),
            None => item,
        })
        .collect()
}

#[test]
fn every_fixture_payload_is_accepted_and_kept_verbatim() {
    let Some(fixtures) = support::fixtures("every_fixture_payload_is_accepted_and_kept_verbatim")
    else {
        return;
    };
    let mut d = TestDaemon::start();
    let mut c = d.client();
    let mut sent = Vec::new();
    for (kind, ingest) in [
        ("hooks", method::HOOK_INGEST),
        ("statusline", method::STATUS_INGEST),
    ] {
        let files = json_files(&fixtures.join(kind));
        assert!(
            !files.is_empty(),
            "no {kind} fixtures under {}",
            fixtures.display()
        );
        for file in files {
            for payload in payloads(&file) {
                // Pipeline in chunks: one round trip per chunk, not per payload.
                c.send(ingest, json!({"payload": payload})).unwrap();
                sent.push((file.clone(), payload));
                if sent.len() % 200 == 0 {
                    drain(&mut c, 200);
                }
            }
        }
    }
    drain(&mut c, sent.len() % 200);
    assert!(
        sent.len() > 1400,
        "expected the whole corpus, got {}",
        sent.len()
    );

    let mut stored = Vec::new();
    let mut after = 0;
    loop {
        let page: EventsList = c
            .call(
                method::EVENTS_LIST,
                json!({"after_seq": after, "limit": 10000}),
            )
            .unwrap();
        let Some(last) = page.events.last() else {
            break;
        };
        after = last.seq;
        stored.extend(page.events);
    }
    assert_eq!(stored.len(), sent.len());
    for ((file, original), event) in sent.iter().zip(&stored) {
        assert_eq!(
            &event.payload,
            original,
            "{} stored verbatim",
            file.display()
        );
        assert_eq!(event.session_id, original["session_id"].as_str().unwrap());
        if let Some(name) = original.get("hook_event_name").and_then(Value::as_str)
            && event.source == "hook"
        {
            assert_eq!(event.name, name);
        }
    }
    // The registry is a fold over the log: rebuilt from the log alone (the
    // checkpoint wiped), it is exactly what the live daemon had.
    let live: Vec<SessionView> = c.call(method::SESSIONS_LIST, json!({})).unwrap();
    assert!(live.len() > 10, "{} sessions", live.len());
    drop(c);
    d.stop();
    let db = agentd_store::open(&d.paths().db).unwrap();
    db.execute_batch("DELETE FROM sessions; DELETE FROM meta;")
        .unwrap();
    drop(db);
    d.restart();
    let rebuilt: Vec<SessionView> = d.client().call(method::SESSIONS_LIST, json!({})).unwrap();
    assert_eq!(rebuilt, live);

    // Each known event maps to its own kind; nothing known lands as "other".
    let others: Vec<&str> = stored
        .iter()
        .filter(|e| e.kind == "other")
        .map(|e| e.name.as_str())
        .collect();
    assert!(others.is_empty(), "unmapped events: {others:?}");
}

fn drain(c: &mut agentd_client::Client, n: usize) {
    for _ in 0..n {
        match c.read_message().unwrap() {
            Message::Response(r) => assert!(r.error.is_none(), "rejected: {:?}", r.error),
            Message::Notification(..) => {}
        }
    }
}
