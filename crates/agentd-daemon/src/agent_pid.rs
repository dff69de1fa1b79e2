//! Which process is the agent behind a hook call on the socket.
//!
//! The kernel tells the daemon who connected (`SO_PEERCRED`): the hook
//! client itself. Its parent is the agent — or a shell the agent ran it
//! through (`sh -c`), whose first non-shell ancestor is. Walking `/proc`
//! here, and only when the session's agent is not known yet (or has gone),
//! keeps that walk off the hook's own start-up, which runs on every tool
//! call (issue #9, hook round trip).

use std::path::Path;

/// Shells and wrappers a hook may run through; the agent is above them.
const WRAPPERS: &[&str] = &["sh", "bash", "dash", "zsh", "fish", "ksh", "env", "timeout"];

/// Most ancestors looked at above the hook client.
const MAX_HOPS: usize = 4;

/// Largest `/proc` file read, bytes (`stat` lines are under 1 KiB).
const MAX_PROC_BYTES: u64 = 4096;

/// The agent's pid for a hook client whose pid is `peer`: the first
/// ancestor that is not a shell or wrapper. `None` when `/proc` cannot
/// say (the client exited, another pid namespace). Blocking: reads `/proc`.
pub fn resolve(peer: u32) -> Option<u32> {
    resolve_in(Path::new("/proc"), peer)
}

/// [`resolve`] over a `/proc`-shaped folder (tests give a fake one).
fn resolve_in(proc: &Path, peer: u32) -> Option<u32> {
    let mut pid = parent_of(proc, peer)?;
    for _ in 0..MAX_HOPS {
        let comm =
            agentd_fs::read_to_string(&proc.join(pid.to_string()).join("comm"), MAX_PROC_BYTES)
                .ok()?;
        if !WRAPPERS.contains(&comm.trim()) {
            return Some(pid);
        }
        pid = parent_of(proc, pid)?;
    }
    None
}

/// Parent pid from `<proc>/<pid>/stat` (field 4, after the parenthesised
/// comm, which may itself hold spaces and parentheses); never init.
fn parent_of(proc: &Path, pid: u32) -> Option<u32> {
    crate::procfs::read_stat(proc, pid)
        .map(|st| st.ppid)
        .filter(|p| *p > 1)
}

/// Whether process `pid` exists (signal 0; a process of another user
/// counts). Cheap: one system call, no `/proc` read.
pub fn alive(pid: u32) -> bool {
    let Ok(raw) = i32::try_from(pid) else {
        return false;
    };
    // SAFETY: kill with signal 0 sends nothing; it only checks the pid.
    let rc = unsafe { libc::kill(raw, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proc_entry(root: &Path, pid: u32, comm: &str, ppid: u32) {
        let d = root.join(pid.to_string());
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("comm"), format!("{comm}\n")).unwrap();
        std::fs::write(
            d.join("stat"),
            // A whole line, as the kernel writes it (52 fields).
            format!(
                "{pid} ({comm}) S {ppid} 1 1 0 -1 4194304 73 0 0 0 1 1 0 0 20 0 1 0 100 1 1 {}",
                "0 ".repeat(28).trim_end()
            ),
        )
        .unwrap();
    }

    #[test]
    fn the_agent_is_the_first_ancestor_that_is_not_a_shell() {
        let t = tempfile::tempdir().unwrap();
        proc_entry(t.path(), 300, "agentd-hook", 200);
        proc_entry(t.path(), 200, "sh", 100);
        proc_entry(t.path(), 100, "claude", 1);
        assert_eq!(resolve_in(t.path(), 300), Some(100));
        // Run directly (no shell): the parent.
        proc_entry(t.path(), 301, "agentd-hook", 100);
        assert_eq!(resolve_in(t.path(), 301), Some(100));
    }

    #[test]
    fn odd_comms_gone_processes_and_endless_shells_say_nothing_wrong() {
        let t = tempfile::tempdir().unwrap();
        // A comm with spaces and a parenthesis: the last `)` ends it.
        proc_entry(t.path(), 50, "my (agent) x", 1);
        proc_entry(t.path(), 51, "agentd-hook", 50);
        std::fs::write(t.path().join("50/stat"), "50 (my (agent) x) S 1 1").unwrap();
        assert_eq!(resolve_in(t.path(), 51), Some(50));
        // The client already exited: nothing.
        assert_eq!(resolve_in(t.path(), 999), None);
        // Shells all the way up past the hop limit: nothing, not a shell.
        for pid in 10..20 {
            proc_entry(t.path(), pid, "sh", pid + 1);
        }
        proc_entry(t.path(), 9, "agentd-hook", 10);
        assert_eq!(resolve_in(t.path(), 9), None);
        // A parent of init is never an agent.
        proc_entry(t.path(), 60, "agentd-hook", 1);
        assert_eq!(resolve_in(t.path(), 60), None);
    }

    #[test]
    fn this_process_is_alive_and_an_unused_pid_is_not() {
        assert!(alive(std::process::id()));
        assert!(!alive(u32::MAX));
        // Past Linux's PID_MAX_LIMIT (2^22): never a process.
        assert!(!alive((1 << 22) + 1));
    }

    #[test]
    fn resolving_a_real_child_finds_this_test_process() {
        // This process spawns `sh -c 'sleep'`-like children: the child's
        // parent is us (not a shell), so we are its agent.
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        assert_eq!(resolve(child.id()), Some(std::process::id()));
        let _ = child.kill();
        let _ = child.wait();
    }
}
