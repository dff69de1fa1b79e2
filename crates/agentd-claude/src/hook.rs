//! Claude Code hook payloads → lifecycle events.
//!
//! Input: the JSON object Claude Code writes to a command hook's stdin or
//! POSTs to an http hook (reference §2.3 common fields, §2.5 per event).
//! Unknown events and fields are not errors: unknown events become
//! [`EventKind::Other`], and the raw payload is what the daemon stores, so
//! nothing is dropped.

use agentd_core::{EventContext, EventKind, LifecycleEvent};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{AdapterError, str_field, string_field, type_name};

/// What only the hook process's environment knows; the hook client sends it
/// alongside the payload.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HookEnv {
    /// `TMUX_PANE` of the hook process (inherited from Claude Code).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tmux_pane: Option<String>,
    /// Pid of the Claude Code process that ran the hook.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claude_pid: Option<u32>,
    /// `CLAUDE_PROJECT_DIR`: where the session started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_dir: Option<String>,
    /// Git branch of `cwd`, resolved by the daemon when it could.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_branch: Option<String>,
    /// The agent that ran the hook (`agentd hook --agent codex|gemini`);
    /// `None` is Claude Code, whose payloads came first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<agentd_core::Agent>,
}

impl HookEnv {
    /// The agent that ran the hook.
    pub fn agent(&self) -> agentd_core::Agent {
        self.agent.unwrap_or_default()
    }
}

/// Key of the marker [`fit_payload`] adds to a payload it cut.
pub const TRUNCATED_KEY: &str = "agentd_truncated";

/// Cuts `payload` to at most `max` bytes of compact JSON, keeping what the
/// registry needs: the largest top-level fields (a PostToolUse's whole tool
/// output, say) are removed until it fits, and a marker
/// `"agentd_truncated": {"original_bytes": N, "removed": {field: bytes}}`
/// says what went. A payload that fits is returned as it is. One that is
/// not an object, or still too big with every field removed, becomes the
/// marker alone (with `session_id` and `hook_event_name` when it had them).
pub fn fit_payload(payload: Value, max: usize) -> Value {
    let size = |v: &Value| serde_json::to_vec(v).map_or(usize::MAX, |b| b.len());
    let original = size(&payload);
    if original <= max {
        return payload;
    }
    let Value::Object(mut out) = payload else {
        return serde_json::json!({ TRUNCATED_KEY: {"original_bytes": original, "removed": {}} });
    };
    let mut sizes: Vec<(usize, String)> = out
        .iter()
        .map(|(k, v)| (size(v).saturating_add(k.len() + 4), k.clone()))
        .collect();
    sizes.sort_by_key(|s| std::cmp::Reverse(s.0));
    let mut removed = serde_json::Map::new();
    let with_marker = |out: &serde_json::Map<String, Value>,
                       removed: &serde_json::Map<String, Value>| {
        let mut v = out.clone();
        v.insert(
            TRUNCATED_KEY.to_owned(),
            serde_json::json!({"original_bytes": original, "removed": removed}),
        );
        Value::Object(v)
    };
    // Largest first; the fields that say which session and what happened
    // go last, and only if they are themselves large.
    let (keep, rest): (Vec<_>, Vec<_>) = sizes
        .into_iter()
        .partition(|(n, k)| matches!(k.as_str(), "session_id" | "hook_event_name") && *n < 4096);
    for (n, k) in rest.into_iter().chain(keep) {
        if size(&with_marker(&out, &removed)) <= max {
            break;
        }
        out.remove(&k);
        removed.insert(k, Value::from(n));
    }
    let fitted = with_marker(&out, &removed);
    if size(&fitted) <= max {
        return fitted;
    }
    // Even the marker naming every field is too big: the marker alone,
    // with what names the session and the event when they are short.
    let mut last = serde_json::Map::new();
    for k in ["session_id", "hook_event_name"] {
        if let Some(v) = fitted
            .get(k)
            .filter(|v| v.as_str().is_some_and(|s| s.len() < 1024))
        {
            last.insert(k.to_owned(), v.clone());
        }
    }
    last.insert(
        TRUNCATED_KEY.to_owned(),
        serde_json::json!({"original_bytes": original}),
    );
    Value::Object(last)
}

/// The hook event name of a payload (`hook_event_name`), if any.
pub fn event_name(payload: &Value) -> Option<&str> {
    str_field(payload, "hook_event_name")
}

/// The session id of a payload.
///
/// # Errors
/// [`AdapterError`] when `payload` is not an object or lacks `session_id`.
pub fn session_id(payload: &Value) -> Result<&str, AdapterError> {
    if !payload.is_object() {
        return Err(AdapterError::NotAnObject(type_name(payload)));
    }
    str_field(payload, "session_id").ok_or(AdapterError::MissingField {
        field: "session_id",
    })
}

/// Maps one hook payload, received at `ts_ms`, to a lifecycle event.
///
/// # Errors
/// [`AdapterError`] when `payload` is not an object or has no `session_id`.
/// Everything else is tolerated: a missing `hook_event_name` or an unknown
/// event gives [`EventKind::Other`].
pub fn to_event(
    payload: &Value,
    env: &HookEnv,
    ts_ms: i64,
) -> Result<LifecycleEvent, AdapterError> {
    let session_id = session_id(payload)?.to_owned();
    let name = event_name(payload).unwrap_or("unknown");
    let tool = || string_field(payload, "tool_name").unwrap_or_else(|| "unknown".to_owned());
    let tool_use_id = || string_field(payload, "tool_use_id");
    let agent_id = || string_field(payload, "agent_id");
    let agent_type = || string_field(payload, "agent_type");

    let kind = match name {
        "SessionStart" => EventKind::SessionStarted {
            source: string_field(payload, "source"),
        },
        "UserPromptSubmit" => EventKind::PromptSubmitted,
        "PreToolUse" if str_field(payload, "tool_name") == Some("AskUserQuestion") => {
            EventKind::InputRequested {
                reason: Some("AskUserQuestion".to_owned()),
            }
        }
        // A skill's embedded shell command (2.1.332) is a tool call too.
        "PreToolUse" | "PreSkillShellCommand" => EventKind::ToolStarted {
            tool: tool(),
            tool_use_id: tool_use_id(),
        },
        "PostToolUse" => EventKind::ToolFinished {
            tool: tool(),
            tool_use_id: tool_use_id(),
            failed: false,
        },
        "PostToolUseFailure" => EventKind::ToolFinished {
            tool: tool(),
            tool_use_id: tool_use_id(),
            failed: true,
        },
        "PermissionRequest" => EventKind::PermissionRequested { tool: tool() },
        "PermissionDenied" => EventKind::PermissionDenied { tool: tool() },
        "Notification" => notification(payload),
        "Stop" => EventKind::TurnStopped,
        "StopFailure" => EventKind::TurnFailed {
            error: string_field(payload, "error"),
        },
        "SubagentStart" => EventKind::SubagentStarted {
            agent_id: agent_id(),
            agent_type: agent_type(),
        },
        "SubagentStop" => EventKind::SubagentStopped {
            agent_id: agent_id(),
            agent_type: agent_type(),
        },
        "PreCompact" => EventKind::CompactionStarted,
        "SessionEnd" => EventKind::SessionEnded {
            reason: string_field(payload, "reason"),
        },
        other => EventKind::Other {
            name: other.to_owned(),
        },
    };

    // Inside a subagent every event carries agent_id; SubagentStart/Stop carry
    // it as their subject, not as "this event came from inside it".
    let inside_subagent = !matches!(name, "SubagentStart" | "SubagentStop");
    let context = EventContext {
        cwd: string_field(payload, "cwd"),
        project_dir: env.project_dir.clone(),
        transcript_path: string_field(payload, "transcript_path"),
        permission_mode: string_field(payload, "permission_mode"),
        model: match name {
            // Only SessionStart may carry `model` (reference §2.2).
            "SessionStart" => model_id(payload.get("model")),
            _ => None,
        },
        git_branch: env.git_branch.clone(),
        tmux_pane: env.tmux_pane.clone(),
        pid: env.claude_pid,
        agent_id: if inside_subagent { agent_id() } else { None },
        agent_type: if inside_subagent { agent_type() } else { None },
    };
    Ok(LifecycleEvent {
        session_id,
        ts_ms,
        kind,
        context,
    })
}

/// `model` is a string in hook payloads and `{id, display_name}` in the
/// status line; accept both.
pub(crate) fn model_id(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        obj @ Value::Object(_) => {
            string_field(obj, "id").or_else(|| string_field(obj, "display_name"))
        }
        _ => None,
    }
}

/// Notification payloads: `notification_type` when present (2.0.37+), else the
/// message text older versions sent (reference §2.6).
fn notification(payload: &Value) -> EventKind {
    let ty = str_field(payload, "notification_type");
    let message = str_field(payload, "message").unwrap_or_default();
    match ty {
        Some("permission_prompt") => EventKind::PermissionRequested {
            tool: permission_tool(message).unwrap_or_else(|| "unknown".to_owned()),
        },
        Some("idle_prompt") => EventKind::Idle,
        Some("elicitation_dialog" | "elicitation_url_dialog" | "agent_needs_input") => {
            EventKind::InputRequested {
                reason: ty.map(str::to_owned),
            }
        }
        Some(_) => EventKind::Notification {
            notification_type: ty.map(str::to_owned),
        },
        None if message.starts_with("Claude needs your permission") => {
            EventKind::PermissionRequested {
                tool: permission_tool(message).unwrap_or_else(|| "unknown".to_owned()),
            }
        }
        None if message.starts_with("Claude is waiting for your input") => EventKind::Idle,
        None => EventKind::Notification {
            notification_type: None,
        },
    }
}

/// "Claude needs your permission to use Bash" → `Bash`.
fn permission_tool(message: &str) -> Option<String> {
    let rest = message.split("permission to use ").nth(1)?;
    let tool = rest.split_whitespace().next()?.trim_end_matches(['.', ',']);
    (!tool.is_empty()).then(|| tool.to_owned())
}

#[cfg(test)]
mod tests;
