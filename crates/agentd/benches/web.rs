//! The web UI in Debian's headless Chromium (Playwright, the same driver as
//! `tests/web_e2e.rs`). Run:
//!
//! ```sh
//! cargo bench -p agentd --bench web                  # all
//! cargo bench -p agentd --bench web -- board         # one of: board | transcript | terminal
//! ```
//!
//! `board`, against one daemon holding 500 sessions in 40 projects:
//! * first render of the board (navigation → 500 rows in the DOM), and the
//!   bytes a cold load transfers (assets, compressed, apart from the API's
//!   answers);
//! * hook event → board updated in the browser (a `MutationObserver`
//!   timestamp), p50/p99 over 200 events, beside hook event → an
//!   `events.subscribe` client on the socket (the baseline), both measured
//!   from the moment `hook.ingest` is sent.
//!
//! `transcript`: the first render of a 50 000-message transcript's page.
//! `terminal`: keystroke → echo on screen through the daemon's PTY, p50/p99
//! over 200 keys; `cat` of a 100 MB file (`AGENTD_BENCH_TERM_MB`) into the
//! browser's terminal, beside the same `cat` into a local PTY (`script`).
//!
//! Needs /usr/bin/chromium and the Playwright venv of
//! `scripts/install-py-clients.sh` (`$AGENTD_PYTHON`, else installed).

use std::path::Path;
use std::process::Command;

use common::Daemon;
use serde_json::{Value, json};

mod common;

fn main() {
    let wants = common::selection("agentd web UI benchmarks");
    if wants("board") {
        board();
    }
    if wants("transcript") {
        transcript();
    }
    if wants("terminal") {
        terminal();
    }
}

/// Runs a driver scenario; its JSON result.
fn drive(args: &[&str]) -> Value {
    let out = std::env::temp_dir().join("agentd-web-bench");
    std::fs::create_dir_all(&out).unwrap();
    let driver = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/web/driver.py");
    let result = Command::new(python())
        .arg(driver)
        .args(args)
        .arg("--out")
        .arg(&out)
        .output()
        .expect("run the Playwright driver");
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    serde_json::from_slice(&result.stdout).unwrap()
}

fn login(d: &Daemon) -> String {
    let login: Value = d.client().call("web.login", json!({})).unwrap();
    login["url"].as_str().unwrap().to_owned()
}

/// A first render of a 50 000-message transcript's page.
fn transcript() {
    let config = tempfile::tempdir().unwrap();
    let dir = config.path().join("projects/-tmp-bench-long");
    std::fs::create_dir_all(&dir).unwrap();
    let session = "5e551011-0000-4000-8000-000000050000";
    let mut text = String::new();
    let mut parent = serde_json::Value::Null;
    for i in 0..50_000u64 {
        let uuid = format!("00000000-0000-4000-8000-{i:012}");
        let ts = jiff::Timestamp::from_second(1_795_000_000 + i as i64).unwrap();
        let line = if i % 2 == 0 {
            json!({"type": "user", "uuid": uuid, "parentUuid": parent, "sessionId": session,
                "timestamp": ts.to_string(), "cwd": "/tmp/bench-long",
                "message": {"role": "user", "content": format!("question {i}: how does the ring buffer keep offsets?")}})
        } else {
            json!({"type": "assistant", "uuid": uuid, "parentUuid": parent, "sessionId": session,
                "timestamp": ts.to_string(), "cwd": "/tmp/bench-long",
                "message": {"id": format!("msg_{i}"), "role": "assistant", "model": "claude-opus-5-5",
                    "content": [{"type": "text", "text": format!("answer {i}: by counting every byte since the start.")}],
                    "usage": {"input_tokens": 10, "output_tokens": 20}}})
        };
        parent = json!(uuid);
        text.push_str(&line.to_string());
        text.push('\n');
    }
    std::fs::write(dir.join(format!("{session}.jsonl")), text).unwrap();
    let d = Daemon::start_with_env(&[
        ("AGENTD_HTTP_LISTEN", std::ffi::OsStr::new("127.0.0.1:0")),
        ("CLAUDE_CONFIG_DIR", config.path().as_os_str()),
    ]);
    let out = Command::new(env!("CARGO_BIN_EXE_agentd"))
        .env("AGENTD_HOME", d.dir.path())
        .args(["index", "--wait"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let r = drive(&[
        "transcript-bench",
        "--login",
        &login(&d),
        "--session",
        session,
    ]);
    println!("web UI, a 50 000-message transcript:");
    println!(
        "  first render of its page        {:>8.1} ms   (target ≤ 500; {})",
        r["first_render_ms"].as_f64().unwrap_or(f64::NAN),
        r["shown"].as_str().unwrap_or("")
    );
    println!(
        "  scroll to the end of the page   {:>8.1} ms",
        r["scroll_ms"].as_f64().unwrap_or(f64::NAN)
    );
}

/// Keystroke → echo, and `cat` of a big file, through a terminal.
fn terminal() {
    let mb: u64 = std::env::var("AGENTD_BENCH_TERM_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let work = tempfile::tempdir().unwrap();
    let big = work.path().join("big.txt");
    {
        use std::io::Write;
        let mut f = std::io::BufWriter::new(std::fs::File::create(&big).unwrap());
        let line =
            "agentd terminal throughput: the quick brown fox jumps over the lazy dog 0123456789\n";
        let mut n = 0u64;
        while n < mb << 20 {
            f.write_all(line.as_bytes()).unwrap();
            n += line.len() as u64;
        }
    }
    let d = Daemon::start_with_env(&[
        ("AGENTD_HTTP_LISTEN", std::ffi::OsStr::new("127.0.0.1:0")),
        ("SHELL", std::ffi::OsStr::new("/bin/sh")),
    ]);
    let start = |d: &Daemon| -> String {
        let t: Value = d
            .client()
            .call(
                "terminals.start",
                json!({"kind": "shell", "cwd": work.path()}),
            )
            .unwrap();
        t["id"].as_str().unwrap().to_owned()
    };
    let (echo, cat) = (start(&d), start(&d));
    let r = drive(&[
        "terminal-bench",
        "--login",
        &login(&d),
        "--session",
        &echo,
        "--session2",
        &cat,
        "--cwd",
        big.to_str().unwrap(),
        "--events",
        "200",
    ]);
    // Baseline: the same cat into a local PTY read by `script`.
    let t0 = std::time::Instant::now();
    let local = Command::new("script")
        .args(["-qfc", &format!("cat {}", big.display()), "/dev/null"])
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    let local_s = t0.elapsed().as_secs_f64();
    assert!(local.success());
    let mb_got = r["cat_bytes"].as_f64().unwrap_or(0.0) / (1 << 20) as f64;
    let s = r["cat_s"].as_f64().unwrap_or(f64::NAN);
    println!("web UI terminal (a /bin/sh in a PTY of the daemon, xterm.js in Chromium):");
    println!(
        "  keystroke → echo through the daemon (a WebSocket in the page, {} keys): p50 {} ms, p99 {} ms   (target p99 ≤ 10)",
        r["keys"], r["raw_p50_ms"], r["raw_p99_ms"]
    );
    println!(
        "  keystroke → echo on xterm.js's screen (keydown → bytes in the page): p50 {} ms, p99 {} ms",
        r["rtt_p50_ms"], r["rtt_p99_ms"]
    );
    println!(
        "  cat of {mb} MB into the browser:  {:.1} MB/s ({mb_got:.1} MB arrived in {s:.2} s)",
        mb_got / s
    );
    println!(
        "  cat of {mb} MB into a local PTY (script, baseline): {:.1} MB/s ({local_s:.2} s)",
        mb as f64 / local_s
    );
}

/// The board: 500 sessions, first render, cold-load bytes, event → board.
fn board() {
    let d = Daemon::start_with_env(&[("AGENTD_HTTP_LISTEN", std::ffi::OsStr::new("127.0.0.1:0"))]);
    let socket = d.socket();
    let r = drive(&[
        "bench",
        "--login",
        &login(&d),
        "--socket",
        socket.to_str().unwrap(),
        "--sessions",
        "500",
        "--events",
        "200",
    ]);
    println!("web UI, {} sessions in 40 projects:", r["sessions"]);
    println!(
        "  first render of the board      {:>8.1} ms   (target ≤ 500)",
        r["first_render_ms"].as_f64().unwrap_or(f64::NAN)
    );
    println!(
        "  cold load, assets              {:>8.1} KB   (target ≤ 300; {} requests in all)",
        r["cold_load_asset_bytes"].as_f64().unwrap_or(f64::NAN) / 1000.0,
        r["cold_load_requests"]
    );
    println!(
        "hook event → board (browser), {} events: p50 {} ms, p99 {} ms   (target p99 ≤ 150)",
        r["events"], r["board_p50_ms"], r["board_p99_ms"]
    );
    println!(
        "hook event → events.subscribe client (baseline): p50 {} ms, p99 {} ms",
        r["socket_p50_ms"], r["socket_p99_ms"]
    );
}

/// The Python with Playwright: `$AGENTD_PYTHON`, else installed by
/// `scripts/install-py-clients.sh`.
fn python() -> std::path::PathBuf {
    if let Some(p) = std::env::var_os("AGENTD_PYTHON") {
        return p.into();
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/install-py-clients.sh");
    let out = Command::new("bash").arg(script).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap().trim().into()
}
