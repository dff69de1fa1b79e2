//! History from the transcript index: search, transcripts, usage, and the
//! index's own status.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use agentd_proto::api::{Rescan, TranscriptParams};
use agentd_proto::history::{
    Hit, IndexStatus, SEARCH_PAGE_MAX, SearchQuery, TranscriptPage, UsagePage, UsageQuery,
};

use super::{Service, ServiceError};
use crate::index::roots;

/// Most ranked matches kept for a search being paged (16 bytes each):
/// pages past it are ranked afresh, by offset.
const RANKED_KEEP: usize = 100_000;

impl Service {
    /// Full-text search, best first. With `offset` the whole ranking is
    /// kept (up to 100 000 matches) for the next pages, which are slices
    /// of it: ranking every match again per page made deep pages cost the
    /// whole search each.
    ///
    /// # Errors
    /// [`ServiceError::NotFound`] when the index is off;
    /// [`ServiceError::Store`].
    pub async fn search(&self, q: SearchQuery) -> Result<Vec<Hit>, ServiceError> {
        let shared = &self.shared;
        let Some(offset) = q.offset else {
            // The best of both: transcripts and memory documents, by score.
            let limit = q.limit.unwrap_or(20).clamp(1, SEARCH_PAGE_MAX);
            let docs_q = q.clone();
            let docs = self
                .memory(move |m| {
                    let ranked = m.ranked(&docs_q, limit)?;
                    m.hits(&docs_q.query, &ranked)
                })
                .await?;
            let mut hits = if shared.index.enabled() {
                shared.index.read(move |r| r.search(&q)).await?
            } else {
                Vec::new()
            };
            hits.extend(docs);
            hits.sort_by(|a, b| b.score.total_cmp(&a.score));
            hits.truncate(limit);
            return Ok(hits);
        };
        let limit = q.limit.unwrap_or(20).clamp(1, SEARCH_PAGE_MAX);
        let key = format!(
            "{:?}",
            (&q.query, &q.project, &q.session_id, q.since_ms, q.until_ms)
        );
        let kept = (offset > 0)
            .then(|| shared.index.search_pages().get(&key))
            .flatten();
        let ranked = match kept {
            Some(r) => r,
            None => {
                let tq = q.clone();
                let mut r = if shared.index.enabled() {
                    shared
                        .index
                        .read(move |r| r.ranked(&tq, RANKED_KEEP, 0))
                        .await?
                } else {
                    Vec::new()
                };
                let dq = q.clone();
                r.extend(self.memory(move |m| m.ranked(&dq, RANKED_KEEP)).await?);
                // One order over both (FTS5 scores: lower is better), with
                // a total order for equal scores.
                r.sort_by(|a, b| {
                    a.score
                        .total_cmp(&b.score)
                        .then(a.document.cmp(&b.document))
                        .then(a.message.cmp(&b.message))
                });
                r.truncate(RANKED_KEEP);
                let r = Arc::new(r);
                shared.index.search_pages().put(key, Arc::clone(&r));
                r
            }
        };
        let end = offset.saturating_add(limit);
        if end > ranked.len() && ranked.len() == RANKED_KEEP {
            return shared.index.read(move |r| r.search(&q)).await;
        }
        let page = ranked[offset.min(ranked.len())..end.min(ranked.len())].to_vec();
        // Each hit from its own store, then back in the ranking's order.
        let (docs, msgs): (Vec<_>, Vec<_>) = page.iter().copied().partition(|r| r.document);
        let query = q.query.clone();
        let mut doc_hits = self
            .memory(move |m| m.hits(&query, &docs))
            .await?
            .into_iter();
        let mut msg_hits = if msgs.is_empty() {
            Vec::new().into_iter()
        } else {
            shared
                .index
                .read(move |r| r.hits(&q.query, &msgs))
                .await?
                .into_iter()
        };
        Ok(page
            .iter()
            .filter_map(|r| {
                if r.document {
                    doc_hits.next()
                } else {
                    msg_hits.next()
                }
            })
            .collect())
    }

    /// Full-text search of the memory documents alone, best first (at
    /// most `limit`, default 20).
    ///
    /// # Errors
    /// [`ServiceError::Store`].
    pub async fn search_memory(&self, q: SearchQuery) -> Result<Vec<Hit>, ServiceError> {
        let limit = q.limit.unwrap_or(20).clamp(1, SEARCH_PAGE_MAX);
        self.memory(move |m| {
            let ranked = m.ranked(&q, limit)?;
            m.hits(&q.query, &ranked)
        })
        .await
    }

    /// Stores and indexes a memory document (`memory.db`, kept apart from
    /// the transcript index: a rebuilt index never loses it).
    ///
    /// # Errors
    /// [`ServiceError::Invalid`] for an empty or oversize title or text;
    /// [`ServiceError::Store`].
    pub async fn index_document(
        &self,
        d: agentd_proto::history::IndexDocumentParams,
    ) -> Result<agentd_proto::history::Document, ServiceError> {
        self.memory(move |m| m.add(&d, crate::now_ms())).await
    }

    /// Runs `f` on the memory store, on the blocking pool.
    async fn memory<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut agentd_index::memory::Memory) -> Result<T, agentd_index::IndexError>
        + Send
        + 'static,
    ) -> Result<T, ServiceError> {
        let path = self.shared.log.db_path().with_file_name("memory.db");
        tokio::task::spawn_blocking(move || {
            let mut m = agentd_index::memory::Memory::open(&path)?;
            f(&mut m)
        })
        .await
        .map_err(ServiceError::internal)?
        .map_err(|e| match e {
            agentd_index::IndexError::Invalid(m) => ServiceError::Invalid(m),
            e => ServiceError::store(format!("the memory store failed: {e}")),
        })
    }

    /// A page of a session's transcript (id or unique prefix).
    ///
    /// # Errors
    /// [`ServiceError::NotFound`] when the index has no transcript for it;
    /// [`ServiceError::Invalid`] for an ambiguous prefix;
    /// [`ServiceError::Store`].
    pub async fn transcript(&self, p: TranscriptParams) -> Result<TranscriptPage, ServiceError> {
        let limit = p.limit.unwrap_or(200).clamp(1, 2000);
        let id = p.id.clone();
        let page = self
            .shared
            .index
            .read(move |r| {
                let full = r.session(&id)?.map_or(id, |s| s.id);
                r.transcript(&full, p.offset, limit)
            })
            .await?;
        if page.total == 0 {
            return Err(ServiceError::not_found(format!(
                "no transcript for session `{}` in the index; `agentd index` shows what is indexed",
                p.id
            )));
        }
        Ok(page)
    }

    /// A usage report (tokens and cost), its rows paged from `offset`.
    ///
    /// # Errors
    /// [`ServiceError::Invalid`] for a bad grouping or time zone;
    /// [`ServiceError::NotFound`] when the index is off;
    /// [`ServiceError::Store`].
    pub async fn usage(&self, q: UsageQuery, offset: usize) -> Result<UsagePage, ServiceError> {
        let report = self.usage_report(q).await?;
        let (rows, next_offset) = crate::paging::page(
            &report.rows,
            offset,
            None,
            crate::paging::PAGE_BYTES - 64 * 1024,
        );
        Ok(UsagePage {
            rows: report.rows[rows].to_vec(),
            totals: report.totals,
            timezone: report.timezone,
            next_offset,
        })
    }

    /// A whole usage report (every row), for a face that is not paged by
    /// frames (HQ asking this runner).
    ///
    /// # Errors
    /// As [`Service::usage`].
    pub async fn usage_report(
        &self,
        q: UsageQuery,
    ) -> Result<agentd_proto::history::UsageReport, ServiceError> {
        let overrides: Vec<(String, agentd_transcript::pricing::Price)> = self
            .shared
            .config
            .pricing
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        self.shared
            .index
            .read(move |r| agentd_index::usage::report(r, &q, &overrides))
            .await
    }

    /// The index's progress and (with `with_counts`) what it holds.
    pub async fn index_status(&self, with_counts: bool) -> IndexStatus {
        let shared = &self.shared;
        let progress = shared.index.progress();
        let Some(p) = progress else {
            return IndexStatus {
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
            };
        };
        let counts = if with_counts {
            shared.index.read(|r| r.counts()).await.unwrap_or_default()
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
        IndexStatus {
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
        }
    }

    /// Scans every transcript folder now.
    ///
    /// # Errors
    /// [`ServiceError::NotFound`] when the index is off.
    pub fn index_rescan(&self) -> Result<Rescan, ServiceError> {
        if self.shared.index.rescan() {
            Ok(Rescan { rescan: true })
        } else {
            Err(ServiceError::not_found("the transcript index is off"))
        }
    }
}
