//! `agentd hooks ls|run|history`: the hook runner.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use agentd_client::client::Message;
use agentd_client::{Client, ClientError, Paths};
use agentd_core::text::{one_line, truncate};
use agentd_proto::api::{HooksExecuteParams, HooksHistoryParams};
use agentd_proto::{method, notification};
use serde_json::{Value, json};

use super::{client_error, fail, out, print_json};
use crate::cli::HooksRun;

fn connect(paths: &Paths) -> Result<Client, ExitCode> {
    super::connect(paths, Duration::from_secs(30))
}

fn cwd_or(dir: Option<PathBuf>) -> Option<String> {
    dir.or_else(|| std::env::current_dir().ok())
        .and_then(|d| d.canonicalize().ok())
        .map(|d| d.display().to_string())
}

/// `agentd hooks ls [--cwd DIR] [--json]`.
pub fn ls(paths: &Paths, cwd: Option<PathBuf>, as_json: bool) -> ExitCode {
    let mut c = match connect(paths) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let listed = match c.hooks(cwd_or(cwd)) {
        Ok(v) => v,
        Err(e) => return client_error(e),
    };
    if as_json {
        return print_json(&listed);
    }
    let hooks = &listed.hooks;
    if hooks.is_empty() {
        out("no hooks defined ([[hooks]] in agentd.toml or .agentd/hooks.toml)\n");
    }
    for h in hooks {
        let s = |k: &str| one_line(h[k].as_str().unwrap_or(""));
        let events: Vec<String> = h["events"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e.as_str().map(one_line))
            .collect();
        let run = match h["args"].as_array() {
            Some(a) => a
                .iter()
                .filter_map(Value::as_str)
                .map(one_line)
                .collect::<Vec<_>>()
                .join(" "),
            None => s("command"),
        };
        let matcher = h["matcher"]
            .as_str()
            .map(|m| format!(" [{}]", one_line(m)))
            .unwrap_or_default();
        out(&format!(
            "{:<20} {}{} · {} · timeout {} s{}\n    {}\n",
            truncate(&s("name"), 20),
            events.join(","),
            matcher,
            one_line(&format!(
                "{} {}",
                h["origin"]["kind"].as_str().unwrap_or(""),
                h["origin"]["file"].as_str().unwrap_or("")
            )),
            h["timeout"],
            match (h["blocking"] == false, h["active"] == false) {
                (_, true) =>
                    " · inactive: Claude Code runs it ([runner] plugins = true runs it here)",
                (true, _) => " · non-blocking",
                _ => "",
            },
            truncate(&run, 200)
        ));
    }
    for e in &listed.errors {
        eprintln!("agentd: {}", one_line(e));
    }
    if listed.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// `agentd hooks run <Event> …`: live output, then a summary; exits 2 when
/// a blocking hook failed (as Claude Code reads a blocking hook).
pub fn run(paths: &Paths, o: HooksRun) -> ExitCode {
    let mut c = match connect(paths) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let dir = o
        .dir
        .map(|d| d.canonicalize().unwrap_or(d).display().to_string());
    let params = HooksExecuteParams {
        event: o.event,
        payload: None,
        session_id: o.session,
        cwd: cwd_or(o.cwd),
        dir,
        hooks: o.hooks,
        no_cache: o.no_cache,
    };
    let sent = c.send(method::HOOKS_EXECUTE, params);
    let id = match sent {
        Ok(id) => id,
        Err(e) => return client_error(e),
    };
    if let Err(e) = c.set_read_timeout(None) {
        return client_error(e);
    }
    let result = loop {
        match c.read_message() {
            Ok(Message::Notification(m, p)) if m == notification::HOOK_OUTPUT => {
                if !o.json {
                    let tag = if p["stream"] == "stderr" { "!" } else { "|" };
                    out(&format!(
                        "{} {} {}\n",
                        one_line(p["hook"].as_str().unwrap_or("")),
                        tag,
                        one_line(p["line"].as_str().unwrap_or(""))
                    ));
                }
            }
            Ok(Message::Response(r)) if r.id == json!(id) => match (r.error, r.result) {
                (Some(e), _) => return client_error(ClientError::Rpc(e)),
                (None, Some(v)) => break v,
                (None, None) => return fail("empty response"),
            },
            Ok(_) => {}
            Err(e) => return client_error(e),
        }
    };
    if o.json {
        print_json(&result);
    } else {
        out(&summary(&result));
    }
    if result["blocked"] == true {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}

fn summary(v: &Value) -> String {
    let mut s = String::new();
    let runs = v["runs"].as_array().cloned().unwrap_or_default();
    if runs.is_empty() {
        s.push_str("no hook applies to this event here\n");
    }
    for r in &runs {
        let status = match (r["outcome"].as_str(), r["passed"].as_bool()) {
            (Some("cached"), _) => "cached",
            (Some("skipped"), _) => "skipped",
            (_, Some(true)) => "passed",
            _ => "FAILED",
        };
        let ms = r["ended_ms"].as_i64().unwrap_or(0) - r["started_ms"].as_i64().unwrap_or(0);
        s.push_str(&format!(
            "{:<7} {:<20} {} ({} ms) — {}\n",
            status,
            truncate(&one_line(r["hook"].as_str().unwrap_or("")), 20),
            one_line(r["dir"].as_str().unwrap_or("")),
            ms,
            one_line(r["why"].as_str().unwrap_or(""))
        ));
    }
    s
}

/// `agentd hooks history [--limit N] [--session ID] [--json]`.
pub fn history(paths: &Paths, limit: usize, session: Option<String>, as_json: bool) -> ExitCode {
    let mut c = match connect(paths) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let runs = match c.hook_runs(&HooksHistoryParams {
        limit: Some(limit),
        session_id: session,
    }) {
        Ok(v) => v,
        Err(e) => return client_error(e),
    };
    if as_json {
        return print_json(&runs);
    }
    out(&history_table(&runs));
    ExitCode::SUCCESS
}

/// `hooks history` as a table: when, session, hook, exit code, outcome.
fn history_table(runs: &[Value]) -> String {
    if runs.is_empty() {
        return "no runs yet\n".to_owned();
    }
    let mut s = format!(
        "{:<19}  {:<8}  {:<20}  {:>4}  {:<15}  {}\n",
        "STARTED", "SESSION", "HOOK", "EXIT", "OUTCOME", "WHY"
    );
    for r in runs {
        let started = r["started_ms"]
            .as_i64()
            .and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok())
            .map(|t| {
                t.to_zoned(jiff::tz::TimeZone::system())
                    .strftime("%Y-%m-%d %H:%M:%S")
                    .to_string()
            })
            .unwrap_or_else(|| "-".to_owned());
        let outcome = match (r["outcome"].as_str(), r["passed"].as_bool()) {
            (Some(o @ ("cached" | "skipped" | "timed_out" | "failed_to_start")), _) => o.to_owned(),
            (_, Some(true)) => "passed".to_owned(),
            _ => "FAILED".to_owned(),
        };
        s.push_str(&format!(
            "{:<19}  {:<8}  {:<20}  {:>4}  {:<15}  {}\n",
            started,
            truncate(&one_line(r["session_id"].as_str().unwrap_or("-")), 8),
            truncate(&one_line(r["hook"].as_str().unwrap_or("")), 20),
            r["exit_code"]
                .as_i64()
                .map_or("-".to_owned(), |c| c.to_string()),
            outcome,
            truncate(&one_line(r["why"].as_str().unwrap_or("")), 60)
        ));
    }
    s
}
