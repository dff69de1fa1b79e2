//! One terminal streamed over a WebSocket, whichever side dialled it: the
//! web UI's socket (a browser dialled this daemon) and a runner's terminal
//! channel (this daemon dialled HQ, which splices it to a browser) speak
//! the same protocol, written once here.
//!
//! The wire protocol:
//! - server → client, text: `{"type":"hello","id","from","lost","cols",
//!   "rows","writer","exit_code"}` first (`from`: the offset the bytes
//!   that follow start at; `lost`: bytes asked for that the buffer no
//!   longer holds); `{"type":"writer","you":bool}` when the writer lease
//!   moves; `{"type":"exit","code":n}` when the program exits;
//!   `{"type":"error","message"}`.
//! - server → client, binary: output, in order, from `from` on.
//! - client → server, binary: keystrokes (the writer's only; a watcher
//!   nobody writes for takes the lease by typing).
//! - client → server, text: `{"type":"resize","cols","rows"}` (the
//!   writer's only), `{"type":"take"}` (take the writer lease),
//!   `{"type":"ack","offset"}` (the screen has processed the output up to
//!   `offset`: from its first ack on, a writer that falls more than
//!   `agentd_pty::HIGH_WATER` behind holds the program back, so its screen
//!   never loses a byte).
//!
//! A client that reconnects with `from` = the last offset it has gets
//! exactly what it missed.

use std::time::Duration;

use futures_util::{Sink, SinkExt, Stream, StreamExt};
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;

/// Largest input frame accepted, bytes.
pub const MAX_INPUT_FRAME: usize = 64 * 1024;
/// Largest output frame sent, bytes (a long replay goes in pieces).
pub const MAX_OUTPUT_FRAME: usize = 64 * 1024;
/// How often a quiet terminal's socket is pinged (under the 30 s HTTP idle
/// timeout).
const PING_EVERY: Duration = Duration::from_secs(15);

/// A WebSocket message, as far as a terminal cares; each WebSocket library
/// maps its own to and from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A JSON control message.
    Text(String),
    /// Output (to the client) or keystrokes (from it).
    Binary(bytes::Bytes),
    /// A keep-alive.
    Ping,
    /// The peer closed, or the socket failed.
    Close,
}

impl From<axum::extract::ws::Message> for Frame {
    fn from(m: axum::extract::ws::Message) -> Frame {
        use axum::extract::ws::Message as M;
        match m {
            M::Text(t) => Frame::Text(t.as_str().to_owned()),
            M::Binary(b) => Frame::Binary(b),
            M::Ping(_) | M::Pong(_) => Frame::Ping,
            M::Close(_) => Frame::Close,
        }
    }
}

impl From<Frame> for axum::extract::ws::Message {
    fn from(f: Frame) -> axum::extract::ws::Message {
        use axum::extract::ws::Message as M;
        match f {
            Frame::Text(t) => M::Text(t.into()),
            Frame::Binary(b) => M::Binary(b),
            Frame::Ping => M::Ping(bytes::Bytes::new()),
            Frame::Close => M::Close(None),
        }
    }
}

impl From<tokio_tungstenite::tungstenite::Message> for Frame {
    fn from(m: tokio_tungstenite::tungstenite::Message) -> Frame {
        use tokio_tungstenite::tungstenite::Message as M;
        match m {
            M::Text(t) => Frame::Text(t.as_str().to_owned()),
            M::Binary(b) => Frame::Binary(b),
            M::Ping(_) | M::Pong(_) | M::Frame(_) => Frame::Ping,
            M::Close(_) => Frame::Close,
        }
    }
}

impl From<Frame> for tokio_tungstenite::tungstenite::Message {
    fn from(f: Frame) -> tokio_tungstenite::tungstenite::Message {
        use tokio_tungstenite::tungstenite::Message as M;
        match f {
            Frame::Text(t) => M::Text(t.into()),
            Frame::Binary(b) => M::Binary(b),
            Frame::Ping => M::Ping(bytes::Bytes::new()),
            Frame::Close => M::Close(None),
        }
    }
}

/// `socket` as a stream and sink of [`Frame`]s: errors read as
/// [`Frame::Close`].
pub fn frames<S, M, E>(
    socket: S,
) -> impl Stream<Item = Frame> + Sink<Frame, Error = E> + Unpin + Send
where
    S: Stream<Item = Result<M, E>> + Sink<M, Error = E> + Unpin + Send,
    M: Into<Frame> + From<Frame> + Send,
    E: Send,
{
    socket
        .with(|f: Frame| std::future::ready(Ok::<M, E>(M::from(f))))
        .map(|m: Result<M, E>| m.map_or(Frame::Close, Into::into))
}

async fn send_json<S: Sink<Frame> + Unpin>(ws: &mut S, v: Value) -> bool {
    ws.send(Frame::Text(v.to_string())).await.is_ok()
}

async fn send_bytes<S: Sink<Frame> + Unpin>(ws: &mut S, bytes: &[u8]) -> bool {
    for piece in bytes.chunks(MAX_OUTPUT_FRAME) {
        if ws
            .send(Frame::Binary(bytes::Bytes::copy_from_slice(piece)))
            .await
            .is_err()
        {
            return false;
        }
    }
    true
}

/// Detaches its watcher however the stream ends (a revoked session drops
/// the stream mid-await).
struct Watching(agentd_pty::Terminal, u64);

impl Drop for Watching {
    fn drop(&mut self) {
        self.0.detach(self.1);
    }
}

/// Streams terminal `t` (called `id`) over `ws` from offset `from` (`None`:
/// as much as the buffer holds) until either side ends.
pub async fn stream<S>(mut ws: S, id: &str, t: agentd_pty::Terminal, from: Option<u64>)
where
    S: Stream<Item = Frame> + Sink<Frame> + Unpin,
{
    let mut a = t.attach(from);
    let watcher = a.watcher;
    let _watching = Watching(t.clone(), watcher);
    let (cols, rows) = t.size();
    let mut writer = t.is_writer(watcher);
    let hello = json!({"type": "hello", "id": id, "from": a.from, "lost": a.lost,
        "cols": cols, "rows": rows, "writer": writer, "exit_code": t.exit_code()});
    let mut offset = a.from + a.replay.len() as u64;
    let replay = std::mem::take(&mut a.replay);
    if !send_json(&mut ws, hello).await || !send_bytes(&mut ws, &replay).await {
        return;
    }
    drop(replay);
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + PING_EVERY, PING_EVERY);
    let mut exited = t.exit_code().is_some();
    let exit = t.clone();
    let mut exit_wait = Box::pin(async move { exit.exited().await });
    loop {
        tokio::select! {
            chunk = a.live.recv() => match chunk {
                // The end of the output: every process closed the terminal.
                Ok(c) if c.bytes.is_empty() => {
                    if !exited {
                        let code = t.exited().await;
                        let _ = send_json(&mut ws, json!({"type": "exit", "code": code})).await;
                    }
                    break;
                }
                Ok(c) => {
                    // Skip what a re-attach already sent.
                    let skip = offset.saturating_sub(c.offset) as usize;
                    if skip < c.bytes.len() {
                        if !send_bytes(&mut ws, &c.bytes[skip..]).await {
                            break;
                        }
                        offset = c.offset + c.bytes.len() as u64;
                    }
                }
                Err(RecvError::Lagged(_)) => {
                    a = t.reattach(watcher, Some(offset));
                    if a.lost > 0 && !send_json(&mut ws, json!({"type": "error",
                        "message": format!("{} bytes of output were lost (this watcher fell behind)", a.lost)})).await {
                        break;
                    }
                    let replay = std::mem::take(&mut a.replay);
                    if !send_bytes(&mut ws, &replay).await {
                        break;
                    }
                    offset = a.from + replay.len() as u64;
                }
                // The program closed the PTY: the exit follows.
                Err(RecvError::Closed) => {
                    if !exited {
                        let code = t.exited().await;
                        let _ = send_json(&mut ws, json!({"type": "exit", "code": code})).await;
                    }
                    break;
                }
            },
            code = &mut exit_wait, if !exited => {
                exited = true;
                if !send_json(&mut ws, json!({"type": "exit", "code": code})).await {
                    break;
                }
            }
            msg = ws.next() => match msg {
                Some(Frame::Binary(bytes)) => {
                    if bytes.len() > MAX_INPUT_FRAME {
                        continue;
                    }
                    if let Err(e) = t.write(watcher, &bytes).await
                        && !send_json(&mut ws, json!({"type": "error", "message": e.to_string()})).await
                    {
                        break;
                    }
                }
                Some(Frame::Text(text)) => {
                    let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                    match v["type"].as_str() {
                        Some("resize") if t.is_writer(watcher) => {
                            let dim = |k: &str| v[k].as_u64().map(|n| n.clamp(1, 1000) as u16);
                            if let (Some(c), Some(r)) = (dim("cols"), dim("rows"))
                                && let Err(e) = t.resize(c, r).await
                            {
                                tracing::debug!("terminal resize: {e}");
                            }
                        }
                        Some("take") => t.take_writer(watcher),
                        Some("ack") => {
                            if let Some(o) = v["offset"].as_u64() {
                                t.ack(watcher, o);
                            }
                        }
                        _ => {}
                    }
                }
                Some(Frame::Close) | None => break,
                Some(Frame::Ping) => {}
            },
            _ = ping.tick() => {
                if ws.send(Frame::Ping).await.is_err() {
                    break;
                }
            }
        }
        let now = t.is_writer(watcher);
        if now != writer {
            writer = now;
            if !send_json(&mut ws, json!({"type": "writer", "you": writer})).await {
                break;
            }
        }
    }
}
