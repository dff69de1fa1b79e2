//! Runtime slots through the CLI, JSON-RPC and GraphQL: the limit holds,
//! a refusal names who holds the slots, a waiter gets the slot a release
//! frees, TTLs and ended sessions free slots by themselves, and `agentd
//! launch` takes one.

mod support;

use std::time::Duration;

use agentd_proto::method;
use serde_json::{Value, json};
use support::{TestDaemon, run, wait_for};

fn slots(d: &TestDaemon) -> Vec<Value> {
    let out = run(&d.home, &["slots", "--json"], None);
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn one_slot_is_shared_in_turn_and_frees_itself_when_its_ttl_or_session_ends() {
    let d = TestDaemon::with_config("[slots]\nmax = 1\n");
    let out = run(&d.home, &["slots", "acquire", "--holder", "a"], None);
    assert!(out.status.success(), "{out:?}");
    let first = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    // Full: refused at once, naming the holder.
    let out = run(&d.home, &["slots", "acquire", "--holder", "b"], None);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("all 1 slots are taken") && err.contains(&format!("{first} a")),
        "{err}"
    );
    // A launch needs a slot too.
    let out = run(&d.home, &["launch", "hello"], None);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("slots are taken"),
        "{out:?}"
    );
    // A waiter gets the slot the release frees.
    let waiter = support::agentd_cmd(&d.home)
        .args(["slots", "acquire", "--holder", "c", "--wait", "60"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let out = run(&d.home, &["slots", "release", &first], None);
    assert!(out.status.success(), "{out:?}");
    let out = waiter.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let second = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert_ne!(second, first);
    // Visible through JSON-RPC; released through GraphQL.
    let list: Vec<Value> = d.client().call(method::SLOTS_LIST, json!({})).unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["holder"], "c");
    let g = gql(
        &d,
        &format!("mutation {{ releaseSlot(id: \"{second}\") {{ id holder }} }}"),
    );
    assert_eq!(g["data"]["releaseSlot"]["holder"], "c", "{g}");
    assert!(slots(&d).is_empty());
    let out = run(&d.home, &["slots", "release", &second], None);
    assert_eq!(out.status.code(), Some(1), "released once: {out:?}");

    // A TTL frees it by itself.
    let out = run(
        &d.home,
        &["slots", "acquire", "--holder", "t", "--ttl", "1"],
        None,
    );
    assert!(out.status.success(), "{out:?}");
    wait_for("the TTL to free the slot", Duration::from_secs(30), || {
        slots(&d).is_empty().then_some(())
    });
    // So does the end of its session.
    let p = json!({"session_id": "slotted", "hook_event_name": "SessionStart", "cwd": "/w"});
    assert!(
        run(&d.home, &["hook"], Some(p.to_string().as_bytes()))
            .status
            .success()
    );
    let out = run(
        &d.home,
        &["slots", "acquire", "--holder", "s", "--session", "slotted"],
        None,
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(slots(&d).len(), 1);
    let p = json!({"session_id": "slotted", "hook_event_name": "SessionEnd", "reason": "exit"});
    assert!(
        run(&d.home, &["hook"], Some(p.to_string().as_bytes()))
            .status
            .success()
    );
    wait_for(
        "the session's end to free the slot",
        Duration::from_secs(30),
        || slots(&d).is_empty().then_some(()),
    );
}

/// A GraphQL request with the daemon's token over raw HTTP/1.1.
fn gql(d: &TestDaemon, query: &str) -> Value {
    use std::io::{Read, Write};
    let h: Value = d.client().call(method::HEALTH, json!({})).unwrap();
    let addr = h["http_addr"].as_str().unwrap().to_owned();
    let token = std::fs::read_to_string(d.paths().token).unwrap();
    let body = json!({ "query": query }).to_string();
    let mut s = std::net::TcpStream::connect(&addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "POST /graphql HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        token.trim(),
        body.len()
    )
    .unwrap();
    let mut raw = String::new();
    let _ = s.read_to_string(&mut raw);
    let body = raw.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {raw}"))
}
