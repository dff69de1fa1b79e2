//! What the TUI shows and how keys change it. Pure: no terminal, no socket.
//! Keys become [`Action`]s for the IO layer; daemon data comes back through
//! the `set_*`/`apply_*` methods.

use agentd_core::Status;
use agentd_proto::api::{
    ApprovalView, EventNotification, ProcessStats, SessionProcess, SessionView,
};
use agentd_proto::history::{Hit, MessageView};

/// Which screen has the keyboard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Sessions and approvals.
    Sessions,
    /// A session's transcript.
    Transcript,
    /// Full-text search.
    Search,
    /// The key list.
    Help,
    /// Typing the message of a deny.
    Deny,
    /// Typing the answer to a question.
    Answer,
}

/// The daemon connection, as the user sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conn {
    /// Subscribed; live.
    Live,
    /// Not connected; retrying. The text says why.
    Down(String),
}

/// What the IO layer should do after a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Leave.
    Quit,
    /// Allow this approval.
    Approve(String),
    /// Deny this approval with a message.
    Deny(String, String),
    /// Answer this approval's question.
    Answer(String, String),
    /// Load a session's transcript.
    OpenTranscript(String),
    /// Load a session's transcript and show the message with this uuid.
    OpenHit(String, Option<String>),
    /// Load more of the open transcript, from this message on.
    MoreTranscript(String, u64),
    /// Search for this text.
    Search(String),
    /// Switch the tmux client to this pane.
    JumpToPane(String),
    /// Start the daemon.
    StartDaemon,
    /// Load past sessions (known from transcripts) to show with the ended.
    LoadHistory,
}

/// One row of the main list.
#[derive(Debug, Clone, PartialEq)]
pub enum Row<'a> {
    /// A pending approval.
    Approval(&'a ApprovalView),
    /// A group heading: the project.
    Project(String),
    /// A session.
    Session(&'a SessionView),
}

/// The transcript pane.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TranscriptView {
    /// Session id.
    pub session_id: String,
    /// Messages loaded.
    pub messages: Vec<MessageView>,
    /// Messages in all.
    pub total: u64,
    /// First message shown.
    pub scroll: usize,
    /// Tool calls shown whole instead of one line.
    pub expanded: bool,
}

/// Everything on screen.
#[derive(Debug, Clone)]
pub struct App {
    /// Sessions from the daemon's snapshot and live events.
    pub sessions: Vec<SessionView>,
    /// Pending approvals, oldest first.
    pub approvals: Vec<ApprovalView>,
    /// Selected row of [`App::rows`] (headings are skipped).
    pub selected: usize,
    /// What is selected (`a:<approval id>` / `s:<session id>`): rows move
    /// as events arrive, the selection stays on the same thing.
    selected_key: Option<String>,
    /// The approval a deny message or an answer is being typed for.
    typing_for: Option<String>,
    /// Where Esc from the transcript goes: the screen it was opened from.
    return_to: Mode,
    /// Which screen.
    pub mode: Mode,
    /// Connection state.
    pub conn: Conn,
    /// The search box.
    pub query: String,
    /// Search results.
    pub hits: Vec<Hit>,
    /// Selected hit.
    pub hit: usize,
    /// The transcript pane, when open.
    pub transcript: Option<TranscriptView>,
    /// Text being typed (deny message, answer).
    pub input: String,
    /// One line of feedback ("approved", an error).
    pub notice: Option<String>,
    /// Show ended sessions too.
    pub show_ended: bool,
    /// Past sessions from the transcript index (shown with `show_ended`),
    /// newest first, as many as one page holds.
    pub history: Vec<SessionView>,
    /// Now, ms since the Unix epoch (ages are computed from it).
    pub now_ms: i64,
}

impl App {
    /// An empty app at `now_ms`, not yet connected.
    pub fn new(now_ms: i64) -> App {
        App {
            sessions: Vec::new(),
            approvals: Vec::new(),
            selected: 0,
            selected_key: None,
            typing_for: None,
            return_to: Mode::Sessions,
            mode: Mode::Sessions,
            conn: Conn::Down("connecting".to_owned()),
            query: String::new(),
            hits: Vec::new(),
            hit: 0,
            transcript: None,
            input: String::new(),
            notice: None,
            show_ended: false,
            history: Vec::new(),
            now_ms,
        }
    }

    /// Past sessions loaded from the index (`sessions.list`), shown with
    /// the ended ones.
    pub fn set_history(&mut self, history: Vec<SessionView>) {
        self.history = history;
        self.clamp();
    }

    /// A (re)subscription's snapshot replaces every session.
    pub fn set_snapshot(&mut self, sessions: Vec<SessionView>) {
        self.sessions = sessions;
        self.conn = Conn::Live;
        self.clamp();
    }

    /// A live event: the session it carries replaces the old copy (its
    /// process figures stay until the next sample: events carry none).
    pub fn apply_event(&mut self, n: EventNotification) {
        let Some(mut s) = n.session else { return };
        match self
            .sessions
            .iter_mut()
            .find(|x| x.session.id == s.session.id)
        {
            Some(slot) => {
                if s.process.is_none() {
                    s.process = slot.process.take();
                }
                *slot = s;
            }
            None => self.sessions.push(s),
        }
        self.clamp();
    }

    /// The daemon's latest process figures (`sessions.processes`): each
    /// session gets its own, or none when it was not sampled.
    pub fn set_processes(&mut self, all: Vec<SessionProcess>) {
        let mut by_id: std::collections::HashMap<String, ProcessStats> =
            all.into_iter().map(|p| (p.session_id, p.process)).collect();
        for s in &mut self.sessions {
            s.process = by_id.remove(&s.session.id);
        }
    }

    /// The pending approvals changed.
    pub fn set_approvals(&mut self, approvals: Vec<ApprovalView>) {
        self.approvals = approvals;
        self.clamp();
    }

    /// The list as shown: approvals, then sessions that need the user, then
    /// the others grouped by project (ended ones only with `show_ended`).
    pub fn rows(&self) -> Vec<Row<'_>> {
        let mut rows: Vec<Row<'_>> = self.approvals.iter().map(Row::Approval).collect();
        let mut shown: Vec<&SessionView> = self
            .sessions
            .iter()
            .filter(|s| self.show_ended || s.session.status != Status::Ended)
            .collect();
        if self.show_ended {
            // Past sessions the registry does not hold (never twice).
            let known: std::collections::HashSet<&str> = self
                .sessions
                .iter()
                .map(|s| s.session.id.as_str())
                .collect();
            shown.extend(
                self.history
                    .iter()
                    .filter(|h| !known.contains(h.session.id.as_str())),
            );
        }
        let needs = |s: &SessionView| {
            matches!(s.session.status, Status::NeedsApproval | Status::NeedsInput)
        };
        shown.sort_by(|a, b| {
            needs(b)
                .cmp(&needs(a))
                .then_with(|| project(a).cmp(&project(b)))
                .then_with(|| b.session.last_event_ms.cmp(&a.session.last_event_ms))
        });
        let mut heading: Option<String> = None;
        for s in shown {
            let group = if needs(s) {
                "needs you".to_owned()
            } else {
                project(s)
            };
            if heading.as_ref() != Some(&group) {
                rows.push(Row::Project(group.clone()));
                heading = Some(group);
            }
            rows.push(Row::Session(s));
        }
        rows
    }

    fn selectable(&self) -> Vec<usize> {
        self.rows()
            .iter()
            .enumerate()
            .filter(|(_, r)| !matches!(r, Row::Project(_)))
            .map(|(i, _)| i)
            .collect()
    }

    fn clamp(&mut self) {
        let rows = self.rows();
        if let Some(k) = &self.selected_key
            && let Some(i) = rows.iter().position(|r| key_of(r).as_ref() == Some(k))
        {
            self.selected = i;
            return;
        }
        drop(rows);
        let sel = self.selectable();
        if !sel.contains(&self.selected) {
            self.selected = sel
                .iter()
                .copied()
                .find(|&i| i >= self.selected)
                .or(sel.last().copied())
                .unwrap_or(0);
        }
        self.remember();
    }

    fn remember(&mut self) {
        self.selected_key = self.rows().get(self.selected).and_then(key_of);
    }

    fn step(&mut self, down: bool) {
        let sel = self.selectable();
        let pos = sel.iter().position(|&i| i == self.selected);
        self.selected = match (pos, down) {
            (Some(p), true) => sel.get(p + 1).copied().unwrap_or(self.selected),
            (Some(p), false) if p > 0 => sel[p - 1],
            (None, _) => sel.first().copied().unwrap_or(0),
            _ => self.selected,
        };
        self.remember();
    }

    /// The selected row.
    pub fn current(&self) -> Option<Row<'_>> {
        self.rows().into_iter().nth(self.selected)
    }

    /// The approval the keys act on: the selected one, or the first pending
    /// one of the selected session.
    pub fn target_approval(&self) -> Option<&ApprovalView> {
        self.target_in(&self.rows())
    }

    /// [`App::target_approval`] given the rows already built (a frame
    /// builds them once).
    pub fn target_in<'a>(&'a self, rows: &[Row<'a>]) -> Option<&'a ApprovalView> {
        match rows.get(self.selected)? {
            Row::Approval(a) => Some(a),
            Row::Session(s) => self
                .approvals
                .iter()
                .find(|a| a.approval.session_id == s.session.id),
            Row::Project(_) => None,
        }
    }

    /// A key, as crossterm names it: a char, or one of `Enter`, `Esc`,
    /// `Up`, `Down`, `PageUp`, `PageDown`, `Backspace`, `Tab`; `ctrl` for
    /// Control. `in_tmux`: whether Enter may switch tmux panes.
    pub fn key(&mut self, key: Key, in_tmux: bool) -> Option<Action> {
        if key == Key::Ctrl('c') {
            return Some(Action::Quit);
        }
        if self.conn != Conn::Live && self.mode == Mode::Sessions {
            match key {
                Key::Char('q') => return Some(Action::Quit),
                Key::Char('s') => return Some(Action::StartDaemon),
                _ => {}
            }
        }
        match self.mode.clone() {
            Mode::Help => {
                self.mode = Mode::Sessions;
                None
            }
            Mode::Deny | Mode::Answer => self.typing(key),
            Mode::Search => self.search_key(key),
            Mode::Transcript => self.transcript_key(key),
            Mode::Sessions => self.sessions_key(key, in_tmux),
        }
    }

    fn sessions_key(&mut self, key: Key, in_tmux: bool) -> Option<Action> {
        self.notice = None;
        match key {
            Key::Char('q') => return Some(Action::Quit),
            Key::Char('j') | Key::Down => self.step(true),
            Key::Char('k') | Key::Up => self.step(false),
            Key::Char('?') => self.mode = Mode::Help,
            Key::Char('/') => {
                self.mode = Mode::Search;
                self.hit = 0;
            }
            Key::Char('e') => {
                self.show_ended = !self.show_ended;
                self.clamp();
                if self.show_ended {
                    return Some(Action::LoadHistory);
                }
            }
            Key::Char('a') | Key::Char('y') => {
                if let Some(a) = self.target_approval() {
                    return Some(Action::Approve(a.approval.id.clone()));
                }
                self.notice = Some("nothing to approve here".to_owned());
            }
            Key::Char('d') | Key::Char('n') => {
                if let Some(a) = self.target_approval() {
                    self.typing_for = Some(a.approval.id.clone());
                    self.input.clear();
                    self.mode = Mode::Deny;
                } else {
                    self.notice = Some("nothing to deny here".to_owned());
                }
            }
            Key::Char('r') if self.target_approval().is_some() => {
                self.typing_for = self.target_approval().map(|a| a.approval.id.clone());
                self.input.clear();
                self.mode = Mode::Answer;
            }
            Key::Char('t') => {
                self.return_to = Mode::Sessions;
                return self.selected_session().map(Action::OpenTranscript);
            }
            Key::Enter => {
                self.return_to = Mode::Sessions;
                if let Some(Row::Session(s)) = self.current() {
                    if in_tmux && let Some(p) = &s.session.tmux_pane {
                        return Some(Action::JumpToPane(p.clone()));
                    }
                    return Some(Action::OpenTranscript(s.session.id.clone()));
                }
                if let Some(Row::Approval(a)) = self.current() {
                    return Some(Action::OpenTranscript(a.approval.session_id.clone()));
                }
            }
            _ => {}
        }
        None
    }

    fn selected_session(&self) -> Option<String> {
        match self.current()? {
            Row::Session(s) => Some(s.session.id.clone()),
            Row::Approval(a) => Some(a.approval.session_id.clone()),
            Row::Project(_) => None,
        }
    }

    fn typing(&mut self, key: Key) -> Option<Action> {
        match key {
            Key::Esc => self.mode = Mode::Sessions,
            Key::Backspace => {
                self.input.pop();
            }
            Key::Char(c) => self.input.push(c),
            Key::Enter => {
                let deny = self.mode == Mode::Deny;
                self.mode = Mode::Sessions;
                let text = std::mem::take(&mut self.input);
                // The approval chosen when typing began, if still pending.
                let id = self.typing_for.take()?;
                if !self.approvals.iter().any(|a| a.approval.id == id) {
                    self.notice = Some("that approval was decided meanwhile".to_owned());
                    return None;
                }
                return Some(if deny {
                    Action::Deny(id, text)
                } else {
                    Action::Answer(id, text)
                });
            }
            _ => {}
        }
        None
    }

    fn search_key(&mut self, key: Key) -> Option<Action> {
        match key {
            Key::Esc => {
                self.mode = Mode::Sessions;
                None
            }
            Key::Down | Key::Tab => {
                self.hit = (self.hit + 1).min(self.hits.len().saturating_sub(1));
                None
            }
            Key::Up => {
                self.hit = self.hit.saturating_sub(1);
                None
            }
            Key::Enter => {
                self.return_to = Mode::Search;
                self.hits
                    .get(self.hit)
                    .map(|h| Action::OpenHit(h.session_id.clone(), h.uuid.clone()))
            }
            Key::Backspace => {
                self.query.pop();
                self.hit = 0;
                Some(Action::Search(self.query.clone()))
            }
            Key::Char(c) => {
                self.query.push(c);
                self.hit = 0;
                Some(Action::Search(self.query.clone()))
            }
            _ => None,
        }
    }

    fn transcript_key(&mut self, key: Key) -> Option<Action> {
        let t = self.transcript.as_mut()?;
        match key {
            // Back to where it was opened from (the list, or the search).
            Key::Esc | Key::Char('q') => self.mode = self.return_to.clone(),
            Key::Char('j') | Key::Down => t.scroll += 1,
            Key::Char('k') | Key::Up => t.scroll = t.scroll.saturating_sub(1),
            Key::PageDown | Key::Char(' ') => t.scroll += 10,
            Key::PageUp => t.scroll = t.scroll.saturating_sub(10),
            Key::Char('g') => t.scroll = 0,
            Key::Char('G') => t.scroll = t.messages.len().saturating_sub(1),
            Key::Char('x') => t.expanded = !t.expanded,
            _ => {}
        }
        t.scroll = t.scroll.min(t.messages.len().saturating_sub(1));
        // Near the end of what is loaded: page in more from the index.
        let loaded = t.messages.len() as u64;
        (t.scroll + 20 >= t.messages.len() && loaded < t.total)
            .then(|| Action::MoreTranscript(t.session_id.clone(), loaded))
    }

    /// More messages of the open transcript arrived (from `offset`).
    pub fn append_transcript(
        &mut self,
        session_id: &str,
        offset: u64,
        more: Vec<MessageView>,
        total: u64,
    ) {
        if let Some(t) = self.transcript.as_mut()
            && t.session_id == session_id
            && offset == t.messages.len() as u64
        {
            // A row indexed late with an earlier time shifts the pages by
            // one: never show a message twice.
            let seen: std::collections::HashSet<&str> = t
                .messages
                .iter()
                .filter_map(|m| m.uuid.as_deref())
                .collect();
            let fresh: Vec<MessageView> = more
                .into_iter()
                .filter(|m| m.uuid.as_deref().is_none_or(|u| !seen.contains(u)))
                .collect();
            t.messages.extend(fresh);
            t.total = total;
        }
    }

    /// The open transcript's session, if a transcript is on screen (to
    /// tail it when that session has news).
    pub fn tailing(&self) -> Option<&str> {
        match (&self.mode, &self.transcript) {
            (Mode::Transcript, Some(t)) => Some(&t.session_id),
            _ => None,
        }
    }

    /// Search results arrived (for `query`; stale ones are dropped).
    pub fn set_hits(&mut self, query: &str, hits: Vec<Hit>) {
        if query == self.query {
            self.hits = hits;
            self.hit = self.hit.min(self.hits.len().saturating_sub(1));
        }
    }

    /// A transcript arrived: open it, at the message with `focus` (a uuid)
    /// when given.
    pub fn set_transcript(&mut self, mut t: TranscriptView, focus: Option<&str>) {
        if let Some(u) = focus
            && let Some(i) = t.messages.iter().position(|m| m.uuid.as_deref() == Some(u))
        {
            t.scroll = i;
        }
        self.transcript = Some(t);
        self.mode = Mode::Transcript;
    }
}

/// The identity of a row, for keeping the selection on it.
fn key_of(r: &Row<'_>) -> Option<String> {
    match r {
        Row::Approval(a) => Some(format!("a:{}", a.approval.id)),
        Row::Session(s) => Some(format!("s:{}", s.session.id)),
        Row::Project(_) => None,
    }
}

/// A key press, decoupled from crossterm for tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// A printable character.
    Char(char),
    /// Control + a character.
    Ctrl(char),
    /// Enter.
    Enter,
    /// Escape.
    Esc,
    /// Up arrow.
    Up,
    /// Down arrow.
    Down,
    /// Page up.
    PageUp,
    /// Page down.
    PageDown,
    /// Backspace.
    Backspace,
    /// Tab.
    Tab,
    /// Anything else.
    Other,
}

/// The project a session is grouped under: the last path component of its
/// project directory (or cwd).
pub fn project(s: &SessionView) -> String {
    s.session
        .project
        .as_deref()
        .or(s.session.cwd.as_deref())
        .map(|p| {
            p.trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap_or(p)
                .to_owned()
        })
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "-".to_owned())
}

#[cfg(test)]
pub(crate) mod tests;
