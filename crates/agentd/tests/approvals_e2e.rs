//! Approvals end to end with the real Claude Code CLI: decided from the CLI
//! while Claude Code's own permission dialog is up, denied with a message
//! the model sees, rules deciding alone, and a daemon restart mid-approval;
//! a skill's embedded shell command (Claude Code 2.1.332's
//! PreSkillShellCommand hook) judged by agentd's rules.

mod support;

use agentd_proto::api::ApprovalView;
use agentd_proto::method;
use fake_anthropic::Script;
use serde_json::{Value, json};
use support::claude::{
    ClaudeUser, WAIT, denial_reaches_the_model, prompt_until_pending, wait_session,
};
use support::{TestDaemon, run, wait_for};

fn approval(d: &TestDaemon, id: &str) -> ApprovalView {
    d.client()
        .call(method::APPROVALS_GET, json!({"id": id}))
        .unwrap()
}

#[test]
fn approve_from_the_cli_runs_the_command_and_closes_the_dialog() {
    let d = TestDaemon::start();
    let user = ClaudeUser::new(&d.home);
    let tmux = user.start_tmux();
    let pending = prompt_until_pending(&d, &tmux, "make a file");
    assert_eq!(pending.approval.tool_name, "Bash");
    assert_eq!(
        pending.approval.tool_input["command"],
        "echo hello > out.txt"
    );
    let s = wait_session(&d, &pending.approval.session_id, "needs_approval", |s| {
        s.session.status.as_str() == "needs_approval"
    });
    assert_eq!(
        s.session.pending_approvals,
        std::slice::from_ref(&pending.approval.id)
    );

    let out = run(&d.home, &["approve", &pending.approval.id], None);
    assert!(out.status.success(), "{out:?}");
    tmux.wait_screen("the dialog to close", |s| {
        !s.contains("Do you want to proceed?")
    });
    wait_for("the command to run", WAIT, || {
        user.project.join("out.txt").exists().then_some(())
    });
    let s = wait_session(&d, &pending.approval.session_id, "idle", |s| {
        s.session.status.as_str() == "idle"
    });
    assert!(s.session.pending_approvals.is_empty());
    assert_eq!(
        approval(&d, &pending.approval.id).approval.status.as_str(),
        "allowed"
    );
}

#[test]
fn deny_from_the_cli_blocks_the_command_and_the_model_reads_the_message() {
    let d = TestDaemon::start();
    let user = ClaudeUser::new(&d.home);
    let tmux = user.start_tmux();
    let pending = prompt_until_pending(&d, &tmux, "make a file");
    let message = "agentd-says-no: write it under /tmp instead";
    let out = run(
        &d.home,
        &["deny", &pending.approval.id, "--message", message],
        None,
    );
    assert!(out.status.success(), "{out:?}");
    tmux.wait_screen("the dialog to close", |s| {
        !s.contains("Do you want to proceed?")
    });
    // The next request to the model carries the denial as the tool result.
    denial_reaches_the_model(&user, "agentd-says-no");
    assert_eq!(
        approval(&d, &pending.approval.id).approval.status.as_str(),
        "denied"
    );
}

#[test]
fn a_restart_while_pending_expires_the_approval_and_the_terminal_still_answers() {
    let mut d = TestDaemon::start();
    let user = ClaudeUser::new(&d.home);
    let tmux = user.start_tmux();
    let pending = prompt_until_pending(&d, &tmux, "make a file");
    let id = pending.approval.id.clone();
    let session = pending.approval.session_id.clone();
    d.stop();
    d.restart();
    let a = approval(&d, &id);
    assert_eq!(a.approval.status.as_str(), "expired");
    // Claude Code's dialog is still up: answering it there moves the session on.
    assert!(tmux.screen().contains("Do you want to proceed?"));
    tmux.approve();
    let s = wait_session(&d, &session, "idle after the terminal answer", |s| {
        s.session.status.as_str() == "idle"
    });
    assert!(s.session.pending_approvals.is_empty());
    assert!(user.project.join("out.txt").exists());
    let out = run(&d.home, &["approvals", "--json"], None);
    assert_eq!(
        serde_json::from_slice::<Vec<Value>>(&out.stdout).unwrap(),
        Vec::<Value>::new(),
        "nothing stuck"
    );
}

#[test]
fn a_deny_rule_stops_the_command_without_a_human() {
    let root = tempfile::Builder::new().prefix("agd").tempdir().unwrap();
    std::fs::write(
        root.path().join("agentd.toml"),
        "[[rules]]\nrule = \"Bash(rm:*)\"\naction = \"deny\"\nmessage = \"rule-says-no to rm\"\n",
    )
    .unwrap();
    let d = TestDaemon::start_in(root.path());
    let script = Script {
        bash_command: "rm -f keep.txt".to_owned(),
        ..Script::default()
    };
    let user = ClaudeUser::with_script(&d.home, script);
    std::fs::write(user.project.join("keep.txt"), "precious").unwrap();
    // --allowedTools Bash: Claude Code itself would allow it; the rule does not.
    let (out, _) = user.headless("clean up");
    assert!(out.status.success(), "{out:?}");
    assert!(user.project.join("keep.txt").exists(), "rm was blocked");
    assert!(
        user.fake
            .bodies()
            .iter()
            .any(|b| b.to_string().contains("rule-says-no to rm")),
        "the model saw the rule's message"
    );
}

#[test]
fn two_concurrent_deciders_exactly_one_wins() {
    let d = TestDaemon::start();
    let user = ClaudeUser::new(&d.home);
    let tmux = user.start_tmux();
    let pending = prompt_until_pending(&d, &tmux, "make a file");
    let id = pending.approval.id.clone();
    // An approve and a deny race from two processes.
    let (allow, deny) = std::thread::scope(|s| {
        let a = s.spawn(|| run(&d.home, &["approve", &id], None));
        let b = s.spawn(|| run(&d.home, &["deny", &id, "--message", "racing deny"], None));
        (a.join().unwrap(), b.join().unwrap())
    });
    assert_ne!(
        allow.status.success(),
        deny.status.success(),
        "exactly one decision wins: {allow:?} {deny:?}"
    );
    let loser = if allow.status.success() {
        &deny
    } else {
        &allow
    };
    assert!(
        String::from_utf8_lossy(&loser.stderr).contains("already"),
        "the loser is told who won: {loser:?}"
    );
    tmux.wait_screen("the dialog to close", |s| {
        !s.contains("Do you want to proceed?")
    });
    let status = approval(&d, &id).approval.status;
    let ran = wait_for("Claude Code to act on the decision", WAIT, || {
        let exists = user.project.join("out.txt").exists();
        let asked_again = user
            .fake
            .bodies()
            .iter()
            .any(|b| b.to_string().contains("racing deny"));
        (exists || asked_again).then_some(exists)
    });
    match status.as_str() {
        "allowed" => assert!(ran, "allowed: the command ran"),
        "denied" => assert!(!ran, "denied: the command did not run"),
        other => panic!("unexpected status {other}"),
    }
}

#[test]
fn a_skills_shell_command_is_judged_by_agentds_rules_in_claude_code_2_1_332() {
    let bin = support::claude::agent_view_claude_bin();
    let root = tempfile::Builder::new().prefix("agd").tempdir().unwrap();
    std::fs::write(
        root.path().join("agentd.toml"),
        "[[rules]]\nrule = \"Bash(date:*)\"\naction = \"deny\"\nmessage = \"no dates from skills\"\n\n\
         [[rules]]\nrule = \"Bash(true)\"\naction = \"allow\"\n",
    )
    .unwrap();
    let d = TestDaemon::start_in(root.path());
    let user = ClaudeUser::with_script_no_hooks(Script {
        bash_command: "true".into(),
        ..Script::default()
    });
    let _cleanup = support::claude::KillByHome(user.home().to_path_buf());
    // `install` asks the Claude Code it finds which hooks it knows: 2.1.332
    // knows PreSkillShellCommand.
    let out = support::agentd_cmd(&d.home)
        .env("HOME", user.home())
        .env_remove("CLAUDE_CONFIG_DIR")
        .env("AGENTD_CLAUDE", &bin)
        .arg("install")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("PreSkillShellCommand"),
        "{out:?}"
    );
    let skill = user.project.join(".claude/skills/greet");
    std::fs::create_dir_all(&skill).unwrap();
    std::fs::write(
        skill.join("SKILL.md"),
        "---\nname: greet\ndescription: Greets with the year\n---\nThe year: !`date +%Y`\n",
    )
    .unwrap();
    let out = user.agent_view(&["-p", "/greet"]);
    assert!(out.status.success(), "{out:?}");
    // The hook reached agentd as Claude Code sent it, and the rule's
    // message is what the skill got instead of the command's output.
    let events: Value = d
        .client()
        .call(method::EVENTS_LIST, json!({"after_seq": 0}))
        .unwrap();
    let skill_call = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "PreSkillShellCommand")
        .unwrap_or_else(|| panic!("{events}"))
        .clone();
    assert_eq!(skill_call["payload"]["tool_input"]["command"], "date +%Y");
    assert_eq!(skill_call["payload"]["command_name"], "greet");
    assert!(
        user.fake.bodies().iter().any(|b| b
            .to_string()
            .contains("blocked by hook: no dates from skills")),
        "the model did not see the denial"
    );
}
