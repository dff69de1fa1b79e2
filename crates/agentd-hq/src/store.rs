//! HQ's store: `hq.db` in HQ's root (SQLite, WAL; `agentd-store`'s `open`
//! and `migrate_with`). Tokens (hashes only), runners, and every runner's
//! event log keyed by `(runner, seq)` — the runner's own `seq`, so storing
//! a batch twice stores it once.
//!
//! Blocking: callers run it off the async workers.

use std::path::Path;

use agentd_proto::api::EventRecord;
use agentd_proto::hq::{AuditEntry, RunnerView};
use agentd_store::StoredEvent;
use rusqlite::{Connection, OptionalExtension, params};

use crate::token::{self, Principal};

const MIGRATIONS: &[&str] = &[
    "CREATE TABLE tokens (
        id TEXT PRIMARY KEY,
        hash BLOB NOT NULL UNIQUE,
        kind TEXT NOT NULL CHECK (kind IN ('runner', 'user')),
        name TEXT NOT NULL,
        role TEXT,
        created_ms INTEGER NOT NULL,
        revoked_ms INTEGER
    );
    CREATE TABLE runners (
        name TEXT PRIMARY KEY,
        version TEXT,
        os TEXT,
        labels TEXT NOT NULL DEFAULT '[]',
        peer TEXT,
        connected_ms INTEGER,
        last_seen_ms INTEGER,
        acked_seq INTEGER NOT NULL DEFAULT 0,
        events INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE events (
        runner TEXT NOT NULL,
        seq INTEGER NOT NULL,
        ts_ms INTEGER NOT NULL,
        session_id TEXT NOT NULL,
        agent TEXT NOT NULL,
        source TEXT NOT NULL,
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        payload TEXT NOT NULL,
        env TEXT NOT NULL,
        PRIMARY KEY (runner, seq)
    ) WITHOUT ROWID;",
    "CREATE TABLE audit (
        id INTEGER PRIMARY KEY,
        ts_ms INTEGER NOT NULL,
        user TEXT NOT NULL,
        token_id TEXT NOT NULL,
        peer TEXT,
        action TEXT NOT NULL,
        runner TEXT NOT NULL,
        target TEXT NOT NULL,
        outcome TEXT NOT NULL
    );",
];

/// A store error, with what to do.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed.
    #[error("HQ store: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// Opening or migrating failed.
    #[error("HQ store: {0}")]
    Open(#[from] agentd_store::StoreError),
    /// A request that cannot be met (bad name, unknown token).
    #[error("{0}")]
    Invalid(String),
    /// PostgreSQL failed (`[hq] database`).
    #[error("HQ database: {0}")]
    Postgres(String),
}

/// A token as `hq token list` shows it (never the secret).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TokenView {
    /// First 12 hex of its hash.
    pub id: String,
    /// `runner` or `user`.
    pub kind: String,
    /// The runner's or user's name.
    pub name: String,
    /// A user's role.
    pub role: Option<String>,
    /// When made, ms since the Unix epoch.
    pub created_ms: i64,
    /// When revoked, if it was.
    pub revoked_ms: Option<i64>,
}

/// The row HQ stores for an event a runner sent (both stores' `append`).
pub fn stored_of(e: &EventRecord) -> StoredEvent {
    StoredEvent {
        seq: e.seq,
        ts_ms: e.ts_ms,
        session_id: e.session_id.clone(),
        agent: e.agent.clone(),
        source: e.source.clone(),
        name: e.name.clone(),
        kind: e.kind.clone(),
        payload: e.payload.to_string(),
        env: e.env.to_string(),
    }
}

/// The one token whose id starts with `prefix` (both stores' `revoke`).
///
/// # Errors
/// None or several match.
pub fn pick_token(tokens: Vec<TokenView>, prefix: &str) -> Result<TokenView, StoreError> {
    let mut matching: Vec<TokenView> = tokens
        .into_iter()
        .filter(|t| !prefix.is_empty() && t.id.starts_with(prefix))
        .collect();
    match matching.len() {
        1 => Ok(matching.remove(0)),
        0 => Err(StoreError::Invalid(format!(
            "no token id starts with {prefix:?}: see `agentd hq token list`"
        ))),
        n => Err(StoreError::Invalid(format!(
            "{n} tokens' ids start with {prefix:?}: give more of the id"
        ))),
    }
}

/// What a runner said in its `hello`.
#[derive(Debug, Clone, Default)]
pub struct Hello {
    /// Its agentd version.
    pub version: String,
    /// Its OS.
    pub os: String,
    /// Its labels.
    pub labels: Vec<String>,
    /// Its address.
    pub peer: Option<String>,
}

/// One connection to `hq.db`.
pub struct Store {
    conn: Connection,
}

impl Store {
    /// Opens (creating and migrating) `path`.
    ///
    /// # Errors
    /// When it cannot be opened or is from a newer agentd.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let mut conn = agentd_store::open(path)?;
        agentd_store::migrate_with(&mut conn, MIGRATIONS)?;
        Ok(Store { conn })
    }

    /// Makes a token for `principal`; returns the secret (shown once).
    ///
    /// # Errors
    /// A bad name, or the store.
    pub fn create_token(&self, principal: &Principal, now_ms: i64) -> Result<String, StoreError> {
        let (kind, name, role) = match principal {
            Principal::Runner(n) => ("runner", n.as_str(), None),
            Principal::User { name, role } => ("user", name.as_str(), Some(role.as_str())),
        };
        token::check_new(principal).map_err(StoreError::Invalid)?;
        let secret = token::new_secret(kind).map_err(StoreError::Invalid)?;
        let hash = token::hash(&secret);
        self.conn.execute(
            "INSERT INTO tokens (id, hash, kind, name, role, created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![token::id_of(&hash), &hash[..], kind, name, role, now_ms],
        )?;
        Ok(secret)
    }

    /// Who `secret` stands for, if it is a live token.
    ///
    /// # Errors
    /// The store.
    pub fn principal(&self, secret: &str) -> Result<Option<(String, Principal)>, StoreError> {
        let hash = token::hash(secret);
        self.principal_where("hash = ?1", &&hash[..])
    }

    /// Binds unbound runner token `token_id` to runner `name`, unless a live
    /// runner token is bound to that name already or HQ knows a runner of
    /// that name (an unnamed token must not inherit another runner's log);
    /// whether it was bound.
    ///
    /// # Errors
    /// The store.
    pub fn bind_runner(&self, token_id: &str, name: &str) -> Result<bool, StoreError> {
        let n = self.conn.execute(
            "UPDATE tokens SET name = ?2 WHERE id = ?1 AND kind = 'runner' AND name = '*'
               AND revoked_ms IS NULL
               AND NOT EXISTS (SELECT 1 FROM tokens WHERE kind = 'runner' AND name = ?2 AND revoked_ms IS NULL)
               AND NOT EXISTS (SELECT 1 FROM runners WHERE name = ?2)",
            params![token_id, name],
        )?;
        Ok(n == 1)
    }

    /// The live token with id `id` (a browser's web session names its
    /// token by id), as [`Store::principal`].
    ///
    /// # Errors
    /// The store.
    pub fn principal_by_id(&self, id: &str) -> Result<Option<(String, Principal)>, StoreError> {
        self.principal_where("id = ?1", &id)
    }

    fn principal_where(
        &self,
        condition: &str,
        value: &dyn rusqlite::ToSql,
    ) -> Result<Option<(String, Principal)>, StoreError> {
        let row: Option<(String, String, String, Option<String>)> = self
            .conn
            .query_row(
                &format!(
                    "SELECT id, kind, name, role FROM tokens WHERE {condition} AND revoked_ms IS NULL"
                ),
                [value],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        Ok(row.and_then(|(id, kind, name, role)| {
            Some((id, token::principal_of(&kind, name, role.as_deref())?))
        }))
    }

    /// Every token, newest first.
    ///
    /// # Errors
    /// The store.
    pub fn tokens(&self) -> Result<Vec<TokenView>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT id, kind, name, role, created_ms, revoked_ms FROM tokens ORDER BY created_ms DESC, id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(TokenView {
                id: r.get(0)?,
                kind: r.get(1)?,
                name: r.get(2)?,
                role: r.get(3)?,
                created_ms: r.get(4)?,
                revoked_ms: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Revokes the tokens whose id starts with `prefix` (exactly one must).
    ///
    /// # Errors
    /// No token or several match; the store.
    pub fn revoke(&self, prefix: &str, now_ms: i64) -> Result<TokenView, StoreError> {
        let t = pick_token(self.tokens()?, prefix)?;
        self.conn.execute(
            "UPDATE tokens SET revoked_ms = ?2 WHERE id = ?1 AND revoked_ms IS NULL",
            params![t.id, now_ms],
        )?;
        Ok(TokenView {
            revoked_ms: t.revoked_ms.or(Some(now_ms)),
            ..t
        })
    }

    /// Ids of revoked tokens.
    ///
    /// # Errors
    /// The store.
    pub fn revoked(&self) -> Result<Vec<String>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT id FROM tokens WHERE revoked_ms IS NOT NULL")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// SQLite's `data_version`: changes when another connection (`agentd hq
    /// token revoke` in another process) commits.
    ///
    /// # Errors
    /// The store.
    pub fn data_version(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn
            .pragma_query_value(None, "data_version", |r| r.get(0))?)
    }

    /// Records a runner's `hello`; returns the newest `seq` held for it.
    ///
    /// # Errors
    /// The store.
    pub fn connected(&self, runner: &str, hello: &Hello, now_ms: i64) -> Result<u64, StoreError> {
        let labels = serde_json::to_string(&hello.labels).unwrap_or_else(|_| "[]".into());
        self.conn.execute(
            "INSERT INTO runners (name, version, os, labels, peer, connected_ms, last_seen_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)
             ON CONFLICT (name) DO UPDATE SET version = ?2, os = ?3, labels = ?4, peer = ?5,
                 connected_ms = ?6, last_seen_ms = ?6",
            params![runner, hello.version, hello.os, labels, hello.peer, now_ms],
        )?;
        self.acked(runner)
    }

    /// The newest `seq` held for `runner` (0: none).
    ///
    /// # Errors
    /// The store.
    pub fn acked(&self, runner: &str) -> Result<u64, StoreError> {
        let seq: Option<i64> = self
            .conn
            .query_row(
                "SELECT acked_seq FROM runners WHERE name = ?1",
                params![runner],
                |r| r.get(0),
            )
            .optional()?;
        Ok(seq.unwrap_or(0).max(0) as u64)
    }

    /// Stores a batch of `runner`'s events in one transaction, keeping only
    /// those after what it holds; returns the new acked `seq` and the
    /// events stored (in order).
    ///
    /// # Errors
    /// The store (nothing of the batch is stored then).
    pub fn append(
        &mut self,
        runner: &str,
        events: &[EventRecord],
        now_ms: i64,
    ) -> Result<(u64, Vec<StoredEvent>), StoreError> {
        let tx = self.conn.transaction()?;
        let mut acked: u64 = tx
            .query_row(
                "SELECT acked_seq FROM runners WHERE name = ?1",
                params![runner],
                |r| r.get::<_, i64>(0),
            )
            .optional()?
            .unwrap_or(0)
            .max(0) as u64;
        let mut stored = Vec::new();
        {
            let mut insert = tx.prepare_cached(
                "INSERT OR IGNORE INTO events (runner, seq, ts_ms, session_id, agent, source, name, kind, payload, env)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?;
            for e in events {
                if e.seq <= acked {
                    continue;
                }
                let row = stored_of(e);
                let n = insert.execute(params![
                    runner,
                    row.seq as i64,
                    row.ts_ms,
                    row.session_id,
                    row.agent,
                    row.source,
                    row.name,
                    row.kind,
                    row.payload,
                    row.env
                ])?;
                acked = e.seq;
                if n == 1 {
                    stored.push(row);
                }
            }
        }
        tx.execute(
            "UPDATE runners SET acked_seq = ?2, events = events + ?3, last_seen_ms = ?4 WHERE name = ?1",
            params![runner, acked as i64, stored.len() as i64, now_ms],
        )?;
        tx.commit()?;
        Ok((acked, stored))
    }

    /// Notes that HQ heard from `runner` now.
    ///
    /// # Errors
    /// The store.
    pub fn seen(&self, runner: &str, now_ms: i64) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE runners SET last_seen_ms = ?2 WHERE name = ?1",
            params![runner, now_ms],
        )?;
        Ok(())
    }

    /// `runner`'s events after `after`, at most `limit`, in `seq` order.
    ///
    /// # Errors
    /// The store.
    pub fn events(
        &self,
        runner: &str,
        after: u64,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, ts_ms, session_id, agent, source, name, kind, payload, env FROM events
             WHERE runner = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
        )?;
        let rows = stmt.query_map(
            params![runner, after as i64, limit.min(i64::MAX as usize) as i64],
            StoredEvent::from_row,
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Deletes `runner`'s row and stored log (its tokens stay); returns how
    /// many events went.
    ///
    /// # Errors
    /// The store.
    pub fn forget(&mut self, runner: &str) -> Result<u64, StoreError> {
        let tx = self.conn.transaction()?;
        let n = tx.execute("DELETE FROM events WHERE runner = ?1", params![runner])?;
        tx.execute("DELETE FROM runners WHERE name = ?1", params![runner])?;
        tx.commit()?;
        Ok(n as u64)
    }

    /// Records what a user did.
    ///
    /// # Errors
    /// The store.
    pub fn audit(&self, e: &AuditEntry) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO audit (ts_ms, user, token_id, peer, action, runner, target, outcome)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                e.ts_ms, e.user, e.token_id, e.peer, e.action, e.runner, e.target, e.outcome
            ],
        )?;
        Ok(())
    }

    /// The newest `limit` audit entries, newest first.
    ///
    /// # Errors
    /// The store.
    pub fn audit_log(&self, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT ts_ms, user, token_id, peer, action, runner, target, outcome FROM audit
             ORDER BY id DESC LIMIT ?1",
        )?;
        let rows = stmt.query_map(params![limit.min(i64::MAX as usize) as i64], |r| {
            Ok(AuditEntry {
                ts_ms: r.get(0)?,
                user: r.get(1)?,
                token_id: r.get(2)?,
                peer: r.get(3)?,
                action: r.get(4)?,
                runner: r.get(5)?,
                target: r.get(6)?,
                outcome: r.get(7)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every runner HQ knows, by name; `online` and `sessions` left for the
    /// caller, who knows them.
    ///
    /// # Errors
    /// The store.
    pub fn runners(&self) -> Result<Vec<RunnerView>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT name, version, os, labels, peer, connected_ms, last_seen_ms, acked_seq, events
             FROM runners ORDER BY name",
        )?;
        let rows = stmt.query_map([], |r| {
            let labels: String = r.get(3)?;
            Ok(RunnerView {
                name: r.get(0)?,
                online: false,
                version: r.get(1)?,
                os: r.get(2)?,
                labels: serde_json::from_str(&labels).unwrap_or_default(),
                peer: r.get(4)?,
                connected_ms: r.get(5)?,
                last_seen_ms: r.get(6)?,
                acked_seq: r.get::<_, i64>(7)?.max(0) as u64,
                events: r.get::<_, i64>(8)?.max(0) as u64,
                sessions: 0,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::Role;
    use serde_json::json;

    fn event(seq: u64, session: &str) -> EventRecord {
        EventRecord {
            seq,
            ts: String::new(),
            ts_ms: 1_000 + seq as i64,
            session_id: session.into(),
            agent: "claude".into(),
            source: "hook".into(),
            name: "SessionStart".into(),
            kind: "session.started".into(),
            payload: json!({"session_id": session, "hook_event_name": "SessionStart"}),
            env: json!({}),
        }
    }

    #[test]
    fn a_batch_sent_twice_is_stored_once_and_acks_move_forward() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(&dir.path().join("hq.db")).unwrap();
        assert_eq!(s.connected("a", &Hello::default(), 1).unwrap(), 0);
        let batch: Vec<_> = (1..=3).map(|i| event(i, "s")).collect();
        let (acked, stored) = s.append("a", &batch, 2).unwrap();
        assert_eq!((acked, stored.len()), (3, 3));
        let (acked, stored) = s.append("a", &batch, 3).unwrap();
        assert_eq!((acked, stored.len()), (3, 0));
        let (acked, stored) = s.append("a", &[event(3, "s"), event(7, "s")], 4).unwrap();
        assert_eq!((acked, stored.len()), (7, 1));
        assert_eq!(s.events("a", 0, 100).unwrap().len(), 4);
        assert_eq!(s.events("a", 3, 100).unwrap()[0].seq, 7);
        let r = &s.runners().unwrap()[0];
        assert_eq!((r.acked_seq, r.events), (7, 4));
        // Another runner's seqs are its own.
        s.connected("b", &Hello::default(), 5).unwrap();
        assert_eq!(s.append("b", &batch, 6).unwrap().0, 3);
    }

    #[test]
    fn tokens_are_kept_hashed_and_revoked_by_id_prefix() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("hq.db")).unwrap();
        let r = s.create_token(&Principal::Runner("box".into()), 1).unwrap();
        let u = s
            .create_token(
                &Principal::User {
                    name: "ann".into(),
                    role: Role::Approver,
                },
                2,
            )
            .unwrap();
        assert_eq!(
            s.principal(&r).unwrap().unwrap().1,
            Principal::Runner("box".into())
        );
        assert!(matches!(
            s.principal(&u).unwrap().unwrap().1,
            Principal::User {
                role: Role::Approver,
                ..
            }
        ));
        assert!(s.principal("agentd_hq_runner_00").unwrap().is_none());
        assert!(s.create_token(&Principal::Runner("a b".into()), 3).is_err());
        let id = s.principal(&r).unwrap().unwrap().0;
        let bytes = std::fs::read(dir.path().join("hq.db")).unwrap_or_default();
        assert!(
            !String::from_utf8_lossy(&bytes).contains(&r),
            "secret stored"
        );
        assert!(s.revoke("", 4).is_err());
        s.revoke(&id[..6], 4).unwrap();
        assert!(s.principal(&r).unwrap().is_none());
        assert_eq!(s.revoked().unwrap(), vec![id]);
        assert!(s.principal(&u).unwrap().is_some());
    }
}
