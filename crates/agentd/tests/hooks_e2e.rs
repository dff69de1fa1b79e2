//! The hook runner end to end with the real Claude Code CLI (fake Messages
//! API): a project whose Stop check fails makes Claude continue with the
//! reason (it reaches the next request the model gets); after the agent
//! "fixes" it the check passes and the turn ends; a second Stop with no
//! relevant file changed is served from the cache.

mod support;

use fake_anthropic::Script;
use support::claude::{ClaudeUser, session_id_of};
use support::{TestDaemon, hook_runs};

#[test]
fn a_failing_stop_check_makes_claude_fix_it_and_the_next_stop_is_cached() {
    let d = TestDaemon::start();
    let script = Script {
        bash_command: "echo hello > out.txt".to_owned(),
        fix_command: Some("echo fixed > fixed.txt".to_owned()),
        ..Script::default()
    };
    let user = ClaudeUser::with_script(&d.home, script);
    std::fs::create_dir_all(user.project.join(".agentd")).unwrap();
    std::fs::write(
        user.project.join(".agentd/hooks.toml"),
        r#"
[[hooks]]
name = "needs-fixed-file"
events = ["Stop"]
command = "test -f fixed.txt || { echo 'fixed.txt is missing: create it' >&2; exit 1; }"
if_changed = ["fixed.txt"]
timeout = 60
"#,
    )
    .unwrap();

    let (out, stream) = user.headless("make a file");
    assert!(out.status.success(), "claude failed: {out:?}");
    let id = session_id_of(&stream);
    assert_eq!(stream.last().unwrap()["subtype"], "success");
    // The block reason reached the model, which then fixed it.
    let bodies = user.fake.bodies();
    assert!(
        bodies.iter().any(|b| {
            let t = b.to_string();
            t.contains("hook check(s) failed") && t.contains("fixed.txt is missing")
        }),
        "the reason reached the model"
    );
    assert!(
        user.project.join("fixed.txt").exists(),
        "the agent fixed it"
    );

    let history = |session: &str| hook_runs(&d.home, Some(session));
    let runs = history(&id);
    let seen: Vec<(&str, bool)> = runs
        .iter()
        .map(|r| {
            (
                r["outcome"].as_str().unwrap(),
                r["passed"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [("ran", true), ("ran", false)],
        "newest first: {runs:?}"
    );

    // The next turn changes out.txt, not fixed.txt: its Stop is cached.
    let (again, _) = user.headless_with("once more", &["--resume", &id]);
    assert!(again.status.success(), "{again:?}");
    let runs = history(&id);
    assert_eq!(runs[0]["outcome"], "cached", "{runs:?}");
    assert!(runs[0]["why"].as_str().unwrap().contains("unchanged"));
    assert_eq!(runs.len(), 3);
}
