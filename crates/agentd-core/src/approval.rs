//! Approvals: a tool call held for a human, with exactly one outcome.
//!
//! An approval is created `pending` and moves once, by compare-and-set in
//! the store, to one final [`ApprovalStatus`]. Pure data; the daemon owns
//! the holding and the store owns the compare-and-set.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Where an approval stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalStatus {
    /// Waiting for a decision.
    Pending,
    /// A human (or an `on_timeout = "allow"` rule) allowed it.
    Allowed,
    /// A human (or a rule) denied it.
    Denied,
    /// A human answered the question.
    Answered,
    /// The human answered in Claude Code's own dialog first.
    AnsweredInTerminal,
    /// Nobody can answer it any more (its hook call is gone).
    Expired,
    /// Nobody decided in time.
    TimedOut,
}

impl ApprovalStatus {
    /// The snake_case name (`answered_in_terminal`).
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalStatus::Pending => "pending",
            ApprovalStatus::Allowed => "allowed",
            ApprovalStatus::Denied => "denied",
            ApprovalStatus::Answered => "answered",
            ApprovalStatus::AnsweredInTerminal => "answered_in_terminal",
            ApprovalStatus::Expired => "expired",
            ApprovalStatus::TimedOut => "timed_out",
        }
    }

    /// Parses [`ApprovalStatus::as_str`].
    pub fn parse(s: &str) -> Option<ApprovalStatus> {
        [
            ApprovalStatus::Pending,
            ApprovalStatus::Allowed,
            ApprovalStatus::Denied,
            ApprovalStatus::Answered,
            ApprovalStatus::AnsweredInTerminal,
            ApprovalStatus::Expired,
            ApprovalStatus::TimedOut,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
    }
}

/// Which hook call holds the approval (it decides the reply's shape).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// A PermissionRequest hook: Claude Code's own dialog runs alongside.
    PermissionRequest,
    /// A PreToolUse hook, held because a rule said `ask`.
    PreToolUse,
    /// A `can_use_tool` control request of a session agentd launched.
    CanUseTool,
    /// An Elicitation hook: an MCP server asks the user for input
    /// (`tool_name` is `mcp__<server>`, `tool_input` the request).
    Elicitation,
    /// The `ask_human` tool of agentd's own MCP server: an agent asks the
    /// user a question (`tool_name` is `AskUserQuestion`, `tool_input` has
    /// Claude Code's AskUserQuestion shape, so every face renders it as
    /// one). The agent waits in the MCP tool call, not in a hook.
    AskHuman,
}

/// A human's decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "behavior", rename_all = "snake_case")]
pub enum Decision {
    /// Run the tool.
    Allow {
        /// Replacement tool input, if the human edited it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        updated_input: Option<Value>,
        /// Permission updates to apply ("always allow"), e.g. the request's
        /// `permission_suggestions`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        updated_permissions: Option<Value>,
    },
    /// Do not run it; `message` is what the agent sees.
    Deny {
        /// Shown to the agent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    /// The answer to a question (AskUserQuestion).
    Answer {
        /// The answer text.
        text: String,
    },
}

impl Decision {
    /// The final status this decision gives.
    pub fn status(&self) -> ApprovalStatus {
        match self {
            Decision::Allow { .. } => ApprovalStatus::Allowed,
            Decision::Deny { .. } => ApprovalStatus::Denied,
            Decision::Answer { .. } => ApprovalStatus::Answered,
        }
    }
}

/// One approval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Approval {
    /// Id, `apr_` + 16 hex digits.
    pub id: String,
    /// The session.
    pub session_id: String,
    /// The subagent asking, if any (`agent_id`).
    pub agent_id: Option<String>,
    /// Tool name.
    pub tool_name: String,
    /// Tool input as the agent sent it.
    pub tool_input: Value,
    /// The call's id, when the hook event has one (PreToolUse does).
    pub tool_use_id: Option<String>,
    /// Claude Code's `permission_suggestions` (apply them to "always allow").
    pub permission_suggestions: Value,
    /// Working directory of the session.
    pub cwd: Option<String>,
    /// Which hook holds it.
    pub origin: Origin,
    /// When it was created, ms since the Unix epoch.
    pub created_ms: i64,
    /// Where it stands.
    pub status: ApprovalStatus,
    /// The decision, once decided by a human or rule.
    pub decision: Option<Decision>,
    /// Who decided: `cli:alice`, `terminal`, `agentd`, `rule:3`.
    pub decided_by: Option<String>,
    /// When it left `pending`, ms since the Unix epoch.
    pub decided_ms: Option<i64>,
    /// Why (free text from the decider, or agentd's explanation).
    pub reason: Option<String>,
    /// Why a human is asked: which rule routed it here, or that no rule of
    /// agentd.toml decides it (absent in approvals stored before it was
    /// recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asked_because: Option<String>,
}

impl Approval {
    /// A pending approval of a call of `tool` with `input`, created at
    /// `created_ms`; session, subagent, tool_use_id, suggestions and cwd are
    /// filled in by the caller (`..Approval::pending(…)`).
    pub fn pending(
        id: String,
        tool: &str,
        input: Value,
        origin: Origin,
        created_ms: i64,
    ) -> Approval {
        Approval {
            id,
            session_id: String::new(),
            agent_id: None,
            tool_name: tool.to_owned(),
            tool_input: input,
            tool_use_id: None,
            permission_suggestions: Value::Null,
            cwd: None,
            origin,
            created_ms,
            status: ApprovalStatus::Pending,
            decision: None,
            decided_by: None,
            decided_ms: None,
            reason: None,
            asked_because: None,
        }
    }
}
