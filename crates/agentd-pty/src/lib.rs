//! Terminals: a command running in a PTY, watched and driven from afar.
//!
//! A [`Terminal`] is a command (Claude Code, a shell) started in a new
//! pseudo-terminal as the leader of its own session and process group.
//! Its output goes to a bounded buffer numbered by byte offset ([`Ring`])
//! and to live watchers; a watcher that connects late, reconnects, or falls
//! behind asks for the bytes from the offset it has and gets exactly what
//! it missed, as long as the buffer still holds it ([`Terminal::attach`]).
//! Any number may watch; one at a time may type ([`Terminal::write`] with
//! the writer lease). Closing it, or dropping the last handle, ends the
//! whole process group: SIGHUP, then SIGTERM, then SIGKILL.
//!
//! Flow control: a writer that acknowledges what its screen has processed
//! ([`Terminal::ack`]) holds the program back when it falls more than
//! [`HIGH_WATER`] bytes behind — reading the PTY pauses, the program
//! blocks on its writes, and no byte is lost to the screen the user types
//! in (raw terminal output cut in the middle would garble it). Watchers
//! that do not acknowledge never hold anything back: if they fall behind
//! the buffer, they are told how much they lost.
//!
//! Nothing here knows HTTP or agentd's daemon: the web face streams a
//! terminal over a WebSocket, and a remote runner can stream the same one
//! to HQ.

#![warn(missing_docs)]

mod ring;

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{broadcast, watch};

pub use ring::Ring;

/// How far (bytes) an acknowledging writer may fall behind before the
/// program is held back. Below the buffer's size, so the writer never
/// loses a byte.
pub const HIGH_WATER: u64 = 1 << 20;

/// Chunks (of at most 16 KiB) the live channel holds for a watcher: a
/// watcher further behind lags and attaches again from its offset (the
/// buffer, larger than HIGH_WATER, still holds what a writer has not
/// acknowledged). Bounds what one slow watcher pins to 1 MiB.
const LIVE_CHUNKS: usize = 64;

/// How long a writer's screen may go without acknowledging while it holds
/// the program back; past it, the program runs on (and that screen loses
/// what the buffer cannot keep).
const ACK_STALL: Duration = Duration::from_secs(10);

/// Keystrokes queued for the program, in frames; past it, input is refused
/// (the program is not reading).
const INPUT_QUEUE: usize = 64;

/// Longest one queued write to the PTY may wait for the program to read.
const INPUT_WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// How a terminal is started.
#[derive(Debug, Clone)]
pub struct Spawn {
    /// The program (a path, or a name looked up on `PATH`).
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// Its working directory.
    pub cwd: PathBuf,
    /// Environment set on top of the caller's (`TERM` is always
    /// `xterm-256color`).
    pub env: Vec<(String, String)>,
    /// Columns and rows.
    pub size: (u16, u16),
    /// Output kept for replay, bytes.
    pub buffer_bytes: usize,
}

/// Why a terminal could not be started or used.
#[derive(Debug, thiserror::Error)]
pub enum PtyError {
    /// Opening the PTY or starting the program failed.
    #[error("cannot start {program}: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// Another watcher holds the writer lease.
    #[error("another watcher is typing in this terminal; take over to type here")]
    NotWriter,
    /// The program has not read what was typed before.
    #[error("the program is not reading its input; these keystrokes were dropped")]
    InputFull,
    /// The program has exited: nothing reads input any more.
    #[error("the terminal's program has exited")]
    Exited,
    /// Writing to or resizing the PTY failed.
    #[error("terminal I/O failed: {0}")]
    Io(std::io::Error),
}

/// A piece of output: its first byte's offset, and the bytes. An empty
/// chunk is the last one: every process closed the terminal.
#[derive(Debug, Clone)]
pub struct Chunk {
    /// Offset of `bytes[0]` in everything the program wrote.
    pub offset: u64,
    /// The bytes.
    pub bytes: Bytes,
}

/// What a watcher gets when it attaches: the buffered output from the
/// offset it asked for (or from the oldest byte kept, when that is later),
/// then live chunks. `live` starts exactly where `replay` ends.
#[derive(Debug)]
pub struct Attached {
    /// The watcher's id (for the writer lease).
    pub watcher: u64,
    /// Offset of `replay[0]`.
    pub from: u64,
    /// Bytes the watcher asked for and is missed but that the buffer no
    /// longer holds (0 when nothing was lost).
    pub lost: u64,
    /// Buffered output from `from`.
    pub replay: Vec<u8>,
    /// Output from the end of `replay` on; `Lagged` means attach again
    /// from the last offset received.
    pub live: broadcast::Receiver<Chunk>,
}

struct Inner {
    pid: u32,
    ring: Mutex<Ring>,
    live: broadcast::Sender<Chunk>,
    /// Keystrokes for the writer task.
    input: tokio::sync::mpsc::Sender<Bytes>,
    /// The PTY's write half: the writer task writes through it, resizes go
    /// through it (a write never holds it longer than INPUT_WRITE_TIMEOUT).
    pty: Arc<tokio::sync::Mutex<pty_process::OwnedWritePty>>,
    size: Mutex<(u16, u16)>,
    writer: Mutex<Option<u64>>,
    /// The acknowledging writer and the offset its screen has processed.
    acked: Mutex<Option<(u64, u64, std::time::Instant)>>,
    /// Wakes the reader when `acked` or the writer changes.
    flow: Arc<tokio::sync::Notify>,
    watchers: Mutex<HashSet<u64>>,
    exit: watch::Receiver<Option<i32>>,
}

impl Inner {
    /// How far the acknowledging writer is behind the output, bytes (0
    /// when there is none, or it no longer holds the lease).
    fn behind(&self) -> u64 {
        // An exited program's last bytes are read regardless.
        if self.exit.borrow().is_some() {
            return 0;
        }
        let acked = *lock(&self.acked);
        match acked {
            // A screen that stopped acknowledging (a phone's tab put to
            // sleep) holds nothing back for long: it will be told what it
            // lost when it wakes.
            Some((_, _, at)) if at.elapsed() > ACK_STALL => 0,
            Some((w, offset, _)) if *lock(&self.writer) == Some(w) => {
                lock(&self.ring).end().saturating_sub(offset)
            }
            _ => 0,
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // The last handle is gone: nothing can reach the program any more.
        // Once the leader is reaped its group id may be reused: leave it.
        if self.exit.borrow().is_none() {
            kill_group(self.pid, rustix::process::Signal::KILL);
        }
    }
}

/// A running (or exited) terminal; a cheap clonable handle.
#[derive(Clone)]
pub struct Terminal {
    inner: Arc<Inner>,
}

static WATCHERS: AtomicU64 = AtomicU64::new(1);

impl Terminal {
    /// Starts `spec.program` in a new PTY, in its own session and process
    /// group. Must be called within a tokio runtime.
    ///
    /// # Errors
    /// [`PtyError::Spawn`] when the PTY cannot be opened or the program
    /// cannot start.
    pub fn spawn(spec: Spawn) -> Result<Terminal, PtyError> {
        let program = spec.program.display().to_string();
        let spawn_err = |source: std::io::Error| PtyError::Spawn {
            program: program.clone(),
            source,
        };
        let pty_err = |e: pty_process::Error| spawn_err(std::io::Error::other(e.to_string()));
        let (pty, pts) = pty_process::open().map_err(pty_err)?;
        let (cols, rows) = clamp_size(spec.size);
        pty.resize(pty_process::Size::new(rows, cols))
            .map_err(pty_err)?;
        let mut child = pty_process::Command::new(&spec.program)
            .args(&spec.args)
            .current_dir(&spec.cwd)
            .envs(spec.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("TERM", "xterm-256color")
            .spawn(pts)
            .map_err(pty_err)?;
        let pid = child.id().ok_or_else(|| {
            spawn_err(std::io::Error::other(
                "the program exited before it started",
            ))
        })?;
        let (mut output, pty_input) = pty.into_split();
        let (live, _) = broadcast::channel(LIVE_CHUNKS);
        let (exit_tx, exit) = watch::channel(None);
        let flow = Arc::new(tokio::sync::Notify::new());
        let pty_input = Arc::new(tokio::sync::Mutex::new(pty_input));
        let (input, mut keys) = tokio::sync::mpsc::channel::<Bytes>(INPUT_QUEUE);
        let inner = Arc::new(Inner {
            pid,
            ring: Mutex::new(Ring::new(spec.buffer_bytes.max(2 * HIGH_WATER as usize))),
            live: live.clone(),
            input,
            pty: Arc::clone(&pty_input),
            size: Mutex::new((cols, rows)),
            writer: Mutex::new(None),
            acked: Mutex::new(None),
            flow: Arc::clone(&flow),
            watchers: Mutex::new(HashSet::new()),
            exit,
        });
        // The leader's exit, as soon as it happens (not when the PTY closes:
        // a background child may keep it open, or the reader be held back).
        let exited = Arc::clone(&flow);
        tokio::spawn(async move {
            let code = child
                .wait()
                .await
                .ok()
                .map(|s| s.code().unwrap_or_else(|| 128 + signal_of(&s)));
            let _ = exit_tx.send(Some(code.unwrap_or(-1)));
            exited.notify_waiters();
        });
        // Keystrokes, written in their own task: a program that does not
        // read its input never holds up whoever typed.
        let mut exit_seen = inner.exit.clone();
        tokio::spawn(async move {
            while let Some(bytes) = keys.recv().await {
                if exit_seen.borrow_and_update().is_some() {
                    break;
                }
                let mut pty = pty_input.lock().await;
                let wrote = tokio::time::timeout(INPUT_WRITE_TIMEOUT, async {
                    pty.write_all(&bytes).await?;
                    pty.flush().await
                })
                .await;
                if !matches!(wrote, Ok(Ok(()))) {
                    tracing::debug!("a terminal's program did not take its input");
                }
            }
        });
        let weak = Arc::downgrade(&inner);
        tokio::spawn(async move {
            let mut buf = vec![0u8; 16 * 1024];
            loop {
                // Held back while the acknowledging writer is too far behind
                // (re-checked every second, and whenever it acknowledges).
                loop {
                    let Some(inner) = weak.upgrade() else { return };
                    let behind = inner.behind();
                    drop(inner);
                    if behind <= HIGH_WATER {
                        break;
                    }
                    let _ = tokio::time::timeout(Duration::from_secs(1), flow.notified()).await;
                }
                // EOF or EIO: every process of the PTY closed it.
                let n = match output.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                let Some(inner) = weak.upgrade() else { break };
                let bytes = Bytes::copy_from_slice(&buf[..n]);
                // Appended and sent under one lock: an attach sees each
                // byte either in its replay or in its receiver, never both,
                // never neither.
                let mut ring = lock(&inner.ring);
                let offset = ring.end();
                ring.push(&bytes);
                let _ = live.send(Chunk { offset, bytes });
            }
            // The end of the output, for watchers.
            if let Some(inner) = weak.upgrade() {
                let ring = lock(&inner.ring);
                let _ = live.send(Chunk {
                    offset: ring.end(),
                    bytes: Bytes::new(),
                });
            }
        });
        Ok(Terminal { inner })
    }

    /// The program's pid (also its process group and session id).
    pub fn pid(&self) -> u32 {
        self.inner.pid
    }

    /// Columns and rows now.
    pub fn size(&self) -> (u16, u16) {
        *lock(&self.inner.size)
    }

    /// The exit code once the program has exited (128 + the signal when a
    /// signal ended it).
    pub fn exit_code(&self) -> Option<i32> {
        *self.inner.exit.borrow()
    }

    /// Waits until the program has exited; its exit code.
    pub async fn exited(&self) -> i32 {
        let mut rx = self.inner.exit.clone();
        loop {
            if let Some(code) = *rx.borrow_and_update() {
                return code;
            }
            if rx.changed().await.is_err() {
                return -1;
            }
        }
    }

    /// Offset one past the last byte written so far.
    pub fn end(&self) -> u64 {
        lock(&self.inner.ring).end()
    }

    /// Attaches a watcher from `from` (its last offset; `None`: all that is
    /// kept). The first watcher to attach while nobody holds the writer
    /// lease gets it.
    pub fn attach(&self, from: Option<u64>) -> Attached {
        let watcher = WATCHERS.fetch_add(1, Ordering::Relaxed);
        lock(&self.inner.watchers).insert(watcher);
        self.reattach(watcher, from)
    }

    /// Attaches `watcher` again from `from`, keeping its id and lease: for
    /// a watcher whose live receiver lagged (`RecvError::Lagged`).
    pub fn reattach(&self, watcher: u64, from: Option<u64>) -> Attached {
        let ring = lock(&self.inner.ring);
        let live = self.inner.live.subscribe();
        let asked = from.unwrap_or(0);
        let (from, replay) = ring.since(asked);
        drop(ring);
        let mut writer = lock(&self.inner.writer);
        if writer.is_none() {
            *writer = Some(watcher);
        }
        Attached {
            watcher,
            from,
            lost: from.saturating_sub(asked),
            replay,
            live,
        }
    }

    /// Forgets a watcher; if it held the writer lease, the lease is free.
    pub fn detach(&self, watcher: u64) {
        lock(&self.inner.watchers).remove(&watcher);
        let mut writer = lock(&self.inner.writer);
        if *writer == Some(watcher) {
            *writer = None;
        }
        drop(writer);
        self.inner.flow.notify_waiters();
    }

    /// `watcher`'s screen has processed the output up to `offset`. From
    /// its first acknowledgement on, the writer holds the program back when
    /// it falls more than [`HIGH_WATER`] behind, for as long as it keeps
    /// acknowledging (at most [`ACK_STALL`] between acks); other watchers'
    /// are ignored.
    pub fn ack(&self, watcher: u64, offset: u64) {
        if !self.is_writer(watcher) {
            return;
        }
        let mut acked = lock(&self.inner.acked);
        let offset = match *acked {
            Some((w, old, _)) if w == watcher => old.max(offset),
            _ => offset,
        };
        *acked = Some((watcher, offset, std::time::Instant::now()));
        drop(acked);
        self.inner.flow.notify_waiters();
    }

    /// Whether `watcher` holds the writer lease.
    pub fn is_writer(&self, watcher: u64) -> bool {
        *lock(&self.inner.writer) == Some(watcher)
    }

    /// Gives `watcher` the writer lease (taking it from whoever had it).
    pub fn take_writer(&self, watcher: u64) {
        if lock(&self.inner.watchers).contains(&watcher) {
            *lock(&self.inner.writer) = Some(watcher);
            self.inner.flow.notify_waiters();
        }
    }

    /// Types `bytes` into the terminal, as `watcher`: queued for the
    /// program, never waiting for it to read. A watcher may type when it
    /// holds the lease, or when nobody does (it then takes it).
    ///
    /// # Errors
    /// [`PtyError::NotWriter`], [`PtyError::Exited`], [`PtyError::InputFull`]
    /// (the program has not read the last [`INPUT_QUEUE`] frames).
    pub async fn write(&self, watcher: u64, bytes: &[u8]) -> Result<(), PtyError> {
        {
            let mut writer = lock(&self.inner.writer);
            match *writer {
                Some(w) if w != watcher => return Err(PtyError::NotWriter),
                None => *writer = Some(watcher),
                _ => {}
            }
        }
        if self.exit_code().is_some() {
            return Err(PtyError::Exited);
        }
        self.inner
            .input
            .try_send(Bytes::copy_from_slice(bytes))
            .map_err(|e| match e {
                tokio::sync::mpsc::error::TrySendError::Full(_) => PtyError::InputFull,
                tokio::sync::mpsc::error::TrySendError::Closed(_) => PtyError::Exited,
            })
    }

    /// Resizes the terminal (the program gets SIGWINCH); sizes are
    /// clamped to 1..=1000.
    ///
    /// # Errors
    /// [`PtyError::Io`].
    pub async fn resize(&self, cols: u16, rows: u16) -> Result<(), PtyError> {
        let (cols, rows) = clamp_size((cols, rows));
        let input = self.inner.pty.lock().await;
        input
            .resize(pty_process::Size::new(rows, cols))
            .map_err(|e| PtyError::Io(std::io::Error::other(e.to_string())))?;
        *lock(&self.inner.size) = (cols, rows);
        Ok(())
    }

    /// Ends the process group: SIGHUP (what closing a terminal sends),
    /// then SIGTERM after `grace`, then SIGKILL after `grace` more. Returns
    /// the exit code.
    pub async fn close(&self, grace: Duration) -> i32 {
        use rustix::process::Signal;
        // Nothing holds the program back any more: a program blocked on
        // its output gets to its signal handlers.
        *lock(&self.inner.acked) = None;
        self.inner.flow.notify_waiters();
        for signal in [Signal::HUP, Signal::TERM, Signal::KILL] {
            if let Some(code) = self.exit_code() {
                return code;
            }
            kill_group(self.inner.pid, signal);
            if let Ok(code) = tokio::time::timeout(grace, self.exited()).await {
                return code;
            }
        }
        // Past SIGKILL only a process stuck in the kernel stays: give up.
        tokio::time::timeout(grace, self.exited())
            .await
            .unwrap_or(-1)
    }
}

fn clamp_size((cols, rows): (u16, u16)) -> (u16, u16) {
    (cols.clamp(1, 1000), rows.clamp(1, 1000))
}

fn kill_group(pid: u32, signal: rustix::process::Signal) {
    if let Some(pid) = rustix::process::Pid::from_raw(pid as i32) {
        let _ = rustix::process::kill_process_group(pid, signal);
    }
}

fn signal_of(status: &std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status.signal().unwrap_or(0)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Spawn {
        Spawn {
            program: "/bin/sh".into(),
            args: vec!["-c".into(), script.into()],
            cwd: std::env::temp_dir(),
            env: Vec::new(),
            size: (80, 24),
            buffer_bytes: 64 * 1024,
        }
    }

    /// Everything from offset 0 until `done` says so.
    async fn read_until(t: &Terminal, done: impl Fn(&str) -> bool) -> String {
        let mut a = t.attach(Some(0));
        let mut text = String::from_utf8_lossy(&a.replay).into_owned();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while !done(&text) {
            match tokio::time::timeout_at(deadline, a.live.recv()).await {
                Ok(Ok(c)) => text.push_str(&String::from_utf8_lossy(&c.bytes)),
                other => panic!("{other:?} before the output came: {text:?}"),
            }
        }
        text
    }

    #[tokio::test]
    async fn output_input_and_resize() {
        let t = Terminal::spawn(sh(
            "read line; echo \"got $line\"; stty size; exec sleep 30",
        ))
        .unwrap();
        let a = t.attach(None);
        t.resize(100, 40).await.unwrap();
        t.write(a.watcher, b"hello\n").await.unwrap();
        let text = read_until(&t, |s| s.contains("40 100")).await;
        assert!(text.contains("got hello"), "{text:?}");
        assert_eq!(t.size(), (100, 40));
        assert_eq!(
            t.close(Duration::from_secs(2)).await,
            128 + 1,
            "SIGHUP ended it"
        );
    }

    #[tokio::test]
    async fn a_late_watcher_replays_exactly_what_it_missed() {
        let t = Terminal::spawn(sh("printf 'one\\ntwo\\n'; exec sleep 30")).unwrap();
        read_until(&t, |s| s.contains("two")).await;
        let end = t.end();
        let a = t.attach(Some(3));
        assert_eq!(a.from, 3);
        assert_eq!(a.lost, 0);
        assert_eq!(a.from + a.replay.len() as u64, end);
        assert!(String::from_utf8_lossy(&a.replay).contains("two"));
        t.close(Duration::from_secs(2)).await;
    }

    #[tokio::test]
    async fn one_writer_at_a_time() {
        let t = Terminal::spawn(sh("exec cat")).unwrap();
        let a = t.attach(None);
        let b = t.attach(None);
        assert!(t.is_writer(a.watcher));
        assert!(matches!(
            t.write(b.watcher, b"x").await,
            Err(PtyError::NotWriter)
        ));
        t.take_writer(b.watcher);
        assert!(matches!(
            t.write(a.watcher, b"x").await,
            Err(PtyError::NotWriter)
        ));
        t.write(b.watcher, b"from-b\n").await.unwrap();
        t.detach(b.watcher);
        t.write(a.watcher, b"from-a\n").await.unwrap();
        let text = read_until(&t, |s| s.contains("from-a")).await;
        assert!(text.contains("from-b"));
        t.close(Duration::from_secs(2)).await;
    }

    #[tokio::test]
    async fn closing_ends_the_whole_group_even_what_ignores_sighup() {
        let t = Terminal::spawn(sh("trap '' HUP; sleep 300 & echo child=$!; wait")).unwrap();
        let text = read_until(&t, |s| s.contains("child=") && s.contains('\n')).await;
        let child: i32 = text
            .split("child=")
            .nth(1)
            .and_then(|s| s.split_whitespace().next())
            .and_then(|s| s.parse().ok())
            .unwrap();
        let code = t.close(Duration::from_millis(500)).await;
        assert!(code > 128, "ended by a signal: {code}");
        let pid = rustix::process::Pid::from_raw(child).unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while rustix::process::test_kill_process(pid).is_ok() {
            assert!(
                std::time::Instant::now() < deadline,
                "the background child outlived close"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    #[tokio::test]
    async fn an_acknowledging_writer_holds_the_program_back_and_loses_nothing() {
        // 8 MiB of output, 4 × the buffer: a writer that acknowledges slowly
        // still gets every byte, in order.
        let mut spec = sh("head -c 8388608 /dev/zero | tr '\\0' x; echo; echo END");
        spec.buffer_bytes = 2 << 20;
        let t = Terminal::spawn(spec).unwrap();
        let mut a = t.attach(Some(0));
        let watcher = a.watcher;
        t.ack(watcher, 0);
        let mut got = a.replay.len() as u64;
        let mut text_tail = String::new();
        let mut stalled = false;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let c = match tokio::time::timeout_at(deadline, a.live.recv())
                .await
                .expect("the output keeps coming")
            {
                Ok(c) => c,
                // Behind the live channel: the buffer still holds the rest.
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    a = t.reattach(watcher, Some(got));
                    assert_eq!(a.lost, 0, "the writer never loses a byte");
                    assert_eq!(a.from, got);
                    let bytes = std::mem::take(&mut a.replay);
                    Chunk {
                        offset: got,
                        bytes: Bytes::from(bytes),
                    }
                }
                Err(e) => panic!("{e}"),
            };
            if c.bytes.is_empty() {
                break;
            }
            assert_eq!(c.offset, got, "no gap");
            got += c.bytes.len() as u64;
            text_tail.push_str(&String::from_utf8_lossy(&c.bytes));
            if text_tail.len() > 64 {
                text_tail.drain(..text_tail.len() - 64);
            }
            // A screen that stalls once (a long render): the program, far
            // faster, would write all 8 MiB meanwhile — 4 × the buffer —
            // were it not held back. Then it acknowledges as it goes.
            if !stalled {
                stalled = true;
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            t.ack(a.watcher, got);
            if text_tail.contains("END") {
                break;
            }
        }
        assert!(got >= 8 << 20, "{got}");
        t.close(Duration::from_secs(2)).await;
    }

    #[tokio::test]
    async fn a_program_that_never_reads_holds_up_no_one_and_still_closes() {
        let t = Terminal::spawn(sh("stty raw -echo; exec sleep 300")).unwrap();
        let a = t.attach(None);
        t.ack(a.watcher, 0);
        let frame = vec![b'x'; 64 * 1024];
        // Were a write to wait for the program, this would never end.
        let refused = tokio::time::timeout(Duration::from_secs(60), async {
            for _ in 0..INPUT_QUEUE * 4 {
                match t.write(a.watcher, &frame).await {
                    Ok(()) => {}
                    Err(PtyError::InputFull) => return true,
                    Err(e) => panic!("{e}"),
                }
            }
            false
        })
        .await
        .expect("writes never wait for the program");
        assert!(refused, "the queue is bounded");
        let code = t.close(Duration::from_millis(500)).await;
        assert!(code > 128, "ended by a signal: {code}");
    }

    #[tokio::test]
    async fn a_screen_that_stops_acknowledging_holds_the_program_back_only_briefly() {
        let t =
            Terminal::spawn(sh("head -c 4194304 /dev/zero | tr '\\0' y; echo; echo END")).unwrap();
        let a = t.attach(None);
        t.ack(a.watcher, 0);
        // Never acknowledged again: after ACK_STALL the output runs on to
        // its end.
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        while t.exit_code().is_none() || t.end() < 4 << 20 {
            assert!(
                std::time::Instant::now() < deadline,
                "held back for good at {}",
                t.end()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        t.close(Duration::from_secs(2)).await;
    }

    #[tokio::test]
    async fn a_missing_program_is_a_clear_error() {
        let mut s = sh("");
        s.program = "/nonexistent/agentd-test".into();
        let e = Terminal::spawn(s).err().unwrap();
        assert!(e.to_string().contains("/nonexistent/agentd-test"), "{e}");
    }
}
