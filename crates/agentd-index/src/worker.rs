//! The indexing thread: an initial scan in the background, then
//! file-system notifications (debounced) and a periodic reconcile scan that
//! recovers anything a notification missed.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use notify_debouncer_mini::{DebounceEventResult, Debouncer, new_debouncer, notify::RecursiveMode};

use crate::layout::{self, classify};
use crate::{IndexError, Indexer};

/// How long file events are gathered before they are indexed.
pub const DEBOUNCE: Duration = Duration::from_millis(100);

/// Progress of the current (or last) scan, readable from any thread.
#[derive(Debug, Default)]
pub struct Progress {
    /// Files needing work in the current scan.
    pub files_total: AtomicU64,
    /// Of those, done.
    pub files_done: AtomicU64,
    /// Bytes to read in the current scan.
    pub bytes_total: AtomicU64,
    /// Of those, read.
    pub bytes_done: AtomicU64,
    /// A scan is running.
    pub scanning: AtomicBool,
    /// The initial scan has finished (the index is complete up to it).
    pub ready: AtomicBool,
    /// Scans finished since start.
    pub scans: AtomicU64,
    /// Milliseconds the current/last scan took so far.
    pub scan_ms: AtomicU64,
    /// Files that failed to index (I/O or SQLite errors), since start.
    pub errors: AtomicU64,
    /// The last error, for `index.status`.
    pub last_error: Mutex<Option<String>>,
}

enum Cmd {
    Files(Vec<PathBuf>),
    Scan,
    Stop,
}

/// Handle of the running indexing thread.
pub struct IndexHandle {
    tx: mpsc::Sender<Cmd>,
    /// Live progress.
    pub progress: Arc<Progress>,
    /// The roots indexed.
    pub roots: Vec<PathBuf>,
    thread: Option<JoinHandle<()>>,
}

impl IndexHandle {
    /// Starts indexing `roots` into `db`; scans now and every `reconcile`.
    ///
    /// The index is opened on the thread: a damaged one is set aside and
    /// rebuilt; one that cannot be opened at all is reported in
    /// [`Progress::last_error`].
    ///
    /// # Errors
    /// The thread cannot start.
    pub fn spawn(
        db: &Path,
        roots: Vec<PathBuf>,
        reconcile: Duration,
    ) -> Result<IndexHandle, IndexError> {
        let (tx, rx) = mpsc::channel();
        let progress = Arc::new(Progress::default());
        let (db, worker_roots, worker_progress, worker_tx) = (
            db.to_path_buf(),
            roots.clone(),
            Arc::clone(&progress),
            tx.clone(),
        );
        // Opening (and checking) a large index takes a moment: on the
        // thread, so the daemon serves meanwhile.
        let thread = std::thread::Builder::new()
            .name("agentd-index".into())
            .spawn(move || {
                let indexer = match open_or_rebuild(&db) {
                    Ok(ix) => ix,
                    Err(e) => {
                        tracing::error!(error = %e, "cannot open the transcript index");
                        worker_progress.errors.fetch_add(1, Ordering::Relaxed);
                        if let Ok(mut last) = worker_progress.last_error.lock() {
                            *last = Some(e.to_string());
                        }
                        return;
                    }
                };
                let worker = Worker {
                    indexer,
                    roots: worker_roots,
                    progress: worker_progress,
                    tx: worker_tx,
                    watched: Vec::new(),
                    debouncer: None,
                };
                worker.run(rx, reconcile)
            })
            .map_err(|e| IndexError::Invalid(format!("cannot start the index thread: {e}")))?;
        Ok(IndexHandle {
            tx,
            progress,
            roots,
            thread: Some(thread),
        })
    }

    /// Indexes `path` soon (a hook named it as a session's transcript).
    pub fn nudge(&self, path: PathBuf) {
        let _ = self.tx.send(Cmd::Files(vec![path]));
    }

    /// Runs a full reconcile scan soon.
    pub fn rescan(&self) {
        let _ = self.tx.send(Cmd::Scan);
    }

    /// Stops the thread after the file it is on (batches commit as they go).
    pub fn stop(mut self) {
        let _ = self.tx.send(Cmd::Stop);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct Worker {
    indexer: Indexer,
    roots: Vec<PathBuf>,
    progress: Arc<Progress>,
    tx: mpsc::Sender<Cmd>,
    watched: Vec<PathBuf>,
    debouncer: Option<Debouncer<notify_debouncer_mini::notify::RecommendedWatcher>>,
}

impl Worker {
    fn run(mut self, rx: mpsc::Receiver<Cmd>, reconcile: Duration) {
        self.scan(&rx);
        let mut next = Instant::now() + reconcile;
        loop {
            let wait = next.saturating_duration_since(Instant::now());
            match rx.recv_timeout(wait) {
                Ok(Cmd::Files(paths)) => {
                    let mut paths = paths;
                    // Gather what else is queued, so a burst is one pass.
                    while let Ok(cmd) = rx.try_recv() {
                        match cmd {
                            Cmd::Files(more) => paths.extend(more),
                            Cmd::Scan => next = Instant::now(),
                            Cmd::Stop => return,
                        }
                    }
                    // A root that appeared since the last look is watched
                    // from now on and scanned once for what came before.
                    if self.watch() && self.scan(&rx) {
                        return;
                    }
                    // A session file's subagents are looked at with it; a
                    // folder, everything in it.
                    let mut more = Vec::new();
                    for p in &paths {
                        if p.is_dir() {
                            more.extend(layout::walk_dir(p));
                            continue;
                        }
                        let sub = p.with_extension("").join("subagents");
                        if sub.is_dir() {
                            more.extend(layout::walk_dir(&sub));
                        }
                    }
                    paths.retain(|p| !p.is_dir());
                    paths.extend(more);
                    paths.sort();
                    paths.dedup();
                    for p in paths {
                        self.index_one(&p);
                    }
                }
                Ok(Cmd::Scan) | Err(RecvTimeoutError::Timeout) => {
                    if self.scan(&rx) {
                        return;
                    }
                    next = Instant::now() + reconcile;
                }
                Ok(Cmd::Stop) | Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }

    /// Watches the roots that exist and are not watched yet; true when a
    /// root was added.
    fn watch(&mut self) -> bool {
        if self.debouncer.is_none() {
            let tx = self.tx.clone();
            let made = new_debouncer(DEBOUNCE, move |res: DebounceEventResult| {
                if let Ok(events) = res {
                    // Transcripts, and folders (a new project or session
                    // folder: its files may predate the watch on it).
                    let paths: Vec<PathBuf> = events
                        .into_iter()
                        .map(|e| e.path)
                        .filter(|p| p.extension().is_some_and(|x| x == "jsonl") || p.is_dir())
                        .collect();
                    if !paths.is_empty() {
                        let _ = tx.send(Cmd::Files(paths));
                    }
                }
            });
            match made {
                Ok(d) => self.debouncer = Some(d),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot watch transcripts; relying on the reconcile scan");
                    return false;
                }
            }
        }
        let Some(d) = self.debouncer.as_mut() else {
            return false;
        };
        let mut added = false;
        for root in &self.roots {
            if self.watched.contains(root) || !root.is_dir() {
                continue;
            }
            match d.watcher().watch(root, RecursiveMode::Recursive) {
                Ok(()) => {
                    self.watched.push(root.clone());
                    added = true;
                }
                Err(e) => tracing::warn!(root = %root.display(), error = %e, "cannot watch"),
            }
        }
        added
    }

    /// The root `path` lies under. Paths come from hook payloads too:
    /// relative ones and `..` components are refused, so nothing outside
    /// the roots is read.
    fn root_of(&self, path: &Path) -> Option<PathBuf> {
        if !path.is_absolute()
            || path
                .components()
                .any(|c| matches!(c, std::path::Component::ParentDir))
        {
            return None;
        }
        self.roots.iter().find(|r| path.starts_with(r)).cloned()
    }

    fn index_one(&mut self, path: &Path) {
        let Some(root) = self.root_of(path) else {
            return;
        };
        let Some(kind) = classify(&root, path) else {
            return;
        };
        let progress = Arc::clone(&self.progress);
        if let Err(e) = self.indexer.index_file(&kind, path, &mut |_| {}) {
            progress.errors.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(path = %path.display(), error = %e, "indexing failed");
            if let Ok(mut last) = progress.last_error.lock() {
                *last = Some(e.to_string());
            }
        }
    }

    /// A full pass over every root. Returns true when told to stop meanwhile.
    fn scan(&mut self, rx: &mpsc::Receiver<Cmd>) -> bool {
        self.watch();
        let started = Instant::now();
        let p = Arc::clone(&self.progress);
        p.scanning.store(true, Ordering::Release);
        let mut work = Vec::new();
        let mut bytes = 0u64;
        for root in self.roots.clone() {
            for path in layout::walk(&root) {
                let Ok(meta) = std::fs::metadata(&path) else {
                    continue;
                };
                match self.indexer.pending(&path, &meta) {
                    Ok(Some(n)) => {
                        bytes += n;
                        work.push((root.clone(), path));
                    }
                    Ok(None) => {}
                    Err(e) => tracing::warn!(error = %e, "reading cursors failed"),
                }
            }
        }
        p.files_total.store(work.len() as u64, Ordering::Relaxed);
        p.files_done.store(0, Ordering::Relaxed);
        p.bytes_total.store(bytes, Ordering::Relaxed);
        p.bytes_done.store(0, Ordering::Relaxed);
        let mut stop = false;
        let mut deferred = Vec::new();
        for (root, path) in work {
            // Keep what arrives meanwhile (hook nudges, file events) for
            // after the scan; stop at once when told to.
            while let Ok(cmd) = rx.try_recv() {
                match cmd {
                    Cmd::Stop => stop = true,
                    Cmd::Files(paths) => deferred.extend(paths),
                    Cmd::Scan => {}
                }
            }
            if stop {
                break;
            }
            if let Some(kind) = classify(&root, &path) {
                let prog = Arc::clone(&p);
                let res = self.indexer.index_file(&kind, &path, &mut |n| {
                    prog.bytes_done.fetch_add(n, Ordering::Relaxed);
                    prog.scan_ms
                        .store(started.elapsed().as_millis() as u64, Ordering::Relaxed);
                });
                if let Err(e) = res {
                    p.errors.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(path = %path.display(), error = %e, "indexing failed");
                    if let Ok(mut last) = p.last_error.lock() {
                        *last = Some(e.to_string());
                    }
                }
            }
            p.files_done.fetch_add(1, Ordering::Relaxed);
        }
        p.scan_ms
            .store(started.elapsed().as_millis() as u64, Ordering::Relaxed);
        if !stop && !deferred.is_empty() {
            let _ = self.tx.send(Cmd::Files(deferred));
        }
        p.scanning.store(false, Ordering::Release);
        p.scans.fetch_add(1, Ordering::Relaxed);
        p.ready.store(true, Ordering::Release);
        stop
    }
}

/// Opens the index; a damaged one (derived data) is set aside and rebuilt.
fn open_or_rebuild(db: &Path) -> Result<Indexer, IndexError> {
    match Indexer::open(db).and_then(check) {
        Ok(ix) => Ok(ix),
        Err(e) if !damaged(&e) => Err(e),
        Err(e) => {
            let aside = db.with_extension(format!("db.damaged-{}", std::process::id()));
            tracing::warn!(error = %e, aside = %aside.display(), "the transcript index is damaged; rebuilding it");
            let _ = std::fs::rename(db, &aside);
            let _ = std::fs::remove_file(db.with_extension("db-wal"));
            let _ = std::fs::remove_file(db.with_extension("db-shm"));
            Indexer::open(db)
        }
    }
}

/// Whether `e` says the file is damaged (not busy, not unwritable).
fn damaged(e: &IndexError) -> bool {
    use rusqlite::ErrorCode::{DatabaseCorrupt, NotADatabase};
    match e {
        IndexError::Sqlite(rusqlite::Error::SqliteFailure(f, _)) => {
            matches!(f.code, DatabaseCorrupt | NotADatabase)
        }
        IndexError::Invalid(m) => m.starts_with("integrity check"),
        _ => false,
    }
}

/// SQLite's quick integrity check, so that a damaged file is noticed at
/// start rather than mid-way.
fn check(ix: Indexer) -> Result<Indexer, IndexError> {
    let ok: String = ix
        .conn()
        .query_row("PRAGMA quick_check", [], |r| r.get(0))?;
    if ok == "ok" {
        Ok(ix)
    } else {
        Err(IndexError::Invalid(format!("integrity check: {ok}")))
    }
}

/// Indexes everything new under `roots` now, on this thread (tests,
/// benchmarks). Returns the files and bytes read.
///
/// # Errors
/// The first file that failed.
pub fn index_roots(indexer: &mut Indexer, roots: &[PathBuf]) -> Result<(u64, u64), IndexError> {
    let (mut files, mut bytes) = (0, 0);
    for root in roots {
        for path in layout::walk(root) {
            if let Some(kind) = classify(root, &path) {
                let r = indexer.index_file(&kind, &path, &mut |_| {})?;
                files += u64::from(r.lines > 0);
                bytes += r.bytes;
            }
        }
    }
    Ok((files, bytes))
}
