//! Two WebSockets joined: a browser's and the runner's terminal channel
//! (or another HQ's socket to it). Frames pass as they are (the terminal
//! protocol is the runner's); each send is awaited before the next read,
//! so a slow browser slows the runner's stream instead of filling HQ's
//! memory.

use std::time::Duration;

use agentd_daemon::terminal_stream::{Frame, frames};
use axum::extract::ws::WebSocket;
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use tokio_util::sync::CancellationToken;

/// Largest frame a runner's terminal channel may send, bytes (output comes
/// in 64 KiB pieces).
pub const MAX_RUNNER_FRAME: usize = 1 << 20;
/// How often HQ pings the browser's side (the runner pings its own).
const PING_EVERY: Duration = Duration::from_secs(15);

/// The far side of a browser's terminal: the runner's channel to this HQ,
/// or a socket to the HQ process that holds the runner's link.
pub enum RunnerSocket {
    /// The runner dialled this HQ.
    Local(WebSocket),
    /// Through another HQ process on the same database.
    Peer(crate::peers::PeerSocket),
}

/// Passes frames both ways until either side closes or HQ stops; then
/// closes both.
pub async fn splice(browser: WebSocket, runner: RunnerSocket, shutdown: CancellationToken) {
    match runner {
        RunnerSocket::Local(ws) => join(frames(browser), frames(ws), shutdown).await,
        RunnerSocket::Peer(ws) => join(frames(browser), frames(ws), shutdown).await,
    }
}

async fn join<A, B>(browser: A, runner: B, shutdown: CancellationToken)
where
    A: Stream<Item = Frame> + Sink<Frame> + Unpin,
    B: Stream<Item = Frame> + Sink<Frame> + Unpin,
{
    let (mut to_browser, mut from_browser) = browser.split();
    let (mut to_runner, mut from_runner) = runner.split();
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + PING_EVERY, PING_EVERY);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            f = from_browser.next() => match f {
                Some(f @ (Frame::Text(_) | Frame::Binary(_))) => {
                    if to_runner.send(f).await.is_err() {
                        break;
                    }
                }
                Some(Frame::Ping) => {}
                Some(Frame::Close) | None => break,
            },
            f = from_runner.next() => match f {
                Some(f @ (Frame::Text(_) | Frame::Binary(_))) => {
                    if to_browser.send(f).await.is_err() {
                        break;
                    }
                }
                Some(Frame::Ping) => {}
                Some(Frame::Close) | None => break,
            },
            _ = ping.tick() => {
                if to_browser.send(Frame::Ping).await.is_err() {
                    break;
                }
            }
        }
    }
    let _ = to_browser.send(Frame::Close).await;
    let _ = to_runner.send(Frame::Close).await;
}
