//! Claude Code sessions from Claude Code's own state files.
//!
//! Claude Code keeps one state file per running interactive session,
//! `<config dir>/sessions/<pid>.json` (2.1.x; undocumented, read as seen:
//! `{pid, sessionId, cwd, procStart, status: "busy"|"idle"|"waiting",
//! waitingFor, tmux: "<session>:@<window>.%<pane>", …}`). A file counts
//! only while its pid runs as `claude`, `claude.exe` or `node` with the same start
//! time, so a stale file of a reused pid is ignored. Reading is bounded:
//! at most [`MAX_FILES`] files of [`MAX_FILE_BYTES`] each.

use std::path::Path;

use agentd_core::{Agent, Status};
use serde_json::Value;

use super::{Found, GRACE_MS};

/// Most state files read per scan.
const MAX_FILES: usize = 1024;
/// Largest state file read, bytes.
const MAX_FILE_BYTES: u64 = 64 * 1024;

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
    // `claude` (2.1.330's launcher), `claude.exe` (2.1.332's native binary,
    // background sessions included), `node` (older npm installs).
    if !matches!(comm.trim(), "claude" | "claude.exe" | "node") {
        return false;
    }
    // An unreaped zombie runs no session; the start time tells a reused pid.
    crate::procfs::read_stat(proc, pid).is_some_and(|st| {
        !st.exited() && proc_start.is_none_or(|want| want == st.start_ticks.to_string())
    })
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
        // 2.1.332's native binary; a background session (`kind: bg`).
        std::fs::write(proc.join("42/comm"), "claude.exe\n").unwrap();
        std::fs::write(
            conf.join("sessions/42.json"),
            file("777").replace(
                "\"busy\"",
                "\"waiting\",\"waitingFor\":\"permission prompt\",\"kind\":\"bg\"",
            ),
        )
        .unwrap();
        let found = scan_claude(&conf, &proc, 9_000);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].status, Status::NeedsApproval);
        // Exited, not yet reaped: no session.
        std::fs::write(
            proc.join("42/stat"),
            "42 (claude) Z 1 42 42 0 -1 0 0 0 0 0 1 1 0 0 20 0 9 0 777 1 1",
        )
        .unwrap();
        assert!(scan_claude(&conf, &proc, 9_000).is_empty());
    }
}
