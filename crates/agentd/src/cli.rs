//! Command-line syntax.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// A control plane for AI coding-agent sessions.
#[derive(Debug, Parser)]
#[command(name = "agentd", version, about, propagate_version = true)]
pub struct Cli {
    /// agentd root directory (default: $AGENTD_HOME, else $XDG_STATE_HOME/agentd).
    #[arg(long, global = true, value_name = "DIR")]
    pub home: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon in the foreground.
    Serve,
    /// Run the daemon in the background, logging to the root's agentd.log.
    Start,
    /// Stop the background daemon.
    Stop,
    /// Is the daemon running? (exit 2 when not)
    Status,
    /// Claude Code command hook: forwards the payload on stdin to the daemon.
    Hook,
    /// Claude Code status line: prints a one-line status and reports it.
    Statusline {
        /// The user's own status-line command to run and print instead.
        #[arg(long, value_name = "COMMAND")]
        chain: Option<String>,
    },
    /// Add agentd's hooks and status line to Claude Code's user settings.
    Install {
        /// Show what would change without writing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Remove what `agentd install` added.
    Uninstall {
        /// Show what would change without writing.
        #[arg(long)]
        dry_run: bool,
    },
    /// List sessions.
    Ls {
        /// JSON array instead of a table.
        #[arg(long)]
        json: bool,
        /// Include ended sessions (the table hides them by default; JSON has all).
        #[arg(long, short)]
        all: bool,
    },
    /// Show one session (id or unique id prefix).
    Show {
        /// Session id or prefix.
        id: String,
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Print the event log.
    Events {
        /// NDJSON, one event per line.
        #[arg(long)]
        json: bool,
        /// Only events after this sequence number (default: all; with
        /// --follow, only new ones).
        #[arg(long, value_name = "SEQ")]
        after: Option<u64>,
        /// Only this session's events.
        #[arg(long, value_name = "ID")]
        session: Option<String>,
        /// Keep printing new events as they arrive.
        #[arg(long, short)]
        follow: bool,
        /// At most this many events (without --follow; default: all, read
        /// page by page).
        #[arg(long)]
        limit: Option<usize>,
    },
    /// Daemon health.
    Health {
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Compact the event log now ([retention] in agentd.toml: payloads older
    /// than full_payload_days cut to their lifecycle fields, superseded
    /// status-line snapshots dropped) and return the space to the file system.
    ///
    /// Examples:
    ///   agentd gc
    ///   agentd gc --json
    Gc {
        /// JSON: `{examined, compacted, deleted, bytes_freed,
        /// file_bytes_before, file_bytes_after}`.
        #[arg(long)]
        json: bool,
    },
    /// List approvals (pending ones unless --all).
    Approvals {
        /// JSON array instead of a table.
        #[arg(long)]
        json: bool,
        /// Include resolved approvals.
        #[arg(long, short)]
        all: bool,
        /// Keep the list on screen, updated as approvals come and go.
        #[arg(long, short)]
        watch: bool,
    },
    /// Allow a pending tool call.
    Approve {
        /// Approval id (or a unique prefix).
        id: String,
        /// Run the tool with this input instead (JSON object).
        #[arg(long, value_name = "JSON")]
        input: Option<String>,
        /// Also apply the request's permission suggestions ("always allow").
        #[arg(long)]
        always: bool,
        /// Why, for the record.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Deny a pending tool call.
    Deny {
        /// Approval id (or a unique prefix).
        id: String,
        /// What the agent is told.
        #[arg(long, short)]
        message: Option<String>,
        /// Why, for the record.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Answer a pending question (AskUserQuestion).
    Answer {
        /// Approval id (or a unique prefix).
        id: String,
        /// The answer.
        text: String,
    },
    /// Start Claude Code headless, steered by agentd; prints the session id.
    Launch {
        /// Working directory (default: the current one).
        #[arg(long, value_name = "DIR")]
        cwd: Option<PathBuf>,
        /// Model (`--model`).
        #[arg(long)]
        model: Option<String>,
        /// Permission mode (`--permission-mode`).
        #[arg(long)]
        permission_mode: Option<String>,
        /// Session name (`--name`).
        #[arg(long)]
        name: Option<String>,
        /// The first prompt.
        prompt: String,
    },
    /// Send a message to a launched session (resumes it if it exited).
    ///
    /// Example: agentd send 52786e60 "now run the tests"
    Send {
        /// Session id (or a unique prefix).
        session: String,
        /// The message.
        message: String,
        /// The daemon's answer as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Interrupt a launched session's current turn.
    ///
    /// Example: agentd interrupt 52786e60
    Interrupt {
        /// Session id (or a unique prefix).
        session: String,
        /// The daemon's answer as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Stop a launched session: SIGINT, then SIGTERM, then SIGKILL to its process group.
    ///
    /// Example: agentd kill 52786e60
    Kill {
        /// Session id (or a unique prefix).
        session: String,
        /// The daemon's answer as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Full-text search over every transcript (ranked; words in any order).
    Search {
        /// Words to find.
        query: String,
        /// Only sessions whose project or cwd contains this.
        #[arg(long)]
        project: Option<String>,
        /// Only this session.
        #[arg(long)]
        session: Option<String>,
        /// Only messages since: YYYY-MM-DD (local), an RFC 3339 time, today, yesterday, or an age (30m, 12h, 7d, 2w).
        #[arg(long, value_name = "DATE")]
        since: Option<String>,
        /// At most this many hits.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// JSON array of hits (`session_id`, `ts`, `role`, `snippet`, `score`, …).
        #[arg(long)]
        json: bool,
    },
    /// A session's conversation from its transcript (id or unique prefix).
    Transcript {
        /// Session id or prefix.
        session: String,
        /// JSON: `{session_id, total, messages: [...]}`.
        #[arg(long)]
        json: bool,
    },
    /// Token usage and cost from the transcripts.
    Usage {
        /// Grouping (default: daily, as ccusage).
        #[arg(value_parser = ["daily", "monthly", "session", "project", "model"], default_value = "daily")]
        by: String,
        /// First day included: YYYY-MM-DD, an RFC 3339 time, today,
        /// yesterday, or an age (30m, 12h, 7d, 2w).
        #[arg(long)]
        since: Option<String>,
        /// Last day included (the same forms as --since).
        #[arg(long)]
        until: Option<String>,
        /// IANA time zone days are cut in (default: local).
        #[arg(long)]
        timezone: Option<String>,
        /// JSON: `{rows: [{period, input_tokens, …, cost_usd, models}], totals}`.
        #[arg(long)]
        json: bool,
    },
    /// The terminal dashboard: sessions, approvals, transcripts, search.
    Tui,
    /// The hook runner: project checks on Claude Code hook events.
    Hooks {
        #[command(subcommand)]
        command: HooksCommand,
    },
    /// Transcript index status.
    Index {
        /// Show a progress bar until the index is complete.
        #[arg(long)]
        wait: bool,
        /// Scan every transcript folder now (with --wait: until done).
        #[arg(long)]
        rescan: bool,
        /// JSON status.
        #[arg(long)]
        json: bool,
    },
    /// Policy rules.
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// Print the paths agentd uses.
    Paths {
        /// JSON object with root, config, db, socket, token, log.
        #[arg(long)]
        json: bool,
    },
    /// Check everything that can be wrong: the daemon and its version,
    /// hooks and status line in Claude Code's settings, the index, modes of
    /// the root, token and socket, HTTP, agent CLIs, disk use. Each problem
    /// comes with the command that fixes it; exits 1 when there is one.
    ///
    /// Examples:
    ///   agentd doctor
    ///   agentd doctor --json
    Doctor {
        /// JSON: `{ok, checks: [{check, ok, detail, fix?}]}`.
        #[arg(long)]
        json: bool,
    },
    /// Print a shell completion script.
    ///
    /// Install it where your shell looks, for example:
    ///   agentd completions bash > ~/.local/share/bash-completion/completions/agentd
    ///   agentd completions zsh > "${fpath[1]}/_agentd"
    ///   agentd completions fish > ~/.config/fish/completions/agentd.fish
    ///   agentd completions powershell >> $PROFILE
    Completions {
        /// bash, zsh, fish, powershell or elvish.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff).
    ///
    /// Install it with, for example:
    ///   agentd man > ~/.local/share/man/man1/agentd.1
    Man,
}

/// `agentd rules …`
#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Which rule of agentd.toml decides this tool call, and why.
    Test {
        /// Tool name, e.g. `Bash`.
        tool: String,
        /// Tool input as JSON, e.g. `{"command": "rm -rf build"}`.
        input: String,
        /// The session's working directory (project rules, relative paths).
        #[arg(long, value_name = "DIR")]
        cwd: Option<PathBuf>,
    },
}

/// `agentd hooks …`
#[derive(Debug, Subcommand)]
pub enum HooksCommand {
    /// The effective hook definitions and where each comes from.
    Ls {
        /// Project directory (default: the current one).
        #[arg(long, value_name = "DIR")]
        cwd: Option<PathBuf>,
        /// JSON: `{hooks: [...], errors: [...]}`.
        #[arg(long)]
        json: bool,
    },
    /// Run the hooks of an event now, with live output; exit 2 when a
    /// blocking hook fails.
    Run(HooksRun),
    /// Recorded hook runs, newest first.
    History {
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Only this session's.
        #[arg(long)]
        session: Option<String>,
        /// JSON array of runs (`hook`, `dir`, `session_id`, `started_ms`,
        /// `ended_ms`, `exit_code`, `outcome` ran|cached|timed_out|…, `why`, …).
        #[arg(long)]
        json: bool,
    },
}

/// `agentd hooks run …`
#[derive(Debug, clap::Args)]
pub struct HooksRun {
    /// Hook event (`Stop`, `PostToolUse`, …).
    pub event: String,
    /// Session id (passed to the hooks).
    #[arg(long)]
    pub session: Option<String>,
    /// Only in this directory.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Project directory (default: the current one).
    #[arg(long, value_name = "DIR")]
    pub cwd: Option<PathBuf>,
    /// Only this hook (repeatable).
    #[arg(long = "hook", value_name = "NAME")]
    pub hooks: Vec<String>,
    /// Run even when the files are unchanged.
    #[arg(long)]
    pub no_cache: bool,
    /// JSON result: `{runs, output, blocked}`.
    #[arg(long)]
    pub json: bool,
}
