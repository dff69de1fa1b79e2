//! The session state machine.
//!
//! A [`Session`] is a pure fold over [`LifecycleEvent`]s: [`Session::apply`]
//! never does IO and never fails, so the daemon can rebuild every session by
//! replaying the event log and get exactly the state it had before.
//!
//! Invariant: every [`Status`] has an exit. `needs_approval` and `needs_input`
//! clear on a finished or denied tool call, a stopped or failed turn and a new
//! prompt; every live status ends on `session.ended` or `process.exited`; an
//! ended session reopens when the agent shows life again (start, prompt, tool).

use serde::{Deserialize, Serialize};

use crate::approval::{ApprovalStatus, Origin};
use crate::event::{EventContext, EventKind, LifecycleEvent};

/// Where a session is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Started; no prompt yet.
    Starting,
    /// A turn is running.
    Working,
    /// Blocked on a permission request for a tool call.
    NeedsApproval,
    /// Blocked on a question or dialog for the human.
    NeedsInput,
    /// Turn finished; waiting for the next prompt.
    Idle,
    /// The session ended or its process is gone.
    Ended,
}

impl Status {
    /// The snake_case name used on the wire (`needs_approval`).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Starting => "starting",
            Status::Working => "working",
            Status::NeedsApproval => "needs_approval",
            Status::NeedsInput => "needs_input",
            Status::Idle => "idle",
            Status::Ended => "ended",
        }
    }

    /// Whether the human is the one holding the session up.
    pub fn needs_user(self) -> bool {
        matches!(self, Status::NeedsApproval | Status::NeedsInput)
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A subagent seen in a session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subagent {
    /// The subagent's id (`agent_id`); empty when the agent did not send one.
    pub agent_id: String,
    /// The subagent's type (`agent_type`, e.g. `Explore`).
    pub agent_type: Option<String>,
    /// Whether it is still running.
    pub active: bool,
}

/// Everything agentd knows about one agent session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// Session id (Claude Code's `session_id`).
    pub id: String,
    /// Which agent runs it: `claude`.
    pub agent: String,
    /// Current status.
    pub status: Status,
    /// When the current status began, ms since the Unix epoch.
    pub status_since_ms: i64,
    /// Current working directory.
    pub cwd: Option<String>,
    /// Project directory: where the session started (`CLAUDE_PROJECT_DIR`),
    /// else the first `cwd` seen.
    pub project: Option<String>,
    /// Git branch checked out in `cwd`.
    pub git_branch: Option<String>,
    /// Model id from the last status line or session start.
    pub model: Option<String>,
    /// Permission mode (`default`, `plan`, `acceptEdits`, ...).
    pub permission_mode: Option<String>,
    /// Path of the transcript JSONL.
    pub transcript_path: Option<String>,
    /// The tool call running now, if any.
    pub current_tool: Option<String>,
    /// The most recent tool called.
    pub last_tool: Option<String>,
    /// The tool a pending permission request is for.
    pub pending_permission: Option<String>,
    /// Ids of this session's pending approvals.
    #[serde(default)]
    pub pending_approvals: Vec<String>,
    /// Prompts submitted.
    pub prompts: u64,
    /// Tool calls started (subagents' included).
    pub tool_calls: u64,
    /// Subagents seen, in order of first appearance.
    pub subagents: Vec<Subagent>,
    /// Used share of the context window, percent (0–100), from the status line.
    pub context_pct: Option<f64>,
    /// Session cost so far in USD, from the status line.
    pub cost_usd: Option<f64>,
    /// tmux pane id the agent runs in.
    pub tmux_pane: Option<String>,
    /// Process id of the agent.
    pub pid: Option<u32>,
    /// Why the session ended (`prompt_input_exit`, `process_exited`, ...).
    pub end_reason: Option<String>,
    /// The last error that ended a turn.
    pub last_error: Option<String>,
    /// Time of the first event, ms since the Unix epoch.
    pub first_event_ms: i64,
    /// Time of the last event, ms since the Unix epoch.
    pub last_event_ms: i64,
    /// Sequence number of the last event applied.
    pub last_seq: u64,
    /// Known only from the daemon's discovery (its process and state
    /// files), not from the agent's hooks; the first hook event clears it.
    #[serde(default)]
    pub discovered: bool,
}

impl Session {
    /// A session seen for the first time at `ts_ms`.
    pub fn new(id: impl Into<String>, agent: impl Into<String>, ts_ms: i64) -> Session {
        Session {
            id: id.into(),
            agent: agent.into(),
            status: Status::Starting,
            status_since_ms: ts_ms,
            cwd: None,
            project: None,
            git_branch: None,
            model: None,
            permission_mode: None,
            transcript_path: None,
            current_tool: None,
            last_tool: None,
            pending_permission: None,
            pending_approvals: Vec::new(),
            prompts: 0,
            tool_calls: 0,
            subagents: Vec::new(),
            context_pct: None,
            cost_usd: None,
            tmux_pane: None,
            pid: None,
            end_reason: None,
            last_error: None,
            first_event_ms: ts_ms,
            last_event_ms: ts_ms,
            last_seq: 0,
            discovered: false,
        }
    }

    /// Applies one event, the one with sequence number `seq`.
    pub fn apply(&mut self, seq: u64, event: &LifecycleEvent) {
        let ts = event.ts_ms;
        self.last_seq = self.last_seq.max(seq);
        self.first_event_ms = self.first_event_ms.min(ts);
        self.last_event_ms = self.last_event_ms.max(ts);
        self.merge_context(&event.context);

        let ended = self.status == Status::Ended;
        // What the agent itself reports takes over from discovery.
        if !matches!(
            event.kind,
            EventKind::Discovered { .. }
                | EventKind::ProcessExited
                | EventKind::ApprovalRequested { .. }
                | EventKind::ApprovalResolved { .. }
                | EventKind::HookStarted
                | EventKind::HookOutput
                | EventKind::HookFinished
                | EventKind::Other { .. }
        ) {
            self.discovered = false;
        }
        match &event.kind {
            EventKind::Discovered { status } => {
                if ended && *status != Status::Ended {
                    self.reopen();
                }
                self.discovered = true;
                self.set_status(*status, ts);
            }
            EventKind::SessionStarted { source } => {
                // A compaction restarts the session mid-turn: keep its status.
                if ended || source.as_deref() != Some("compact") {
                    self.reopen();
                    self.set_status(Status::Starting, ts);
                }
            }
            EventKind::PromptSubmitted => {
                self.reopen();
                self.prompts += 1;
                self.current_tool = None;
                self.pending_permission = None;
                self.set_status(Status::Working, ts);
            }
            EventKind::ToolStarted { tool, .. } => {
                self.reopen();
                self.tool_calls += 1;
                self.current_tool = Some(tool.clone());
                self.last_tool = Some(tool.clone());
                self.pending_permission = None;
                self.set_status(Status::Working, ts);
            }
            EventKind::ToolFinished { tool, .. } => {
                if !ended {
                    if self.current_tool.as_deref() == Some(tool.as_str()) {
                        self.current_tool = None;
                    }
                    self.last_tool = Some(tool.clone());
                    self.pending_permission = None;
                    self.set_status(Status::Working, ts);
                }
            }
            EventKind::PermissionRequested { tool } => {
                if !ended {
                    self.pending_permission = Some(tool.clone());
                    self.set_status(Status::NeedsApproval, ts);
                }
            }
            EventKind::PermissionDenied { .. } => {
                if !ended {
                    self.pending_permission = None;
                    self.current_tool = None;
                    self.set_status(Status::Working, ts);
                }
            }
            EventKind::InputRequested { .. } => {
                if !ended {
                    self.set_status(Status::NeedsInput, ts);
                }
            }
            EventKind::TurnStopped | EventKind::Idle => {
                if !ended {
                    self.current_tool = None;
                    self.pending_permission = None;
                    self.set_status(Status::Idle, ts);
                }
            }
            EventKind::TurnFailed { error } => {
                if !ended {
                    self.current_tool = None;
                    self.pending_permission = None;
                    self.last_error = error.clone();
                    self.set_status(Status::Idle, ts);
                }
            }
            EventKind::SubagentStarted {
                agent_id,
                agent_type,
            } => {
                self.note_subagent(agent_id.as_deref(), agent_type.as_deref(), true);
            }
            EventKind::SubagentStopped {
                agent_id,
                agent_type,
            } => {
                self.note_subagent(agent_id.as_deref(), agent_type.as_deref(), false);
            }
            EventKind::StatusUpdated {
                context_pct,
                cost_usd,
            } => {
                if context_pct.is_some() {
                    self.context_pct = *context_pct;
                }
                if cost_usd.is_some() {
                    self.cost_usd = *cost_usd;
                }
            }
            EventKind::SessionEnded { reason } => {
                self.end(reason.clone(), ts);
            }
            EventKind::ProcessExited => {
                if !ended {
                    self.end(Some("process_exited".to_owned()), ts);
                }
            }
            EventKind::ApprovalRequested { approval_id, tool } => {
                if !self.pending_approvals.contains(approval_id) {
                    self.pending_approvals.push(approval_id.clone());
                }
                if !ended {
                    self.pending_permission = Some(tool.clone());
                }
            }
            EventKind::ApprovalResolved {
                approval_id,
                status,
                origin,
            } => {
                self.pending_approvals.retain(|id| id != approval_id);
                // A decision lets the agent go on. A PermissionRequest that
                // timed out or expired leaves Claude Code's own dialog up, so
                // the session still needs approval until that is answered.
                let agent_goes_on = matches!(
                    status,
                    ApprovalStatus::Allowed | ApprovalStatus::Denied | ApprovalStatus::Answered
                ) || (*origin == Origin::PreToolUse
                    && *status != ApprovalStatus::AnsweredInTerminal)
                    // Claude Code's own elicitation dialog was answered
                    // (ElicitationResult): the agent goes on.
                    || (*origin == Origin::Elicitation
                        && *status == ApprovalStatus::AnsweredInTerminal)
                    // An `ask_human` question ends the MCP tool call
                    // whatever its outcome: the agent goes on.
                    || *origin == Origin::AskHuman;
                if !ended && self.pending_approvals.is_empty() && agent_goes_on {
                    self.pending_permission = None;
                    self.set_status(Status::Working, ts);
                }
            }
            EventKind::Notification { .. }
            | EventKind::HookStarted
            | EventKind::HookOutput
            | EventKind::HookFinished
            | EventKind::CompactionStarted
            | EventKind::Other { .. } => {}
        }
        // Invariant: a session with a pending approval needs approval.
        if !self.pending_approvals.is_empty() && self.status != Status::Ended {
            self.set_status(Status::NeedsApproval, ts);
        }
        // Activity inside a subagent also tells us the subagent exists.
        if let Some(agent_id) = event.context.agent_id.as_deref()
            && !matches!(event.kind, EventKind::SubagentStopped { .. })
            && !self.subagents.iter().any(|s| s.agent_id == agent_id)
        {
            self.note_subagent(Some(agent_id), event.context.agent_type.as_deref(), true);
        }
    }

    fn set_status(&mut self, status: Status, ts: i64) {
        if self.status != status {
            self.status = status;
            self.status_since_ms = ts;
        }
    }

    fn reopen(&mut self) {
        if self.status == Status::Ended {
            self.end_reason = None;
        }
    }

    fn end(&mut self, reason: Option<String>, ts: i64) {
        self.current_tool = None;
        self.pending_approvals.clear();
        self.pending_permission = None;
        self.end_reason = reason;
        for subagent in &mut self.subagents {
            subagent.active = false;
        }
        self.set_status(Status::Ended, ts);
    }

    fn note_subagent(&mut self, agent_id: Option<&str>, agent_type: Option<&str>, active: bool) {
        let agent_id = agent_id.unwrap_or_default();
        if let Some(known) = self
            .subagents
            .iter_mut()
            .find(|s| !agent_id.is_empty() && s.agent_id == agent_id)
        {
            known.active = active;
            if agent_type.is_some() {
                known.agent_type = agent_type.map(str::to_owned);
            }
            return;
        }
        // Bound the list: a runaway session must not grow a session row forever.
        if self.subagents.len() >= MAX_SUBAGENTS {
            self.subagents.remove(0);
        }
        self.subagents.push(Subagent {
            agent_id: agent_id.to_owned(),
            agent_type: agent_type.map(str::to_owned),
            active,
        });
    }

    fn merge_context(&mut self, ctx: &EventContext) {
        fn set(slot: &mut Option<String>, value: &Option<String>) {
            if let Some(v) = value.as_deref().filter(|v| !v.is_empty())
                && slot.as_deref() != Some(v)
            {
                *slot = Some(v.to_owned());
            }
        }
        set(&mut self.cwd, &ctx.cwd);
        if let Some(project) = ctx.project_dir.as_deref().filter(|p| !p.is_empty()) {
            self.project = Some(project.to_owned());
        } else if self.project.is_none() {
            self.project = ctx.cwd.clone().filter(|c| !c.is_empty());
        }
        set(&mut self.transcript_path, &ctx.transcript_path);
        set(&mut self.permission_mode, &ctx.permission_mode);
        set(&mut self.model, &ctx.model);
        set(&mut self.git_branch, &ctx.git_branch);
        set(&mut self.tmux_pane, &ctx.tmux_pane);
        if ctx.pid.is_some() {
            self.pid = ctx.pid;
        }
    }
}

/// At most this many subagents are remembered per session (oldest dropped).
pub const MAX_SUBAGENTS: usize = 256;

#[cfg(test)]
mod tests;
