//! Remote terminals: an operator starts, lists, closes and attaches to a
//! runner's terminals through HQ. A terminal is never streamed over the
//! runner's link: for an attach HQ opens a channel (a random 32-hex id),
//! asks the runner over the link to dial `terminal_channel_path(channel)`
//! with its runner token, and hands the socket it dials to the face that
//! asked ([`HqService::attach_terminal`]), which splices it to the
//! browser's. The runner speaks the daemon's terminal protocol on it, so a
//! re-attach after any drop replays from the offset the browser names.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use agentd_proto::api::{TerminalStartParams, TerminalView};
use agentd_proto::hq::{HqTerminalView, TerminalCall};
use axum::extract::ws::WebSocket;
use tokio::sync::oneshot;

use crate::fleet::Request;
use crate::service::{Caller, HqError, HqService};
use crate::token::Role;

/// How long HQ waits for a runner to dial a channel it asked for.
pub const DIAL_BACK_WITHIN: Duration = Duration::from_secs(10);
/// Most channels waiting for their runner at once.
const MAX_PENDING: usize = 256;

struct Pending {
    runner: String,
    tx: oneshot::Sender<WebSocket>,
}

/// Channels waiting for their runner to dial in.
#[derive(Default)]
pub struct Channels {
    pending: Mutex<HashMap<String, Pending>>,
}

/// A channel opened for a runner; dropping it closes the channel.
pub struct Waiting {
    channels: Arc<Channels>,
    channel: String,
    rx: Option<oneshot::Receiver<WebSocket>>,
}

impl Drop for Waiting {
    fn drop(&mut self) {
        if let Ok(mut p) = self.channels.pending.lock() {
            p.remove(&self.channel);
        }
    }
}

impl Channels {
    /// A new channel for `runner`.
    ///
    /// # Errors
    /// [`HqError::Unavailable`] past [`MAX_PENDING`] or without randomness.
    pub fn open(self: &Arc<Self>, runner: &str) -> Result<Waiting, HqError> {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes)
            .map_err(|e| HqError::Unavailable(format!("no randomness for a channel: {e}")))?;
        let channel: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let (tx, rx) = oneshot::channel();
        let mut p = self
            .pending
            .lock()
            .map_err(|_| HqError::Unavailable("terminal channels are unusable".into()))?;
        if p.len() >= MAX_PENDING {
            return Err(HqError::Unavailable(format!(
                "{MAX_PENDING} terminals are being attached at once; try again"
            )));
        }
        p.insert(
            channel.clone(),
            Pending {
                runner: runner.to_owned(),
                tx,
            },
        );
        Ok(Waiting {
            channels: Arc::clone(self),
            channel,
            rx: Some(rx),
        })
    }

    /// Whether `channel` waits for `runner` (checked before the upgrade, so
    /// a stray dial gets a 404 rather than a socket nobody reads).
    pub fn expects(&self, channel: &str, runner: &str) -> bool {
        self.pending
            .lock()
            .is_ok_and(|p| p.get(channel).is_some_and(|w| w.runner == runner))
    }

    /// Hands `runner`'s socket to whoever waits on `channel`; false (and
    /// the socket dropped) when nobody does any more.
    pub fn deliver(&self, channel: &str, runner: &str, socket: WebSocket) -> bool {
        let waiter = self.pending.lock().ok().and_then(|mut p| {
            if p.get(channel).is_some_and(|w| w.runner == runner) {
                p.remove(channel)
            } else {
                None
            }
        });
        waiter.is_some_and(|w| w.tx.send(socket).is_ok())
    }
}

impl HqService {
    /// `runner`'s terminals (role `viewer`).
    ///
    /// # Errors
    /// [`HqError::Forbidden`], [`HqError::Unavailable`] (offline, no
    /// answer), or the runner's refusal.
    pub async fn terminals(
        &self,
        caller: &Caller,
        runner: &str,
    ) -> Result<Vec<HqTerminalView>, HqError> {
        HqService::require(caller, Role::Viewer)?;
        let v = self.terminal_call(runner, TerminalCall::List).await?;
        let list: Vec<TerminalView> = decode(runner, v)?;
        Ok(list
            .into_iter()
            .map(|terminal| HqTerminalView {
                runner: runner.to_owned(),
                terminal,
            })
            .collect())
    }

    /// Starts a terminal on `runner` (role `operator`; audited as
    /// `terminal.start`).
    ///
    /// # Errors
    /// As [`HqService::terminals`].
    pub async fn start_terminal(
        &self,
        caller: &Caller,
        peer: Option<String>,
        runner: &str,
        params: TerminalStartParams,
    ) -> Result<HqTerminalView, HqError> {
        let target = format!(
            "{} in {}",
            params.kind.as_deref().unwrap_or("claude"),
            params.cwd.as_deref().unwrap_or("~")
        );
        let result = match HqService::require(caller, Role::Operator) {
            Ok(()) => self
                .terminal_call(runner, TerminalCall::Start { params })
                .await
                .and_then(|v| decode::<TerminalView>(runner, v)),
            Err(e) => Err(e),
        };
        self.record(
            caller,
            peer,
            "terminal.start",
            runner,
            &target,
            outcome(result.as_ref().map(|t| t.id.as_str())),
        )
        .await;
        result.map(|terminal| HqTerminalView {
            runner: runner.to_owned(),
            terminal,
        })
    }

    /// Ends a terminal's process group on `runner` (role `operator`;
    /// audited as `terminal.close`).
    ///
    /// # Errors
    /// As [`HqService::terminals`].
    pub async fn close_terminal(
        &self,
        caller: &Caller,
        peer: Option<String>,
        runner: &str,
        id: &str,
    ) -> Result<HqTerminalView, HqError> {
        let result = match HqService::require(caller, Role::Operator) {
            Ok(()) => self
                .terminal_call(runner, TerminalCall::Close { id: id.to_owned() })
                .await
                .and_then(|v| decode::<TerminalView>(runner, v)),
            Err(e) => Err(e),
        };
        self.record(
            caller,
            peer,
            "terminal.close",
            runner,
            id,
            outcome(result.as_ref().map(|t| t.id.as_str())),
        )
        .await;
        result.map(|terminal| HqTerminalView {
            runner: runner.to_owned(),
            terminal,
        })
    }

    /// The runner's socket streaming terminal `id` from output offset
    /// `from` (role `operator`; audited as `terminal.attach`): a channel the
    /// runner dials back to this HQ, or — its link held by another HQ
    /// process on the same database — a socket to that HQ, which does the
    /// same there.
    ///
    /// # Errors
    /// As [`HqService::terminals`]; [`HqError::Unavailable`] when the
    /// runner does not dial back within [`DIAL_BACK_WITHIN`] or the other
    /// HQ cannot be reached.
    pub async fn attach_terminal(
        &self,
        caller: &Caller,
        peer: Option<String>,
        runner: &str,
        id: &str,
        from: Option<u64>,
    ) -> Result<crate::splice::RunnerSocket, HqError> {
        let result = match HqService::require(caller, Role::Operator) {
            Ok(()) => self.reach_terminal(runner, id, from).await,
            Err(e) => Err(e),
        };
        let target = match from {
            Some(f) => format!("{id} from {f}"),
            None => id.to_owned(),
        };
        self.record(
            caller,
            peer,
            "terminal.attach",
            runner,
            &target,
            outcome(result.as_ref().map(|_| id)),
        )
        .await;
        result
    }

    /// The runner's terminal socket: over a channel it dials back here when
    /// its link is here, else through the HQ process that holds the link.
    async fn reach_terminal(
        &self,
        runner: &str,
        id: &str,
        from: Option<u64>,
    ) -> Result<crate::splice::RunnerSocket, HqError> {
        if self.fleet().online(runner) {
            return self
                .dial_back(runner, id, from)
                .await
                .map(crate::splice::RunnerSocket::Local);
        }
        let holder = if self.backend().shared() {
            self.backend().link_of(runner).await?
        } else {
            None
        };
        match holder.filter(|h| h != self.id()) {
            Some(holder) => self
                .dial_peer(&holder, runner, id, from)
                .await
                .map(crate::splice::RunnerSocket::Peer),
            None => Err(HqError::Unavailable(format!(
                "runner {runner} is offline: it must be linked to attach to its terminals"
            ))),
        }
    }

    /// The runner's socket for terminal `id`, over a channel it dials back
    /// to this HQ (its link must be here).
    ///
    /// # Errors
    /// As [`HqService::attach_terminal`].
    pub(crate) async fn dial_back(
        &self,
        runner: &str,
        id: &str,
        from: Option<u64>,
    ) -> Result<WebSocket, HqError> {
        if !self.fleet().online(runner) {
            return Err(HqError::Unavailable(format!(
                "runner {runner} is not linked to this HQ process"
            )));
        }
        let mut waiting = self.channels().open(runner)?;
        let call = TerminalCall::Attach {
            id: id.to_owned(),
            from,
            channel: waiting.channel.clone(),
        };
        self.terminal_call(runner, call).await?;
        let rx = waiting
            .rx
            .take()
            .ok_or_else(|| HqError::Unavailable("the channel was used already".into()))?;
        match tokio::time::timeout(DIAL_BACK_WITHIN, rx).await {
            Ok(Ok(socket)) => Ok(socket),
            Ok(Err(_)) | Err(_) => Err(HqError::Unavailable(format!(
                "runner {runner} did not dial back for the terminal within {} s (can it reach this HQ's address?)",
                DIAL_BACK_WITHIN.as_secs()
            ))),
        }
    }

    async fn terminal_call(
        &self,
        runner: &str,
        call: TerminalCall,
    ) -> Result<serde_json::Value, HqError> {
        self.ask_runner(
            runner,
            Request::Terminal(call),
            format!("runner {runner} is offline: it must be linked to reach its terminals"),
        )
        .await
    }
}

fn decode<T: serde::de::DeserializeOwned>(
    runner: &str,
    v: serde_json::Value,
) -> Result<T, HqError> {
    serde_json::from_value(v)
        .map_err(|e| HqError::Store(format!("runner {runner} answered oddly: {e}")))
}

fn outcome(r: Result<&str, &HqError>) -> String {
    match r {
        Ok(what) => format!("ok: {what}"),
        Err(e) => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_channel_is_for_its_runner_and_closes_when_dropped() {
        let channels = Arc::new(Channels::default());
        let w = channels.open("a").unwrap();
        assert_eq!(w.channel.len(), 32);
        assert!(channels.expects(&w.channel, "a"));
        assert!(!channels.expects(&w.channel, "b"));
        assert!(!channels.expects("0123", "a"));
        let name = w.channel.clone();
        drop(w);
        assert!(!channels.expects(&name, "a"));
    }

    #[test]
    fn channels_are_bounded() {
        let channels = Arc::new(Channels::default());
        let held: Vec<Waiting> = (0..MAX_PENDING)
            .map(|_| channels.open("a").unwrap())
            .collect();
        assert!(matches!(channels.open("a"), Err(HqError::Unavailable(_))));
        drop(held);
        assert!(channels.open("a").is_ok());
    }
}
