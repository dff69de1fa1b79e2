//! The hook runner on the GraphQL face: runs (recorded and in progress),
//! running an event's hooks, the change cache for outside runners, and
//! live output. Decode → one [`crate::service::Service`] call → encode.

use async_graphql::{Context, Enum, InputObject, Object, SimpleObject, Subscription};

use super::json::Json;
use futures_util::{Stream, StreamExt};
use tokio::sync::broadcast::error::RecvError;

use agentd_proto::api::{
    FileValidationParams, HooksExecuteParams, HooksHistoryParams, HooksPendingParams,
    RecordExecutionParams,
};

use super::error::gql;
use super::service;
use crate::service::ServiceError;

/// One recorded hook run.
#[derive(SimpleObject, Clone)]
pub struct HookRun {
    /// Unique id.
    pub run_id: String,
    /// Hook name.
    pub hook: String,
    /// The directory it ran in.
    pub dir: String,
    /// The session whose event started it.
    pub session_id: Option<String>,
    /// The hook event (`Stop`, …).
    pub event: String,
    /// Start, ms since the Unix epoch.
    pub started_ms: i64,
    /// End, ms since the Unix epoch.
    pub ended_ms: i64,
    /// Exit code (none: timed out, killed, or not started).
    pub exit_code: Option<i32>,
    /// `ran`, `cached`, `timed_out`, `failed_to_start` or `skipped`.
    pub outcome: String,
    /// Whether it passed (a cached run passed).
    pub passed: bool,
    /// Why it ran or was skipped (the cache's verdict).
    pub why: String,
    /// Whether its failure blocks the agent.
    pub blocking: bool,
    /// The first lines of its output.
    pub head: Vec<String>,
    /// The full output's file (empty for runs recorded from outside).
    pub log: String,
}

impl From<agentd_hooks::store::RunRecord> for HookRun {
    fn from(r: agentd_hooks::store::RunRecord) -> HookRun {
        HookRun {
            run_id: r.run_id,
            hook: r.hook,
            dir: r.dir,
            session_id: r.session_id,
            event: r.event,
            started_ms: r.started_ms,
            ended_ms: r.ended_ms,
            exit_code: r.exit_code,
            outcome: r.outcome,
            passed: r.passed,
            why: r.why,
            blocking: r.blocking,
            head: r.head,
            log: r.log,
        }
    }
}

/// A hook run started and not finished yet.
#[derive(SimpleObject)]
pub struct PendingHook {
    /// The run's id.
    pub run_id: String,
    /// Hook name.
    pub hook: String,
    /// The directory it runs in.
    pub dir: String,
    /// The session whose event started it.
    pub session_id: Option<String>,
    /// The hook event.
    pub event: String,
    /// When it started, ms since the Unix epoch.
    pub started_ms: i64,
}

/// What an event's hooks came to.
#[derive(SimpleObject)]
pub struct HookOutcome {
    /// Every run, in completion order.
    pub runs: Vec<HookRun>,
    /// Whether a blocking hook failed.
    pub blocked: bool,
    /// Claude Code's hook output when it blocks (JSON).
    pub output: Option<Json>,
}

/// The change cache's verdict on a hook's files.
#[derive(SimpleObject)]
pub struct FileValidation {
    /// BLAKE3 (hex) over the selected files, now.
    pub files_hash: String,
    /// How many files the globs select.
    pub files: u64,
    /// The last recorded pass covered exactly these files: skip the hook.
    pub unchanged: bool,
    /// When that pass was recorded, ms since the Unix epoch.
    pub passed_ms: Option<i64>,
    /// The verdict in words.
    pub why: String,
}

impl From<agentd_hooks::validation::Validation> for FileValidation {
    fn from(v: agentd_hooks::validation::Validation) -> FileValidation {
        FileValidation {
            files_hash: v.files_hash,
            files: v.files,
            unchanged: v.unchanged,
            passed_ms: v.passed_ms,
            why: v.why,
        }
    }
}

/// A hook's files in a directory, for the change cache.
#[derive(InputObject)]
pub struct FileValidationInput {
    /// Hook name.
    pub hook: String,
    /// The directory (absolute, existing).
    pub dir: String,
    /// Globs relative to `dir`; empty: the defined hook's `if_changed`.
    #[graphql(default)]
    pub globs: Vec<String>,
    /// Part of the cache key; default: the defined hook's command, else "".
    pub command: Option<String>,
    /// Record only: the hash a check returned before the hook ran.
    pub files_hash: Option<String>,
}

impl From<FileValidationInput> for FileValidationParams {
    fn from(i: FileValidationInput) -> FileValidationParams {
        FileValidationParams {
            hook: i.hook,
            dir: i.dir,
            globs: i.globs,
            command: i.command,
            files_hash: i.files_hash,
        }
    }
}

/// A run done by a hook runner outside agentd.
#[derive(InputObject)]
pub struct HookExecutionInput {
    /// Hook name.
    pub hook: String,
    /// The directory it ran in (absolute).
    pub dir: String,
    /// The hook event (`Stop`, …).
    pub event: String,
    /// The session, when one asked for it.
    pub session_id: Option<String>,
    /// Exit code; none when killed or timed out.
    pub exit_code: Option<i32>,
    /// How long it ran, ms.
    #[graphql(default)]
    pub duration_ms: u64,
    /// `ran` (default), `cached`, `timed_out`, `failed_to_start`, `skipped`.
    pub outcome: Option<String>,
    /// Default: exit code 0 and outcome `ran` or `cached`.
    pub passed: Option<bool>,
    /// Its output (first lines kept; at most 1 MiB).
    pub output: Option<String>,
}

/// What a live hook-run update is.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum HookUpdateKind {
    /// A run started (the cache said it must run).
    Started,
    /// A line of its output.
    Line,
    /// It finished (ran, cached, skipped, timed out): `run` says how.
    Finished,
    /// This watcher fell behind and missed updates (the runs' log files
    /// and `hookRuns` have everything).
    Lagged,
}

/// One step of a hook run, live.
#[derive(SimpleObject)]
pub struct HookUpdate {
    /// What happened.
    pub kind: HookUpdateKind,
    /// The run (empty for `LAGGED`).
    pub run_id: String,
    /// Hook name.
    pub hook: String,
    /// Its directory.
    pub dir: String,
    /// The session whose event started it.
    pub session_id: Option<String>,
    /// `LINE`: `stdout` or `stderr`.
    pub stream: Option<String>,
    /// `LINE`: the line.
    pub line: Option<String>,
    /// `FINISHED`: the record.
    pub run: Option<HookRun>,
}

/// Hook queries.
#[derive(Default)]
pub struct HookQuery;

#[Object]
impl HookQuery {
    /// Recorded hook runs, newest first.
    async fn hook_runs(
        &self,
        ctx: &Context<'_>,
        session_id: Option<String>,
        #[graphql(desc = "At most this many (default 100, at most 10 000).")] limit: Option<u64>,
    ) -> async_graphql::Result<Vec<HookRun>> {
        let runs = service(ctx)?
            .hook_runs(HooksHistoryParams {
                limit: limit.map(|l| l as usize),
                session_id,
            })
            .await
            .map_err(gql)?;
        Ok(runs.into_iter().map(HookRun::from).collect())
    }

    /// Hook runs started and not finished yet, oldest first.
    async fn pending_hooks(
        &self,
        ctx: &Context<'_>,
        session_id: Option<String>,
    ) -> async_graphql::Result<Vec<PendingHook>> {
        let runs = service(ctx)?.pending_hooks(HooksPendingParams { session_id });
        Ok(runs
            .into_iter()
            .map(|r| PendingHook {
                run_id: r.run_id,
                hook: r.hook,
                dir: r.dir,
                session_id: r.session_id,
                event: r.event,
                started_ms: r.started_ms,
            })
            .collect())
    }

    /// Whether a hook's last pass in a directory still covers its files.
    async fn file_validation(
        &self,
        ctx: &Context<'_>,
        input: FileValidationInput,
    ) -> async_graphql::Result<FileValidation> {
        let v = service(ctx)?
            .check_file_validation(input.into())
            .await
            .map_err(gql)?;
        Ok(v.into())
    }
}

/// Hook mutations.
#[derive(Default)]
pub struct HookMutation;

#[Object]
impl HookMutation {
    /// Runs an event's hooks now and answers when they are done (watch
    /// `hookOutput` for their lines as they come).
    #[allow(clippy::too_many_arguments)]
    async fn execute_hooks(
        &self,
        ctx: &Context<'_>,
        event: String,
        #[graphql(desc = "The project directory (absolute, existing).")] cwd: String,
        session_id: Option<String>,
        #[graphql(desc = "Only these hooks, by name.", default)] hooks: Vec<String>,
        #[graphql(default = false)] no_cache: bool,
        #[graphql(desc = "The payload the hooks get on stdin (a JSON object).")] payload: Option<
            Json,
        >,
    ) -> async_graphql::Result<HookOutcome> {
        let hold = service(ctx)?
            .execute_hooks(HooksExecuteParams {
                event,
                payload: payload.map(|p| p.0),
                session_id,
                cwd: Some(cwd),
                dir: None,
                hooks,
                no_cache,
            })
            .await
            .map_err(gql)?;
        let v = hold.reply.await.map_err(gql)?;
        let runs: Vec<agentd_hooks::store::RunRecord> =
            serde_json::from_value(v["runs"].clone())
                .map_err(|e| gql(ServiceError::internal(e)))?;
        Ok(HookOutcome {
            runs: runs.into_iter().map(HookRun::from).collect(),
            blocked: v["blocked"].as_bool().unwrap_or(false),
            output: Some(v["output"].clone()).filter(|o| !o.is_null()).map(Json),
        })
    }

    /// Records a run done by a hook runner outside agentd.
    async fn record_hook_execution(
        &self,
        ctx: &Context<'_>,
        input: HookExecutionInput,
    ) -> async_graphql::Result<HookRun> {
        let rec = service(ctx)?
            .record_hook_execution(RecordExecutionParams {
                hook: input.hook,
                dir: input.dir,
                event: input.event,
                session_id: input.session_id,
                exit_code: input.exit_code,
                duration_ms: input.duration_ms,
                outcome: input.outcome,
                passed: input.passed,
                output: input.output,
            })
            .await
            .map_err(gql)?;
        Ok(rec.into())
    }

    /// Records a pass over a hook's files: skipped until one changes.
    async fn record_file_validation(
        &self,
        ctx: &Context<'_>,
        input: FileValidationInput,
    ) -> async_graphql::Result<FileValidation> {
        let v = service(ctx)?
            .record_file_validation(input.into())
            .await
            .map_err(gql)?;
        Ok(v.into())
    }
}

/// Hook subscriptions.
#[derive(Default)]
pub struct HookSubscription;

#[Subscription]
impl HookSubscription {
    /// Hook runs live from now on: each start, output line and finish;
    /// optionally one session's, or one run's.
    async fn hook_output(
        &self,
        ctx: &Context<'_>,
        session_id: Option<String>,
        run_id: Option<String>,
    ) -> async_graphql::Result<impl Stream<Item = HookUpdate>> {
        let rx = service(ctx)?.watch_hook_runs().map_err(gql)?;
        let updates = futures_util::stream::unfold(rx, |mut rx| async move {
            match rx.recv().await {
                Ok(u) => Some((Some(u), rx)),
                Err(RecvError::Lagged(_)) => Some((None, rx)),
                Err(RecvError::Closed) => None,
            }
        });
        Ok(updates.filter_map(move |u| {
            let update = match u {
                Some(u) => update_of(&u),
                None => Some(HookUpdate::bare(HookUpdateKind::Lagged, "", "", "", None)),
            };
            let wanted = update.filter(|u| {
                u.kind == HookUpdateKind::Lagged
                    || (session_id
                        .as_ref()
                        .is_none_or(|s| u.session_id.as_ref() == Some(s))
                        && run_id.as_ref().is_none_or(|r| &u.run_id == r))
            });
            std::future::ready(wanted)
        }))
    }
}

impl HookUpdate {
    /// An update with no line and no record.
    fn bare(
        kind: HookUpdateKind,
        run_id: &str,
        hook: &str,
        dir: &str,
        session_id: Option<String>,
    ) -> HookUpdate {
        HookUpdate {
            kind,
            run_id: run_id.to_owned(),
            hook: hook.to_owned(),
            dir: dir.to_owned(),
            session_id,
            stream: None,
            line: None,
            run: None,
        }
    }
}

fn update_of(u: &crate::hooks::RunUpdate) -> Option<HookUpdate> {
    use agentd_hooks::RunEvent;
    let base = |kind, run_id: &str, hook: &str, dir: &str| {
        HookUpdate::bare(kind, run_id, hook, dir, u.session_id.clone())
    };
    Some(match &u.event {
        RunEvent::Started { run_id, hook, dir } => base(HookUpdateKind::Started, run_id, hook, dir),
        RunEvent::Output(l) => HookUpdate {
            stream: Some(l.stream.as_str().to_owned()),
            line: Some(l.line.clone()),
            ..base(HookUpdateKind::Line, &l.run_id, &l.hook, &l.dir)
        },
        RunEvent::Finished(r) => HookUpdate {
            run: Some(r.clone().into()),
            ..base(HookUpdateKind::Finished, &r.run_id, &r.hook, &r.dir)
        },
    })
}
