//! The single writer.
//!
//! Every event enters through [`submit`]: the payload is mapped to a
//! lifecycle event, then queued to one dedicated thread that owns the
//! read-write SQLite connection. That thread takes whatever is queued (up to
//! [`MAX_BATCH`]) and, in one transaction, appends the events, folds them into
//! copies of the affected sessions and checkpoints those. Only after the
//! commit does it publish the sessions to the registry, broadcast the events
//! and answer the callers — so what a client was told is stored, is stored.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use agentd_claude::hook::HookEnv;
use agentd_core::{EventKind, LifecycleEvent, Registry, Session};
use agentd_proto::api::{EventRecord, rfc3339};
use agentd_proto::{RpcError, code};
use agentd_store::{NewEvent, Reader, StoreError, StoredEvent, Writer};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use crate::state::{LiveEvent, Shared};

/// Largest payload stored, bytes of compact JSON: small enough that any one
/// event, with its envelope and session, fits in a response frame.
pub const MAX_PAYLOAD_BYTES: usize = agentd_proto::MAX_FRAME_BYTES - 64 * 1024;

/// Most events committed in one transaction.
pub const MAX_BATCH: usize = 1024;

/// Where an event came from; stored in the `source` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A Claude Code hook (command or http).
    Hook,
    /// A Claude Code status-line snapshot.
    StatusLine,
    /// The daemon itself (e.g. a process exit).
    Daemon,
}

impl Source {
    /// Column value.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Hook => "hook",
            Source::StatusLine => "statusline",
            Source::Daemon => "daemon",
        }
    }
}

/// One event ready to be written.
#[derive(Debug)]
pub struct Prepared {
    source: Source,
    name: String,
    payload: String,
    env: String,
    event: LifecycleEvent,
}

/// Where the writer sends an event's `seq`, or why it was not stored.
pub type Reply = oneshot::Sender<Result<u64, String>>;

/// A request to the writer thread.
#[derive(Debug)]
pub enum Job {
    /// Append this event; answer with its `seq`.
    Append(Box<Prepared>, Reply),
    /// Finish what is queued and stop.
    Stop,
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
            agentd_claude::hook::to_event(payload, env, ts_ms).map_err(|e| e.to_string())
        }
        Source::StatusLine => {
            agentd_claude::statusline::to_event(payload, env, ts_ms).map_err(|e| e.to_string())
        }
        Source::Daemon => {
            let session_id = payload
                .get("session_id")
                .and_then(Value::as_str)
                .ok_or("daemon event without session_id")?
                .to_owned();
            let kind = match name {
                "ProcessExited" => EventKind::ProcessExited,
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
/// An [`RpcError`] with [`code::INVALID_PARAMS`] naming what is wrong.
pub fn prepare(source: Source, payload: &Value, env: HookEnv) -> Result<Prepared, RpcError> {
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
    mut env: HookEnv,
    ts_ms: i64,
) -> Result<Prepared, RpcError> {
    let name = match source {
        Source::Hook => agentd_claude::hook::event_name(payload)
            .unwrap_or("unknown")
            .to_owned(),
        Source::StatusLine => "StatusLine".to_owned(),
        Source::Daemon => payload
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("unknown")
            .to_owned(),
    };
    if source == Source::Hook
        && env.git_branch.is_none()
        && matches!(name.as_str(), "SessionStart" | "UserPromptSubmit" | "Stop")
        && let Some(cwd) = payload.get("cwd").and_then(Value::as_str)
    {
        env.git_branch = git_branch(Path::new(cwd));
    }
    let payload_json = to_json(payload);
    if payload_json.len() > MAX_PAYLOAD_BYTES {
        return Err(RpcError::invalid_params(format!(
            "payload is {} bytes; at most {MAX_PAYLOAD_BYTES} are stored",
            payload_json.len()
        )));
    }
    let event = map_event(source, &name, payload, &env, ts_ms).map_err(|e| {
        RpcError::invalid_params(format!("invalid {} payload: {e}", source.as_str()))
    })?;
    Ok(Prepared {
        source,
        name,
        payload: payload_json,
        env: to_json(&env),
        event,
    })
}

fn to_json<T: serde::Serialize>(v: &T) -> String {
    // Serializing a Value or a plain struct cannot fail.
    serde_json::to_string(v).unwrap_or_else(|_| "null".to_owned())
}

/// Queues a prepared event and waits until it is committed.
///
/// # Errors
/// [`code::SHUTTING_DOWN`] when the writer has stopped, [`code::STORE_ERROR`]
/// when the commit failed.
pub async fn submit(shared: &Shared, prepared: Prepared) -> Result<u64, RpcError> {
    let (tx, rx) = oneshot::channel();
    shared
        .ingest
        .send(Job::Append(Box::new(prepared), tx))
        .await
        .map_err(|_| {
            RpcError::new(
                code::SHUTTING_DOWN,
                "agentd is shutting down; try again after it restarts",
            )
        })?;
    match rx.await {
        Ok(Ok(seq)) => Ok(seq),
        Ok(Err(why)) => Err(RpcError::new(
            code::STORE_ERROR,
            format!("could not store the event: {why}"),
        )),
        Err(_) => Err(RpcError::new(
            code::SHUTTING_DOWN,
            "agentd is shutting down; try again after it restarts",
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

/// Runs the writer loop on the current (dedicated) thread until [`Job::Stop`]
/// or until every sender is gone.
pub fn run_writer(mut writer: Writer, mut rx: mpsc::Receiver<Job>, shared: Arc<Shared>) {
    let mut stop = false;
    while !stop {
        let Some(first) = rx.blocking_recv() else {
            break;
        };
        let mut jobs = Vec::with_capacity(64);
        match first {
            Job::Append(p, tx) => jobs.push((p, tx)),
            Job::Stop => stop = true,
        }
        while jobs.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(Job::Append(p, tx)) => jobs.push((p, tx)),
                Ok(Job::Stop) => stop = true,
                Err(_) => break,
            }
        }
        if jobs.is_empty() {
            continue;
        }
        match commit_batch(&mut writer, &shared, &jobs) {
            Ok(published) => {
                for ((_, tx), (seq, live)) in jobs.into_iter().zip(published) {
                    if let Some(live) = live {
                        // No receiver left means nobody listens: fine.
                        let _ = shared.live.send(live);
                    }
                    let _ = tx.send(Ok(seq));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, events = jobs.len(), "commit failed; events rejected");
                for (_, tx) in jobs {
                    let _ = tx.send(Err(e.to_string()));
                }
            }
        }
    }
    // Anything still queued after Stop is answered by dropping its sender.
    rx.close();
}

type Published = Vec<(u64, Option<Arc<LiveEvent>>)>;

fn commit_batch(
    writer: &mut Writer,
    shared: &Shared,
    jobs: &[(Box<Prepared>, Reply)],
) -> Result<Published, StoreError> {
    // Serializing for subscribers costs as much as storing: skip it when
    // nobody listens.
    let live = shared.live.receiver_count() > 0;
    let mut staged: HashMap<String, Session> = HashMap::new();
    let mut applied = Vec::with_capacity(jobs.len());
    let mut batch = writer.batch()?;
    for (p, _) in jobs {
        let e = &p.event;
        let seq = batch.append(&NewEvent {
            ts_ms: e.ts_ms,
            session_id: &e.session_id,
            agent: agentd_claude::AGENT,
            source: p.source.as_str(),
            name: &p.name,
            kind: e.kind.name(),
            payload: &p.payload,
            env: &p.env,
        })?;
        let session = staged.entry(e.session_id.clone()).or_insert_with(|| {
            shared
                .registry
                .read()
                .ok()
                .and_then(|r| r.get(&e.session_id).cloned())
                .unwrap_or_else(|| {
                    Session::new(e.session_id.clone(), agentd_claude::AGENT, e.ts_ms)
                })
        });
        session.apply(seq, e);
        let event = live.then(|| Arc::new(live_event(seq, p, session)));
        applied.push((seq, event));
    }
    for session in staged.values() {
        batch.put_session(session)?;
    }
    batch.commit()?;

    if !live && shared.live.receiver_count() > 0 {
        // Someone subscribed while this batch was written: they must get
        // it too. The session shown is its state after the whole batch.
        for ((p, _), (seq, event)) in jobs.iter().zip(applied.iter_mut()) {
            if let Some(session) = staged.get(&p.event.session_id) {
                *event = Some(Arc::new(live_event(*seq, p, session)));
            }
        }
    }
    let last = applied.last().map(|(seq, _)| *seq).unwrap_or(0);
    if let Ok(mut registry) = shared.registry.write() {
        for (_, session) in staged {
            registry.put(session);
        }
    }
    shared.head_seq.fetch_max(last, Ordering::AcqRel);
    Ok(applied)
}

/// The `event` notification params (without `subscription`), built by
/// splicing the stored JSON strings instead of re-parsing them.
fn live_event(seq: u64, p: &Prepared, session: &Session) -> LiveEvent {
    #[derive(serde::Serialize)]
    struct Head<'a> {
        seq: u64,
        ts: String,
        ts_ms: i64,
        session_id: &'a str,
        agent: &'a str,
        source: &'a str,
        name: &'a str,
        kind: &'a str,
    }
    #[derive(serde::Serialize)]
    struct View<'a> {
        #[serde(flatten)]
        session: &'a Session,
        updated_at: String,
        started_at: String,
    }
    let e = &p.event;
    let head = to_json(&Head {
        seq,
        ts: rfc3339(e.ts_ms),
        ts_ms: e.ts_ms,
        session_id: &e.session_id,
        agent: agentd_claude::AGENT,
        source: p.source.as_str(),
        name: &p.name,
        kind: e.kind.name(),
    });
    let view = to_json(&View {
        session,
        updated_at: rfc3339(session.last_event_ms),
        started_at: rfc3339(session.first_event_ms),
    });
    let head = head.strip_suffix('}').unwrap_or(&head);
    LiveEvent {
        seq,
        session_id: e.session_id.clone(),
        kind: e.kind.name().to_owned(),
        params_json: format!(
            r#"{head},"payload":{},"env":{},"session":{view}}}"#,
            p.payload, p.env
        ),
    }
}

/// The branch checked out in the git work tree containing `dir`: reads
/// `.git/HEAD` (or follows a worktree's `.git` file). `None` outside git.
pub fn git_branch(dir: &Path) -> Option<String> {
    let mut cur = Some(dir);
    while let Some(d) = cur {
        let dotgit = d.join(".git");
        if let Ok(meta) = std::fs::metadata(&dotgit) {
            let git_dir = if meta.is_dir() {
                dotgit
            } else {
                let text = std::fs::read_to_string(&dotgit).ok()?;
                let target = text.trim().strip_prefix("gitdir:")?.trim();
                d.join(target)
            };
            let head = std::fs::read_to_string(git_dir.join("HEAD")).ok()?;
            let head = head.trim();
            return Some(match head.strip_prefix("ref: refs/heads/") {
                Some(branch) => branch.to_owned(),
                None => head.chars().take(12).collect(),
            });
        }
        cur = d.parent();
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
