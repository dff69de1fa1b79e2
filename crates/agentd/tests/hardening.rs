//! Hostile input and bad clients (issue 9): a payload that names a FIFO, a
//! device, a directory or a huge file never freezes the daemon, and what it
//! stores is still what arrived.

mod support;

use std::path::Path;

use agentd_proto::api::EventsList;
use agentd_proto::method;
use serde_json::{Value, json};
use support::{TestDaemon, run};

fn mkfifo(path: &Path) {
    rustix::fs::mknodat(
        rustix::fs::CWD,
        path,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .unwrap();
}

/// Events stored for `session`.
fn stored(d: &TestDaemon, session: &str) -> Vec<Value> {
    let list: EventsList = d
        .client()
        .call(
            method::EVENTS_LIST,
            json!({"after_seq": 0, "session_id": session}),
        )
        .unwrap();
    list.events
        .into_iter()
        .map(|e| serde_json::to_value(e).unwrap())
        .collect()
}

#[test]
fn paths_in_payloads_that_are_fifos_devices_or_huge_never_freeze_the_daemon() {
    let d = TestDaemon::start();
    let tmp = tempfile::tempdir().unwrap();
    // A project whose `.git` and `.agentd/hooks.toml` are FIFOs: opening
    // either for reading blocks until a writer appears.
    let fifo = tmp.path().join("fifo");
    std::fs::create_dir_all(fifo.join(".agentd")).unwrap();
    mkfifo(&fifo.join(".git"));
    mkfifo(&fifo.join(".agentd/hooks.toml"));
    // One whose `.git` is a 512 MiB (sparse) file, and whose HEAD-by-link
    // is an endless device.
    let huge = tmp.path().join("huge");
    std::fs::create_dir_all(&huge).unwrap();
    std::fs::File::create(huge.join(".git"))
        .unwrap()
        .set_len(512 << 20)
        .unwrap();
    let dev = tmp.path().join("dev");
    std::fs::create_dir_all(dev.join(".git")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", dev.join(".git/HEAD")).unwrap();
    std::fs::create_dir_all(dev.join(".agentd")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", dev.join(".agentd/hooks.toml")).unwrap();

    let mut expected = 0;
    for (i, project) in [&fifo, &huge, &dev].into_iter().enumerate() {
        let session = format!("s{i}");
        for event in [
            "SessionStart",
            "UserPromptSubmit",
            "PreToolUse",
            "PostToolUse",
            "Stop",
        ] {
            let payload = json!({
                "session_id": session,
                "hook_event_name": event,
                "cwd": project,
                "tool_name": "Bash",
                "transcript_path": project.join(".git"),
            });
            let out = run(
                &d.home,
                &["hook"],
                Some(serde_json::to_vec(&payload).unwrap().as_slice()),
            );
            assert!(out.status.success(), "{event} in {project:?}: {out:?}");
            expected += 1;
        }
        // Every event was acknowledged and stored, none left to the spool.
        assert_eq!(stored(&d, &session).len(), 5, "{project:?}");
    }
    assert!(agentd_client::spool::list(&d.paths().spool).is_empty());
    assert_eq!(expected, 15);
    // And the daemon still answers everything else.
    let out = run(&d.home, &["health", "--json"], None);
    assert!(out.status.success(), "{out:?}");
    let h: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(h["status"], "ok", "{h}");
    // No branch came from any of those files.
    let out = run(&d.home, &["show", "s0", "--json"], None);
    let s: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(s["git_branch"].is_null(), "{s}");
}
