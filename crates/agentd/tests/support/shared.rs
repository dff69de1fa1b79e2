//! The shared fixture corpus (`../shared/fixtures` beside the clone).
//!
//! A person who clones agentd alone has no `../shared`: tests that read it
//! say they were skipped and why, and pass. CI lays the corpus beside the
//! clone and sets `CI=true`; there a missing corpus is a failure, never a
//! skip.

use std::path::{Path, PathBuf};

/// `../shared/fixtures/<rel>` beside the repository, or `None` (after
/// printing a `SKIPPED` line naming `test`) when it is absent outside CI.
///
/// # Panics
/// When the corpus is absent and `CI=true`.
pub fn shared_fixtures(rel: &str, test: &str) -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures")
        .join(rel);
    if path.exists() {
        return Some(path);
    }
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    assert!(
        !ci,
        "{test}: the shared fixture corpus {} is missing, and CI=true: CI must lay ../shared beside the clone",
        path.display()
    );
    let line = format!(
        "SKIPPED: {test}: needs the shared fixture corpus at {}, which is absent (a bare clone); CI runs it",
        path.display()
    );
    eprintln!("{line}");
    // scripts/test.sh lists and counts these in its summary (the harness
    // hides a passing test's stderr).
    if let Some(log) = std::env::var_os("AGENTD_SKIP_LOG") {
        use std::io::Write;
        if let Ok(mut f) = std::fs::OpenOptions::new().append(true).open(log) {
            // One write per line: tests run on threads, and a line cut in
            // two by another test's would be miscounted.
            let _ = f.write_all(format!("{line}\n").as_bytes());
        }
    }
    None
}
