//! The terminals this daemon started (the web UI's, and later remote
//! runners'): a component of the daemon's state. The PTYs themselves are
//! `agentd_pty`'s.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use agentd_proto::api::TerminalView;
use agentd_pty::Terminal;

/// Most terminals kept at once (exited ones count until closed).
pub const MAX_TERMINALS: usize = 32;
/// Output each terminal keeps for replay, bytes.
pub const BUFFER_BYTES: usize = 2 << 20;
/// How long each signal of a close gets before the next.
pub const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// A terminal and what it was started as.
#[derive(Clone)]
pub struct Entry {
    /// The PTY.
    pub terminal: Terminal,
    /// `claude` or `shell`.
    pub kind: String,
    /// The program.
    pub program: String,
    /// Its working directory.
    pub cwd: String,
    /// Started at, ms since the Unix epoch.
    pub started_ms: i64,
}

impl Entry {
    /// The API's view of it, now.
    pub fn view(&self, id: &str) -> TerminalView {
        let (cols, rows) = self.terminal.size();
        TerminalView {
            id: id.to_owned(),
            kind: self.kind.clone(),
            program: self.program.clone(),
            cwd: self.cwd.clone(),
            pid: self.terminal.pid(),
            cols,
            rows,
            started_ms: self.started_ms,
            output_bytes: self.terminal.end(),
            exit_code: self.terminal.exit_code(),
        }
    }
}

/// The terminals, by id.
#[derive(Default)]
pub struct Terminals {
    map: Mutex<BTreeMap<String, Entry>>,
}

impl Terminals {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Entry>> {
        self.map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// How many are kept.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether none is kept.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Keeps `entry` under `id`, unless [`MAX_TERMINALS`] are kept
    /// already (then it is handed back).
    ///
    /// # Errors
    /// The entry, when there is no room.
    pub fn insert(&self, id: String, entry: Entry) -> Result<(), Entry> {
        let mut map = self.lock();
        if map.len() >= MAX_TERMINALS {
            return Err(entry);
        }
        map.insert(id, entry);
        Ok(())
    }

    /// Every terminal, oldest first.
    pub fn list(&self) -> Vec<TerminalView> {
        let mut v: Vec<TerminalView> = self.lock().iter().map(|(id, e)| e.view(id)).collect();
        v.sort_by_key(|t| t.started_ms);
        v
    }

    /// The terminals whose id starts with `prefix` (an exact id wins).
    pub fn find(&self, prefix: &str) -> Vec<(String, Entry)> {
        let map = self.lock();
        if let Some(e) = map.get(prefix) {
            return vec![(prefix.to_owned(), e.clone())];
        }
        map.iter()
            .filter(|(id, _)| id.starts_with(prefix))
            .map(|(id, e)| (id.clone(), e.clone()))
            .collect()
    }

    /// Forgets `id`; its entry.
    pub fn remove(&self, id: &str) -> Option<Entry> {
        self.lock().remove(id)
    }

    /// Ends every terminal's process group (the daemon is stopping).
    pub async fn close_all(&self) {
        let all: Vec<Entry> = std::mem::take(&mut *self.lock()).into_values().collect();
        for e in &all {
            e.terminal.close(CLOSE_GRACE).await;
        }
    }
}
