//! `agentd tui`: one screen for every agent session.
//!
//! * [`state`]: what is shown and how keys change it (pure, unit-tested).
//! * [`view`]: drawing it with ratatui (snapshot-tested with `TestBackend`).
//! * this module: the IO — a subscriber thread that follows the daemon's
//!   `events.subscribe` stream (reconnecting by itself after a restart:
//!   a new snapshot replaces the old one, so nothing flickers or is lost),
//!   and actions (approve, deny, search, transcripts) over a second
//!   connection. Nothing polls the daemon: the screen redraws when an event
//!   or a key arrives.

#![warn(missing_docs)]

pub mod state;
pub mod view;

use std::io;
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use agentd_client::client::Message;
use agentd_client::{Client, Paths};
use agentd_core::Decision;
use agentd_proto::api::{
    ApprovalsListParams, DecideParams, EventNotification, SessionsListParams, SubscribeParams,
    TranscriptParams,
};
use agentd_proto::history::SearchQuery;
use agentd_proto::notification;
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};

use state::{Action, App, Conn, Key, TranscriptView};

const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a key poll waits; events from the daemon are drawn at most this
/// late (the subscriber thread cannot wake a blocked key poll).
const TICK: Duration = Duration::from_millis(25);

enum Feed {
    Snapshot(Vec<agentd_proto::api::SessionView>),
    Event(Box<EventNotification>),
    ApprovalsChanged,
    Down(String),
}

/// Runs the TUI until the user quits.
///
/// # Errors
/// The terminal could not be set up or written.
pub fn run(paths: &Paths, agentd_exe: &Path) -> io::Result<()> {
    let (tx, rx) = mpsc::channel();
    let socket = paths.socket.clone();
    std::thread::Builder::new()
        .name("agentd-tui-subscriber".into())
        .spawn(move || subscriber(&socket, &tx))?;
    let mut terminal = ratatui::init();
    let out = event_loop(&mut terminal, paths, agentd_exe, &rx);
    ratatui::restore();
    out
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    paths: &Paths,
    agentd_exe: &Path,
    rx: &mpsc::Receiver<Feed>,
) -> io::Result<()> {
    let mut app = App::new(now_ms());
    let mut cmd: Option<Client> = None;
    let in_tmux = std::env::var_os("TMUX").is_some();
    let mut dirty = true;
    let mut last_second = 0;
    // Follow the open transcript for a few seconds after its session's
    // last event: the index lags the hook by moments.
    let mut tail_until = 0i64;
    loop {
        while let Ok(feed) = rx.try_recv() {
            dirty = true;
            match feed {
                Feed::Snapshot(s) => {
                    app.set_snapshot(s);
                    refresh_approvals(&mut app, &mut cmd, &paths.socket);
                }
                Feed::Event(e) => {
                    let approvals = e.event.kind.starts_with("approval.");
                    if app.tailing() == Some(e.event.session_id.as_str()) {
                        tail_until = now_ms() + 3000;
                    }
                    app.apply_event(*e);
                    if approvals {
                        refresh_approvals(&mut app, &mut cmd, &paths.socket);
                    }
                }
                Feed::ApprovalsChanged => refresh_approvals(&mut app, &mut cmd, &paths.socket),
                Feed::Down(why) => app.conn = Conn::Down(why),
            }
        }
        // Ages tick once a second; the open transcript follows its session;
        // process figures come every 2 s (the daemon's sampling period).
        let now = now_ms();
        if now / 1000 != last_second {
            if now < tail_until && app.tailing().is_some() {
                tail(&mut app, &mut cmd, &paths.socket);
            }
            if (now / 1000) % 2 == 0
                && app.conn == Conn::Live
                && let Ok(all) = call(&mut cmd, &paths.socket, Client::processes)
            {
                app.set_processes(all);
            }
            last_second = now / 1000;
            app.now_ms = now;
            dirty = true;
        }
        if dirty {
            terminal.draw(|f| view::draw(f, &app))?;
            dirty = false;
        }
        if !event::poll(TICK)? {
            continue;
        }
        match event::read()? {
            Event::Key(k) if k.kind != KeyEventKind::Release => {
                dirty = true;
                let key = match k.code {
                    KeyCode::Char(c) if k.modifiers.contains(KeyModifiers::CONTROL) => Key::Ctrl(c),
                    KeyCode::Char(c) => Key::Char(c),
                    KeyCode::Enter => Key::Enter,
                    KeyCode::Esc => Key::Esc,
                    KeyCode::Up => Key::Up,
                    KeyCode::Down => Key::Down,
                    KeyCode::PageUp => Key::PageUp,
                    KeyCode::PageDown => Key::PageDown,
                    KeyCode::Backspace => Key::Backspace,
                    KeyCode::Tab => Key::Tab,
                    _ => Key::Other,
                };
                if let Some(action) = app.key(key, in_tmux) {
                    if action == Action::Quit {
                        return Ok(());
                    }
                    perform(&mut app, &mut cmd, paths, agentd_exe, action);
                }
            }
            Event::Resize(..) => dirty = true,
            _ => {}
        }
    }
}

/// The action connection, (re)connected on demand.
fn client<'c>(cmd: &'c mut Option<Client>, socket: &Path) -> Result<&'c mut Client, String> {
    if cmd.is_none() {
        *cmd = Some(Client::connect(socket, CALL_TIMEOUT).map_err(|e| e.to_string())?);
    }
    cmd.as_mut().ok_or_else(|| "not connected".to_owned())
}

/// One typed call on the action connection; a connection that failed is
/// dropped, to be made again by the next call.
fn call<R>(
    cmd: &mut Option<Client>,
    socket: &Path,
    f: impl FnOnce(&mut Client) -> Result<R, agentd_client::ClientError>,
) -> Result<R, String> {
    let out = f(client(cmd, socket)?);
    if let Err(
        agentd_client::ClientError::Io(_)
        | agentd_client::ClientError::NotRunning(_)
        | agentd_client::ClientError::Closed
        | agentd_client::ClientError::Timeout(_),
    ) = &out
    {
        *cmd = None;
    }
    out.map_err(|e| e.to_string())
}

fn refresh_approvals(app: &mut App, cmd: &mut Option<Client>, socket: &Path) {
    match call(cmd, socket, |c| {
        c.approvals(&ApprovalsListParams::default())
    }) {
        Ok(list) => app.set_approvals(list),
        Err(e) => app.notice = Some(format!("cannot list approvals: {e}")),
    }
}

fn perform(app: &mut App, cmd: &mut Option<Client>, paths: &Paths, exe: &Path, action: Action) {
    let socket = &paths.socket;
    let decide = |cmd: &mut Option<Client>, id: &str, decision: Decision| {
        call(cmd, socket, |c| {
            c.decide(&DecideParams {
                id: id.to_owned(),
                decision,
                apply_suggestions: false,
                by: Some("tui".to_owned()),
                reason: None,
            })
        })
    };
    let result = match action {
        Action::Quit => Ok(()),
        Action::LoadHistory => call(cmd, socket, |c| {
            c.sessions_page(&SessionsListParams {
                history: Some(true),
                status: Some(vec!["ended".to_owned()]),
                ..SessionsListParams::default()
            })
        })
        .map(|page| {
            if page.next_offset.is_some() {
                app.notice = Some(format!(
                    "the {} most recent past sessions; `agentd ls --all` lists every one",
                    page.sessions.len()
                ));
            }
            app.set_history(page.sessions);
        }),
        Action::Approve(id) => decide(
            cmd,
            &id,
            Decision::Allow {
                updated_input: None,
                updated_permissions: None,
            },
        )
        .map(|_| {
            app.notice = Some("approved".to_owned());
        }),
        Action::Deny(id, message) => {
            let message = if message.trim().is_empty() {
                "denied from agentd tui".to_owned()
            } else {
                message
            };
            decide(
                cmd,
                &id,
                Decision::Deny {
                    message: Some(message),
                },
            )
            .map(|_| {
                app.notice = Some("denied".to_owned());
            })
        }
        Action::Answer(id, text) => decide(cmd, &id, Decision::Answer { text })
            .map(|_| app.notice = Some("answered".to_owned())),
        Action::Search(q) => {
            if q.trim().is_empty() {
                app.set_hits(&q, Vec::new());
                Ok(())
            } else {
                call(cmd, socket, |c| {
                    c.search(&SearchQuery {
                        query: q.clone(),
                        limit: Some(50),
                        ..SearchQuery::default()
                    })
                })
                .map(|hits| app.set_hits(&q, hits))
            }
        }
        Action::OpenTranscript(id) => open_transcript(app, cmd, socket, &id, None),
        Action::OpenHit(id, uuid) => open_transcript(app, cmd, socket, &id, uuid.as_deref()),
        Action::MoreTranscript(id, offset) => call(cmd, socket, |c| {
            c.transcript(&TranscriptParams {
                id,
                offset,
                limit: Some(PAGE),
            })
        })
        .map(|p| app.append_transcript(&p.session_id, offset, p.messages, p.total)),
        Action::JumpToPane(pane) => jump(&pane).map(|()| {
            app.notice = Some(format!("jumped to tmux pane {}", view::clean(&pane, 20)));
        }),
        Action::StartDaemon => std::process::Command::new(exe)
            .arg("--home")
            .arg(&paths.root)
            .arg("start")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .map_err(|e| e.to_string())
            .and_then(|s| {
                if s.success() {
                    app.notice = Some("daemon started".to_owned());
                    Ok(())
                } else {
                    Err(format!("agentd start exited with {s}"))
                }
            }),
    };
    if let Err(e) = result {
        app.notice = Some(e);
    }
    // Decisions change the list right away; the event confirms it.
    if app
        .notice
        .as_deref()
        .is_some_and(|n| ["approved", "denied", "answered"].contains(&n))
    {
        refresh_approvals(app, cmd, socket);
    }
}

/// Messages fetched per transcript page.
const PAGE: usize = 500;

fn open_transcript(
    app: &mut App,
    cmd: &mut Option<Client>,
    socket: &Path,
    id: &str,
    focus: Option<&str>,
) -> Result<(), String> {
    // Enough to reach the hit, in pages.
    let mut page = call(cmd, socket, |c| {
        c.transcript(&TranscriptParams {
            id: id.to_owned(),
            offset: 0,
            limit: Some(PAGE),
        })
    })?;
    while let Some(u) = focus
        && !page.messages.iter().any(|m| m.uuid.as_deref() == Some(u))
        && (page.messages.len() as u64) < page.total
    {
        let offset = page.messages.len() as u64;
        let more = call(cmd, socket, |c| {
            c.transcript(&TranscriptParams {
                id: id.to_owned(),
                offset,
                limit: Some(PAGE),
            })
        })?;
        if more.messages.is_empty() {
            break;
        }
        page.messages.extend(more.messages);
    }
    app.set_transcript(
        TranscriptView {
            session_id: page.session_id,
            messages: page.messages,
            total: page.total,
            scroll: 0,
            expanded: false,
        },
        focus,
    );
    Ok(())
}

/// The open transcript's session had news: fetch what was appended.
fn tail(app: &mut App, cmd: &mut Option<Client>, socket: &Path) {
    let Some(t) = app.transcript.as_ref() else {
        return;
    };
    let (id, offset) = (t.session_id.clone(), t.messages.len() as u64);
    if let Ok(p) = call(cmd, socket, |c| {
        c.transcript(&TranscriptParams {
            id,
            offset,
            limit: Some(PAGE),
        })
    }) {
        app.append_transcript(&p.session_id, offset, p.messages, p.total);
    }
}

/// Switches this tmux client to `pane`: its session (when the pane is in
/// another one), window and pane. Says what tmux said when it could not —
/// a pane that is gone, or no tmux server.
fn jump(pane: &str) -> Result<(), String> {
    let tmux = |args: [&str; 3]| -> Result<(), String> {
        let out = std::process::Command::new("tmux")
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|e| format!("cannot run tmux: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            let why = String::from_utf8_lossy(&out.stderr);
            Err(format!(
                "tmux {} {pane}: {}",
                args[0],
                view::clean(why.trim(), 120)
            ))
        }
    };
    // Switching sessions fails harmlessly when the pane is in this one.
    let _ = tmux(["switch-client", "-t", pane]);
    tmux(["select-window", "-t", pane])?;
    tmux(["select-pane", "-t", pane])
}

/// Follows the daemon: subscribe, forward notifications, and on any
/// failure say so and retry every 500 ms.
fn subscriber(socket: &Path, tx: &mpsc::Sender<Feed>) {
    loop {
        let why = match follow(socket, tx) {
            Ok(()) => return, // the UI is gone
            Err(e) => e,
        };
        if tx.send(Feed::Down(why)).is_err() {
            return;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// One subscription; `Ok` only when the receiver is gone.
fn follow(socket: &Path, tx: &mpsc::Sender<Feed>) -> Result<(), String> {
    let mut c = Client::connect(socket, CALL_TIMEOUT).map_err(|e| e.to_string())?;
    let sub = c
        .subscribe(&SubscribeParams::default())
        .map_err(|e| e.to_string())?;
    if tx.send(Feed::Snapshot(sub.sessions)).is_err() {
        return Ok(());
    }
    c.set_read_timeout(None).map_err(|e| e.to_string())?;
    loop {
        let feed = match c.read_message().map_err(|e| e.to_string())? {
            Message::Notification(m, params) if m == notification::EVENT => {
                match serde_json::from_value::<EventNotification>(params) {
                    Ok(n) => Feed::Event(Box::new(n)),
                    Err(_) => continue,
                }
            }
            // Behind: what was missed is caught up from the log, but the
            // approvals may have moved meanwhile.
            Message::Notification(m, _) if m == notification::LAGGED => Feed::ApprovalsChanged,
            _ => continue,
        };
        if tx.send(feed).is_err() {
            return Ok(());
        }
    }
}
