//! What a plugin says about a tool call, and how several answers combine.

use serde::{Deserialize, Serialize};

/// A plugin's answer to `decide`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Verdict {
    /// Let the call run.
    Allow {
        /// Why (shown in `agentd rules test` and the log).
        #[serde(default)]
        reason: Option<String>,
    },
    /// Refuse it; `message` is what the agent is told.
    Deny {
        /// What the agent is told.
        #[serde(default)]
        message: Option<String>,
    },
    /// Ask a human.
    Ask {
        /// Why a human is asked (shown with the approval).
        #[serde(default)]
        reason: Option<String>,
    },
    /// No opinion: the next policy decides. Also what a plugin that failed
    /// (trapped, timed out, answered garbage) is taken to say.
    Abstain,
}

impl Verdict {
    /// Deny beats ask beats allow beats abstain.
    fn rank(&self) -> u8 {
        match self {
            Verdict::Deny { .. } => 3,
            Verdict::Ask { .. } => 2,
            Verdict::Allow { .. } => 1,
            Verdict::Abstain => 0,
        }
    }

    /// Reads a plugin's JSON answer; anything else is garbage.
    ///
    /// # Errors
    /// What was wrong with it.
    pub fn parse(bytes: &[u8]) -> Result<Verdict, String> {
        serde_json::from_slice(bytes).map_err(|e| {
            format!(
                "answered `{}`, not {{\"decision\": \"allow\"|\"deny\"|\"ask\"|\"abstain\", …}}: {e}",
                String::from_utf8_lossy(&bytes[..bytes.len().min(120)])
            )
        })
    }

    /// The word for it (`allow`, `deny`, `ask`, `abstain`).
    pub fn word(&self) -> &'static str {
        match self {
            Verdict::Allow { .. } => "allow",
            Verdict::Deny { .. } => "deny",
            Verdict::Ask { .. } => "ask",
            Verdict::Abstain => "abstain",
        }
    }
}

/// The strongest of several verdicts with who gave it (the first of equals,
/// so plugin order — by name — breaks ties); `None` when all abstained.
pub fn strongest<K>(verdicts: &[(K, Verdict)]) -> Option<&(K, Verdict)> {
    verdicts
        .iter()
        .filter(|(_, v)| *v != Verdict::Abstain)
        .fold(None, |best: Option<&(K, Verdict)>, cur| match best {
            Some(b) if b.1.rank() >= cur.1.rank() => Some(b),
            _ => Some(cur),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_parse_and_garbage_is_refused() {
        assert_eq!(
            Verdict::parse(br#"{"decision":"deny","message":"no"}"#),
            Ok(Verdict::Deny {
                message: Some("no".into())
            })
        );
        assert_eq!(
            Verdict::parse(br#"{"decision":"abstain"}"#),
            Ok(Verdict::Abstain)
        );
        assert_eq!(
            Verdict::parse(br#"{"decision":"allow"}"#),
            Ok(Verdict::Allow { reason: None })
        );
        for bad in [&b"allow"[..], b"{}", b"{\"decision\":\"yes\"}", b"\xff"] {
            assert!(Verdict::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn deny_beats_ask_beats_allow() {
        let allow = Verdict::Allow { reason: None };
        let ask = Verdict::Ask { reason: None };
        let deny = Verdict::Deny { message: None };
        let v = [
            ("a", allow.clone()),
            ("b", ask.clone()),
            ("c", Verdict::Abstain),
        ];
        assert_eq!(strongest(&v).map(|(k, _)| *k), Some("b"));
        let v = [("a", deny.clone()), ("b", ask), ("c", deny)];
        assert_eq!(strongest(&v).map(|(k, _)| *k), Some("a"));
        let v = [("a", Verdict::Abstain)];
        assert!(strongest(&v).is_none());
        let v = [("x", Verdict::Abstain), ("y", allow)];
        assert_eq!(strongest(&v).map(|(k, _)| *k), Some("y"));
    }
}
