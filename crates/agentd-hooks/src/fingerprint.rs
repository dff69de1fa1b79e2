//! Content hashes of the files a hook's `if_changed` globs select.

use std::path::Path;

use globset::{Glob, GlobSetBuilder};

/// Folders never hashed (dependencies and build output).
pub const SKIP_DIRS: &[&str] = &[
    ".git",
    "node_modules",
    "target",
    ".venv",
    "__pycache__",
    ".agentd",
];

/// Most files hashed for one hook and directory; more is an error (the hook
/// then runs: a cache never skips what it cannot prove unchanged).
pub const MAX_FILES: usize = 200_000;

/// Deepest folder level hashed; a deeper tree cannot be proven unchanged,
/// so hashing it is an error (and the hook runs).
pub const MAX_DEPTH: usize = 32;

/// What a matched path holds, as hashed.
enum Entry {
    /// A regular file (a symbolic link to one included): its content.
    File(std::path::PathBuf),
    /// A symbolic link whose target does not exist: the target it names.
    Dangling(std::path::PathBuf),
    /// A FIFO, socket or device: never opened, only its kind.
    Special(&'static str),
}

/// BLAKE3 over the sorted (relative path, content hash) pairs of the files
/// under `dir` matching `globs`. Symbolic links are followed — a change in
/// what a link points to counts — with each folder entered once (no
/// cycles). Returns the hex digest and the file count.
///
/// # Errors
/// A bad glob, an unreadable file or folder, a tree deeper than
/// [`MAX_DEPTH`], or more than [`MAX_FILES`] files: whatever cannot be
/// fully hashed is an error, so the hook runs.
pub fn hash(dir: &Path, globs: &[String]) -> Result<(String, usize), String> {
    let mut b = GlobSetBuilder::new();
    for g in globs {
        b.add(Glob::new(g).map_err(|e| format!("bad if_changed glob {g:?}: {e}"))?);
    }
    let set = b.build().map_err(|e| e.to_string())?;
    let mut files = Vec::new();
    let mut seen = std::collections::HashSet::new();
    if let Ok(m) = std::fs::metadata(dir) {
        use std::os::unix::fs::MetadataExt;
        seen.insert((m.dev(), m.ino()));
    }
    walk(dir, dir, &set, &mut files, &mut seen, 0)?;
    files.sort_by(|a, b| a.0.cmp(&b.0));
    let mut all = blake3::Hasher::new();
    for (rel, entry) in &files {
        all.update(rel.as_bytes());
        all.update(&[0]);
        match entry {
            Entry::File(path) => {
                let mut f = agentd_fs::open(path).map_err(|e| format!("cannot read {rel}: {e}"))?;
                let mut h = blake3::Hasher::new();
                std::io::copy(&mut f, &mut h).map_err(|e| format!("cannot read {rel}: {e}"))?;
                all.update(h.finalize().as_bytes());
            }
            Entry::Dangling(target) => {
                all.update(b"link\0");
                all.update(target.as_os_str().as_encoded_bytes());
            }
            Entry::Special(kind) => {
                all.update(b"special\0");
                all.update(kind.as_bytes());
            }
        }
    }
    Ok((all.finalize().to_hex().to_string(), files.len()))
}

fn walk(
    root: &Path,
    dir: &Path,
    set: &globset::GlobSet,
    out: &mut Vec<(String, Entry)>,
    seen: &mut std::collections::HashSet<(u64, u64)>,
    depth: usize,
) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    if depth > MAX_DEPTH {
        return Err(format!(
            "{} is deeper than {MAX_DEPTH} folders; cannot prove it unchanged",
            dir.display()
        ));
    }
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    for e in entries {
        let e = e.map_err(|e| e.to_string())?;
        let path = e.path();
        let name = e.file_name();
        let Ok(rel) = path.strip_prefix(root) else {
            continue;
        };
        let rel_s = rel.to_string_lossy().into_owned();
        // Following links: what a link points to is what the hook reads.
        let meta = match std::fs::metadata(&path) {
            Ok(m) => m,
            Err(_) => {
                // A dangling link: its target is all there is to compare.
                if set.is_match(rel) {
                    let target = std::fs::read_link(&path)
                        .map_err(|e| format!("cannot read {rel_s}: {e}"))?;
                    out.push((rel_s, Entry::Dangling(target)));
                }
                continue;
            }
        };
        if meta.is_dir() {
            if SKIP_DIRS.iter().any(|s| name == *s) {
                continue;
            }
            // Each folder once, however many links lead to it (no cycles).
            if seen.insert((meta.dev(), meta.ino())) {
                walk(root, &path, set, out, seen, depth + 1)?;
            }
            continue;
        }
        if !set.is_match(rel) {
            continue;
        }
        let entry = if meta.is_file() {
            Entry::File(path.clone())
        } else {
            Entry::Special(agentd_fs::kind_name(meta.file_type()))
        };
        out.push((rel_s, entry));
        if out.len() > MAX_FILES {
            return Err(format!("more than {MAX_FILES} files match"));
        }
    }
    Ok(())
}

/// Directories under `project` (itself included) holding one of `markers`,
/// sorted; skips [`SKIP_DIRS`].
pub fn marker_dirs(project: &Path, markers: &[String]) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    find_markers(project, markers, &mut out, 0);
    out.sort();
    out
}

fn find_markers(dir: &Path, markers: &[String], out: &mut Vec<std::path::PathBuf>, depth: usize) {
    if depth > 8 {
        return;
    }
    if markers.iter().any(|m| dir.join(m).is_file()) {
        out.push(dir.to_path_buf());
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        if e.file_type().is_ok_and(|t| t.is_dir()) && !SKIP_DIRS.iter().any(|s| e.file_name() == *s)
        {
            find_markers(&e.path(), markers, out, depth + 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_follows_content_and_names_and_ignores_others() {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(t.path().join("src")).unwrap();
        std::fs::create_dir_all(t.path().join("target")).unwrap();
        std::fs::write(t.path().join("src/a.rs"), "fn a() {}").unwrap();
        std::fs::write(t.path().join("README.md"), "x").unwrap();
        std::fs::write(t.path().join("target/b.rs"), "junk").unwrap();
        let g = vec!["**/*.rs".to_owned()];
        let (h1, n) = hash(t.path(), &g).unwrap();
        assert_eq!(n, 1);
        std::fs::write(t.path().join("README.md"), "y").unwrap();
        std::fs::write(t.path().join("target/b.rs"), "more junk").unwrap();
        assert_eq!(
            hash(t.path(), &g).unwrap().0,
            h1,
            "unmatched and skipped files do not count"
        );
        std::fs::write(t.path().join("src/a.rs"), "fn a() { }").unwrap();
        assert_ne!(hash(t.path(), &g).unwrap().0, h1);
        assert!(hash(t.path(), &["[".to_owned()]).is_err());
    }

    #[test]
    fn links_are_followed_cycles_are_not_and_a_tree_too_deep_runs() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("p");
        let elsewhere = t.path().join("elsewhere");
        std::fs::create_dir_all(p.join("src")).unwrap();
        std::fs::create_dir_all(&elsewhere).unwrap();
        std::fs::write(elsewhere.join("lib.rs"), "v1").unwrap();
        std::fs::write(elsewhere.join("shared.rs"), "s1").unwrap();
        // A linked file and a linked folder, and a loop.
        std::os::unix::fs::symlink(elsewhere.join("shared.rs"), p.join("src/shared.rs")).unwrap();
        std::os::unix::fs::symlink(&elsewhere, p.join("vendor")).unwrap();
        std::os::unix::fs::symlink(&p, p.join("src/loop")).unwrap();
        let g = vec!["**/*.rs".to_owned()];
        let (h1, n) = hash(&p, &g).unwrap();
        assert_eq!(n, 3, "src/shared.rs, vendor/lib.rs, vendor/shared.rs");
        std::fs::write(elsewhere.join("lib.rs"), "v2").unwrap();
        let (h2, _) = hash(&p, &g).unwrap();
        assert_ne!(h1, h2, "a change behind a linked folder counts");
        std::fs::write(elsewhere.join("shared.rs"), "s2").unwrap();
        assert_ne!(
            hash(&p, &g).unwrap().0,
            h2,
            "a change behind a linked file counts"
        );
        // A dangling link: its target counts.
        std::os::unix::fs::symlink("/nonexistent/a.rs", p.join("src/gone.rs")).unwrap();
        let (h3, _) = hash(&p, &g).unwrap();
        std::fs::remove_file(p.join("src/gone.rs")).unwrap();
        std::os::unix::fs::symlink("/nonexistent/b.rs", p.join("src/gone.rs")).unwrap();
        assert_ne!(hash(&p, &g).unwrap().0, h3);
        // A FIFO that matches is never opened.
        rustix::fs::mknodat(
            rustix::fs::CWD,
            p.join("src/pipe.rs"),
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        assert!(hash(&p, &g).is_ok());
        // Deeper than the limit: cannot be proven unchanged.
        let mut deep = p.join("deep");
        for i in 0..=MAX_DEPTH {
            deep = deep.join(format!("{i}"));
        }
        std::fs::create_dir_all(&deep).unwrap();
        std::fs::write(deep.join("x.rs"), "x").unwrap();
        let err = hash(&p, &g).unwrap_err();
        assert!(err.contains("deeper than"), "{err}");
    }

    #[test]
    fn markers() {
        let t = tempfile::tempdir().unwrap();
        for d in ["a", "b/c", "node_modules/x"] {
            std::fs::create_dir_all(t.path().join(d)).unwrap();
            std::fs::write(t.path().join(d).join("package.json"), "{}").unwrap();
        }
        let found = marker_dirs(t.path(), &["package.json".to_owned()]);
        assert_eq!(found, vec![t.path().join("a"), t.path().join("b/c")]);
    }
}
