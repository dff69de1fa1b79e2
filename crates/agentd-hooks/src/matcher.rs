//! Claude Code's matcher semantics (reference §2.2 "Matcher rules"):
//! `*`, empty or absent match everything; a matcher made only of letters,
//! digits, `_`, `-`, space, `,` and `|` is a list of exact names separated by
//! `|` or `,`; anything else is an unanchored regular expression
//! (`Edit.*` also matches `NotebookEdit`).

use regex::Regex;

/// A compiled matcher.
#[derive(Debug, Clone)]
pub enum Matcher {
    /// Matches everything.
    All,
    /// One of these exact names.
    Exact(Vec<String>),
    /// An unanchored regular expression.
    Regex(Regex),
}

impl Matcher {
    /// Compiles `m` (`None`, `""`, `"*"` = all).
    ///
    /// # Errors
    /// The regex error, for a matcher that is neither exact nor a valid
    /// regular expression (Rust's `regex` syntax: no look-around, as in
    /// most of what Claude Code users write).
    pub fn new(m: Option<&str>) -> Result<Matcher, String> {
        let m = m.map(str::trim).unwrap_or("");
        if m.is_empty() || m == "*" {
            return Ok(Matcher::All);
        }
        let exact = m
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | ' ' | ',' | '|'));
        if exact {
            return Ok(Matcher::Exact(
                m.split(['|', ','])
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect(),
            ));
        }
        Regex::new(m)
            .map(Matcher::Regex)
            .map_err(|e| format!("invalid matcher regex {m:?}: {e}"))
    }

    /// Whether `value` (a tool name, a SessionStart source, …) matches. An
    /// event without a matcher value matches only `All`.
    pub fn matches(&self, value: Option<&str>) -> bool {
        match (self, value) {
            (Matcher::All, _) => true,
            (_, None) => false,
            (Matcher::Exact(names), Some(v)) => names.iter().any(|n| n == v),
            (Matcher::Regex(r), Some(v)) => r.is_match(v),
        }
    }
}

/// The field of a hook payload that an event's matcher filters (reference
/// §2.2 "What each event's matcher filters"); `None` for events without
/// matcher support (UserPromptSubmit, Stop, …: every matcher applies).
pub fn matched_value<'a>(event: &str, payload: &'a serde_json::Value) -> Option<&'a str> {
    let key = match event {
        "PreToolUse" | "PostToolUse" | "PostToolUseFailure" | "PermissionRequest"
        | "PermissionDenied" => "tool_name",
        "SessionStart" => "source",
        "SessionEnd" => "reason",
        "Notification" => "notification_type",
        "SubagentStart" | "SubagentStop" => "agent_type",
        "PreCompact" | "PostCompact" => "trigger",
        _ => return None,
    };
    payload.get(key).and_then(serde_json::Value::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Claude Code's documented examples (reference §2.2).
    #[test]
    fn documented_examples() {
        let cases: &[(&str, &str, bool)] = &[
            ("*", "Bash", true),
            ("", "Anything", true),
            ("Bash", "Bash", true),
            ("Bash", "BashOutput", false),
            ("Edit|Write", "Write", true),
            ("Edit|Write", "MultiEdit", false),
            ("Edit,Write", "Edit", true),
            ("Edit, Write", "Write", true),
            ("Edit.*", "NotebookEdit", true),
            ("Edit.*", "Edit", true),
            ("^Edit$", "NotebookEdit", false),
            ("mcp__memory__.*", "mcp__memory__create_entities", true),
            ("mcp__memory", "mcp__memory__create_entities", false),
            ("mcp__.*__write.*", "mcp__fs__write_file", true),
            ("startup|resume", "resume", true),
            ("startup|resume", "compact", false),
            ("my-tool", "my-tool", true),
            ("my-tool", "my-tool2", false),
        ];
        for (m, v, want) in cases {
            let got = Matcher::new(Some(m)).unwrap().matches(Some(v));
            assert_eq!(got, *want, "matcher {m:?} on {v:?}");
        }
        assert!(Matcher::new(None).unwrap().matches(None));
        assert!(!Matcher::new(Some("Bash")).unwrap().matches(None));
        assert!(Matcher::new(Some("(unclosed")).is_err());
    }

    #[test]
    fn matched_fields() {
        let p = serde_json::json!({"tool_name": "Bash", "source": "startup"});
        assert_eq!(matched_value("PostToolUse", &p), Some("Bash"));
        assert_eq!(matched_value("SessionStart", &p), Some("startup"));
        assert_eq!(matched_value("Stop", &p), None);
    }
}
