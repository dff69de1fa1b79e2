//! WASM plugins: their state, reload, enable/disable, logs; and
//! `rules_test`, which judges a tool call as a hook would.

use std::sync::Arc;

use agentd_core::Decision;
use agentd_plugins::{Plugins, Verdict};
use agentd_proto::api::{
    PluginLogLine, PluginVerdictView, PluginView, RulesTestParams, RulesTestResult,
};

use super::{Service, ServiceError};
use crate::approvals::{self, Judged};

impl Service {
    fn plugin_set(&self) -> Result<Arc<Plugins>, ServiceError> {
        self.shared
            .plugins
            .as_ref()
            .map(|h| Arc::clone(&h.plugins))
            .ok_or_else(|| ServiceError::internal("plugins are not set up in this daemon"))
    }

    /// The metrics plugins record (`telemetry.*`), when plugins run here.
    pub fn plugin_telemetry(&self) -> Option<agentd_plugins::telemetry::Telemetry> {
        self.shared.plugins.as_ref().map(|h| h.telemetry.clone())
    }

    /// Every plugin in `<root>/plugins/`, by name.
    ///
    /// # Errors
    /// [`ServiceError::Internal`] when the daemon has no plugin runtime.
    pub fn plugins(&self) -> Result<Vec<PluginView>, ServiceError> {
        Ok(self.plugin_set()?.list())
    }

    /// Loads what changed in the plugin folder now (it also reloads by
    /// itself within a second of a change), on the blocking pool.
    ///
    /// # Errors
    /// As [`Service::plugins`].
    pub async fn reload_plugins(&self) -> Result<Vec<PluginView>, ServiceError> {
        let plugins = self.plugin_set()?;
        tokio::task::spawn_blocking(move || {
            plugins.reload();
            plugins.list()
        })
        .await
        .map_err(ServiceError::internal)
    }

    /// Enables or disables plugin `name` (kept across restarts).
    ///
    /// # Errors
    /// [`ServiceError::NotFound`] for no such plugin; [`ServiceError::Store`]
    /// when the choice cannot be saved.
    pub async fn set_plugin_enabled(
        &self,
        name: &str,
        on: bool,
    ) -> Result<PluginView, ServiceError> {
        let plugins = self.plugin_set()?;
        if !plugins.list().iter().any(|p| p.name == name) {
            return Err(ServiceError::not_found(format!(
                "no plugin `{name}`; `agentd plugins ls` lists them"
            )));
        }
        let name = name.to_owned();
        tokio::task::spawn_blocking(move || plugins.set_enabled(&name, on))
            .await
            .map_err(ServiceError::internal)?
            .map_err(ServiceError::store)
    }

    /// Plugin `name`'s log, oldest first.
    ///
    /// # Errors
    /// [`ServiceError::NotFound`].
    pub fn plugin_logs(&self, name: &str) -> Result<Vec<PluginLogLine>, ServiceError> {
        self.plugin_set()?
            .logs(name)
            .map_err(ServiceError::not_found)
    }

    /// What agentd would do with a tool call — judged exactly as for a
    /// hook, by [`approvals::judge_explained`] — without running anything
    /// but the plugins.
    ///
    /// # Errors
    /// None today; a `Result` like every operation.
    pub async fn rules_test(&self, p: RulesTestParams) -> Result<RulesTestResult, ServiceError> {
        let (judged, decided) =
            approvals::judge_explained(&self.shared, &p.tool, &p.input, p.cwd.as_deref(), None)
                .await;
        let views = decided
            .iter()
            .map(|d| {
                let message = match &d.verdict {
                    Verdict::Allow { reason } | Verdict::Ask { reason } => reason.clone(),
                    Verdict::Deny { message } => message.clone(),
                    Verdict::Abstain => None,
                };
                PluginVerdictView {
                    plugin: d.plugin.clone(),
                    decision: d.verdict.word().to_owned(),
                    message,
                    failure: d.failure.clone(),
                }
            })
            .collect();
        let (decision, why) = match judged {
            Judged::Decided(Decision::Deny { .. }, why) => ("deny", why),
            Judged::Decided(_, why) => ("allow", why),
            Judged::Ask(_, why) => ("ask", why),
            Judged::NoRule(n) => (
                "none",
                format!(
                    "none of the {n} rules matches and no plugin decides: Claude Code's own permission flow does"
                ),
            ),
        };
        Ok(RulesTestResult {
            decision: decision.to_owned(),
            why,
            plugins: views,
        })
    }
}
