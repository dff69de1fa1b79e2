//! What each live session's processes cost: CPU % and resident memory of
//! the agent's whole process tree (tool subprocesses included), sampled
//! every [`INTERVAL`] from `/proc`, and a flag on a tool subprocess that has
//! kept a core busy for [`HOT_AFTER`].
//!
//! A sample reads `stat` of each agent and its descendants (found through
//! `/proc/<pid>/task/<tid>/children`), nothing else: about 3 small reads
//! per process. With no live session with a known pid, nothing is read.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use agentd_proto::api::{HotProcess, ProcessStats, SessionProcess};

use crate::procfs::{MAX_PROC_BYTES, read_stat};
use tokio::sync::watch;

/// How often sessions are sampled.
pub const INTERVAL: Duration = Duration::from_secs(2);
/// A tool subprocess at or above [`HOT_PCT`] this long is flagged.
pub const HOT_AFTER: Duration = Duration::from_secs(600);
/// "A whole core", %.
pub const HOT_PCT: f64 = 95.0;
/// Most processes followed under one agent.
const MAX_TREE: usize = 512;
/// The pids of `pid` and its descendants (breadth first, at most
/// [`MAX_TREE`]), through `<proc>/<pid>/task/*/children`.
pub fn tree(proc: &Path, pid: u32) -> Vec<u32> {
    let mut out = vec![pid];
    let mut i = 0;
    while i < out.len() && out.len() < MAX_TREE {
        let p = out[i];
        i += 1;
        let Ok(tasks) = std::fs::read_dir(proc.join(p.to_string()).join("task")) else {
            continue;
        };
        for t in tasks.flatten() {
            let Ok(text) =
                agentd_fs::read_to_string(&t.path().join("children"), MAX_PROC_BYTES * 4)
            else {
                continue;
            };
            for c in text
                .split_whitespace()
                .filter_map(|c| c.parse::<u32>().ok())
            {
                if !out.contains(&c) && out.len() < MAX_TREE {
                    out.push(c);
                }
            }
        }
    }
    out
}

/// What one process was at the last sample.
#[derive(Debug, Clone)]
struct Seen {
    ticks: u64,
    at_ms: i64,
    /// Since when it has been at [`HOT_PCT`] or more (ms), if it is.
    hot_since_ms: Option<i64>,
}

/// The sampler's memory between samples, and the latest figures.
#[derive(Debug, Default)]
pub struct Sampler {
    seen: HashMap<u32, Seen>,
    stats: HashMap<String, ProcessStats>,
}

impl Sampler {
    /// Samples the trees of `sessions` (`(id, agent pid)`) under `proc` at
    /// `now_ms`; `tick_hz` and `page_bytes` from `sysconf`.
    pub fn sample(
        &mut self,
        proc: &Path,
        sessions: &[(String, u32)],
        now_ms: i64,
        tick_hz: u64,
        page_bytes: u64,
    ) {
        let mut seen = HashMap::new();
        let mut stats = HashMap::new();
        for (id, agent_pid) in sessions {
            let mut cpu = 0.0;
            let mut rss = 0u64;
            let mut n = 0u32;
            let mut hot: Option<HotProcess> = None;
            for pid in tree(proc, *agent_pid) {
                let Some(st) = read_stat(proc, pid).filter(|st| !st.exited()) else {
                    continue;
                };
                n += 1;
                rss = rss.saturating_add(st.rss_pages.saturating_mul(page_bytes));
                let prev = self.seen.get(&pid);
                let pct = prev
                    .filter(|p| now_ms > p.at_ms && st.ticks >= p.ticks)
                    .map(|p| {
                        let secs = (now_ms - p.at_ms) as f64 / 1000.0;
                        (st.ticks - p.ticks) as f64 / tick_hz.max(1) as f64 / secs * 100.0
                    })
                    .unwrap_or(0.0);
                cpu += pct;
                let hot_since_ms = if pct >= HOT_PCT {
                    Some(prev.and_then(|p| p.hot_since_ms).unwrap_or(now_ms))
                } else {
                    None
                };
                // The agent itself thinking hard is its job; a tool
                // subprocess spinning for ten minutes is worth a look.
                if pid != *agent_pid
                    && let Some(since) = hot_since_ms
                    && now_ms - since >= HOT_AFTER.as_millis() as i64
                    && hot.is_none()
                {
                    hot = Some(HotProcess {
                        pid,
                        comm: agentd_core::text::one_line(&st.comm),
                        since_ms: since,
                    });
                }
                seen.insert(
                    pid,
                    Seen {
                        ticks: st.ticks,
                        at_ms: now_ms,
                        hot_since_ms,
                    },
                );
            }
            if n > 0 {
                stats.insert(
                    id.clone(),
                    ProcessStats {
                        cpu_pct: (cpu * 10.0).round() / 10.0,
                        rss_bytes: rss,
                        processes: n,
                        hot,
                        sampled_ms: now_ms,
                    },
                );
            }
        }
        self.seen = seen;
        self.stats = stats;
    }

    /// The latest figures of session `id`.
    pub fn stats(&self, id: &str) -> Option<&ProcessStats> {
        self.stats.get(id)
    }
}

/// Every sampled session's figures, by session id, as last published.
pub type Published = Arc<BTreeMap<String, ProcessStats>>;

/// What a reader of the figures sees change: CPU to the whole %, memory
/// to the MiB, the process count and the flag. Samples that differ only
/// below that are not published, so watchers of an idle machine hear
/// nothing.
fn shown(p: &ProcessStats) -> (i64, u64, u32, Option<u32>) {
    (
        p.cpu_pct.round() as i64,
        p.rss_bytes >> 20,
        p.processes,
        p.hot.as_ref().map(|h| h.pid),
    )
}

/// Whether `a` and `b` would show the same figures for the same sessions.
fn same_shown(a: &BTreeMap<String, ProcessStats>, b: &HashMap<String, ProcessStats>) -> bool {
    a.len() == b.len()
        && a.iter()
            .all(|(id, p)| b.get(id).is_some_and(|q| shown(p) == shown(q)))
}

/// The latest figures as the daemon shares them, and what it publishes to
/// watchers (GraphQL's `processes` subscription, gRPC's `WatchProcesses`).
/// The [`Sampler`] itself belongs to the sampling task: readers never wait
/// for a sample's `/proc` reads.
pub struct Monitor {
    current: std::sync::RwLock<Arc<HashMap<String, ProcessStats>>>,
    published: watch::Sender<Published>,
}

impl Default for Monitor {
    fn default() -> Monitor {
        Monitor {
            current: std::sync::RwLock::default(),
            published: watch::Sender::new(Arc::default()),
        }
    }
}

impl Monitor {
    /// The latest figures of session `id`.
    pub fn stats(&self, id: &str) -> Option<ProcessStats> {
        self.current.read().ok()?.get(id).cloned()
    }

    /// The latest figures of every sampled session, by session id.
    pub fn all(&self) -> Vec<SessionProcess> {
        let Ok(current) = self.current.read() else {
            return Vec::new();
        };
        let mut all: Vec<SessionProcess> = current
            .iter()
            .map(|(id, p)| SessionProcess {
                session_id: id.clone(),
                process: p.clone(),
            })
            .collect();
        all.sort_by(|a, b| a.session_id.cmp(&b.session_id));
        all
    }

    /// Makes a sample's figures the current ones (and publishes them when
    /// they show something new).
    fn set(&self, stats: &HashMap<String, ProcessStats>) {
        self.publish(stats);
        if let Ok(mut c) = self.current.write() {
            *c = Arc::new(stats.clone());
        }
    }

    /// A receiver of the published figures: the current ones, then each
    /// sample that changes what they show.
    pub fn watch(&self) -> watch::Receiver<Published> {
        self.published.subscribe()
    }

    /// Publishes the sampler's figures when they show something new.
    fn publish(&self, stats: &HashMap<String, ProcessStats>) {
        self.published.send_if_modified(|old| {
            if same_shown(old, stats) {
                return false;
            }
            *old = Arc::new(stats.iter().map(|(k, v)| (k.clone(), v.clone())).collect());
            true
        });
    }
}

/// Samples every [`INTERVAL`] until shutdown (off the async workers).
pub async fn run(shared: Arc<crate::state::Shared>, stop: tokio_util::sync::CancellationToken) {
    // SAFETY: sysconf only reads a system constant.
    let tick_hz = u64::try_from(unsafe { libc::sysconf(libc::_SC_CLK_TCK) }).unwrap_or(100);
    // SAFETY: as above.
    let page = u64::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096);
    let mut every = tokio::time::interval(INTERVAL);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Owned by this task, moved to the blocking pool for each sample.
    let mut sampler = Sampler::default();
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = every.tick() => {}
        }
        let sessions: Vec<(String, u32)> = match shared.registry.read() {
            Ok(r) => r
                .iter()
                .filter(|s| s.status != agentd_core::Status::Ended)
                .filter_map(|s| s.pid.map(|p| (s.id.clone(), p)))
                .collect(),
            Err(_) => continue,
        };
        let was_empty = sampler.stats.is_empty() && sampler.seen.is_empty();
        if sessions.is_empty() && was_empty {
            continue;
        }
        let sh = Arc::clone(&shared);
        let mut s = std::mem::take(&mut sampler);
        sampler = tokio::task::spawn_blocking(move || {
            s.sample(
                Path::new("/proc"),
                &sessions,
                crate::now_ms(),
                tick_hz,
                page,
            );
            sh.monitor.set(&s.stats);
            s
        })
        .await
        .unwrap_or_default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proc_entry(root: &Path, pid: u32, comm: &str, ticks: u64, rss: u64, children: &[u32]) {
        let d = root.join(pid.to_string());
        std::fs::create_dir_all(d.join(format!("task/{pid}"))).unwrap();
        std::fs::write(
            d.join("stat"),
            format!("{pid} ({comm}) R 1 1 1 0 -1 0 0 0 0 0 {ticks} 0 0 0 20 0 1 0 1 1 {rss} 0"),
        )
        .unwrap();
        let kids: Vec<String> = children.iter().map(u32::to_string).collect();
        std::fs::write(d.join(format!("task/{pid}/children")), kids.join(" ")).unwrap();
    }

    #[test]
    fn a_tree_is_summed_and_a_spinning_tool_is_flagged_after_ten_minutes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        let sessions = vec![("s1".to_owned(), 10u32)];
        let mut s = Sampler::default();
        let mut t = 0i64;
        let mut ticks = 0u64;
        for _ in 0..=301 {
            // The agent idles; its `cargo` child burns a core (100 Hz).
            proc_entry(p, 10, "claude", 50, 1000, &[11]);
            proc_entry(p, 11, "cargo", ticks, 500, &[]);
            s.sample(p, &sessions, t, 100, 4096);
            t += 2000;
            ticks += 200;
        }
        let st = s.stats("s1").unwrap();
        assert_eq!(st.processes, 2);
        assert_eq!(st.rss_bytes, 1500 * 4096);
        assert!((st.cpu_pct - 100.0).abs() < 0.5, "{st:?}");
        let hot = st.hot.as_ref().expect("flagged");
        assert_eq!((hot.pid, hot.comm.as_str()), (11, "cargo"));
        // It calmed down (no CPU since the last sample): the flag goes.
        proc_entry(p, 11, "cargo", ticks - 200, 500, &[]);
        s.sample(p, &sessions, t, 100, 4096);
        assert!(s.stats("s1").unwrap().hot.is_none());
        // An exited child not yet reaped is not counted.
        std::fs::write(
            p.join("11/stat"),
            "11 (cargo) Z 10 1 1 0 -1 0 0 0 0 0 999999 0 0 0 20 0 1 0 1 1 0 0",
        )
        .unwrap();
        s.sample(p, &sessions, t + 1000, 100, 4096);
        assert_eq!(s.stats("s1").unwrap().processes, 1);
        // The agent gone: no figures.
        s.sample(p, &[("s1".into(), 99)], t + 2000, 100, 4096);
        assert!(s.stats("s1").is_none());
    }

    #[test]
    fn only_samples_that_show_something_new_are_published() {
        let m = Monitor::default();
        let mut rx = m.watch();
        let stats = |cpu: f64, rss: u64| {
            HashMap::from([(
                "s1".to_owned(),
                ProcessStats {
                    cpu_pct: cpu,
                    rss_bytes: rss,
                    processes: 2,
                    hot: None,
                    sampled_ms: 1,
                },
            )])
        };
        // Nothing sampled, nothing published.
        m.publish(&HashMap::new());
        assert!(!rx.has_changed().unwrap());
        m.publish(&stats(12.0, 100 << 20));
        assert!(rx.has_changed().unwrap());
        assert_eq!(rx.borrow_and_update()["s1"].cpu_pct, 12.0);
        // Below what a reader sees: quiet.
        m.publish(&stats(12.2, (100 << 20) + 4096));
        assert!(!rx.has_changed().unwrap());
        m.publish(&stats(40.0, 100 << 20));
        assert!(rx.has_changed().unwrap());
        assert_eq!(rx.borrow_and_update()["s1"].cpu_pct, 40.0);
        // What readers get is the last sample set, exactly.
        m.set(&stats(41.4, 100 << 20));
        assert_eq!(m.stats("s1").map(|p| p.cpu_pct), Some(41.4));
        assert_eq!(m.all().len(), 1);
        // The session gone: published as gone.
        m.publish(&HashMap::new());
        assert!(rx.borrow_and_update().is_empty());
    }
}
