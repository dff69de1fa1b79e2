//! `agentd hook` and `agentd statusline`: the same code as the small
//! `agentd-hook` binary (crate `agentd-hook`).

use std::path::Path;
use std::process::ExitCode;

/// `agentd hook [--agent claude|codex|gemini]`.
pub fn hook(home: Option<&Path>, agent: agentd_core::Agent) -> ExitCode {
    ExitCode::from(agentd_hook::hook(home, agent))
}

/// `agentd statusline [--chain CMD]`.
pub fn statusline(home: Option<&Path>, chain: Option<&str>) -> ExitCode {
    ExitCode::from(agentd_hook::statusline(home, chain))
}
