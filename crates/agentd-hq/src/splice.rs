//! Two WebSockets joined: a browser's and the runner's terminal channel.
//! Frames pass as they are (the terminal protocol is the runner's); each
//! send is awaited before the next read, so a slow browser slows the
//! runner's stream instead of filling HQ's memory.

use std::time::Duration;

use axum::extract::ws::{Message, WebSocket};
use futures_util::{SinkExt, StreamExt};
use tokio_util::sync::CancellationToken;

/// Largest frame a runner's terminal channel may send, bytes (output comes
/// in 64 KiB pieces).
pub const MAX_RUNNER_FRAME: usize = 1 << 20;
/// How often HQ pings the browser's side (the runner pings its own).
const PING_EVERY: Duration = Duration::from_secs(15);

/// Passes frames both ways until either side closes or HQ stops; then
/// closes both.
pub async fn splice(browser: WebSocket, runner: WebSocket, shutdown: CancellationToken) {
    let (mut to_browser, mut from_browser) = browser.split();
    let (mut to_runner, mut from_runner) = runner.split();
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + PING_EVERY, PING_EVERY);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            m = from_browser.next() => match m {
                Some(Ok(m @ (Message::Text(_) | Message::Binary(_)))) => {
                    if to_runner.send(m).await.is_err() {
                        break;
                    }
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                Some(Ok(Message::Close(_)) | Err(_)) | None => break,
            },
            m = from_runner.next() => match m {
                Some(Ok(m @ (Message::Text(_) | Message::Binary(_)))) => {
                    if to_browser.send(m).await.is_err() {
                        break;
                    }
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                Some(Ok(Message::Close(_)) | Err(_)) | None => break,
            },
            _ = ping.tick() => {
                if to_browser.send(Message::Ping(bytes::Bytes::new())).await.is_err() {
                    break;
                }
            }
        }
    }
    let _ = to_browser.send(Message::Close(None)).await;
    let _ = to_runner.send(Message::Close(None)).await;
}
