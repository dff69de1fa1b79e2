//! Which coding agent a session belongs to.

use serde::{Deserialize, Serialize};

/// A coding agent agentd has an adapter for. Stored with every event (the
/// `agent` column) and shown with every session, as its [`Agent::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Agent {
    /// Anthropic's Claude Code (`agentd-claude`).
    #[default]
    Claude,
    /// OpenAI's Codex CLI (`agentd-codex`).
    Codex,
    /// Google's Gemini CLI (`agentd-gemini`).
    Gemini,
}

impl Agent {
    /// Every agent, in the order lists show them.
    pub const ALL: [Agent; 3] = [Agent::Claude, Agent::Codex, Agent::Gemini];

    /// The stored name: `claude`, `codex` or `gemini`.
    pub fn as_str(self) -> &'static str {
        match self {
            Agent::Claude => "claude",
            Agent::Codex => "codex",
            Agent::Gemini => "gemini",
        }
    }

    /// The agent named `name` (as [`Agent::as_str`] spells it), if known.
    pub fn parse(name: &str) -> Option<Agent> {
        Agent::ALL.into_iter().find(|a| a.as_str() == name)
    }

    /// The product's own name, for messages: `Claude Code`, `Codex CLI`,
    /// `Gemini CLI`.
    pub fn product(self) -> &'static str {
        match self {
            Agent::Claude => "Claude Code",
            Agent::Codex => "Codex CLI",
            Agent::Gemini => "Gemini CLI",
        }
    }
}

impl std::fmt::Display for Agent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_parse_and_serde() {
        for a in Agent::ALL {
            assert_eq!(Agent::parse(a.as_str()), Some(a));
            assert_eq!(serde_json::to_value(a).unwrap(), a.as_str());
        }
        assert_eq!(Agent::parse("Claude"), None);
        assert_eq!(Agent::parse(""), None);
    }
}
