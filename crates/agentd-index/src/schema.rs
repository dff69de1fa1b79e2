//! The index database (`index.db`, beside the event log): ordered,
//! transactional migrations tracked in `PRAGMA user_version`.
//!
//! It lives in its own file so that indexing (bulk writes) never takes the
//! event log's write lock, and so that it can be deleted and rebuilt from
//! the transcripts at any time.

use rusqlite::Connection;

use crate::IndexError;

/// Migration `i` takes the schema from version `i` to `i + 1`. Append only.
pub const MIGRATIONS: &[&str] = &[
    // 1: files and their cursors; messages (pointers, no copies); FTS5 over
    //    their text (contentless: snippets are cut from the transcript);
    //    deduplicated usage; sessions; subagents; record-type counts.
    "CREATE TABLE files (
        id        INTEGER PRIMARY KEY,
        path      TEXT    NOT NULL UNIQUE,
        project   TEXT    NOT NULL,
        session_id TEXT,
        agent_id  TEXT,
        inode     INTEGER NOT NULL DEFAULT 0,
        size      INTEGER NOT NULL DEFAULT 0,
        mtime_ms  INTEGER NOT NULL DEFAULT 0,
        offset    INTEGER NOT NULL DEFAULT 0,
        head_hash BLOB,
        tail_hash BLOB,
        lines     INTEGER NOT NULL DEFAULT 0,
        bad_lines INTEGER NOT NULL DEFAULT 0,
        skipped_lines INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE messages (
        id         INTEGER PRIMARY KEY,
        uuid       TEXT UNIQUE,
        file_id    INTEGER NOT NULL,
        offset     INTEGER NOT NULL,
        len        INTEGER NOT NULL,
        session_id TEXT    NOT NULL,
        agent_id   TEXT,
        ts_ms      INTEGER,
        role       TEXT    NOT NULL,
        UNIQUE (file_id, offset)
    );
    CREATE INDEX messages_by_session ON messages(session_id, ts_ms);
    CREATE VIRTUAL TABLE messages_fts USING fts5(
        text, content = '', contentless_delete = 1,
        tokenize = 'unicode61 remove_diacritics 2'
    );
    CREATE TABLE usage (
        key        TEXT PRIMARY KEY,
        file_id    INTEGER NOT NULL,
        session_id TEXT    NOT NULL,
        ts_ms      INTEGER NOT NULL,
        model      TEXT    NOT NULL,
        sidechain  INTEGER NOT NULL,
        input      INTEGER NOT NULL,
        output     INTEGER NOT NULL,
        cache_write INTEGER NOT NULL,
        cache_write_1h INTEGER NOT NULL,
        cache_read INTEGER NOT NULL,
        total      INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX usage_by_ts ON usage(ts_ms);
    CREATE INDEX usage_by_session ON usage(session_id);
    CREATE INDEX usage_by_file ON usage(file_id);
    CREATE TABLE sessions (
        id           TEXT PRIMARY KEY,
        project      TEXT,
        cwd          TEXT,
        git_branch   TEXT,
        first_ms     INTEGER,
        last_ms      INTEGER,
        custom_title TEXT,
        ai_title     TEXT,
        summary      TEXT,
        last_prompt  TEXT,
        first_prompt TEXT,
        user_msgs    INTEGER NOT NULL DEFAULT 0,
        assistant_msgs INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE subagents (
        session_id  TEXT NOT NULL,
        agent_id    TEXT NOT NULL,
        agent_type  TEXT,
        description TEXT,
        file_id     INTEGER,
        PRIMARY KEY (session_id, agent_id)
    );
    CREATE TABLE record_types (
        file_id INTEGER NOT NULL,
        type    TEXT    NOT NULL,
        count   INTEGER NOT NULL,
        PRIMARY KEY (file_id, type)
    ) WITHOUT ROWID;",
    // 2: other agents' transcripts (Codex rollouts, Gemini chats): the
    //    agent of each file and session; a file's session and model when
    //    only its first lines name them (resumed reads start later).
    "ALTER TABLE files ADD COLUMN agent TEXT NOT NULL DEFAULT 'claude';
     ALTER TABLE files ADD COLUMN model TEXT;
     ALTER TABLE sessions ADD COLUMN agent TEXT NOT NULL DEFAULT 'claude';",
];

/// Opens (creating) and migrates the index at `path`, with the store's
/// pragmas ([`agentd_store::open`]: WAL, busy timeout).
///
/// # Errors
/// SQLite errors; [`IndexError::TooNew`] for a file from a newer agentd.
pub fn open(path: &std::path::Path) -> Result<Connection, IndexError> {
    let mut conn = agentd_store::open(path)?;
    agentd_store::migrate_with(&mut conn, MIGRATIONS)?;
    Ok(conn)
}
