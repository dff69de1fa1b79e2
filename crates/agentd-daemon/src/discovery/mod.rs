//! Sessions that never reported: agents running without agentd's hooks
//! (not installed, or started before agentd), found every [`INTERVAL`]
//! and listed with `discovered: true` and the status their own state
//! says. The first hook event of such a session takes it over (same
//! session id, no duplicate).
//!
//! Two sources: Claude Code's own per-process state files ([`claude`]),
//! and, for Codex CLI and Gemini CLI (which keep none), their processes
//! in `/proc` matched to the transcript each is writing ([`procs`]).

mod claude;
mod procs;

pub use claude::{claude_status, parse_claude_state, scan_claude};
pub use procs::{codex_status, gemini_status, scan_procs};

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use agentd_claude::hook::HookEnv;
use agentd_core::{Agent, EventContext, EventKind, LifecycleEvent, Status};
use serde_json::{Value, json};

use crate::ingest::{self, Source};

/// How often agents are looked for.
pub const INTERVAL: Duration = Duration::from_secs(5);
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
    let config_dir = agentd_client::claude_config_dir();
    let mut every = tokio::time::interval(INTERVAL);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = every.tick() => {}
        }
        let dir = config_dir.clone();
        let Ok(found) = tokio::task::spawn_blocking(move || {
            let now = crate::now_ms();
            let proc = Path::new("/proc");
            let mut found = dir.map(|d| scan_claude(&d, proc, now)).unwrap_or_default();
            found.extend(scan_procs(proc, now));
            found
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
