//! Whether a file or folder in agentd's root can be trusted: owned by the
//! user agentd runs as, and writable by nobody else.
//!
//! agentd runs hooks named in `agentd.toml`, accepts HTTP requests bearing
//! the `token`, and ingests spool records as if Claude Code sent them. A
//! file another user could have planted or changed would let them do the
//! same. So, as OpenSSH does with `~/.ssh` and gpg with its home, agentd
//! refuses such files with a message naming the path and the fix, and never
//! changes the mode of a folder it did not create.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Why a path is not trusted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrustError {
    /// Owned by another user.
    #[error(
        "{path} belongs to uid {owner}, not to you (uid {me}); another user could have planted it. Remove it, or `chown {me} {path}` if it is yours"
    )]
    NotOwned {
        /// The path.
        path: PathBuf,
        /// Its owner's uid.
        owner: u32,
        /// Our effective uid.
        me: u32,
    },
    /// Group- or world-writable.
    #[error(
        "{path} is writable by other users (mode {mode:04o}); they could plant or change what agentd trusts. Fix: `chmod go-w {path}`"
    )]
    Writable {
        /// The path.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// Not a folder where one is expected (or the other way round).
    #[error("{path} is a {found}, not a {expected}")]
    WrongType {
        /// The path.
        path: PathBuf,
        /// What it is.
        found: &'static str,
        /// What it should be.
        expected: &'static str,
    },
    /// Cannot be looked at.
    #[error("cannot check {path}: {why}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The OS error.
        why: String,
    },
}

/// The effective uid of this process.
pub fn my_uid() -> u32 {
    rustix::process::geteuid().as_raw()
}

fn check(path: &Path, dir: bool) -> Result<(), TrustError> {
    // Following links: what counts is what is read (a root that is a link
    // to a shared folder is judged by that folder).
    let meta = std::fs::metadata(path).map_err(|e| TrustError::Io {
        path: path.to_path_buf(),
        why: e.to_string(),
    })?;
    let t = meta.file_type();
    if dir != t.is_dir() || (!dir && !t.is_file()) {
        return Err(TrustError::WrongType {
            path: path.to_path_buf(),
            found: agentd_fs::kind_name(t),
            expected: if dir { "directory" } else { "regular file" },
        });
    }
    let me = my_uid();
    if meta.uid() != me {
        return Err(TrustError::NotOwned {
            path: path.to_path_buf(),
            owner: meta.uid(),
            me,
        });
    }
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(TrustError::Writable {
            path: path.to_path_buf(),
            mode,
        });
    }
    Ok(())
}

/// Checks a folder agentd keeps its state in: ours and writable by nobody
/// else.
///
/// # Errors
/// [`TrustError`] naming the path and the fix.
pub fn check_dir(path: &Path) -> Result<(), TrustError> {
    check(path, true)
}

/// Checks a file agentd reads and acts on, if it exists: a regular file,
/// ours, writable by nobody else. A missing file is fine.
///
/// # Errors
/// [`TrustError`] naming the path and the fix.
pub fn check_file(path: &Path) -> Result<(), TrustError> {
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        _ => check(path, false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writable_by_others_or_not_a_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("d");
        std::fs::create_dir(&d).unwrap();
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o700)).unwrap();
        assert_eq!(check_dir(&d), Ok(()));
        for mode in [0o777, 0o1777, 0o770, 0o702] {
            std::fs::set_permissions(&d, std::fs::Permissions::from_mode(mode)).unwrap();
            let err = check_dir(&d).unwrap_err();
            assert!(matches!(err, TrustError::Writable { .. }), "{mode:o}");
            assert!(err.to_string().contains("chmod go-w"), "{err}");
        }
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(check_dir(&d), Ok(()));
        let f = d.join("f");
        assert_eq!(check_file(&f), Ok(()), "missing is fine");
        std::fs::write(&f, "x").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o666)).unwrap();
        assert!(matches!(check_file(&f), Err(TrustError::Writable { .. })));
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(check_file(&f), Ok(()));
        assert!(matches!(check_file(&d), Err(TrustError::WrongType { .. })));
        // A link is judged by its target.
        let shared = dir.path().join("shared");
        std::fs::create_dir(&shared).unwrap();
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o777)).unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&shared, &link).unwrap();
        assert!(matches!(check_dir(&link), Err(TrustError::Writable { .. })));
    }

    #[test]
    fn another_users_file_is_refused() {
        if my_uid() != 0 {
            eprintln!("needs root to chown; the Writable cases cover the rest");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f");
        std::fs::write(&f, "x").unwrap();
        std::os::unix::fs::chown(&f, Some(65534), None).unwrap();
        let err = check_file(&f).unwrap_err();
        assert!(
            matches!(err, TrustError::NotOwned { owner: 65534, .. }),
            "{err}"
        );
    }
}
