//! `claude -p --output-format stream-json` messages (reference §5.3) →
//! lifecycle events, for sessions agentd launches.

use agentd_core::{EventContext, EventKind, LifecycleEvent};
use serde_json::Value;

use crate::hook::{HookEnv, session_id};
use crate::{AdapterError, str_field, string_field};

/// The name agentd stores a stream message under: `type` or `type/subtype`.
pub fn message_name(msg: &Value) -> String {
    match (str_field(msg, "type"), str_field(msg, "subtype")) {
        (Some(t), Some(s)) => format!("{t}/{s}"),
        (Some(t), None) => t.to_owned(),
        _ => "unknown".to_owned(),
    }
}

/// Maps one stream message (it must carry `session_id`) received at `ts_ms`.
///
/// # Errors
/// [`AdapterError`] when the message is not an object or has no `session_id`.
pub fn to_event(msg: &Value, env: &HookEnv, ts_ms: i64) -> Result<LifecycleEvent, AdapterError> {
    let session_id = session_id(msg)?.to_owned();
    let mut context = EventContext {
        pid: env.claude_pid,
        project_dir: env.project_dir.clone(),
        ..EventContext::default()
    };
    let kind = match (str_field(msg, "type"), str_field(msg, "subtype")) {
        (Some("system"), Some("init")) => {
            context.cwd = string_field(msg, "cwd");
            context.model = string_field(msg, "model");
            context.permission_mode = string_field(msg, "permissionMode");
            EventKind::SessionStarted {
                source: Some("launch".to_owned()),
            }
        }
        (Some("assistant"), _) => {
            let tool_use = msg
                .get("message")
                .and_then(|m| m.get("content"))
                .and_then(Value::as_array)
                .and_then(|blocks| {
                    blocks
                        .iter()
                        .find(|b| b.get("type").and_then(Value::as_str) == Some("tool_use"))
                });
            context.model = msg.get("message").and_then(|m| string_field(m, "model"));
            match tool_use {
                Some(t) => EventKind::ToolStarted {
                    tool: string_field(t, "name").unwrap_or_else(|| "unknown".to_owned()),
                    tool_use_id: string_field(t, "id"),
                },
                None => EventKind::Other {
                    name: message_name(msg),
                },
            }
        }
        (Some("result"), sub) => {
            if msg
                .get("is_error")
                .and_then(Value::as_bool)
                .unwrap_or(false)
            {
                EventKind::TurnFailed {
                    error: sub.map(str::to_owned),
                }
            } else {
                EventKind::TurnStopped
            }
        }
        _ => EventKind::Other {
            name: message_name(msg),
        },
    };
    Ok(LifecycleEvent {
        session_id,
        ts_ms,
        kind,
        context,
    })
}

/// The rule for tests that read `../shared` (one copy, the agentd tests').
#[cfg(test)]
#[path = "../../agentd/tests/support/shared.rs"]
mod shared_fixtures;

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn init_tool_use_and_result() {
        let env = HookEnv {
            claude_pid: Some(9),
            ..HookEnv::default()
        };
        let init = json!({"type": "system", "subtype": "init", "session_id": "s", "cwd": "/w", "model": "m", "permissionMode": "default"});
        let e = to_event(&init, &env, 1).unwrap();
        assert_eq!(e.kind.name(), "session.started");
        assert_eq!(e.context.model.as_deref(), Some("m"));
        assert_eq!(e.context.pid, Some(9));
        let a = json!({"type": "assistant", "session_id": "s", "message": {"model": "m", "content": [
            {"type": "text", "text": "x"}, {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {}}]}});
        assert_eq!(
            to_event(&a, &env, 2).unwrap().kind,
            EventKind::ToolStarted {
                tool: "Bash".into(),
                tool_use_id: Some("toolu_1".into())
            }
        );
        let r =
            json!({"type": "result", "subtype": "success", "session_id": "s", "is_error": false});
        assert_eq!(to_event(&r, &env, 3).unwrap().kind, EventKind::TurnStopped);
        let f = json!({"type": "result", "subtype": "error_max_turns", "session_id": "s", "is_error": true});
        assert_eq!(to_event(&f, &env, 3).unwrap().kind.name(), "turn.failed");
        assert_eq!(
            message_name(&json!({"type": "stream_event"})),
            "stream_event"
        );
        assert!(to_event(&json!({"type": "user"}), &env, 0).is_err());
    }

    #[test]
    fn golden_fixture_maps_without_error() {
        // The shared corpus beside the clone (skipped with a reason on a
        // bare clone, never under CI=true).
        let Some(path) = super::shared_fixtures::shared_fixtures(
            "claude/stream-json/claude-agent-sdk-gleam/golden/basic_query.ndjson",
            "golden_fixture_maps_without_error",
        ) else {
            return;
        };
        let text = std::fs::read_to_string(&path).unwrap();
        let mut kinds = Vec::new();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let v: Value = serde_json::from_str(line).unwrap();
            if v.get("session_id").is_some() {
                kinds.push(to_event(&v, &HookEnv::default(), 0).unwrap().kind.name());
            }
        }
        assert_eq!(kinds.first(), Some(&"session.started"));
        assert_eq!(kinds.last(), Some(&"turn.stopped"));
    }
}
