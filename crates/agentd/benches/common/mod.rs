//! Shared by the bench binaries: a real daemon in a temporary root.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use agentd_client::{Client, Paths};

/// `agentd serve` in a temporary root; killed on drop.
pub struct Daemon {
    pub dir: tempfile::TempDir,
    pub child: Child,
}

impl Daemon {
    pub fn start() -> Daemon {
        Daemon::start_with_env(&[])
    }

    /// [`Daemon::start`] with extra environment (e.g. `AGENTD_INDEX_ROOTS`).
    pub fn start_with_env(env: &[(&str, &std::ffi::OsStr)]) -> Daemon {
        let dir = tempfile::Builder::new().prefix("agb").tempdir().unwrap();
        Daemon::start_at(dir, env)
    }

    /// A daemon over a root prepared first (its `agentd.toml` written).
    pub fn start_in(dir: tempfile::TempDir) -> Daemon {
        Daemon::start_at(dir, &[])
    }

    fn start_at(dir: tempfile::TempDir, env: &[(&str, &std::ffi::OsStr)]) -> Daemon {
        let child = Command::new(env!("CARGO_BIN_EXE_agentd"))
            .env("AGENTD_HOME", dir.path())
            .env("AGENTD_HTTP_LISTEN", "off")
            .env("AGENTD_LOG", "warn")
            .envs(env.iter().copied())
            .arg("serve")
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let d = Daemon { dir, child };
        let deadline = Instant::now() + Duration::from_secs(20);
        while d.client_opt().is_none() {
            assert!(Instant::now() < deadline, "daemon did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        d
    }

    pub fn socket(&self) -> PathBuf {
        Paths::resolve(Some(self.dir.path())).unwrap().socket
    }

    pub fn client_opt(&self) -> Option<Client> {
        Client::connect(&self.socket(), Duration::from_secs(30)).ok()
    }

    pub fn client(&self) -> Client {
        self.client_opt().unwrap()
    }

    /// A line of `/proc/<pid>/status`, e.g. `VmRSS:`.
    pub fn status_field(&self, key: &str) -> String {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find(|l| l.starts_with(key))
            .map(|l| l[key.len()..].trim().to_owned())
            .unwrap_or_default()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Daemon {
    /// A `kB` line of `/proc/<pid>/status` as a number (0 when missing).
    pub fn status_kb(&self, key: &str) -> u64 {
        self.status_field(key)
            .trim_end_matches(" kB")
            .trim()
            .parse()
            .unwrap_or(0)
    }
}

pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

pub fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

/// Which of a bench binary's parts to run: those named on the command line
/// (`cargo bench … -- hook`), all when none is. Prints the run's heading.
pub fn selection(title: &str) -> impl Fn(&str) -> bool {
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    println!(
        "{title} — {}",
        jiff::Timestamp::now().strftime("%Y-%m-%d %H:%M UTC")
    );
    move |name: &str| filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str()))
}
