//! The Prometheus face: `GET /metrics` (bearer token, like every route),
//! the text exposition format written by prometheus-client. What it shows
//! is read from the service at each scrape: sessions by status, the event
//! log's head, each plugin's calls and failures, and the metrics plugins
//! record themselves (`telemetry.counter`, `telemetry.histogram`).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::service::Service;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabel {
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PluginLabel {
    plugin: String,
}

/// The exposition text of one scrape.
///
/// # Errors
/// When encoding fails (it writes to a `String`: never in practice).
pub fn render(service: &Service) -> Result<String, std::fmt::Error> {
    let mut registry = Registry::with_prefix("agentd");
    let sessions = Family::<StatusLabel, Gauge>::default();
    for (status, n) in service.sessions_by_status() {
        sessions
            .get_or_create(&StatusLabel { status })
            .set(i64::try_from(n).unwrap_or(i64::MAX));
    }
    registry.register("sessions", "Sessions in the registry, by status", sessions);
    let head = Counter::<u64>::default();
    head.inc_by(service.head_seq());
    registry.register("events", "Events in the log (its head seq)", head);
    if let Ok(list) = service.plugins() {
        let calls = Family::<PluginLabel, Counter<u64>>::default();
        let errors = Family::<PluginLabel, Counter<u64>>::default();
        for p in list {
            let l = PluginLabel { plugin: p.name };
            calls.get_or_create(&l).inc_by(p.calls);
            errors.get_or_create(&l).inc_by(p.errors);
        }
        registry.register("plugin_calls", "Plugin calls (decide and on_event)", calls);
        registry.register(
            "plugin_errors",
            "Plugin calls that failed (the plugin abstained)",
            errors,
        );
    }
    let mut text = String::new();
    prometheus_client::encoding::text::encode_registry(&mut text, &registry)?;
    if let Some(t) = service.plugin_telemetry() {
        // Registered without the prefix: their names already say agentd.
        let mut theirs = Registry::default();
        t.register(&mut theirs);
        prometheus_client::encoding::text::encode_registry(&mut text, &theirs)?;
    }
    prometheus_client::encoding::text::encode_eof(&mut text)?;
    Ok(text)
}
