//! The spool: hook events that arrived while no daemon was running.
//!
//! `agentd hook` fails open, but it does not forget: when nothing listens on
//! the socket it appends the event, with its receive time, as one line of
//! `spool.ndjson` in the root, and the daemon ingests the spool in order when
//! it starts. One `write(2)` per line on an `O_APPEND` file keeps concurrent
//! hooks from interleaving. The spool stops growing at [`MAX_SPOOL_BYTES`].

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Largest spool file; events beyond it are dropped (and the hook says so on
/// stderr, which Claude Code keeps in its debug log).
pub const MAX_SPOOL_BYTES: u64 = 16 << 20;

/// One spooled event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Spooled {
    /// When the hook received it, ms since the Unix epoch.
    pub ts_ms: i64,
    /// The hook payload as Claude Code sent it.
    pub payload: Value,
    /// The hook's environment (`HookEnv`).
    #[serde(default)]
    pub env: Value,
}

/// Why an event could not be spooled.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    /// The spool is full.
    #[error("spool {0} is full ({MAX_SPOOL_BYTES} bytes); start the daemon to drain it")]
    Full(String),
    /// The root does not exist (agentd was never started) or the write failed.
    #[error("cannot spool to {path}: {source}")]
    Io {
        /// The spool file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// Appends `event` to the spool at `path`. The root directory must exist:
/// a user who never ran agentd gets no files created behind their back.
///
/// # Errors
/// [`SpoolError`] when full or unwritable.
pub fn append(path: &Path, event: &Spooled) -> Result<(), SpoolError> {
    let io = |source| SpoolError::Io {
        path: path.display().to_string(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(path)
        .map_err(io)?;
    if file.metadata().map_err(io)?.len() >= MAX_SPOOL_BYTES {
        return Err(SpoolError::Full(path.display().to_string()));
    }
    let mut line = serde_json::to_vec(event).map_err(|e| io(e.into()))?;
    line.push(b'\n');
    file.write_all(&line).map_err(io)
}

/// Parses one spool line; `None` for a torn or foreign line.
pub fn parse_line(line: &[u8]) -> Option<Spooled> {
    serde_json::from_slice(line).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn append_and_parse() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("spool.ndjson");
        let e = Spooled {
            ts_ms: 5,
            payload: serde_json::json!({"session_id": "s", "text": "a\nb"}),
            env: Value::Null,
        };
        append(&path, &e).unwrap();
        append(&path, &e).unwrap();
        let text = std::fs::read(&path).unwrap();
        let lines: Vec<_> = text
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(parse_line(lines[0]), Some(e));
        assert_eq!(parse_line(b"{torn"), None);
        assert!(
            append(
                &dir.path().join("missing/spool.ndjson"),
                &Spooled {
                    ts_ms: 0,
                    payload: Value::Null,
                    env: Value::Null
                }
            )
            .is_err()
        );
    }
}
