//! WASM plugins on the GraphQL face: their state and logs, reload,
//! enable/disable, and `rulesTest` (which rule or plugin decides a tool
//! call). Decode → one [`crate::service::Service`] call → encode.

use async_graphql::{Context, Object, SimpleObject};

use agentd_proto::api::{
    PluginLogLine, PluginVerdictView, PluginView, RulesTestParams, RulesTestResult,
};

use super::error::gql;
use super::json::Json;
use super::service;

/// A WASM plugin in the root's `plugins/` folder.
#[derive(SimpleObject)]
pub struct Plugin {
    /// Its name (files `NAME.wasm`, `NAME.toml`).
    pub name: String,
    /// Its version, when loaded.
    pub version: Option<String>,
    /// `enabled`, `disabled` (by the user or after repeated failures) or
    /// `failed` (it never loaded).
    pub state: String,
    /// Why it is disabled or did not load.
    pub reason: Option<String>,
    /// Tool names it decides on (globs).
    pub tools: Vec<String>,
    /// Event kinds it is told of.
    pub events: Vec<String>,
    /// Capabilities its manifest asks for.
    pub capabilities: Vec<String>,
    /// Of those, the granted ones.
    pub granted: Vec<String>,
    /// Calls so far.
    pub calls: u64,
    /// Failed calls (it abstained).
    pub errors: u64,
    /// Mean call time, µs.
    pub mean_us: u64,
    /// BLAKE3 of the running version (16 hex digits).
    pub hash: Option<String>,
    /// When the running version was loaded, ms since the Unix epoch.
    pub loaded_ms: Option<i64>,
}

impl From<PluginView> for Plugin {
    fn from(p: PluginView) -> Plugin {
        Plugin {
            name: p.name,
            version: p.version,
            state: p.state,
            reason: p.reason,
            tools: p.tools,
            events: p.events,
            capabilities: p.capabilities,
            granted: p.granted,
            calls: p.calls,
            errors: p.errors,
            mean_us: p.mean_us,
            hash: p.hash,
            loaded_ms: p.loaded_ms,
        }
    }
}

/// A line of a plugin's log.
#[derive(SimpleObject)]
pub struct PluginLog {
    /// When, ms since the Unix epoch.
    pub ts_ms: i64,
    /// `info`, `warn` or `load`.
    pub level: String,
    /// The text.
    pub text: String,
}

impl From<PluginLogLine> for PluginLog {
    fn from(l: PluginLogLine) -> PluginLog {
        PluginLog {
            ts_ms: l.ts_ms,
            level: l.level,
            text: l.text,
        }
    }
}

/// One plugin's answer in `rulesTest`.
#[derive(SimpleObject)]
pub struct PluginVerdict {
    /// The plugin.
    pub plugin: String,
    /// `allow`, `deny`, `ask` or `abstain`.
    pub decision: String,
    /// Its message or reason.
    pub message: Option<String>,
    /// Why it abstained when it failed.
    pub failure: Option<String>,
}

/// What agentd would do with a tool call.
#[derive(SimpleObject)]
pub struct RulesTest {
    /// `allow`, `deny`, `ask` or `none`.
    pub decision: String,
    /// Which rule or plugin, and why.
    pub why: String,
    /// Every plugin asked.
    pub plugins: Vec<PluginVerdict>,
}

impl From<RulesTestResult> for RulesTest {
    fn from(r: RulesTestResult) -> RulesTest {
        RulesTest {
            decision: r.decision,
            why: r.why,
            plugins: r
                .plugins
                .into_iter()
                .map(|v: PluginVerdictView| PluginVerdict {
                    plugin: v.plugin,
                    decision: v.decision,
                    message: v.message,
                    failure: v.failure,
                })
                .collect(),
        }
    }
}

/// Plugin queries.
#[derive(Default)]
pub struct PluginQuery;

#[Object]
impl PluginQuery {
    /// Every plugin, by name.
    async fn plugins(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Plugin>> {
        Ok(service(ctx)?
            .plugins()
            .map_err(gql)?
            .into_iter()
            .map(Plugin::from)
            .collect())
    }

    /// A plugin's log, oldest first.
    async fn plugin_logs(
        &self,
        ctx: &Context<'_>,
        name: String,
    ) -> async_graphql::Result<Vec<PluginLog>> {
        Ok(service(ctx)?
            .plugin_logs(&name)
            .map_err(gql)?
            .into_iter()
            .map(PluginLog::from)
            .collect())
    }

    /// Which rule or plugin decides a tool call, and why (nothing runs but
    /// the plugins).
    async fn rules_test(
        &self,
        ctx: &Context<'_>,
        tool: String,
        input: Option<Json>,
        cwd: Option<String>,
    ) -> async_graphql::Result<RulesTest> {
        let p = RulesTestParams {
            tool,
            input: input.map(|j| j.0).unwrap_or_default(),
            cwd,
        };
        service(ctx)?
            .rules_test(p)
            .await
            .map(RulesTest::from)
            .map_err(gql)
    }
}

/// Plugin mutations.
#[derive(Default)]
pub struct PluginMutation;

#[Object]
impl PluginMutation {
    /// Loads what changed in the plugin folder now.
    async fn reload_plugins(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Plugin>> {
        Ok(service(ctx)?
            .reload_plugins()
            .await
            .map_err(gql)?
            .into_iter()
            .map(Plugin::from)
            .collect())
    }

    /// Enables or disables a plugin (kept across restarts).
    async fn set_plugin_enabled(
        &self,
        ctx: &Context<'_>,
        name: String,
        enabled: bool,
    ) -> async_graphql::Result<Plugin> {
        service(ctx)?
            .set_plugin_enabled(&name, enabled)
            .await
            .map(Plugin::from)
            .map_err(gql)
    }
}
