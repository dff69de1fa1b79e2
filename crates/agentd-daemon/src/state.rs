//! State shared by every task of the daemon.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use agentd_core::Registry;
use agentd_store::{Reader, StoreError};
use tokio::sync::{broadcast, mpsc};

use agentd_client::Config;

use crate::approvals::Held;
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

/// Shared daemon state.
pub struct Shared {
    /// The session registry; written only by the ingest thread.
    pub registry: RwLock<Registry>,
    /// Newest committed `seq`.
    pub head_seq: AtomicU64,
    /// Queue of the single writer.
    pub ingest: mpsc::Sender<Job>,
    /// Live events.
    pub live: broadcast::Sender<Arc<LiveEvent>>,
    /// When the daemon started.
    pub started: Instant,
    /// Bound HTTP address, if HTTP is on.
    pub http_addr: RwLock<Option<String>>,
    /// Where the database is, for opening readers.
    pub db_path: PathBuf,
    /// Settings (rules, approval timeout).
    pub config: Config,
    /// Pending approvals created by this daemon, with their held hook calls.
    pub pending: Mutex<HashMap<String, Held>>,
    /// Sessions this daemon launched, by session id.
    pub launched: crate::launch::Procs,
    /// Open `can_use_tool` requests of launched sessions: request id → approval id.
    pub control_requests: Mutex<HashMap<String, String>>,
    /// Background tasks shutdown waits for (launched sessions' I/O).
    pub tasks: tokio_util::task::TaskTracker,
    /// Cancelled when the daemon shuts down.
    pub shutdown: tokio_util::sync::CancellationToken,
    /// The transcript index's thread, while it runs.
    pub index: Mutex<Option<agentd_index::IndexHandle>>,
    /// Progress of the index (kept after the thread stops).
    pub index_progress: Mutex<Option<Arc<agentd_index::Progress>>>,
    /// Where the transcript index is.
    pub index_db: PathBuf,
    /// The hook runner (`None` when its store cannot be opened).
    pub hooks: Option<crate::hooks::Runner>,
    /// Bytes all socket connections hold in partial frames.
    pub budget: crate::limits::BufferBudget,
    /// Socket connections being served, by kind.
    pub connections: crate::limits::Connections,
    /// Most socket connections served at once ([`crate::limits::socket_cap`]).
    pub socket_cap: usize,
    /// Subscribers closed for falling too far behind, since start.
    pub subscribers_dropped: AtomicU64,
    /// The session list being paged through (`sessions.list` with an offset).
    pub session_pages: crate::paging::Continuation<agentd_proto::api::SessionView>,
    /// Runtime slots (`[slots]`), and a wake-up for those waiting for one.
    pub slots: Mutex<crate::slots::SlotTable>,
    /// Notified whenever a slot is freed.
    pub slot_freed: tokio::sync::Notify,
    /// The ranking of the search being paged through (`search` with an offset).
    pub search_pages: crate::paging::Continuation<agentd_index::query::Ranked>,
    readers: Mutex<Vec<Reader>>,
    next_subscription: AtomicU64,
}

impl Shared {
    /// New shared state around an ingest queue and a loaded registry.
    pub fn new(
        registry: Registry,
        head_seq: u64,
        ingest: mpsc::Sender<Job>,
        db_path: PathBuf,
        config: Config,
    ) -> Shared {
        let index_db = db_path.with_file_name("index.db");
        let slots = crate::slots::SlotTable::new(config.slots.max, config.slots.projects.clone());
        Shared {
            registry: RwLock::new(registry),
            head_seq: AtomicU64::new(head_seq),
            ingest,
            live: broadcast::channel(BROADCAST_CAPACITY).0,
            started: Instant::now(),
            http_addr: RwLock::new(None),
            db_path,
            config,
            pending: Mutex::new(HashMap::new()),
            launched: Mutex::new(HashMap::new()),
            control_requests: Mutex::new(HashMap::new()),
            tasks: tokio_util::task::TaskTracker::new(),
            shutdown: tokio_util::sync::CancellationToken::new(),
            index: Mutex::new(None),
            index_progress: Mutex::new(None),
            index_db,
            hooks: None,
            budget: crate::limits::BufferBudget::new(crate::limits::MAX_BUFFERED_BYTES),
            connections: crate::limits::Connections::default(),
            socket_cap: 4096,
            subscribers_dropped: AtomicU64::new(0),
            session_pages: Default::default(),
            search_pages: Default::default(),
            slots: Mutex::new(slots),
            slot_freed: tokio::sync::Notify::new(),
            readers: Mutex::new(Vec::new()),
            next_subscription: AtomicU64::new(1),
        }
    }

    /// Newest committed `seq`.
    pub fn head_seq(&self) -> u64 {
        self.head_seq.load(Ordering::Acquire)
    }

    /// A fresh subscription id.
    pub fn subscription_id(&self) -> u64 {
        self.next_subscription.fetch_add(1, Ordering::Relaxed)
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
                && pool.len() < 8
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
