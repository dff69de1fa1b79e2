//! What the MCP tools answer, as compact text for a model to read: one
//! line per item, each citing the session id and the time (RFC 3339 UTC),
//! so an agent can quote its source and fetch more (`get_transcript`).
//! Pure functions over the service's results.

use std::fmt::Write as _;

use agentd_proto::api::SessionView;
use agentd_proto::history::{Hit, TranscriptPage, UsagePage, UsageRow};

use crate::service::Answer;

/// Longest message text shown by `get_transcript`, chars.
pub const MESSAGE_CHARS: usize = 2000;

/// RFC 3339 UTC of `ms` since the Unix epoch (`?` when out of range).
pub fn time(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|_| "?".to_owned())
}

/// Search hits, best first.
pub fn hits(query: &str, hits: &[Hit]) -> String {
    if hits.is_empty() {
        return format!("No match for \"{query}\" in agentd's history.");
    }
    let mut out = format!("{} matches for \"{query}\", best first:\n", hits.len());
    for h in hits {
        let when = h.ts_ms.map_or_else(|| "?".to_owned(), time);
        let snippet = one_line(&h.snippet, 400);
        if h.kind == "document" {
            let _ = writeln!(
                out,
                "- [{when}] memory {} \"{}\"{}: {snippet}",
                h.document_id.as_deref().unwrap_or("?"),
                h.title.as_deref().unwrap_or(""),
                if h.session_id.is_empty() {
                    String::new()
                } else {
                    format!(" (session {})", h.session_id)
                },
            );
        } else {
            let _ = writeln!(
                out,
                "- [{when}] session {}{} {}{}: {snippet}",
                h.session_id,
                h.agent_id
                    .as_deref()
                    .map(|a| format!(" subagent {a}"))
                    .unwrap_or_default(),
                h.role,
                h.project
                    .as_deref()
                    .map(|p| format!(" in {p}"))
                    .unwrap_or_default(),
            );
        }
    }
    out.push_str("Matched words are in «…». get_transcript shows a session's messages.");
    out
}

/// A transcript page.
pub fn transcript(page: &TranscriptPage, offset: u64) -> String {
    let mut out = format!(
        "Session {}: messages {}–{} of {}\n",
        page.session_id,
        offset,
        offset + page.messages.len() as u64,
        page.total
    );
    for m in &page.messages {
        let when = m.ts_ms.map_or_else(|| "?".to_owned(), time);
        let who = match &m.agent_id {
            Some(a) => format!("{} (subagent {a})", m.role),
            None => m.role.clone(),
        };
        let _ = write!(out, "#{} [{when}] {who}: ", m.index);
        out.push_str(&clip(m.text.trim(), MESSAGE_CHARS));
        for t in &m.tools {
            let _ = write!(out, "\n    ↳ {} {}", t.name, one_line(&t.summary, 200));
        }
        out.push('\n');
    }
    let next = offset + page.messages.len() as u64;
    if next < page.total {
        let _ = write!(out, "More: get_transcript with offset {next}.");
    }
    out
}

/// Sessions, one line each.
pub fn sessions(list: &[SessionView], more: usize) -> String {
    if list.is_empty() {
        return "No sessions.".to_owned();
    }
    let mut out = String::new();
    for v in list {
        let s = &v.session;
        let title = v
            .history
            .as_ref()
            .and_then(|h| h.title.clone().or_else(|| h.first_prompt.clone()))
            .map(|t| format!(" \"{}\"", one_line(&t, 80)))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "- session {} [{}{}] {} {}{}{}{} last {}",
            s.id,
            s.status.as_str(),
            if v.live { ", live" } else { "" },
            s.agent,
            s.cwd.as_deref().or(s.project.as_deref()).unwrap_or("?"),
            s.git_branch
                .as_deref()
                .map(|b| format!(" ({b})"))
                .unwrap_or_default(),
            title,
            s.cost_usd.map(|c| format!(" ${c:.2}")).unwrap_or_default(),
            time(s.last_event_ms),
        );
    }
    if more > 0 {
        let _ = write!(out, "{more} more not shown (raise limit, or filter).");
    }
    out
}

/// A usage report.
pub fn usage(page: &UsagePage) -> String {
    let mut out = format!("Usage (tokens; cost in USD; days in {}):\n", page.timezone);
    for r in &page.rows {
        out.push_str(&usage_row(r));
    }
    out.push_str(&usage_row(&page.totals));
    out
}

fn usage_row(r: &UsageRow) -> String {
    let cost = match r.cost_usd {
        Some(c) => format!("${c:.4}"),
        None => "unpriced".to_owned(),
    };
    let unpriced = if r.unpriced_models.is_empty() || r.cost_usd.is_none() {
        String::new()
    } else {
        format!(" (without unpriced {})", r.unpriced_models.join(", "))
    };
    format!(
        "- {}: {} tokens (input {}, output {}, cache write {}, cache read {}), {cost}{unpriced}; models {}\n",
        r.period,
        r.total_tokens,
        r.input_tokens,
        r.output_tokens,
        r.cache_creation_tokens,
        r.cache_read_tokens,
        if r.models.is_empty() {
            "-".to_owned()
        } else {
            r.models.join(", ")
        }
    )
}

/// Where a question stands, for the agent that asked it.
pub fn answer(id: &str, answer: &Answer, expires_ms: i64) -> String {
    match answer {
        Answer::Answered { text, by } => format!(
            "The user answered{}: {text}",
            by.as_deref().map(|b| format!(" ({b})")).unwrap_or_default()
        ),
        Answer::Declined { message } => format!(
            "The user declined to answer{}",
            message
                .as_deref()
                .map(|m| format!(": {m}"))
                .unwrap_or_else(|| ".".to_owned())
        ),
        Answer::Expired { reason } => format!(
            "Question {id} expired unanswered{}.",
            reason
                .as_deref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default()
        ),
        Answer::Pending => format!(
            "No answer yet. Question {id} stays open until {}; call get_answer with id \"{id}\" to wait for it.",
            time(expires_ms)
        ),
    }
}

/// `s` on one line, at most `max` chars.
fn one_line(s: &str, max: usize) -> String {
    agentd_core::text::truncate(&agentd_core::text::one_line(s), max)
}

/// `s` cut to `max` chars, saying so.
fn clip(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((at, _)) => format!("{}… [{} more chars]", &s[..at], s[at..].chars().count()),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc3339_utc() {
        assert_eq!(time(0), "1970-01-01T00:00:00Z");
        assert_eq!(time(1_764_460_800_000), "2025-11-30T00:00:00Z");
        assert_eq!(time(i64::MAX), "?");
    }

    #[test]
    fn long_text_is_clipped_on_a_char_boundary() {
        assert_eq!(clip("héllo", 10), "héllo");
        assert_eq!(clip("héllo", 2), "hé… [3 more chars]");
    }

    #[test]
    fn a_pending_answer_says_how_to_wait() {
        let s = answer("apr_1", &Answer::Pending, 0);
        assert!(s.contains("get_answer") && s.contains("apr_1"), "{s}");
        let s = answer(
            "apr_1",
            &Answer::Answered {
                text: "SQLite".into(),
                by: Some("cli:ann".into()),
            },
            0,
        );
        assert_eq!(s, "The user answered (cli:ann): SQLite");
    }
}
