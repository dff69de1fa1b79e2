//! Telling the user something through the configured notification sinks
//! (`[[notify.sinks]]`), outside the needs the event log raises: a
//! plugin's `notify.send`.

use super::{Service, ServiceError};
use crate::notify::NotSent;

impl Service {
    /// Sends `title` / `body` from `source` (a plugin's name) about session
    /// `session_id` (empty or unknown: about no session) to every sink
    /// whose rules want reason `plugin`. Never waits for delivery.
    ///
    /// # Errors
    /// [`ServiceError::Invalid`] when no sink is configured (it says how to
    /// add one); [`ServiceError::Overloaded`] when the sinks' queue is full.
    pub fn notify_user(
        &self,
        source: &str,
        session_id: &str,
        title: &str,
        body: &str,
    ) -> Result<(), ServiceError> {
        let session = self
            .shared
            .registry
            .read()
            .ok()
            .and_then(|r| r.get(session_id).cloned());
        let need = crate::notify::need::from_plugin(
            source,
            session.as_ref(),
            title,
            body,
            crate::now_ms(),
        );
        self.shared.notify.send(need).map_err(|e| match e {
            NotSent::NoSink => ServiceError::invalid(
                "no notification sink is configured: add a [[notify.sinks]] to agentd.toml (README § Notifications)",
            ),
            NotSent::Full => {
                ServiceError::overloaded("the notification queue is full; try again shortly")
            }
        })
    }
}
