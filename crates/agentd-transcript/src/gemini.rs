//! Gemini CLI chats (`~/.gemini/tmp/<project>/chats/session-<ISO>-<id8>.jsonl`,
//! Gemini CLI 0.61, see `fixtures/gemini/chats/`).
//!
//! * The first line is the header: `{sessionId, projectHash, startTime,
//!   lastUpdated, kind}`.
//! * Messages: `{id, timestamp, type: "user"|"gemini"|"info"|"error"|…,
//!   content (a string or `[{text}|{functionResponse}]`), thoughts,
//!   tokens: {input, output, cached, thoughts, tool, total}, model,
//!   toolCalls: [{id, name, args, result, status}]}`. Gemini rewrites a
//!   message (same `id`) as its tool calls complete: the last copy wins.
//! * `{"$set": {…}}` lines patch the header; nothing agentd keeps.
//!
//! Tokens: Gemini's `input` (`promptTokenCount`) includes `cached`, and
//! `tool` (`toolUsePromptTokenCount`) is prompt too; `thoughts` are billed
//! as output. So: input = input − cached + tool, cache read = cached,
//! output = output + thoughts.

use serde_json::Value;

use crate::record::{
    LineError, MAX_TEXT_BYTES, MAX_TOOL_TEXT_BYTES, Record, Role, ToolCall, Usage,
};
use crate::text::{Bounded, is_prompt_text, strings_of, tool_summary};

/// Gemini's built-in tool names → Claude Code's: the hook adapter's map,
/// so summaries and counts read alike.
fn claude_tool(name: &str) -> &str {
    agentd_gemini::hook::claude_tool(name).unwrap_or(name)
}

/// Parses one chat line (without its `\n`).
///
/// # Errors
/// [`LineError`] when the line is not a JSON object.
pub fn parse_line(line: &[u8]) -> Result<Record, LineError> {
    let v = crate::record::object(line)?;
    let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    let mut rec = Record::default();
    if v.get("$set").is_some() {
        rec.kind = "$set".to_owned();
        return Ok(rec);
    }
    if let Some(id) = s("sessionId") {
        rec.kind = "session".to_owned();
        rec.session_id = Some(id);
        rec.ts_ms = v
            .get("startTime")
            .and_then(Value::as_str)
            .and_then(crate::record::parse_ts);
        return Ok(rec);
    }
    rec.kind = s("type").unwrap_or_default();
    rec.uuid = s("id").filter(|i| !i.is_empty());
    rec.supersedes = true;
    rec.ts_ms = v
        .get("timestamp")
        .and_then(Value::as_str)
        .and_then(crate::record::parse_ts);
    rec.model = s("model");
    let content = v.get("content").unwrap_or(&Value::Null);
    let mut prose = Bounded::new(MAX_TEXT_BYTES);
    let mut tool_results = false;
    match content {
        Value::String(t) => prose.push(t),
        Value::Array(parts) => {
            for p in parts {
                if let Some(t) = p.get("text").and_then(Value::as_str) {
                    prose.push(t);
                } else if let Some(r) = p.get("functionResponse") {
                    tool_results = true;
                    let mut b = Bounded::new(MAX_TOOL_TEXT_BYTES);
                    strings_of(r.get("response").unwrap_or(r), &mut b);
                    prose.push(&b.finish());
                }
            }
        }
        _ => {}
    }
    let mut text = prose;
    let prose_len = text.len();
    for call in v
        .get("toolCalls")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = claude_tool(
            call.get("name")
                .and_then(Value::as_str)
                .unwrap_or("unknown"),
        );
        let args = call.get("args").cloned().unwrap_or(Value::Null);
        text.push(name);
        let mut b = Bounded::new(MAX_TOOL_TEXT_BYTES);
        strings_of(&args, &mut b);
        if let Some(r) = call.get("result") {
            strings_of(r, &mut b);
        }
        text.push(&b.finish());
        rec.tools.push(ToolCall {
            name: name.to_owned(),
            id: call.get("id").and_then(Value::as_str).map(str::to_owned),
            summary: tool_summary(name, &args),
        });
    }
    rec.text = text.finish();
    rec.prose_len = prose_len.min(rec.text.len());
    rec.role = match rec.kind.as_str() {
        "user" if tool_results => Some(Role::ToolResult),
        "user" => {
            rec.is_prompt = is_prompt_text(&rec.text) && !rec.text.starts_with("<session_context>");
            rec.is_meta = !rec.is_prompt;
            Some(Role::User)
        }
        "gemini" => Some(Role::Assistant),
        "info" | "error" | "warning" => Some(Role::System),
        _ => None,
    };
    if let Some(t) = v.get("tokens").filter(|t| t.is_object()) {
        let n = |k: &str| t.get(k).and_then(Value::as_u64).unwrap_or(0);
        let cached = n("cached");
        rec.usage = Some(Usage {
            input_tokens: n("input").saturating_sub(cached).saturating_add(n("tool")),
            output_tokens: n("output").saturating_add(n("thoughts")),
            cache_creation_input_tokens: 0,
            cache_read_input_tokens: cached,
            cache_creation_1h_tokens: 0,
        });
        rec.usage_key = rec.uuid.clone();
    }
    Ok(rec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn line(v: Value) -> Record {
        parse_line(v.to_string().as_bytes()).unwrap()
    }

    #[test]
    fn header_messages_tools_and_tokens() {
        let h = line(
            json!({"sessionId": "37cd", "projectHash": "7c", "startTime": "2026-11-29T07:28:56.246Z", "kind": "main"}),
        );
        assert_eq!(h.session_id.as_deref(), Some("37cd"));
        assert!(h.role.is_none() && h.ts_ms.is_some());
        assert_eq!(line(json!({"$set": {"lastUpdated": "x"}})).kind, "$set");
        let u = line(json!({"id": "u1", "type": "user", "content": [{"text": "run echo"}]}));
        assert_eq!(
            (u.role, u.is_prompt, u.text.as_str()),
            (Some(Role::User), true, "run echo")
        );
        let ctx = line(
            json!({"id": "u0", "type": "user", "content": [{"text": "<session_context>\nThis is"}]}),
        );
        assert!(!ctx.is_prompt);
        let g = line(
            json!({"id": "g1", "type": "gemini", "content": "", "model": "gemini-2.5-flash",
            "tokens": {"input": 100, "output": 5, "cached": 30, "thoughts": 2, "tool": 1, "total": 108},
            "toolCalls": [{"id": "c1", "name": "run_shell_command", "args": {"command": "echo hi"},
                "result": [{"functionResponse": {"response": {"output": "hi"}}}]}]}),
        );
        assert_eq!(g.role, Some(Role::Assistant));
        assert!(g.supersedes);
        assert_eq!(g.tools[0].name, "Bash");
        assert_eq!(g.tools[0].summary, "echo hi");
        assert!(g.text.contains("echo hi") && g.text.contains("hi"));
        assert_eq!(
            g.usage,
            Some(Usage {
                input_tokens: 71,
                output_tokens: 7,
                cache_read_input_tokens: 30,
                ..Usage::default()
            })
        );
        assert_eq!(g.usage_key.as_deref(), Some("g1"));
        let r = line(
            json!({"id": "u2", "type": "user", "content": [{"functionResponse": {"response": {"output": "hi"}}}]}),
        );
        assert_eq!(r.role, Some(Role::ToolResult));
        assert!(parse_line(b"7").is_err());
    }
}
