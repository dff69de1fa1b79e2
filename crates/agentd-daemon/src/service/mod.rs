//! The service layer: every operation the daemon offers, as a typed method
//! of [`Service`]. This is the API boundary. Each face — JSON-RPC on the
//! socket ([`crate::jsonrpc`]), the HTTP hook route ([`crate::http`]), and
//! the faces to come — decodes its request, makes one call here, and
//! encodes the answer; it maps [`ServiceError`] to its wire form in one
//! place.
//!
//! Invariants:
//! - Nothing here knows a transport: no JSON-RPC method names, codes or
//!   frames, no HTTP, no raw `params` (`Option<Value>`): inputs are typed,
//!   results are typed (a hook payload stays JSON: it is the agent's data).
//! - Validation and limits live here, once (paging budgets, id prefixes,
//!   clamps), so every face gets the same answer to the same question.
//! - Faces never call each other; they share only this layer.
//!
//! One file per group of operations: `sessions`, `events`, `approvals`,
//! `ingest`, `history` (search, transcripts, usage, the index), `hooks`,
//! `launch`, `health`, `terminals` (PTYs), `web` (browsers signed in to the web UI),
//! `questions` (an agent asks the user: MCP `ask_human`), `plugins` (WASM
//! plugins, and judging a tool call as a hook would), `notify` (telling the
//! user through the notification sinks).

mod approvals;
mod events;
mod health;
mod history;
mod hooks;
mod ingest;
mod launch;
mod notify;
mod plugins;
mod questions;
mod sessions;
mod slots;
mod terminals;
mod web;

use std::sync::Arc;

pub use crate::error::ServiceError;
pub use events::{MAX_EVENTS_PAGE, RESPONSE_BUDGET};
pub use ingest::Ingested;
pub use questions::{Answer, Asker, Question};
pub use sessions::SessionsListed;
pub use slots::MAX_SLOT_WAIT;

use crate::state::Shared;

/// The daemon's operations; a cheap clonable handle (an `Arc`) any face
/// can hold.
#[derive(Clone)]
pub struct Service {
    shared: Arc<Shared>,
}

impl Service {
    /// The service over the daemon's state.
    pub fn new(shared: Arc<Shared>) -> Service {
        Service { shared }
    }
}
