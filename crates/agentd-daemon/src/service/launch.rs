//! Sessions agentd runs itself: launch, send, interrupt, kill.

use agentd_proto::api::{Interrupted, Killed, LaunchParams, Launched, SendParams};

use super::{Service, ServiceError};
use crate::launch;

impl Service {
    /// Starts Claude Code headless in `p.cwd`, steered by agentd.
    ///
    /// # Errors
    /// [`ServiceError::Gone`] when `claude` is missing or exits before its
    /// session starts; [`ServiceError::Invalid`] for a bad `cwd`.
    pub async fn launch(&self, p: LaunchParams) -> Result<Launched, ServiceError> {
        let project = p.cwd.clone();
        self.in_slot(project, launch::launch(&self.shared, p, None))
            .await
    }

    /// Sends a message to a launched session (id or unique prefix),
    /// resuming it when its process exited.
    ///
    /// # Errors
    /// As [`Service::launch`] when it has to resume.
    pub async fn send(&self, p: SendParams) -> Result<Launched, ServiceError> {
        let seen = self.session(&p.id).ok();
        let id = seen.as_ref().map_or(p.id, |s| s.session.id.clone());
        if launch::asks_on_stdio(&self.shared, &id) {
            return launch::send(&self.shared, &id, &p.message).await;
        }
        // Resuming runs the session again, so it takes a slot as a launch.
        let project = seen.and_then(|s| s.session.cwd);
        self.in_slot(project, launch::send(&self.shared, &id, &p.message))
            .await
    }

    /// Runs `start` (a launch or a resume) holding a slot ([slots]) for
    /// `project`: taken first (no wait: a full house is an error naming
    /// who holds it), bound to the session it starts so that the
    /// session's end gives it back, released at once if it fails.
    async fn in_slot(
        &self,
        project: Option<String>,
        start: impl std::future::Future<Output = Result<Launched, ServiceError>>,
    ) -> Result<Launched, ServiceError> {
        let slot = self
            .acquire_slot(
                crate::slots::SlotRequest {
                    holder: "launch".to_owned(),
                    session_id: None,
                    project,
                    ttl_s: None,
                },
                std::time::Duration::ZERO,
            )
            .await?;
        match start.await {
            Ok(l) => {
                self.bind_slot(&slot.id, &l.session_id);
                Ok(l)
            }
            Err(e) => {
                let _ = self.release_slot(&slot.id);
                Err(e)
            }
        }
    }

    /// Interrupts a launched session's turn.
    ///
    /// # Errors
    /// [`ServiceError::NotFound`] when agentd did not launch it;
    /// [`ServiceError::Gone`] when it no longer runs.
    pub async fn interrupt(&self, id: &str) -> Result<Interrupted, ServiceError> {
        let id = self.session(id)?.session.id;
        launch::interrupt(&self.shared, &id).await?;
        Ok(Interrupted {
            session_id: id,
            interrupted: true,
        })
    }

    /// Stops a launched session: SIGINT, SIGTERM, SIGKILL to its process
    /// group, each given 2 s.
    ///
    /// # Errors
    /// [`ServiceError::NotFound`] when agentd did not launch it;
    /// [`ServiceError::Internal`] when a process outlived SIGKILL.
    pub async fn kill(&self, id: &str) -> Result<Killed, ServiceError> {
        let id = self.session(id)?.session.id;
        let signal = launch::kill(&self.shared, &id).await?;
        Ok(Killed {
            session_id: id,
            ended_by: signal.to_owned(),
        })
    }
}
