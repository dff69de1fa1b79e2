//! `search`, `transcript`, `usage`, `index`: the transcript index.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use agentd_client::{Client, Paths};
use agentd_proto::api::TranscriptParams;
use agentd_proto::history::{
    GroupBy, Hit, SEARCH_PAGE_MAX, SearchQuery, TranscriptPage, UsageQuery, UsageReport,
};
use serde_json::{Value, json};

use super::{client_error, fail, out, print_json};
use crate::render_index;

const TIMEOUT: Duration = Duration::from_secs(60);

fn connect(paths: &Paths) -> Result<Client, ExitCode> {
    super::connect(paths, TIMEOUT)
}

/// A time as `crate::when` reads it → ms since the epoch.
fn parse_time(s: &str) -> Result<i64, String> {
    crate::when::parse(s, &jiff::Zoned::now()).map(|t| t.as_millisecond())
}

/// `agentd search <query> [--project P] [--session S] [--since DATE] [--limit N] [--json]`.
pub fn search(
    paths: &Paths,
    query: &str,
    project: Option<String>,
    session: Option<String>,
    since: Option<&str>,
    limit: usize,
    as_json: bool,
) -> ExitCode {
    let since_ms = match since.map(parse_time).transpose() {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    let mut client = match connect(paths) {
        Ok(c) => c,
        Err(code) => return code,
    };
    // One call returns at most a page; more than that is read page by
    // page (by offset, which orders equal scores so pages join exactly).
    let paged = limit > SEARCH_PAGE_MAX;
    let mut hits: Vec<Hit> = Vec::new();
    loop {
        let want = (limit - hits.len()).min(SEARCH_PAGE_MAX);
        if want == 0 {
            break;
        }
        let q = SearchQuery {
            query: query.to_owned(),
            project: project.clone(),
            session_id: session.clone(),
            since_ms,
            until_ms: None,
            limit: Some(want),
            offset: paged.then_some(hits.len()),
        };
        let page = match client.search(&q) {
            Ok(h) => h,
            Err(e) => return client_error(e),
        };
        let last = page.len() < want;
        hits.extend(page);
        if last || hits.len() >= limit {
            break;
        }
    }
    if as_json {
        let code = print_json(&hits);
        return if hits.is_empty() {
            ExitCode::FAILURE
        } else {
            code
        };
    }
    out(&render_index::hits(&hits, std::io::stdout().is_terminal()));
    // No match is exit 1, as grep does.
    if hits.is_empty() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// `agentd transcript [<session>] [--json]`: every page, in order; without
/// an id, the latest session in the current directory.
pub fn transcript(paths: &Paths, id: Option<&str>, as_json: bool) -> ExitCode {
    let mut client = match connect(paths) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let id = match super::here::session_or_here(&mut client, id) {
        Ok(id) => id,
        Err(code) => return code,
    };
    let mut all: Option<TranscriptPage> = None;
    loop {
        let offset = all.as_ref().map_or(0, |p| p.messages.len());
        let page = match client.transcript(&TranscriptParams {
            id: id.clone(),
            offset: offset as u64,
            limit: Some(1000),
        }) {
            Ok(p) => p,
            Err(e) => return client_error(e),
        };
        let done = page.messages.is_empty();
        match &mut all {
            Some(a) => a.messages.extend(page.messages),
            None => all = Some(page),
        }
        if done
            || all
                .as_ref()
                .is_some_and(|a| a.messages.len() as u64 >= a.total)
        {
            break;
        }
    }
    let Some(page) = all else {
        return fail("empty transcript");
    };
    if as_json {
        return print_json(&page);
    }
    out(&render_index::transcript_header(
        &page.session_id,
        &page.messages,
    ));
    out(&render_index::transcript(&page.messages));
    ExitCode::SUCCESS
}

/// `agentd usage daily|monthly|session|project|model [--since] [--until] [--timezone] [--json]`.
pub fn usage(paths: &Paths, o: UsageOptions) -> ExitCode {
    let UsageOptions {
        by,
        since,
        until,
        timezone,
        session,
        json: as_json,
        hq,
    } = o;
    let group_by = by.as_str();
    // The report cuts days in its time zone: the given times become days
    // there.
    let tz = match timezone.as_deref() {
        Some(name) => match jiff::tz::TimeZone::get(name) {
            Ok(tz) => tz,
            Err(e) => {
                return fail(&format!(
                    "unknown time zone {name:?} ({e}); use an IANA name such as Europe/Paris"
                ));
            }
        },
        None => jiff::tz::TimeZone::system(),
    };
    let now = jiff::Zoned::now();
    let as_day = |s: Option<String>| -> Result<Option<String>, String> {
        s.map(|s| crate::when::day(&s, &now, &tz).map(|d| d.to_string()))
            .transpose()
    };
    let (since, until) = match (as_day(since), as_day(until)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return fail(&e),
    };
    let grouping: GroupBy = match serde_json::from_value(json!(group_by)) {
        Ok(g) => g,
        Err(e) => return super::usage_error(&format!("unknown grouping `{group_by}`: {e}")),
    };
    let q = UsageQuery {
        group_by: grouping,
        since,
        until,
        timezone,
        session_id: session,
    };
    let heading = match group_by {
        "daily" => "day",
        "monthly" => "month",
        other => other,
    };
    if let Some(url) = hq {
        return super::hq::usage(paths, &url, &q, as_json, heading);
    }
    let mut client = match connect(paths) {
        Ok(c) => c,
        Err(code) => return code,
    };
    // Rows come page by page (each fits a frame); the totals with each.
    let mut report: Option<UsageReport> = None;
    let mut offset = Some(0usize);
    while let Some(at) = offset {
        let page = match client.usage(&q, at) {
            Ok(r) => r,
            Err(e) => return client_error(e),
        };
        offset = page.next_offset;
        match &mut report {
            Some(r) => r.rows.extend(page.rows),
            None => {
                report = Some(UsageReport {
                    rows: page.rows,
                    totals: page.totals,
                    timezone: page.timezone,
                })
            }
        }
    }
    let Some(report) = report else {
        return ExitCode::SUCCESS;
    };
    if as_json {
        return print_json(&report);
    }
    out(&render_index::usage(&report, heading));
    ExitCode::SUCCESS
}

/// `agentd usage`'s arguments.
pub struct UsageOptions {
    /// `daily`, `monthly`, `session`, `project` or `model`.
    pub by: String,
    /// First day included (any form `when::day` takes).
    pub since: Option<String>,
    /// Last day included.
    pub until: Option<String>,
    /// IANA time zone days are cut in.
    pub timezone: Option<String>,
    /// Only this session.
    pub session: Option<String>,
    /// JSON out.
    pub json: bool,
    /// Every machine's, from this HQ.
    pub hq: Option<String>,
}

/// `agentd index [--wait] [--rescan] [--json]`.
pub fn index(paths: &Paths, wait: bool, rescan: bool, as_json: bool) -> ExitCode {
    let mut client = match connect(paths) {
        Ok(c) => c,
        Err(code) => return code,
    };
    if rescan && let Err(e) = client.index_rescan() {
        return client_error(e);
    }
    let tty = std::io::stderr().is_terminal();
    let mut waited = false;
    loop {
        // While waiting, progress only: counting rows would compete with
        // the indexing for the disk and the cores.
        let status = match client.index_status(!wait) {
            Ok(s) => serde_json::to_value(s).unwrap_or_default(),
            Err(e) => return client_error(e),
        };
        let state = status["state"].as_str().unwrap_or("").to_owned();
        let busy = state == "indexing" || (state == "scanning" && (waited || rescan));
        if wait && busy {
            let n = |k: &str| status[k].as_u64().unwrap_or(0);
            let line = render_index::progress(
                n("files_done"),
                n("files_total"),
                n("bytes_done"),
                n("bytes_total"),
                status["rate_bytes_per_s"].as_f64().unwrap_or(0.0),
            );
            if tty {
                eprint!("\r{line}");
                let _ = std::io::stderr().flush();
            }
            waited = true;
            std::thread::sleep(Duration::from_millis(200));
            continue;
        }
        if waited && tty {
            eprintln!();
        }
        // Done waiting: now the counts.
        let status: Value = if wait {
            match client.index_status(true) {
                Ok(s) => serde_json::to_value(s).unwrap_or_default(),
                Err(e) => return client_error(e),
            }
        } else {
            status
        };
        if as_json {
            return print_json(&status);
        }
        let c = &status["counts"];
        let n = |v: &Value| v.as_u64().unwrap_or(0);
        println!("state: {state}");
        for r in status["roots"].as_array().into_iter().flatten() {
            println!(
                "root: {}",
                agentd_core::text::one_line(r.as_str().unwrap_or(""))
            );
        }
        println!(
            "files: {} · sessions: {} · messages: {} · usage records: {} · {:.1} MB read",
            n(&c["files"]),
            n(&c["sessions"]),
            n(&c["messages"]),
            n(&c["usage_records"]),
            n(&c["bytes"]) as f64 / 1e6
        );
        println!(
            "lines: {} · not JSON: {} · over the size limit: {}",
            n(&c["lines"]),
            n(&c["bad_lines"]),
            n(&c["skipped_lines"])
        );
        if let Some(u) = c["unknown_types"].as_object().filter(|u| !u.is_empty()) {
            let list: Vec<String> = u.iter().map(|(k, v)| format!("{k} ×{}", n(v))).collect();
            println!(
                "unknown record types (counted, not indexed as messages): {}",
                agentd_core::text::one_line(&list.join(", "))
            );
        }
        for (key, what) in [
            ("skipped", "files not indexed"),
            ("nudges_ignored", "transcript paths from hooks ignored"),
        ] {
            if let Some(m) = status[key].as_object().filter(|m| !m.is_empty()) {
                let list: Vec<String> = m.iter().map(|(k, v)| format!("{k} ×{}", n(v))).collect();
                println!("{what}: {}", agentd_core::text::one_line(&list.join(", ")));
            }
        }
        if let Some(e) = status["last_error"].as_str() {
            println!(
                "errors: {} (last: {})",
                n(&status["errors"]),
                agentd_core::text::one_line(e)
            );
        }
        return ExitCode::SUCCESS;
    }
}

/// `agentd memory add …`: prints the document's id.
#[allow(clippy::too_many_arguments)] // one per command-line option
pub fn memory_add(
    paths: &Paths,
    title: String,
    source: Option<String>,
    tags: Vec<String>,
    project: Option<std::path::PathBuf>,
    session: Option<String>,
    text: &str,
    as_json: bool,
) -> ExitCode {
    let text = if text == "-" {
        use std::io::Read;
        let mut buf = String::new();
        let limit = agentd_proto::MAX_FRAME_BYTES as u64;
        if let Err(e) = std::io::stdin().take(limit).read_to_string(&mut buf) {
            return fail(&format!("cannot read the text from stdin: {e}"));
        }
        buf
    } else {
        text.to_owned()
    };
    let mut client = match connect(paths) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let d = agentd_proto::history::IndexDocumentParams {
        title,
        text,
        source,
        tags,
        project: project.map(|p| std::path::absolute(&p).unwrap_or(p).display().to_string()),
        session_id: session,
    };
    match client.index_document(&d) {
        Ok(doc) if as_json => print_json(&doc),
        Ok(doc) => {
            out(&format!("{}\n", agentd_core::text::one_line(&doc.id)));
            ExitCode::SUCCESS
        }
        Err(e) => client_error(e),
    }
}
