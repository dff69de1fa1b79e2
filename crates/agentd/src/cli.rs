//! Command-line syntax.

use std::path::PathBuf;

use agentd_core::Agent;
use clap::{Parser, Subcommand};

/// What every command's help ends with.
const EXIT_STATUS: &str = "\
Exit status:
  0  success
  1  an error (the message says what was wrong and what to do), or no
     match (`search`, `ls --status`), as grep does
  2  a usage error, or the daemon is not running (`agentd start`);
     `hooks run`: a blocking hook failed

With --json, errors are a JSON object on stderr:
  {\"error\": {\"message\": \"...\", \"exit_code\": 1, \"code\": -32002}}";

/// A control plane for AI coding-agent sessions.
#[derive(Debug, Parser)]
#[command(
    name = "agentd",
    version,
    about,
    propagate_version = true,
    after_help = EXIT_STATUS
)]
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
    #[command(after_help = "Examples:\n  agentd serve\n  AGENTD_LOG=debug agentd serve")]
    Serve,
    /// Run the daemon in the background, logging to the root's agentd.log.
    #[command(after_help = "Examples:\n  agentd start\n  agentd --home /tmp/agentd-test start")]
    Start,
    /// Stop the background daemon.
    #[command(after_help = "Example:\n  agentd stop")]
    Stop,
    /// Is the daemon running? (exit 2 when not)
    #[command(after_help = "Example:\n  agentd status || agentd start")]
    Status,
    /// Command hook of Claude Code, Codex CLI or Gemini CLI: forwards the
    /// payload on stdin to the daemon and prints its answer.
    #[command(
        after_help = "The agents run it (see `agentd install --agent`). Example, by hand:\n  echo '{\"session_id\": \"s1\", \"hook_event_name\": \"Notification\"}' | agentd hook"
    )]
    Hook {
        /// The agent running the hook: its payload and reply shapes.
        #[arg(long, default_value = "claude", value_parser = parse_agent)]
        agent: Agent,
    },
    /// Claude Code status line: prints a one-line status and reports it.
    #[command(
        after_help = "Claude Code runs it (see `agentd install`). Example, keeping your own status line:\n  agentd statusline --chain '~/.claude/statusline.sh'"
    )]
    Statusline {
        /// The user's own status-line command to run and print instead.
        #[arg(long, value_name = "COMMAND")]
        chain: Option<String>,
    },
    /// Add agentd's hooks and status line to Claude Code's user settings.
    #[command(
        after_help = "Examples:\n  agentd install --dry-run\n  agentd install\n  agentd install --mcp"
    )]
    Install {
        /// Show what would change without writing.
        #[arg(long)]
        dry_run: bool,
        /// Register agentd's MCP server (`agentd mcp`) with Claude Code, user
        /// scope (`mcpServers.agentd` in ~/.claude.json), instead of the hooks.
        #[arg(long)]
        mcp: bool,
        /// Which agent's hooks: claude (~/.claude/settings.json), codex
        /// ($CODEX_HOME/hooks.json), gemini (~/.gemini/settings.json) or all.
        #[arg(long, default_value = "claude", value_name = "AGENT")]
        agent: AgentChoice,
    },
    /// Remove what `agentd install` added.
    #[command(after_help = "Example:\n  agentd uninstall --dry-run")]
    Uninstall {
        /// Show what would change without writing.
        #[arg(long)]
        dry_run: bool,
        /// Remove only the MCP server registration.
        #[arg(long)]
        mcp: bool,
        /// Which agent's hooks: claude, codex, gemini or all.
        #[arg(long, default_value = "claude", value_name = "AGENT")]
        agent: AgentChoice,
    },
    /// Serve agentd's MCP tools on stdin/stdout (search_history,
    /// get_transcript, list_sessions, usage, ask_human, get_answer,
    /// index_memory, search_memory) for Claude Code and other MCP clients.
    /// The daemon must be running. Over HTTP the same server is at /mcp.
    #[command(
        after_help = "Examples:\n  claude mcp add agentd -- agentd mcp\n  agentd install --mcp            # the same, by editing ~/.claude.json\n  claude -p --mcp-config '{\"mcpServers\":{\"agentd\":{\"command\":\"agentd\",\"args\":[\"mcp\"]}}}' 'what did we decide about the cache?'"
    )]
    Mcp,
    /// List sessions.
    #[command(
        after_help = "Examples:\n  agentd ls\n  agentd ls --all\n  agentd ls --status needs_approval,needs_input   # exit 1 when none\n  agentd ls --json | jq '.[] | .session.id'"
    )]
    Ls {
        /// JSON array instead of a table.
        #[arg(long)]
        json: bool,
        /// Include ended sessions (the table hides them by default; JSON has all).
        #[arg(long, short)]
        all: bool,
        /// Only sessions with one of these statuses (comma-separated:
        /// starting, working, needs_approval, needs_input, idle, ended);
        /// exit 1 when none has.
        #[arg(long, value_name = "STATUS", value_delimiter = ',')]
        status: Vec<String>,
        /// Only this agent's sessions: claude, codex or gemini.
        #[arg(long, value_parser = parse_agent)]
        agent: Option<Agent>,
        /// Every machine's sessions from this HQ (`http://HOST:PORT`), with
        /// a runner column; the user token from `AGENTD_HQ_TOKEN`.
        #[arg(long, value_name = "URL")]
        hq: Option<String>,
    },
    /// Show one session (id or unique id prefix; default: the latest
    /// session in the current directory).
    #[command(
        after_help = "Examples:\n  agentd show            # the latest session here\n  agentd show 52786e60\n  agentd show 52786e60 --json"
    )]
    Show {
        /// Session id or prefix (default: the latest session whose cwd is
        /// the current directory).
        id: Option<String>,
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Print the event log.
    #[command(
        after_help = "Examples:\n  agentd events --follow\n  agentd events --session          # the latest session here\n  agentd events --session 52786e60 --json\n  agentd events --after 1200 --limit 50"
    )]
    Events {
        /// NDJSON, one event per line.
        #[arg(long)]
        json: bool,
        /// Only events after this sequence number (default: all; with
        /// --follow, only new ones).
        #[arg(long, value_name = "SEQ")]
        after: Option<u64>,
        /// Only this session's events (id or prefix; given without a value:
        /// the latest session in the current directory).
        #[arg(long, value_name = "ID", num_args = 0..=1, default_missing_value = "")]
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
    #[command(after_help = "Examples:\n  agentd health\n  agentd health --json | jq .limits")]
    Health {
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Compact the event log now ([retention] in agentd.toml: payloads older
    /// than full_payload_days cut to their lifecycle fields, superseded
    /// status-line snapshots dropped) and return the space to the file system.
    #[command(after_help = "Examples:\n  agentd gc\n  agentd gc --json")]
    Gc {
        /// JSON: `{examined, compacted, deleted, bytes_freed,
        /// file_bytes_before, file_bytes_after}`.
        #[arg(long)]
        json: bool,
    },
    /// List approvals (pending ones unless --all).
    #[command(
        after_help = "Examples:\n  agentd approvals\n  agentd approvals --watch\n  agentd approvals --all --json"
    )]
    Approvals {
        /// JSON array instead of a table.
        #[arg(long)]
        json: bool,
        /// Include resolved approvals.
        #[arg(long, short)]
        all: bool,
        /// Keep the list on screen, updated as approvals come and go.
        #[arg(long, short, conflicts_with = "hq")]
        watch: bool,
        /// Every runner's approvals from this HQ (`http://HOST:PORT`); the
        /// user token from `AGENTD_HQ_TOKEN`.
        #[arg(long, value_name = "URL")]
        hq: Option<String>,
    },
    /// Allow a pending tool call.
    #[command(
        after_help = "Examples:\n  agentd approve apr_3f2a\n  agentd approve apr_3f2a --always\n  agentd approve apr_3f2a --input '{\"command\": \"cargo test --offline\"}'"
    )]
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
        /// Decide through this HQ (`http://HOST:PORT`), on whichever runner
        /// holds it; the user token (role approver) from `AGENTD_HQ_TOKEN`.
        #[arg(long, value_name = "URL")]
        hq: Option<String>,
    },
    /// Deny a pending tool call.
    #[command(
        after_help = "Examples:\n  agentd deny apr_3f2a\n  agentd deny apr_3f2a -m 'use the staging database instead'"
    )]
    Deny {
        /// Approval id (or a unique prefix).
        id: String,
        /// What the agent is told.
        #[arg(long, short)]
        message: Option<String>,
        /// Why, for the record.
        #[arg(long)]
        reason: Option<String>,
        /// Decide through this HQ (`http://HOST:PORT`), on whichever runner
        /// holds it; the user token (role approver) from `AGENTD_HQ_TOKEN`.
        #[arg(long, value_name = "URL")]
        hq: Option<String>,
    },
    /// Answer a pending question: Claude Code's AskUserQuestion, or an MCP
    /// server's elicitation (a form it asks the user to fill in).
    ///
    /// For AskUserQuestion, TEXT is the answer (one of the offered options
    /// or your own words). For an MCP elicitation, a JSON object is sent as
    /// the form's `content` (the fields the server asks for: `agentd
    /// approvals --json` shows them in `tool_input.requested_schema`), any
    /// other text as `{"value": TEXT}`; `agentd deny ID` declines it.
    #[command(
        after_help = "Examples:\n  agentd answer apr_3f2a 'PostgreSQL'\n  agentd answer apr_9c10 '{\"token\": \"abc123\", \"remember\": true}'   # MCP elicitation\n  agentd deny apr_9c10                                                # decline it"
    )]
    Answer {
        /// Approval id (or a unique prefix).
        id: String,
        /// The answer: text for a question, a JSON object for an MCP
        /// elicitation's form.
        text: String,
    },
    /// Start Claude Code headless, steered by agentd; prints the session id.
    #[command(
        after_help = "Examples:\n  agentd launch 'fix the failing test in src/parse.rs'\n  agentd launch --cwd ~/src/app --model sonnet --permission-mode plan 'plan the migration'"
    )]
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
        /// Start it on this runner, through HQ (`--hq`; the user token,
        /// role operator, from `AGENTD_HQ_TOKEN`); `--cwd` is then a path
        /// on that machine (default: its agentd's home folder).
        #[arg(long, value_name = "NAME", requires = "hq")]
        runner: Option<String>,
        /// HQ's URL, with `--runner`.
        #[arg(long, value_name = "URL", requires = "runner")]
        hq: Option<String>,
        /// The first prompt.
        prompt: String,
    },
    /// Send a message to a launched session (resumes it if it exited, with
    /// its model, permission mode and name).
    #[command(after_help = "Example:\n  agentd send 52786e60 'now run the tests'")]
    Send {
        /// Session id (or a unique prefix).
        session: String,
        /// The message.
        message: String,
        /// The daemon's answer as JSON.
        #[arg(long)]
        json: bool,
        /// A session on any runner, through this HQ (`http://HOST:PORT`;
        /// role operator; the user token from `AGENTD_HQ_TOKEN`).
        #[arg(long, value_name = "URL")]
        hq: Option<String>,
    },
    /// Interrupt a launched session's current turn.
    #[command(after_help = "Example:\n  agentd interrupt 52786e60")]
    Interrupt {
        /// Session id (or a unique prefix).
        session: String,
        /// The daemon's answer as JSON.
        #[arg(long)]
        json: bool,
        /// A session on any runner, through this HQ (`http://HOST:PORT`;
        /// role operator; the user token from `AGENTD_HQ_TOKEN`).
        #[arg(long, value_name = "URL")]
        hq: Option<String>,
    },
    /// Stop a launched session: SIGINT, then SIGTERM, then SIGKILL to its process group.
    #[command(after_help = "Example:\n  agentd kill 52786e60")]
    Kill {
        /// Session id (or a unique prefix).
        session: String,
        /// The daemon's answer as JSON.
        #[arg(long)]
        json: bool,
        /// A session on any runner, through this HQ (`http://HOST:PORT`;
        /// role operator; the user token from `AGENTD_HQ_TOKEN`).
        #[arg(long, value_name = "URL")]
        hq: Option<String>,
    },
    /// Full-text search over every transcript (ranked; words in any order);
    /// exit 1 when nothing matches.
    #[command(
        after_help = "Examples:\n  agentd search 'migration rollback'\n  agentd search flaky --project api --since 7d\n  agentd search panic --limit 2000 --json | jq -r '.[].session_id' | sort -u"
    )]
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
    /// A session's conversation from its transcript (id or unique prefix;
    /// default: the latest session in the current directory).
    #[command(
        after_help = "Examples:\n  agentd transcript            # the latest session here\n  agentd transcript 52786e60 | less -R\n  agentd transcript 52786e60 --json"
    )]
    Transcript {
        /// Session id or prefix (default: the latest session whose cwd is
        /// the current directory).
        session: Option<String>,
        /// JSON: `{session_id, total, messages: [...]}`.
        #[arg(long)]
        json: bool,
    },
    /// Token usage and cost from the transcripts.
    #[command(
        after_help = "Examples:\n  agentd usage\n  agentd usage monthly\n  agentd usage session --since 7d\n  agentd usage model --since 2026-11-01 --until 2026-11-30 --json\n  agentd usage agent"
    )]
    Usage {
        /// Grouping (default: daily, as ccusage).
        #[arg(value_parser = ["daily", "monthly", "session", "project", "model", "agent"], default_value = "daily")]
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
        /// Only this session's usage (its full id).
        #[arg(long, value_name = "ID")]
        session: Option<String>,
        /// JSON: `{rows: [{period, input_tokens, …, cost_usd, models}], totals}`.
        #[arg(long)]
        json: bool,
        /// Every machine's usage from this HQ (`http://HOST:PORT`), added
        /// up by period; the user token from `AGENTD_HQ_TOKEN`.
        #[arg(long, value_name = "URL")]
        hq: Option<String>,
    },
    /// The terminal dashboard: sessions, approvals, transcripts, search.
    #[command(after_help = "Example:\n  agentd tui        # then ? for the keys")]
    Tui,
    /// The hook runner: project checks on Claude Code hook events.
    #[command(
        after_help = "Examples:\n  agentd hooks ls\n  agentd hooks run Stop\n  agentd hooks history --limit 20"
    )]
    Hooks {
        #[command(subcommand)]
        command: HooksCommand,
    },
    /// Transcript index status.
    #[command(
        after_help = "Examples:\n  agentd index\n  agentd index --wait\n  agentd index --rescan --wait"
    )]
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
    /// WASM plugins in <root>/plugins/ (NAME.wasm + NAME.toml): policies
    /// that decide tool calls beside the rules, and automation on events.
    /// Saved files reload by themselves within a second.
    #[command(
        after_help = "Examples:\n  agentd plugins ls\n  agentd plugins logs protect-main\n  agentd plugins disable budget\n  agentd rules test Bash '{\"command\": \"git push origin main\"}'   # which rule or plugin decides"
    )]
    Plugins {
        #[command(subcommand)]
        command: PluginsCommand,
    },
    /// Policy rules.
    #[command(after_help = "Example:\n  agentd rules test Bash '{\"command\": \"rm -rf build\"}'")]
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// Print the paths agentd uses.
    #[command(
        after_help = "Examples:\n  agentd paths\n  tail -f \"$(agentd paths --json | jq -r .log)\""
    )]
    Paths {
        /// JSON object with root, config, db, socket, token, log.
        #[arg(long)]
        json: bool,
    },
    /// Check everything that can be wrong: the daemon and its version,
    /// hooks and status line in Claude Code's settings, the index, modes of
    /// the root, token and socket, HTTP, agent CLIs, disk use. Each problem
    /// comes with the command that fixes it; exits 1 when there is one.
    #[command(after_help = "Examples:\n  agentd doctor\n  agentd doctor --json")]
    Doctor {
        /// JSON: `{ok, checks: [{check, ok, detail, fix?}]}`.
        #[arg(long)]
        json: bool,
    },
    /// The effective configuration: agentd.toml, then AGENTD_* variables,
    /// then defaults, each value with where it came from. An invalid file
    /// is reported with its line and column (exit 1).
    #[command(
        after_help = "Examples:\n  agentd config\n  agentd config --json | jq '.settings[] | select(.origin != \"default\")'\n  agentd config edit"
    )]
    Config {
        /// JSON: `{path, exists, settings: [{key, value, origin}]}`.
        #[arg(long)]
        json: bool,
        #[command(subcommand)]
        command: Option<ConfigCommand>,
    },
    /// TLS for the HTTP port ([http] tls = true): agentd's local CA.
    #[command(after_help = "Example:\n  agentd tls ca")]
    Tls {
        #[command(subcommand)]
        command: TlsCommand,
    },
    /// Memory: documents that are not transcripts (notes, decisions, a
    /// summary an agent writes), found by `agentd search` beside the
    /// transcripts.
    #[command(
        after_help = "Examples:\n  agentd memory add --title 'Why we pin tonic' 'protox needs no protoc; 0.14.9 builds on 1.95'\n  git log -1 --format=%B | agentd memory add --title 'Release notes' --tag release -"
    )]
    Memory {
        #[command(subcommand)]
        command: MemoryCommand,
    },
    /// Runtime slots: how many agent sessions may run at once ([slots] max
    /// and [slots.projects] in agentd.toml). `agentd launch` takes one;
    /// scripts and other clients can too.
    #[command(
        after_help = "Examples:\n  agentd slots\n  agentd slots acquire --holder ci:job-42 --project ~/src/api --ttl 3600 --wait 60\n  agentd slots release slot_3"
    )]
    Slots {
        /// JSON array of slots (`id`, `holder`, `session_id`, `project`, `acquired_ms`, `expires_ms`).
        #[arg(long)]
        json: bool,
        #[command(subcommand)]
        command: Option<SlotsCommand>,
    },
    /// The web UI: prints a one-time sign-in link for a browser (and, with
    /// --qr, a QR code for a phone); lists and revokes signed-in browsers.
    #[command(
        after_help = "Examples:\n  agentd web --open\n  agentd web --qr        (needs [http] listen beyond loopback and tls = true)\n  agentd web sessions\n  agentd web revoke web_3fa1"
    )]
    /// HQ: the server runners (other agentd daemons) dial into — every
    /// machine's sessions in one place.
    #[command(
        after_help = "Examples:\n  agentd hq serve --home ~/hq                     # AGENTD_HTTP_LISTEN picks the port\n  agentd hq token create --runner laptop          # prints the token alone\n  agentd hq token create --user ann --role viewer\n  AGENTD_HQ_TOKEN=… agentd hq runners --hq http://127.0.0.1:41970"
    )]
    Hq {
        #[command(subcommand)]
        command: HqCommand,
    },
    /// This daemon as a runner of an HQ.
    #[command(
        after_help = "Examples:\n  agentd runner join https://hq.example:41970 --token agentd_hq_runner_… --ca hq-ca.pem\n  agentd runner join http://127.0.0.1:41970 --token agentd_hq_runner_…\n  agentd stop && agentd start                     # the link starts with the daemon"
    )]
    Runner {
        #[command(subcommand)]
        command: RunnerCommand,
    },
    Web {
        /// Open the link in the default browser (xdg-open / open).
        #[arg(long)]
        open: bool,
        /// Print the link for a phone on the same network as a QR code.
        #[arg(long)]
        qr: bool,
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
        #[command(subcommand)]
        command: Option<WebCommand>,
    },
    /// Print a shell completion script.
    #[command(
        after_help = "Install it where your shell looks, for example:\n  agentd completions bash > ~/.local/share/bash-completion/completions/agentd\n  agentd completions zsh > \"${fpath[1]}/_agentd\"\n  agentd completions fish > ~/.config/fish/completions/agentd.fish\n  agentd completions powershell >> $PROFILE"
    )]
    Completions {
        /// bash, zsh, fish, powershell or elvish.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff).
    #[command(
        after_help = "Install it with, for example:\n  agentd man > ~/.local/share/man/man1/agentd.1 && man agentd"
    )]
    Man,
}

impl Command {
    /// Whether the command was asked for JSON (its errors are JSON too).
    pub fn json(&self) -> bool {
        match self {
            Command::Ls { json, .. }
            | Command::Show { json, .. }
            | Command::Events { json, .. }
            | Command::Health { json }
            | Command::Gc { json }
            | Command::Approvals { json, .. }
            | Command::Send { json, .. }
            | Command::Interrupt { json, .. }
            | Command::Kill { json, .. }
            | Command::Search { json, .. }
            | Command::Transcript { json, .. }
            | Command::Usage { json, .. }
            | Command::Index { json, .. }
            | Command::Paths { json }
            | Command::Doctor { json }
            | Command::Config { json, .. } => *json,
            Command::Memory {
                command: MemoryCommand::Add { json, .. },
            } => *json,
            Command::Hq { command } => match command {
                HqCommand::Status { json, .. }
                | HqCommand::Runners { json, .. }
                | HqCommand::Audit { json, .. } => *json,
                HqCommand::Token {
                    command: HqTokenCommand::List { json },
                } => *json,
                _ => false,
            },
            Command::Web { json, command, .. } => match command {
                Some(WebCommand::Sessions { json: j }) => *json || *j,
                _ => *json,
            },
            Command::Slots { json, command } => match command {
                Some(SlotsCommand::Acquire { json: j, .. }) => *json || *j,
                _ => *json,
            },
            Command::Plugins {
                command: PluginsCommand::Ls { json } | PluginsCommand::Logs { json, .. },
            } => *json,
            Command::Hooks { command } => match command {
                HooksCommand::Ls { json, .. } | HooksCommand::History { json, .. } => *json,
                HooksCommand::Run(run) => run.json,
            },
            _ => false,
        }
    }
}

/// `agentd hq …`
#[derive(Debug, Subcommand)]
pub enum HqCommand {
    /// Run HQ in the foreground, in this root (`--home`/`AGENTD_HOME`),
    /// on `[http] listen`/`AGENTD_HTTP_LISTEN` (loopback).
    Serve,
    /// HQ's tokens (runners' and users').
    Token {
        #[command(subcommand)]
        command: HqTokenCommand,
    },
    /// HQ's status: runners, online, sessions, events.
    Status {
        /// HQ's URL (default: `AGENTD_HQ_URL`, else the HQ running in this
        /// root); the user token from `AGENTD_HQ_TOKEN`.
        #[arg(long, value_name = "URL")]
        hq: Option<String>,
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// What users did through HQ (decisions), newest first.
    Audit {
        /// HQ's URL (default: `AGENTD_HQ_URL`, else the HQ running in this
        /// root); the user token from `AGENTD_HQ_TOKEN`.
        #[arg(long, value_name = "URL")]
        hq: Option<String>,
        /// JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Forget a runner's log and sessions at HQ (role admin; the runner
    /// must be offline): for a runner whose root was replaced, so it links
    /// again from the start.
    Forget {
        /// The runner's name.
        runner: String,
        /// HQ's URL (default: `AGENTD_HQ_URL`, else the HQ running in this
        /// root); the user token from `AGENTD_HQ_TOKEN`.
        #[arg(long, value_name = "URL")]
        hq: Option<String>,
    },
    /// Every runner HQ knows, online or not.
    Runners {
        /// HQ's URL (default: `AGENTD_HQ_URL`, else the HQ running in this
        /// root); the user token from `AGENTD_HQ_TOKEN`.
        #[arg(long, value_name = "URL")]
        hq: Option<String>,
        /// JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// `agentd hq token …` (works on this root's `hq.db`, HQ running or not).
#[derive(Debug, Subcommand)]
pub enum HqTokenCommand {
    /// Make a token; prints it alone on stdout (it is shown only once).
    Create {
        /// A runner token for this runner name; without NAME, for whichever
        /// runner links with it first, named by its host name.
        #[arg(
            long,
            value_name = "NAME",
            num_args = 0..=1,
            default_missing_value = "*",
            conflicts_with = "user",
            required_unless_present = "user"
        )]
        runner: Option<String>,
        /// A user token for this person.
        #[arg(long, value_name = "NAME", requires = "role")]
        user: Option<String>,
        /// The user's role: viewer, approver, operator or admin.
        #[arg(long, value_name = "ROLE")]
        role: Option<String>,
    },
    /// Every token (ids, never secrets).
    List {
        /// JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token by id (or unique id prefix); a runner using it is
    /// disconnected within a second.
    Revoke {
        /// The token's id (from `token list`).
        id: String,
    },
}

/// `agentd runner …`
#[derive(Debug, Subcommand)]
pub enum RunnerCommand {
    /// Write `[hq] url`, `token` and `ca` into this root's agentd.toml
    /// (then restart the daemon).
    Join {
        /// HQ's URL: `https://HOST:PORT`, or `http://` for a loopback HQ.
        url: String,
        /// The runner token from `agentd hq token create --runner NAME`.
        #[arg(long)]
        token: String,
        /// HQ's CA certificate (for an https:// HQ; `agentd tls ca --path`
        /// there): copied into this root and pinned — no other CA is
        /// trusted for HQ.
        #[arg(long, value_name = "FILE")]
        ca: Option<PathBuf>,
    },
}

/// `agentd web …`
#[derive(Debug, Subcommand)]
pub enum WebCommand {
    /// The browsers signed in: id, since when, last seen, from where.
    Sessions {
        /// JSON array (`id`, `created_ms`, `last_seen_ms`, `expires_ms`, `user_agent`, `address`).
        #[arg(long)]
        json: bool,
    },
    /// Sign browsers out (their open pages lose access at once).
    Revoke {
        /// A web session id or unique prefix (from `agentd web sessions`), or `all`.
        id: String,
    },
}

/// `agentd tls …`
#[derive(Debug, Subcommand)]
pub enum TlsCommand {
    /// The local CA's certificate: its path, SHA-256 fingerprint, and how
    /// to trust it (agentd never edits a system trust store).
    #[command(
        after_help = "Example:\n  curl --cacert \"$(agentd tls ca --path)\" https://127.0.0.1:41956/health"
    )]
    Ca {
        /// Print only the path.
        #[arg(long)]
        path: bool,
    },
}

/// `agentd memory …`
#[derive(Debug, Subcommand)]
pub enum MemoryCommand {
    /// Store and index a document; prints its id.
    #[command(
        after_help = "Example:\n  agentd memory add --title 'Deploy checklist' --project ~/src/api --tag ops \"$(cat CHECKLIST.md)\""
    )]
    Add {
        /// Title.
        #[arg(long)]
        title: String,
        /// Where it comes from (a URL, a file, an agent).
        #[arg(long)]
        source: Option<String>,
        /// A tag (repeatable).
        #[arg(long = "tag", value_name = "TAG")]
        tags: Vec<String>,
        /// The project directory it belongs to.
        #[arg(long, value_name = "DIR")]
        project: Option<PathBuf>,
        /// The session it was written for.
        #[arg(long)]
        session: Option<String>,
        /// The text; `-` reads it from stdin.
        text: String,
        /// The stored document as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `agentd slots …`
#[derive(Debug, Subcommand)]
pub enum SlotsCommand {
    /// Take a slot; prints its id. Exit 1 when all are taken (after
    /// `--wait`), naming who holds them.
    #[command(
        after_help = "Example:\n  id=$(agentd slots acquire --holder me --ttl 600) && run-agent && agentd slots release \"$id\""
    )]
    Acquire {
        /// Who takes it (default: user@host).
        #[arg(long)]
        holder: Option<String>,
        /// The session it is for (its end frees the slot).
        #[arg(long)]
        session: Option<String>,
        /// The project directory it counts against.
        #[arg(long, value_name = "DIR")]
        project: Option<PathBuf>,
        /// Free it by itself after this many seconds.
        #[arg(long, value_name = "SECONDS")]
        ttl: Option<u64>,
        /// Wait up to this many seconds for a free slot (at most 600).
        #[arg(long, value_name = "SECONDS", default_value_t = 0)]
        wait: u64,
        /// The slot as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Give a slot back.
    #[command(after_help = "Example:\n  agentd slots release slot_3")]
    Release {
        /// Slot id.
        id: String,
    },
}

/// `agentd config …`
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Edit agentd.toml in $VISUAL or $EDITOR (else vi): a copy is
    /// validated before it replaces the file; an invalid edit is offered
    /// again, and the file stays as it was until an edit is valid.
    #[command(
        after_help = "Examples:\n  agentd config edit\n  EDITOR='code -w' agentd config edit"
    )]
    Edit,
}

/// `agentd rules …`
#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Which rule of agentd.toml or which plugin decides this tool call,
    /// and why (plugins are asked when the daemon runs).
    #[command(
        after_help = "Examples:\n  agentd rules test Bash '{\"command\": \"git push --force\"}'\n  agentd rules test Edit '{\"file_path\": \"src/main.rs\"}' --cwd ~/src/app"
    )]
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

/// `agentd plugins …`
#[derive(Debug, Subcommand)]
pub enum PluginsCommand {
    /// Every plugin: state (enabled, disabled, failed) and why, version,
    /// tools and events, capabilities asked and granted, calls and errors.
    Ls {
        /// JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Load what changed in the plugin folder now.
    Reload,
    /// Enable a plugin (also after it was disabled for failing).
    Enable {
        /// The plugin's name.
        name: String,
    },
    /// Disable a plugin (kept across restarts).
    Disable {
        /// The plugin's name.
        name: String,
    },
    /// A plugin's log: its own lines, failures, loads.
    Logs {
        /// The plugin's name.
        name: String,
        /// JSON array.
        #[arg(long)]
        json: bool,
    },
}

/// `agentd hooks …`
#[derive(Debug, Subcommand)]
pub enum HooksCommand {
    /// The effective hook definitions and where each comes from.
    #[command(
        after_help = "Examples:\n  agentd hooks ls\n  agentd hooks ls --cwd ~/src/app --json"
    )]
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
    #[command(
        after_help = "Examples:\n  agentd hooks run Stop\n  agentd hooks run PostToolUse --hook clippy --no-cache"
    )]
    Run(HooksRun),
    /// Recorded hook runs, newest first.
    #[command(
        after_help = "Examples:\n  agentd hooks history\n  agentd hooks history --session 52786e60 --json"
    )]
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

/// `--agent` of `hook`: one agent by its name.
fn parse_agent(s: &str) -> Result<Agent, String> {
    Agent::parse(s).ok_or_else(|| format!("`{s}` is not an agent: say claude, codex or gemini"))
}

/// `--agent` of `install` / `uninstall`: one agent, or all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AgentChoice {
    /// Claude Code.
    Claude,
    /// Codex CLI.
    Codex,
    /// Gemini CLI.
    Gemini,
    /// All three.
    All,
}

impl AgentChoice {
    /// The agents chosen.
    pub fn agents(self) -> Vec<Agent> {
        match self {
            AgentChoice::Claude => vec![Agent::Claude],
            AgentChoice::Codex => vec![Agent::Codex],
            AgentChoice::Gemini => vec![Agent::Gemini],
            AgentChoice::All => Agent::ALL.to_vec(),
        }
    }
}
