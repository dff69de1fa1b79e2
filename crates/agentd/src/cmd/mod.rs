//! Command implementations. Each returns the process exit code; none panics
//! on bad input or a missing daemon.

mod approvals;
mod config;
mod daemon;
mod doctor;
mod here;
mod history;
mod hook;
mod hooks;
mod hq;
mod install;
mod install_agents;
mod mcp;
mod plugins;
mod query;
mod web;

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use agentd_client::{ClientError, Config, Paths};
use agentd_core::Agent;

use crate::cli::{
    Cli, Command, ConfigCommand, HooksCommand, HqCommand, HqTokenCommand, MemoryCommand,
    PluginsCommand, RulesCommand, RunnerCommand, SlotsCommand, TlsCommand, WebCommand,
};

/// Set for commands run with `--json`: errors go to stderr as JSON too.
static JSON_ERRORS: AtomicBool = AtomicBool::new(false);

/// Runs the parsed command line.
pub fn run(cli: Cli) -> ExitCode {
    JSON_ERRORS.store(cli.command.json(), Ordering::Relaxed);
    // The hook paths fail open: any trouble, even finding paths, exits 0.
    match cli.command {
        Command::Hook { agent } => return hook::hook(cli.home.as_deref(), agent),
        Command::Statusline { chain } => {
            return hook::statusline(cli.home.as_deref(), chain.as_deref());
        }
        _ => {}
    }
    let paths = match Paths::resolve(cli.home.as_deref()) {
        Ok(p) => p,
        Err(e) => return fail(&e.to_string()),
    };
    match cli.command {
        Command::Serve => daemon::serve(&paths),
        Command::Start => daemon::start(&paths, cli.home.as_deref()),
        Command::Stop => daemon::stop(&paths),
        Command::Status => daemon::status(&paths),
        Command::Install {
            dry_run, mcp: true, ..
        } => mcp::install(cli.home.as_deref(), dry_run),
        Command::Install { dry_run, agent, .. } => all_of(agent.agents(), |a| match a {
            Agent::Claude => install::install(cli.home.as_deref(), dry_run),
            a => install_agents::install(cli.home.as_deref(), a, dry_run),
        }),
        Command::Uninstall {
            dry_run, mcp: true, ..
        } => mcp::uninstall(dry_run),
        Command::Uninstall { dry_run, agent, .. } => all_of(agent.agents(), |a| match a {
            Agent::Claude => {
                let hooks = install::uninstall(dry_run);
                let server = mcp::uninstall(dry_run);
                if hooks == ExitCode::SUCCESS {
                    server
                } else {
                    hooks
                }
            }
            a => install_agents::uninstall(a, dry_run),
        }),
        Command::Mcp => mcp::serve_stdio(&paths),
        Command::Ls {
            json,
            all,
            status,
            hq: Some(url),
            ..
        } => hq::ls(&paths, &url, json, all, &status),
        Command::Ls {
            json,
            all,
            status,
            agent,
            ..
        } => query::ls(&paths, json, all, &status, agent),
        Command::Hq { command } => match command {
            HqCommand::Serve => hq::serve(&paths),
            HqCommand::Token { command } => match command {
                HqTokenCommand::Create { runner, user, role } => {
                    hq::token_create(&paths, runner, user, role)
                }
                HqTokenCommand::List { json } => hq::token_list(&paths, json),
                HqTokenCommand::Revoke { id } => hq::token_revoke(&paths, &id),
            },
            HqCommand::Status { hq: url, json } => hq::status(&paths, url, json),
            HqCommand::Runners { hq: url, json } => hq::runners(&paths, url, json),
            HqCommand::Audit { hq: url, json } => hq::audit(&paths, url, json),
            HqCommand::Forget { runner, hq: url } => hq::forget(&paths, url, &runner),
        },
        Command::Runner {
            command: RunnerCommand::Join { url, token, ca },
        } => hq::join(&paths, &url, &token, ca.as_deref()),
        Command::Show { id, json } => query::show(&paths, id.as_deref(), json),
        Command::Events {
            json,
            after,
            session,
            follow,
            limit,
        } => query::events(&paths, json, after, session, follow, limit),
        Command::Health { json } => query::health(&paths, json),
        Command::Gc { json } => query::gc(&paths, json),
        Command::Doctor { json } => doctor::doctor(&paths, json),
        Command::Tls {
            command: TlsCommand::Ca { path },
        } => {
            let (cert, _) = agentd_daemon::tls::ca_paths(&paths.root);
            if !cert.exists() {
                return fail(&format!(
                    "no CA yet at {}: set [http] tls = true in agentd.toml and start the daemon",
                    cert.display()
                ));
            }
            if path {
                out(&format!("{}\n", cert.display()));
                return ExitCode::SUCCESS;
            }
            match agentd_daemon::tls::ca_fingerprint(&paths.root) {
                Ok(fp) => {
                    let c = cert.display();
                    out(&format!(
                        "CA certificate: {c}\nSHA-256 fingerprint: {fp}\n\nagentd never edits a system trust store. To trust it:\n  Debian/Ubuntu: sudo cp {c} /usr/local/share/ca-certificates/agentd.crt && sudo update-ca-certificates\n  macOS:         sudo security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain {c}\n  one client:    curl --cacert {c} https://127.0.0.1:41956/health\n                 grpcurl -cacert {c} 127.0.0.1:41956 list\n"
                    ));
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e),
            }
        }
        Command::Memory {
            command:
                MemoryCommand::Add {
                    title,
                    source,
                    tags,
                    project,
                    session,
                    text,
                    json,
                },
        } => history::memory_add(&paths, title, source, tags, project, session, &text, json),
        Command::Slots { json, command } => match command {
            None => approvals::slots(&paths, json),
            Some(SlotsCommand::Acquire {
                holder,
                session,
                project,
                ttl,
                wait,
                json: j,
            }) => approvals::acquire_slot(&paths, holder, session, project, ttl, wait, json || j),
            Some(SlotsCommand::Release { id }) => approvals::release_slot(&paths, &id),
        },
        Command::Config { json, command } => match command {
            None => config::show(&paths, json),
            Some(ConfigCommand::Edit) => config::edit(&paths),
        },
        Command::Completions { shell } => {
            use clap::CommandFactory;
            let mut cmd = Cli::command();
            // Into memory first: clap_complete panics on a closed pipe.
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut cmd, "agentd", &mut script);
            out(&String::from_utf8_lossy(&script));
            ExitCode::SUCCESS
        }
        Command::Man => {
            use clap::CommandFactory;
            let mut page = Vec::new();
            if let Err(e) = clap_mangen::Man::new(Cli::command()).render(&mut page) {
                return fail(&format!("cannot render the manual page: {e}"));
            }
            out(&String::from_utf8_lossy(&page));
            ExitCode::SUCCESS
        }
        Command::Web {
            open,
            qr,
            json,
            command,
        } => match command {
            None => web::login(&paths, open, qr, json),
            Some(WebCommand::Sessions { json: j }) => web::sessions(&paths, json || j),
            Some(WebCommand::Revoke { id }) => web::revoke(&paths, &id),
        },
        Command::Paths { json } => query::paths(&paths, json),
        Command::Approvals {
            json,
            all,
            hq: Some(url),
            ..
        } => hq::approvals(&paths, &url, json, all),
        Command::Approvals {
            json, all, watch, ..
        } => approvals::list(&paths, json, all, watch),
        Command::Approve {
            id,
            input,
            always,
            reason,
            hq,
        } => approvals::approve(&paths, &id, input.as_deref(), always, reason, hq.as_deref()),
        Command::Deny {
            id,
            message,
            reason,
            hq,
        } => approvals::deny(&paths, &id, message, reason, hq.as_deref()),
        Command::Answer { id, text } => approvals::answer(&paths, &id, &text),
        Command::Launch {
            cwd,
            model,
            permission_mode,
            name,
            prompt,
            runner: Some(runner),
            hq: Some(url),
        } => hq::launch(
            &paths,
            &url,
            &runner,
            agentd_proto::api::LaunchParams {
                cwd: cwd.map(|c| c.display().to_string()),
                model,
                permission_mode,
                name,
                prompt,
            },
        ),
        Command::Launch {
            cwd,
            model,
            permission_mode,
            name,
            prompt,
            ..
        } => approvals::launch(&paths, cwd, model, permission_mode, name, prompt),
        Command::Send {
            session,
            message,
            json,
            hq,
        } => approvals::steer(
            &paths,
            approvals::Steer::Send { session, message },
            json,
            hq,
        ),
        Command::Interrupt { session, json, hq } => {
            approvals::steer(&paths, approvals::Steer::Interrupt { session }, json, hq)
        }
        Command::Kill { session, json, hq } => {
            approvals::steer(&paths, approvals::Steer::Kill { session }, json, hq)
        }
        Command::Search {
            query,
            project,
            session,
            since,
            limit,
            json,
        } => history::search(
            &paths,
            &query,
            project,
            session,
            since.as_deref(),
            limit,
            json,
        ),
        Command::Transcript { session, json } => {
            history::transcript(&paths, session.as_deref(), json)
        }
        Command::Usage {
            by,
            since,
            until,
            timezone,
            session,
            json,
            hq,
        } => history::usage(
            &paths,
            history::UsageOptions {
                by,
                since,
                until,
                timezone,
                session,
                json,
                hq,
            },
        ),
        Command::Index { wait, rescan, json } => history::index(&paths, wait, rescan, json),
        Command::Hooks { command } => match command {
            HooksCommand::Ls { cwd, json } => hooks::ls(&paths, cwd, json),
            HooksCommand::Run(opts) => hooks::run(&paths, opts),
            HooksCommand::History {
                limit,
                session,
                json,
            } => hooks::history(&paths, limit, session, json),
        },
        Command::Tui => {
            let exe = std::env::current_exe().unwrap_or_else(|_| "agentd".into());
            match agentd_tui::run(&paths, &exe) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(&format!("the terminal UI failed: {e}")),
            }
        }
        Command::Plugins { command } => match command {
            PluginsCommand::Ls { json } => plugins::ls(&paths, json),
            PluginsCommand::Reload => plugins::reload(&paths),
            PluginsCommand::Enable { name } => plugins::set_enabled(&paths, &name, true),
            PluginsCommand::Disable { name } => plugins::set_enabled(&paths, &name, false),
            PluginsCommand::Logs { name, json } => plugins::logs(&paths, &name, json),
        },
        Command::Rules {
            command: RulesCommand::Test { tool, input, cwd },
        } => approvals::rules_test(&paths, &tool, &input, cwd.as_deref()),
        Command::Hook { .. } | Command::Statusline { .. } => ExitCode::SUCCESS,
    }
}

/// Runs `f` for every agent (all of them, even after one fails); the first
/// failure's exit code, else success.
fn all_of(agents: Vec<Agent>, mut f: impl FnMut(Agent) -> ExitCode) -> ExitCode {
    let mut code = ExitCode::SUCCESS;
    for a in agents {
        let c = f(a);
        if code == ExitCode::SUCCESS {
            code = c;
        }
    }
    code
}

/// Connects to the daemon, or prints why not (exit 2 when it is not running).
pub fn connect(
    paths: &Paths,
    timeout: std::time::Duration,
) -> Result<agentd_client::Client, ExitCode> {
    agentd_client::Client::connect(&paths.socket, timeout).map_err(client_error)
}

/// Writes to stdout; a closed pipe (`| head`) is not an error.
pub fn out(s: &str) {
    use std::io::Write;
    let _ = std::io::stdout().lock().write_all(s.as_bytes());
}

/// Prints `v` as pretty JSON and a newline.
pub fn print_json(v: &impl serde::Serialize) -> ExitCode {
    match serde_json::to_string_pretty(v) {
        Ok(s) => {
            // C1 and bidi controls as \u escapes: JSON goes to terminals too.
            out(&agentd_core::text::json_for_terminal(&s));
            out("\n");
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e.to_string()),
    }
}

/// Prints `agentd: <message>` on stderr and returns exit code 1.
pub fn fail(message: &str) -> ExitCode {
    report(message, None, 1)
}

/// Like [`fail`], for input the command cannot take: exit code 2, as
/// clap's own usage errors.
pub fn usage_error(message: &str) -> ExitCode {
    report(message, None, 2)
}

/// The one error renderer: `agentd: <what was wrong>. <what to do>` on
/// stderr, or with `--json` `{"error": {"message", "exit_code", "code"?}}`
/// (`code`: the JSON-RPC error code, when the daemon refused).
fn report(message: &str, code: Option<i64>, exit: u8) -> ExitCode {
    if JSON_ERRORS.load(Ordering::Relaxed) {
        let mut error = serde_json::json!({"message": message, "exit_code": exit});
        if let Some(code) = code {
            error["code"] = code.into();
        }
        eprintln!("{}", serde_json::json!({ "error": error }));
    } else {
        eprintln!("agentd: {message}");
    }
    ExitCode::from(exit)
}

/// Loads the config, or prints why not.
pub fn config(paths: &Paths) -> Result<Config, ExitCode> {
    Config::load(&paths.config).map_err(|e| fail(&e.to_string()))
}

/// Maps a client error to the message and exit code the CLI uses: exit 2
/// with how to start the daemon when it is not running.
pub fn client_error(e: ClientError) -> ExitCode {
    match e {
        ClientError::NotRunning(_) => report(&e.to_string(), None, crate::EXIT_NOT_RUNNING),
        // The daemon's message says what was wrong and what to do; its
        // protocol code is for programs (in --json), not people.
        ClientError::Rpc(r) => report(&r.message, Some(r.code), 1),
        e => fail(&e.to_string()),
    }
}
