//! One client connection on the Unix socket.
//!
//! Frames are read with a length limit enforced by the codec while reading,
//! so no more than [`MAX_FRAME_BYTES`] is ever buffered for a line. All
//! output (responses and notifications) goes through one bounded queue to one
//! writer task, so frames never interleave and a client that stops reading
//! only ever stalls itself.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use agentd_proto::api::{SessionView, SubscribeParams, SubscribeResult};
use agentd_proto::{MAX_FRAME_BYTES, Request, Response, RpcError, code, method};
use futures_util::StreamExt;
use serde_json::Value;
use tokio::net::UnixStream;
use tokio::sync::mpsc;
use tokio_util::codec::{AnyDelimiterCodec, AnyDelimiterCodecError, FramedRead};
use tokio_util::sync::CancellationToken;

use crate::jsonrpc;
use crate::output::Frame;
use crate::service::Service;
use crate::state::Shared;
use crate::subscribe;

pub use crate::output::WRITE_TIMEOUT;
/// Output frames queued per connection before producers wait.
pub const OUTPUT_QUEUE: usize = 256;

/// The line codec, reporting the bytes of its partial frame to the
/// daemon-wide [`crate::limits::BufferBudget`] after every read, so that
/// thousands of connections each holding most of a frame cannot exhaust
/// memory: past the budget the oldest partial frames are shed.
struct BudgetCodec {
    inner: AnyDelimiterCodec,
    shared: Arc<Shared>,
    slot: Option<u64>,
    shed: CancellationToken,
}

impl tokio_util::codec::Decoder for BudgetCodec {
    type Item = bytes::Bytes;
    type Error = AnyDelimiterCodecError;

    fn decode(&mut self, src: &mut bytes::BytesMut) -> Result<Option<Self::Item>, Self::Error> {
        let out = self.inner.decode(src);
        self.slot = self.shared.budget.hold(self.slot, src.len(), &self.shed);
        out
    }
}

impl Drop for BudgetCodec {
    fn drop(&mut self) {
        self.shared.budget.hold(self.slot, 0, &self.shed);
    }
}

/// Counts a connection in [`crate::limits::Connections`] while it lives.
struct Counted<'a>(&'a std::sync::atomic::AtomicUsize);

impl<'a> Counted<'a> {
    fn new(n: &'a std::sync::atomic::AtomicUsize) -> Counted<'a> {
        n.fetch_add(1, Ordering::Relaxed);
        Counted(n)
    }
}

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Bytes a connection's read buffer starts with.
const READ_BUFFER_INITIAL: usize = 2048;

/// The `client` name the hook client gives in `initialize`.
pub const HOOK_CLIENT: &str = "agentd-hook";

/// Serves one connection until the client leaves, misbehaves beyond repair,
/// or `shutdown` fires.
pub async fn serve(stream: UnixStream, shared: Arc<Shared>, shutdown: CancellationToken) {
    let _counted = Counted::new(&shared.connections.all);
    let service = Service::new(Arc::clone(&shared));
    // Who connected, as the kernel says: a hook client's agent is found
    // from it (`agent_pid`).
    let peer_pid = stream
        .peer_cred()
        .ok()
        .and_then(|c| c.pid())
        .and_then(|p| u32::try_from(p).ok());
    let mut general: Option<Counted<'_>> = None;
    let (read_half, write_half) = stream.into_split();
    // Every queued frame is one whole line, newline included.
    let (out_tx, out_rx) = mpsc::channel::<Frame>(OUTPUT_QUEUE);
    let conn_cancel = shutdown.child_token();
    let client_name = Arc::new(std::sync::Mutex::new("unknown-client".to_owned()));
    let writer = tokio::spawn(crate::output::write_frames(
        write_half,
        out_rx,
        conn_cancel.clone(),
        Arc::clone(&shared),
        Arc::clone(&client_name),
    ));

    let shed = CancellationToken::new();
    let codec = BudgetCodec {
        inner: AnyDelimiterCodec::new_with_max_length(
            b"\n".to_vec(),
            b"\n".to_vec(),
            MAX_FRAME_BYTES,
        ),
        shared: Arc::clone(&shared),
        slot: None,
        shed: shed.clone(),
    };
    // Most frames are a hook payload of a few KB: start small and grow,
    // rather than 8 KiB for each of a thousand connections at once.
    let mut frames = FramedRead::with_capacity(read_half, codec, READ_BUFFER_INITIAL);
    let mut initialized = false;
    let mut subscriptions = 0usize;
    let mut client = "unknown-client".to_owned();
    // Held hook calls of this connection; dropped (abandoned) with it.
    let mut held = tokio::task::JoinSet::new();
    // `mcp.serve` ends the JSON-RPC loop: the rest is MCP.
    let mut mcp = false;

    loop {
        while held.try_join_next().is_some() {}
        let idle = if !initialized {
            crate::limits::HANDSHAKE_TIMEOUT
        } else if subscriptions > 0 || !held.is_empty() {
            // A client waiting on a held call (an approval can be held for
            // an hour) or reading a subscription is not idle.
            Duration::MAX
        } else {
            // `[daemon] idle_timeout_s` (300 by default).
            Duration::from_secs(shared.config.daemon.idle_timeout_s.max(1))
        };
        let next = tokio::select! {
            _ = conn_cancel.cancelled() => break,
            _ = shed.cancelled() => {
                tracing::warn!(client, "shedding a connection: its partial frame was the oldest when too many bytes were buffered");
                shared.connections.refused.fetch_add(1, Ordering::Relaxed);
                let err = RpcError::new(
                    code::OVERLOADED,
                    format!(
                        "the daemon holds over {} MiB of unfinished frames; this connection's was the oldest and is closed. End every request with a newline",
                        crate::limits::MAX_BUFFERED_BYTES >> 20
                    ),
                );
                send(&out_tx, Response::error(Value::Null, err)).await;
                break;
            }
            next = tokio::time::timeout(idle, frames.next()) => next,
        };
        let frame = match next {
            Err(_) => break, // idle timeout
            Ok(None) => break,
            Ok(Some(Err(AnyDelimiterCodecError::MaxChunkLengthExceeded))) => {
                let err = RpcError::new(
                    code::FRAME_TOO_LARGE,
                    format!("frame exceeds {MAX_FRAME_BYTES} bytes; closing the connection"),
                );
                send(&out_tx, Response::error(Value::Null, err)).await;
                break;
            }
            Ok(Some(Err(_))) => break,
            Ok(Some(Ok(bytes))) => bytes,
        };
        let frame = frame.strip_suffix(b"\r").unwrap_or(&frame);
        if frame.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let req = match Request::parse(frame) {
            Ok(r) => r,
            Err(resp) => {
                send(&out_tx, *resp).await;
                continue;
            }
        };
        let id = req.id.clone();
        let result = if req.method == method::INITIALIZE {
            if let Some(name) = req
                .params
                .as_ref()
                .and_then(|p| p.get("client"))
                .and_then(Value::as_str)
            {
                client = agentd_core::text::truncate(&agentd_core::text::one_line(name), 64);
                if let Ok(mut c) = client_name.lock() {
                    c.clone_from(&client);
                }
            }
            let r = jsonrpc::initialize(req.params);
            if r.is_ok() && !initialized && client != HOOK_CLIENT {
                // Hook clients have connections kept for them.
                let limit = shared
                    .socket_cap
                    .saturating_sub(crate::limits::HOOK_RESERVE);
                if shared.connections.general.load(Ordering::Relaxed) >= limit {
                    shared.connections.refused.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(client, limit, "too many client connections; refusing one");
                    let err = RpcError::new(
                        code::OVERLOADED,
                        format!(
                            "agentd serves at most {limit} client connections at once (the rest are kept for hooks); close some and retry"
                        ),
                    );
                    if let Some(id) = id {
                        send(&out_tx, Response::error(id, err)).await;
                    }
                    break;
                }
                general = Some(Counted::new(&shared.connections.general));
            }
            initialized |= r.is_ok();
            r
        } else if !initialized {
            Err(RpcError::new(
                code::NOT_INITIALIZED,
                "the first request must be `initialize` with a protocol_version",
            ))
        } else if req.method == method::MCP_SERVE {
            if let Some(id) = id {
                send(
                    &out_tx,
                    Response::ok(id, serde_json::json!({"protocol": "mcp"})),
                )
                .await;
            }
            mcp = true;
            break;
        } else if req.method == method::EVENTS_SUBSCRIBE {
            match start_subscription(&shared, req.params, &out_tx, &conn_cancel, id.clone()).await {
                Ok(()) => {
                    subscriptions += 1;
                    continue; // the subscription sent its own response
                }
                Err(e) => Err(e),
            }
        } else {
            // Only a hook client runs as the agent's child: another
            // client's ancestors (a script, a test, the TUI) are not the
            // session's agent.
            let agent_child = (client == HOOK_CLIENT).then_some(peer_pid).flatten();
            match jsonrpc::dispatch(&service, &req.method, req.params, &client, agent_child).await {
                jsonrpc::Reply::Now(r) => r,
                jsonrpc::Reply::Held(hold) => {
                    // The connection keeps reading while the call is held, so
                    // a vanished client is noticed (and the hold abandoned).
                    let notice = jsonrpc::held_notice(&hold.notice);
                    if let Some(f) = Frame::json(&notice, None) {
                        let _ = out_tx.send(f).await;
                    }
                    let out = out_tx.clone();
                    let cancel = conn_cancel.clone();
                    let mut stream = hold.stream;
                    let mut reply = hold.reply;
                    held.spawn(async move {
                        loop {
                            tokio::select! {
                                _ = cancel.cancelled() => break,
                                // Progress notifications (hook output) while it runs.
                                Some(n) = async {
                                    match stream.as_mut() {
                                        Some(rx) => rx.recv().await,
                                        None => std::future::pending().await,
                                    }
                                } => {
                                    if let Some(f) = Frame::json(&jsonrpc::output_line(&n), None) {
                                        let _ = out.send(f).await;
                                    }
                                }
                                result = &mut reply => {
                                    // Everything streamed before the result.
                                    if let Some(rx) = stream.as_mut() {
                                        while let Ok(n) = rx.try_recv() {
                                            if let Some(f) = Frame::json(&jsonrpc::output_line(&n), None) {
                                                let _ = out.send(f).await;
                                            }
                                        }
                                    }
                                    if let Some(id) = id {
                                        let resp = match result {
                                            Ok(v) => Response::ok(id, v),
                                            Err(e) => Response::error(id, e.into()),
                                        };
                                        send(&out, resp).await;
                                    }
                                    break;
                                }
                            }
                        }
                    });
                    continue;
                }
            }
        };
        // Notifications (no id) get no response, errors included.
        let Some(id) = id else { continue };
        let resp = match result {
            Ok(v) => Response::ok(id, v),
            Err(e) => Response::error(id, e),
        };
        if !send(&out_tx, resp).await {
            break;
        }
    }
    if mcp {
        // Its own lifetime: an MCP client may sit idle for hours between
        // tool calls, so no idle timeout applies.
        let server = crate::mcp::McpServer::new(service.clone(), peer_pid);
        crate::mcp::serve_frames(server, frames, out_tx.clone(), conn_cancel.clone()).await;
    }
    conn_cancel.cancel();
    held.shutdown().await;
    drop(out_tx);
    let _ = writer.await;
    drop(general);
}

async fn send(out: &mpsc::Sender<Frame>, resp: Response) -> bool {
    send_at(out, resp, None).await
}

/// Sends `resp`, carrying a subscription position (see [`Frame`]).
async fn send_at(out: &mpsc::Sender<Frame>, resp: Response, position: Option<(u64, u64)>) -> bool {
    let Some(frame) = Frame::json(&resp, position) else {
        return false;
    };
    // A result over the frame limit would be refused by the client: say
    // what to do instead (every list method pages).
    let frame = if frame.line.len() > MAX_FRAME_BYTES + 1 {
        let err = RpcError::new(
            code::FRAME_TOO_LARGE,
            format!(
                "the result is {} bytes, over the {MAX_FRAME_BYTES}-byte frame limit; ask for less (`limit`, or page with `offset`)",
                frame.line.len() - 1
            ),
        );
        match Frame::json(&Response::error(resp.id, err), None) {
            Some(f) => f,
            None => return false,
        }
    } else {
        frame
    };
    out.send(frame).await.is_ok()
}

async fn start_subscription(
    shared: &Arc<Shared>,
    params: Option<Value>,
    out: &mpsc::Sender<Frame>,
    cancel: &CancellationToken,
    id: Option<Value>,
) -> Result<(), RpcError> {
    let mut p: SubscribeParams = jsonrpc::params(method::EVENTS_SUBSCRIBE, params)?;
    p.session_id = Service::new(Arc::clone(shared)).session_filter(p.session_id)?;
    let subscription = shared.log.subscription_id();
    // Subscribe to live events before taking the snapshot, so nothing
    // committed after the snapshot can be missed.
    let live = shared.log.subscribe();
    let head_seq = shared.log.head_seq();
    // Live sessions first, then ended ones newest first, as many as fit a
    // frame: a registry that has seen thousands of sessions still answers.
    let mut list: Vec<SessionView> = shared
        .registry
        .read()
        .map_err(|_| RpcError::new(code::INTERNAL_ERROR, "registry lock poisoned"))?
        .list()
        .into_iter()
        .filter(|s| p.session_id.as_ref().is_none_or(|id| &s.id == id))
        .map(SessionView::new)
        .collect();
    list.sort_by_key(|v| {
        (
            v.session.status == agentd_core::Status::Ended,
            std::cmp::Reverse(v.session.last_event_ms),
        )
    });
    let total = list.len();
    let (fits, _) = crate::paging::page(&list, 0, None, crate::paging::PAGE_BYTES);
    list.truncate(fits.end);
    let result = SubscribeResult {
        subscription,
        head_seq,
        sessions_omitted: total - list.len(),
        sessions: list,
    };
    let value = serde_json::to_value(result)
        .map_err(|e| RpcError::new(code::INTERNAL_ERROR, e.to_string()))?;
    let start_after = p.after_seq.unwrap_or(head_seq);
    if let Some(id) = id {
        send_at(
            out,
            Response::ok(id, value),
            Some((subscription, start_after)),
        )
        .await;
    }
    tokio::spawn(subscribe::run(
        Arc::clone(shared),
        subscribe::Filter::new(subscription, p.session_id, p.kinds),
        start_after,
        head_seq,
        live,
        out.clone(),
        cancel.clone(),
    ));
    Ok(())
}
