//! Params and results of each method. Every field a client may omit has a
//! default; unknown fields are ignored (minor versions add fields).

use agentd_core::{Approval, Decision, Session};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `initialize` params.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InitializeParams {
    /// The client's [`crate::PROTOCOL_VERSION`].
    pub protocol_version: String,
    /// Free-form client name and version, e.g. `agentd-cli/0.1.0`.
    #[serde(default)]
    pub client: Option<String>,
}

/// `initialize` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InitializeResult {
    /// The daemon's [`crate::PROTOCOL_VERSION`].
    pub protocol_version: String,
    /// The daemon's package version.
    pub server_version: String,
}

/// `health` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Health {
    /// `ok`, or `degraded` with [`Health::problems`] saying why.
    pub status: String,
    /// The daemon's package version.
    pub version: String,
    /// Seconds since the daemon started.
    pub uptime_s: u64,
    /// Bound HTTP address (`127.0.0.1:41956`), `null` when HTTP is off.
    pub http_addr: Option<String>,
    /// The daemon's pid.
    pub pid: u32,
    /// Sessions in the registry.
    pub sessions: usize,
    /// Sequence number of the newest event in the log (0 when empty).
    pub head_seq: u64,
    /// What is wrong when `status` is `degraded`.
    #[serde(default)]
    pub problems: Vec<String>,
    /// How the daemon protects itself from bad clients.
    #[serde(default)]
    pub limits: HealthLimits,
    /// The link to HQ, when `[hq] url` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hq: Option<crate::hq::HqLinkView>,
    /// Each notification sink (`[[notify.sinks]]`) and how its deliveries
    /// went.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notify: Vec<NotifySinkView>,
}

/// A notification sink's counters since the daemon started.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifySinkView {
    /// Its name (`name`, else its kind).
    pub name: String,
    /// `webhook`, `ntfy`, `desktop` or `command`.
    pub kind: String,
    /// Notices delivered (a grouped burst is one).
    pub sent: u64,
    /// Notices given up after every attempt failed.
    pub failed: u64,
    /// Needs its rules left out (reason, project, quiet hours, short turn).
    pub suppressed: u64,
    /// Needs dropped because its queue was full.
    pub dropped: u64,
    /// The last delivery's error, until one succeeds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// When the last notice was delivered, ms since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sent_ms: Option<i64>,
}

/// Connection and subscriber counters of [`Health`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthLimits {
    /// Socket connections being served.
    pub connections: usize,
    /// Most socket connections served at once (from the open-files limit).
    pub connection_cap: usize,
    /// Connections refused or shed since start: over a cap, silent past the
    /// handshake time, or holding the oldest partial frame when too many
    /// bytes were buffered.
    pub connections_refused: u64,
    /// Bytes all connections hold in unfinished frames now.
    pub buffered_bytes: usize,
    /// Subscribers closed since start because they stopped reading (each
    /// was sent a final `lagged` notification first, with the reason).
    pub subscribers_dropped: u64,
    /// Live event subscribers now, on every face (JSON-RPC
    /// `events.subscribe`, GraphQL and gRPC streams).
    #[serde(default)]
    pub subscribers: usize,
    /// Live watchers of hook runs now (GraphQL `hookOutput`).
    #[serde(default)]
    pub hook_watchers: usize,
    /// Terminals kept (running or exited, until closed).
    #[serde(default)]
    pub terminals: usize,
    /// Browsers signed in to the web UI.
    #[serde(default)]
    pub web_sessions: usize,
}

/// `hook.ingest` and `status.ingest` params.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IngestParams {
    /// The payload exactly as Claude Code sent it (reference §2.3 / §3.3).
    pub payload: Value,
    /// What the hook process's environment knows (`tmux_pane`,
    /// `claude_pid`, `project_dir`); see `agentd_claude::hook::HookEnv`.
    #[serde(default)]
    pub env: Value,
    /// The hook client's id for this event (32 hex digits). An event whose
    /// id is already stored (it was spooled after a lost reply, say) is not
    /// stored again: the reply carries the first copy's `seq`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
}

/// `hook.ingest` and `status.ingest` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IngestResult {
    /// Sequence number the event got in the log.
    pub seq: u64,
    /// Claude Code hook output JSON to print on stdout (reference §2.4);
    /// `null` for no decision.
    #[serde(default)]
    pub output: Option<Value>,
    /// Exit code the hook process should exit with (0, or 2 to block).
    #[serde(default)]
    pub exit_code: i32,
}

/// `sessions.list` params.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionsListParams {
    /// Only sessions with one of these statuses (`working`, `ended`, ...).
    #[serde(default)]
    pub status: Option<Vec<String>>,
    /// At most this many sessions (default: all).
    #[serde(default)]
    pub limit: Option<usize>,
    /// Skip this many (paging).
    #[serde(default)]
    pub offset: Option<usize>,
    /// Include sessions known only from transcripts (default true).
    #[serde(default)]
    pub history: Option<bool>,
    /// Only sessions whose project or cwd contains this.
    #[serde(default)]
    pub project: Option<String>,
    /// Only sessions of this agent (`claude`, `codex`, `gemini`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// Answer `{sessions, next_offset}`, a page that fits a frame, instead
    /// of a bare array (which fails when it would not fit).
    #[serde(default)]
    pub paged: bool,
}

/// A page of a list: the items, and where the next page starts (`null` at
/// the end). Pages hold at most a frame's worth of JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionsPage {
    /// The sessions of this page.
    pub sessions: Vec<SessionView>,
    /// `offset` of the next page; `None` when this is the last.
    pub next_offset: Option<usize>,
}

/// `sessions.get` params.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionsGetParams {
    /// Session id, or a unique prefix of one.
    pub id: String,
}

/// A session as clients see it: [`Session`] plus RFC 3339 times.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionView {
    /// The session.
    #[serde(flatten)]
    pub session: Session,
    /// Time of the last event, RFC 3339 UTC.
    pub updated_at: String,
    /// Time of the first event, RFC 3339 UTC.
    pub started_at: String,
    /// Whether it is live: known to the registry (it reported through
    /// hooks, the status line or a launch) and not ended. False for ended
    /// sessions and for sessions known only from their transcript.
    #[serde(default = "yes")]
    pub live: bool,
    /// What the transcript index knows of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<SessionHistory>,
    /// What its processes cost now (a live session with a known pid).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process: Option<ProcessStats>,
}

/// CPU and memory of a session's agent process and all its descendants
/// (tool subprocesses included), sampled every 2 s from `/proc`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProcessStats {
    /// CPU in use, % of one core (200 = two cores busy).
    pub cpu_pct: f64,
    /// Resident memory, bytes.
    pub rss_bytes: u64,
    /// Processes in the tree.
    pub processes: u32,
    /// A tool subprocess that has used a whole core for 10 minutes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hot: Option<HotProcess>,
    /// When sampled, ms since the Unix epoch.
    pub sampled_ms: i64,
}

impl ProcessStats {
    /// CPU as tables show it: `12%`, with `!` when a tool subprocess is
    /// flagged (`104%!`).
    pub fn cpu_label(&self) -> String {
        format!(
            "{:.0}%{}",
            self.cpu_pct,
            if self.hot.is_some() { "!" } else { "" }
        )
    }

    /// Resident memory as tables show it: `1.2G`, `310M`, `64K`.
    pub fn rss_label(&self) -> String {
        const K: u64 = 1024;
        match self.rss_bytes {
            n if n >= K * K * K => format!("{:.1}G", n as f64 / (K * K * K) as f64),
            n if n >= K * K => format!("{}M", n / (K * K)),
            n => format!("{}K", n / K),
        }
    }
}

/// One session's process figures (`sessions.processes`, GraphQL's
/// `processes`, gRPC's `WatchProcesses`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionProcess {
    /// The session.
    pub session_id: String,
    /// Its processes' figures.
    pub process: ProcessStats,
}

/// A subprocess flagged for keeping a core busy.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HotProcess {
    /// Its pid.
    pub pid: u32,
    /// Its name (`comm`).
    pub comm: String,
    /// Since when it has been that busy, ms since the Unix epoch.
    pub since_ms: i64,
}

fn yes() -> bool {
    true
}

/// A session's transcript, summarised by the index.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionHistory {
    /// Title: custom → AI → summary → first prompt → last prompt.
    pub title: Option<String>,
    /// The first prompt typed.
    pub first_prompt: Option<String>,
    /// Models used.
    pub models: Vec<String>,
    /// User text records.
    pub user_messages: u64,
    /// Assistant records.
    pub assistant_messages: u64,
    /// Tokens used (deduplicated, all classes).
    pub total_tokens: u64,
    /// Subagent ids.
    pub subagents: Vec<String>,
}

impl SessionView {
    /// Wraps a registry `session`, formatting its times.
    pub fn new(session: Session) -> SessionView {
        SessionView {
            updated_at: rfc3339(session.last_event_ms),
            started_at: rfc3339(session.first_event_ms),
            live: session.status != agentd_core::Status::Ended,
            session,
            history: None,
            process: None,
        }
    }
}

/// `events.list` params.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EventsListParams {
    /// Only events with `seq` greater than this.
    #[serde(default)]
    pub after_seq: u64,
    /// Only this session's events.
    #[serde(default)]
    pub session_id: Option<String>,
    /// Only these kinds (`tool.started`, ...).
    #[serde(default)]
    pub kinds: Option<Vec<String>>,
    /// At most this many events (default 1000, at most 10 000).
    #[serde(default)]
    pub limit: Option<usize>,
}

/// `events.list` result. A page may hold fewer than `limit` events when
/// more would not fit in one frame; ask again with `after_seq` = the last `seq`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventsList {
    /// Events in `seq` order.
    pub events: Vec<EventRecord>,
    /// Newest `seq` in the log when the list was read.
    pub head_seq: u64,
}

/// One event of the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventRecord {
    /// Position in the log; strictly increasing, never reused.
    pub seq: u64,
    /// When the daemon received it, RFC 3339 UTC.
    pub ts: String,
    /// The same, ms since the Unix epoch.
    pub ts_ms: i64,
    /// Session id.
    pub session_id: String,
    /// Agent (`claude`).
    pub agent: String,
    /// Where it came from: `hook`, `statusline` or `daemon`.
    pub source: String,
    /// The source's own name for it (`PreToolUse`, `StatusLine`, `ProcessExited`).
    pub name: String,
    /// Vendor-neutral kind (`tool.started`, ...).
    pub kind: String,
    /// The payload as received, unknown fields included.
    pub payload: Value,
    /// What the hook's environment added (`tmux_pane`, `claude_pid`, ...).
    #[serde(default)]
    pub env: Value,
}

/// `events.subscribe` params.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SubscribeParams {
    /// Replay events after this `seq` from the log before going live; absent
    /// means live events only.
    #[serde(default)]
    pub after_seq: Option<u64>,
    /// Only this session's events.
    #[serde(default)]
    pub session_id: Option<String>,
    /// Only these kinds.
    #[serde(default)]
    pub kinds: Option<Vec<String>>,
}

/// `events.subscribe` result; `event` notifications follow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubscribeResult {
    /// Id carried by this subscription's notifications.
    pub subscription: u64,
    /// Newest `seq` when the snapshot was taken.
    pub head_seq: u64,
    /// The sessions (filtered by `session_id` if given) at `head_seq`:
    /// every one that is not ended, then ended ones, newest first, as many
    /// as fit a frame.
    pub sessions: Vec<SessionView>,
    /// Ended sessions left out of `sessions` to fit the frame
    /// (`sessions.list` with `paged` has them all).
    #[serde(default)]
    pub sessions_omitted: usize,
}

/// `event` notification params.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventNotification {
    /// The subscription.
    pub subscription: u64,
    /// The event.
    #[serde(flatten)]
    pub event: EventRecord,
    /// The session after this event was applied (live events only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<SessionView>,
}

/// `lagged` notification params.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lagged {
    /// The subscription.
    pub subscription: u64,
    /// Last `seq` delivered before falling behind; catch-up resumes after it
    /// (or, when `closed`, a new subscription with `after_seq` = this).
    pub last_seq: u64,
    /// Set when the daemon closes the connection: the client stopped
    /// reading for longer than the daemon waits (10 s). Nothing after
    /// `last_seq` was sent; subscribe again with `after_seq` to resume.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub closed: bool,
    /// Why, in words, when `closed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// `approvals.list` params.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ApprovalsListParams {
    /// Include resolved approvals (default: pending only).
    #[serde(default)]
    pub all: bool,
    /// Only this session's.
    #[serde(default)]
    pub session_id: Option<String>,
    /// At most this many (default 1000), oldest first.
    #[serde(default)]
    pub limit: Option<usize>,
}

/// `approvals.get` params.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovalsGetParams {
    /// Approval id or a unique prefix of one.
    pub id: String,
}

/// `approvals.decide` params.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecideParams {
    /// Approval id or a unique prefix of one.
    pub id: String,
    /// `{"behavior": "allow", "updated_input"?, "updated_permissions"?}`,
    /// `{"behavior": "deny", "message"?}` or `{"behavior": "answer", "text"}`.
    pub decision: Decision,
    /// Allow with the request's own `permission_suggestions` ("always allow").
    #[serde(default)]
    pub apply_suggestions: bool,
    /// Who decides, e.g. `cli:alice` (default: the client's name).
    #[serde(default)]
    pub by: Option<String>,
    /// Why, for the record.
    #[serde(default)]
    pub reason: Option<String>,
}

/// An approval as clients see it: [`Approval`] plus RFC 3339 times.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovalView {
    /// The approval.
    #[serde(flatten)]
    pub approval: Approval,
    /// Creation time, RFC 3339 UTC.
    pub created_at: String,
    /// Resolution time, RFC 3339 UTC.
    pub decided_at: Option<String>,
}

impl ApprovalView {
    /// Wraps `approval`, formatting its times.
    pub fn new(approval: Approval) -> ApprovalView {
        ApprovalView {
            created_at: rfc3339(approval.created_ms),
            decided_at: approval.decided_ms.map(rfc3339),
            approval,
        }
    }
}

/// `sessions.launch` params.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LaunchParams {
    /// Working directory (must exist; default: the daemon's).
    #[serde(default)]
    pub cwd: Option<String>,
    /// `--model`.
    #[serde(default)]
    pub model: Option<String>,
    /// `--permission-mode` (`default`, `acceptEdits`, `plan`, ...).
    #[serde(default)]
    pub permission_mode: Option<String>,
    /// `--name`.
    #[serde(default)]
    pub name: Option<String>,
    /// The first prompt.
    pub prompt: String,
}

/// `sessions.launch` / `sessions.send` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Launched {
    /// Claude Code's session id.
    pub session_id: String,
    /// agentd's id of this process run (`AGENTD_RUN_ID`).
    pub run_id: String,
    /// Pid (and process group) of the Claude Code process.
    pub pid: u32,
}

/// `sessions.send` params.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SendParams {
    /// Session id or unique prefix.
    pub id: String,
    /// The message.
    pub message: String,
}

/// `transcript.get` params.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TranscriptParams {
    /// Session id or unique prefix.
    pub id: String,
    /// Skip this many messages.
    #[serde(default)]
    pub offset: u64,
    /// At most this many (default 200, at most 2000).
    #[serde(default)]
    pub limit: Option<usize>,
}

/// `index.status` params.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IndexStatusParams {
    /// Count what the index holds (default true; `false` for a cheap
    /// progress poll).
    #[serde(default)]
    pub counts: Option<bool>,
}

/// `hooks.list` params.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HooksListParams {
    /// Project directory whose `.agentd/hooks.toml` counts too.
    #[serde(default)]
    pub cwd: Option<String>,
}

/// `hooks.execute` params: run an event's hooks now.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HooksExecuteParams {
    /// The hook event (`Stop`, `PostToolUse`, …).
    pub event: String,
    /// The payload the hooks get on stdin (default `{}`, completed with
    /// `hook_event_name`, `session_id`, `cwd`).
    #[serde(default)]
    pub payload: Option<serde_json::Value>,
    /// Session id passed to the hooks.
    #[serde(default)]
    pub session_id: Option<String>,
    /// Project directory (absolute, existing).
    #[serde(default)]
    pub cwd: Option<String>,
    /// Only hooks of this directory.
    #[serde(default)]
    pub dir: Option<String>,
    /// Only these hooks, by name.
    #[serde(default)]
    pub hooks: Vec<String>,
    /// Run even when the files are unchanged.
    #[serde(default)]
    pub no_cache: bool,
}

/// `hooks.history` params.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HooksHistoryParams {
    /// At most this many runs (default 100, at most 10 000).
    #[serde(default)]
    pub limit: Option<usize>,
    /// Only this session's runs.
    #[serde(default)]
    pub session_id: Option<String>,
}

/// `hooks.pending` params.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HooksPendingParams {
    /// Only this session's runs.
    #[serde(default)]
    pub session_id: Option<String>,
}

/// A hook run started and not finished yet (the seed's pending hooks).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingHookRun {
    /// The run's id (as its record will have).
    pub run_id: String,
    /// Hook name.
    pub hook: String,
    /// The directory it runs in.
    pub dir: String,
    /// The session whose event started it.
    pub session_id: Option<String>,
    /// The hook event (`Stop`, …).
    pub event: String,
    /// When it started, ms since the Unix epoch.
    pub started_ms: i64,
}

/// `hooks.record` params: a run done by a hook runner outside agentd, to
/// keep in `hooks.history` beside agentd's own (the seed's
/// `RecordExecution`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RecordExecutionParams {
    /// Hook name.
    pub hook: String,
    /// The directory it ran in (absolute).
    pub dir: String,
    /// The hook event it ran for (`Stop`, …).
    pub event: String,
    /// The session, when one asked for it.
    #[serde(default)]
    pub session_id: Option<String>,
    /// Its exit code; none when it was killed or timed out.
    #[serde(default)]
    pub exit_code: Option<i32>,
    /// How long it ran, ms.
    #[serde(default)]
    pub duration_ms: u64,
    /// `ran` (default), `timed_out`, `failed_to_start`, `cached` or `skipped`.
    #[serde(default)]
    pub outcome: Option<String>,
    /// Whether it passed; default: exit code 0 and outcome `ran` or `cached`.
    #[serde(default)]
    pub passed: Option<bool>,
    /// Its output (the first lines are kept with the record; at most
    /// [`MAX_RECORDED_OUTPUT_BYTES`]).
    #[serde(default)]
    pub output: Option<String>,
}

/// Most bytes of output one `hooks.record` call may carry.
pub const MAX_RECORDED_OUTPUT_BYTES: usize = 1 << 20;

/// `hooks.validation.check` and `hooks.validation.record` params: a
/// hook's files in a directory, against the change cache.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FileValidationParams {
    /// Hook name.
    pub hook: String,
    /// The directory it runs in (absolute, existing).
    pub dir: String,
    /// The files it checks, as globs relative to `dir` (`**/*.rs`). Empty:
    /// the `if_changed` of the hook of that name defined for `dir`.
    #[serde(default)]
    pub globs: Vec<String>,
    /// The command, as part of the cache key; default: the defined hook's,
    /// else empty.
    #[serde(default)]
    pub command: Option<String>,
    /// Record only: the hash a check returned before the hook ran (edits
    /// made since are then not taken as checked); default: the files now.
    #[serde(default)]
    pub files_hash: Option<String>,
}

/// `index.rescan` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rescan {
    /// Always true: a scan was asked for.
    pub rescan: bool,
}

/// `hooks.list` result: every definition (as written, plus `active`:
/// whether agentd runs it) and the problems met reading them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HooksListed {
    /// The definitions.
    pub hooks: Vec<serde_json::Value>,
    /// Files or definitions that could not be read, with why.
    pub errors: Vec<String>,
}

/// One held slot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Slot {
    /// `slot_<n>`.
    pub id: String,
    /// Who holds it (`launch`, `ci:job-42`, a user@host).
    pub holder: String,
    /// The session it is for, if any: its end frees the slot.
    pub session_id: Option<String>,
    /// The project it counts against, if any.
    pub project: Option<String>,
    /// When it was acquired, ms since the Unix epoch.
    pub acquired_ms: i64,
    /// When it frees itself, ms since the Unix epoch (a TTL).
    pub expires_ms: Option<i64>,
}

/// A request for a slot.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SlotRequest {
    /// Who asks.
    pub holder: String,
    /// The session it is for.
    #[serde(default)]
    pub session_id: Option<String>,
    /// The project it counts against (a directory).
    #[serde(default)]
    pub project: Option<String>,
    /// Free it after this many seconds.
    #[serde(default)]
    pub ttl_s: Option<u64>,
}

/// `slots.acquire` params: the request, and how long to wait for a free
/// slot (default 0: fail at once when all are taken; at most 600 000).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SlotsAcquireParams {
    /// The request.
    #[serde(flatten)]
    pub request: SlotRequest,
    /// Longest wait for a free slot, ms.
    #[serde(default)]
    pub wait_ms: u64,
}

/// `slots.release` params.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlotsReleaseParams {
    /// The slot.
    pub id: String,
}

/// `sessions.interrupt` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Interrupted {
    /// The full session id.
    pub session_id: String,
    /// Always true: the interrupt was sent.
    pub interrupted: bool,
}

/// `sessions.kill` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Killed {
    /// The full session id.
    pub session_id: String,
    /// The signal that ended the last process of the group (`SIGINT`,
    /// `SIGTERM`, `SIGKILL`), or `none (already exited)`.
    pub ended_by: String,
}

/// `terminals.start` params.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TerminalStartParams {
    /// `claude` (default: Claude Code, reporting to this daemon like any
    /// session) or `shell` (`$SHELL`, else `/bin/sh`).
    #[serde(default)]
    pub kind: Option<String>,
    /// Working directory (absolute, existing; default: the daemon's home
    /// directory).
    #[serde(default)]
    pub cwd: Option<String>,
    /// Columns (default 80; 1..=1000).
    #[serde(default)]
    pub cols: Option<u16>,
    /// Rows (default 24; 1..=1000).
    #[serde(default)]
    pub rows: Option<u16>,
}

/// A terminal: a command in a PTY on the daemon's machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TerminalView {
    /// `term_<hex>`.
    pub id: String,
    /// `claude` or `shell`.
    pub kind: String,
    /// The program run.
    pub program: String,
    /// Its working directory.
    pub cwd: String,
    /// Its pid (also its process group).
    pub pid: u32,
    /// Columns.
    pub cols: u16,
    /// Rows.
    pub rows: u16,
    /// Started at, ms since the Unix epoch.
    pub started_ms: i64,
    /// Output written so far, bytes.
    pub output_bytes: u64,
    /// Its exit code, once it exited (128 + the signal when one ended it).
    #[serde(default)]
    pub exit_code: Option<i32>,
}

/// `terminals.close` params.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TerminalCloseParams {
    /// The terminal's id or a unique prefix.
    pub id: String,
}

/// `web.login` result: a one-time sign-in link for the web UI.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebLogin {
    /// The link for a browser on this machine (loopback).
    pub url: String,
    /// The same link on the listener's other addresses (a phone on the
    /// same network); empty unless the daemon listens beyond loopback
    /// with TLS.
    #[serde(default)]
    pub lan_urls: Vec<String>,
    /// The link works once, until then: ms since the Unix epoch.
    pub expires_ms: i64,
}

/// A browser signed in to the web UI (`web.sessions`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebSessionView {
    /// `web_<hex>`: what `web.revoke` takes.
    pub id: String,
    /// Signed in at, ms since the Unix epoch.
    pub created_ms: i64,
    /// Last request, ms since the Unix epoch.
    pub last_seen_ms: i64,
    /// Signed out by itself at, ms since the Unix epoch.
    pub expires_ms: i64,
    /// The browser's `User-Agent` at sign-in (at most 200 characters).
    #[serde(default)]
    pub user_agent: Option<String>,
    /// The address it signed in from.
    #[serde(default)]
    pub address: Option<String>,
}

/// `web.revoke` params.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebRevokeParams {
    /// A web session id or unique prefix, or `all`.
    pub id: String,
}

/// `web.revoke` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebRevoked {
    /// The web sessions signed out (their open WebSockets are closed).
    pub revoked: Vec<String>,
}

/// Formats ms since the Unix epoch as RFC 3339 UTC with ms precision.
pub fn rfc3339(ms: i64) -> String {
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(ts) => format!("{ts:.3}"),
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
    }

    #[test]
    fn session_view_flattens() {
        let v = serde_json::to_value(SessionView::new(Session::new("s", "claude", 5))).unwrap();
        assert_eq!(v["id"], "s");
        assert_eq!(v["status"], "starting");
        assert_eq!(v["updated_at"], "1970-01-01T00:00:00.005Z");
    }
}

/// A WASM plugin's state (`plugins.list`, and the result of `plugins.enable`
/// / `plugins.disable`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PluginView {
    /// Its name (the files are `NAME.wasm` and `NAME.toml`).
    pub name: String,
    /// Its version, when loaded.
    pub version: Option<String>,
    /// `enabled`, `disabled` (by the user, or after repeated failures) or
    /// `failed` (it never loaded).
    pub state: String,
    /// Why it is disabled or failed to load; for an enabled one, why its
    /// newest files did not load (the previous version runs).
    pub reason: Option<String>,
    /// Tool names it decides on (globs).
    pub tools: Vec<String>,
    /// Event kinds it is told of.
    pub events: Vec<String>,
    /// Capabilities its manifest asks for.
    pub capabilities: Vec<String>,
    /// Of those, the ones `[plugins.grants]` gives it.
    pub granted: Vec<String>,
    /// Calls so far.
    pub calls: u64,
    /// Calls that failed (it abstained).
    pub errors: u64,
    /// Mean call time, µs.
    pub mean_us: u64,
    /// BLAKE3 of the running version (16 hex digits).
    pub hash: Option<String>,
    /// When the running version was loaded, ms since the Unix epoch.
    pub loaded_ms: Option<i64>,
}

/// `plugins.enable`, `plugins.disable`, `plugins.logs` params.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PluginParams {
    /// The plugin's name.
    pub name: String,
}

/// One line of a plugin's log (`plugins.logs`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PluginLogLine {
    /// When, ms since the Unix epoch.
    pub ts_ms: i64,
    /// `info` (the plugin's own), `warn` (a failure) or `load`.
    pub level: String,
    /// The text.
    pub text: String,
}

/// `rules.test` params: a tool call to judge without running it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RulesTestParams {
    /// Tool name (`Bash`, `Edit`, `mcp__github__create_issue`).
    pub tool: String,
    /// Its input.
    #[serde(default)]
    pub input: Value,
    /// The session's working directory (project rules, git for plugins).
    #[serde(default)]
    pub cwd: Option<String>,
}

/// One plugin's answer in `rules.test`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PluginVerdictView {
    /// The plugin.
    pub plugin: String,
    /// `allow`, `deny`, `ask` or `abstain`.
    pub decision: String,
    /// Its message (deny) or reason (allow, ask).
    pub message: Option<String>,
    /// Why it abstained when it failed (trapped, timed out, garbage).
    pub failure: Option<String>,
}

/// `rules.test` result: what agentd would do with the call, and who
/// decided.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RulesTestResult {
    /// `allow`, `deny`, `ask`, or `none` (nothing decides: Claude Code's
    /// own permission flow does).
    pub decision: String,
    /// Who and why: the rule or plugin, in words.
    pub why: String,
    /// Every plugin asked, in order.
    pub plugins: Vec<PluginVerdictView>,
}
