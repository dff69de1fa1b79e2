//! The transcript index inside the daemon: starting its thread, nudging it
//! when a hook names a transcript, and the `search`, `transcript.get`,
//! `usage.report`, `index.status` and `index.rescan` methods.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::error::ServiceError;
use agentd_client::Config;
use agentd_index::query::{Ranked, SessionFilter};
use agentd_index::{IndexError, IndexHandle, Progress, Reader};
use serde_json::Value;

use crate::paging::Continuation;

/// Longest a query waits for the index thread to open (and migrate) the
/// index right after start.
const INDEX_OPEN_WAIT: Duration = Duration::from_secs(10);

/// The roots to index: Claude Code's projects folder, Codex CLI's
/// rollouts (`$CODEX_HOME/sessions`) and Gemini CLI's chats
/// (`~/.gemini/tmp`), plus `[index] roots`; or exactly
/// `AGENTD_INDEX_ROOTS`. Roots that do not exist yet are watched once they
/// do.
pub fn roots(config: &Config) -> Vec<PathBuf> {
    let mut roots: Vec<PathBuf> = Vec::new();
    if !config.index.roots_only {
        if let Some(c) = agentd_client::claude_config_dir() {
            roots.push(c.join("projects"));
        }
        if let Some(c) = agentd_client::codex_home() {
            roots.push(c.join("sessions"));
        }
        if let Some(g) = agentd_client::gemini_dir() {
            roots.push(g.join("tmp"));
        }
    }
    roots.extend(config.index.roots.iter().map(PathBuf::from));
    roots.dedup();
    roots
}

/// The transcript index as the daemon holds it: its indexer thread while
/// it runs, the thread's progress (kept after it stops), where the index
/// is, and the ranking of the search being paged through.
pub struct TranscriptIndex {
    enabled: bool,
    db: PathBuf,
    thread: Mutex<Option<IndexHandle>>,
    progress: Mutex<Option<Arc<Progress>>>,
    search_pages: Continuation<Ranked>,
}

impl TranscriptIndex {
    /// The index in `db`; `enabled` is `[index] enabled`.
    pub fn new(db: PathBuf, enabled: bool) -> TranscriptIndex {
        TranscriptIndex {
            enabled,
            db,
            thread: Mutex::new(None),
            progress: Mutex::new(None),
            search_pages: Continuation::default(),
        }
    }

    /// Starts the index thread (unless `[index] enabled = false`). Indexing
    /// runs in the background: the daemon serves meanwhile.
    pub fn start(&self, config: &Config) {
        if !self.enabled {
            tracing::info!("transcript index off");
            return;
        }
        let roots = roots(config);
        let reconcile = Duration::from_secs(config.index.reconcile_s.max(1));
        match IndexHandle::spawn(&self.db, roots.clone(), reconcile) {
            Ok(h) => {
                tracing::info!(roots = ?roots, "transcript index started");
                if let Ok(mut p) = self.progress.lock() {
                    *p = Some(Arc::clone(&h.progress));
                }
                if let Ok(mut slot) = self.thread.lock() {
                    *slot = Some(h);
                }
            }
            Err(e) => tracing::error!(error = %e, "cannot start the transcript index"),
        }
    }

    /// Stops the index thread (it commits as it goes; at most one batch is
    /// redone at the next start).
    pub async fn stop(&self) {
        let handle = self.thread.lock().ok().and_then(|mut h| h.take());
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
    pub fn nudge(&self, payload: &Value) {
        let Ok(slot) = self.thread.lock() else {
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

    /// Scans every transcript folder now; false when the index is off.
    pub fn rescan(&self) -> bool {
        match self.thread.lock().ok().as_ref().and_then(|s| s.as_ref()) {
            Some(h) => {
                h.rescan();
                true
            }
            None => false,
        }
    }

    /// The index thread's progress (kept after it stops); `None` when it
    /// never started.
    pub fn progress(&self) -> Option<Arc<Progress>> {
        self.progress.lock().ok().and_then(|p| p.clone())
    }

    /// Whether `[index] enabled`.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// The ranking of the search being paged through.
    pub fn search_pages(&self) -> &Continuation<Ranked> {
        &self.search_pages
    }

    /// Runs `f` with a read-only connection to the index, on a blocking thread.
    ///
    /// # Errors
    /// [`ServiceError::NotFound`] when the index is off or not created yet; index
    /// errors.
    pub async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Reader) -> Result<T, IndexError> + Send + 'static,
    ) -> Result<T, ServiceError> {
        if !self.enabled {
            return Err(ServiceError::not_found(
                "the transcript index is off ([index] enabled = false or AGENTD_INDEX=off)",
            ));
        }
        // Right after start the index thread may still be creating the
        // tables: wait for it (briefly) rather than fail on a missing one.
        if let Some(p) = self.progress() {
            let deadline = tokio::time::Instant::now() + INDEX_OPEN_WAIT;
            while !p.opened.load(std::sync::atomic::Ordering::Acquire) {
                // Opening failed: say why rather than wait.
                if let Some(e) = p.last_error.lock().ok().and_then(|e| e.clone()) {
                    return Err(ServiceError::store(format!(
                        "the transcript index could not be opened: {e}"
                    )));
                }
                if tokio::time::Instant::now() >= deadline {
                    return Err(ServiceError::store(
                        "the transcript index is still opening; try again in a moment",
                    ));
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        let db = self.db.clone();
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
        .map_err(|e| ServiceError::internal(format!("index reader failed: {e}")))?;
        joined.map_err(index_error)
    }

    /// Sessions the index knows and the registry does not (history), as
    /// filtered by `f`, plus the index's summary of every session by id.
    pub async fn history(&self, f: SessionFilter) -> Vec<agentd_index::query::IndexedSession> {
        if !self.enabled {
            return Vec::new();
        }
        self.read(move |r| r.sessions(&f)).await.unwrap_or_default()
    }
}

fn index_error(e: IndexError) -> ServiceError {
    match e {
        IndexError::Invalid(m) => ServiceError::invalid(m),
        e => ServiceError::store(format!("reading the transcript index failed: {e}")),
    }
}
