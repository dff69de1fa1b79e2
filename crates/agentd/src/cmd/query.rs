//! `ls`, `show`, `events`, `health`, `paths`.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use agentd_client::client::Message;
use agentd_client::{Client, ClientError, Paths};
use agentd_core::Status;
use agentd_proto::api::{
    EventRecord, EventsListParams, SessionView, SessionsListParams, SubscribeParams,
};
use agentd_proto::notification;
use serde_json::json;

use super::{client_error, print_json};
use crate::render;

const TIMEOUT: Duration = Duration::from_secs(10);

fn connect(paths: &Paths) -> Result<Client, ExitCode> {
    super::connect(paths, TIMEOUT)
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

/// `agentd ls [--json] [--all] [--status S,…] [--agent A]`: exit 1 when `--status`
/// matches no session, as grep does.
pub fn ls(
    paths: &Paths,
    json: bool,
    all: bool,
    status: &[String],
    agent: Option<agentd_core::Agent>,
) -> ExitCode {
    for s in status {
        if !STATUSES.contains(&s.as_str()) {
            return super::usage_error(&format!(
                "unknown status `{s}`; use one of {}",
                STATUSES.join(", ")
            ));
        }
    }
    let mut client = match connect(paths) {
        Ok(c) => c,
        Err(code) => return code,
    };
    // Asked for by status, ended sessions are shown when asked for.
    let all = all || status.iter().any(|s| s == "ended");
    // The table without --all shows live sessions only: no need for the
    // index's history.
    let history = json || all;
    let filter = (!status.is_empty()).then_some(status);
    let mut matched = 0usize;
    let mut out = std::io::stdout().lock();
    let mut shown: Vec<SessionView> = Vec::new();
    let mut offset = Some(0);
    let mut first = true;
    // Page by page (each fits a frame); JSON streams as one array.
    while let Some(at) = offset {
        let page = match client.sessions_page(&SessionsListParams {
            history: Some(history),
            offset: Some(at),
            status: filter.map(<[String]>::to_vec),
            agent: agent.map(|a| a.as_str().to_owned()),
            ..SessionsListParams::default()
        }) {
            Ok(p) => p,
            Err(e) => return client_error(e),
        };
        offset = page.next_offset;
        matched += page.sessions.len();
        if json {
            for s in &page.sessions {
                let text = serde_json::to_string_pretty(s).unwrap_or_default();
                let text = agentd_core::text::json_for_terminal(&text);
                let sep = if first { "[\n" } else { ",\n" };
                first = false;
                let indented: Vec<String> = text.lines().map(|l| format!("  {l}")).collect();
                if write!(out, "{sep}{}", indented.join("\n")).is_err() {
                    return ExitCode::SUCCESS; // the reader left
                }
            }
            continue;
        }
        shown.extend(
            page.sessions
                .into_iter()
                .filter(|s| all || s.session.status != Status::Ended),
        );
    }
    let no_match = if filter.is_some() && matched == 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    };
    if json {
        let _ = writeln!(out, "{}", if first { "[]" } else { "\n]" });
        return no_match;
    }
    drop(out);
    if let Some(wanted) = filter
        && shown.is_empty()
    {
        println!("no session is {}", wanted.join(" or "));
        return no_match;
    }
    if shown.is_empty() {
        println!(
            "no live sessions{}",
            if all {
                ""
            } else {
                " (`agentd ls --all` includes ended ones)"
            }
        );
        return ExitCode::SUCCESS;
    }
    print!(
        "{}",
        render::sessions_table(&shown, now_ms(), render::color())
    );
    ExitCode::SUCCESS
}

/// Every session status, as `--status` takes them.
const STATUSES: [&str; 6] = [
    "starting",
    "working",
    "needs_approval",
    "needs_input",
    "idle",
    "ended",
];

/// `agentd show [<id>] [--json]`: without an id, the latest session in the
/// current directory.
pub fn show(paths: &Paths, id: Option<&str>, json: bool) -> ExitCode {
    let mut client = match connect(paths) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let id = match super::here::session_or_here(&mut client, id) {
        Ok(id) => id,
        Err(code) => return code,
    };
    match client.session(&id) {
        Ok(s) if json => print_json(&s),
        Ok(s) => {
            print!("{}", render::session_details(&s, now_ms()));
            ExitCode::SUCCESS
        }
        Err(e) => client_error(e),
    }
}

fn print_event(out: &mut impl Write, e: &EventRecord, json: bool) -> bool {
    let line = if json {
        agentd_core::text::json_for_terminal(&serde_json::to_string(e).unwrap_or_default())
            .into_owned()
    } else {
        render::event_line(e)
    };
    writeln!(out, "{line}").is_ok()
}

/// Events after `after`, page by page until the log's head or `limit`: a
/// page stops early when the next event would not fit in a frame, so the
/// number of events in a page says nothing about whether more follow. When
/// `limit` stops it with more to read, stderr says where to go on.
fn events_paged(
    client: &mut agentd_client::Client,
    out: &mut impl Write,
    json: bool,
    mut after: u64,
    session: Option<String>,
    limit: Option<usize>,
) -> ExitCode {
    /// The daemon's largest page.
    const PAGE: usize = 10_000;
    let mut printed = 0usize;
    loop {
        let want = limit.map_or(PAGE, |l| l.saturating_sub(printed).min(PAGE));
        if want == 0 {
            break;
        }
        let list = match client.events(&EventsListParams {
            after_seq: after,
            session_id: session.clone(),
            kinds: None,
            limit: Some(want),
        }) {
            Ok(l) => l,
            Err(e) => return client_error(e),
        };
        let Some(last) = list.events.last().map(|e| e.seq) else {
            return ExitCode::SUCCESS;
        };
        for e in &list.events {
            if !print_event(out, e, json) {
                return ExitCode::SUCCESS; // the reader left (a closed pipe)
            }
        }
        printed += list.events.len();
        after = last;
        if last >= list.head_seq {
            return ExitCode::SUCCESS;
        }
    }
    // Stopped by --limit: more may follow (this session's, or any).
    let more = match client.events(&EventsListParams {
        after_seq: after,
        session_id: session,
        kinds: None,
        limit: Some(1),
    }) {
        Ok(l) => l,
        Err(e) => return client_error(e),
    };
    if !more.events.is_empty() {
        let _ = out.flush();
        eprintln!(
            "agentd: stopped at --limit {printed}; more events follow. Go on with `agentd events --after {after}`"
        );
    }
    ExitCode::SUCCESS
}

/// `agentd events [--json] [--after SEQ] [--session ID] [--follow]`.
///
/// With `--follow` it streams until interrupted; when the daemon goes away it
/// waits for it to come back and resumes after the last event printed, so no
/// event is missed or repeated across a daemon restart.
pub fn events(
    paths: &Paths,
    json: bool,
    after: Option<u64>,
    session: Option<String>,
    follow: bool,
    limit: Option<usize>,
) -> ExitCode {
    let mut client = match connect(paths) {
        Ok(c) => c,
        Err(code) => return code,
    };
    // `--session` without a value: the latest session here.
    let session = match session {
        Some(s) if s.is_empty() => match super::here::session_or_here(&mut client, None) {
            Ok(id) => Some(id),
            Err(code) => return code,
        },
        other => other,
    };
    let mut out = std::io::stdout().lock();
    if !follow {
        return events_paged(
            &mut client,
            &mut out,
            json,
            after.unwrap_or(0),
            session,
            limit,
        );
    }
    // Without --after, follow starts at the live head.
    let mut last = after;
    loop {
        let sub = match client.subscribe(&SubscribeParams {
            after_seq: last,
            session_id: session.clone(),
            kinds: None,
        }) {
            Ok(s) => s,
            Err(e) => return client_error(e),
        };
        last.get_or_insert(sub.head_seq);
        if let Err(e) = client.set_read_timeout(None) {
            return client_error(e);
        }
        loop {
            match client.read_message() {
                Ok(Message::Notification(m, params)) if m == notification::EVENT => {
                    let Ok(e) = serde_json::from_value::<EventRecord>(params) else {
                        continue;
                    };
                    last = Some(e.seq);
                    if !print_event(&mut out, &e, json) || out.flush().is_err() {
                        return ExitCode::SUCCESS;
                    }
                }
                Ok(_) => {}
                Err(ClientError::Closed) => break,
                Err(e) => return client_error(e),
            }
        }
        eprintln!("agentd: lost the daemon; waiting for it to come back (Ctrl-C to stop)");
        client = loop {
            std::thread::sleep(Duration::from_millis(250));
            match Client::connect(&paths.socket, TIMEOUT) {
                Ok(c) => break c,
                Err(ClientError::NotRunning(_)) => continue,
                Err(e) => return client_error(e),
            }
        };
    }
}

/// `agentd health [--json]`.
pub fn health(paths: &Paths, json: bool) -> ExitCode {
    let mut client = match connect(paths) {
        Ok(c) => c,
        Err(code) => return code,
    };
    match client.health() {
        Ok(h) if json => print_json(&h),
        Ok(h) => {
            println!(
                "{} · version {} · pid {} · up {}s · {} sessions · head seq {} · http {}",
                h.status,
                h.version,
                h.pid,
                h.uptime_s,
                h.sessions,
                h.head_seq,
                h.http_addr.as_deref().unwrap_or("off")
            );
            for p in &h.problems {
                println!("  problem: {p}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => client_error(e),
    }
}

/// `agentd paths [--json]`.
pub fn paths(paths: &Paths, json: bool) -> ExitCode {
    if json {
        return print_json(&json!({
            "root": paths.root, "config": paths.config, "db": paths.db,
            "socket": paths.socket, "token": paths.token, "log": paths.log, "pid": paths.pid,
        }));
    }
    for (k, v) in [
        ("root", &paths.root),
        ("config", &paths.config),
        ("db", &paths.db),
        ("socket", &paths.socket),
        ("token", &paths.token),
        ("log", &paths.log),
        ("pid", &paths.pid),
    ] {
        println!("{k:<8}{}", v.display());
    }
    ExitCode::SUCCESS
}

/// `agentd gc [--json]`.
pub fn gc(paths: &Paths, json: bool) -> ExitCode {
    let mut client = match connect(paths) {
        Ok(c) => c,
        Err(code) => return code,
    };
    // A full vacuum of a large log takes a while.
    if let Err(e) = client.set_read_timeout(Some(std::time::Duration::from_secs(3600))) {
        return client_error(e);
    }
    match client.gc() {
        Ok(v) if json => print_json(&v),
        Ok(v) => {
            let n = |k: &str| v[k].as_u64().unwrap_or(0);
            println!(
                "looked at {} old events: {} payloads compacted, {} status-line snapshots dropped, {:.1} MB of payloads freed",
                n("examined"),
                n("compacted"),
                n("deleted"),
                n("bytes_freed") as f64 / 1e6
            );
            println!(
                "agentd.db: {:.1} MB → {:.1} MB",
                n("file_bytes_before") as f64 / 1e6,
                n("file_bytes_after") as f64 / 1e6
            );
            ExitCode::SUCCESS
        }
        Err(e) => client_error(e),
    }
}
