//! `agentd hook` and `agentd statusline` (also the `agentd-hook` binary):
//! what Claude Code runs.
//!
//! Both sit on Claude's hot path, so they use the blocking client (no async
//! runtime) and fail open: whatever goes wrong — no daemon, no socket, a slow
//! daemon, a bad payload — `hook` exits 0 with empty stdout, so Claude Code
//! carries on exactly as without agentd; what was not acknowledged is
//! spooled. Of `agentd.toml` only `[hook] timeout_ms` is read, without the
//! full config's validation (rules, hooks), which the hook never needs.

use std::io::{Read, Write};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use agentd_claude::hook::HookEnv;
use agentd_client::{ClientError, Paths, client, spool};
use agentd_core::Agent;
use agentd_proto::api::{IngestParams, IngestResult};
use agentd_proto::{MAX_FRAME_BYTES, method};
use serde_json::Value;

/// How long `statusline` waits for the daemon, ms: the status line must not lag.
const STATUSLINE_TIMEOUT_MS: u64 = 300;

/// Largest hook input read, bytes. Larger than a frame on purpose: a
/// payload up to this size is parsed and cut to
/// [`agentd_proto::MAX_PAYLOAD_BYTES`] with a marker (never dropped); only
/// beyond it is the input given up on.
const MAX_STDIN_BYTES: u64 = 64 << 20;

/// Reads stdin up to `limit` bytes; `None` when larger or unreadable.
fn read_stdin(limit: u64) -> Option<Vec<u8>> {
    let mut buf = Vec::with_capacity(8 * 1024);
    std::io::stdin()
        .lock()
        .take(limit + 1)
        .read_to_end(&mut buf)
        .ok()?;
    (buf.len() as u64 <= limit).then_some(buf)
}

/// The fail-open wait when neither `AGENTD_HOOK_TIMEOUT_MS` nor `[hook]
/// timeout_ms` says otherwise, ms (the same default as `agentd_client::Config`).
pub const DEFAULT_TIMEOUT_MS: u64 = 2000;

/// `[hook] timeout_ms` of an `agentd.toml`; every other key is ignored.
#[derive(serde::Deserialize, Default)]
struct HookOnly {
    #[serde(default)]
    hook: HookSection,
}

#[derive(serde::Deserialize, Default)]
struct HookSection {
    timeout_ms: Option<u64>,
}

/// `[hook] timeout_ms` from the config file, if it sets one.
fn configured_timeout_ms(config: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(config).ok()?;
    toml::from_str::<HookOnly>(&text).ok()?.hook.timeout_ms
}

/// Where to send and how long to wait; `None` (fail open) when unknown.
fn target(home: Option<&Path>) -> Option<(Paths, Duration)> {
    let paths = Paths::resolve(home).ok()?;
    let timeout_ms = std::env::var("AGENTD_HOOK_TIMEOUT_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .or_else(|| configured_timeout_ms(&paths.config))
        .unwrap_or(DEFAULT_TIMEOUT_MS);
    Some((paths, Duration::from_millis(timeout_ms)))
}

/// What only this process's environment knows, for a hook `agent` ran.
fn hook_env(agent: Agent) -> HookEnv {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let claude = agent == Agent::Claude;
    HookEnv {
        tmux_pane: var("TMUX_PANE"),
        // Claude Code 2.1.x exports CLAUDE_PID to hooks; for older ones
        // (and other agents) the daemon finds the agent from the socket's
        // peer (walking /proc here would cost every tool call ~65 µs;
        // BENCHMARKS.md). Another agent run from a Claude Code session
        // inherits its CLAUDE_* variables: they are not its own.
        claude_pid: var("CLAUDE_PID")
            .filter(|_| claude)
            .and_then(|p| p.parse().ok()),
        project_dir: match agent {
            Agent::Claude => var("CLAUDE_PROJECT_DIR"),
            Agent::Gemini => var("GEMINI_PROJECT_DIR"),
            Agent::Codex => None,
        },
        git_branch: None,
        agent: (!claude).then_some(agent),
    }
}

/// Milliseconds since the Unix epoch.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Claude Code gives all SessionEnd hooks together a 1.5 s budget
/// (reference §2.2): never spend more than 1 s of it.
const SESSION_END_TIMEOUT: Duration = Duration::from_millis(1000);

/// The timeout for one hook event: the configured one, capped per event.
fn event_timeout(event: Option<&Value>, configured: Duration) -> Duration {
    match event.and_then(Value::as_str) {
        Some("SessionEnd") => configured.min(SESSION_END_TIMEOUT),
        _ => configured,
    }
}

/// `agentd hook [--agent codex|gemini]`: the process's exit status (0, or
/// 2 to block). `agent` is the agent that runs the hook; its payload is
/// sent as it is and the daemon answers in that agent's shape.
pub fn hook(home: Option<&Path>, agent: Agent) -> u8 {
    let Some(raw) = read_stdin(MAX_STDIN_BYTES) else {
        eprintln!("agentd hook: stdin is over {MAX_STDIN_BYTES} bytes or unreadable; ignored");
        return 0;
    };
    let Ok(payload) = serde_json::from_slice::<Value>(&raw) else {
        eprintln!("agentd hook: stdin is not JSON; ignored");
        return 0;
    };
    // Compact JSON is never longer than the JSON it was parsed from, so
    // only input over the limit can need cutting: the common case skips
    // the extra serialization `fit_payload` measures with.
    let over_limit = raw.len() > agentd_proto::MAX_PAYLOAD_BYTES;
    drop(raw);
    let Some((paths, timeout)) = target(home) else {
        return 0;
    };
    let params = IngestParams {
        // The one size limit hook, spool and store agree on.
        payload: if over_limit {
            agentd_claude::hook::fit_payload(payload, agentd_proto::MAX_PAYLOAD_BYTES)
        } else {
            payload
        },
        env: serde_json::to_value(hook_env(agent)).unwrap_or(Value::Null),
        event_id: Some(spool::new_id()),
    };
    let timeout = event_timeout(params.payload.get("hook_event_name"), timeout);
    match client::oneshot::<_, IngestResult>(&paths.socket, timeout, method::HOOK_INGEST, &params) {
        Ok(result) => {
            if let Some(output) = result.output.filter(|o| !o.is_null()) {
                let mut out = std::io::stdout().lock();
                let _ = serde_json::to_writer(&mut out, &output);
                let _ = out.write_all(b"\n");
            }
            match result.exit_code {
                0 => 0,
                code => u8::try_from(code).unwrap_or(0),
            }
        }
        Err(ClientError::Rpc(e)) if e.code == agentd_proto::code::INVALID_PARAMS => {
            // The daemon read it and says it is unusable (no session_id):
            // spooling would not change that. Stderr on exit 0 only reaches
            // Claude Code's debug log.
            eprintln!("agentd hook: {}", e.message);
            0
        }
        Err(e) => {
            // Fail open, but remember: whatever kept the event from being
            // acknowledged (no daemon, refused, capped, closed, timed out, a
            // stopped daemon), it goes to the spool, which the daemon
            // drains. Its id makes a second delivery harmless. Only into an
            // existing root: no files for users who never ran agentd.
            if paths.root.is_dir() {
                let event = spool::Spooled {
                    id: params.event_id,
                    ts_ms: now_ms(),
                    payload: params.payload,
                    env: params.env,
                };
                if let Err(se) = spool::write(&paths.spool, &event) {
                    eprintln!("agentd hook: {e}, and {se}");
                }
            } else {
                eprintln!("agentd hook: {e}");
            }
            0
        }
    }
}

/// `agentd statusline [--chain CMD]`.
pub fn statusline(home: Option<&Path>, chain: Option<&str>) -> u8 {
    let raw = read_stdin(MAX_FRAME_BYTES as u64 - 4096).unwrap_or_default();
    let payload = serde_json::from_slice::<Value>(&raw).ok();
    if let (Some(payload), Some((paths, _))) = (payload.as_ref(), target(home)) {
        let params = IngestParams {
            payload: payload.clone(),
            env: serde_json::to_value(hook_env(Agent::Claude)).unwrap_or(Value::Null),
            event_id: None,
        };
        let _ = client::oneshot::<_, IngestResult>(
            &paths.socket,
            Duration::from_millis(STATUSLINE_TIMEOUT_MS),
            method::STATUS_INGEST,
            params,
        );
    }
    let mut out = std::io::stdout().lock();
    if let Some(command) = chain {
        // The user's own status line wins the screen: chain, never clobber.
        match run_chained(command, &raw) {
            Ok(text) => {
                let _ = out.write_all(&text);
            }
            Err(e) => eprintln!("agentd statusline: chained command failed: {e}"),
        }
        return 0;
    }
    let line = payload
        .as_ref()
        .map(agentd_claude::statusline::render)
        .unwrap_or_else(|| "agentd".to_owned());
    let _ = writeln!(out, "{line}");
    0
}

/// Runs the user's status-line command with the same stdin; returns its stdout.
fn run_chained(command: &str, stdin: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut child = std::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    if let Some(mut input) = child.stdin.take() {
        // A command that does not read stdin closes it early: not an error.
        let _ = input.write_all(stdin);
    }
    Ok(child.wait_with_output()?.stdout)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hook_reads_only_its_timeout_and_agrees_on_the_default() {
        assert_eq!(
            DEFAULT_TIMEOUT_MS,
            agentd_client::Config::default().hook.timeout_ms
        );
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("agentd.toml");
        assert_eq!(configured_timeout_ms(&f), None);
        std::fs::write(
            &f,
            "[hook]\ntimeout_ms = 750\n[daemon]\nlog = \"debug\"\n[[rules]]\nrule = \"Bash(rm:*)\"\naction = \"deny\"\n",
        )
        .unwrap();
        assert_eq!(configured_timeout_ms(&f), Some(750));
        std::fs::write(&f, "[daemon]\nlog = \"debug\"\n").unwrap();
        assert_eq!(configured_timeout_ms(&f), None);
    }
}
