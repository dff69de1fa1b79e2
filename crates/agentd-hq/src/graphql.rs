//! HQ's GraphQL face: `POST /hq/graphql` with a user token, every
//! runner's data in one schema. Each resolver is one [`HqService`] call;
//! [`gql`] maps [`HqError`] to a GraphQL error with a stable
//! `extensions.code` in one place. Sessions and approvals reuse the
//! daemon's own GraphQL types, so a client reads a runner's session at HQ
//! exactly as it reads it on the runner.

use async_graphql::{Context, ErrorExtensions, Object, Schema, SimpleObject, Subscription};
use futures_util::Stream;

use agentd_daemon::graphql::DecisionInput;
use agentd_daemon::graphql::types::{Approval, Event, Launched, Session};
use agentd_proto::api::LaunchParams;
use agentd_proto::hq::DecisionBody;

use crate::service::{Caller, HqError, HqService};
use crate::token::Role;

/// HQ's schema.
pub type HqSchema = Schema<HqQuery, HqMutation, HqSubscription>;

/// The schema over `hq`; each request carries its [`Caller`] and the
/// peer's address as data.
pub fn schema(hq: HqService) -> HqSchema {
    Schema::build(HqQuery, HqMutation, HqSubscription)
        .data(hq)
        .limit_depth(agentd_daemon::graphql::MAX_DEPTH)
        .limit_complexity(agentd_daemon::graphql::MAX_COMPLEXITY)
        .finish()
}

/// The schema's SDL (committed as `crates/agentd-hq/schema.graphql`).
pub fn sdl() -> String {
    Schema::build(HqQuery, HqMutation, HqSubscription)
        .finish()
        .sdl()
}

/// The peer's address, as request data.
pub struct Peer(pub Option<String>);

/// The one mapping of [`HqError`] to a GraphQL error.
pub fn gql(e: HqError) -> async_graphql::Error {
    let code = match &e {
        HqError::Unauthenticated(_) => "UNAUTHENTICATED",
        HqError::Forbidden(_) => "FORBIDDEN",
        HqError::Invalid(_) => "INVALID",
        HqError::NotFound(_) => "NOT_FOUND",
        HqError::Conflict(_) => "CONFLICT",
        HqError::Gone(_) => "GONE",
        HqError::Unavailable(_) => "UNAVAILABLE",
        HqError::Store(_) => "STORE",
    };
    async_graphql::Error::new(e.to_string()).extend_with(|_, ext| ext.set("code", code))
}

fn parts<'a>(ctx: &Context<'a>, role: Role) -> async_graphql::Result<(&'a HqService, &'a Caller)> {
    let hq = ctx.data::<HqService>()?;
    let caller = ctx.data::<Caller>()?;
    HqService::require(caller, role).map_err(gql)?;
    Ok((hq, caller))
}

fn peer(ctx: &Context<'_>) -> Option<String> {
    ctx.data::<Peer>().ok().and_then(|p| p.0.clone())
}

/// HQ's counts.
#[derive(SimpleObject)]
pub struct HqStatus {
    /// agentd's version at HQ.
    pub version: String,
    /// Runners known.
    pub runners: u64,
    /// Runners with a link up.
    pub online: u64,
    /// Sessions known, all runners.
    pub sessions: u64,
    /// Events held, all runners.
    pub events: u64,
}

/// A runner.
#[derive(SimpleObject)]
pub struct Runner {
    /// Its name.
    pub name: String,
    /// Whether a link is up (here or at another HQ on the same database).
    pub online: bool,
    /// agentd's version on it.
    pub version: Option<String>,
    /// Its OS.
    pub os: Option<String>,
    /// Its labels.
    pub labels: Vec<String>,
    /// Its address as HQ saw it.
    pub peer: Option<String>,
    /// When it last connected, ms since the Unix epoch.
    pub connected_ms: Option<i64>,
    /// When HQ last heard from it, ms since the Unix epoch.
    pub last_seen_ms: Option<i64>,
    /// Newest seq of its log HQ holds.
    pub acked_seq: u64,
    /// Events of its log HQ holds.
    pub events: u64,
    /// Its sessions.
    pub sessions: u64,
}

/// A session and the runner it is on.
#[derive(SimpleObject)]
pub struct RunnerSession {
    /// The runner.
    pub runner: String,
    /// The session, as the runner's GraphQL shows it.
    pub session: Session,
}

/// An approval and the runner that holds it.
#[derive(SimpleObject)]
pub struct RunnerApproval {
    /// The runner.
    pub runner: String,
    /// The approval.
    pub approval: Approval,
}

/// A terminal and the runner it runs on (its bytes stream over
/// `/hq/v1/runners/{runner}/terminals/{id}/attach`, not GraphQL).
#[derive(SimpleObject)]
pub struct RunnerTerminal {
    /// The runner.
    pub runner: String,
    /// The terminal, as the runner's GraphQL shows it.
    pub terminal: agentd_daemon::graphql::terminals::Terminal,
}

impl From<agentd_proto::hq::HqTerminalView> for RunnerTerminal {
    fn from(t: agentd_proto::hq::HqTerminalView) -> RunnerTerminal {
        RunnerTerminal {
            runner: t.runner,
            terminal: t.terminal.into(),
        }
    }
}

/// Every runner's usage, added up by period.
#[derive(SimpleObject)]
pub struct FleetUsage {
    /// The runners' rows added up by period.
    pub rows: Vec<agentd_daemon::graphql::types::UsageRow>,
    /// Every reached runner's totals added up.
    pub totals: agentd_daemon::graphql::types::UsageRow,
    /// The time zone days were cut in.
    pub timezone: String,
    /// Each runner: its totals, or why it is not counted.
    pub runners: Vec<RunnerUsage>,
}

/// One runner's part of [`FleetUsage`].
#[derive(SimpleObject)]
pub struct RunnerUsage {
    /// The runner.
    pub runner: String,
    /// Its totals (null when it could not be asked).
    pub totals: Option<agentd_daemon::graphql::types::UsageRow>,
    /// Why it is not counted.
    pub error: Option<String>,
}

impl From<agentd_proto::hq::HqUsage> for FleetUsage {
    fn from(u: agentd_proto::hq::HqUsage) -> FleetUsage {
        FleetUsage {
            rows: u.rows.into_iter().map(Into::into).collect(),
            totals: u.totals.into(),
            timezone: u.timezone,
            runners: u
                .runners
                .into_iter()
                .map(|r| RunnerUsage {
                    runner: r.runner,
                    totals: r.totals.map(Into::into),
                    error: r.error,
                })
                .collect(),
        }
    }
}

/// What steering a runner's session answered.
#[derive(SimpleObject)]
pub struct RunnerSteered {
    /// The runner.
    pub runner: String,
    /// The runner's answer (`Launched`, `Interrupted` or `Killed`).
    pub result: agentd_daemon::graphql::json::Json,
}

/// What to do to a launched session.
#[derive(async_graphql::Enum, Clone, Copy, PartialEq, Eq)]
pub enum SteerAction {
    /// Send a message (`message` required).
    Send,
    /// Interrupt its turn.
    Interrupt,
    /// End it.
    Kill,
}

/// A session started on a runner.
#[derive(SimpleObject)]
pub struct RunnerLaunched {
    /// The runner.
    pub runner: String,
    /// What it started.
    pub launched: Launched,
}

/// One thing a user did through HQ.
#[derive(SimpleObject)]
pub struct AuditEntry {
    /// When, ms since the Unix epoch.
    pub ts_ms: i64,
    /// The user.
    pub user: String,
    /// From where.
    pub peer: Option<String>,
    /// What (`approval.decide`, `session.launch`).
    pub action: String,
    /// On which runner.
    pub runner: String,
    /// On what.
    pub target: String,
    /// `ok: …`, or the error.
    pub outcome: String,
}

/// HQ's queries (role `viewer`).
pub struct HqQuery;

#[Object(name = "Query")]
impl HqQuery {
    /// Counts.
    async fn status(&self, ctx: &Context<'_>) -> async_graphql::Result<HqStatus> {
        let (hq, _) = parts(ctx, Role::Viewer)?;
        let s = hq.status().await.map_err(gql)?;
        Ok(HqStatus {
            version: s.version,
            runners: s.runners as u64,
            online: s.online as u64,
            sessions: s.sessions as u64,
            events: s.events,
        })
    }

    /// Every runner, online or not.
    async fn runners(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Runner>> {
        let (hq, _) = parts(ctx, Role::Viewer)?;
        Ok(hq
            .runners()
            .await
            .map_err(gql)?
            .into_iter()
            .map(|r| Runner {
                name: r.name,
                online: r.online,
                version: r.version,
                os: r.os,
                labels: r.labels,
                peer: r.peer,
                connected_ms: r.connected_ms,
                last_seen_ms: r.last_seen_ms,
                acked_seq: r.acked_seq,
                events: r.events,
                sessions: r.sessions as u64,
            })
            .collect())
    }

    /// Every session of every runner: live ones first, then newest.
    async fn sessions(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only these statuses (`needs_approval`, `ended`, …).")] status: Option<
            Vec<String>,
        >,
        #[graphql(desc = "Only this runner's.")] runner: Option<String>,
    ) -> async_graphql::Result<Vec<RunnerSession>> {
        let (hq, _) = parts(ctx, Role::Viewer)?;
        Ok(hq
            .sessions()
            .into_iter()
            .filter(|s| runner.as_ref().is_none_or(|r| *r == s.runner))
            .filter(|s| {
                status
                    .as_ref()
                    .is_none_or(|w| w.iter().any(|x| x == s.session.session.status.as_str()))
            })
            .map(|s| RunnerSession {
                runner: s.runner,
                session: s.session.into(),
            })
            .collect())
    }

    /// Approvals of every runner: pending ones unless `all`.
    async fn approvals(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = false)] all: bool,
    ) -> async_graphql::Result<Vec<RunnerApproval>> {
        let (hq, _) = parts(ctx, Role::Viewer)?;
        Ok(hq
            .approvals(all)
            .into_iter()
            .map(|a| RunnerApproval {
                runner: a.runner,
                approval: a.approval.into(),
            })
            .collect())
    }

    /// What users did through HQ, newest first.
    /// Every linked runner's token usage and cost, added up by period
    /// (role `viewer`); each runner listed with its totals or why it is not
    /// counted.
    async fn usage(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "agentd_daemon::graphql::Grouping::Daily")]
        group_by: agentd_daemon::graphql::Grouping,
        #[graphql(desc = "First local day included, YYYY-MM-DD.")] since: Option<String>,
        #[graphql(desc = "Last local day included, YYYY-MM-DD.")] until: Option<String>,
        #[graphql(desc = "IANA time zone days are cut in (default: each runner's).")]
        timezone: Option<String>,
    ) -> async_graphql::Result<FleetUsage> {
        let hq = ctx.data::<HqService>()?;
        let caller = ctx.data::<Caller>()?;
        let q = agentd_proto::history::UsageQuery {
            group_by: group_by.into(),
            since,
            until,
            timezone,
            session_id: None,
        };
        Ok(hq.usage(caller, q).await.map_err(gql)?.into())
    }

    /// A runner's terminals (role `viewer`; the runner must be linked).
    async fn terminals(
        &self,
        ctx: &Context<'_>,
        runner: String,
    ) -> async_graphql::Result<Vec<RunnerTerminal>> {
        let hq = ctx.data::<HqService>()?;
        let caller = ctx.data::<Caller>()?;
        Ok(hq
            .terminals(caller, &runner)
            .await
            .map_err(gql)?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    async fn audit(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 100)] limit: u64,
    ) -> async_graphql::Result<Vec<AuditEntry>> {
        let (hq, _) = parts(ctx, Role::Viewer)?;
        Ok(hq
            .audit_log(limit.min(10_000) as usize)
            .await
            .map_err(gql)?
            .into_iter()
            .map(|e| AuditEntry {
                ts_ms: e.ts_ms,
                user: e.user,
                peer: e.peer,
                action: e.action,
                runner: e.runner,
                target: e.target,
                outcome: e.outcome,
            })
            .collect())
    }
}

/// An event of a runner's log.
pub struct RunnerEvent(std::sync::Arc<crate::fleet::FannedEvent>);

#[Object]
impl RunnerEvent {
    /// The runner.
    async fn runner(&self) -> &str {
        &self.0.runner
    }
    /// The event, as the runner's own GraphQL shows it.
    async fn event(&self) -> Event {
        Event(std::sync::Arc::clone(&self.0.record))
    }
}

/// HQ's subscriptions (role `viewer`), over the WebSocket at
/// `GET /hq/graphql`.
pub struct HqSubscription;

#[Subscription(name = "Subscription")]
impl HqSubscription {
    /// Every runner's events as HQ stores them, live from now on, each
    /// runner's in `seq` order, none twice. A subscriber that falls behind
    /// the live feed is caught up from HQ's store, never cut off.
    async fn events(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only this runner's.")] runner: Option<String>,
        #[graphql(desc = "Only these kinds (`tool.started`, …).")] kinds: Option<Vec<String>>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<RunnerEvent>> + use<>> {
        let (hq, _) = parts(ctx, Role::Viewer)?;
        let feed = crate::feed::EventFeed::new(hq.clone(), runner, kinds);
        Ok(futures_util::stream::unfold(feed, |mut feed| async move {
            feed.next()
                .await
                .map(|item| (item.map(RunnerEvent).map_err(gql), feed))
        }))
    }
}

/// HQ's mutations.
pub struct HqMutation;

#[Object(name = "Mutation")]
impl HqMutation {
    /// Decides a pending approval on whichever runner holds it (role
    /// `approver`); the first decision anywhere wins.
    async fn decide(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Approval id or a unique prefix.")] id: String,
        decision: DecisionInput,
        #[graphql(desc = "Why, for the record.")] reason: Option<String>,
    ) -> async_graphql::Result<RunnerApproval> {
        let hq = ctx.data::<HqService>()?;
        let caller = ctx.data::<Caller>()?;
        let (decision, apply_suggestions) = decision
            .into_decision()
            .map_err(|e| gql(HqError::Invalid(e.message().to_owned())))?;
        let body = DecisionBody {
            decision,
            apply_suggestions,
            reason,
        };
        let a = hq.decide(caller, peer(ctx), &id, body).await.map_err(gql)?;
        Ok(RunnerApproval {
            runner: a.runner,
            approval: a.approval.into(),
        })
    }

    /// Forgets a runner's log and sessions at HQ (role `admin`; the runner
    /// must be offline), so a runner whose root was replaced links again
    /// from the start. Returns how many events were forgotten.
    async fn forget_runner(&self, ctx: &Context<'_>, runner: String) -> async_graphql::Result<u64> {
        let hq = ctx.data::<HqService>()?;
        let caller = ctx.data::<Caller>()?;
        hq.forget(caller, peer(ctx), &runner).await.map_err(gql)
    }

    /// Sends to, interrupts or ends a runner's launched session (role
    /// `operator`; audited). `session` is an id or a unique prefix across
    /// every runner.
    async fn steer(
        &self,
        ctx: &Context<'_>,
        session: String,
        action: SteerAction,
        message: Option<String>,
    ) -> async_graphql::Result<RunnerSteered> {
        let hq = ctx.data::<HqService>()?;
        let caller = ctx.data::<Caller>()?;
        let what = match (action, message) {
            (SteerAction::Send, Some(m)) if !m.is_empty() => crate::steer::Steer::Send(m),
            (SteerAction::Send, _) => {
                return Err(gql(HqError::Invalid("SEND needs a `message`".into())));
            }
            (SteerAction::Interrupt, _) => crate::steer::Steer::Interrupt,
            (SteerAction::Kill, _) => crate::steer::Steer::Kill,
        };
        let s = hq
            .steer(caller, peer(ctx), &session, what)
            .await
            .map_err(gql)?;
        Ok(RunnerSteered {
            runner: s.runner,
            result: agentd_daemon::graphql::json::Json(s.result),
        })
    }

    /// Starts `claude` (default) or `shell` in a PTY on a runner (role
    /// `operator`; audited).
    async fn start_terminal(
        &self,
        ctx: &Context<'_>,
        runner: String,
        kind: Option<String>,
        #[graphql(desc = "Working directory on the runner (absolute).")] cwd: Option<String>,
        cols: Option<u16>,
        rows: Option<u16>,
    ) -> async_graphql::Result<RunnerTerminal> {
        let hq = ctx.data::<HqService>()?;
        let caller = ctx.data::<Caller>()?;
        let params = agentd_proto::api::TerminalStartParams {
            kind,
            cwd,
            cols,
            rows,
        };
        Ok(hq
            .start_terminal(caller, peer(ctx), &runner, params)
            .await
            .map_err(gql)?
            .into())
    }

    /// Ends a runner's terminal's process group (role `operator`;
    /// audited).
    async fn close_terminal(
        &self,
        ctx: &Context<'_>,
        runner: String,
        id: String,
    ) -> async_graphql::Result<RunnerTerminal> {
        let hq = ctx.data::<HqService>()?;
        let caller = ctx.data::<Caller>()?;
        Ok(hq
            .close_terminal(caller, peer(ctx), &runner, &id)
            .await
            .map_err(gql)?
            .into())
    }

    /// Starts Claude Code on `runner` (role `operator`).
    #[allow(clippy::too_many_arguments)]
    async fn launch(
        &self,
        ctx: &Context<'_>,
        runner: String,
        prompt: String,
        #[graphql(desc = "Working directory on the runner.")] cwd: Option<String>,
        model: Option<String>,
        permission_mode: Option<String>,
        name: Option<String>,
    ) -> async_graphql::Result<RunnerLaunched> {
        let hq = ctx.data::<HqService>()?;
        let caller = ctx.data::<Caller>()?;
        let params = LaunchParams {
            cwd,
            model,
            permission_mode,
            name,
            prompt,
        };
        let l = hq
            .launch(caller, peer(ctx), &runner, params)
            .await
            .map_err(gql)?;
        Ok(RunnerLaunched {
            runner: l.runner,
            launched: l.launched.into(),
        })
    }
}

#[cfg(test)]
mod tests {
    /// The committed SDL is the schema's; `AGENTD_UPDATE_SCHEMA=1` rewrites it.
    #[test]
    fn the_committed_sdl_is_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema.graphql");
        let sdl = super::sdl();
        if std::env::var_os("AGENTD_UPDATE_SCHEMA").is_some() {
            std::fs::write(&path, &sdl).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == sdl,
            "crates/agentd-hq/schema.graphql is out of date: AGENTD_UPDATE_SCHEMA=1 cargo test -p agentd-hq graphql"
        );
    }
}
