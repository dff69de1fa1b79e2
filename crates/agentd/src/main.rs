//! `agentd`: one binary for the daemon, the Claude Code hook and status-line
//! clients, installation, and the CLI.

mod cli;
mod cmd;
mod render;
mod render_index;
mod when;

use std::process::ExitCode;

use clap::Parser;

/// Exit code when the daemon is not running (CLI queries).
pub const EXIT_NOT_RUNNING: u8 = 2;

fn main() -> ExitCode {
    // The hook path first, before any other start-up: `agentd [--home H]
    // hook` is what Claude Code runs on every tool call when the small
    // `agentd-hook` is not installed.
    let argv: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let (home, rest) = match argv.as_slice() {
        [flag, home, rest @ ..] if flag == "--home" => (Some(std::path::Path::new(home)), rest),
        rest => (None, rest),
    };
    let agent = match rest {
        [verb] if verb == "hook" => Some(agentd_core::Agent::Claude),
        [verb, flag, name] if verb == "hook" && flag == "--agent" => {
            name.to_str().and_then(agentd_core::Agent::parse)
        }
        _ => None,
    };
    if let Some(agent) = agent {
        return ExitCode::from(agentd_hook::hook(home, agent));
    }
    let args = cli::Cli::parse();
    cmd::run(args)
}
