//! Start-up, the accept loops, and graceful shutdown.

use std::fs::{DirBuilder, OpenOptions, Permissions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use agentd_client::{Config, Paths};
use agentd_store::{StoreError, Writer};
use tokio::net::UnixListener;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::ingest;
use crate::lock::{self, LockError};
use crate::state::Shared;
use crate::writer::{self, Job};
use crate::{connection, http, reaper};

/// How long shutdown waits for connections to finish before cutting them.
pub const DRAIN_TIMEOUT: Duration = Duration::from_millis(800);
/// Capacity of the ingest queue (events waiting for the writer).
pub const INGEST_QUEUE: usize = 16 * 1024;

/// Why the daemon could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// Another daemon runs for this root.
    #[error(transparent)]
    Lock(#[from] LockError),
    /// The store could not be opened or loaded.
    #[error("cannot open the database: {0}")]
    Store(#[from] StoreError),
    /// A file or socket operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done, with the path.
        what: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The HTTP listener cannot be set up.
    #[error("{0}")]
    Http(String),
    /// A folder or file agentd would trust could have been planted or
    /// changed by another user; agentd refuses to start.
    #[error("refusing to start: {0}")]
    Untrusted(#[from] agentd_client::trust::TrustError),
    /// `[plugins]` is wrong, or the plugin runtime cannot start.
    #[error("plugins: {0}")]
    Plugins(String),
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> DaemonError {
    let what = what.into();
    move |source| DaemonError::Io { what, source }
}

/// A running daemon's handle (for tests and the `serve` command).
pub struct Daemon;

impl Daemon {
    /// Runs the daemon until `shutdown` is cancelled, then shuts down
    /// gracefully: stops accepting, drains connections (at most
    /// [`DRAIN_TIMEOUT`]), commits what is queued, removes the socket.
    /// `ready` is called once the socket accepts connections.
    ///
    /// # Errors
    /// [`DaemonError`] when start-up fails (the lock is held, the database
    /// cannot be opened, the socket or HTTP address cannot be bound).
    pub async fn run(
        paths: &Paths,
        config: &Config,
        shutdown: CancellationToken,
        ready: impl FnOnce(&Arc<Shared>),
    ) -> Result<(), DaemonError> {
        make_private_dir(&paths.root)?;
        make_private_dir(paths.socket_dir())?;
        check_root_files(paths)?;
        // The databases are private whatever the root's mode and the umask
        // (SQLite gives its -wal and -shm files the database's mode). Not
        // via umask: launched sessions and hook checks inherit that.
        let memory = paths.root.join("memory.db");
        for db in [
            &paths.db,
            &paths.index,
            &paths.root.join("hooks.db"),
            &memory,
        ] {
            create_private_file(db)?;
        }
        let _lock = lock::acquire(&paths.pid, &paths.root)?;
        let fd_limit = crate::limits::raise_fd_limit();
        tracing::debug!(fd_limit, "open-files limit");

        let writer = Writer::open(&paths.db)?;
        let (registry, head_seq) = ingest::load_registry(&paths.db)?;
        tracing::info!(sessions = registry.len(), head_seq, "registry loaded");
        let (tx, rx) = mpsc::channel(INGEST_QUEUE);
        let mut state = Shared::new(
            registry,
            head_seq,
            tx.clone(),
            paths.db.clone(),
            config.clone(),
        );
        state.hooks = crate::hooks::open(&paths.root, config, &paths.config);
        // Compiling plugins takes milliseconds each: not on a runtime worker.
        let (root, plugin_config) = (paths.root.clone(), config.clone());
        let plugins =
            tokio::task::spawn_blocking(move || crate::plugins::open(&root, &plugin_config))
                .await
                .map_err(|e| DaemonError::Plugins(e.to_string()))?
                .map_err(DaemonError::Plugins)?;
        state.plugins = Some(plugins);
        state.socket_cap = crate::limits::socket_cap(fd_limit, config.daemon.max_connections);
        let shared = Arc::new(state);
        let writer_shared = Arc::clone(&shared);
        let writer_thread = std::thread::Builder::new()
            .name("agentd-writer".into())
            .spawn(move || writer::run_writer(writer, rx, writer_shared))
            .map_err(io("cannot start the writer thread"))?;

        let token = ensure_token(&paths.token)?;
        expire_orphans(&shared).await;
        // Spooled events are older than anything arriving on the socket:
        // ingest them first, then once more for those spooled meanwhile.
        crate::spool::drain(&shared, &paths.spool, &paths.legacy_spool).await;
        // Removed however `run` returns, a failed start included.
        let (listener, _socket_file) = bind_socket(&paths.socket)?;
        crate::spool::drain(&shared, &paths.spool, &paths.legacy_spool).await;
        let tracker = TaskTracker::new();

        if !config.http.listen.eq_ignore_ascii_case("off") {
            let addr = http::parse_listen(&config.http.listen, config.http.tls)
                .map_err(DaemonError::Http)?;
            let tcp = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
                DaemonError::Http(format!(
                    "cannot listen on {addr}: {e}; set AGENTD_HTTP_LISTEN (port 0 picks a free one)"
                ))
            })?;
            let bound = tcp.local_addr().map_err(io("reading the HTTP address"))?;
            if let Ok(mut a) = shared.http_addr.write() {
                *a = Some(bound.to_string());
            }
            // Beside loopback, a TLS listener answers to its addresses and
            // the machine's name (in its certificate and in Host checks);
            // both follow the address set while the daemon runs.
            let hosts: http::Hosts = Arc::clone(&shared.http_hosts);
            let tls = if config.http.tls {
                Some(
                    start_tls(&paths.root, addr, &hosts, &tracker, &shutdown)
                        .await
                        .map_err(DaemonError::Http)?,
                )
            } else {
                None
            };
            let app = http::router(Arc::clone(&shared), token, hosts);
            let stop = shutdown.clone();
            let capped = crate::limits::CappedListener::new(
                tcp,
                crate::limits::MAX_HTTP_CONNECTIONS,
                crate::limits::HTTP_IDLE_TIMEOUT,
            );
            tracker.spawn(http::serve(capped, app, stop, tls));
            tracing::info!(addr = %bound, "HTTP listening");
        }

        reaper::sweep(&shared).await;
        tracker.spawn(reaper::run(
            Arc::clone(&shared),
            Duration::from_millis(config.daemon.process_check_ms),
            shutdown.clone(),
        ));
        tracker.spawn(crate::retention::run(Arc::clone(&shared), shutdown.clone()));
        tracker.spawn(crate::plugins::run_events(
            Arc::clone(&shared),
            shutdown.clone(),
        ));
        tracker.spawn(crate::trim::run(Arc::clone(&shared), shutdown.clone()));
        tracker.spawn(crate::notify::run(Arc::clone(&shared), shutdown.clone()));
        tracker.spawn(crate::monitor::run(Arc::clone(&shared), shutdown.clone()));
        tracker.spawn(crate::discovery::run(Arc::clone(&shared), shutdown.clone()));
        tracker.spawn(crate::spool::watch(
            Arc::clone(&shared),
            paths.spool.clone(),
            paths.legacy_spool.clone(),
            shutdown.clone(),
        ));
        shared.index.start(&shared.config);
        let hq = config.hq.clone();
        let settings =
            tokio::task::spawn_blocking(move || crate::hq_link::LinkSettings::from_config(&hq))
                .await
                .unwrap_or_else(|e| Err(format!("reading [hq]: {e}")));
        match settings {
            Ok(Some(settings)) => {
                tracker.spawn(crate::hq_link::run(
                    crate::service::Service::new(Arc::clone(&shared)),
                    settings,
                    Arc::clone(&shared.hq_link),
                    shutdown.clone(),
                ));
            }
            Ok(None) => {}
            // The daemon serves its own sessions whatever is wrong with
            // the link; health says what.
            Err(e) => {
                tracing::warn!(error = %e, "not linking to HQ");
                shared
                    .hq_link
                    .failed(config.hq.url.clone().unwrap_or_default(), e);
            }
        }
        tracing::info!(socket = %paths.socket.display(), pid = std::process::id(), "agentd serving");
        ready(&shared);

        let connections = TaskTracker::new();
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                // Asked for through the API (gRPC `Shutdown`): the same
                // graceful stop as a signal, for every component.
                _ = shared.shutdown.cancelled() => {
                    shutdown.cancel();
                    break;
                }
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        if shared.connections.all.load(std::sync::atomic::Ordering::Relaxed) >= shared.socket_cap {
                            // The hook client spools what it cannot deliver.
                            tracing::warn!(cap = shared.socket_cap, "too many connections; refusing one");
                            shared.connections.refused.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            drop(stream);
                            continue;
                        }
                        connections.spawn(connection::serve(stream, Arc::clone(&shared), shutdown.clone()));
                    }
                    Err(e) => {
                        // EMFILE and friends: back off instead of spinning.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
            }
        }

        tracing::info!("shutting down");
        // Launched sessions' pending permission requests get their answer now.
        shared.shutdown.cancel();
        shared.tasks.close();
        // Terminals' programs end with the daemon that holds their PTYs
        // (bounded: a process stuck in the kernel does not hold shutdown).
        let _ = tokio::time::timeout(DRAIN_TIMEOUT, shared.terminals.close_all()).await;
        drop(listener);
        drop(_socket_file);
        connections.close();
        tracker.close();
        let _ = tokio::time::timeout(DRAIN_TIMEOUT, async {
            connections.wait().await;
            tracker.wait().await;
            shared.tasks.wait().await;
        })
        .await;
        shared.index.stop().await;
        let _ = tx.send(Job::Stop).await;
        drop(tx);
        let joined = tokio::task::spawn_blocking(move || writer_thread.join());
        if tokio::time::timeout(Duration::from_millis(800), joined)
            .await
            .is_err()
        {
            tracing::warn!("writer did not stop in time");
        }
        tracing::info!("stopped");
        Ok(())
    }
}

/// Approvals left pending by an earlier daemon cannot be answered: the hook
/// calls that held them are gone. They end `expired`, and the sessions follow.
async fn expire_orphans(shared: &Arc<Shared>) {
    let pending = match shared
        .log
        .read(|r| r.approvals(false, None, usize::MAX))
        .await
    {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read pending approvals");
            return;
        }
    };
    for a in pending {
        let r = writer::Resolution {
            id: a.id.clone(),
            status: agentd_core::ApprovalStatus::Expired,
            decision: None,
            by: "agentd".to_owned(),
            reason: Some(
                "agentd restarted while it was pending; the hook call that held it is gone"
                    .to_owned(),
            ),
        };
        if let Err(e) = crate::approvals::settle(shared, r).await {
            tracing::warn!(approval = %a.id, error = %e, "cannot expire approval");
        }
    }
}

/// Creates `dir` (and missing parents) 0700, or, when it exists, checks
/// that it is ours and writable by nobody else. A folder agentd did not
/// create is never chmodded: a root that was shared stays as it was, and
/// agentd refuses it, naming the fix.
pub fn make_private_dir(dir: &Path) -> Result<(), DaemonError> {
    if std::fs::symlink_metadata(dir).is_err() {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io(format!("cannot create {}", dir.display())))?;
        // The umask may have taken bits off, never added any; this is ours.
        std::fs::set_permissions(dir, Permissions::from_mode(0o700))
            .map_err(io(format!("cannot make {} private (0700)", dir.display())))?;
    }
    agentd_client::trust::check_dir(dir)?;
    Ok(())
}

/// Creates `path` empty with mode 0600 unless it exists.
pub fn create_private_file(path: &Path) -> Result<(), DaemonError> {
    match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(io(format!("cannot create {}", path.display()))(e)),
    }
}

/// Checks every file in the root that agentd reads and acts on: the
/// config (its hooks run), the token (it authorises HTTP), the databases,
/// the web sessions, and the spool folder.
fn check_root_files(paths: &Paths) -> Result<(), DaemonError> {
    use agentd_client::trust::{check_dir, check_file};
    for f in [&paths.config, &paths.token, &paths.db, &paths.index] {
        check_file(f)?;
    }
    for f in [
        paths.root.join("hooks.db"),
        paths.db.with_extension("db-wal"),
        paths.db.with_extension("db-shm"),
        paths.legacy_spool.clone(),
        // Its hashes sign browsers in.
        paths.root.join("web-sessions.json"),
    ] {
        check_file(&f)?;
    }
    if paths.spool.exists() {
        check_dir(&paths.spool)?;
    }
    Ok(())
}

/// The socket file, removed when dropped (the lock holder owns it).
struct SocketFile(std::path::PathBuf);

impl Drop for SocketFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Binds the socket, replacing a stale one (we hold the lock, so any socket
/// file left is from a daemon that died), and makes it 0600.
fn bind_socket(path: &Path) -> Result<(UnixListener, SocketFile), DaemonError> {
    match std::fs::remove_file(path) {
        Ok(()) => tracing::info!(socket = %path.display(), "replaced a stale socket"),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(format!("cannot remove stale socket {}", path.display()))(e)),
    }
    let listener =
        UnixListener::bind(path).map_err(io(format!("cannot bind {}", path.display())))?;
    let file = SocketFile(path.to_path_buf());
    std::fs::set_permissions(path, Permissions::from_mode(0o600))
        .map_err(io(format!("cannot chmod {}", path.display())))?;
    Ok((listener, file))
}

/// Reads the HTTP bearer token, creating it (32 random bytes, hex, mode 0600)
/// on first start.
fn ensure_token(path: &Path) -> Result<String, DaemonError> {
    if let Ok(existing) = std::fs::read_to_string(path) {
        let t = existing.trim();
        if t.len() >= 32 {
            return Ok(t.to_owned());
        }
    }
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| DaemonError::Http(format!("no randomness for the token: {e}")))?;
    let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let _ = std::fs::remove_file(path);
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io(format!("cannot create {}", path.display())))?;
    writeln!(f, "{token}").map_err(io(format!("cannot write {}", path.display())))?;
    Ok(token)
}

/// Keeps the TLS leaf and the Host check in step with the listener's
/// address set (checked every [`crate::tls::CHECK_EVERY`]), and renews
/// the leaf before it ends: no restart, open connections untouched.
/// TLS for a listener on `addr` (the daemon's or HQ's): the leaf for its
/// address set from the CA in `root` (made once), `hosts` set to the names
/// it answers to, and a task on `tracker` that renews the leaf and follows
/// the address set until `shutdown`.
///
/// # Errors
/// When the CA or the leaf cannot be made.
pub async fn start_tls(
    root: &Path,
    addr: std::net::SocketAddr,
    hosts: &http::Hosts,
    tracker: &TaskTracker,
    shutdown: &CancellationToken,
) -> Result<Arc<rustls::ServerConfig>, String> {
    let names = tokio::task::spawn_blocking(move || crate::tls::address_set(addr))
        .await
        .unwrap_or_default();
    if let Ok(mut h) = hosts.write() {
        h.clone_from(&names);
    }
    let root = root.to_path_buf();
    let leaf = tokio::task::spawn_blocking(move || crate::tls::Leaf::new(&root, names))
        .await
        .map_err(|e| format!("issuing the TLS leaf: {e}"))??;
    tracker.spawn(renew_leaf(
        Arc::clone(&leaf),
        addr,
        Arc::clone(hosts),
        shutdown.clone(),
    ));
    Ok(crate::tls::server_config(leaf))
}

async fn renew_leaf(
    leaf: Arc<crate::tls::Leaf>,
    listen: std::net::SocketAddr,
    hosts: http::Hosts,
    shutdown: CancellationToken,
) {
    let mut tick = tokio::time::interval(crate::tls::CHECK_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let leaf = Arc::clone(&leaf);
        let renewed = tokio::task::spawn_blocking(move || {
            let names = crate::tls::address_set(listen);
            let r = leaf.renew_if_needed(names.clone(), std::time::SystemTime::now());
            (names, r)
        })
        .await;
        match renewed {
            Ok((names, Ok(Some(why)))) => {
                tracing::info!(why, names = ?names, "renewed the TLS leaf certificate");
                if let Ok(mut h) = hosts.write() {
                    *h = names;
                }
            }
            Ok((_, Ok(None))) => {}
            Ok((_, Err(e))) => {
                tracing::error!(error = %e, "cannot renew the TLS leaf certificate; the old one stays")
            }
            Err(e) => tracing::error!(error = %e, "the TLS renewal check failed"),
        }
    }
}
