//! Sessions that never reported: agents running without agentd's hooks
//! (not installed, or started before agentd), found every [`INTERVAL`]
//! and listed with `discovered: true` and the status their own state
//! says. The first hook event of such a session takes it over (same
//! session id, no duplicate).
//!
//! Claude Code keeps one state file per running interactive session,
//! `<config dir>/sessions/<pid>.json` (2.1.x; undocumented, read as seen:
//! `{pid, sessionId, cwd, procStart, status: "busy"|"idle"|"waiting",
//! waitingFor, tmux: "<session>:@<window>.%<pane>", …}`). A file counts
//! only while its pid runs as `claude` (or `node`) with the same start
//! time, so a stale file of a reused pid is ignored. Reading is bounded:
//! at most [`MAX_FILES`] files of [`MAX_FILE_BYTES`] each.
//!
//! Not yet: Codex CLI and Gemini CLI sessions without hooks (their
//! processes keep no state file naming the session).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use agentd_claude::hook::HookEnv;
use agentd_core::{Agent, EventContext, EventKind, LifecycleEvent, Status};
use serde_json::{Value, json};

use crate::ingest::{self, Source};

/// How often agents are looked for.
pub const INTERVAL: Duration = Duration::from_secs(5);
/// Most state files read per scan.
const MAX_FILES: usize = 1024;
/// Largest state file read, bytes.
const MAX_FILE_BYTES: u64 = 64 * 1024;
/// A session younger than this is left to its hooks: a hooked agent has
/// reported by then (its SessionStart runs at start-up), and discovering it
/// first would only race them.
const GRACE_MS: i64 = 3000;

/// A running agent found.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    /// The agent's session id.
    pub session_id: String,
    /// Which agent.
    pub agent: Agent,
    /// Its process.
    pub pid: u32,
    /// Its working directory.
    pub cwd: Option<String>,
    /// The status its state says.
    pub status: Status,
    /// The tmux pane it runs in (`%3`).
    pub tmux_pane: Option<String>,
    /// Its transcript, when the file is where the agent keeps it.
    pub transcript_path: Option<String>,
}

/// Claude Code's own `status` / `waitingFor` → agentd's status.
pub fn claude_status(status: &str, waiting_for: Option<&str>) -> Status {
    match status {
        "busy" | "working" | "running" | "responding" => Status::Working,
        "waiting" if waiting_for.is_some_and(|w| w.contains("permission")) => Status::NeedsApproval,
        "waiting" => Status::NeedsInput,
        _ => Status::Idle,
    }
}

/// One Claude Code state file's contents → what it says, if it names a
/// session.
pub fn parse_claude_state(text: &str) -> Option<(u32, Found, Option<String>, Option<i64>)> {
    let v: Value = serde_json::from_str(text).ok()?;
    let s = |k: &str| v.get(k).and_then(Value::as_str).filter(|x| !x.is_empty());
    let pid = u32::try_from(v.get("pid")?.as_u64()?).ok()?;
    let session_id = s("sessionId")?.to_owned();
    // Session ids name files and go into URLs: only the UUID alphabet.
    if session_id.len() > 128
        || !session_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return None;
    }
    let found = Found {
        session_id,
        agent: Agent::Claude,
        pid,
        cwd: s("cwd").map(str::to_owned),
        status: claude_status(s("status").unwrap_or("idle"), s("waitingFor")),
        tmux_pane: s("tmux")
            .and_then(|t| t.rsplit_once('.'))
            .map(|(_, pane)| pane.to_owned())
            .filter(|p| p.starts_with('%')),
        transcript_path: None,
    };
    Some((
        pid,
        found,
        s("procStart").map(str::to_owned),
        v.get("startedAt").and_then(Value::as_i64),
    ))
}

/// Whether `pid` runs as Claude Code, started at `proc_start` (clock
/// ticks after boot, `/proc/<pid>/stat` field 22) when given.
fn is_claude(proc: &Path, pid: u32, proc_start: Option<&str>) -> bool {
    let dir = proc.join(pid.to_string());
    let Ok(comm) = agentd_fs::read_to_string(&dir.join("comm"), 256) else {
        return false;
    };
    if !matches!(comm.trim(), "claude" | "node") {
        return false;
    }
    let Some(want) = proc_start else {
        return true;
    };
    let Ok(stat) = agentd_fs::read_to_string(&dir.join("stat"), 4096) else {
        return false;
    };
    let Some(close) = stat.rfind(')') else {
        return false;
    };
    // Field 22 is the 20th after the comm's closing parenthesis.
    stat[close + 1..].split_whitespace().nth(19) == Some(want)
}

/// `~/.claude/projects/<cwd with every non-alphanumeric as '-'>/<id>.jsonl`.
fn claude_transcript(config_dir: &Path, cwd: &str, id: &str) -> Option<String> {
    let folder: String = cwd
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let path = config_dir
        .join("projects")
        .join(folder)
        .join(format!("{id}.jsonl"));
    std::fs::symlink_metadata(&path)
        .is_ok_and(|m| m.is_file())
        .then(|| path.to_string_lossy().into_owned())
}

/// The running Claude Code sessions `<config_dir>/sessions/` names that
/// started at least [`GRACE_MS`] before `now_ms`. Blocking: reads files
/// and `/proc`.
pub fn scan_claude(config_dir: &Path, proc: &Path, now_ms: i64) -> Vec<Found> {
    let Ok(entries) = std::fs::read_dir(config_dir.join("sessions")) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in entries.flatten().take(MAX_FILES) {
        let path = e.path();
        if path.extension().is_none_or(|x| x != "json") {
            continue;
        }
        // Regular files only, bounded (agentd_fs refuses FIFOs and devices).
        let Ok(text) = agentd_fs::read_to_string(&path, MAX_FILE_BYTES) else {
            continue;
        };
        let Some((pid, mut found, start, started_ms)) = parse_claude_state(&text) else {
            continue;
        };
        if started_ms.is_some_and(|t| now_ms - t < GRACE_MS) {
            continue;
        }
        if !is_claude(proc, pid, start.as_deref()) {
            continue;
        }
        found.transcript_path = found
            .cwd
            .as_deref()
            .and_then(|cwd| claude_transcript(config_dir, cwd, &found.session_id));
        out.push(found);
    }
    out
}

/// The lifecycle event of a stored `SessionDiscovered` payload.
///
/// # Errors
/// A payload without a known status.
pub fn to_event(session_id: String, payload: &Value, ts_ms: i64) -> Result<LifecycleEvent, String> {
    let status: Status = serde_json::from_value(payload.get("status").cloned().unwrap_or_default())
        .map_err(|e| format!("bad discovered status: {e}"))?;
    let s = |k: &str| payload.get(k).and_then(Value::as_str).map(str::to_owned);
    Ok(LifecycleEvent {
        session_id,
        ts_ms,
        kind: EventKind::Discovered { status },
        context: EventContext {
            cwd: s("cwd"),
            transcript_path: s("transcript_path"),
            tmux_pane: s("tmux_pane"),
            pid: payload
                .get("pid")
                .and_then(Value::as_u64)
                .and_then(|p| u32::try_from(p).ok()),
            ..EventContext::default()
        },
    })
}

/// Whether `found` says something the registry does not know yet: a
/// session it lacks (or has ended), or a discovered one whose status moved.
/// A session that reports through hooks is left to them.
fn news(registry: &agentd_core::Registry, found: &Found) -> bool {
    match registry.get(&found.session_id) {
        None => true,
        Some(s) if s.status == Status::Ended => s.pid != Some(found.pid) || s.discovered,
        Some(s) => s.discovered && (s.status != found.status || s.pid != Some(found.pid)),
    }
}

/// Scans every [`INTERVAL`] until `stop`, recording what is new.
pub async fn run(shared: Arc<crate::state::Shared>, stop: tokio_util::sync::CancellationToken) {
    let Some(config_dir) = agentd_client::claude_config_dir() else {
        return;
    };
    let mut every = tokio::time::interval(INTERVAL);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = every.tick() => {}
        }
        let dir = config_dir.clone();
        let Ok(found) = tokio::task::spawn_blocking(move || {
            scan_claude(&dir, Path::new("/proc"), crate::now_ms())
        })
        .await
        else {
            continue;
        };
        let fresh: Vec<Found> = match shared.registry.read() {
            Ok(r) => found.into_iter().filter(|f| news(&r, f)).collect(),
            Err(_) => continue,
        };
        for f in fresh {
            let payload = json!({
                "name": "SessionDiscovered",
                "session_id": f.session_id,
                "agent": f.agent,
                "pid": f.pid,
                "cwd": f.cwd,
                "status": f.status,
                "tmux_pane": f.tmux_pane,
                "transcript_path": f.transcript_path,
            });
            let env = HookEnv {
                agent: (f.agent != Agent::Claude).then_some(f.agent),
                ..HookEnv::default()
            };
            match ingest::prepare(Source::Daemon, &payload, env) {
                Ok(p) => {
                    if let Err(e) = ingest::submit(&shared, p).await {
                        tracing::warn!(session = f.session_id, error = %e, "could not record a discovered session");
                    }
                }
                Err(e) => {
                    tracing::warn!(session = f.session_id, error = %e, "bad discovered session")
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claude_state_files_say_session_status_and_pane() {
        let text = r#"{"pid":27908,"sessionId":"fa08bdbd-1e0f-4b31-9609-a85412378fd4","cwd":"/tmp/p",
            "procStart":"7650216","status":"waiting","waitingFor":"permission prompt","tmux":"e2e:@0.%0"}"#;
        let (pid, f, start, _) = parse_claude_state(text).unwrap();
        assert_eq!((pid, start.as_deref()), (27908, Some("7650216")));
        assert_eq!(f.session_id, "fa08bdbd-1e0f-4b31-9609-a85412378fd4");
        assert_eq!(f.status, Status::NeedsApproval);
        assert_eq!(f.tmux_pane.as_deref(), Some("%0"));
        assert_eq!(claude_status("busy", None), Status::Working);
        assert_eq!(claude_status("idle", None), Status::Idle);
        assert_eq!(
            claude_status("waiting", Some("your input")),
            Status::NeedsInput
        );
        assert!(parse_claude_state(r#"{"pid":1,"sessionId":"../../etc"}"#).is_none());
        assert!(parse_claude_state(r#"{"sessionId":"a"}"#).is_none());
        assert!(parse_claude_state("not json").is_none());
    }

    #[test]
    fn a_stale_file_of_a_reused_pid_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let (conf, proc) = (dir.path().join("c"), dir.path().join("proc"));
        std::fs::create_dir_all(conf.join("sessions")).unwrap();
        std::fs::create_dir_all(proc.join("42")).unwrap();
        std::fs::write(proc.join("42/comm"), "claude\n").unwrap();
        std::fs::write(
            proc.join("42/stat"),
            "42 (claude) S 1 42 42 0 -1 0 0 0 0 0 1 1 0 0 20 0 9 0 777 1 1",
        )
        .unwrap();
        let file = |start: &str| {
            format!(
                r#"{{"pid":42,"sessionId":"s-1","cwd":"/w","procStart":"{start}","status":"busy","startedAt":1000}}"#
            )
        };
        std::fs::write(conf.join("sessions/42.json"), file("777")).unwrap();
        let found = scan_claude(&conf, &proc, 9_000);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].status, Status::Working);
        // Too young: left to its hooks.
        assert!(scan_claude(&conf, &proc, 2_000).is_empty());
        std::fs::write(conf.join("sessions/42.json"), file("778")).unwrap();
        assert!(scan_claude(&conf, &proc, 9_000).is_empty());
        std::fs::write(proc.join("42/comm"), "bash\n").unwrap();
        std::fs::write(conf.join("sessions/42.json"), file("777")).unwrap();
        assert!(scan_claude(&conf, &proc, 9_000).is_empty());
    }
}
