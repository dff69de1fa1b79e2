//! The event log as the daemon's tasks share it: the single writer's
//! queue, the newest committed `seq`, the live broadcast of committed
//! events, and a pool of read-only connections. Only the writer thread
//! commits ([`EventLog::committed`], [`EventLog::publish`]); everyone else
//! submits jobs, reads, or subscribes.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use agentd_core::Session;
use agentd_proto::api::{EventRecord, rfc3339};
use agentd_store::{Reader, StoreError};
use serde_json::Value;
use tokio::sync::{broadcast, mpsc};

use crate::ingest::{Prepared, to_json};
use crate::writer::Job;

/// An event as broadcast to subscribers: filter keys, and what each face
/// sends, built once — lazily, by the first subscriber that needs it, not
/// by the writer thread (whose every microsecond is ingest throughput).
#[derive(Debug)]
pub struct LiveEvent {
    /// Log position.
    pub seq: u64,
    /// Session id.
    pub session_id: String,
    /// Vendor-neutral kind.
    pub kind: String,
    parts: Parts,
    line_tail: OnceLock<Arc<str>>,
    record: OnceLock<Arc<EventRecord>>,
}

/// What a live event is made of, as the writer had it.
#[derive(Debug)]
struct Parts {
    ts_ms: i64,
    source: &'static str,
    name: String,
    payload: String,
    env: String,
    /// The session after this event.
    session: Session,
}

impl LiveEvent {
    /// Event `seq` as stored from `p`, with its session after it.
    pub(crate) fn new(seq: u64, p: &Prepared, session: Session) -> LiveEvent {
        LiveEvent {
            seq,
            session_id: p.event.session_id.clone(),
            kind: p.event.kind.name().to_owned(),
            parts: Parts {
                ts_ms: p.event.ts_ms,
                source: p.source.as_str(),
                name: p.name.clone(),
                payload: p.payload.clone(),
                env: p.env.clone(),
                session,
            },
            line_tail: OnceLock::new(),
            record: OnceLock::new(),
        }
    }

    /// The end of every socket subscriber's `event` notification line: the
    /// params object of [`agentd_proto::api::EventNotification`] after its
    /// `subscription` field (which each subscriber writes before it), the
    /// closing braces and the newline. Spliced from the stored JSON, not
    /// re-parsed.
    pub fn line_tail(&self) -> &Arc<str> {
        self.line_tail.get_or_init(|| {
            #[derive(serde::Serialize)]
            struct View<'a> {
                #[serde(flatten)]
                session: &'a Session,
                updated_at: String,
                started_at: String,
            }
            let p = &self.parts;
            let head = self.head();
            let view = to_json(&View {
                session: &p.session,
                updated_at: rfc3339(p.session.last_event_ms),
                started_at: rfc3339(p.session.first_event_ms),
            });
            format!(
                "{head},\"payload\":{},\"env\":{},\"session\":{view}}}}}\n",
                p.payload, p.env
            )
            .into()
        })
    }

    /// The session after this event.
    pub fn session(&self) -> &Session {
        &self.parts.session
    }

    /// The event as a typed record (for GraphQL and gRPC streams), parsed
    /// once for all of them.
    pub fn record(&self) -> &Arc<EventRecord> {
        self.record.get_or_init(|| {
            let p = &self.parts;
            Arc::new(EventRecord {
                seq: self.seq,
                ts: rfc3339(p.ts_ms),
                ts_ms: p.ts_ms,
                session_id: self.session_id.clone(),
                agent: p.session.agent.clone(),
                source: p.source.to_owned(),
                name: p.name.clone(),
                kind: self.kind.clone(),
                payload: serde_json::from_str(&p.payload).unwrap_or(Value::Null),
                env: serde_json::from_str(&p.env).unwrap_or(Value::Null),
            })
        })
    }

    /// `"seq":…,"kind":"…"`: the record's leading fields, without braces.
    fn head(&self) -> String {
        #[derive(serde::Serialize)]
        struct Head<'a> {
            seq: u64,
            ts: String,
            ts_ms: i64,
            session_id: &'a str,
            agent: &'a str,
            source: &'a str,
            name: &'a str,
            kind: &'a str,
        }
        let p = &self.parts;
        let head = to_json(&Head {
            seq: self.seq,
            ts: rfc3339(p.ts_ms),
            ts_ms: p.ts_ms,
            session_id: &self.session_id,
            agent: &p.session.agent,
            source: p.source,
            name: &p.name,
            kind: &self.kind,
        });
        let fields = head.strip_prefix('{').unwrap_or(&head);
        fields.strip_suffix('}').unwrap_or(fields).to_owned()
    }
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
