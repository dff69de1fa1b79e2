//! What keeps one bad client from starving the rest: the file-descriptor
//! limit raised at start, a cap on HTTP connections with read and idle
//! timeouts, and one budget for the bytes all socket connections may hold
//! in partial frames.
//!
//! The Unix socket must stay reachable whatever the HTTP side suffers: the
//! HTTP cap ([`MAX_HTTP_CONNECTIONS`]) is far below the descriptors left
//! after the socket's own cap, so idle TCP connections can never use the
//! descriptors the socket, the stores and the hook runner need.

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

/// Most HTTP connections served at once; further ones wait in the kernel's
/// accept queue (they cost no descriptor of ours) until one closes. Room
/// for a thousand live subscribers (WebSocket, gRPC streams, browser tabs)
/// beside requests (BENCHMARKS.md, fan-out).
pub const MAX_HTTP_CONNECTIONS: usize = 2048;

/// How long an HTTP connection may go without a byte in either direction
/// (a request's headers or body arriving, a keep-alive connection idling)
/// before it is closed. Held hook calls are not idle: the connection is
/// closed only when the peer is silent *and* nothing is being written, and
/// a held call's reply is awaited by the handler, not read from the peer.
pub const HTTP_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// Bytes all socket connections together may hold in partial frames
/// (a line not yet ended by `\n`). Past it, the connections holding the
/// oldest partial frames are shed with an error.
pub const MAX_BUFFERED_BYTES: usize = 64 << 20;

/// Socket connections kept for hook clients (`initialize` with client
/// `agentd-hook`): other clients may hold at most the socket cap minus
/// these, so a flood of CLI, TUI or stuck clients never leaves a Claude
/// Code hook without a connection.
pub const HOOK_RESERVE: usize = 256;

/// How long a new socket connection may take to send `initialize`.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Descriptors kept for everything but connections: the stores, the index,
/// the hook runner's pipes and logs, launched sessions.
pub const FD_RESERVE: u64 = 256;

/// Most socket connections served at once, given the open-files limit: at
/// most `configured` (`[daemon] max_connections`), and never so many that
/// the HTTP cap and [`FD_RESERVE`] would not fit beside them.
pub fn socket_cap(fd_limit: u64, configured: usize) -> usize {
    let room = fd_limit.saturating_sub(FD_RESERVE + MAX_HTTP_CONNECTIONS as u64);
    usize::try_from(room)
        .unwrap_or(usize::MAX)
        .min(configured)
        .max(HOOK_RESERVE + 16)
}

/// Counts of the socket connections being served, by kind.
#[derive(Debug, Default)]
pub struct Connections {
    /// Every socket connection being served.
    pub all: AtomicUsize,
    /// Initialized connections of clients other than `agentd-hook`.
    pub general: AtomicUsize,
    /// Connections refused or shed since start (cap, handshake timeout,
    /// buffer budget).
    pub refused: AtomicU64,
}

/// Raises the soft limit on open files to the hard limit, so that the
/// connection caps, not the OS default of 1 024, bound what agentd serves.
/// Returns the soft limit in force afterwards.
pub fn raise_fd_limit() -> u64 {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    if let Some(max) = limit.maximum
        && limit.current != Some(max)
    {
        let raised = rustix::process::Rlimit {
            current: Some(max),
            maximum: Some(max),
        };
        if let Err(e) = setrlimit(Resource::Nofile, raised) {
            tracing::warn!(error = %e, "cannot raise the open-files limit");
        }
    }
    getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX)
}

/// A TCP listener that serves at most [`MAX_HTTP_CONNECTIONS`] at once and
/// closes connections idle for [`HTTP_IDLE_TIMEOUT`].
pub struct CappedListener {
    inner: TcpListener,
    permits: Arc<Semaphore>,
    idle: Duration,
}

impl CappedListener {
    /// Wraps `inner` with a cap of `max` connections and an idle timeout.
    pub fn new(inner: TcpListener, max: usize, idle: Duration) -> CappedListener {
        CappedListener {
            inner,
            permits: Arc::new(Semaphore::new(max)),
            idle,
        }
    }
}

impl axum::serve::Listener for CappedListener {
    type Io = IdleTimeout<TcpStream>;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        // At the cap, stop accepting: new connections wait in the backlog
        // instead of taking descriptors.
        let permit = loop {
            match Arc::clone(&self.permits).acquire_owned().await {
                Ok(p) => break p,
                // Never closed; wait rather than spin if it were.
                Err(_) => tokio::time::sleep(Duration::from_secs(1)).await,
            }
        };
        loop {
            match self.inner.accept().await {
                Ok((io, addr)) => {
                    // HTTP/2 writes a response as several frames (headers,
                    // data, trailers): with Nagle on, the last waits for the
                    // peer's delayed ACK, 40 ms a gRPC call (BENCHMARKS.md).
                    if let Err(e) = io.set_nodelay(true) {
                        tracing::debug!(error = %e, "cannot set TCP_NODELAY");
                    }
                    return (IdleTimeout::new(io, self.idle, permit), addr);
                }
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!(error = %e, "HTTP accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// An IO that fails with `TimedOut` once neither a read nor a write has
/// made progress for its idle time, and that releases its connection
/// permit when dropped.
pub struct IdleTimeout<T> {
    io: T,
    idle: Duration,
    deadline: Pin<Box<tokio::time::Sleep>>,
    _permit: OwnedSemaphorePermit,
}

impl<T> IdleTimeout<T> {
    fn new(io: T, idle: Duration, permit: OwnedSemaphorePermit) -> IdleTimeout<T> {
        IdleTimeout {
            io,
            idle,
            deadline: Box::pin(tokio::time::sleep(idle)),
            _permit: permit,
        }
    }

    fn progressed(&mut self) {
        let next = tokio::time::Instant::now() + self.idle;
        self.deadline.as_mut().reset(next);
    }
}

fn timed_out() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        "connection idle too long; closed",
    )
}

impl<T: AsyncRead + Unpin> AsyncRead for IdleTimeout<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.io).poll_read(cx, buf) {
            Poll::Ready(r) => {
                if buf.filled().len() > before {
                    self.progressed();
                }
                Poll::Ready(r)
            }
            Poll::Pending => match self.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Err(timed_out())),
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for IdleTimeout<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match Pin::new(&mut self.io).poll_write(cx, data) {
            Poll::Ready(r) => {
                if matches!(r, Ok(n) if n > 0) {
                    self.progressed();
                }
                Poll::Ready(r)
            }
            Poll::Pending => match self.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Err(timed_out())),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// The bytes socket connections hold in partial frames, all together, and
/// who holds them (oldest first), so that past [`MAX_BUFFERED_BYTES`] the
/// oldest partial frames are shed.
#[derive(Debug)]
pub struct BufferBudget {
    cap: usize,
    total: AtomicUsize,
    next: AtomicU64,
    /// Holders by the order their partial frame began: (bytes, shed).
    holders: Mutex<BTreeMap<u64, (usize, CancellationToken)>>,
    /// Connections shed since start.
    pub shed: AtomicU64,
}

impl BufferBudget {
    /// A budget of `cap` bytes.
    pub fn new(cap: usize) -> BufferBudget {
        BufferBudget {
            cap,
            total: AtomicUsize::new(0),
            next: AtomicU64::new(0),
            holders: Mutex::new(BTreeMap::new()),
            shed: AtomicU64::new(0),
        }
    }

    /// Bytes held now, all connections together.
    pub fn total(&self) -> usize {
        self.total.load(Ordering::Relaxed)
    }

    /// Records that the connection with `slot` (from an earlier call, or
    /// `None`) now holds `bytes` of a partial frame, and sheds the oldest
    /// holders while the total is over the cap. Returns the slot to pass
    /// next time (`None` once nothing is held).
    pub fn hold(&self, slot: Option<u64>, bytes: usize, shed: &CancellationToken) -> Option<u64> {
        // The common case — a whole line read, nothing held before or
        // after (every hook call) — takes no lock.
        if slot.is_none() && bytes == 0 {
            return None;
        }
        let Ok(mut holders) = self.holders.lock() else {
            return slot;
        };
        let slot = match (slot, bytes) {
            (Some(s), 0) => {
                if let Some((old, _)) = holders.remove(&s) {
                    self.total.fetch_sub(old, Ordering::Relaxed);
                }
                return None;
            }
            (None, 0) => return None,
            (Some(s), n) => {
                if let Some((old, _)) = holders.get_mut(&s) {
                    let was = std::mem::replace(old, n);
                    self.total.fetch_add(n, Ordering::Relaxed);
                    self.total.fetch_sub(was, Ordering::Relaxed);
                } else {
                    holders.insert(s, (n, shed.clone()));
                    self.total.fetch_add(n, Ordering::Relaxed);
                }
                s
            }
            (None, n) => {
                let s = self.next.fetch_add(1, Ordering::Relaxed);
                holders.insert(s, (n, shed.clone()));
                self.total.fetch_add(n, Ordering::Relaxed);
                s
            }
        };
        while self.total.load(Ordering::Relaxed) > self.cap {
            let Some((_, (n, token))) = holders.pop_first() else {
                break;
            };
            self.total.fetch_sub(n, Ordering::Relaxed);
            self.shed.fetch_add(1, Ordering::Relaxed);
            token.cancel();
        }
        holders.contains_key(&slot).then_some(slot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_partial_frames_are_shed_past_the_cap() {
        let b = BufferBudget::new(100);
        let (t1, t2, t3) = (
            CancellationToken::new(),
            CancellationToken::new(),
            CancellationToken::new(),
        );
        let s1 = b.hold(None, 40, &t1);
        let s2 = b.hold(None, 40, &t2);
        assert_eq!(b.total(), 80);
        // Growing within the cap is fine.
        let s2 = b.hold(s2, 50, &t2);
        assert_eq!(b.total(), 90);
        // A third pushes it over: the oldest (t1) is shed, not the newest.
        let s3 = b.hold(None, 30, &t3);
        assert!(t1.is_cancelled());
        assert!(!t2.is_cancelled() && !t3.is_cancelled());
        assert_eq!(b.total(), 80);
        assert_eq!(b.shed.load(Ordering::Relaxed), 1);
        // A shed holder's later report is a no-op on the total.
        assert_eq!(b.hold(s1, 0, &t1), None);
        assert_eq!(b.total(), 80);
        // A completed frame frees its bytes.
        assert_eq!(b.hold(s2, 0, &t2), None);
        assert_eq!(b.hold(s3, 0, &t3), None);
        assert_eq!(b.total(), 0);
        // One frame alone over the cap sheds itself.
        let t4 = CancellationToken::new();
        assert_eq!(b.hold(None, 101, &t4), None);
        assert!(t4.is_cancelled());
        assert_eq!(b.total(), 0);
    }

    #[test]
    fn socket_cap_leaves_room_for_http_and_files() {
        assert_eq!(socket_cap(1 << 20, 4096), 4096);
        assert_eq!(socket_cap(1 << 20, 300), 300);
        assert_eq!(socket_cap(8192, 8192), 8192 - 256 - 2048);
        // Never below the hook reserve plus a few.
        assert_eq!(socket_cap(100, 4096), HOOK_RESERVE + 16);
    }

    #[tokio::test]
    async fn an_idle_connection_times_out_and_frees_its_permit() {
        use tokio::io::AsyncReadExt;
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let mut capped = CappedListener::new(l, 1, Duration::from_millis(200));
        let _c1 = TcpStream::connect(addr).await.unwrap();
        let (mut io, _) = axum::serve::Listener::accept(&mut capped).await;
        assert_eq!(capped.permits.available_permits(), 0);
        let mut buf = [0u8; 8];
        let err = io.read(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
        drop(io);
        assert_eq!(capped.permits.available_permits(), 1);
    }
}
