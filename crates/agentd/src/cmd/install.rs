//! `agentd install` / `agentd uninstall`: edit Claude Code's user settings.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use agentd_claude::settings::{self, Commands};
use serde_json::Value;

use super::fail;

/// Claude Code's user settings: `$CLAUDE_CONFIG_DIR/settings.json`, else
/// `~/.claude/settings.json` (reference §2.1).
pub fn settings_path() -> Option<PathBuf> {
    agentd_client::claude_config_dir().map(|d| d.join("settings.json"))
}

/// Reads the settings; a missing file is `{}`.
pub fn read(path: &Path) -> Result<Value, String> {
    match std::fs::read_to_string(path) {
        Ok(text) if text.trim().is_empty() => Ok(Value::Object(Default::default())),
        Ok(text) => serde_json::from_str(&text).map_err(|e| {
            format!(
                "{} is not valid JSON ({e}); refusing to touch it — fix it by hand, then run again",
                path.display()
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Value::Object(Default::default())),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

/// Backs the file up (timestamped copy beside it), then replaces it atomically.
fn write(path: &Path, doc: &Value) -> Result<Option<PathBuf>, String> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let backup = if path.exists() {
        let stamp = jiff::Timestamp::now()
            .strftime("%Y%m%dT%H%M%S%.3fZ")
            .to_string();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("settings.json");
        let backup = path.with_file_name(format!("{name}.agentd-backup-{stamp}"));
        std::fs::copy(path, &backup)
            .map_err(|e| format!("cannot back up {}: {e}", path.display()))?;
        Some(backup)
    } else {
        None
    };
    let mut text = serde_json::to_string_pretty(doc).map_err(|e| e.to_string())?;
    text.push('\n');
    let tmp = path.with_file_name(format!(".agentd-write-{}", std::process::id()));
    std::fs::write(&tmp, text).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    if let Ok(meta) = std::fs::metadata(path) {
        let _ = std::fs::set_permissions(&tmp, meta.permissions());
    }
    std::fs::rename(&tmp, path).map_err(|e| format!("cannot replace {}: {e}", path.display()))?;
    Ok(backup)
}

/// Writes `doc` (unless `dry_run`) and reports the backup and the outcome.
pub(super) fn save(path: &Path, doc: &Value, dry_run: bool, done: &str) -> ExitCode {
    if dry_run {
        println!("(dry run: {} not changed)", path.display());
        return ExitCode::SUCCESS;
    }
    match write(path, doc) {
        Ok(backup) => {
            if let Some(b) = backup {
                println!("backup: {}", b.display());
            }
            println!("{done} {}", path.display());
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e),
    }
}

/// The binary Claude Code runs for hooks and the status line: the small
/// `agentd-hook` beside this `agentd` when it is there (it starts about as
/// fast as `cat`), else this `agentd` (same behaviour, slower start).
fn binary_path() -> Result<String, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find the agentd binary: {e}"))?;
    let exe = exe.canonicalize().unwrap_or(exe);
    let small = exe.with_file_name("agentd-hook");
    let exe = if small.is_file() { small } else { exe };
    exe.to_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("the agentd binary path {} is not UTF-8", exe.display()))
}

/// The hook and status-line commands for this binary, pinned to `home`
/// (or `$AGENTD_HOME`) when given, with the hold timeout of that root's
/// approvals (held hooks must outlive it).
pub(super) fn commands(home: Option<&Path>) -> Result<Commands, String> {
    let exe = binary_path()?;
    // Pin the root the hooks report to when it is not the default one.
    let home = home.map(Path::to_path_buf).or_else(|| {
        std::env::var_os("AGENTD_HOME")
            .filter(|h| !h.is_empty())
            .map(PathBuf::from)
    });
    let home = home.map(|h| std::path::absolute(&h).unwrap_or(h));
    let home = home.as_ref().and_then(|h| h.to_str());
    let mut cmds = Commands::for_binary(&exe, home);
    if let Ok(paths) = agentd_client::Paths::resolve(home.map(Path::new))
        && let Ok(config) = agentd_client::Config::load(&paths.config)
    {
        cmds.hold_timeout_s = config.approvals.timeout_s.saturating_add(60);
    }
    Ok(cmds)
}

/// `agentd install [--dry-run]`.
pub fn install(home: Option<&Path>, dry_run: bool) -> ExitCode {
    let Some(path) = settings_path() else {
        return fail("cannot find Claude Code's settings: set HOME or CLAUDE_CONFIG_DIR");
    };
    let mut doc = match read(&path) {
        Ok(d) => d,
        Err(e) => return fail(&e),
    };
    let mut cmds = match commands(home) {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    // Hook events newer than the installed Claude Code are left out (it
    // would refuse its settings).
    cmds.claude_version = super::doctor::claude_bin()
        .and_then(|c| super::doctor::version_of(&c))
        .and_then(|v| settings::parse_version(&v));
    let report = match settings::install(&mut doc, &cmds) {
        Ok(r) => r,
        Err(e) => return fail(&format!("{}: {e}", path.display())),
    };
    if report.hooks_changed.is_empty() && !report.statusline_changed {
        println!("agentd is already installed in {}", path.display());
        return ExitCode::SUCCESS;
    }
    if !report.hooks_changed.is_empty() {
        println!("hooks: {} → {}", report.hooks_changed.join(", "), cmds.hook);
    }
    if report.statusline_changed {
        println!("statusLine → {}", cmds.statusline);
    }
    if let Some(prev) = &report.chained_statusline {
        println!("your status line `{prev}` is kept: agentd runs it and prints its output");
    }
    save(&path, &doc, dry_run, "installed in")
}

/// `agentd uninstall [--dry-run]`.
pub fn uninstall(dry_run: bool) -> ExitCode {
    let Some(path) = settings_path() else {
        return fail("cannot find Claude Code's settings: set HOME or CLAUDE_CONFIG_DIR");
    };
    if !path.exists() {
        println!("nothing to uninstall: {} does not exist", path.display());
        return ExitCode::SUCCESS;
    }
    let mut doc = match read(&path) {
        Ok(d) => d,
        Err(e) => return fail(&e),
    };
    let report = match settings::uninstall(&mut doc) {
        Ok(r) => r,
        Err(e) => return fail(&format!("{}: {e}", path.display())),
    };
    if report.hooks_removed == 0 && !report.statusline_restored {
        println!("agentd is not installed in {}", path.display());
        return ExitCode::SUCCESS;
    }
    println!(
        "removing {} hook handlers{}",
        report.hooks_removed,
        if report.statusline_restored {
            " and agentd's status line"
        } else {
            ""
        }
    );
    save(&path, &doc, dry_run, "uninstalled from")
}
