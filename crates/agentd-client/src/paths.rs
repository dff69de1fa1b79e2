//! Where agentd keeps its files.
//!
//! Everything lives under one root: `$AGENTD_HOME` when set (socket
//! included), else `$XDG_STATE_HOME/agentd` (default `~/.local/state/agentd`)
//! with the socket under `$XDG_RUNTIME_DIR/agentd/` when that directory exists.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Every path agentd uses.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Paths {
    /// The root directory (0700).
    pub root: PathBuf,
    /// Optional settings file, `agentd.toml`.
    pub config: PathBuf,
    /// SQLite database, `agentd.db`.
    pub db: PathBuf,
    /// Transcript index, `index.db` (SQLite; rebuilt from the transcripts
    /// when deleted).
    pub index: PathBuf,
    /// Unix socket of the local API (0600, in a 0700 directory).
    pub socket: PathBuf,
    /// Bearer token of the HTTP API (0600).
    pub token: PathBuf,
    /// Log file of a daemon started with `agentd start`.
    pub log: PathBuf,
    /// Hook events the daemon did not acknowledge, one file each
    /// (`spool/`; see [`crate::spool`]).
    pub spool: PathBuf,
    /// The one-file spool of agentd before 0.2 (`spool.ndjson`), drained
    /// at start if present.
    pub legacy_spool: PathBuf,
    /// Lock file: the running daemon holds an exclusive `flock` on it and
    /// writes its pid into it.
    pub pid: PathBuf,
}

/// Why the paths cannot be determined.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PathsError {
    /// Neither `AGENTD_HOME`, `XDG_STATE_HOME` nor `HOME` is set.
    #[error("cannot find a home for agentd: set AGENTD_HOME (or HOME)")]
    NoHome,
    /// The socket path is longer than a Unix socket address allows.
    #[error(
        "socket path {0} is longer than the 107 bytes a Unix socket allows; set AGENTD_HOME to a shorter directory"
    )]
    SocketTooLong(PathBuf),
}

/// Longest socket path `sockaddr_un` holds on Linux (108 bytes with the NUL).
const MAX_SOCKET_PATH: usize = 107;

impl Paths {
    /// Resolves the paths from the process environment; `home` (the `--home`
    /// flag) beats `$AGENTD_HOME`.
    ///
    /// # Errors
    /// [`PathsError`] when there is no home or the socket path is too long.
    pub fn resolve(home: Option<&Path>) -> Result<Paths, PathsError> {
        Paths::from_env(home, |k| std::env::var_os(k), |p| p.is_dir())
    }

    /// [`Paths::resolve`] with the environment and the directory test injected.
    ///
    /// # Errors
    /// As [`Paths::resolve`].
    pub fn from_env(
        home: Option<&Path>,
        var: impl Fn(&str) -> Option<OsString>,
        is_dir: impl Fn(&Path) -> bool,
    ) -> Result<Paths, PathsError> {
        let nonempty = |k: &str| var(k).filter(|v| !v.is_empty()).map(PathBuf::from);
        let (root, socket_dir) = if let Some(root) = home
            .map(Path::to_path_buf)
            .or_else(|| nonempty("AGENTD_HOME"))
        {
            (root.clone(), root)
        } else {
            let state = nonempty("XDG_STATE_HOME")
                .or_else(|| nonempty("HOME").map(|h| h.join(".local/state")))
                .ok_or(PathsError::NoHome)?;
            let root = state.join("agentd");
            let socket_dir = match nonempty("XDG_RUNTIME_DIR") {
                Some(run) if is_dir(&run) => run.join("agentd"),
                _ => root.clone(),
            };
            (root, socket_dir)
        };
        let socket = socket_dir.join("agentd.sock");
        if socket.as_os_str().len() > MAX_SOCKET_PATH {
            return Err(PathsError::SocketTooLong(socket));
        }
        Ok(Paths {
            config: root.join("agentd.toml"),
            db: root.join("agentd.db"),
            index: root.join("index.db"),
            token: root.join("token"),
            log: root.join("agentd.log"),
            pid: root.join("agentd.pid"),
            spool: root.join("spool"),
            legacy_spool: root.join("spool.ndjson"),
            socket,
            root,
        })
    }

    /// The directory holding the socket.
    pub fn socket_dir(&self) -> &Path {
        self.socket.parent().unwrap_or(&self.root)
    }
}

/// Claude Code's config folder: `$CLAUDE_CONFIG_DIR`, else `~/.claude`
/// (reference §2.1, §4.1); `None` without either.
pub fn claude_config_dir() -> Option<PathBuf> {
    std::env::var_os("CLAUDE_CONFIG_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|h| !h.is_empty())
                .map(|h| PathBuf::from(h).join(".claude"))
        })
}

/// Codex CLI's home: `$CODEX_HOME`, else `~/.codex` (hooks.json,
/// config.toml, `sessions/` rollouts).
pub fn codex_home() -> Option<PathBuf> {
    std::env::var_os("CODEX_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| home_dir().map(|h| h.join(".codex")))
}

/// Gemini CLI's folder: `$GEMINI_CLI_HOME/.gemini`, else `~/.gemini`
/// (settings.json, `tmp/<project>/chats/` transcripts).
pub fn gemini_dir() -> Option<PathBuf> {
    std::env::var_os("GEMINI_CLI_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(home_dir)
        .map(|h| h.join(".gemini"))
}

fn home_dir() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn resolve(vars: &[(&str, &str)], run_exists: bool) -> Result<Paths, PathsError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Paths::from_env(None, |k| vars.get(k).map(OsString::from), |_| run_exists)
    }

    #[test]
    fn agentd_home_holds_everything() {
        let p = resolve(
            &[("AGENTD_HOME", "/h"), ("XDG_RUNTIME_DIR", "/run/u")],
            true,
        )
        .unwrap();
        assert_eq!(p.root, PathBuf::from("/h"));
        assert_eq!(p.socket, PathBuf::from("/h/agentd.sock"));
        assert_eq!(p.db, PathBuf::from("/h/agentd.db"));
    }

    #[test]
    fn xdg_state_and_runtime() {
        let p = resolve(&[("HOME", "/home/u"), ("XDG_RUNTIME_DIR", "/run/u")], true).unwrap();
        assert_eq!(p.root, PathBuf::from("/home/u/.local/state/agentd"));
        assert_eq!(p.socket, PathBuf::from("/run/u/agentd/agentd.sock"));
        let p = resolve(
            &[("XDG_STATE_HOME", "/s"), ("XDG_RUNTIME_DIR", "/run/u")],
            false,
        )
        .unwrap();
        assert_eq!(p.socket, PathBuf::from("/s/agentd/agentd.sock"));
    }

    #[test]
    fn errors() {
        assert_eq!(resolve(&[], false), Err(PathsError::NoHome));
        let long = format!("/{}", "x".repeat(120));
        assert!(matches!(
            resolve(&[("AGENTD_HOME", &long)], false),
            Err(PathsError::SocketTooLong(_))
        ));
    }
}
