//! Draining the hook client's spool (see `agentd_client::spool`) at start.
//!
//! The spool is renamed before it is read, so hooks that still fail to
//! connect start a fresh file instead of racing with the reader. A crash
//! between committing the drained events and deleting the renamed file
//! would ingest them again at the next start (at-least-once); it is the one
//! place where agentd prefers a duplicate to a loss.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use agentd_claude::hook::HookEnv;
use agentd_client::spool;
use tokio::sync::oneshot;

use crate::ingest::{self, Source};
use crate::state::Shared;
use crate::writer::{Job, Work};

fn draining(path: &Path) -> PathBuf {
    path.with_extension("ndjson.draining")
}

/// Ingests every spooled event in order, then removes the spool. Returns how
/// many were stored.
pub async fn drain(shared: &Arc<Shared>, path: &Path) -> usize {
    let work = draining(path);
    // A leftover from an interrupted drain goes first.
    if !work.exists() && std::fs::rename(path, &work).is_err() {
        return 0;
    }
    let mut stored = drain_file(shared, &work).await;
    if std::fs::rename(path, &work).is_ok() {
        stored += drain_file(shared, &work).await;
    }
    stored
}

async fn drain_file(shared: &Arc<Shared>, work: &Path) -> usize {
    let bytes = match std::fs::read(work) {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!(path = %work.display(), error = %e, "cannot read the spool");
            return 0;
        }
    };
    let mut pending = Vec::new();
    let mut skipped = 0usize;
    for line in bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        let Some(event) = spool::parse_line(line) else {
            skipped += 1;
            continue;
        };
        let env: HookEnv = serde_json::from_value(event.env).unwrap_or_default();
        match ingest::prepare_at(Source::Hook, &event.payload, env, event.ts_ms) {
            Ok(prepared) => {
                let (tx, rx) = oneshot::channel();
                if shared
                    .ingest
                    .send(Job::Run(Work::Event(Box::new(prepared)), tx))
                    .await
                    .is_err()
                {
                    return 0;
                }
                pending.push(rx);
            }
            Err(_) => skipped += 1,
        }
    }
    let mut stored = 0;
    for rx in pending {
        if matches!(rx.await, Ok(Ok(_))) {
            stored += 1;
        }
    }
    if skipped > 0 {
        tracing::warn!(skipped, path = %work.display(), "unreadable spool lines skipped");
    }
    if let Err(e) = std::fs::remove_file(work) {
        tracing::warn!(path = %work.display(), error = %e, "cannot remove the drained spool");
    }
    tracing::info!(stored, "drained events spooled while the daemon was down");
    stored
}
