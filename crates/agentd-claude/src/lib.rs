//! The Claude Code adapter.
//!
//! Everything agentd knows about Claude Code's JSON lives here; the domain
//! crate (`agentd-core`) never sees it.
//!
//! * [`hook`]: hook payloads (reference §2.3, §2.5) → [`agentd_core::LifecycleEvent`].
//! * [`statusline`]: status-line snapshots (reference §3.3) → events, and the
//!   one-line status `agentd statusline` prints.
//! * [`settings`]: the edits `agentd install` / `uninstall` make to
//!   `settings.json` (reference §2.2, §3.1).

#![warn(missing_docs)]

pub mod hook;
pub mod output;
pub mod rules;
pub mod settings;
pub mod statusline;
pub mod stream;

/// The agent name sessions from this adapter carry.
pub const AGENT: &str = "claude";

/// Why a payload could not be turned into an event.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum AdapterError {
    /// The payload is not a JSON object.
    #[error("payload must be a JSON object, got {0}")]
    NotAnObject(&'static str),
    /// A required field is missing or has the wrong type.
    #[error("payload field `{field}` is missing or not a non-empty string")]
    MissingField {
        /// The field's name.
        field: &'static str,
    },
}

/// The JSON type name of `v`, for error messages.
pub(crate) fn type_name(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// The string at `key` of object `v`, if it is a non-empty string.
pub(crate) fn str_field<'a>(v: &'a serde_json::Value, key: &str) -> Option<&'a str> {
    v.get(key)?.as_str().filter(|s| !s.is_empty())
}

pub(crate) fn string_field(v: &serde_json::Value, key: &str) -> Option<String> {
    str_field(v, key).map(str::to_owned)
}
