//! `agentd tui` end to end, in real tmux: the daemon, a real Claude Code
//! session (fake Messages API) in one tmux server, `agentd tui` in another;
//! the screens are read with `capture-pane`. The session appears, shows
//! `needs approval` while Claude Code's permission dialog is up, and
//! approving from the TUI runs the tool.

mod support;

use support::claude::{ClaudeUser, Tmux, WAIT, wait_session};
use support::{TestDaemon, bin, wait_for};

/// A script that runs `agentd tui` against `home`.
fn tui_script(dir: &std::path::Path, home: &std::path::Path) -> std::path::PathBuf {
    let script = dir.join("run-tui.sh");
    let q = |p: &std::path::Path| shlex::try_quote(p.to_str().unwrap()).unwrap().into_owned();
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nunset TMUX\nexport AGENTD_HOME={}\nexport TERM=xterm-256color\nexec {} tui\n",
            q(home),
            q(&bin())
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    script
}

#[test]
fn the_tui_shows_the_session_and_approves_its_tool_call() {
    let d = TestDaemon::start();
    let scripts = tempfile::tempdir().unwrap();
    let tui = Tmux::start(&tui_script(scripts.path(), &d.home));
    tui.wait_screen("the TUI header", |s| {
        s.contains("agentd ·") && s.contains("live")
    });

    let user = ClaudeUser::new(&d.home);
    let claude = user.start_tmux();
    let session = wait_for("the session to start", WAIT, || {
        let out = support::run(&d.home, &["ls", "--json"], None);
        let list: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).ok()?;
        list.iter()
            .find(|s| s["live"] == true)
            .and_then(|s| s["id"].as_str().map(str::to_owned))
    });
    let short: String = session.chars().take(8).collect();
    tui.wait_screen("the session in the TUI", |s| s.contains(&short));

    claude.type_text("make a file");
    claude.keys(&["Enter"]);
    claude.wait_screen("the permission dialog", |s| {
        s.contains("Do you want to proceed?")
    });
    wait_session(&d, &session, "needs_approval", |s| {
        s.session.status.as_str() == "needs_approval"
    });
    let screen = tui.wait_screen("needs approval in the TUI", |s| {
        s.contains("needs approval")
            && s.contains("approve? Bash")
            && s.contains("echo hello > out.txt")
    });
    assert!(
        screen.contains("$ echo hello > out.txt"),
        "the command, readable:\n{screen}"
    );

    tui.keys(&["a"]);
    wait_for("the command to run", WAIT, || {
        user.project.join("out.txt").exists().then_some(())
    });
    claude.wait_screen("the dialog to close", |s| {
        !s.contains("Do you want to proceed?")
    });
    tui.wait_screen("the approval to leave the TUI", |s| {
        !s.contains("approve? Bash")
    });
    let s = wait_session(&d, &session, "idle", |s| {
        s.session.status.as_str() == "idle"
    });
    assert!(s.session.pending_approvals.is_empty());
    let approvals = support::run(&d.home, &["approvals", "--all", "--json"], None);
    let list: Vec<serde_json::Value> = serde_json::from_slice(&approvals.stdout).unwrap();
    assert_eq!(list[0]["status"], "allowed");
    assert_eq!(list[0]["decided_by"], "tui");

    // q quits cleanly; the pane's program is gone.
    tui.keys(&["q"]);
    wait_for("the TUI to exit", WAIT, || {
        let out = tui.run(&["list-panes", "-F", "#{pane_current_command}"], None);
        let cmd = String::from_utf8_lossy(&out.stdout).into_owned();
        (!out.status.success() || !cmd.contains("agentd")).then_some(())
    });
}

#[test]
fn the_tui_waits_for_the_daemon_and_reconnects_after_a_restart() {
    let home = tempfile::tempdir().unwrap();
    let scripts = tempfile::tempdir().unwrap();
    let tui = Tmux::start(&tui_script(scripts.path(), home.path()));
    tui.wait_screen("the not-running screen", |s| {
        s.contains("daemon is not running")
    });
    let mut d = TestDaemon::start_in(home.path());
    tui.wait_screen("the TUI to connect", |s| {
        s.contains("· live") && !s.contains("not running")
    });
    d.stop();
    tui.wait_screen("the TUI to notice", |s| s.contains("reconnecting"));
    d.restart();
    tui.wait_screen("the TUI to reconnect", |s| {
        s.contains("· live") && !s.contains("reconnecting")
    });
    // Resizing to tiny sizes and back does not kill it.
    for (w, h) in [("10", "3"), ("2", "1"), ("80", "24")] {
        tui.run(&["resize-window", "-t", "e2e", "-x", w, "-y", h], None);
        support::wait_for(
            "tmux to apply the size",
            std::time::Duration::from_secs(30),
            || {
                let out = tui.run(
                    &[
                        "display-message",
                        "-p",
                        "-t",
                        "e2e",
                        "#{pane_width}x#{pane_height}",
                    ],
                    None,
                );
                (String::from_utf8_lossy(&out.stdout).trim() == format!("{w}x{h}")).then_some(())
            },
        );
    }
    tui.wait_screen("the TUI after resizing", |s| s.contains("agentd ·"));
}

#[test]
fn enter_jumps_to_the_sessions_tmux_pane_and_says_when_tmux_cannot() {
    let home = tempfile::tempdir().unwrap();
    let scripts = tempfile::tempdir().unwrap();
    let d = TestDaemon::start_in(home.path());
    // Two sessions in tmux panes: this TUI's own pane (%0, the first pane
    // of its tmux server) and one that no longer exists (newer: listed
    // first, so selected).
    for (sid, pane) in [("in-pane-0", "%0"), ("gone-pane", "%999")] {
        let _: serde_json::Value = d
            .client()
            .call(
                agentd_proto::method::HOOK_INGEST,
                serde_json::json!({"payload": {"session_id": sid, "hook_event_name": "SessionStart",
                    "cwd": "/w/p"}, "env": {"tmux_pane": pane}}),
            )
            .unwrap();
    }
    // Inside tmux this time (TMUX kept): Enter switches panes.
    let script = tui_script(scripts.path(), home.path());
    let text = std::fs::read_to_string(&script).unwrap();
    std::fs::write(&script, text.replace("unset TMUX\n", "")).unwrap();
    let tui = Tmux::start(&script);
    tui.wait_screen("both sessions", |s| {
        s.contains("gone-pan") && s.contains("in-pane-")
    });
    tui.keys(&["Enter"]);
    let screen = tui.wait_screen("what tmux said", |s| s.contains("can't find"));
    assert!(screen.contains("%999"), "{screen}");
    tui.keys(&["j", "Enter"]);
    tui.wait_screen("the jump to be confirmed", |s| {
        s.contains("jumped to tmux pane %0")
    });
}
