//! The HTTP listener: health, Claude Code http hooks, auth and Host/Origin checks.

mod support;

use agentd_proto::api::{EventsList, Health};
use agentd_proto::method;
use serde_json::json;
use support::{TestDaemon, http};

#[test]
fn health_hooks_auth_and_host_checks() {
    let d = TestDaemon::start();
    let mut c = d.client();
    let h: Health = c.call(method::HEALTH, json!({})).unwrap();
    let addr = h.http_addr.unwrap();
    let token = std::fs::read_to_string(d.paths().token)
        .unwrap()
        .trim()
        .to_owned();
    let bearer = format!("Bearer {token}");
    let host = ("Host", "127.0.0.1");

    let (status, body) = http(&addr, "GET /health", &[host], "");
    assert_eq!(status, 200);
    assert_eq!(serde_json::from_str::<Health>(&body).unwrap().pid, h.pid);

    let payload = json!({"session_id": "h1", "hook_event_name": "PreToolUse", "tool_name": "Read", "x_new": 1}).to_string();
    let (status, _) = http(
        &addr,
        "POST /hooks/claude",
        &[host, ("Content-Type", "application/json")],
        &payload,
    );
    assert_eq!(status, 401, "no token");
    let (status, _) = http(
        &addr,
        "POST /hooks/claude",
        &[host, ("Authorization", "Bearer wrong")],
        &payload,
    );
    assert_eq!(status, 401, "wrong token");
    let (status, _) = http(
        &addr,
        "POST /hooks/claude",
        &[("Host", "evil.example:41956"), ("Authorization", &bearer)],
        &payload,
    );
    assert_eq!(status, 403, "DNS rebinding");
    let (status, _) = http(&addr, "GET /health", &[("Host", "attacker.test")], "");
    assert_eq!(status, 403, "health checks Host too");
    let (status, _) = http(
        &addr,
        "POST /hooks/claude",
        &[
            host,
            ("Authorization", &bearer),
            ("Origin", "https://evil.example"),
        ],
        &payload,
    );
    assert_eq!(status, 403, "cross-origin");
    let (status, body) = http(
        &addr,
        "POST /hooks/claude",
        &[host, ("Authorization", &bearer)],
        "{nope",
    );
    assert_eq!(status, 400);
    assert!(body.contains("not JSON"), "{body}");

    let (status, body) = http(
        &addr,
        "POST /hooks/claude",
        &[
            ("Host", "localhost"),
            ("Authorization", &bearer),
            ("Content-Type", "application/json"),
        ],
        &payload,
    );
    assert_eq!(status, 200);
    assert_eq!(body, "", "no decision: empty 2xx body");

    let events: EventsList = c.call(method::EVENTS_LIST, json!({})).unwrap();
    assert_eq!(events.events.len(), 1, "only the authorised hook landed");
    assert_eq!(events.events[0].kind, "tool.started");
    assert_eq!(events.events[0].payload["x_new"], 1);
}
