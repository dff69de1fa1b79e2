//! Gemini CLI hook payloads → Claude Code's view and lifecycle events.
//!
//! agentd's rules, plugins, approvals and hook runner speak Claude Code's
//! event and tool names, so a Gemini payload is first seen as Claude Code
//! would have sent it ([`view`]); the stored payload stays Gemini's own.

use std::borrow::Cow;

use agentd_claude::AdapterError;
use agentd_claude::hook::HookEnv;
use agentd_core::{EventKind, LifecycleEvent};
use serde_json::{Value, json};

/// Gemini's event names → Claude Code's, for the events with one.
pub fn claude_event(name: &str) -> Option<&'static str> {
    Some(match name {
        "SessionStart" => "SessionStart",
        "SessionEnd" => "SessionEnd",
        "BeforeAgent" => "UserPromptSubmit",
        "AfterAgent" => "Stop",
        "BeforeTool" => "PreToolUse",
        "AfterTool" => "PostToolUse",
        "PreCompress" => "PreCompact",
        "Notification" => "Notification",
        _ => return None,
    })
}

/// Gemini's built-in tool names → Claude Code's, for tools that do the same
/// thing with the same input fields (`command`, `file_path`, `content`,
/// `old_string`/`new_string`, `pattern`). Others (`list_directory`,
/// `read_many_files`, MCP tools `mcp_<server>_<tool>`) keep their names.
pub fn claude_tool(name: &str) -> Option<&'static str> {
    Some(match name {
        "run_shell_command" => "Bash",
        "read_file" => "Read",
        "write_file" => "Write",
        "replace" => "Edit",
        "glob" => "Glob",
        "grep_search" | "search_file_content" => "Grep",
        "web_fetch" => "WebFetch",
        "google_web_search" => "WebSearch",
        _ => return None,
    })
}

/// The payload as Claude Code would have sent it: event and tool renamed
/// ([`claude_event`], [`claude_tool`]). Events without a Claude Code
/// counterpart keep their name.
pub fn view(payload: &Value) -> Cow<'_, Value> {
    let event = agentd_claude::hook::event_name(payload).and_then(claude_event);
    let tool = payload
        .get("tool_name")
        .and_then(Value::as_str)
        .and_then(claude_tool);
    if event.is_none() && tool.is_none() {
        return Cow::Borrowed(payload);
    }
    let mut out = payload.clone();
    if let Value::Object(m) = &mut out {
        if let Some(e) = event {
            m.insert("hook_event_name".into(), json!(e));
        }
        if let Some(t) = tool {
            m.insert("tool_name".into(), json!(t));
        }
    }
    Cow::Owned(out)
}

/// Maps one Gemini hook payload, received at `ts_ms`, to a lifecycle event.
/// An AfterTool whose `tool_response.error` is set is a failed call; a
/// `ToolPermission` notification is a permission request (Gemini's own
/// prompt is showing); BeforeModel's `llm_request.model` names the model.
///
/// # Errors
/// [`AdapterError`] when `payload` is not an object or has no `session_id`.
pub fn to_event(
    payload: &Value,
    env: &HookEnv,
    ts_ms: i64,
) -> Result<LifecycleEvent, AdapterError> {
    let view = view(payload);
    let mut event = agentd_claude::hook::to_event(&view, env, ts_ms)?;
    let name = agentd_claude::hook::event_name(payload).unwrap_or_default();
    match name {
        "AfterTool" => {
            let failed = payload
                .get("tool_response")
                .and_then(|r| r.get("error"))
                .is_some_and(|e| !e.is_null());
            if let EventKind::ToolFinished { failed: f, .. } = &mut event.kind {
                *f = failed;
            }
        }
        "Notification" => {
            event.kind = match payload.get("notification_type").and_then(Value::as_str) {
                Some("ToolPermission") => EventKind::PermissionRequested {
                    tool: permission_tool(payload).unwrap_or_else(|| "unknown".to_owned()),
                },
                other => EventKind::Notification {
                    notification_type: other.map(str::to_owned),
                },
            }
        }
        _ => {}
    }
    if let Some(model) = payload
        .get("llm_request")
        .and_then(|r| r.get("model"))
        .and_then(Value::as_str)
        .filter(|m| !m.is_empty())
    {
        event.context.model = Some(model.to_owned());
    }
    Ok(event)
}

/// The tool a `ToolPermission` notification is about, from `details`.
fn permission_tool(payload: &Value) -> Option<String> {
    let details = payload.get("details")?;
    let name = ["tool_name", "toolName", "name", "title"]
        .iter()
        .find_map(|k| details.get(*k).and_then(Value::as_str))
        .filter(|s| !s.is_empty())?;
    Some(claude_tool(name).unwrap_or(name).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> HookEnv {
        HookEnv::default()
    }

    fn ev(v: Value) -> EventKind {
        to_event(&v, &env(), 0).unwrap().kind
    }

    #[test]
    fn events_and_tools_map_to_the_shared_ones() {
        let p = json!({"session_id": "s", "hook_event_name": "BeforeTool",
            "tool_name": "run_shell_command", "tool_input": {"command": "ls"}});
        assert_eq!(view(&p)["hook_event_name"], "PreToolUse");
        assert_eq!(view(&p)["tool_name"], "Bash");
        assert_eq!(
            ev(p),
            EventKind::ToolStarted {
                tool: "Bash".into(),
                tool_use_id: None
            }
        );
        let after = |resp: Value| {
            json!({"session_id": "s", "hook_event_name": "AfterTool",
                "tool_name": "replace", "tool_response": resp})
        };
        assert_eq!(
            ev(after(json!({"llmContent": "ok"}))),
            EventKind::ToolFinished {
                tool: "Edit".into(),
                tool_use_id: None,
                failed: false
            }
        );
        assert_eq!(
            ev(after(json!({"error": {"message": "no"}}))),
            EventKind::ToolFinished {
                tool: "Edit".into(),
                tool_use_id: None,
                failed: true
            }
        );
        let s = |name: &str| json!({"session_id": "s", "hook_event_name": name});
        assert_eq!(ev(s("BeforeAgent")), EventKind::PromptSubmitted);
        assert_eq!(ev(s("AfterAgent")), EventKind::TurnStopped);
        assert_eq!(ev(s("PreCompress")), EventKind::CompactionStarted);
        assert_eq!(
            ev(s("BeforeToolSelection")),
            EventKind::Other {
                name: "BeforeToolSelection".into()
            }
        );
        let mut n = s("Notification");
        n["notification_type"] = json!("ToolPermission");
        n["details"] = json!({"toolName": "run_shell_command"});
        assert_eq!(
            ev(n),
            EventKind::PermissionRequested {
                tool: "Bash".into()
            }
        );
        let m = json!({"session_id": "s", "hook_event_name": "BeforeModel",
            "llm_request": {"model": "gemini-2.5-flash"}});
        assert_eq!(
            to_event(&m, &env(), 0).unwrap().context.model.as_deref(),
            Some("gemini-2.5-flash")
        );
        let keep = json!({"session_id": "s", "hook_event_name": "BeforeModel"});
        assert!(matches!(view(&keep), Cow::Borrowed(_)));
        assert!(to_event(&json!([]), &env(), 0).is_err());
    }

    proptest::proptest! {
        #[test]
        fn any_payload_maps_or_errs_without_panicking(
            name in "[A-Za-z]{0,14}", tool in "[a-z_]{0,18}", s in ".{0,64}"
        ) {
            let p = json!({"session_id": s, "hook_event_name": name, "tool_name": tool,
                "tool_response": {"error": s}, "details": {"name": s}, "llm_request": {"model": s}});
            let _ = to_event(&p, &env(), 0);
        }
    }
}
