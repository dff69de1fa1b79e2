//! The web UI in Debian's headless Chromium (Playwright, the same driver as
//! `tests/web_e2e.rs`). Run:
//!
//! ```sh
//! cargo bench -p agentd --bench web
//! ```
//!
//! Against one daemon holding 500 sessions in 40 projects:
//! * first render of the board (navigation → 500 rows in the DOM), and the
//!   bytes a cold load transfers (assets, compressed, apart from the API's
//!   answers);
//! * hook event → board updated in the browser (a `MutationObserver`
//!   timestamp), p50/p99 over 200 events, beside hook event → an
//!   `events.subscribe` client on the socket (the baseline), both measured
//!   from the moment `hook.ingest` is sent.
//!
//! Needs /usr/bin/chromium and the Playwright venv of
//! `scripts/install-py-clients.sh` (`$AGENTD_PYTHON`, else installed).

use std::path::Path;
use std::process::Command;

use common::Daemon;
use serde_json::{Value, json};

mod common;

fn main() {
    let d = Daemon::start_with_env(&[("AGENTD_HTTP_LISTEN", std::ffi::OsStr::new("127.0.0.1:0"))]);
    let login: Value = d.client().call("web.login", json!({})).unwrap();
    let socket = d.socket();
    let out = std::env::temp_dir().join("agentd-web-bench");
    std::fs::create_dir_all(&out).unwrap();
    let driver = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/web/driver.py");
    let result = Command::new(python())
        .arg(driver)
        .args(["bench", "--login", login["url"].as_str().unwrap()])
        .arg("--socket")
        .arg(&socket)
        .arg("--out")
        .arg(&out)
        .args(["--sessions", "500", "--events", "200"])
        .output()
        .expect("run the Playwright driver");
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let r: Value = serde_json::from_slice(&result.stdout).unwrap();
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
