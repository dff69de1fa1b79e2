//! Questions an agent asks the user through agentd (the MCP `ask_human`
//! tool): each is an approval of origin [`Origin::AskHuman`], so it shows
//! in every approval queue (CLI, TUI, web, HQ) and is answered like a
//! Claude Code AskUserQuestion — `agentd answer ID TEXT`, the web's
//! options, or a deny with a message.

use std::time::Duration;

use agentd_claude::rules::OnTimeout;
use agentd_core::{Approval, ApprovalStatus, Decision, Origin};
use serde_json::{Value, json};

use super::{Service, ServiceError};
use crate::approvals;

/// Longest question, bytes.
pub const MAX_QUESTION_BYTES: usize = 4096;
/// Most options offered.
pub const MAX_OPTIONS: usize = 10;
/// Longest option label, bytes.
pub const MAX_OPTION_BYTES: usize = 200;
/// Longest a question stays open, seconds (it expires then).
pub const MAX_QUESTION_S: u64 = 24 * 3600;

/// Who asks: the session the question belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Asker {
    /// A session id (or unique prefix) the caller named.
    Session(String),
    /// The pid of the process that asks through agentd (`agentd mcp`, run by
    /// the agent): the session is the live one whose agent is its parent.
    Process(u32),
}

/// A question for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    /// What to ask (at most [`MAX_QUESTION_BYTES`]).
    pub text: String,
    /// Offered answers (at most [`MAX_OPTIONS`]); free text is always allowed.
    pub options: Vec<String>,
    /// Whose question it is.
    pub asker: Asker,
    /// How long it stays open, seconds (default: `[approvals] timeout_s`,
    /// at most [`MAX_QUESTION_S`]).
    pub open_s: Option<u64>,
    /// Who put the question, as the queues show it (`asked_because`);
    /// default: the agent, through the MCP tool `ask_human`.
    pub from: Option<String>,
}

/// Where a question stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Nobody answered yet.
    Pending,
    /// The user's answer.
    Answered {
        /// The text (for several questions, `question: answer` lines).
        text: String,
        /// Who answered (`cli:alice`, `web`, `hq:ann`).
        by: Option<String>,
    },
    /// The user declined to answer.
    Declined {
        /// Their message, if any.
        message: Option<String>,
    },
    /// It expired unanswered (timed out, or the daemon restarted).
    Expired {
        /// Why.
        reason: Option<String>,
    },
}

impl Answer {
    /// The answer an approval holds (pure).
    pub fn of(a: &Approval) -> Answer {
        match (&a.status, &a.decision) {
            (ApprovalStatus::Pending, _) => Answer::Pending,
            (_, Some(Decision::Answer { text })) => Answer::Answered {
                text: text.clone(),
                by: a.decided_by.clone(),
            },
            // The web answers AskUserQuestion as Claude Code's dialog does:
            // allow with `answers` ({question: answer}) in the input.
            (_, Some(Decision::Allow { updated_input, .. })) => {
                let answers = updated_input
                    .as_ref()
                    .and_then(|i| i.get("answers"))
                    .and_then(Value::as_object);
                let text = match answers {
                    Some(m) if m.len() == 1 => {
                        m.values().next().map(answer_text).unwrap_or_default()
                    }
                    Some(m) => m
                        .iter()
                        .map(|(q, v)| format!("{q}: {}", answer_text(v)))
                        .collect::<Vec<_>>()
                        .join("\n"),
                    None => String::new(),
                };
                if text.is_empty() {
                    // "Allow" without an answer: the user agreed.
                    Answer::Answered {
                        text: "yes".to_owned(),
                        by: a.decided_by.clone(),
                    }
                } else {
                    Answer::Answered {
                        text,
                        by: a.decided_by.clone(),
                    }
                }
            }
            (_, Some(Decision::Deny { message })) => Answer::Declined {
                message: message.clone(),
            },
            (_, None) => Answer::Expired {
                reason: a.reason.clone(),
            },
        }
    }
}

fn answer_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Claude Code's AskUserQuestion input for `q`, so every face renders it.
fn tool_input(q: &Question) -> Value {
    let options: Vec<Value> = q.options.iter().map(|o| json!({"label": o})).collect();
    json!({
        "questions": [{
            "question": q.text,
            "header": "ask_human",
            "options": options,
            "multiSelect": false,
        }]
    })
}

impl Question {
    /// Checks the limits.
    fn validate(&self) -> Result<(), ServiceError> {
        if self.text.trim().is_empty() {
            return Err(ServiceError::invalid("the question is empty"));
        }
        if self.text.len() > MAX_QUESTION_BYTES {
            return Err(ServiceError::invalid(format!(
                "the question has {} bytes; at most {MAX_QUESTION_BYTES}",
                self.text.len()
            )));
        }
        if self.options.len() > MAX_OPTIONS {
            return Err(ServiceError::invalid(format!(
                "{} options; at most {MAX_OPTIONS}",
                self.options.len()
            )));
        }
        if let Some(o) = self
            .options
            .iter()
            .find(|o| o.trim().is_empty() || o.len() > MAX_OPTION_BYTES)
        {
            return Err(ServiceError::invalid(format!(
                "option `{}` is empty or over {MAX_OPTION_BYTES} bytes",
                agentd_core::text::truncate(o, 40)
            )));
        }
        Ok(())
    }
}

impl Service {
    /// Asks the user `q`: creates a pending approval of origin
    /// [`Origin::AskHuman`] that stays open (decidable from every face)
    /// for `q.open_s`, then expires. Returns it at once; [`Service::answer`]
    /// waits for the outcome.
    ///
    /// # Errors
    /// [`ServiceError::Invalid`] for an empty or oversize question;
    /// [`ServiceError::NotFound`] when no session can be named for the
    /// asker (pass a session id); [`ServiceError::Store`].
    pub async fn ask_human(&self, q: Question) -> Result<Approval, ServiceError> {
        q.validate()?;
        let session = self.asking_session(&q.asker).await?;
        let open = q
            .open_s
            .unwrap_or_else(|| self.question_open_s())
            .clamp(1, MAX_QUESTION_S);
        let mut approval = approvals::draft("AskUserQuestion", &tool_input(&q), Origin::AskHuman);
        approval.session_id = session.session.id;
        approval.cwd = session.session.cwd;
        approval.asked_because = Some(
            q.from
                .clone()
                .unwrap_or_else(|| "the agent asked through agentd's MCP tool ask_human".into()),
        );
        let seq = self.head_seq();
        let hold = approvals::hold(
            std::sync::Arc::clone(&self.shared),
            approval.clone(),
            seq,
            Duration::from_secs(open),
            OnTimeout::Fallthrough,
        )
        .await?;
        // The daemon holds it, not the MCP call: the question outlives a
        // tool call that gave up waiting (`get_answer` reads it later).
        self.shared.tasks.spawn(async move {
            let _ = hold.reply.await;
        });
        Ok(approval)
    }

    /// Waits up to `wait` for question `id` (an approval id or unique
    /// prefix) to be answered; [`Answer::Pending`] if it is not by then.
    ///
    /// # Errors
    /// [`ServiceError::NotFound`], [`ServiceError::Ambiguous`];
    /// [`ServiceError::Invalid`] when `id` is not an `ask_human` question.
    pub async fn answer(
        &self,
        id: &str,
        wait: Duration,
    ) -> Result<(Approval, Answer), ServiceError> {
        // Live events first, then the approval: a resolution committed in
        // between is seen either way.
        let mut live = self.shared.log.subscribe();
        let a = self.approval(id).await?;
        if a.origin != Origin::AskHuman {
            return Err(ServiceError::invalid(format!(
                "approval {} is a {} call, not a question asked with ask_human",
                a.id, a.tool_name
            )));
        }
        let deadline = tokio::time::Instant::now() + wait;
        let mut current = a;
        loop {
            let answer = Answer::of(&current);
            if answer != Answer::Pending {
                return Ok((current, answer));
            }
            let woke = tokio::select! {
                _ = tokio::time::sleep_until(deadline) => return Ok((current, Answer::Pending)),
                _ = self.shared.shutdown.cancelled() => return Err(ServiceError::ShuttingDown("agentd is stopping".into())),
                ev = live.recv() => ev,
            };
            match woke {
                Ok(ev) if ev.kind != "approval.resolved" => continue,
                // A resolution, or missed events: read it again.
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                    return Err(ServiceError::ShuttingDown("agentd is stopping".into()));
                }
            }
            current = self.approval(&current.id).await?;
        }
    }

    /// How long a question stays open by default, seconds: `[approvals]
    /// timeout_s`, at most [`MAX_QUESTION_S`].
    pub fn question_open_s(&self) -> u64 {
        self.shared
            .config
            .approvals
            .timeout_s
            .clamp(1, MAX_QUESTION_S)
    }

    /// The live session whose agent process is the parent of `pid` (a
    /// helper the agent started, such as `agentd mcp`), skipping shells.
    ///
    /// # Errors
    /// [`ServiceError::NotFound`] when no live session has that agent.
    pub async fn session_of_process(
        &self,
        pid: u32,
    ) -> Result<agentd_proto::api::SessionView, ServiceError> {
        let agent = tokio::task::spawn_blocking(move || crate::agent_pid::resolve(pid))
            .await
            .map_err(ServiceError::internal)?;
        let found = agent.and_then(|agent| {
            let registry = self.shared.registry.read().ok()?;
            registry
                .list()
                .into_iter()
                .filter(|s| s.status != agentd_core::Status::Ended && s.pid == Some(agent))
                .max_by_key(|s| (s.last_event_ms, s.last_seq))
        });
        found.map(agentd_proto::api::SessionView::new).ok_or_else(|| {
            ServiceError::not_found(
                "no live session agentd knows runs this MCP server (no hook has reported from its agent); pass `session_id`",
            )
        })
    }

    /// The session a question belongs to.
    async fn asking_session(
        &self,
        asker: &Asker,
    ) -> Result<agentd_proto::api::SessionView, ServiceError> {
        match asker {
            Asker::Session(id) => self.session(id),
            Asker::Process(pid) => self.session_of_process(*pid).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn approval(status: ApprovalStatus, decision: Option<Decision>) -> Approval {
        let mut a = Approval::pending(
            "apr_1".into(),
            "AskUserQuestion",
            json!({}),
            Origin::AskHuman,
            0,
        );
        a.status = status;
        a.decision = decision;
        a.decided_by = Some("cli:ann".into());
        a
    }

    #[test]
    fn every_outcome_reads_as_an_answer() {
        assert_eq!(
            Answer::of(&approval(ApprovalStatus::Pending, None)),
            Answer::Pending
        );
        assert_eq!(
            Answer::of(&approval(
                ApprovalStatus::Answered,
                Some(Decision::Answer {
                    text: "PostgreSQL".into()
                })
            )),
            Answer::Answered {
                text: "PostgreSQL".into(),
                by: Some("cli:ann".into())
            }
        );
        let web = Decision::Allow {
            updated_input: Some(json!({"questions": [], "answers": {"Which db?": "SQLite"}})),
            updated_permissions: None,
        };
        assert_eq!(
            Answer::of(&approval(ApprovalStatus::Allowed, Some(web))),
            Answer::Answered {
                text: "SQLite".into(),
                by: Some("cli:ann".into())
            }
        );
        let plain = Decision::Allow {
            updated_input: None,
            updated_permissions: None,
        };
        assert_eq!(
            Answer::of(&approval(ApprovalStatus::Allowed, Some(plain))),
            Answer::Answered {
                text: "yes".into(),
                by: Some("cli:ann".into())
            }
        );
        assert_eq!(
            Answer::of(&approval(
                ApprovalStatus::Denied,
                Some(Decision::Deny {
                    message: Some("not now".into())
                })
            )),
            Answer::Declined {
                message: Some("not now".into())
            }
        );
        let mut expired = approval(ApprovalStatus::TimedOut, None);
        expired.reason = Some("no decision within 5 s".into());
        assert_eq!(
            Answer::of(&expired),
            Answer::Expired {
                reason: Some("no decision within 5 s".into())
            }
        );
    }

    #[test]
    fn limits_are_checked() {
        let q = |text: &str, options: Vec<String>| Question {
            text: text.into(),
            options,
            asker: Asker::Session("s".into()),
            open_s: None,
            from: None,
        };
        assert!(
            q("Which database?", vec!["SQLite".into()])
                .validate()
                .is_ok()
        );
        assert!(q("  ", vec![]).validate().is_err());
        assert!(
            q(&"x".repeat(MAX_QUESTION_BYTES + 1), vec![])
                .validate()
                .is_err()
        );
        assert!(
            q("ok?", vec!["a".into(); MAX_OPTIONS + 1])
                .validate()
                .is_err()
        );
        assert!(q("ok?", vec!["".into()]).validate().is_err());
    }
}
