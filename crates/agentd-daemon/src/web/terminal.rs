//! `GET /terminals/{id}?from=<offset>`: a terminal over a WebSocket.
//!
//! Signed in by the browser's cookie with its CSRF key (`?csrf=`, same
//! origin only) or the bearer token. The wire protocol:
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

use axum::extract::ws::{Message, WebSocket};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;

use super::BrowserAuth;
use crate::http::constant_time_eq;

/// Largest input frame accepted, bytes.
const MAX_INPUT_FRAME: usize = 64 * 1024;
/// Largest output frame sent, bytes (a long replay goes in pieces).
const MAX_OUTPUT_FRAME: usize = 64 * 1024;

#[derive(Deserialize)]
pub(super) struct Attach {
    from: Option<u64>,
    /// A browser's CSRF key (its cookie alone does not sign it in).
    csrf: Option<String>,
}

/// The upgrade: checks who asks, finds the terminal, then streams it.
pub(super) async fn attach(
    State(auth): State<BrowserAuth>,
    Path(id): Path<String>,
    Query(q): Query<Attach>,
    headers: HeaderMap,
    upgrade: axum::extract::ws::WebSocketUpgrade,
) -> Response {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        .is_some_and(|t| constant_time_eq(t.as_bytes(), auth.token.as_bytes()));
    let browser = q
        .csrf
        .as_deref()
        .and_then(|k| auth.signed_in_with_key(&headers, k))
        .map(|s| s.revoked);
    if !bearer && browser.is_none() {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"error": "not signed in: run `agentd web` and open the link it prints, or send the bearer token"})),
        )
            .into_response();
    }
    let (id, entry) = match auth.service.terminal(&id) {
        Ok(t) => t,
        Err(e) => {
            return (
                StatusCode::NOT_FOUND,
                axum::Json(json!({"error": e.message()})),
            )
                .into_response();
        }
    };
    let revoked = browser.unwrap_or_default();
    upgrade
        .max_message_size(MAX_INPUT_FRAME)
        .max_frame_size(MAX_INPUT_FRAME)
        .write_buffer_size(0)
        .on_upgrade(move |socket| async move {
            tokio::select! {
                () = stream(socket, &id, entry.terminal, q.from) => {}
                () = revoked.cancelled() => {}
            }
        })
}

async fn send_json(ws: &mut WebSocket, v: Value) -> bool {
    ws.send(Message::Text(v.to_string().into())).await.is_ok()
}

async fn send_bytes(ws: &mut WebSocket, bytes: &[u8]) -> bool {
    for piece in bytes.chunks(MAX_OUTPUT_FRAME) {
        if ws
            .send(Message::Binary(bytes::Bytes::copy_from_slice(piece)))
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

/// How often a quiet terminal's socket is pinged (under the 30 s HTTP idle
/// timeout).
const PING_EVERY_TICKS: u32 = 15;

async fn stream(mut ws: WebSocket, id: &str, t: agentd_pty::Terminal, from: Option<u64>) {
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
    let mut ticks = 0u32;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
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
            msg = ws.recv() => match msg {
                Some(Ok(Message::Binary(bytes))) => {
                    if let Err(e) = t.write(watcher, &bytes).await
                        && !send_json(&mut ws, json!({"type": "error", "message": e.to_string()})).await
                    {
                        break;
                    }
                }
                Some(Ok(Message::Text(text))) => {
                    let v: Value = serde_json::from_str(text.as_str()).unwrap_or(Value::Null);
                    match v["type"].as_str() {
                        Some("resize") if t.is_writer(watcher) => {
                            let dim = |k: &str| v[k].as_u64().map(|n| n.min(1000) as u16);
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
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
            _ = tick.tick() => {
                ticks += 1;
                if ticks.is_multiple_of(PING_EVERY_TICKS)
                    && ws.send(Message::Ping(bytes::Bytes::new())).await.is_err()
                {
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
