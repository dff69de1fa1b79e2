//! The edits `agentd install --agent codex` and `uninstall --agent codex`
//! make to Codex CLI's user hooks (`$CODEX_HOME/hooks.json`, default
//! `~/.codex/hooks.json`; Claude Code's format: `{"hooks": {EVENT:
//! [{matcher?, hooks: [{type: "command", command, timeout}]}]}}`, timeouts
//! in seconds).
//!
//! Same invariants as `agentd_claude::settings`: idempotent, everything not
//! agentd's kept, uninstall removes exactly what install added. Codex runs
//! a hook only once the user has trusted its hash (`/hooks` in Codex's
//! TUI); install cannot do that for them, so it says so.

use agentd_claude::settings::{
    SettingsError, install_handlers, missing_handlers, uninstall_handlers,
};
use serde_json::{Value, json};

/// The file errors name.
pub const FILE: &str = "hooks.json";

/// Hook events agentd installs for Codex, with their `timeout` (seconds);
/// the ones held for a human get the caller's hold timeout instead.
pub const HOOK_EVENTS: &[(&str, u64)] = &[
    ("SessionStart", 10),
    ("UserPromptSubmit", 10),
    ("PreToolUse", 3660),
    ("PermissionRequest", 3660),
    ("PostToolUse", 600),
    ("PreCompact", 10),
    ("PostCompact", 10),
    ("SubagentStart", 10),
    ("SubagentStop", 600),
    ("Stop", 600),
    ("StopFailure", 10),
    ("Interrupt", 10),
    ("SessionEnd", 10),
];

/// Adds agentd's handler (`hook_command`, e.g. `'/usr/bin/agentd-hook'
/// hook --agent codex`) for every [`HOOK_EVENTS`] entry. Returns the events
/// whose handler was added or changed.
///
/// # Errors
/// [`SettingsError::Shape`] when a value agentd must edit has the wrong
/// type; `doc` is then unchanged.
pub fn install(
    doc: &mut Value,
    hook_command: &str,
    hold_timeout_s: u64,
) -> Result<Vec<String>, SettingsError> {
    let wanted: Vec<(&str, Value)> = HOOK_EVENTS
        .iter()
        .map(|(event, timeout)| {
            let timeout = match *event {
                "PreToolUse" | "PermissionRequest" => hold_timeout_s,
                _ => *timeout,
            };
            (
                *event,
                json!({"type": "command", "command": hook_command, "timeout": timeout}),
            )
        })
        .collect();
    install_handlers(doc, FILE, &wanted)
}

/// Removes what [`install`] added; returns how many handlers went.
///
/// # Errors
/// [`SettingsError::Shape`] when the top level is not an object.
pub fn uninstall(doc: &mut Value) -> Result<usize, SettingsError> {
    uninstall_handlers(doc, FILE, &events())
}

/// The [`HOOK_EVENTS`] that have no agentd handler in `doc`.
pub fn missing(doc: &Value) -> Vec<&'static str> {
    missing_handlers(doc, &events())
}

fn events() -> Vec<&'static str> {
    HOOK_EVENTS.iter().map(|(e, _)| *e).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const CMD: &str = "'/opt/a b/agentd-hook' hook --agent codex";

    #[test]
    fn install_is_idempotent_keeps_the_users_hooks_and_uninstall_restores() {
        let original = json!({"hooks": {"PreToolUse": [{"matcher": "Bash",
            "hooks": [{"type": "command", "command": "python3 deny.py"}]}]}});
        let mut doc = original.clone();
        let changed = install(&mut doc, CMD, 3660).unwrap();
        assert_eq!(changed.len(), HOOK_EVENTS.len());
        assert!(missing(&doc).is_empty());
        let once = doc.clone();
        assert!(install(&mut doc, CMD, 3660).unwrap().is_empty());
        assert_eq!(doc, once);
        assert_eq!(
            doc["hooks"]["PreToolUse"][0]["hooks"][0]["command"],
            "python3 deny.py"
        );
        assert_eq!(doc["hooks"]["PreToolUse"][1]["hooks"][0]["command"], CMD);
        assert_eq!(doc["hooks"]["PreToolUse"][1]["hooks"][0]["timeout"], 3660);
        assert_eq!(uninstall(&mut doc).unwrap(), HOOK_EVENTS.len());
        assert_eq!(doc, original);
        assert_eq!(missing(&doc).len(), HOOK_EVENTS.len());
    }

    #[test]
    fn wrong_shapes_are_refused_untouched() {
        let mut doc = json!({"hooks": {"Stop": 3}});
        let before = doc.clone();
        let err = install(&mut doc, CMD, 60).unwrap_err();
        assert_eq!(
            err.to_string(),
            "`hooks.Stop` in hooks.json is a number, expected an array; fix or remove it, then run again"
        );
        assert_eq!(doc, before);
    }
}
