//! Running one hook command: its own process group, its directory, Claude's
//! payload on stdin, output read line by line, and on timeout the whole
//! group (grandchildren too) killed.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;

/// Lines of output kept with a run record (the full output is in its log).
pub const HEAD_LINES: usize = 40;
/// Bytes of one kept line.
pub const HEAD_LINE_BYTES: usize = 400;
/// How long output may keep flowing after the hook's own process exited
/// (a background grandchild holding the pipe) before its group is killed.
pub const DRAIN: Duration = Duration::from_millis(500);

/// Which pipe a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

impl Stream {
    /// `stdout` or `stderr`, as serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// What to run.
#[derive(Debug, Clone)]
pub struct Job {
    /// Shell form (`sh -c`), or exec form when `args` is set.
    pub command: Option<String>,
    /// Exec form.
    pub args: Option<Vec<String>>,
    /// Working directory.
    pub dir: PathBuf,
    /// Environment added.
    pub env: Vec<(String, String)>,
    /// Written to stdin, then closed.
    pub stdin: Vec<u8>,
    /// Timeout.
    pub timeout: Duration,
    /// Where the full output goes.
    pub log: PathBuf,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    /// Exit code; `None` when killed by a signal or not started.
    pub exit_code: Option<i32>,
    /// Killed after the timeout.
    pub timed_out: bool,
    /// Could not start (missing program); the message.
    pub spawn_error: Option<String>,
    /// First lines of output, both streams in arrival order.
    pub head: Vec<String>,
    /// Wall time, ms.
    pub duration_ms: u64,
}

/// Runs `job`, calling `on_line` for each output line as it arrives.
pub async fn run(job: &Job, on_line: &(dyn Fn(Stream, &str) + Send + Sync)) -> Finished {
    let start = Instant::now();
    let mut cmd = match &job.args {
        Some(a) if !a.is_empty() => {
            let mut c = Command::new(&a[0]);
            c.args(&a[1..]);
            c
        }
        _ => {
            let mut c = Command::new("sh");
            c.arg("-c").arg(job.command.as_deref().unwrap_or("true"));
            c
        }
    };
    cmd.current_dir(&job.dir)
        .envs(job.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut log = open_log(&job.log);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            let msg = format!("cannot start: {e}");
            on_line(Stream::Stderr, &msg);
            write_log(&mut log, Stream::Stderr, &msg);
            return Finished {
                exit_code: None,
                timed_out: false,
                spawn_error: Some(msg.clone()),
                head: vec![msg],
                duration_ms: start.elapsed().as_millis() as u64,
            };
        }
    };
    let pgid = child
        .id()
        .and_then(|id| rustix::process::Pid::from_raw(id as i32));
    if let Some(mut stdin) = child.stdin.take() {
        let input = job.stdin.clone();
        tokio::spawn(async move {
            // A hook that does not read its stdin is fine.
            let _ = stdin.write_all(&input).await;
        });
    }
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(Stream, String)>();
    if let Some(out) = child.stdout.take() {
        let tx = tx.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(out).lines();
            while let Ok(Some(l)) = lines.next_line().await {
                let _ = tx.send((Stream::Stdout, l));
            }
        });
    }
    if let Some(err) = child.stderr.take() {
        let tx = tx.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(err).lines();
            while let Ok(Some(l)) = lines.next_line().await {
                let _ = tx.send((Stream::Stderr, l));
            }
        });
    }
    drop(tx);
    let mut head = Vec::new();
    let mut take = |s: Stream, l: String, head: &mut Vec<String>| {
        on_line(s, &l);
        write_log(&mut log, s, &l);
        if head.len() < HEAD_LINES {
            head.push(cut(&l, HEAD_LINE_BYTES));
        }
    };
    let deadline = tokio::time::Instant::now() + job.timeout;
    let mut timed_out = false;
    let status = loop {
        tokio::select! {
            line = rx.recv() => {
                if let Some((s, l)) = line { take(s, l, &mut head); }
            }
            status = child.wait() => break status.ok(),
            _ = tokio::time::sleep_until(deadline) => {
                timed_out = true;
                kill_group(pgid);
                break child.wait().await.ok();
            }
        }
    };
    // What is left in the pipes, however much; a grandchild that holds them
    // open but stays silent for DRAIN is killed.
    let mut idle_until = tokio::time::Instant::now() + DRAIN;
    loop {
        tokio::select! {
            line = rx.recv() => match line {
                Some((s, l)) => {
                    take(s, l, &mut head);
                    idle_until = tokio::time::Instant::now() + DRAIN;
                }
                None => break,
            },
            _ = tokio::time::sleep_until(idle_until) => {
                kill_group(pgid);
                break;
            }
        }
    }
    if timed_out {
        let msg = format!(
            "timed out after {} s; its process group was killed",
            job.timeout.as_secs()
        );
        take(Stream::Stderr, msg, &mut head);
    }
    Finished {
        exit_code: if timed_out {
            None
        } else {
            status.and_then(|s| s.code())
        },
        timed_out,
        spawn_error: None,
        head,
        duration_ms: start.elapsed().as_millis() as u64,
    }
}

/// SIGKILL to the whole group (the hook, its children, theirs).
fn kill_group(pgid: Option<rustix::process::Pid>) {
    if let Some(p) = pgid {
        let _ = rustix::process::kill_process_group(p, rustix::process::Signal::KILL);
    }
}

fn cut(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

fn open_log(path: &Path) -> Option<std::io::BufWriter<std::fs::File>> {
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    std::fs::File::create(path)
        .ok()
        .map(std::io::BufWriter::new)
}

fn write_log(log: &mut Option<std::io::BufWriter<std::fs::File>>, s: Stream, line: &str) {
    use std::io::Write;
    if let Some(f) = log.as_mut() {
        let tag = match s {
            Stream::Stdout => "out",
            Stream::Stderr => "err",
        };
        let _ = writeln!(f, "{tag}| {line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    fn job(dir: &Path, command: &str, timeout_ms: u64) -> Job {
        Job {
            command: Some(command.to_owned()),
            args: None,
            dir: dir.to_path_buf(),
            env: vec![("AGENTD_TEST".into(), "yes".into())],
            stdin: b"{\"hook_event_name\":\"Stop\"}".to_vec(),
            timeout: Duration::from_millis(timeout_ms),
            log: dir.join("logs/run.log"),
        }
    }

    /// Whether `pid` no longer runs (gone, or a zombie awaiting its reaper),
    /// allowing a second for the kill to land.
    fn gone(pid: i32) -> bool {
        (0..50).any(|_| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let dead = stat.is_empty() || stat.contains(") Z ");
            if !dead {
                std::thread::sleep(Duration::from_millis(20));
            }
            dead
        })
    }

    #[tokio::test]
    async fn stdin_env_dir_and_line_order_per_stream() {
        let tmp = tempfile::tempdir().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s2 = Arc::clone(&seen);
        let j = job(
            tmp.path(),
            "cat; echo; echo \"$AGENTD_TEST\"; pwd; for i in 1 2 3; do echo out$i; echo err$i >&2; done; exit 3",
            10_000,
        );
        let f = run(&j, &move |s, l| s2.lock().unwrap().push((s, l.to_owned()))).await;
        assert_eq!(f.exit_code, Some(3));
        assert!(!f.timed_out);
        let seen = seen.lock().unwrap().clone();
        let out: Vec<&str> = seen
            .iter()
            .filter(|(s, _)| *s == Stream::Stdout)
            .map(|(_, l)| l.as_str())
            .collect();
        let err: Vec<&str> = seen
            .iter()
            .filter(|(s, _)| *s == Stream::Stderr)
            .map(|(_, l)| l.as_str())
            .collect();
        assert_eq!(out[0], "{\"hook_event_name\":\"Stop\"}");
        assert_eq!(out[1], "yes");
        assert_eq!(out[2], tmp.path().canonicalize().unwrap().to_str().unwrap());
        assert_eq!(&out[3..], ["out1", "out2", "out3"]);
        assert_eq!(err, ["err1", "err2", "err3"]);
        let log = std::fs::read_to_string(tmp.path().join("logs/run.log")).unwrap();
        assert!(
            log.contains("out| out3") && log.contains("err| err2"),
            "{log}"
        );
    }

    #[tokio::test]
    async fn a_timeout_kills_grandchildren() {
        let tmp = tempfile::tempdir().unwrap();
        let pidfile = tmp.path().join("grandchild.pid");
        let j = job(
            tmp.path(),
            &format!(
                "sh -c 'sleep 30 & echo $! > {}; wait' ; sleep 30",
                pidfile.display()
            ),
            600,
        );
        let f = run(&j, &|_, _| {}).await;
        assert!(f.timed_out);
        assert_eq!(f.exit_code, None);
        let pid: i32 = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert!(gone(pid), "grandchild {pid} survived the timeout");
        assert!(f.head.last().unwrap().contains("timed out after"));
    }

    #[tokio::test]
    async fn exec_form_and_missing_programs() {
        let tmp = tempfile::tempdir().unwrap();
        let mut j = job(tmp.path(), "", 5_000);
        j.command = None;
        j.args = Some(vec![
            "printf".into(),
            "%s;".into(),
            "a b".into(),
            "$HOME".into(),
        ]);
        let lines = Arc::new(Mutex::new(Vec::new()));
        let l2 = Arc::clone(&lines);
        let f = run(&j, &move |_, l| l2.lock().unwrap().push(l.to_owned())).await;
        assert_eq!(f.exit_code, Some(0));
        assert_eq!(
            lines.lock().unwrap().as_slice(),
            ["a b;$HOME;"],
            "no shell expansion"
        );
        j.args = Some(vec!["/no/such/program".into()]);
        let f = run(&j, &|_, _| {}).await;
        assert!(f.spawn_error.is_some());
        assert_eq!(f.exit_code, None);
    }

    #[tokio::test]
    async fn no_output_line_is_lost() {
        let tmp = tempfile::tempdir().unwrap();
        let n = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let n2 = Arc::clone(&n);
        let f = run(&job(tmp.path(), "seq 1 100000", 30_000), &move |_, _| {
            n2.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        })
        .await;
        assert_eq!(f.exit_code, Some(0));
        assert_eq!(n.load(std::sync::atomic::Ordering::Relaxed), 100_000);
        let log = std::fs::read_to_string(tmp.path().join("logs/run.log")).unwrap();
        assert_eq!(log.lines().count(), 100_000);
    }

    #[tokio::test]
    async fn a_background_child_holding_the_pipe_is_killed_not_waited_for() {
        let tmp = tempfile::tempdir().unwrap();
        let pidfile = tmp.path().join("bg.pid");
        let j = job(
            tmp.path(),
            &format!("sleep 3600 & echo $! > {}; echo started", pidfile.display()),
            20_000,
        );
        let f = run(&j, &|_, _| {}).await;
        assert_eq!(f.exit_code, Some(0));
        assert!(
            !f.timed_out,
            "the run ended with the hook, not at its timeout"
        );
        let pid: i32 = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert!(gone(pid), "the silent background child {pid} was killed");
    }
}
