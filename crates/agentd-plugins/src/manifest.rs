//! A plugin's manifest, `NAME.toml` beside `NAME.wasm`:
//!
//! ```toml
//! name = "protect-main"            # must equal the file stem
//! version = "1.0.0"
//! description = "Ask before git push to the default branch"
//! tools = ["Bash"]                 # tool names it decides on (globs; "*" = all)
//! events = ["session.started"]     # lifecycle event kinds it is told of ("*" = all)
//! capabilities = ["git"]           # host functions it asks for; the user grants them
//! decide_timeout_ms = 50           # optional, default [plugins] decide_timeout_ms
//! memory_mb = 16                   # optional, default [plugins] memory_mb
//!
//! [settings]                       # handed to the plugin as `settings`
//! branch = "main"
//! ```

use serde::Deserialize;

/// Longest manifest file, bytes.
pub const MAX_MANIFEST_BYTES: u64 = 64 * 1024;

/// What a plugin may ask the host for. Each must be requested in the
/// manifest and granted in `agentd.toml` (`[plugins.grants]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Capability {
    /// Read-only git of the session's repository: status, diff, branch, log.
    Git,
    /// A key-value store of its own (SQLite).
    Kv,
    /// The wall clock.
    Time,
    /// GitHub's REST API with the configured token.
    Github,
    /// Docker Engine API: list containers and images.
    Docker,
    /// HTTP to allow-listed hosts.
    Http,
    /// Counters and histograms on `/metrics`, logs.
    Telemetry,
}

impl Capability {
    /// The name used in manifests, config and host calls (`git.status`).
    pub fn as_str(self) -> &'static str {
        match self {
            Capability::Git => "git",
            Capability::Kv => "kv",
            Capability::Time => "time",
            Capability::Github => "github",
            Capability::Docker => "docker",
            Capability::Http => "http",
            Capability::Telemetry => "telemetry",
        }
    }

    /// The capability a host function (`git.status`) belongs to.
    pub fn of_function(f: &str) -> Option<Capability> {
        let ns = f.split('.').next()?;
        [
            Capability::Git,
            Capability::Kv,
            Capability::Time,
            Capability::Github,
            Capability::Docker,
            Capability::Http,
            Capability::Telemetry,
        ]
        .into_iter()
        .find(|c| c.as_str() == ns)
    }
}

/// A parsed, checked manifest.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The plugin's name: `[a-z0-9-]`, 1–64 chars, the files' stem.
    pub name: String,
    /// Its version (free text, shown).
    pub version: String,
    /// What it does (shown).
    #[serde(default)]
    pub description: Option<String>,
    /// Tool names it decides on (glob patterns).
    #[serde(default)]
    pub tools: Vec<String>,
    /// Lifecycle event kinds it wants (`session.started`, `tool.started`,
    /// …, or `*`).
    #[serde(default)]
    pub events: Vec<String>,
    /// Host functions it asks for.
    #[serde(default)]
    pub capabilities: Vec<Capability>,
    /// Its own deadline for `decide`, ms.
    #[serde(default)]
    pub decide_timeout_ms: Option<u64>,
    /// Its own memory cap, MiB.
    #[serde(default)]
    pub memory_mb: Option<u64>,
    /// Handed to the plugin with every call.
    #[serde(default)]
    pub settings: toml::Table,
}

/// A manifest that cannot be used, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    /// Not TOML, or fields of the wrong type.
    #[error("{0}")]
    Parse(String),
    /// A field's value is out of bounds.
    #[error("{0}")]
    Invalid(String),
}

impl Manifest {
    /// Parses `text`, the manifest of the plugin whose files are named
    /// `stem`.
    ///
    /// # Errors
    /// [`ManifestError`] naming the field.
    pub fn parse(text: &str, stem: &str) -> Result<Manifest, ManifestError> {
        let m: Manifest = toml::from_str(text).map_err(|e| ManifestError::Parse(e.to_string()))?;
        m.check(stem)?;
        Ok(m)
    }

    fn check(&self, stem: &str) -> Result<(), ManifestError> {
        let ok_name = !self.name.is_empty()
            && self.name.len() <= 64
            && self
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !ok_name {
            return Err(ManifestError::Invalid(format!(
                "name `{}` must be 1–64 of a-z, 0-9 and -",
                self.name
            )));
        }
        if self.name != stem {
            return Err(ManifestError::Invalid(format!(
                "name `{}` must equal the file name `{stem}`",
                self.name
            )));
        }
        for t in &self.tools {
            globset::Glob::new(t)
                .map_err(|e| ManifestError::Invalid(format!("tools: `{t}` is not a glob: {e}")))?;
        }
        if let Some(ms) = self.decide_timeout_ms
            && !(1..=10_000).contains(&ms)
        {
            return Err(ManifestError::Invalid(format!(
                "decide_timeout_ms = {ms}: between 1 and 10000"
            )));
        }
        if let Some(mb) = self.memory_mb
            && !(1..=1024).contains(&mb)
        {
            return Err(ManifestError::Invalid(format!(
                "memory_mb = {mb}: between 1 and 1024"
            )));
        }
        Ok(())
    }

    /// `tools` compiled into one matcher (done once, at load).
    ///
    /// # Errors
    /// A pattern that is not a glob (checked at parse already).
    pub fn tool_matcher(&self) -> Result<globset::GlobSet, String> {
        let mut b = globset::GlobSetBuilder::new();
        for t in &self.tools {
            b.add(globset::Glob::new(t).map_err(|e| format!("tools: `{t}`: {e}"))?);
        }
        b.build().map_err(|e| e.to_string())
    }

    /// Whether it wants events of `kind`.
    pub fn wants(&self, kind: &str) -> bool {
        self.events.iter().any(|e| e == "*" || e == kind)
    }

    /// `settings` as JSON.
    pub fn settings_json(&self) -> serde_json::Value {
        serde_json::to_value(&self.settings).unwrap_or(serde_json::Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_manifest_parses() {
        let m = Manifest::parse(
            r#"
name = "protect-main"
version = "1.0.0"
tools = ["Bash", "mcp__*"]
events = ["session.started"]
capabilities = ["git", "kv"]
decide_timeout_ms = 20
[settings]
branch = "main"
"#,
            "protect-main",
        )
        .unwrap();
        let tools = m.tool_matcher().unwrap();
        assert!(
            tools.is_match("Bash") && tools.is_match("mcp__github__x") && !tools.is_match("Edit")
        );
        assert!(m.wants("session.started") && !m.wants("tool.started"));
        assert_eq!(m.capabilities, [Capability::Git, Capability::Kv]);
        assert_eq!(m.settings_json()["branch"], "main");
    }

    #[test]
    fn bad_manifests_say_which_field() {
        let bad = [
            ("name = \"x\"\nversion = \"1\"", "y", "file name"),
            ("name = \"X!\"\nversion = \"1\"", "X!", "a-z"),
            ("name = \"x\"", "x", "version"),
            (
                "name = \"x\"\nversion = \"1\"\ncapabilities = [\"root\"]",
                "x",
                "root",
            ),
            (
                "name = \"x\"\nversion = \"1\"\ntools = [\"[\"]",
                "x",
                "glob",
            ),
            (
                "name = \"x\"\nversion = \"1\"\ndecide_timeout_ms = 0",
                "x",
                "decide_timeout_ms",
            ),
            ("name = \"x\"\nversion = \"1\"\nshell = true", "x", "shell"),
        ];
        for (text, stem, what) in bad {
            let e = Manifest::parse(text, stem).unwrap_err().to_string();
            assert!(e.contains(what), "{text}: {e}");
        }
    }

    #[test]
    fn host_functions_belong_to_capabilities() {
        assert_eq!(Capability::of_function("git.status"), Some(Capability::Git));
        assert_eq!(Capability::of_function("kv.get"), Some(Capability::Kv));
        assert_eq!(Capability::of_function("fs.read"), None);
    }
}
