//! `GET /terminals/{id}?from=<offset>`: a terminal over a WebSocket, in
//! [`crate::terminal_stream`]'s protocol.
//!
//! Signed in by the browser's cookie with its CSRF key (`?csrf=`, same
//! origin only) or the bearer token.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::BrowserAuth;
use crate::http::constant_time_eq;

use crate::terminal_stream::{MAX_INPUT_FRAME, frames, stream};

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
                () = stream(frames(socket), &id, entry.terminal, q.from) => {}
                () = revoked.cancelled() => {}
            }
        })
}
