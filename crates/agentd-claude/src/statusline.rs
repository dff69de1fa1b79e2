//! Status-line snapshots (reference §3.3–§3.4).
//!
//! Claude Code runs the `statusLine` command with a JSON snapshot on stdin
//! after each assistant message (debounced 300 ms). Old versions lack
//! `context_window`; early snapshots have `null` percentages; both are fine.

use agentd_core::{EventContext, EventKind, LifecycleEvent};
use serde_json::Value;

use crate::hook::{HookEnv, model_id, session_id};
use crate::{AdapterError, str_field, string_field};

/// The facts agentd reads from one snapshot.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Snapshot {
    /// `model.id`.
    pub model_id: Option<String>,
    /// `model.display_name`.
    pub model_name: Option<String>,
    /// Used share of the context window, percent: `context_window.used_percentage`,
    /// else computed from `current_usage` and `context_window_size`.
    pub context_pct: Option<f64>,
    /// `cost.total_cost_usd`, USD.
    pub cost_usd: Option<f64>,
}

/// Reads the facts of a snapshot; missing or mistyped fields become `None`.
pub fn snapshot(payload: &Value) -> Snapshot {
    let model = payload.get("model");
    let cw = payload.get("context_window");
    let pct = cw
        .and_then(|c| c.get("used_percentage"))
        .and_then(Value::as_f64)
        .or_else(|| {
            let cw = cw?;
            let size = cw
                .get("context_window_size")?
                .as_f64()
                .filter(|s| *s > 0.0)?;
            let usage = cw.get("current_usage")?;
            let used: f64 = [
                "input_tokens",
                "cache_creation_input_tokens",
                "cache_read_input_tokens",
            ]
            .iter()
            .filter_map(|k| usage.get(*k).and_then(Value::as_f64))
            .sum();
            Some(used * 100.0 / size)
        })
        .filter(|p| p.is_finite())
        // `+ 0.0` turns -0.0 (a fresh session) into 0.0: never "ctx -0%".
        .map(|p| p.clamp(0.0, 100.0) + 0.0);
    Snapshot {
        model_id: model_id(model),
        model_name: model.and_then(|m| string_field(m, "display_name")),
        context_pct: pct,
        cost_usd: payload
            .get("cost")
            .and_then(|c| c.get("total_cost_usd"))
            .and_then(Value::as_f64)
            .filter(|c| c.is_finite()),
    }
}

/// Maps a snapshot received at `ts_ms` to a `status.updated` event.
///
/// # Errors
/// [`AdapterError`] when `payload` is not an object or has no `session_id`.
pub fn to_event(
    payload: &Value,
    env: &HookEnv,
    ts_ms: i64,
) -> Result<LifecycleEvent, AdapterError> {
    let session_id = session_id(payload)?.to_owned();
    let snap = snapshot(payload);
    let workspace = payload.get("workspace");
    Ok(LifecycleEvent {
        session_id,
        ts_ms,
        kind: EventKind::StatusUpdated {
            context_pct: snap.context_pct,
            cost_usd: snap.cost_usd,
        },
        context: EventContext {
            cwd: workspace
                .and_then(|w| string_field(w, "current_dir"))
                .or_else(|| string_field(payload, "cwd")),
            project_dir: workspace
                .and_then(|w| string_field(w, "project_dir"))
                .or_else(|| env.project_dir.clone()),
            transcript_path: string_field(payload, "transcript_path"),
            permission_mode: None,
            model: snap.model_id,
            git_branch: env.git_branch.clone(),
            tmux_pane: env.tmux_pane.clone(),
            pid: env.claude_pid,
            agent_id: None,
            agent_type: None,
        },
    })
}

/// The one-line status `agentd statusline` prints: `Opus 4 · ctx 12% · $0.031`.
/// Untrusted text is stripped of control characters.
pub fn render(payload: &Value) -> String {
    let snap = snapshot(payload);
    let mut parts = Vec::new();
    if let Some(name) = snap.model_name.or(snap.model_id) {
        parts.push(agentd_core::text::one_line(&name));
    }
    if let Some(pct) = snap.context_pct {
        parts.push(format!("ctx {pct:.0}%"));
    }
    if let Some(cost) = snap.cost_usd {
        parts.push(format!("${cost:.3}"));
    }
    if parts.is_empty() {
        parts.push(
            str_field(payload, "session_id")
                .map(|s| {
                    format!(
                        "agentd · {}",
                        agentd_core::text::truncate(&agentd_core::text::one_line(s), 8)
                    )
                })
                .unwrap_or_else(|| "agentd".to_owned()),
        );
    }
    parts.join(" · ")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn current_payload() {
        let p = json!({
            "session_id": "s", "cwd": "/w", "model": {"id": "claude-opus-4-1", "display_name": "Opus"},
            "workspace": {"current_dir": "/w/sub", "project_dir": "/w"},
            "cost": {"total_cost_usd": 0.01234},
            "context_window": {"used_percentage": 12.4, "context_window_size": 200000}
        });
        assert_eq!(render(&p), "Opus · ctx 12% · $0.012");
        let e = to_event(&p, &HookEnv::default(), 1).unwrap();
        assert_eq!(e.context.model.as_deref(), Some("claude-opus-4-1"));
        assert_eq!(e.context.cwd.as_deref(), Some("/w/sub"));
        assert_eq!(e.context.project_dir.as_deref(), Some("/w"));
        assert_eq!(
            e.kind,
            EventKind::StatusUpdated {
                context_pct: Some(12.4),
                cost_usd: Some(0.01234)
            }
        );
    }

    #[test]
    fn a_fresh_session_shows_ctx_0_never_minus_0() {
        for used in [json!(-0.0), json!(-0.4), json!(0)] {
            let p = json!({"session_id": "s", "model": {"display_name": "Opus"},
                "context_window": {"used_percentage": used}});
            assert_eq!(render(&p), "Opus · ctx 0%", "{used}");
        }
    }

    #[test]
    fn percentage_from_current_usage_when_not_given() {
        let p = json!({"session_id": "s", "context_window": {"context_window_size": 1000,
            "current_usage": {"input_tokens": 50, "cache_read_input_tokens": 50, "output_tokens": 900}}});
        assert_eq!(snapshot(&p).context_pct, Some(10.0));
    }

    #[test]
    fn old_and_empty_payloads_render() {
        assert_eq!(
            render(&json!({"session_id": "0123456789"})),
            "agentd · 0123456…"
        );
        assert_eq!(render(&json!({})), "agentd");
        assert_eq!(
            render(&json!({"model": {"display_name": "\u{1b}]0;pwn\u{7}"}})),
            "\\x1b]0;pwn\\x07"
        );
    }
}
