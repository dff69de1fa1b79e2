//! Shared by the integration tests: a real `agentd serve` process in a
//! private root, and helpers to run the real binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use agentd_client::{Client, Paths};

pub mod agents;
pub mod ccusage;
pub mod claude;
pub mod postgres;
pub mod shared;

/// The agentd binary under test.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_agentd"))
}

/// `../shared/fixtures/claude` beside the repository, or `None` when a bare
/// clone has no corpus (the test is then reported skipped; see
/// [`shared::shared_fixtures`]).
pub fn fixtures(test: &str) -> Option<PathBuf> {
    shared::shared_fixtures("claude", test)
}

/// Polls `f` every 20 ms until it returns `Some`, or panics after `timeout`
/// with `what`.
pub fn wait_for<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// An agentd command with a clean environment pointing at `home`.
pub fn agentd_cmd(home: &Path) -> Command {
    let mut cmd = Command::new(bin());
    for var in [
        "XDG_STATE_HOME",
        "XDG_RUNTIME_DIR",
        "AGENTD_HOOK_TIMEOUT_MS",
        "AGENTD_LOG",
        "AGENTD_HQ_URL",
        "AGENTD_HQ_RUNNER_TOKEN",
        "AGENTD_HQ_TOKEN",
    ] {
        cmd.env_remove(var);
    }
    // A `claude` that exists, so health is `ok` whatever this machine's
    // PATH holds; tests that launch sessions set the pinned one.
    let claude = std::env::var_os("AGENTD_CLAUDE_BIN").unwrap_or_else(|| "/bin/true".into());
    cmd.env("AGENTD_HOME", home)
        .env("AGENTD_HTTP_LISTEN", "127.0.0.1:0")
        .env("AGENTD_CLAUDE", claude)
        // This machine's own transcripts stay out of tests; tests that
        // index set their own roots.
        .env("AGENTD_INDEX_ROOTS", home.join("no-transcripts"));
    cmd
}

/// Runs agentd with `args` (and optional stdin) to completion.
pub fn run(home: &Path, args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut cmd = agentd_cmd(home);
    cmd.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn agentd");
    if let Some(mut input) = child.stdin.take() {
        use std::io::Write;
        let _ = input.write_all(stdin.unwrap_or_default());
    }
    child.wait_with_output().expect("wait agentd")
}

/// A stand-in agent: a shell whose `yes` child keeps a core busy, in its
/// own process group, killed (group and all) when dropped — a failing
/// test never leaves it spinning.
pub struct BusyAgent(std::process::Child);

impl BusyAgent {
    /// The shell's pid (the group's id).
    pub fn id(&self) -> u32 {
        self.0.id()
    }

    /// Kills the whole group and reaps the shell.
    pub fn kill(&mut self) {
        // SAFETY: signalling the process group this test started.
        unsafe {
            libc::kill(-(self.0.id() as i32), libc::SIGKILL);
        }
        let _ = self.0.wait();
    }
}

impl Drop for BusyAgent {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A [`BusyAgent`] reported to the daemon at `home` as session `session`'s
/// agent by a SessionStart hook.
pub fn busy_agent(home: &Path, session: &str) -> BusyAgent {
    use std::os::unix::process::CommandExt;
    let agent = Command::new("sh")
        .args(["-c", "yes > /dev/null & wait"])
        .stdin(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("spawn sh");
    let payload = serde_json::json!({"session_id": session, "hook_event_name": "SessionStart",
        "cwd": "/tmp", "source": "startup"});
    let out = agentd_cmd(home)
        .arg("hook")
        .env("CLAUDE_PID", agent.id().to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            if let Some(mut i) = c.stdin.take() {
                i.write_all(payload.to_string().as_bytes())?;
            }
            c.wait_with_output()
        })
        .expect("run agentd hook");
    assert!(out.status.success(), "{out:?}");
    BusyAgent(agent)
}

/// One HTTP/1.1 request (`req_line` like `GET /health`) with `headers`
/// and `body`, on a fresh connection; returns (status, body).
pub fn http(addr: &str, req_line: &str, headers: &[(&str, &str)], body: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut req = format!(
        "{req_line} HTTP/1.1\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let status = resp.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = resp
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// Makes a FIFO at `path`: opening it for reading blocks until a writer
/// appears, the trap a path in a payload can set.
pub fn mkfifo(path: &Path) {
    rustix::fs::mknodat(
        rustix::fs::CWD,
        path,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .expect("mkfifo");
}

/// `agentd hook` as Claude Code runs it — `payload` on stdin, `env` set —
/// left running (stdout and stderr piped).
pub fn spawn_hook(home: &Path, payload: &[u8], env: &[(&str, &str)]) -> Child {
    use std::io::Write;
    let mut child = agentd_cmd(home)
        .envs(env.iter().copied())
        .arg("hook")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn agentd hook");
    if let Some(mut input) = child.stdin.take() {
        let _ = input.write_all(payload);
    }
    child
}

/// `agentd hooks history --json [--session S]`: recorded hook runs, newest
/// first.
pub fn hook_runs(home: &Path, session: Option<&str>) -> Vec<serde_json::Value> {
    let mut args = vec!["hooks", "history", "--json"];
    if let Some(s) = session {
        args.extend(["--session", s]);
    }
    let out = run(home, &args, None);
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).expect("hooks history is JSON")
}

/// A daemon serving a private root; killed on drop.
pub struct TestDaemon {
    /// The root (`AGENTD_HOME`).
    pub home: PathBuf,
    _dir: Option<tempfile::TempDir>,
    child: Option<Child>,
    env: Vec<(String, String)>,
}

impl TestDaemon {
    /// Starts a daemon in a new temporary root.
    pub fn start() -> TestDaemon {
        let dir = tempfile::Builder::new()
            .prefix("agd")
            .tempdir()
            .expect("tempdir");
        let mut d = TestDaemon::start_in(dir.path());
        d._dir = Some(dir);
        d
    }

    /// Starts a daemon in a new temporary root holding `agentd.toml` =
    /// `config`.
    pub fn with_config(config: &str) -> TestDaemon {
        let dir = tempfile::Builder::new()
            .prefix("agd")
            .tempdir()
            .expect("tempdir");
        std::fs::write(dir.path().join("agentd.toml"), config).expect("write agentd.toml");
        let mut d = TestDaemon::start_in(dir.path());
        d._dir = Some(dir);
        d
    }

    /// Starts a daemon serving `home` (kept after drop).
    pub fn start_in(home: &Path) -> TestDaemon {
        TestDaemon::start_with_env(home, Vec::new())
    }

    /// Starts a daemon serving `home` with extra environment variables.
    pub fn start_with_env(home: &Path, env: Vec<(String, String)>) -> TestDaemon {
        let mut d = TestDaemon {
            home: home.to_path_buf(),
            _dir: None,
            child: None,
            env,
        };
        d.restart();
        d
    }

    /// Starts the daemon process (again) and waits until it answers.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "daemon already running");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.home.with_extension("log"))
            .expect("log file");
        let child = agentd_cmd(&self.home)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .arg("serve")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn agentd serve");
        self.child = Some(child);
        let socket = self.paths().socket;
        wait_for("the daemon to answer", Duration::from_secs(20), || {
            Client::connect(&socket, Duration::from_secs(2)).ok()
        });
    }

    /// Resolved paths of this root.
    pub fn paths(&self) -> Paths {
        Paths::resolve(Some(&self.home)).expect("paths")
    }

    /// A connected, initialized client.
    pub fn client(&self) -> Client {
        Client::connect(&self.paths().socket, Duration::from_secs(10)).expect("connect")
    }

    /// The daemon's pid.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).expect("daemon running")
    }

    /// SIGTERM, then wait for the exit; returns the exit status and how long it took.
    pub fn stop(&mut self) -> (std::process::ExitStatus, Duration) {
        let mut child = self.child.take().expect("daemon running");
        let start = Instant::now();
        let pid = rustix::process::Pid::from_raw(child.id() as i32).expect("pid");
        rustix::process::kill_process(pid, rustix::process::Signal::TERM).expect("SIGTERM");
        let status = wait_for("the daemon to exit", Duration::from_secs(10), || {
            child.try_wait().ok().flatten()
        });
        (status, start.elapsed())
    }

    /// Whether the daemon process has exited by itself (reaped if so).
    pub fn child_exited(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| c.try_wait().ok().flatten().is_some())
    }

    /// Kills the daemon with SIGKILL (a crash).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The daemon's stderr log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.home.with_extension("log")).unwrap_or_default()
    }
}

impl Drop for TestDaemon {
    fn drop(&mut self) {
        // Under `cargo llvm-cov` the daemon writes its coverage at a normal
        // exit only: stop it gracefully (bounded), then kill what is left.
        if std::env::var_os("LLVM_PROFILE_FILE").is_some()
            && let Some(child) = self.child.as_mut()
            && let Some(pid) = rustix::process::Pid::from_raw(child.id() as i32)
            && rustix::process::kill_process(pid, rustix::process::Signal::TERM).is_ok()
        {
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline && child.try_wait().ok().flatten().is_none() {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        self.kill();
        // Its log is kept only when the test failed (it is in the panic
        // message's neighbourhood then); thousands of runs left thousands.
        if !std::thread::panicking() {
            let _ = std::fs::remove_file(self.home.with_extension("log"));
        }
    }
}

/// The Python with the pinned clients of the network faces (websockets,
/// grpcio, grpcurl beside it, Playwright): `$AGENTD_PYTHON` when it is
/// that one, else installed (and cached) by `scripts/install-py-clients.sh`.
pub fn python() -> PathBuf {
    static PYTHON: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PYTHON
        .get_or_init(|| {
            if let Some(p) = std::env::var_os("AGENTD_PYTHON") {
                let p = PathBuf::from(p);
                if p.with_file_name("grpcurl").exists() {
                    return p;
                }
            }
            install("install-py-clients.sh", "the Python clients")
        })
        .clone()
}

/// Runs `scripts/<script>` (an idempotent, cached installer) and returns
/// the path it prints last.
pub fn install(script: &str, what: &str) -> PathBuf {
    install_with(script, what, &[])
}

/// [`install`] with `env` set for the script (a version to install).
pub fn install_with(script: &str, what: &str, env: &[(&str, &str)]) -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../scripts")
        .join(script);
    let out = Command::new("bash")
        .arg(&script)
        .envs(env.iter().copied())
        .stderr(Stdio::inherit())
        .output()
        .expect("run install script");
    assert!(out.status.success(), "installing {what} failed: {out:?}");
    let stdout = String::from_utf8(out.stdout).expect("utf-8 path");
    PathBuf::from(
        stdout
            .lines()
            .last()
            .expect("the script prints the path")
            .trim(),
    )
}
