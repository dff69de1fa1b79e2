//! `agentd.toml`: optional; every setting has a default; `AGENTD_*`
//! environment variables override the file.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// All settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The HTTP listener.
    pub http: HttpConfig,
    /// The hook and status-line clients.
    pub hook: HookConfig,
    /// The daemon.
    pub daemon: DaemonConfig,
    /// Approvals.
    pub approvals: ApprovalsConfig,
    /// Launched sessions.
    pub launch: LaunchConfig,
    /// Policy rules (`[[rules]]`), in Claude Code's permission-rule syntax.
    pub rules: Vec<agentd_claude::rules::Rule>,
    /// The transcript index.
    pub index: IndexConfig,
    /// Price overrides, USD per million tokens, by model id or family
    /// (`[pricing."claude-opus-4-7"] input = 5.0 …`); the shipped table is
    /// `agentd_transcript::pricing::TABLE`.
    pub pricing: std::collections::BTreeMap<String, agentd_transcript::pricing::Price>,
    /// Hook runner definitions (`[[hooks]]`), checked by `agentd-hooks`
    /// (fields: `name`, `events`, `matcher`, `command` | `args`,
    /// `dirs_with`, `if_changed`, `depends_on`, `timeout` (s), `env`,
    /// `blocking`).
    pub hooks: Vec<toml::Value>,
    /// The hook runner.
    pub runner: RunnerConfig,
    /// How long the event log keeps whole payloads.
    pub retention: RetentionConfig,
    /// How many agent sessions may run at once.
    pub slots: SlotsConfig,
    /// The link to an HQ (`agentd runner join` writes it).
    pub hq: HqConfig,
    /// WASM plugins.
    pub plugins: PluginsConfig,
    /// "Needs you" notifications and their sinks.
    pub notify: NotifyConfig,
}

/// `[notify]`: when a session needs its user, and where to say so.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotifyConfig {
    /// A `working` session with no event for this long is stuck (seconds,
    /// default 600).
    pub stuck_after_s: u64,
    /// The URL notifications link sessions to and ntfy's approve/deny
    /// actions call (the web UI as the phone reaches it, e.g.
    /// `https://laptop.tailnet:41956`); default: the HTTP listener's.
    pub base_url: Option<String>,
    /// The sinks (`[[notify.sinks]]`).
    pub sinks: Vec<NotifySink>,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig {
            stuck_after_s: 600,
            base_url: None,
            sinks: Vec::new(),
        }
    }
}

/// Where notifications go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SinkKind {
    /// A JSON `POST` to `url`.
    Webhook,
    /// An ntfy topic (`url` = `https://ntfy.example/topic`), with
    /// approve/deny actions on approvals.
    Ntfy,
    /// The freedesktop notification service on the session D-Bus.
    Desktop,
    /// `sh -c command`, the notification as JSON on stdin and
    /// `AGENTD_NOTIFY_*` variables.
    Command,
}

/// `[[notify.sinks]]`: one destination and its rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotifySink {
    /// A name for `doctor` and `health` (default: the kind).
    pub name: Option<String>,
    /// The kind of sink.
    pub kind: SinkKind,
    /// `webhook` and `ntfy`: where to `POST`.
    pub url: Option<String>,
    /// `command`: the shell command.
    pub command: Option<String>,
    /// `webhook` and `ntfy`: extra request headers (`Authorization`).
    pub headers: std::collections::BTreeMap<String, String>,
    /// Which reasons: `approval`, `question`, `turn_finished`,
    /// `turn_failed`, `check_failed`, `stuck`, `plugin` (default: all).
    pub reasons: Vec<String>,
    /// Only sessions whose project or cwd contains one of these (default:
    /// all).
    pub projects: Vec<String>,
    /// Local hours when nothing is sent: `"22:00-07:00"`.
    pub quiet_hours: Option<String>,
    /// `turn_finished` only after a turn this long, seconds (default 60).
    pub min_run_s: u64,
    /// A burst within this many ms is one notification (default 300).
    pub group_ms: u64,
    /// Delivery attempts before a notification is given up (default 5;
    /// backoff 0.5 s, 1 s, 2 s, …).
    pub attempts: u32,
}

impl Default for NotifySink {
    fn default() -> Self {
        NotifySink {
            name: None,
            kind: SinkKind::Webhook,
            url: None,
            command: None,
            headers: Default::default(),
            reasons: Vec::new(),
            projects: Vec::new(),
            quiet_hours: None,
            min_run_s: 60,
            group_ms: 300,
            attempts: 5,
        }
    }
}

/// Reasons a session needs its user, as `[[notify.sinks]] reasons` names them.
pub const NOTIFY_REASONS: &[&str] = &[
    "approval",
    "question",
    "turn_finished",
    "turn_failed",
    "check_failed",
    "stuck",
    "plugin",
];

/// `"HH:MM-HH:MM"` → minutes after midnight (start, end); the range may
/// wrap midnight, and a start equal to its end is the whole day.
///
/// # Errors
/// What is wrong with the text.
pub fn parse_quiet_hours(text: &str) -> Result<(u16, u16), String> {
    let minutes = |t: &str| -> Option<u16> {
        let (h, m) = t.trim().split_once(':')?;
        let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
        (h < 24 && m < 60).then_some(h * 60 + m)
    };
    let (a, b) = text
        .split_once('-')
        .ok_or_else(|| format!("quiet_hours `{text}` is not HH:MM-HH:MM"))?;
    match (minutes(a), minutes(b)) {
        (Some(a), Some(b)) => Ok((a, b)),
        _ => Err(format!(
            "quiet_hours `{text}` is not HH:MM-HH:MM (00:00 to 23:59)"
        )),
    }
}

impl NotifySink {
    /// Checks what the kind needs and what the rules say.
    ///
    /// # Errors
    /// What is wrong, naming the field.
    pub fn validate(&self) -> Result<(), String> {
        match self.kind {
            SinkKind::Webhook | SinkKind::Ntfy => {
                let url = self.url.as_deref().ok_or("needs `url`")?;
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    return Err(format!("`url` {url:?} must be http:// or https://"));
                }
            }
            SinkKind::Command if self.command.as_deref().is_none_or(str::is_empty) => {
                return Err("needs `command`".into());
            }
            _ => {}
        }
        if let Some(bad) = self
            .reasons
            .iter()
            .find(|r| !NOTIFY_REASONS.contains(&r.as_str()))
        {
            return Err(format!(
                "unknown reason `{bad}`: use {}",
                NOTIFY_REASONS.join(", ")
            ));
        }
        if let Some(q) = &self.quiet_hours {
            parse_quiet_hours(q)?;
        }
        if self.attempts == 0 {
            return Err("`attempts` must be at least 1".into());
        }
        Ok(())
    }

    /// The name `doctor` and `health` use.
    pub fn label(&self) -> String {
        self.name.clone().unwrap_or_else(|| {
            serde_json::to_value(self.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
        })
    }
}

/// `[plugins]`: WASM plugins in `<root>/plugins/` (`NAME.wasm` +
/// `NAME.toml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PluginsConfig {
    /// `decide`'s deadline unless a manifest sets its own, ms (default 50).
    pub decide_timeout_ms: u64,
    /// `on_event`'s deadline, ms (default 200).
    pub event_timeout_ms: u64,
    /// Memory cap of one call unless a manifest sets its own, MiB
    /// (default 32).
    pub memory_mb: u64,
    /// Failures in a row that disable a plugin (default 5).
    pub max_failures: u32,
    /// Capabilities granted per plugin: `budget = ["kv", "telemetry"]`.
    /// A plugin gets none it is not granted here, whatever its manifest
    /// asks.
    pub grants: std::collections::BTreeMap<String, Vec<String>>,
    /// `[plugins.http]`: where the `http` capability may go.
    pub http: PluginsHttpConfig,
    /// `[plugins.github]`: GitHub's API for the `github` capability and
    /// the `github.comment` effect.
    pub github: PluginsGithubConfig,
    /// `[plugins.docker]`: the Docker Engine for the `docker` capability.
    pub docker: PluginsDockerConfig,
}

/// `[plugins.docker]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PluginsDockerConfig {
    /// The Engine API's Unix socket (default `/var/run/docker.sock`).
    pub socket: String,
}

impl Default for PluginsDockerConfig {
    fn default() -> Self {
        PluginsDockerConfig {
            socket: "/var/run/docker.sock".to_owned(),
        }
    }
}

/// `[plugins.http]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PluginsHttpConfig {
    /// Hosts (`api.example.com`: any port) or `host:port` pairs plugins
    /// with the `http` capability may reach; nothing else (default none).
    pub allow: Vec<String>,
}

/// `[plugins.github]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PluginsGithubConfig {
    /// The REST API's base URL (GitHub Enterprise: `https://HOST/api/v3`).
    pub api_url: String,
    /// A token (fine-grained, with the repositories' issue write access
    /// for comments). Never printed by `agentd config`.
    pub token: Option<String>,
}

impl Default for PluginsGithubConfig {
    fn default() -> Self {
        PluginsGithubConfig {
            api_url: "https://api.github.com".to_owned(),
            token: None,
        }
    }
}

impl Default for PluginsConfig {
    fn default() -> Self {
        PluginsConfig {
            decide_timeout_ms: 50,
            event_timeout_ms: 200,
            memory_mb: 32,
            max_failures: 5,
            grants: Default::default(),
            http: Default::default(),
            github: Default::default(),
            docker: Default::default(),
        }
    }
}

/// `[hq]`: this daemon as a runner of an HQ (`agentd runner join URL
/// --token T` writes it). Absent `url`: no link.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HqConfig {
    /// HQ's address: `https://HOST:PORT` (with `ca`), or `http://` on
    /// loopback only (the token would cross the network in the clear
    /// otherwise). Env: `AGENTD_HQ_URL`.
    pub url: Option<String>,
    /// The runner token from `agentd hq token create --runner NAME`
    /// (this file is 0600). Env: `AGENTD_HQ_RUNNER_TOKEN`.
    pub token: Option<String>,
    /// Labels shown at HQ (`["gpu", "ci"]`).
    pub labels: Vec<String>,
    /// HQ's CA certificate (PEM), pinned for an `https://` HQ: no other CA
    /// is trusted for it. `agentd runner join --ca` copies it into the
    /// root. Env: `AGENTD_HQ_CA`.
    pub ca: Option<String>,
    /// For `agentd hq serve`: keep HQ's state in this PostgreSQL database
    /// (`postgres://user@host:port/db`) instead of `hq.db`, so several HQ
    /// processes can serve the same runners. Env: `AGENTD_HQ_DATABASE`.
    pub database: Option<String>,
    /// For `agentd hq serve` on a shared database: the URL other HQ
    /// processes reach this one at, for terminals of runners linked here
    /// (default: its listen address, the host name for a wildcard). Env:
    /// `AGENTD_HQ_ADVERTISE`.
    pub advertise: Option<String>,
}

/// `[slots]`: how many agent sessions may run at once (runtime slots that
/// `agentd launch` and any client acquire).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SlotsConfig {
    /// Slots in all; 0 (the default) is no limit.
    pub max: usize,
    /// Slots per project directory (`[slots.projects] "/home/me/api" = 2`).
    pub projects: std::collections::BTreeMap<String, usize>,
}

/// `[retention]`: what the event log keeps, and for how long.
///
/// Hook payloads carry whole tool outputs (PostToolUse: median 9.6 KB, p90
/// 29 KB in the fixture corpus): kept whole, a heavy day is ~20 MB. Events
/// older than `full_payload_days` keep their lifecycle fields (session,
/// event, tool, ids, paths — what the registry, approvals and audit need),
/// with the largest fields removed until the payload fits
/// `compact_to_bytes`, and a marker naming what went; of their status-line
/// snapshots only each session's last is kept. Compaction runs in the
/// background in small transactions; `agentd gc` runs it to the end and
/// returns the space to the file system.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionConfig {
    /// Compact old events at all (default true).
    pub enabled: bool,
    /// Days an event keeps its whole payload (default 14).
    pub full_payload_days: u64,
    /// Size an old payload is cut to, bytes (default 2048).
    pub compact_to_bytes: usize,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig {
            enabled: true,
            full_payload_days: 14,
            compact_to_bytes: 2048,
        }
    }
}

/// `[runner]`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RunnerConfig {
    /// Most hooks of one event running at once; 0 (default) = the number
    /// of cores.
    pub parallel: usize,
    /// Also run the command hooks of enabled Claude Code plugins (default
    /// false: Claude Code runs those itself).
    pub plugins: bool,
}

/// `[index]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IndexConfig {
    /// Index transcripts at all. Env: `AGENTD_INDEX` (`off` disables).
    pub enabled: bool,
    /// More projects folders to index, beside Claude Code's own
    /// (`$CLAUDE_CONFIG_DIR/projects`, else `~/.claude/projects`). Env:
    /// `AGENTD_INDEX_ROOTS` (`:`-separated) replaces all roots, Claude
    /// Code's own included.
    pub roots: Vec<String>,
    /// Whether `roots` replaces Claude Code's own folder (set by
    /// `AGENTD_INDEX_ROOTS`).
    #[serde(skip)]
    pub roots_only: bool,
    /// Seconds between reconcile scans, which pick up anything a file
    /// notification missed (default 60).
    pub reconcile_s: u64,
}

impl Default for IndexConfig {
    fn default() -> Self {
        IndexConfig {
            enabled: true,
            roots: Vec::new(),
            roots_only: false,
            reconcile_s: 60,
        }
    }
}

/// `[launch]`
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LaunchConfig {
    /// The `claude` executable; default: found on `PATH`. Env: `AGENTD_CLAUDE`.
    pub claude: Option<String>,
}

/// `[approvals]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApprovalsConfig {
    /// How long a held tool call waits for a human, seconds (default 3600).
    /// `agentd install` gives the PermissionRequest and PreToolUse hooks
    /// this timeout. Env: `AGENTD_APPROVAL_TIMEOUT_S`.
    pub timeout_s: u64,
}

impl Default for ApprovalsConfig {
    fn default() -> Self {
        ApprovalsConfig { timeout_s: 3600 }
    }
}

/// `[http]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Loopback address to listen on, e.g. `127.0.0.1:41956`; port 0 picks a
    /// free port; `off` disables HTTP. Env: `AGENTD_HTTP_LISTEN`.
    pub listen: String,
    /// Serve HTTPS, gRPC over TLS and WSS on the port, with a certificate
    /// from agentd's local CA (`agentd tls ca`). A non-loopback `listen`
    /// is allowed only with TLS on.
    pub tls: bool,
}

/// `[hook]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HookConfig {
    /// How long `agentd hook` waits for the daemon before failing open, ms.
    /// Env: `AGENTD_HOOK_TIMEOUT_MS`.
    pub timeout_ms: u64,
}

/// `[daemon]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DaemonConfig {
    /// `tracing` filter for the daemon log, e.g. `info` or `agentd=debug`.
    /// Env: `AGENTD_LOG`.
    pub log: String,
    /// How often the daemon checks that sessions' agent processes are alive, ms.
    pub process_check_ms: u64,
    /// Most socket connections served at once (lowered further to fit the
    /// open-files limit); 256 of them are kept for hook clients.
    pub max_connections: usize,
    /// A session with no process to watch (no pid: a status line alone, a
    /// hook from another machine) that has sent nothing for this long, in
    /// seconds, ends as `stale`; it reopens if it shows life (default 3600).
    pub stale_after_s: u64,
    /// A socket connection that has sent `initialize` but holds no
    /// subscription and no held call is closed after this many seconds of
    /// silence (default 300).
    pub idle_timeout_s: u64,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            http: HttpConfig {
                listen: "127.0.0.1:41956".to_owned(),
                tls: false,
            },
            hook: HookConfig { timeout_ms: 2000 },
            daemon: DaemonConfig {
                log: "info".to_owned(),
                process_check_ms: 2000,
                max_connections: 4096,
                stale_after_s: 3600,
                idle_timeout_s: 300,
            },
            approvals: ApprovalsConfig::default(),
            launch: LaunchConfig::default(),
            rules: Vec::new(),
            index: IndexConfig::default(),
            pricing: Default::default(),
            hooks: Vec::new(),
            runner: RunnerConfig::default(),
            retention: RetentionConfig::default(),
            slots: SlotsConfig::default(),
            hq: HqConfig::default(),
            plugins: PluginsConfig::default(),
            notify: NotifyConfig::default(),
        }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        Config::default().http
    }
}

impl Default for HookConfig {
    fn default() -> Self {
        Config::default().hook
    }
}

impl Default for DaemonConfig {
    fn default() -> Self {
        Config::default().daemon
    }
}

/// Why the settings cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file exists but cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML or has unknown keys or wrong types.
    #[error("invalid {path}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// What is wrong, with line and column.
        message: String,
    },
    /// An environment override has a bad value.
    #[error("invalid {var}={value:?}: {why}")]
    Env {
        /// The variable.
        var: &'static str,
        /// Its value.
        value: String,
        /// What is wrong.
        why: String,
    },
}

/// Every `AGENTD_*` variable [`Config::apply_env`] reads, and the setting
/// (`section.key`) it overrides: for `agentd config` to say where each
/// value came from.
pub const ENV_OVERRIDES: [(&str, &str); 12] = [
    ("AGENTD_HTTP_LISTEN", "http.listen"),
    ("AGENTD_HOOK_TIMEOUT_MS", "hook.timeout_ms"),
    ("AGENTD_APPROVAL_TIMEOUT_S", "approvals.timeout_s"),
    ("AGENTD_CLAUDE", "launch.claude"),
    ("AGENTD_LOG", "daemon.log"),
    ("AGENTD_INDEX", "index.enabled"),
    ("AGENTD_INDEX_ROOTS", "index.roots"),
    ("AGENTD_HQ_URL", "hq.url"),
    ("AGENTD_HQ_RUNNER_TOKEN", "hq.token"),
    ("AGENTD_HQ_CA", "hq.ca"),
    ("AGENTD_HQ_DATABASE", "hq.database"),
    ("AGENTD_HQ_ADVERTISE", "hq.advertise"),
];

impl Config {
    /// Loads `path` if it exists (defaults otherwise) and applies `AGENTD_*`
    /// environment overrides.
    ///
    /// # Errors
    /// [`ConfigError`] naming the file or variable and what is wrong.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let mut config = match std::fs::read_to_string(path) {
            Ok(text) => Config::parse(&text).map_err(|message| ConfigError::Parse {
                path: path.display().to_string(),
                message,
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Config::default(),
            Err(source) => {
                return Err(ConfigError::Read {
                    path: path.display().to_string(),
                    source,
                });
            }
        };
        config.apply_env(|k| std::env::var(k).ok())?;
        Ok(config)
    }

    /// Parses TOML text.
    ///
    /// # Errors
    /// The TOML parser's message.
    pub fn parse(text: &str) -> Result<Config, String> {
        let config: Config = toml::from_str(text).map_err(|e| {
            // The parser's own message and the line, never the quoted
            // source line: it may hold a token.
            let line = e
                .span()
                .map(|s| text.get(..s.start).unwrap_or(text).matches('\n').count() + 1);
            match line {
                Some(n) => format!("line {n}: {}", e.message()),
                None => e.message().to_owned(),
            }
        })?;
        agentd_claude::rules::validate(&config.rules).map_err(|e| format!("[[rules]]: {e}"))?;
        for (i, s) in config.notify.sinks.iter().enumerate() {
            s.validate()
                .map_err(|e| format!("[[notify.sinks]] #{} ({}): {e}", i + 1, s.label()))?;
        }
        Ok(config)
    }

    /// Applies `AGENTD_HTTP_LISTEN`, `AGENTD_HOOK_TIMEOUT_MS` and `AGENTD_LOG`.
    ///
    /// # Errors
    /// [`ConfigError::Env`] for a value that does not parse.
    pub fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        if let Some(v) = var("AGENTD_HTTP_LISTEN") {
            self.http.listen = v;
        }
        if let Some(v) = var("AGENTD_HOOK_TIMEOUT_MS") {
            self.hook.timeout_ms =
                v.parse()
                    .map_err(|e: std::num::ParseIntError| ConfigError::Env {
                        var: "AGENTD_HOOK_TIMEOUT_MS",
                        value: v.clone(),
                        why: e.to_string(),
                    })?;
        }
        if let Some(v) = var("AGENTD_APPROVAL_TIMEOUT_S") {
            self.approvals.timeout_s =
                v.parse()
                    .map_err(|e: std::num::ParseIntError| ConfigError::Env {
                        var: "AGENTD_APPROVAL_TIMEOUT_S",
                        value: v.clone(),
                        why: e.to_string(),
                    })?;
        }
        if let Some(v) = var("AGENTD_CLAUDE") {
            self.launch.claude = Some(v);
        }
        if let Some(v) = var("AGENTD_LOG") {
            self.daemon.log = v;
        }
        if let Some(v) = var("AGENTD_INDEX") {
            self.index.enabled = !v.eq_ignore_ascii_case("off");
        }
        if let Some(v) = var("AGENTD_INDEX_ROOTS") {
            self.index.roots = v
                .split(':')
                .filter(|r| !r.is_empty())
                .map(str::to_owned)
                .collect();
            self.index.roots_only = true;
        }
        if let Some(v) = var("AGENTD_HQ_URL") {
            self.hq.url = Some(v).filter(|v| !v.is_empty());
        }
        if let Some(v) = var("AGENTD_HQ_RUNNER_TOKEN") {
            self.hq.token = Some(v).filter(|v| !v.is_empty());
        }
        if let Some(v) = var("AGENTD_HQ_CA") {
            self.hq.ca = Some(v).filter(|v| !v.is_empty());
        }
        if let Some(v) = var("AGENTD_HQ_DATABASE") {
            self.hq.database = Some(v).filter(|v| !v.is_empty());
        }
        if let Some(v) = var("AGENTD_HQ_ADVERTISE") {
            self.hq.advertise = Some(v).filter(|v| !v.is_empty());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_parse_error_names_the_line_never_the_secret_on_it() {
        let e = Config::parse("[plugins.github]\ntokn = \"ghp_do_not_print\"\n").unwrap_err();
        assert!(e.contains("line 2"), "{e}");
        assert!(!e.contains("ghp_do_not_print"), "{e}");
        let e = Config::parse("[hook]\n\ntimeout_ms = [\n").unwrap_err();
        assert!(e.contains("line 3"), "{e}");
    }

    #[test]
    fn every_env_override_is_listed_with_the_setting_it_changes() {
        let defaults = toml::Value::try_from(Config::default()).unwrap();
        for (var, key) in ENV_OVERRIDES {
            let mut c = Config::default();
            let value = match var {
                "AGENTD_HOOK_TIMEOUT_MS" | "AGENTD_APPROVAL_TIMEOUT_S" => "7",
                "AGENTD_INDEX" => "off",
                _ => "/x",
            };
            c.apply_env(|k| (k == var).then(|| value.to_owned()))
                .unwrap();
            let after = toml::Value::try_from(&c).unwrap();
            let (section, field) = key.split_once('.').unwrap();
            assert_ne!(
                after[section].get(field),
                defaults[section].get(field),
                "{var} does not change {key}"
            );
        }
    }

    #[test]
    fn defaults_file_and_env() {
        let mut c = Config::parse("[http]\nlisten = \"127.0.0.1:0\"\n").unwrap();
        assert_eq!(c.http.listen, "127.0.0.1:0");
        assert_eq!(c.hook.timeout_ms, 2000);
        c.apply_env(|k| (k == "AGENTD_HTTP_LISTEN").then(|| "off".to_owned()))
            .unwrap();
        assert_eq!(c.http.listen, "off");
        let err = c.apply_env(|k| (k == "AGENTD_HOOK_TIMEOUT_MS").then(|| "soon".to_owned()));
        assert!(
            err.unwrap_err()
                .to_string()
                .contains("AGENTD_HOOK_TIMEOUT_MS")
        );
    }

    #[test]
    fn rules_parse_and_bad_ones_are_named() {
        let c = Config::parse(
            "[[rules]]\nrule = \"Bash(rm:*)\"\naction = \"deny\"\nmessage = \"no\"\n",
        )
        .unwrap();
        assert_eq!(c.rules.len(), 1);
        assert_eq!(c.rules[0].action, agentd_claude::rules::Action::Deny);
        let err = Config::parse("[[rules]]\nrule = \"Bash(\"\naction = \"allow\"\n").unwrap_err();
        assert!(err.contains("invalid rule `Bash(`"), "{err}");
        let err = Config::parse("[[rules]]\nrule = \"Bash\"\naction = \"maybe\"\n").unwrap_err();
        assert!(err.contains("maybe"), "{err}");
    }

    #[test]
    fn unknown_keys_are_errors_with_location() {
        let err = Config::parse("[http]\nlistn = 1\n").unwrap_err();
        assert!(err.contains("listn"), "{err}");
    }
}
