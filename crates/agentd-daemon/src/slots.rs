//! Slots: a limit on how many agent sessions run at once, in all and per
//! project (`[slots] max`, `[slots.projects]`). A holder (a launch, a
//! script, another client) acquires a slot, optionally for a session and
//! with a TTL, and releases it; a slot whose session ended or whose TTL
//! passed is freed by itself. Runtime state only: a daemon restart frees
//! every slot (as in the seed's coordinator).
//!
//! [`SlotTable`] is the pure state (unit-tested); the service waits on it.

pub use agentd_proto::api::{Slot, SlotRequest};

/// The slots held, against the limits.
#[derive(Debug, Default)]
pub struct SlotTable {
    max: usize,
    per_project: std::collections::BTreeMap<String, usize>,
    held: Vec<Slot>,
    next: u64,
}

impl SlotTable {
    /// A table with `max` slots in all (0: no limit) and per-project
    /// limits.
    pub fn new(max: usize, per_project: std::collections::BTreeMap<String, usize>) -> SlotTable {
        SlotTable {
            max,
            per_project,
            held: Vec::new(),
            next: 1,
        }
    }

    /// Takes a slot for `req` at `now_ms`, or says why not (what is full,
    /// and who holds it).
    pub fn acquire(&mut self, req: &SlotRequest, now_ms: i64) -> Result<Slot, String> {
        if self.max > 0 && self.held.len() >= self.max {
            return Err(format!(
                "all {} slots are taken (by {})",
                self.max,
                self.holders(|_| true)
            ));
        }
        if let Some(project) = &req.project
            && let Some(&limit) = self.per_project.get(project)
        {
            let n = self
                .held
                .iter()
                .filter(|s| s.project.as_deref() == Some(project))
                .count();
            if n >= limit {
                return Err(format!(
                    "all {limit} slots of {project} are taken (by {})",
                    self.holders(|s| s.project.as_deref() == Some(project))
                ));
            }
        }
        let slot = Slot {
            id: format!("slot_{}", self.next),
            holder: req.holder.clone(),
            session_id: req.session_id.clone(),
            project: req.project.clone(),
            acquired_ms: now_ms,
            expires_ms: req.ttl_s.map(|t| {
                now_ms.saturating_add(i64::try_from(t.saturating_mul(1000)).unwrap_or(i64::MAX))
            }),
        };
        self.next += 1;
        self.held.push(slot.clone());
        Ok(slot)
    }

    fn holders(&self, which: impl Fn(&Slot) -> bool) -> String {
        self.held
            .iter()
            .filter(|s| which(s))
            .map(|s| format!("{} {}", s.id, s.holder))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Gives `id` back; the slot, or `None` when it is not held.
    pub fn release(&mut self, id: &str) -> Option<Slot> {
        let i = self.held.iter().position(|s| s.id == id)?;
        Some(self.held.remove(i))
    }

    /// Frees slots whose TTL passed at `now_ms` or whose session `ended`;
    /// the freed ones.
    pub fn sweep(&mut self, now_ms: i64, ended: impl Fn(&str) -> bool) -> Vec<Slot> {
        let (gone, kept): (Vec<Slot>, Vec<Slot>) =
            std::mem::take(&mut self.held).into_iter().partition(|s| {
                s.expires_ms.is_some_and(|e| e <= now_ms)
                    || s.session_id.as_deref().is_some_and(&ended)
            });
        self.held = kept;
        gone
    }

    /// Sets the session of slot `id` (a launch learns it after starting).
    pub fn bind(&mut self, id: &str, session_id: &str) {
        if let Some(s) = self.held.iter_mut().find(|s| s.id == id) {
            s.session_id = Some(session_id.to_owned());
        }
    }

    /// The held slots, oldest first.
    pub fn list(&self) -> Vec<Slot> {
        self.held.clone()
    }
}

/// The slot table as the daemon's tasks share it, with a wake-up for
/// those waiting for a slot.
#[derive(Debug)]
pub struct Slots {
    table: std::sync::Mutex<SlotTable>,
    freed: tokio::sync::Notify,
}

impl Slots {
    /// Shared slots over `table`.
    pub fn new(table: SlotTable) -> Slots {
        Slots {
            table: std::sync::Mutex::new(table),
            freed: tokio::sync::Notify::new(),
        }
    }

    /// The slots held now.
    pub fn list(&self) -> Vec<Slot> {
        self.table.lock().map(|t| t.list()).unwrap_or_default()
    }

    /// Frees slots whose TTL passed by `now_ms` or whose session `ended`,
    /// waking waiters when any was.
    pub fn sweep(&self, now_ms: i64, ended: impl Fn(&str) -> bool) {
        let freed = match self.table.lock() {
            Ok(mut t) => t.sweep(now_ms, ended),
            Err(_) => Vec::new(),
        };
        if !freed.is_empty() {
            self.freed.notify_waiters();
        }
    }

    /// [`SlotTable::acquire`]; `None` when the table's lock is poisoned.
    pub fn acquire(&self, req: &SlotRequest, now_ms: i64) -> Option<Result<Slot, String>> {
        self.table.lock().ok().map(|mut t| t.acquire(req, now_ms))
    }

    /// Gives a slot back, waking waiters; `None` when it is not held.
    pub fn release(&self, id: &str) -> Option<Slot> {
        let released = self.table.lock().ok().and_then(|mut t| t.release(id));
        if released.is_some() {
            self.freed.notify_waiters();
        }
        released
    }

    /// Records the session a slot is for: its end frees the slot.
    pub fn bind(&self, id: &str, session_id: &str) {
        if let Ok(mut t) = self.table.lock() {
            t.bind(id, session_id);
        }
    }

    /// Completes when a slot is freed after this call.
    pub fn freed(&self) -> tokio::sync::futures::Notified<'_> {
        self.freed.notified()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(holder: &str, project: Option<&str>) -> SlotRequest {
        SlotRequest {
            holder: holder.into(),
            project: project.map(str::to_owned),
            ..SlotRequest::default()
        }
    }

    #[test]
    fn the_limits_hold_and_a_refusal_names_the_holders() {
        let mut t = SlotTable::new(2, [("/p".to_owned(), 1)].into());
        let a = t.acquire(&req("a", Some("/p")), 0).unwrap();
        let err = t.acquire(&req("b", Some("/p")), 0).unwrap_err();
        assert!(
            err.contains("slots of /p") && err.contains(&a.id) && err.contains(" a"),
            "{err}"
        );
        t.acquire(&req("c", Some("/q")), 0).unwrap();
        let err = t.acquire(&req("d", None), 0).unwrap_err();
        assert!(err.starts_with("all 2 slots are taken"), "{err}");
        assert_eq!(t.release(&a.id).map(|s| s.holder), Some("a".into()));
        assert!(t.release(&a.id).is_none(), "released once");
        t.acquire(&req("b", Some("/p")), 0).unwrap();
    }

    #[test]
    fn ttl_and_ended_sessions_free_slots_by_themselves() {
        let mut t = SlotTable::new(0, Default::default());
        let ttl = t
            .acquire(
                &SlotRequest {
                    ttl_s: Some(10),
                    ..req("ttl", None)
                },
                1_000,
            )
            .unwrap();
        let s = t
            .acquire(
                &SlotRequest {
                    session_id: Some("s1".into()),
                    ..req("sess", None)
                },
                1_000,
            )
            .unwrap();
        assert!(t.sweep(10_999, |_| false).is_empty());
        assert_eq!(t.sweep(11_000, |_| false), vec![ttl]);
        assert!(t.sweep(20_000, |id| id == "other").is_empty());
        assert_eq!(t.sweep(20_000, |id| id == "s1"), vec![s]);
        assert!(t.list().is_empty());
    }
}
