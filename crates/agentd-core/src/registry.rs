//! The set of all sessions: a fold over the event log.

use std::collections::HashMap;

use crate::event::LifecycleEvent;
use crate::session::Session;

/// Every session agentd knows, keyed by session id.
#[derive(Debug, Default, Clone)]
pub struct Registry {
    sessions: HashMap<String, Session>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Registry {
        Registry::default()
    }

    /// A registry holding `sessions` (e.g. loaded from a checkpoint).
    pub fn from_sessions(sessions: impl IntoIterator<Item = Session>) -> Registry {
        Registry {
            sessions: sessions.into_iter().map(|s| (s.id.clone(), s)).collect(),
        }
    }

    /// Applies event `seq` for `agent` and returns the updated session.
    pub fn apply(&mut self, seq: u64, agent: &str, event: &LifecycleEvent) -> &Session {
        let session = self
            .sessions
            .entry(event.session_id.clone())
            .or_insert_with(|| Session::new(event.session_id.clone(), agent, event.ts_ms));
        session.apply(seq, event);
        session
    }

    /// Inserts or replaces a session (the daemon commits staged sessions so).
    pub fn put(&mut self, session: Session) {
        self.sessions.insert(session.id.clone(), session);
    }

    /// The session with this id.
    pub fn get(&self, id: &str) -> Option<&Session> {
        self.sessions.get(id)
    }

    /// Number of sessions.
    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    /// Whether there are no sessions.
    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }

    /// All sessions, those that need the user first, then live ones, then by
    /// last activity (newest first).
    pub fn list(&self) -> Vec<Session> {
        let mut all: Vec<Session> = self.sessions.values().cloned().collect();
        sort_for_display(&mut all);
        all
    }

    /// Iterates over sessions in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &Session> {
        self.sessions.values()
    }
}

/// Sorts sessions the way every client shows them: needs-the-user first, then
/// live, then ended; newest activity first within each group; id breaks ties.
pub fn sort_for_display(sessions: &mut [Session]) {
    use crate::session::Status;
    sessions.sort_by(|a, b| {
        let rank = |s: &Session| match s.status {
            st if st.needs_user() => 0,
            Status::Ended => 2,
            _ => 1,
        };
        rank(a)
            .cmp(&rank(b))
            .then(b.last_event_ms.cmp(&a.last_event_ms))
            .then(a.id.cmp(&b.id))
    });
}
