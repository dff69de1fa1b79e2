//! Codex CLI rollouts (`~/.codex/sessions/YYYY/MM/DD/rollout-<ISO>-<uuid>.jsonl`):
//! one `{timestamp, type, payload}` record per line (Codex 0.171, see
//! `fixtures/codex/sessions/`).
//!
//! * `session_meta`: `payload.id` (the session), `cwd`, `cli_version`.
//! * `turn_context`: `payload.model`, `cwd`: the model of what follows.
//! * `response_item`: `payload.type` `message` (role `user`, `developer`
//!   or `assistant`; `content[].text`), `function_call` (`name`,
//!   `arguments` as a JSON string, `call_id`), `function_call_output`.
//! * `event_msg` `token_count`: `info.total_token_usage` (running totals)
//!   and `info.last_token_usage` (the response's own), repeated as Codex
//!   pleases: the total is the usage's identity, so a repeat counts once.
//!   OpenAI's `input_tokens` include `cached_input_tokens`; agentd's
//!   classes do not, so cached tokens move to `cache_read_input_tokens`.
//!   `output_tokens` include `reasoning_output_tokens`.

// Codex's shell tools are called `Bash` like Claude Code's (so tool counts
// and summaries read the same): the hook adapter's list.
use agentd_codex::hook::SHELL_TOOLS;
use serde_json::Value;

use crate::record::{
    LineError, MAX_TEXT_BYTES, MAX_TOOL_TEXT_BYTES, Record, Role, ToolCall, Usage,
};
use crate::text::{Bounded, is_prompt_text, strings_of, tool_summary};

/// Parses one rollout line (without its `\n`).
///
/// # Errors
/// [`LineError`] when the line is not a JSON object.
pub fn parse_line(line: &[u8]) -> Result<Record, LineError> {
    let v = crate::record::object(line)?;
    let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    let kind = s(&v, "type").unwrap_or_default();
    let payload = v.get("payload").cloned().unwrap_or(Value::Null);
    let mut rec = Record {
        ts_ms: v
            .get("timestamp")
            .and_then(Value::as_str)
            .and_then(crate::record::parse_ts),
        ..Record::default()
    };
    match kind.as_str() {
        "session_meta" => {
            rec.session_id = s(&payload, "id").or_else(|| s(&payload, "session_id"));
            rec.cwd = s(&payload, "cwd");
            rec.version = s(&payload, "cli_version");
            rec.git_branch = payload
                .get("git")
                .and_then(|g| g.get("branch"))
                .and_then(Value::as_str)
                .map(str::to_owned);
        }
        "turn_context" => {
            rec.model = s(&payload, "model");
            rec.cwd = s(&payload, "cwd");
        }
        "response_item" => response_item(&mut rec, &payload),
        "event_msg" if payload.get("type").and_then(Value::as_str) == Some("token_count") => {
            let info = payload.get("info").unwrap_or(&Value::Null);
            let total = info
                .get("total_token_usage")
                .and_then(|t| t.get("total_tokens"))
                .and_then(Value::as_u64);
            if let (Some(last), Some(total)) = (info.get("last_token_usage"), total) {
                let n = |k: &str| last.get(k).and_then(Value::as_u64).unwrap_or(0);
                let cached = n("cached_input_tokens");
                rec.usage = Some(Usage {
                    input_tokens: n("input_tokens").saturating_sub(cached),
                    output_tokens: n("output_tokens"),
                    cache_creation_input_tokens: n("cache_write_input_tokens"),
                    cache_read_input_tokens: cached,
                    cache_creation_1h_tokens: 0,
                });
                rec.usage_key = Some(format!("total:{total}"));
            }
        }
        _ => {}
    }
    rec.kind = kind;
    Ok(rec)
}

fn response_item(rec: &mut Record, p: &Value) {
    let s = |k: &str| p.get(k).and_then(Value::as_str);
    rec.uuid = s("id").filter(|i| !i.is_empty()).map(str::to_owned);
    match s("type").unwrap_or_default() {
        "message" => {
            let mut text = Bounded::new(MAX_TEXT_BYTES);
            for block in p
                .get("content")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(t) = block.get("text").and_then(Value::as_str) {
                    text.push(t);
                }
            }
            rec.text = text.finish();
            rec.prose_len = rec.text.len();
            rec.role = Some(match s("role").unwrap_or_default() {
                "assistant" => Role::Assistant,
                "user" => {
                    // Codex's own context (`<environment_context>`, AGENTS.md
                    // instructions) comes as user messages too.
                    rec.is_prompt = is_prompt_text(&rec.text) && !rec.text.starts_with('<');
                    rec.is_meta = !rec.is_prompt;
                    Role::User
                }
                _ => {
                    rec.is_meta = true;
                    Role::System
                }
            });
        }
        "function_call" | "custom_tool_call" | "local_shell_call" => {
            let raw_name = s("name").unwrap_or("shell");
            let name = if SHELL_TOOLS.contains(&raw_name) || s("type") == Some("local_shell_call") {
                "Bash"
            } else {
                raw_name
            };
            let args: Value = s("arguments")
                .and_then(|a| serde_json::from_str(a).ok())
                .or_else(|| p.get("input").cloned())
                .or_else(|| p.get("action").cloned())
                .unwrap_or(Value::Null);
            let input = match (name, args.get("cmd").or_else(|| args.get("command"))) {
                ("Bash", Some(Value::String(c))) => serde_json::json!({"command": c}),
                ("Bash", Some(Value::Array(a))) => serde_json::json!({"command": a
                    .iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" ")}),
                _ => args,
            };
            let summary = tool_summary(name, &input);
            let mut text = Bounded::new(MAX_TEXT_BYTES);
            text.push(name);
            let mut args_text = Bounded::new(MAX_TOOL_TEXT_BYTES);
            strings_of(&input, &mut args_text);
            text.push(&args_text.finish());
            rec.text = text.finish();
            rec.tools.push(ToolCall {
                name: name.to_owned(),
                id: s("call_id").map(str::to_owned),
                summary,
            });
            rec.role = Some(Role::Assistant);
        }
        "function_call_output" | "custom_tool_call_output" => {
            let mut text = Bounded::new(MAX_TOOL_TEXT_BYTES);
            if let Some(o) = p.get("output") {
                strings_of(o, &mut text);
            }
            rec.text = text.finish();
            rec.role = Some(Role::ToolResult);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(v: Value) -> Record {
        parse_line(v.to_string().as_bytes()).unwrap()
    }

    #[test]
    fn records_map_to_messages_tools_and_usage() {
        let meta = line(
            serde_json::json!({"timestamp": "2026-11-29T07:25:55.746Z", "type": "session_meta",
            "payload": {"id": "01a2", "cwd": "/p", "cli_version": "0.171.0"}}),
        );
        assert_eq!(meta.session_id.as_deref(), Some("01a2"));
        assert_eq!(meta.cwd.as_deref(), Some("/p"));
        assert!(meta.ts_ms.is_some() && meta.role.is_none());
        let prompt = line(
            serde_json::json!({"type": "response_item", "payload": {"type": "message",
            "id": "msg_1", "role": "user", "content": [{"type": "input_text", "text": "run echo"}]}}),
        );
        assert_eq!(
            (prompt.role, prompt.is_prompt, prompt.text.as_str()),
            (Some(Role::User), true, "run echo")
        );
        let ctx = line(
            serde_json::json!({"type": "response_item", "payload": {"type": "message",
            "role": "user", "content": [{"type": "input_text", "text": "<environment_context>x"}]}}),
        );
        assert!(!ctx.is_prompt && ctx.is_meta);
        let call = line(
            serde_json::json!({"type": "response_item", "payload": {"type": "function_call",
            "id": "fc_1", "name": "exec_command", "arguments": "{\"cmd\": \"echo hi\"}", "call_id": "call_0"}}),
        );
        assert_eq!(call.tools[0].name, "Bash");
        assert_eq!(call.tools[0].summary, "echo hi");
        assert_eq!(call.uuid.as_deref(), Some("fc_1"));
        let out = line(
            serde_json::json!({"type": "response_item", "payload": {"type": "function_call_output",
            "call_id": "call_0", "output": "hi\n"}}),
        );
        assert_eq!(
            (out.role, out.text.as_str()),
            (Some(Role::ToolResult), "hi")
        );
        let count = |total: u64| {
            line(
                serde_json::json!({"type": "event_msg", "payload": {"type": "token_count", "info": {
            "total_token_usage": {"total_tokens": total},
            "last_token_usage": {"input_tokens": 100, "cached_input_tokens": 60, "output_tokens": 7, "total_tokens": 107}}}}),
            )
        };
        let a = count(107);
        assert_eq!(
            a.usage,
            Some(Usage {
                input_tokens: 40,
                output_tokens: 7,
                cache_read_input_tokens: 60,
                ..Usage::default()
            })
        );
        assert_eq!(a.usage_key, count(107).usage_key);
        assert_ne!(a.usage_key, count(214).usage_key);
        let empty = line(
            serde_json::json!({"type": "event_msg", "payload": {"type": "token_count", "info": null}}),
        );
        assert!(empty.usage.is_none());
        assert!(parse_line(b"[1]").is_err() && parse_line(b"{").is_err());
    }
}
