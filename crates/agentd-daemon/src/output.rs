//! A connection's output: one queue of whole frames, one writer task.
//!
//! Frames never interleave, and a client that stops reading only ever
//! stalls itself: a write that makes no progress for [`WRITE_TIMEOUT`] ends
//! the connection. It does not end silently: the writer finishes the frame
//! it was writing, drops everything still queued, and sends each
//! subscription a final `lagged` notification with `closed: true`, the
//! reason and the last `seq` the client was sent (so it can subscribe again
//! after it), waiting up to [`CLOSE_GRACE`] for the client to read it. The
//! drop is logged and counted in `health`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use agentd_proto::api::Lagged;
use agentd_proto::{Notification, notification};
use tokio::io::AsyncWriteExt;
use tokio::net::unix::OwnedWriteHalf;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::state::Shared;

/// How long a write may make no progress before the client is dropped.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a dropped client has to read its final notices.
pub const CLOSE_GRACE: Duration = Duration::from_secs(60);

/// Most bytes gathered from the queue into one write.
pub const WRITE_BATCH_BYTES: usize = 64 << 10;

/// A connection keeps a write buffer between writes only up to this size;
/// a subscriber's big batches allocate theirs per write.
const KEEP_BUFFER_BYTES: usize = 16 << 10;

/// Whole lines (newline included): `line`, then for each of `events`
/// the subscription's `prefix` and the event's `tail` — the part that is
/// the same for every subscriber (serialized once, shared, not copied per
/// subscriber) — and the subscription position the frame carries:
/// `(subscription, seq)` once it is written, the client has everything of
/// that subscription up to `seq`.
#[derive(Debug, Default)]
pub struct Frame {
    /// A whole JSON line (or none).
    pub line: String,
    /// Event notifications: one subscription's line start, and each
    /// event's line end.
    pub events: Option<(Arc<str>, Vec<Arc<str>>)>,
    /// `(subscription, seq)` for event notifications and subscribe replies.
    pub position: Option<(u64, u64)>,
}

impl Frame {
    /// `msg` (a response or notification) as one line, carrying
    /// `position`; `None` when it cannot be serialized.
    pub fn json(msg: &impl serde::Serialize, position: Option<(u64, u64)>) -> Option<Frame> {
        let mut line = serde_json::to_string(msg).ok()?;
        line.push('\n');
        Some(Frame {
            line,
            events: None,
            position,
        })
    }
}

impl From<String> for Frame {
    fn from(line: String) -> Frame {
        Frame {
            line,
            ..Frame::default()
        }
    }
}

/// Writes `rx`'s frames to `w` until the queue closes, a write fails, or a
/// write makes no progress for [`WRITE_TIMEOUT`] (then closes as the module
/// says). Cancels `conn` when it stops.
pub async fn write_frames(
    mut w: OwnedWriteHalf,
    mut rx: mpsc::Receiver<Frame>,
    conn: CancellationToken,
    shared: Arc<Shared>,
    client: Arc<std::sync::Mutex<String>>,
) {
    let mut positions: BTreeMap<u64, u64> = BTreeMap::new();
    // Empty until needed: a hook connection writes two short lines, and a
    // thousand of them at once must not hold a buffer each (BENCHMARKS.md,
    // load).
    let mut buf: Vec<u8> = Vec::new();
    // Where each gathered frame ends in `buf`, and its position.
    let mut ends: Vec<(usize, Option<(u64, u64)>)> = Vec::new();
    while let Some(first) = rx.recv().await {
        // Everything already queued goes out in one write: under load a
        // subscriber costs one syscall per batch, not one per event.
        buf.clear();
        ends.clear();
        if first.events.is_some() {
            // A subscriber's batch: one allocation, not a chain of
            // doublings (it is freed after the write when big).
            buf.reserve(WRITE_BATCH_BYTES + (8 << 10));
        }
        let mut next = Some(first);
        while let Some(frame) = next.take() {
            buf.extend_from_slice(frame.line.as_bytes());
            if let Some((prefix, tails)) = &frame.events {
                for tail in tails {
                    buf.extend_from_slice(prefix.as_bytes());
                    buf.extend_from_slice(tail.as_bytes());
                }
            }
            ends.push((buf.len(), frame.position));
            if buf.len() < WRITE_BATCH_BYTES {
                next = rx.try_recv().ok();
            }
        }
        let mut done = 0;
        let mut stalled = false;
        while done < buf.len() {
            match tokio::time::timeout(WRITE_TIMEOUT, w.write(&buf[done..])).await {
                Ok(Ok(0)) | Ok(Err(_)) => {
                    conn.cancel();
                    return;
                }
                Ok(Ok(n)) => done += n,
                Err(_) => {
                    stalled = true;
                    break;
                }
            }
        }
        // Frames written whole count; so does the one cut short, which is
        // finished before the final notices. The rest is dropped.
        let cut = ends
            .iter()
            .position(|(end, _)| *end > done)
            .unwrap_or(ends.len());
        let counted = if stalled {
            (cut + 1).min(ends.len())
        } else {
            ends.len()
        };
        for (_, pos) in &ends[..counted] {
            if let Some((sub, seq)) = pos {
                positions.insert(*sub, *seq);
            }
        }
        if stalled {
            let finish = ends.get(cut).map_or(done, |(end, _)| *end);
            // Free what is queued now; the client has only the socket's
            // buffer and the notices below.
            conn.cancel();
            drop(rx);
            close_lagging(&mut w, &buf[done..finish], &positions, &shared, &client).await;
            return;
        }
        if buf.capacity() > KEEP_BUFFER_BYTES {
            buf = Vec::new();
        }
    }
    conn.cancel();
    let _ = w.shutdown().await;
}

async fn close_lagging(
    w: &mut OwnedWriteHalf,
    rest: &[u8],
    positions: &BTreeMap<u64, u64>,
    shared: &Shared,
    client: &std::sync::Mutex<String>,
) {
    let client = client.lock().map(|c| c.clone()).unwrap_or_default();
    let reason = format!(
        "the client read nothing for {} s; agentd closed the connection (subscribe again with after_seq to resume)",
        WRITE_TIMEOUT.as_secs()
    );
    let mut tail = rest.to_vec();
    for (&subscription, &last_seq) in positions {
        let notice = Lagged {
            subscription,
            last_seq,
            closed: true,
            reason: Some(reason.clone()),
        };
        let n = Notification::new(
            notification::LAGGED,
            serde_json::to_value(notice).unwrap_or_default(),
        );
        if let Ok(line) = serde_json::to_string(&n) {
            tail.extend_from_slice(line.as_bytes());
            tail.push(b'\n');
        }
        shared.log.dropped_subscriber();
    }
    tracing::warn!(
        client,
        subscriptions = ?positions,
        "dropping a client that stopped reading; it was sent a final `lagged` notice with its last seq"
    );
    let _ = tokio::time::timeout(CLOSE_GRACE, async {
        let _ = w.write_all(&tail).await;
        let _ = w.shutdown().await;
    })
    .await;
}
