//! Steering a runner's launched sessions from HQ: send a message,
//! interrupt a turn, or end the session (role `operator`; audited as
//! `session.send`, `session.interrupt`, `session.kill`). The session names
//! its runner: HQ finds it among every runner's sessions and asks that
//! runner, which does what its own `sessions.send|interrupt|kill` does.

use agentd_proto::hq::{HqSteered, SessionCall};

use crate::fleet::{FindError, Request};
use crate::service::{Caller, HqError, HqService};
use crate::token::Role;

/// What to do to a session, before HQ knows its full id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Steer {
    /// Send this message.
    Send(String),
    /// Interrupt its turn.
    Interrupt,
    /// End it.
    Kill,
}

impl HqService {
    /// Does `what` to the session `id` (or a unique prefix) names, on the
    /// runner that has it.
    ///
    /// # Errors
    /// [`HqError::Forbidden`] below operator; [`HqError::NotFound`] /
    /// [`HqError::Invalid`] for an unknown or ambiguous id; the runner's
    /// refusal (a session it did not launch cannot be steered).
    pub async fn steer(
        &self,
        caller: &Caller,
        peer: Option<String>,
        id: &str,
        what: Steer,
    ) -> Result<HqSteered, HqError> {
        let action = match what {
            Steer::Send(_) => "session.send",
            Steer::Interrupt => "session.interrupt",
            Steer::Kill => "session.kill",
        };
        let found = match HqService::require(caller, Role::Operator) {
            Ok(()) => self.fleet().find_session(id).map_err(|e| match e {
                FindError::None => HqError::NotFound(format!(
                    "no session id starts with {id:?} on any runner: see `agentd ls --hq URL`"
                )),
                FindError::Many(n) => HqError::Invalid(format!(
                    "{n} sessions' ids start with {id:?}: give more of the id"
                )),
            }),
            Err(e) => Err(e),
        };
        let (runner, full) = match found {
            Ok(f) => f,
            Err(e) => {
                self.record(caller, peer, action, "-", id, e.to_string())
                    .await;
                return Err(e);
            }
        };
        let call = match what {
            Steer::Send(message) => SessionCall::Send {
                id: full.clone(),
                message,
            },
            Steer::Interrupt => SessionCall::Interrupt { id: full.clone() },
            Steer::Kill => SessionCall::Kill { id: full.clone() },
        };
        let result = self
            .ask_runner(
                &runner,
                Request::Session(call),
                format!("runner {runner} is offline: it must be linked to steer its sessions"),
            )
            .await;
        self.record(
            caller,
            peer,
            action,
            &runner,
            &full,
            match &result {
                Ok(_) => "ok".to_owned(),
                Err(e) => e.to_string(),
            },
        )
        .await;
        result.map(|result| HqSteered { runner, result })
    }
}
