//! Slots: acquire (waiting a bounded time when full), release, list.

use std::time::{Duration, Instant};

use super::{Service, ServiceError};
use crate::slots::{Slot, SlotRequest};

/// Longest an acquire may wait for a free slot.
pub const MAX_SLOT_WAIT: Duration = Duration::from_secs(600);

impl Service {
    /// Frees what freed itself (TTL passed, session ended), then the
    /// slots held now.
    pub fn slots(&self) -> Vec<Slot> {
        self.sweep_slots();
        self.shared.slots.list()
    }

    fn sweep_slots(&self) {
        let ended = |id: &str| {
            self.shared
                .registry
                .read()
                .ok()
                .and_then(|r| r.get(id).map(|s| s.status == agentd_core::Status::Ended))
                .unwrap_or(false)
        };
        self.shared.slots.sweep(crate::now_ms(), ended);
    }

    /// Takes a slot; when all are taken, waits up to `wait` (at most
    /// [`MAX_SLOT_WAIT`]) for one to be freed.
    ///
    /// # Errors
    /// [`ServiceError::Invalid`] without a holder; [`ServiceError::Overloaded`]
    /// naming what is full and who holds it when none frees in time.
    pub async fn acquire_slot(
        &self,
        req: SlotRequest,
        wait: Duration,
    ) -> Result<Slot, ServiceError> {
        if req.holder.trim().is_empty() {
            return Err(ServiceError::invalid(
                "a slot needs a `holder` (who takes it)",
            ));
        }
        let deadline = Instant::now() + wait.min(MAX_SLOT_WAIT);
        loop {
            let freed = self.shared.slots.freed();
            self.sweep_slots();
            let tried = self
                .shared
                .slots
                .acquire(&req, crate::now_ms())
                .ok_or_else(|| ServiceError::internal("slot table lock poisoned"))?;
            let why = match tried {
                Ok(slot) => return Ok(slot),
                Err(why) => why,
            };
            let now = Instant::now();
            if now >= deadline {
                return Err(ServiceError::overloaded(format!(
                    "{why}; wait for one (`wait`), or free one (`agentd slots release ID`)"
                )));
            }
            // A release wakes us; TTLs and ended sessions are seen at the
            // next check, within a second.
            let _ = tokio::time::timeout((deadline - now).min(Duration::from_secs(1)), freed).await;
        }
    }

    /// Gives a slot back.
    ///
    /// # Errors
    /// [`ServiceError::NotFound`] when it is not held.
    pub fn release_slot(&self, id: &str) -> Result<Slot, ServiceError> {
        match self.shared.slots.release(id) {
            Some(s) => Ok(s),
            None => Err(ServiceError::not_found(format!(
                "no slot `{id}` is held; `agentd slots` lists them"
            ))),
        }
    }

    /// Records the session a slot is for (a launch learns it after
    /// starting): its end frees the slot.
    pub(crate) fn bind_slot(&self, id: &str, session_id: &str) {
        self.shared.slots.bind(id, session_id);
    }
}
