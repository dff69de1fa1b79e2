//! Memory: documents that are not transcripts (notes, decisions, a summary
//! an agent writes), stored and indexed in their own file (`memory.db`,
//! beside `index.db`): unlike the transcript index they are not derived
//! data, so a rebuilt index never loses them. Searched with the same words
//! and snippets as transcripts, scored by the same BM25.

use std::path::Path;

use agentd_proto::history::{Document, Hit, IndexDocumentParams, SearchQuery};
use agentd_transcript::{query_terms, snippet};
use rusqlite::{Connection, OptionalExtension, params};

use crate::IndexError;
use crate::query::{Ranked, SNIPPET_CHARS};

/// Longest title, bytes.
pub const MAX_TITLE_BYTES: usize = 1024;
/// Longest text, bytes: a document always fits one response.
pub const MAX_TEXT_BYTES: usize = agentd_proto::MAX_FRAME_BYTES - 64 * 1024;

/// Migration `i` takes `memory.db` from version `i` to `i + 1`. Append only.
const MIGRATIONS: &[&str] = &["CREATE TABLE documents (
        id         INTEGER PRIMARY KEY,
        title      TEXT NOT NULL,
        text       TEXT NOT NULL,
        source     TEXT,
        tags       TEXT NOT NULL DEFAULT '[]',
        project    TEXT,
        session_id TEXT,
        created_ms INTEGER NOT NULL
    );
    CREATE VIRTUAL TABLE documents_fts USING fts5(
        title, text, content = 'documents', content_rowid = 'id',
        tokenize = 'unicode61 remove_diacritics 2'
    );"];

/// The memory store: one connection (writes are rare and small; SQLite's
/// busy timeout orders them).
pub struct Memory {
    conn: Connection,
}

impl Memory {
    /// Opens (creating and migrating) `memory.db` at `path`.
    ///
    /// # Errors
    /// SQLite errors; a file from a newer agentd.
    pub fn open(path: &Path) -> Result<Memory, IndexError> {
        let mut conn = agentd_store::open(path)?;
        agentd_store::migrate_with(&mut conn, MIGRATIONS)?;
        Ok(Memory { conn })
    }

    /// Stores and indexes a document at `now_ms`.
    ///
    /// # Errors
    /// [`IndexError::Invalid`] for an empty or oversize title or text;
    /// SQLite errors.
    pub fn add(&mut self, d: &IndexDocumentParams, now_ms: i64) -> Result<Document, IndexError> {
        if d.title.trim().is_empty() || d.text.trim().is_empty() {
            return Err(IndexError::Invalid(
                "a document needs a `title` and a `text`".to_owned(),
            ));
        }
        if d.title.len() > MAX_TITLE_BYTES || d.text.len() > MAX_TEXT_BYTES {
            return Err(IndexError::Invalid(format!(
                "a document's title is at most {MAX_TITLE_BYTES} bytes and its text {MAX_TEXT_BYTES}"
            )));
        }
        let tags = serde_json::to_string(&d.tags).unwrap_or_else(|_| "[]".to_owned());
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO documents (title, text, source, tags, project, session_id, created_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                d.title,
                d.text,
                d.source,
                tags,
                d.project,
                d.session_id,
                now_ms
            ],
        )?;
        let id = tx.last_insert_rowid();
        tx.execute(
            "INSERT INTO documents_fts (rowid, title, text) VALUES (?1, ?2, ?3)",
            params![id, d.title, d.text],
        )?;
        tx.commit()?;
        Ok(Document {
            id: format!("doc_{id}"),
            title: d.title.clone(),
            text: d.text.clone(),
            source: d.source.clone(),
            tags: d.tags.clone(),
            project: d.project.clone(),
            session_id: d.session_id.clone(),
            created_ms: now_ms,
        })
    }

    /// One document by id (`doc_<n>`).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn get(&self, id: &str) -> Result<Option<Document>, IndexError> {
        let Some(n) = id.strip_prefix("doc_").and_then(|n| n.parse::<i64>().ok()) else {
            return Ok(None);
        };
        Ok(self
            .conn
            .query_row(
                "SELECT id, title, text, source, tags, project, session_id, created_ms
                 FROM documents WHERE id = ?1",
                [n],
                document_row,
            )
            .optional()?)
    }

    /// The best matches of `q` among documents, at most `limit`, as
    /// (rowid, BM25 score; lower is better), tagged as documents. A
    /// session filter matches the documents written for that session.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn ranked(&self, q: &SearchQuery, limit: usize) -> Result<Vec<Ranked>, IndexError> {
        let Some(expr) = crate::query::fts_expr(&q.query) else {
            return Ok(Vec::new());
        };
        let mut stmt = self.conn.prepare_cached(
            "SELECT d.id, bm25(documents_fts) AS score
             FROM documents_fts JOIN documents d ON d.id = documents_fts.rowid
             WHERE documents_fts MATCH ?1
               AND (?2 IS NULL OR d.project LIKE '%' || ?2 || '%')
               AND (?3 IS NULL OR d.session_id = ?3)
               AND (?4 IS NULL OR d.created_ms >= ?4) AND (?5 IS NULL OR d.created_ms < ?5)
             ORDER BY score, d.id LIMIT ?6",
        )?;
        let rows = stmt.query_map(
            params![
                expr,
                q.project,
                q.session_id,
                q.since_ms,
                q.until_ms,
                limit.min(i64::MAX as usize) as i64
            ],
            |r| {
                Ok(Ranked {
                    message: r.get(0)?,
                    score: r.get(1)?,
                    document: true,
                })
            },
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Hits for ranked documents, in their order, with snippets of `query`.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn hits(&self, query: &str, ranked: &[Ranked]) -> Result<Vec<Hit>, IndexError> {
        let terms = query_terms(query);
        let mut out = Vec::with_capacity(ranked.len());
        for r in ranked {
            let Some(d) = self.get(&format!("doc_{}", r.message))? else {
                continue;
            };
            let text = format!("{}\n{}", d.title, d.text);
            out.push(Hit {
                session_id: d.session_id.clone().unwrap_or_default(),
                agent_id: None,
                uuid: None,
                ts_ms: Some(d.created_ms),
                ts: agentd_proto::api::rfc3339(d.created_ms).into(),
                role: "document".to_owned(),
                project: d.project.clone(),
                snippet: snippet(&text, &terms, SNIPPET_CHARS),
                score: -r.score,
                kind: "document".to_owned(),
                document_id: Some(d.id),
                title: Some(d.title),
            });
        }
        Ok(out)
    }
}

fn document_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Document> {
    let tags: String = r.get(4)?;
    Ok(Document {
        id: format!("doc_{}", r.get::<_, i64>(0)?),
        title: r.get(1)?,
        text: r.get(2)?,
        source: r.get(3)?,
        tags: serde_json::from_str(&tags).unwrap_or_default(),
        project: r.get(5)?,
        session_id: r.get(6)?,
        created_ms: r.get(7)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_stored_searched_and_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("memory.db");
        let mut m = Memory::open(&path).unwrap();
        let doc = m
            .add(
                &IndexDocumentParams {
                    title: "Why we pinned tonic".into(),
                    text: "protox compiles the proto files without protoc".into(),
                    tags: vec!["decision".into()],
                    project: Some("/w/agentd".into()),
                    ..Default::default()
                },
                1_000,
            )
            .unwrap();
        assert_eq!(doc.id, "doc_1");
        assert!(m.add(&IndexDocumentParams::default(), 0).is_err(), "empty");
        drop(m);
        let m = Memory::open(&path).unwrap();
        let q = |query: &str, project: Option<&str>| SearchQuery {
            query: query.into(),
            project: project.map(str::to_owned),
            ..SearchQuery::default()
        };
        let ranked = m.ranked(&q("protoc", None), 10).unwrap();
        assert_eq!(ranked.len(), 1);
        let hits = m.hits("protoc", &ranked).unwrap();
        assert_eq!(hits[0].kind, "document");
        assert_eq!(hits[0].title.as_deref(), Some("Why we pinned tonic"));
        assert!(hits[0].snippet.contains("«protoc»"), "{:?}", hits[0]);
        assert!(
            m.ranked(&q("protoc", Some("/other")), 10)
                .unwrap()
                .is_empty()
        );
        assert!(m.ranked(&q("tonic", Some("agentd")), 10).unwrap().len() == 1);
        assert_eq!(m.get("doc_1").unwrap().unwrap().tags, ["decision"]);
    }
}
