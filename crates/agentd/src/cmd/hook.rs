//! `agentd hook` and `agentd statusline`: the same code as the small
//! `agentd-hook` binary (crate `agentd-hook`).

use std::path::Path;
use std::process::ExitCode;

/// `agentd hook`.
pub fn hook(home: Option<&Path>) -> ExitCode {
    ExitCode::from(agentd_hook::hook(home))
}

/// `agentd statusline [--chain CMD]`.
pub fn statusline(home: Option<&Path>, chain: Option<&str>) -> ExitCode {
    ExitCode::from(agentd_hook::statusline(home, chain))
}
