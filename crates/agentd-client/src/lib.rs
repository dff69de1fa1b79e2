//! What every agentd process shares: where things live ([`paths`]), the
//! settings ([`config`]), and a blocking client for the daemon's Unix-socket
//! JSON-RPC API ([`client`]), and the [`spool`] of events that arrived
//! while no daemon ran.
//!
//! Blocking on purpose: `agentd hook` runs on every Claude Code tool call and
//! must not pay for an async runtime.

#![warn(missing_docs)]

pub mod client;
pub mod config;
pub mod ops;
pub mod paths;
pub mod spool;
pub mod trust;

pub use client::{Client, ClientError};
pub use config::{Config, ConfigError};
pub use paths::{Paths, PathsError, claude_config_dir, codex_home, gemini_dir};
