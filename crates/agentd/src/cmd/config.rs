//! `agentd config`: the effective configuration and where each value comes
//! from; `agentd config edit`: edit a copy, validate, then replace.

use std::io::IsTerminal;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::process::ExitCode;

use agentd_client::config::ENV_OVERRIDES;
use agentd_client::{Config, Paths};
use serde_json::json;

use super::{fail, out, print_json};

/// Where a value of the effective configuration was set.
#[derive(Debug, Clone, PartialEq)]
enum Origin {
    /// Not set anywhere: the built-in default.
    Default,
    /// `agentd.toml`, at this line (1-based).
    File(usize),
    /// This environment variable.
    Env(&'static str),
}

impl Origin {
    fn describe(&self, file: &Path) -> String {
        match self {
            Origin::Default => "default".to_owned(),
            Origin::File(line) => format!("{}:{line}", file.display()),
            Origin::Env(var) => format!("env {var}"),
        }
    }
}

/// One setting: `section.key` (or a whole section such as `rules`), its
/// effective value, and its origin.
struct Setting {
    key: String,
    value: toml::Value,
    origin: Origin,
}

/// The line of `agentd.toml` that sets `key` (`section.key`, or a section
/// alone for `[[rules]]` and the like), by a scan of headers and `key =`
/// lines: enough for the flat layout agentd's settings have.
fn line_of(text: &str, key: &str) -> Option<usize> {
    let (section, field) = key.split_once('.').unwrap_or((key, ""));
    let mut current = String::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if let Some(header) = line.strip_prefix('[') {
            let array = header.starts_with('[');
            let name = header
                .trim_start_matches('[')
                .split(']')
                .next()
                .unwrap_or_default()
                .trim()
                .trim_matches('"');
            current = name.to_owned();
            if array && name == section && field.is_empty() {
                return Some(n + 1);
            }
            if !array && name == section && field.is_empty() {
                return Some(n + 1);
            }
            if name.split('.').next() == Some(section) && !field.is_empty() {
                // `[pricing."model"]`: the sub-table names the field.
                let sub = name
                    .split_once('.')
                    .map(|(_, s)| s.trim().trim_matches('"'));
                if sub == Some(field) {
                    return Some(n + 1);
                }
            }
            continue;
        }
        let Some((k, _)) = line.split_once('=') else {
            continue;
        };
        let k = k.trim().trim_matches('"');
        let full = if current.is_empty() {
            k.to_owned()
        } else {
            format!("{current}.{k}")
        };
        if full == key || (field.is_empty() && current.is_empty() && k == section) {
            return Some(n + 1);
        }
    }
    None
}

/// The effective settings, each with its origin. `file_text` is
/// `agentd.toml`'s text (`None`: no file); `env` reads a variable.
fn settings(
    effective: &Config,
    file_text: Option<&str>,
    env: impl Fn(&str) -> Option<String>,
) -> Vec<Setting> {
    let Ok(toml::Value::Table(root)) = toml::Value::try_from(effective) else {
        return Vec::new();
    };
    let file: Option<toml::Table> = file_text.and_then(|t| t.parse().ok());
    let in_file = |section: &str, field: Option<&str>| {
        let s = file.as_ref().and_then(|f| f.get(section));
        match field {
            None => s.is_some(),
            Some(f) => s.and_then(|s| s.get(f)).is_some(),
        }
    };
    let origin = |key: &str, section: &str, field: Option<&str>| {
        if let Some((var, _)) = ENV_OVERRIDES
            .iter()
            .find(|(var, k)| *k == key && env(var).is_some())
        {
            return Origin::Env(var);
        }
        if in_file(section, field) {
            let line = file_text.and_then(|t| line_of(t, key)).unwrap_or(1);
            return Origin::File(line);
        }
        Origin::Default
    };
    let mut out = Vec::new();
    for (section, value) in root {
        match value {
            // `[http]`, `[daemon]`, …, and `[pricing]`'s model tables.
            toml::Value::Table(fields) => {
                for (field, value) in fields {
                    let key = format!("{section}.{field}");
                    let origin = origin(&key, &section, Some(&field));
                    // A secret is never printed (shown on screens, pasted in issues).
                    let value = match (key.as_str(), value) {
                        ("hq.token" | "hq.database", _) => toml::Value::String("<set>".into()),
                        ("plugins.github", toml::Value::Table(mut t)) => {
                            if t.contains_key("token") {
                                t.insert("token".into(), toml::Value::String("<set>".into()));
                            }
                            toml::Value::Table(t)
                        }
                        (_, value) => value,
                    };
                    out.push(Setting { key, value, origin });
                }
            }
            // `[[rules]]`, `[[hooks]]`: a list, shown whole.
            value => {
                let origin = origin(&section, &section, None);
                out.push(Setting {
                    key: section,
                    value,
                    origin,
                });
            }
        }
    }
    out
}

/// `agentd config [--json]`.
pub fn show(paths: &Paths, as_json: bool) -> ExitCode {
    let text = match read(&paths.config) {
        Ok(t) => t,
        Err(code) => return code,
    };
    let effective = match super::config(paths) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let settings = settings(&effective, text.as_deref(), |k| std::env::var(k).ok());
    if as_json {
        let values: Vec<_> = settings
            .iter()
            .map(|s| {
                json!({"key": s.key, "value": s.value,
                    "origin": s.origin.describe(&paths.config)})
            })
            .collect();
        return print_json(&json!({
            "path": paths.config,
            "exists": text.is_some(),
            "settings": values,
        }));
    }
    out(&render(&settings, &paths.config, text.is_some()));
    ExitCode::SUCCESS
}

/// The settings as TOML, each line commented with its origin.
fn render(settings: &[Setting], file: &Path, exists: bool) -> String {
    let mut s = format!(
        "# effective configuration: {} ({}), then AGENTD_* variables, then defaults\n",
        file.display(),
        if exists { "read" } else { "not present" }
    );
    let mut section = "";
    let width = 44;
    for setting in settings {
        let origin = setting.origin.describe(file);
        match setting.key.split_once('.') {
            Some((sec, field)) => {
                if sec != section {
                    s.push_str(&format!("\n[{sec}]\n"));
                    section = sec;
                }
                let field = if field
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                {
                    field.to_owned()
                } else {
                    format!("{field:?}")
                };
                let line = format!("{field} = {}", inline(&setting.value));
                s.push_str(&format!("{line:<width$}  # {origin}\n"));
            }
            None => {
                section = "";
                let n = setting.value.as_array().map_or(0, Vec::len);
                s.push_str(&format!(
                    "\n# [[{}]]: {n} defined  # {origin} (`agentd config --json` shows them)\n",
                    setting.key
                ));
            }
        }
    }
    s
}

/// A TOML value on one line (tables inline), for the table view.
fn inline(v: &toml::Value) -> String {
    match v {
        toml::Value::Table(t) => {
            let fields: Vec<String> = t
                .iter()
                .map(|(k, v)| format!("{k} = {}", inline(v)))
                .collect();
            format!("{{ {} }}", fields.join(", "))
        }
        toml::Value::Array(a) => {
            let items: Vec<String> = a.iter().map(inline).collect();
            format!("[{}]", items.join(", "))
        }
        v => v.to_string(),
    }
}

/// `agentd.toml`'s text, `None` when there is none.
fn read(path: &Path) -> Result<Option<String>, ExitCode> {
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(fail(&format!("cannot read {}: {e}", path.display()))),
    }
}

/// `agentd config edit`: opens a copy of `agentd.toml` in `$VISUAL` /
/// `$EDITOR` (else `vi`), validates it, and only then puts it in place (a
/// rename: the daemon never sees half a file). An invalid edit is offered
/// again on a terminal; elsewhere, or when declined, the original stays and
/// the draft is kept for the next try.
pub fn edit(paths: &Paths) -> ExitCode {
    let original = match read(&paths.config) {
        Ok(t) => t.unwrap_or_default(),
        Err(code) => return code,
    };
    let draft = paths.root.join("agentd.toml.edit");
    // A draft left by a failed edit is where the user left off.
    if !draft.exists()
        && let Err(e) = write_private(&draft, &original)
    {
        return fail(&format!("cannot write {}: {e}", draft.display()));
    }
    let editor = std::env::var("VISUAL")
        .or_else(|_| std::env::var("EDITOR"))
        .ok()
        .filter(|e| !e.trim().is_empty())
        .unwrap_or_else(|| "vi".to_owned());
    loop {
        // The editor command may carry arguments (`code -w`); the file is a
        // separate argument, never part of the shell text.
        let status = std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(format!("{editor} \"$1\""))
            .arg("sh")
            .arg(&draft)
            .status();
        match status {
            Ok(s) if s.success() => {}
            Ok(s) => {
                return fail(&format!(
                    "the editor (`{editor}`) exited with {s}; {} is unchanged, your draft is {}",
                    paths.config.display(),
                    draft.display()
                ));
            }
            Err(e) => {
                return fail(&format!(
                    "cannot run the editor `{editor}` ({e}); set $EDITOR"
                ));
            }
        }
        let text = match std::fs::read_to_string(&draft) {
            Ok(t) => t,
            Err(e) => return fail(&format!("cannot read {}: {e}", draft.display())),
        };
        match Config::parse(&text) {
            Ok(_) => {
                if text == original {
                    let _ = std::fs::remove_file(&draft);
                    out("agentd.toml unchanged\n");
                    return ExitCode::SUCCESS;
                }
                if let Err(e) = std::fs::rename(&draft, &paths.config) {
                    return fail(&format!(
                        "cannot replace {}: {e}; your edit is in {}",
                        paths.config.display(),
                        draft.display()
                    ));
                }
                out(&format!(
                    "{} saved; the daemon reads it at its next start (`agentd stop && agentd start`)\n",
                    paths.config.display()
                ));
                return ExitCode::SUCCESS;
            }
            Err(why) => {
                eprintln!("agentd: the edited configuration is invalid: {why}");
                if std::io::stdin().is_terminal() && ask("edit again? [Y/n] ") {
                    continue;
                }
                return fail(&format!(
                    "{} is unchanged; your draft is {} (`agentd config edit` opens it again)",
                    paths.config.display(),
                    draft.display()
                ));
            }
        }
    }
}

/// Asks a yes/no question on the terminal; yes unless the answer starts
/// with `n`.
fn ask(question: &str) -> bool {
    use std::io::Write;
    eprint!("{question}");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    if std::io::stdin().read_line(&mut answer).is_err() {
        return false;
    }
    !answer.trim_start().to_lowercase().starts_with('n')
}

/// Writes `text` to a new 0600 file at `path`.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "# mine\n[hook]\ntimeout_ms = 900\n\n[daemon]\nlog = \"debug\"\n\n[[rules]]\nrule = \"Bash(git push:*)\"\naction = \"ask\"\n\n[pricing.\"claude-x\"]\ninput = 1.0\noutput = 2.0\ncache_write_5m = 1.25\ncache_write_1h = 2.0\ncache_read = 0.1\n";

    fn origin_of(settings: &[Setting], key: &str) -> Origin {
        settings
            .iter()
            .find(|s| s.key == key)
            .map(|s| s.origin.clone())
            .unwrap_or_else(|| panic!("no {key}"))
    }

    #[test]
    fn each_value_names_its_origin_env_over_file_over_default() {
        let mut effective = Config::parse(FILE).unwrap();
        let env = |k: &str| (k == "AGENTD_LOG").then(|| "trace".to_owned());
        effective.apply_env(env).unwrap();
        let s = settings(&effective, Some(FILE), env);
        assert_eq!(origin_of(&s, "hook.timeout_ms"), Origin::File(3));
        assert_eq!(origin_of(&s, "daemon.log"), Origin::Env("AGENTD_LOG"));
        assert_eq!(origin_of(&s, "daemon.stale_after_s"), Origin::Default);
        assert_eq!(origin_of(&s, "rules"), Origin::File(8));
        assert_eq!(origin_of(&s, "pricing.claude-x"), Origin::File(12));
        let log = s.iter().find(|s| s.key == "daemon.log").unwrap();
        assert_eq!(log.value.as_str(), Some("trace"));
        let text = render(&s, Path::new("/r/agentd.toml"), true);
        insta::assert_snapshot!(text);
    }

    #[test]
    fn no_file_means_defaults() {
        let s = settings(&Config::default(), None, |_| None);
        assert!(s.iter().all(|s| s.origin == Origin::Default));
        assert!(s.iter().any(|s| s.key == "http.listen"));
    }
}
