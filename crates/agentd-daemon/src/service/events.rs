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
        let head = shared.head_seq();
        let rows = shared
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
