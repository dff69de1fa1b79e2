//! The hook runner's operations: definitions, running an event's hooks
//! now, and the record of runs.

use std::path::PathBuf;
use std::sync::Arc;

use agentd_hooks::Request;
use agentd_hooks::def;
use agentd_hooks::store::RunRecord;
use agentd_hooks::validation::{self, Validation};
use agentd_proto::api::{
    FileValidationParams, HooksExecuteParams, HooksHistoryParams, HooksListed, HooksPendingParams,
    MAX_RECORDED_OUTPUT_BYTES, PendingHookRun, RecordExecutionParams,
};
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
        let engine = self.engine()?;
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
        let watch = observer(shared, &req.event, req.session_id.clone(), Some(tx));
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

    /// The hook runs in progress (started, not finished), oldest first.
    pub fn pending_hooks(&self, p: HooksPendingParams) -> Vec<PendingHookRun> {
        self.shared
            .hooks
            .as_ref()
            .map(|r| r.pending(p.session_id.as_deref()))
            .unwrap_or_default()
    }

    /// Every hook run's progress from now on (started, each output line,
    /// finished).
    ///
    /// # Errors
    /// [`ServiceError::Internal`] when the runner is off.
    pub fn watch_hook_runs(
        &self,
    ) -> Result<tokio::sync::broadcast::Receiver<Arc<crate::hooks::RunUpdate>>, ServiceError> {
        self.runner().map(|r| r.watch())
    }

    /// Records a run done by a hook runner outside agentd: it shows in the
    /// history beside agentd's own, and in its session's events when the
    /// session is known.
    ///
    /// # Errors
    /// [`ServiceError::Invalid`] for an empty hook or event, a relative
    /// `dir`, an unknown outcome; [`ServiceError::TooLarge`] for output
    /// over [`MAX_RECORDED_OUTPUT_BYTES`]; [`ServiceError::Store`].
    pub async fn record_hook_execution(
        &self,
        p: RecordExecutionParams,
    ) -> Result<RunRecord, ServiceError> {
        let engine = self.engine()?;
        if p.hook.trim().is_empty() || p.event.trim().is_empty() {
            return Err(ServiceError::invalid(
                "`hook` and `event` must be non-empty (e.g. hook \"clippy\", event \"Stop\")",
            ));
        }
        if !std::path::Path::new(&p.dir).is_absolute() {
            return Err(ServiceError::invalid(format!(
                "`dir` {:?} is not an absolute path",
                p.dir
            )));
        }
        let output = p.output.unwrap_or_default();
        if output.len() > MAX_RECORDED_OUTPUT_BYTES {
            return Err(ServiceError::too_large(format!(
                "`output` is {} bytes; at most {MAX_RECORDED_OUTPUT_BYTES} are kept per run (send the head, keep the full log yourself)",
                output.len()
            )));
        }
        let outcome = p.outcome.unwrap_or_else(|| "ran".to_owned());
        if !matches!(
            outcome.as_str(),
            "ran" | "cached" | "timed_out" | "failed_to_start" | "skipped"
        ) {
            return Err(ServiceError::invalid(format!(
                "unknown outcome {outcome:?}: say ran, cached, timed_out, failed_to_start or skipped"
            )));
        }
        let passed = p
            .passed
            .unwrap_or(matches!(outcome.as_str(), "ran" | "cached") && p.exit_code == Some(0));
        let ended_ms = agentd_hooks::engine::now_ms();
        let duration = i64::try_from(p.duration_ms).unwrap_or(i64::MAX);
        let rec = RunRecord {
            run_id: agentd_hooks::engine::new_id(),
            hook: p.hook,
            dir: p.dir,
            session_id: p.session_id,
            event: p.event,
            started_ms: ended_ms.saturating_sub(duration),
            ended_ms,
            exit_code: p.exit_code,
            outcome,
            passed,
            why: "recorded by an external runner".to_owned(),
            // An outside runner's checks gate its agent as agentd's own do
            // by default.
            blocking: true,
            head: output
                .lines()
                .take(agentd_hooks::exec::HEAD_LINES)
                .map(|l| l[..l.floor_char_boundary(agentd_hooks::exec::HEAD_LINE_BYTES)].to_owned())
                .collect(),
            log: String::new(),
        };
        let stored = rec.clone();
        tokio::task::spawn_blocking(move || engine.store().record(&stored))
            .await
            .map_err(ServiceError::internal)?
            .map_err(|e| ServiceError::store(format!("writing hooks.db failed: {e}")))?;
        let watch = observer(&self.shared, &rec.event, rec.session_id.clone(), None);
        watch(agentd_hooks::RunEvent::Finished(rec.clone()));
        Ok(rec)
    }

    /// Whether a hook's last pass in a directory still covers its files
    /// (the change cache agentd's runner skips by).
    ///
    /// # Errors
    /// [`ServiceError::Invalid`] for a bad directory, no globs and no such
    /// hook defined, files that cannot all be hashed.
    pub async fn check_file_validation(
        &self,
        p: FileValidationParams,
    ) -> Result<Validation, ServiceError> {
        self.file_validation(p, false).await
    }

    /// Records a pass over a hook's files: agentd's runner (and later
    /// checks) skip the hook until one of them changes.
    ///
    /// # Errors
    /// As [`Service::check_file_validation`]; a bad `files_hash`.
    pub async fn record_file_validation(
        &self,
        p: FileValidationParams,
    ) -> Result<Validation, ServiceError> {
        self.file_validation(p, true).await
    }

    async fn file_validation(
        &self,
        p: FileValidationParams,
        record: bool,
    ) -> Result<Validation, ServiceError> {
        let engine = self.engine()?;
        if p.hook.trim().is_empty() {
            return Err(ServiceError::invalid("`hook` must be non-empty"));
        }
        let dir = PathBuf::from(&p.dir);
        let not_dir = || {
            ServiceError::invalid(format!(
                "`dir` {:?} is not an existing absolute directory",
                p.dir
            ))
        };
        if !dir.is_absolute() {
            return Err(not_dir());
        }
        let dir = crate::blocking::bounded("checking the hook's directory", move || {
            project_dir_blocking(dir)
        })
        .await
        .flatten()
        .ok_or_else(not_dir)?;
        let (globs, command) = if p.globs.is_empty() {
            let (defs, _) = definitions(&self.shared, Some(dir.clone())).await;
            let d = defs.iter().find(|d| d.spec.name == p.hook).ok_or_else(|| {
                ServiceError::invalid(format!(
                    "no hook named {:?} is defined for {}; give `globs` (the files it checks)",
                    p.hook,
                    dir.display()
                ))
            })?;
            (
                d.spec.if_changed.clone(),
                p.command.clone().unwrap_or_else(|| d.cache_command()),
            )
        } else {
            (p.globs.clone(), p.command.clone().unwrap_or_default())
        };
        let hook = p.hook;
        let files_hash = p.files_hash;
        let work = tokio::task::spawn_blocking(move || {
            let key = validation::Key {
                hook: &hook,
                dir: &dir,
                command: &command,
                globs: &globs,
            };
            if record {
                let run_id = format!("external-{}", agentd_hooks::engine::new_id());
                validation::record(
                    engine.store(),
                    &key,
                    files_hash.as_deref(),
                    &run_id,
                    agentd_hooks::engine::now_ms(),
                )
            } else {
                validation::check(engine.store(), &key)
            }
        });
        match tokio::time::timeout(HASH_TIMEOUT, work).await {
            Ok(Ok(r)) => r.map_err(ServiceError::invalid),
            Ok(Err(e)) => Err(ServiceError::internal(e)),
            Err(_) => Err(ServiceError::invalid(format!(
                "hashing the hook's files took over {} s; narrow its globs",
                HASH_TIMEOUT.as_secs()
            ))),
        }
    }

    fn engine(&self) -> Result<Arc<agentd_hooks::Engine>, ServiceError> {
        self.runner().map(|r| Arc::clone(&r.engine))
    }

    fn runner(&self) -> Result<&crate::hooks::Runner, ServiceError> {
        self.shared.hooks.as_ref().ok_or_else(|| {
            ServiceError::internal(
                "the hook runner is off (hooks.db cannot be opened; see the daemon log)",
            )
        })
    }
}

/// How long hashing a hook's files for a validation call may take.
const HASH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);
