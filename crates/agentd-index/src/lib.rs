//! agentd's transcript index.
//!
//! Every Claude Code transcript under the configured roots (default
//! `$CLAUDE_CONFIG_DIR/projects`, else `~/.claude/projects`) is read once,
//! incrementally, into `index.db` beside the event log:
//!
//! * [`layout`]: which files, and what their paths say (session, subagent).
//! * [`indexer`]: one file from its byte-offset cursor; only complete lines;
//!   truncation and rewrites detected (inode, size, head and tail hashes);
//!   rows keyed by `uuid` (or file and offset), so re-reading never
//!   duplicates; cursor and rows commit together.
//! * [`worker`]: the background thread — initial scan with progress,
//!   file-system notifications (debounced), a periodic reconcile scan.
//! * [`query`]: full-text search (FTS5, BM25, snippets cut from the
//!   transcript itself), transcripts, sessions, status.
//! * [`usage`]: token and cost reports by day, month, session, project,
//!   model, in any time zone.
//!
//! Messages are stored as pointers (file, offset, length) into the JSONL,
//! never as copies; the FTS table is contentless.

#![warn(missing_docs)]

pub mod indexer;
pub mod layout;
pub mod memory;
pub mod query;
pub mod schema;
pub mod usage;
pub mod worker;

pub use indexer::Indexer;
pub use query::Reader;
pub use worker::{IndexHandle, Progress, index_roots};

/// An index failure.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// SQLite failed (I/O error, disk full, corrupt file).
    #[error("index database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A transcript could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The index was written by a newer agentd.
    #[error(
        "index schema version {found} is newer than this agentd understands ({known}); upgrade agentd or delete index.db (it is rebuilt from the transcripts)"
    )]
    TooNew {
        /// Version in the file.
        found: i64,
        /// Newest version this build knows.
        known: i64,
    },
    /// A request was malformed (bad time zone, bad grouping).
    #[error("{0}")]
    Invalid(String),
}

impl From<agentd_store::StoreError> for IndexError {
    fn from(e: agentd_store::StoreError) -> IndexError {
        match e {
            agentd_store::StoreError::Sqlite(e) => IndexError::Sqlite(e),
            agentd_store::StoreError::TooNew { found, known } => {
                IndexError::TooNew { found, known }
            }
            e @ agentd_store::StoreError::Corrupt { .. } => IndexError::Invalid(e.to_string()),
        }
    }
}

impl IndexError {
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> IndexError {
        IndexError::Io {
            path: path.display().to_string(),
            source,
        }
    }
}
