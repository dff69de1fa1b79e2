//! Drawing [`App`] with ratatui. Every string from a session, a transcript
//! or a tool input goes through [`clean`] first: control characters and
//! escape sequences never reach the terminal.

use agentd_core::Status;
use agentd_core::text::{one_line, truncate};
use agentd_proto::api::{ApprovalView, SessionView};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use serde_json::Value;

use crate::state::{App, Conn, Mode, Row};

/// Untrusted text made safe for one terminal line, at most `max` chars.
pub fn clean(s: &str, max: usize) -> String {
    truncate(&one_line(s), max)
}

/// "12s", "3m", "2h", "4d".
pub fn age(now_ms: i64, then_ms: i64) -> String {
    let s = (now_ms - then_ms).max(0) / 1000;
    match s {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86_400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

fn status_style(s: Status) -> Style {
    let c = match s {
        Status::NeedsApproval => Color::Red,
        Status::NeedsInput => Color::Magenta,
        Status::Working => Color::Green,
        Status::Idle => Color::Blue,
        Status::Starting => Color::Cyan,
        Status::Ended => Color::DarkGray,
    };
    let st = Style::default().fg(c);
    if matches!(s, Status::NeedsApproval | Status::NeedsInput) {
        st.add_modifier(Modifier::BOLD)
    } else {
        st
    }
}

/// A context-usage bar: `▓▓▓░░ 60%`.
pub fn context_bar(pct: Option<f64>) -> String {
    match pct {
        Some(p) => {
            let p = p.clamp(0.0, 100.0);
            let full = (p / 20.0).round() as usize;
            format!("{}{} {:>3.0}%", "▓".repeat(full), "░".repeat(5 - full), p)
        }
        // As wide as a bar, so the columns after it line up.
        None => format!("{:>9} ", "-"),
    }
}

/// Draws the whole screen.
pub fn draw(f: &mut Frame<'_>, app: &App) {
    let area = f.area();
    if area.width < 20 || area.height < 4 {
        f.render_widget(Paragraph::new("agentd: too small"), area);
        return;
    }
    let [header, body, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(area);
    f.render_widget(Paragraph::new(header_line(app)), header);
    f.render_widget(Paragraph::new(footer_line(app, area.width)), footer);
    if let Conn::Down(why) = &app.conn
        && app.sessions.is_empty()
    {
        let text = vec![
            Line::from(""),
            Line::from(Span::styled(
                "  The agentd daemon is not running.",
                Style::default().add_modifier(Modifier::BOLD),
            )),
            Line::from(format!("  ({})", clean(why, 200))),
            Line::from(""),
            Line::from("  s  start it (agentd start)      q  quit"),
            Line::from("  This screen reconnects by itself once it runs."),
        ];
        f.render_widget(Paragraph::new(text), body);
        return;
    }
    match app.mode {
        Mode::Transcript => transcript(f, app, body),
        Mode::Search => search(f, app, body),
        _ => sessions(f, app, body),
    }
    match app.mode {
        Mode::Help => help(f, area),
        Mode::Deny | Mode::Answer => prompt(f, app, area),
        _ => {}
    }
}

fn header_line(app: &App) -> Line<'static> {
    let live = app
        .sessions
        .iter()
        .filter(|s| s.session.status != Status::Ended)
        .count();
    let needs = app
        .sessions
        .iter()
        .filter(|s| matches!(s.session.status, Status::NeedsApproval | Status::NeedsInput))
        .count();
    let mut spans = vec![
        Span::styled("agentd ", Style::default().add_modifier(Modifier::BOLD)),
        Span::raw(format!("· {live} live ")),
    ];
    if needs > 0 || !app.approvals.is_empty() {
        spans.push(Span::styled(
            format!("· {} need you · {} approvals ", needs, app.approvals.len()),
            Style::default().fg(Color::Red).add_modifier(Modifier::BOLD),
        ));
    }
    match &app.conn {
        Conn::Live => spans.push(Span::styled("· live", Style::default().fg(Color::Green))),
        Conn::Down(_) => spans.push(Span::styled(
            "· reconnecting…",
            Style::default().fg(Color::Yellow),
        )),
    }
    Line::from(spans)
}

fn footer_line(app: &App, width: u16) -> Line<'static> {
    if let Some(n) = &app.notice {
        return Line::from(Span::styled(
            clean(n, 200),
            Style::default().fg(Color::Yellow),
        ));
    }
    let keys: &[&str] = match app.mode {
        Mode::Transcript => &[
            "j/k scroll",
            "space page",
            "x expand subagents and tool output",
            "esc back",
        ],
        Mode::Search => &["type to search", "↑/↓ select", "enter open", "esc back"],
        Mode::Deny | Mode::Answer => &["enter send", "esc cancel"],
        _ => &[
            "j/k move",
            "a approve",
            "d deny",
            "r answer",
            "t transcript",
            "enter jump",
            "/ search",
            "e ended",
        ],
    };
    let mut spans = Vec::new();
    // What a/d/r act on, named: the one target, visible even when the
    // detail pane has no room.
    if matches!(app.mode, Mode::Sessions)
        && let Some(a) = app.target_approval()
    {
        spans.push(Span::styled(
            format!(
                "a/d/r → {} {} · ",
                clean(&a.approval.tool_name, 16),
                a.approval.session_id.chars().take(8).collect::<String>()
            ),
            Style::default().fg(Color::Red),
        ));
    }
    let tail = " · ? help · q quit";
    let room = (width as usize)
        .saturating_sub(spans.iter().map(|s| s.width()).sum::<usize>() + tail.chars().count());
    let mut text = String::new();
    for k in keys {
        let add = if text.is_empty() {
            k.to_string()
        } else {
            format!(" · {k}")
        };
        if text.chars().count() + add.chars().count() > room {
            break;
        }
        text.push_str(&add);
    }
    if !matches!(app.mode, Mode::Deny | Mode::Answer) {
        text.push_str(if text.is_empty() {
            tail.trim_start_matches(" · ")
        } else {
            tail
        });
    }
    spans.push(Span::styled(text, Style::default().fg(Color::DarkGray)));
    Line::from(spans)
}

/// Whether a `w`-column screen has room for the CPU and MEM columns
/// beside a readable DOING column.
fn shows_process(w: usize) -> bool {
    w >= 100
}

/// The column names above the session rows, laid out as [`session_line`]
/// lays out its cells.
fn column_headers(w: usize) -> Line<'static> {
    let head = format!("  {:<20}", "STATUS");
    let process = if shows_process(w) {
        format!(" {:>5} {:>5}", "CPU", "MEM")
    } else {
        String::new()
    };
    let fixed = format!(
        " {:<6} {:<11} {:<10} {:>7}{process}  ",
        "AGENT", "MODEL", "CONTEXT", "COST"
    );
    let room = w.saturating_sub(head.chars().count() + fixed.chars().count() + 10);
    Line::from(Span::styled(
        format!("{head}{fixed}{:<room$} {}", "DOING", "ID"),
        Style::default()
            .fg(Color::DarkGray)
            .add_modifier(Modifier::BOLD),
    ))
}

fn sessions(f: &mut Frame<'_>, app: &App, area: Rect) {
    let rows = app.rows();
    let detail = app.target_in(&rows).filter(|_| !app.approvals.is_empty());
    let (list_area, detail_area) = match detail {
        Some(_) if area.height >= 12 => {
            let [a, b] = Layout::vertical([Constraint::Min(3), Constraint::Length(9)]).areas(area);
            (a, Some(b))
        }
        _ => (area, None),
    };
    let w = list_area.width as usize;
    let mut lines: Vec<Line<'static>> = Vec::new();
    // Column names right above the first group of sessions.
    let first_group = rows.iter().position(|r| matches!(r, Row::Project(_)));
    for (i, row) in rows.iter().enumerate() {
        if Some(i) == first_group {
            lines.push(column_headers(w));
        }
        let mut line = match row {
            Row::Approval(a) => approval_line(app, a, w),
            Row::Project(p) => Line::from(Span::styled(
                format!("▾ {}", clean(p, w.saturating_sub(2))),
                Style::default().add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
            )),
            Row::Session(s) => session_line(app, s, w),
        };
        if i == app.selected {
            line = line.style(Style::default().add_modifier(Modifier::REVERSED));
        }
        lines.push(line);
        if let Row::Session(s) = row {
            for sub in &s.session.subagents {
                let ty = sub.agent_type.as_deref().unwrap_or("subagent");
                lines.push(Line::from(Span::styled(
                    format!("    └ {}", clean(ty, w.saturating_sub(6))),
                    Style::default().fg(Color::DarkGray),
                )));
            }
        }
    }
    if rows.is_empty() {
        lines.push(Line::from(Span::styled(
            "  no live sessions — start `claude` anywhere (after `agentd install`); e shows ended ones",
            Style::default().fg(Color::DarkGray),
        )));
    }
    // Keep the selection on screen.
    let height = list_area.height as usize;
    let sel_line = lines_before(&rows, app.selected)
        + usize::from(first_group.is_some_and(|g| g <= app.selected));
    let skip = sel_line.saturating_sub(height.saturating_sub(1));
    let shown: Vec<Line<'static>> = lines.into_iter().skip(skip).collect();
    f.render_widget(Paragraph::new(shown), list_area);
    if let (Some(a), Some(d)) = (detail, detail_area) {
        approval_detail(f, a, d);
    }
}

/// Screen lines above row `i` (sessions have subagent lines under them).
fn lines_before(rows: &[Row<'_>], i: usize) -> usize {
    rows.iter()
        .take(i)
        .map(|r| match r {
            Row::Session(s) => 1 + s.session.subagents.len(),
            _ => 1,
        })
        .sum()
}

fn approval_line(app: &App, a: &ApprovalView, w: usize) -> Line<'static> {
    let ap = &a.approval;
    let what = input_summary(&ap.tool_name, &ap.tool_input);
    let head = format!(
        "⚠ approve? {:<10} {:<8} {:>4}  ",
        clean(&ap.tool_name, 10),
        ap.session_id.chars().take(8).collect::<String>(),
        age(app.now_ms, ap.created_ms)
    );
    let room = w.saturating_sub(head.chars().count());
    Line::from(vec![
        Span::styled(
            head,
            Style::default().fg(Color::Red).add_modifier(Modifier::BOLD),
        ),
        Span::raw(clean(&what, room)),
    ])
}

fn session_line(app: &App, s: &SessionView, w: usize) -> Line<'static> {
    let st = s.session.status;
    let status = format!(
        "{} · {}",
        st.as_str().replace('_', " "),
        age(app.now_ms, s.session.status_since_ms)
    );
    let model = s
        .session
        .model
        .as_deref()
        .map(|m| m.trim_start_matches("claude-"))
        .unwrap_or("-");
    let cost = s
        .session
        .cost_usd
        .map(|c| format!("${c:.2}"))
        .unwrap_or_else(|| "-".to_owned());
    let last = s
        .session
        .current_tool
        .as_deref()
        .or(s.session.last_tool.as_deref())
        .map(str::to_owned)
        .or_else(|| s.history.as_ref().and_then(|h| h.title.clone()))
        .unwrap_or_default();
    let process = if shows_process(w) {
        let (cpu, mem) = s.process.as_ref().map_or_else(
            || ("-".to_owned(), "-".to_owned()),
            |p| (p.cpu_label(), p.rss_label()),
        );
        format!(" {:>5} {:>5}", clean(&cpu, 5), clean(&mem, 5))
    } else {
        String::new()
    };
    let fixed = format!(
        " {:<6} {:<11} {} {:>7}{process}  ",
        clean(&s.session.agent, 6),
        clean(model, 11),
        context_bar(s.session.context_pct),
        cost,
    );
    let head = format!("  {:<20}", clean(&status, 20));
    let room = w.saturating_sub(head.chars().count() + fixed.chars().count() + 10);
    Line::from(vec![
        Span::styled(head, status_style(st)),
        Span::raw(fixed),
        Span::raw(format!("{:<room$}", clean(&last, room))),
        Span::styled(
            format!(" {}", s.session.id.chars().take(8).collect::<String>()),
            Style::default().fg(Color::DarkGray),
        ),
    ])
}

/// One line saying what a tool call does.
pub fn input_summary(tool: &str, input: &Value) -> String {
    let field = |k: &str| input.get(k).and_then(Value::as_str);
    match tool {
        // Never folded: a second line is marked, and the detail shows all.
        "Bash" => agentd_core::text::first_line_marked(field("command").unwrap_or(""), 200),
        "Edit" | "MultiEdit" | "Write" | "Read" => field("file_path").unwrap_or("").to_owned(),
        "AskUserQuestion" => input["questions"][0]["question"]
            .as_str()
            .unwrap_or("a question")
            .to_owned(),
        _ => input.to_string(),
    }
}

/// The selected approval's input, readable: the command, a diff, the
/// question and its options.
pub fn approval_lines(a: &ApprovalView, width: usize) -> Vec<Line<'static>> {
    let ap = &a.approval;
    let i = &ap.tool_input;
    let w = width.saturating_sub(4);
    let mut out = vec![Line::from(Span::styled(
        format!(
            "{} in {}",
            clean(&ap.tool_name, 40),
            clean(ap.cwd.as_deref().unwrap_or("-"), w.saturating_sub(44))
        ),
        Style::default().add_modifier(Modifier::BOLD),
    ))];
    let red = Style::default().fg(Color::Red);
    let green = Style::default().fg(Color::Green);
    match ap.tool_name.as_str() {
        "Bash" => {
            for l in i["command"].as_str().unwrap_or("").lines() {
                out.push(Line::from(format!("$ {}", clean(l, w))));
            }
        }
        "Edit" | "MultiEdit" => {
            out.push(Line::from(clean(i["file_path"].as_str().unwrap_or(""), w)));
            let edits: Vec<&Value> = match i["edits"].as_array() {
                Some(e) => e.iter().collect(),
                None => vec![i],
            };
            for e in edits {
                for l in e["old_string"].as_str().unwrap_or("").lines() {
                    out.push(Line::from(Span::styled(format!("- {}", clean(l, w)), red)));
                }
                for l in e["new_string"].as_str().unwrap_or("").lines() {
                    out.push(Line::from(Span::styled(
                        format!("+ {}", clean(l, w)),
                        green,
                    )));
                }
            }
        }
        "Write" => {
            out.push(Line::from(clean(i["file_path"].as_str().unwrap_or(""), w)));
            for l in i["content"].as_str().unwrap_or("").lines() {
                out.push(Line::from(Span::styled(
                    format!("+ {}", clean(l, w)),
                    green,
                )));
            }
        }
        "AskUserQuestion" => {
            for q in i["questions"].as_array().into_iter().flatten() {
                out.push(Line::from(format!(
                    "? {}",
                    clean(q["question"].as_str().unwrap_or(""), w)
                )));
                for (n, o) in q["options"].as_array().into_iter().flatten().enumerate() {
                    out.push(Line::from(format!(
                        "  {}. {}",
                        n + 1,
                        clean(o["label"].as_str().unwrap_or(""), w)
                    )));
                }
            }
        }
        _ => out.push(Line::from(clean(&i.to_string(), w))),
    }
    out
}

fn approval_detail(f: &mut Frame<'_>, a: &ApprovalView, area: Rect) {
    let block = Block::default()
        .borders(Borders::TOP)
        .title(" a approve · d deny · r answer ");
    let inner = block.inner(area);
    f.render_widget(block, area);
    f.render_widget(
        Paragraph::new(approval_lines(a, inner.width as usize)),
        inner,
    );
}

fn transcript(f: &mut Frame<'_>, app: &App, area: Rect) {
    let Some(t) = &app.transcript else { return };
    let w = area.width as usize;
    let mut lines: Vec<Line<'static>> = vec![Line::from(Span::styled(
        format!(
            "transcript {} · {} messages",
            clean(&t.session_id, 40),
            t.total
        ),
        Style::default().add_modifier(Modifier::BOLD),
    ))];
    let height = area.height as usize;
    let shown = &t.messages[t.scroll.min(t.messages.len())..];
    let mut i = 0;
    while i < shown.len() {
        // Only what fits: a 50 000-message transcript costs one screen.
        if lines.len() >= height {
            break;
        }
        let m = &shown[i];
        i += 1;
        // A subagent's run folds into one line until `x` expands it.
        if !t.expanded
            && let Some(agent) = &m.agent_id
        {
            let mut n = 1;
            while i < shown.len() && shown[i].agent_id.as_ref() == Some(agent) {
                n += 1;
                i += 1;
            }
            lines.push(Line::from(Span::styled(
                format!("▸ subagent {}: {n} messages (x expands)", clean(agent, 30)),
                Style::default().fg(Color::Magenta),
            )));
            continue;
        }
        if m.text.trim().is_empty() && m.tools.is_empty() {
            continue;
        }
        let who = match &m.agent_id {
            Some(a) => format!("{} [subagent {}]", m.role, clean(a, 20)),
            None => m.role.clone(),
        };
        let style = match m.role.as_str() {
            "user" => Style::default()
                .fg(Color::Cyan)
                .add_modifier(Modifier::BOLD),
            "assistant" => Style::default().fg(Color::Green),
            _ => Style::default().fg(Color::DarkGray),
        };
        lines.push(Line::from(Span::styled(format!("── {who}"), style)));
        let text_lines: Vec<&str> = m.text.lines().filter(|l| !l.trim().is_empty()).collect();
        let limit = if m.role == "tool_result" && !t.expanded {
            1
        } else {
            usize::MAX
        };
        for l in text_lines.iter().take(limit) {
            lines.push(Line::from(format!("  {}", clean(l, w.saturating_sub(2)))));
        }
        for tool in &m.tools {
            lines.push(Line::from(Span::styled(
                format!(
                    "  ▸ {}: {}",
                    clean(&tool.name, 30),
                    clean(&tool.summary, w.saturating_sub(36))
                ),
                Style::default().fg(Color::Yellow),
            )));
        }
    }
    if (t.messages.len() as u64) < t.total {
        lines.push(Line::from(Span::styled(
            format!("  … {} more", t.total - t.messages.len() as u64),
            Style::default().fg(Color::DarkGray),
        )));
    }
    f.render_widget(Paragraph::new(lines), area);
}

fn search(f: &mut Frame<'_>, app: &App, area: Rect) {
    let w = area.width as usize;
    let mut lines = vec![Line::from(vec![
        Span::styled("/ ", Style::default().add_modifier(Modifier::BOLD)),
        Span::raw(clean(&app.query, w.saturating_sub(3))),
        Span::styled("█", Style::default().fg(Color::DarkGray)),
    ])];
    if app.hits.is_empty() && !app.query.is_empty() {
        lines.push(Line::from(Span::styled(
            "  no matches",
            Style::default().fg(Color::DarkGray),
        )));
    }
    for (i, h) in app.hits.iter().enumerate() {
        let head = format!(
            "{} {} {}",
            h.session_id.chars().take(8).collect::<String>(),
            h.role,
            clean(h.project.as_deref().unwrap_or(""), 40)
        );
        let mut head_line = Line::from(Span::styled(head, Style::default().fg(Color::DarkGray)));
        if i == app.hit {
            head_line = head_line.style(Style::default().add_modifier(Modifier::REVERSED));
        }
        lines.push(head_line);
        lines.push(snippet_line(&h.snippet, w.saturating_sub(4)));
    }
    f.render_widget(Paragraph::new(lines), area);
}

/// A snippet with its `«…»` hits in bold yellow.
fn snippet_line(snippet: &str, w: usize) -> Line<'static> {
    let s = clean(snippet, w);
    let mut spans = vec![Span::raw("    ")];
    let hit = Style::default()
        .fg(Color::Yellow)
        .add_modifier(Modifier::BOLD);
    for (n, part) in s.split('«').enumerate() {
        if n == 0 {
            spans.push(Span::raw(part.to_owned()));
            continue;
        }
        match part.split_once('»') {
            Some((h, rest)) => {
                spans.push(Span::styled(h.to_owned(), hit));
                spans.push(Span::raw(rest.to_owned()));
            }
            None => spans.push(Span::styled(part.to_owned(), hit)),
        }
    }
    Line::from(spans)
}

fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

fn help(f: &mut Frame<'_>, area: Rect) {
    let keys = [
        ("j / ↓, k / ↑", "move"),
        ("a / y", "approve the selected tool call"),
        ("d / n", "deny it, with a message"),
        ("r", "answer a question"),
        (
            "enter",
            "jump to the session's tmux pane (else its transcript)",
        ),
        ("t", "open the transcript"),
        ("/", "search every transcript"),
        ("e", "show or hide ended sessions"),
        ("x", "(transcript) expand subagents and tool output"),
        ("esc", "back"),
        ("?", "this help"),
        ("q / ctrl-c", "quit"),
    ];
    // Descriptions wrap under themselves: nothing is cut, at any width.
    let w = area.width.min(72);
    let text_w = (w as usize).saturating_sub(2 + 16).max(8);
    let mut lines: Vec<Line<'static>> = Vec::new();
    for (k, v) in keys {
        let mut first = true;
        for chunk in wrap_words(v, text_w) {
            let key = if first { k } else { "" };
            lines.push(Line::from(format!(" {key:<14} {chunk}")));
            first = false;
        }
    }
    let r = centered(area, w, lines.len() as u16 + 2);
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(lines).block(Block::default().borders(Borders::ALL).title(" keys ")),
        r,
    );
}

/// `text` cut into lines of at most `width` characters at spaces (a word
/// longer than a line is cut).
fn wrap_words(text: &str, width: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let mut word = word.to_owned();
        while word.chars().count() > width {
            if !line.is_empty() {
                out.push(std::mem::take(&mut line));
            }
            let head: String = word.chars().take(width).collect();
            word = word.chars().skip(width).collect();
            out.push(head);
        }
        let len = line.chars().count();
        if len > 0 && len + 1 + word.chars().count() > width {
            out.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&word);
    }
    if !line.is_empty() || out.is_empty() {
        out.push(line);
    }
    out
}

fn prompt(f: &mut Frame<'_>, app: &App, area: Rect) {
    let title = if app.mode == Mode::Deny {
        " deny: message the agent sees "
    } else {
        " answer "
    };
    let r = centered(area, 70, 3);
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(format!("{}█", clean(&app.input, 66)))
            .block(Block::default().borders(Borders::ALL).title(title)),
        r,
    );
}

#[cfg(test)]
mod tests;
