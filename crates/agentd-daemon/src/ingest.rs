//! From input to event: mapping payloads to lifecycle events ([`prepare`]),
//! handing them to the single writer ([`submit`], see [`crate::writer`]),
//! and replaying the log at start ([`load_registry`]).

use std::path::{Path, PathBuf};

use crate::error::ServiceError;
use agentd_claude::hook::HookEnv;
use agentd_core::{EventKind, LifecycleEvent, Registry};
use agentd_proto::api::{EventRecord, rfc3339};
use agentd_store::{Reader, StoreError, StoredEvent};
use serde_json::Value;

use crate::state::Shared;
use crate::writer::{Done, Work};

pub use agentd_proto::MAX_PAYLOAD_BYTES;

/// Where an event came from; stored in the `source` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A Claude Code hook (command or http).
    Hook,
    /// A Claude Code status-line snapshot.
    StatusLine,
    /// The daemon itself (e.g. a process exit).
    Daemon,
    /// The stream-json output of a session agentd launched.
    Stream,
}

impl Source {
    /// Column value.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Hook => "hook",
            Source::StatusLine => "statusline",
            Source::Daemon => "daemon",
            Source::Stream => "stream",
        }
    }
}

/// One event ready to be written.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The id the hook client gave the event (socket and spool alike): an
    /// event with an id already stored is not stored again.
    pub(crate) delivery_id: Option<String>,
    pub(crate) source: Source,
    /// The agent a new session gets (an existing one keeps its own).
    pub(crate) agent: agentd_core::Agent,
    pub(crate) name: String,
    pub(crate) payload: String,
    pub(crate) env: String,
    pub(crate) event: LifecycleEvent,
}

impl Prepared {
    /// A top-level string field of the payload.
    pub(crate) fn payload_field(&self, key: &str) -> Option<String> {
        let v: Value = serde_json::from_str(&self.payload).ok()?;
        v.get(key)?.as_str().map(str::to_owned)
    }
}

/// Maps an input to its lifecycle event. Pure apart from the clock: replay
/// uses it with the stored time and gets the same event back.
///
/// # Errors
/// The adapter's error when the payload is unusable (no `session_id`, ...).
pub fn map_event(
    source: Source,
    name: &str,
    payload: &Value,
    env: &HookEnv,
    ts_ms: i64,
) -> Result<LifecycleEvent, String> {
    match source {
        Source::Hook => {
            crate::agents::to_event(env.agent(), payload, env, ts_ms).map_err(|e| e.to_string())
        }
        Source::StatusLine => {
            agentd_claude::statusline::to_event(payload, env, ts_ms).map_err(|e| e.to_string())
        }
        Source::Stream => {
            agentd_claude::stream::to_event(payload, env, ts_ms).map_err(|e| e.to_string())
        }
        Source::Daemon => {
            let session_id = payload
                .get("session_id")
                .and_then(Value::as_str)
                .ok_or("daemon event without session_id")?
                .to_owned();
            let kind = match name {
                "ProcessExited" => EventKind::ProcessExited,
                // No process to watch and nothing heard for `stale_after_s`.
                "SessionStale" => EventKind::SessionEnded {
                    reason: Some("stale".to_owned()),
                },
                "HookStarted" => EventKind::HookStarted,
                "HookOutput" => EventKind::HookOutput,
                "HookFinished" => EventKind::HookFinished,
                "PromptSent" => EventKind::PromptSubmitted,
                "ApprovalRequested" | "ApprovalResolved" => {
                    let approval: agentd_core::Approval =
                        serde_json::from_value(payload.clone())
                            .map_err(|e| format!("bad approval payload: {e}"))?;
                    if name == "ApprovalRequested" {
                        EventKind::ApprovalRequested {
                            approval_id: approval.id,
                            tool: approval.tool_name,
                        }
                    } else {
                        EventKind::ApprovalResolved {
                            approval_id: approval.id,
                            status: approval.status,
                            origin: approval.origin,
                        }
                    }
                }
                "SessionDiscovered" => {
                    return crate::discovery::to_event(session_id, payload, ts_ms);
                }
                other => EventKind::Other {
                    name: other.to_owned(),
                },
            };
            Ok(LifecycleEvent {
                session_id,
                ts_ms,
                kind,
                context: Default::default(),
            })
        }
    }
}

/// Prepares an input for the writer: maps it and serializes what is stored.
///
/// # Errors
/// An [`ServiceError`] with [`ServiceError::Invalid`] naming what is wrong.
pub fn prepare(source: Source, payload: &Value, env: HookEnv) -> Result<Prepared, ServiceError> {
    prepare_at(source, payload, env, crate::now_ms())
}

/// [`prepare`] for an input received at `ts_ms` (ms since the Unix epoch),
/// e.g. one spooled by the hook client while the daemon was down.
///
/// # Errors
/// As [`prepare`].
pub fn prepare_at(
    source: Source,
    payload: &Value,
    env: HookEnv,
    ts_ms: i64,
) -> Result<Prepared, ServiceError> {
    let name = match source {
        Source::Hook => agentd_claude::hook::event_name(payload)
            .unwrap_or("unknown")
            .to_owned(),
        Source::StatusLine => "StatusLine".to_owned(),
        Source::Stream => agentd_claude::stream::message_name(payload),
        Source::Daemon => payload
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("unknown")
            .to_owned(),
    };
    let mut payload_json = to_json(payload);
    let fitted;
    let payload = if payload_json.len() > MAX_PAYLOAD_BYTES {
        // Stored cut to fit, with a marker saying what was removed: an
        // oversize payload is never dropped.
        fitted = agentd_claude::hook::fit_payload(payload.clone(), MAX_PAYLOAD_BYTES);
        payload_json = to_json(&fitted);
        &fitted
    } else {
        payload
    };
    let event = map_event(source, &name, payload, &env, ts_ms)
        .map_err(|e| ServiceError::invalid(format!("invalid {} payload: {e}", source.as_str())))?;
    Ok(Prepared {
        delivery_id: None,
        source,
        agent: env.agent(),
        name,
        payload: payload_json,
        env: to_json(&env),
        event,
    })
}

pub(crate) fn to_json<T: serde::Serialize>(v: &T) -> String {
    // Serializing a Value or a plain struct cannot fail.
    serde_json::to_string(v).unwrap_or_else(|_| "null".to_owned())
}

/// Queues a prepared event and waits until it is committed.
///
/// # Errors
/// [`ServiceError::ShuttingDown`] when the writer has stopped, [`ServiceError::Store`]
/// when the commit failed.
pub async fn submit(shared: &Shared, prepared: Prepared) -> Result<u64, ServiceError> {
    match crate::writer::run(shared, Work::Event(Box::new(prepared))).await? {
        Done::Event { seq } | Done::Approval { seq, .. } => Ok(seq),
        Done::Compacted(_) | Done::Vacuumed { .. } => Err(ServiceError::internal(
            "the writer answered an event with something else",
        )),
    }
}

/// Loads the registry: the checkpoint, then every event after it replayed.
///
/// # Errors
/// Store errors.
pub fn load_registry(db: &Path) -> Result<(Registry, u64), StoreError> {
    let reader = Reader::open(db)?;
    let (sessions, checkpoint) = reader.checkpoint()?;
    let mut registry = Registry::from_sessions(sessions);
    let mut after = checkpoint;
    loop {
        let page = reader.events(after, None, None, 10_000)?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for row in &page {
            if let Some(event) = replay_event(row) {
                registry.apply(row.seq, &row.agent, &event);
            }
        }
    }
    Ok((registry, reader.head_seq()?))
}

/// The lifecycle event a stored row stands for.
pub fn replay_event(row: &StoredEvent) -> Option<LifecycleEvent> {
    let source = match row.source.as_str() {
        "hook" => Source::Hook,
        "statusline" => Source::StatusLine,
        "stream" => Source::Stream,
        _ => Source::Daemon,
    };
    let payload: Value = serde_json::from_str(&row.payload).ok()?;
    let env: HookEnv = serde_json::from_str(&row.env).unwrap_or_default();
    map_event(source, &row.name, &payload, &env, row.ts_ms).ok()
}

/// The record clients see for a stored row.
pub fn record_of(row: &StoredEvent) -> EventRecord {
    EventRecord {
        seq: row.seq,
        ts: rfc3339(row.ts_ms),
        ts_ms: row.ts_ms,
        session_id: row.session_id.clone(),
        agent: row.agent.clone(),
        source: row.source.clone(),
        name: row.name.clone(),
        kind: row.kind.clone(),
        payload: serde_json::from_str(&row.payload).unwrap_or(Value::Null),
        env: serde_json::from_str(&row.env).unwrap_or(Value::Null),
    }
}

/// Where to look up the git branch for a hook event, if anywhere: the
/// payload's `cwd` on SessionStart, UserPromptSubmit and Stop, when the hook
/// did not already say. The lookup itself ([`git_branch`]) blocks: callers
/// run it off the async workers.
pub fn branch_lookup(source: Source, payload: &Value, env: &HookEnv) -> Option<PathBuf> {
    if source != Source::Hook || env.git_branch.is_some() {
        return None;
    }
    let name = agentd_claude::hook::event_name(payload)?;
    if !matches!(name, "SessionStart" | "UserPromptSubmit" | "Stop") {
        return None;
    }
    let cwd = Path::new(payload.get("cwd").and_then(Value::as_str)?);
    cwd.is_absolute().then(|| cwd.to_path_buf())
}

/// Largest `.git` file or `HEAD` read, bytes (a real one is under 100).
const MAX_GIT_FILE_BYTES: u64 = 4096;

/// Most folders walked up from a `cwd` looking for `.git`.
const MAX_GIT_DEPTH: usize = 64;

/// The branch checked out in the git work tree containing `dir`: reads
/// `.git/HEAD` (or follows a worktree's `.git` file). `None` outside git,
/// and when `.git` or `HEAD` is anything but a small regular file (a FIFO,
/// a device, a huge file): the reads go through `agentd_fs`. Blocking.
pub fn git_branch(dir: &Path) -> Option<String> {
    for d in dir.ancestors().take(MAX_GIT_DEPTH) {
        let dotgit = d.join(".git");
        let Ok(meta) = std::fs::metadata(&dotgit) else {
            continue;
        };
        let git_dir = if meta.is_dir() {
            dotgit
        } else {
            let text = agentd_fs::read_to_string(&dotgit, MAX_GIT_FILE_BYTES).ok()?;
            let target = text.trim().strip_prefix("gitdir:")?.trim();
            d.join(target)
        };
        let head = agentd_fs::read_to_string(&git_dir.join("HEAD"), MAX_GIT_FILE_BYTES).ok()?;
        let head = head.trim();
        return Some(match head.strip_prefix("ref: refs/heads/") {
            Some(branch) => branch.to_owned(),
            None => head.chars().take(12).collect(),
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_branch_of_repos_worktrees_and_detached_heads() {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("repo");
        std::fs::create_dir_all(repo.join(".git")).unwrap();
        std::fs::create_dir_all(repo.join("src/deep")).unwrap();
        std::fs::write(repo.join(".git/HEAD"), "ref: refs/heads/feature/x\n").unwrap();
        assert_eq!(
            git_branch(&repo.join("src/deep")).as_deref(),
            Some("feature/x")
        );

        let wt_git = dir.path().join("repo/.git/worktrees/wt");
        std::fs::create_dir_all(&wt_git).unwrap();
        std::fs::write(wt_git.join("HEAD"), "0123456789abcdef0123\n").unwrap();
        let wt = dir.path().join("wt");
        std::fs::create_dir_all(&wt).unwrap();
        std::fs::write(wt.join(".git"), format!("gitdir: {}\n", wt_git.display())).unwrap();
        assert_eq!(git_branch(&wt).as_deref(), Some("0123456789ab"));

        assert_eq!(git_branch(Path::new("/proc/self")), None);
    }

    #[test]
    fn a_fifo_or_a_huge_file_named_git_is_never_read() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        std::fs::create_dir_all(&fifo).unwrap();
        rustix::fs::mknodat(
            rustix::fs::CWD,
            fifo.join(".git"),
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        // On a thread, so a regression fails instead of hanging the suite.
        let (tx, rx) = std::sync::mpsc::channel();
        let f = fifo.clone();
        std::thread::spawn(move || tx.send(git_branch(&f)));
        let got = rx
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("git_branch blocked on a FIFO");
        assert_eq!(got, None);

        let huge = dir.path().join("huge");
        std::fs::create_dir_all(&huge).unwrap();
        std::fs::File::create(huge.join(".git"))
            .unwrap()
            .set_len(512 << 20)
            .unwrap();
        assert_eq!(git_branch(&huge), None);
        // A HEAD that is a device is not read either.
        let dev = dir.path().join("dev");
        std::fs::create_dir_all(dev.join(".git")).unwrap();
        std::os::unix::fs::symlink("/dev/zero", dev.join(".git/HEAD")).unwrap();
        assert_eq!(git_branch(&dev), None);
    }

    #[test]
    fn replaying_a_stored_row_gives_the_same_event() {
        let payload = serde_json::json!({"session_id": "s", "hook_event_name": "PreToolUse", "tool_name": "Bash"});
        let env = HookEnv {
            claude_pid: Some(7),
            ..HookEnv::default()
        };
        let p = prepare_at(Source::Hook, &payload, env, 42).unwrap();
        let row = StoredEvent {
            seq: 1,
            ts_ms: 42,
            session_id: "s".into(),
            agent: "claude".into(),
            source: "hook".into(),
            name: p.name.clone(),
            kind: p.event.kind.name().into(),
            payload: p.payload.clone(),
            env: p.env.clone(),
        };
        assert_eq!(replay_event(&row), Some(p.event));
    }
}
