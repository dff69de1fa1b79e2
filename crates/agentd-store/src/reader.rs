//! Read-only access; in WAL mode readers never block the writer.

use agentd_core::{Approval, Session};
use rusqlite::{Connection, OpenFlags, params_from_iter, types::Value as SqlValue};

use crate::StoreError;

/// One row of the event log.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    /// Position in the log.
    pub seq: u64,
    /// Receive time, ms since the Unix epoch.
    pub ts_ms: i64,
    /// Session id.
    pub session_id: String,
    /// Agent.
    pub agent: String,
    /// `hook`, `statusline` or `daemon`.
    pub source: String,
    /// The source's name for it.
    pub name: String,
    /// Vendor-neutral kind.
    pub kind: String,
    /// Payload JSON as received.
    pub payload: String,
    /// Hook environment JSON.
    pub env: String,
}

impl StoredEvent {
    /// A row selected as `seq, ts_ms, session_id, agent, source, name, kind,
    /// payload, env` (the daemon's log and HQ's copy of runners' logs).
    ///
    /// # Errors
    /// A column of the wrong type.
    pub fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredEvent> {
        Ok(StoredEvent {
            seq: r.get::<_, i64>(0)?.max(0) as u64,
            ts_ms: r.get(1)?,
            session_id: r.get(2)?,
            agent: r.get(3)?,
            source: r.get(4)?,
            name: r.get(5)?,
            kind: r.get(6)?,
            payload: r.get(7)?,
            env: r.get(8)?,
        })
    }
}

/// A read-only connection.
pub struct Reader {
    conn: Connection,
}

impl Reader {
    /// Opens the database at `path` read-only. The [`crate::Writer`] must
    /// have created it.
    ///
    /// # Errors
    /// The SQLite error.
    pub fn open(path: &std::path::Path) -> Result<Reader, StoreError> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
                | OpenFlags::SQLITE_OPEN_URI,
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        Ok(Reader { conn })
    }

    /// Newest `seq` in the log, 0 when empty.
    ///
    /// # Errors
    /// The SQLite error.
    pub fn head_seq(&self) -> Result<u64, StoreError> {
        let seq: Option<i64> = self
            .conn
            .query_row("SELECT MAX(seq) FROM events", [], |r| r.get(0))?;
        Ok(seq.unwrap_or(0) as u64)
    }

    /// Events with `seq > after_seq`, optionally of one session and of some
    /// kinds, oldest first, at most `limit`.
    ///
    /// # Errors
    /// The SQLite error.
    pub fn events(
        &self,
        after_seq: u64,
        session_id: Option<&str>,
        kinds: Option<&[String]>,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let mut sql = String::from(
            "SELECT seq, ts_ms, session_id, agent, source, name, kind, payload, env FROM events WHERE seq > ?",
        );
        let mut args: Vec<SqlValue> =
            vec![SqlValue::Integer(after_seq.min(i64::MAX as u64) as i64)];
        if let Some(id) = session_id {
            sql.push_str(" AND session_id = ?");
            args.push(SqlValue::Text(id.to_owned()));
        }
        if let Some(kinds) = kinds {
            if kinds.is_empty() {
                return Ok(Vec::new());
            }
            sql.push_str(" AND kind IN (");
            sql.push_str(&vec!["?"; kinds.len()].join(","));
            sql.push(')');
            args.extend(kinds.iter().map(|k| SqlValue::Text(k.clone())));
        }
        sql.push_str(" ORDER BY seq LIMIT ?");
        args.push(SqlValue::Integer(limit.min(i64::MAX as usize) as i64));
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params_from_iter(args), StoredEvent::from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Approvals, oldest first: only pending ones unless `all`, optionally of
    /// one session, at most `limit`.
    ///
    /// # Errors
    /// The SQLite error, [`StoreError::Corrupt`] for an unreadable row.
    pub fn approvals(
        &self,
        all: bool,
        session_id: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Approval>, StoreError> {
        let mut sql = String::from("SELECT data FROM approvals WHERE 1 = 1");
        let mut args: Vec<SqlValue> = Vec::new();
        if !all {
            sql.push_str(" AND status = 'pending'");
        }
        if let Some(id) = session_id {
            sql.push_str(" AND session_id = ?");
            args.push(SqlValue::Text(id.to_owned()));
        }
        sql.push_str(" ORDER BY created_ms, id LIMIT ?");
        args.push(SqlValue::Integer(limit.min(i64::MAX as usize) as i64));
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params_from_iter(args), |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for row in rows {
            out.push(crate::decode_approval(&row?)?);
        }
        Ok(out)
    }

    /// The approval with this id, or the only one whose id starts with it.
    ///
    /// # Errors
    /// The SQLite error, [`StoreError::Corrupt`] for an unreadable row.
    pub fn approval(&self, id_or_prefix: &str) -> Result<Vec<Approval>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT data FROM approvals WHERE id = ?1 OR id LIKE ?2 ESCAPE '\\' ORDER BY id = ?1 DESC LIMIT 2")?;
        let escaped = id_or_prefix
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        let rows = stmt.query_map(
            params_from_iter([id_or_prefix.to_owned(), format!("{escaped}%")]),
            |r| r.get::<_, String>(0),
        )?;
        let mut out = Vec::new();
        for row in rows {
            let a = crate::decode_approval(&row?)?;
            if a.id == id_or_prefix {
                return Ok(vec![a]);
            }
            out.push(a);
        }
        Ok(out)
    }

    /// The session checkpoint and the `seq` it reflects. Every event's
    /// session is written in the event's own transaction, so the newest
    /// `last_seq` of any session is the newest event the checkpoint covers.
    ///
    /// # Errors
    /// The SQLite error, or [`StoreError::Corrupt`] for an undecodable row.
    pub fn checkpoint(&self) -> Result<(Vec<Session>, u64), StoreError> {
        let seq: Option<i64> =
            self.conn
                .query_row("SELECT MAX(last_seq) FROM sessions", [], |r| r.get(0))?;
        let seq = seq.unwrap_or(0).max(0) as u64;
        let mut stmt = self.conn.prepare("SELECT data FROM sessions")?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        let mut sessions = Vec::new();
        for row in rows {
            let data = row?;
            let session = serde_json::from_str(&data).map_err(|e| StoreError::Corrupt {
                table: "sessions",
                why: e.to_string(),
            })?;
            sessions.push(session);
        }
        Ok((sessions, seq))
    }
}

#[cfg(test)]
mod tests;
