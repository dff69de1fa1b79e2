//! Hot reload: the plugin folder is watched; a change to a `.wasm` or a
//! manifest reloads the plugins (off the call path, on this thread) a
//! moment after the last write, so a file being copied in is read once,
//! whole.

use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use notify::event::{AccessKind, AccessMode, ModifyKind};
use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher};

use crate::registry::Plugins;

/// Quiet time after the last change before reloading.
pub const SETTLE: Duration = Duration::from_millis(100);

/// Whether a change of `kind` can change a plugin: new bytes, a rename, a
/// removal — never a read (reading the files must not reload them).
pub fn means_change(kind: &EventKind) -> bool {
    match kind {
        EventKind::Create(_) | EventKind::Remove(_) => true,
        EventKind::Modify(ModifyKind::Metadata(_)) => false,
        EventKind::Modify(_) => true,
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) | EventKind::Any | EventKind::Other => false,
    }
}

/// Keeps the folder watched while it lives.
pub struct Watching {
    _watcher: RecommendedWatcher,
}

/// Watches `plugins`' folder (created if missing, 0700) and reloads on
/// changes until the returned handle is dropped.
///
/// # Errors
/// When the folder cannot be made or watched.
pub fn watch(plugins: Arc<Plugins>) -> Result<Watching, String> {
    let dir = plugins.dir().to_path_buf();
    if !dir.is_dir() {
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700));
        }
    }
    let (tx, rx) = mpsc::channel::<()>();
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        if let Ok(event) = res
            && means_change(&event.kind)
            && event
                .paths
                .iter()
                .any(|p| p.extension().is_some_and(|e| e == "wasm" || e == "toml"))
        {
            let _ = tx.send(());
        }
    })
    .map_err(|e| format!("cannot watch {}: {e}", dir.display()))?;
    watcher
        .watch(&dir, RecursiveMode::NonRecursive)
        .map_err(|e| format!("cannot watch {}: {e}", dir.display()))?;
    std::thread::Builder::new()
        .name("agentd-plugin-reload".into())
        .spawn(move || {
            // Ends when the watcher (the sender's owner) is dropped.
            while rx.recv().is_ok() {
                while rx.recv_timeout(SETTLE).is_ok() {}
                for (name, error) in plugins.reload() {
                    if let Some(e) = error {
                        tracing::warn!(plugin = name, error = %e, "a plugin did not load; its previous version (if any) keeps running");
                    }
                }
            }
        })
        .map_err(|e| e.to_string())?;
    Ok(Watching { _watcher: watcher })
}
