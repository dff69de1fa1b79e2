//! A real Claude Code session started before agentd, without its hooks, is
//! discovered and shown with its status; once hooks are installed and the
//! session resumed with them, it reports through them under the same id,
//! never as a second session.

mod support;

use support::claude::{ClaudeUser, Tmux, WAIT, claude_bin, get};
use support::{TestDaemon, run, wait_for};

#[test]
fn a_session_without_hooks_is_discovered_and_hooks_take_it_over() {
    let root = tempfile::Builder::new().prefix("agd").tempdir().unwrap();
    let user = ClaudeUser::without_hooks(root.path());
    // Claude Code first, with no daemon and no hooks: it stops at the
    // permission dialog for its Bash call.
    let tmux = user.start_tmux();
    tmux.type_text("make a file");
    tmux.keys(&["Enter"]);
    tmux.wait_screen("the permission dialog", |s| {
        s.contains("Do you want to proceed?")
    });

    let d = TestDaemon::start_with_env(root.path(), user.daemon_env());
    let found = wait_for("the discovered session", WAIT, || {
        d.client()
            .sessions_page(&agentd_proto::api::SessionsListParams {
                history: Some(false),
                ..Default::default()
            })
            .ok()?
            .sessions
            .into_iter()
            .find(|s| s.session.discovered && s.session.status.as_str() == "needs_approval")
    });
    let id = found.session.id.clone();
    assert_eq!(id.len(), 36, "{id}");
    assert_eq!(found.session.agent, "claude");
    assert_eq!(found.session.cwd.as_deref(), user.project.to_str());
    assert_eq!(found.session.tmux_pane.as_deref(), Some("%0"));
    assert!(found.session.pid.is_some());
    let ls = run(&d.home, &["ls"], None);
    assert!(
        String::from_utf8_lossy(&ls.stdout).contains(&id[..8]),
        "{ls:?}"
    );

    // Let it go on, then stop it.
    tmux.approve();
    wait_for("the file", WAIT, || {
        user.project.join("out.txt").exists().then_some(())
    });
    tmux.wait_screen("the prompt", |s| s.contains('\u{276f}'));
    drop(tmux);

    // Hooks installed, the same session resumed: it reports through them.
    let out = support::agentd_cmd(&d.home)
        .env("HOME", user.home())
        .env_remove("CLAUDE_CONFIG_DIR")
        .arg("install")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let script = user.home().join("resume.sh");
    let mut text = String::from("#!/bin/sh\nunset CLAUDE_CONFIG_DIR CLAUDECODE AGENTD_HOME\n");
    for (k, v) in user.env() {
        text.push_str(&format!("export {k}={}\n", shlex::try_quote(&v).unwrap()));
    }
    text.push_str(&format!(
        "cd {}\nexec {} --resume {id}\n",
        shlex::try_quote(user.project.to_str().unwrap()).unwrap(),
        shlex::try_quote(claude_bin().to_str().unwrap()).unwrap()
    ));
    std::fs::write(&script, text).unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let tmux = Tmux::start(&script);
    tmux.wait_screen("the prompt", |s| s.contains('\u{276f}'));
    let taken = wait_for("the hooks to report", WAIT, || {
        get(&d, &id).filter(|s| !s.session.discovered && s.session.status.as_str() != "ended")
    });
    assert_eq!(taken.session.id, id);
    // One session for this project, not two.
    let mine: Vec<String> = d
        .client()
        .sessions_page(&agentd_proto::api::SessionsListParams {
            history: Some(false),
            ..Default::default()
        })
        .unwrap()
        .sessions
        .into_iter()
        .filter(|s| s.session.cwd.as_deref() == user.project.to_str())
        .map(|s| s.session.id)
        .collect();
    assert_eq!(mine, vec![id.clone()]);
    let events = support::claude::hook_names(&d, &id);
    assert!(events.iter().any(|n| n == "SessionStart"), "{events:?}");
    drop(tmux);
}
