//! The agent adapters, chosen by the agent that ran a hook
//! ([`HookEnv::agent`], set by `agentd hook --agent codex|gemini`).
//!
//! Everything downstream of ingest — rules, plugins, approvals, agentd's
//! hook runner — reads a hook payload as Claude Code would have sent it
//! ([`view`]: Gemini's `BeforeTool`/`run_shell_command` is a
//! `PreToolUse` of `Bash`), and answers in Claude Code's shape, which
//! [`reply`] turns into the agent's own. The stored payload is always the
//! agent's own, so `events` shows what the agent really sent.

use std::borrow::Cow;

use agentd_claude::AdapterError;
use agentd_claude::hook::HookEnv;
use agentd_core::{Agent, LifecycleEvent};
use agentd_proto::api::IngestResult;
use serde_json::Value;

/// Claude Code's hook before a skill's shell command.
const SKILL_SHELL: &str = agentd_claude::settings::SKILL_SHELL_HOOK.0;

/// The lifecycle event of `agent`'s hook `payload`, received at `ts_ms`.
///
/// # Errors
/// The adapter's error: not an object, no `session_id`.
pub fn to_event(
    agent: Agent,
    payload: &Value,
    env: &HookEnv,
    ts_ms: i64,
) -> Result<LifecycleEvent, AdapterError> {
    match agent {
        Agent::Claude => agentd_claude::hook::to_event(payload, env, ts_ms),
        Agent::Codex => agentd_codex::hook::to_event(payload, env, ts_ms),
        Agent::Gemini => agentd_gemini::hook::to_event(payload, env, ts_ms),
    }
}

/// `payload` as Claude Code's core events would have sent it (event and
/// tool names): Claude Code's own `PreSkillShellCommand` (2.1.332, a
/// skill's shell command, blocking like PreToolUse) is judged as a
/// `PreToolUse`.
pub fn view(agent: Agent, payload: &Value) -> Cow<'_, Value> {
    match agent {
        Agent::Claude if agentd_claude::hook::event_name(payload) == Some(SKILL_SHELL) => {
            let mut v = payload.clone();
            v["hook_event_name"] = Value::from("PreToolUse");
            Cow::Owned(v)
        }
        Agent::Claude => Cow::Borrowed(payload),
        Agent::Codex => agentd_codex::hook::view(payload),
        Agent::Gemini => agentd_gemini::hook::view(payload),
    }
}

/// The reply to `agent`'s hook `payload`, from the Claude-shaped `result`.
/// Claude Code and Codex CLI read the same output; Gemini CLI gets its own
/// ([`agentd_gemini::output::from_claude`]).
pub fn reply(agent: Agent, payload: &Value, mut result: IngestResult) -> IngestResult {
    let event = agentd_claude::hook::event_name(payload);
    if agent == Agent::Claude
        && event == Some(SKILL_SHELL)
        && let Some(specific) = result
            .output
            .as_mut()
            .and_then(|o| o.get_mut("hookSpecificOutput"))
            .and_then(Value::as_object_mut)
    {
        specific.insert("hookEventName".into(), Value::from(SKILL_SHELL));
    }
    if agent == Agent::Gemini {
        result.output = result
            .output
            .as_ref()
            .and_then(|o| agentd_gemini::output::from_claude(event.unwrap_or_default(), o));
    }
    result
}

/// [`reply`] for a held call's JSON result (`{seq, output, exit_code}`).
pub fn reply_value(agent: Agent, payload: &Value, result: Value) -> Value {
    if agent == Agent::Codex {
        return result;
    }
    match serde_json::from_value::<IngestResult>(result.clone()) {
        Ok(r) => serde_json::to_value(reply(agent, payload, r)).unwrap_or(result),
        Err(_) => result,
    }
}
