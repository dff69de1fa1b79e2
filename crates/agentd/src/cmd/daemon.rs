//! `serve`, `start`, `stop`, `status`.

use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::process::{ExitCode, Stdio};
use std::time::{Duration, Instant};

use agentd_client::{Client, Paths};
use agentd_daemon::CancellationToken;
use agentd_daemon::Daemon;
use agentd_daemon::lock::running_pid;
use agentd_proto::api::Health;

use super::{client_error, config, fail};

/// How long `start` waits for the daemon to answer, and `stop` for it to exit.
const WAIT: Duration = Duration::from_secs(10);

/// `agentd serve`: the daemon in the foreground until SIGINT/SIGTERM.
pub fn serve(paths: &Paths) -> ExitCode {
    foreground(paths, "agentd", async |config, shutdown| {
        Daemon::run(paths, &config, shutdown, |_| {})
            .await
            .map_err(|e| e.to_string())
    })
}

/// Runs a server in the foreground, as `agentd serve` and `agentd hq
/// serve` do: a private umask, the config, logging to stderr at
/// `[daemon] log`, a two-worker runtime, SIGINT/SIGTERM → `shutdown`, and
/// a prompt exit (blocking tasks stuck on I/O are not waited for).
pub(crate) fn foreground(
    paths: &Paths,
    thread_name: &str,
    run: impl AsyncFnOnce(agentd_client::Config, CancellationToken) -> Result<(), String>,
) -> ExitCode {
    // Everything the server creates (databases, WAL, log, token) is the user's alone.
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    let config = match config(paths) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let filter = tracing_subscriber::EnvFilter::try_new(&config.daemon.log)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name(thread_name)
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(&format!("cannot start the async runtime: {e}")),
    };
    let result = runtime.block_on(async {
        let shutdown = CancellationToken::new();
        let on_signal = shutdown.clone();
        tokio::spawn(async move {
            wait_for_signal().await;
            on_signal.cancel();
        });
        run(config, shutdown).await
    });
    runtime.shutdown_timeout(Duration::from_millis(200));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) {
        (Ok(mut int), Ok(mut term)) => {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
        }
        _ => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

fn health_of(paths: &Paths) -> Option<Health> {
    let mut client = Client::connect(&paths.socket, Duration::from_secs(2)).ok()?;
    client.health().ok()
}

/// `agentd start`: runs `agentd serve` detached, logging to the root's log.
pub fn start(paths: &Paths, home: Option<&Path>) -> ExitCode {
    if let Some(pid) = running_pid(&paths.pid) {
        println!("agentd is already running (pid {pid})");
        return ExitCode::SUCCESS;
    }
    if let Err(e) = std::fs::create_dir_all(&paths.root) {
        return fail(&format!("cannot create {}: {e}", paths.root.display()));
    }
    let exe = match std::env::current_exe() {
        Ok(p) => p,
        Err(e) => return fail(&format!("cannot find the agentd binary: {e}")),
    };
    let log = match std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(&paths.log)
    {
        Ok(f) => f,
        Err(e) => return fail(&format!("cannot open log {}: {e}", paths.log.display())),
    };
    let log_err = match log.try_clone() {
        Ok(f) => f,
        Err(e) => return fail(&format!("cannot open log {}: {e}", paths.log.display())),
    };
    let mut cmd = std::process::Command::new(exe);
    if let Some(home) = home {
        cmd.arg("--home").arg(home);
    }
    cmd.arg("serve")
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err);
    // Own process group: the terminal's Ctrl-C does not reach the daemon.
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return fail(&format!("cannot start the daemon: {e}")),
    };
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        if let Some(h) = health_of(paths) {
            println!(
                "agentd started (pid {}), socket {}, log {}",
                h.pid,
                paths.socket.display(),
                paths.log.display()
            );
            return ExitCode::SUCCESS;
        }
        if let Ok(Some(status)) = child.try_wait() {
            return fail(&format!(
                "the daemon exited at start ({status}); see {}",
                paths.log.display()
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    fail(&format!(
        "the daemon did not answer within {WAIT:?}; see {}",
        paths.log.display()
    ))
}

/// `agentd stop`: SIGTERM to the daemon, then wait for it to release its lock.
pub fn stop(paths: &Paths) -> ExitCode {
    let Some(pid) = running_pid(&paths.pid) else {
        println!("agentd is not running");
        return ExitCode::SUCCESS;
    };
    let Some(target) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return fail(&format!(
            "pid file {} holds no valid pid",
            paths.pid.display()
        ));
    };
    if let Err(e) = rustix::process::kill_process(target, rustix::process::Signal::TERM) {
        return fail(&format!("cannot signal agentd (pid {pid}): {e}"));
    }
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        if running_pid(&paths.pid).is_none() {
            println!("agentd stopped (pid {pid})");
            return ExitCode::SUCCESS;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    fail(&format!("agentd (pid {pid}) did not stop within {WAIT:?}"))
}

/// `agentd status`: one line; exit 2 when not running.
pub fn status(paths: &Paths) -> ExitCode {
    match running_pid(&paths.pid) {
        None => {
            println!("agentd is not running; start it with `agentd start`");
            ExitCode::from(crate::EXIT_NOT_RUNNING)
        }
        Some(pid) => match Client::connect(&paths.socket, Duration::from_secs(2))
            .and_then(|mut c| c.health())
        {
            Ok(h) => {
                println!(
                    "agentd is running (pid {pid}), version {}, up {}s, {} sessions, http {}",
                    h.version,
                    h.uptime_s,
                    h.sessions,
                    h.http_addr.as_deref().unwrap_or("off")
                );
                ExitCode::SUCCESS
            }
            Err(e) => client_error(e),
        },
    }
}
