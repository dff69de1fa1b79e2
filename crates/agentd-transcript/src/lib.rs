//! Claude Code transcripts (`~/.claude/projects/<project>/<session>.jsonl`),
//! one line at a time. Pure: no IO.
//!
//! * [`parse_line`]: a JSONL line → a [`Record`] (type, chain ids, times,
//!   searchable text, tool calls, token [`Usage`], titles).
//! * [`pricing`]: USD per million tokens per model, shipped in the binary.
//! * [`snippet`]: a highlighted excerpt of a hit, for search results.
//!
//! Format reference: `../shared/reference/claude-code.md` §4 (record types,
//! subagent layouts, compaction, growth).

#![warn(missing_docs)]

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
