//! One hook event through the runner: select the definitions that apply,
//! expand `dirs_with`, consult the cache, run the rest in parallel (up to a
//! cap, `depends_on` first), record every run, and aggregate the results
//! into Claude Code's hook output.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::{Value, json};

use crate::def::{FailsOn, HookDef};
use crate::exec::{self, Stream};
use crate::fingerprint;
use crate::matcher::matched_value;
use crate::store::{RunRecord, Store};

/// An event to run hooks for.
#[derive(Debug, Clone)]
pub struct Request {
    /// Hook event (`Stop`, `PostToolUse`, …).
    pub event: String,
    /// Claude Code's payload (goes to each hook's stdin).
    pub payload: Value,
    /// The project directory (`CLAUDE_PROJECT_DIR`, else the payload's cwd).
    pub project_dir: PathBuf,
    /// Session id.
    pub session_id: Option<String>,
    /// Skip the cache.
    pub no_cache: bool,
    /// Only this directory (for re-runs).
    pub only_dir: Option<PathBuf>,
    /// Only these hooks (for re-runs); empty: all that apply.
    pub only_hooks: Vec<String>,
}

/// A line of output, as streamed.
#[derive(Debug, Clone, Serialize)]
pub struct OutputLine {
    /// The run.
    pub run_id: String,
    /// The hook.
    pub hook: String,
    /// Its directory.
    pub dir: String,
    /// `stdout` or `stderr`.
    pub stream: Stream,
    /// The line.
    pub line: String,
}

/// What the runner reports while it works.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RunEvent {
    /// A check starts (after the cache said it must run).
    Started {
        /// The run.
        run_id: String,
        /// The hook.
        hook: String,
        /// Its directory.
        dir: String,
    },
    /// A line of output.
    Output(OutputLine),
    /// A check is done (ran, cached, skipped, timed out).
    Finished(RunRecord),
}

/// The callback that sees every [`RunEvent`], in order per run.
pub type Observer = Arc<dyn Fn(RunEvent) + Send + Sync>;

/// What an event's hooks came to.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// Every run, in completion order.
    pub runs: Vec<RunRecord>,
    /// Claude Code hook output JSON, when a blocking failure blocks.
    pub output: Option<Value>,
    /// Whether a blocking hook failed.
    pub blocked: bool,
}

/// The runner.
pub struct Engine {
    store: Store,
    logs: PathBuf,
    cap: usize,
}

/// Files hashes computed during one event, by (dir, globs): ten hooks over
/// the same files hash them once.
type HashMemo = Arc<std::sync::Mutex<HashMap<(PathBuf, Vec<String>), Result<String, String>>>>;

struct Target {
    def: HookDef,
    dir: PathBuf,
}

impl Engine {
    /// A runner recording into `store`, writing full output under `logs`,
    /// running at most `cap` hooks of one event at once.
    pub fn new(store: Store, logs: PathBuf, cap: usize) -> Engine {
        Engine {
            store,
            logs,
            cap: cap.max(1),
        }
    }

    /// Default cap: the number of cores.
    pub fn default_cap() -> usize {
        std::thread::available_parallelism().map_or(2, |n| n.get())
    }

    /// The store (history).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The definitions of `defs` that apply to `req`, with their target
    /// directories.
    fn targets(defs: &[HookDef], req: &Request) -> Vec<Target> {
        let value = matched_value(&req.event, &req.payload);
        let mut out = Vec::new();
        for d in defs {
            if !d.applies(&req.event, value) {
                continue;
            }
            if !req.only_hooks.is_empty() && !req.only_hooks.contains(&d.spec.name) {
                continue;
            }
            let dirs = if d.spec.dirs_with.is_empty() {
                vec![req.project_dir.clone()]
            } else {
                fingerprint::marker_dirs(&req.project_dir, &d.spec.dirs_with)
            };
            for dir in dirs {
                if req.only_dir.as_ref().is_some_and(|o| o != &dir) {
                    continue;
                }
                out.push(Target {
                    def: d.clone(),
                    dir,
                });
            }
        }
        out
    }

    /// Runs the hooks of `defs` that apply to `req`. `on_line` sees every
    /// output line as it arrives.
    pub async fn execute(
        self: &Arc<Self>,
        defs: &[HookDef],
        req: &Request,
        on_event: Observer,
    ) -> Outcome {
        let targets = Self::targets(defs, req);
        let stdin = serde_json::to_vec(&req.payload).unwrap_or_default();
        let sem = Arc::new(tokio::sync::Semaphore::new(self.cap));
        let mut pending: Vec<usize> = (0..targets.len()).collect();
        // (hook name, dir) → passed?
        let mut done: HashMap<(String, PathBuf), bool> = HashMap::new();
        let mut runs = Vec::new();
        let mut set = tokio::task::JoinSet::new();
        let targets = Arc::new(targets);
        let memo: HashMemo = Arc::default();
        loop {
            // Start every target whose dependencies (in its directory) are done.
            let mut still = Vec::new();
            for i in pending {
                let t = &targets[i];
                let deps: Vec<&String> = t
                    .def
                    .spec
                    .depends_on
                    .iter()
                    .filter(|n| {
                        targets
                            .iter()
                            .any(|o| &o.def.spec.name == *n && o.dir == t.dir)
                    })
                    .collect();
                if deps
                    .iter()
                    .any(|n| !done.contains_key(&((*n).clone(), t.dir.clone())))
                {
                    still.push(i);
                    continue;
                }
                if let Some(failed) = deps
                    .iter()
                    .find(|n| done.get(&((**n).clone(), t.dir.clone())) == Some(&false))
                {
                    let rec =
                        self.skipped(t, req, &format!("skipped: dependency `{failed}` failed"));
                    on_event(RunEvent::Finished(rec.clone()));
                    done.insert((t.def.spec.name.clone(), t.dir.clone()), false);
                    runs.push(rec);
                    continue;
                }
                let (this, targets, req, stdin, sem, on_event, memo) = (
                    Arc::clone(self),
                    Arc::clone(&targets),
                    req.clone(),
                    stdin.clone(),
                    Arc::clone(&sem),
                    Arc::clone(&on_event),
                    Arc::clone(&memo),
                );
                set.spawn(async move {
                    let _permit = sem.acquire_owned().await;
                    let rec = this
                        .run_one(&targets, i, &req, stdin, Arc::clone(&on_event), &memo)
                        .await;
                    on_event(RunEvent::Finished(rec.clone()));
                    (i, rec)
                });
            }
            pending = still;
            match set.join_next().await {
                Some(Ok((i, rec))) => {
                    let t = &targets[i];
                    done.insert((t.def.spec.name.clone(), t.dir.clone()), rec.passed);
                    runs.push(rec);
                }
                Some(Err(e)) => tracing::warn!(error = %e, "a hook task failed"),
                None => {
                    // Nothing running and nothing startable: a cycle.
                    for i in pending {
                        let rec =
                            self.skipped(&targets[i], req, "skipped: depends_on forms a cycle");
                        on_event(RunEvent::Finished(rec.clone()));
                        runs.push(rec);
                    }
                    break;
                }
            }
        }
        let failed: Vec<(&RunRecord, &HookDef)> = runs
            .iter()
            .filter(|r| !r.passed && r.outcome != "skipped")
            .filter_map(|r| {
                let t = targets
                    .iter()
                    .find(|t| t.def.spec.name == r.hook && t.dir.display().to_string() == r.dir)?;
                t.def.spec.blocking.then_some((r, &t.def))
            })
            .collect();
        let blocked = !failed.is_empty();
        let output = blocked.then(|| output_for(&req.event, &reason(&failed, req)));
        Outcome {
            runs,
            output: output.flatten(),
            blocked,
        }
    }

    fn skipped(&self, t: &Target, req: &Request, why: &str) -> RunRecord {
        let now = now_ms();
        let rec = RunRecord {
            run_id: new_id(),
            hook: t.def.spec.name.clone(),
            dir: t.dir.display().to_string(),
            session_id: req.session_id.clone(),
            event: req.event.clone(),
            started_ms: now,
            ended_ms: now,
            exit_code: None,
            outcome: "skipped".into(),
            passed: false,
            why: why.to_owned(),
            blocking: t.def.spec.blocking,
            head: Vec::new(),
            log: String::new(),
        };
        if let Err(e) = self.store.record(&rec) {
            tracing::warn!(error = %e, "cannot record a hook run");
        }
        rec
    }

    /// The cache's verdict: `Ok(reason)` to skip, `Err(reason)` to run (with
    /// the files hash to remember on success, when there is one).
    fn cache_check(
        &self,
        t: &Target,
        req: &Request,
        command: &str,
        memo: &HashMemo,
    ) -> Result<String, (String, Option<String>)> {
        if t.def.spec.if_changed.is_empty() {
            return Err(("no if_changed: always runs".into(), None));
        }
        let key = (t.dir.clone(), t.def.spec.if_changed.clone());
        // Held while hashing: hooks sharing a directory wait for the one
        // hash instead of each computing it.
        let hashed = match memo.lock() {
            Ok(mut m) => m
                .entry(key)
                .or_insert_with(|| {
                    fingerprint::hash(&t.dir, &t.def.spec.if_changed).map(|(h, _)| h)
                })
                .clone(),
            Err(_) => fingerprint::hash(&t.dir, &t.def.spec.if_changed).map(|(h, _)| h),
        };
        let hash = match hashed {
            Ok(h) => h,
            Err(e) => return Err((format!("cannot hash the files ({e}): runs"), None)),
        };
        if req.no_cache {
            return Err(("--no-cache".into(), Some(hash)));
        }
        let dir = t.dir.display().to_string();
        match self.store.last_success(&t.def.spec.name, &dir, command) {
            Ok(Some((h, ts))) if h == hash => Ok(format!(
                "cached: files unchanged since the passing run at {ts} ms"
            )),
            Ok(Some(_)) => Err((
                "files changed since the last passing run".into(),
                Some(hash),
            )),
            Ok(None) => Err(("no passing run recorded for these files".into(), Some(hash))),
            Err(e) => Err((format!("cache unreadable ({e}): runs"), Some(hash))),
        }
    }

    async fn run_one(
        self: &Arc<Self>,
        targets: &Arc<Vec<Target>>,
        i: usize,
        req: &Request,
        stdin: Vec<u8>,
        on_event: Observer,
        memo: &HashMemo,
    ) -> RunRecord {
        let t = &targets[i];
        let run_id = new_id();
        let command = t.def.cache_command();
        let dir = t.dir.display().to_string();
        let started = now_ms();
        // Hashing reads files and the cache reads SQLite: off the async
        // workers, so other connections are not held up.
        let verdict = {
            let (this, targets, req, cmd, memo) = (
                Arc::clone(self),
                Arc::clone(targets),
                req.clone(),
                command.clone(),
                Arc::clone(memo),
            );
            tokio::task::spawn_blocking(move || this.cache_check(&targets[i], &req, &cmd, &memo))
                .await
                .unwrap_or_else(|e| Err((format!("the cache check failed ({e}): runs"), None)))
        };
        let (why, hash) = match verdict {
            Ok(reason) => {
                let rec = RunRecord {
                    run_id,
                    hook: t.def.spec.name.clone(),
                    dir,
                    session_id: req.session_id.clone(),
                    event: req.event.clone(),
                    started_ms: started,
                    ended_ms: now_ms(),
                    exit_code: Some(0),
                    outcome: "cached".into(),
                    passed: true,
                    why: reason,
                    blocking: t.def.spec.blocking,
                    head: Vec::new(),
                    log: String::new(),
                };
                if let Err(e) = self.store.record(&rec) {
                    tracing::warn!(error = %e, "cannot record a hook run");
                }
                return rec;
            }
            Err(x) => x,
        };
        let log = self.logs.join(format!("{run_id}.log"));
        let mut env: Vec<(String, String)> = t
            .def
            .spec
            .env
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        env.push((
            "CLAUDE_PROJECT_DIR".into(),
            req.project_dir.display().to_string(),
        ));
        env.push((
            "AGENTD_SESSION_ID".into(),
            req.session_id.clone().unwrap_or_default(),
        ));
        env.push(("AGENTD_HOOK_DIR".into(), dir.clone()));
        let job = exec::Job {
            command: t.def.spec.command.clone(),
            args: t.def.spec.args.clone(),
            dir: t.dir.clone(),
            env,
            stdin,
            timeout: Duration::from_secs(t.def.spec.timeout),
            log: log.clone(),
        };
        let (rid, hook, d2) = (run_id.clone(), t.def.spec.name.clone(), dir.clone());
        on_event(RunEvent::Started {
            run_id: rid.clone(),
            hook: hook.clone(),
            dir: d2.clone(),
        });
        let f = exec::run(&job, &move |stream, line| {
            on_event(RunEvent::Output(OutputLine {
                run_id: rid.clone(),
                hook: hook.clone(),
                dir: d2.clone(),
                stream,
                line: line.to_owned(),
            }))
        })
        .await;
        let passed = match t.def.fails_on {
            FailsOn::NonZero => f.exit_code == Some(0),
            FailsOn::Exit2 => f.exit_code != Some(2) && !f.timed_out,
        };
        let outcome = if f.spawn_error.is_some() {
            "failed_to_start"
        } else if f.timed_out {
            "timed_out"
        } else {
            "ran"
        };
        let rec = RunRecord {
            run_id: run_id.clone(),
            hook: t.def.spec.name.clone(),
            dir: dir.clone(),
            session_id: req.session_id.clone(),
            event: req.event.clone(),
            started_ms: started,
            ended_ms: now_ms(),
            exit_code: f.exit_code,
            outcome: outcome.into(),
            passed,
            why,
            blocking: t.def.spec.blocking,
            head: f.head,
            log: log.display().to_string(),
        };
        if let Err(e) = self.store.record(&rec) {
            tracing::warn!(error = %e, "cannot record a hook run");
        }
        if passed
            && let Some(h) = hash
            && let Err(e) =
                self.store
                    .save_success(&t.def.spec.name, &dir, &command, &h, &run_id, rec.ended_ms)
        {
            tracing::warn!(error = %e, "cannot update the hook cache");
        }
        rec
    }
}

/// The reason Claude reads: which hooks failed where, their first lines,
/// the logs, and the command that re-runs only them.
fn reason(failed: &[(&RunRecord, &HookDef)], req: &Request) -> String {
    let mut s = format!("{} agentd hook check(s) failed:\n", failed.len());
    for (r, _) in failed {
        let how = match (r.outcome.as_str(), r.exit_code) {
            ("timed_out", _) => "timed out".to_owned(),
            ("failed_to_start", _) => "could not start".to_owned(),
            (_, Some(c)) => format!("exit {c}"),
            _ => "killed".to_owned(),
        };
        s.push_str(&format!("- {} in {} ({how})\n", r.hook, r.dir));
        for l in r.head.iter().filter(|l| !l.trim().is_empty()).take(8) {
            s.push_str(&format!("    {l}\n"));
        }
        s.push_str(&format!("    full output: {}\n", r.log));
        let mut rerun = format!(
            "agentd hooks run {} --hook {}",
            req.event,
            shell_quote(&r.hook)
        );
        rerun.push_str(&format!(" --dir {}", shell_quote(&r.dir)));
        if let Some(sid) = &req.session_id {
            rerun.push_str(&format!(" --session {}", shell_quote(sid)));
        }
        s.push_str(&format!("    re-run: {rerun}\n"));
    }
    s.push_str("Fix these before finishing.");
    s
}

fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:@%+=".contains(c))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// Claude Code's blocking output for `event` (reference §2.4 "Decision
/// control per event"); `None` for events that cannot block.
pub fn output_for(event: &str, reason: &str) -> Option<Value> {
    match event {
        "Stop" | "SubagentStop" | "PostToolUse" | "PostToolUseFailure" | "UserPromptSubmit"
        | "PreCompact" | "PostToolBatch" | "ConfigChange" => {
            Some(json!({"decision": "block", "reason": reason}))
        }
        "PreToolUse" => Some(json!({"hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": "deny",
            "permissionDecisionReason": reason
        }})),
        _ => None,
    }
}

/// Now, ms since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// A fresh run id (`h` + ms since the epoch in hex + a counter).
pub fn new_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "h{:x}{:04x}",
        now_ms(),
        N.fetch_add(1, Ordering::Relaxed) & 0xffff
    )
}

#[cfg(test)]
mod tests;
