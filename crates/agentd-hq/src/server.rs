//! `agentd hq serve`: HQ's start-up, listener and shutdown.
//!
//! HQ's root (`--home`/`AGENTD_HOME`, 0700) holds `hq.db` (0600), `hq.pid`
//! (the lock: one HQ per root) and `hq.json` (`{"addr", "pid"}`, 0600:
//! where this HQ listens, for the local CLI and tests). It listens on
//! `[http] listen`/`AGENTD_HTTP_LISTEN`: loopback, or any address with
//! `[http] tls = true` (a CA made once in `tls/`, as the daemon's).

use std::path::{Path, PathBuf};
use std::time::Duration;

use agentd_client::Config;
use tokio_util::sync::CancellationToken;

use crate::backend::Backend;
use crate::service::HqService;
use crate::store::Store;

/// HQ's files in its root.
#[derive(Debug, Clone)]
pub struct HqPaths {
    /// The root.
    pub root: PathBuf,
    /// `hq.db`.
    pub db: PathBuf,
    /// `hq.pid`.
    pub pid: PathBuf,
    /// `hq.json`.
    pub info: PathBuf,
}

impl HqPaths {
    /// HQ's files in `root`.
    pub fn new(root: &Path) -> HqPaths {
        HqPaths {
            root: root.to_path_buf(),
            db: root.join("hq.db"),
            pid: root.join("hq.pid"),
            info: root.join("hq.json"),
        }
    }
}

/// `hq.json`: where a running HQ listens.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct HqInfo {
    /// `host:port`.
    pub addr: String,
    /// HQ's pid.
    pub pid: u32,
    /// Whether it serves TLS (its CA: `tls/ca.pem` in HQ's root).
    #[serde(default)]
    pub tls: bool,
}

impl HqInfo {
    /// The URL a client on this machine uses.
    pub fn url(&self) -> String {
        format!(
            "{}://{}",
            if self.tls { "https" } else { "http" },
            self.addr
        )
    }
}

/// Why HQ could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The root, the lock or a file.
    #[error(transparent)]
    Daemon(#[from] agentd_daemon::server::DaemonError),
    /// Another HQ serves this root.
    #[error(transparent)]
    Lock(#[from] agentd_daemon::lock::LockError),
    /// The store.
    #[error("{0}")]
    Store(String),
    /// The listener.
    #[error("{0}")]
    Http(String),
}

/// How often HQ looks for tokens revoked by another process.
const REVOCATION_CHECK: Duration = Duration::from_secs(1);

/// Opens the store of `paths`, creating the root and `hq.db` privately.
///
/// # Errors
/// An untrusted root, or the store.
pub fn open_store(paths: &HqPaths) -> Result<Store, ServeError> {
    agentd_daemon::server::make_private_dir(&paths.root)?;
    agentd_daemon::server::create_private_file(&paths.db)?;
    agentd_client::trust::check_file(&paths.db)
        .map_err(|e| ServeError::Store(format!("refusing {}: {e}", paths.db.display())))?;
    Store::open(&paths.db).map_err(|e| ServeError::Store(e.to_string()))
}

/// Serves HQ until `shutdown`.
///
/// # Errors
/// What kept it from starting.
pub async fn serve(
    paths: &HqPaths,
    config: &Config,
    shutdown: CancellationToken,
) -> Result<(), ServeError> {
    // What HQ acts on must be the user's alone: the root (checked as it is
    // made private) and the config that names the database.
    agentd_daemon::server::make_private_dir(&paths.root)?;
    agentd_client::trust::check_file(&paths.root.join("agentd.toml"))
        .map_err(|e| ServeError::Store(format!("refusing to start: {e}")))?;
    let backend = open_backend(paths, config).await?;
    let _lock = agentd_daemon::lock::acquire(&paths.pid, &paths.root)?;
    // A link is a socket: a thousand runners need a thousand descriptors.
    let fd_limit = agentd_daemon::limits::raise_fd_limit();
    tracing::debug!(fd_limit, "open-files limit");
    let shared = backend.shared();
    let hq = HqService::load(backend)
        .await
        .map_err(|e| ServeError::Store(e.to_string()))?;
    let addr =
        agentd_daemon::http::parse_listen(&config.http.listen, false).map_err(ServeError::Http)?;
    let tcp = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        ServeError::Http(format!(
            "cannot listen on {addr}: {e}; set AGENTD_HTTP_LISTEN (port 0 picks a free one)"
        ))
    })?;
    let bound = tcp
        .local_addr()
        .map_err(|e| ServeError::Http(format!("reading the HTTP address: {e}")))?;
    let tasks = tokio_util::task::TaskTracker::new();
    let hosts: agentd_daemon::http::Hosts = Default::default();
    // The same TLS as the daemon's: a CA in HQ's root, a leaf for its
    // addresses; runners pin the CA (`agentd runner join --ca`).
    let tls = if config.http.tls {
        Some(
            agentd_daemon::server::start_tls(&paths.root, bound, &hosts, &tasks, &shutdown)
                .await
                .map_err(ServeError::Http)?,
        )
    } else {
        None
    };
    write_info(
        &paths.info,
        &HqInfo {
            addr: bound.to_string(),
            pid: std::process::id(),
            tls: tls.is_some(),
        },
    )
    .map_err(|e| ServeError::Http(format!("writing {}: {e}", paths.info.display())))?;

    tasks.spawn(watch_revocations(hq.clone(), shutdown.clone()));
    if shared {
        tasks.spawn(follow_other_hqs(hq.clone(), shutdown.clone()));
        tasks.spawn(crate::route::run(hq.clone(), shutdown.clone()));
        let url =
            crate::peers::advertised_url(config.hq.advertise.as_deref(), bound, tls.is_some());
        let ca_pem = if tls.is_some() {
            let (cert, _) = agentd_daemon::tls::ca_paths(&paths.root);
            let pem = tokio::task::spawn_blocking(move || agentd_fs::read(&cert, 1 << 20))
                .await
                .map_err(|e| ServeError::Http(e.to_string()))?
                .map_err(|e| ServeError::Http(format!("reading HQ's CA: {e}")))?;
            Some(String::from_utf8_lossy(&pem).into_owned())
        } else {
            None
        };
        tasks.spawn(register_as_peer(hq.clone(), url, ca_pem, shutdown.clone()));
    }
    let root = paths.root.clone();
    let secure = tls.is_some();
    let web =
        tokio::task::spawn_blocking(move || crate::web::WebAuth::load(&root, bound.port(), secure))
            .await
            .map_err(|e| ServeError::Http(e.to_string()))?
            .map_err(ServeError::Http)?;
    let app = crate::api::router(hq.clone(), web, shutdown.clone(), hosts);
    let listener = agentd_daemon::limits::CappedListener::new(
        tcp,
        agentd_daemon::limits::MAX_HTTP_CONNECTIONS,
        // Runner links ping every 10 s: never idle this long.
        agentd_daemon::limits::HTTP_IDLE_TIMEOUT,
    );
    tracing::info!(addr = %bound, root = %paths.root.display(), "HQ listening");
    tasks.spawn(agentd_daemon::http::serve(
        listener,
        app,
        shutdown.clone(),
        tls,
    ));
    shutdown.cancelled().await;
    tracing::info!("HQ stopping");
    hq.fleet().close_all();
    tasks.close();
    let _ = tokio::time::timeout(Duration::from_secs(6), tasks.wait()).await;
    let _ = std::fs::remove_file(&paths.info);
    Ok(())
}

/// Cuts the links of tokens `agentd hq token revoke` revoked, within
/// [`REVOCATION_CHECK`].
async fn watch_revocations(hq: HqService, shutdown: CancellationToken) {
    let mut seen = hq.change_marker().await.ok().flatten();
    let mut tick = tokio::time::interval(REVOCATION_CHECK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let now = hq.change_marker().await.ok().flatten();
        // No marker (Postgres): look every time; the query is an index scan.
        if now.is_none() || now != seen {
            seen = now;
            match hq.cut_revoked().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(links = n, "revoked tokens' links cut"),
                Err(e) => tracing::warn!(error = %e, "checking revoked tokens"),
            }
        }
    }
}

/// With a shared store, what other HQs stored (runners linked to them)
/// is folded here too, within [`FOLLOW_EVERY`].
async fn follow_other_hqs(hq: HqService, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(FOLLOW_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        if let Err(e) = hq.sync().await {
            tracing::warn!(error = %e, "reading what other HQs stored");
        }
    }
}

/// Keeps this HQ registered where other HQ processes on the database find
/// it (for terminals of runners linked here), until shutdown.
async fn register_as_peer(
    hq: HqService,
    url: String,
    ca_pem: Option<String>,
    shutdown: CancellationToken,
) {
    let mut tick = tokio::time::interval(REGISTER_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tick.tick() => {}
        }
        if let Err(e) = hq.register_peer(&url, ca_pem.as_deref()).await {
            tracing::warn!(error = %e, "registering this HQ for the others");
        }
    }
    hq.forget_peer().await;
}

/// How often an HQ refreshes its registration (others treat one older
/// than 30 s as gone).
const REGISTER_EVERY: Duration = Duration::from_secs(10);

/// How often an HQ on a shared store folds what the others stored.
const FOLLOW_EVERY: Duration = Duration::from_millis(500);

/// HQ's store: PostgreSQL when `[hq] database` is set, else `hq.db` in
/// the root.
///
/// # Errors
/// An untrusted root, an unreachable database, or a failed migration.
pub async fn open_backend(paths: &HqPaths, config: &Config) -> Result<Backend, ServeError> {
    match config.hq.database.as_deref().filter(|d| !d.is_empty()) {
        Some(url) => {
            agentd_daemon::server::make_private_dir(&paths.root)?;
            let pg = crate::pg::PgStore::open(url)
                .await
                .map_err(|e| ServeError::Store(e.to_string()))?;
            Ok(Backend::Postgres(pg))
        }
        None => {
            let paths = paths.clone();
            let store = tokio::task::spawn_blocking(move || open_store(&paths))
                .await
                .map_err(|e| ServeError::Store(e.to_string()))??;
            Ok(Backend::sqlite(store))
        }
    }
}

fn write_info(path: &Path, info: &HqInfo) -> std::io::Result<()> {
    agentd_fs::write_private(
        path,
        serde_json::to_string(info).unwrap_or_default().as_bytes(),
    )
}

/// Where the HQ serving `paths` listens, if one runs.
pub fn running(paths: &HqPaths) -> Option<HqInfo> {
    agentd_daemon::lock::running_pid(&paths.pid)?;
    let text = std::fs::read_to_string(&paths.info).ok()?;
    serde_json::from_str(&text).ok()
}
