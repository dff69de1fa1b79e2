//! Hook definitions and where they come from: `[[hooks]]` in `agentd.toml`,
//! a project's `.agentd/hooks.toml`, and the `hooks/hooks.json` of the
//! Claude Code plugins the user enabled (reference §2.9). Each entry keeps
//! its origin; a bad entry is an error naming the file, the entry and the
//! field.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::matcher::Matcher;

/// Default timeout of a hook, seconds (Claude Code's default for command
/// hooks).
pub const DEFAULT_TIMEOUT_S: u64 = 600;

/// One `[[hooks]]` entry as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HookSpec {
    /// Unique name (what `depends_on` refers to).
    pub name: String,
    /// Claude Code hook events it runs on (`Stop`, `PostToolUse`, …).
    pub events: Vec<String>,
    /// Claude Code matcher (exact names, `|` lists, regex; `*`/empty = all).
    #[serde(default)]
    pub matcher: Option<String>,
    /// Shell form: run with `sh -c`.
    #[serde(default)]
    pub command: Option<String>,
    /// Exec form: program and arguments, no shell.
    #[serde(default)]
    pub args: Option<Vec<String>>,
    /// Run once in every directory under the project holding one of these
    /// marker files (`Cargo.toml`, `package.json`); empty: the project dir.
    #[serde(default)]
    pub dirs_with: Vec<String>,
    /// Run only when files matching these globs (relative to the target
    /// directory) changed since the last successful run.
    #[serde(default)]
    pub if_changed: Vec<String>,
    /// Hooks (by name) that must finish first, in the same directory.
    #[serde(default)]
    pub depends_on: Vec<String>,
    /// Timeout, seconds (default 600). The whole process group is killed.
    #[serde(default = "default_timeout")]
    pub timeout: u64,
    /// Extra environment.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Whether a failure blocks the agent (default true).
    #[serde(default = "yes")]
    pub blocking: bool,
}

fn default_timeout() -> u64 {
    DEFAULT_TIMEOUT_S
}

fn yes() -> bool {
    true
}

/// Where a definition came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    /// `config` (agentd.toml), `project` (.agentd/hooks.toml) or `plugin`.
    pub kind: String,
    /// The file.
    pub file: PathBuf,
    /// The plugin (`name@marketplace`), for plugin hooks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin: Option<String>,
}

/// What failure means for a hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailsOn {
    /// Any non-zero exit (agentd's own definitions).
    NonZero,
    /// Exit code 2 only (Claude Code's semantics, for plugin hooks).
    Exit2,
}

/// A definition ready to run.
#[derive(Debug, Clone, Serialize)]
pub struct HookDef {
    /// As written.
    #[serde(flatten)]
    pub spec: HookSpec,
    /// Where from.
    pub origin: Origin,
    /// What counts as failure.
    pub fails_on: FailsOn,
    /// The compiled matcher.
    #[serde(skip)]
    pub matcher: Matcher,
}

/// A definition that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: hook {entry}: {why}")]
pub struct DefError {
    /// The file.
    pub file: String,
    /// Which entry: its name, else its position.
    pub entry: String,
    /// What is wrong, naming the field.
    pub why: String,
}

impl HookDef {
    /// Checks and compiles `spec`.
    ///
    /// # Errors
    /// [`DefError`] naming the field: no events, neither or both of
    /// `command`/`args`, an empty `args`, a bad matcher, a zero timeout.
    pub fn new(spec: HookSpec, origin: Origin, fails_on: FailsOn) -> Result<HookDef, DefError> {
        let err = |why: String| DefError {
            file: origin.file.display().to_string(),
            entry: format!("`{}`", spec.name),
            why,
        };
        if spec.name.trim().is_empty() {
            return Err(err("field `name` is empty".into()));
        }
        if spec.events.is_empty() {
            return Err(err("field `events` is empty: name at least one Claude Code hook event, e.g. [\"Stop\"]".into()));
        }
        match (&spec.command, &spec.args) {
            (None, None) => {
                return Err(err(
                    "needs `command` (shell form) or `args` (exec form)".into()
                ));
            }
            (Some(_), Some(_)) => {
                return Err(err("has both `command` and `args`; keep one".into()));
            }
            (None, Some(a)) if a.is_empty() => return Err(err("field `args` is empty".into())),
            _ => {}
        }
        if spec.timeout == 0 {
            return Err(err("field `timeout` is 0; it is in seconds".into()));
        }
        let matcher = Matcher::new(spec.matcher.as_deref())
            .map_err(|e| err(format!("field `matcher`: {e}")))?;
        Ok(HookDef {
            spec,
            origin,
            fails_on,
            matcher,
        })
    }

    /// The command as the change cache keys it: the shell form as written,
    /// else the exec form as a JSON array. A changed command is never
    /// skipped on an old pass.
    pub fn cache_command(&self) -> String {
        match (&self.spec.command, &self.spec.args) {
            (Some(c), _) => c.clone(),
            (None, Some(a)) => serde_json::to_string(a).unwrap_or_default(),
            _ => String::new(),
        }
    }

    /// Whether it runs on `event` with matcher value `value`.
    pub fn applies(&self, event: &str, value: Option<&str>) -> bool {
        self.spec.events.iter().any(|e| e == event)
            && (value.is_none() || self.matcher.matches(value))
    }
}

/// Parses `[[hooks]]` entries (TOML values) from `file`.
///
/// # Errors
/// The first bad entry, naming its field.
pub fn from_toml(
    entries: &[toml::Value],
    file: &Path,
    kind: &str,
) -> Result<Vec<HookDef>, DefError> {
    let mut out: Vec<HookDef> = Vec::new();
    for (i, v) in entries.iter().enumerate() {
        let entry = v
            .get("name")
            .and_then(toml::Value::as_str)
            .map(|n| format!("`{n}`"))
            .unwrap_or_else(|| format!("#{}", i + 1));
        let spec: HookSpec = v
            .clone()
            .try_into()
            .map_err(|e: toml::de::Error| DefError {
                file: file.display().to_string(),
                entry: entry.clone(),
                why: e.message().to_owned(),
            })?;
        if out.iter().any(|d| d.spec.name == spec.name) {
            return Err(DefError {
                file: file.display().to_string(),
                entry,
                why: "field `name` repeats an earlier hook's name".into(),
            });
        }
        let origin = Origin {
            kind: kind.to_owned(),
            file: file.to_path_buf(),
            plugin: None,
        };
        out.push(HookDef::new(spec, origin, FailsOn::NonZero)?);
    }
    Ok(out)
}

/// Largest hook definition file read (`.agentd/hooks.toml`, a plugin's
/// `hooks.json`, Claude Code's `settings.json`), bytes.
pub const MAX_DEF_FILE_BYTES: u64 = 1 << 20;

/// Reads a project's `.agentd/hooks.toml` (`[[hooks]]` entries); none when
/// the file does not exist.
///
/// # Errors
/// Unreadable or invalid TOML, or a bad entry.
pub fn project(project_dir: &Path) -> Result<Vec<HookDef>, DefError> {
    let file = project_dir.join(".agentd").join("hooks.toml");
    // A project's file is untrusted input: a regular file, bounded.
    let text = match agentd_fs::read_to_string(&file, MAX_DEF_FILE_BYTES) {
        Ok(t) => t,
        Err(e) if e.is_not_found() => return Ok(Vec::new()),
        Err(e) => {
            return Err(DefError {
                file: file.display().to_string(),
                entry: "-".into(),
                why: e.to_string(),
            });
        }
    };
    let doc: toml::Table = text.parse().map_err(|e: toml::de::Error| DefError {
        file: file.display().to_string(),
        entry: "-".into(),
        why: e.to_string(),
    })?;
    if let Some(k) = doc.keys().find(|k| *k != "hooks") {
        return Err(DefError {
            file: file.display().to_string(),
            entry: "-".into(),
            why: format!("unknown key `{k}`; only [[hooks]] entries belong here"),
        });
    }
    let entries = doc
        .get("hooks")
        .and_then(toml::Value::as_array)
        .cloned()
        .unwrap_or_default();
    from_toml(&entries, &file, "project")
}

/// The command hooks of the plugins enabled in Claude Code's user settings
/// (`enabledPlugins` of `<config>/settings.json`), read from the versioned
/// cache `<config>/plugins/cache/<marketplace>/<plugin>/<version>/hooks/hooks.json`
/// (the newest version). `${CLAUDE_PLUGIN_ROOT}` is expanded. Their
/// failures follow Claude Code: only exit 2 blocks.
pub fn plugins(claude_config: &Path) -> (Vec<HookDef>, Vec<DefError>) {
    let mut defs = Vec::new();
    let mut errors = Vec::new();
    let settings: Value = agentd_fs::read(&claude_config.join("settings.json"), MAX_DEF_FILE_BYTES)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(Value::Null);
    let Some(enabled) = settings.get("enabledPlugins").and_then(Value::as_object) else {
        return (defs, errors);
    };
    for (id, on) in enabled {
        if on != &Value::Bool(true) {
            continue;
        }
        let Some((plugin, market)) = id.split_once('@') else {
            continue;
        };
        let base = claude_config
            .join("plugins/cache")
            .join(market)
            .join(plugin);
        let Some(root) = newest_dir(&base) else {
            continue;
        };
        let file = root.join("hooks/hooks.json");
        let Ok(bytes) = agentd_fs::read(&file, MAX_DEF_FILE_BYTES) else {
            continue;
        };
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(v) => plugin_hooks(&v, id, &root, &file, &mut defs, &mut errors),
            Err(e) => errors.push(DefError {
                file: file.display().to_string(),
                entry: "-".into(),
                why: format!("not JSON: {e}"),
            }),
        }
    }
    (defs, errors)
}

fn newest_dir(base: &Path) -> Option<PathBuf> {
    std::fs::read_dir(base)
        .ok()?
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .max_by_key(|e| e.metadata().and_then(|m| m.modified()).ok())
        .map(|e| e.path())
}

fn plugin_hooks(
    v: &Value,
    id: &str,
    root: &Path,
    file: &Path,
    defs: &mut Vec<HookDef>,
    errors: &mut Vec<DefError>,
) {
    let expand = |s: &str| s.replace("${CLAUDE_PLUGIN_ROOT}", &root.display().to_string());
    let Some(events) = v.get("hooks").and_then(Value::as_object) else {
        return;
    };
    for (event, groups) in events {
        for (g, group) in groups.as_array().into_iter().flatten().enumerate() {
            let matcher = group
                .get("matcher")
                .and_then(Value::as_str)
                .map(str::to_owned);
            for (h, handler) in group
                .get("hooks")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                if handler.get("type").and_then(Value::as_str) != Some("command") {
                    continue; // http, prompt, agent handlers stay with Claude Code
                }
                let spec = HookSpec {
                    name: format!("{id}:{event}:{g}.{h}"),
                    events: vec![event.clone()],
                    matcher: matcher.clone(),
                    command: handler.get("command").and_then(Value::as_str).map(expand),
                    args: handler
                        .get("args")
                        .and_then(Value::as_array)
                        .map(|a| a.iter().filter_map(Value::as_str).map(expand).collect()),
                    dirs_with: Vec::new(),
                    if_changed: Vec::new(),
                    depends_on: Vec::new(),
                    timeout: handler
                        .get("timeout")
                        .and_then(Value::as_u64)
                        .unwrap_or(DEFAULT_TIMEOUT_S),
                    env: [("CLAUDE_PLUGIN_ROOT".to_owned(), root.display().to_string())].into(),
                    blocking: true,
                };
                let origin = Origin {
                    kind: "plugin".into(),
                    file: file.to_path_buf(),
                    plugin: Some(id.to_owned()),
                };
                match HookDef::new(spec, origin, FailsOn::Exit2) {
                    Ok(d) => defs.push(d),
                    Err(e) => errors.push(e),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(toml_text: &str) -> Result<Vec<HookDef>, DefError> {
        let doc: toml::Table = toml_text.parse().unwrap();
        let entries = doc["hooks"].as_array().unwrap().clone();
        from_toml(&entries, Path::new("/etc/agentd.toml"), "config")
    }

    #[test]
    fn good_entries() {
        let d = parse(
            r#"[[hooks]]
name = "clippy"
events = ["Stop"]
args = ["cargo", "clippy"]
dirs_with = ["Cargo.toml"]
if_changed = ["**/*.rs"]
timeout = 120
"#,
        )
        .unwrap();
        assert_eq!(d[0].spec.timeout, 120);
        assert!(d[0].spec.blocking);
        assert!(d[0].applies("Stop", None));
        assert!(!d[0].applies("PostToolUse", Some("Bash")));
    }

    #[test]
    fn bad_entries_name_file_entry_and_field() {
        let e = parse("[[hooks]]\nname = \"x\"\nevents = []\ncommand = \"true\"\n").unwrap_err();
        assert_eq!(e.to_string().split(':').next(), Some("/etc/agentd.toml"));
        assert!(
            e.to_string().contains("hook `x`") && e.why.contains("`events`"),
            "{e}"
        );
        let e = parse("[[hooks]]\nname = \"x\"\nevents = [\"Stop\"]\n").unwrap_err();
        assert!(e.why.contains("`command`"), "{e}");
        let e = parse(
            "[[hooks]]\nname = \"x\"\nevents = [\"Stop\"]\ncommand = \"t\"\ntimeout = \"10s\"\n",
        )
        .unwrap_err();
        assert!(e.why.contains("invalid type"), "{e}");
        let e = parse(
            "[[hooks]]\nname = \"x\"\nevents = [\"Stop\"]\ncommand = \"t\"\nmatcher = \"(\"\n",
        )
        .unwrap_err();
        assert!(e.why.contains("`matcher`"), "{e}");
        let e = parse("[[hooks]]\nevents = [\"Stop\"]\ncommand = \"t\"\n").unwrap_err();
        assert_eq!(e.entry, "#1");
        let e =
            parse("[[hooks]]\nname = \"x\"\nevents = [\"Stop\"]\ncommand = \"t\"\ncomand = 1\n")
                .unwrap_err();
        assert!(e.why.contains("comand"), "{e}");
        let e = parse("[[hooks]]\nname = \"x\"\nevents = [\"Stop\"]\ncommand = \"t\"\n[[hooks]]\nname = \"x\"\nevents = [\"Stop\"]\ncommand = \"t\"\n").unwrap_err();
        assert!(e.why.contains("repeats"), "{e}");
    }

    #[test]
    fn plugin_hooks_are_found_and_expanded() {
        let tmp = tempfile::tempdir().unwrap();
        let cfg = tmp.path();
        std::fs::write(
            cfg.join("settings.json"),
            r#"{"enabledPlugins": {"fmt@market": true, "off@market": false}}"#,
        )
        .unwrap();
        let root = cfg.join("plugins/cache/market/fmt/1.2.0");
        std::fs::create_dir_all(root.join("hooks")).unwrap();
        std::fs::write(
            root.join("hooks/hooks.json"),
            r#"{"hooks": {"PostToolUse": [{"matcher": "Edit|Write", "hooks": [
                {"type": "command", "command": "${CLAUDE_PLUGIN_ROOT}/fmt.sh", "timeout": 30},
                {"type": "prompt", "prompt": "x"}]}]}}"#,
        )
        .unwrap();
        let (defs, errors) = plugins(cfg);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(defs.len(), 1);
        let d = &defs[0];
        assert_eq!(d.origin.plugin.as_deref(), Some("fmt@market"));
        assert_eq!(
            d.spec.command.as_deref(),
            Some(format!("{}/fmt.sh", root.display()).as_str())
        );
        assert_eq!(d.spec.timeout, 30);
        assert_eq!(d.fails_on, FailsOn::Exit2);
        assert!(d.applies("PostToolUse", Some("Write")));
        assert!(!d.applies("PostToolUse", Some("Bash")));
    }
}
