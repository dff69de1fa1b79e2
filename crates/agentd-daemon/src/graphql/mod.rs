//! The GraphQL face: `POST /graphql` on the daemon's HTTP port, behind the
//! bearer token and the Host/Origin checks of every HTTP route. Each field
//! resolver decodes its arguments, makes one [`Service`] call and converts
//! the answer ([`types`]); [`error`] is the one place a [`ServiceError`]
//! becomes a GraphQL error (with a stable `extensions.code`).
//!
//! The schema's SDL is committed (`crates/agentd-daemon/schema.graphql`); a
//! test fails when the code and the file differ
//! (`AGENTD_UPDATE_SCHEMA=1 cargo test -p agentd-daemon graphql` rewrites it).
//! Queries are limited in depth ([`MAX_DEPTH`]) and complexity
//! ([`MAX_COMPLEXITY`]).
//!
mod error;
pub mod hooks;
pub mod json;
pub mod plugins;
pub mod terminals;
pub mod types;

use async_graphql::{
    Context, Enum, InputObject, MergedObject, MergedSubscription, Object, Schema, Subscription,
};
use futures_util::{Stream, StreamExt};

use agentd_core::Decision;
use agentd_proto::api::{
    ApprovalsListParams, DecideParams, EventsListParams, LaunchParams, SendParams,
    SessionsListParams, SubscribeParams, TranscriptParams,
};
use agentd_proto::history::{GroupBy, SearchQuery, UsageQuery};

use crate::service::{Service, ServiceError, SessionsListed};
pub use error::code_of;
use error::gql;
use json::Json;
use types::*;

/// Deepest query accepted.
pub const MAX_DEPTH: usize = 10;
/// Most complex query accepted (each field counts 1).
pub const MAX_COMPLEXITY: usize = 2_000;

/// agentd's GraphQL schema.
pub type AgentdSchema = Schema<Query, Mutation, SubscriptionRoot>;

/// Queries: the core's, the hook runner's, the terminals' and the plugins'.
#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct Query(
    CoreQuery,
    hooks::HookQuery,
    terminals::TerminalQuery,
    plugins::PluginQuery,
);

/// Mutations: the core's, the hook runner's, the terminals' and the plugins'.
#[derive(MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct Mutation(
    CoreMutation,
    hooks::HookMutation,
    terminals::TerminalMutation,
    plugins::PluginMutation,
);

/// Subscriptions (over WebSocket: `graphql-transport-ws` or the legacy
/// `graphql-ws`, on `GET /graphql`).
#[derive(MergedSubscription, Default)]
#[graphql(name = "Subscription")]
pub struct SubscriptionRoot(CoreSubscription, hooks::HookSubscription);

/// The schema over `service`.
pub fn schema(service: Service) -> AgentdSchema {
    Schema::build(
        Query::default(),
        Mutation::default(),
        SubscriptionRoot::default(),
    )
    .data(service)
    .limit_depth(MAX_DEPTH)
    .limit_complexity(MAX_COMPLEXITY)
    .finish()
}

fn service<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a Service> {
    ctx.data::<Service>()
}

/// The core's queries.
#[derive(Default)]
pub struct CoreQuery;

#[Object]
impl CoreQuery {
    /// The daemon's health.
    async fn health(&self, ctx: &Context<'_>) -> async_graphql::Result<Health> {
        Ok(service(ctx)?.health().into())
    }

    /// Every live session's process figures (CPU %, RSS bytes), as last
    /// sampled (every 2 s).
    async fn processes(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<SessionProcess>> {
        Ok(service(ctx)?
            .processes()
            .into_iter()
            .map(SessionProcess::from)
            .collect())
    }

    /// Sessions, those that need the user first: live ones and (with
    /// `history`, default true) past ones from the transcript index, a page
    /// at a time from `offset`.
    // A resolver's arguments are the query's: one per filter.
    #[allow(clippy::too_many_arguments)]
    async fn sessions(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only these statuses (`needs_approval`, `ended`, …).")] status: Option<
            Vec<String>,
        >,
        #[graphql(desc = "Only sessions whose project or cwd contains this.")] project: Option<
            String,
        >,
        #[graphql(desc = "Include sessions known only from transcripts (default true).")]
        history: Option<bool>,
        #[graphql(desc = "Where the page starts (a previous page's `nextOffset`).")] offset: Option<
            u64,
        >,
        #[graphql(desc = "At most this many.")] limit: Option<u64>,
        #[graphql(desc = "Only this agent's sessions (`claude`, `codex`, `gemini`).")]
        agent: Option<String>,
    ) -> async_graphql::Result<SessionPage> {
        let p = SessionsListParams {
            status,
            project,
            agent,
            history,
            offset: offset.map(|o| o as usize),
            limit: limit.map(|l| l as usize),
            paged: true,
        };
        match service(ctx)?.sessions(p).await.map_err(gql)? {
            SessionsListed::Page(page) => Ok(SessionPage {
                nodes: page.sessions.into_iter().map(Session::from).collect(),
                next_offset: page.next_offset.map(|o| o as u64),
            }),
            SessionsListed::All(all) => Ok(SessionPage {
                nodes: all.into_iter().map(Session::from).collect(),
                next_offset: None,
            }),
        }
    }

    /// One session, by id or unique prefix.
    async fn session(&self, ctx: &Context<'_>, id: String) -> async_graphql::Result<Session> {
        Ok(service(ctx)?.session(&id).map_err(gql)?.into())
    }

    /// A page of the event log after `afterSeq` (optionally one session's
    /// events, or some kinds), in seq order.
    async fn events(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 0)] after_seq: u64,
        session_id: Option<String>,
        kinds: Option<Vec<String>>,
        #[graphql(desc = "At most this many (default 1000, at most 10 000).")] limit: Option<u64>,
    ) -> async_graphql::Result<EventPage> {
        let page = service(ctx)?
            .events(EventsListParams {
                after_seq,
                session_id,
                kinds,
                limit: limit.map(|l| l as usize),
            })
            .await
            .map_err(gql)?;
        Ok(EventPage {
            events: page.events.into_iter().map(Event::from).collect(),
            head_seq: page.head_seq,
        })
    }

    /// Approvals: pending ones, or all with `all`.
    async fn approvals(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = false)] all: bool,
        session_id: Option<String>,
        limit: Option<u64>,
    ) -> async_graphql::Result<Vec<Approval>> {
        let list = service(ctx)?
            .approvals(ApprovalsListParams {
                all,
                session_id,
                limit: limit.map(|l| l as usize),
            })
            .await
            .map_err(gql)?;
        Ok(list.into_iter().map(Approval::from).collect())
    }

    /// One approval, by id or unique prefix.
    async fn approval(&self, ctx: &Context<'_>, id: String) -> async_graphql::Result<Approval> {
        let a = service(ctx)?.approval(&id).await.map_err(gql)?;
        Ok(agentd_proto::api::ApprovalView::new(a).into())
    }

    /// Full-text search over every transcript, best first; pages by
    /// `offset` (at most 500 hits a page).
    // Each argument is one GraphQL argument of the field.
    #[allow(clippy::too_many_arguments)]
    async fn search(
        &self,
        ctx: &Context<'_>,
        query: String,
        project: Option<String>,
        session_id: Option<String>,
        #[graphql(desc = "Only messages at or after this time, ms since the Unix epoch.")]
        since_ms: Option<i64>,
        #[graphql(desc = "Only messages before this time, ms since the Unix epoch.")]
        until_ms: Option<i64>,
        limit: Option<u64>,
        offset: Option<u64>,
    ) -> async_graphql::Result<Vec<Hit>> {
        let hits = service(ctx)?
            .search(SearchQuery {
                query,
                project,
                session_id,
                since_ms,
                until_ms,
                limit: limit.map(|l| l as usize),
                offset: offset.map(|o| o as usize),
            })
            .await
            .map_err(gql)?;
        Ok(hits.into_iter().map(Hit::from).collect())
    }

    /// A page of a session's transcript.
    async fn transcript(
        &self,
        ctx: &Context<'_>,
        id: String,
        #[graphql(default = 0)] offset: u64,
        limit: Option<u64>,
    ) -> async_graphql::Result<TranscriptPage> {
        let page = service(ctx)?
            .transcript(TranscriptParams {
                id,
                offset,
                limit: limit.map(|l| l as usize),
            })
            .await
            .map_err(gql)?;
        Ok(page.into())
    }

    /// Tokens and cost, grouped, a page of rows from `offset`.
    // One argument per GraphQL argument.
    #[allow(clippy::too_many_arguments)]
    async fn usage(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "Grouping::Daily")] group_by: Grouping,
        #[graphql(desc = "First local day included, YYYY-MM-DD.")] since: Option<String>,
        #[graphql(desc = "Last local day included, YYYY-MM-DD.")] until: Option<String>,
        #[graphql(desc = "IANA time zone days are cut in (default: the daemon's).")]
        timezone: Option<String>,
        #[graphql(desc = "Only this session's usage (its full id).")] session_id: Option<String>,
        #[graphql(default = 0)] offset: u64,
    ) -> async_graphql::Result<UsagePage> {
        let q = UsageQuery {
            group_by: group_by.into(),
            since,
            until,
            timezone,
            session_id,
        };
        let page = service(ctx)?.usage(q, offset as usize).await.map_err(gql)?;
        Ok(page.into())
    }

    /// The transcript index: progress, counts, skipped files.
    async fn index_status(&self, ctx: &Context<'_>) -> async_graphql::Result<Json> {
        let status = service(ctx)?.index_status(true).await;
        Ok(Json(serde_json::to_value(status)?))
    }

    /// Runtime slots held now (`[slots]`).
    async fn slots(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Slot>> {
        Ok(service(ctx)?.slots().into_iter().map(Slot::from).collect())
    }

    /// The hook runner's definitions for a project directory.
    async fn hooks(&self, ctx: &Context<'_>, cwd: Option<String>) -> async_graphql::Result<Json> {
        let listed = service(ctx)?.hooks(cwd).await;
        Ok(Json(serde_json::to_value(listed)?))
    }
}

/// How usage rows are grouped.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum Grouping {
    /// Local calendar day.
    Daily,
    /// Local calendar month.
    Monthly,
    /// Session id.
    Session,
    /// The session's cwd (else its project folder).
    Project,
    /// Model id.
    Model,
    /// The agent (`claude`, `codex`, `gemini`).
    Agent,
}

impl From<Grouping> for GroupBy {
    fn from(g: Grouping) -> GroupBy {
        match g {
            Grouping::Daily => GroupBy::Daily,
            Grouping::Monthly => GroupBy::Monthly,
            Grouping::Session => GroupBy::Session,
            Grouping::Project => GroupBy::Project,
            Grouping::Model => GroupBy::Model,
            Grouping::Agent => GroupBy::Agent,
        }
    }
}

/// What a decision does.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum Behavior {
    /// Run the tool call.
    Allow,
    /// Refuse it; the agent sees `message`.
    Deny,
    /// Answer a question (`text`).
    Answer,
}

/// A decision on an approval.
#[derive(InputObject)]
pub struct DecisionInput {
    /// Allow, deny or answer.
    pub behavior: Behavior,
    /// Deny: what the agent is told.
    pub message: Option<String>,
    /// Answer: the answer (for an MCP elicitation, a JSON object's text).
    pub text: Option<String>,
    /// Allow: run the tool with this input instead.
    pub updated_input: Option<Json>,
    /// Allow: also apply the request's permission suggestions ("always").
    #[graphql(default = false)]
    pub always: bool,
}

impl DecisionInput {
    /// The decision it stands for, and whether to apply the request's
    /// permission suggestions.
    ///
    /// # Errors
    /// An ANSWER without `text`.
    pub fn into_decision(self) -> Result<(Decision, bool), ServiceError> {
        let d = match self.behavior {
            Behavior::Allow => Decision::Allow {
                updated_input: self.updated_input.map(|j| j.0),
                updated_permissions: None,
            },
            Behavior::Deny => Decision::Deny {
                message: self.message,
            },
            Behavior::Answer => Decision::Answer {
                text: self
                    .text
                    .ok_or_else(|| ServiceError::invalid("an ANSWER decision needs `text`"))?,
            },
        };
        Ok((d, self.always))
    }
}

/// The core's mutations.
#[derive(Default)]
pub struct CoreMutation;

#[Object]
impl CoreMutation {
    /// Decides a pending approval; the first decision wins (a later one
    /// fails with `CONFLICT` naming who decided).
    async fn decide(
        &self,
        ctx: &Context<'_>,
        id: String,
        decision: DecisionInput,
        #[graphql(desc = "Who decides (default `graphql`).")] by: Option<String>,
        #[graphql(desc = "Why, for the record.")] reason: Option<String>,
    ) -> async_graphql::Result<Approval> {
        let (d, always) = decision.into_decision().map_err(gql)?;
        let p = DecideParams {
            id,
            decision: d,
            apply_suggestions: always,
            by,
            reason,
        };
        Ok(service(ctx)?
            .decide(p, "graphql")
            .await
            .map_err(gql)?
            .into())
    }

    /// Starts Claude Code headless, steered by agentd.
    async fn launch(
        &self,
        ctx: &Context<'_>,
        prompt: String,
        cwd: Option<String>,
        model: Option<String>,
        permission_mode: Option<String>,
        name: Option<String>,
    ) -> async_graphql::Result<Launched> {
        let p = LaunchParams {
            cwd,
            model,
            permission_mode,
            name,
            prompt,
        };
        Ok(service(ctx)?.launch(p).await.map_err(gql)?.into())
    }

    /// Sends a message to a launched session (resuming it if it exited).
    async fn send(
        &self,
        ctx: &Context<'_>,
        id: String,
        message: String,
    ) -> async_graphql::Result<Launched> {
        Ok(service(ctx)?
            .send(SendParams { id, message })
            .await
            .map_err(gql)?
            .into())
    }

    /// Interrupts a launched session's turn; the full session id.
    async fn interrupt(&self, ctx: &Context<'_>, id: String) -> async_graphql::Result<String> {
        Ok(service(ctx)?.interrupt(&id).await.map_err(gql)?.session_id)
    }

    /// Stops a launched session (SIGINT, SIGTERM, SIGKILL to its group).
    async fn kill(&self, ctx: &Context<'_>, id: String) -> async_graphql::Result<Killed> {
        let k = service(ctx)?.kill(&id).await.map_err(gql)?;
        Ok(Killed {
            session_id: k.session_id,
            ended_by: k.ended_by,
        })
    }

    /// Takes a runtime slot; when all are taken, waits up to `waitMs` (at
    /// most 600 000) for one, then fails with `OVERLOADED` naming who holds
    /// them.
    async fn acquire_slot(
        &self,
        ctx: &Context<'_>,
        holder: String,
        session_id: Option<String>,
        project: Option<String>,
        ttl_s: Option<u64>,
        #[graphql(default = 0)] wait_ms: u64,
    ) -> async_graphql::Result<Slot> {
        let req = agentd_proto::api::SlotRequest {
            holder,
            session_id,
            project,
            ttl_s,
        };
        Ok(service(ctx)?
            .acquire_slot(req, std::time::Duration::from_millis(wait_ms))
            .await
            .map_err(gql)?
            .into())
    }

    /// Stores and indexes a memory document (a note, a decision, a summary):
    /// `search` finds it beside the transcripts, as a `document` hit.
    // Each argument is one GraphQL argument of the field.
    #[allow(clippy::too_many_arguments)]
    async fn index_document(
        &self,
        ctx: &Context<'_>,
        title: String,
        text: String,
        source: Option<String>,
        #[graphql(default)] tags: Vec<String>,
        project: Option<String>,
        session_id: Option<String>,
    ) -> async_graphql::Result<Document> {
        let d = agentd_proto::history::IndexDocumentParams {
            title,
            text,
            source,
            tags,
            project,
            session_id,
        };
        Ok(service(ctx)?.index_document(d).await.map_err(gql)?.into())
    }

    /// Gives a runtime slot back.
    async fn release_slot(&self, ctx: &Context<'_>, id: String) -> async_graphql::Result<Slot> {
        Ok(service(ctx)?.release_slot(&id).map_err(gql)?.into())
    }

    /// Scans every transcript folder now.
    async fn rescan_index(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        Ok(service(ctx)?.index_rescan().map_err(gql)?.rescan)
    }
}

/// The core's subscriptions.
#[derive(Default)]
pub struct CoreSubscription;

#[Subscription]
impl CoreSubscription {
    /// Events in seq order: from the log after `afterSeq` (absent: from
    /// now on), then live; optionally one session's, or some kinds
    /// (`approval.requested`, `tool.started`, …). No gap, no duplicate: a
    /// reader that falls behind is caught up from the log. Reconnect with
    /// `afterSeq` = the last seq received to get exactly what was missed.
    async fn events(
        &self,
        ctx: &Context<'_>,
        after_seq: Option<u64>,
        session_id: Option<String>,
        kinds: Option<Vec<String>>,
    ) -> async_graphql::Result<impl Stream<Item = Event>> {
        let stream = service(ctx)?
            .event_stream(SubscribeParams {
                after_seq,
                session_id,
                kinds,
            })
            .map_err(gql)?;
        Ok(stream.map(Event))
    }

    /// Sessions as they change, from now on: after every event of a
    /// session, the session as it is then (optionally only one session).
    async fn sessions(
        &self,
        ctx: &Context<'_>,
        session_id: Option<String>,
    ) -> async_graphql::Result<impl Stream<Item = Session>> {
        let svc = service(ctx)?.clone();
        let events = service(ctx)?
            .event_stream(SubscribeParams {
                after_seq: None,
                session_id,
                kinds: None,
            })
            .map_err(gql)?;
        Ok(events.filter_map(move |e| {
            std::future::ready(svc.session(&e.session_id).ok().map(Session::from))
        }))
    }

    /// Live sessions' process figures as they change: every session's at
    /// once, then the whole list again after each 2 s sample that changes
    /// what it shows (CPU to the whole %, memory to the MiB).
    async fn processes(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<impl Stream<Item = Vec<SessionProcess>>> {
        Ok(service(ctx)?
            .process_stream()
            .map(|all| all.into_iter().map(SessionProcess::from).collect()))
    }

    /// Approvals as they are requested and resolved, from now on (from the
    /// log after `afterSeq` when given); optionally one session's.
    async fn approvals(
        &self,
        ctx: &Context<'_>,
        after_seq: Option<u64>,
        session_id: Option<String>,
    ) -> async_graphql::Result<impl Stream<Item = Approval>> {
        let events = service(ctx)?
            .event_stream(SubscribeParams {
                after_seq,
                session_id,
                kinds: Some(vec![
                    "approval.requested".to_owned(),
                    "approval.resolved".to_owned(),
                ]),
            })
            .map_err(gql)?;
        // Each approval event carries the approval as it was then.
        Ok(events.filter_map(|e| {
            std::future::ready(
                serde_json::from_value::<agentd_core::Approval>(e.payload.clone())
                    .ok()
                    .map(|a| agentd_proto::api::ApprovalView::new(a).into()),
            )
        }))
    }
}

#[cfg(test)]
mod tests;
