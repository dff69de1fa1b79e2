//! The single writer: appends events and checkpoints sessions, in batches.

use agentd_core::{Approval, Session};
use rusqlite::{Connection, Transaction, params};

use crate::{StoreError, decode_approval, migrate, open};

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

    /// The `seq` of the event already stored under delivery id `id`, if any.
    ///
    /// # Errors
    /// The SQLite error.
    pub fn delivered(&mut self, id: &str) -> Result<Option<u64>, StoreError> {
        let mut stmt = self
            .tx
            .prepare_cached("SELECT seq FROM deliveries WHERE id = ?1")?;
        let mut rows = stmt.query(params![id])?;
        Ok(match rows.next()? {
            Some(r) => Some(r.get::<_, i64>(0)? as u64),
            None => None,
        })
    }

    /// Records that the event `seq` was delivered under id `id`.
    ///
    /// # Errors
    /// The SQLite error (a duplicate id included: check [`Batch::delivered`]
    /// first).
    pub fn record_delivery(&mut self, id: &str, seq: u64) -> Result<(), StoreError> {
        let mut stmt = self
            .tx
            .prepare_cached("INSERT INTO deliveries (id, seq) VALUES (?1, ?2)")?;
        stmt.execute(params![id, seq as i64])?;
        Ok(())
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

    /// Inserts a new approval.
    ///
    /// # Errors
    /// The SQLite error (a duplicate id included).
    pub fn insert_approval(&mut self, approval: &Approval) -> Result<(), StoreError> {
        let data = approval_json(approval)?;
        let mut stmt = self.tx.prepare_cached(
            "INSERT INTO approvals (id, session_id, status, created_ms, data) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        stmt.execute(params![
            approval.id,
            approval.session_id,
            approval.status.as_str(),
            approval.created_ms,
            data
        ])?;
        Ok(())
    }

    /// The approval with this id, as stored in this transaction.
    ///
    /// # Errors
    /// The SQLite error, [`StoreError::Corrupt`] for an unreadable row.
    pub fn get_approval(&mut self, id: &str) -> Result<Option<Approval>, StoreError> {
        let data: Option<String> = self
            .tx
            .query_row(
                "SELECT data FROM approvals WHERE id = ?1",
                params![id],
                |r| r.get(0),
            )
            .map(Some)
            .or_else(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => Ok(None),
                e => Err(e),
            })?;
        data.map(|d| decode_approval(&d)).transpose()
    }

    /// Compare-and-set: stores `resolved` only if the approval is still
    /// `pending`. Returns whether it did; when not, the stored approval is
    /// returned so the caller can say who decided first.
    ///
    /// # Errors
    /// The SQLite error, [`StoreError::Corrupt`] for an unreadable row.
    pub fn resolve_approval(
        &mut self,
        resolved: &Approval,
    ) -> Result<Result<(), Option<Approval>>, StoreError> {
        let data = approval_json(resolved)?;
        let changed = self
            .tx
            .prepare_cached(
                "UPDATE approvals SET status = ?2, data = ?3 WHERE id = ?1 AND status = 'pending'",
            )?
            .execute(params![resolved.id, resolved.status.as_str(), data])?;
        if changed == 1 {
            return Ok(Ok(()));
        }
        let current: Option<String> = self
            .tx
            .query_row(
                "SELECT data FROM approvals WHERE id = ?1",
                params![resolved.id],
                |r| r.get(0),
            )
            .map(Some)
            .or_else(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => Ok(None),
                e => Err(e),
            })?;
        Ok(Err(current.map(|d| decode_approval(&d)).transpose()?))
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

fn approval_json(approval: &Approval) -> Result<String, StoreError> {
    serde_json::to_string(approval).map_err(|e| StoreError::Corrupt {
        table: "approvals",
        why: e.to_string(),
    })
}
