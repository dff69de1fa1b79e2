//! `agentd install --agent codex|gemini` and `agentd uninstall --agent
//! codex|gemini`: agentd's hooks in Codex CLI's `hooks.json` and Gemini
//! CLI's `settings.json`, with the same backup-then-replace as Claude
//! Code's settings.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use agentd_core::Agent;
use serde_json::Value;

use super::fail;
use super::install::{commands, read, save};

/// The file agentd's hooks for `agent` go in (`None`: no HOME).
pub fn config_path(agent: Agent) -> Option<PathBuf> {
    match agent {
        Agent::Claude => super::install::settings_path(),
        Agent::Codex => agentd_client::codex_home().map(|d| d.join("hooks.json")),
        Agent::Gemini => agentd_client::gemini_dir().map(|d| d.join("settings.json")),
    }
}

/// What to tell the user when `agent`'s config file cannot be found.
fn no_path(agent: Agent) -> ExitCode {
    fail(match agent {
        Agent::Codex => "cannot find Codex CLI's home: set HOME or CODEX_HOME",
        _ => "cannot find Gemini CLI's settings: set HOME or GEMINI_CLI_HOME",
    })
}

/// `agentd install --agent codex|gemini [--dry-run]`.
pub fn install(home: Option<&Path>, agent: Agent, dry_run: bool) -> ExitCode {
    let Some(path) = config_path(agent) else {
        return no_path(agent);
    };
    let mut doc = match read(&path) {
        Ok(d) => d,
        Err(e) => return fail(&e),
    };
    let cmds = match commands(home) {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    let hook = format!("{} --agent {agent}", cmds.hook);
    let changed = match agent {
        Agent::Codex => agentd_codex::settings::install(&mut doc, &hook, cmds.hold_timeout_s),
        _ => agentd_gemini::settings::install(
            &mut doc,
            &hook,
            cmds.hold_timeout_s.saturating_mul(1000),
        ),
    };
    let changed = match changed {
        Ok(c) => c,
        Err(e) => return fail(&format!("{}: {e}", path.display())),
    };
    if changed.is_empty() {
        println!("agentd is already installed in {}", path.display());
        trust_note(agent);
        return ExitCode::SUCCESS;
    }
    println!("hooks: {} → {hook}", changed.join(", "));
    let code = save(&path, &doc, dry_run, "installed in");
    if code == ExitCode::SUCCESS && !dry_run {
        trust_note(agent);
    }
    code
}

/// Codex runs a hook only once the user trusts its hash; say how.
fn trust_note(agent: Agent) {
    if agent == Agent::Codex {
        println!(
            "Codex runs new hooks only after you trust them: start `codex`, type /hooks and trust \
             agentd's ({} events); until then it skips them without a word. `agentd doctor` \
             checks.",
            agentd_codex::settings::HOOK_EVENTS.len()
        );
    }
}

/// `agentd uninstall --agent codex|gemini [--dry-run]`.
pub fn uninstall(agent: Agent, dry_run: bool) -> ExitCode {
    let Some(path) = config_path(agent) else {
        return no_path(agent);
    };
    if !path.exists() {
        println!("nothing to uninstall: {} does not exist", path.display());
        return ExitCode::SUCCESS;
    }
    let mut doc: Value = match read(&path) {
        Ok(d) => d,
        Err(e) => return fail(&e),
    };
    let removed = match agent {
        Agent::Codex => agentd_codex::settings::uninstall(&mut doc),
        _ => agentd_gemini::settings::uninstall(&mut doc),
    };
    match removed {
        Ok(0) => {
            println!("agentd is not installed in {}", path.display());
            ExitCode::SUCCESS
        }
        Ok(n) => {
            println!("removing {n} hook handlers");
            save(&path, &doc, dry_run, "uninstalled from")
        }
        Err(e) => fail(&format!("{}: {e}", path.display())),
    }
}

/// Which of `agent`'s hook events lack agentd's handler: `Ok(missing)`,
/// or why the file could not be read. For `agentd doctor`.
pub fn missing_hooks(agent: Agent) -> Result<(PathBuf, Vec<&'static str>), String> {
    let path = config_path(agent).ok_or("no HOME")?;
    let doc = read(&path)?;
    let missing = match agent {
        Agent::Claude => {
            let events: Vec<&str> = agentd_claude::settings::HOOK_EVENTS
                .iter()
                .map(|(e, _)| *e)
                .collect();
            agentd_claude::settings::missing_handlers(&doc, &events)
        }
        Agent::Codex => agentd_codex::settings::missing(&doc),
        Agent::Gemini => agentd_gemini::settings::missing(&doc),
    };
    Ok((path, missing))
}
