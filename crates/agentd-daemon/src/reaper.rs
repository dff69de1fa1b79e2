//! Ends sessions whose agent process is gone.
//!
//! Claude Code does not always fire SessionEnd (a crash, a killed terminal,
//! `kill -9`). The hook client reports Claude's pid; every few seconds the
//! reaper checks each live session's pid and appends a `process.exited`
//! event for those that no longer exist. It also runs once at start, so
//! sessions that died while the daemon was down end too. A session with no
//! pid to watch ends as `stale` once it has been silent for
//! `[daemon] stale_after_s`: every status has an exit.

use std::sync::Arc;
use std::time::Duration;

use agentd_core::Status;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::ingest::{self, Source};
use crate::state::Shared;

/// Whether process `pid` exists (signal 0; EPERM still means it exists).
pub fn alive(pid: u32) -> bool {
    let Ok(raw) = i32::try_from(pid) else {
        return false;
    };
    let Some(pid) = rustix::process::Pid::from_raw(raw) else {
        return false;
    };
    match rustix::process::test_kill_process(pid) {
        Ok(()) => true,
        Err(e) => e != rustix::io::Errno::SRCH,
    }
}

/// Whether `pid` has exited, reaped or not: gone, or a zombie its parent
/// has not waited for (`/proc/<pid>/stat` state `Z`/`X`). Blocking: reads
/// `/proc`.
pub fn exited(pid: u32) -> bool {
    if !alive(pid) {
        return true;
    }
    crate::procfs::read_stat(std::path::Path::new("/proc"), pid).is_some_and(|st| st.exited())
}

/// One pass: appends `process.exited` for every live session whose pid is
/// gone (or a zombie).
pub async fn sweep(shared: &Arc<Shared>) {
    let live: Vec<(String, u32)> = match shared.registry.read() {
        Ok(r) => r
            .iter()
            .filter(|s| s.status != Status::Ended)
            .filter_map(|s| s.pid.map(|p| (s.id.clone(), p)))
            .collect(),
        Err(_) => return,
    };
    let dead: Vec<(String, u32)> = if live.is_empty() {
        Vec::new()
    } else {
        tokio::task::spawn_blocking(move || {
            live.into_iter().filter(|(_, pid)| exited(*pid)).collect()
        })
        .await
        .unwrap_or_default()
    };
    let stale_ms =
        i64::try_from(shared.config.daemon.stale_after_s.saturating_mul(1000)).unwrap_or(i64::MAX);
    let now = crate::now_ms();
    let stale: Vec<String> = match shared.registry.read() {
        Ok(r) => r
            .iter()
            .filter(|s| s.status != Status::Ended && s.pid.is_none())
            .filter(|s| now.saturating_sub(s.last_event_ms) > stale_ms)
            .map(|s| s.id.clone())
            .collect(),
        Err(_) => return,
    };
    for session_id in stale {
        let payload = json!({"session_id": session_id, "name": "SessionStale"});
        match ingest::prepare(Source::Daemon, &payload, Default::default()) {
            Ok(p) => match ingest::submit(shared, p).await {
                Ok(_) => {
                    tracing::info!(%session_id, "silent session without a process; ended as stale")
                }
                Err(e) => tracing::warn!(%session_id, error = %e, "could not end a stale session"),
            },
            Err(e) => tracing::warn!(%session_id, error = %e, "could not prepare a stale end"),
        }
    }
    for (session_id, pid) in dead {
        let payload = json!({"session_id": session_id, "name": "ProcessExited", "pid": pid});
        match ingest::prepare(Source::Daemon, &payload, Default::default()) {
            Ok(p) => {
                if let Err(e) = ingest::submit(shared, p).await {
                    tracing::warn!(%session_id, error = %e, "could not record process exit");
                } else {
                    tracing::info!(%session_id, pid, "agent process gone; session ended");
                }
            }
            Err(e) => tracing::warn!(%session_id, error = %e, "could not prepare process exit"),
        }
    }
}

/// Sweeps every `every` until `shutdown`.
pub async fn run(shared: Arc<Shared>, every: Duration, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(every.max(Duration::from_millis(100)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => sweep(&shared).await,
        }
    }
}

#[cfg(test)]
mod zombie_tests {
    use super::*;

    #[test]
    fn an_unreaped_child_has_exited_though_signal_0_reaches_it() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        assert!(!exited(std::process::id()));
        // Not waited for: a zombie until reaped.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while !exited(pid) {
            assert!(
                std::time::Instant::now() < deadline,
                "the child never exited"
            );
            std::thread::yield_now();
        }
        assert!(alive(pid), "a zombie still takes signal 0");
        let _ = child.wait();
        assert!(exited(pid));
    }
}
