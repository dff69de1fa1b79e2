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
        self.shared
            .slots
            .lock()
            .map(|t| t.list())
            .unwrap_or_default()
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
        let freed = match self.shared.slots.lock() {
            Ok(mut t) => t.sweep(crate::now_ms(), ended),
            Err(_) => Vec::new(),
        };
        if !freed.is_empty() {
            self.shared.slot_freed.notify_waiters();
        }
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
            let freed = self.shared.slot_freed.notified();
            self.sweep_slots();
            let tried = self
                .shared
                .slots
                .lock()
                .map_err(|_| ServiceError::internal("slot table lock poisoned"))?
                .acquire(&req, crate::now_ms());
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
        let released = self
            .shared
            .slots
            .lock()
            .map_err(|_| ServiceError::internal("slot table lock poisoned"))?
            .release(id);
        match released {
            Some(s) => {
                self.shared.slot_freed.notify_waiters();
                Ok(s)
            }
            None => Err(ServiceError::not_found(format!(
                "no slot `{id}` is held; `agentd slots` lists them"
            ))),
        }
    }

    /// Records the session a slot is for (a launch learns it after
    /// starting): its end frees the slot.
    pub(crate) fn bind_slot(&self, id: &str, session_id: &str) {
        if let Ok(mut t) = self.shared.slots.lock() {
            t.bind(id, session_id);
        }
    }
}
