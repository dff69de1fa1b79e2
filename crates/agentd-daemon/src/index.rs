//! The transcript index inside the daemon: starting its thread, nudging it
//! when a hook names a transcript, and the `search`, `transcript.get`,
//! `usage.report`, `index.status` and `index.rescan` methods.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use agentd_client::Config;
use agentd_index::query::{SEARCH_PAGE_MAX, SearchQuery, SessionFilter};
use agentd_index::usage::UsageQuery;
use agentd_index::{IndexError, IndexHandle, Reader};
use agentd_proto::{RpcError, code};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::state::Shared;

/// The roots to index: Claude Code's projects folder plus `[index] roots`,
/// or exactly `AGENTD_INDEX_ROOTS`.
pub fn roots(config: &Config) -> Vec<PathBuf> {
    let mut roots: Vec<PathBuf> = Vec::new();
    if !config.index.roots_only
        && let Some(c) = agentd_client::claude_config_dir()
    {
        roots.push(c.join("projects"));
    }
    roots.extend(config.index.roots.iter().map(PathBuf::from));
    roots.dedup();
    roots
}

/// Starts the index thread (unless `[index] enabled = false`). Indexing runs
/// in the background: the daemon serves meanwhile.
pub fn start(shared: &Arc<Shared>) {
    if !shared.config.index.enabled {
        tracing::info!("transcript index off");
        return;
    }
    let roots = roots(&shared.config);
    let reconcile = Duration::from_secs(shared.config.index.reconcile_s.max(1));
    match IndexHandle::spawn(&shared.index_db, roots.clone(), reconcile) {
        Ok(h) => {
            tracing::info!(roots = ?roots, "transcript index started");
            if let Ok(mut p) = shared.index_progress.lock() {
                *p = Some(Arc::clone(&h.progress));
            }
            if let Ok(mut slot) = shared.index.lock() {
                *slot = Some(h);
            }
        }
        Err(e) => tracing::error!(error = %e, "cannot start the transcript index"),
    }
}

/// Stops the index thread (it commits as it goes; at most one batch is
/// redone at the next start).
pub async fn stop(shared: &Arc<Shared>) {
    let handle = shared.index.lock().ok().and_then(|mut h| h.take());
    if let Some(h) = handle {
        let joined = tokio::task::spawn_blocking(move || h.stop());
        if tokio::time::timeout(Duration::from_millis(500), joined)
            .await
            .is_err()
        {
            tracing::warn!("index thread did not stop in time");
        }
    }
}

/// A hook named a transcript (`transcript_path`, `agent_transcript_path`):
/// index it now rather than at the next file notification.
pub fn nudge(shared: &Shared, payload: &Value) {
    let Ok(slot) = shared.index.lock() else {
        return;
    };
    let Some(h) = slot.as_ref() else { return };
    // SubagentStop names the subagent's own transcript too.
    for key in ["transcript_path", "agent_transcript_path"] {
        if let Some(path) = payload.get(key).and_then(Value::as_str) {
            h.nudge(PathBuf::from(path));
        }
    }
}

fn index_error(e: IndexError) -> RpcError {
    match e {
        IndexError::Invalid(m) => RpcError::invalid_params(m),
        e => RpcError::new(
            code::STORE_ERROR,
            format!("reading the transcript index failed: {e}"),
        ),
    }
}

/// Runs `f` with a read-only connection to the index, on a blocking thread.
///
/// # Errors
/// [`code::NOT_FOUND`] when the index is off or not created yet; index
/// errors.
pub async fn read<T: Send + 'static>(
    shared: &Arc<Shared>,
    f: impl FnOnce(&Reader) -> Result<T, IndexError> + Send + 'static,
) -> Result<T, RpcError> {
    if !shared.config.index.enabled {
        return Err(RpcError::new(
            code::NOT_FOUND,
            "the transcript index is off ([index] enabled = false or AGENTD_INDEX=off)",
        ));
    }
    let db = shared.index_db.clone();
    let joined = tokio::task::spawn_blocking(move || {
        if !db.exists() {
            return Err(IndexError::Invalid(
                "the transcript index is not created yet; try again in a moment".to_owned(),
            ));
        }
        let r = Reader::open(&db)?;
        f(&r)
    })
    .await
    .map_err(|e| RpcError::new(code::INTERNAL_ERROR, format!("index reader failed: {e}")))?;
    joined.map_err(index_error)
}

/// `transcript.get` params.
#[derive(Debug, Deserialize)]
pub struct TranscriptParams {
    /// Session id or unique prefix.
    pub id: String,
    /// Skip this many messages.
    #[serde(default)]
    pub offset: u64,
    /// At most this many (default 200, at most 2000).
    #[serde(default)]
    pub limit: Option<usize>,
}

/// `index.status` result.
#[derive(Debug, Serialize)]
pub struct IndexStatus {
    /// `off`, `indexing` (initial scan), `scanning` (a reconcile scan) or `ready`.
    pub state: String,
    /// Folders indexed.
    pub roots: Vec<String>,
    /// Files needing work in the current/last scan, and done.
    pub files_total: u64,
    /// Of `files_total`, done.
    pub files_done: u64,
    /// Bytes to read in the current/last scan.
    pub bytes_total: u64,
    /// Of `bytes_total`, read.
    pub bytes_done: u64,
    /// Read rate of the current/last scan, bytes per second.
    pub rate_bytes_per_s: f64,
    /// Files that failed to index since start.
    pub errors: u64,
    /// The last failure.
    pub last_error: Option<String>,
    /// What the index holds.
    pub counts: agentd_index::query::IndexCounts,
    /// `*.jsonl` files under the roots that the last scan did not index,
    /// counted by reason (`a session's tool-results file, not a
    /// transcript`, ...).
    pub skipped: BTreeMap<String, u64>,
    /// Transcript paths named by hook payloads and ignored since start,
    /// counted by reason (`outside the index roots`, `a directory, not a
    /// transcript file`, ...).
    pub nudges_ignored: BTreeMap<String, u64>,
}

/// Dispatches the index methods; `None` for other methods.
pub async fn call(
    shared: &Arc<Shared>,
    method: &str,
    p: Option<Value>,
) -> Option<Result<Value, RpcError>> {
    use agentd_proto::method;
    let out = match method {
        method::SEARCH => search(shared, p).await,
        method::TRANSCRIPT_GET => transcript(shared, p).await,
        method::USAGE_REPORT => usage(shared, p).await,
        method::INDEX_STATUS => {
            // `{counts: false}` skips the counting queries (a progress poll).
            let counts = p
                .as_ref()
                .and_then(|v| v.get("counts"))
                .and_then(Value::as_bool)
                .unwrap_or(true);
            status(shared, counts).await
        }
        method::INDEX_RESCAN => match shared.index.lock().ok().as_ref().and_then(|s| s.as_ref()) {
            Some(h) => {
                h.rescan();
                Ok(serde_json::json!({"rescan": true}))
            }
            None => Err(RpcError::new(
                code::NOT_FOUND,
                "the transcript index is off",
            )),
        },
        _ => return None,
    };
    Some(out)
}

fn json<T: Serialize>(v: T) -> Result<Value, RpcError> {
    serde_json::to_value(v).map_err(|e| RpcError::new(code::INTERNAL_ERROR, e.to_string()))
}

/// Most ranked matches kept for a search being paged (16 bytes each):
/// pages past it are ranked afresh, by offset.
const RANKED_KEEP: usize = 100_000;

async fn search(shared: &Arc<Shared>, p: Option<Value>) -> Result<Value, RpcError> {
    let q: SearchQuery = crate::rpc::params(agentd_proto::method::SEARCH, p)?;
    let Some(offset) = q.offset else {
        return json(read(shared, move |r| r.search(&q)).await?);
    };
    // Paging: rank once (up to RANKED_KEEP), then every page is a slice
    // of that ranking; ranking every match again per page made deep pages
    // cost as much as the whole search each.
    let limit = q.limit.unwrap_or(20).clamp(1, SEARCH_PAGE_MAX);
    let key = format!(
        "{:?}",
        (&q.query, &q.project, &q.session_id, q.since_ms, q.until_ms)
    );
    let kept = (offset > 0)
        .then(|| shared.search_pages.get(&key))
        .flatten();
    let ranked = match kept {
        Some(r) => r,
        None => {
            let q = q.clone();
            let r = Arc::new(read(shared, move |r| r.ranked(&q, RANKED_KEEP, 0)).await?);
            shared.search_pages.put(key, Arc::clone(&r));
            r
        }
    };
    let end = offset.saturating_add(limit);
    if end > ranked.len() && ranked.len() == RANKED_KEEP {
        return json(read(shared, move |r| r.search(&q)).await?);
    }
    let page = ranked[offset.min(ranked.len())..end.min(ranked.len())].to_vec();
    json(read(shared, move |r| r.hits(&q.query, &page)).await?)
}

async fn transcript(shared: &Arc<Shared>, p: Option<Value>) -> Result<Value, RpcError> {
    let p: TranscriptParams = crate::rpc::params(agentd_proto::method::TRANSCRIPT_GET, p)?;
    let limit = p.limit.unwrap_or(200).clamp(1, 2000);
    let id = p.id.clone();
    let page = read(shared, move |r| {
        let full = r.session(&id)?.map_or(id, |s| s.id);
        r.transcript(&full, p.offset, limit)
    })
    .await?;
    if page.total == 0 {
        return Err(RpcError::new(
            code::NOT_FOUND,
            format!(
                "no transcript for session `{}` in the index; `agentd index` shows what is indexed",
                p.id
            ),
        ));
    }
    json(page)
}

async fn usage(shared: &Arc<Shared>, p: Option<Value>) -> Result<Value, RpcError> {
    // `offset`: where this page of rows starts (rows page like every list;
    // `next_offset` in the answer says where the next page starts).
    let offset = p
        .as_ref()
        .and_then(|v| v.get("offset"))
        .and_then(Value::as_u64)
        .unwrap_or(0) as usize;
    let p = p.map(|mut v| {
        if let Value::Object(m) = &mut v {
            m.remove("offset");
        }
        v
    });
    let q: UsageQuery = crate::rpc::params(agentd_proto::method::USAGE_REPORT, p)?;
    let overrides: Vec<(String, agentd_transcript::pricing::Price)> = shared
        .config
        .pricing
        .iter()
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    let report = read(shared, move |r| {
        agentd_index::usage::report(r, &q, &overrides)
    })
    .await?;
    let (rows, next_offset) = crate::paging::page(
        &report.rows,
        offset,
        None,
        crate::paging::PAGE_BYTES - 64 * 1024,
    );
    Ok(serde_json::json!({
        "rows": &report.rows[rows],
        "totals": report.totals,
        "timezone": report.timezone,
        "next_offset": next_offset,
    }))
}

async fn status(shared: &Arc<Shared>, with_counts: bool) -> Result<Value, RpcError> {
    let progress = shared.index_progress.lock().ok().and_then(|p| p.clone());
    let Some(p) = progress else {
        return json(IndexStatus {
            state: "off".to_owned(),
            roots: Vec::new(),
            files_total: 0,
            files_done: 0,
            bytes_total: 0,
            bytes_done: 0,
            rate_bytes_per_s: 0.0,
            errors: 0,
            last_error: None,
            counts: Default::default(),
            skipped: BTreeMap::new(),
            nudges_ignored: BTreeMap::new(),
        });
    };
    let counts = if with_counts {
        read(shared, |r| r.counts()).await.unwrap_or_default()
    } else {
        Default::default()
    };
    let bytes_done = p.bytes_done.load(Ordering::Relaxed);
    let ms = p.scan_ms.load(Ordering::Relaxed).max(1);
    let state = if !p.ready.load(Ordering::Acquire) {
        "indexing"
    } else if p.scanning.load(Ordering::Acquire) {
        "scanning"
    } else {
        "ready"
    };
    json(IndexStatus {
        state: state.to_owned(),
        roots: roots(&shared.config)
            .iter()
            .map(|r| r.display().to_string())
            .collect(),
        files_total: p.files_total.load(Ordering::Relaxed),
        files_done: p.files_done.load(Ordering::Relaxed),
        bytes_total: p.bytes_total.load(Ordering::Relaxed),
        bytes_done,
        rate_bytes_per_s: bytes_done as f64 * 1000.0 / ms as f64,
        errors: p.errors.load(Ordering::Relaxed),
        last_error: p.last_error.lock().ok().and_then(|e| e.clone()),
        counts,
        skipped: p.skipped.lock().map(|m| m.clone()).unwrap_or_default(),
        nudges_ignored: p
            .nudges_ignored
            .lock()
            .map(|m| m.clone())
            .unwrap_or_default(),
    })
}

/// Sessions the index knows and the registry does not (history), as
/// filtered by `f`, plus the index's summary of every session by id.
pub async fn history(
    shared: &Arc<Shared>,
    f: SessionFilter,
) -> Vec<agentd_index::query::IndexedSession> {
    if !shared.config.index.enabled {
        return Vec::new();
    }
    read(shared, move |r| r.sessions(&f))
        .await
        .unwrap_or_default()
}
