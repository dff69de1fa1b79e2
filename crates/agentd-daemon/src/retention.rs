//! Retention: what the event log keeps, and for how long
//! (`[retention]` in agentd.toml; see `agentd_client::config::RetentionConfig`).
//!
//! Events older than `full_payload_days` keep their lifecycle fields, with
//! the largest fields removed until the payload fits `compact_to_bytes`
//! (`agentd_claude::hook::fit_payload`, marked `"by": "retention"`), and of
//! their status-line snapshots only each session's last stays. The work is
//! done by the single writer in steps of [`STEP`] events, each its own short
//! transaction between ingest batches, so ingest never waits for more than
//! one step; this task runs [`FIRST`] after start and every [`INTERVAL`]
//! (an idle daemon wakes for it six times an hour). Freed pages go back to
//! the file system with `PRAGMA incremental_vacuum` (databases created by
//! agentd ≥ 0.2) after each pass. `agentd gc` (`store.gc`) runs a pass now.

use std::sync::Arc;
use std::time::Duration;

use crate::error::ServiceError;
use serde::Serialize;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::state::Shared;
use crate::writer::{CompactJob, Done, Work};

/// Events looked at per writer transaction.
pub const STEP: usize = 500;
/// Delay before the first pass after start.
pub const FIRST: Duration = Duration::from_secs(30);
/// Time between passes.
pub const INTERVAL: Duration = Duration::from_secs(600);

/// What a pass did (`store.gc`'s result).
#[derive(Debug, Default, Clone, Serialize, PartialEq, Eq)]
pub struct Pass {
    /// Events looked at.
    pub examined: u64,
    /// Payloads cut.
    pub compacted: u64,
    /// Superseded status-line snapshots deleted.
    pub deleted: u64,
    /// Payload bytes no longer stored.
    pub bytes_freed: u64,
    /// The database file before the vacuum, bytes.
    pub file_bytes_before: u64,
    /// And after.
    pub file_bytes_after: u64,
}

/// A stored payload cut to `to` bytes, marked as done by retention; `None`
/// when it is not JSON.
pub fn compact_payload(payload: &str, to: usize) -> Option<String> {
    let v: Value = serde_json::from_str(payload).ok()?;
    let mut cut = agentd_claude::hook::fit_payload(v, to);
    if let Some(m) = cut
        .get_mut(agentd_claude::hook::TRUNCATED_KEY)
        .and_then(Value::as_object_mut)
    {
        m.insert("by".into(), Value::from("retention"));
    }
    serde_json::to_string(&cut).ok()
}

/// One pass to the cutoff, then a vacuum (`full`: a complete `VACUUM`).
///
/// # Errors
/// The writer's error (store failure, shutting down).
pub async fn pass(shared: &Arc<Shared>, full_vacuum: bool) -> Result<Pass, ServiceError> {
    let r = &shared.config.retention;
    let cutoff_ms = crate::now_ms()
        - i64::try_from(r.full_payload_days.saturating_mul(86_400_000)).unwrap_or(i64::MAX);
    let job = CompactJob {
        cutoff_ms,
        limit: STEP,
        compact_to: r.compact_to_bytes.max(256),
    };
    let mut out = Pass::default();
    loop {
        match crate::writer::run(shared, Work::Compact(job)).await? {
            Done::Compacted(c) => {
                out.examined += c.examined;
                out.compacted += c.compacted;
                out.deleted += c.deleted;
                out.bytes_freed += c.bytes_freed;
                if c.reached_cutoff {
                    break;
                }
            }
            _ => {
                return Err(ServiceError::internal("unexpected writer answer"));
            }
        }
        // Let queued ingest go first.
        tokio::task::yield_now().await;
    }
    if let Done::Vacuumed { before, after } =
        crate::writer::run(shared, Work::Vacuum { full: full_vacuum }).await?
    {
        out.file_bytes_before = before;
        out.file_bytes_after = after;
    }
    Ok(out)
}

/// The background task: a pass [`FIRST`] after start and every
/// [`INTERVAL`], until `stop`.
pub async fn run(shared: Arc<Shared>, stop: CancellationToken) {
    if !shared.config.retention.enabled {
        return;
    }
    let mut wait = FIRST;
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
        wait = INTERVAL;
        match pass(&shared, false).await {
            Ok(p) if p.compacted + p.deleted > 0 => tracing::info!(
                compacted = p.compacted,
                deleted = p.deleted,
                bytes_freed = p.bytes_freed,
                file_bytes = p.file_bytes_after,
                "retention pass"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "retention pass failed"),
        }
    }
}

/// `store.gc`: a pass now, with a full vacuum.
///
/// # Errors
/// As [`pass`].
pub async fn gc(shared: &Arc<Shared>) -> Result<Value, ServiceError> {
    let p = pass(shared, true).await?;
    serde_json::to_value(p).map_err(|e| ServiceError::internal(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compacted_payloads_keep_lifecycle_fields_and_say_so() {
        let p = serde_json::json!({
            "session_id": "s", "hook_event_name": "PostToolUse", "tool_name": "Bash",
            "tool_use_id": "toolu_1", "cwd": "/w", "tool_input": {"command": "ls"},
            "tool_response": {"stdout": "x".repeat(20_000)},
        })
        .to_string();
        let cut = compact_payload(&p, 2048).unwrap();
        assert!(cut.len() <= 2048);
        let v: Value = serde_json::from_str(&cut).unwrap();
        assert_eq!(v["tool_use_id"], "toolu_1");
        assert_eq!(v["agentd_truncated"]["by"], "retention");
        assert!(v.get("tool_response").is_none());
        assert_eq!(compact_payload("not json", 10), None);
    }
}
