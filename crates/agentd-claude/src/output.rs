//! Hook output JSON that carries a decision back to Claude Code (reference
//! §2.4 "Decision control": PermissionRequest and PreToolUse).

use agentd_core::{Approval, Decision};
use serde_json::{Map, Value, json};

/// The PermissionRequest output for `decision` on `approval`:
/// `{"hookSpecificOutput": {"hookEventName": "PermissionRequest",
/// "decision": {"behavior": "allow"|"deny", ...}}}`.
/// The Elicitation hook's output (reference §2.4): an answer or an allow
/// accepts with `content` (the answer parsed as a JSON object when it is
/// one, else `{"value": text}`; an allow's edited input), a deny declines.
pub fn elicitation(decision: &Decision) -> Value {
    let (action, content) = match decision {
        Decision::Answer { text } => {
            let content = match serde_json::from_str::<Value>(text) {
                Ok(v @ Value::Object(_)) => v,
                _ => json!({"value": text}),
            };
            ("accept", Some(content))
        }
        Decision::Allow { updated_input, .. } => ("accept", updated_input.clone()),
        Decision::Deny { .. } => ("decline", None),
    };
    let mut out = Map::new();
    out.insert("hookEventName".into(), json!("Elicitation"));
    out.insert("action".into(), json!(action));
    if let Some(c) = content {
        out.insert("content".into(), c);
    }
    json!({ "hookSpecificOutput": out })
}

/// The PermissionRequest hook's output for `decision` (reference §2.4).
pub fn permission_request(decision: &Decision, approval: &Approval) -> Value {
    let mut d = Map::new();
    match decision {
        Decision::Allow {
            updated_input,
            updated_permissions,
        } => {
            d.insert("behavior".into(), json!("allow"));
            if let Some(input) = updated_input {
                d.insert("updatedInput".into(), input.clone());
            }
            if let Some(perms) = updated_permissions.as_ref().filter(|p| !p.is_null()) {
                d.insert("updatedPermissions".into(), perms.clone());
            }
        }
        Decision::Deny { message } => {
            d.insert("behavior".into(), json!("deny"));
            d.insert(
                "message".into(),
                json!(
                    message
                        .clone()
                        .unwrap_or_else(|| "Denied by the user via agentd.".to_owned())
                ),
            );
        }
        Decision::Answer { text } => {
            d.insert("behavior".into(), json!("allow"));
            d.insert(
                "updatedInput".into(),
                answered_input(&approval.tool_input, text),
            );
        }
    }
    json!({"hookSpecificOutput": {"hookEventName": "PermissionRequest", "decision": d}})
}

/// The PreToolUse output: `{"hookSpecificOutput": {"hookEventName":
/// "PreToolUse", "permissionDecision": "allow"|"deny",
/// "permissionDecisionReason": ..., "updatedInput"?: ...}}`.
pub fn pre_tool_use(decision: &Decision, approval_input: &Value, reason: &str) -> Value {
    let mut out = Map::new();
    out.insert("hookEventName".into(), json!("PreToolUse"));
    match decision {
        Decision::Allow { updated_input, .. } => {
            out.insert("permissionDecision".into(), json!("allow"));
            out.insert("permissionDecisionReason".into(), json!(reason));
            if let Some(input) = updated_input {
                out.insert("updatedInput".into(), input.clone());
            }
        }
        Decision::Deny { message } => {
            out.insert("permissionDecision".into(), json!("deny"));
            out.insert(
                "permissionDecisionReason".into(),
                json!(message.clone().unwrap_or_else(|| reason.to_owned())),
            );
        }
        Decision::Answer { text } => {
            out.insert("permissionDecision".into(), json!("allow"));
            out.insert("permissionDecisionReason".into(), json!(reason));
            out.insert("updatedInput".into(), answered_input(approval_input, text));
        }
    }
    json!({ "hookSpecificOutput": out })
}

/// The `response` of a `control_response` to a `can_use_tool` request
/// (reference §5.4): `{"behavior": "allow", "updatedInput": …}` — always
/// with `updatedInput`, the original when unchanged — or `{"behavior":
/// "deny", "message": …}`.
pub fn can_use_tool(decision: &Decision, approval: &Approval) -> Value {
    match decision {
        Decision::Allow {
            updated_input,
            updated_permissions,
        } => {
            let mut out = json!({"behavior": "allow",
                "updatedInput": updated_input.clone().unwrap_or_else(|| approval.tool_input.clone())});
            if let Some(perms) = updated_permissions.as_ref().filter(|p| !p.is_null()) {
                out["updatedPermissions"] = perms.clone();
            }
            out
        }
        Decision::Deny { message } => json!({"behavior": "deny",
            "message": message.clone().unwrap_or_else(|| "Denied by the user via agentd.".to_owned())}),
        Decision::Answer { text } => json!({"behavior": "allow",
            "updatedInput": answered_input(&approval.tool_input, text)}),
    }
}

/// AskUserQuestion's input with `answers` filled in: every question gets
/// `text` (keyed by the question text, as the tool's `answers` map is).
pub fn answered_input(input: &Value, text: &str) -> Value {
    let mut input = input.clone();
    let answers: Map<String, Value> = input
        .get("questions")
        .and_then(Value::as_array)
        .map(|qs| {
            qs.iter()
                .filter_map(|q| q.get("question").and_then(Value::as_str))
                .map(|q| (q.to_owned(), json!(text)))
                .collect()
        })
        .unwrap_or_default();
    if let Value::Object(map) = &mut input {
        map.insert("answers".into(), Value::Object(answers));
    }
    input
}

#[cfg(test)]
mod tests {
    use agentd_core::Origin;

    use super::*;

    fn approval(input: Value) -> Approval {
        Approval {
            session_id: "s".into(),
            ..Approval::pending("apr_1".into(), "Bash", input, Origin::PermissionRequest, 0)
        }
    }

    #[test]
    fn shapes_match_the_reference() {
        let a = approval(json!({"command": "ls"}));
        let allow = Decision::Allow {
            updated_input: None,
            updated_permissions: Some(
                json!([{"type": "setMode", "mode": "acceptEdits", "destination": "session"}]),
            ),
        };
        assert_eq!(
            permission_request(&allow, &a),
            json!({"hookSpecificOutput": {"hookEventName": "PermissionRequest", "decision": {"behavior": "allow",
                "updatedPermissions": [{"type": "setMode", "mode": "acceptEdits", "destination": "session"}]}}})
        );
        let deny = Decision::Deny {
            message: Some("not now".into()),
        };
        assert_eq!(
            permission_request(&deny, &a),
            json!({"hookSpecificOutput": {"hookEventName": "PermissionRequest", "decision": {"behavior": "deny", "message": "not now"}}})
        );
        assert_eq!(
            pre_tool_use(&deny, &a.tool_input, "rule"),
            json!({"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": "deny", "permissionDecisionReason": "not now"}})
        );
    }

    #[test]
    fn answers_fill_every_question() {
        let a = approval(json!({"questions": [{"question": "Which?", "options": []}]}));
        let out = permission_request(&Decision::Answer { text: "B".into() }, &a);
        assert_eq!(
            out["hookSpecificOutput"]["decision"]["updatedInput"]["answers"],
            json!({"Which?": "B"})
        );
        assert_eq!(out["hookSpecificOutput"]["decision"]["behavior"], "allow");
    }
}
