//! The hook runner's operations: definitions, running an event's hooks
//! now, and the record of runs.

use std::path::PathBuf;
use std::sync::Arc;

use agentd_hooks::Request;
use agentd_hooks::def;
use agentd_hooks::store::RunRecord;
use agentd_proto::api::{HooksExecuteParams, HooksHistoryParams, HooksListed};
use serde_json::{Value, json};

use super::{Service, ServiceError};
use crate::approvals::{Hold, HoldNotice};
use crate::hooks::{definitions, observer, project_dir_blocking, project_of};

impl Service {
    /// The effective hook definitions for a project (`cwd`), and enabled
    /// plugins' hooks marked inactive when agentd leaves them to Claude
    /// Code (`[runner] plugins = false`).
    pub async fn hooks(&self, cwd: Option<String>) -> HooksListed {
        let shared = &self.shared;
        let project = cwd.map(PathBuf::from);
        let (defs, mut errors) = definitions(shared, project).await;
        let mut hooks: Vec<Value> = defs
            .iter()
            .filter_map(|d| serde_json::to_value(d).ok())
            .map(|mut v| {
                v["active"] = json!(true);
                v
            })
            .collect();
        if !shared.config.runner.plugins
            && let Some(cfg) = agentd_client::claude_config_dir()
            && let Some((plugin_defs, plugin_errors)) =
                crate::blocking::bounded("reading plugins' hooks", move || def::plugins(&cfg)).await
        {
            hooks.extend(
                plugin_defs
                    .iter()
                    .filter_map(|d| serde_json::to_value(d).ok())
                    .map(|mut v| {
                        v["active"] = json!(false);
                        v
                    }),
            );
            errors.extend(plugin_errors.into_iter().map(|e| e.to_string()));
        }
        HooksListed { hooks, errors }
    }

    /// Runs an event's hooks now: held while they run (their output lines
    /// stream to the caller), then `{runs, output, blocked}`.
    ///
    /// # Errors
    /// [`ServiceError::Internal`] when the runner is off;
    /// [`ServiceError::Invalid`] without a project directory or with a bad
    /// definition.
    pub async fn execute_hooks(&self, p: HooksExecuteParams) -> Result<Hold, ServiceError> {
        let shared = &self.shared;
        let engine = shared
            .hooks
            .as_ref()
            .map(|r| Arc::clone(&r.engine))
            .ok_or_else(|| {
                ServiceError::internal(
                    "the hook runner is off (hooks.db cannot be opened; see the daemon log)",
                )
            })?;
        let mut payload = p.payload.unwrap_or_else(|| json!({}));
        if let Value::Object(m) = &mut payload {
            m.entry("hook_event_name").or_insert_with(|| json!(p.event));
            if let Some(s) = &p.session_id {
                m.entry("session_id").or_insert_with(|| json!(s));
            }
            if let Some(c) = &p.cwd {
                m.entry("cwd").or_insert_with(|| json!(c));
            }
        }
        let no_project = || {
            ServiceError::invalid(
                "no project directory: give `cwd` (an existing absolute directory)",
            )
        };
        let project = project_of(&payload, p.cwd.as_deref()).ok_or_else(no_project)?;
        let project = crate::blocking::bounded("checking the project directory", move || {
            project_dir_blocking(project)
        })
        .await
        .flatten()
        .ok_or_else(no_project)?;
        let (defs, errors) = definitions(shared, Some(project.clone())).await;
        if let Some(e) = errors.first() {
            return Err(ServiceError::invalid(e.clone()));
        }
        let timeout_s = defs.iter().map(|d| d.spec.timeout).max().unwrap_or(600) + 30;
        let req = Request {
            event: p.event,
            payload,
            project_dir: project,
            session_id: p.session_id,
            no_cache: p.no_cache,
            only_dir: p.dir.map(PathBuf::from),
            only_hooks: p.hooks,
        };
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let watch = observer(shared, req.session_id.clone(), Some(tx));
        let reply = async move {
            let out = engine.execute(&defs, &req, watch).await;
            serde_json::to_value(out).map_err(ServiceError::internal)
        };
        Ok(Hold {
            notice: HoldNotice::HooksRunning {
                hooks: None,
                timeout_s,
            },
            reply: Box::pin(reply),
            stream: Some(rx),
        })
    }

    /// Recorded hook runs, newest first.
    ///
    /// # Errors
    /// [`ServiceError::Store`] when `hooks.db` cannot be read.
    pub async fn hook_runs(&self, p: HooksHistoryParams) -> Result<Vec<RunRecord>, ServiceError> {
        let Some(engine) = self.shared.hooks.as_ref().map(|r| Arc::clone(&r.engine)) else {
            return Ok(Vec::new());
        };
        let limit = p.limit.unwrap_or(100).clamp(1, 10_000);
        tokio::task::spawn_blocking(move || engine.store().history(limit, p.session_id.as_deref()))
            .await
            .map_err(ServiceError::internal)?
            .map_err(|e| ServiceError::store(format!("reading hooks.db failed: {e}")))
    }
}
