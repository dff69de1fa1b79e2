//! Terminals: start a command in a PTY on the daemon's machine, list,
//! close, and hand a terminal to a face that streams it (the web UI's
//! WebSocket).

use std::path::PathBuf;

use agentd_proto::api::{TerminalStartParams, TerminalView};
use agentd_pty::{Spawn, Terminal};

use super::{Service, ServiceError};
use crate::terminals::{BUFFER_BYTES, CLOSE_GRACE, Entry, MAX_TERMINALS};

impl Service {
    /// Starts `claude` (default) or a shell in a new PTY, in its own
    /// process group. A Claude Code started here reports to this daemon
    /// like any other session.
    ///
    /// # Errors
    /// [`ServiceError::Invalid`] for an unknown kind or a directory that is
    /// not one; [`ServiceError::Gone`] when `claude` is missing;
    /// [`ServiceError::Overloaded`] past [`MAX_TERMINALS`];
    /// [`ServiceError::Internal`] when the PTY cannot start.
    pub async fn start_terminal(
        &self,
        p: TerminalStartParams,
    ) -> Result<TerminalView, ServiceError> {
        if self.shared.terminals.len() >= MAX_TERMINALS {
            return Err(ServiceError::Overloaded(format!(
                "{MAX_TERMINALS} terminals are open; close one first (terminals.close, or the web UI's close button)"
            )));
        }
        let kind = p.kind.as_deref().unwrap_or("claude");
        let program: PathBuf = match kind {
            // Looks along PATH: off the async workers.
            "claude" => {
                let shared = std::sync::Arc::clone(&self.shared);
                crate::blocking::bounded("finding claude", move || {
                    crate::launch::claude_path(&shared)
                })
                .await
                .unwrap_or_else(|| Err("looking for claude took too long".to_owned()))
                .map_err(ServiceError::Gone)?
            }
            "shell" => std::env::var_os("SHELL")
                .filter(|s| !s.is_empty())
                .map_or_else(|| PathBuf::from("/bin/sh"), PathBuf::from),
            other => {
                return Err(ServiceError::Invalid(format!(
                    "unknown terminal kind {other:?}: use \"claude\" or \"shell\""
                )));
            }
        };
        let cwd = match p.cwd.filter(|c| !c.is_empty()) {
            Some(c) => PathBuf::from(c),
            None => std::env::var_os("HOME").map_or_else(|| PathBuf::from("/"), PathBuf::from),
        };
        let dir = cwd.clone();
        let is_dir = crate::blocking::bounded("terminal cwd", move || agentd_fs::is_dir(&dir))
            .await
            .unwrap_or(false);
        if !cwd.is_absolute() || !is_dir {
            return Err(ServiceError::Invalid(format!(
                "{} is not a directory: give an absolute path to an existing one",
                cwd.display()
            )));
        }
        let spec = Spawn {
            program: program.clone(),
            args: Vec::new(),
            cwd: cwd.clone(),
            env: vec![("COLORTERM".into(), "truecolor".into())],
            size: (p.cols.unwrap_or(80), p.rows.unwrap_or(24)),
            buffer_bytes: BUFFER_BYTES,
        };
        // Opening a PTY and forking: off the async workers.
        let terminal = tokio::task::spawn_blocking(move || Terminal::spawn(spec))
            .await
            .map_err(|e| ServiceError::Internal(format!("starting the terminal: {e}")))?
            .map_err(|e| ServiceError::Internal(e.to_string()))?;
        let id = format!("term_{}", &crate::approvals::new_id()["apr_".len()..]);
        let entry = Entry {
            terminal,
            kind: kind.to_owned(),
            program: program.display().to_string(),
            cwd: cwd.display().to_string(),
            started_ms: crate::now_ms(),
        };
        let view = entry.view(&id);
        if let Err(entry) = self.shared.terminals.insert(id, entry) {
            // Others started meanwhile took the last places.
            entry.terminal.close(CLOSE_GRACE).await;
            return Err(ServiceError::Overloaded(format!(
                "{MAX_TERMINALS} terminals are open; close one first"
            )));
        }
        tracing::info!(terminal = %view.id, pid = view.pid, kind, "terminal started");
        Ok(view)
    }

    /// Every terminal, oldest first.
    pub fn terminals(&self) -> Vec<TerminalView> {
        self.shared.terminals.list()
    }

    /// The terminal `id` names (an id or a unique prefix), to stream.
    ///
    /// # Errors
    /// [`ServiceError::NotFound`] / [`ServiceError::Ambiguous`].
    pub fn terminal(&self, id: &str) -> Result<(String, Entry), ServiceError> {
        let mut found = self.shared.terminals.find(id);
        match found.len() {
            1 => Ok(found.remove(0)),
            0 => Err(ServiceError::NotFound(format!(
                "no terminal {id:?}; terminals.list shows them"
            ))),
            _ => Err(ServiceError::Ambiguous(format!(
                "{id:?} names several terminals; give more of the id"
            ))),
        }
    }

    /// Ends a terminal's process group (SIGHUP, SIGTERM, SIGKILL) and
    /// forgets it; the view it had, with its exit code.
    ///
    /// # Errors
    /// As [`Service::terminal`].
    pub async fn close_terminal(&self, id: &str) -> Result<TerminalView, ServiceError> {
        let (id, entry) = self.terminal(id)?;
        entry.terminal.close(CLOSE_GRACE).await;
        self.shared.terminals.remove(&id);
        Ok(entry.view(&id))
    }
}
