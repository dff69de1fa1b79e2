//! Giving memory back after a burst.
//!
//! A thousand hook clients at once leave glibc's allocator holding tens of
//! megabytes of freed buffers that it keeps for reuse; a daemon that runs
//! all day should not carry a burst's peak for the rest of it. Once the log
//! has been quiet for [`QUIET`], the free memory is returned to the OS
//! (`malloc_trim`), once per burst: a quiet daemon does not do it again.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::state::Shared;

/// How long the log must be unchanged before memory is trimmed.
pub const QUIET: Duration = Duration::from_secs(5);

/// Trims after every burst until `stop`.
pub async fn run(shared: Arc<Shared>, stop: CancellationToken) {
    let mut seen = shared.head_seq();
    let mut trimmed = true;
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(QUIET) => {}
        }
        let head = shared.head_seq();
        if head != seen {
            seen = head;
            trimmed = false;
        } else if !trimmed {
            trimmed = true;
            release_free_memory();
        }
    }
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
