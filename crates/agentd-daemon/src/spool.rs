//! Draining the hook client's spool (see `agentd_client::spool`): at start,
//! and while running whenever the spool folder changed (a hook that could
//! not get an acknowledgement spools even while a daemon runs: at its
//! connection cap, stopped, or too slow).
//!
//! Exactly once: each record carries its delivery id, which the writer
//! stores in the same transaction as the event; a record is deleted only
//! after that commit, and a record whose id is already stored (delivered
//! on the socket before its reply was lost, or drained before a crash
//! between commit and delete) is deleted without storing it again. A
//! record the store refused stays for the next drain; one that can never be
//! stored (not a hook payload) is moved to `spool/rejected/` with a `.why`
//! file beside it, never silently dropped.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use agentd_claude::hook::HookEnv;
use agentd_client::spool;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use crate::ingest::{self, Source};
use crate::state::Shared;
use crate::writer::{Job, Refused, Work};

/// How often a running daemon looks whether the spool folder changed (one
/// `stat`).
pub const POLL: Duration = Duration::from_secs(2);

/// Most records drained per writer round trip.
const CHUNK: usize = 512;

/// What one drain did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Drained {
    /// Events stored.
    pub stored: usize,
    /// Records already stored before (deleted without storing again).
    pub duplicates: usize,
    /// Records kept for the next drain (the store refused them).
    pub kept: usize,
    /// Records moved to `rejected/` (not storable).
    pub rejected: usize,
}

/// Drains the spool folder `dir` (and the legacy `spool.ndjson` beside it,
/// `legacy`) in order. Blocking file IO runs on the blocking pool.
pub async fn drain(shared: &Arc<Shared>, dir: &Path, legacy: &Path) -> Drained {
    let mut total = drain_legacy(shared, legacy).await;
    let dir = dir.to_path_buf();
    loop {
        let listing = dir.clone();
        let files = tokio::task::spawn_blocking(move || {
            for t in spool::stale_temporaries(&listing, Duration::from_secs(60)) {
                let _ = std::fs::remove_file(t);
            }
            spool::list(&listing)
        })
        .await
        .unwrap_or_default();
        if files.is_empty() {
            break;
        }
        let more = files.len() > CHUNK;
        let d = drain_files(shared, &dir, files.into_iter().take(CHUNK).collect()).await;
        total.stored += d.stored;
        total.duplicates += d.duplicates;
        total.kept += d.kept;
        total.rejected += d.rejected;
        // Records the store refused stay; do not spin on them.
        if !more || d.kept > 0 || (d.stored == 0 && d.duplicates == 0 && d.rejected == 0) {
            break;
        }
    }
    if total != Drained::default() {
        tracing::info!(
            stored = total.stored,
            duplicates = total.duplicates,
            kept = total.kept,
            rejected = total.rejected,
            "drained spooled hook events"
        );
    }
    total
}

/// Drains whenever the spool folder's mtime changes, until `stop`.
pub async fn watch(shared: Arc<Shared>, dir: PathBuf, legacy: PathBuf, stop: CancellationToken) {
    let mtime = |d: PathBuf| async move {
        tokio::task::spawn_blocking(move || std::fs::metadata(&d).and_then(|m| m.modified()).ok())
            .await
            .ok()
            .flatten()
    };
    // Not read now: this task may first run after a hook already spooled
    // (the daemon busy, or stopped, right after start), and a file seen
    // here as "already there" would wait for the next change. The first
    // poll drains whatever the folder holds (a drain is idempotent).
    let mut seen = None;
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(POLL) => {}
        }
        let now = mtime(dir.clone()).await;
        if now != seen {
            seen = now;
            drain(&shared, &dir, &legacy).await;
        }
    }
}

async fn drain_files(shared: &Arc<Shared>, dir: &Path, files: Vec<PathBuf>) -> Drained {
    let read = tokio::task::spawn_blocking(move || {
        files
            .into_iter()
            .map(|f| {
                let r = spool::read(&f);
                (f, r)
            })
            .collect::<Vec<_>>()
    })
    .await
    .unwrap_or_default();
    let mut d = Drained::default();
    let mut waiting = Vec::new();
    let mut reject = Vec::new();
    for (file, record) in read {
        let prepared = record.and_then(|event| {
            let env: HookEnv = serde_json::from_value(event.env).unwrap_or_default();
            let id = event.id.or_else(|| {
                file.file_stem()
                    .and_then(|s| s.to_str())
                    .map(|s| format!("spool:{s}"))
            });
            ingest::prepare_at(Source::Hook, &event.payload, env, event.ts_ms)
                .map(|mut p| {
                    p.delivery_id = id;
                    p
                })
                .map_err(|e| e.to_string())
        });
        match prepared {
            Ok(p) => {
                let (tx, rx) = oneshot::channel();
                if shared
                    .log
                    .queue()
                    .send(Job::Run(Work::Event(Box::new(p)), tx))
                    .await
                    .is_err()
                {
                    d.kept += 1;
                    continue;
                }
                waiting.push((file, rx));
            }
            Err(why) => reject.push((file, why)),
        }
    }
    let mut done = Vec::new();
    for (file, rx) in waiting {
        match rx.await {
            Ok(Ok(_)) => {
                d.stored += 1;
                done.push(file);
            }
            Ok(Err(Refused::Store(why))) => {
                tracing::warn!(file = %file.display(), why, "the store refused a spooled event; kept for the next drain");
                d.kept += 1;
            }
            Ok(Err(_)) | Err(_) => d.kept += 1,
        }
    }
    d.rejected = reject.len();
    let rejected_dir = dir.join("rejected");
    let _ = tokio::task::spawn_blocking(move || {
        for f in done {
            let _ = std::fs::remove_file(f);
        }
        for (f, why) in reject {
            tracing::warn!(file = %f.display(), why, "a spooled record cannot be stored; moved to rejected/");
            let _ = std::fs::create_dir_all(&rejected_dir);
            if let Some(name) = f.file_name() {
                let to = rejected_dir.join(name);
                let _ = std::fs::write(to.with_extension("why"), format!("{why}\n"));
                let _ = std::fs::rename(&f, to);
            }
        }
    })
    .await;
    d
}

/// The one-file spool of agentd before 0.2, drained once. Its records have
/// no ids; each gets `legacy:<ts_ms>:<line>` (the file no longer changes
/// once renamed), so a crash mid-drain stores nothing twice either.
async fn drain_legacy(shared: &Arc<Shared>, path: &Path) -> Drained {
    let work = path.with_extension("ndjson.draining");
    let (p, w) = (path.to_path_buf(), work.clone());
    let bytes = tokio::task::spawn_blocking(move || {
        if !w.exists() && std::fs::rename(&p, &w).is_err() {
            return None;
        }
        if let Err(e) = agentd_client::trust::check_file(&w) {
            tracing::warn!(error = %e, "the legacy spool is not trusted; not ingested");
            return None;
        }
        std::fs::read(&w).ok()
    })
    .await
    .ok()
    .flatten();
    let Some(bytes) = bytes else {
        return Drained::default();
    };
    let mut d = Drained::default();
    for (n, line) in bytes
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .enumerate()
    {
        let Some(event) = spool::parse_line(line) else {
            d.rejected += 1;
            continue;
        };
        let env: HookEnv = serde_json::from_value(event.env).unwrap_or_default();
        match ingest::prepare_at(Source::Hook, &event.payload, env, event.ts_ms) {
            Ok(mut p) => {
                p.delivery_id = Some(format!("legacy:{}:{n}", event.ts_ms));
                match crate::writer::run(shared, Work::Event(Box::new(p))).await {
                    Ok(_) => d.stored += 1,
                    Err(_) => d.kept += 1,
                }
            }
            Err(_) => d.rejected += 1,
        }
    }
    if d.kept == 0 {
        let _ = tokio::fs::remove_file(&work).await;
    }
    d
}
