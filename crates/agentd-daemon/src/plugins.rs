//! The daemon's WASM plugins (`agentd-plugins`): opened at start from
//! `<root>/plugins/`, reloaded when a file there changes, consulted with
//! the rules on every tool call agentd judges ([`crate::approvals`]).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use agentd_client::Config;
use agentd_plugins::{Capability, Plugins, Settings, StdHost};

/// The plugins and the watch that reloads them.
pub struct PluginHost {
    /// The plugins.
    pub plugins: Arc<Plugins>,
    _watching: Option<agentd_plugins::watch::Watching>,
}

/// `[plugins]` as the runtime takes it.
///
/// # Errors
/// A grant naming no capability, with the ones there are.
pub fn settings(config: &Config) -> Result<Settings, String> {
    let c = &config.plugins;
    let mut grants = BTreeMap::new();
    for (plugin, caps) in &c.grants {
        let mut set = BTreeSet::new();
        for cap in caps {
            let parsed: Capability = serde_json::from_value(serde_json::Value::String(cap.clone()))
                .map_err(|_| {
                    format!(
                        "[plugins.grants] {plugin}: no capability `{cap}`; there are git, kv, time, github, docker, http, telemetry"
                    )
                })?;
            set.insert(parsed);
        }
        grants.insert(plugin.clone(), set);
    }
    Ok(Settings {
        decide_timeout: Duration::from_millis(c.decide_timeout_ms.clamp(1, 10_000)),
        event_timeout: Duration::from_millis(c.event_timeout_ms.clamp(1, 60_000)),
        memory_bytes: (c.memory_mb.clamp(1, 1024) as usize) << 20,
        max_failures: c.max_failures.max(1),
        grants,
    })
}

/// Opens `<root>/plugins/` and starts watching it. A watch that cannot
/// start leaves the plugins loaded (reload with `agentd plugins reload`).
///
/// # Errors
/// Bad `[plugins]` settings, or a runtime that cannot start.
pub fn open(root: &Path, config: &Config) -> Result<PluginHost, String> {
    let settings = settings(config)?;
    // Plugins run inside the daemon: a folder another user could write to
    // would let them decide this user's tool calls.
    let dir = root.join("plugins");
    if dir.exists() {
        agentd_client::trust::check_dir(&dir).map_err(|e| e.to_string())?;
    }
    let host = Arc::new(StdHost::new(root.join("plugins-kv.db")));
    let plugins = Arc::new(Plugins::open(
        dir,
        root.join("plugins-state.json"),
        settings,
        host,
    )?);
    for p in plugins.list() {
        match p.state {
            "enabled" => tracing::info!(plugin = p.name, version = ?p.version, "plugin loaded"),
            _ => tracing::warn!(plugin = p.name, reason = ?p.reason, "plugin not in use"),
        }
    }
    let watching = match agentd_plugins::watch::watch(Arc::clone(&plugins)) {
        Ok(w) => Some(w),
        Err(e) => {
            tracing::warn!(error = %e, "plugins will not reload by themselves; `agentd plugins reload` does");
            None
        }
    };
    Ok(PluginHost {
        plugins,
        _watching: watching,
    })
}
