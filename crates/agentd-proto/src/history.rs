//! History wire types: full-text search, transcripts, usage reports and
//! the index's counts — what `search`, `transcript.get`, `usage.report`
//! and `index.status` take and answer. The transcript index
//! (`agentd-index`) produces them; clients decode them without linking it.

use serde::{Deserialize, Serialize};

/// What to search for.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SearchQuery {
    /// Free text; its words must all occur (any order). No syntax.
    pub query: String,
    /// Only sessions whose cwd or project folder contains this.
    #[serde(default)]
    pub project: Option<String>,
    /// Only this session.
    #[serde(default)]
    pub session_id: Option<String>,
    /// Only messages at or after this time, ms since the Unix epoch.
    #[serde(default)]
    pub since_ms: Option<i64>,
    /// Only messages before this time, ms since the Unix epoch.
    #[serde(default)]
    pub until_ms: Option<i64>,
    /// Most hits in this page (default 20, at most [`SEARCH_PAGE_MAX`]).
    #[serde(default)]
    pub limit: Option<usize>,
    /// Hits to skip, best first: the next page starts at the previous
    /// offset plus the hits it returned (a page shorter than `limit` is
    /// the last). With an offset (0 included) equal scores are ordered by
    /// message, so pages neither repeat nor skip a hit; without one the
    /// faster FTS5 top-k order is used.
    #[serde(default)]
    pub offset: Option<usize>,
}

/// Most hits one `search` call returns; more come by `offset`.
pub const SEARCH_PAGE_MAX: usize = 500;

/// One search hit, best first.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Hit {
    /// Session id.
    pub session_id: String,
    /// Subagent id when the message is a subagent's (`sidechain` for 1.0.x
    /// inline sidechains).
    pub agent_id: Option<String>,
    /// Record `uuid`.
    pub uuid: Option<String>,
    /// Message time, ms since the Unix epoch.
    pub ts_ms: Option<i64>,
    /// Message time, RFC 3339.
    pub ts: Option<String>,
    /// `user`, `assistant`, `tool_result` or `system`.
    pub role: String,
    /// The session's cwd (else its project folder).
    pub project: Option<String>,
    /// Excerpt with the query's words in `«…»`.
    pub snippet: String,
    /// Relevance: SQLite FTS5 BM25 negated, so higher is better.
    pub score: f64,
    /// What was found: `transcript` (a message; the fields above) or
    /// `document` (a memory document: `document_id`, `title`; `session_id`
    /// is the session it was written for, if any).
    #[serde(default = "transcript_kind")]
    pub kind: String,
    /// The memory document's id (`document` hits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_id: Option<String>,
    /// The memory document's title (`document` hits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

fn transcript_kind() -> String {
    "transcript".to_owned()
}

/// A memory document: a note, a decision, a summary an agent wrote — text
/// that is not a transcript, searched together with the transcripts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Document {
    /// `doc_<n>`.
    pub id: String,
    /// Title.
    pub title: String,
    /// The text.
    pub text: String,
    /// Where it comes from (a URL, a file, an agent).
    pub source: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// The project directory it belongs to.
    pub project: Option<String>,
    /// The session it was written for.
    pub session_id: Option<String>,
    /// When it was stored, ms since the Unix epoch.
    pub created_ms: i64,
}

/// `memory.index` params: a document to store and index.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IndexDocumentParams {
    /// Title (required, at most 1 KiB).
    pub title: String,
    /// The text (required, at most 1 MiB less the frame's envelope).
    pub text: String,
    /// Where it comes from.
    #[serde(default)]
    pub source: Option<String>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// The project directory it belongs to.
    #[serde(default)]
    pub project: Option<String>,
    /// The session it was written for.
    #[serde(default)]
    pub session_id: Option<String>,
}

/// One message of a transcript.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MessageView {
    /// Position in the session's transcript (0-based), for paging.
    pub index: u64,
    /// Record `uuid`.
    pub uuid: Option<String>,
    /// ms since the Unix epoch.
    pub ts_ms: Option<i64>,
    /// `user`, `assistant`, `tool_result` or `system`.
    pub role: String,
    /// Subagent id when it is a subagent's message.
    pub agent_id: Option<String>,
    /// Model of assistant messages.
    pub model: Option<String>,
    /// The text (at most [`MESSAGE_TEXT_BYTES`]); empty when the
    /// transcript file is gone or changed.
    pub text: String,
    /// Tool calls: name and a one-line summary.
    pub tools: Vec<ToolView>,
}

/// A tool call in a transcript.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ToolView {
    /// Tool name.
    pub name: String,
    /// What it does (the command, the file, …).
    pub summary: String,
}

/// A page of a transcript.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TranscriptPage {
    /// Session id.
    pub session_id: String,
    /// Messages in order.
    pub messages: Vec<MessageView>,
    /// Messages in the session in all.
    pub total: u64,
}

/// Counts for `index.status`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct IndexCounts {
    /// Files indexed.
    pub files: u64,
    /// Bytes consumed (complete lines).
    pub bytes: u64,
    /// Lines consumed.
    pub lines: u64,
    /// Lines that were not JSON objects (partial writes, garbage).
    pub bad_lines: u64,
    /// Lines over the size limit, counted and not parsed.
    pub skipped_lines: u64,
    /// Conversation records indexed.
    pub messages: u64,
    /// Sessions.
    pub sessions: u64,
    /// Deduplicated API responses with usage.
    pub usage_records: u64,
    /// Records by `type`, every type included.
    pub record_types: std::collections::BTreeMap<String, u64>,
    /// Types agentd does not know, with counts (kept in the count, never
    /// dropped silently).
    pub unknown_types: std::collections::BTreeMap<String, u64>,
}

/// How rows are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GroupBy {
    /// Local calendar day (`YYYY-MM-DD`).
    Daily,
    /// Local calendar month (`YYYY-MM`).
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

/// A report request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageQuery {
    /// Grouping.
    pub group_by: GroupBy,
    /// First local day included, `YYYY-MM-DD`.
    #[serde(default)]
    pub since: Option<String>,
    /// Last local day included, `YYYY-MM-DD`.
    #[serde(default)]
    pub until: Option<String>,
    /// IANA time zone (`Europe/Berlin`, `UTC`); default: the system's.
    #[serde(default)]
    pub timezone: Option<String>,
    /// Only this session's usage (its full id; subagents included).
    #[serde(default)]
    pub session_id: Option<String>,
}

/// One row of a report. Tokens are counts; cost is USD.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UsageRow {
    /// The group: a day, a month, a session id, a project, a model.
    pub period: String,
    /// Uncached input tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Cache-write tokens (5 m and 1 h).
    pub cache_creation_tokens: u64,
    /// Cache-read tokens.
    pub cache_read_tokens: u64,
    /// The four added up.
    pub total_tokens: u64,
    /// Cost of the priced models' tokens, USD; `null` when no token of the
    /// row has a price (never a made-up `0.0`: `unpriced_models` says which).
    pub cost_usd: Option<f64>,
    /// Models used, sorted.
    pub models: Vec<String>,
    /// Models without a price: their tokens are in the counts and not in
    /// `cost_usd`.
    pub unpriced_models: Vec<String>,
}

/// A report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UsageReport {
    /// Rows: days and months in order; otherwise most tokens first.
    pub rows: Vec<UsageRow>,
    /// All rows added up (`period` is `total`).
    pub totals: UsageRow,
    /// The time zone days were cut in.
    pub timezone: String,
}

/// A page of a usage report: its rows from `offset`, the totals of the
/// whole report, and where the next page starts (`None` at the end).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsagePage {
    /// Rows of this page.
    pub rows: Vec<UsageRow>,
    /// Totals of every row (not only this page's; `period` is `total`).
    pub totals: UsageRow,
    /// The IANA time zone days were cut in.
    pub timezone: String,
    /// Where the next page starts.
    pub next_offset: Option<usize>,
}

/// `index.status` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexStatus {
    /// `off`, `indexing` (initial scan), `scanning` (a reconcile scan) or `ready`.
    pub state: String,
    /// Folders indexed.
    pub roots: Vec<String>,
    /// Files needing work in the current/last scan (not every file: see
    /// `counts.files`).
    pub files_total: u64,
    /// Of `files_total`, done.
    pub files_done: u64,
    /// Bytes to read in the current/last scan.
    pub bytes_total: u64,
    /// Of `bytes_total`, read.
    pub bytes_done: u64,
    /// Read rate of the current/last scan, bytes per second.
    pub rate_bytes_per_s: f64,
    /// Files that failed to index since start.
    pub errors: u64,
    /// The last failure.
    pub last_error: Option<String>,
    /// What the index holds.
    pub counts: IndexCounts,
    /// `*.jsonl` files under the roots that the last scan did not index,
    /// counted by reason (`a session's tool-results file, not a
    /// transcript`, ...).
    pub skipped: std::collections::BTreeMap<String, u64>,
    /// Transcript paths named by hook payloads and ignored since start,
    /// counted by reason (`outside the index roots`, `a directory, not a
    /// transcript file`, ...).
    pub nudges_ignored: std::collections::BTreeMap<String, u64>,
}
