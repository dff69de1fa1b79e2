//! Policy rules in Claude Code's permission-rule syntax.
//!
//! A rule is `Tool` or `Tool(specifier)` (reference §2.2 `if`, and Claude
//! Code's permission rules): `Bash(git push:*)` (command prefix),
//! `Bash(npm run *)` (wildcard), `Edit(src/**)` (path glob),
//! `WebFetch(domain:example.com)`, `mcp__server` / `mcp__server__tool`.
//! Precedence follows Claude Code: any matching `deny` wins, then `ask`,
//! then `allow`; no match means no decision. Pure: no IO.

use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What a matching rule does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Let the call run without asking.
    Allow,
    /// Refuse the call.
    Deny,
    /// Hold the call for a human.
    Ask,
}

/// What an unanswered `ask` means when its time is up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnTimeout {
    /// No decision: Claude Code's own permission flow continues.
    #[default]
    Fallthrough,
    /// Refuse the call.
    Deny,
    /// Let it run.
    Allow,
}

/// One `[[rules]]` entry of `agentd.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// The pattern, e.g. `Bash(rm:*)`.
    pub rule: String,
    /// `allow`, `deny` or `ask`.
    pub action: Action,
    /// For `ask`: what a timeout means (default `fallthrough`).
    #[serde(default)]
    pub on_timeout: OnTimeout,
    /// Message the agent sees on deny.
    #[serde(default)]
    pub message: Option<String>,
    /// Only for sessions whose working directory is under this directory.
    #[serde(default)]
    pub project: Option<String>,
}

/// A rule pattern that does not parse.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid rule `{rule}`: {why}")]
pub struct RuleError {
    /// The pattern.
    pub rule: String,
    /// What is wrong.
    pub why: String,
}

/// A parsed pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    tool: String,
    spec: Option<String>,
}

impl Pattern {
    /// Parses `Tool` or `Tool(specifier)`.
    ///
    /// # Errors
    /// [`RuleError`] for an empty tool, unbalanced parentheses or an empty specifier.
    pub fn parse(rule: &str) -> Result<Pattern, RuleError> {
        let err = |why: &str| RuleError {
            rule: rule.to_owned(),
            why: why.to_owned(),
        };
        let rule = rule.trim();
        let (tool, spec) = match rule.find('(') {
            None => (rule, None),
            Some(open) => {
                let inner = rule[open + 1..]
                    .strip_suffix(')')
                    .ok_or_else(|| err("a specifier must end with `)`"))?;
                if inner.trim().is_empty() {
                    return Err(err(
                        "the specifier in `( )` is empty; drop the parentheses to match every call",
                    ));
                }
                (&rule[..open], Some(inner.to_owned()))
            }
        };
        if tool.is_empty()
            || !tool
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '*')
        {
            return Err(err(
                "the tool name must be letters, digits, `_` or `-` (e.g. `Bash`, `mcp__server__tool`)",
            ));
        }
        Ok(Pattern {
            tool: tool.to_owned(),
            spec,
        })
    }
}

/// A tool call to judge.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    /// Tool name.
    pub tool: &'a str,
    /// Tool input (`tool_input`).
    pub input: &'a Value,
    /// The session's working directory (relative paths and `project` rules).
    pub cwd: Option<&'a str>,
    /// The user's home directory, for `~/` patterns.
    pub home: Option<&'a str>,
}

/// The rule that decided, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict<'a> {
    /// The deciding rule.
    pub rule: &'a Rule,
    /// Its position in the rule list (0-based).
    pub index: usize,
    /// Why it matched, for humans.
    pub why: String,
}

/// Checks that every rule parses.
///
/// # Errors
/// The first [`RuleError`], naming the rule.
pub fn validate(rules: &[Rule]) -> Result<(), RuleError> {
    rules
        .iter()
        .try_for_each(|r| Pattern::parse(&r.rule).map(|_| ()))
}

/// The deciding rule for `call`: deny beats ask beats allow; `None` when no
/// rule matches (or a rule does not parse: a broken rule never allows).
pub fn evaluate<'a>(rules: &'a [Rule], call: &Call<'_>) -> Option<Verdict<'a>> {
    let mut best: Option<Verdict<'a>> = None;
    for (index, rule) in rules.iter().enumerate() {
        if let Some(project) = rule.project.as_deref()
            && !call
                .cwd
                .is_some_and(|cwd| Path::new(cwd).starts_with(project))
        {
            continue;
        }
        let Ok(pattern) = Pattern::parse(&rule.rule) else {
            continue;
        };
        let Some(why) = matches(&pattern, rule.action, call) else {
            continue;
        };
        let rank = |a: Action| match a {
            Action::Deny => 0,
            Action::Ask => 1,
            Action::Allow => 2,
        };
        if best
            .as_ref()
            .is_none_or(|b| rank(rule.action) < rank(b.rule.action))
        {
            best = Some(Verdict { rule, index, why });
        }
    }
    best
}

/// Why `pattern` matches `call`, or `None`.
pub fn matches(pattern: &Pattern, action: Action, call: &Call<'_>) -> Option<String> {
    if !tool_matches(&pattern.tool, call.tool) {
        return None;
    }
    let Some(spec) = pattern.spec.as_deref() else {
        return Some(format!(
            "every `{}` call matches `{}`",
            call.tool, pattern.tool
        ));
    };
    match pattern.tool.as_str() {
        "Bash" | "PowerShell" => {
            let command = call.input.get("command").and_then(Value::as_str)?;
            bash_matches(spec, command, action)
        }
        "Edit" | "Write" | "MultiEdit" | "NotebookEdit" | "Read" | "Glob" | "Grep" => {
            let path = ["file_path", "notebook_path", "path"]
                .iter()
                .find_map(|k| call.input.get(*k).and_then(Value::as_str))?;
            path_matches(spec, path, call)
        }
        "WebFetch" => {
            let domain = spec.strip_prefix("domain:")?;
            let url = call.input.get("url").and_then(Value::as_str)?;
            let host = url
                .split("://")
                .nth(1)?
                .split(['/', ':', '?', '#'])
                .next()?
                .to_ascii_lowercase();
            let domain = domain.to_ascii_lowercase();
            (host == domain || host.ends_with(&format!(".{domain}")))
                .then(|| format!("host `{host}` is in domain `{domain}`"))
        }
        _ => {
            // Other tools: the specifier must equal the input's first string field.
            let first = call.input.as_object()?.values().find_map(Value::as_str)?;
            (first == spec).then(|| format!("input `{first}` equals `{spec}`"))
        }
    }
}

fn tool_matches(rule_tool: &str, tool: &str) -> bool {
    if rule_tool == tool {
        return true;
    }
    // Edit rules cover every file-editing tool; Read rules the file readers.
    match rule_tool {
        "Edit" if matches!(tool, "Write" | "MultiEdit" | "NotebookEdit") => return true,
        "Read" if matches!(tool, "Glob" | "Grep") => return true,
        _ => {}
    }
    // `mcp__server` and `mcp__server__*` cover every tool of that server.
    if let Some(server) = rule_tool.strip_prefix("mcp__") {
        let server = server.strip_suffix("__*").unwrap_or(server);
        if !server.contains("__") {
            return tool
                .strip_prefix("mcp__")
                .and_then(|t| t.strip_prefix(server))
                .is_some_and(|rest| rest.starts_with("__"));
        }
    }
    false
}

/// Subcommands of a shell command line (split on `&&`, `||`, `;`, `|` and
/// newlines outside quotes).
fn subcommands(command: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let (mut single, mut double) = (false, false);
    let chars: Vec<char> = command.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\'' if !double => single = !single,
            '"' if !single => double = !double,
            ';' | '\n' | '|' | '&' if !single && !double => {
                let doubled = chars.get(i + 1) == Some(&c) && matches!(c, '|' | '&');
                if c != '&' || doubled {
                    parts.push(std::mem::take(&mut cur));
                    i += if doubled { 2 } else { 1 };
                    continue;
                }
            }
            _ => {}
        }
        cur.push(c);
        i += 1;
    }
    parts.push(cur);
    parts
        .into_iter()
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
        .collect()
}

fn bash_matches(spec: &str, command: &str, action: Action) -> Option<String> {
    let one = |cmd: &str| -> bool {
        if let Some(prefix) = spec.strip_suffix(":*") {
            cmd == prefix
                || cmd
                    .strip_prefix(prefix)
                    .is_some_and(|rest| rest.starts_with(char::is_whitespace))
        } else if spec.contains('*') {
            wildcard(spec, cmd)
        } else {
            cmd == spec
        }
    };
    let parts = subcommands(command);
    // Allowing needs every part to be allowed; denying or asking needs one.
    let hit = match action {
        Action::Allow => !parts.is_empty() && parts.iter().all(|p| one(p)),
        Action::Deny | Action::Ask => parts.iter().any(|p| one(p)),
    };
    hit.then(|| match spec.strip_suffix(":*") {
        Some(prefix) => format!("command `{command}` starts with `{prefix}`"),
        None => format!("command `{command}` matches `{spec}`"),
    })
}

/// `*` matches any run of characters; everything else literally.
fn wildcard(pattern: &str, text: &str) -> bool {
    let pieces: Vec<&str> = pattern.split('*').collect();
    let (first, last) = (pieces[0], pieces[pieces.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for piece in &pieces[1..pieces.len() - 1] {
        match rest.find(piece) {
            Some(at) => rest = &rest[at + piece.len()..],
            None => return false,
        }
    }
    true
}

fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            c => out.push(c),
        }
    }
    out
}

fn path_matches(spec: &str, path: &str, call: &Call<'_>) -> Option<String> {
    let cwd = call.cwd.unwrap_or("/");
    let abs = normalize(&Path::new(cwd).join(path));
    // Anchor the pattern: `//x` absolute, `~/x` home, `/x` or `x/y` the
    // project (cwd), a bare `*.rs` at any depth (gitignore style).
    let anchored = if let Some(rest) = spec.strip_prefix("//") {
        format!("/{rest}")
    } else if let Some(rest) = spec.strip_prefix("~/") {
        format!("{}/{rest}", call.home?.trim_end_matches('/'))
    } else {
        let rel = spec.strip_prefix("./").unwrap_or(spec);
        let rel = rel.strip_prefix('/').unwrap_or(rel);
        let rel = if rel.contains('/') {
            rel.to_owned()
        } else {
            format!("**/{rel}")
        };
        format!("{}/{rel}", cwd.trim_end_matches('/'))
    };
    let glob = globset::GlobBuilder::new(&anchored)
        .literal_separator(true)
        .build()
        .ok()?
        .compile_matcher();
    // `dir/**` also covers `dir` itself, as in gitignore.
    (glob.is_match(&abs)
        || anchored
            .strip_suffix("/**")
            .is_some_and(|d| Path::new(d) == abs))
    .then(|| format!("path `{}` matches `{anchored}`", abs.display()))
}

#[cfg(test)]
mod tests;
