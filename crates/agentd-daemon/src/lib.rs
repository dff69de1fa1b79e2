//! The agentd daemon.
//!
//! Shape (after tokio's mini-redis and qdrant): [`server`] binds the Unix
//! socket and the HTTP listener and owns shutdown; each socket client gets a
//! [`connection`] (one reader loop, one writer task) whose requests the
//! [`jsonrpc`] face decodes into one call of the [`service`] layer, where
//! every operation lives; [`http`] is the other face. Inputs are mapped by
//! [`ingest`]; writes go through the single [`writer`] thread, which appends
//! to the SQLite log, folds events into the session registry and broadcasts
//! them to [`subscribe`]rs; [`reaper`] ends sessions whose agent process is
//! gone; [`spool`] ingests hook events that arrived while no daemon ran;
//! [`approvals`] holds tool calls for a human.

#![warn(missing_docs)]

pub mod agent_pid;
pub mod agents;
pub mod approvals;
pub mod blocking;
pub mod connection;
pub mod dial;
pub mod discovery;
pub mod error;
pub mod graphql;
pub mod grpc;
pub mod hooks;
pub mod hq_link;
pub mod http;
pub mod index;
pub mod ingest;
pub mod jsonrpc;
pub mod launch;
pub mod limits;
pub mod lock;
pub mod log;
pub mod mcp;
pub mod metrics;
pub mod monitor;
pub mod notify;
pub mod output;
pub mod paging;
pub mod plugins;
pub mod procfs;
pub mod reaper;
pub mod retention;
pub mod server;
pub mod service;
pub mod slots;
pub mod spool;
pub mod state;
pub mod subscribe;
pub mod terminal_stream;
pub mod terminals;
pub mod tls;
pub mod trim;
pub mod web;
pub mod writer;

pub use server::{Daemon, DaemonError};

/// Milliseconds since the Unix epoch, now.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Re-exported so the binary can drive shutdown without naming tokio-util.
pub use tokio_util::sync::CancellationToken;
