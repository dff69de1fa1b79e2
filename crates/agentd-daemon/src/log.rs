//! The event log as the daemon's tasks share it: the single writer's
//! queue, the newest committed `seq`, the live broadcast of committed
//! events, and a pool of read-only connections. Only the writer thread
//! commits ([`EventLog::committed`], [`EventLog::publish`]); everyone else
//! submits jobs, reads, or subscribes.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use agentd_store::{Reader, StoreError};
use tokio::sync::{broadcast, mpsc};

use crate::writer::Job;

/// An event as broadcast to subscribers: filter keys plus the serialized
/// notification params, built once for all subscribers.
#[derive(Debug)]
pub struct LiveEvent {
    /// Log position.
    pub seq: u64,
    /// Session id.
    pub session_id: String,
    /// Vendor-neutral kind.
    pub kind: String,
    /// The end of every subscriber's `event` notification line: the params
    /// object of [`agentd_proto::api::EventNotification`] after its
    /// `subscription` field (which each subscriber writes before it), the
    /// closing braces and the newline. Serialized once, shared by all.
    pub line_tail: Arc<str>,
}

/// Capacity of the live-event broadcast ring; a subscriber further behind
/// than this gets a `lagged` notice and catches up from the log.
pub const BROADCAST_CAPACITY: usize = 4096;

/// Most pooled read-only connections kept.
const POOLED_READERS: usize = 8;

/// The shared handle on the event log.
pub struct EventLog {
    queue: mpsc::Sender<Job>,
    head_seq: AtomicU64,
    live: broadcast::Sender<Arc<LiveEvent>>,
    db_path: PathBuf,
    readers: Mutex<Vec<Reader>>,
    next_subscription: AtomicU64,
    subscribers_dropped: AtomicU64,
}

impl EventLog {
    /// The log in `db_path`, whose newest committed seq is `head_seq`,
    /// written by the thread behind `queue`.
    pub fn new(queue: mpsc::Sender<Job>, head_seq: u64, db_path: PathBuf) -> EventLog {
        EventLog {
            queue,
            head_seq: AtomicU64::new(head_seq),
            live: broadcast::channel(BROADCAST_CAPACITY).0,
            db_path,
            readers: Mutex::new(Vec::new()),
            next_subscription: AtomicU64::new(1),
            subscribers_dropped: AtomicU64::new(0),
        }
    }

    /// Newest committed `seq`.
    pub fn head_seq(&self) -> u64 {
        self.head_seq.load(Ordering::Acquire)
    }

    /// The writer committed up to `seq` (never moves back).
    pub(crate) fn committed(&self, seq: u64) {
        self.head_seq.fetch_max(seq, Ordering::AcqRel);
    }

    /// The single writer's queue.
    pub fn queue(&self) -> &mpsc::Sender<Job> {
        &self.queue
    }

    /// Committed events from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<LiveEvent>> {
        self.live.subscribe()
    }

    /// Live subscribers now, on every face.
    pub fn subscribers(&self) -> usize {
        self.live.receiver_count()
    }

    /// The writer: a committed event, to every live subscriber.
    pub(crate) fn publish(&self, e: Arc<LiveEvent>) {
        let _ = self.live.send(e);
    }

    /// A fresh subscription id.
    pub fn subscription_id(&self) -> u64 {
        self.next_subscription.fetch_add(1, Ordering::Relaxed)
    }

    /// A subscriber was closed for falling too far behind.
    pub fn dropped_subscriber(&self) {
        self.subscribers_dropped.fetch_add(1, Ordering::Relaxed);
    }

    /// Subscribers closed for falling too far behind, since start.
    pub fn subscribers_dropped(&self) -> u64 {
        self.subscribers_dropped.load(Ordering::Relaxed)
    }

    /// Where the database is (`events.db`; the other stores sit beside it).
    pub fn db_path(&self) -> &Path {
        &self.db_path
    }

    /// Runs `f` with a pooled read-only connection, on a blocking thread.
    ///
    /// # Errors
    /// The store error of opening a reader or of `f`.
    pub async fn read<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&Reader) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let this = Arc::clone(self);
        let joined = tokio::task::spawn_blocking(move || {
            let pooled = this
                .readers
                .lock()
                .map(|mut pool| pool.pop())
                .unwrap_or(None);
            let reader = match pooled {
                Some(r) => r,
                None => Reader::open(&this.db_path)?,
            };
            let out = f(&reader);
            if let Ok(mut pool) = this.readers.lock()
                && pool.len() < POOLED_READERS
            {
                pool.push(reader);
            }
            out
        })
        .await;
        joined.unwrap_or_else(|e| {
            Err(StoreError::Corrupt {
                table: "events",
                why: format!("reader task failed: {e}"),
            })
        })
    }
}
