//! The Gemini CLI adapter.
//!
//! Gemini CLI 0.61 runs command hooks from `settings.json` (`hooks`, the
//! same event → `[{matcher?, hooks: [handler]}]` shape as Claude Code's)
//! with its own event names (BeforeTool, AfterTool, BeforeAgent,
//! AfterAgent, PreCompress, …), its own tool names (`run_shell_command`,
//! `read_file`, `replace`, …) and its own reply (`{"decision": "deny",
//! "reason"}`). Sources: the CLI's `docs/hooks/reference.md` (shipped in
//! the npm package), `../shared/reference/stack.md` §Other agents and the
//! payloads in `fixtures/gemini/hooks/` (captured from the real CLI).
//!
//! * [`hook`]: payloads → the shared (Claude Code) view and lifecycle events.
//! * [`output`]: agentd's reply → Gemini's hook output.
//! * [`settings`]: the edits `agentd install --agent gemini` makes.

#![warn(missing_docs)]

pub mod hook;
pub mod output;
pub mod settings;

/// The agent sessions from this adapter carry.
pub const AGENT: agentd_core::Agent = agentd_core::Agent::Gemini;
