//! The hook runner inside the daemon: definitions for a project, running
//! them for a `hook.ingest` (held like an approval while they run), and the
//! `hooks.list`, `hooks.execute`, `hooks.history` methods.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use agentd_hooks::def::{self, HookDef};
use agentd_hooks::{Engine, Observer, Request, RunEvent};
use agentd_proto::api::PendingHookRun;
use serde_json::{Value, json};

use crate::approvals::{Hold, HoldNotice};
use crate::state::Shared;

/// The runner as the daemon holds it: the engine, and the `[[hooks]]` of
/// agentd.toml checked once at start (not on every hook event).
pub struct Runner {
    /// The engine.
    pub engine: Arc<Engine>,
    /// agentd.toml's valid definitions.
    config_defs: Vec<HookDef>,
    /// What was wrong with the others.
    config_error: Option<String>,
    /// Projects' definitions as last read, by the path a payload named.
    projects: std::sync::Mutex<std::collections::HashMap<PathBuf, Cached>>,
    /// Runs started and not finished, by run id.
    running: std::sync::Mutex<std::collections::HashMap<String, PendingHookRun>>,
    /// Every run's progress as it happens, for live watchers.
    live: tokio::sync::broadcast::Sender<Arc<RunUpdate>>,
}

/// One step of a hook run, with the session it runs for: what live
/// watchers (GraphQL `hookOutput`) receive.
#[derive(Debug)]
pub struct RunUpdate {
    /// The session whose event started the run.
    pub session_id: Option<String>,
    /// Started, a line, or finished.
    pub event: RunEvent,
}

/// Capacity of the live run-update ring; a watcher further behind misses
/// lines (the run's log file has them all) and is told so.
pub const LIVE_RUN_CAPACITY: usize = 4096;

impl Runner {
    /// The runs in progress, oldest first; only `session_id`'s when given.
    pub fn pending(&self, session_id: Option<&str>) -> Vec<PendingHookRun> {
        let mut runs: Vec<PendingHookRun> = self
            .running
            .lock()
            .map(|m| {
                m.values()
                    .filter(|r| session_id.is_none_or(|s| r.session_id.as_deref() == Some(s)))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        runs.sort_by(|a, b| {
            a.started_ms
                .cmp(&b.started_ms)
                .then(a.run_id.cmp(&b.run_id))
        });
        runs
    }

    /// How many watch runs live now.
    pub fn watchers(&self) -> usize {
        self.live.receiver_count()
    }

    /// Every run's progress from now on.
    pub fn watch(&self) -> tokio::sync::broadcast::Receiver<Arc<RunUpdate>> {
        self.live.subscribe()
    }

    /// Notes a run's progress: the runs in progress, and live watchers.
    fn note(&self, session_id: &Option<String>, event_name: &str, e: &RunEvent) {
        if let Ok(mut m) = self.running.lock() {
            match e {
                RunEvent::Started { run_id, hook, dir } => {
                    m.insert(
                        run_id.clone(),
                        PendingHookRun {
                            run_id: run_id.clone(),
                            hook: hook.clone(),
                            dir: dir.clone(),
                            session_id: session_id.clone(),
                            event: event_name.to_owned(),
                            started_ms: agentd_hooks::engine::now_ms(),
                        },
                    );
                }
                RunEvent::Finished(r) => {
                    m.remove(&r.run_id);
                }
                RunEvent::Output(_) => {}
            }
        }
        if self.live.receiver_count() > 0 {
            let _ = self.live.send(Arc::new(RunUpdate {
                session_id: session_id.clone(),
                event: e.clone(),
            }));
        }
    }
}

/// Definitions read from a project (and plugins), with what was wrong.
type ReadDefs = Arc<(Vec<HookDef>, Vec<String>)>;

/// A project's definitions as read at `at` (`None`: not a directory).
#[derive(Clone)]
struct Cached {
    at: std::time::Instant,
    found: Option<(PathBuf, ReadDefs)>,
}

/// How long a project's `.agentd/hooks.toml` (and plugins' hooks) are
/// reused before they are read again: on every hook event of a busy
/// session a fresh read would cost a trip to the blocking pool; an edit
/// takes effect within this time.
pub const PROJECT_DEFS_TTL: std::time::Duration = std::time::Duration::from_secs(1);

/// Most projects whose definitions are kept.
const PROJECT_CACHE: usize = 256;

/// Opens the runner's store (`hooks.db`) and log folder (`hook-logs/`) in
/// the root and checks agentd.toml's `[[hooks]]` (`config_file`); `None`
/// (logged) when the store cannot be opened.
pub fn open(root: &Path, config: &agentd_client::Config, config_file: &Path) -> Option<Runner> {
    let store = match agentd_hooks::store::Store::open(&root.join("hooks.db")) {
        Ok(store) => store,
        Err(e) => {
            tracing::error!(error = %e, "cannot open hooks.db; the hook runner is off");
            return None;
        }
    };
    let cap = match config.runner.parallel {
        0 => Engine::default_cap(),
        n => n,
    };
    let (config_defs, config_error) = match def::from_toml(&config.hooks, config_file, "config") {
        Ok(d) => (d, None),
        Err(e) => {
            tracing::error!(error = %e, "bad hook definition in agentd.toml; its hooks are off");
            (Vec::new(), Some(e.to_string()))
        }
    };
    Some(Runner {
        engine: Arc::new(Engine::new(store, root.join("hook-logs"), cap)),
        config_defs,
        config_error,
        projects: std::sync::Mutex::new(std::collections::HashMap::new()),
        running: std::sync::Mutex::new(std::collections::HashMap::new()),
        live: tokio::sync::broadcast::channel(LIVE_RUN_CAPACITY).0,
    })
}

/// The project's `.agentd/hooks.toml` and (with `plugins`) enabled
/// plugins' definitions, with what was wrong with the rest. Blocking: the
/// project's files are named by input, so callers run this on the
/// blocking pool ([`crate::blocking::bounded`]).
fn read_defs(project: Option<&Path>, plugins: bool) -> (Vec<HookDef>, Vec<String>) {
    let mut defs = Vec::new();
    let mut errors = Vec::new();
    if let Some(p) = project {
        match def::project(p) {
            Ok(d) => defs.extend(d),
            Err(e) => errors.push(e.to_string()),
        }
    }
    if plugins && let Some(cfg) = agentd_client::claude_config_dir() {
        let (d, e) = def::plugins(&cfg);
        defs.extend(d);
        errors.extend(e.into_iter().map(|e| e.to_string()));
    }
    (defs, errors)
}

/// agentd.toml's definitions (checked at start) followed by `read`'s.
fn with_config_defs(
    shared: &Shared,
    read: Option<(Vec<HookDef>, Vec<String>)>,
) -> (Vec<HookDef>, Vec<String>) {
    let mut defs = Vec::new();
    let mut errors = Vec::new();
    if let Some(r) = &shared.hooks {
        defs.extend(r.config_defs.iter().cloned());
        errors.extend(r.config_error.clone());
    }
    match read {
        Some((d, e)) => {
            defs.extend(d);
            errors.extend(e);
        }
        None => errors.push(format!(
            "reading the project's hook definitions took over {} s; its hooks were skipped",
            crate::blocking::PATH_IO_TIMEOUT.as_secs()
        )),
    }
    (defs, errors)
}

/// The effective definitions for `project`: agentd.toml, the project's
/// `.agentd/hooks.toml`, and (with `[runner] plugins = true`) enabled
/// plugins. Bad definitions are left out and described in the errors.
///
/// The project's files are named by input, so they are read on the
/// blocking pool under [`crate::blocking::PATH_IO_TIMEOUT`]; past it the
/// project's and plugins' hooks are left out and the errors say why.
pub async fn definitions(shared: &Shared, project: Option<PathBuf>) -> (Vec<HookDef>, Vec<String>) {
    let plugins = shared.config.runner.plugins;
    let read = crate::blocking::bounded("reading hook definitions", move || {
        read_defs(project.as_deref(), plugins)
    })
    .await;
    with_config_defs(shared, read)
}

/// Lines of each run's output that also go into the event log (the rest is
/// in the run's log file).
pub const LOGGED_LINES: usize = 200;

/// The observer of one event's checks: every output line goes to `caller`
/// (the `hooks.execute` connection) as `hook.output`; for a session the
/// registry knows, `hook.started`, the first [`LOGGED_LINES`] lines of each
/// run and `hook.finished` go into the event log, in order, so subscribers
/// (the TUI) see checks live.
pub(crate) fn observer(
    shared: &Arc<Shared>,
    event: &str,
    session_id: Option<String>,
    caller: Option<tokio::sync::mpsc::UnboundedSender<agentd_hooks::OutputLine>>,
) -> Observer {
    let known = session_id.as_ref().is_some_and(|s| {
        shared
            .registry
            .read()
            .map(|r| r.get(s).is_some())
            .unwrap_or(false)
    });
    let session_id_of_log = session_id.clone();
    let log = match (known, session_id) {
        (true, Some(sid)) => {
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Value>();
            let shared = Arc::clone(shared);
            shared.tasks.clone().spawn(async move {
                while let Some(mut payload) = rx.recv().await {
                    if let Value::Object(m) = &mut payload {
                        m.insert("session_id".into(), json!(sid));
                    }
                    let prepared = match crate::ingest::prepare(
                        crate::ingest::Source::Daemon,
                        &payload,
                        Default::default(),
                    ) {
                        Ok(p) => p,
                        Err(e) => {
                            tracing::warn!(error = %e, "cannot log a hook event");
                            continue;
                        }
                    };
                    if let Err(e) = crate::ingest::submit(&shared, prepared).await {
                        tracing::warn!(error = %e, "cannot log a hook event");
                    }
                }
            });
            Some(tx)
        }
        _ => None,
    };
    let counts = std::sync::Mutex::new(std::collections::HashMap::<String, usize>::new());
    let (shared, event, sid) = (
        Arc::clone(shared),
        event.to_owned(),
        session_id_of_log.clone(),
    );
    Arc::new(move |e: RunEvent| {
        if let Some(r) = &shared.hooks {
            r.note(&sid, &event, &e);
        }
        if let (RunEvent::Output(l), Some(c)) = (&e, &caller) {
            let _ = c.send(l.clone());
        }
        let Some(log) = &log else { return };
        let payload = match &e {
            RunEvent::Started { run_id, hook, dir } => {
                json!({"name": "HookStarted", "run_id": run_id, "hook": hook, "dir": dir})
            }
            RunEvent::Output(l) => {
                let n = counts
                    .lock()
                    .map(|mut c| {
                        let n = c.entry(l.run_id.clone()).or_insert(0);
                        *n += 1;
                        *n
                    })
                    .unwrap_or(usize::MAX);
                if n > LOGGED_LINES {
                    return;
                }
                json!({"name": "HookOutput", "run_id": l.run_id, "hook": l.hook, "dir": l.dir,
                    "stream": l.stream, "line": l.line})
            }
            RunEvent::Finished(r) => {
                let mut v = serde_json::to_value(r).unwrap_or_else(|_| json!({}));
                if let Value::Object(m) = &mut v {
                    m.insert("name".into(), json!("HookFinished"));
                    // The session is the event's own.
                    m.remove("session_id");
                }
                v
            }
        };
        let _ = log.send(payload);
    })
}

/// The project a hook payload is about: the hook's `CLAUDE_PROJECT_DIR`,
/// else the payload's `cwd`; absolute only. Whether it is a directory is
/// the caller's to check, off the async workers ([`project_dir_blocking`]).
pub(crate) fn project_of(payload: &Value, project_dir: Option<&str>) -> Option<PathBuf> {
    project_dir
        .or_else(|| payload.get("cwd").and_then(Value::as_str))
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
}

/// `Some(dir)` when `dir` is a directory (a `stat`; blocking).
pub(crate) fn project_dir_blocking(dir: PathBuf) -> Option<PathBuf> {
    agentd_fs::is_dir(&dir).then_some(dir)
}

/// The checks of agentd's hook runner that apply to one hook event, found
/// before the event's reply is decided.
pub struct Applicable {
    defs: Vec<HookDef>,
    event: String,
    project: PathBuf,
}

/// Which of agentd's hooks apply to a hook event: `None` when the runner is
/// off, the event is a PermissionRequest (approvals own it), the payload
/// names no existing project directory, or nothing matches. Reads the
/// project's definitions off the async workers.
pub async fn applicable(
    shared: &Arc<Shared>,
    payload: &Value,
    project_dir: Option<&str>,
) -> Option<Applicable> {
    let runner = shared.hooks.as_ref()?;
    let event = payload
        .get("hook_event_name")
        .and_then(Value::as_str)?
        .to_owned();
    if event == "PermissionRequest" {
        return None; // only a decision object counts there; approvals own it
    }
    let named = project_of(payload, project_dir)?;
    let cached = runner
        .projects
        .lock()
        .ok()
        .and_then(|c| c.get(&named).cloned())
        .filter(|c| c.at.elapsed() < PROJECT_DEFS_TTL);
    let found = match cached {
        Some(c) => c.found,
        None => {
            let plugins = shared.config.runner.plugins;
            let dir = named.clone();
            // One trip to the blocking pool for everything the payload's
            // paths name.
            let found =
                crate::blocking::bounded("reading the project's hook definitions", move || {
                    project_dir_blocking(dir).map(|p| {
                        let read = read_defs(Some(&p), plugins);
                        (p, Arc::new(read))
                    })
                })
                .await?;
            if let Ok(mut c) = runner.projects.lock() {
                if c.len() >= PROJECT_CACHE {
                    c.clear();
                }
                c.insert(
                    named,
                    Cached {
                        at: std::time::Instant::now(),
                        found: found.clone(),
                    },
                );
            }
            found
        }
    };
    let (project, read) = found?;
    let (defs, errors) = with_config_defs(shared, Some((*read).clone()));
    // agentd.toml's errors were reported at start; the project's may be new.
    for e in errors
        .iter()
        .filter(|e| Some(*e) != runner.config_error.as_ref())
    {
        tracing::warn!(error = %e, "bad hook definition skipped");
    }
    let value = agentd_hooks::matcher::matched_value(&event, payload);
    let defs: Vec<HookDef> = defs
        .into_iter()
        .filter(|d| d.applies(&event, value))
        .collect();
    if defs.is_empty() {
        return None;
    }
    Some(Applicable {
        defs,
        event,
        project,
    })
}

/// A [`Hold`] that runs the [`Applicable`] checks of the event stored at
/// `seq` and answers with the aggregated output.
pub fn hold(shared: &Arc<Shared>, found: Applicable, payload: &Value, seq: u64) -> Option<Hold> {
    let engine = Arc::clone(&shared.hooks.as_ref()?.engine);
    let Applicable {
        defs,
        event,
        project,
    } = found;
    let timeout_s = defs.iter().map(|d| d.spec.timeout).max().unwrap_or(600) + 30;
    let count = defs.len();
    let req = Request {
        event,
        payload: payload.clone(),
        project_dir: project,
        session_id: payload
            .get("session_id")
            .and_then(Value::as_str)
            .map(str::to_owned),
        no_cache: false,
        only_dir: None,
        only_hooks: Vec::new(),
    };
    let watch = observer(shared, &req.event, req.session_id.clone(), None);
    let reply = async move {
        let out = engine.execute(&defs, &req, watch).await;
        Ok(json!({"seq": seq, "output": out.output, "exit_code": 0}))
    };
    Some(Hold {
        notice: HoldNotice::HooksRunning {
            hooks: Some(count),
            timeout_s,
        },
        reply: Box::pin(reply),
        stream: None,
    })
}
