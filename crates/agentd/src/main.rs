//! `agentd`: one binary for the daemon, the Claude Code hook and status-line
//! clients, installation, and the CLI.

mod cli;
mod cmd;
mod render;
mod render_index;

use std::process::ExitCode;

use clap::Parser;

/// Exit code when the daemon is not running (CLI queries).
pub const EXIT_NOT_RUNNING: u8 = 2;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    cmd::run(args)
}
