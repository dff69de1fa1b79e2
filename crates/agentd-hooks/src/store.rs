//! Run records and the change cache, in `hooks.db` (SQLite, WAL) beside the
//! event log: its own file, so hook bookkeeping never takes the event log's
//! write lock.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

/// Migrations, in order; append only.
const MIGRATIONS: &[&str] = &[
    "CREATE TABLE runs (
        run_id     TEXT PRIMARY KEY,
        hook       TEXT NOT NULL,
        dir        TEXT NOT NULL,
        session_id TEXT,
        event      TEXT NOT NULL,
        started_ms INTEGER NOT NULL,
        ended_ms   INTEGER NOT NULL,
        exit_code  INTEGER,
        outcome    TEXT NOT NULL,
        passed     INTEGER NOT NULL,
        why        TEXT NOT NULL,
        head       TEXT NOT NULL,
        log        TEXT NOT NULL
    );
    CREATE INDEX runs_by_time ON runs(started_ms);
    CREATE TABLE cache (
        hook        TEXT NOT NULL,
        dir         TEXT NOT NULL,
        command     TEXT NOT NULL,
        files_hash  TEXT NOT NULL,
        run_id      TEXT NOT NULL,
        ts_ms       INTEGER NOT NULL,
        PRIMARY KEY (hook, dir, command)
    );",
    // Whether the hook's failure blocks the agent (runs before it: hooks
    // were blocking by default).
    "ALTER TABLE runs ADD COLUMN blocking INTEGER NOT NULL DEFAULT 1;",
];

/// One execution of one hook in one directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Unique id.
    pub run_id: String,
    /// Hook name.
    pub hook: String,
    /// Directory it ran in.
    pub dir: String,
    /// Session that triggered it.
    pub session_id: Option<String>,
    /// Hook event.
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
    /// Whether its failure blocks the agent (the hook's `blocking`,
    /// default true); a failed blocking check is what "needs you"
    /// notifications report.
    #[serde(default = "yes")]
    pub blocking: bool,
    /// First lines of output.
    pub head: Vec<String>,
    /// Full output.
    pub log: String,
}

fn yes() -> bool {
    true
}

/// The store.
pub struct Store {
    conn: Mutex<Connection>,
}

/// A store failure (the runner then runs the hook anyway, saying why).
pub type StoreError = agentd_store::StoreError;

impl Store {
    /// Opens (creating and migrating) `path`.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let mut conn = agentd_store::open(path)?;
        agentd_store::migrate_with(&mut conn, MIGRATIONS)?;
        Ok(Store {
            conn: Mutex::new(conn),
        })
    }

    fn with<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T, StoreError> {
        let conn = self.conn.lock().map_err(|_| StoreError::Corrupt {
            table: "runs",
            why: "the store's lock was poisoned by a panic".into(),
        })?;
        Ok(f(&conn)?)
    }

    /// The files hash of the last successful run of (hook, dir, command).
    ///
    /// # Errors
    /// SQLite errors (a corrupt cache: the caller runs the hook).
    pub fn last_success(
        &self,
        hook: &str,
        dir: &str,
        command: &str,
    ) -> Result<Option<(String, i64)>, StoreError> {
        self.with(|c| {
            c.query_row(
                "SELECT files_hash, ts_ms FROM cache WHERE hook = ?1 AND dir = ?2 AND command = ?3",
                params![hook, dir, command],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
        })
    }

    /// Remembers a successful run's files hash.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn save_success(
        &self,
        hook: &str,
        dir: &str,
        command: &str,
        hash: &str,
        run_id: &str,
        ts_ms: i64,
    ) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute(
                "INSERT INTO cache (hook, dir, command, files_hash, run_id, ts_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT DO UPDATE SET files_hash = excluded.files_hash, run_id = excluded.run_id, ts_ms = excluded.ts_ms",
                params![hook, dir, command, hash, run_id, ts_ms],
            )
            .map(|_| ())
        })
    }

    /// Records a run.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn record(&self, r: &RunRecord) -> Result<(), StoreError> {
        let head = serde_json::to_string(&r.head).unwrap_or_else(|_| "[]".into());
        self.with(|c| {
            c.execute(
                "INSERT OR REPLACE INTO runs (run_id, hook, dir, session_id, event, started_ms, ended_ms, exit_code,
                                              outcome, passed, why, head, log, blocking)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
                params![
                    r.run_id, r.hook, r.dir, r.session_id, r.event, r.started_ms, r.ended_ms, r.exit_code,
                    r.outcome, r.passed, r.why, head, r.log, r.blocking
                ],
            )
            .map(|_| ())
        })
    }

    /// The newest `limit` runs, newest first.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn history(
        &self,
        limit: usize,
        session_id: Option<&str>,
    ) -> Result<Vec<RunRecord>, StoreError> {
        self.with(|c| {
            let mut stmt = c.prepare(
                "SELECT run_id, hook, dir, session_id, event, started_ms, ended_ms, exit_code, outcome, passed, why, head, log,
                        blocking
                 FROM runs WHERE ?2 IS NULL OR session_id = ?2 ORDER BY started_ms DESC, rowid DESC LIMIT ?1",
            )?;
            let rows = stmt.query_map(params![limit as i64, session_id], |r| {
                let head: String = r.get(11)?;
                Ok(RunRecord {
                    run_id: r.get(0)?,
                    hook: r.get(1)?,
                    dir: r.get(2)?,
                    session_id: r.get(3)?,
                    event: r.get(4)?,
                    started_ms: r.get(5)?,
                    ended_ms: r.get(6)?,
                    exit_code: r.get(7)?,
                    outcome: r.get(8)?,
                    passed: r.get(9)?,
                    why: r.get(10)?,
                    head: serde_json::from_str(&head).unwrap_or_default(),
                    log: r.get(12)?,
                    blocking: r.get(13)?,
                })
            })?;
            rows.collect()
        })
    }

    /// For tests: run arbitrary SQL (to corrupt the cache on purpose).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn execute_batch(&self, sql: &str) -> Result<(), StoreError> {
        self.with(|c| c.execute_batch(sql))
    }
}
