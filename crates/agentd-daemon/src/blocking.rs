//! Filesystem and process IO that input asks for, kept off the async
//! workers.
//!
//! A path in a hook payload may name a FIFO, a device, a hung network
//! mount or a huge file. Reading it on a tokio worker would stall every
//! connection that worker serves (one FIFO named `.git` once froze every
//! session's hooks). So such work runs on the blocking pool, under a time
//! limit; past the limit the caller goes on without the result (the
//! blocking thread finishes or stays stuck on its own, never a worker).
//! The reads themselves go through `agentd_fs`, which never opens anything
//! but a regular file and never reads past a size limit.

use std::time::Duration;

/// How long a lookup on behalf of input may take before the caller goes on
/// without it.
pub const PATH_IO_TIMEOUT: Duration = Duration::from_secs(2);

/// Runs `f` on the blocking pool; `None` (logged, naming `what`) when it
/// takes longer than [`PATH_IO_TIMEOUT`] or panics.
pub async fn bounded<T, F>(what: &'static str, f: F) -> Option<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    match tokio::time::timeout(PATH_IO_TIMEOUT, tokio::task::spawn_blocking(f)).await {
        Ok(Ok(v)) => Some(v),
        Ok(Err(e)) => {
            tracing::error!(what, error = %e, "a blocking lookup failed");
            None
        }
        Err(_) => {
            tracing::warn!(
                what,
                timeout_ms = PATH_IO_TIMEOUT.as_millis() as u64,
                "a filesystem lookup took too long; going on without it"
            );
            None
        }
    }
}
