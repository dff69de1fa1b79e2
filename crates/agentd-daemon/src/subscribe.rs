//! Delivering events to one subscriber.
//!
//! Live events come from a broadcast ring that never waits for anyone. A
//! subscriber that falls more than the ring's capacity behind (because its
//! client reads slowly) gets a `lagged` notice and then reads what it missed
//! from the log, in order, before rejoining the live stream. Delivery is by
//! `seq`: each event at most once, and — since the log has everything — none
//! is lost.

use std::sync::Arc;

use agentd_proto::api::Lagged;
use agentd_proto::{Notification, notification};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::ingest;
use crate::log::LiveEvent;
use crate::output::Frame;
use crate::state::Shared;

/// Events read from the log per catch-up query.
const CATCH_UP_PAGE: usize = 1000;

/// Which events a subscription wants.
#[derive(Debug, Clone)]
pub struct Filter {
    subscription: u64,
    session_id: Option<String>,
    kinds: Option<Vec<String>>,
}

impl Filter {
    /// A filter; `None` means everything.
    pub fn new(
        subscription: u64,
        session_id: Option<String>,
        kinds: Option<Vec<String>>,
    ) -> Filter {
        Filter {
            subscription,
            session_id,
            kinds,
        }
    }

    fn wants(&self, session_id: &str, kind: &str) -> bool {
        self.session_id.as_deref().is_none_or(|s| s == session_id)
            && self
                .kinds
                .as_ref()
                .is_none_or(|k| k.iter().any(|k| k == kind))
    }
}

/// Runs a subscription: catch up from `after_seq` to `head_seq` (the head
/// when `live` was taken), then follow live events. What was committed
/// after `head_seq` is in `live`, so it arrives as live events (with the
/// session) however late this task starts; a gap is filled from the log.
pub async fn run(
    shared: Arc<Shared>,
    filter: Filter,
    after_seq: u64,
    head_seq: u64,
    mut live: broadcast::Receiver<Arc<LiveEvent>>,
    out: mpsc::Sender<Frame>,
    cancel: CancellationToken,
) {
    let mut last = after_seq;
    if last < head_seq && !catch_up_to(&shared, &filter, &mut last, head_seq, &out).await {
        return;
    }
    // The start of every event line of this subscription, made once.
    let prefix: Arc<str> = format!(
        "{{\"jsonrpc\":\"2.0\",\"method\":\"{}\",\"params\":{{\"subscription\":{},",
        notification::EVENT,
        filter.subscription
    )
    .into();
    let mut batch: Vec<Arc<str>> = Vec::new();
    loop {
        let next = tokio::select! {
            _ = cancel.cancelled() => return,
            next = live.recv() => next,
        };
        let mut lagged = matches!(next, Err(RecvError::Lagged(_)));
        if matches!(next, Err(RecvError::Closed)) {
            return;
        }
        // Everything already in the ring goes out as one frame: under load
        // a subscriber wakes and writes once per batch, not per event.
        let mut pending = next.ok();
        while let Some(ev) = pending.take() {
            if ev.seq > last {
                if ev.seq > last + 1 && last < shared.log.head_seq() {
                    // Something between was committed before we subscribed
                    // (or skipped by a lag): fill the gap from the log.
                    if !flush(&filter, &prefix, &mut batch, last, &out).await
                        || !catch_up_to(&shared, &filter, &mut last, ev.seq - 1, &out).await
                    {
                        return;
                    }
                }
                last = ev.seq;
                if filter.wants(&ev.session_id, &ev.kind) {
                    batch.push(Arc::clone(ev.line_tail()));
                }
            }
            if batch.len() >= LIVE_BATCH {
                break;
            }
            match live.try_recv() {
                Ok(e) => pending = Some(e),
                Err(broadcast::error::TryRecvError::Lagged(_)) => lagged = true,
                Err(_) => {}
            }
        }
        if !flush(&filter, &prefix, &mut batch, last, &out).await {
            return;
        }
        if lagged {
            let notice = Lagged {
                subscription: filter.subscription,
                last_seq: last,
                closed: false,
                reason: None,
            };
            if !notify(
                &out,
                notification::LAGGED,
                serde_json::to_value(notice).unwrap_or_default(),
                None,
            )
            .await
            {
                return;
            }
            if !catch_up(&shared, &filter, &mut last, &out).await {
                return;
            }
        }
    }
}

/// Most live events sent as one frame.
const LIVE_BATCH: usize = 64;

/// Sends the gathered live events as one frame positioned at `last`.
async fn flush(
    filter: &Filter,
    prefix: &Arc<str>,
    batch: &mut Vec<Arc<str>>,
    last: u64,
    out: &mpsc::Sender<Frame>,
) -> bool {
    if batch.is_empty() {
        return true;
    }
    out.send(Frame {
        line: String::new(),
        events: Some((Arc::clone(prefix), std::mem::take(batch))),
        position: Some((filter.subscription, last)),
    })
    .await
    .is_ok()
}

async fn catch_up(
    shared: &Arc<Shared>,
    filter: &Filter,
    last: &mut u64,
    out: &mpsc::Sender<Frame>,
) -> bool {
    catch_up_to(shared, filter, last, u64::MAX, out).await
}

/// Sends logged events after `*last` up to `until` (inclusive); false when
/// the client is gone.
async fn catch_up_to(
    shared: &Arc<Shared>,
    filter: &Filter,
    last: &mut u64,
    until: u64,
    out: &mpsc::Sender<Frame>,
) -> bool {
    loop {
        let after = *last;
        // Everything committed up to here is covered by a short page.
        let head_before = shared.log.head_seq();
        let session = filter.session_id.clone();
        let kinds = filter.kinds.clone();
        let page = match shared
            .log
            .read(move |r| r.events(after, session.as_deref(), kinds.as_deref(), CATCH_UP_PAGE))
            .await
        {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "catch-up read failed; dropping subscriber");
                return false;
            }
        };
        let full = page.len() == CATCH_UP_PAGE;
        for row in page.into_iter().take_while(|r| r.seq <= until) {
            *last = row.seq;
            let mut params = serde_json::to_value(ingest::record_of(&row)).unwrap_or_default();
            if let Some(map) = params.as_object_mut() {
                map.insert("subscription".into(), filter.subscription.into());
            }
            if !notify(
                out,
                notification::EVENT,
                params,
                Some((filter.subscription, row.seq)),
            )
            .await
            {
                return false;
            }
        }
        if !full || *last >= until {
            // Filtered reads skip seqs; a short page covered them all.
            *last = (*last).max(head_before.min(until));
            return true;
        }
    }
}

async fn notify(
    out: &mpsc::Sender<Frame>,
    method: &str,
    params: serde_json::Value,
    position: Option<(u64, u64)>,
) -> bool {
    match Frame::json(&Notification::new(method, params), position) {
        Some(f) => out.send(f).await.is_ok(),
        None => false,
    }
}
