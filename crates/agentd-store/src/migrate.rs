//! Ordered, transactional schema migrations, tracked in `PRAGMA user_version`.

use rusqlite::Connection;

use crate::StoreError;

/// Migration `i` (0-based) takes the schema from version `i` to `i + 1`.
/// Append only: never edit a released migration.
pub const MIGRATIONS: &[&str] = &[
    // 1: the event log, the session checkpoint, and key/value metadata.
    "CREATE TABLE events (
        seq        INTEGER PRIMARY KEY AUTOINCREMENT,
        ts_ms      INTEGER NOT NULL,
        session_id TEXT    NOT NULL,
        agent      TEXT    NOT NULL,
        source     TEXT    NOT NULL,
        name       TEXT    NOT NULL,
        kind       TEXT    NOT NULL,
        payload    TEXT    NOT NULL,
        env        TEXT    NOT NULL DEFAULT '{}'
    );
    CREATE INDEX events_by_session ON events(session_id, seq);
    CREATE TABLE sessions (
        id       TEXT PRIMARY KEY,
        last_seq INTEGER NOT NULL,
        data     TEXT    NOT NULL
    );
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );",
    // 2: approvals; `status` leaves 'pending' once, by compare-and-set.
    "CREATE TABLE approvals (
        id         TEXT PRIMARY KEY,
        session_id TEXT    NOT NULL,
        status     TEXT    NOT NULL,
        created_ms INTEGER NOT NULL,
        data       TEXT    NOT NULL
    );
    CREATE INDEX approvals_pending ON approvals(status, created_ms);
    CREATE INDEX approvals_by_session ON approvals(session_id, created_ms);",
    // 3: deliveries: the id a hook client gave an event (sent on the socket,
    // spooled, or both), recorded in the same transaction as the event, so
    // an event delivered twice (a reply lost, a crash mid-drain) is stored
    // once.
    "CREATE TABLE deliveries (
        id  TEXT PRIMARY KEY,
        seq INTEGER NOT NULL
    ) WITHOUT ROWID;",
];

/// Brings `conn`'s schema up to date, one migration per transaction. A crash
/// mid-way leaves the schema at the last completed version.
///
/// # Errors
/// [`StoreError::TooNew`] when the file comes from a newer agentd, or the
/// SQLite error of the failing migration (which is then rolled back).
pub fn migrate(conn: &mut Connection) -> Result<i64, StoreError> {
    migrate_with(conn, MIGRATIONS)
}

/// [`migrate`] with another database's list (the transcript index, the hook
/// runner's store): migration `i` takes the schema from version `i` to
/// `i + 1`, tracked in `PRAGMA user_version`, each in its own transaction.
///
/// # Errors
/// As [`migrate`].
pub fn migrate_with(conn: &mut Connection, migrations: &[&str]) -> Result<i64, StoreError> {
    let current: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let known = migrations.len() as i64;
    if current > known {
        return Err(StoreError::TooNew {
            found: current,
            known,
        });
    }
    for (i, sql) in migrations.iter().enumerate().skip(current as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
        tx.commit()?;
    }
    Ok(known)
}
