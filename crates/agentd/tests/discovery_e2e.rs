//! A real Claude Code session started before agentd, without its hooks, is
//! discovered and shown with its status; once hooks are installed and the
//! session resumed with them, it reports through them under the same id,
//! never as a second session. A background session of Claude Code's agent
//! view (`claude --bg`) is shown with its state and ends with its process. The same for the real Codex CLI and Gemini
//! CLI, found from their processes and the transcripts they write.

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

/// The live or ended sessions of the daemon whose cwd is `cwd`.
fn sessions_in(d: &TestDaemon, cwd: &str) -> Vec<agentd_proto::api::SessionView> {
    d.client()
        .sessions_page(&agentd_proto::api::SessionsListParams {
            history: Some(false),
            status: Some(vec![
                "starting".into(),
                "working".into(),
                "needs_approval".into(),
                "needs_input".into(),
                "idle".into(),
                "ended".into(),
            ]),
            ..Default::default()
        })
        .map(|p| p.sessions)
        .unwrap_or_default()
        .into_iter()
        .filter(|s| s.session.cwd.as_deref() == Some(cwd))
        .collect()
}

#[test]
fn codex_and_gemini_sessions_without_hooks_are_discovered_and_hooks_take_them_over() {
    use std::os::unix::process::CommandExt;
    let d = TestDaemon::start();
    for agent in ["codex", "gemini"] {
        // The model holds its last answer back: the agent is at work (its
        // tool has run, it waits on the model) for a while, with no hooks.
        let user = support::agents::AgentUser::without_hooks(
            agent,
            fake_models::Script {
                final_delay_ms: 15_000,
                ..Default::default()
            },
        );
        let cwd = user.project.to_string_lossy().into_owned();
        let mut child = user.command("make it so").process_group(0).spawn().unwrap();
        let found = wait_for(&format!("the discovered {agent} session"), WAIT, || {
            sessions_in(&d, &cwd)
                .into_iter()
                .find(|s| s.session.discovered && s.session.status.as_str() == "working")
        });
        assert_eq!(found.session.agent, agent);
        let id = found.session.id.clone();
        let transcript = found.session.transcript_path.clone().unwrap_or_default();
        assert!(
            transcript.starts_with(user.transcripts().to_str().unwrap())
                && transcript.contains(&id[..8]),
            "{agent}: {transcript} for {id}"
        );
        // Its process ends: the session ends with it.
        let out = child.wait().unwrap();
        assert!(out.success(), "{agent}: {out:?}");
        wait_for(&format!("the {agent} session to end"), WAIT, || {
            sessions_in(&d, &cwd)
                .into_iter()
                .find(|s| s.session.id == id && s.session.status.as_str() == "ended")
        });
        // Hooks installed, the session resumed: it reports under the same
        // id — one session, no longer `discovered`.
        user.install_hooks(&d.home);
        let out = user
            .resume_command("once more")
            .process_group(0)
            .output()
            .unwrap();
        assert!(out.status.success(), "{agent}: {out:?}");
        let all = wait_for(&format!("the {agent} hooks to report"), WAIT, || {
            let all = sessions_in(&d, &cwd);
            all.iter()
                .any(|s| s.session.id == id && !s.session.discovered)
                .then_some(all)
        });
        assert_eq!(
            all.iter()
                .map(|s| s.session.id.as_str())
                .collect::<Vec<_>>(),
            vec![id.as_str()],
            "{agent}: one session"
        );
    }
}

#[test]
fn a_background_claude_session_is_shown_with_its_state_and_ends_with_it() {
    let root = tempfile::Builder::new().prefix("agd").tempdir().unwrap();
    let user = ClaudeUser::without_hooks(root.path());
    let _cleanup = support::claude::KillByHome(user.home().to_path_buf());
    let d = TestDaemon::start_with_env(root.path(), user.daemon_env());
    let claude = |args: &[&str]| user.agent_view(args);
    let out = claude(&["--bg", "make a file"]);
    assert!(out.status.success(), "{out:?}");
    // Claude Code's own agent view: blocked on the permission prompt.
    let listed = wait_for("claude agents to list it blocked", WAIT, || {
        let out = claude(&["agents", "--json"]);
        let all: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
        all.as_array()?
            .iter()
            .find(|a| a["kind"] == "background" && a["waitingFor"] == "permission prompt")
            .cloned()
    });
    let id = listed["sessionId"].as_str().unwrap().to_owned();
    let short = listed["id"].as_str().unwrap().to_owned();
    let found = wait_for("the background session", WAIT, || {
        get(&d, &id).filter(|s| s.session.status.as_str() == "needs_approval")
    });
    assert!(found.session.discovered);
    assert_eq!(found.session.agent, "claude");
    assert_eq!(found.session.cwd.as_deref(), user.project.to_str());
    assert_eq!(found.session.pid, listed["pid"].as_u64().map(|p| p as u32));
    // Stopped from the agent view: the session ends, no ghost is left.
    let out = claude(&["stop", &short]);
    assert!(out.status.success(), "{out:?}");
    let ended = wait_for("the background session to end", WAIT, || {
        get(&d, &id).filter(|s| s.session.status.as_str() == "ended")
    });
    assert!(!ended.live, "{ended:?}");
}

#[test]
fn a_background_claude_session_with_hooks_is_one_session_approved_from_agentd() {
    let root = tempfile::Builder::new().prefix("agd").tempdir().unwrap();
    let d = TestDaemon::start_in(root.path());
    let user = ClaudeUser::new(&d.home);
    let _cleanup = support::claude::KillByHome(user.home().to_path_buf());
    let claude = |args: &[&str]| user.agent_view(args);
    let out = claude(&["--bg", "make a file"]);
    assert!(out.status.success(), "{out:?}");
    let approval = wait_for("the background session's approval", WAIT, || {
        let list: Vec<agentd_proto::api::ApprovalView> = d
            .client()
            .call(agentd_proto::method::APPROVALS_LIST, serde_json::json!({}))
            .ok()?;
        list.into_iter().next()
    });
    let id = approval.approval.session_id.clone();
    let s = get(&d, &id).unwrap();
    assert_eq!(s.session.status.as_str(), "needs_approval");
    assert!(!s.session.discovered, "it reports through hooks");
    // Claude Code's agent view and agentd agree on the process, and the
    // spare processes Claude Code keeps ready are no sessions.
    let out = claude(&["agents", "--json"]);
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mine = listed
        .as_array()
        .and_then(|a| a.iter().find(|x| x["sessionId"] == id.as_str()))
        .unwrap_or_else(|| panic!("{listed}"));
    assert_eq!(s.session.pid, mine["pid"].as_u64().map(|p| p as u32));
    let ids: Vec<String> = d
        .client()
        .sessions_page(&agentd_proto::api::SessionsListParams {
            history: Some(false),
            ..Default::default()
        })
        .unwrap()
        .sessions
        .into_iter()
        .map(|s| s.session.id)
        .collect();
    assert_eq!(ids, vec![id.clone()]);
    // Approved from agentd: the background session runs the command.
    let out = run(&d.home, &["approve", &approval.approval.id], None);
    assert!(out.status.success(), "{out:?}");
    wait_for("the file", WAIT, || {
        user.project.join("out.txt").exists().then_some(())
    });
    let out = claude(&["stop", mine["id"].as_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    wait_for("the session to end", WAIT, || {
        get(&d, &id).filter(|s| s.session.status.as_str() == "ended")
    });
}
