//! Opening files that untrusted input names.
//!
//! Hook payloads name paths (`cwd`, `transcript_path`, files in tool input),
//! and so do project files (`.agentd/hooks.toml`) and transcripts. Any of
//! them may be a FIFO (whose `open` blocks until a writer appears), a
//! device (`/dev/zero`, endless), a socket, or a regular file of gigabytes.
//! Everything agentd reads on behalf of such input goes through here:
//!
//! - files are opened with `O_NONBLOCK | O_NOCTTY | O_CLOEXEC`, so opening a
//!   FIFO or a terminal never waits, and are then checked with `fstat` on
//!   the open descriptor (no window between check and use): anything but a
//!   regular file is refused;
//! - reads are bounded: [`read`] refuses a file larger than its limit
//!   before reading a byte, and never reads more than the limit even if the
//!   file grows meanwhile.
//!
//! Time bounds are the caller's: these are blocking calls, made on blocking
//! threads (`tokio::task::spawn_blocking`) under a timeout, never on an async
//! worker.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Why a file was not read.
#[derive(Debug, thiserror::Error)]
pub enum FsError {
    /// `open` or `fstat` failed (missing, permission, ...).
    #[error("cannot open {path}: {source}")]
    Io {
        /// The path named.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The path is not a regular file.
    #[error("{path} is a {kind}, not a regular file")]
    NotRegular {
        /// The path named.
        path: PathBuf,
        /// `directory`, `FIFO`, `socket`, `character device`, ...
        kind: &'static str,
    },
    /// The file is larger than the caller's limit.
    #[error("{path} is {size} bytes; at most {max} are read")]
    TooLarge {
        /// The path named.
        path: PathBuf,
        /// Its size, bytes.
        size: u64,
        /// The limit, bytes.
        max: u64,
    },
}

impl FsError {
    /// Whether the file simply does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, FsError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
    }
}

/// What kind of file `t` is, in words.
pub fn kind_name(t: std::fs::FileType) -> &'static str {
    if t.is_dir() {
        "directory"
    } else if t.is_fifo() {
        "FIFO"
    } else if t.is_socket() {
        "socket"
    } else if t.is_char_device() {
        "character device"
    } else if t.is_block_device() {
        "block device"
    } else if t.is_symlink() {
        "symbolic link"
    } else if t.is_file() {
        "regular file"
    } else {
        "special file"
    }
}

/// Opens `path` (following symbolic links) for reading, without blocking,
/// and only if it is a regular file.
///
/// # Errors
/// [`FsError::Io`] when it cannot be opened, [`FsError::NotRegular`] for
/// anything but a regular file.
pub fn open(path: &Path) -> Result<File, FsError> {
    let io = |source| FsError::Io {
        path: path.to_path_buf(),
        source,
    };
    let flags = rustix::fs::OFlags::NONBLOCK | rustix::fs::OFlags::NOCTTY;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(flags.bits() as i32)
        .open(path)
        .map_err(io)?;
    let t = file.metadata().map_err(io)?.file_type();
    if !t.is_file() {
        return Err(FsError::NotRegular {
            path: path.to_path_buf(),
            kind: kind_name(t),
        });
    }
    Ok(file)
}

/// Reads the regular file `path` whole, if it holds at most `max` bytes.
///
/// # Errors
/// As [`open`], and [`FsError::TooLarge`] when the file is larger than `max`
/// (checked before reading, and again while reading, for a file that grows).
pub fn read(path: &Path, max: u64) -> Result<Vec<u8>, FsError> {
    let file = open(path)?;
    let io = |source| FsError::Io {
        path: path.to_path_buf(),
        source,
    };
    let size = file.metadata().map_err(io)?.len();
    let too_large = |size| FsError::TooLarge {
        path: path.to_path_buf(),
        size,
        max,
    };
    if size > max {
        return Err(too_large(size));
    }
    let mut buf = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    file.take(max.saturating_add(1))
        .read_to_end(&mut buf)
        .map_err(io)?;
    if buf.len() as u64 > max {
        return Err(too_large(buf.len() as u64));
    }
    Ok(buf)
}

/// [`read`] as UTF-8 text (invalid sequences replaced).
///
/// # Errors
/// As [`read`].
pub fn read_to_string(path: &Path, max: u64) -> Result<String, FsError> {
    read(path, max).map(|b| String::from_utf8_lossy(&b).into_owned())
}

/// Whether `path` is a directory (following symbolic links); `false` when
/// it is anything else or cannot be looked at. A `stat`, never an `open`.
pub fn is_dir(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_dir())
}

/// Whether `path` is a regular file (following symbolic links). A `stat`,
/// never an `open`.
pub fn is_file(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file())
}

/// Replaces `path` with `bytes`, readable and writable by the owner only
/// (mode 0600): written to a temporary file beside it, synced, then
/// renamed over it, so a reader sees the old file or the new one, never
/// half of one.
///
/// # Errors
/// The failing step's OS error; `path` is then unchanged.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let _ = std::fs::remove_file(&tmp);
    let written = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn mkfifo(path: &Path) {
        rustix::fs::mknodat(
            rustix::fs::CWD,
            path,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
    }

    #[test]
    fn private_files_are_0600_and_replaced_whole() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        write_private(&p, b"one").unwrap();
        write_private(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary left"
        );
    }

    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("p");
        mkfifo(&fifo);
        // Run where a hang would show as a failure, not a stuck suite.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(read(&fifo, 1024).map(|_| ()).map_err(|e| e.to_string()));
        });
        let got = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("reading a FIFO blocked");
        let err = got.unwrap_err();
        assert!(err.contains("is a FIFO"), "{err}");
    }

    #[test]
    fn devices_sockets_and_directories_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err = read(Path::new("/dev/zero"), 10).unwrap_err();
        assert!(
            matches!(
                err,
                FsError::NotRegular {
                    kind: "character device",
                    ..
                }
            ),
            "{err}"
        );
        let err = read(dir.path(), 10).unwrap_err();
        assert!(
            matches!(
                err,
                FsError::NotRegular {
                    kind: "directory",
                    ..
                }
            ),
            "{err}"
        );
        let sock = dir.path().join("s");
        let _l = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        // A socket cannot even be opened (ENXIO); either way, refused.
        assert!(read(&sock, 10).is_err());
        // Through a symbolic link, the target decides.
        let link = dir.path().join("l");
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
        assert!(matches!(read(&link, 10), Err(FsError::NotRegular { .. })));
    }

    #[test]
    fn reads_are_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f");
        std::fs::write(&f, vec![b'x'; 100]).unwrap();
        assert_eq!(read(&f, 100).unwrap().len(), 100);
        let err = read(&f, 99).unwrap_err();
        assert!(
            matches!(
                err,
                FsError::TooLarge {
                    size: 100,
                    max: 99,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("100 bytes; at most 99"));
        // A sparse 1 TiB file is refused before a byte is read.
        let big = dir.path().join("big");
        std::fs::File::create(&big)
            .unwrap()
            .set_len(1 << 40)
            .unwrap();
        assert!(matches!(read(&big, 1 << 20), Err(FsError::TooLarge { .. })));
        assert!(
            read(&dir.path().join("missing"), 1)
                .unwrap_err()
                .is_not_found()
        );
    }

    #[test]
    fn is_dir_and_is_file_never_open() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("p");
        mkfifo(&fifo);
        assert!(!is_dir(&fifo));
        assert!(!is_file(&fifo));
        assert!(is_dir(dir.path()));
    }
}
