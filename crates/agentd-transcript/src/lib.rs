//! Agent transcripts, one line at a time: Claude Code's
//! (`~/.claude/projects/<project>/<session>.jsonl`), Codex CLI's rollouts
//! ([`codex`]) and Gemini CLI's chats ([`gemini`]), all into one
//! [`Record`] ([`parse_line_of`]). Pure: no IO.
//!
//! * [`parse_line`]: a JSONL line → a [`Record`] (type, chain ids, times,
//!   searchable text, tool calls, token [`Usage`], titles).
//! * [`pricing`]: USD per million tokens per model, shipped in the binary.
//! * [`snippet`]: a highlighted excerpt of a hit, for search results.
//!
//! Format reference: `../shared/reference/claude-code.md` §4 (record types,
//! subagent layouts, compaction, growth).

#![warn(missing_docs)]

pub mod codex;
pub mod gemini;
pub mod pricing;
mod record;
mod snippet;
mod text;

pub use record::{
    LineError, MAX_TEXT_BYTES, MAX_TOOL_TEXT_BYTES, Record, Role, Title, TitleKind, ToolCall,
    Usage, parse_line,
};
pub use snippet::{query_terms, snippet};
pub use text::is_prompt_text;

/// Parses one line of `agent`'s transcript format: Claude Code's
/// ([`parse_line`]), a Codex rollout ([`codex::parse_line`]) or a Gemini
/// chat ([`gemini::parse_line`]).
///
/// # Errors
/// [`LineError`] when the line is not a JSON object.
pub fn parse_line_of(agent: agentd_core::Agent, line: &[u8]) -> Result<Record, LineError> {
    match agent {
        agentd_core::Agent::Claude => parse_line(line),
        agentd_core::Agent::Codex => codex::parse_line(line),
        agentd_core::Agent::Gemini => gemini::parse_line(line),
    }
}
