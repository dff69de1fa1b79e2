//! Giving memory back after a burst.
//!
//! A thousand hook clients at once leave glibc's allocator holding tens of
//! megabytes of freed buffers that it keeps for reuse, and so does a cold
//! index; a daemon that runs all day should not carry a burst's peak for
//! the rest of it. Once neither the log nor the index has moved for
//! [`QUIET`], the free memory is returned to the OS (`malloc_trim`), once
//! per burst: a quiet daemon does not do it again.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::state::Shared;

/// How long the log must be unchanged before memory is trimmed.
pub const QUIET: Duration = Duration::from_secs(5);

/// Trims after every burst until `stop`.
pub async fn run(shared: Arc<Shared>, stop: CancellationToken) {
    let mut seen = activity(&shared);
    let mut trimmed = true;
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(QUIET) => {}
        }
        let head = activity(&shared);
        if head != seen {
            seen = head;
            trimmed = false;
        } else if !trimmed {
            trimmed = true;
            release_free_memory();
        }
    }
}

/// What moves when the daemon works: the log's head, and the index's
/// bytes read and scans done.
fn activity(shared: &Shared) -> (u64, u64, u64) {
    use std::sync::atomic::Ordering::Relaxed;
    let (bytes, scans) = shared
        .index
        .progress()
        .map(|p| (p.bytes_done.load(Relaxed), p.scans.load(Relaxed)))
        .unwrap_or((0, 0));
    (shared.log.head_seq(), bytes, scans)
}

/// Returns the allocator's free memory to the OS where it can.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` only walks glibc's own free lists; it takes no
    // pointers from us and is safe to call from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}
