//! The single writer: appends events and checkpoints sessions, in batches.

use agentd_core::Session;
use rusqlite::{Connection, Transaction, params};

use crate::{StoreError, migrate, open};

/// An event to append. `seq` is assigned by the store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent<'a> {
    /// Receive time, ms since the Unix epoch.
    pub ts_ms: i64,
    /// Session id.
    pub session_id: &'a str,
    /// Agent (`claude`).
    pub agent: &'a str,
    /// `hook`, `statusline` or `daemon`.
    pub source: &'a str,
    /// The source's name for it (`PreToolUse`).
    pub name: &'a str,
    /// Vendor-neutral kind (`tool.started`).
    pub kind: &'a str,
    /// Payload JSON, exactly as received.
    pub payload: &'a str,
    /// Hook environment JSON.
    pub env: &'a str,
}

/// Owner of the one read-write connection.
pub struct Writer {
    conn: Connection,
}

impl Writer {
    /// Opens (creating if needed) and migrates the database at `path`.
    ///
    /// # Errors
    /// Any [`StoreError`] from opening or migrating.
    pub fn open(path: &std::path::Path) -> Result<Writer, StoreError> {
        let mut conn = open(path)?;
        migrate(&mut conn)?;
        Ok(Writer { conn })
    }

    /// Starts a batch: everything appended to it commits together or not at all.
    ///
    /// # Errors
    /// The SQLite error when the transaction cannot start.
    pub fn batch(&mut self) -> Result<Batch<'_>, StoreError> {
        Ok(Batch {
            tx: self.conn.transaction()?,
        })
    }
}

/// One write transaction.
pub struct Batch<'c> {
    tx: Transaction<'c>,
}

impl Batch<'_> {
    /// Appends `event` and returns its `seq`.
    ///
    /// # Errors
    /// The SQLite error; the whole batch should then be dropped (rolled back).
    pub fn append(&mut self, e: &NewEvent<'_>) -> Result<u64, StoreError> {
        let mut stmt = self.tx.prepare_cached(
            "INSERT INTO events (ts_ms, session_id, agent, source, name, kind, payload, env)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
        stmt.execute(params![
            e.ts_ms,
            e.session_id,
            e.agent,
            e.source,
            e.name,
            e.kind,
            e.payload,
            e.env
        ])?;
        Ok(self.tx.last_insert_rowid() as u64)
    }

    /// Writes the checkpoint of `session`.
    ///
    /// # Errors
    /// The SQLite error.
    pub fn put_session(&mut self, session: &Session) -> Result<(), StoreError> {
        let data = serde_json::to_string(session).map_err(|e| StoreError::Corrupt {
            table: "sessions",
            why: e.to_string(),
        })?;
        let mut stmt = self.tx.prepare_cached(
            "INSERT INTO sessions (id, last_seq, data) VALUES (?1, ?2, ?3)
             ON CONFLICT(id) DO UPDATE SET last_seq = excluded.last_seq, data = excluded.data",
        )?;
        stmt.execute(params![session.id, session.last_seq as i64, data])?;
        Ok(())
    }

    /// Commits the batch.
    ///
    /// # Errors
    /// The SQLite error; nothing of the batch is then stored.
    pub fn commit(self) -> Result<(), StoreError> {
        self.tx.commit()?;
        Ok(())
    }
}
