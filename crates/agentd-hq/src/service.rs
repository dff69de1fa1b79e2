//! HQ's operations, one method each, free of transport types: the runner
//! link and the user API are faces over them (as the daemon's faces are
//! over `agentd_daemon::service`).

use std::sync::Arc;

use agentd_core::ApprovalStatus;
use agentd_proto::api::{DecideParams, EventRecord};
use agentd_proto::hq::{
    AuditEntry, DecisionBody, HqApprovalView, HqSessionView, HqStatus, LinkError, RunnerView,
};

use crate::backend::Backend;
use crate::fleet::Fleet;
use crate::fleet::Request;
use crate::store::{Hello, StoreError};
use crate::token::{Principal, Role};

/// What went wrong, for a face to map once.
#[derive(Debug, thiserror::Error)]
pub enum HqError {
    /// No token, or not a live one.
    #[error("{0}")]
    Unauthenticated(String),
    /// A token that may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// Bad input.
    #[error("{0}")]
    Invalid(String),
    /// No such approval (or runner).
    #[error("{0}")]
    NotFound(String),
    /// Somebody decided first.
    #[error("{0}")]
    Conflict(String),
    /// It cannot be decided any more (no hook call waits).
    #[error("{0}")]
    Gone(String),
    /// The runner that holds it is offline or did not answer.
    #[error("{0}")]
    Unavailable(String),
    /// The store failed.
    #[error("{0}")]
    Store(String),
}

/// How long HQ waits for a runner to answer a request.
pub const RUNNER_ANSWER_WITHIN: std::time::Duration = std::time::Duration::from_secs(15);

impl From<StoreError> for HqError {
    fn from(e: StoreError) -> HqError {
        match e {
            StoreError::Invalid(m) => HqError::Invalid(m),
            other => HqError::Store(other.to_string()),
        }
    }
}

/// HQ: its store and its fleet, behind one cheap handle.
#[derive(Clone)]
pub struct HqService {
    backend: Backend,
    fleet: Arc<Fleet>,
    /// This HQ process among those on one database.
    id: Arc<str>,
    decoding: Arc<tokio::sync::Semaphore>,
    channels: Arc<crate::terminals::Channels>,
    /// What HQ processes on one database sign their calls to each other
    /// with (`None` on SQLite: there are no others).
    peer_secret: Option<Arc<str>>,
}

/// Runner messages decoded at once (see [`HqService::decode_permit`]).
const DECODING: usize = 8;

/// Who made a request: the token's id and what it stands for.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The token's id.
    pub token_id: String,
    /// What the token stands for.
    pub principal: Principal,
}

impl HqService {
    /// A service over `backend`; folds every runner's stored events into
    /// its sessions first.
    ///
    /// # Errors
    /// The store.
    pub async fn load(backend: Backend) -> Result<HqService, HqError> {
        let id = crate::token::new_secret("process")
            .map(|s| s.chars().rev().take(16).collect::<String>())
            .map_err(HqError::Store)?;
        let peer_secret = match &backend {
            Backend::Postgres(pg) => {
                let candidate = crate::token::new_secret("peer").map_err(HqError::Store)?;
                Some(pg.peer_secret(&candidate).await?.into())
            }
            Backend::Sqlite(_) => None,
        };
        let hq = HqService {
            backend,
            id: id.into(),
            fleet: Arc::new(Fleet::default()),
            decoding: Arc::new(tokio::sync::Semaphore::new(DECODING)),
            channels: Arc::default(),
            peer_secret,
        };
        hq.sync().await?;
        Ok(hq)
    }

    /// Folds whatever the store holds beyond what this HQ has folded, for
    /// every runner: at start, and with a shared store (several HQs on one
    /// Postgres), for what the other HQs stored.
    ///
    /// # Errors
    /// The store.
    pub async fn sync(&self) -> Result<(), HqError> {
        for runner in self.backend.runners().await? {
            if runner.acked_seq > self.fleet.folded(&runner.name) {
                self.catch_up(&runner.name).await?;
            }
        }
        Ok(())
    }

    /// Folds `runner`'s stored events after what this HQ has folded, in
    /// `seq` order.
    async fn catch_up(&self, runner: &str) -> Result<(), HqError> {
        loop {
            let after = self.fleet.folded(runner);
            let page = self
                .backend
                .events(runner.to_owned(), after, 10_000)
                .await?;
            if page.is_empty() {
                return Ok(());
            }
            self.fleet.fold(runner, &page);
        }
    }

    /// A turn to decode and store one runner message: bounds the batches
    /// held in memory at once, whatever the number of runners.
    pub async fn decode_permit(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        Arc::clone(&self.decoding).acquire_owned().await.ok()
    }

    /// Who `secret` is.
    ///
    /// # Errors
    /// [`HqError::Unauthenticated`] when it is not a live token.
    pub async fn authenticate(&self, secret: Option<String>) -> Result<Caller, HqError> {
        let Some(secret) = secret.filter(|s| !s.is_empty()) else {
            return Err(HqError::Unauthenticated(
                "no token: send `Authorization: Bearer <token>` (from `agentd hq token create`)"
                    .into(),
            ));
        };
        match self.backend.principal(secret).await? {
            Some((token_id, principal)) => Ok(Caller {
                token_id,
                principal,
            }),
            None => Err(HqError::Unauthenticated(
                "unknown or revoked token: ask HQ's admin for a new one (`agentd hq token create`)"
                    .into(),
            )),
        }
    }

    /// The caller a live token's id stands for (a signed-in browser's).
    ///
    /// # Errors
    /// [`HqError::Unauthenticated`] when it is unknown or revoked; the
    /// store.
    pub async fn authenticate_id(&self, token_id: &str) -> Result<Caller, HqError> {
        match self.backend.principal_by_id(token_id.to_owned()).await? {
            Some((token_id, principal)) => Ok(Caller {
                token_id,
                principal,
            }),
            None => Err(HqError::Unauthenticated(
                "this browser's sign-in is for a revoked token: sign in again with a live one"
                    .into(),
            )),
        }
    }

    /// Binds an unbound runner token to the name its first runner gives
    /// (its host name by default).
    ///
    /// # Errors
    /// [`HqError::Invalid`] for a bad name; [`HqError::Conflict`] when a
    /// runner of that name has a token already; the store.
    pub async fn bind_runner(&self, token_id: &str, name: &str) -> Result<(), HqError> {
        crate::token::check_name(name).map_err(HqError::Invalid)?;
        if self
            .backend
            .bind_runner(token_id.to_owned(), name.to_owned())
            .await?
        {
            tracing::info!(
                runner = name,
                token = token_id,
                "a runner token was bound to its runner's name"
            );
            Ok(())
        } else {
            Err(HqError::Conflict(format!(
                "HQ knows a runner named {name:?} already (or this token was bound meanwhile): an unnamed token never takes over a known runner; make this runner a named token, `agentd hq token create --runner OTHER-NAME` (or `--runner {name}` to replace that runner's)"
            )))
        }
    }

    /// Checks that `caller` is a user with at least `role`.
    ///
    /// # Errors
    /// [`HqError::Forbidden`] naming what is needed.
    pub fn require(caller: &Caller, role: Role) -> Result<(), HqError> {
        match &caller.principal {
            Principal::User { role: r, .. } if *r >= role => Ok(()),
            Principal::User { name, role: r } => Err(HqError::Forbidden(format!(
                "user {name} is a {r}; this needs {role} or more"
            ))),
            Principal::Runner(name) => Err(HqError::Forbidden(format!(
                "a runner token (runner {name}) cannot read HQ: use a user token (`agentd hq token create --user NAME --role viewer`)"
            ))),
        }
    }

    /// A runner's link opened: records its hello; returns the newest `seq`
    /// HQ holds for it.
    ///
    /// # Errors
    /// The store; [`HqError::Invalid`] when the runner's log is behind what
    /// HQ holds (its root was replaced).
    pub async fn runner_connected(
        &self,
        runner: &str,
        hello: Hello,
        head_seq: u64,
    ) -> Result<u64, HqError> {
        let name = runner.to_owned();
        let now = now_ms();
        let acked = self.backend.connected(name, hello, now).await?;
        if head_seq < acked {
            return Err(HqError::Invalid(format!(
                "runner {runner}'s log ends at seq {head_seq} but HQ holds up to {acked}: was its root replaced? An admin can forget HQ's copy (`agentd hq forget {runner}`) so it links again from the start"
            )));
        }
        Ok(acked)
    }

    /// Stores a batch of `runner`'s events and folds the new ones; returns
    /// the newest `seq` now held.
    ///
    /// # Errors
    /// The store (nothing stored then).
    pub async fn runner_events(
        &self,
        runner: &str,
        events: Vec<EventRecord>,
    ) -> Result<u64, HqError> {
        let name = runner.to_owned();
        let now = now_ms();
        let (acked, stored) = self.backend.append(name, events, now).await?;
        if self.backend.shared() {
            // Another HQ may have stored some of this runner's events since
            // this one last folded: fold from the store, in order.
            self.catch_up(runner).await?;
        } else {
            self.fleet.fold(runner, &stored);
        }
        Ok(acked)
    }

    /// Notes that `runner` is alive.
    ///
    /// # Errors
    /// The store.
    pub async fn runner_seen(&self, runner: &str) -> Result<(), HqError> {
        let name = runner.to_owned();
        let now = now_ms();
        Ok(self.backend.seen(name, now).await?)
    }

    /// Records (`true`) or clears this HQ's hold of `runner`'s link in the
    /// shared store, so other HQs route to it.
    ///
    /// # Errors
    /// The store.
    pub async fn runner_linked(&self, runner: &str, linked: bool) -> Result<(), HqError> {
        let id = self.id.to_string();
        let hq_id = linked.then_some(id.as_str());
        Ok(self.backend.set_link(runner, hq_id, &id, now_ms()).await?)
    }

    /// The fleet: links, sessions.
    pub fn fleet(&self) -> &Fleet {
        &self.fleet
    }

    /// Every runner.
    ///
    /// # Errors
    /// The store.
    pub async fn runners(&self) -> Result<Vec<RunnerView>, HqError> {
        let mut runners = self.backend.runners().await?;
        for r in &mut runners {
            // Linked here, or (several HQs) to another HQ that keeps it fresh.
            r.online = r.online || self.fleet.online(&r.name);
            r.sessions = self.fleet.session_count(&r.name);
        }
        Ok(runners)
    }

    /// Every session of every runner.
    pub fn sessions(&self) -> Vec<HqSessionView> {
        self.fleet.sessions()
    }

    /// Approvals of every runner (pending ones unless `all`).
    pub fn approvals(&self, all: bool) -> Vec<HqApprovalView> {
        self.fleet.approvals(all)
    }

    /// What users did through HQ, newest first.
    ///
    /// # Errors
    /// The store.
    pub async fn audit_log(&self, limit: usize) -> Result<Vec<AuditEntry>, HqError> {
        Ok(self.backend.audit_log(limit.min(10_000)).await?)
    }

    /// A user's decision on approval `id` (or a unique prefix), carried to
    /// the runner that holds it; the first decision anywhere wins. Audited
    /// whatever the outcome.
    ///
    /// # Errors
    /// Forbidden below `approver`; not found; conflict when decided
    /// already; unavailable when the runner is offline or silent; gone when
    /// no hook call waits any more.
    pub async fn decide(
        &self,
        caller: &Caller,
        peer: Option<String>,
        id: &str,
        body: DecisionBody,
    ) -> Result<HqApprovalView, HqError> {
        let user = match &caller.principal {
            Principal::User { name, .. } => name.clone(),
            Principal::Runner(name) => name.clone(),
        };
        // A refusal is audited too: who tried what matters most then.
        if let Err(e) = HqService::require(caller, Role::Approver) {
            self.record(caller, peer, "approval.decide", "-", id, e.to_string())
                .await;
            return Err(e);
        }
        let (runner, approval) = self.fleet.find_approval(id).map_err(|e| match e {
            crate::fleet::FindError::None => HqError::NotFound(format!(
                "no approval id starts with {id:?} on any runner: see `agentd approvals --hq URL`"
            )),
            crate::fleet::FindError::Many(n) => HqError::Invalid(format!(
                "{n} approvals' ids start with {id:?}: give more of the id"
            )),
        })?;
        let result = self.decide_on(&runner, &user, approval, body).await;
        let outcome = match &result {
            Ok(a) => format!("ok: {}", a.approval.approval.status.as_str()),
            Err(e) => e.to_string(),
        };
        self.record(caller, peer, "approval.decide", &runner, id, outcome)
            .await;
        result
    }

    async fn decide_on(
        &self,
        runner: &str,
        user: &str,
        approval: agentd_core::Approval,
        body: DecisionBody,
    ) -> Result<HqApprovalView, HqError> {
        if approval.status != ApprovalStatus::Pending {
            return Err(HqError::Conflict(format!(
                "approval {} is already {} (by {})",
                approval.id,
                approval.status.as_str(),
                approval.decided_by.as_deref().unwrap_or("agentd")
            )));
        }
        let params = DecideParams {
            id: approval.id.clone(),
            decision: body.decision,
            apply_suggestions: body.apply_suggestions,
            by: Some(format!("hq:{user}")),
            reason: body.reason,
        };
        let offline = format!(
            "runner {runner}, which holds approval {}, is offline: decide it there, or when it links again",
            approval.id
        );
        let value = self
            .ask_runner(runner, Request::Decide(params), offline)
            .await?;
        let view = serde_json::from_value(value)
            .map_err(|e| HqError::Store(format!("runner {runner} answered oddly: {e}")))?;
        Ok(HqApprovalView {
            runner: runner.to_owned(),
            approval: view,
        })
    }

    /// Starts Claude Code on `runner` (role `operator`; its slots apply).
    /// Audited.
    ///
    /// # Errors
    /// Forbidden below `operator`; unavailable when the runner is offline;
    /// the runner's own refusal (no slot, no `claude`, a bad `cwd`).
    pub async fn launch(
        &self,
        caller: &Caller,
        peer: Option<String>,
        runner: &str,
        params: agentd_proto::api::LaunchParams,
    ) -> Result<agentd_proto::hq::HqLaunched, HqError> {
        let offline = format!("runner {runner} is offline: it must be linked to launch there");
        let target = params.cwd.clone().unwrap_or_default();
        let asked = match HqService::require(caller, Role::Operator) {
            Ok(()) => {
                self.ask_runner(runner, Request::Launch(params), offline)
                    .await
            }
            Err(e) => Err(e),
        };
        let result = match asked {
            Ok(v) => serde_json::from_value(v)
                .map(|launched| agentd_proto::hq::HqLaunched {
                    runner: runner.to_owned(),
                    launched,
                })
                .map_err(|e| HqError::Store(format!("runner {runner} answered oddly: {e}"))),
            Err(e) => Err(e),
        };
        self.record(
            caller,
            peer,
            "session.launch",
            runner,
            &target,
            match &result {
                Ok(l) => format!("ok: {}", l.launched.session_id),
                Err(e) => e.to_string(),
            },
        )
        .await;
        result
    }

    /// Forgets `runner`'s log and sessions at HQ (role `admin`), so that a
    /// runner whose root was replaced can link again from seq 1. Refused
    /// while it is linked. Audited.
    ///
    /// # Errors
    /// Forbidden below `admin`; conflict while linked; not found.
    pub async fn forget(
        &self,
        caller: &Caller,
        peer: Option<String>,
        runner: &str,
    ) -> Result<u64, HqError> {
        let result = self.forget_unaudited(caller, runner).await;
        let outcome = match &result {
            Ok(n) => format!("ok: {n} events"),
            Err(e) => e.to_string(),
        };
        self.record(caller, peer, "runner.forget", runner, runner, outcome)
            .await;
        result
    }

    async fn forget_unaudited(&self, caller: &Caller, runner: &str) -> Result<u64, HqError> {
        HqService::require(caller, Role::Admin)?;
        let linked_elsewhere =
            self.backend.shared() && self.backend.link_of(runner).await?.is_some();
        if self.fleet.online(runner) || linked_elsewhere {
            return Err(HqError::Conflict(format!(
                "runner {runner} is linked: stop it (or revoke its token) before forgetting it"
            )));
        }
        if !self
            .backend
            .runners()
            .await?
            .iter()
            .any(|r| r.name == runner)
        {
            return Err(HqError::NotFound(format!(
                "HQ knows no runner {runner:?}: see `agentd hq runners`"
            )));
        }
        let n = self.backend.forget(runner.to_owned()).await?;
        self.fleet.forget_runner(runner);
        Ok(n)
    }

    /// The secret other HQ processes on this database sign calls with.
    pub(crate) fn peer_secret(&self) -> Option<&str> {
        self.peer_secret.as_deref()
    }

    /// Terminal channels waiting for their runner to dial in.
    pub fn channels(&self) -> &Arc<crate::terminals::Channels> {
        &self.channels
    }

    /// Writes an audit entry (a failure to is logged, never fatal).
    pub(crate) async fn record(
        &self,
        caller: &Caller,
        peer: Option<String>,
        action: &str,
        runner: &str,
        target: &str,
        outcome: String,
    ) {
        let user = match &caller.principal {
            Principal::User { name, .. } | Principal::Runner(name) => name.clone(),
        };
        let entry = AuditEntry {
            ts_ms: now_ms(),
            user,
            token_id: caller.token_id.clone(),
            peer,
            action: action.to_owned(),
            runner: runner.to_owned(),
            target: target.to_owned(),
            outcome,
        };
        if let Err(e) = self.backend.audit(entry).await {
            tracing::error!(error = %e, "could not record an audit entry");
        }
    }

    /// Sends `what` to `runner` — over its link here, or (several HQs on
    /// one Postgres) through the HQ that holds it — and waits for the
    /// answer, within [`RUNNER_ANSWER_WITHIN`].
    pub(crate) async fn ask_runner(
        &self,
        runner: &str,
        what: Request,
        offline: String,
    ) -> Result<serde_json::Value, HqError> {
        let (request, answer) = match self.fleet.send_request(runner, what.clone()) {
            Some(sent) => sent,
            None => {
                let holder = if self.backend.shared() {
                    self.backend.link_of(runner).await?
                } else {
                    None
                };
                // None, or this HQ (its link here just ended).
                let Some(holder) = holder.filter(|h| **h != *self.id) else {
                    return Err(HqError::Unavailable(offline));
                };
                let (request, answer) = self.fleet.wait_for();
                let note = crate::route::Note::Ask {
                    to: holder,
                    from: self.id.to_string(),
                    request,
                    runner: runner.to_owned(),
                    what: Box::new(what),
                };
                if let Err(e) = self.backend.notify(&note.encode()).await {
                    self.fleet.forget(request);
                    return Err(HqError::Unavailable(format!(
                        "could not reach the HQ that holds runner {runner}'s link: {e}"
                    )));
                }
                (request, answer)
            }
        };
        let answer = match tokio::time::timeout(RUNNER_ANSWER_WITHIN, answer).await {
            Ok(Ok(a)) => a,
            Ok(Err(_)) | Err(_) => {
                self.fleet.forget(request);
                return Err(HqError::Unavailable(format!(
                    "runner {runner} did not answer within {} s; try again",
                    RUNNER_ANSWER_WITHIN.as_secs()
                )));
            }
        };
        answer.map_err(|LinkError { code, message }| match code.as_str() {
            "not_found" => HqError::NotFound(message),
            "conflict" => HqError::Conflict(message),
            "gone" => HqError::Gone(message),
            "invalid" | "ambiguous" => HqError::Invalid(message),
            _ => HqError::Unavailable(format!("runner {runner}: {message}")),
        })
    }

    /// This HQ process's id (among several on one database).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// HQ's status.
    ///
    /// # Errors
    /// The store.
    pub async fn status(&self) -> Result<HqStatus, HqError> {
        let runners = self.runners().await?;
        Ok(HqStatus {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            online: runners.iter().filter(|r| r.online).count(),
            sessions: runners.iter().map(|r| r.sessions).sum(),
            events: runners.iter().map(|r| r.events).sum(),
            runners: runners.len(),
        })
    }

    /// Ends the links of tokens revoked since the last look (another
    /// process revoked them in `hq.db`); returns how many were cut.
    ///
    /// # Errors
    /// The store.
    pub async fn cut_revoked(&self) -> Result<usize, HqError> {
        let revoked = self.backend.revoked().await?;
        Ok(self.fleet.cut(&revoked))
    }

    /// See [`Backend::change_marker`].
    ///
    /// # Errors
    /// The store.
    pub async fn change_marker(&self) -> Result<Option<i64>, HqError> {
        Ok(self.backend.change_marker().await?)
    }

    /// The store.
    pub fn backend(&self) -> &Backend {
        &self.backend
    }
}

/// Now, ms since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
