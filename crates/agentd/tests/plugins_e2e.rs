//! WASM policy plugins end to end: plugins compiled from WAT dropped into
//! a running daemon's `plugins/` decide the real Claude Code's tool calls,
//! change live without a restart, and fall through when one spins.

mod support;

use std::path::Path;
use std::time::Duration;

use agentd_plugins::wat;
use fake_anthropic::Script;
use serde_json::Value;
use support::claude::ClaudeUser;
use support::{TestDaemon, run, wait_for};

fn install(home: &Path, name: &str, wat: &str, manifest: &str) {
    let dir = home.join("plugins");
    std::fs::create_dir_all(&dir).unwrap();
    // The manifest first, the module last: the reload that counts sees both.
    std::fs::write(
        dir.join(format!("{name}.toml")),
        format!("name = \"{name}\"\nversion = \"1\"\n{manifest}"),
    )
    .unwrap();
    std::fs::write(dir.join(format!("{name}.wasm")), wat).unwrap();
}

/// `agentd rules test Bash {"command": cmd}`'s last line.
fn decision(home: &Path, cmd: &str) -> String {
    let input = serde_json::json!({ "command": cmd }).to_string();
    let out = run(home, &["rules", "test", "Bash", &input], None);
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .to_owned()
}

fn plugins(home: &Path) -> Vec<Value> {
    let out = run(home, &["plugins", "ls", "--json"], None);
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn a_wat_plugin_denies_real_claude_codes_rm_changes_live_and_a_spinning_one_falls_through() {
    let d = TestDaemon::start();
    let script = Script {
        bash_command: "rm -f keep.txt".to_owned(),
        ..Script::default()
    };
    let user = ClaudeUser::with_script(&d.home, script);
    std::fs::write(user.project.join("keep.txt"), "precious").unwrap();

    // Dropped into the running daemon: no restart.
    install(
        &d.home,
        "no-rm",
        &wat::match_policy(
            "rm -f",
            r#"{"decision":"deny","message":"plugin-says-no to rm"}"#,
        ),
        "tools = [\"Bash\"]",
    );
    wait_for("the plugin to deny", Duration::from_secs(30), || {
        decision(&d.home, "rm -f keep.txt")
            .starts_with("decision: deny")
            .then_some(())
    });
    // --allowedTools Bash: Claude Code itself would run it; the plugin does not.
    let (out, _) = user.headless("clean up");
    assert!(out.status.success(), "{out:?}");
    assert!(user.project.join("keep.txt").exists(), "rm was blocked");
    assert!(
        user.fake
            .bodies()
            .iter()
            .any(|b| b.to_string().contains("plugin-says-no to rm")),
        "the model saw the plugin's message"
    );
    assert_eq!(
        decision(&d.home, "ls"),
        "decision: none — none of the 0 rules matches and no plugin decides: Claude Code's own permission flow does"
    );

    // Edited to allow: live within a second (the watch), no restart.
    install(
        &d.home,
        "no-rm",
        &wat::match_policy("rm -f", r#"{"decision":"allow","reason":"fine today"}"#),
        "tools = [\"Bash\"]",
    );
    let started = std::time::Instant::now();
    wait_for("the edit to take effect", Duration::from_secs(30), || {
        decision(&d.home, "rm -f keep.txt")
            .starts_with("decision: allow")
            .then_some(())
    });
    eprintln!("the edited plugin decided after {:?}", started.elapsed());
    let (out, _) = user.headless("clean up again");
    assert!(out.status.success(), "{out:?}");
    wait_for("rm to run", Duration::from_secs(30), || {
        (!user.project.join("keep.txt").exists()).then_some(())
    });

    // A plugin that never returns abstains at its deadline; the next policy
    // (another plugin, by name) decides.
    std::fs::write(user.project.join("keep.txt"), "precious").unwrap();
    std::fs::remove_file(d.home.join("plugins/no-rm.wasm")).unwrap();
    std::fs::remove_file(d.home.join("plugins/no-rm.toml")).unwrap();
    install(
        &d.home,
        "a-spin",
        &wat::spin(),
        "tools = [\"Bash\"]\ndecide_timeout_ms = 30",
    );
    install(
        &d.home,
        "z-deny",
        &wat::match_policy("rm -f", r#"{"decision":"deny","message":"z-deny-says-no"}"#),
        "tools = [\"Bash\"]",
    );
    wait_for("both plugins to load", Duration::from_secs(30), || {
        let names: Vec<String> = plugins(&d.home)
            .iter()
            .filter(|p| p["state"] == "enabled")
            .map(|p| p["name"].as_str().unwrap().to_owned())
            .collect();
        (names == ["a-spin", "z-deny"]).then_some(())
    });
    let (out, _) = user.headless("clean up once more");
    assert!(out.status.success(), "{out:?}");
    assert!(user.project.join("keep.txt").exists(), "rm was blocked");
    assert!(
        user.fake
            .bodies()
            .iter()
            .any(|b| b.to_string().contains("z-deny-says-no")),
        "the model saw the next plugin's message"
    );
    let list = plugins(&d.home);
    let spin = list.iter().find(|p| p["name"] == "a-spin").unwrap();
    assert!(spin["errors"].as_u64().unwrap() >= 1, "{spin}");
    let out = run(&d.home, &["plugins", "logs", "a-spin"], None);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("30 ms deadline"),
        "{out:?}"
    );
    // The user turns the spinning one off; it stays off after a restart.
    let out = run(&d.home, &["plugins", "disable", "a-spin"], None);
    assert!(out.status.success(), "{out:?}");
    let mut d = d;
    d.stop();
    d.restart();
    let list = plugins(&d.home);
    let spin = list.iter().find(|p| p["name"] == "a-spin").unwrap();
    assert_eq!(spin["state"], "disabled", "{spin}");
}

#[test]
fn a_grant_that_names_no_capability_stops_the_daemon_with_the_list() {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(
        home.path().join("agentd.toml"),
        "[plugins.grants]\nbudget = [\"root\"]\n",
    )
    .unwrap();
    let out = run(home.path(), &["serve"], None);
    assert!(!out.status.success(), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no capability `root`") && err.contains("git, kv"),
        "{err}"
    );
}
