//! The event log, page by page.

use agentd_proto::api::{EventsList, EventsListParams};

use super::{Service, ServiceError};
use crate::ingest;

/// Bytes of payload one `events.list` response may carry (under the frame limit).
pub const RESPONSE_BUDGET: usize = agentd_proto::MAX_FRAME_BYTES - 64 * 1024;

/// Most events one `events.list` returns.
pub const MAX_EVENTS_PAGE: usize = 10_000;

impl Service {
    /// Events after `p.after_seq` (optionally one session's, some kinds), in
    /// seq order; a page stops early rather than exceed a response.
    ///
    /// # Errors
    /// [`ServiceError::Ambiguous`] for a session prefix of several sessions;
    /// [`ServiceError::Store`].
    pub async fn events(&self, mut p: EventsListParams) -> Result<EventsList, ServiceError> {
        let shared = &self.shared;
        p.session_id = self.session_filter(p.session_id)?;
        let limit = p.limit.unwrap_or(1000).clamp(1, MAX_EVENTS_PAGE);
        let head = shared.log.head_seq();
        let rows = shared
            .log
            .read(move |r| {
                r.events(
                    p.after_seq,
                    p.session_id.as_deref(),
                    p.kinds.as_deref(),
                    limit,
                )
            })
            .await
            .map_err(|e| ServiceError::store(format!("reading the event log failed: {e}")))?;
        // Stop early rather than exceed the frame limit; clients page on by seq.
        let mut budget = RESPONSE_BUDGET;
        let mut events = Vec::with_capacity(rows.len());
        for row in &rows {
            let cost = row.payload.len() + row.env.len() + 512;
            if cost > budget && !events.is_empty() {
                break;
            }
            budget = budget.saturating_sub(cost);
            events.push(ingest::record_of(row));
        }
        Ok(EventsList {
            events,
            head_seq: head,
        })
    }
}

/// Events read from the log per catch-up step of an [`Service::event_stream`].
const STREAM_CATCH_UP: usize = 1000;

/// Events a stream may queue for a slow reader before it waits (and, once
/// the broadcast ring has moved on, catches up from the log instead).
const STREAM_QUEUE: usize = 1024;

impl Service {
    /// Every event after `p.after_seq` (absent: from now on), optionally
    /// one session's or some kinds, as a stream in seq order: first from
    /// the log, then live. A reader that falls behind the live ring is
    /// caught up from the log, so the stream has no gap and no duplicate;
    /// it ends when the daemon stops, and stops its work when dropped.
    ///
    /// The socket's `events.subscribe` keeps its own delivery
    /// (`crate::subscribe`: each event serialized once for every
    /// subscriber); this one serves the faces that need typed events.
    ///
    /// # Errors
    /// [`ServiceError::Ambiguous`] for a session prefix of several
    /// sessions.
    pub fn event_stream(
        &self,
        mut p: agentd_proto::api::SubscribeParams,
    ) -> Result<
        impl futures_util::Stream<Item = std::sync::Arc<agentd_proto::api::EventRecord>>
        + Send
        + 'static,
        ServiceError,
    > {
        p.session_id = self.session_filter(p.session_id)?;
        let shared = std::sync::Arc::clone(&self.shared);
        // Live first, then the head: nothing committed in between is lost.
        let mut live = shared.log.subscribe();
        let head = shared.log.head_seq();
        let start = p.after_seq.unwrap_or(head);
        let (tx, rx) = tokio::sync::mpsc::channel(STREAM_QUEUE);
        let stop = shared.shutdown.clone();
        shared.tasks.clone().spawn(async move {
            let wants = |session: &str, kind: &str| {
                p.session_id.as_deref().is_none_or(|s| s == session)
                    && p.kinds.as_ref().is_none_or(|k| k.iter().any(|k| k == kind))
            };
            let mut last = start;
            // Up to the head when `live` was taken: later commits are in
            // `live`, whenever this task starts.
            if last < head && !catch_up(&shared, &p, &mut last, head, &tx).await {
                return;
            }
            loop {
                let next = tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tx.closed() => return,
                    next = live.recv() => next,
                };
                match next {
                    Ok(ev) if ev.seq > last => {
                        if ev.seq > last + 1
                            && !catch_up(&shared, &p, &mut last, ev.seq - 1, &tx).await
                        {
                            return;
                        }
                        last = ev.seq;
                        if !wants(&ev.session_id, &ev.kind) {
                            continue;
                        }
                        // Parsed once for every stream (`LiveEvent::record`).
                        if tx.send(std::sync::Arc::clone(ev.record())).await.is_err() {
                            return;
                        }
                    }
                    Ok(_) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        if !catch_up(&shared, &p, &mut last, u64::MAX, &tx).await {
                            return;
                        }
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                }
            }
        });
        Ok(futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|e| (e, rx))
        }))
    }
}

/// Sends logged events after `*last` up to `until` (inclusive) that `p`
/// wants; false when the reader is gone or the log cannot be read.
async fn catch_up(
    shared: &std::sync::Arc<crate::state::Shared>,
    p: &agentd_proto::api::SubscribeParams,
    last: &mut u64,
    until: u64,
    tx: &tokio::sync::mpsc::Sender<std::sync::Arc<agentd_proto::api::EventRecord>>,
) -> bool {
    loop {
        let after = *last;
        let head_before = shared.log.head_seq();
        let (session, kinds) = (p.session_id.clone(), p.kinds.clone());
        let page = match shared
            .log
            .read(move |r| r.events(after, session.as_deref(), kinds.as_deref(), STREAM_CATCH_UP))
            .await
        {
            Ok(page) => page,
            Err(e) => {
                tracing::warn!(error = %e, "event stream: reading the log failed; ending it");
                return false;
            }
        };
        let full = page.len() == STREAM_CATCH_UP;
        for row in page.iter().take_while(|r| r.seq <= until) {
            *last = row.seq;
            if tx
                .send(std::sync::Arc::new(ingest::record_of(row)))
                .await
                .is_err()
            {
                return false;
            }
        }
        if !full || *last >= until {
            // A filtered read skips seqs: a short page covered them all.
            *last = (*last).max(head_before.min(until));
            return true;
        }
    }
}
