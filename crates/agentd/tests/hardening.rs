//! Hostile input and bad clients (issue 9): a payload that names a FIFO, a
//! device, a directory or a huge file never freezes the daemon, and what it
//! stores is still what arrived.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use agentd_proto::api::EventsList;
use agentd_proto::method;
use serde_json::{Value, json};
use support::{TestDaemon, mkfifo, run, wait_for};

/// Events stored for `session`.
fn stored(d: &TestDaemon, session: &str) -> Vec<Value> {
    // Tests that fill the connection cap free slots the daemon sees closed
    // on its own time.
    let mut c = wait_for("a client connection", Duration::from_secs(30), || {
        agentd_client::Client::connect(&d.paths().socket, Duration::from_secs(5)).ok()
    });
    let list: EventsList = c
        .call(
            method::EVENTS_LIST,
            json!({"after_seq": 0, "session_id": session}),
        )
        .unwrap();
    list.events
        .into_iter()
        .map(|e| serde_json::to_value(e).unwrap())
        .collect()
}

#[test]
fn paths_in_payloads_that_are_fifos_devices_or_huge_never_freeze_the_daemon() {
    let d = TestDaemon::start();
    let tmp = tempfile::tempdir().unwrap();
    // A project whose `.git` and `.agentd/hooks.toml` are FIFOs: opening
    // either for reading blocks until a writer appears.
    let fifo = tmp.path().join("fifo");
    std::fs::create_dir_all(fifo.join(".agentd")).unwrap();
    mkfifo(&fifo.join(".git"));
    mkfifo(&fifo.join(".agentd/hooks.toml"));
    // One whose `.git` is a 512 MiB (sparse) file, and whose HEAD-by-link
    // is an endless device.
    let huge = tmp.path().join("huge");
    std::fs::create_dir_all(&huge).unwrap();
    std::fs::File::create(huge.join(".git"))
        .unwrap()
        .set_len(512 << 20)
        .unwrap();
    let dev = tmp.path().join("dev");
    std::fs::create_dir_all(dev.join(".git")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", dev.join(".git/HEAD")).unwrap();
    std::fs::create_dir_all(dev.join(".agentd")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", dev.join(".agentd/hooks.toml")).unwrap();

    let mut expected = 0;
    for (i, project) in [&fifo, &huge, &dev].into_iter().enumerate() {
        let session = format!("s{i}");
        for event in [
            "SessionStart",
            "UserPromptSubmit",
            "PreToolUse",
            "PostToolUse",
            "Stop",
        ] {
            let payload = json!({
                "session_id": session,
                "hook_event_name": event,
                "cwd": project,
                "tool_name": "Bash",
                "transcript_path": project.join(".git"),
            });
            let out = run(
                &d.home,
                &["hook"],
                Some(serde_json::to_vec(&payload).unwrap().as_slice()),
            );
            assert!(out.status.success(), "{event} in {project:?}: {out:?}");
            expected += 1;
        }
        // Every event was acknowledged and stored, none left to the spool.
        assert_eq!(stored(&d, &session).len(), 5, "{project:?}");
    }
    assert!(agentd_client::spool::list(&d.paths().spool).is_empty());
    assert_eq!(expected, 15);
    // And the daemon still answers everything else.
    let out = run(&d.home, &["health", "--json"], None);
    assert!(out.status.success(), "{out:?}");
    let h: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(h["status"], "ok", "{h}");
    // No branch came from any of those files.
    let out = run(&d.home, &["show", "s0", "--json"], None);
    let s: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(s["git_branch"].is_null(), "{s}");
}

/// Raises this test process's open-files limit (tests open many sockets).
fn raise_nofile() {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let l = getrlimit(Resource::Nofile);
    setrlimit(
        Resource::Nofile,
        rustix::process::Rlimit {
            current: l.maximum,
            maximum: l.maximum,
        },
    )
    .unwrap();
}

/// A raw, initialized socket connection naming itself `client`.
fn raw_client(d: &TestDaemon, client: &str) -> (UnixStream, BufReader<UnixStream>, Value) {
    let mut s = UnixStream::connect(d.paths().socket).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut r = BufReader::new(s.try_clone().unwrap());
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocol_version": "1.0", "client": client}});
    s.write_all(format!("{init}\n").as_bytes()).unwrap();
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    let v: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
    (s, r, v)
}

fn hook(d: &TestDaemon, payload: &Value, env: &[(&str, &str)]) -> std::process::Output {
    support::spawn_hook(&d.home, payload.to_string().as_bytes(), env)
        .wait_with_output()
        .unwrap()
}

fn health(d: &TestDaemon) -> Value {
    d.client().call(method::HEALTH, json!({})).unwrap()
}

#[test]
fn at_the_connection_cap_hooks_keep_a_reserve_and_what_is_refused_is_spooled_then_stored_once() {
    raise_nofile();
    // 300 connections at most, 256 of them kept for hooks: 44 for others.
    let d = TestDaemon::with_config("[daemon]\nmax_connections = 300\n");
    let mut clients = Vec::new();
    for _ in 0..44 {
        let (s, _, v) = raw_client(&d, "agentd-cli/test");
        assert!(v.get("result").is_some(), "{v}");
        clients.push(s);
    }
    let (_s, _, refused) = raw_client(&d, "agentd-cli/test");
    assert_eq!(refused["error"]["code"], -32008, "{refused}");
    let msg = refused["error"]["message"].as_str().unwrap();
    assert!(msg.contains("kept for hooks"), "{msg}");
    // A hook still gets through: its connections are reserved.
    let p = json!({"session_id": "capped", "hook_event_name": "SessionStart", "cwd": "/"});
    assert!(hook(&d, &p, &[]).status.success());
    assert!(agentd_client::spool::list(&d.paths().spool).is_empty());
    clients.pop();
    assert_eq!(stored(&d, "capped").len(), 1);

    // Fill every connection (silent, never initialized) ...
    drop(clients);
    let mut squatters = Vec::new();
    wait_for("the cap to be reached", Duration::from_secs(60), || {
        while squatters.len() < 400 {
            squatters.push(UnixStream::connect(d.paths().socket).unwrap());
        }
        let s = UnixStream::connect(d.paths().socket).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        // Refused at accept: closed without a byte.
        let mut buf = [0u8; 1];
        let closed = matches!((&s).read(&mut buf), Ok(0));
        squatters.push(s);
        closed.then_some(())
    });
    // ... and a hook's event is not lost: it is spooled.
    let p = json!({"session_id": "capped", "hook_event_name": "UserPromptSubmit", "prompt": "hi"});
    let out = hook(&d, &p, &[("AGENTD_HOOK_TIMEOUT_MS", "1000")]);
    assert!(out.status.success() && out.stdout.is_empty(), "{out:?}");
    assert_eq!(agentd_client::spool::list(&d.paths().spool).len(), 1);
    // Silent connections are closed after the handshake time; the running
    // daemon then drains the spool by itself.
    drop(squatters);
    wait_for(
        "the spooled event to be stored",
        Duration::from_secs(60),
        || (stored(&d, "capped").len() == 2).then_some(()),
    );
    assert!(agentd_client::spool::list(&d.paths().spool).is_empty());
    assert!(
        health(&d)["limits"]["connections_refused"]
            .as_u64()
            .unwrap()
            >= 2
    );
}

#[test]
fn a_stopped_daemon_gets_the_event_spooled_and_stores_it_exactly_once() {
    let mut d = TestDaemon::start();
    let pid = rustix::process::Pid::from_raw(d.pid() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::STOP).unwrap();
    let p = json!({"session_id": "stopped", "hook_event_name": "UserPromptSubmit", "prompt": "x"});
    let out = hook(&d, &p, &[("AGENTD_HOOK_TIMEOUT_MS", "300")]);
    rustix::process::kill_process(pid, rustix::process::Signal::CONT).unwrap();
    assert!(out.status.success(), "{out:?}");
    // The request reached the socket before the hook gave up, so the
    // daemon may store it from there too: the delivery id keeps it single.
    wait_for("the spool to be drained", Duration::from_secs(60), || {
        agentd_client::spool::list(&d.paths().spool)
            .is_empty()
            .then_some(())
    });
    assert_eq!(stored(&d, "stopped").len(), 1);
    // Still once after a restart.
    d.stop();
    d.restart();
    assert_eq!(stored(&d, "stopped").len(), 1);
}

#[test]
fn an_oversize_payload_is_stored_cut_with_a_marker_never_dropped() {
    let d = TestDaemon::start();
    for size in [900 << 10, 1 << 20, 3 << 20] {
        let p = json!({
            "session_id": format!("big{size}"),
            "hook_event_name": "PostToolUse",
            "tool_name": "Bash",
            "tool_use_id": "toolu_big",
            "tool_input": {"command": "cat big"},
            "tool_response": {"stdout": "x".repeat(size)},
        });
        let out = hook(&d, &p, &[]);
        assert!(out.status.success(), "{out:?}");
        let events = stored(&d, &format!("big{size}"));
        assert_eq!(events.len(), 1, "{size}");
        let payload = &events[0]["payload"];
        assert_eq!(payload["tool_use_id"], "toolu_big");
        assert_eq!(payload["tool_input"]["command"], "cat big");
        if size > 960 << 10 {
            assert!(payload.get("tool_response").is_none());
            assert!(
                payload["agentd_truncated"]["original_bytes"]
                    .as_u64()
                    .unwrap()
                    > size as u64
            );
        } else {
            assert_eq!(
                payload["tool_response"]["stdout"].as_str().unwrap().len(),
                size
            );
        }
    }
    assert!(agentd_client::spool::list(&d.paths().spool).is_empty());
}

fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap()
}

#[test]
fn partial_frames_share_one_budget_and_the_oldest_are_shed() {
    raise_nofile();
    let d = TestDaemon::start();
    let before = rss_kb(d.pid());
    // 300 connections each holding 900 KiB of an unfinished line: 270 MB
    // if nothing bounded them (1 000 × 1 MiB once took 1 GB).
    let chunk = vec![b'x'; 900 << 10];
    let mut conns = Vec::new();
    for _ in 0..300 {
        let (mut s, r, _) = raw_client(&d, "agentd-cli/test");
        s.set_write_timeout(Some(Duration::from_secs(30))).unwrap();
        let _ = s.write_all(&chunk);
        conns.push((s, r));
    }
    let h = health(&d);
    let buffered = h["limits"]["buffered_bytes"].as_u64().unwrap();
    assert!(buffered <= 64 << 20, "{h}");
    let peak = rss_kb(d.pid());
    assert!(
        peak < before + 200_000,
        "RSS grew from {before} kB to {peak} kB"
    );
    // The shed ones were told why, and the first ones were the oldest.
    let mut shed = 0;
    for (_, r) in conns.iter_mut().take(50) {
        let mut line = String::new();
        if r.read_line(&mut line).is_ok() && line.contains("-32008") {
            shed += 1;
        }
    }
    assert!(shed > 0, "no connection was shed");
    assert!(h["limits"]["connections_refused"].as_u64().unwrap() > 0);
    drop(conns);
    wait_for("the buffers to be freed", Duration::from_secs(60), || {
        (health(&d)["limits"]["buffered_bytes"] == 0).then_some(())
    });
}

fn http_addr(d: &TestDaemon) -> String {
    health(d)["http_addr"].as_str().unwrap().to_owned()
}

#[test]
fn an_http_flood_never_makes_the_socket_unreachable() {
    raise_nofile();
    let d = TestDaemon::start();
    let addr = http_addr(&d);
    // 1 100 idle TCP connections once exhausted the daemon's 1 024
    // descriptors; the socket then refused everyone.
    let sockaddr: std::net::SocketAddr = addr.parse().unwrap();
    let mut tcp = Vec::new();
    let mut failed_in_a_row = 0;
    let cap = agentd_daemon::limits::MAX_HTTP_CONNECTIONS;
    for _ in 0..cap + 600 {
        // Past the cap they wait in the kernel's accept queue, and once
        // that is full, connecting itself waits: then enough.
        match std::net::TcpStream::connect_timeout(&sockaddr, Duration::from_secs(5)) {
            Ok(s) => {
                tcp.push(s);
                failed_in_a_row = 0;
            }
            Err(_) => {
                failed_in_a_row += 1;
                if failed_in_a_row == 3 {
                    break;
                }
            }
        }
    }
    assert!(tcp.len() > cap, "only {} connections", tcp.len());
    let h = health(&d);
    assert_eq!(h["status"], "ok");
    let p = json!({"session_id": "flood", "hook_event_name": "SessionStart", "cwd": "/"});
    assert!(hook(&d, &p, &[]).status.success());
    assert_eq!(stored(&d, "flood").len(), 1);
    // The daemon holds at most its HTTP cap of them.
    let fds = std::fs::read_dir(format!("/proc/{}/fd", d.pid()))
        .unwrap()
        .count();
    assert!(fds < cap + 350, "{fds} descriptors open");
}

fn http_request(addr: &str, raw: &str) -> String {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(raw.as_bytes()).unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

#[test]
fn duplicate_hosts_and_foreign_absolute_targets_are_refused() {
    let d = TestDaemon::start();
    let addr = http_addr(&d);
    let token = std::fs::read_to_string(d.paths().token).unwrap();
    let token = token.trim();
    let body = r#"{"session_id":"h","hook_event_name":"SessionStart"}"#;
    let req = |target: &str, hosts: &[&str]| {
        let mut r = format!("POST {target} HTTP/1.1\r\n");
        for h in hosts {
            r.push_str(&format!("Host: {h}\r\n"));
        }
        r.push_str(&format!(
            "Authorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ));
        http_request(&addr, &r)
    };
    let two = req("/hooks/claude", &["127.0.0.1", "attacker.example"]);
    assert!(two.starts_with("HTTP/1.1 403"), "{two}");
    let absolute = req("http://attacker.example/hooks/claude", &["127.0.0.1"]);
    assert!(absolute.starts_with("HTTP/1.1 403"), "{absolute}");
    assert!(stored(&d, "h").is_empty());
    let ok = req("/hooks/claude", &["127.0.0.1"]);
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
    assert_eq!(stored(&d, "h").len(), 1);
}

#[test]
fn a_failed_start_leaves_no_socket_and_no_pid_file() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let home = tempfile::Builder::new().prefix("agd").tempdir().unwrap();
    let out = support::agentd_cmd(home.path())
        .env("AGENTD_HTTP_LISTEN", format!("127.0.0.1:{port}"))
        .arg("serve")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot listen"), "{err}");
    let paths = agentd_client::Paths::resolve(Some(home.path())).unwrap();
    assert!(!paths.socket.exists(), "stale socket left");
    assert!(!paths.pid.exists(), "stale pid file left");
    // And a clean stop leaves neither either.
    let mut d = TestDaemon::start_in(home.path());
    assert!(paths.pid.exists());
    d.stop();
    assert!(!paths.socket.exists());
    assert!(!paths.pid.exists());
}

#[test]
fn a_null_id_gets_a_reply_and_numbers_are_stored_as_they_arrived() {
    let d = TestDaemon::start();
    let (mut s, mut r, _) = raw_client(&d, "agentd-cli/test");
    let mut roundtrip = |line: &str| {
        s.write_all(format!("{line}\n").as_bytes()).unwrap();
        let mut resp = String::new();
        r.read_line(&mut resp).unwrap();
        resp
    };
    let resp = roundtrip(r#"{"jsonrpc":"2.0","id":null,"method":"health"}"#);
    let v: Value = serde_json::from_str(&resp).unwrap();
    assert!(v.get("id").is_some_and(Value::is_null), "{resp}");
    assert_eq!(v["result"]["status"], "ok", "{resp}");
    // An id beyond u64 comes back as written.
    let resp =
        roundtrip(r#"{"jsonrpc":"2.0","id":123456789012345678901234567890,"method":"health"}"#);
    assert!(
        resp.contains(r#""id":123456789012345678901234567890"#),
        "{resp}"
    );
    // Payload integers beyond f64 are stored exactly.
    let big = "123456789012345678901234567890";
    let resp = roundtrip(&format!(
        r#"{{"jsonrpc":"2.0","id":3,"method":"hook.ingest","params":{{"payload":{{"session_id":"n","hook_event_name":"Notification","count":{big},"ratio":0.1000000000000000055511151231257827}}}}}}"#
    ));
    assert!(resp.contains(r#""seq":1"#), "{resp}");
    let out = run(&d.home, &["events", "--json", "--session", "n"], None);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(big), "{text}");
    assert!(
        text.contains("0.1000000000000000055511151231257827"),
        "{text}"
    );
}

#[test]
fn bidi_and_c1_controls_never_reach_a_terminal_raw() {
    let d = TestDaemon::start();
    let nasty = "rate limit\u{202e}txt.exe \u{9b}31m \u{2066}x";
    for (event, extra) in [
        ("SessionStart", json!({})),
        ("StopFailure", json!({"error": nasty})),
        ("Notification", json!({"message": nasty})),
    ] {
        let mut p =
            json!({"session_id": "bidi", "hook_event_name": event, "cwd": format!("/w/{nasty}")});
        if let (Value::Object(m), Value::Object(x)) = (&mut p, extra) {
            m.extend(x);
        }
        assert!(
            run(&d.home, &["hook"], Some(p.to_string().as_bytes()))
                .status
                .success()
        );
    }
    let raw = |c: char| c == '\u{202e}' || c == '\u{9b}' || c == '\u{2066}';
    for args in [
        vec!["show", "bidi"],
        vec!["show", "bidi", "--json"],
        vec!["ls"],
        vec!["ls", "--json"],
        vec!["events"],
        vec!["events", "--json"],
    ] {
        let out = run(&d.home, &args, None);
        assert!(out.status.success(), "{args:?}: {out:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            !text.chars().any(raw),
            "{args:?} printed a raw control: {text:?}"
        );
        if args.contains(&"--json") {
            assert!(text.contains("\\u202e"), "{args:?}: {text}");
        } else if args[0] == "show" {
            assert!(text.contains("\\u{202e}"), "{args:?}: {text}");
        }
    }
}

#[test]
fn events_pages_until_the_end_or_the_limit_and_says_when_it_stops_early() {
    let d = TestDaemon::start();
    let mut c = d.client();
    let n = 20_000;
    for i in 0..n {
        c.send(
            method::HOOK_INGEST,
            json!({"payload": {"session_id": format!("s{}", i % 7), "hook_event_name": "Notification", "i": i}}),
        )
        .unwrap();
        if i % 500 == 499 {
            for _ in 0..500 {
                c.read_message().unwrap();
            }
        }
    }
    // Events too large to share a page: each page holds one.
    for _ in 0..4 {
        let pad = "p".repeat(600 << 10);
        let _: Value = c
            .call(
                method::HOOK_INGEST,
                json!({"payload": {"session_id": "big", "hook_event_name": "Notification", "pad": pad}}),
            )
            .unwrap();
    }
    let out = run(&d.home, &["events", "--after", "0", "--json"], None);
    assert!(
        out.status.success(),
        "{:?}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = out
        .stdout
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .count();
    assert_eq!(lines, n + 4);
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&d.home, &["events", "--json", "--limit", "15000"], None);
    let lines = out
        .stdout
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .count();
    assert_eq!(lines, 15_000);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("stopped at --limit 15000") && err.contains("--after 15000"),
        "{err}"
    );
    let out = run(&d.home, &["events", "--session", "big", "--json"], None);
    let lines = out
        .stdout
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .count();
    assert_eq!(lines, 4);
}

#[test]
fn a_subscriber_that_stops_reading_is_told_why_and_where_to_resume() {
    let d = TestDaemon::start();
    let (mut s, mut r, _) = raw_client(&d, "slow-subscriber");
    s.write_all(b"{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"events.subscribe\",\"params\":{\"after_seq\":0}}\n")
        .unwrap();
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    assert!(line.contains("\"subscription\""), "{line}");
    // Stop reading; the daemon keeps committing events.
    let mut c = d.client();
    let pad = "q".repeat(4096);
    for i in 0..3000 {
        c.send(
            method::HOOK_INGEST,
            json!({"payload": {"session_id": "busy", "hook_event_name": "Notification", "i": i, "pad": pad}}),
        )
        .unwrap();
        if i % 500 == 499 {
            for _ in 0..500 {
                c.read_message().unwrap();
            }
        }
    }
    wait_for(
        "the slow subscriber to be dropped",
        Duration::from_secs(120),
        || (health(&d)["limits"]["subscribers_dropped"] == 1).then_some(()),
    );
    // Reading again: events in order, then the final notice, then the end.
    let mut seqs = Vec::new();
    let mut last = None;
    loop {
        line.clear();
        if r.read_line(&mut line).unwrap() == 0 {
            break;
        }
        let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
        match v["method"].as_str() {
            Some("event") => seqs.push(v["params"]["seq"].as_u64().unwrap()),
            Some("lagged") => last = Some(v["params"].clone()),
            _ => panic!("unexpected {v}"),
        }
    }
    let last = last.expect("a final lagged notice");
    assert_eq!(last["closed"], true, "{last}");
    assert!(
        last["reason"].as_str().unwrap().contains("read nothing"),
        "{last}"
    );
    let expected: Vec<u64> = (1..=seqs.len() as u64).collect();
    assert_eq!(seqs, expected, "events in order, none missing");
    assert_eq!(last["last_seq"].as_u64(), seqs.last().copied().or(Some(0)));
    assert!(seqs.len() < 3000, "the subscriber was not behind");
    assert!(d.log().contains("stopped reading"), "logged");
}

fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

fn set_mode(p: &Path, m: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
}

/// `agentd serve` in `home`, expected to refuse: its stderr.
fn refused_start(home: &Path) -> String {
    let out = support::agentd_cmd(home)
        .arg("serve")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success(), "started: {out:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_root_or_file_other_users_could_write_is_refused_and_never_chmodded() {
    let tmp = tempfile::tempdir().unwrap();
    // A root that was world-writable before the first start.
    let root = tmp.path().join("shared");
    std::fs::create_dir(&root).unwrap();
    set_mode(&root, 0o1777);
    let err = refused_start(&root);
    assert!(
        err.contains(&root.display().to_string()) && err.contains("chmod go-w"),
        "{err}"
    );
    assert_eq!(mode(&root), 0o1777, "never chmodded");
    // AGENTD_HOME as a link to it: the same, and the target is untouched.
    let link = tmp.path().join("link");
    std::os::unix::fs::symlink(&root, &link).unwrap();
    let err = refused_start(&link);
    assert!(err.contains("writable by other users"), "{err}");
    assert_eq!(mode(&root), 0o1777);

    // A private root with files planted while it was open.
    set_mode(&root, 0o700);
    let planted = [
        (
            "agentd.toml",
            "[[hooks]]\nname = \"x\"\nevents = [\"Stop\"]\ncommand = \"touch /tmp/pwned\"\n",
        ),
        (
            "token",
            "0123456789abcdef0123456789abcdef0123456789abcdef\n",
        ),
    ];
    for (name, text) in planted {
        let f = root.join(name);
        std::fs::write(&f, text).unwrap();
        set_mode(&f, 0o666);
        let err = refused_start(&root);
        assert!(
            err.contains(name) && err.contains("writable by other users"),
            "{err}"
        );
        set_mode(&f, 0o600);
        if agentd_client::trust::my_uid() == 0 {
            // Owned by someone else (as root, the test can make it so).
            std::os::unix::fs::chown(&f, Some(65534), None).unwrap();
            let err = refused_start(&root);
            assert!(
                err.contains(name) && err.contains("belongs to uid 65534"),
                "{err}"
            );
        }
        std::fs::remove_file(&f).unwrap();
    }
    // A forged spool record is never ingested; it is set aside with why.
    let spool = root.join("spool");
    std::fs::create_dir(&spool).unwrap();
    set_mode(&spool, 0o700);
    let forged = spool.join("0000000000001-forged.json");
    std::fs::write(
        &forged,
        r#"{"ts_ms":1,"payload":{"session_id":"forged","hook_event_name":"SessionStart"}}"#,
    )
    .unwrap();
    set_mode(&forged, 0o666);
    let d = TestDaemon::start_in(&root);
    assert!(stored(&d, "forged").is_empty());
    let why = std::fs::read_to_string(spool.join("rejected/0000000000001-forged.why")).unwrap();
    assert!(why.contains("writable by other users"), "{why}");
}

#[test]
fn gc_cuts_old_payloads_to_their_lifecycle_fields_and_keeps_recent_ones_whole() {
    let home = tempfile::Builder::new().prefix("agd").tempdir().unwrap();
    // The daemon creates the root; then events arrive through the spool
    // with the times the hooks received them: 30 days ago, and now.
    let mut d = TestDaemon::start_in(home.path());
    d.stop();
    let paths = agentd_client::Paths::resolve(Some(home.path())).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let big = "o".repeat(20_000);
    for (i, age_days) in [(0, 30), (1, 30), (2, 20), (3, 0), (4, 0)] {
        let e = agentd_client::spool::Spooled {
            id: Some(format!("gc-{i}")),
            ts_ms: now - age_days * 86_400_000,
            payload: json!({"session_id": "gc", "hook_event_name": "PostToolUse", "tool_name": "Bash",
                "tool_use_id": format!("toolu_{i}"), "tool_response": {"stdout": big}}),
            env: Value::Null,
        };
        agentd_client::spool::write(&paths.spool, &e).unwrap();
    }
    d.restart();
    assert_eq!(stored(&d, "gc").len(), 5);
    let out = run(&d.home, &["gc", "--json"], None);
    assert!(out.status.success(), "{out:?}");
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["compacted"], 3, "{r}");
    assert!(r["bytes_freed"].as_u64().unwrap() > 3 * 19_000, "{r}");
    assert!(
        r["file_bytes_after"].as_u64() <= r["file_bytes_before"].as_u64(),
        "{r}"
    );
    let events = stored(&d, "gc");
    assert_eq!(events.len(), 5, "nothing deleted");
    for (i, e) in events.iter().enumerate() {
        let p = &e["payload"];
        assert_eq!(
            p["tool_use_id"],
            format!("toolu_{i}"),
            "lifecycle fields kept"
        );
        if i < 3 {
            assert!(p.get("tool_response").is_none(), "{p}");
            assert_eq!(p["agentd_truncated"]["by"], "retention");
        } else {
            assert_eq!(
                p["tool_response"]["stdout"].as_str().map(str::len),
                Some(20_000)
            );
        }
    }
    // A second run has nothing left to do.
    let out = run(&d.home, &["gc", "--json"], None);
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["compacted"], 0, "{r}");
    let text = run(&d.home, &["gc"], None);
    assert!(String::from_utf8_lossy(&text.stdout).contains("agentd.db:"));
}

/// A stand-in for `claude` (stream-json mode) that announces a session,
/// asks to use a tool, records every line agentd writes to it in `$FAKE_OUT`,
/// and ignores SIGINT and SIGTERM (so only SIGKILL ends it).
fn stubborn_claude(dir: &Path) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let script = dir.join("claude");
    std::fs::write(
        &script,
        r#"#!/bin/sh
trap '' INT TERM
printf '%s\n' '{"type":"system","subtype":"init","session_id":"11111111-2222-4333-8444-555555555555","model":"claude-opus-5-5","cwd":"/tmp","tools":[]}'
printf '%s\n' '{"type":"control_request","request_id":"req_1","request":{"subtype":"can_use_tool","tool_name":"Bash","input":{"command":"ls"},"tool_use_id":"toolu_1"}}'
while IFS= read -r line; do printf '%s\n' "$line" >> "$FAKE_OUT"; done
while :; do sleep 1; done
"#,
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

/// A stand-in for `claude` that exits on SIGINT itself but leaves a child
/// in its process group that ignores SIGINT and SIGTERM.
fn leaky_claude(dir: &Path) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let script = dir.join("claude");
    std::fs::write(
        &script,
        r#"#!/bin/sh
(trap '' INT TERM; : > "$0.ready"; while :; do sleep 1; done) &
# The child ignores the signals before the session starts (else a fast
# kill could end it with SIGINT and the test would prove nothing).
while [ ! -e "$0.ready" ]; do sleep 0.05; done
printf '%s\n' '{"type":"system","subtype":"init","session_id":"11111111-2222-4333-8444-666666666666","model":"claude-opus-5-5","cwd":"/tmp","tools":[]}'
while IFS= read -r line; do :; done
"#,
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

#[test]
fn kill_reports_the_signal_that_ended_the_whole_group_not_just_claude() {
    let tmp = tempfile::tempdir().unwrap();
    let claude = leaky_claude(tmp.path());
    let home = tempfile::Builder::new().prefix("agd").tempdir().unwrap();
    let d = TestDaemon::start_with_env(
        home.path(),
        vec![("AGENTD_CLAUDE".into(), claude.display().to_string())],
    );
    let launched: Value = d
        .client()
        .call(
            method::SESSIONS_LAUNCH,
            json!({"prompt": "go", "cwd": tmp.path()}),
        )
        .unwrap();
    let id = launched["session_id"].as_str().unwrap().to_owned();
    let group = rustix::process::Pid::from_raw(launched["pid"].as_u64().unwrap() as i32).unwrap();
    let mut c = d.client();
    c.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let killed: Value = c.call(method::SESSIONS_KILL, json!({"id": id})).unwrap();
    // Claude Code's stand-in left at SIGINT; its child only at SIGKILL.
    assert_eq!(killed["ended_by"], "SIGKILL", "{killed}");
    assert!(
        rustix::process::test_kill_process_group(group).is_err(),
        "nothing of the group is left when kill answers"
    );
    // The CLI says the same in one line.
    let out = run(&d.home, &["kill", &id], None);
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("already exited"),
        "{out:?}"
    );
}

#[test]
fn send_resumes_a_killed_session_with_its_model_permission_mode_and_name() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    // A `claude` that records its arguments, one run per line.
    let claude = tmp.path().join("claude");
    std::fs::write(
        &claude,
        r#"#!/bin/sh
printf '%s\n' "$*" >> "$FAKE_OUT"
printf '%s\n' '{"type":"system","subtype":"init","session_id":"11111111-2222-4333-8444-777777777777","model":"claude-opus-5-5","cwd":"/tmp","tools":[]}'
while IFS= read -r line; do :; done
"#,
    )
    .unwrap();
    std::fs::set_permissions(&claude, std::fs::Permissions::from_mode(0o755)).unwrap();
    let argv = tmp.path().join("argv.log");
    let home = tempfile::Builder::new().prefix("agd").tempdir().unwrap();
    // One slot: the launch takes it, its end frees it, a resume takes it
    // again.
    std::fs::write(home.path().join("agentd.toml"), "[slots]\nmax = 1\n").unwrap();
    let d = TestDaemon::start_with_env(
        home.path(),
        vec![
            ("AGENTD_CLAUDE".into(), claude.display().to_string()),
            ("FAKE_OUT".into(), argv.display().to_string()),
        ],
    );
    let mut c = d.client();
    c.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let launched: Value = c
        .call(
            method::SESSIONS_LAUNCH,
            json!({"prompt": "go", "cwd": tmp.path(), "model": "claude-sonnet-5",
                "permission_mode": "plan", "name": "refactor"}),
        )
        .unwrap();
    let id = launched["session_id"].as_str().unwrap().to_owned();
    let _: Value = c.call(method::SESSIONS_KILL, json!({"id": id})).unwrap();
    // The killed session's slot is free again; someone else takes it, and
    // the resume waits its turn (refused, naming the holder).
    wait_for(
        "the session's slot to be freed",
        Duration::from_secs(30),
        || {
            let held: Vec<Value> = d.client().call(method::SLOTS_LIST, json!({})).ok()?;
            held.is_empty().then_some(())
        },
    );
    let out = run(&d.home, &["slots", "acquire", "--holder", "blocker"], None);
    assert!(out.status.success(), "{out:?}");
    let blocker = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let out = run(&d.home, &["send", &id, "and now the tests"], None);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("blocker"),
        "{out:?}"
    );
    assert!(
        run(&d.home, &["slots", "release", &blocker], None)
            .status
            .success()
    );
    let out = run(&d.home, &["send", &id, "and now the tests"], None);
    assert!(out.status.success(), "{out:?}");
    let runs = std::fs::read_to_string(&argv).unwrap();
    let runs: Vec<&str> = runs.lines().collect();
    assert_eq!(runs.len(), 2, "{runs:?}");
    for flag in [
        "--model claude-sonnet-5",
        "--permission-mode plan",
        "--name refactor",
    ] {
        assert!(
            runs[1].contains(flag),
            "resumed without {flag}: {}",
            runs[1]
        );
    }
    assert!(runs[1].contains(&format!("--resume {id}")), "{}", runs[1]);
}

/// A daemon that launched [`stubborn_claude`]: its folders, the file the
/// stub records its stdin in, and the `sessions.launch` answer.
struct Launched {
    _tmp: tempfile::TempDir,
    _home: tempfile::TempDir,
    d: TestDaemon,
    out_file: std::path::PathBuf,
    launched: Value,
}

fn launch_stubborn() -> Launched {
    let tmp = tempfile::tempdir().unwrap();
    let claude = stubborn_claude(tmp.path());
    let out_file = tmp.path().join("stdin.log");
    let home = tempfile::Builder::new().prefix("agd").tempdir().unwrap();
    let d = TestDaemon::start_with_env(
        home.path(),
        vec![
            ("AGENTD_CLAUDE".into(), claude.display().to_string()),
            ("FAKE_OUT".into(), out_file.display().to_string()),
        ],
    );
    let launched: Value = d
        .client()
        .call(
            method::SESSIONS_LAUNCH,
            json!({"prompt": "go", "cwd": tmp.path()}),
        )
        .unwrap();
    Launched {
        _tmp: tmp,
        _home: home,
        d,
        out_file,
        launched,
    }
}

#[test]
fn a_launched_session_that_ignores_sigint_and_sigterm_is_killed_with_sigkill() {
    let stub = launch_stubborn();
    let (d, launched) = (&stub.d, &stub.launched);
    let id = launched["session_id"].as_str().unwrap().to_owned();
    let pid = launched["pid"].as_u64().unwrap() as i32;
    let mut c = d.client();
    c.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let killed: Value = c.call(method::SESSIONS_KILL, json!({"id": id})).unwrap();
    assert_eq!(killed["ended_by"], "SIGKILL", "{killed}");
    // The whole group is gone.
    let group = rustix::process::Pid::from_raw(pid).unwrap();
    wait_for(
        "the process group to be gone",
        Duration::from_secs(30),
        || {
            rustix::process::test_kill_process_group(group)
                .is_err()
                .then_some(())
        },
    );
}

#[test]
fn every_pending_can_use_tool_is_answered_when_the_daemon_stops() {
    let mut stub = launch_stubborn();
    let (d, out_file, launched) = (&mut stub.d, &stub.out_file, &stub.launched);
    let pid = launched["pid"].as_u64().unwrap() as i32;
    // The tool call is held for a human...
    wait_for("the approval", Duration::from_secs(30), || {
        let list: Vec<Value> = d.client().call(method::APPROVALS_LIST, json!({})).ok()?;
        (!list.is_empty()).then_some(())
    });
    // ... and the daemon stops: Claude Code gets its answer, a deny.
    let (status, _) = d.stop();
    assert!(status.success());
    let answer = wait_for(
        "the answer on claude's stdin",
        Duration::from_secs(30),
        || {
            let text = std::fs::read_to_string(out_file).ok()?;
            text.lines()
                .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                .find(|v| v["type"] == "control_response")
        },
    );
    let r = &answer["response"];
    assert_eq!(r["request_id"], "req_1", "{answer}");
    assert_eq!(r["response"]["behavior"], "deny", "{answer}");
    assert!(
        r["response"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("agentd"),
        "{answer}"
    );
    let group = rustix::process::Pid::from_raw(pid).unwrap();
    let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
}

#[test]
fn a_session_with_no_process_that_goes_silent_ends_as_stale_and_reopens_on_life() {
    let d = TestDaemon::with_config("[daemon]\nstale_after_s = 1\nprocess_check_ms = 200\n");
    // A status line alone: no pid to watch, no SessionEnd will ever come.
    let _: Value = d
        .client()
        .call(
            method::STATUS_INGEST,
            json!({"payload": {"session_id": "x", "model": {"id": "claude-opus-5-5"}}}),
        )
        .unwrap();
    let show = || -> Value {
        d.client()
            .call(method::SESSIONS_GET, json!({"id": "x"}))
            .unwrap()
    };
    let s = wait_for("the silent session to end", Duration::from_secs(60), || {
        let s = show();
        (s["status"] == "ended").then_some(s)
    });
    assert_eq!(s["end_reason"], "stale", "{s}");
    // It shows life: open again.
    let _: Value = d
        .client()
        .call(
            method::HOOK_INGEST,
            json!({"payload": {"session_id": "x", "hook_event_name": "UserPromptSubmit", "prompt": "back"}}),
        )
        .unwrap();
    assert_ne!(show()["status"], "ended");
}

#[test]
fn a_silent_connection_is_closed_after_the_idle_timeout_but_waiting_ones_are_not() {
    let d = TestDaemon::with_config("[daemon]\nidle_timeout_s = 1\n");
    // A subscriber and a hook call held for a human wait, they are not idle.
    let (mut sub, mut sub_r, _) = raw_client(&d, "subscriber");
    sub.write_all(b"{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"events.subscribe\",\"params\":{\"after_seq\":0}}\n")
        .unwrap();
    let mut line = String::new();
    sub_r.read_line(&mut line).unwrap();
    assert!(line.contains("\"subscription\""), "{line}");
    let held = json!({"session_id": "idle", "hook_event_name": "PermissionRequest", "cwd": "/tmp",
        "tool_name": "Bash", "tool_input": {"command": "make deploy"}});
    let mut hook = support::spawn_hook(&d.home, held.to_string().as_bytes(), &[]);
    let approval = wait_for("the approval", Duration::from_secs(30), || {
        let list: Vec<Value> = d.client().call(method::APPROVALS_LIST, json!({})).ok()?;
        list.first()?["id"].as_str().map(str::to_owned)
    });

    // A client that says nothing after `initialize` is closed.
    let (_silent, mut silent_r, init) = raw_client(&d, "silent");
    assert!(init["result"].is_object(), "{init}");
    let mut rest = Vec::new();
    let n = silent_r
        .read_to_end(&mut rest)
        .expect("closed, not timed out");
    assert_eq!(n, 0, "closed without a word: {rest:?}");
    // By then the others have been silent longer than the timeout too
    // (they started first): both still wait.
    let since = std::time::Instant::now();
    wait_for("three idle timeouts", Duration::from_secs(60), || {
        (since.elapsed() > Duration::from_secs(3)).then_some(())
    });
    assert!(
        hook.try_wait().unwrap().is_none(),
        "the held hook was cut off"
    );
    let out = run(&d.home, &["approve", &approval], None);
    assert!(out.status.success(), "{out:?}");
    let out = hook.wait_with_output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    assert_eq!(
        v["hookSpecificOutput"]["decision"]["behavior"], "allow",
        "{out:?}"
    );
    // The subscriber saw the approval resolve: it is still connected.
    let mut resolved = false;
    while !resolved {
        line.clear();
        assert!(sub_r.read_line(&mut line).unwrap() > 0, "subscriber closed");
        resolved = line.contains("approval.resolved");
    }
}

#[test]
fn a_spool_left_by_a_crash_mid_drain_is_stored_exactly_once() {
    // The state a kill between "committed" and "record deleted" leaves:
    // spool records whose events the log already has (their delivery ids
    // are in `deliveries`), beside records never drained.
    let mut d = TestDaemon::start();
    let record = |i: usize| agentd_client::spool::Spooled {
        id: Some(format!("crash-{i:03}")),
        ts_ms: 1_795_000_000_000,
        payload: json!({"session_id": "drained", "hook_event_name": "Notification", "i": i}),
        env: Value::Null,
    };
    let mut c = d.client();
    for i in 0..50 {
        let r = record(i);
        let _: Value = c
            .call(
                method::HOOK_INGEST,
                json!({"payload": r.payload, "event_id": r.id}),
            )
            .unwrap();
    }
    drop(c);
    d.stop();
    for i in 0..100 {
        agentd_client::spool::write(&d.paths().spool, &record(i)).unwrap();
    }
    d.restart();
    wait_for("the spool to be drained", Duration::from_secs(60), || {
        agentd_client::spool::list(&d.paths().spool)
            .is_empty()
            .then_some(())
    });
    let once = |d: &TestDaemon| {
        let mut seen: Vec<u64> = stored(d, "drained")
            .iter()
            .map(|e| e["payload"]["i"].as_u64().unwrap())
            .collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..100).collect::<Vec<u64>>(), "each event once");
    };
    once(&d);
    d.stop();
    d.restart();
    once(&d);
}

#[test]
fn a_client_that_stops_reading_its_replies_is_closed_and_the_daemon_serves_on() {
    let d = TestDaemon::start();
    let mut c = d.client();
    let pad = "r".repeat(256 << 10);
    for i in 0..4 {
        let _: Value = c
            .call(
                method::HOOK_INGEST,
                json!({"payload": {"session_id": "big", "hook_event_name": "Notification", "i": i, "pad": pad}}),
            )
            .unwrap();
    }
    // ~1 MiB per reply, 64 requests, and never a read: far more than the
    // socket buffers hold, so the daemon's write stalls.
    let (mut s, mut r, _) = raw_client(&d, "stuck-reader");
    let ask =
        "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"events.list\",\"params\":{\"after_seq\":0}}\n";
    for _ in 0..64 {
        if s.write_all(ask.as_bytes()).is_err() {
            break; // closed already
        }
    }
    wait_for(
        "the stalled client to be dropped",
        Duration::from_secs(120),
        || {
            d.log()
                .contains("dropping a client that stopped reading")
                .then_some(())
        },
    );
    assert_eq!(health(&d)["status"], "ok", "the daemon serves on");
    // What the client can still read ends at a whole line, then EOF.
    let mut rest = Vec::new();
    r.read_to_end(&mut rest).expect("closed, not timed out");
    assert!(!rest.is_empty() && rest.ends_with(b"\n"), "whole frames");
    for line in rest.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        let v: Value = serde_json::from_slice(line).expect("every line whole JSON");
        assert!(v["result"].is_object() || v["method"].is_string(), "{v}");
    }
}
