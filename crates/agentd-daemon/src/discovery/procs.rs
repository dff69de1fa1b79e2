//! Codex CLI and Gemini CLI sessions found among the user's processes.
//!
//! Neither CLI keeps a state file naming its session, nor holds its
//! transcript open (seen on Codex 0.171 and Gemini 0.61). So every process
//! of this user that is Codex's native binary (`comm` `codex`; its npm shim
//! is a `node` parent and is skipped) or a `node` running Gemini CLI's
//! script (`…/gemini`, `…/gemini-cli/…`; the child it relaunches itself
//! into is folded into the parent) is one running session, and its
//! transcript is the newest one for its working directory written since
//! the process started:
//! - Codex: `$CODEX_HOME/sessions/YYYY/MM/DD/rollout-*.jsonl` (the
//!   [`DAY_FOLDERS`] newest day folders) whose first record, `session_meta`,
//!   names that `cwd`; the session id is that record's `id` — the id
//!   Codex's hooks carry, so hooks take the session over.
//! - Gemini: `<gemini dir>/tmp/<project>/chats/session-*.jsonl` in the
//!   project folder whose `.project_root` holds that cwd; the id is the
//!   header's `sessionId`.
//!
//! Homes come from the process's own environment (`CODEX_HOME`, `HOME`,
//! `GEMINI_CLI_HOME`), so a session run with another home is found too.
//! The status is read from the transcript's last [`TAIL_BYTES`]. A process
//! whose transcript is not written yet is looked at again next scan. Every
//! read is bounded (regular files only, through `agentd_fs`).

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use agentd_core::{Agent, Status};
use serde_json::Value;

use super::{Found, GRACE_MS};

/// Most `/proc` entries looked at per scan.
const MAX_PROCS: usize = 65_536;
/// Largest `/proc/<pid>/cmdline` read, bytes.
const MAX_CMDLINE: u64 = 16 * 1024;
/// Largest `/proc/<pid>/environ` read, bytes.
const MAX_ENVIRON: u64 = 256 * 1024;
/// Day folders of Codex's `sessions/` looked in, newest first.
const DAY_FOLDERS: usize = 3;
/// Most transcripts whose first line is read per process.
const MAX_CANDIDATES: usize = 64;
/// Longest first line read (Codex's `session_meta` carries the whole
/// system prompt), bytes.
const MAX_HEAD: u64 = 1024 * 1024;
/// How much of a transcript's end is read for its status, bytes.
const TAIL_BYTES: u64 = 64 * 1024;
/// A transcript may be created a little before its process is counted as
/// started (clock ticks round down): slack, ms.
const START_SLACK_MS: i64 = 2000;

/// A running agent process.
#[derive(Debug, Clone, PartialEq)]
struct AgentProc {
    pid: u32,
    ppid: u32,
    agent: Agent,
    start_ms: i64,
    cwd: String,
    /// Its `HOME`, `CODEX_HOME` and `GEMINI_CLI_HOME`.
    env: HashMap<String, String>,
}

/// Which agent a process with `comm` and `cmdline` runs, if one agentd
/// discovers this way.
fn agent_of(comm: &str, cmdline: impl FnOnce() -> Vec<String>) -> Option<Agent> {
    match comm {
        "codex" => Some(Agent::Codex),
        "node" => is_gemini(&cmdline()).then_some(Agent::Gemini),
        _ => None,
    }
}

/// Whether a `node` command line runs Gemini CLI: its script (the first
/// argument after node's own options) is `…/gemini` or inside a
/// `gemini-cli` package.
fn is_gemini(cmdline: &[String]) -> bool {
    cmdline
        .iter()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .is_some_and(|script| {
            Path::new(script)
                .file_name()
                .is_some_and(|n| n == "gemini" || n == "gemini.js")
                || script.contains("/gemini-cli/")
        })
}

/// The variables discovery needs from a NUL-separated environment.
fn env_vars(environ: &[u8]) -> HashMap<String, String> {
    environ
        .split(|b| *b == 0)
        .filter_map(|kv| std::str::from_utf8(kv).ok()?.split_once('='))
        .filter(|(k, _)| matches!(*k, "HOME" | "CODEX_HOME" | "GEMINI_CLI_HOME"))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// Boot time, ms since the Unix epoch (`btime` of `/proc/stat`).
fn boot_ms(proc: &Path) -> Option<i64> {
    let text = agentd_fs::read_to_string(&proc.join("stat"), 1024 * 1024).ok()?;
    let secs: i64 = text
        .lines()
        .find_map(|l| l.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()?;
    Some(secs * 1000)
}

/// This user's agent processes under `proc`, each at least [`GRACE_MS`]
/// old at `now_ms`; a Gemini CLI relaunched into a child is its parent.
fn agent_procs(proc: &Path, now_ms: i64) -> Vec<AgentProc> {
    // SAFETY: geteuid and sysconf only read process and system constants.
    let (uid, tick_hz) = unsafe { (libc::geteuid(), libc::sysconf(libc::_SC_CLK_TCK)) };
    let tick_hz = u64::try_from(tick_hz).unwrap_or(100).max(1);
    let Some(boot) = boot_ms(proc) else {
        return Vec::new();
    };
    let Ok(entries) = std::fs::read_dir(proc) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in entries.flatten().take(MAX_PROCS) {
        let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let dir = e.path();
        if std::fs::symlink_metadata(&dir).map_or(true, |m| m.uid() != uid) {
            continue;
        }
        let Ok(comm) = agentd_fs::read_to_string(&dir.join("comm"), 256) else {
            continue;
        };
        let cmdline = || {
            agentd_fs::read(&dir.join("cmdline"), MAX_CMDLINE)
                .map(|b| {
                    b.split(|c| *c == 0)
                        .map(|a| String::from_utf8_lossy(a).into_owned())
                        .collect()
                })
                .unwrap_or_default()
        };
        let Some(agent) = agent_of(comm.trim(), cmdline) else {
            continue;
        };
        // A zombie is no running session: discovering it again would bring
        // an ended one back.
        let Some(crate::procfs::ProcStat {
            ppid, start_ticks, ..
        }) = crate::procfs::read_stat(proc, pid).filter(|st| !st.exited())
        else {
            continue;
        };
        let start_ms = boot + i64::try_from(start_ticks * 1000 / tick_hz).unwrap_or(i64::MAX / 2);
        if now_ms - start_ms < GRACE_MS {
            continue;
        }
        let Ok(cwd) = std::fs::read_link(dir.join("cwd")) else {
            continue;
        };
        out.push(AgentProc {
            pid,
            ppid,
            agent,
            start_ms,
            cwd: cwd.to_string_lossy().into_owned(),
            env: env_vars(&agentd_fs::read(&dir.join("environ"), MAX_ENVIRON).unwrap_or_default()),
        });
    }
    let gemini: HashSet<u32> = out
        .iter()
        .filter(|p| p.agent == Agent::Gemini)
        .map(|p| p.pid)
        .collect();
    out.retain(|p| !(p.agent == Agent::Gemini && gemini.contains(&p.ppid)));
    // Newest first: of two sessions in one folder, the newer process gets
    // the newer transcript.
    out.sort_by_key(|p| std::cmp::Reverse(p.start_ms));
    out
}

/// The first line of `path` (at most [`MAX_HEAD`] bytes), parsed.
fn first_record(path: &Path) -> Option<Value> {
    let file = agentd_fs::open(path).ok()?;
    let mut line = Vec::new();
    std::io::BufReader::new(file.take(MAX_HEAD))
        .read_until(b'\n', &mut line)
        .ok()?;
    serde_json::from_slice(&line).ok()
}

/// The whole lines of the last [`TAIL_BYTES`] of `path`.
fn tail_lines(path: &Path) -> Vec<String> {
    let Ok(mut file) = agentd_fs::open(path) else {
        return Vec::new();
    };
    let len = file.metadata().map_or(0, |m| m.len());
    let from = len.saturating_sub(TAIL_BYTES);
    if file.seek(SeekFrom::Start(from)).is_err() {
        return Vec::new();
    }
    let mut bytes = Vec::new();
    if file.take(TAIL_BYTES).read_to_end(&mut bytes).is_err() {
        return Vec::new();
    }
    let text = String::from_utf8_lossy(&bytes);
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    if from > 0 && !lines.is_empty() {
        // Cut in the middle.
        lines.remove(0);
    }
    lines
}

/// Files in `dir` named `prefix…suffix`, modified at or after `since_ms`,
/// newest first (at most [`MAX_CANDIDATES`]).
fn recent_files(dir: &Path, prefix: &str, suffix: &str, since_ms: i64) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<(i64, PathBuf)> = entries
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.starts_with(prefix) && n.ends_with(suffix))
        })
        .filter_map(|e| {
            let m = e.metadata().ok().filter(std::fs::Metadata::is_file)?;
            let ms = m.mtime() * 1000 + m.mtime_nsec() / 1_000_000;
            (ms >= since_ms).then(|| (ms, e.path()))
        })
        .collect();
    files.sort_by_key(|(ms, _)| std::cmp::Reverse(*ms));
    files
        .into_iter()
        .take(MAX_CANDIDATES)
        .map(|(_, p)| p)
        .collect()
}

/// Numeric subfolders of `dir`, highest first.
fn numbered_dirs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut dirs: Vec<(u32, PathBuf)> = entries
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path())))
        .filter(|(_, p): &(u32, PathBuf)| agentd_fs::is_dir(p))
        .collect();
    dirs.sort_by_key(|(n, _)| std::cmp::Reverse(*n));
    dirs.into_iter().map(|(_, p)| p).collect()
}

/// The newest [`DAY_FOLDERS`] day folders of Codex's `sessions/`.
fn codex_days(sessions: &Path) -> Vec<PathBuf> {
    let mut days = Vec::new();
    for year in numbered_dirs(sessions) {
        for month in numbered_dirs(&year) {
            for day in numbered_dirs(&month) {
                days.push(day);
                if days.len() == DAY_FOLDERS {
                    return days;
                }
            }
        }
    }
    days
}

/// Codex's rollout for process `p` (not one in `taken`): its path and
/// session id.
fn codex_rollout(p: &AgentProc, taken: &HashSet<PathBuf>) -> Option<(PathBuf, String)> {
    let home = p
        .env
        .get("CODEX_HOME")
        .map(PathBuf::from)
        .or_else(|| p.env.get("HOME").map(|h| Path::new(h).join(".codex")))?;
    for day in codex_days(&home.join("sessions")) {
        for path in recent_files(&day, "rollout-", ".jsonl", p.start_ms - START_SLACK_MS) {
            if taken.contains(&path) {
                continue;
            }
            let Some(meta) = first_record(&path) else {
                continue;
            };
            let payload = &meta["payload"];
            if meta["type"] == "session_meta"
                && payload["cwd"].as_str() == Some(p.cwd.as_str())
                && let Some(id) = payload["id"].as_str()
            {
                return Some((path, id.to_owned()));
            }
        }
    }
    None
}

/// Gemini's chat for process `p` (not one in `taken`): its path and
/// session id.
fn gemini_chat(p: &AgentProc, taken: &HashSet<PathBuf>) -> Option<(PathBuf, String)> {
    let dir = p
        .env
        .get("GEMINI_CLI_HOME")
        .or_else(|| p.env.get("HOME"))
        .map(|h| Path::new(h).join(".gemini/tmp"))?;
    let entries = std::fs::read_dir(&dir).ok()?;
    for project in entries.flatten().take(4096) {
        let root = agentd_fs::read_to_string(&project.path().join(".project_root"), 4096).ok();
        if root.as_deref().map(str::trim) != Some(p.cwd.as_str()) {
            continue;
        }
        let chats = project.path().join("chats");
        for path in recent_files(&chats, "session-", ".jsonl", p.start_ms - START_SLACK_MS) {
            if taken.contains(&path) {
                continue;
            }
            if let Some(id) = first_record(&path)
                .as_ref()
                .and_then(|h| h["sessionId"].as_str())
            {
                return Some((path, id.to_owned()));
            }
        }
    }
    None
}

/// Codex's status from its rollout's last records (`lines`, oldest
/// first): the latest decisive record says it. A finished or aborted task
/// is idle; an approval request needs approval; a started task or any
/// conversation item after it is work in progress.
pub fn codex_status(lines: &[String]) -> Status {
    for line in lines.iter().rev() {
        let Ok(r) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let ty = r["payload"]["type"].as_str().unwrap_or("");
        match r["type"].as_str() {
            Some("event_msg") => match ty {
                "task_complete" | "turn_complete" | "turn_aborted" | "shutdown_complete" => {
                    return Status::Idle;
                }
                t if t.ends_with("approval_request") || t == "request_permissions" => {
                    return Status::NeedsApproval;
                }
                "task_started" | "turn_started" | "user_message" => return Status::Working,
                _ => {}
            },
            Some("response_item" | "turn_context") => return Status::Working,
            _ => {}
        }
    }
    Status::Idle
}

/// Gemini's status from its chat's last lines (`lines`, oldest first):
/// the last message says it. The user's message, or the model's tool
/// calls (done or running) mean the turn goes on; a tool call waiting
/// for confirmation needs approval; the model's text with no tool call
/// ends the turn.
pub fn gemini_status(lines: &[String]) -> Status {
    for line in lines.iter().rev() {
        let Ok(r) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        match r["type"].as_str() {
            Some("user") => return Status::Working,
            Some("gemini") => {
                let calls = r["toolCalls"].as_array().map_or(&[][..], Vec::as_slice);
                if calls.iter().any(|c| {
                    c["status"]
                        .as_str()
                        .is_some_and(|s| s.contains("await") || s.contains("confirm"))
                }) {
                    return Status::NeedsApproval;
                }
                let text = match &r["content"] {
                    Value::String(s) => !s.trim().is_empty(),
                    Value::Array(parts) => !parts.is_empty(),
                    _ => false,
                };
                return if calls.is_empty() && text {
                    Status::Idle
                } else {
                    Status::Working
                };
            }
            Some(_) => return Status::Idle,
            None => {}
        }
    }
    Status::Idle
}

/// The Codex CLI and Gemini CLI sessions running under `proc` at `now_ms`
/// (at least [`GRACE_MS`] old, with a transcript). Blocking: reads `/proc`
/// and the agents' transcript folders.
pub fn scan_procs(proc: &Path, now_ms: i64) -> Vec<Found> {
    let mut taken = HashSet::new();
    let mut out = Vec::new();
    for p in agent_procs(proc, now_ms) {
        let found = match p.agent {
            Agent::Codex => codex_rollout(&p, &taken),
            Agent::Gemini => gemini_chat(&p, &taken),
            Agent::Claude => None,
        };
        let Some((path, session_id)) = found else {
            continue;
        };
        let lines = tail_lines(&path);
        let status = match p.agent {
            Agent::Codex => codex_status(&lines),
            _ => gemini_status(&lines),
        };
        out.push(Found {
            session_id,
            agent: p.agent,
            pid: p.pid,
            cwd: Some(p.cwd.clone()),
            status,
            tmux_pane: None,
            transcript_path: Some(path.to_string_lossy().into_owned()),
        });
        taken.insert(path);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_owned).collect()
    }

    #[test]
    fn gemini_and_codex_processes_are_told_apart_from_others() {
        let cmd = |a: &[&str]| a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(agent_of("codex", Vec::new), Some(Agent::Codex));
        assert_eq!(
            agent_of("node", || cmd(&[
                "node",
                "/x/node_modules/.bin/gemini",
                "-p",
                "hi"
            ])),
            Some(Agent::Gemini)
        );
        assert_eq!(
            agent_of("node", || cmd(&[
                "/usr/bin/node",
                "--max-old-space-size=12052",
                "/x/node_modules/@google/gemini-cli/dist/index.js"
            ])),
            Some(Agent::Gemini)
        );
        // Codex's npm shim, and other node programs.
        assert_eq!(
            agent_of("node", || cmd(&[
                "node",
                "/x/node_modules/.bin/codex",
                "exec"
            ])),
            None
        );
        assert_eq!(
            agent_of("node", || cmd(&["node", "server.js", "gemini"])),
            None
        );
        assert_eq!(agent_of("bash", Vec::new), None);
    }

    #[test]
    fn environment_fields() {
        let env = env_vars(b"PATH=/bin\0HOME=/home/u\0CODEX_HOME=/c\0junk\0\xff=1\0");
        assert_eq!(env.get("HOME").map(String::as_str), Some("/home/u"));
        assert_eq!(env.get("CODEX_HOME").map(String::as_str), Some("/c"));
        assert_eq!(env.len(), 2);
    }

    #[test]
    fn codex_rollouts_say_their_status() {
        let turn = r#"{"type":"session_meta","payload":{"id":"t"}}
{"type":"event_msg","payload":{"type":"task_started"}}
{"type":"response_item","payload":{"type":"message","role":"user"}}
{"type":"response_item","payload":{"type":"function_call"}}
{"type":"event_msg","payload":{"type":"token_count"}}"#;
        assert_eq!(codex_status(&lines(turn)), Status::Working);
        let done = format!(
            "{turn}\n{}\n{}",
            r#"{"type":"response_item","payload":{"type":"message","role":"assistant"}}"#,
            r#"{"type":"event_msg","payload":{"type":"task_complete"}}"#
        );
        assert_eq!(codex_status(&lines(&done)), Status::Idle);
        let asking = format!(
            "{turn}\n{}",
            r#"{"type":"event_msg","payload":{"type":"exec_approval_request"}}"#
        );
        assert_eq!(codex_status(&lines(&asking)), Status::NeedsApproval);
        assert_eq!(codex_status(&lines("not json\n{}")), Status::Idle);
    }

    #[test]
    fn gemini_chats_say_their_status() {
        let header = r#"{"sessionId":"s","projectHash":"h","kind":"main"}"#;
        let user = r#"{"id":"1","type":"user","content":[{"text":"hi"}]}"#;
        let set = r#"{"$set":{"lastUpdated":"x"}}"#;
        assert_eq!(
            gemini_status(&lines(&format!("{header}\n{user}\n{set}"))),
            Status::Working
        );
        let tool = r#"{"id":"2","type":"gemini","content":"","toolCalls":[{"status":"success","result":[]}]}"#;
        assert_eq!(
            gemini_status(&lines(&format!("{user}\n{tool}\n{set}"))),
            Status::Working
        );
        let asks = r#"{"id":"2","type":"gemini","content":"","toolCalls":[{"status":"awaiting_approval"}]}"#;
        assert_eq!(
            gemini_status(&lines(&format!("{user}\n{asks}"))),
            Status::NeedsApproval
        );
        let said = r#"{"id":"3","type":"gemini","content":"done","toolCalls":[]}"#;
        assert_eq!(
            gemini_status(&lines(&format!("{tool}\n{said}\n{set}"))),
            Status::Idle
        );
        assert_eq!(gemini_status(&lines(header)), Status::Idle);
    }

    /// A fake `/proc` entry of this user.
    fn proc_entry(
        proc: &Path,
        pid: u32,
        ppid: u32,
        comm: &str,
        cmdline: &[&str],
        cwd: &Path,
        env: &str,
    ) {
        let d = proc.join(pid.to_string());
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("comm"), format!("{comm}\n")).unwrap();
        std::fs::write(d.join("cmdline"), cmdline.join("\0")).unwrap();
        // Started 100 ticks after boot: a minute before "now" below.
        std::fs::write(
            d.join("stat"),
            format!("{pid} ({comm}) S {ppid} 1 1 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 100 1 1"),
        )
        .unwrap();
        std::fs::write(d.join("environ"), env.replace(' ', "\0")).unwrap();
        std::os::unix::fs::symlink(cwd, d.join("cwd")).unwrap();
    }

    #[test]
    fn codex_and_gemini_processes_are_matched_to_their_transcripts() {
        let t = tempfile::tempdir().unwrap();
        let (proc, home, work) = (
            t.path().join("proc"),
            t.path().join("home"),
            t.path().join("w"),
        );
        std::fs::create_dir_all(&proc).unwrap();
        std::fs::create_dir_all(&work).unwrap();
        // Boot at 1 000 s; processes started at tick 100 (1 s later at 100 Hz).
        std::fs::write(proc.join("stat"), "cpu 1 2 3\nbtime 1000\n").unwrap();
        let env = format!("HOME={} PATH=/bin", home.display());
        let w = work.to_str().unwrap();
        proc_entry(
            &proc,
            10,
            1,
            "node",
            &["node", "/n/.bin/codex"],
            &work,
            &env,
        );
        proc_entry(&proc, 11, 10, "codex", &["/n/codex"], &work, &env);
        proc_entry(
            &proc,
            20,
            1,
            "node",
            &["node", "/n/.bin/gemini", "-p", "x"],
            &work,
            &env,
        );
        proc_entry(
            &proc,
            21,
            20,
            "node",
            &["node", "--max-old-space-size=1", "/n/.bin/gemini"],
            &work,
            &env,
        );
        proc_entry(&proc, 30, 1, "bash", &["bash"], &work, &env);
        let day = home.join(".codex/sessions/2026/11/30");
        std::fs::create_dir_all(&day).unwrap();
        std::fs::write(
            day.join("rollout-a.jsonl"),
            format!("{{\"type\":\"session_meta\",\"payload\":{{\"id\":\"codex-1\",\"cwd\":\"{w}\"}}}}\n{{\"type\":\"event_msg\",\"payload\":{{\"type\":\"task_started\"}}}}\n"),
        )
        .unwrap();
        // Another folder's rollout is not this process's.
        std::fs::write(
            day.join("rollout-b.jsonl"),
            "{\"type\":\"session_meta\",\"payload\":{\"id\":\"other\",\"cwd\":\"/elsewhere\"}}\n",
        )
        .unwrap();
        let project = home.join(".gemini/tmp/w");
        std::fs::create_dir_all(project.join("chats")).unwrap();
        std::fs::write(project.join(".project_root"), w).unwrap();
        std::fs::write(
            project.join("chats/session-x.jsonl"),
            "{\"sessionId\":\"gem-1\"}\n{\"id\":\"1\",\"type\":\"gemini\",\"content\":\"hi\"}\n",
        )
        .unwrap();
        let now = jiff::Timestamp::now().as_millisecond();
        let mut found = scan_procs(&proc, now);
        found.sort_by(|a, b| a.session_id.cmp(&b.session_id));
        let got: Vec<(&str, Agent, u32, Status)> = found
            .iter()
            .map(|f| (f.session_id.as_str(), f.agent, f.pid, f.status))
            .collect();
        assert_eq!(
            got,
            vec![
                ("codex-1", Agent::Codex, 11, Status::Working),
                ("gem-1", Agent::Gemini, 20, Status::Idle),
            ]
        );
        assert_eq!(found[0].cwd.as_deref(), Some(w));
        assert!(
            found[0]
                .transcript_path
                .as_deref()
                .unwrap()
                .ends_with("rollout-a.jsonl")
        );
        // Processes started 29 s ago: found now, but not while younger
        // than the grace (left to their hooks).
        std::fs::write(proc.join("stat"), format!("btime {}\n", now / 1000 - 30)).unwrap();
        assert_eq!(scan_procs(&proc, now).len(), 2);
        assert!(scan_procs(&proc, now - 28_000).is_empty());
        // Transcripts older than the processes are not theirs.
        std::fs::write(proc.join("stat"), format!("btime {}\n", now / 1000 + 10)).unwrap();
        assert!(scan_procs(&proc, now + 60_000).is_empty());
    }
}
