//! GraphQL objects: the API's data as GraphQL types (field names in
//! camelCase, as GraphQL clients expect). Each is built from the service's
//! result by a `From`; nothing here computes anything. 64-bit counts (seq,
//! tokens, ms since the Unix epoch) are `Int` values beyond 32 bits, as
//! async-graphql encodes `i64`/`u64`; opaque agent data (tool inputs,
//! payloads, decisions) is the `JSON` scalar.

use std::sync::Arc;

use async_graphql::{Object, SimpleObject};

use super::json::{Json, JsonRef};

/// `health`.
#[derive(SimpleObject)]
pub struct Health {
    /// `ok`, or `degraded` with `problems`.
    pub status: String,
    /// The daemon's version.
    pub version: String,
    /// Seconds since the daemon started.
    pub uptime_s: u64,
    /// The HTTP listener's address.
    pub http_addr: Option<String>,
    /// The daemon's pid.
    pub pid: u32,
    /// Sessions in the registry.
    pub sessions: u64,
    /// The newest committed event's seq.
    pub head_seq: u64,
    /// What is wrong, with how to fix it.
    pub problems: Vec<String>,
    /// Connection counts, refusals, buffered bytes, dropped subscribers.
    pub limits: Json,
}

impl From<agentd_proto::api::Health> for Health {
    fn from(h: agentd_proto::api::Health) -> Health {
        Health {
            status: h.status,
            version: h.version,
            uptime_s: h.uptime_s,
            http_addr: h.http_addr,
            pid: h.pid,
            sessions: h.sessions as u64,
            head_seq: h.head_seq,
            problems: h.problems,
            limits: Json(serde_json::to_value(h.limits).unwrap_or_default()),
        }
    }
}

/// A subagent seen in a session.
#[derive(SimpleObject)]
pub struct Subagent {
    /// Claude Code's agent id.
    pub agent_id: String,
    /// Its type (`Explore`, …).
    pub agent_type: Option<String>,
    /// Still running.
    pub active: bool,
}

/// What the transcript index knows of a session.
#[derive(SimpleObject)]
pub struct SessionHistory {
    /// The session's title (custom, else Claude Code's).
    pub title: Option<String>,
    /// The first prompt.
    pub first_prompt: Option<String>,
    /// Models that answered.
    pub models: Vec<String>,
    /// Prompts and other user messages.
    pub user_messages: u64,
    /// Assistant messages.
    pub assistant_messages: u64,
    /// Tokens, all kinds.
    pub total_tokens: u64,
    /// Subagent ids.
    pub subagents: Vec<String>,
}

/// A session: live state from the registry, history from the index.
#[derive(SimpleObject)]
pub struct Session {
    /// Session id.
    pub id: String,
    /// The agent (`claude`).
    pub agent: String,
    /// `starting`, `working`, `needs_approval`, `needs_input`, `idle`, `ended`.
    pub status: String,
    /// Since when, ms since the Unix epoch.
    pub status_since_ms: i64,
    /// Working directory.
    pub cwd: Option<String>,
    /// Project directory.
    pub project: Option<String>,
    /// Git branch.
    pub git_branch: Option<String>,
    /// Model id.
    pub model: Option<String>,
    /// Permission mode.
    pub permission_mode: Option<String>,
    /// The transcript file.
    pub transcript_path: Option<String>,
    /// The tool running now.
    pub current_tool: Option<String>,
    /// The last tool used.
    pub last_tool: Option<String>,
    /// Pending approval ids.
    pub pending_approvals: Vec<String>,
    /// Prompts so far.
    pub prompts: u64,
    /// Tool calls so far.
    pub tool_calls: u64,
    /// Subagents.
    pub subagents: Vec<Subagent>,
    /// Context window used, percent.
    pub context_pct: Option<f64>,
    /// Claude Code's own cost figure, USD.
    pub cost_usd: Option<f64>,
    /// tmux pane id.
    pub tmux_pane: Option<String>,
    /// The agent's pid.
    pub pid: Option<u32>,
    /// Why it ended.
    pub end_reason: Option<String>,
    /// The last error.
    pub last_error: Option<String>,
    /// First event, ms since the Unix epoch.
    pub first_event_ms: i64,
    /// Last event, ms since the Unix epoch.
    pub last_event_ms: i64,
    /// Seq of its last event.
    pub last_seq: u64,
    /// Last event, RFC 3339.
    pub updated_at: String,
    /// First event, RFC 3339.
    pub started_at: String,
    /// Whether it is live (not ended).
    pub live: bool,
    /// What the transcript index knows of it.
    pub history: Option<SessionHistory>,
    /// What its processes cost now (live sessions with a known pid).
    pub process: Option<ProcessStats>,
    /// Known only from discovery (a running agent that never reported
    /// through hooks), until its first hook event.
    pub discovered: bool,
}

/// CPU and memory of a session's process tree (tool subprocesses
/// included), sampled every 2 s.
#[derive(SimpleObject)]
pub struct ProcessStats {
    /// CPU in use, % of one core.
    pub cpu_pct: f64,
    /// Resident memory, bytes.
    pub rss_bytes: u64,
    /// Processes in the tree.
    pub processes: u32,
    /// The name of a tool subprocess that has used a whole core for 10
    /// minutes, if one has.
    pub hot_process: Option<String>,
    /// When sampled, ms since the Unix epoch.
    pub sampled_ms: i64,
}

impl From<agentd_proto::api::SessionView> for Session {
    fn from(v: agentd_proto::api::SessionView) -> Session {
        let s = v.session;
        Session {
            id: s.id,
            agent: s.agent,
            status: s.status.as_str().to_owned(),
            status_since_ms: s.status_since_ms,
            cwd: s.cwd,
            project: s.project,
            git_branch: s.git_branch,
            model: s.model,
            permission_mode: s.permission_mode,
            transcript_path: s.transcript_path,
            current_tool: s.current_tool,
            last_tool: s.last_tool,
            pending_approvals: s.pending_approvals,
            prompts: s.prompts,
            tool_calls: s.tool_calls,
            subagents: s
                .subagents
                .into_iter()
                .map(|a| Subagent {
                    agent_id: a.agent_id,
                    agent_type: a.agent_type,
                    active: a.active,
                })
                .collect(),
            context_pct: s.context_pct,
            cost_usd: s.cost_usd,
            tmux_pane: s.tmux_pane,
            pid: s.pid,
            end_reason: s.end_reason,
            last_error: s.last_error,
            first_event_ms: s.first_event_ms,
            last_event_ms: s.last_event_ms,
            last_seq: s.last_seq,
            updated_at: v.updated_at,
            started_at: v.started_at,
            live: v.live,
            history: v.history.map(|h| SessionHistory {
                title: h.title,
                first_prompt: h.first_prompt,
                models: h.models,
                user_messages: h.user_messages,
                assistant_messages: h.assistant_messages,
                total_tokens: h.total_tokens,
                subagents: h.subagents,
            }),
            discovered: s.discovered,
            process: v.process.map(ProcessStats::from),
        }
    }
}

impl From<agentd_proto::api::ProcessStats> for ProcessStats {
    fn from(p: agentd_proto::api::ProcessStats) -> ProcessStats {
        ProcessStats {
            cpu_pct: p.cpu_pct,
            rss_bytes: p.rss_bytes,
            processes: p.processes,
            hot_process: p.hot.map(|h| format!("{} (pid {})", h.comm, h.pid)),
            sampled_ms: p.sampled_ms,
        }
    }
}

/// One live session's process figures.
#[derive(SimpleObject)]
pub struct SessionProcess {
    /// The session.
    pub session_id: String,
    /// Its process tree's figures.
    pub process: ProcessStats,
}

impl From<agentd_proto::api::SessionProcess> for SessionProcess {
    fn from(p: agentd_proto::api::SessionProcess) -> SessionProcess {
        SessionProcess {
            session_id: p.session_id,
            process: p.process.into(),
        }
    }
}

/// A page of sessions and where the next starts.
#[derive(SimpleObject)]
pub struct SessionPage {
    /// The sessions of this page.
    pub nodes: Vec<Session>,
    /// Give it as `offset` for the next page; null at the end.
    pub next_offset: Option<u64>,
}

/// An event of the log, shared, not copied: a live event reaches every
/// subscriber as the same record, and only the fields asked for are
/// serialized.
pub struct Event(pub Arc<agentd_proto::api::EventRecord>);

/// One event of the log.
#[Object]
impl Event {
    /// Position in the log.
    async fn seq(&self) -> u64 {
        self.0.seq
    }
    /// When, RFC 3339.
    async fn ts(&self) -> &str {
        &self.0.ts
    }
    /// When, ms since the Unix epoch.
    async fn ts_ms(&self) -> i64 {
        self.0.ts_ms
    }
    /// Session id.
    async fn session_id(&self) -> &str {
        &self.0.session_id
    }
    /// The agent.
    async fn agent(&self) -> &str {
        &self.0.agent
    }
    /// `hook`, `statusline`, `stream` or `daemon`.
    async fn source(&self) -> &str {
        &self.0.source
    }
    /// The hook event's own name (`PreToolUse`, …).
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The lifecycle kind (`tool.started`, …).
    async fn kind(&self) -> &str {
        &self.0.kind
    }
    /// The payload as the agent sent it.
    async fn payload(&self) -> JsonRef<'_> {
        JsonRef(&self.0.payload)
    }
}

impl From<agentd_proto::api::EventRecord> for Event {
    fn from(e: agentd_proto::api::EventRecord) -> Event {
        Event(Arc::new(e))
    }
}

/// A page of the log.
#[derive(SimpleObject)]
pub struct EventPage {
    /// Events in seq order (a page may stop early to fit a response: go on
    /// from the last seq).
    pub events: Vec<Event>,
    /// The newest committed seq.
    pub head_seq: u64,
}

/// A tool call held for a human, and its outcome.
#[derive(SimpleObject)]
pub struct Approval {
    /// Approval id.
    pub id: String,
    /// Session id.
    pub session_id: String,
    /// Subagent id, when a subagent asked.
    pub agent_id: Option<String>,
    /// Tool name (`Bash`, `mcp__server`).
    pub tool_name: String,
    /// The tool's input.
    pub tool_input: Json,
    /// Claude Code's tool_use_id, when known.
    pub tool_use_id: Option<String>,
    /// Claude Code's permission suggestions ("always allow").
    pub permission_suggestions: Json,
    /// Working directory.
    pub cwd: Option<String>,
    /// Which path asked (`permission_request`, `can_use_tool`, …).
    pub origin: String,
    /// `pending`, `allowed`, `denied`, `answered`, `answered_in_terminal`,
    /// `expired`, `timed_out`.
    pub status: String,
    /// The decision, once made.
    pub decision: Option<Json>,
    /// Who decided.
    pub decided_by: Option<String>,
    /// Why.
    pub reason: Option<String>,
    /// Why a human is asked: the rule that routed it here, or that no rule
    /// decides it.
    pub asked_because: Option<String>,
    /// When asked, RFC 3339.
    pub created_at: String,
    /// When decided, RFC 3339.
    pub decided_at: Option<String>,
}

impl From<agentd_proto::api::ApprovalView> for Approval {
    fn from(v: agentd_proto::api::ApprovalView) -> Approval {
        let a = v.approval;
        let origin = serde_json::to_value(a.origin)
            .ok()
            .and_then(|o| o.as_str().map(str::to_owned))
            .unwrap_or_default();
        Approval {
            id: a.id,
            session_id: a.session_id,
            agent_id: a.agent_id,
            tool_name: a.tool_name,
            tool_input: Json(a.tool_input),
            tool_use_id: a.tool_use_id,
            permission_suggestions: Json(a.permission_suggestions),
            cwd: a.cwd,
            origin,
            status: a.status.as_str().to_owned(),
            decision: a
                .decision
                .and_then(|d| serde_json::to_value(d).ok())
                .map(Json),
            decided_by: a.decided_by,
            reason: a.reason,
            asked_because: a.asked_because,
            created_at: v.created_at,
            decided_at: v.decided_at,
        }
    }
}

/// A search hit.
#[derive(SimpleObject)]
pub struct Hit {
    /// Session id.
    pub session_id: String,
    /// Subagent id.
    pub agent_id: Option<String>,
    /// The message's uuid.
    pub uuid: Option<String>,
    /// When, RFC 3339.
    pub ts: Option<String>,
    /// `user`, `assistant`, `tool_result`, ….
    pub role: String,
    /// The session's project.
    pub project: Option<String>,
    /// Text around the hits, each in `«…»`.
    pub snippet: String,
    /// BM25 score (higher is better).
    pub score: f64,
    /// `transcript` (a message) or `document` (a memory document).
    pub kind: String,
    /// The memory document's id (`document` hits).
    pub document_id: Option<String>,
    /// The memory document's title (`document` hits).
    pub title: Option<String>,
}

impl From<agentd_proto::history::Hit> for Hit {
    fn from(h: agentd_proto::history::Hit) -> Hit {
        Hit {
            session_id: h.session_id,
            agent_id: h.agent_id,
            uuid: h.uuid,
            ts: h.ts,
            role: h.role,
            project: h.project,
            snippet: h.snippet,
            score: h.score,
            kind: h.kind,
            document_id: h.document_id,
            title: h.title,
        }
    }
}

/// A message of a transcript.
#[derive(SimpleObject)]
pub struct Message {
    /// Position in the transcript.
    pub index: u64,
    /// uuid.
    pub uuid: Option<String>,
    /// When, ms since the Unix epoch.
    pub ts_ms: Option<i64>,
    /// Who.
    pub role: String,
    /// Subagent id.
    pub agent_id: Option<String>,
    /// Model.
    pub model: Option<String>,
    /// Text (bounded).
    pub text: String,
    /// Tool calls, as the index summarises them.
    pub tools: Json,
}

/// A page of a transcript.
#[derive(SimpleObject)]
pub struct TranscriptPage {
    /// Session id.
    pub session_id: String,
    /// Messages of this page.
    pub messages: Vec<Message>,
    /// Messages in all.
    pub total: u64,
}

impl From<agentd_proto::history::TranscriptPage> for TranscriptPage {
    fn from(p: agentd_proto::history::TranscriptPage) -> TranscriptPage {
        TranscriptPage {
            session_id: p.session_id,
            total: p.total,
            messages: p
                .messages
                .into_iter()
                .map(|m| Message {
                    index: m.index,
                    uuid: m.uuid,
                    ts_ms: m.ts_ms,
                    role: m.role,
                    agent_id: m.agent_id,
                    model: m.model,
                    text: m.text,
                    tools: Json(serde_json::to_value(m.tools).unwrap_or_default()),
                })
                .collect(),
        }
    }
}

/// One row of a usage report. Tokens are counts; cost is USD.
#[derive(SimpleObject)]
pub struct UsageRow {
    /// The group: a day, a month, a session id, a project, a model.
    pub period: String,
    /// Uncached input tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Cache-write tokens.
    pub cache_creation_tokens: u64,
    /// Cache-read tokens.
    pub cache_read_tokens: u64,
    /// All four.
    pub total_tokens: u64,
    /// Cost of the priced tokens, USD; null when none has a price.
    pub cost_usd: Option<f64>,
    /// Models.
    pub models: Vec<String>,
    /// Models without a price.
    pub unpriced_models: Vec<String>,
}

impl From<agentd_proto::history::UsageRow> for UsageRow {
    fn from(r: agentd_proto::history::UsageRow) -> UsageRow {
        UsageRow {
            period: r.period,
            input_tokens: r.input_tokens,
            output_tokens: r.output_tokens,
            cache_creation_tokens: r.cache_creation_tokens,
            cache_read_tokens: r.cache_read_tokens,
            total_tokens: r.total_tokens,
            cost_usd: r.cost_usd,
            models: r.models,
            unpriced_models: r.unpriced_models,
        }
    }
}

/// A page of a usage report.
#[derive(SimpleObject)]
pub struct UsagePage {
    /// Rows of this page.
    pub rows: Vec<UsageRow>,
    /// Totals of the whole report.
    pub totals: UsageRow,
    /// The IANA time zone days were cut in.
    pub timezone: String,
    /// Give it as `offset` for the next page; null at the end.
    pub next_offset: Option<u64>,
}

impl From<agentd_proto::history::UsagePage> for UsagePage {
    fn from(p: agentd_proto::history::UsagePage) -> UsagePage {
        UsagePage {
            rows: p.rows.into_iter().map(UsageRow::from).collect(),
            totals: p.totals.into(),
            timezone: p.timezone,
            next_offset: p.next_offset.map(|n| n as u64),
        }
    }
}

/// A launched (or resumed) session.
#[derive(SimpleObject)]
pub struct Launched {
    /// Session id.
    pub session_id: String,
    /// agentd's id of this process run.
    pub run_id: String,
    /// Pid (and process group) of Claude Code.
    pub pid: u32,
}

impl From<agentd_proto::api::Launched> for Launched {
    fn from(l: agentd_proto::api::Launched) -> Launched {
        Launched {
            session_id: l.session_id,
            run_id: l.run_id,
            pid: l.pid,
        }
    }
}

/// A stopped session.
#[derive(SimpleObject)]
pub struct Killed {
    /// Session id.
    pub session_id: String,
    /// The signal that ended the last process of its group.
    pub ended_by: String,
}

/// A held runtime slot (`[slots]`).
#[derive(SimpleObject)]
pub struct Slot {
    /// `slot_<n>`.
    pub id: String,
    /// Who holds it.
    pub holder: String,
    /// The session it is for (its end frees it).
    pub session_id: Option<String>,
    /// The project it counts against.
    pub project: Option<String>,
    /// When acquired, ms since the Unix epoch.
    pub acquired_ms: i64,
    /// When it frees itself, ms since the Unix epoch.
    pub expires_ms: Option<i64>,
}

impl From<agentd_proto::api::Slot> for Slot {
    fn from(s: agentd_proto::api::Slot) -> Slot {
        Slot {
            id: s.id,
            holder: s.holder,
            session_id: s.session_id,
            project: s.project,
            acquired_ms: s.acquired_ms,
            expires_ms: s.expires_ms,
        }
    }
}

/// A memory document.
#[derive(SimpleObject)]
pub struct Document {
    /// `doc_<n>`.
    pub id: String,
    /// Title.
    pub title: String,
    /// The text.
    pub text: String,
    /// Where it comes from.
    pub source: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Its project directory.
    pub project: Option<String>,
    /// The session it was written for.
    pub session_id: Option<String>,
    /// When stored, ms since the Unix epoch.
    pub created_ms: i64,
}

impl From<agentd_proto::history::Document> for Document {
    fn from(d: agentd_proto::history::Document) -> Document {
        Document {
            id: d.id,
            title: d.title,
            text: d.text,
            source: d.source,
            tags: d.tags,
            project: d.project,
            session_id: d.session_id,
            created_ms: d.created_ms,
        }
    }
}
