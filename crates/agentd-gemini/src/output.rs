//! agentd's hook reply, decided in Claude Code's shape, → Gemini CLI's hook
//! output (its `docs/hooks/reference.md`: top-level `decision`
//! `"allow"|"deny"` and `reason`; `hookSpecificOutput.tool_input` to
//! rewrite a tool call; `hookSpecificOutput.additionalContext`;
//! `systemMessage`, `continue`, `stopReason`).

use serde_json::{Map, Value, json};

/// Gemini's output for `event` (Gemini's name, e.g. `BeforeTool`) from
/// agentd's Claude-shaped `output`. `None` when Gemini should go on as
/// without agentd: no decision, or one Gemini has no way to express (an
/// `ask`: Gemini then applies its own approval mode).
pub fn from_claude(event: &str, output: &Value) -> Option<Value> {
    let obj = output.as_object()?;
    let specific = obj.get("hookSpecificOutput").and_then(Value::as_object);
    let mut out = Map::new();
    for k in ["systemMessage", "continue", "stopReason", "suppressOutput"] {
        if let Some(v) = obj.get(k) {
            out.insert(k.to_owned(), v.clone());
        }
    }
    let mut gemini_specific = Map::new();
    if let Some(ctx) = specific.and_then(|s| s.get("additionalContext")) {
        gemini_specific.insert("additionalContext".into(), ctx.clone());
    }
    match (event, specific) {
        ("BeforeTool", Some(s)) => {
            let reason = s.get("permissionDecisionReason").cloned();
            match s.get("permissionDecision").and_then(Value::as_str) {
                Some("deny") => {
                    out.insert("decision".into(), json!("deny"));
                    out.insert(
                        "reason".into(),
                        reason.unwrap_or_else(|| json!("Denied via agentd.")),
                    );
                }
                Some("allow") => {
                    out.insert("decision".into(), json!("allow"));
                    if let Some(input) = s.get("updatedInput") {
                        gemini_specific.insert("tool_input".into(), input.clone());
                    }
                }
                _ => {}
            }
        }
        _ => {
            // Claude's `{"decision": "block", "reason"}` (Stop,
            // PostToolUse, UserPromptSubmit: a blocking check failed).
            if obj.get("decision").and_then(Value::as_str) == Some("block") {
                let reason = obj.get("reason").cloned().unwrap_or(json!(""));
                match event {
                    // Denying AfterTool would replace the tool's result;
                    // Claude Code shows the reason beside it, so Gemini
                    // gets it appended.
                    "AfterTool" => {
                        gemini_specific.insert("additionalContext".into(), reason);
                    }
                    // AfterAgent: the reason goes back as a new prompt
                    // (Claude's Stop block); BeforeAgent: the prompt is
                    // refused.
                    _ => {
                        out.insert("decision".into(), json!("deny"));
                        out.insert("reason".into(), reason);
                    }
                }
            }
        }
    }
    if !gemini_specific.is_empty() {
        out.insert("hookSpecificOutput".into(), Value::Object(gemini_specific));
    }
    (!out.is_empty()).then_some(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions_take_geminis_shape() {
        let deny = json!({"hookSpecificOutput": {"hookEventName": "PreToolUse",
            "permissionDecision": "deny", "permissionDecisionReason": "rule Bash(rm:*)"}});
        assert_eq!(
            from_claude("BeforeTool", &deny),
            Some(json!({"decision": "deny", "reason": "rule Bash(rm:*)"}))
        );
        let allow = json!({"hookSpecificOutput": {"hookEventName": "PreToolUse",
            "permissionDecision": "allow", "permissionDecisionReason": "ok",
            "updatedInput": {"command": "ls -a"}}});
        assert_eq!(
            from_claude("BeforeTool", &allow),
            Some(
                json!({"decision": "allow", "hookSpecificOutput": {"tool_input": {"command": "ls -a"}}})
            )
        );
        let ask = json!({"hookSpecificOutput": {"hookEventName": "PreToolUse",
            "permissionDecision": "ask"}});
        assert_eq!(from_claude("BeforeTool", &ask), None);
        let block = json!({"decision": "block", "reason": "cargo test failed"});
        assert_eq!(
            from_claude("AfterAgent", &block),
            Some(json!({"decision": "deny", "reason": "cargo test failed"}))
        );
        assert_eq!(
            from_claude("AfterTool", &block),
            Some(json!({"hookSpecificOutput": {"additionalContext": "cargo test failed"}}))
        );
        let ctx = json!({"hookSpecificOutput": {"hookEventName": "SessionStart",
            "additionalContext": "hi"}, "systemMessage": "m"});
        assert_eq!(
            from_claude("SessionStart", &ctx),
            Some(json!({"systemMessage": "m", "hookSpecificOutput": {"additionalContext": "hi"}}))
        );
        assert_eq!(from_claude("BeforeTool", &json!(null)), None);
        assert_eq!(from_claude("BeforeTool", &json!({})), None);
    }
}
