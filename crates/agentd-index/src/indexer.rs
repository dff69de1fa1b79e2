//! Indexing one transcript file from its cursor: complete lines only, in
//! transactions that move the cursor together with the rows they add, so a
//! crash at any moment neither loses nor duplicates anything.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::Path;

use agentd_transcript::{Record, Role, TitleKind, parse_line_of};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::IndexError;
use crate::layout::{FileKind, agent_meta};

/// Lines longer than this are counted (`skipped_lines`) but not parsed,
/// so one absurd line cannot take the daemon's memory. Bytes.
pub const MAX_LINE_BYTES: usize = 64 << 20;
/// Bytes of input per transaction during bulk indexing.
pub const BATCH_BYTES: u64 = 8 << 20;
/// Size of the head and tail windows hashed to notice a rewritten file.
const HASH_WINDOW: u64 = 4096;

/// What indexing a file did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FileReport {
    /// Bytes consumed (complete lines).
    pub bytes: u64,
    /// Lines consumed.
    pub lines: u64,
    /// Whether the file had been truncated or rewritten and was re-read
    /// from the start.
    pub reset: bool,
}

/// The stored cursor of a file.
#[derive(Debug, Clone)]
struct Cursor {
    id: i64,
    inode: u64,
    size: u64,
    mtime_ms: i64,
    offset: u64,
    head_hash: Option<Vec<u8>>,
    tail_hash: Option<Vec<u8>>,
}

/// Owner of the index's one read-write connection.
pub struct Indexer {
    conn: Connection,
}

impl Indexer {
    /// Opens (creating and migrating) the index at `db`.
    ///
    /// # Errors
    /// SQLite errors; [`IndexError::TooNew`].
    pub fn open(db: &Path) -> Result<Indexer, IndexError> {
        let conn = crate::schema::open(db)?;
        // The index is derived data, rebuilt from the transcripts: commits
        // need not wait for the disk (+45 % cold-index throughput). A
        // process crash loses nothing committed (WAL); an OS crash or power
        // loss may damage the file, which `worker` then moves aside and
        // rebuilds. A 32 MiB page cache keeps FTS merges in memory.
        conn.pragma_update(None, "synchronous", "OFF")?;
        conn.pragma_update(None, "cache_size", -32_768)?;
        Ok(Indexer { conn })
    }

    /// Bytes of `path` not yet indexed, or `None` when size, inode and
    /// mtime are what the cursor last saw (nothing to do).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn pending(
        &self,
        path: &Path,
        meta: &std::fs::Metadata,
    ) -> Result<Option<u64>, IndexError> {
        let cursor = cursor(&self.conn, path)?;
        Ok(match cursor {
            Some(c)
                if c.inode == meta.ino()
                    && c.size == meta.len()
                    && c.mtime_ms == mtime_ms(meta) =>
            {
                None
            }
            Some(c) if c.inode == meta.ino() && meta.len() >= c.offset => {
                Some(meta.len() - c.offset)
            }
            _ => Some(meta.len()),
        })
    }

    /// Indexes what is new in `path` (of `kind`). `progress` is called with
    /// each batch's consumed bytes.
    ///
    /// # Errors
    /// I/O errors reading the file (a vanished file is not an error: it is
    /// left as indexed), SQLite errors (the batch is rolled back; the cursor
    /// stays where the last commit put it).
    pub fn index_file(
        &mut self,
        kind: &FileKind,
        path: &Path,
        progress: &mut dyn FnMut(u64),
    ) -> Result<FileReport, IndexError> {
        // Never a FIFO (whose open would block this thread), a device or
        // a folder, whatever a path looks like: checked on the open file.
        let file = match agentd_fs::open(path) {
            Ok(f) => f,
            Err(e) if e.is_not_found() => return Ok(FileReport::default()),
            Err(agentd_fs::FsError::NotRegular { .. }) => return Ok(FileReport::default()),
            Err(agentd_fs::FsError::Io { source, .. }) => return Err(IndexError::io(path, source)),
            Err(e) => return Err(IndexError::Invalid(e.to_string())),
        };
        let meta = file.metadata().map_err(|e| IndexError::io(path, e))?;
        let mut report = FileReport::default();
        let existing = cursor(&self.conn, path)?;
        if let Some(c) = &existing
            && c.inode == meta.ino()
            && c.size == meta.len()
            && c.mtime_ms == mtime_ms(&meta)
        {
            return Ok(report);
        }
        let file_id = match &existing {
            Some(c) => c.id,
            None => self.conn.query_row(
                "INSERT INTO files (path, project, session_id, agent_id, agent) VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
                params![path_str(path), kind.project, kind.session_id, kind.agent_id, kind.agent.as_str()],
                |r| r.get(0),
            )?,
        };
        // What earlier reads of this file learned from lines a resumed read
        // starts after: the session a header named, the current model.
        let (file_session, file_model): (Option<String>, Option<String>) = self.conn.query_row(
            "SELECT session_id, model FROM files WHERE id = ?1",
            [file_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let mut offset = existing.as_ref().map_or(0, |c| c.offset);
        if let Some(c) = &existing
            && !still_valid(c, &file, &meta)
        {
            let tx = self.conn.transaction()?;
            forget_rows(&tx, file_id)?;
            tx.commit()?;
            offset = 0;
            report.reset = true;
            tracing::info!(path = %path.display(), "transcript was truncated or rewritten; re-reading it");
        }
        if offset == 0 {
            self.subagent_meta(kind, path, file_id)?;
        }

        let mut reader = BufReader::with_capacity(1 << 20, &file);
        reader
            .seek(SeekFrom::Start(offset))
            .map_err(|e| IndexError::io(path, e))?;
        let mut line = Vec::new();
        let mut ctx = FileCtx {
            file_id,
            kind,
            file_session: kind.session_id.clone().or(file_session),
            model: file_model,
            sessions: HashMap::new(),
            types: HashMap::new(),
            bad: 0,
            skipped: 0,
            lines: 0,
        };
        let mut tx = self.conn.transaction()?;
        let mut batch = 0u64;
        loop {
            let Some((len, oversized)) =
                next_line(&mut reader, &mut line).map_err(|e| IndexError::io(path, e))?
            else {
                break;
            };
            ctx.lines += 1;
            if oversized {
                ctx.skipped += 1;
            } else {
                match parse_line_of(kind.agent, &line) {
                    Ok(rec) => apply(&tx, &mut ctx, &rec, offset, len)?,
                    Err(_) => ctx.bad += 1,
                }
            }
            offset += len;
            batch += len;
            report.bytes += len;
            report.lines += 1;
            if batch >= BATCH_BYTES {
                flush(&tx, &mut ctx, &file, &meta, offset, false)?;
                tx.commit()?;
                progress(batch);
                batch = 0;
                tx = self.conn.transaction()?;
            }
        }
        flush(&tx, &mut ctx, &file, &meta, offset, true)?;
        tx.commit()?;
        progress(batch);
        Ok(report)
    }

    fn subagent_meta(&self, kind: &FileKind, path: &Path, file_id: i64) -> Result<(), IndexError> {
        let (Some(session), Some(agent)) = (&kind.session_id, &kind.agent_id) else {
            return Ok(());
        };
        let meta = agent_meta(path).unwrap_or_default();
        self.conn.execute(
            "INSERT INTO subagents (session_id, agent_id, agent_type, description, file_id)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT DO UPDATE SET agent_type = COALESCE(excluded.agent_type, agent_type),
               description = COALESCE(excluded.description, description), file_id = excluded.file_id",
            params![session, agent, meta.agent_type, meta.description, file_id],
        )?;
        Ok(())
    }

    /// The connection, for tests and status queries.
    pub fn conn(&self) -> &Connection {
        &self.conn
    }
}

struct FileCtx<'k> {
    file_id: i64,
    kind: &'k FileKind,
    /// The session of lines that do not name one: the path's, or the one
    /// a header line named (Gemini chats, Codex rollouts).
    file_session: Option<String>,
    /// The model of usage lines that do not name one: the last one named
    /// (Codex's `turn_context`).
    model: Option<String>,
    sessions: HashMap<String, SessionDelta>,
    types: HashMap<String, i64>,
    bad: i64,
    skipped: i64,
    lines: i64,
}

#[derive(Default)]
struct SessionDelta {
    cwd: Option<String>,
    git_branch: Option<String>,
    first_ms: Option<i64>,
    last_ms: Option<i64>,
    custom_title: Option<String>,
    ai_title: Option<String>,
    summary: Option<String>,
    last_prompt: Option<String>,
    first_prompt: Option<String>,
    user_msgs: i64,
    assistant_msgs: i64,
}

/// Reads one `\n`-terminated line into `buf` (without the `\n`). Returns
/// its length including the `\n` and whether it was over
/// [`MAX_LINE_BYTES`] (then `buf` is empty), or `None` at end of file — a
/// partial last line is left for later.
fn next_line(r: &mut impl BufRead, buf: &mut Vec<u8>) -> std::io::Result<Option<(u64, bool)>> {
    buf.clear();
    let mut total = 0u64;
    let mut over = false;
    loop {
        let avail = r.fill_buf()?;
        if avail.is_empty() {
            return Ok(None);
        }
        let (take, done) = match avail.iter().position(|&b| b == b'\n') {
            Some(i) => (i, true),
            None => (avail.len(), false),
        };
        if !over {
            if buf.len() + take > MAX_LINE_BYTES {
                over = true;
                buf.clear();
            } else {
                buf.extend_from_slice(&avail[..take]);
            }
        }
        let used = take + usize::from(done);
        total += used as u64;
        r.consume(used);
        if done {
            return Ok(Some((total, over)));
        }
    }
}

fn apply(
    tx: &Transaction<'_>,
    ctx: &mut FileCtx<'_>,
    rec: &Record,
    offset: u64,
    len: u64,
) -> Result<(), IndexError> {
    *ctx.types.entry(rec.kind.clone()).or_default() += 1;
    if ctx.kind.agent != agentd_core::Agent::Claude {
        // Other formats name the session once, in a header line.
        if let Some(id) = &rec.session_id
            && ctx.file_session.as_ref() != Some(id)
        {
            ctx.file_session = Some(id.clone());
            tx.prepare_cached("UPDATE files SET session_id = ?2 WHERE id = ?1")?
                .execute(params![ctx.file_id, id])?;
        }
        if rec.usage.is_none()
            && let Some(m) = &rec.model
            && ctx.model.as_ref() != Some(m)
        {
            ctx.model = Some(m.clone());
            tx.prepare_cached("UPDATE files SET model = ?2 WHERE id = ?1")?
                .execute(params![ctx.file_id, m])?;
        }
    }
    let session = rec
        .session_id
        .clone()
        .or_else(|| ctx.file_session.clone())
        .unwrap_or_else(|| {
            ctx.kind
                .agent_id
                .clone()
                .map_or_else(String::new, |a| format!("agent-{a}"))
        });
    if session.is_empty() {
        return Ok(());
    }
    let agent = rec
        .agent_id
        .clone()
        .or_else(|| ctx.kind.agent_id.clone())
        .or_else(|| rec.is_sidechain.then(|| "sidechain".to_owned()));
    let delta = ctx.sessions.entry(session.clone()).or_default();
    if delta.cwd.is_none() {
        delta.cwd.clone_from(&rec.cwd);
    }
    if rec.git_branch.as_deref().is_some_and(|b| !b.is_empty()) {
        delta.git_branch.clone_from(&rec.git_branch);
    }
    if let Some(ts) = rec.ts_ms {
        delta.first_ms = Some(delta.first_ms.map_or(ts, |f| f.min(ts)));
        delta.last_ms = Some(delta.last_ms.map_or(ts, |l| l.max(ts)));
    }
    if let Some(t) = &rec.title {
        let slot = match t.kind {
            TitleKind::Custom => &mut delta.custom_title,
            TitleKind::Ai => &mut delta.ai_title,
            TitleKind::Summary => &mut delta.summary,
            TitleKind::LastPrompt => &mut delta.last_prompt,
        };
        *slot = Some(t.text.clone());
    }
    if let Some(role) = rec.role {
        if rec.supersedes && rec.uuid.is_some() {
            // A rewritten message: point at the newest copy, search its text.
            let old: Option<i64> = tx
                .prepare_cached("SELECT id FROM messages WHERE uuid = ?1")?
                .query_row([&rec.uuid], |r| r.get(0))
                .optional()?;
            if let Some(id) = old {
                tx.prepare_cached(
                    "UPDATE messages SET file_id = ?2, offset = ?3, len = ?4, ts_ms = COALESCE(?5, ts_ms) WHERE id = ?1",
                )?
                .execute(params![id, ctx.file_id, offset as i64, len as i64, rec.ts_ms])?;
                tx.prepare_cached("DELETE FROM messages_fts WHERE rowid = ?1")?
                    .execute([id])?;
                if !rec.text.is_empty() {
                    tx.prepare_cached("INSERT INTO messages_fts (rowid, text) VALUES (?1, ?2)")?
                        .execute(params![id, rec.text])?;
                }
            }
        }
        let inserted = tx
            .prepare_cached(
                "INSERT OR IGNORE INTO messages (uuid, file_id, offset, len, session_id, agent_id, ts_ms, role)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                rec.uuid,
                ctx.file_id,
                offset as i64,
                len as i64,
                session,
                agent,
                rec.ts_ms,
                role.as_str()
            ])?;
        if inserted == 1 {
            if !rec.text.is_empty() {
                tx.prepare_cached("INSERT INTO messages_fts (rowid, text) VALUES (?1, ?2)")?
                    .execute(params![tx.last_insert_rowid(), rec.text])?;
            }
            match role {
                Role::User => delta.user_msgs += 1,
                Role::Assistant => delta.assistant_msgs += 1,
                _ => {}
            }
            if rec.is_prompt && delta.first_prompt.is_none() {
                delta.first_prompt = Some(agentd_core::text::truncate(
                    &agentd_core::text::fold(&rec.text),
                    201,
                ));
            }
        }
    }
    if let (Some(u), Some(ts)) = (rec.usage, rec.ts_ms) {
        let key = usage_key(rec, &session, ts, ctx.file_id, offset);
        tx.prepare_cached(
            "INSERT INTO usage (key, file_id, session_id, ts_ms, model, sidechain, input, output,
                                cache_write, cache_write_1h, cache_read, total)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
             ON CONFLICT (key) DO UPDATE SET
               file_id = excluded.file_id, session_id = excluded.session_id, ts_ms = excluded.ts_ms,
               model = excluded.model, sidechain = excluded.sidechain, input = excluded.input,
               output = excluded.output, cache_write = excluded.cache_write,
               cache_write_1h = excluded.cache_write_1h, cache_read = excluded.cache_read,
               total = excluded.total
             WHERE excluded.sidechain < usage.sidechain
                OR (excluded.sidechain = usage.sidechain AND excluded.total > usage.total)",
        )?
        .execute(params![
            key,
            ctx.file_id,
            session,
            ts,
            rec.model.as_deref().or(ctx.model.as_deref()).unwrap_or(""),
            rec.is_sidechain,
            clamp(u.input_tokens),
            clamp(u.output_tokens),
            clamp(u.cache_creation_input_tokens),
            clamp(u.cache_creation_1h_tokens),
            clamp(u.cache_read_input_tokens),
            clamp(u.total())
        ])?;
    }
    Ok(())
}

/// A token count as SQLite stores it: absurd values are capped so that sums
/// cannot overflow (2^48 tokens is beyond any real request).
fn clamp(n: u64) -> i64 {
    n.min(1 << 48) as i64
}

/// The deduplication key of a usage record (as ccusage 20 keys them):
/// Claude Code writes one record per content block, each repeating the
/// response's usage, so records of one API response share a key.
fn usage_key(rec: &Record, session: &str, ts: i64, file_id: i64, offset: u64) -> String {
    if let Some(k) = &rec.usage_key {
        return format!("k:{session}:{k}");
    }
    match (rec.message_id.as_deref(), rec.request_id.as_deref()) {
        (Some(m), Some(r)) if !m.is_empty() && !r.is_empty() => format!("r:{m}:{r}"),
        (Some(m), _) if m.starts_with("msg_") => format!("a:{m}:{session}"),
        (Some(m), _) if !m.is_empty() => format!("t:{m}:{session}:{ts}"),
        _ => format!("@{file_id}:{offset}"),
    }
}

/// Writes the batch's session deltas, type counts and the cursor. Only the
/// last batch of a pass records the file's size and mtime: a pass cut short
/// (shutdown, an error) leaves a cursor that still says "more to read".
fn flush(
    tx: &Transaction<'_>,
    ctx: &mut FileCtx<'_>,
    file: &File,
    meta: &std::fs::Metadata,
    offset: u64,
    last: bool,
) -> Result<(), IndexError> {
    for (id, d) in ctx.sessions.drain() {
        tx.prepare_cached(
            "INSERT INTO sessions (id, project, cwd, git_branch, first_ms, last_ms, custom_title, ai_title,
                                   summary, last_prompt, first_prompt, user_msgs, assistant_msgs, agent)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
             ON CONFLICT (id) DO UPDATE SET
               project = COALESCE(sessions.project, excluded.project),
               cwd = COALESCE(sessions.cwd, excluded.cwd),
               git_branch = COALESCE(excluded.git_branch, sessions.git_branch),
               first_ms = MIN(COALESCE(sessions.first_ms, excluded.first_ms), COALESCE(excluded.first_ms, sessions.first_ms)),
               last_ms = MAX(COALESCE(sessions.last_ms, excluded.last_ms), COALESCE(excluded.last_ms, sessions.last_ms)),
               custom_title = COALESCE(excluded.custom_title, sessions.custom_title),
               ai_title = COALESCE(excluded.ai_title, sessions.ai_title),
               summary = COALESCE(excluded.summary, sessions.summary),
               last_prompt = COALESCE(excluded.last_prompt, sessions.last_prompt),
               first_prompt = COALESCE(sessions.first_prompt, excluded.first_prompt),
               user_msgs = sessions.user_msgs + excluded.user_msgs,
               assistant_msgs = sessions.assistant_msgs + excluded.assistant_msgs",
        )?
        .execute(params![
            id,
            ctx.kind.project,
            d.cwd,
            d.git_branch,
            d.first_ms,
            d.last_ms,
            d.custom_title,
            d.ai_title,
            d.summary,
            d.last_prompt,
            d.first_prompt,
            d.user_msgs,
            d.assistant_msgs,
            ctx.kind.agent.as_str()
        ])?;
    }
    for (t, n) in ctx.types.drain() {
        tx.prepare_cached(
            "INSERT INTO record_types (file_id, type, count) VALUES (?1, ?2, ?3)
             ON CONFLICT DO UPDATE SET count = count + excluded.count",
        )?
        .execute(params![ctx.file_id, t, n])?;
    }
    let (head, tail) = hashes(file, offset);
    tx.prepare_cached(
        "UPDATE files SET inode = ?2, size = ?3, mtime_ms = ?4, offset = ?5, head_hash = ?6, tail_hash = ?7,
                          lines = lines + ?8, bad_lines = bad_lines + ?9, skipped_lines = skipped_lines + ?10
         WHERE id = ?1",
    )?
    .execute(params![
        ctx.file_id,
        meta.ino() as i64,
        if last { meta.len() } else { offset } as i64,
        if last { mtime_ms(meta) } else { 0 },
        offset as i64,
        head,
        tail,
        ctx.lines,
        ctx.bad,
        ctx.skipped
    ])?;
    ctx.lines = 0;
    ctx.bad = 0;
    ctx.skipped = 0;
    Ok(())
}

/// Deletes everything indexed from a file (before re-reading it) and
/// recounts the sessions it touched.
fn forget_rows(tx: &Transaction<'_>, file_id: i64) -> Result<(), IndexError> {
    let sessions: Vec<String> = tx
        .prepare("SELECT DISTINCT session_id FROM messages WHERE file_id = ?1")?
        .query_map([file_id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    tx.execute(
        "DELETE FROM messages_fts WHERE rowid IN (SELECT id FROM messages WHERE file_id = ?1)",
        [file_id],
    )?;
    tx.execute("DELETE FROM messages WHERE file_id = ?1", [file_id])?;
    tx.execute("DELETE FROM usage WHERE file_id = ?1", [file_id])?;
    tx.execute("DELETE FROM record_types WHERE file_id = ?1", [file_id])?;
    tx.execute(
        "UPDATE files SET offset = 0, lines = 0, bad_lines = 0, skipped_lines = 0 WHERE id = ?1",
        [file_id],
    )?;
    // A subagent file's reset must not cost its parent the first prompt,
    // which lives in the (not re-read) main file.
    let main_file: bool = tx.query_row(
        "SELECT agent_id IS NULL FROM files WHERE id = ?1",
        [file_id],
        |r| r.get(0),
    )?;
    for s in sessions {
        tx.execute(
            "UPDATE sessions SET
               user_msgs = (SELECT COUNT(*) FROM messages WHERE session_id = ?1 AND role = 'user'),
               assistant_msgs = (SELECT COUNT(*) FROM messages WHERE session_id = ?1 AND role = 'assistant'),
               first_prompt = CASE WHEN ?2 THEN NULL ELSE first_prompt END
             WHERE id = ?1",
            params![s, main_file],
        )?;
        // A session this file alone held is gone with it (re-reading the
        // file makes it again if the file still holds it): a fresh read of
        // the rewritten file would not list it either.
        tx.execute(
            "DELETE FROM sessions WHERE id = ?1
               AND NOT EXISTS (SELECT 1 FROM messages WHERE session_id = ?1)
               AND NOT EXISTS (SELECT 1 FROM usage WHERE session_id = ?1)",
            [&s],
        )?;
    }
    Ok(())
}

fn cursor(conn: &Connection, path: &Path) -> Result<Option<Cursor>, IndexError> {
    Ok(conn
        .prepare_cached(
            "SELECT id, inode, size, mtime_ms, offset, head_hash, tail_hash FROM files WHERE path = ?1",
        )?
        .query_row([path_str(path)], |r| {
            Ok(Cursor {
                id: r.get(0)?,
                inode: r.get::<_, i64>(1)? as u64,
                size: r.get::<_, i64>(2)? as u64,
                mtime_ms: r.get(3)?,
                offset: r.get::<_, i64>(4)? as u64,
                head_hash: r.get(5)?,
                tail_hash: r.get(6)?,
            })
        })
        .optional()?)
}

/// Whether the bytes the cursor has consumed are still the file's: same
/// inode, not shorter, and the same head and tail windows (Claude Code
/// truncates in place after a stream error, or rewrites a file whole).
fn still_valid(c: &Cursor, file: &File, meta: &std::fs::Metadata) -> bool {
    if c.inode != meta.ino() || meta.len() < c.offset {
        return false;
    }
    let (head, tail) = hashes(file, c.offset);
    head == c.head_hash && tail == c.tail_hash
}

/// Hashes (BLAKE3, 16 bytes) of the first and the last [`HASH_WINDOW`]
/// bytes before `offset`.
fn hashes(file: &File, offset: u64) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
    let window = |start: u64, len: u64| -> Option<Vec<u8>> {
        let mut buf = vec![0u8; len as usize];
        file.read_exact_at(&mut buf, start).ok()?;
        Some(blake3::hash(&buf).as_bytes()[..16].to_vec())
    };
    let n = offset.min(HASH_WINDOW);
    (window(0, n), window(offset - n, n))
}

fn mtime_ms(meta: &std::fs::Metadata) -> i64 {
    meta.mtime() * 1000 + meta.mtime_nsec() / 1_000_000
}

/// A path as stored (lossy for non-UTF-8 names).
pub(crate) fn path_str(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}
