//! agentd's SQLite store.
//!
//! * `events`: the append-only event log. `seq` is SQLite's `INTEGER PRIMARY
//!   KEY` with `AUTOINCREMENT`, so it strictly increases and is never reused,
//!   even after a crash.
//! * `approvals`: held tool calls; `status` leaves `pending` once, by
//!   compare-and-set ([`Batch::resolve_approval`]).
//! * `sessions`: a checkpoint of the session registry, written in the same
//!   transaction as the events it reflects (so `MAX(last_seq)` is the
//!   checkpoint's position); a restart loads it and replays only what came
//!   after.
//!
//! One [`Writer`] (one connection, WAL mode) appends; any number of
//! [`Reader`]s read without blocking it. Migrations are ordered and each runs
//! in its own transaction ([`migrate`]).

#![warn(missing_docs)]

mod migrate;
mod reader;
mod writer;

pub use migrate::{MIGRATIONS, migrate, migrate_with};
pub use reader::{Reader, StoredEvent};
pub use writer::{Batch, Compacted, NewEvent, Writer};

/// A store failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite said no (I/O error, disk full, corrupt file, ...).
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A stored row could not be decoded.
    #[error("corrupt row in `{table}`: {why}")]
    Corrupt {
        /// Table name.
        table: &'static str,
        /// What was wrong.
        why: String,
    },
    /// The database was written by a newer agentd.
    #[error(
        "database schema version {found} is newer than this agentd understands ({known}); upgrade agentd"
    )]
    TooNew {
        /// Version in the file.
        found: i64,
        /// Newest version this build knows.
        known: i64,
    },
}

/// Opens `path` with agentd's pragmas: WAL, `synchronous=NORMAL` (durable
/// against process crashes; the OS may lose the last commits on power loss),
/// a busy timeout, and foreign keys.
pub fn open(path: &std::path::Path) -> Result<rusqlite::Connection, StoreError> {
    let conn = rusqlite::Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(conn)
}

/// Decodes an `approvals.data` value.
///
/// # Errors
/// [`StoreError::Corrupt`] when it is not an approval.
pub fn decode_approval(data: &str) -> Result<agentd_core::Approval, StoreError> {
    serde_json::from_str(data).map_err(|e| StoreError::Corrupt {
        table: "approvals",
        why: e.to_string(),
    })
}
