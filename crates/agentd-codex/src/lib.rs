//! The Codex CLI adapter.
//!
//! Codex CLI 0.171 runs command hooks configured in Claude Code's format
//! (`$CODEX_HOME/hooks.json`) and sends Claude-style payloads
//! (`session_id`, `transcript_path`, `cwd`, `hook_event_name`, `tool_name`,
//! `tool_input`, `tool_use_id`) and reads Claude-style replies
//! (`hookSpecificOutput.permissionDecision`). So this adapter is small: it
//! names Codex's own tools as Claude Code names them (so one set of rules
//! covers both), maps the events Claude Code lacks, and edits `hooks.json`.
//! Sources: `../shared/reference/stack.md` §Other agents and the payloads
//! in `fixtures/codex/hooks/` (captured from the real CLI).
//!
//! * [`hook`]: payloads → the shared view and lifecycle events.
//! * [`settings`]: the edits `agentd install --agent codex` makes.

#![warn(missing_docs)]

pub mod hook;
pub mod settings;

/// The agent sessions from this adapter carry.
pub const AGENT: agentd_core::Agent = agentd_core::Agent::Codex;
