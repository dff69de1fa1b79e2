//! The runner link and HQ's read API.
//!
//! A runner (any `agentd serve` with `[hq] url` and a runner token) dials
//! HQ's [`RUNNER_PATH`] as a WebSocket with `Authorization: Bearer
//! <runner token>` and speaks JSON text frames, one message each:
//!
//! ```text
//! runner → HQ   {"type":"hello","runner":"laptop","version":"0.1.0","os":"linux","labels":[],"head_seq":812}
//! HQ → runner   {"type":"welcome","runner":"laptop","acked_seq":790}
//! runner → HQ   {"type":"events","events":[EventRecord, …]}   (seq 791…, in order, no gaps skipped)
//! HQ → runner   {"type":"ack","seq":812}                      (committed at HQ)
//! HQ → runner   {"type":"decide","request":7,"params":DecideParams}   (a user's decision)
//! runner → HQ   {"type":"decided","request":7,"approval":ApprovalView} or {…,"error":{"code","message"}}
//! HQ → runner   {"type":"launch","request":8,"params":LaunchParams}      (an operator's launch)
//! runner → HQ   {"type":"launched","request":8,"launched":Launched} or {…,"error":{…}}
//! HQ → runner   {"type":"terminal","request":9,"call":TerminalCall}   (an operator's terminal)
//! runner → HQ   {"type":"answered","request":9,"value":…} or {…,"error":{…}}
//! HQ → runner   {"type":"usage","request":10,"query":UsageQuery}      (a user's usage report)
//! HQ → runner   {"type":"session","request":11,"call":SessionCall}    (an operator's send/interrupt/kill)
//! runner → HQ   {"type":"answered","request":10,"value":UsageReport} or {…,"error":{…}}
//! either way    WebSocket pings every 10 s; HQ closes a link silent for 30 s
//! HQ → runner   {"type":"error","message":"…"}                then close
//! ```
//!
//! A terminal is not streamed over the link (a busy terminal would hold
//! up events and decisions): for `{"op":"attach","channel":C,…}` the runner
//! dials a second WebSocket to [`terminal_channel_path`]`(C)` with its
//! runner token and streams the terminal over it in the daemon's terminal
//! protocol (`agentd_daemon::terminal_stream`); HQ splices that socket to
//! the browser's `GET /hq/v1/runners/{name}/terminals/{id}/attach`.
//!
//! Delivery is exactly once by construction: the runner always resumes
//! after the `acked_seq` HQ committed, and HQ stores each `(runner, seq)`
//! once, so a broken link or an HQ restart neither loses nor duplicates.
//!
//! Users read HQ over HTTP with a user token (`Authorization: Bearer`):
//! `GET /hq/v1/status` → [`HqStatus`], `GET /hq/v1/runners` →
//! `[RunnerView]`, `GET /hq/v1/sessions` → `[HqSessionView]`,
//! `GET /hq/v1/approvals?all=true` → `[HqApprovalView]` (pending ones
//! without `all`), `POST /hq/v1/approvals/{id}/decision` with
//! [`DecisionBody`] → [`HqApprovalView`] (role `approver`),
//! `POST /hq/v1/runners/{name}/launch` with `LaunchParams` → [`HqLaunched`]
//! (role `operator`), and
//! `GET|POST /hq/v1/runners/{name}/terminals` (list → `[TerminalView]`; start
//! with `TerminalStartParams` → `TerminalView`), `DELETE
//! /hq/v1/runners/{name}/terminals/{id}`, `GET
//! /hq/v1/runners/{name}/terminals/{id}/attach?from=` (a WebSocket; role
//! `operator` for all four), and
//! `GET /hq/v1/audit` → `[AuditEntry]`. Errors are `{"error": message}`
//! with 400, 401, 403, 404, 409, 410, 503 or 500.

use serde::{Deserialize, Serialize};

use crate::api::{
    ApprovalView, DecideParams, EventRecord, LaunchParams, Launched, SessionView,
    TerminalStartParams,
};

/// Where runners dial in (a WebSocket upgrade).
pub const RUNNER_PATH: &str = "/hq/v1/runner";
/// HQ's status for a user.
pub const STATUS_PATH: &str = "/hq/v1/status";
/// Every runner HQ knows.
pub const RUNNERS_PATH: &str = "/hq/v1/runners";
/// Every session of every runner.
pub const SESSIONS_PATH: &str = "/hq/v1/sessions";
/// Approvals of every runner.
pub const APPROVALS_PATH: &str = "/hq/v1/approvals";
/// What users did through HQ.
pub const AUDIT_PATH: &str = "/hq/v1/audit";
/// HQ's GraphQL face (`POST`, a user token).
pub const GRAPHQL_PATH: &str = "/hq/graphql";

/// `POST /hq/v1/runners/{name}/launch`'s path.
pub fn launch_path(runner: &str) -> String {
    format!("{RUNNERS_PATH}/{runner}/launch")
}

/// `GET|POST /hq/v1/runners/{name}/terminals`'s path.
pub fn terminals_path(runner: &str) -> String {
    format!("{RUNNERS_PATH}/{runner}/terminals")
}

/// `DELETE /hq/v1/runners/{name}/terminals/{id}`'s path.
pub fn terminal_path(runner: &str, id: &str) -> String {
    format!("{RUNNERS_PATH}/{runner}/terminals/{id}")
}

/// Where a runner dials to stream a terminal HQ asked it to attach.
pub fn terminal_channel_path(channel: &str) -> String {
    format!("{RUNNER_PATH}/terminal/{channel}")
}

/// `POST /hq/v1/approvals/{id}/decision`'s path.
pub fn decision_path(approval_id: &str) -> String {
    format!("{APPROVALS_PATH}/{approval_id}/decision")
}

/// Largest link frame either side accepts, bytes: a batch of events is cut
/// to stay under it (any one event fits: see [`crate::MAX_PAYLOAD_BYTES`]).
pub const MAX_LINK_FRAME_BYTES: usize = 4 << 20;

/// What a runner sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RunnerMessage {
    /// First message on a link.
    Hello {
        /// The runner's name as it knows itself; HQ checks it against the
        /// token's (absent: the token's).
        #[serde(default)]
        runner: Option<String>,
        /// agentd's version on the runner.
        version: String,
        /// `std::env::consts::OS` of the runner.
        os: String,
        /// Free-form labels from `[hq] labels`.
        #[serde(default)]
        labels: Vec<String>,
        /// The runner's newest `seq` when it dialled.
        head_seq: u64,
        /// The runner's host name: the name an unbound runner token
        /// (`agentd hq token create --runner` without a name) takes.
        #[serde(default)]
        hostname: Option<String>,
    },
    /// Events after the last acknowledged one, in `seq` order.
    Events {
        /// The events.
        events: Vec<EventRecord>,
    },
    /// The answer to a `launch`.
    Launched {
        /// The `launch`'s `request`.
        request: u64,
        /// The session started.
        #[serde(default)]
        launched: Option<Launched>,
        /// Why it was not.
        #[serde(default)]
        error: Option<LinkError>,
    },
    /// The answer to a `terminal` call: `value` as [`TerminalCall`] says.
    Answered {
        /// The call's `request`.
        request: u64,
        /// The result.
        #[serde(default)]
        value: Option<serde_json::Value>,
        /// Why there is none.
        #[serde(default)]
        error: Option<LinkError>,
    },
    /// The answer to a `decide`.
    Decided {
        /// The `decide`'s `request`.
        request: u64,
        /// The approval as decided.
        #[serde(default)]
        approval: Option<Box<ApprovalView>>,
        /// Why it was not.
        #[serde(default)]
        error: Option<LinkError>,
    },
}

/// A runner's refusal of a request from HQ.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkError {
    /// The runner's error kind: `not_found`, `ambiguous`, `invalid`,
    /// `conflict`, `gone`, `shutting_down`, `overloaded`, `too_large`,
    /// `store` or `internal`.
    pub code: String,
    /// What was wrong and what to do.
    pub message: String,
}

/// What HQ sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum HqMessage {
    /// The answer to `hello`: send events after `acked_seq`.
    Welcome {
        /// The runner's name at HQ (the token's).
        runner: String,
        /// Newest `seq` of this runner HQ has committed (0: none).
        acked_seq: u64,
    },
    /// Everything up to `seq` is committed at HQ.
    Ack {
        /// The newest committed `seq`.
        seq: u64,
    },
    /// A user's decision on one of this runner's approvals.
    Decide {
        /// Echoed in the `decided` answer.
        request: u64,
        /// The decision (`by` names the user, `hq:NAME`).
        params: DecideParams,
    },
    /// Start Claude Code on this runner (an operator's `agentd launch
    /// --runner`); the runner's slots apply.
    Launch {
        /// Echoed in the `launched` answer.
        request: u64,
        /// As `sessions.launch` takes them.
        params: LaunchParams,
    },
    /// An operator's terminal call.
    Terminal {
        /// Echoed in the `answered` answer.
        request: u64,
        /// What to do.
        call: TerminalCall,
    },
    /// A usage report of this runner's transcripts (every row, not a
    /// page), answered with `answered`.
    Usage {
        /// Echoed in the `answered` answer.
        request: u64,
        /// As `usage.report` takes it.
        query: crate::history::UsageQuery,
    },
    /// Steer one of this runner's launched sessions, answered with
    /// `answered`.
    Session {
        /// Echoed in the `answered` answer.
        request: u64,
        /// What to do.
        call: SessionCall,
    },
    /// Why HQ is closing the link.
    Error {
        /// What was wrong and what to do.
        message: String,
    },
}

/// A terminal call HQ makes on a runner, and what its answer's `value`
/// holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum TerminalCall {
    /// Start one (as `terminals.start`): a `TerminalView`.
    Start {
        /// What to start.
        params: TerminalStartParams,
    },
    /// The runner's terminals: `[TerminalView]`.
    List,
    /// End one's process group and forget it: its last `TerminalView`.
    Close {
        /// Its id (or a unique prefix).
        id: String,
    },
    /// Stream one over a new WebSocket to [`terminal_channel_path`]:
    /// `null` once the runner found the terminal (it dials next).
    Attach {
        /// Its id (or a unique prefix).
        id: String,
        /// Replay from this output offset (`None`: all the buffer holds).
        #[serde(default)]
        from: Option<u64>,
        /// The channel HQ waits on (32 hex).
        channel: String,
    },
}

/// An operator's call on a runner's launched session, and what its
/// answer's `value` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum SessionCall {
    /// A message (as `sessions.send`): `Launched`.
    Send {
        /// The session's full id.
        id: String,
        /// The message.
        message: String,
    },
    /// Interrupt its turn (as `sessions.interrupt`): `Interrupted`.
    Interrupt {
        /// The session's full id.
        id: String,
    },
    /// End it (as `sessions.kill`): `Killed`.
    Kill {
        /// The session's full id.
        id: String,
    },
}

impl SessionCall {
    /// `send`, `interrupt` or `kill`.
    pub fn name(&self) -> &'static str {
        match self {
            SessionCall::Send { .. } => "send",
            SessionCall::Interrupt { .. } => "interrupt",
            SessionCall::Kill { .. } => "kill",
        }
    }
}

/// What a session call through HQ answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HqSteered {
    /// The runner.
    pub runner: String,
    /// The runner's answer (`Launched`, `Interrupted` or `Killed`).
    pub result: serde_json::Value,
}

/// `POST /hq/v1/sessions/{id}/send` with `{"message"}`, `…/interrupt`,
/// `…/kill`: the path of `action` on session `id`.
pub fn session_call_path(id: &str, action: &str) -> String {
    format!("{SESSIONS_PATH}/{id}/{action}")
}

/// A terminal of a runner, at HQ.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HqTerminalView {
    /// The runner.
    pub runner: String,
    /// The terminal as the runner reports it.
    pub terminal: crate::api::TerminalView,
}

/// `GET /hq/v1/usage?group_by=daily&since=&until=&timezone=`: every
/// reachable runner's token usage and cost, merged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HqUsage {
    /// The runners' rows added up by `period` (a day, a month, a project,
    /// a model; session ids are unique, so sessions stay apart), in the
    /// order the runners' own reports use.
    pub rows: Vec<crate::history::UsageRow>,
    /// Every reached runner's totals added up (`period` is `total`).
    pub totals: crate::history::UsageRow,
    /// The time zone days were cut in.
    pub timezone: String,
    /// Each runner HQ knows: its totals, or why it is not in the report.
    pub runners: Vec<RunnerUsage>,
}

/// One runner's part of an [`HqUsage`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunnerUsage {
    /// The runner.
    pub runner: String,
    /// Its totals (absent when it could not be asked).
    #[serde(default)]
    pub totals: Option<crate::history::UsageRow>,
    /// Why it is not in the report (offline, no index, no answer).
    #[serde(default)]
    pub error: Option<String>,
}

/// What HQ's usage report covers.
pub const USAGE_PATH: &str = "/hq/v1/usage";

/// A runner as HQ sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunnerView {
    /// Its name (from its token).
    pub name: String,
    /// Whether a link is up now.
    pub online: bool,
    /// agentd's version it last reported.
    pub version: Option<String>,
    /// Its OS.
    pub os: Option<String>,
    /// Its labels.
    pub labels: Vec<String>,
    /// Its address as HQ saw it last.
    pub peer: Option<String>,
    /// When it last connected, ms since the Unix epoch.
    pub connected_ms: Option<i64>,
    /// When HQ last heard from it, ms since the Unix epoch.
    pub last_seen_ms: Option<i64>,
    /// Newest `seq` of its log HQ holds.
    pub acked_seq: u64,
    /// Events of its log HQ holds.
    pub events: u64,
    /// Its sessions HQ knows (live and ended).
    pub sessions: usize,
}

/// One session at HQ: the runner's session and which runner has it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HqSessionView {
    /// The runner.
    pub runner: String,
    /// The session, as the runner's own `sessions.list` would show it.
    pub session: SessionView,
}

/// An approval at HQ: which runner holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HqApprovalView {
    /// The runner.
    pub runner: String,
    /// The approval as the runner's log last told it.
    pub approval: ApprovalView,
}

/// A session started on a runner through HQ.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HqLaunched {
    /// The runner.
    pub runner: String,
    /// What the runner's `sessions.launch` answered.
    pub launched: Launched,
}

/// `POST /hq/v1/approvals/{id}/decision`'s body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionBody {
    /// `{"behavior": "allow"}`, `{"behavior": "deny", "message"}`, … as
    /// `approvals.decide` takes it.
    pub decision: agentd_core::Decision,
    /// Allow with the request's permission suggestions.
    #[serde(default)]
    pub apply_suggestions: bool,
    /// Why, for the record.
    #[serde(default)]
    pub reason: Option<String>,
}

/// One thing a user did through HQ.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// When, ms since the Unix epoch.
    pub ts_ms: i64,
    /// The user.
    pub user: String,
    /// Their token's id.
    pub token_id: String,
    /// Their address.
    pub peer: Option<String>,
    /// What (`approval.decide`).
    pub action: String,
    /// On which runner.
    pub runner: String,
    /// On what (an approval id).
    pub target: String,
    /// `ok`, or the error.
    pub outcome: String,
}

/// `GET /hq/v1/status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HqStatus {
    /// agentd's version at HQ.
    pub version: String,
    /// Runners known.
    pub runners: usize,
    /// Runners with a link up.
    pub online: usize,
    /// Sessions known, all runners.
    pub sessions: usize,
    /// Events held, all runners.
    pub events: u64,
}

/// A runner's link to HQ, in its `health`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HqLinkView {
    /// HQ's URL.
    pub url: String,
    /// The name HQ knows this runner by (after the first welcome).
    pub runner: Option<String>,
    /// Whether the link is up.
    pub connected: bool,
    /// Newest `seq` HQ has acknowledged.
    pub acked_seq: u64,
    /// Why the last attempt failed, if it did.
    pub last_error: Option<String>,
    /// Links made since the daemon started.
    pub connects: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_tagged_by_type() {
        let m = HqMessage::Welcome {
            runner: "a".into(),
            acked_seq: 3,
        };
        let s = serde_json::to_string(&m).unwrap();
        assert_eq!(s, r#"{"type":"welcome","runner":"a","acked_seq":3}"#);
        let h: RunnerMessage =
            serde_json::from_str(r#"{"type":"hello","version":"0.1.0","os":"linux","head_seq":0}"#)
                .unwrap();
        assert!(matches!(h, RunnerMessage::Hello { runner: None, .. }));
        assert!(serde_json::from_str::<RunnerMessage>(r#"{"type":"nope"}"#).is_err());
    }
}
