//! When a session needs its user: a pure fold over committed events (and a
//! clock tick for stuck sessions) into [`Need`]s. No IO.

use std::collections::HashMap;

use agentd_core::{Session, Status};
use serde::Serialize;
use serde_json::Value;

/// Why a session needs its user; `[[notify.sinks]] reasons` names these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// A tool call waits for approval.
    Approval,
    /// The agent asked a question (AskUserQuestion, `ask_human`, an MCP
    /// elicitation).
    Question,
    /// A turn ended after a long run.
    TurnFinished,
    /// A turn ended with an error.
    TurnFailed,
    /// One of agentd's project checks failed.
    CheckFailed,
    /// `working`, but no event for `[notify] stuck_after_s`.
    Stuck,
    /// A plugin asked to tell the user (its `notify.send` effect).
    Plugin,
}

impl Reason {
    /// The name in config and payloads.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Approval => "approval",
            Reason::Question => "question",
            Reason::TurnFinished => "turn_finished",
            Reason::TurnFailed => "turn_failed",
            Reason::CheckFailed => "check_failed",
            Reason::Stuck => "stuck",
            Reason::Plugin => "plugin",
        }
    }
}

/// One "needs you", before any sink's rules.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Need {
    /// Why.
    pub reason: Reason,
    /// The session.
    pub session_id: String,
    /// Its agent (`claude`, `codex`, `gemini`).
    pub agent: String,
    /// Its project directory (else cwd).
    pub project: Option<String>,
    /// One line: what needs the user (untrusted text, already one line).
    pub title: String,
    /// More detail: the command, the error (bounded, one line each).
    pub body: String,
    /// The approval to decide, for [`Reason::Approval`] / [`Reason::Question`]
    /// raised by an approval.
    pub approval_id: Option<String>,
    /// The turn's length, ms, for [`Reason::TurnFinished`].
    pub run_ms: Option<i64>,
    /// When, ms since the Unix epoch.
    pub ts_ms: i64,
}

/// Most sessions whose turn start is remembered (oldest forgotten first).
const MAX_TRACKED: usize = 4096;
/// Longest title and body kept, characters.
const MAX_TITLE: usize = 120;
const MAX_BODY: usize = 400;

/// The fold's state: when each session's turn began, which stuck sessions
/// were already reported.
#[derive(Debug, Default)]
pub struct Watcher {
    turn_started_ms: HashMap<String, i64>,
    stuck_reported: HashMap<String, i64>,
}

fn project_of(s: &Session) -> Option<String> {
    s.project.clone().or_else(|| s.cwd.clone())
}

fn short(text: &str, max: usize) -> String {
    agentd_core::text::truncate(&agentd_core::text::one_line(text), max)
}

fn need(reason: Reason, s: &Session, title: String, body: String, ts_ms: i64) -> Need {
    Need {
        reason,
        session_id: s.id.clone(),
        agent: s.agent.clone(),
        project: project_of(s),
        title: short(&title, MAX_TITLE),
        body: short(&body, MAX_BODY),
        approval_id: None,
        run_ms: None,
        ts_ms,
    }
}

/// A plugin's `notify.send`: `title` and `body` as it gave them (untrusted:
/// made one line and bounded), about `session` when it named one.
pub fn from_plugin(
    plugin: &str,
    session: Option<&Session>,
    title: &str,
    body: &str,
    ts_ms: i64,
) -> Need {
    Need {
        reason: Reason::Plugin,
        session_id: session.map(|s| s.id.clone()).unwrap_or_default(),
        agent: session.map(|s| s.agent.clone()).unwrap_or_default(),
        project: session.and_then(project_of),
        title: short(&format!("{plugin}: {title}"), MAX_TITLE),
        body: short(body, MAX_BODY),
        approval_id: None,
        run_ms: None,
        ts_ms,
    }
}

/// The project's last path component, for titles.
fn project_name(s: &Session) -> String {
    project_of(s)
        .as_deref()
        .and_then(|p| {
            p.trim_end_matches('/')
                .rsplit('/')
                .next()
                .map(str::to_owned)
        })
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| s.id.chars().take(8).collect())
}

/// What a tool call does, in one line (the command, the file).
fn input_summary(input: &Value) -> String {
    for k in ["command", "file_path", "url", "pattern", "prompt"] {
        if let Some(v) = input.get(k).and_then(Value::as_str) {
            return v.to_owned();
        }
    }
    if let Some(q) = input
        .get("questions")
        .and_then(|q| q.get(0))
        .and_then(|q| q.get("question"))
        .and_then(Value::as_str)
    {
        return q.to_owned();
    }
    String::new()
}

impl Watcher {
    /// The needs event `kind` (a [`agentd_core::EventKind::name`]) with
    /// `payload`, at `ts_ms`, raises; `session` is the session after it.
    /// `min_turn_ms`: shorter turns never raise [`Reason::TurnFinished`]
    /// (each sink may ask for longer).
    pub fn on_event(
        &mut self,
        kind: &str,
        payload: &Value,
        session: &Session,
        ts_ms: i64,
    ) -> Option<Need> {
        let id = &session.id;
        if session.status != Status::Working {
            self.stuck_reported.remove(id);
        }
        let name = project_name(session);
        match kind {
            "prompt.submitted" => {
                if self.turn_started_ms.len() >= MAX_TRACKED
                    && let Some(oldest) = self
                        .turn_started_ms
                        .iter()
                        .min_by_key(|(_, t)| **t)
                        .map(|(k, _)| k.clone())
                {
                    self.turn_started_ms.remove(&oldest);
                }
                self.turn_started_ms.insert(id.clone(), ts_ms);
                None
            }
            "approval.requested" => {
                let tool = payload
                    .get("tool_name")
                    .and_then(Value::as_str)
                    .unwrap_or("a tool");
                let origin = payload.get("origin").and_then(Value::as_str).unwrap_or("");
                let input = payload.get("tool_input").unwrap_or(&Value::Null);
                let question =
                    origin == "ask_human" || origin == "elicitation" || tool == "AskUserQuestion";
                let (reason, title) = if question {
                    (Reason::Question, format!("{name}: a question for you"))
                } else {
                    (Reason::Approval, format!("{name}: approve {tool}?"))
                };
                let mut n = need(reason, session, title, input_summary(input), ts_ms);
                n.approval_id = payload.get("id").and_then(Value::as_str).map(str::to_owned);
                Some(n)
            }
            "input.requested" => Some(need(
                Reason::Question,
                session,
                format!("{name}: waiting for your answer"),
                String::new(),
                ts_ms,
            )),
            "turn.stopped" => {
                let started = self.turn_started_ms.remove(id)?;
                let mut n = need(
                    Reason::TurnFinished,
                    session,
                    format!("{name}: turn finished"),
                    session
                        .last_tool
                        .clone()
                        .map(|t| format!("last tool: {t}"))
                        .unwrap_or_default(),
                    ts_ms,
                );
                n.run_ms = Some(ts_ms - started);
                Some(n)
            }
            "turn.failed" => {
                self.turn_started_ms.remove(id);
                Some(need(
                    Reason::TurnFailed,
                    session,
                    format!("{name}: turn failed"),
                    session.last_error.clone().unwrap_or_default(),
                    ts_ms,
                ))
            }
            // A failed check that blocks the agent (a non-blocking one only
            // warns; runs logged before the flag existed were blocking).
            "hook.finished"
                if payload.get("passed").and_then(Value::as_bool) == Some(false)
                    && payload.get("blocking").and_then(Value::as_bool) != Some(false) =>
            {
                let hook = payload
                    .get("hook")
                    .and_then(Value::as_str)
                    .unwrap_or("a check");
                let why = payload
                    .get("why")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                Some(need(
                    Reason::CheckFailed,
                    session,
                    format!("{name}: check {hook} failed"),
                    why.to_owned(),
                    ts_ms,
                ))
            }
            "session.ended" | "process.exited" => {
                self.turn_started_ms.remove(id);
                self.stuck_reported.remove(id);
                None
            }
            _ => None,
        }
    }

    /// Sessions `working` with no event for `stuck_after_ms`, each reported
    /// once per stuck spell.
    pub fn stuck<'a>(
        &mut self,
        sessions: impl Iterator<Item = &'a Session>,
        now_ms: i64,
        stuck_after_ms: i64,
    ) -> Vec<Need> {
        let mut out = Vec::new();
        for s in sessions {
            if s.status != Status::Working || now_ms - s.last_event_ms < stuck_after_ms {
                continue;
            }
            if self.stuck_reported.get(&s.id) == Some(&s.last_event_ms) {
                continue;
            }
            self.stuck_reported.insert(s.id.clone(), s.last_event_ms);
            let quiet_min = (now_ms - s.last_event_ms) / 60_000;
            out.push(need(
                Reason::Stuck,
                s,
                format!("{}: no progress for {quiet_min} min", project_name(s)),
                s.current_tool
                    .clone()
                    .map(|t| format!("running {t}"))
                    .unwrap_or_default(),
                now_ms,
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn session(status: Status) -> Session {
        let mut s = Session::new("s1", "codex", 0);
        s.status = status;
        s.project = Some("/home/me/api".into());
        s
    }

    #[test]
    fn approvals_questions_turns_and_checks() {
        let mut w = Watcher::default();
        let s = session(Status::NeedsApproval);
        let a = w
            .on_event(
                "approval.requested",
                &json!({"id": "apr_1", "tool_name": "Bash", "origin": "pre_tool_use",
                    "tool_input": {"command": "rm -rf build\n\u{1b}[2J"}}),
                &s,
                5,
            )
            .unwrap();
        assert_eq!(a.reason, Reason::Approval);
        assert_eq!(a.title, "api: approve Bash?");
        assert!(
            !a.body.contains('\n') && !a.body.contains('\u{1b}'),
            "{}",
            a.body
        );
        assert_eq!(a.approval_id.as_deref(), Some("apr_1"));
        let q = w
            .on_event(
                "approval.requested",
                &json!({"id": "apr_2", "tool_name": "AskUserQuestion", "origin": "ask_human",
                    "tool_input": {"questions": [{"question": "Ship it?"}]}}),
                &s,
                6,
            )
            .unwrap();
        assert_eq!((q.reason, q.body.as_str()), (Reason::Question, "Ship it?"));
        let working = session(Status::Working);
        assert!(
            w.on_event("prompt.submitted", &json!({}), &working, 1_000)
                .is_none()
        );
        let idle = session(Status::Idle);
        let t = w
            .on_event("turn.stopped", &json!({}), &idle, 91_000)
            .unwrap();
        assert_eq!((t.reason, t.run_ms), (Reason::TurnFinished, Some(90_000)));
        // No turn start known: nothing to say about its length.
        assert!(
            w.on_event("turn.stopped", &json!({}), &idle, 92_000)
                .is_none()
        );
        let c = w
            .on_event(
                "hook.finished",
                &json!({"passed": false, "hook": "test", "why": "exit 1"}),
                &idle,
                1,
            )
            .unwrap();
        assert_eq!(
            (c.reason, c.title.as_str()),
            (Reason::CheckFailed, "api: check test failed")
        );
        assert!(
            w.on_event("hook.finished", &json!({"passed": true}), &idle, 1)
                .is_none()
        );
        // A check whose failure does not block the agent only warns.
        assert!(
            w.on_event(
                "hook.finished",
                &json!({"passed": false, "blocking": false, "hook": "lint"}),
                &idle,
                1
            )
            .is_none()
        );
        assert!(
            w.on_event(
                "hook.finished",
                &json!({"passed": false, "blocking": true, "hook": "test"}),
                &idle,
                1
            )
            .is_some()
        );
        assert!(
            w.on_event("tool.started", &json!({}), &working, 1)
                .is_none()
        );
    }

    #[test]
    fn a_stuck_session_is_reported_once_per_spell() {
        let mut w = Watcher::default();
        let mut s = session(Status::Working);
        s.last_event_ms = 0;
        assert!(w.stuck([&s].into_iter(), 599_999, 600_000).is_empty());
        assert_eq!(w.stuck([&s].into_iter(), 600_000, 600_000).len(), 1);
        assert!(w.stuck([&s].into_iter(), 900_000, 600_000).is_empty());
        // It moved, then stalled again: a new spell.
        s.last_event_ms = 700_000;
        assert_eq!(w.stuck([&s].into_iter(), 1_400_000, 600_000).len(), 1);
        let idle = session(Status::Idle);
        assert!(w.stuck([&idle].into_iter(), 9_000_000, 600_000).is_empty());
    }
}
