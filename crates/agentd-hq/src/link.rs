//! The runner link, HQ's side: one WebSocket per runner (protocol in
//! `agentd_proto::hq`). Hello → welcome with the acked seq → batches of
//! events, each committed, then acknowledged.

use std::net::SocketAddr;
use std::time::Duration;

use agentd_proto::hq::{HqMessage, RunnerMessage};
use axum::extract::ws::{Message, WebSocket};

use crate::service::HqService;
use crate::store::Hello;

/// How often HQ pings a runner.
pub const PING_EVERY: Duration = Duration::from_secs(10);
/// A runner silent this long is offline: its link is closed.
pub const SILENT_AFTER: Duration = Duration::from_secs(30);
/// How long a runner has to say hello.
const HELLO_WITHIN: Duration = Duration::from_secs(10);

/// Serves one runner's link until it ends, is replaced, or its token is
/// revoked.
pub async fn serve(
    hq: HqService,
    mut socket: WebSocket,
    mut runner: String,
    token_id: String,
    peer: Option<SocketAddr>,
    shutdown: tokio_util::sync::CancellationToken,
) {
    let hello = match tokio::time::timeout(HELLO_WITHIN, next_message(&mut socket)).await {
        Ok(Ok(Some(RunnerMessage::Hello {
            runner: said,
            version,
            os,
            labels,
            head_seq,
            hostname,
        }))) => {
            if runner == crate::token::UNBOUND_RUNNER {
                // The token's first runner names it.
                let Some(name) = said.clone().or(hostname) else {
                    refuse(&mut socket, "this runner token has no name yet and the hello gave none: send the runner's host name".into()).await;
                    return;
                };
                if let Err(e) = hq.bind_runner(&token_id, &name).await {
                    refuse(&mut socket, e.to_string()).await;
                    return;
                }
                runner = name;
            }
            if let Some(said) = said.filter(|s| *s != runner) {
                refuse(
                    &mut socket,
                    format!("this token is runner {runner:?}'s, not {said:?}: use the token made for {said:?}"),
                )
                .await;
                return;
            }
            (
                Hello {
                    version: clip(version),
                    os: clip(os),
                    labels: labels.into_iter().take(32).map(clip).collect(),
                    peer: peer.map(|p| p.to_string()),
                },
                head_seq,
            )
        }
        Ok(Ok(Some(_))) => {
            refuse(&mut socket, "the first message must be a hello".into()).await;
            return;
        }
        Ok(Err(e)) => {
            refuse(&mut socket, e).await;
            return;
        }
        Ok(Ok(None)) | Err(_) => return,
    };
    let (hello, head_seq) = hello;
    let acked = match hq.runner_connected(&runner, hello, head_seq).await {
        Ok(a) => a,
        Err(e) => {
            refuse(&mut socket, e.to_string()).await;
            return;
        }
    };
    let (link_id, stop, requests) = hq.fleet().connect(&runner, &token_id);
    if let Err(e) = hq.runner_linked(&runner, true).await {
        tracing::warn!(runner, error = %e, "could not record the link");
    }
    tracing::info!(runner, acked, head_seq, ?peer, "runner connected");
    let why = run(&hq, &mut socket, &runner, acked, &stop, requests, &shutdown).await;
    hq.fleet().disconnect(&runner, link_id);
    let _ = hq.runner_seen(&runner).await;
    if !hq.fleet().online(&runner) {
        let _ = hq.runner_linked(&runner, false).await;
    }
    tracing::info!(runner, why, "runner disconnected");
}

async fn run(
    hq: &HqService,
    socket: &mut WebSocket,
    runner: &str,
    acked: u64,
    stop: &crate::fleet::LinkStop,
    mut requests: tokio::sync::mpsc::Receiver<HqMessage>,
    shutdown: &tokio_util::sync::CancellationToken,
) -> String {
    let welcome = HqMessage::Welcome {
        runner: runner.to_owned(),
        acked_seq: acked,
    };
    if send(socket, &welcome).await.is_err() {
        return "the runner went away".into();
    }
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut heard = tokio::time::Instant::now();
    loop {
        let silent = tokio::time::sleep_until(heard + SILENT_AFTER);
        tokio::select! {
            _ = shutdown.cancelled() => {
                let _ = socket.send(Message::Close(None)).await;
                return "HQ is stopping".into();
            }
            why = stop.stopped() => {
                refuse(socket, why.to_owned()).await;
                return why.to_owned();
            }
            _ = silent => return format!("silent for {} s", SILENT_AFTER.as_secs()),
            Some(request) = requests.recv() => {
                if send(socket, &request).await.is_err() {
                    return "the runner went away".into();
                }
            }
            _ = ping.tick() => {
                if socket.send(Message::Ping(Default::default())).await.is_err() {
                    return "the runner went away".into();
                }
                // Other HQs on the same database see the link by this.
                if hq.backend().shared() {
                    let _ = hq.runner_linked(runner, true).await;
                }
            }
            m = next_frame(socket) => {
                heard = tokio::time::Instant::now();
                let m = match m {
                    Ok(Incoming::Alive) => continue,
                    Ok(Incoming::Closed) => return "the runner closed the link".into(),
                    Ok(Incoming::Text(text)) => Ok(text),
                    Err(e) => Err(e),
                };
                // Decoded under a permit: a thousand runners' batches
                // arriving at once would otherwise all be decoded (several
                // times their text) and held while they queue for the store.
                let _permit = hq.decode_permit().await;
                let m = m.and_then(|t| {
                    serde_json::from_str::<RunnerMessage>(t.as_str())
                        .map_err(|e| format!("not a runner message: {e}"))
                });
                match m {
                    Ok(RunnerMessage::Events { events }) => {
                        match hq.runner_events(runner, events).await {
                            Ok(seq) => {
                                if send(socket, &HqMessage::Ack { seq }).await.is_err() {
                                    return "the runner went away".into();
                                }
                            }
                            Err(e) => {
                                refuse(socket, format!("HQ could not store the events (the runner will resend them): {e}")).await;
                                return e.to_string();
                            }
                        }
                    }
                    Ok(RunnerMessage::Decided { request, approval, error }) => {
                        hq.fleet().answered_by(runner, request, answer_of(approval.map(|a| *a), error));
                    }
                    Ok(RunnerMessage::Launched { request, launched, error }) => {
                        hq.fleet().answered_by(runner, request, answer_of(launched, error));
                    }
                    Ok(RunnerMessage::Answered { request, value, error }) => {
                        // `null` is an answer (an attach's "dialling").
                        let value = match (value, &error) {
                            (None, None) => Some(serde_json::Value::Null),
                            (v, _) => v,
                        };
                        hq.fleet().answered_by(runner, request, answer_of(value, error));
                    }
                    Ok(RunnerMessage::Hello { .. }) => {
                        refuse(socket, "hello twice".into()).await;
                        return "hello twice".into();
                    }
                    Err(e) => {
                        refuse(socket, e.clone()).await;
                        return e;
                    }
                }
            }
        }
    }
}

/// A runner's answer as the fleet keeps it.
fn answer_of<T: serde::Serialize>(
    value: Option<T>,
    error: Option<agentd_proto::hq::LinkError>,
) -> crate::fleet::Answer {
    match (value, error) {
        (Some(v), _) => serde_json::to_value(v).map_err(|e| agentd_proto::hq::LinkError {
            code: "internal".into(),
            message: e.to_string(),
        }),
        (None, Some(e)) => Err(e),
        (None, None) => Err(agentd_proto::hq::LinkError {
            code: "internal".into(),
            message: "the runner answered with neither a result nor an error".into(),
        }),
    }
}

/// What came from the runner.
enum Incoming {
    /// A text frame: a protocol message, still to decode.
    Text(axum::extract::ws::Utf8Bytes),
    /// A ping or pong: it lives (axum answers pings).
    Alive,
    /// It closed the link or went away.
    Closed,
}

/// The next frame from the runner. `Err`: what was wrong with it.
async fn next_frame(socket: &mut WebSocket) -> Result<Incoming, String> {
    match socket.recv().await {
        None | Some(Err(_)) | Some(Ok(Message::Close(_))) => Ok(Incoming::Closed),
        Some(Ok(Message::Text(t))) => Ok(Incoming::Text(t)),
        Some(Ok(Message::Binary(_))) => Err("binary frames are not part of the runner link".into()),
        Some(Ok(Message::Ping(_) | Message::Pong(_))) => Ok(Incoming::Alive),
    }
}

/// The next protocol message, past pings. `Ok(None)`: the runner closed.
async fn next_message(socket: &mut WebSocket) -> Result<Option<RunnerMessage>, String> {
    loop {
        match next_frame(socket).await? {
            Incoming::Text(t) => {
                return serde_json::from_str(t.as_str())
                    .map(Some)
                    .map_err(|e| format!("not a runner message: {e}"));
            }
            Incoming::Alive => {}
            Incoming::Closed => return Ok(None),
        }
    }
}

async fn send(socket: &mut WebSocket, m: &HqMessage) -> Result<(), axum::Error> {
    let text = serde_json::to_string(m).unwrap_or_default();
    socket.send(Message::Text(text.into())).await
}

async fn refuse(socket: &mut WebSocket, message: String) {
    tracing::warn!(%message, "runner link refused or closed");
    let _ = send(socket, &HqMessage::Error { message }).await;
    let _ = socket.send(Message::Close(None)).await;
}

/// Bounds what a runner says about itself (shown to people).
fn clip(s: String) -> String {
    s.chars().filter(|c| !c.is_control()).take(128).collect()
}
