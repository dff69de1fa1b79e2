//! Transcript index benchmarks. Run: `cargo bench -p agentd --bench index`
//! (`AGENTD_BENCH_CORPUS_MB`, default 1024, sets the corpus size).
//!
//! The corpus replicates the real fixture transcripts
//! (`shared/fixtures/claude/transcripts`) with fresh ids (uuids, session
//! ids, message and request ids) and times shifted by a day per copy, laid
//! out as a Claude Code projects folder. Measured against a real daemon:
//! cold index throughput (FTS included) beside reading the corpus with
//! `cat`, peak RSS, index size ÷ corpus size, search latency for 1-, 2- and
//! 3-word queries beside a `health` round trip, append → searchable
//! latency, and `agentd usage daily` beside `ccusage claude daily --offline`
//! on the same corpus.

#[path = "../tests/support/ccusage.rs"]
mod ccusage;
mod common;
#[path = "../tests/support/shared.rs"]
mod shared;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Daemon, ms, percentile};
use serde_json::{Value, json};

/// The transcript fixtures the corpus is made from; without them (a bare
/// clone) there is nothing to measure.
fn fixtures() -> PathBuf {
    shared::shared_fixtures("claude/transcripts", "the index benchmark").unwrap_or_else(|| {
        eprintln!(
            "the index benchmark builds its corpus from ../shared/fixtures: nothing to measure"
        );
        std::process::exit(0)
    })
}

/// The real (not hand-made) fixture projects: (project folder, source dir).
fn sources() -> Vec<(String, PathBuf)> {
    let t = fixtures();
    let mut out = vec![("spotter".to_owned(), t.join("spotter"))];
    for e in std::fs::read_dir(t.join("claude-code-log/real_projects")).unwrap() {
        let e = e.unwrap();
        out.push((e.file_name().to_string_lossy().into_owned(), e.path()));
    }
    out
}

/// One line with ids made unique to copy `k` and times shifted by `k` days.
fn rewrite(line: &str, k: usize) -> String {
    let tag = format!("{k:05}");
    let mut s = line
        .replace("\"uuid\":\"", &format!("\"uuid\":\"{tag}"))
        .replace("\"parentUuid\":\"", &format!("\"parentUuid\":\"{tag}"))
        .replace("\"sessionId\":\"", &format!("\"sessionId\":\"{tag}"))
        .replace("\"leafUuid\":\"", &format!("\"leafUuid\":\"{tag}"))
        .replace("\"id\":\"msg_", &format!("\"id\":\"msg_{tag}"))
        .replace(
            "\"requestId\":\"req_",
            &format!("\"requestId\":\"req_{tag}"),
        );
    let key = "\"timestamp\":\"";
    let mut from = 0;
    while let Some(i) = s[from..].find(key) {
        let start = from + i + key.len();
        let Some(len) = s[start..].find('"') else {
            break;
        };
        let orig = &s[start..start + len];
        if let Ok(t) = orig.parse::<jiff::Timestamp>() {
            // As many fraction digits as the source (Claude Code writes 3):
            // jiff's Display trims trailing zeros ("…16.780Z" → "…16.78Z"),
            // and ccusage 20 silently drops records whose timestamp has a
            // fraction of other than 0 or 3 digits.
            let digits = orig
                .split_once('.')
                .map_or(0, |(_, f)| f.bytes().take_while(u8::is_ascii_digit).count());
            let t = t
                .checked_add(jiff::SignedDuration::from_hours(24 * (k as i64 % 3000)))
                .unwrap_or(t);
            let shifted = format!("{t:.digits$}");
            s.replace_range(start..start + len, &shifted);
            from = start + shifted.len();
        } else {
            from = start + len;
        }
    }
    s
}

fn copy_tree(from: &Path, to: &Path, k: usize, bytes: &mut u64) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().into_owned();
        // Session files and folders are named by session id: fresh ones.
        let renamed = if name.starts_with("agent-") || !name.contains('-') {
            name.clone()
        } else {
            format!("{k:05}{name}")
        };
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &to.join(renamed), k, bytes);
        } else if name.ends_with(".jsonl") {
            let text = String::from_utf8_lossy(&std::fs::read(e.path()).unwrap()).into_owned();
            let mut out = String::with_capacity(text.len() + 4096);
            for line in text.split_inclusive('\n') {
                out.push_str(&rewrite(line, k));
            }
            *bytes += out.len() as u64;
            std::fs::write(to.join(renamed), out).unwrap();
        } else {
            std::fs::copy(e.path(), to.join(renamed)).unwrap();
        }
    }
}

/// Builds a corpus of at least `mb` MB under `root`; returns its size.
fn corpus(root: &Path, mb: u64) -> u64 {
    let mut bytes = 0u64;
    let mut k = 0;
    while bytes < mb * 1_000_000 {
        for (project, dir) in sources() {
            copy_tree(
                dir.as_path(),
                &root.join(format!("{project}-{k}")),
                k,
                &mut bytes,
            );
        }
        k += 1;
    }
    bytes
}

/// Every command that lists what a user accumulates, run whole against
/// the history (the CLI pages; nothing may exceed a frame): time, output
/// size and rows. Panics when one fails: at scale they must all work.
fn list_commands_at_scale(d: &Daemon) {
    println!("\n## List commands over the whole history");
    println!("| command | exit | rows | output | time |");
    println!("|---|---:|---:|---:|---:|");
    let runs: [&[&str]; 6] = [
        &["ls", "--all", "--json"],
        &["ls", "--all"],
        &["usage", "session", "--json"],
        &["usage", "project", "--json"],
        &["usage", "daily", "--json"],
        &["search", "the", "--limit", "100000", "--json"],
    ];
    for args in runs {
        let t = Instant::now();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_agentd"))
            .env("AGENTD_HOME", d.dir.path())
            .args(args)
            .output()
            .unwrap();
        let took = t.elapsed();
        assert!(
            out.status.success(),
            "agentd {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        let rows = if args.contains(&"--json") {
            let v: Value = serde_json::from_slice(&out.stdout).unwrap();
            v.as_array()
                .map(Vec::len)
                .or_else(|| v["rows"].as_array().map(Vec::len))
                .unwrap_or(0)
        } else {
            out.stdout
                .iter()
                .filter(|b| **b == b'\n')
                .count()
                .saturating_sub(1)
        };
        println!(
            "| `agentd {}` | {} | {rows} | {:.2} MB | {} |",
            args.join(" "),
            out.status.code().unwrap_or(-1),
            out.stdout.len() as f64 / 1e6,
            ms(took)
        );
    }
}

fn main() {
    let mb: u64 = std::env::var("AGENTD_BENCH_CORPUS_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    println!(
        "agentd index benchmarks — {}",
        jiff::Timestamp::now().strftime("%Y-%m-%d %H:%M UTC")
    );
    // Without fixtures there is nothing to measure: find out before
    // making a folder an early exit would leave behind.
    fixtures();
    let tmp = tempfile::Builder::new().prefix("agbc").tempdir().unwrap();
    let config = tmp.path().join("claude");
    let root = config.join("projects");
    let t0 = Instant::now();
    let bytes = corpus(&root, mb);
    let files = agentd_index::layout::walk(&root).files.len();
    println!(
        "corpus: {:.1} MB in {files} files, generated in {:.1} s",
        bytes as f64 / 1e6,
        t0.elapsed().as_secs_f64()
    );

    // Baseline: reading every file once (page cache warm, as for the index).
    let t = Instant::now();
    let mut read = 0u64;
    for f in agentd_index::layout::walk(&root).files {
        read += std::fs::read(f).map(|b| b.len() as u64).unwrap_or(0);
    }
    let read_s = t.elapsed().as_secs_f64();

    let d = Daemon::start_with_env(&[("AGENTD_INDEX_ROOTS", root.as_os_str())]);
    let mut c = d.client();
    let t = Instant::now();
    let mut peak_rss = 0;
    loop {
        let s: Value = c.call("index.status", json!({})).unwrap();
        peak_rss = peak_rss.max(d.status_kb("VmRSS:"));
        if s["state"] == "ready" {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let index_s = t.elapsed().as_secs_f64();
    peak_rss = peak_rss.max(d.status_kb("VmHWM:"));
    let db = d.dir.path().join("index.db");
    let wal = d.dir.path().join("index.db-wal");
    let size =
        db.metadata().map(|m| m.len()).unwrap_or(0) + wal.metadata().map(|m| m.len()).unwrap_or(0);
    println!("\n## Cold index");
    println!("| what | time | MB/s |");
    println!("|---|---:|---:|");
    println!(
        "| read every file (baseline) | {:.2} s | {:.0} |",
        read_s,
        read as f64 / 1e6 / read_s
    );
    println!(
        "| agentd cold index (parse, FTS5, usage, sessions) | {:.2} s | **{:.1}** |",
        index_s,
        bytes as f64 / 1e6 / index_s
    );
    println!(
        "\nindex size: {:.1} MB = **{:.3}×** the corpus; daemon peak RSS during the cold index: **{:.1} MB**",
        size as f64 / 1e6,
        size as f64 / bytes as f64,
        peak_rss as f64 / 1024.0
    );

    // Idle after the cold index: CPU over 30 s, and what stays resident.
    std::thread::sleep(Duration::from_secs(12));
    let ticks = |pid: u32| -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let rest = stat.rfind(')').map_or("", |i| &stat[i + 2..]);
        let f: Vec<&str> = rest.split_whitespace().collect();
        f.get(11).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
            + f.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
    };
    let pid = d.child.id();
    let (t0, c0) = (Instant::now(), ticks(pid));
    std::thread::sleep(Duration::from_secs(30));
    let cpu_ms = (ticks(pid) - c0) * 10;
    let idle_pct = cpu_ms as f64 / t0.elapsed().as_millis() as f64 * 100.0;
    println!(
        "idle after the cold index: **{idle_pct:.2} %** of a core over 30 s ({cpu_ms} ms CPU); RSS **{:.1} MB**",
        d.status_kb("VmRSS:") as f64 / 1024.0
    );

    list_commands_at_scale(&d);

    // Search latency beside a health round trip.
    let queries: [&[&str]; 3] = [
        &["migration"],
        &["test", "failed"],
        &["add", "the", "function"],
    ];
    println!("\n## Search at {:.0} MB", bytes as f64 / 1e6);
    println!("| query | runs | p50 | p95 | hits |");
    println!("|---|---:|---:|---:|---:|");
    let mut health = Vec::new();
    for _ in 0..100 {
        let t = Instant::now();
        let _: Value = c.call("health", json!({})).unwrap();
        health.push(t.elapsed());
    }
    health.sort();
    println!(
        "| `health` round trip (baseline) | 100 | {} | {} | |",
        ms(percentile(&health, 0.5)),
        ms(percentile(&health, 0.95))
    );
    for words in queries {
        let q = words.join(" ");
        let mut lat = Vec::new();
        let mut n = 0;
        for _ in 0..50 {
            let t = Instant::now();
            let hits: Vec<Value> = c.call("search", json!({"query": q, "limit": 20})).unwrap();
            lat.push(t.elapsed());
            n = hits.len();
        }
        lat.sort();
        println!(
            "| {} word(s): `{q}` | 50 | {} | {} | {n} |",
            words.len(),
            ms(percentile(&lat, 0.5)),
            ms(percentile(&lat, 0.95))
        );
    }

    // Append → searchable: a new line with a unique word, polled every 2 ms.
    let live = root.join("live-project");
    std::fs::create_dir_all(&live).unwrap();
    let path = live.join("11111111-2222-4333-8444-555555555555.jsonl");
    let mut f = std::fs::File::create(&path).unwrap();
    let mut lat = Vec::new();
    for i in 0..50 {
        let word = format!("zq{i}xv{}", std::process::id());
        let line = format!(
            "{{\"type\":\"user\",\"uuid\":\"live-{i}\",\"sessionId\":\"11111111-2222-4333-8444-555555555555\",\"timestamp\":\"2026-11-23T10:00:00.000Z\",\"message\":{{\"role\":\"user\",\"content\":\"find {word}\"}}}}\n"
        );
        let t = Instant::now();
        f.write_all(line.as_bytes()).unwrap();
        f.flush().unwrap();
        loop {
            let hits: Vec<Value> = c.call("search", json!({"query": word})).unwrap();
            if !hits.is_empty() {
                break;
            }
            assert!(t.elapsed() < Duration::from_secs(30), "never searchable");
            std::thread::sleep(Duration::from_millis(2));
        }
        lat.push(t.elapsed());
    }
    lat.sort();
    println!("\n## Append → searchable (file watcher, no hook)");
    println!(
        "| appends | p50 | p99 |\n|---:|---:|---:|\n| 50 | {} | {} |",
        ms(percentile(&lat, 0.5)),
        ms(percentile(&lat, 0.99))
    );

    // usage daily: agentd (CLI, end to end) beside ccusage on the same files.
    let exe = env!("CARGO_BIN_EXE_agentd");
    let mut ours = Vec::new();
    for _ in 0..10 {
        let t = Instant::now();
        let out = Command::new(exe)
            .args(["usage", "daily", "--json", "--timezone", "UTC"])
            .env("AGENTD_HOME", d.dir.path())
            .output()
            .unwrap();
        assert!(out.status.success());
        ours.push(t.elapsed());
    }
    ours.sort();
    println!("\n## `usage daily` on the indexed corpus");
    println!("| command | runs | median |");
    println!("|---|---:|---:|");
    println!(
        "| `agentd usage daily --json` | 10 | {} |",
        ms(percentile(&ours, 0.5))
    );
    match ccusage::bin() {
        Ok(bin) => {
            let home = tempfile::tempdir().unwrap();
            let mut theirs = Vec::new();
            for _ in 0..3 {
                let t = Instant::now();
                let out = Command::new(&bin)
                    .args([
                        "claude",
                        "daily",
                        "--json",
                        "--offline",
                        "--timezone",
                        "UTC",
                    ])
                    .env("HOME", home.path())
                    .env("CLAUDE_CONFIG_DIR", &config)
                    .output()
                    .unwrap();
                assert!(out.status.success(), "{out:?}");
                theirs.push(t.elapsed());
            }
            theirs.sort();
            let m = percentile(&theirs, 0.5);
            println!(
                "| `ccusage claude daily --json --offline` | 3 | {} |",
                ms(m)
            );
            println!(
                "\nagentd is **{:.1}×** faster than ccusage. What is compared: a query on agentd's always-on index (kept current as transcripts change) against ccusage's full parse of every transcript on each run; medians of the run counts above.",
                m.as_secs_f64() / percentile(&ours, 0.5).as_secs_f64()
            );
            // Both must say the same, day by day, to the token.
            let out = Command::new(exe)
                .args(["usage", "daily", "--json", "--timezone", "UTC"])
                .env("AGENTD_HOME", d.dir.path())
                .output()
                .unwrap();
            let report: Value = serde_json::from_slice(&out.stdout).unwrap();
            let ours_days = ccusage::from_report(&report["rows"]);
            match ccusage::daily(&config) {
                Ok(theirs_days) if theirs_days == ours_days => println!(
                    "outputs agree: {} days, every token count equal",
                    ours_days.len()
                ),
                Ok(theirs_days) => println!(
                    "outputs DIFFER: agentd {} days, ccusage {} days (first differing day: {:?})",
                    ours_days.len(),
                    theirs_days.len(),
                    ours_days
                        .iter()
                        .find(|(k, v)| theirs_days.get(*k) != Some(v))
                        .map(|(k, _)| k)
                ),
                Err(e) => println!("ccusage output unreadable: {e}"),
            }
        }
        Err(e) => println!("| ccusage | – | not available: {e} |"),
    }
}
