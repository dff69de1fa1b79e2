//! The change cache, for hook runners outside agentd.
//!
//! agentd's own runner skips a hook whose `if_changed` files hash (BLAKE3,
//! [`crate::fingerprint`]) to what they hashed at its last pass in that
//! directory with that command. A runner elsewhere (a CI script, another
//! tool's hook) asks the same question with [`check`] and records its own
//! passes with [`record`], so both share one cache (`hooks.db`). The seed's
//! `CheckFileValidation` and `RecordFileValidation`.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::fingerprint;
use crate::store::Store;

/// What identifies a cached pass: the hook, the directory it ran in, the
/// command as keyed ([`crate::HookDef::cache_command`]) and the globs
/// that select its files.
#[derive(Debug, Clone)]
pub struct Key<'a> {
    /// Hook name.
    pub hook: &'a str,
    /// The directory (absolute).
    pub dir: &'a Path,
    /// The command, as the cache keys it.
    pub command: &'a str,
    /// The `if_changed` globs, relative to `dir`.
    pub globs: &'a [String],
}

/// What the cache says about a hook's files, now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validation {
    /// BLAKE3 (hex) over the selected files' paths and contents, now.
    pub files_hash: String,
    /// How many files the globs select.
    pub files: u64,
    /// Whether the last recorded pass was over exactly these files: a
    /// runner may skip the hook.
    pub unchanged: bool,
    /// When that pass was recorded, ms since the Unix epoch.
    pub passed_ms: Option<i64>,
    /// The verdict in words.
    pub why: String,
}

/// Hashes `key`'s files and compares with the last recorded pass.
/// Blocking: reads every selected file.
///
/// # Errors
/// No globs, a bad glob, or files that cannot all be hashed (unreadable,
/// too many, too deep): the caller must run the hook.
pub fn check(store: &Store, key: &Key<'_>) -> Result<Validation, String> {
    let (files_hash, files) = hash(key)?;
    let dir = key.dir.display().to_string();
    let last = store
        .last_success(key.hook, &dir, key.command)
        .map_err(|e| format!("the cache cannot be read ({e}): run the hook"))?;
    let (unchanged, passed_ms, why) = match last {
        Some((h, ts)) if h == files_hash => (
            true,
            Some(ts),
            format!("files unchanged since the pass at {ts} ms"),
        ),
        Some((_, ts)) => (
            false,
            Some(ts),
            "files changed since the last pass".to_owned(),
        ),
        None => (
            false,
            None,
            "no pass recorded for this hook here".to_owned(),
        ),
    };
    Ok(Validation {
        files_hash,
        files,
        unchanged,
        passed_ms,
        why,
    })
}

/// Records a pass of `key` over `files_hash` — the hash a [`check`] gave
/// before the hook ran, so edits made meanwhile are not taken as checked —
/// or, without one, over the files as they are now. Returns the files'
/// state after recording. Blocking.
///
/// # Errors
/// As [`check`]; a `files_hash` that is not 64 hex digits; a cache that
/// cannot be written.
pub fn record(
    store: &Store,
    key: &Key<'_>,
    files_hash: Option<&str>,
    run_id: &str,
    now_ms: i64,
) -> Result<Validation, String> {
    if let Some(h) = files_hash
        && (h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return Err(format!(
            "files_hash {h:?} is not a BLAKE3 hex digest (64 hex digits); pass the one a check returned, or none"
        ));
    }
    let recorded = match files_hash {
        Some(h) => h.to_ascii_lowercase(),
        None => hash(key)?.0,
    };
    let dir = key.dir.display().to_string();
    store
        .save_success(key.hook, &dir, key.command, &recorded, run_id, now_ms)
        .map_err(|e| format!("the cache cannot be written: {e}"))?;
    check(store, key)
}

fn hash(key: &Key<'_>) -> Result<(String, u64), String> {
    if key.globs.is_empty() {
        return Err(
            "no globs: name the files the hook checks (e.g. [\"**/*.rs\"]), or a hook whose definition has if_changed"
                .to_owned(),
        );
    }
    let (h, n) = fingerprint::hash(key.dir, key.globs)?;
    Ok((h, n as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, Store) {
        let t = tempfile::tempdir().unwrap();
        let s = Store::open(&t.path().join("hooks.db")).unwrap();
        (t, s)
    }

    #[test]
    fn a_recorded_pass_holds_until_a_selected_file_changes() {
        let (_t, store) = store();
        let p = tempfile::tempdir().unwrap();
        std::fs::write(p.path().join("a.rs"), "fn a() {}").unwrap();
        std::fs::write(p.path().join("notes.md"), "x").unwrap();
        let globs = vec!["**/*.rs".to_owned()];
        let key = Key {
            hook: "clippy",
            dir: p.path(),
            command: "cargo clippy",
            globs: &globs,
        };
        let first = check(&store, &key).unwrap();
        assert!(!first.unchanged);
        assert_eq!(first.files, 1);
        assert_eq!(first.passed_ms, None);

        let after = record(&store, &key, Some(&first.files_hash), "ext-1", 1000).unwrap();
        assert!(after.unchanged, "{after:?}");
        assert_eq!(after.passed_ms, Some(1000));

        // A file the globs do not select changes: still valid.
        std::fs::write(p.path().join("notes.md"), "y").unwrap();
        assert!(check(&store, &key).unwrap().unchanged);
        // One they select: not any more.
        std::fs::write(p.path().join("a.rs"), "fn a() { 1; }").unwrap();
        let changed = check(&store, &key).unwrap();
        assert!(!changed.unchanged);
        assert_eq!(changed.why, "files changed since the last pass");

        // Another command is another cache entry.
        let other = Key {
            command: "cargo clippy -- -D warnings",
            ..key.clone()
        };
        assert!(!check(&store, &other).unwrap().unchanged);
    }

    #[test]
    fn a_pass_recorded_on_an_old_hash_does_not_cover_edits_made_meanwhile() {
        let (_t, store) = store();
        let p = tempfile::tempdir().unwrap();
        std::fs::write(p.path().join("a.py"), "1").unwrap();
        let globs = vec!["*.py".to_owned()];
        let key = Key {
            hook: "ruff",
            dir: p.path(),
            command: "ruff check",
            globs: &globs,
        };
        let before = check(&store, &key).unwrap();
        std::fs::write(p.path().join("a.py"), "2").unwrap();
        let after = record(&store, &key, Some(&before.files_hash), "ext", 5).unwrap();
        assert!(!after.unchanged);
        // Without a hash, the files as they are now.
        assert!(record(&store, &key, None, "ext", 6).unwrap().unchanged);
    }

    #[test]
    fn bad_requests_say_what_to_do() {
        let (_t, store) = store();
        let p = tempfile::tempdir().unwrap();
        let none: Vec<String> = Vec::new();
        let key = Key {
            hook: "h",
            dir: p.path(),
            command: "",
            globs: &none,
        };
        assert!(check(&store, &key).unwrap_err().contains("no globs"));
        let globs = vec!["[".to_owned()];
        let bad = Key {
            globs: &globs,
            ..key.clone()
        };
        assert!(
            check(&store, &bad)
                .unwrap_err()
                .contains("bad if_changed glob")
        );
        let ok = vec!["*".to_owned()];
        let key = Key { globs: &ok, ..key };
        let e = record(&store, &key, Some("xyz"), "r", 1).unwrap_err();
        assert!(e.contains("64 hex digits"), "{e}");
    }
}
