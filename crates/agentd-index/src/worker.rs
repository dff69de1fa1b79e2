//! The indexing thread: an initial scan in the background, then
//! file-system notifications (debounced here) and a periodic reconcile scan
//! that recovers anything a notification missed.
//!
//! Only notifications that mean new or changed bytes are acted on: a file
//! or folder created, written (modify, close-after-write), or renamed into
//! place. Reading a watched file raises open and close-nowrite
//! notifications of its own (notify reports them as access events); acting
//! on those would make every read cause another read, a loop that kept an
//! idle daemon busy. An idle daemon reads nothing: a reconcile scan only
//! lists folders and `stat`s files, and reads a file only when its size,
//! mtime or inode changed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use notify::event::{AccessKind, AccessMode, CreateKind, ModifyKind};
use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher};

use crate::layout::{self, Skip, classify};
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
    /// The index is open and its schema migrated: readers may query it
    /// (before, its tables may not exist yet).
    pub opened: AtomicBool,
    /// Scans finished since start.
    pub scans: AtomicU64,
    /// Milliseconds the current/last scan took so far.
    pub scan_ms: AtomicU64,
    /// Files that failed to index (I/O or SQLite errors), since start.
    pub errors: AtomicU64,
    /// The last error, for `index.status`.
    pub last_error: Mutex<Option<String>>,
    /// `*.jsonl` files the last scan did not index, by reason
    /// ([`Skip::reason`], or `deeper than 32 folders`).
    pub skipped: Mutex<BTreeMap<String, u64>>,
    /// Transcript paths named by hooks and ignored since start, by reason.
    pub nudges_ignored: Mutex<BTreeMap<String, u64>>,
}

impl Progress {
    fn count(map: &Mutex<BTreeMap<String, u64>>, reason: &str) {
        if let Ok(mut m) = map.lock() {
            *m.entry(reason.to_owned()).or_insert(0) += 1;
        }
    }

    fn fail(&self, path: &Path, e: &IndexError) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(path = %path.display(), error = %e, "indexing failed");
        if let Ok(mut last) = self.last_error.lock() {
            *last = Some(e.to_string());
        }
    }
}

enum Cmd {
    /// Paths a file-system notification says have new bytes; folders that
    /// appeared (their files may predate the watch on them).
    Changed {
        files: Vec<PathBuf>,
        dirs: Vec<PathBuf>,
    },
    /// A hook named this transcript (`transcript_path`): untrusted.
    Nudge(PathBuf),
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
                worker_progress.opened.store(true, Ordering::Release);
                let worker = Worker {
                    indexer,
                    roots: worker_roots,
                    progress: worker_progress,
                    tx: worker_tx,
                    watched: Vec::new(),
                    watcher: None,
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

    /// Indexes `path` soon (a hook named it as a session's transcript). The
    /// path is untrusted: only a regular `*.jsonl` file under a root is
    /// read; anything else is ignored and counted in
    /// [`Progress::nudges_ignored`].
    pub fn nudge(&self, path: PathBuf) {
        let _ = self.tx.send(Cmd::Nudge(path));
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

/// Whether a notification of `kind` means new or changed bytes (or a new
/// folder). Access events (open, read, close-nowrite) never do: they are
/// what indexing itself causes. Metadata changes (chmod, touch) and
/// removals leave nothing new to read.
pub fn means_new_bytes(kind: &EventKind) -> bool {
    match kind {
        EventKind::Create(_) => true,
        EventKind::Modify(ModifyKind::Metadata(_)) => false,
        EventKind::Modify(_) => true,
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) | EventKind::Remove(_) | EventKind::Any | EventKind::Other => false,
    }
}

/// Splits one notification into transcripts to read and new folders to
/// walk; nothing for notifications that do not mean new bytes.
fn changed_paths(event: notify::Event) -> Option<Cmd> {
    if !means_new_bytes(&event.kind) {
        return None;
    }
    let folder_event = matches!(
        event.kind,
        EventKind::Create(CreateKind::Folder | CreateKind::Any)
            | EventKind::Modify(ModifyKind::Name(_))
    );
    let (mut files, mut dirs) = (Vec::new(), Vec::new());
    for p in event.paths {
        if p.extension().is_some_and(|x| x == "jsonl") {
            files.push(p);
        } else if folder_event && std::fs::symlink_metadata(&p).is_ok_and(|m| m.is_dir()) {
            // A new project or session folder (or one moved into place).
            dirs.push(p);
        }
    }
    (!files.is_empty() || !dirs.is_empty()).then_some(Cmd::Changed { files, dirs })
}

struct Worker {
    indexer: Indexer,
    roots: Vec<PathBuf>,
    progress: Arc<Progress>,
    tx: mpsc::Sender<Cmd>,
    watched: Vec<PathBuf>,
    watcher: Option<RecommendedWatcher>,
}

/// What one round of the loop has to do.
#[derive(Default)]
struct Batch {
    files: Vec<PathBuf>,
    dirs: Vec<PathBuf>,
    nudges: Vec<PathBuf>,
    scan: bool,
    stop: bool,
}

impl Batch {
    fn add(&mut self, cmd: Cmd) {
        match cmd {
            Cmd::Changed { files, dirs } => {
                self.files.extend(files);
                self.dirs.extend(dirs);
            }
            Cmd::Nudge(p) => self.nudges.push(p),
            Cmd::Scan => self.scan = true,
            Cmd::Stop => self.stop = true,
        }
    }
}

impl Worker {
    fn run(mut self, rx: mpsc::Receiver<Cmd>, reconcile: Duration) {
        if self.scan(&rx) {
            return;
        }
        let mut next = Instant::now() + reconcile;
        loop {
            let wait = next.saturating_duration_since(Instant::now());
            let mut batch = Batch::default();
            match rx.recv_timeout(wait) {
                Ok(cmd) => batch.add(cmd),
                Err(RecvTimeoutError::Timeout) => batch.scan = true,
                Err(RecvTimeoutError::Disconnected) => return,
            }
            // Debounce: gather what arrives in the next moments, so a burst
            // of writes is one pass.
            if !batch.scan && !batch.stop {
                let until = Instant::now() + DEBOUNCE;
                while let Some(left) = until.checked_duration_since(Instant::now()) {
                    match rx.recv_timeout(left) {
                        Ok(cmd) => batch.add(cmd),
                        Err(_) => break,
                    }
                }
            }
            while let Ok(cmd) = rx.try_recv() {
                batch.add(cmd);
            }
            if batch.stop {
                return;
            }
            if batch.scan {
                if self.scan(&rx) {
                    return;
                }
                next = Instant::now() + reconcile;
                continue;
            }
            // A root that appeared since the last look is watched from now
            // on and scanned once for what came before.
            if self.watch() {
                if self.scan(&rx) {
                    return;
                }
                continue;
            }
            self.apply(batch);
        }
    }

    /// Indexes what notifications and nudges named.
    fn apply(&mut self, batch: Batch) {
        let mut paths = batch.files;
        for d in &batch.dirs {
            paths.extend(layout::walk_dir(d));
        }
        for n in batch.nudges {
            match self.checked_nudge(&n) {
                Ok(p) => {
                    // A session file's subagents are looked at with it:
                    // without a watch (none could be set) they are
                    // otherwise only found by the reconcile scan.
                    let sub = p.with_extension("").join("subagents");
                    if self.watcher.is_none()
                        && std::fs::symlink_metadata(&sub).is_ok_and(|m| m.is_dir())
                    {
                        paths.extend(layout::walk_dir(&sub));
                    }
                    paths.push(p);
                }
                Err(reason) => {
                    tracing::debug!(path = %n.display(), reason, "transcript path from a hook ignored");
                    Progress::count(&self.progress.nudges_ignored, reason);
                }
            }
        }
        paths.sort();
        paths.dedup();
        for p in paths {
            self.index_one(&p);
        }
    }

    /// A transcript path from a hook, if it may be read: absolute, without
    /// `..`, under a root, a transcript by its path, and a regular file
    /// (never a folder, FIFO or device).
    fn checked_nudge(&self, path: &Path) -> Result<PathBuf, &'static str> {
        if !path.is_absolute() {
            return Err("not an absolute path");
        }
        if path
            .components()
            .any(|c| matches!(c, std::path::Component::ParentDir))
        {
            return Err("contains `..`");
        }
        let root = self
            .roots
            .iter()
            .find(|r| path.starts_with(r))
            .ok_or(Skip::OutsideRoots.reason())?;
        classify(root, path).map_err(Skip::reason)?;
        match std::fs::metadata(path) {
            Ok(m) if m.is_file() => Ok(path.to_path_buf()),
            Ok(m) => Err(match agentd_fs::kind_name(m.file_type()) {
                "directory" => "a directory, not a transcript file",
                _ => "not a regular file",
            }),
            Err(_) => Err("no such file"),
        }
    }

    /// Watches the roots that exist and are not watched yet; true when a
    /// root was added.
    fn watch(&mut self) -> bool {
        if self.watcher.is_none() {
            let tx = self.tx.clone();
            let made = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
                if let Ok(event) = res
                    && let Some(cmd) = changed_paths(event)
                {
                    let _ = tx.send(cmd);
                }
            });
            match made {
                Ok(w) => self.watcher = Some(w),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot watch transcripts; relying on the reconcile scan");
                    return false;
                }
            }
        }
        let Some(w) = self.watcher.as_mut() else {
            return false;
        };
        let mut added = false;
        for root in &self.roots {
            if self.watched.contains(root) || !root.is_dir() {
                continue;
            }
            match w.watch(root, RecursiveMode::Recursive) {
                Ok(()) => {
                    self.watched.push(root.clone());
                    added = true;
                }
                Err(e) => tracing::warn!(root = %root.display(), error = %e, "cannot watch"),
            }
        }
        added
    }

    fn index_one(&mut self, path: &Path) {
        let Some(root) = self.roots.iter().find(|r| path.starts_with(r)).cloned() else {
            return;
        };
        let Ok(kind) = classify(&root, path) else {
            return;
        };
        if let Err(e) = self.indexer.index_file(&kind, path, &mut |_| {}) {
            self.progress.fail(path, &e);
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
        let mut skipped: BTreeMap<String, u64> = BTreeMap::new();
        for root in self.roots.clone() {
            let found = layout::walk(&root);
            if found.too_deep > 0 {
                *skipped
                    .entry(format!("deeper than {} folders", layout::MAX_DEPTH))
                    .or_insert(0) += found.too_deep;
            }
            for path in found.files {
                let kind = match classify(&root, &path) {
                    Ok(k) => k,
                    Err(why) => {
                        *skipped.entry(why.reason().to_owned()).or_insert(0) += 1;
                        continue;
                    }
                };
                let Ok(meta) = std::fs::metadata(&path) else {
                    continue;
                };
                if !meta.is_file() {
                    *skipped.entry("not a regular file".to_owned()).or_insert(0) += 1;
                    continue;
                }
                match self.indexer.pending(&path, &meta) {
                    Ok(Some(n)) => {
                        bytes += n;
                        work.push((kind, path));
                    }
                    Ok(None) => {}
                    Err(e) => tracing::warn!(error = %e, "reading cursors failed"),
                }
            }
        }
        if let Ok(mut s) = p.skipped.lock() {
            *s = skipped;
        }
        p.files_total.store(work.len() as u64, Ordering::Relaxed);
        p.files_done.store(0, Ordering::Relaxed);
        p.bytes_total.store(bytes, Ordering::Relaxed);
        p.bytes_done.store(0, Ordering::Relaxed);
        let mut stop = false;
        let mut deferred = Batch::default();
        for (kind, path) in work {
            // Keep what arrives meanwhile (hook nudges, file events) for
            // after the scan; stop at once when told to.
            while let Ok(cmd) = rx.try_recv() {
                deferred.add(cmd);
            }
            if deferred.stop {
                stop = true;
                break;
            }
            let prog = Arc::clone(&p);
            let res = self.indexer.index_file(&kind, &path, &mut |n| {
                prog.bytes_done.fetch_add(n, Ordering::Relaxed);
                prog.scan_ms
                    .store(started.elapsed().as_millis() as u64, Ordering::Relaxed);
            });
            if let Err(e) = res {
                p.fail(&path, &e);
            }
            p.files_done.fetch_add(1, Ordering::Relaxed);
        }
        p.scan_ms
            .store(started.elapsed().as_millis() as u64, Ordering::Relaxed);
        if !stop {
            // What arrived during the scan, re-queued as it came.
            if !deferred.files.is_empty() || !deferred.dirs.is_empty() {
                let _ = self.tx.send(Cmd::Changed {
                    files: deferred.files,
                    dirs: deferred.dirs,
                });
            }
            for n in deferred.nudges {
                let _ = self.tx.send(Cmd::Nudge(n));
            }
        }
        // SQLite's page cache (32 MiB while indexing) is not needed until
        // the next batch of new bytes.
        if let Err(e) = self.indexer.conn().execute_batch("PRAGMA shrink_memory") {
            tracing::debug!(error = %e, "shrink_memory failed");
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
        for path in layout::walk(root).files {
            if let Ok(kind) = classify(root, &path) {
                let r = indexer.index_file(&kind, &path, &mut |_| {})?;
                files += u64::from(r.lines > 0);
                bytes += r.bytes;
            }
        }
    }
    Ok((files, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{DataChange, RemoveKind, RenameMode};

    #[test]
    fn only_new_bytes_are_acted_on() {
        for yes in [
            EventKind::Create(CreateKind::File),
            EventKind::Create(CreateKind::Folder),
            EventKind::Modify(ModifyKind::Data(DataChange::Any)),
            EventKind::Modify(ModifyKind::Name(RenameMode::To)),
            EventKind::Modify(ModifyKind::Any),
            EventKind::Access(AccessKind::Close(AccessMode::Write)),
        ] {
            assert!(means_new_bytes(&yes), "{yes:?}");
        }
        // What reading a file causes must never cause another read.
        for no in [
            EventKind::Access(AccessKind::Open(AccessMode::Any)),
            EventKind::Access(AccessKind::Close(AccessMode::Read)),
            EventKind::Access(AccessKind::Read),
            EventKind::Access(AccessKind::Any),
            EventKind::Modify(ModifyKind::Metadata(notify::event::MetadataKind::Any)),
            EventKind::Remove(RemoveKind::File),
            EventKind::Any,
            EventKind::Other,
        ] {
            assert!(!means_new_bytes(&no), "{no:?}");
        }
    }

    #[test]
    fn access_events_on_folders_and_files_give_no_work() {
        let tmp = tempfile::tempdir().unwrap();
        let event = |kind| notify::Event {
            kind,
            paths: vec![tmp.path().to_path_buf(), tmp.path().join("s.jsonl")],
            attrs: Default::default(),
        };
        assert!(
            changed_paths(event(EventKind::Access(AccessKind::Open(AccessMode::Any)))).is_none()
        );
        assert!(
            changed_paths(event(EventKind::Access(AccessKind::Close(
                AccessMode::Read
            ))))
            .is_none()
        );
        match changed_paths(event(EventKind::Create(CreateKind::Folder))) {
            Some(Cmd::Changed { files, dirs }) => {
                assert_eq!(files, vec![tmp.path().join("s.jsonl")]);
                assert_eq!(dirs, vec![tmp.path().to_path_buf()]);
            }
            _ => panic!("a new folder is work"),
        }
        // Data written to a folder's path is no reason to walk it.
        match changed_paths(event(EventKind::Modify(ModifyKind::Data(DataChange::Any)))) {
            Some(Cmd::Changed { dirs, .. }) => assert!(dirs.is_empty()),
            _ => panic!("a written transcript is work"),
        }
    }
}
