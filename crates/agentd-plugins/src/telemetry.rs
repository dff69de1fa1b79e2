//! Plugins' own metrics (capability `telemetry`): counters and histograms
//! a plugin records through `telemetry.counter` / `telemetry.histogram`,
//! exported on the daemon's Prometheus `/metrics` as
//! `agentd_plugin_events_total{plugin, name}` and
//! `agentd_plugin_observations{plugin, name}` (prometheus-client, the
//! Prometheus project's own Rust client).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Most distinct metric names one plugin may create (a runaway plugin
/// cannot grow `/metrics` without bound).
pub const MAX_NAMES_PER_PLUGIN: usize = 64;

/// A plugin metric's labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PluginMetric {
    /// The plugin.
    pub plugin: String,
    /// The name it gave (`[a-z0-9_]`, at most 64 chars).
    pub name: String,
}

fn new_histogram() -> Histogram {
    // 0.001 … ~524: milliseconds to minutes, dollars to hundreds.
    Histogram::new(exponential_buckets(0.001, 2.0, 20))
}

/// The families plugins record into.
#[derive(Clone)]
pub struct Telemetry {
    counters: Family<PluginMetric, Counter<f64>>,
    histograms: Family<PluginMetric, Histogram, fn() -> Histogram>,
    names: std::sync::Arc<std::sync::Mutex<std::collections::HashSet<String>>>,
}

impl Default for Telemetry {
    fn default() -> Telemetry {
        Telemetry {
            counters: Family::default(),
            histograms: Family::new_with_constructor(new_histogram),
            names: Default::default(),
        }
    }
}

impl Telemetry {
    /// Checks a metric name and the plugin's name budget.
    fn admit(&self, plugin: &str, name: &str) -> Result<PluginMetric, String> {
        let ok = !name.is_empty()
            && name.len() <= 64
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !ok {
            return Err(format!("metric name `{name}`: 1–64 of a-z, 0-9 and _"));
        }
        let key = PluginMetric {
            plugin: plugin.to_owned(),
            name: name.to_owned(),
        };
        let mut names = self.names.lock().map_err(|_| "telemetry lock poisoned")?;
        let seen = format!("{plugin}\u{0}{name}");
        if !names.contains(&seen) {
            let prefix = format!("{plugin}\u{0}");
            let used = names.iter().filter(|k| k.starts_with(&prefix)).count();
            if used >= MAX_NAMES_PER_PLUGIN {
                return Err(format!(
                    "{plugin} already has {MAX_NAMES_PER_PLUGIN} metric names; reuse one"
                ));
            }
            names.insert(seen);
        }
        Ok(key)
    }

    /// Adds `by` (≥ 0) to counter `name` of `plugin`.
    ///
    /// # Errors
    /// A bad name, a negative or non-finite value, too many names.
    pub fn count(&self, plugin: &str, name: &str, by: f64) -> Result<(), String> {
        if !by.is_finite() || by < 0.0 {
            return Err(format!("a counter only grows: {by}"));
        }
        let key = self.admit(plugin, name)?;
        self.counters.get_or_create(&key).inc_by(by);
        Ok(())
    }

    /// Records `value` in histogram `name` of `plugin`.
    ///
    /// # Errors
    /// A bad name, a non-finite value, too many names.
    pub fn observe(&self, plugin: &str, name: &str, value: f64) -> Result<(), String> {
        if !value.is_finite() {
            return Err(format!("not a number: {value}"));
        }
        let key = self.admit(plugin, name)?;
        self.histograms.get_or_create(&key).observe(value);
        Ok(())
    }

    /// Registers the families in `registry` (a scrape's).
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "agentd_plugin_events",
            "Counters plugins record (telemetry.counter)",
            self.counters.clone(),
        );
        registry.register(
            "agentd_plugin_observations",
            "Values plugins record (telemetry.histogram)",
            self.histograms.clone(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_histograms_reach_the_exposition() {
        let t = Telemetry::default();
        t.count("budget", "denied", 1.0).unwrap();
        t.count("budget", "denied", 2.0).unwrap();
        t.observe("budget", "spent_usd", 3.5).unwrap();
        assert!(t.count("budget", "Bad-Name", 1.0).is_err());
        assert!(t.count("budget", "x", -1.0).is_err());
        let mut r = Registry::default();
        t.register(&mut r);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &r).unwrap();
        assert!(
            text.contains(r#"agentd_plugin_events_total{plugin="budget",name="denied"} 3.0"#),
            "{text}"
        );
        assert!(
            text.contains(
                r#"agentd_plugin_observations_count{plugin="budget",name="spent_usd"} 1"#
            ),
            "{text}"
        );
    }

    #[test]
    fn one_plugin_cannot_mint_names_without_bound() {
        let t = Telemetry::default();
        for i in 0..MAX_NAMES_PER_PLUGIN {
            t.count("p", &format!("n{i}"), 1.0).unwrap();
        }
        assert!(t.count("p", "one_more", 1.0).is_err());
        assert!(t.count("p", "n0", 1.0).is_ok(), "a known name is fine");
        assert!(
            t.count("q", "n0", 1.0).is_ok(),
            "another plugin has its own budget"
        );
    }
}
