//! Sessions agentd launches: Claude Code headless over stream-json
//! (reference §5.1–§5.4).
//!
//! `claude -p --input-format stream-json --output-format stream-json
//! --verbose --permission-prompt-tool stdio`, in its own process group, with
//! `AGENTD_RUN_ID` set. Its stdout is recorded as `stream` events; every
//! `can_use_tool` control request goes through the same pipeline as hooks
//! (rules, then a held approval) and is always answered — with a deny and a
//! reason when agentd shuts down or nobody decides in time.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use crate::error::ServiceError;
use agentd_claude::hook::HookEnv;
use agentd_core::{ApprovalStatus, Decision, Origin};
use agentd_proto::api::{IngestResult, LaunchParams, Launched};
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio::sync::{mpsc, oneshot};
use tokio_util::codec::{FramedRead, LinesCodec};

use crate::approvals::{self, Judged};
use crate::ingest::{self, Source};
use crate::state::Shared;
use crate::writer::Resolution;

/// Longest stream-json line read from Claude Code (assistant messages can
/// be large); longer ones are skipped, not buffered.
pub const MAX_STREAM_LINE: usize = 16 << 20;
/// How long `launch` waits for Claude Code's `system/init`.
pub const INIT_TIMEOUT: Duration = Duration::from_secs(60);

/// A running launched process.
#[derive(Debug)]
pub struct Proc {
    /// `AGENTD_RUN_ID`.
    pub run_id: String,
    /// Pid, also the process group id.
    pub pid: u32,
    /// Lines to write to its stdin.
    pub stdin: mpsc::Sender<String>,
    /// Whether it still runs.
    pub alive: AtomicBool,
    /// What it was started with (`prompt` empty; `cwd` resolved): a resume
    /// by `send` keeps its model, permission mode and name.
    pub launched_with: LaunchParams,
    next_request: AtomicU64,
}

/// The sessions this daemon launched: their processes by session id, and
/// their open `can_use_tool` requests (request id → approval id).
#[derive(Default)]
pub struct Launches {
    procs: std::sync::Mutex<HashMap<String, Arc<Proc>>>,
    control_requests: std::sync::Mutex<HashMap<String, String>>,
}

impl Launches {
    /// The process of `session_id`, when this daemon launched it.
    pub fn get(&self, session_id: &str) -> Option<Arc<Proc>> {
        self.procs
            .lock()
            .ok()
            .and_then(|m| m.get(session_id).cloned())
    }

    fn insert(&self, session_id: &str, proc: Arc<Proc>) {
        if let Ok(mut m) = self.procs.lock() {
            m.insert(session_id.to_owned(), proc);
        }
    }

    fn open_request(&self, request_id: &str, approval_id: &str) {
        if let Ok(mut m) = self.control_requests.lock() {
            m.insert(request_id.to_owned(), approval_id.to_owned());
        }
    }

    /// Closes a `can_use_tool` request; the approval it was for.
    fn close_request(&self, request_id: &str) -> Option<String> {
        self.control_requests
            .lock()
            .ok()
            .and_then(|mut m| m.remove(request_id))
    }
}

/// The `claude` to run: `[launch] claude` / `AGENTD_CLAUDE`, else `PATH`.
///
/// # Errors
/// A message saying what to install or configure.
pub fn claude_path(shared: &Shared) -> Result<PathBuf, String> {
    if let Some(p) = shared.config.launch.claude.as_deref() {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(format!(
                "[launch] claude = {:?} does not exist; fix it in agentd.toml or AGENTD_CLAUDE",
                p.display().to_string()
            ))
        };
    }
    std::env::var_os("PATH")
        .and_then(|path| std::env::split_paths(&path).map(|d| d.join("claude")).find(|p| p.is_file()))
        .ok_or_else(|| {
            "claude (Claude Code) is not on PATH: install it (npm install -g @anthropic-ai/claude-code) or set [launch] claude = \"/path/to/claude\" in agentd.toml".to_owned()
        })
}

fn user_message(text: &str, session_id: &str) -> String {
    json!({"type": "user", "message": {"role": "user", "content": text}, "parent_tool_use_id": null, "session_id": session_id})
        .to_string()
}

/// Starts Claude Code; returns once it reported its session id.
///
/// # Errors
/// When `claude` is missing, the directory does not exist, or Claude Code
/// exits (or stays silent) before `system/init`.
pub async fn launch(
    shared: &Arc<Shared>,
    p: LaunchParams,
    resume: Option<&str>,
) -> Result<Launched, ServiceError> {
    let claude = claude_path(shared).map_err(ServiceError::gone)?;
    let cwd = match p.cwd.as_deref() {
        Some(dir) => PathBuf::from(dir),
        None => std::env::current_dir()
            .map_err(|e| ServiceError::invalid(format!("no working directory: {e}")))?,
    };
    if !cwd.is_dir() {
        return Err(ServiceError::invalid(format!(
            "cwd {} is not a directory",
            cwd.display()
        )));
    }
    let run_id = approvals::new_id().replacen("apr_", "run_", 1);
    let log_dir = shared
        .log
        .db_path()
        .parent()
        .unwrap_or(Path::new("."))
        .join("runs");
    // The run's log is created on the blocking pool, as all file IO.
    let log = log_dir.join(format!("{run_id}.log"));
    let dir = log_dir.clone();
    let stderr = crate::blocking::bounded("creating the run log", move || {
        let _ = std::fs::create_dir_all(&dir);
        std::fs::File::create(&log).ok()
    })
    .await
    .flatten()
    .map(Stdio::from)
    .unwrap_or_else(Stdio::null);
    let mut cmd = tokio::process::Command::new(&claude);
    cmd.args([
        "-p",
        "--input-format",
        "stream-json",
        "--output-format",
        "stream-json",
        "--verbose",
    ])
    .args(["--permission-prompt-tool", "stdio"]);
    for (flag, value) in [
        ("--model", &p.model),
        ("--permission-mode", &p.permission_mode),
        ("--name", &p.name),
    ] {
        if let Some(v) = value {
            cmd.arg(flag).arg(v);
        }
    }
    if let Some(id) = resume {
        cmd.arg("--resume").arg(id);
    }
    cmd.current_dir(&cwd)
        .env("AGENTD_RUN_ID", &run_id)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .process_group(0);
    let mut child = cmd
        .spawn()
        .map_err(|e| ServiceError::gone(format!("cannot start {}: {e}", claude.display())))?;
    let pid = child.id().unwrap_or(0);
    let (Some(mut stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        return Err(ServiceError::internal("claude started without pipes"));
    };
    let (tx, mut rx) = mpsc::channel::<String>(64);
    shared.tasks.spawn(async move {
        while let Some(mut line) = rx.recv().await {
            line.push('\n');
            if stdin.write_all(line.as_bytes()).await.is_err() {
                break;
            }
        }
    });
    let proc = Arc::new(Proc {
        run_id: run_id.clone(),
        pid,
        stdin: tx,
        alive: AtomicBool::new(true),
        launched_with: LaunchParams {
            cwd: Some(cwd.display().to_string()),
            prompt: String::new(),
            ..p.clone()
        },
        next_request: AtomicU64::new(1),
    });
    let init = json!({"type": "control_request", "request_id": "agentd_init",
        "request": {"subtype": "initialize", "hooks": null}});
    let _ = proc.stdin.send(init.to_string()).await;
    let _ = proc
        .stdin
        .send(user_message(&p.prompt, resume.unwrap_or("")))
        .await;

    let (ready_tx, ready_rx) = oneshot::channel();
    shared.tasks.spawn(read_stream(
        Arc::clone(shared),
        Arc::clone(&proc),
        stdout,
        child,
        cwd,
        ready_tx,
        p.prompt.clone(),
    ));
    match tokio::time::timeout(INIT_TIMEOUT, ready_rx).await {
        Ok(Ok(session_id)) => Ok(Launched {
            session_id,
            run_id,
            pid,
        }),
        _ => Err(ServiceError::gone(format!(
            "Claude Code exited or said nothing before its session started; see {}",
            log_dir.join(format!("{run_id}.log")).display()
        ))),
    }
}

/// Records a prompt agentd wrote to a launched session (stream-json does
/// not echo it, and no hook may be installed).
async fn prompt_sent(shared: &Shared, session_id: &str, prompt: &str) {
    let payload = json!({"session_id": session_id, "name": "PromptSent",
        "prompt": agentd_core::text::truncate(prompt, 4096)});
    if let Ok(p) = ingest::prepare(Source::Daemon, &payload, HookEnv::default()) {
        let _ = ingest::submit(shared, p).await;
    }
}

async fn read_stream(
    shared: Arc<Shared>,
    proc: Arc<Proc>,
    stdout: tokio::process::ChildStdout,
    mut child: tokio::process::Child,
    cwd: PathBuf,
    ready: oneshot::Sender<String>,
    first_prompt: String,
) {
    let mut ready = Some(ready);
    let mut session_id: Option<String> = None;
    let env = HookEnv {
        claude_pid: Some(proc.pid),
        project_dir: Some(cwd.display().to_string()),
        ..HookEnv::default()
    };
    let mut lines = FramedRead::new(stdout, LinesCodec::new_with_max_length(MAX_STREAM_LINE));
    loop {
        let line = tokio::select! {
            _ = shared.shutdown.cancelled() => break,
            line = lines.next() => line,
        };
        let line = match line {
            None => break,
            Some(Err(e)) => {
                tracing::warn!(run = %proc.run_id, error = %e, "unreadable stream line skipped");
                continue;
            }
            Some(Ok(l)) => l,
        };
        let Ok(msg) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        match msg.get("type").and_then(Value::as_str) {
            Some("control_request") => {
                let Some(id) = session_id.clone() else {
                    continue;
                };
                shared.tasks.spawn(answer_control(
                    Arc::clone(&shared),
                    Arc::clone(&proc),
                    id,
                    cwd.clone(),
                    msg,
                ));
            }
            Some("control_cancel_request") => {
                if let Some(req) = msg.get("request_id").and_then(Value::as_str) {
                    cancel_request(&shared, req).await;
                }
            }
            Some("control_response" | "stream_event") => {}
            _ => {
                if let (None, Some(id)) =
                    (&session_id, msg.get("session_id").and_then(Value::as_str))
                {
                    session_id = Some(id.to_owned());
                    shared.launched.insert(id, Arc::clone(&proc));
                }
                record(&shared, &msg, &env).await;
                if msg.get("subtype").and_then(Value::as_str) == Some("init")
                    && let (Some(tx), Some(id)) = (ready.take(), session_id.as_ref())
                {
                    prompt_sent(&shared, id, &first_prompt).await;
                    let _ = tx.send(id.clone());
                }
            }
        }
    }
    proc.alive.store(false, Ordering::Release);
    let _ = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
    // The process is gone: end the session now rather than at the next sweep.
    if let Some(id) = session_id {
        let payload = json!({"session_id": id, "name": "ProcessExited", "pid": proc.pid, "run_id": proc.run_id});
        if let Ok(p) = ingest::prepare(Source::Daemon, &payload, HookEnv::default()) {
            let _ = ingest::submit(&shared, p).await;
        }
    }
}

/// Stores a stream message as an event (a stub when it is too large).
async fn record(shared: &Shared, msg: &Value, env: &HookEnv) {
    let prepared = ingest::prepare(Source::Stream, msg, env.clone()).or_else(|_| {
        let stub = json!({"type": msg.get("type"), "subtype": msg.get("subtype"),
            "session_id": msg.get("session_id"), "truncated": true});
        ingest::prepare(Source::Stream, &stub, env.clone())
    });
    if let Ok(p) = prepared {
        let _ = ingest::submit(shared, p).await;
    }
}

fn control_response(request_id: &str, response: Value) -> String {
    json!({"type": "control_response", "response": {"subtype": "success", "request_id": request_id, "response": response}})
        .to_string()
}

/// Answers one control request. `can_use_tool` goes through the rules and,
/// if they do not decide, a held approval; anything else gets an error.
async fn answer_control(
    shared: Arc<Shared>,
    proc: Arc<Proc>,
    session_id: String,
    cwd: PathBuf,
    msg: Value,
) {
    let request_id = msg
        .get("request_id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let req = msg.get("request").cloned().unwrap_or(Value::Null);
    if req.get("subtype").and_then(Value::as_str) != Some("can_use_tool") {
        let err = json!({"type": "control_response", "response": {"subtype": "error", "request_id": request_id,
            "error": "agentd does not handle this control request"}});
        let _ = proc.stdin.send(err.to_string()).await;
        return;
    }
    let tool = req
        .get("tool_name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let input = req.get("input").cloned().unwrap_or(Value::Null);
    let cwd_s = cwd.display().to_string();
    let mut approval = approvals::draft(&tool, &input, Origin::CanUseTool);
    approval.session_id = session_id;
    approval.agent_id = req
        .get("agent_id")
        .and_then(Value::as_str)
        .map(str::to_owned);
    approval.tool_use_id = req
        .get("tool_use_id")
        .and_then(Value::as_str)
        .map(str::to_owned);
    approval.permission_suggestions = req
        .get("permission_suggestions")
        .cloned()
        .unwrap_or(Value::Null);
    approval.cwd = Some(cwd_s.clone());
    let judged = approvals::judge_all(
        &shared,
        &tool,
        &input,
        Some(&cwd_s),
        Some(&approval.session_id),
    )
    .await;
    let response = match judged {
        Judged::Decided(decision, _) => agentd_claude::output::can_use_tool(&decision, &approval),
        judged => {
            let on_timeout = match judged {
                Judged::Ask(t, _) => t,
                _ => Default::default(),
            };
            shared.launched.open_request(&request_id, &approval.id);
            let timeout = Duration::from_secs(shared.config.approvals.timeout_s.max(1));
            let fallback = approval.clone();
            match approvals::hold(Arc::clone(&shared), approval, 0, timeout, on_timeout).await {
                Err(e) => agentd_claude::output::can_use_tool(
                    &Decision::Deny {
                        message: Some(format!("agentd could not hold the request: {e}")),
                    },
                    &fallback,
                ),
                Ok(hold) => {
                    let result = tokio::select! {
                        r = hold.reply => r.ok(),
                        _ = shared.shutdown.cancelled() => None,
                    };
                    let output = result
                        .and_then(|v| serde_json::from_value::<IngestResult>(v).ok())
                        .and_then(|r| r.output);
                    match output {
                        Some(o) => o,
                        // No decision (timed out, expired, shutting down):
                        // a launched session must still get an answer.
                        None if shared.shutdown.is_cancelled() => {
                            agentd_claude::output::can_use_tool(
                                &Decision::Deny {
                                    message: Some("agentd is shutting down".to_owned()),
                                },
                                &fallback,
                            )
                        }
                        None => agentd_claude::output::can_use_tool(
                            &Decision::Deny {
                                message: Some("No decision was made in time.".to_owned()),
                            },
                            &fallback,
                        ),
                    }
                }
            }
        }
    };
    shared.launched.close_request(&request_id);
    let _ = proc
        .stdin
        .send(control_response(&request_id, response))
        .await;
}

async fn cancel_request(shared: &Shared, request_id: &str) {
    let approval = shared.launched.close_request(request_id);
    if let Some(id) = approval {
        let r = Resolution {
            id,
            status: ApprovalStatus::Expired,
            decision: None,
            by: "agentd".to_owned(),
            reason: Some("Claude Code cancelled the permission request".to_owned()),
        };
        let _ = approvals::settle(shared, r).await;
    }
}

/// The launched process of a session.
///
/// # Errors
/// [`ServiceError::NotFound`] when agentd did not launch it.
pub fn proc_of(shared: &Shared, session_id: &str) -> Result<Arc<Proc>, ServiceError> {
    shared.launched.get(session_id).ok_or_else(|| {
        ServiceError::not_found(format!(
            "session {session_id} was not launched by this agentd"
        ))
    })
}

/// Whether `session_id` runs as a process this daemon launched, which asks
/// for permissions with `can_use_tool` on its stdio.
pub fn asks_on_stdio(shared: &Shared, session_id: &str) -> bool {
    proc_of(shared, session_id).is_ok_and(|p| p.alive.load(Ordering::Acquire))
}

/// Sends `message`: to the running process, or by resuming the session.
///
/// # Errors
/// As [`launch`] when it has to resume.
pub async fn send(
    shared: &Arc<Shared>,
    session_id: &str,
    message: &str,
) -> Result<Launched, ServiceError> {
    if let Ok(proc) = proc_of(shared, session_id)
        && proc.alive.load(Ordering::Acquire)
    {
        // Recorded first, so the turn's events come after its prompt.
        prompt_sent(shared, session_id, message).await;
        proc.stdin
            .send(user_message(message, session_id))
            .await
            .map_err(|_| {
                ServiceError::gone("the session's process just exited; send again to resume it")
            })?;
        return Ok(Launched {
            session_id: session_id.to_owned(),
            run_id: proc.run_id.clone(),
            pid: proc.pid,
        });
    }
    // Resumed as it was launched (model, permission mode, name); a session
    // this daemon did not launch (or launched before a restart) keeps what
    // the registry saw of it.
    let launched = proc_of(shared, session_id)
        .map(|p| p.launched_with.clone())
        .unwrap_or_default();
    let seen = shared
        .registry
        .read()
        .ok()
        .and_then(|r| r.get(session_id).cloned());
    let p = LaunchParams {
        cwd: launched
            .cwd
            .or_else(|| seen.as_ref().and_then(|s| s.cwd.clone())),
        model: launched
            .model
            .or_else(|| seen.as_ref().and_then(|s| s.model.clone())),
        permission_mode: launched
            .permission_mode
            .or_else(|| seen.as_ref().and_then(|s| s.permission_mode.clone())),
        name: launched.name,
        prompt: message.to_owned(),
    };
    launch(shared, p, Some(session_id)).await
}

/// Sends the `interrupt` control request.
///
/// # Errors
/// Not launched here, or no longer running.
pub async fn interrupt(shared: &Shared, session_id: &str) -> Result<(), ServiceError> {
    let proc = proc_of(shared, session_id)?;
    let n = proc.next_request.fetch_add(1, Ordering::Relaxed);
    let req = json!({"type": "control_request", "request_id": format!("agentd_{n}"), "request": {"subtype": "interrupt"}});
    proc.stdin
        .send(req.to_string())
        .await
        .map_err(|_| ServiceError::gone("the session's process is not running"))
}

/// SIGINT, then SIGTERM, then SIGKILL to the whole process group, waiting up
/// to 2 s after each for every process of the group to exit (not only
/// Claude Code itself: a tool's child that ignores SIGINT must not outlive
/// the session). Returns the signal that ended the last of them.
///
/// # Errors
/// Not launched here; [`ServiceError::Internal`] naming the group when a
/// process of it outlived SIGKILL (stuck in the kernel).
pub async fn kill(shared: &Shared, session_id: &str) -> Result<&'static str, ServiceError> {
    let proc = proc_of(shared, session_id)?;
    let Some(group) = i32::try_from(proc.pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return Err(ServiceError::internal("no process group"));
    };
    let gone = || {
        !proc.alive.load(Ordering::Acquire)
            && rustix::process::test_kill_process_group(group).is_err()
    };
    for (name, signal) in [
        ("SIGINT", rustix::process::Signal::INT),
        ("SIGTERM", rustix::process::Signal::TERM),
        ("SIGKILL", rustix::process::Signal::KILL),
    ] {
        if gone() {
            return Ok("none (already exited)");
        }
        let _ = rustix::process::kill_process_group(group, signal);
        for _ in 0..40 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            if gone() {
                return Ok(name);
            }
        }
    }
    Err(ServiceError::internal(format!(
        "process group {} still has processes 2 s after SIGKILL (stuck in the kernel?); see `ps -o pid,stat,cmd -g {}`",
        proc.pid, proc.pid
    )))
}
