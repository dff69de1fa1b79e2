//! The hook runner: the project checks teams attach to Claude Code events
//! (format, lint, typecheck, test), run inside the daemon.
//!
//! * [`def`]: definitions from `agentd.toml`, `.agentd/hooks.toml` and
//!   enabled plugins' `hooks/hooks.json`, each with its origin.
//! * [`matcher`]: Claude Code's matcher semantics (exact, `|` lists, regex).
//! * [`fingerprint`]: content hashes (BLAKE3) of `if_changed` files; marker
//!   directories for `dirs_with`.
//! * [`exec`]: one run in its own process group, with a timeout that kills
//!   the group.
//! * [`store`]: run records and the change cache (`hooks.db`).
//! * [`validation`]: the change cache for runners outside agentd — is
//!   this hook's pass still good for these files, and record one.
//! * [`engine`]: one event — select, cache, run in parallel with
//!   `depends_on`, record, aggregate into Claude Code's output.
//!
//! A cache never skips a check it cannot prove unchanged: any doubt (no
//! record, an unreadable file or cache) runs the hook and says why.

#![warn(missing_docs)]

pub mod def;
pub mod engine;
pub mod exec;
pub mod fingerprint;
pub mod matcher;
pub mod store;
pub mod validation;

pub use def::{HookDef, HookSpec};
pub use engine::{Engine, Observer, Outcome, OutputLine, Request, RunEvent};
