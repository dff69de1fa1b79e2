//! Codex CLI hook payloads → Claude Code's view and lifecycle events.

use std::borrow::Cow;

use agentd_claude::AdapterError;
use agentd_claude::hook::HookEnv;
use agentd_core::{EventKind, LifecycleEvent};
use serde_json::{Map, Value, json};

/// Codex's names for its shell tool. 0.171 already reports `Bash` in
/// hooks; its model-facing tool is `exec_command` (`{cmd}`) and older
/// releases used `shell` / `local_shell` (`{command: [argv]}`).
pub const SHELL_TOOLS: &[&str] = &["exec_command", "shell", "local_shell", "container.exec"];

/// The payload as Claude Code would have sent it: Codex's shell tools are
/// `Bash` with `{command: "<string>"}`. Everything else is Claude's shape
/// already; a payload needing no change is borrowed.
pub fn view(payload: &Value) -> Cow<'_, Value> {
    let tool = payload.get("tool_name").and_then(Value::as_str);
    if !tool.is_some_and(|t| SHELL_TOOLS.contains(&t)) {
        return Cow::Borrowed(payload);
    }
    let mut out = payload.clone();
    if let Value::Object(m) = &mut out {
        m.insert("tool_name".into(), json!("Bash"));
        let input = m.get("tool_input").cloned().unwrap_or(Value::Null);
        m.insert("tool_input".into(), shell_input(&input));
    }
    Cow::Owned(out)
}

/// `{cmd: "ls"}`, `{command: ["ls", "-l"]}` or `{command: "ls"}` →
/// `{command: "ls -l", …the other fields}`.
fn shell_input(input: &Value) -> Value {
    let mut m: Map<String, Value> = input.as_object().cloned().unwrap_or_default();
    let command = m.remove("cmd").or_else(|| m.remove("command"));
    let command = match command {
        Some(Value::String(s)) => s,
        Some(Value::Array(argv)) => {
            let words: Vec<&str> = argv.iter().filter_map(Value::as_str).collect();
            // `bash -lc "<script>"`: the script is the command.
            match words.as_slice() {
                [sh, flag, script] if is_shell(sh) && flag.ends_with('c') => (*script).to_owned(),
                _ => shlex::try_join(words.iter().copied()).unwrap_or_else(|_| words.join(" ")),
            }
        }
        _ => String::new(),
    };
    m.insert("command".into(), json!(command));
    Value::Object(m)
}

fn is_shell(word: &str) -> bool {
    let name = word.rsplit('/').next().unwrap_or(word);
    matches!(name, "bash" | "sh" | "zsh" | "dash")
}

/// Maps one Codex hook payload, received at `ts_ms`, to a lifecycle event.
/// Events Claude Code also has map as its do; `Interrupt` (the user
/// stopped the turn) ends the turn; `PostCompact` is kept by name.
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
    if agentd_claude::hook::event_name(payload) == Some("Interrupt") {
        event.kind = EventKind::TurnStopped;
    }
    // Codex sends `model` on every event, not only SessionStart.
    if event.context.model.is_none() {
        event.context.model = payload
            .get("model")
            .and_then(Value::as_str)
            .filter(|m| !m.is_empty())
            .map(str::to_owned);
    }
    Ok(event)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> HookEnv {
        HookEnv::default()
    }

    #[test]
    fn shell_tools_become_bash() {
        let p = json!({"session_id": "s", "hook_event_name": "PreToolUse",
            "tool_name": "exec_command", "tool_input": {"cmd": "rm -rf x", "workdir": "/p"}});
        let v = view(&p);
        assert_eq!(v["tool_name"], "Bash");
        assert_eq!(
            v["tool_input"],
            json!({"command": "rm -rf x", "workdir": "/p"})
        );
        let p = json!({"tool_name": "shell", "tool_input": {"command": ["bash", "-lc", "ls -l"]}});
        assert_eq!(view(&p)["tool_input"]["command"], "ls -l");
        let p = json!({"tool_name": "local_shell", "tool_input": {"command": ["rm", "a b"]}});
        assert_eq!(view(&p)["tool_input"]["command"], "rm 'a b'");
        let p = json!({"tool_name": "Bash", "tool_input": {"command": "ls"}});
        assert!(matches!(view(&p), Cow::Borrowed(_)));
        let p = json!({"tool_name": "exec_command", "tool_input": 7});
        assert_eq!(view(&p)["tool_input"], json!({"command": ""}));
    }

    #[test]
    fn events_map_like_claude_codes_plus_codex_own() {
        let p = json!({"session_id": "s", "hook_event_name": "PreToolUse", "model": "gpt-5",
            "tool_name": "exec_command", "tool_input": {"cmd": "ls"}, "tool_use_id": "call_0"});
        let e = to_event(&p, &env(), 1).unwrap();
        assert_eq!(
            e.kind,
            EventKind::ToolStarted {
                tool: "Bash".into(),
                tool_use_id: Some("call_0".into())
            }
        );
        assert_eq!(e.context.model.as_deref(), Some("gpt-5"));
        let p = json!({"session_id": "s", "hook_event_name": "Interrupt"});
        assert_eq!(
            to_event(&p, &env(), 1).unwrap().kind,
            EventKind::TurnStopped
        );
        let p = json!({"session_id": "s", "hook_event_name": "PostCompact"});
        assert_eq!(
            to_event(&p, &env(), 1).unwrap().kind,
            EventKind::Other {
                name: "PostCompact".into()
            }
        );
        assert!(to_event(&json!({"hook_event_name": "Stop"}), &env(), 1).is_err());
    }

    proptest::proptest! {
        #[test]
        fn any_json_maps_or_errs_without_panicking(s in ".{0,200}", tool in "[a-z_.]{0,16}") {
            let p = json!({"session_id": s, "hook_event_name": "PreToolUse", "tool_name": tool,
                "tool_input": {"cmd": s, "command": [s, 1, null]}});
            let _ = to_event(&p, &env(), 0);
            let _ = view(&json!(s));
        }
    }
}
