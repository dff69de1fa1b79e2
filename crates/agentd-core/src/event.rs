//! Vendor-neutral lifecycle events.
//!
//! An adapter maps one agent-specific input (a Claude Code hook payload, a
//! status-line snapshot, a process exit noticed by the daemon) to one
//! [`LifecycleEvent`]. The session state machine consumes only these.

use serde::{Deserialize, Serialize};

/// One thing that happened to a session, as the state machine sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LifecycleEvent {
    /// The session this event belongs to (Claude Code's `session_id`, a UUID).
    pub session_id: String,
    /// When the daemon received it, in milliseconds since the Unix epoch.
    pub ts_ms: i64,
    /// What happened.
    pub kind: EventKind,
    /// Facts about the session that came with the event; `None` fields leave
    /// the session's current value unchanged.
    pub context: EventContext,
}

/// Session facts carried by an event. Every field is optional because agents
/// send different subsets on different events and versions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EventContext {
    /// Working directory of the agent at the time of the event.
    pub cwd: Option<String>,
    /// Project root (Claude Code's `CLAUDE_PROJECT_DIR` / `workspace.project_dir`).
    pub project_dir: Option<String>,
    /// Path of the session's transcript file.
    pub transcript_path: Option<String>,
    /// Permission mode, e.g. `default`, `plan`, `acceptEdits`.
    pub permission_mode: Option<String>,
    /// Model id, e.g. `claude-sonnet-4-5`.
    pub model: Option<String>,
    /// Git branch checked out in `cwd`.
    pub git_branch: Option<String>,
    /// tmux pane id (`%12`) of the terminal the agent runs in.
    pub tmux_pane: Option<String>,
    /// Process id of the agent process.
    pub pid: Option<u32>,
    /// Subagent id when the event comes from inside a subagent.
    pub agent_id: Option<String>,
    /// Subagent type (e.g. `Explore`) when inside a subagent.
    pub agent_type: Option<String>,
}

/// What happened. Serialized with a `type` tag holding [`EventKind::name`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum EventKind {
    /// A session started, resumed, was cleared or compacted (`source`).
    #[serde(rename = "session.started")]
    SessionStarted {
        /// `startup`, `resume`, `clear`, `compact` or `fork`.
        source: Option<String>,
    },
    /// The user submitted a prompt: a turn begins.
    #[serde(rename = "prompt.submitted")]
    PromptSubmitted,
    /// A tool call is about to run.
    #[serde(rename = "tool.started")]
    ToolStarted {
        /// Tool name (`Bash`, `Edit`, `mcp__server__tool`).
        tool: String,
        /// The call's id (`toolu_…`), when the agent sends one.
        tool_use_id: Option<String>,
    },
    /// A tool call finished; `failed` when it errored or was interrupted.
    #[serde(rename = "tool.finished")]
    ToolFinished {
        /// Tool name.
        tool: String,
        /// The call's id, when the agent sends one.
        tool_use_id: Option<String>,
        /// Whether the call errored or was interrupted.
        failed: bool,
    },
    /// The agent asks the human to approve a tool call (permission request).
    #[serde(rename = "permission.requested")]
    PermissionRequested {
        /// The tool asking for permission.
        tool: String,
    },
    /// A tool call was denied without a human (e.g. an auto-mode classifier).
    #[serde(rename = "permission.denied")]
    PermissionDenied {
        /// The tool that was denied.
        tool: String,
    },
    /// The agent waits for the human to answer something other than a
    /// permission request (a question, an elicitation dialog).
    #[serde(rename = "input.requested")]
    InputRequested {
        /// What asks: `AskUserQuestion`, `elicitation_dialog`, ...
        reason: Option<String>,
    },
    /// The agent finished its turn and waits for the next prompt.
    #[serde(rename = "turn.stopped")]
    TurnStopped,
    /// The turn ended because of an error (rate limit, API error, ...).
    #[serde(rename = "turn.failed")]
    TurnFailed {
        /// The error class (`rate_limit`, `server_error`, ...).
        error: Option<String>,
    },
    /// A notification without a more specific meaning.
    #[serde(rename = "notification")]
    Notification {
        /// The agent's notification type, if it sent one.
        notification_type: Option<String>,
    },
    /// The agent has been idle at its prompt for a while.
    #[serde(rename = "idle")]
    Idle,
    /// A subagent was spawned.
    #[serde(rename = "subagent.started")]
    SubagentStarted {
        /// The subagent's id.
        agent_id: Option<String>,
        /// The subagent's type (`Explore`, ...).
        agent_type: Option<String>,
    },
    /// A subagent finished.
    #[serde(rename = "subagent.stopped")]
    SubagentStopped {
        /// The subagent's id.
        agent_id: Option<String>,
        /// The subagent's type.
        agent_type: Option<String>,
    },
    /// Context compaction is about to run.
    #[serde(rename = "compaction.started")]
    CompactionStarted,
    /// A status snapshot (status line): model, context usage, cost.
    #[serde(rename = "status.updated")]
    StatusUpdated {
        /// Used share of the context window, 0–100 (percent).
        context_pct: Option<f64>,
        /// Total session cost so far, in USD.
        cost_usd: Option<f64>,
    },
    /// The session ended (`reason` as the agent gave it).
    #[serde(rename = "session.ended")]
    SessionEnded {
        /// `clear`, `logout`, `prompt_input_exit`, `other`, ...
        reason: Option<String>,
    },
    /// An approval was created: the session waits for a human.
    #[serde(rename = "approval.requested")]
    ApprovalRequested {
        /// The approval's id.
        approval_id: String,
        /// The tool it is for.
        tool: String,
    },
    /// An approval left `pending`.
    #[serde(rename = "approval.resolved")]
    ApprovalResolved {
        /// The approval's id.
        approval_id: String,
        /// Its final status (`allowed`, `answered_in_terminal`, ...).
        status: crate::approval::ApprovalStatus,
        /// Which hook held it.
        origin: crate::approval::Origin,
    },
    /// The daemon noticed that the agent's process is gone.
    #[serde(rename = "process.exited")]
    ProcessExited,
    /// The daemon found a running agent that does not report (no hooks, or
    /// started before agentd), with the status its own state says.
    #[serde(rename = "session.discovered")]
    Discovered {
        /// The status inferred from the agent's state.
        status: crate::session::Status,
    },
    /// agentd's hook runner started a check (payload: `run_id`, `hook`, `dir`).
    #[serde(rename = "hook.started")]
    HookStarted,
    /// A line of a check's output (payload: `run_id`, `hook`, `dir`,
    /// `stream`, `line`; the first lines of each run).
    #[serde(rename = "hook.output")]
    HookOutput,
    /// A check finished (payload: its run record).
    #[serde(rename = "hook.finished")]
    HookFinished,
    /// An event the adapter does not interpret; kept in the log by name.
    #[serde(rename = "other")]
    Other {
        /// The source's name for the event.
        name: String,
    },
}

impl EventKind {
    /// The stable kind name stored in the event log and used by `kinds` filters.
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::SessionStarted { .. } => "session.started",
            EventKind::PromptSubmitted => "prompt.submitted",
            EventKind::ToolStarted { .. } => "tool.started",
            EventKind::ToolFinished { failed: false, .. } => "tool.finished",
            EventKind::ToolFinished { failed: true, .. } => "tool.failed",
            EventKind::PermissionRequested { .. } => "permission.requested",
            EventKind::PermissionDenied { .. } => "permission.denied",
            EventKind::InputRequested { .. } => "input.requested",
            EventKind::TurnStopped => "turn.stopped",
            EventKind::TurnFailed { .. } => "turn.failed",
            EventKind::Notification { .. } => "notification",
            EventKind::Idle => "idle",
            EventKind::SubagentStarted { .. } => "subagent.started",
            EventKind::SubagentStopped { .. } => "subagent.stopped",
            EventKind::CompactionStarted => "compaction.started",
            EventKind::StatusUpdated { .. } => "status.updated",
            EventKind::SessionEnded { .. } => "session.ended",
            EventKind::ApprovalRequested { .. } => "approval.requested",
            EventKind::ApprovalResolved { .. } => "approval.resolved",
            EventKind::ProcessExited => "process.exited",
            EventKind::Discovered { .. } => "session.discovered",
            EventKind::HookStarted => "hook.started",
            EventKind::HookOutput => "hook.output",
            EventKind::HookFinished => "hook.finished",
            EventKind::Other { .. } => "other",
        }
    }
}
