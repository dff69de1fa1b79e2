//! agentd's domain model, free of IO and of any agent's wire format.
//!
//! * [`agent`]: which coding agent ([`Agent`]) a session belongs to.
//! * [`approval`]: a tool call held for a human, with exactly one outcome.
//! * [`event`]: vendor-neutral lifecycle events ([`LifecycleEvent`]) that adapters
//!   (such as `agentd-claude`) produce from hook payloads and status-line updates.
//! * [`session`]: the per-session state machine ([`Session::apply`]) and its
//!   [`Status`].
//! * [`registry`]: the set of sessions, a pure fold over the event log.
//! * [`text`]: neutralising untrusted text before it reaches a terminal.

#![warn(missing_docs)]

pub mod agent;
pub mod approval;
pub mod event;
pub mod registry;
pub mod session;
pub mod text;

pub use agent::Agent;
pub use approval::{Approval, ApprovalStatus, Decision, Origin};
pub use event::{EventContext, EventKind, LifecycleEvent};
pub use registry::Registry;
pub use session::{Session, Status, Subagent};
