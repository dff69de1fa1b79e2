//! The edits `agentd install --agent gemini` and `uninstall --agent
//! gemini` make to Gemini CLI's user settings (`~/.gemini/settings.json`;
//! `hooks` has Claude Code's shape, handler `timeout` in milliseconds).
//!
//! Same invariants as `agentd_claude::settings`. BeforeModel, AfterModel
//! and BeforeToolSelection are left out on purpose: they fire on every
//! model call (AfterModel on every streamed chunk) and carry the whole
//! conversation, which would cost every turn a round trip per chunk for
//! nothing agentd shows.

use agentd_claude::settings::{
    SettingsError, install_handlers, missing_handlers, uninstall_handlers,
};
use serde_json::{Value, json};

/// The file errors name.
pub const FILE: &str = "settings.json";

/// Hook events agentd installs for Gemini, with their `timeout` (ms); the
/// one held for a human (BeforeTool) gets the caller's hold timeout.
pub const HOOK_EVENTS: &[(&str, u64)] = &[
    ("SessionStart", 10_000),
    ("SessionEnd", 10_000),
    ("BeforeAgent", 10_000),
    ("AfterAgent", 600_000),
    ("BeforeTool", 3_660_000),
    ("AfterTool", 600_000),
    ("PreCompress", 10_000),
    ("Notification", 10_000),
];

/// Adds agentd's handler (`hook_command`, e.g. `'/usr/bin/agentd-hook'
/// hook --agent gemini`, named `agentd`) for every [`HOOK_EVENTS`] entry.
/// Returns the events whose handler was added or changed.
///
/// # Errors
/// [`SettingsError::Shape`] when a value agentd must edit has the wrong
/// type; `doc` is then unchanged.
pub fn install(
    doc: &mut Value,
    hook_command: &str,
    hold_timeout_ms: u64,
) -> Result<Vec<String>, SettingsError> {
    let wanted: Vec<(&str, Value)> = HOOK_EVENTS
        .iter()
        .map(|(event, timeout)| {
            let timeout = if *event == "BeforeTool" {
                hold_timeout_ms
            } else {
                *timeout
            };
            (
                *event,
                json!({"type": "command", "name": "agentd", "command": hook_command, "timeout": timeout}),
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

    const CMD: &str = "/usr/bin/agentd-hook hook --agent gemini";

    #[test]
    fn install_is_idempotent_keeps_settings_and_uninstall_restores() {
        let original = json!({"security": {"auth": {"selectedType": "gemini-api-key"}},
            "hooks": {"AfterTool": [{"matcher": "write_file", "hooks": [{"type": "command", "command": "fmt.sh"}]}]}});
        let mut doc = original.clone();
        assert_eq!(
            install(&mut doc, CMD, 61_000).unwrap().len(),
            HOOK_EVENTS.len()
        );
        let once = doc.clone();
        assert!(install(&mut doc, CMD, 61_000).unwrap().is_empty());
        assert_eq!(doc, once);
        assert!(missing(&doc).is_empty());
        assert_eq!(doc["hooks"]["BeforeTool"][0]["hooks"][0]["timeout"], 61_000);
        assert_eq!(
            doc["hooks"]["AfterTool"][0]["hooks"][0]["command"],
            "fmt.sh"
        );
        assert_eq!(uninstall(&mut doc).unwrap(), HOOK_EVENTS.len());
        assert_eq!(doc, original);
        let mut bad = json!({"hooks": []});
        assert!(install(&mut bad, CMD, 1).is_err());
        assert_eq!(bad, json!({"hooks": []}));
    }
}
