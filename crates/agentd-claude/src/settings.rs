//! The edits `agentd install` and `agentd uninstall` make to Claude Code's
//! user settings (`settings.json`, reference §2.2 hooks and §3.1 statusLine).
//!
//! Pure functions over [`serde_json::Value`]; reading, backing up and writing
//! the file is the CLI's job. Invariants:
//! * install is idempotent: installing twice gives the same document;
//! * every setting and hook that is not agentd's is kept as it was;
//! * uninstall removes exactly the handlers install added and restores a
//!   chained status line.

use serde_json::{Map, Value, json};

/// Hook events agentd consumes, with the `timeout` (seconds) it installs.
/// The ones that can be held for a human (PermissionRequest, PreToolUse,
/// Elicitation) get [`Commands::hold_timeout_s`] instead; this table's
/// value is the default. Events on which agentd's hook runner typically runs
/// project checks (Stop, SubagentStop, PostToolUse, PostToolUseFailure) get
/// Claude Code's own default of 600 s, so a slow check is not cut off; a
/// missing daemon still costs only `agentd hook`'s short fail-open wait.
pub const HOOK_EVENTS: &[(&str, u64)] = &[
    ("SessionStart", 10),
    ("UserPromptSubmit", 10),
    ("PreToolUse", 3660),
    ("PermissionRequest", 3660),
    ("PermissionDenied", 10),
    ("PostToolUse", 600),
    ("PostToolUseFailure", 600),
    ("Notification", 10),
    ("SubagentStart", 10),
    ("SubagentStop", 600),
    ("PreCompact", 10),
    ("Stop", 600),
    ("StopFailure", 10),
    ("SessionEnd", 10),
    ("Elicitation", 3660),
    ("ElicitationResult", 10),
];

/// Claude Code's hook before a skill's embedded shell command (matched on
/// `tool_name`, blocking like PreToolUse), and the first version that has
/// it. Older versions refuse hook events they do not know, so install adds
/// it only for a Claude Code that has it ([`Commands::claude_version`]).
pub const SKILL_SHELL_HOOK: (&str, (u32, u32, u32)) = ("PreSkillShellCommand", (2, 1, 332));

/// `claude --version`'s output (`2.1.330 (Claude Code)`) as a version.
pub fn parse_version(text: &str) -> Option<(u32, u32, u32)> {
    let word = text.split_whitespace().next()?;
    let mut parts = word.split('.').map(|p| p.parse::<u32>().ok());
    Some((parts.next()??, parts.next()??, parts.next()??))
}

/// Why the settings document cannot be edited.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SettingsError {
    /// The top level, `hooks`, an event's list or `statusLine` has the wrong shape.
    #[error("`{path}` in {file} is {found}, expected {expected}; fix or remove it, then run again")]
    Shape {
        /// The file's name, e.g. `settings.json` or `hooks.json`.
        file: &'static str,
        /// JSON path of the offending value, e.g. `hooks.PreToolUse`.
        path: String,
        /// What was found.
        found: &'static str,
        /// What was expected.
        expected: &'static str,
    },
}

/// The commands install writes.
#[derive(Debug, Clone, PartialEq)]
pub struct Commands {
    /// Shell command of the hook handlers, e.g. `'/usr/bin/agentd' hook`.
    pub hook: String,
    /// Shell command of the status line, e.g. `'/usr/bin/agentd' statusline`.
    pub statusline: String,
    /// `timeout` (seconds) of the hooks that can be held for a human: the
    /// approval timeout plus a minute, so agentd answers before Claude Code
    /// gives up.
    pub hold_timeout_s: u64,
    /// The installed Claude Code's version, when known: hook events newer
    /// than it are left out.
    pub claude_version: Option<(u32, u32, u32)>,
}

impl Commands {
    /// The commands for the agentd binary at `exe`, optionally pinned to an
    /// agentd root (`--home`), every word shell-quoted.
    pub fn for_binary(exe: &str, home: Option<&str>) -> Commands {
        let mut prefix = quote(exe);
        if let Some(home) = home {
            prefix.push_str(" --home ");
            prefix.push_str(&quote(home));
        }
        Commands {
            hook: format!("{prefix} hook"),
            statusline: format!("{prefix} statusline"),
            hold_timeout_s: 3660,
            claude_version: None,
        }
    }
}

/// Quotes `s` for `sh -c`.
pub fn quote(s: &str) -> String {
    shlex::try_quote(s)
        .map(|q| q.into_owned())
        // Only NUL cannot be quoted; a path never contains one.
        .unwrap_or_else(|_| format!("'{}'", s.replace('\0', "").replace('\'', r"'\''")))
}

/// Whether `command` is one agentd's install wrote (any binary path):
/// `<…/agentd> [--home H] <verb> [--chain C | --agent A]`.
pub fn is_agentd_command(command: &str, verb: &str) -> bool {
    let Some(words) = shlex::split(command) else {
        return false;
    };
    let Some(first) = words.first() else {
        return false;
    };
    let is_agentd = std::path::Path::new(first)
        .file_name()
        .is_some_and(|n| n == "agentd" || n == "agentd-hook");
    let rest: Vec<&str> = words[1..].iter().map(String::as_str).collect();
    let rest = match rest.as_slice() {
        ["--home", _, tail @ ..] => tail,
        tail => tail,
    };
    is_agentd
        && match rest {
            [v] => *v == verb,
            [v, "--chain", _] => *v == verb,
            [v, "--agent", _] => *v == verb && verb == "hook",
            _ => false,
        }
}

/// What [`install`] changed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct InstallReport {
    /// Events whose agentd handler was added or updated.
    pub hooks_changed: Vec<String>,
    /// Whether the status line was set or updated.
    pub statusline_changed: bool,
    /// The user's own status-line command, now chained behind agentd's.
    pub chained_statusline: Option<String>,
}

/// Adds agentd's hook handlers and status line to `settings`.
///
/// # Errors
/// [`SettingsError::Shape`] when a value agentd must edit has the wrong type;
/// `settings` is then unchanged.
pub fn install(settings: &mut Value, cmds: &Commands) -> Result<InstallReport, SettingsError> {
    let mut doc = settings.clone();
    let mut report = InstallReport::default();
    let root = as_object(&mut doc, "settings.json (top level)")?;
    let hooks = root.entry("hooks").or_insert_with(|| json!({}));
    let hooks = as_object(hooks, "hooks")?;
    let skill = (SKILL_SHELL_HOOK.0, 0);
    let has_skill_hook = cmds.claude_version.is_some_and(|v| v >= SKILL_SHELL_HOOK.1);
    let wanted: Vec<(&str, Value)> = HOOK_EVENTS
        .iter()
        .chain(has_skill_hook.then_some(&skill))
        .map(|(event, timeout)| {
            let timeout = match *event {
                "PreToolUse" | "PermissionRequest" | "Elicitation" | "PreSkillShellCommand" => {
                    cmds.hold_timeout_s
                }
                _ => *timeout,
            };
            (
                *event,
                json!({"type": "command", "command": cmds.hook, "timeout": timeout}),
            )
        })
        .collect();
    report.hooks_changed = put_handlers(hooks, SETTINGS, &wanted)?;

    match root.get_mut("statusLine") {
        None | Some(Value::Null) => {
            root.insert(
                "statusLine".into(),
                json!({"type": "command", "command": cmds.statusline}),
            );
            report.statusline_changed = true;
        }
        Some(Value::Object(line)) => {
            let current = line
                .get("command")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            let wanted = if is_agentd_command(&current, "statusline") {
                // Keep the chain of an earlier install; refresh the binary path.
                match chained_command(&current) {
                    Some(prev) => format!("{} --chain {}", cmds.statusline, quote(&prev)),
                    None => cmds.statusline.clone(),
                }
            } else if current.is_empty() {
                cmds.statusline.clone()
            } else {
                report.chained_statusline = Some(current.clone());
                format!("{} --chain {}", cmds.statusline, quote(&current))
            };
            if wanted != current {
                line.insert("type".into(), json!("command"));
                line.insert("command".into(), json!(wanted));
                report.statusline_changed = true;
            }
        }
        Some(other) => return Err(shape("statusLine", other, "an object")),
    }
    *settings = doc;
    Ok(report)
}

/// What [`uninstall`] changed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UninstallReport {
    /// Hook handlers removed.
    pub hooks_removed: usize,
    /// Whether agentd's status line was removed or replaced by the chained one.
    pub statusline_restored: bool,
}

/// Removes what [`install`] added: agentd's hook handlers (emptied groups and
/// events too) and its status line, restoring a chained one.
///
/// # Errors
/// [`SettingsError::Shape`] when the top level is not an object.
pub fn uninstall(settings: &mut Value) -> Result<UninstallReport, SettingsError> {
    let mut report = UninstallReport::default();
    let root = as_object(settings, "settings.json (top level)")?;
    let events: Vec<&str> = HOOK_EVENTS
        .iter()
        .map(|(e, _)| *e)
        .chain([SKILL_SHELL_HOOK.0])
        .collect();
    report.hooks_removed = remove_handlers(root, &events);
    if let Some(Value::Object(line)) = root.get_mut("statusLine") {
        let current = line
            .get("command")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        if is_agentd_command(&current, "statusline") {
            report.statusline_restored = true;
            match chained_command(&current) {
                Some(prev) => {
                    line.insert("command".into(), json!(prev));
                }
                None => {
                    root.remove("statusLine");
                }
            }
        }
    }
    Ok(report)
}

/// The user's command chained behind agentd's status line, if any.
pub fn chained_command(command: &str) -> Option<String> {
    let words = shlex::split(command)?;
    let pos = words.iter().position(|w| w == "--chain")?;
    words.get(pos + 1).cloned()
}

/// The file name errors about Claude Code's settings name.
const SETTINGS: &str = "settings.json";

/// Puts each `(event, handler)` of `wanted` into `hooks` (the `hooks`
/// object of a Claude-style hook config: event → `[{matcher?, hooks:
/// [handler]}]`, a shape Codex CLI and Gemini CLI share): an agentd
/// handler already there is updated in place, duplicates of it are
/// removed, and a missing one is added in a group of its own. Everything
/// else is kept. Returns the events whose handler was added or changed.
///
/// # Errors
/// [`SettingsError::Shape`] naming `file` when an event's value is not an
/// array; `hooks` may then be partly edited, so callers edit a copy.
pub fn put_handlers(
    hooks: &mut Map<String, Value>,
    file: &'static str,
    wanted: &[(&str, Value)],
) -> Result<Vec<String>, SettingsError> {
    let mut changed = Vec::new();
    for (event, want) in wanted {
        let groups = hooks.entry(*event).or_insert_with(|| json!([]));
        let Value::Array(groups) = groups else {
            return Err(shape_in(
                file,
                &format!("hooks.{event}"),
                groups,
                "an array",
            ));
        };
        let mut found = false;
        for group in groups.iter_mut() {
            let Some(handlers) = group.get_mut("hooks").and_then(Value::as_array_mut) else {
                continue;
            };
            for handler in handlers.iter_mut() {
                if handler_is_agentd(handler) {
                    if found {
                        // A duplicate from an earlier, hand-edited install.
                        *handler = Value::Null;
                        continue;
                    }
                    found = true;
                    if handler != want {
                        *handler = want.clone();
                        changed.push((*event).to_owned());
                    }
                }
            }
            handlers.retain(|h| !h.is_null());
        }
        if !found {
            groups.push(json!({"hooks": [want]}));
            changed.push((*event).to_owned());
        }
    }
    Ok(changed)
}

/// Removes agentd's handlers of `events` from `root.hooks`, and the groups,
/// events and `hooks` object they leave empty. Returns how many handlers
/// went.
pub fn remove_handlers(root: &mut Map<String, Value>, events: &[&str]) -> usize {
    let mut removed_total = 0;
    let Some(Value::Object(hooks)) = root.get_mut("hooks") else {
        return 0;
    };
    for event in events {
        let Some(Value::Array(groups)) = hooks.get_mut(*event) else {
            continue;
        };
        for group in groups.iter_mut() {
            let Some(handlers) = group.get_mut("hooks").and_then(Value::as_array_mut) else {
                continue;
            };
            let before = handlers.len();
            handlers.retain(|h| !handler_is_agentd(h));
            let removed = before - handlers.len();
            removed_total += removed;
            if removed > 0 && handlers.is_empty() {
                *group = Value::Null;
            }
        }
        groups.retain(|g| !g.is_null());
        if groups.is_empty() {
            hooks.remove(*event);
        }
    }
    if hooks.is_empty() {
        root.remove("hooks");
    }
    removed_total
}

/// [`put_handlers`] on a whole config document (`file`'s top level), edited
/// as a copy: `doc` changes only when every event could be edited.
///
/// # Errors
/// [`SettingsError::Shape`] when the top level or `hooks` is not an object,
/// or an event's value is not an array.
pub fn install_handlers(
    doc: &mut Value,
    file: &'static str,
    wanted: &[(&str, Value)],
) -> Result<Vec<String>, SettingsError> {
    let mut edited = doc.clone();
    let root = object_in(file, &mut edited, &format!("{file} (top level)"))?;
    let hooks = root.entry("hooks").or_insert_with(|| json!({}));
    let hooks = object_in(file, hooks, "hooks")?;
    let changed = put_handlers(hooks, file, wanted)?;
    *doc = edited;
    Ok(changed)
}

/// [`remove_handlers`] on a whole config document (`file`'s top level).
///
/// # Errors
/// [`SettingsError::Shape`] when the top level is not an object.
pub fn uninstall_handlers(
    doc: &mut Value,
    file: &'static str,
    events: &[&str],
) -> Result<usize, SettingsError> {
    let root = object_in(file, doc, &format!("{file} (top level)"))?;
    Ok(remove_handlers(root, events))
}

/// The `events` that have no agentd handler in `doc`.
pub fn missing_handlers<'e>(doc: &Value, events: &[&'e str]) -> Vec<&'e str> {
    events
        .iter()
        .copied()
        .filter(|e| !has_handler(doc, e))
        .collect()
}

/// Whether `root.hooks` has an agentd handler for `event`.
pub fn has_handler(root: &Value, event: &str) -> bool {
    root.get("hooks")
        .and_then(|h| h.get(event))
        .and_then(Value::as_array)
        .is_some_and(|groups| {
            groups.iter().any(|g| {
                g.get("hooks")
                    .and_then(Value::as_array)
                    .is_some_and(|hs| hs.iter().any(handler_is_agentd))
            })
        })
}

fn handler_is_agentd(handler: &Value) -> bool {
    handler.get("type").and_then(Value::as_str) == Some("command")
        && handler
            .get("command")
            .and_then(Value::as_str)
            .is_some_and(|c| is_agentd_command(c, "hook"))
}

fn as_object<'a>(
    v: &'a mut Value,
    path: &str,
) -> Result<&'a mut Map<String, Value>, SettingsError> {
    object_in(SETTINGS, v, path)
}

/// `v` as an object, or [`SettingsError::Shape`] naming `file` and `path`.
///
/// # Errors
/// As said.
pub fn object_in<'a>(
    file: &'static str,
    v: &'a mut Value,
    path: &str,
) -> Result<&'a mut Map<String, Value>, SettingsError> {
    match v {
        Value::Object(m) => Ok(m),
        other => Err(shape_in(file, path, other, "an object")),
    }
}

fn shape(path: &str, found: &Value, expected: &'static str) -> SettingsError {
    shape_in(SETTINGS, path, found, expected)
}

fn shape_in(
    file: &'static str,
    path: &str,
    found: &Value,
    expected: &'static str,
) -> SettingsError {
    SettingsError::Shape {
        file,
        path: path.to_owned(),
        found: crate::type_name(found),
        expected,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmds() -> Commands {
        Commands::for_binary("/opt/my tools/agentd", None)
    }

    #[test]
    fn install_is_idempotent_and_keeps_other_settings() {
        let mut s = json!({
            "model": "opus",
            "hooks": {"PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "lint.sh"}]}]},
            "statusLine": {"type": "command", "command": "~/bin/my line.sh", "padding": 1}
        });
        let r = install(&mut s, &cmds()).unwrap();
        assert_eq!(r.hooks_changed.len(), HOOK_EVENTS.len());
        assert_eq!(r.chained_statusline.as_deref(), Some("~/bin/my line.sh"));
        let once = s.clone();
        let r2 = install(&mut s, &cmds()).unwrap();
        assert_eq!(s, once);
        assert!(r2.hooks_changed.is_empty() && !r2.statusline_changed);
        assert_eq!(s["model"], "opus");
        assert_eq!(
            s["hooks"]["PreToolUse"][0]["hooks"][0]["command"],
            "lint.sh"
        );
        assert_eq!(
            s["hooks"]["PreToolUse"][1]["hooks"][0]["command"],
            "'/opt/my tools/agentd' hook"
        );
        assert_eq!(s["statusLine"]["padding"], 1);
        assert_eq!(
            chained_command(s["statusLine"]["command"].as_str().unwrap()).as_deref(),
            Some("~/bin/my line.sh")
        );
    }

    #[test]
    fn uninstall_restores_the_original() {
        let original = json!({
            "env": {"A": "1"},
            "hooks": {"Stop": [{"hooks": [{"type": "command", "command": "notify"}]}]},
            "statusLine": {"type": "command", "command": "my-line", "padding": 0}
        });
        let mut s = original.clone();
        install(&mut s, &cmds()).unwrap();
        let r = uninstall(&mut s).unwrap();
        assert_eq!(r.hooks_removed, HOOK_EVENTS.len());
        assert!(r.statusline_restored);
        assert_eq!(s, original);

        let mut empty = json!({});
        install(&mut empty, &cmds()).unwrap();
        uninstall(&mut empty).unwrap();
        assert_eq!(empty, json!({}));
    }

    #[test]
    fn a_moved_binary_is_updated_not_duplicated() {
        let mut s = json!({});
        install(&mut s, &Commands::for_binary("/old/agentd", None)).unwrap();
        install(&mut s, &Commands::for_binary("/new/agentd", Some("/h"))).unwrap();
        assert_eq!(s["hooks"]["Stop"].as_array().unwrap().len(), 1);
        assert_eq!(
            s["hooks"]["Stop"][0]["hooks"][0]["command"],
            "/new/agentd --home /h hook"
        );
        assert_eq!(
            s["statusLine"]["command"],
            "/new/agentd --home /h statusline"
        );
    }

    #[test]
    fn wrong_shapes_are_refused_untouched() {
        let mut s = json!({"hooks": {"Stop": {"oops": 1}}});
        let before = s.clone();
        let err = install(&mut s, &cmds()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "`hooks.Stop` in settings.json is an object, expected an array; fix or remove it, then run again"
        );
        assert_eq!(s, before);
        assert!(install(&mut json!([1]), &cmds()).is_err());
    }

    #[test]
    fn the_skill_shell_hook_only_for_a_claude_code_that_has_it() {
        assert_eq!(parse_version("2.1.330 (Claude Code)"), Some((2, 1, 330)));
        assert_eq!(parse_version("garbage"), None);
        let mut old = json!({});
        let mut c = cmds();
        c.claude_version = Some((2, 1, 330));
        install(&mut old, &c).unwrap();
        assert!(old["hooks"].get("PreSkillShellCommand").is_none());
        let mut new = json!({});
        c.claude_version = Some((2, 1, 332));
        install(&mut new, &c).unwrap();
        assert_eq!(
            new["hooks"]["PreSkillShellCommand"][0]["hooks"][0]["timeout"],
            3660
        );
        assert_eq!(
            uninstall(&mut new).unwrap().hooks_removed,
            HOOK_EVENTS.len() + 1
        );
        assert_eq!(new, json!({}));
    }

    #[test]
    fn recognises_only_agentd_commands() {
        assert!(is_agentd_command("'/a b/agentd' hook", "hook"));
        assert!(is_agentd_command(
            "/x/agentd --home /h statusline --chain 'x y'",
            "statusline"
        ));
        assert!(!is_agentd_command("/x/agentd hook --extra", "hook"));
        assert!(is_agentd_command("/x/agentd-hook hook", "hook"));
        assert!(is_agentd_command(
            "/x/agentd-hook --home /h statusline",
            "statusline"
        ));
        assert!(!is_agentd_command("/x/not-agentd hook", "hook"));
        assert!(!is_agentd_command("echo agentd hook", "hook"));
    }
}
