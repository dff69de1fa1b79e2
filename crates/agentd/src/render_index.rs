//! Text rendering of search hits, transcripts, usage reports and index
//! status. Pure; every untrusted string goes through `one_line`.

use agentd_core::text::{one_line, truncate};
use agentd_proto::history::UsageReport;
use agentd_proto::history::{Hit, MessageView};

fn local_time(ms: Option<i64>) -> String {
    ms.and_then(|m| jiff::Timestamp::from_millisecond(m).ok())
        .map(|t| {
            t.to_zoned(jiff::tz::TimeZone::system())
                .strftime("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_else(|| "-".to_owned())
}

/// Search hits: one block per hit (session, project, time, role, then the
/// snippet), with `«…»` shown bold when `color`.
pub fn hits(hits: &[Hit], color: bool) -> String {
    if hits.is_empty() {
        return "no matches\n".to_owned();
    }
    let mut out = String::new();
    for h in hits {
        if h.kind == "document" {
            // A memory document: its id and title where a message has its
            // session and role.
            out.push_str(&format!(
                "{}  {}  document «{}»  {}\n",
                one_line(h.document_id.as_deref().unwrap_or("-")),
                local_time(h.ts_ms),
                truncate(&one_line(h.title.as_deref().unwrap_or("")), 60),
                truncate(&one_line(h.project.as_deref().unwrap_or("-")), 50),
            ));
        } else {
            let who = match &h.agent_id {
                Some(a) => format!("{} (subagent {})", h.role, one_line(a)),
                None => h.role.clone(),
            };
            out.push_str(&format!(
                "{}  {}  {}  {}\n",
                crate::render::short_id(&h.session_id),
                local_time(h.ts_ms),
                who,
                truncate(&one_line(h.project.as_deref().unwrap_or("-")), 50),
            ));
        }
        let snippet = one_line(&h.snippet);
        let snippet = if color {
            // Reset at the end too: a stray « in the text must not colour
            // what follows.
            format!(
                "{}\x1b[0m",
                snippet.replace('«', "\x1b[1;33m").replace('»', "\x1b[0m")
            )
        } else {
            snippet
        };
        out.push_str(&format!("    {snippet}\n"));
    }
    out
}

/// Whether a message is shown: one with neither text nor tool calls (an
/// empty system record) is not.
fn shown(m: &MessageView) -> bool {
    !m.text.trim().is_empty() || !m.tools.is_empty()
}

/// The line above a transcript: the session and how many messages follow
/// (the ones shown, so the count matches what is read).
pub fn transcript_header(session_id: &str, messages: &[MessageView]) -> String {
    let n = messages.iter().filter(|m| shown(m)).count();
    format!(
        "session {} · {n} message{}\n",
        one_line(session_id),
        if n == 1 { "" } else { "s" }
    )
}

/// A conversation: who said what, tool calls summarised to one line.
pub fn transcript(messages: &[MessageView]) -> String {
    let mut out = String::new();
    for m in messages.iter().filter(|m| shown(m)) {
        let who = match (m.role.as_str(), &m.agent_id) {
            (r, Some(a)) => format!("{r} [subagent {}]", one_line(a)),
            (r, None) => r.to_owned(),
        };
        out.push_str(&format!("── {} · {}\n", who, local_time(m.ts_ms)));
        let text = if m.role == "tool_result" {
            truncate(&one_line(&m.text), 200)
        } else {
            m.text.clone()
        };
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            out.push_str(&format!("  {}\n", one_line(line)));
        }
        for t in &m.tools {
            out.push_str(&format!(
                "  ▸ {}: {}\n",
                one_line(&t.name),
                truncate(&one_line(&t.summary), 120)
            ));
        }
    }
    out
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A usage report as a table, totals last; unpriced models flagged.
pub fn usage(r: &UsageReport, heading: &str) -> String {
    let mut rows: Vec<[String; 7]> = vec![[
        heading.to_owned(),
        "input".into(),
        "output".into(),
        "cache write".into(),
        "cache read".into(),
        "total".into(),
        "cost USD".into(),
    ]];
    for row in r.rows.iter().chain(std::iter::once(&r.totals)) {
        // "+?": tokens of unpriced models are not in the sum; "?" alone:
        // nothing in the row has a price.
        let cost = match (row.cost_usd, row.unpriced_models.is_empty()) {
            (Some(c), true) => format!("{c:.2}"),
            (Some(c), false) => format!("{c:.2}+?"),
            (None, true) => "0.00".to_owned(),
            (None, false) => "?".to_owned(),
        };
        rows.push([
            truncate(&one_line(&row.period), 40),
            thousands(row.input_tokens),
            thousands(row.output_tokens),
            thousands(row.cache_creation_tokens),
            thousands(row.cache_read_tokens),
            thousands(row.total_tokens),
            cost,
        ]);
    }
    let widths: Vec<usize> = (0..7)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for (i, r) in rows.iter().enumerate() {
        if i == rows.len() - 1 {
            out.push_str(&"-".repeat(widths.iter().sum::<usize>() + 12));
            out.push('\n');
        }
        for (c, cell) in r.iter().enumerate() {
            let pad = widths[c] - cell.chars().count();
            if c == 0 {
                out.push_str(cell);
                out.push_str(&" ".repeat(pad));
            } else {
                out.push_str("  ");
                out.push_str(&" ".repeat(pad));
                out.push_str(cell);
            }
        }
        out.push('\n');
    }
    if !r.totals.unpriced_models.is_empty() {
        out.push_str(&format!(
            "unpriced (tokens counted, cost unknown; add [pricing.\"<model>\"] to agentd.toml): {}\n",
            one_line(&r.totals.unpriced_models.join(", "))
        ));
    }
    out.push_str(&format!("days cut in time zone {}\n", r.timezone));
    out
}

/// A progress bar line: `[#####.....] 50% 12/24 files 3.1/6.2 MB 40.0 MB/s`.
pub fn progress(
    files_done: u64,
    files_total: u64,
    bytes_done: u64,
    bytes_total: u64,
    rate: f64,
) -> String {
    let frac = if bytes_total == 0 {
        1.0
    } else {
        (bytes_done as f64 / bytes_total as f64).min(1.0)
    };
    let filled = (frac * 30.0).round() as usize;
    format!(
        "[{}{}] {:>3.0}% {files_done}/{files_total} files {:.1}/{:.1} MB {:.1} MB/s",
        "#".repeat(filled),
        ".".repeat(30 - filled),
        frac * 100.0,
        bytes_done as f64 / 1e6,
        bytes_total as f64 / 1e6,
        rate / 1e6
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use agentd_proto::history::UsageRow;

    #[test]
    fn the_header_counts_the_messages_shown() {
        let msg = |role: &str, text: &str| MessageView {
            index: 0,
            uuid: None,
            ts_ms: None,
            role: role.into(),
            agent_id: None,
            model: None,
            text: text.into(),
            tools: vec![],
        };
        let messages = vec![
            msg("system", " "),
            msg("user", "hi"),
            msg("assistant", "hello"),
        ];
        assert_eq!(
            transcript_header("s1", &messages),
            "session s1 · 2 messages\n"
        );
        assert_eq!(transcript(&messages).matches("── ").count(), 2);
        assert_eq!(
            transcript_header("s1", &messages[..2]),
            "session s1 · 1 message\n"
        );
    }

    #[test]
    fn hits_neutralise_escapes_and_mark_terms() {
        let h = Hit {
            session_id: "0123456789abcdef".into(),
            agent_id: None,
            uuid: None,
            ts_ms: None,
            ts: None,
            role: "user".into(),
            project: Some("/w/\x1b[31mevil".into()),
            snippet: "fix the «migration»\x1b]0;pwned\x07".into(),
            score: 1.0,
            kind: "transcript".into(),
            document_id: None,
            title: None,
        };
        let out = hits(&[h], false);
        assert!(!out.contains('\x1b') && !out.contains('\x07'), "{out:?}");
        assert!(out.contains("«migration»"));
        assert_eq!(hits(&[], false), "no matches\n");
    }

    #[test]
    fn usage_table() {
        let row = |p: &str, n: u64| UsageRow {
            period: p.into(),
            input_tokens: n,
            output_tokens: n,
            cache_creation_tokens: 0,
            cache_read_tokens: 1_000_000,
            total_tokens: 2 * n + 1_000_000,
            cost_usd: Some(1.5),
            models: vec!["claude-opus-4-6".into()],
            unpriced_models: vec![],
        };
        let mut totals = row("total", 20);
        totals.unpriced_models = vec!["claude-opus-9".into()];
        let r = UsageReport {
            rows: vec![row("2026-01-01", 10), row("2026-01-02", 10)],
            totals,
            timezone: "UTC".into(),
        };
        assert_eq!(
            usage(&r, "day"),
            "day         input  output  cache write  cache read      total  cost USD
2026-01-01     10      10            0   1,000,000  1,000,020      1.50
2026-01-02     10      10            0   1,000,000  1,000,020      1.50
-----------------------------------------------------------------------
total          20      20            0   1,000,000  1,000,040    1.50+?
unpriced (tokens counted, cost unknown; add [pricing.\"<model>\"] to agentd.toml): claude-opus-9
days cut in time zone UTC
"
        );
    }

    #[test]
    fn progress_bar() {
        assert_eq!(
            progress(1, 2, 5_000_000, 10_000_000, 2e6),
            "[###############...............]  50% 1/2 files 5.0/10.0 MB 2.0 MB/s"
        );
        assert!(progress(0, 0, 0, 0, 0.0).contains("100%"));
    }
}
