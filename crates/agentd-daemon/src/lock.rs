//! One daemon per root: an exclusive `flock` on the pid file.
//!
//! The lock, not the file's existence, says whether a daemon runs: the OS
//! releases it when the process dies however it dies, so there is no stale
//! state to clean up and no check-then-write race.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Held for the daemon's lifetime; dropping it removes the pid file (so no
/// stale pid is left behind) and releases the lock.
#[derive(Debug)]
pub struct PidLock {
    file: Option<File>,
    path: std::path::PathBuf,
}

impl Drop for PidLock {
    fn drop(&mut self) {
        // Unlinked while still locked: a daemon starting now either opened
        // the old file (and finds it locked, for this last moment) or
        // creates a new one.
        let _ = std::fs::remove_file(&self.path);
        drop(self.file.take());
    }
}

/// Why the lock was not taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another daemon holds it.
    #[error("agentd is already running (pid {pid}) for {root}; stop it with `agentd stop`")]
    Held {
        /// The running daemon's pid (0 when unreadable).
        pid: u32,
        /// The root it serves.
        root: String,
    },
    /// The file could not be opened or written.
    #[error("cannot lock {path}: {source}")]
    Io {
        /// The pid file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// Takes the lock on `path` and writes our pid into it.
///
/// # Errors
/// [`LockError::Held`] naming the running daemon's pid.
pub fn acquire(path: &Path, root: &Path) -> Result<PidLock, LockError> {
    let io = |source| LockError::Io {
        path: path.display().to_string(),
        source,
    };
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
        .map_err(io)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            return Err(LockError::Held {
                pid: read_pid(path).unwrap_or(0),
                root: root.display().to_string(),
            });
        }
        Err(TryLockError::Error(e)) => return Err(io(e)),
    }
    file.set_len(0).map_err(io)?;
    file.seek(SeekFrom::Start(0)).map_err(io)?;
    writeln!(file, "{}", std::process::id()).map_err(io)?;
    file.flush().map_err(io)?;
    Ok(PidLock {
        file: Some(file),
        path: path.to_path_buf(),
    })
}

/// The pid written in the pid file, if any.
pub fn read_pid(path: &Path) -> Option<u32> {
    let mut s = String::new();
    File::open(path).ok()?.read_to_string(&mut s).ok()?;
    s.trim().parse().ok()
}

/// The pid of the daemon holding the lock on `path`, or `None` when no
/// daemon holds it.
pub fn running_pid(path: &Path) -> Option<u32> {
    let file = File::open(path).ok()?;
    match file.try_lock_shared() {
        Ok(()) => None,
        Err(TryLockError::WouldBlock) => Some(read_pid(path).unwrap_or(0)),
        Err(TryLockError::Error(_)) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_names_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("agentd.pid");
        let held = acquire(&path, dir.path()).unwrap();
        assert_eq!(running_pid(&path), Some(std::process::id()));
        let err = acquire(&path, dir.path()).unwrap_err();
        assert!(
            err.to_string()
                .contains(&format!("pid {}", std::process::id())),
            "{err}"
        );
        drop(held);
        assert_eq!(running_pid(&path), None);
        acquire(&path, dir.path()).unwrap();
    }
}
