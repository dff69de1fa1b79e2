//! `approvals`, `approve`, `deny`, `answer`, `rules test`, and steering
//! launched sessions: `launch`, `send`, `interrupt`, `kill`.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use agentd_claude::rules;
use agentd_client::client::Message;
use agentd_client::{Client, Config, Paths};
use agentd_core::Decision;
use agentd_proto::api::{
    ApprovalView, ApprovalsListParams, DecideParams, LaunchParams, SendParams, SlotRequest,
    SlotsAcquireParams, SubscribeParams,
};
use serde_json::Value;

use super::{client_error, config, fail};
use crate::render;

fn connect(paths: &Paths) -> Result<Client, ExitCode> {
    super::connect(paths, Duration::from_secs(10))
}

/// Who decides from this CLI: `user@host`, as `ssh` and `git` name people.
/// The user is `$USER` (else `$LOGNAME`, else the passwd entry of our uid,
/// else `uid<N>`): never "unknown".
pub fn me() -> String {
    let uid = rustix::process::getuid().as_raw();
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .ok()
        .filter(|u| !u.is_empty())
        .or_else(|| passwd_name(uid))
        .unwrap_or_else(|| format!("uid{uid}"));
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let host = host.trim().split('.').next().unwrap_or_default();
    if host.is_empty() {
        user
    } else {
        format!("{user}@{host}")
    }
}

/// The login name of `uid` from `/etc/passwd`.
fn passwd_name(uid: u32) -> Option<String> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let mut f = l.split(':');
        let name = f.next()?;
        (f.nth(1)?.parse::<u32>().ok()? == uid).then(|| name.to_owned())
    })
}

fn fetch(client: &mut Client, all: bool) -> Result<Vec<ApprovalView>, ExitCode> {
    client
        .approvals(&ApprovalsListParams {
            all,
            ..ApprovalsListParams::default()
        })
        .map_err(client_error)
}

/// `agentd approvals [--json] [--all] [--watch]`.
pub fn list(paths: &Paths, json: bool, all: bool, watch: bool) -> ExitCode {
    let mut client = match connect(paths) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let print = |list: &[ApprovalView]| {
        if json {
            println!(
                "{}",
                agentd_core::text::json_for_terminal(
                    &serde_json::to_string_pretty(list).unwrap_or_default()
                )
            );
        } else if list.is_empty() {
            println!("no {}approvals", if all { "" } else { "pending " });
        } else {
            print!(
                "{}",
                render::approvals_table(list, jiff::Timestamp::now().as_millisecond())
            );
        }
        let _ = std::io::stdout().flush();
    };
    match fetch(&mut client, all) {
        Ok(list) => print(&list),
        Err(code) => return code,
    }
    if !watch {
        return ExitCode::SUCCESS;
    }
    // Re-list whenever an approval is requested or resolved.
    let mut events = match connect(paths) {
        Ok(c) => c,
        Err(code) => return code,
    };
    if let Err(e) = events.subscribe(&SubscribeParams {
        kinds: Some(vec![
            "approval.requested".to_owned(),
            "approval.resolved".to_owned(),
        ]),
        ..SubscribeParams::default()
    }) {
        return client_error(e);
    }
    if let Err(e) = events.set_read_timeout(None) {
        return client_error(e);
    }
    loop {
        match events.read_message() {
            Ok(Message::Notification(..)) => match fetch(&mut client, all) {
                Ok(list) => {
                    if !json {
                        print!("\x1b[2J\x1b[H");
                    }
                    print(&list);
                }
                Err(code) => return code,
            },
            Ok(_) => {}
            Err(e) => return client_error(e),
        }
    }
}

fn decide(paths: &Paths, params: DecideParams, hq: Option<&str>) -> ExitCode {
    if let Some(url) = hq {
        return super::hq::decide(paths, url, params);
    }
    let mut client = match connect(paths) {
        Ok(c) => c,
        Err(code) => return code,
    };
    match client.decide(&params) {
        Ok(a) => {
            println!(
                "{} {} ({} {})",
                a.approval.id,
                a.approval.status.as_str().replace('_', " "),
                agentd_core::text::one_line(&a.approval.tool_name),
                render::input_summary(&a.approval.tool_name, &a.approval.tool_input, 60)
            );
            ExitCode::SUCCESS
        }
        Err(e) => client_error(e),
    }
}

/// `agentd approve <id> [--input JSON] [--always]`.
pub fn approve(
    paths: &Paths,
    id: &str,
    input: Option<&str>,
    always: bool,
    reason: Option<String>,
    hq: Option<&str>,
) -> ExitCode {
    let updated_input = match input.map(serde_json::from_str::<Value>) {
        None => None,
        Some(Ok(v)) if v.is_object() => Some(v),
        Some(Ok(_)) => return fail("--input must be a JSON object, e.g. '{\"command\": \"ls\"}'"),
        Some(Err(e)) => return fail(&format!("--input is not JSON: {e}")),
    };
    let decision = Decision::Allow {
        updated_input,
        updated_permissions: None,
    };
    decide(
        paths,
        DecideParams {
            id: id.to_owned(),
            decision,
            apply_suggestions: always,
            by: Some(me()),
            reason,
        },
        hq,
    )
}

/// `agentd deny <id> [--message TEXT]`.
pub fn deny(
    paths: &Paths,
    id: &str,
    message: Option<String>,
    reason: Option<String>,
    hq: Option<&str>,
) -> ExitCode {
    let decision = Decision::Deny { message };
    decide(
        paths,
        DecideParams {
            id: id.to_owned(),
            decision,
            apply_suggestions: false,
            by: Some(me()),
            reason,
        },
        hq,
    )
}

/// `agentd answer <id> <text>`.
pub fn answer(paths: &Paths, id: &str, text: &str) -> ExitCode {
    let decision = Decision::Answer {
        text: text.to_owned(),
    };
    decide(
        paths,
        DecideParams {
            id: id.to_owned(),
            decision,
            apply_suggestions: false,
            by: Some(me()),
            reason: None,
        },
        None,
    )
}

/// `agentd rules test <tool> <input> [--cwd DIR]`: no daemon needed.
pub fn rules_test(paths: &Paths, tool: &str, input: &str, cwd: Option<&Path>) -> ExitCode {
    let config: Config = match config(paths) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let input: Value = match serde_json::from_str(input) {
        Ok(v) => v,
        Err(e) => return fail(&format!("the tool input is not JSON: {e}")),
    };
    let cwd = cwd
        .map(Path::to_path_buf)
        .or_else(|| std::env::current_dir().ok())
        .map(|p| p.display().to_string());
    let home = std::env::var("HOME").ok();
    let call = rules::Call {
        tool,
        input: &input,
        cwd: cwd.as_deref(),
        home: home.as_deref(),
    };
    println!("{} rules in {}", config.rules.len(), paths.config.display());
    match rules::evaluate(&config.rules, &call) {
        Some(v) => {
            let action = serde_json::to_value(v.rule.action).unwrap_or_default();
            println!(
                "{}: rule #{} `{}` ({})",
                action.as_str().unwrap_or("?"),
                v.index + 1,
                v.rule.rule,
                v.why
            );
            if let Some(p) = &v.rule.project {
                println!("  (project rule for {p})");
            }
        }
        None => println!("no rule matches"),
    }
    // Plugins live in the daemon: ask it for the whole judgement.
    let Ok(mut client) =
        agentd_client::Client::connect(&paths.socket, std::time::Duration::from_secs(10))
    else {
        println!("plugins not asked: the daemon is not running (`agentd start`)");
        return ExitCode::SUCCESS;
    };
    let p = agentd_proto::api::RulesTestParams {
        tool: tool.to_owned(),
        input,
        cwd,
    };
    match client.rules_test(&p) {
        Ok(r) => {
            for v in &r.plugins {
                let detail = v
                    .failure
                    .as_deref()
                    .map(|f| format!(" (failed: {f})"))
                    .or_else(|| v.message.as_deref().map(|m| format!(": {m}")))
                    .unwrap_or_default();
                println!(
                    "plugin {}: {}{}",
                    agentd_core::text::one_line(&v.plugin),
                    v.decision,
                    agentd_core::text::one_line(&detail)
                );
            }
            println!(
                "decision: {} — {}",
                r.decision,
                agentd_core::text::one_line(&r.why)
            );
            ExitCode::SUCCESS
        }
        Err(e) => client_error(e),
    }
}

/// `agentd launch …`: prints the new session's id.
pub fn launch(
    paths: &Paths,
    cwd: Option<std::path::PathBuf>,
    model: Option<String>,
    permission_mode: Option<String>,
    name: Option<String>,
    prompt: String,
) -> ExitCode {
    let cwd = cwd
        .or_else(|| std::env::current_dir().ok())
        .map(|p| std::path::absolute(&p).unwrap_or(p).display().to_string());
    let params = LaunchParams {
        cwd,
        model,
        permission_mode,
        name,
        prompt,
    };
    let mut client = match Client::connect(&paths.socket, Duration::from_secs(90)) {
        Ok(c) => c,
        Err(e) => return client_error(e),
    };
    match client.launch(&params) {
        Ok(l) => {
            println!("{}", l.session_id);
            ExitCode::SUCCESS
        }
        Err(e) => client_error(e),
    }
}

/// What `send`, `interrupt` and `kill` ask of a launched session.
pub enum Steer {
    /// `agentd send <session> <message>`.
    Send {
        /// Session id or prefix.
        session: String,
        /// The message.
        message: String,
    },
    /// `agentd interrupt <session>`.
    Interrupt {
        /// Session id or prefix.
        session: String,
    },
    /// `agentd kill <session>`.
    Kill {
        /// Session id or prefix.
        session: String,
    },
}

/// `agentd send|interrupt|kill <session> …`: one plain line saying what
/// happened (the daemon's answer as JSON with `json`).
pub fn steer(paths: &Paths, what: Steer, json: bool, hq: Option<String>) -> ExitCode {
    if let Some(url) = hq {
        return super::hq::steer(paths, &url, what, json);
    }
    let mut client = match Client::connect(&paths.socket, Duration::from_secs(90)) {
        Ok(c) => c,
        Err(e) => return client_error(e),
    };
    let one = |id: &str| agentd_core::text::one_line(id);
    let done = match what {
        Steer::Send { session, message } => client
            .send_message(&SendParams {
                id: session,
                message,
            })
            .map(|l| {
                let line = format!(
                    "{}: message sent (run {}, pid {})",
                    one(&l.session_id),
                    one(&l.run_id),
                    l.pid
                );
                (serde_json::to_value(l), line)
            }),
        Steer::Interrupt { session } => client.interrupt(&session).map(|i| {
            let line = format!("{}: interrupted", one(&i.session_id));
            (serde_json::to_value(i), line)
        }),
        Steer::Kill { session } => client.kill(&session).map(|k| {
            let line = format!("{}: stopped ({})", one(&k.session_id), one(&k.ended_by));
            (serde_json::to_value(k), line)
        }),
    };
    match done {
        Ok((v, _)) if json => super::print_json(&v.unwrap_or_default()),
        Ok((_, line)) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => client_error(e),
    }
}

/// `agentd slots [--json]`.
pub fn slots(paths: &Paths, json: bool) -> ExitCode {
    let mut client = match connect(paths) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let list = match client.slots() {
        Ok(l) => l,
        Err(e) => return client_error(e),
    };
    if json {
        return super::print_json(&list);
    }
    if list.is_empty() {
        println!("no slot is held");
        return ExitCode::SUCCESS;
    }
    println!(
        "{:<10} {:<24} {:<10} {:<8} PROJECT",
        "ID", "HOLDER", "SESSION", "TTL"
    );
    let now = jiff::Timestamp::now().as_millisecond();
    for s in list {
        let ttl = s
            .expires_ms
            .map_or("-".to_owned(), |e| format!("{}s", (e - now).max(0) / 1000));
        println!(
            "{:<10} {:<24} {:<10} {:<8} {}",
            agentd_core::text::one_line(&s.id),
            agentd_core::text::truncate(&agentd_core::text::one_line(&s.holder), 24),
            s.session_id
                .as_deref()
                .map(|id| id.chars().take(8).collect::<String>())
                .unwrap_or_else(|| "-".to_owned()),
            ttl,
            agentd_core::text::one_line(s.project.as_deref().unwrap_or("-"))
        );
    }
    ExitCode::SUCCESS
}

/// `agentd slots acquire …`: prints the slot id.
pub fn acquire_slot(
    paths: &Paths,
    holder: Option<String>,
    session: Option<String>,
    project: Option<std::path::PathBuf>,
    ttl: Option<u64>,
    wait: u64,
    json: bool,
) -> ExitCode {
    let wait = wait.min(600);
    let mut client = match Client::connect(&paths.socket, Duration::from_secs(wait + 30)) {
        Ok(c) => c,
        Err(e) => return client_error(e),
    };
    let p = SlotsAcquireParams {
        request: SlotRequest {
            holder: holder.unwrap_or_else(me),
            session_id: session,
            project: project.map(|p| std::path::absolute(&p).unwrap_or(p).display().to_string()),
            ttl_s: ttl,
        },
        wait_ms: wait * 1000,
    };
    match client.acquire_slot(&p) {
        Ok(s) if json => super::print_json(&s),
        Ok(s) => {
            println!("{}", agentd_core::text::one_line(&s.id));
            ExitCode::SUCCESS
        }
        Err(e) => client_error(e),
    }
}

/// `agentd slots release <id>`.
pub fn release_slot(paths: &Paths, id: &str) -> ExitCode {
    let mut client = match connect(paths) {
        Ok(c) => c,
        Err(code) => return code,
    };
    match client.release_slot(id) {
        Ok(s) => {
            println!("{} released", agentd_core::text::one_line(&s.id));
            ExitCode::SUCCESS
        }
        Err(e) => client_error(e),
    }
}
