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

/// BLAKE3 over the sorted (relative path, content hash) pairs of the files
/// under `dir` matching `globs`. Returns the hex digest and the file count.
///
/// # Errors
/// A bad glob, an unreadable file or folder, or more than [`MAX_FILES`].
pub fn hash(dir: &Path, globs: &[String]) -> Result<(String, usize), String> {
    let mut b = GlobSetBuilder::new();
    for g in globs {
        b.add(Glob::new(g).map_err(|e| format!("bad if_changed glob {g:?}: {e}"))?);
    }
    let set = b.build().map_err(|e| e.to_string())?;
    let mut files = Vec::new();
    walk(dir, dir, &set, &mut files, 0)?;
    files.sort();
    let mut all = blake3::Hasher::new();
    for rel in &files {
        let bytes = std::fs::read(dir.join(rel)).map_err(|e| format!("cannot read {rel}: {e}"))?;
        all.update(rel.as_bytes());
        all.update(&[0]);
        all.update(blake3::hash(&bytes).as_bytes());
    }
    Ok((all.finalize().to_hex().to_string(), files.len()))
}

fn walk(
    root: &Path,
    dir: &Path,
    set: &globset::GlobSet,
    out: &mut Vec<String>,
    depth: usize,
) -> Result<(), String> {
    if depth > 32 {
        return Ok(());
    }
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    for e in entries {
        let e = e.map_err(|e| e.to_string())?;
        let t = e.file_type().map_err(|e| e.to_string())?;
        let path = e.path();
        let name = e.file_name();
        if t.is_dir() {
            if !SKIP_DIRS.iter().any(|s| name == *s) {
                walk(root, &path, set, out, depth + 1)?;
            }
        } else if t.is_file() {
            let Ok(rel) = path.strip_prefix(root) else {
                continue;
            };
            if set.is_match(rel) {
                out.push(rel.to_string_lossy().into_owned());
                if out.len() > MAX_FILES {
                    return Err(format!("more than {MAX_FILES} files match"));
                }
            }
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
