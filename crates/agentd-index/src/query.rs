//! Reading the index: search, transcripts, sessions, status.

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use agentd_transcript::{query_terms, snippet};
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::IndexError;
pub use agentd_proto::history::{
    Hit, IndexCounts, MessageView, SEARCH_PAGE_MAX, SearchQuery, ToolView, TranscriptPage,
};

/// Characters of a search snippet.
pub const SNIPPET_CHARS: usize = 160;
/// Bytes of a message's text in `transcript.get`.
pub const MESSAGE_TEXT_BYTES: usize = 8 * 1024;

/// The FTS5 expression for a free-text query: every word, quoted (no FTS5
/// syntax reaches SQLite); `None` when it has no word.
pub(crate) fn fts_expr(query: &str) -> Option<String> {
    let terms = query_terms(query);
    (!terms.is_empty()).then(|| {
        terms
            .iter()
            .map(|t| format!("\"{}\"", t.replace('"', "\"\"")))
            .collect::<Vec<_>>()
            .join(" ")
    })
}

/// A read-only connection to the index.
pub struct Reader {
    conn: Connection,
}

/// A ranked match: a transcript message's row (or, with `document`, a
/// memory document's) and its BM25 score (lower is better, as FTS5 gives
/// it).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ranked {
    /// `messages.id`, or `documents.id` when `document`.
    pub message: i64,
    /// `bm25(…)`.
    pub score: f64,
    /// A memory document, not a transcript message.
    pub document: bool,
}

/// A session as the index knows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct IndexedSession {
    /// Session id.
    pub id: String,
    /// Project folder name.
    pub project_folder: Option<String>,
    /// First cwd seen.
    pub cwd: Option<String>,
    /// Last git branch seen.
    pub git_branch: Option<String>,
    /// First record time, ms since the Unix epoch.
    pub first_ms: Option<i64>,
    /// Last record time, ms since the Unix epoch.
    pub last_ms: Option<i64>,
    /// Title: custom → AI → summary → first prompt → last prompt.
    pub title: Option<String>,
    /// The first prompt typed.
    pub first_prompt: Option<String>,
    /// User text records.
    pub user_messages: u64,
    /// Assistant records.
    pub assistant_messages: u64,
    /// Models used (from usage), sorted.
    pub models: Vec<String>,
    /// Subagents (agent ids) seen.
    pub subagents: Vec<String>,
    /// Tokens used in all (deduplicated).
    pub total_tokens: u64,
    /// The agent whose transcript it is (`claude`, `codex`, `gemini`).
    pub agent: String,
}

/// Filters of [`Reader::sessions`].
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SessionFilter {
    /// cwd or project folder contains this.
    #[serde(default)]
    pub project: Option<String>,
    /// Last activity at or after, ms since the Unix epoch.
    #[serde(default)]
    pub since_ms: Option<i64>,
    /// Skip this many (newest first).
    #[serde(default)]
    pub offset: Option<usize>,
    /// At most this many.
    #[serde(default)]
    pub limit: Option<usize>,
    /// Only this agent's sessions (`claude`, `codex`, `gemini`).
    #[serde(default)]
    pub agent: Option<String>,
}

/// Record types this indexer understands (reference §4.2).
pub const KNOWN_TYPES: &[&str] = &[
    "user",
    "assistant",
    "system",
    "summary",
    "progress",
    "attachment",
    "file-history-snapshot",
    "queue-operation",
    "permission-mode",
    "last-prompt",
    "custom-title",
    "ai-title",
    "tag",
    "content-replacement",
    "pr-link",
];

impl Reader {
    /// Opens the index at `db` read-only.
    ///
    /// # Errors
    /// SQLite errors (no index yet: the daemon creates it at start).
    pub fn open(db: &Path) -> Result<Reader, IndexError> {
        let conn = Connection::open_with_flags(
            db,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        Ok(Reader { conn })
    }

    /// The connection (for [`crate::usage`]).
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Full-text search, best first (BM25).
    ///
    /// # Errors
    /// SQLite errors. A query without words finds nothing (no error).
    pub fn search(&self, q: &SearchQuery) -> Result<Vec<Hit>, IndexError> {
        let limit = q.limit.unwrap_or(20).clamp(1, SEARCH_PAGE_MAX);
        let ranked = self.ranked(q, limit, q.offset.unwrap_or(0))?;
        self.hits(&q.query, &ranked)
    }

    /// The best matches of `q` as (message row, score), best first, at
    /// most `limit` after skipping `offset`: the ranking alone, without
    /// reading any transcript. With a filter or an offset (0 included),
    /// equal scores are ordered by message, a total order pages can share.
    ///
    /// # Errors
    /// SQLite errors. A query without words finds nothing.
    pub fn ranked(
        &self,
        q: &SearchQuery,
        limit: usize,
        offset: usize,
    ) -> Result<Vec<Ranked>, IndexError> {
        let Some(expr) = fts_expr(&q.query) else {
            return Ok(Vec::new());
        };
        let filtered = q.project.is_some()
            || q.session_id.is_some()
            || q.since_ms.is_some()
            || q.until_ms.is_some()
            || q.offset.is_some();
        // Unfiltered, FTS5 picks the best rows itself (fast top-k); with
        // filters (or paging, which needs a total order) every match is
        // ranked.
        let sql = if filtered {
            "SELECT m.id, bm25(messages_fts) AS score
             FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid
             LEFT JOIN sessions s ON s.id = m.session_id
             WHERE messages_fts MATCH ?1
               AND (?2 IS NULL OR s.cwd LIKE '%' || ?2 || '%' OR s.project LIKE '%' || ?2 || '%')
               AND (?3 IS NULL OR m.session_id = ?3)
               AND (?4 IS NULL OR m.ts_ms >= ?4) AND (?5 IS NULL OR m.ts_ms < ?5)
             ORDER BY score, m.id LIMIT ?6 OFFSET ?7"
        } else {
            "SELECT rowid, rank FROM messages_fts WHERE messages_fts MATCH ?1
               AND ?2 IS NULL AND ?3 IS NULL AND ?4 IS NULL AND ?5 IS NULL AND ?7 = 0
             ORDER BY rank LIMIT ?6"
        };
        let mut stmt = self.conn.prepare_cached(sql)?;
        let rows = stmt.query_map(
            params![
                expr,
                q.project,
                q.session_id,
                q.since_ms,
                q.until_ms,
                limit.min(i64::MAX as usize) as i64,
                offset.min(i64::MAX as usize) as i64
            ],
            |r| {
                Ok(Ranked {
                    message: r.get(0)?,
                    score: r.get(1)?,
                    document: false,
                })
            },
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Hits for ranked messages, in their order, with snippets of `query`'s
    /// words read from the transcripts. A message gone since it was ranked
    /// is left out.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn hits(&self, query: &str, ranked: &[Ranked]) -> Result<Vec<Hit>, IndexError> {
        let terms = query_terms(query);
        let mut stmt = self.conn.prepare_cached(
            "SELECT m.session_id, m.agent_id, m.uuid, m.ts_ms, m.role, f.path, m.offset, m.len,
                    COALESCE(s.cwd, s.project), f.agent
             FROM messages m JOIN files f ON f.id = m.file_id
             LEFT JOIN sessions s ON s.id = m.session_id
             WHERE m.id = ?1",
        )?;
        let mut files = FileCache::default();
        let mut hits = Vec::with_capacity(ranked.len());
        for r in ranked {
            let row = stmt
                .query_row([r.message], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, Option<String>>(1)?,
                        r.get::<_, Option<String>>(2)?,
                        r.get::<_, Option<i64>>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, String>(5)?,
                        r.get::<_, i64>(6)?,
                        r.get::<_, i64>(7)?,
                        r.get::<_, Option<String>>(8)?,
                        r.get::<_, String>(9)?,
                    ))
                })
                .optional()?;
            let Some((session_id, agent_id, uuid, ts_ms, role, path, offset, len, project, agent)) =
                row
            else {
                continue;
            };
            let text = files.text(&path, &agent, offset, len);
            hits.push(Hit {
                session_id,
                agent_id,
                uuid,
                ts: ts_ms.and_then(rfc3339),
                ts_ms,
                role,
                project,
                snippet: snippet(&text, &terms, SNIPPET_CHARS),
                score: -r.score,
                kind: "transcript".into(),
                document_id: None,
                title: None,
            });
        }
        Ok(hits)
    }

    /// A page of `session`'s messages in time order (subagents' included
    /// and marked).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn transcript(
        &self,
        session: &str,
        offset: u64,
        limit: usize,
    ) -> Result<TranscriptPage, IndexError> {
        let total: i64 = self.conn.query_row(
            "SELECT COUNT(*) FROM messages WHERE session_id = ?1",
            [session],
            |r| r.get(0),
        )?;
        let mut stmt = self.conn.prepare_cached(
            "SELECT m.uuid, m.ts_ms, m.role, m.agent_id, f.path, m.offset, m.len, f.agent
             FROM messages m JOIN files f ON f.id = m.file_id
             WHERE m.session_id = ?1
             ORDER BY m.ts_ms IS NULL, m.ts_ms, m.file_id, m.offset LIMIT ?2 OFFSET ?3",
        )?;
        let rows = stmt.query_map(params![session, limit as i64, offset as i64], |r| {
            Ok((
                r.get::<_, Option<String>>(0)?,
                r.get::<_, Option<i64>>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, i64>(5)?,
                r.get::<_, i64>(6)?,
                r.get::<_, String>(7)?,
            ))
        })?;
        let mut files = FileCache::default();
        let mut messages = Vec::new();
        for (i, row) in rows.enumerate() {
            let (uuid, ts_ms, role, agent_id, path, off, len, agent) = row?;
            let rec = files.record(&path, &agent, off, len);
            let (text, tools, model) = match rec {
                Some(r) => {
                    // Tool results are all "tool text"; keep them whole.
                    let mut t = if r.role == Some(agentd_transcript::Role::ToolResult) {
                        r.text
                    } else {
                        r.text[..r.prose_len.min(r.text.len())].to_owned()
                    };
                    if t.len() > MESSAGE_TEXT_BYTES {
                        let mut cut = MESSAGE_TEXT_BYTES;
                        while !t.is_char_boundary(cut) {
                            cut -= 1;
                        }
                        t.truncate(cut);
                    }
                    let tools = r
                        .tools
                        .into_iter()
                        .map(|t| ToolView {
                            name: t.name,
                            summary: t.summary,
                        })
                        .collect();
                    (t, tools, r.model)
                }
                None => (String::new(), Vec::new(), None),
            };
            messages.push(MessageView {
                index: offset + i as u64,
                uuid,
                ts_ms,
                role,
                agent_id,
                model,
                text,
                tools,
            });
        }
        Ok(TranscriptPage {
            session_id: session.to_owned(),
            messages,
            total: total as u64,
        })
    }

    /// Sessions, most recently active first.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn sessions(&self, f: &SessionFilter) -> Result<Vec<IndexedSession>, IndexError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, project, cwd, git_branch, first_ms, last_ms, custom_title, ai_title, summary,
                    first_prompt, last_prompt, user_msgs, assistant_msgs, agent
             FROM sessions
             WHERE (?1 IS NULL OR cwd LIKE '%' || ?1 || '%' OR project LIKE '%' || ?1 || '%')
               AND (?2 IS NULL OR last_ms >= ?2)
               AND (?5 IS NULL OR agent = ?5)
             ORDER BY last_ms DESC LIMIT ?3 OFFSET ?4",
        )?;
        let limit = f.limit.unwrap_or(1000).min(100_000) as i64;
        let rows = stmt.query_map(
            params![
                f.project,
                f.since_ms,
                limit,
                f.offset.unwrap_or(0) as i64,
                f.agent
            ],
            session_row,
        )?;
        let mut out = Vec::new();
        for r in rows {
            let mut s = r?;
            self.fill_session(&mut s)?;
            out.push(s);
        }
        Ok(out)
    }

    /// One session by id or unique prefix.
    ///
    /// # Errors
    /// SQLite errors; [`IndexError::Invalid`] for an ambiguous prefix.
    pub fn session(&self, id: &str) -> Result<Option<IndexedSession>, IndexError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, project, cwd, git_branch, first_ms, last_ms, custom_title, ai_title, summary,
                    first_prompt, last_prompt, user_msgs, assistant_msgs, agent
             FROM sessions WHERE id = ?1 OR (?1 <> '' AND id >= ?1 AND id < ?1 || x'ff') LIMIT 2",
        )?;
        let mut found: Vec<IndexedSession> = stmt
            .query_map([id], session_row)?
            .collect::<Result<_, _>>()?;
        if let Some(exact) = found.iter().position(|s| s.id == id) {
            found.swap(0, exact);
            found.truncate(1);
        }
        match found.len() {
            0 => Ok(None),
            1 => {
                let mut s = found.remove(0);
                self.fill_session(&mut s)?;
                Ok(Some(s))
            }
            _ => Err(IndexError::Invalid(format!(
                "`{id}` matches several sessions; give more of the id"
            ))),
        }
    }

    fn fill_session(&self, s: &mut IndexedSession) -> Result<(), IndexError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT model, SUM(total) FROM usage WHERE session_id = ?1 GROUP BY model ORDER BY model",
        )?;
        for r in stmt.query_map([&s.id], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
        })? {
            let (m, t) = r?;
            if !m.is_empty() && m != "<synthetic>" {
                s.models.push(m);
            }
            s.total_tokens += t as u64;
        }
        let mut stmt = self.conn.prepare_cached(
            "SELECT agent_id FROM subagents WHERE session_id = ?1 ORDER BY agent_id",
        )?;
        s.subagents = stmt
            .query_map([&s.id], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        if s.subagents.is_empty() {
            let mut stmt = self.conn.prepare_cached(
                "SELECT DISTINCT agent_id FROM messages WHERE session_id = ?1 AND agent_id IS NOT NULL ORDER BY agent_id",
            )?;
            s.subagents = stmt
                .query_map([&s.id], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
        }
        Ok(())
    }

    /// Counts for `index.status`.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn counts(&self) -> Result<IndexCounts, IndexError> {
        let mut c = IndexCounts::default();
        let (files, bytes, lines, bad, skipped): (i64, i64, i64, i64, i64) = self.conn.query_row(
            "SELECT COUNT(*), COALESCE(SUM(offset),0), COALESCE(SUM(lines),0), COALESCE(SUM(bad_lines),0),
                    COALESCE(SUM(skipped_lines),0) FROM files",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )?;
        (c.files, c.bytes, c.lines, c.bad_lines, c.skipped_lines) = (
            files as u64,
            bytes as u64,
            lines as u64,
            bad as u64,
            skipped as u64,
        );
        c.messages = self.count("SELECT COUNT(*) FROM messages")?;
        c.sessions = self.count("SELECT COUNT(*) FROM sessions")?;
        c.usage_records = self.count("SELECT COUNT(*) FROM usage")?;
        let mut stmt = self
            .conn
            .prepare_cached("SELECT type, SUM(count) FROM record_types GROUP BY type")?;
        for r in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
            let (t, n) = r?;
            if !KNOWN_TYPES.contains(&t.as_str()) {
                c.unknown_types.insert(t.clone(), n as u64);
            }
            c.record_types.insert(t, n as u64);
        }
        Ok(c)
    }

    fn count(&self, sql: &str) -> Result<u64, IndexError> {
        Ok(self.conn.query_row(sql, [], |r| r.get::<_, i64>(0))? as u64)
    }

    /// Whether any file under `path` is indexed.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn has_file(&self, path: &Path) -> Result<bool, IndexError> {
        Ok(self
            .conn
            .query_row(
                "SELECT 1 FROM files WHERE path = ?1",
                [crate::indexer::path_str(path)],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }
}

fn session_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<IndexedSession> {
    let custom: Option<String> = r.get(6)?;
    let ai: Option<String> = r.get(7)?;
    let summary: Option<String> = r.get(8)?;
    let first_prompt: Option<String> = r.get(9)?;
    let last_prompt: Option<String> = r.get(10)?;
    Ok(IndexedSession {
        id: r.get(0)?,
        project_folder: r.get(1)?,
        cwd: r.get(2)?,
        git_branch: r.get(3)?,
        first_ms: r.get(4)?,
        last_ms: r.get(5)?,
        title: custom
            .or(ai)
            .or(summary)
            .or_else(|| first_prompt.clone())
            .or(last_prompt),
        first_prompt,
        user_messages: r.get::<_, i64>(11)? as u64,
        assistant_messages: r.get::<_, i64>(12)? as u64,
        models: Vec::new(),
        subagents: Vec::new(),
        total_tokens: 0,
        agent: r.get(13)?,
    })
}

/// RFC 3339 text of a ms timestamp.
pub fn rfc3339(ms: i64) -> Option<String> {
    jiff::Timestamp::from_millisecond(ms)
        .ok()
        .map(|t| t.to_string())
}

/// Open transcript files, for reading lines by pointer.
#[derive(Default)]
struct FileCache {
    open: HashMap<String, Option<File>>,
}

impl FileCache {
    /// The record at `offset` of `path`, a transcript in `agent`'s format.
    fn record(
        &mut self,
        path: &str,
        agent: &str,
        offset: i64,
        len: i64,
    ) -> Option<agentd_transcript::Record> {
        let file = self
            .open
            .entry(path.to_owned())
            .or_insert_with(|| agentd_fs::open(Path::new(path)).ok())
            .as_ref()?;
        let len = usize::try_from(len)
            .ok()?
            .min(crate::indexer::MAX_LINE_BYTES + 1);
        let mut buf = vec![0u8; len];
        file.read_exact_at(&mut buf, u64::try_from(offset).ok()?)
            .ok()?;
        if buf.last() == Some(&b'\n') {
            buf.pop();
        }
        let agent = agentd_core::Agent::parse(agent).unwrap_or_default();
        agentd_transcript::parse_line_of(agent, &buf).ok()
    }

    fn text(&mut self, path: &str, agent: &str, offset: i64, len: i64) -> String {
        self.record(path, agent, offset, len)
            .map(|r| r.text)
            .unwrap_or_default()
    }
}
