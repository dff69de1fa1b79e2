//! State shared by every task of the daemon.

use std::path::PathBuf;

use std::sync::{Arc, RwLock};
use std::time::Instant;

use agentd_core::Registry;
use tokio::sync::mpsc;

use agentd_client::Config;

use crate::log::EventLog;
use crate::writer::Job;

/// Shared daemon state.
pub struct Shared {
    /// The session registry; written only by the ingest thread.
    pub registry: RwLock<Registry>,
    /// The event log: the writer's queue, the head, live events, readers.
    pub log: Arc<EventLog>,
    /// When the daemon started.
    pub started: Instant,
    /// Bound HTTP address, if HTTP is on.
    pub http_addr: RwLock<Option<String>>,
    /// Settings (rules, approval timeout).
    pub config: Config,
    /// Pending approvals created by this daemon, with their held hook calls.
    pub holds: crate::approvals::Holds,
    /// Sessions this daemon launched, and their open `can_use_tool` requests.
    pub launched: crate::launch::Launches,
    /// Background tasks shutdown waits for (launched sessions' I/O).
    pub tasks: tokio_util::task::TaskTracker,
    /// Cancelled when the daemon shuts down.
    pub shutdown: tokio_util::sync::CancellationToken,
    /// The transcript index: its thread, progress, and search paging.
    pub index: crate::index::TranscriptIndex,
    /// The hook runner (`None` when its store cannot be opened).
    pub hooks: Option<crate::hooks::Runner>,
    /// Bytes all socket connections hold in partial frames.
    pub budget: crate::limits::BufferBudget,
    /// Socket connections being served, by kind.
    pub connections: crate::limits::Connections,
    /// Most socket connections served at once ([`crate::limits::socket_cap`]).
    pub socket_cap: usize,
    /// The session list being paged through (`sessions.list` with an offset).
    pub session_pages: crate::paging::Continuation<agentd_proto::api::SessionView>,
    /// Runtime slots (`[slots]`), and a wake-up for those waiting for one.
    pub slots: crate::slots::Slots,
    /// Terminals started here (PTYs, the web UI's).
    pub terminals: crate::terminals::Terminals,
    /// Browsers signed in to the web UI (`web-sessions.json`).
    pub web: crate::web::auth::WebSessions,
    /// The names beside loopback the HTTP listener answers to (a TLS
    /// listener's addresses; its Host check and sign-in links use them).
    pub http_hosts: crate::http::Hosts,
    /// The link to HQ (`[hq] url`), for `health`.
    pub hq_link: Arc<crate::hq_link::LinkStatus>,
    /// WASM plugins (`None` until start-up opens them, and in tests).
    pub plugins: Option<crate::plugins::PluginHost>,
    /// "Needs you" notification sinks and their counters.
    pub notify: crate::notify::Notifications,
    /// CPU and memory of live sessions' process trees.
    pub monitor: crate::monitor::Monitor,
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
        let index = crate::index::TranscriptIndex::new(
            db_path.with_file_name("index.db"),
            config.index.enabled,
        );
        let web = crate::web::auth::WebSessions::load(db_path.with_file_name("web-sessions.json"));
        let slots = crate::slots::SlotTable::new(config.slots.max, config.slots.projects.clone());
        let notify = crate::notify::Notifications::new(&config.notify);
        Shared {
            registry: RwLock::new(registry),
            log: Arc::new(EventLog::new(ingest, head_seq, db_path)),
            started: Instant::now(),
            http_addr: RwLock::new(None),
            config,
            index,
            holds: crate::approvals::Holds::default(),
            launched: crate::launch::Launches::default(),
            tasks: tokio_util::task::TaskTracker::new(),
            shutdown: tokio_util::sync::CancellationToken::new(),
            hooks: None,
            budget: crate::limits::BufferBudget::new(crate::limits::MAX_BUFFERED_BYTES),
            connections: crate::limits::Connections::default(),
            socket_cap: 4096,
            session_pages: Default::default(),
            slots: crate::slots::Slots::new(slots),
            web,
            http_hosts: Default::default(),
            terminals: Default::default(),
            hq_link: Default::default(),
            plugins: None,
            notify,
            monitor: Default::default(),
        }
    }
}
