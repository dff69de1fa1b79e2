//! `agentd doctor`: one screen of everything that can be wrong, each
//! problem with the command that fixes it.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use agentd_client::{Client, Paths};
use agentd_proto::api::Health;
use serde::Serialize;
use serde_json::json;

use super::{install, print_json};

/// One check.
#[derive(Debug, Serialize)]
struct Check {
    /// What was checked.
    check: &'static str,
    /// Whether it is fine.
    ok: bool,
    /// What was found.
    detail: String,
    /// The command (or step) that fixes it, when not fine.
    #[serde(skip_serializing_if = "Option::is_none")]
    fix: Option<String>,
}

fn ok(check: &'static str, detail: impl Into<String>) -> Check {
    Check {
        check,
        ok: true,
        detail: detail.into(),
        fix: None,
    }
}

fn bad(check: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
    Check {
        check,
        ok: false,
        detail: detail.into(),
        fix: Some(fix.into()),
    }
}

/// A program's path on `PATH`, if any.
pub(super) fn on_path(name: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(name))
            .find(|f| f.is_file())
    })
}

/// The Claude Code CLI agentd uses: `$AGENTD_CLAUDE`, else `claude` on PATH.
pub(super) fn claude_bin() -> Option<std::path::PathBuf> {
    std::env::var_os("AGENTD_CLAUDE")
        .map(std::path::PathBuf::from)
        .or_else(|| on_path("claude"))
}

/// `prog --version`'s first line, within 5 s.
pub(super) fn version_of(prog: &Path) -> Option<String> {
    let mut child = std::process::Command::new(prog)
        .arg("--version")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok()?;
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        if child.try_wait().ok()?.is_some() {
            break;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().ok()?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .map(|l| agentd_core::text::one_line(l.trim()))
}

fn mode(p: &Path) -> Option<u32> {
    std::fs::metadata(p)
        .ok()
        .map(|m| m.permissions().mode() & 0o777)
}

/// Bytes under `dir` (one level of folders deep: the root's files, the
/// spool, the hook logs).
fn disk_use(dir: &Path) -> u64 {
    let mut total = 0;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    for e in entries.flatten() {
        match e.metadata() {
            Ok(m) if m.is_file() => total += m.len(),
            Ok(m) if m.is_dir() => {
                if let Ok(inner) = std::fs::read_dir(e.path()) {
                    total += inner
                        .flatten()
                        .filter_map(|f| f.metadata().ok())
                        .filter(|m| m.is_file())
                        .map(|m| m.len())
                        .sum::<u64>();
                }
            }
            _ => {}
        }
    }
    total
}

/// Runs every check.
fn checks(paths: &Paths) -> Vec<Check> {
    let mut out = Vec::new();
    // The daemon.
    let mut client = Client::connect(&paths.socket, Duration::from_secs(5)).ok();
    let health: Option<Health> = client.as_mut().and_then(|c| c.health().ok());
    match &health {
        Some(h) if h.version == env!("CARGO_PKG_VERSION") => out.push(ok(
            "daemon",
            format!(
                "running, pid {}, version {}, {} sessions",
                h.pid, h.version, h.sessions
            ),
        )),
        Some(h) => out.push(bad(
            "daemon",
            format!(
                "running version {}, this agentd is {}",
                h.version,
                env!("CARGO_PKG_VERSION")
            ),
            "agentd stop && agentd start",
        )),
        None => out.push(bad("daemon", "not running", "agentd start")),
    }
    if let Some(h) = &health {
        for p in &h.problems {
            out.push(bad(
                "daemon health",
                agentd_core::text::one_line(p),
                "see the problem's own advice",
            ));
        }
    }
    // Notification sinks: how their deliveries went (a failing one is
    // also a health problem above).
    for s in health.iter().flat_map(|h| &h.notify) {
        let name = agentd_core::text::one_line(&s.name);
        let line = format!(
            "{name} ({}): {} sent, {} failed, {} left out by its rules",
            s.kind, s.sent, s.failed, s.suppressed
        );
        match &s.last_error {
            None => out.push(ok("notify", line)),
            Some(e) => out.push(bad(
                "notify",
                format!("{line}; last error: {}", agentd_core::text::one_line(e)),
                "check the sink's url/command in [[notify.sinks]] of agentd.toml",
            )),
        }
    }
    // The link to HQ, when this daemon is a runner.
    if let Some(link) = health.as_ref().and_then(|h| h.hq.as_ref()) {
        let url = agentd_core::text::one_line(&link.url);
        if link.connected {
            out.push(ok(
                "hq",
                format!(
                    "linked to {url} as runner {}, HQ holds up to seq {} ({} links made)",
                    agentd_core::text::one_line(link.runner.as_deref().unwrap_or("?")),
                    link.acked_seq,
                    link.connects
                ),
            ));
        } else {
            let why = link
                .last_error
                .as_deref()
                .map(agentd_core::text::one_line)
                .unwrap_or_else(|| "not linked yet".into());
            out.push(bad(
                "hq",
                format!("not linked to {url}: {why}"),
                "check [hq] in agentd.toml (`agentd runner join URL --token T [--ca FILE]`), then agentd stop && agentd start; the daemon keeps dialling by itself",
            ));
        }
    }
    // Claude Code's settings.
    match install::settings_path() {
        None => out.push(bad(
            "hooks",
            "cannot find Claude Code's settings (no HOME or CLAUDE_CONFIG_DIR)",
            "set HOME or CLAUDE_CONFIG_DIR",
        )),
        Some(path) => match install::read(&path) {
            Err(e) => out.push(bad("hooks", e, "fix the JSON by hand, then agentd install")),
            Ok(doc) => {
                let commands: Vec<&str> = doc["hooks"]
                    .as_object()
                    .into_iter()
                    .flat_map(|m| m.values())
                    .flat_map(|groups| groups.as_array().into_iter().flatten())
                    .flat_map(|g| g["hooks"].as_array().into_iter().flatten())
                    .filter_map(|h| h["command"].as_str())
                    .filter(|c| agentd_claude::settings::is_agentd_command(c, "hook"))
                    .collect();
                let events = agentd_claude::settings::HOOK_EVENTS.len();
                if commands.is_empty() {
                    out.push(bad(
                        "hooks",
                        format!("not installed in {}", path.display()),
                        "agentd install",
                    ));
                } else {
                    let missing: Vec<&str> = commands
                        .iter()
                        .filter_map(|c| shlex::split(c).and_then(|w| w.first().cloned()))
                        .filter(|bin| !Path::new(bin).is_file())
                        .map(|_| "a hook command's binary is missing")
                        .collect();
                    if missing.is_empty() {
                        out.push(ok(
                            "hooks",
                            format!(
                                "{} hook commands in {} ({events} events agentd uses)",
                                commands.len(),
                                path.display()
                            ),
                        ));
                    } else {
                        out.push(bad(
                            "hooks",
                            format!(
                                "{} hook commands name a binary that does not exist",
                                missing.len()
                            ),
                            "agentd install",
                        ));
                    }
                }
                let line = doc["statusLine"]["command"].as_str().unwrap_or("");
                if agentd_claude::settings::is_agentd_command(line, "statusline") {
                    let chained = agentd_claude::settings::chained_command(line)
                        .map_or(String::new(), |c| {
                            format!(", chaining `{}`", agentd_core::text::one_line(&c))
                        });
                    out.push(ok("status line", format!("agentd's{chained}")));
                } else if line.is_empty() {
                    out.push(bad("status line", "not set", "agentd install"));
                } else {
                    out.push(bad(
                        "status line",
                        format!("another command: `{}`", agentd_core::text::one_line(line)),
                        "agentd install (it chains yours)",
                    ));
                }
            }
        },
    }
    // Codex CLI and Gemini CLI: checked once the user has them.
    for agent in [agentd_core::Agent::Codex, agentd_core::Agent::Gemini] {
        if let Some(c) = other_agent(agent) {
            out.push(c);
        }
    }
    // The index.
    if let Some(c) = client.as_mut() {
        match c.index_status(false) {
            Ok(s) if s.state == "off" => out.push(ok("index", "off ([index] enabled = false)")),
            Ok(s) if s.errors > 0 => out.push(bad(
                "index",
                format!(
                    "{}, {} errors, last: {}",
                    agentd_core::text::one_line(&s.state),
                    s.errors,
                    agentd_core::text::one_line(s.last_error.as_deref().unwrap_or(""))
                ),
                "agentd index --rescan --wait",
            )),
            Ok(s) => out.push(ok("index", agentd_core::text::one_line(&s.state))),
            Err(e) => out.push(bad("index", e.to_string(), "agentd index")),
        }
    }
    // Files and modes.
    match agentd_client::trust::check_dir(&paths.root) {
        Err(_) if !paths.root.exists() => out.push(bad(
            "root",
            format!("{} does not exist yet", paths.root.display()),
            "agentd start",
        )),
        Ok(()) => out.push(ok(
            "root",
            format!(
                "{} ({:o})",
                paths.root.display(),
                mode(&paths.root).unwrap_or(0)
            ),
        )),
        Err(e) => out.push(bad(
            "root",
            e.to_string(),
            format!("chmod go-w {}", paths.root.display()),
        )),
    }
    for (what, p) in [("token", &paths.token), ("socket", &paths.socket)] {
        match mode(p) {
            None if what == "socket" && health.is_none() => {}
            None => out.push(bad(
                what,
                format!("{} does not exist", p.display()),
                "agentd start",
            )),
            Some(m) if m & 0o077 != 0 => out.push(bad(
                what,
                format!("{} is mode {m:o}: others can use it", p.display()),
                format!("chmod 600 {}", p.display()),
            )),
            Some(m) => match agentd_client::trust::check_file(p) {
                Err(e) if what == "token" => out.push(bad(
                    what,
                    e.to_string(),
                    format!("rm {} && agentd stop && agentd start", p.display()),
                )),
                _ => out.push(ok(what, format!("{} ({m:o})", p.display()))),
            },
        }
    }
    // HTTP.
    match health.as_ref().and_then(|h| h.http_addr.clone()) {
        Some(addr) => match addr
            .parse::<std::net::SocketAddr>()
            .ok()
            .and_then(|a| std::net::TcpStream::connect_timeout(&a, Duration::from_secs(2)).ok())
        {
            Some(_) => out.push(ok("http", format!("listening on {addr}"))),
            None => out.push(bad(
                "http",
                format!("{addr} does not accept connections"),
                "agentd stop && agentd start",
            )),
        },
        None if health.is_some() => out.push(ok("http", "off")),
        None => {}
    }
    // Agent CLIs.
    match claude_bin() {
        Some(c) => match version_of(&c) {
            Some(v) => out.push(ok("claude", format!("{} ({v})", c.display()))),
            None => out.push(bad(
                "claude",
                format!("{} does not answer --version", c.display()),
                "npm install -g @anthropic-ai/claude-code",
            )),
        },
        None => out.push(bad(
            "claude",
            "not on PATH",
            "npm install -g @anthropic-ai/claude-code",
        )),
    }
    for name in ["codex", "gemini"] {
        match on_path(name) {
            Some(p) => out.push(ok(
                if name == "codex" { "codex" } else { "gemini" },
                p.display().to_string(),
            )),
            None => out.push(ok(
                if name == "codex" { "codex" } else { "gemini" },
                "not installed (optional)",
            )),
        }
    }
    out.push(ok(
        "disk",
        format!(
            "{:.1} MB in {}",
            disk_use(&paths.root) as f64 / 1e6,
            paths.root.display()
        ),
    ));
    out
}

/// `agentd doctor [--json]`: exits 1 when anything needs fixing.
/// The hooks check of Codex CLI or Gemini CLI; `None` when the user has
/// neither its folder nor agentd's hooks for it (it is not in use).
fn other_agent(agent: agentd_core::Agent) -> Option<Check> {
    let check = match agent {
        agentd_core::Agent::Codex => "codex hooks",
        _ => "gemini hooks",
    };
    let fix = format!("agentd install --agent {agent}");
    let (path, missing) = match super::install_agents::missing_hooks(agent) {
        Ok(r) => r,
        Err(e) => return Some(bad(check, e, format!("fix the file by hand, then {fix}"))),
    };
    let folder_exists = path.parent().is_some_and(Path::is_dir);
    let total = match agent {
        agentd_core::Agent::Codex => agentd_codex::settings::HOOK_EVENTS.len(),
        _ => agentd_gemini::settings::HOOK_EVENTS.len(),
    };
    if missing.len() == total {
        return folder_exists.then(|| {
            bad(
                check,
                format!("not installed in {}", path.display()),
                fix.clone(),
            )
        });
    }
    if !missing.is_empty() {
        return Some(bad(
            check,
            format!(
                "{} of {total} events lack agentd's hook in {}: {}",
                missing.len(),
                path.display(),
                missing.join(", ")
            ),
            fix,
        ));
    }
    if agent == agentd_core::Agent::Codex {
        let trusted = codex_trusted_hooks(&path.with_file_name("config.toml"));
        if trusted == 0 {
            return Some(bad(
                check,
                format!(
                    "installed in {}, but Codex has trusted no hook yet, so it skips them",
                    path.display()
                ),
                "start codex, type /hooks and trust agentd's hooks",
            ));
        }
        return Some(ok(
            check,
            format!(
                "{total} events in {}; Codex has {trusted} trusted hooks (it skips any whose hash changed since)",
                path.display()
            ),
        ));
    }
    Some(ok(check, format!("{total} events in {}", path.display())))
}

/// How many hooks Codex has recorded as trusted (`[hooks.state.*]
/// trusted_hash` in its config.toml); 0 when it cannot say.
fn codex_trusted_hooks(config: &Path) -> usize {
    let Ok(text) = agentd_fs::read_to_string(config, 4 << 20) else {
        return 0;
    };
    let Ok(doc) = text.parse::<toml::Table>() else {
        return 0;
    };
    doc.get("hooks")
        .and_then(|h| h.get("state"))
        .and_then(toml::Value::as_table)
        .map_or(0, |state| {
            state
                .values()
                .filter(|v| v.get("trusted_hash").is_some())
                .count()
        })
}

pub fn doctor(paths: &Paths, json: bool) -> ExitCode {
    let checks = checks(paths);
    let healthy = checks.iter().all(|c| c.ok);
    if json {
        let _ = print_json(&json!({"ok": healthy, "checks": checks}));
    } else {
        for c in &checks {
            println!(
                "{} {:<12} {}",
                if c.ok { "ok " } else { "!! " },
                c.check,
                agentd_core::text::one_line(&c.detail)
            );
            if let Some(f) = &c.fix {
                println!("                 fix: {}", agentd_core::text::one_line(f));
            }
        }
    }
    if healthy {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
