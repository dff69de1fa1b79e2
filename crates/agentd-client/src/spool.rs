//! The spool: hook events the daemon did not acknowledge.
//!
//! `agentd hook` fails open, but it does not forget: when the daemon is not
//! running, refuses the connection, is at its connection cap, or does not
//! answer in time (stopped, overloaded), the event is written to the spool,
//! and the daemon ingests the spool at start and whenever it finds new
//! files in it while running.
//!
//! One file per event, `spool/<ts_ms>-<id>.json` in the root, written under
//! a temporary name and renamed into place: a hook killed mid-write leaves
//! only a temporary file, never a torn record glued to the next one. Each
//! event carries the id the hook also sent on the socket; the daemon
//! records ids with the events it stores, in the same transaction, so an
//! event that was both delivered and spooled (its reply lost), or a drain
//! cut short by a crash, is stored exactly once. The spool stops growing at
//! [`MAX_SPOOL_FILES`].
//!
//! `spool.ndjson` (one JSON line per event) is the format of agentd before
//! 0.2; the daemon still drains such a file ([`parse_line`]).

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Most events the spool holds; beyond it new events are dropped (and the
/// hook says so on stderr, which Claude Code keeps in its debug log).
pub const MAX_SPOOL_FILES: usize = 20_000;

/// Largest spool file read, bytes: a payload cut to
/// [`agentd_proto::MAX_PAYLOAD_BYTES`] plus its envelope.
pub const MAX_RECORD_BYTES: u64 = agentd_proto::MAX_FRAME_BYTES as u64;

/// One spooled event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Spooled {
    /// The event's delivery id (the same one sent on the socket), if it
    /// has one (records of agentd before 0.2 do not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// When the hook received it, ms since the Unix epoch.
    pub ts_ms: i64,
    /// The hook payload as Claude Code sent it (cut to
    /// [`agentd_proto::MAX_PAYLOAD_BYTES`] with a marker when larger).
    pub payload: Value,
    /// The hook's environment (`HookEnv`).
    #[serde(default)]
    pub env: Value,
}

/// Why an event could not be spooled.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    /// The spool is full.
    #[error("spool {0} is full ({MAX_SPOOL_FILES} events); start the daemon to drain it")]
    Full(String),
    /// The root does not exist (agentd was never started) or the write failed.
    #[error("cannot spool to {path}: {source}")]
    Io {
        /// The spool folder or file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// A fresh delivery id: 16 random bytes, hex.
pub fn new_id() -> String {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        // No randomness: time and pid are unique enough per host.
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        return format!("{t:032x}{:08x}", std::process::id());
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes `event` into the spool folder `dir` as one file. The root (the
/// folder holding `dir`) must exist: a user who never ran agentd gets no
/// files created behind their back. Returns the file written.
///
/// # Errors
/// [`SpoolError`] when full or unwritable.
pub fn write(dir: &Path, event: &Spooled) -> Result<PathBuf, SpoolError> {
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |source| SpoolError::Io { path, source }
    };
    if !dir.is_dir() {
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(dir)
            .or_else(|e| {
                if e.kind() == std::io::ErrorKind::AlreadyExists {
                    Ok(())
                } else {
                    Err(e)
                }
            })
            .map_err(io(dir))?;
    }
    // Counting is O(files): only when the folder's own size says it may
    // be near the cap (every entry takes ≥ 20 bytes of it on ext4, xfs,
    // btrfs and tmpfs, so below 256 KiB there are fewer than ~13 000).
    let dir_bytes = std::fs::metadata(dir).map_err(io(dir))?.len();
    if dir_bytes >= 256 << 10 && std::fs::read_dir(dir).map_err(io(dir))?.count() >= MAX_SPOOL_FILES
    {
        return Err(SpoolError::Full(dir.display().to_string()));
    }
    let id = event.id.clone().unwrap_or_else(new_id);
    let tmp = dir.join(format!(".tmp-{id}"));
    let dst = dir.join(format!("{:013}-{id}.json", event.ts_ms.max(0)));
    let bytes = serde_json::to_vec(event).map_err(|e| io(dir)(e.into()))?;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(io(&tmp))?;
    if let Err(e) = f.write_all(&bytes) {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(&tmp)(e));
    }
    drop(f);
    std::fs::rename(&tmp, &dst).map_err(io(&dst))?;
    Ok(dst)
}

/// The spooled events in `dir`, oldest first (by receive time, then id).
/// Temporary files of hooks killed mid-write are left out.
pub fn list(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.path())
        .filter(|p| {
            p.extension().is_some_and(|x| x == "json")
                && !p
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with('.'))
        })
        .collect();
    files.sort();
    files
}

/// Temporary files older than `age` (left by hooks killed mid-write), to
/// remove.
pub fn stale_temporaries(dir: &Path, age: std::time::Duration) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.starts_with(".tmp-"))
        })
        .filter(|e| {
            e.metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|d| d > age)
        })
        .map(|e| e.path())
        .collect()
}

/// Reads one spool file.
///
/// # Errors
/// Why it cannot be used (another user's or writable by others,
/// unreadable, too large, not a spool record).
pub fn read(path: &Path) -> Result<Spooled, String> {
    // A record another user could have planted is not a hook event.
    crate::trust::check_file(path).map_err(|e| e.to_string())?;
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if bytes.len() as u64 > MAX_RECORD_BYTES {
        return Err(format!(
            "{} is {} bytes; a spool record is at most {MAX_RECORD_BYTES}",
            path.display(),
            bytes.len()
        ));
    }
    serde_json::from_slice(&bytes).map_err(|e| format!("not a spool record: {e}"))
}

/// Parses one line of a `spool.ndjson` of agentd before 0.2; `None` for a
/// torn or foreign line.
pub fn parse_line(line: &[u8]) -> Option<Spooled> {
    serde_json::from_slice(line).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(ts_ms: i64) -> Spooled {
        Spooled {
            id: Some(new_id()),
            ts_ms,
            payload: serde_json::json!({"session_id": "s", "text": "a\nb"}),
            env: Value::Null,
        }
    }

    #[test]
    fn write_list_and_read_in_order() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("spool");
        let (a, b) = (event(5), event(40));
        write(&dir, &b).unwrap();
        write(&dir, &a).unwrap();
        // A hook killed mid-write leaves a temporary file: never listed,
        // never glued to another record.
        std::fs::write(dir.join(".tmp-dead"), b"{\"ts_ms\":1,\"pay").unwrap();
        let files = list(&dir);
        assert_eq!(files.len(), 2);
        assert_eq!(read(&files[0]).unwrap(), a);
        assert_eq!(read(&files[1]).unwrap(), b);
        assert!(stale_temporaries(&dir, std::time::Duration::from_secs(3600)).is_empty());
        assert_eq!(
            stale_temporaries(&dir, std::time::Duration::ZERO),
            vec![dir.join(".tmp-dead")]
        );
        // No root, no spool.
        assert!(write(&root.path().join("missing/spool"), &event(1)).is_err());
        assert_eq!(parse_line(b"{torn"), None);
        assert_ne!(new_id(), new_id());
    }

    #[test]
    fn a_full_spool_says_so() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("spool");
        std::fs::create_dir(&dir).unwrap();
        for i in 0..MAX_SPOOL_FILES {
            std::fs::File::create(dir.join(format!("{i:013}-{i:032x}.json"))).unwrap();
        }
        let err = write(&dir, &event(1)).unwrap_err();
        assert!(matches!(err, SpoolError::Full(_)), "{err}");
        assert!(err.to_string().contains("start the daemon"), "{err}");
    }
}
