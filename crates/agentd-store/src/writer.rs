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
        // A new database frees pages incrementally (retention compacts
        // old payloads, `agentd gc` returns the space); only possible
        // before the first table exists.
        let tables: i64 = conn.query_row("SELECT COUNT(*) FROM sqlite_master", [], |r| r.get(0))?;
        if tables == 0 {
            conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")?;
            conn.execute_batch("VACUUM")?;
        }
        migrate(&mut conn)?;
        Ok(Writer { conn })
    }

    /// Returns free pages to the file system: `PRAGMA incremental_vacuum`
    /// when the database was created with it, else a full `VACUUM` (which
    /// rewrites the file and holds the write lock meanwhile). Returns the
    /// file's size before and after, bytes.
    ///
    /// # Errors
    /// The SQLite error.
    pub fn vacuum(&mut self, full: bool) -> Result<(u64, u64), StoreError> {
        let size = |c: &Connection| -> Result<u64, StoreError> {
            let pages: i64 = c.pragma_query_value(None, "page_count", |r| r.get(0))?;
            let page: i64 = c.pragma_query_value(None, "page_size", |r| r.get(0))?;
            Ok((pages * page) as u64)
        };
        let before = size(&self.conn)?;
        let mode: i64 = self
            .conn
            .pragma_query_value(None, "auto_vacuum", |r| r.get(0))?;
        if mode == 2 && !full {
            // Each row stepped frees pages: step it to the end.
            let mut stmt = self.conn.prepare("PRAGMA incremental_vacuum")?;
            let mut rows = stmt.query([])?;
            while rows.next()?.is_some() {}
        } else {
            self.conn.execute_batch("VACUUM")?;
        }
        self.conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")?;
        Ok((before, size(&self.conn)?))
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

/// What one [`Batch::compact_step`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Compacted {
    /// Events looked at.
    pub examined: u64,
    /// Payloads cut.
    pub compacted: u64,
    /// Superseded status-line snapshots deleted.
    pub deleted: u64,
    /// Payload bytes no longer stored.
    pub bytes_freed: u64,
    /// Nothing older than the cutoff is left after the cursor.
    pub reached_cutoff: bool,
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

    /// One step of retention: looks at up to `limit` events after the
    /// compaction cursor (`meta.compacted_through`), in `seq` order, up to
    /// the first one received at or after `cutoff_ms`. Of those from hooks,
    /// status lines and launched sessions' streams: a status-line snapshot
    /// that is not its session's last is deleted; a payload longer than
    /// `over_bytes` is replaced by `compact(payload)` (when it gives
    /// something shorter). Events from the daemon itself (approvals, process
    /// exits, hook runs) are kept as they are. The cursor moves in the same
    /// transaction.
    ///
    /// # Errors
    /// The SQLite error.
    pub fn compact_step(
        &mut self,
        cutoff_ms: i64,
        limit: usize,
        over_bytes: usize,
        compact: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Compacted, StoreError> {
        let cursor: i64 = self
            .tx
            .query_row(
                "SELECT value FROM meta WHERE key = 'compacted_through'",
                [],
                |r| r.get::<_, String>(0),
            )
            .map(|v| v.parse().unwrap_or(0))
            .or_else(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => Ok(0),
                e => Err(e),
            })?;
        let rows: Vec<(i64, i64, String, String, String)> = {
            let mut stmt = self.tx.prepare_cached(
                "SELECT seq, ts_ms, session_id, source, payload FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            )?;
            stmt.query_map(params![cursor, limit as i64], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })?
            .collect::<Result<_, _>>()?
        };
        let mut out = Compacted::default();
        let mut through = cursor;
        for (seq, ts_ms, session, source, payload) in rows {
            if ts_ms >= cutoff_ms {
                out.reached_cutoff = true;
                break;
            }
            through = seq;
            out.examined += 1;
            match source.as_str() {
                "statusline" => {
                    let newer: bool = self
                        .tx
                        .prepare_cached(
                            "SELECT EXISTS (SELECT 1 FROM events WHERE session_id = ?1 AND seq > ?2 AND source = 'statusline')",
                        )?
                        .query_row(params![session, seq], |r| r.get(0))?;
                    if newer {
                        self.tx
                            .prepare_cached("DELETE FROM events WHERE seq = ?1")?
                            .execute(params![seq])?;
                        out.deleted += 1;
                        out.bytes_freed += payload.len() as u64;
                        continue;
                    }
                }
                "hook" | "stream" => {}
                _ => continue,
            }
            if payload.len() > over_bytes
                && let Some(small) = compact(&payload).filter(|s| s.len() < payload.len())
            {
                self.tx
                    .prepare_cached("UPDATE events SET payload = ?2 WHERE seq = ?1")?
                    .execute(params![seq, small])?;
                out.compacted += 1;
                out.bytes_freed += (payload.len() - small.len()) as u64;
            }
        }
        if through > cursor {
            self.tx
                .prepare_cached(
                    "INSERT INTO meta (key, value) VALUES ('compacted_through', ?1)
                     ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                )?
                .execute(params![through.to_string()])?;
        } else if !out.reached_cutoff {
            // Nothing left after the cursor at all.
            out.reached_cutoff = true;
        }
        Ok(out)
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

#[cfg(test)]
mod compaction_tests {
    use super::*;

    fn ev<'a>(ts_ms: i64, session: &'a str, source: &'a str, payload: &'a str) -> NewEvent<'a> {
        NewEvent {
            ts_ms,
            session_id: session,
            agent: "claude",
            source,
            name: "X",
            kind: "other",
            payload,
            env: "{}",
        }
    }

    #[test]
    fn old_payloads_are_cut_old_snapshots_thinned_and_the_rest_kept() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = Writer::open(&dir.path().join("a.db")).unwrap();
        let big = format!("{{\"session_id\":\"s\",\"pad\":\"{}\"}}", "x".repeat(5000));
        let mut b = w.batch().unwrap();
        b.append(&ev(1, "s", "hook", &big)).unwrap(); // 1: old, big → cut
        b.append(&ev(2, "s", "statusline", "{\"n\":1}")).unwrap(); // 2: old, superseded → deleted
        b.append(&ev(3, "s", "daemon", &big)).unwrap(); // 3: old, daemon → kept
        b.append(&ev(4, "s", "statusline", "{\"n\":2}")).unwrap(); // 4: old, last → kept
        b.append(&ev(5, "s", "hook", "{\"small\":1}")).unwrap(); // 5: old, small → kept
        b.append(&ev(100, "s", "hook", &big)).unwrap(); // 6: new → kept
        b.commit().unwrap();
        let cut = |p: &str| Some(format!("{{\"cut\":{}}}", p.len()));
        let mut total = Compacted::default();
        // Small steps, as the daemon takes them.
        loop {
            let mut b = w.batch().unwrap();
            let c = b.compact_step(50, 2, 2048, &cut).unwrap();
            b.commit().unwrap();
            total.examined += c.examined;
            total.compacted += c.compacted;
            total.deleted += c.deleted;
            if c.reached_cutoff {
                break;
            }
        }
        assert_eq!((total.examined, total.compacted, total.deleted), (5, 1, 1));
        let rows: Vec<(i64, String)> = w
            .conn
            .prepare("SELECT seq, payload FROM events ORDER BY seq")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let seqs: Vec<i64> = rows.iter().map(|r| r.0).collect();
        assert_eq!(seqs, [1, 3, 4, 5, 6]);
        assert_eq!(rows[0].1, format!("{{\"cut\":{}}}", big.len()));
        assert_eq!(rows[1].1, big);
        assert_eq!(rows[4].1, big);
        // Idempotent: a second pass finds nothing more.
        let mut b = w.batch().unwrap();
        let again = b.compact_step(50, 100, 2048, &cut).unwrap();
        b.commit().unwrap();
        assert_eq!((again.compacted, again.deleted), (0, 0));
        // New seqs are never reused after deletions.
        let mut b = w.batch().unwrap();
        assert_eq!(b.append(&ev(200, "s", "hook", "{}")).unwrap(), 7);
        b.commit().unwrap();
        let mode: i64 = w
            .conn
            .pragma_query_value(None, "auto_vacuum", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, 2, "a new database vacuums incrementally");
        let (before, after) = w.vacuum(false).unwrap();
        assert!(after < before, "{before} → {after}");
    }
}
