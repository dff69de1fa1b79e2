//! Human-readable output. Every untrusted string (paths, tool names, models)
//! goes through [`agentd_core::text::one_line`] before it is printed.

use std::io::IsTerminal;

use agentd_core::Status;
use agentd_core::text::{one_line, truncate};
use agentd_proto::api::{EventRecord, ProcessStats, SessionView};

/// Whether to colour stdout: a terminal, and `NO_COLOR` unset.
pub fn color() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// "4s", "12m", "3h", "2d".
pub fn age(ms: i64) -> String {
    let s = (ms / 1000).max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86400 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86400),
    }
}

fn status_color(status: Status) -> &'static str {
    match status {
        Status::NeedsApproval | Status::NeedsInput => "\x1b[1;31m",
        Status::Working => "\x1b[32m",
        Status::Starting => "\x1b[36m",
        Status::Idle => "\x1b[33m",
        Status::Ended => "\x1b[2m",
    }
}

/// The first 8 characters of a session id (UUIDs are unique enough there).
pub fn short_id(id: &str) -> String {
    one_line(&id.chars().take(8).collect::<String>())
}

/// The last path component of a project directory.
pub fn project_name(s: &SessionView) -> String {
    let p = s
        .session
        .project
        .as_deref()
        .or(s.session.cwd.as_deref())
        .unwrap_or("-");
    let name = p
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|n| !n.is_empty())
        .unwrap_or(p);
    one_line(name)
}

/// One session's cells of the `agentd ls` table (STATUS, PROJECT, MODEL,
/// LAST TOOL, ACTIVE, ID), every untrusted string made one safe line.
pub fn session_cells(v: &SessionView, now_ms: i64) -> [String; 9] {
    let s = &v.session;
    [
        format!(
            "{} · {}",
            s.status.as_str().replace('_', " "),
            age(now_ms - s.status_since_ms)
        ),
        truncate(&one_line(&s.agent), 8),
        truncate(&project_name(v), 24),
        truncate(&one_line(s.model.as_deref().unwrap_or("-")), 22),
        truncate(
            &one_line(
                s.current_tool
                    .as_deref()
                    .or(s.last_tool.as_deref())
                    .unwrap_or("-"),
            ),
            20,
        ),
        format!("{} ago", age(now_ms - s.last_event_ms)),
        v.process
            .as_ref()
            .map_or_else(|| "-".to_owned(), ProcessStats::cpu_label),
        v.process
            .as_ref()
            .map_or_else(|| "-".to_owned(), ProcessStats::rss_label),
        short_id(&s.id),
    ]
}

/// A plain table: columns padded to their widest cell, two spaces apart,
/// no trailing blanks.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: Vec<&str>| {
        let mut l = String::new();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            if i > 0 {
                l.push_str("  ");
            }
            l.push_str(cell);
            l.push_str(&" ".repeat(w.saturating_sub(cell.chars().count())));
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
    out
}

/// The `agentd ls` table, `now_ms` being the current time.
pub fn sessions_table(sessions: &[SessionView], now_ms: i64, color: bool) -> String {
    let header = [
        "STATUS",
        "AGENT",
        "PROJECT",
        "MODEL",
        "LAST TOOL",
        "ACTIVE",
        "CPU",
        "MEM",
        "ID",
    ];
    let rows: Vec<(Status, [String; 9])> = sessions
        .iter()
        .map(|v| (v.session.status, session_cells(v, now_ms)))
        .collect();
    let mut widths = header.map(|h| h.chars().count());
    for (_, cells) in &rows {
        for (w, c) in widths.iter_mut().zip(cells) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    let line = |cells: &[String], out: &mut String, paint: Option<&str>| {
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            let pad = w.saturating_sub(cell.chars().count());
            match (i, paint) {
                (0, Some(c)) => out.push_str(&format!("{c}{cell}\x1b[0m{}", " ".repeat(pad))),
                _ => out.push_str(&format!("{cell}{}", " ".repeat(pad))),
            }
            if i + 1 < cells.len() {
                out.push_str("  ");
            }
        }
        let trimmed = out.trim_end_matches(' ').len();
        out.truncate(trimmed);
        out.push('\n');
    };
    line(&header.map(str::to_owned), &mut out, None);
    for (status, cells) in &rows {
        line(cells, &mut out, color.then(|| status_color(*status)));
    }
    out
}

/// `agentd show` text.
pub fn session_details(v: &SessionView, now_ms: i64) -> String {
    let s = &v.session;
    let opt = |o: &Option<String>| one_line(o.as_deref().unwrap_or("-"));
    let mut out = String::new();
    let mut kv = |k: &str, val: String| out.push_str(&format!("{k:<16}{val}\n"));
    kv("id", one_line(&s.id));
    kv("agent", one_line(&s.agent));
    kv(
        "status",
        format!("{} (for {})", s.status, age(now_ms - s.status_since_ms)),
    );
    kv("project", opt(&s.project));
    kv("cwd", opt(&s.cwd));
    kv("git branch", opt(&s.git_branch));
    kv("model", opt(&s.model));
    kv("permission mode", opt(&s.permission_mode));
    kv("current tool", opt(&s.current_tool));
    kv("last tool", opt(&s.last_tool));
    if let Some(tool) = &s.pending_permission {
        kv("approval for", one_line(tool));
    }
    kv("prompts", s.prompts.to_string());
    kv("tool calls", s.tool_calls.to_string());
    kv(
        "context",
        s.context_pct
            .map_or_else(|| "-".to_owned(), |p| format!("{p:.0}%")),
    );
    kv(
        "cost",
        s.cost_usd
            .map_or_else(|| "-".to_owned(), |c| format!("${c:.4}")),
    );
    kv("tmux pane", opt(&s.tmux_pane));
    kv(
        "pid",
        s.pid.map_or_else(|| "-".to_owned(), |p| p.to_string()),
    );
    if let Some(p) = &v.process {
        kv(
            "processes",
            format!(
                "{} using {:.0}% CPU, {}",
                p.processes,
                p.cpu_pct,
                p.rss_label()
            ),
        );
        if let Some(h) = &p.hot {
            kv(
                "busy tool",
                format!(
                    "{} (pid {}) has used a whole core for {}",
                    one_line(&h.comm),
                    h.pid,
                    age(now_ms - h.since_ms)
                ),
            );
        }
    }
    kv("transcript", opt(&s.transcript_path));
    kv("started", v.started_at.clone());
    kv("updated", v.updated_at.clone());
    if let Some(r) = &s.end_reason {
        kv("end reason", one_line(r));
    }
    if let Some(e) = &s.last_error {
        kv("last error", one_line(e));
    }
    for a in &s.subagents {
        kv(
            "subagent",
            format!(
                "{} {} ({})",
                one_line(&a.agent_id),
                one_line(a.agent_type.as_deref().unwrap_or("")),
                if a.active { "running" } else { "done" }
            ),
        );
    }
    out
}

/// A one-line summary of a tool input: the Bash command, the file path, the
/// question, else compact JSON; neutralised and cut to `max` characters.
pub fn input_summary(tool: &str, input: &serde_json::Value, max: usize) -> String {
    let field = |k: &str| input.get(k).and_then(serde_json::Value::as_str);
    let text = match tool {
        "Bash" | "PowerShell" => field("command").map(str::to_owned),
        "AskUserQuestion" => input
            .get("questions")
            .and_then(|q| q.get(0))
            .and_then(|q| q.get("question"))
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned),
        _ => ["file_path", "notebook_path", "path", "url", "pattern"]
            .iter()
            .find_map(|k| field(k))
            .map(str::to_owned),
    }
    .unwrap_or_else(|| input.to_string());
    agentd_core::text::first_line_marked(&text, max)
}

/// Every line of a multi-line Bash or PowerShell command, neutralised and
/// numbered, for the human deciding (`None` for one line or other tools).
pub fn command_lines(tool: &str, input: &serde_json::Value) -> Option<Vec<String>> {
    if !matches!(tool, "Bash" | "PowerShell") {
        return None;
    }
    let cmd = input.get("command")?.as_str()?;
    let lines = agentd_core::text::lines(cmd.trim_end_matches(['\n', '\r']));
    (lines.len() > 1).then_some(lines)
}

/// The `agentd approvals` table.
pub fn approvals_table(list: &[agentd_proto::api::ApprovalView], now_ms: i64) -> String {
    let mut out = String::from(
        "ID                    STATUS                AGE   SESSION   TOOL          INPUT\n",
    );
    for a in list {
        let a = &a.approval;
        out.push_str(&format!(
            "{:<21} {:<21} {:<5} {:<9} {:<13} {}\n",
            one_line(&a.id),
            a.status.as_str(),
            age(now_ms - a.created_ms),
            short_id(&a.session_id),
            truncate(&one_line(&a.tool_name), 13),
            input_summary(&a.tool_name, &a.tool_input, 60)
        ));
    }
    // A command of several lines is shown whole before anyone decides.
    for a in list {
        let a = &a.approval;
        if let Some(lines) = command_lines(&a.tool_name, &a.tool_input) {
            out.push_str(&format!(
                "\n{} runs {} lines:\n",
                one_line(&a.id),
                lines.len()
            ));
            for (n, l) in lines.iter().enumerate() {
                out.push_str(&format!("  {:>3} $ {l}\n", n + 1));
            }
        }
    }
    out
}

/// One line of `agentd events` without `--json`.
pub fn event_line(e: &EventRecord) -> String {
    format!(
        "{:>8}  {}  {}  {:<20}  {}",
        e.seq,
        e.ts,
        short_id(&e.session_id),
        one_line(&e.kind),
        one_line(&e.name)
    )
}

#[cfg(test)]
mod tests {
    use agentd_core::Session;

    use super::*;

    #[test]
    fn tables_pad_to_the_widest_cell() {
        let t = table(&["A", "BB"], &[vec!["xyz".into(), "1".into()]]);
        assert_eq!(t, "A    BB\nxyz  1\n");
    }

    #[test]
    fn table_snapshot() {
        let mut a = Session::new("0123456789abcdef", "claude", 0);
        a.status = Status::NeedsApproval;
        a.status_since_ms = 1_000;
        a.last_event_ms = 61_000;
        a.project = Some("/home/u/work/agentd".into());
        a.model = Some("claude-opus-5-5".into());
        a.last_tool = Some("Bash\x1b[2J".into());
        let mut b = Session::new("ffff", "codex", 0);
        b.status = Status::Ended;
        let busy = SessionView {
            process: Some(agentd_proto::api::ProcessStats {
                cpu_pct: 104.6,
                rss_bytes: 310 << 20,
                processes: 3,
                hot: Some(agentd_proto::api::HotProcess {
                    pid: 7,
                    comm: "cargo".into(),
                    since_ms: 0,
                }),
                sampled_ms: 0,
            }),
            ..SessionView::new(a)
        };
        let table = sessions_table(&[busy, SessionView::new(b)], 121_000, false);
        insta::assert_snapshot!(table);
        let colored = sessions_table(&[SessionView::new(Session::new("c", "claude", 0))], 0, true);
        assert!(
            colored.contains("\x1b[36mstarting · 0s\x1b[0m"),
            "{colored:?}"
        );
    }

    #[test]
    fn details_snapshot() {
        let mut s = Session::new("0123456789abcdef", "claude", 0);
        s.status = Status::Ended;
        s.cwd = Some("/w/p\nINJECTED".into());
        s.end_reason = Some("prompt_input_exit".into());
        s.subagents.push(agentd_core::Subagent {
            agent_id: "a1".into(),
            agent_type: Some("Explore".into()),
            active: false,
        });
        insta::assert_snapshot!(session_details(&SessionView::new(s), 5_000));
    }

    #[test]
    fn ages() {
        assert_eq!(age(59_999), "59s");
        assert_eq!(age(60_000), "1m");
        assert_eq!(age(7_200_000), "2h");
        assert_eq!(age(-5), "0s");
    }
}
