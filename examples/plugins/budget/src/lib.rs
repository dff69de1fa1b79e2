//! budget: denies every tool call of a session whose cost (USD, from its
//! status line) has passed `limit_usd`, and asks for a notification when a
//! session's cost first crosses it.

use agentd_plugin_sdk::{Decision, Effect, Event, ToolCall, Value, decide, json, on_event};

fn limit(settings: &Value) -> f64 {
    settings
        .get("limit_usd")
        .and_then(Value::as_f64)
        .unwrap_or(20.0)
}

/// The decision for a session that has spent `spent` of `limit` USD.
pub fn judge(spent: Option<f64>, limit: f64) -> Decision {
    match spent {
        Some(s) if s >= limit => Decision::deny(format!(
            "this session has spent ${s:.2} of its ${limit:.2} budget; ask the user to raise [settings] limit_usd of the budget plugin, or start a new session"
        )),
        _ => Decision::Abstain,
    }
}

fn decide_budget(call: ToolCall) -> Decision {
    judge(call.cost_usd(), limit(&call.settings))
}

fn watch(e: Event) -> Vec<Effect> {
    let cost = e
        .event
        .pointer("/payload/cost/total_cost_usd")
        .and_then(Value::as_f64);
    let limit = limit(&e.settings);
    match cost {
        Some(c) if c >= limit => vec![Effect::new(
            "notify.send",
            json!({
                "title": "Session over budget",
                "body": format!("session {} has spent ${c:.2} (limit ${limit:.2}); its tool calls are denied",
                    e.event.get("session_id").and_then(Value::as_str).unwrap_or("?")),
                "session_id": e.event.get("session_id"),
            }),
        )],
        _ => Vec::new(),
    }
}

decide!(decide_budget);
on_event!(watch);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn over_the_limit_is_denied() {
        assert_eq!(judge(None, 20.0), Decision::Abstain);
        assert_eq!(judge(Some(19.99), 20.0), Decision::Abstain);
        assert!(matches!(judge(Some(20.0), 20.0), Decision::Deny { .. }));
    }
}
