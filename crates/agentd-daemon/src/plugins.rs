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
    /// The metrics they record (`telemetry.*`), for `/metrics`.
    pub telemetry: agentd_plugins::telemetry::Telemetry,
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
    let host = Arc::new(
        StdHost::new(root.join("plugins-kv.db"))
            .with_net(agentd_plugins::net::NetConfig {
                http_allow: config.plugins.http.allow.clone(),
                github_api: config.plugins.github.api_url.clone(),
                github_token: config.plugins.github.token.clone(),
            })
            .with_docker(&config.plugins.docker.socket),
    );
    let telemetry = host.telemetry();
    let plugins = Arc::new(Plugins::open(
        dir,
        root.join("plugins-state.json"),
        settings,
        host,
    )?);
    for p in plugins.list() {
        match p.state.as_str() {
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
        telemetry,
        _watching: watching,
    })
}

/// Tells the plugins of every committed event they want (`events` in
/// their manifests) and carries out the effects they answer, until
/// `shutdown`. Runs beside ingest, never in its way: it reads the live
/// broadcast, and a plugin that falls behind it misses events (counted in
/// its log) rather than slowing the writer.
pub async fn run_events(
    shared: Arc<crate::state::Shared>,
    shutdown: tokio_util::sync::CancellationToken,
) {
    let Some(host) = &shared.plugins else {
        return;
    };
    let plugins = Arc::clone(&host.plugins);
    let service = crate::service::Service::new(Arc::clone(&shared));
    let mut live = shared.log.subscribe();
    loop {
        let ev = tokio::select! {
            _ = shutdown.cancelled() => return,
            ev = live.recv() => ev,
        };
        let ev = match ev {
            Ok(ev) => ev,
            Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                tracing::warn!(
                    missed = n,
                    "plugins fell behind the event log; they miss these events"
                );
                continue;
            }
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
        };
        if !plugins.wants(&ev.kind) {
            continue;
        }
        let record = Arc::clone(ev.record());
        // The event's session: a plugin's notification is about it unless
        // the effect names another.
        let record_session = record.session_id.clone();
        let cwd = shared
            .registry
            .read()
            .ok()
            .and_then(|r| r.get(&record.session_id).and_then(|s| s.cwd.clone()));
        let kind = ev.kind.clone();
        let p = Arc::clone(&plugins);
        let answered = tokio::task::spawn_blocking(move || {
            let event = serde_json::to_value(&*record).unwrap_or_default();
            p.on_event(&kind, &event, cwd.as_deref())
        })
        .await
        .unwrap_or_default();
        for (plugin, effects) in answered {
            for effect in effects {
                let outcome = if effect.get("type").and_then(serde_json::Value::as_str)
                    == Some("github.comment")
                {
                    github_comment(&plugins, &plugin, &effect).await
                } else {
                    dispatch(&service, &plugin, &record_session, &effect).await
                };
                let kind = effect
                    .get("type")
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or("?")
                    .to_owned();
                match outcome {
                    Ok(done) => plugins.note(&plugin, "info", format!("effect {kind}: {done}")),
                    Err(e) => plugins.note(
                        &plugin,
                        "warn",
                        format!("effect {kind} not carried out: {e}"),
                    ),
                }
            }
        }
    }
}

/// Most questions one plugin may have open at once (`approval.ask`).
const MAX_OPEN_QUESTIONS: usize = 8;

/// How long a `github.comment` effect may take.
const GITHUB_EFFECT_DEADLINE: std::time::Duration = std::time::Duration::from_secs(10);

/// The `github.comment` effect (`{repo, issue, body}`): posted through the
/// `github` host function with the plugin's own capabilities, so a plugin
/// not granted `github` cannot comment by effect either.
async fn github_comment(
    plugins: &Arc<agentd_plugins::registry::Plugins>,
    plugin: &str,
    effect: &serde_json::Value,
) -> Result<String, String> {
    let mut args = effect.clone();
    if let Some(m) = args.as_object_mut() {
        m.remove("type");
    }
    let request = serde_json::json!({"fn": "github.comment", "args": args});
    let (p, name) = (Arc::clone(plugins), plugin.to_owned());
    let answer =
        tokio::task::spawn_blocking(move || p.host_call(&name, &request, GITHUB_EFFECT_DEADLINE))
            .await
            .map_err(|e| format!("the GitHub call failed: {e}"))?;
    if let Some(e) = answer.get("error").and_then(serde_json::Value::as_str) {
        return Err(e.to_owned());
    }
    let status = answer["ok"]["status"].as_u64().unwrap_or(0);
    if !(200..300).contains(&status) {
        return Err(format!(
            "GitHub answered {status}: {}",
            agentd_core::text::truncate(&answer["ok"]["body"].to_string(), 300)
        ));
    }
    Ok(format!(
        "commented: {}",
        answer["ok"]["body"]["html_url"]
            .as_str()
            .unwrap_or("(no url)")
    ))
}

/// Carries out one effect `plugin` asked for on an event of session
/// `session_id`; what was done, or why not.
async fn dispatch(
    service: &crate::service::Service,
    plugin: &str,
    session_id: &str,
    effect: &serde_json::Value,
) -> Result<String, String> {
    let str_of = |k: &str| {
        effect
            .get(k)
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
    };
    let kind = str_of("type").unwrap_or_default();
    match kind.as_str() {
        "log" => Ok(str_of("message").unwrap_or_default()),
        "metric" => Ok(format!(
            "{} = {}",
            str_of("name").unwrap_or_default(),
            effect.get("value").cloned().unwrap_or_default()
        )),
        "notify.send" => {
            let title = str_of("title").unwrap_or_default();
            let body = str_of("body").unwrap_or_default();
            let session = str_of("session_id").unwrap_or_else(|| session_id.to_owned());
            service
                .notify_user(plugin, &session, &title, &body)
                .map(|()| format!("sent to the notification sinks: {title}"))
                .map_err(|e| e.message().to_owned())
        }
        "session.interrupt" | "session.kill" => {
            let id = str_of("session_id").ok_or("`session_id` is required")?;
            let r = if kind == "session.interrupt" {
                service.interrupt(&id).await.map(|_| ())
            } else {
                service.kill(&id).await.map(|_| ())
            };
            r.map(|()| format!("session {id}"))
                .map_err(|e| e.message().to_owned())
        }
        "approval.ask" => {
            let question = str_of("question").ok_or("`question` is required")?;
            // A plugin asking on every event must not bury the queue.
            let from = format!("plugin `{plugin}` asks");
            let open = service
                .approvals(agentd_proto::api::ApprovalsListParams::default())
                .await
                .map_err(|e| e.message().to_owned())?
                .iter()
                .filter(|a| a.approval.asked_because.as_deref() == Some(from.as_str()))
                .count();
            if open >= MAX_OPEN_QUESTIONS {
                return Err(format!(
                    "{open} questions of this plugin are still open (at most {MAX_OPEN_QUESTIONS})"
                ));
            }
            let options = effect
                .get("options")
                .and_then(serde_json::Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|o| o.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            let session = str_of("session_id").unwrap_or_else(|| session_id.to_owned());
            let q = crate::service::Question {
                text: question,
                options,
                asker: crate::service::Asker::Session(session),
                open_s: effect.get("open_s").and_then(serde_json::Value::as_u64),
                from: Some(from),
            };
            service
                .ask_human(q)
                .await
                .map(|a| format!("asked the user: question {}", a.id))
                .map_err(|e| e.message().to_owned())
        }
        "memory.index" => {
            let d = agentd_proto::history::IndexDocumentParams {
                title: str_of("title").unwrap_or_default(),
                text: str_of("text").unwrap_or_default(),
                source: str_of("source"),
                tags: effect
                    .get("tags")
                    .and_then(serde_json::Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(|t| t.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default(),
                project: str_of("project"),
                session_id: str_of("session_id"),
            };
            service
                .index_document(d)
                .await
                .map(|doc| format!("stored {}", doc.id))
                .map_err(|e| e.message().to_owned())
        }
        other => Err(format!(
            "no effect `{other}`: there are log, metric, notify.send, approval.ask, session.interrupt, session.kill, memory.index, github.comment"
        )),
    }
}
