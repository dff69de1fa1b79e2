//! agentd's WASM plugins: policy and automation written in any language
//! that compiles to WebAssembly, run in-process by wasmtime.
//!
//! A plugin is `NAME.wasm` + `NAME.toml` ([`manifest`]) in `<root>/plugins/`.
//! It can `decide` tool calls (allow, deny, ask, abstain — combined with
//! agentd's rules, deny beating ask beating allow: [`verdict`]) and react
//! to lifecycle events with effects (`on_event`). Each call runs in a fresh
//! instance with a deadline and a memory cap ([`runtime`], which also
//! documents the ABI); host functions are granted per plugin
//! ([`host`]); [`registry`] loads, reloads, counts failures and disables.
//!
//! Why wasmtime core modules and a JSON ABI rather than Extism or the
//! component model: see ARCHITECTURE.md § Dependencies.

pub mod docker;
pub mod host;
pub mod manifest;
pub mod net;
pub mod registry;
pub mod runtime;
pub mod telemetry;
pub mod verdict;
pub mod wat;
pub mod watch;

pub use host::{CallCtx, Host, StdHost};
pub use manifest::{Capability, Manifest};
pub use registry::{Decided, Plugins, Settings, ToolCall};
pub use verdict::{Verdict, strongest};
