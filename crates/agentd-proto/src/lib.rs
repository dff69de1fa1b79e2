//! agentd's local API: newline-delimited JSON-RPC 2.0 over a Unix socket.
//!
//! One JSON object per line, each at most [`MAX_FRAME_BYTES`]. The first
//! request on a connection must be [`method::INITIALIZE`] with a
//! [`PROTOCOL_VERSION`] of the same major version. Errors carry the stable
//! codes in [`code`]. Method params and results are the types of [`api`].

#![warn(missing_docs)]

pub mod api;
pub mod frame;
pub mod history;
pub mod hq;

pub use frame::{Notification, Request, Response, RpcError};

/// Version of this protocol, `MAJOR.MINOR`. Clients and daemons with the same
/// major version interoperate; minors only add optional fields and methods.
pub const PROTOCOL_VERSION: &str = "1.0";

/// Largest frame (one JSON line, newline excluded) either side accepts, bytes.
pub const MAX_FRAME_BYTES: usize = 1 << 20;

/// Largest payload stored, bytes of compact JSON: small enough that any one
/// event, with its envelope and session, fits in a response frame. The one
/// limit the hook client, the spool and the store agree on: a larger
/// payload is cut to fit (`agentd_claude::hook::fit_payload`, which marks
/// what it removed), never dropped.
pub const MAX_PAYLOAD_BYTES: usize = MAX_FRAME_BYTES - 64 * 1024;

/// Method names.
pub mod method {
    /// Handshake; must come first. Params [`crate::api::InitializeParams`].
    pub const INITIALIZE: &str = "initialize";
    /// Daemon health. Result [`crate::api::Health`].
    pub const HEALTH: &str = "health";
    /// Turns the connection into a Model Context Protocol stream: after its
    /// result (`{"protocol": "mcp"}`), every line either way is an MCP
    /// JSON-RPC message (`agentd mcp` splices its stdio to it).
    pub const MCP_SERVE: &str = "mcp.serve";
    /// WASM plugins and their state. Result `[`[`crate::api::PluginView`]`]`.
    pub const PLUGINS_LIST: &str = "plugins.list";
    /// Loads what changed in the plugin folder now. Result as `plugins.list`.
    pub const PLUGINS_RELOAD: &str = "plugins.reload";
    /// Enables a plugin (clearing a disable after failures). Params
    /// [`crate::api::PluginParams`]; result [`crate::api::PluginView`].
    pub const PLUGINS_ENABLE: &str = "plugins.enable";
    /// Disables a plugin (kept across restarts). Params and result as
    /// `plugins.enable`.
    pub const PLUGINS_DISABLE: &str = "plugins.disable";
    /// A plugin's log. Params [`crate::api::PluginParams`]; result
    /// `[`[`crate::api::PluginLogLine`]`]`.
    pub const PLUGINS_LOGS: &str = "plugins.logs";
    /// Judges a tool call with the rules and the plugins, without running
    /// it. Params [`crate::api::RulesTestParams`]; result
    /// [`crate::api::RulesTestResult`].
    pub const RULES_TEST: &str = "rules.test";
    /// Store and index a memory document. Params
    /// [`crate::history::IndexDocumentParams`]; result
    /// [`crate::history::Document`].
    pub const MEMORY_INDEX: &str = "memory.index";
    /// Slots held now. Result `[`[`crate::api::Slot`]`]`.
    pub const SLOTS_LIST: &str = "slots.list";
    /// Take a slot. Params [`crate::api::SlotsAcquireParams`]; result
    /// [`crate::api::Slot`].
    pub const SLOTS_ACQUIRE: &str = "slots.acquire";
    /// Give a slot back. Params [`crate::api::SlotsReleaseParams`]; result
    /// [`crate::api::Slot`].
    pub const SLOTS_RELEASE: &str = "slots.release";
    /// Start a terminal (a command in a PTY on the daemon's machine).
    /// Params [`crate::api::TerminalStartParams`]; result
    /// [`crate::api::TerminalView`].
    pub const TERMINALS_START: &str = "terminals.start";
    /// Terminals. Result `[`[`crate::api::TerminalView`]`]`.
    pub const TERMINALS_LIST: &str = "terminals.list";
    /// End a terminal's process group and forget it. Params
    /// [`crate::api::TerminalCloseParams`]; result
    /// [`crate::api::TerminalView`].
    pub const TERMINALS_CLOSE: &str = "terminals.close";
    /// A one-time sign-in link for the web UI. Result
    /// [`crate::api::WebLogin`].
    pub const WEB_LOGIN: &str = "web.login";
    /// Browsers signed in to the web UI. Result
    /// `[`[`crate::api::WebSessionView`]`]`.
    pub const WEB_SESSIONS: &str = "web.sessions";
    /// Signs browsers out. Params [`crate::api::WebRevokeParams`]; result
    /// [`crate::api::WebRevoked`].
    pub const WEB_REVOKE: &str = "web.revoke";
    /// A Claude Code hook payload. Params [`crate::api::IngestParams`].
    pub const HOOK_INGEST: &str = "hook.ingest";
    /// A status-line snapshot. Params [`crate::api::IngestParams`].
    pub const STATUS_INGEST: &str = "status.ingest";
    /// Sessions. Params [`crate::api::SessionsListParams`].
    pub const SESSIONS_LIST: &str = "sessions.list";
    /// One session. Params [`crate::api::SessionsGetParams`].
    pub const SESSIONS_GET: &str = "sessions.get";
    /// Every live session's process figures (CPU %, RSS bytes), as last
    /// sampled. No params; result `[`[`crate::api::SessionProcess`]`]`.
    pub const SESSIONS_PROCESSES: &str = "sessions.processes";
    /// Events from the log. Params [`crate::api::EventsListParams`].
    pub const EVENTS_LIST: &str = "events.list";
    /// Snapshot, then live events as notifications. Params
    /// [`crate::api::SubscribeParams`].
    pub const EVENTS_SUBSCRIBE: &str = "events.subscribe";
    /// Approvals. Params [`crate::api::ApprovalsListParams`].
    pub const APPROVALS_LIST: &str = "approvals.list";
    /// One approval. Params [`crate::api::ApprovalsGetParams`].
    pub const APPROVALS_GET: &str = "approvals.get";
    /// Decide a pending approval. Params [`crate::api::DecideParams`].
    pub const APPROVALS_DECIDE: &str = "approvals.decide";
    /// Start Claude Code headless. Params [`crate::api::LaunchParams`].
    pub const SESSIONS_LAUNCH: &str = "sessions.launch";
    /// Send a message to a launched session. Params [`crate::api::SendParams`].
    pub const SESSIONS_SEND: &str = "sessions.send";
    /// Interrupt a launched session's turn. Params [`crate::api::SessionsGetParams`].
    pub const SESSIONS_INTERRUPT: &str = "sessions.interrupt";
    /// SIGINT, SIGTERM, SIGKILL to a launched session's process group.
    /// Params [`crate::api::SessionsGetParams`].
    pub const SESSIONS_KILL: &str = "sessions.kill";
    /// Full-text search over transcripts. Params `agentd_index::query::SearchQuery`
    /// (`{query, project?, session_id?, since_ms?, until_ms?, limit?}`);
    /// result `[hit]`.
    pub const SEARCH: &str = "search";
    /// A session's transcript, paged. Params `{id, offset?, limit?}`;
    /// result `{session_id, messages, total}`.
    pub const TRANSCRIPT_GET: &str = "transcript.get";
    /// Token and cost report. Params `{group_by: daily|monthly|session|project|model,
    /// since?, until?, timezone?}`; result `{rows, totals, timezone}`.
    pub const USAGE_REPORT: &str = "usage.report";
    /// Indexing progress and counts.
    pub const INDEX_STATUS: &str = "index.status";
    /// Start a reconcile scan now.
    pub const INDEX_RESCAN: &str = "index.rescan";
    /// The effective hook definitions. Params `{cwd?}`; result
    /// `{hooks: [definition + origin], errors: [text]}`.
    pub const HOOKS_LIST: &str = "hooks.list";
    /// Run the hooks of an event now. Params `{event, payload?, session_id?,
    /// cwd?, dir?, hooks?, no_cache?}`; `hook.output` notifications, then
    /// `{runs, output, blocked}`.
    pub const HOOKS_EXECUTE: &str = "hooks.execute";
    /// Recorded hook runs, newest first. Params `{limit?, session_id?}`.
    pub const HOOKS_HISTORY: &str = "hooks.history";
    /// Hook runs started and not finished yet. Params `{session_id?}`;
    /// result `[PendingHookRun]`.
    pub const HOOKS_PENDING: &str = "hooks.pending";
    /// Record a run done by a runner outside agentd. Params
    /// [`crate::api::RecordExecutionParams`]; result the run record.
    pub const HOOKS_RECORD: &str = "hooks.record";
    /// Whether a hook's last pass still covers its files. Params
    /// [`crate::api::FileValidationParams`]; result `FileValidation`.
    pub const HOOKS_VALIDATION_CHECK: &str = "hooks.validation.check";
    /// Record a pass over a hook's files. Params
    /// [`crate::api::FileValidationParams`]; result `FileValidation`.
    pub const HOOKS_VALIDATION_RECORD: &str = "hooks.validation.record";
    /// `{}` → `{examined, compacted, deleted, bytes_freed, file_bytes_before,
    /// file_bytes_after}`: a retention pass now, then a full vacuum.
    pub const STORE_GC: &str = "store.gc";
}

/// Notification method names (daemon → client).
pub mod notification {
    /// One event; params [`crate::api::EventRecord`] plus `subscription`.
    pub const EVENT: &str = "event";
    /// The subscriber fell behind; params [`crate::api::Lagged`]. Events keep
    /// coming, caught up from the log, with no gap and no duplicate.
    pub const LAGGED: &str = "lagged";
    /// The `hook.ingest` call is held for a human; params
    /// `{approval_id, timeout_s}`. Its response comes when decided.
    pub const APPROVAL_HELD: &str = "approval.held";
    /// The `hook.ingest` call runs agentd's hook checks; params
    /// `{hooks, timeout_s}`. Its response comes when they finish.
    pub const HOOKS_RUNNING: &str = "hooks.running";
    /// A line of a hook's output, to the caller of `hooks.execute`; params
    /// `{run_id, hook, dir, stream, line}`.
    pub const HOOK_OUTPUT: &str = "hook.output";
}

/// JSON-RPC error codes. The -32xxx range below -32099 is JSON-RPC's own;
/// -32000..-32099 are agentd's application codes.
pub mod code {
    /// The frame is not valid JSON.
    pub const PARSE_ERROR: i64 = -32700;
    /// Valid JSON but not a JSON-RPC 2.0 request.
    pub const INVALID_REQUEST: i64 = -32600;
    /// No such method.
    pub const METHOD_NOT_FOUND: i64 = -32601;
    /// Params missing, of the wrong shape, or with bad values.
    pub const INVALID_PARAMS: i64 = -32602;
    /// A bug or an unexpected failure inside the daemon.
    pub const INTERNAL_ERROR: i64 = -32603;
    /// A method other than `initialize` came before `initialize`.
    pub const NOT_INITIALIZED: i64 = -32000;
    /// The client's protocol major version differs from the daemon's.
    pub const INCOMPATIBLE_VERSION: i64 = -32001;
    /// The session (or other object) asked for does not exist.
    pub const NOT_FOUND: i64 = -32002;
    /// The frame exceeded [`crate::MAX_FRAME_BYTES`]; the connection is closed.
    pub const FRAME_TOO_LARGE: i64 = -32003;
    /// The store failed to read or write (disk full, I/O error).
    pub const STORE_ERROR: i64 = -32004;
    /// The daemon is shutting down.
    pub const SHUTTING_DOWN: i64 = -32005;
    /// The approval was already resolved (the first decision wins); the
    /// message says by whom and when.
    pub const CONFLICT: i64 = -32006;
    /// The approval can no longer be decided here: its hook call is gone.
    pub const GONE: i64 = -32007;
    /// The daemon sheds this connection to protect the others: too many
    /// connections of its kind, or its partial frame was the oldest when
    /// all connections together held too many buffered bytes. The
    /// connection is closed; retry later.
    pub const OVERLOADED: i64 = -32008;
}

/// The major version of a `MAJOR.MINOR` protocol version string.
pub fn major_version(version: &str) -> Option<u64> {
    version.split('.').next()?.trim().parse().ok()
}
