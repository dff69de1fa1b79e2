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

/// Whether a request to the fake Messages API carried `text` (a denial
/// Claude Code passes on to the model).
fn model_saw(user: &ClaudeUser, text: &str) -> bool {
    user.fake
        .bodies()
        .iter()
        .any(|b| b.to_string().contains(text))
}

/// The daemon's HTTP address and its bearer token.
fn http_addr_and_token(d: &TestDaemon) -> (String, String) {
    let h: Value = d
        .client()
        .call(agentd_proto::method::HEALTH, serde_json::json!({}))
        .unwrap();
    let addr = h["http_addr"].as_str().unwrap().to_owned();
    let token = std::fs::read_to_string(d.paths().token)
        .unwrap()
        .trim()
        .to_owned();
    (addr, token)
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
        model_saw(&user, "plugin-says-no to rm"),
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
        model_saw(&user, "z-deny-says-no"),
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

#[test]
fn effects_a_plugin_asks_for_on_events_are_carried_out_and_logged() {
    let d = TestDaemon::start();
    install(
        &d.home,
        "remember",
        &wat::constant_effects(
            r#"{"effects":[{"type":"memory.index","title":"Session began","text":"a zebra-crossing note from a plugin"},{"type":"teleport"},{"type":"notify.send","title":"hello"},{"type":"approval.ask","question":"Tag this release?","options":["yes","no"]}]}"#,
        ),
        "events = [\"session.started\"]",
    );
    wait_for("the plugin to load", Duration::from_secs(30), || {
        plugins(&d.home)
            .iter()
            .any(|p| p["name"] == "remember" && p["state"] == "enabled")
            .then_some(())
    });
    let start = serde_json::json!({"session_id": "5e55a0b1-0000-4000-8000-0000000000e1", "hook_event_name": "SessionStart",
        "cwd": "/w", "transcript_path": "/nonexistent/t.jsonl", "source": "startup"});
    let out = run(&d.home, &["hook"], Some(start.to_string().as_bytes()));
    assert!(out.status.success(), "{out:?}");
    let log = wait_for(
        "the effects to be carried out",
        Duration::from_secs(30),
        || {
            let out = run(&d.home, &["plugins", "logs", "remember"], None);
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            (text.contains("effect memory.index: stored")
                && text.contains("effect teleport not carried out")
                && text.contains("effect notify.send not carried out"))
            .then_some(text)
        },
    );
    assert!(log.contains("no effect `teleport`"), "{log}");
    assert!(log.contains("no notification sink is configured"), "{log}");
    // approval.ask: a question in every queue, answered like any other.
    let asked = wait_for("the plugin's question", Duration::from_secs(30), || {
        let list: Vec<agentd_proto::api::ApprovalView> = d
            .client()
            .call(agentd_proto::method::APPROVALS_LIST, serde_json::json!({}))
            .ok()?;
        list.into_iter()
            .find(|a| a.approval.tool_name == "AskUserQuestion")
    });
    assert_eq!(
        asked.approval.session_id,
        "5e55a0b1-0000-4000-8000-0000000000e1"
    );
    assert_eq!(
        asked.approval.asked_because.as_deref(),
        Some("plugin `remember` asks")
    );
    assert_eq!(
        asked.approval.tool_input["questions"][0]["question"],
        "Tag this release?"
    );
    let out = run(&d.home, &["answer", &asked.approval.id, "yes"], None);
    assert!(out.status.success(), "{out:?}");
    let out = run(&d.home, &["search", "zebra-crossing", "--json"], None);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Session began"),
        "{out:?}"
    );
    // Events it does not want are not sent: a prompt, then another session
    // start — events reach plugins in log order, so once the second start
    // is counted the prompt would have been too.
    let prompt = serde_json::json!({"session_id": "5e55a0b1-0000-4000-8000-0000000000e1", "hook_event_name": "UserPromptSubmit",
        "cwd": "/w", "transcript_path": "/nonexistent/t.jsonl", "prompt": "hi"});
    let out = run(&d.home, &["hook"], Some(prompt.to_string().as_bytes()));
    assert!(out.status.success(), "{out:?}");
    let again = serde_json::json!({"session_id": "5e55a0b1-0000-4000-8000-0000000000e2", "hook_event_name": "SessionStart",
        "cwd": "/w", "transcript_path": "/nonexistent/t.jsonl", "source": "startup"});
    let out = run(&d.home, &["hook"], Some(again.to_string().as_bytes()));
    assert!(out.status.success(), "{out:?}");
    wait_for(
        "the second start to reach the plugin",
        Duration::from_secs(30),
        || {
            let list = plugins(&d.home);
            let calls = list.iter().find(|p| p["name"] == "remember")?["calls"].as_u64()?;
            assert!(calls <= 2, "the prompt reached the plugin: {calls} calls");
            (calls == 2).then_some(())
        },
    );
}

/// The example plugins built from Rust by `scripts/build-example-plugins.sh`
/// (`.ci/run` builds them and sets `AGENTD_EXAMPLE_PLUGINS`); `None`, with
/// a `SKIPPED` line, when they were not built — never when
/// `AGENTD_REQUIRE_EXAMPLE_PLUGINS` is set.
fn example_plugins(test: &str) -> Option<std::path::PathBuf> {
    let dir = std::env::var_os("AGENTD_EXAMPLE_PLUGINS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/example-plugins")
        });
    if dir.join("protect-main.wasm").exists() && dir.join("budget.wasm").exists() {
        return Some(dir);
    }
    assert!(
        std::env::var_os("AGENTD_REQUIRE_EXAMPLE_PLUGINS").is_none(),
        "{test}: the example plugins are not in {} though .ci/run built them",
        dir.display()
    );
    let line = format!(
        "SKIPPED: {test}: needs the Rust example plugins built for wasm32-wasip1 (scripts/build-example-plugins.sh; .ci/run builds them)"
    );
    eprintln!("{line}");
    if let Some(log) = std::env::var_os("AGENTD_SKIP_LOG") {
        use std::io::Write;
        if let Ok(mut f) = std::fs::OpenOptions::new().append(true).open(log) {
            let _ = writeln!(f, "{line}");
        }
    }
    None
}

#[test]
fn the_rust_example_plugins_protect_main_and_enforce_a_budget() {
    let Some(built) = example_plugins("the_rust_example_plugins_protect_main_and_enforce_a_budget")
    else {
        return;
    };
    let root = tempfile::Builder::new().prefix("agd").tempdir().unwrap();
    // budget's notify.send goes to the notification sinks.
    let web = fake_models::receiver::Receiver::start(0).unwrap();
    std::fs::write(
        root.path().join("agentd.toml"),
        format!(
            "[plugins.grants]\nprotect-main = [\"git\"]\n\n[[notify.sinks]]\nkind = \"webhook\"\nurl = \"{}\"\ngroup_ms = 0\n",
            web.url()
        ),
    )
    .unwrap();
    std::fs::create_dir_all(root.path().join("plugins")).unwrap();
    for f in [
        "protect-main.wasm",
        "protect-main.toml",
        "budget.wasm",
        "budget.toml",
    ] {
        std::fs::copy(built.join(f), root.path().join("plugins").join(f)).unwrap();
    }
    let d = TestDaemon::start_in(root.path());
    let states: Vec<(String, String)> = plugins(&d.home)
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_owned(),
                p["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        states,
        [
            ("budget".to_owned(), "enabled".to_owned()),
            ("protect-main".to_owned(), "enabled".to_owned())
        ]
    );
    // A clone on main with a commit its origin does not have.
    let tmp = tempfile::tempdir().unwrap();
    let (origin, repo) = (tmp.path().join("origin.git"), tmp.path().join("work"));
    let git = |dir: &Path, args: &[&str]| {
        let out = std::process::Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(["-c", "user.email=a@b", "-c", "user.name=a"])
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
    };
    git(
        tmp.path(),
        &["init", "-q", "--bare", "-b", "main", "origin.git"],
    );
    git(
        tmp.path(),
        &["clone", "-q", origin.to_str().unwrap(), "work"],
    );
    std::fs::write(repo.join("a.txt"), "one\n").unwrap();
    git(&repo, &["add", "a.txt"]);
    git(&repo, &["commit", "-q", "-m", "first"]);
    git(&repo, &["push", "-q", "origin", "main"]);
    git(&repo, &["remote", "set-head", "origin", "main"]);
    std::fs::write(repo.join("b.txt"), "two\nlines\n").unwrap();
    git(&repo, &["add", "b.txt"]);
    git(&repo, &["commit", "-q", "-m", "second"]);
    let cwd = repo.to_str().unwrap();
    let test = |cmd: &str| {
        let input = serde_json::json!({ "command": cmd }).to_string();
        let out = run(
            &d.home,
            &["rules", "test", "Bash", &input, "--cwd", cwd],
            None,
        );
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let push = test("cargo test && git push origin main");
    assert!(
        push.contains("decision: ask")
            && push.contains("plugin `protect-main` asks a human: git push to main")
            && push.contains("b.txt | 2 ++"),
        "the diff stat of what would be pushed: {push}"
    );
    let other = test("git push origin feature");
    assert!(other.contains("decision: none"), "{other}");
    // No refspec: the current branch (main) is pushed.
    assert!(
        test("git push").contains("decision: ask"),
        "git push from main"
    );

    // budget: a session whose status line says it spent $25 of $20.
    let sid = "5e55a0b1-0000-4000-8000-0000000000b0";
    let status = serde_json::json!({"session_id": sid, "model": {"id": "claude-opus-5-5", "display_name": "Opus"},
        "cost": {"total_cost_usd": 25.0}, "workspace": {"current_dir": cwd}, "cwd": cwd});
    let out = run(
        &d.home,
        &["statusline"],
        Some(status.to_string().as_bytes()),
    );
    assert!(out.status.success(), "{out:?}");
    let pre = serde_json::json!({"session_id": sid, "hook_event_name": "PreToolUse", "cwd": cwd,
        "transcript_path": "/nonexistent/t.jsonl", "tool_name": "Read", "tool_input": {"file_path": "a.txt"}, "tool_use_id": "toolu_1"});
    let out = run(&d.home, &["hook"], Some(pre.to_string().as_bytes()));
    assert!(out.status.success(), "{out:?}");
    let reply: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out:?}"));
    assert_eq!(
        reply["hookSpecificOutput"]["permissionDecision"], "deny",
        "{reply}"
    );
    assert!(
        reply["hookSpecificOutput"]["permissionDecisionReason"]
            .as_str()
            .unwrap()
            .contains("spent $25.00 of its $20.00 budget"),
        "{reply}"
    );
    // And it asked for a notification when the cost crossed the limit: the
    // webhook has it, about the session.
    let sent = wait_for("budget's notify.send", Duration::from_secs(30), || {
        web.received()
            .into_iter()
            .map(|r| r.json())
            .find(|n| n["reason"] == "plugin")
    });
    assert!(
        sent["title"]
            .as_str()
            .is_some_and(|t| t.starts_with("budget: Session over budget")),
        "{sent}"
    );
    assert_eq!(sent["needs"][0]["session_id"], sid, "{sent}");
    assert!(
        sent["url"]
            .as_str()
            .is_some_and(|u| u.ends_with(&format!("/#/session/{sid}"))),
        "{sent}"
    );
    let out = run(&d.home, &["plugins", "logs", "budget"], None);
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("effect notify.send: sent to the notification sinks: Session over budget"),
        "{out:?}"
    );
}

#[test]
fn plugins_over_graphql_list_test_and_disable() {
    let d = TestDaemon::start();
    install(
        &d.home,
        "no-rm",
        &wat::match_policy("rm -f", r#"{"decision":"deny","message":"graphql-no"}"#),
        "tools = [\"Bash\"]",
    );
    let (addr, token) = http_addr_and_token(&d);
    let gql = |query: &str| -> Value {
        let body = serde_json::json!({ "query": query }).to_string();
        let auth = format!("Bearer {token}");
        let (status, text) = support::http(
            &addr,
            "POST /graphql",
            &[
                ("Host", "127.0.0.1"),
                ("Content-Type", "application/json"),
                ("Authorization", &auth),
            ],
            &body,
        );
        assert_eq!(status, 200, "{text}");
        serde_json::from_str(&text).unwrap()
    };
    wait_for("the plugin to load", Duration::from_secs(30), || {
        let r = gql("{ plugins { name state } }");
        (r["data"]["plugins"][0]["state"] == "enabled").then_some(())
    });
    let r = gql(
        r#"{ rulesTest(tool: "Bash", input: {command: "rm -f x"}) { decision why plugins { plugin decision message } } }"#,
    );
    assert_eq!(r["data"]["rulesTest"]["decision"], "deny", "{r}");
    assert_eq!(
        r["data"]["rulesTest"]["plugins"][0]["message"], "graphql-no",
        "{r}"
    );
    let r = gql(r#"mutation { setPluginEnabled(name: "no-rm", enabled: false) { name state } }"#);
    assert_eq!(r["data"]["setPluginEnabled"]["state"], "disabled", "{r}");
    let r = gql(
        r#"{ rulesTest(tool: "Bash", input: {command: "rm -f x"}) { decision } pluginLogs(name: "no-rm") { level text } }"#,
    );
    assert_eq!(r["data"]["rulesTest"]["decision"], "none", "{r}");
    assert!(
        r["data"]["pluginLogs"]
            .to_string()
            .contains("disabled by the user"),
        "{r}"
    );
    let r = gql(r#"mutation { setPluginEnabled(name: "nope", enabled: true) { name } }"#);
    assert_eq!(r["errors"][0]["extensions"]["code"], "NOT_FOUND", "{r}");
}

#[test]
fn plugins_over_grpc_with_grpcurl() {
    let d = TestDaemon::start();
    install(
        &d.home,
        "no-rm",
        &wat::match_policy("rm -f", r#"{"decision":"deny","message":"grpc-no"}"#),
        "tools = [\"Bash\"]",
    );
    wait_for("the plugin to load", Duration::from_secs(30), || {
        plugins(&d.home)
            .iter()
            .any(|p| p["state"] == "enabled")
            .then_some(())
    });
    let (addr, token) = http_addr_and_token(&d);
    let grpcurl = |method: &str, body: &str| -> Value {
        let out = std::process::Command::new(support::python().with_file_name("grpcurl"))
            .args([
                "-plaintext",
                "-H",
                &format!("authorization: Bearer {token}"),
                "-d",
                body,
                &addr,
                method,
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "{method}: {out:?}");
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let list = grpcurl("agentd.v1.PluginService/List", "{}");
    assert_eq!(list["plugins"][0]["name"], "no-rm", "{list}");
    assert_eq!(list["plugins"][0]["state"], "enabled", "{list}");
    let t = grpcurl(
        "agentd.v1.PluginService/TestRules",
        r#"{"tool": "Bash", "input_json": "{\"command\": \"rm -f x\"}"}"#,
    );
    assert_eq!(t["decision"], "deny", "{t}");
    assert_eq!(t["plugins"][0]["message"], "grpc-no", "{t}");
    let p = grpcurl(
        "agentd.v1.PluginService/SetEnabled",
        r#"{"name": "no-rm", "enabled": false}"#,
    );
    assert_eq!(p["state"], "disabled", "{p}");
    let logs = grpcurl("agentd.v1.PluginService/Logs", r#"{"name": "no-rm"}"#);
    assert!(logs.to_string().contains("disabled by the user"), "{logs}");
}

#[test]
fn metrics_plugins_record_are_scraped_from_metrics_with_the_token() {
    let root = tempfile::Builder::new().prefix("agd").tempdir().unwrap();
    std::fs::write(
        root.path().join("agentd.toml"),
        "[plugins.grants]\ncounter = [\"telemetry\"]\n",
    )
    .unwrap();
    let d = TestDaemon::start_in(root.path());
    install(
        &d.home,
        "counter",
        &wat::host_probe(r#"{"fn":"telemetry.counter","args":{"name":"sessions_seen"}}"#),
        "events = [\"session.started\"]\ncapabilities = [\"telemetry\"]",
    );
    wait_for("the plugin to load", Duration::from_secs(30), || {
        plugins(&d.home)
            .iter()
            .any(|p| p["state"] == "enabled")
            .then_some(())
    });
    for i in 0..2 {
        let start = serde_json::json!({"session_id": format!("5e55a0b1-0000-4000-8000-00000000c00{i}"), "hook_event_name": "SessionStart",
            "cwd": "/w", "transcript_path": "/nonexistent/t.jsonl", "source": "startup"});
        let out = run(&d.home, &["hook"], Some(start.to_string().as_bytes()));
        assert!(out.status.success(), "{out:?}");
    }
    let (addr, token) = http_addr_and_token(&d);
    let (status, _) = support::http(&addr, "GET /metrics", &[("Host", "127.0.0.1")], "");
    assert_eq!(status, 401, "every route needs the token");
    let auth = format!("Bearer {token}");
    let text = wait_for(
        "the plugin's counter on /metrics",
        Duration::from_secs(30),
        || {
            let (status, text) = support::http(
                &addr,
                "GET /metrics",
                &[("Host", "127.0.0.1"), ("Authorization", &auth)],
                "",
            );
            assert_eq!(status, 200, "{text}");
            text.contains(
                r#"agentd_plugin_events_total{plugin="counter",name="sessions_seen"} 2.0"#,
            )
            .then_some(text)
        },
    );
    assert!(
        text.contains("# TYPE agentd_sessions gauge") && text.contains("agentd_sessions{status="),
        "{text}"
    );
    assert!(
        text.contains(r#"agentd_plugin_calls_total{plugin="counter"} 2"#),
        "{text}"
    );
    assert!(text.trim_end().ends_with("# EOF"), "{text}");
}

#[test]
fn plugins_reach_allowed_hosts_only_and_comment_on_github_with_the_configured_token() {
    let web = fake_models::receiver::Receiver::start(0).unwrap();
    let github = fake_models::receiver::Receiver::start(0).unwrap();
    let web_host = web.url().trim_start_matches("http://").to_owned();
    let root = tempfile::Builder::new().prefix("agd").tempdir().unwrap();
    std::fs::write(
        root.path().join("agentd.toml"),
        format!(
            "[plugins.grants]\nnet = [\"http\"]\nfar = [\"http\"]\ngh = [\"github\"]\n\n\
             [plugins.http]\nallow = [\"{web_host}\"]\n\n\
             [plugins.github]\napi_url = \"{}\"\ntoken = \"ghp_test_token\"\n",
            github.url()
        ),
    )
    .unwrap();
    let d = TestDaemon::start_in(root.path());
    // `agentd config` never shows the token.
    let out = run(&d.home, &["config"], None);
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.contains("token = \"<set>\"") && !shown.contains("ghp_test_token"),
        "{shown}"
    );
    let on_start = "events = [\"session.started\"]\n";
    install(
        &d.home,
        "net",
        &wat::host_probe(&format!(
            r#"{{"fn":"http.post","args":{{"url":"{}/hook","body":{{"seen":"start"}}}}}}"#,
            web.url()
        )),
        &format!("{on_start}capabilities = [\"http\"]"),
    );
    install(
        &d.home,
        "far",
        &wat::host_probe(&format!(
            r#"{{"fn":"http.get","args":{{"url":"{}/elsewhere"}}}}"#,
            github.url()
        )),
        &format!("{on_start}capabilities = [\"http\"]"),
    );
    let comment = r#"{"effects":[{"type":"github.comment","repo":"octo/widgets","issue":7,"body":"A session started"}]}"#;
    install(
        &d.home,
        "gh",
        &wat::constant_effects(comment),
        &format!("{on_start}capabilities = [\"github\"]"),
    );
    // Asks for github in its manifest, but the user did not grant it.
    install(
        &d.home,
        "sly",
        &wat::constant_effects(comment),
        &format!("{on_start}capabilities = [\"github\"]"),
    );
    wait_for("the plugins to load", Duration::from_secs(30), || {
        (plugins(&d.home)
            .iter()
            .filter(|p| p["state"] == "enabled")
            .count()
            == 4)
            .then_some(())
    });
    let start = serde_json::json!({"session_id": "5e55a0b1-0000-4000-8000-0000000000f1", "hook_event_name": "SessionStart",
        "cwd": "/w", "transcript_path": "/nonexistent/t.jsonl", "source": "startup"});
    let out = run(&d.home, &["hook"], Some(start.to_string().as_bytes()));
    assert!(out.status.success(), "{out:?}");
    let logs = |name: &str| {
        String::from_utf8_lossy(&run(&d.home, &["plugins", "logs", name], None).stdout).into_owned()
    };
    // The allowed host got the POST, and the plugin read the answer.
    let hook = wait_for("the allowed POST", Duration::from_secs(30), || {
        web.received().into_iter().find(|r| r.path == "/hook")
    });
    assert_eq!(hook.method, "POST");
    assert_eq!(hook.json(), serde_json::json!({"seen": "start"}));
    wait_for("net's answer", Duration::from_secs(30), || {
        logs("net").contains("\"status\":200").then_some(())
    });
    // Another host: refused with where to allow it; nothing was sent.
    wait_for("far's refusal", Duration::from_secs(30), || {
        logs("far").contains("is not allowed").then_some(())
    });
    // GitHub: one comment, from the granted plugin, with the token.
    let posted = wait_for("the comment", Duration::from_secs(30), || {
        github.received().into_iter().find(|r| r.method == "POST")
    });
    assert_eq!(posted.path, "/repos/octo/widgets/issues/7/comments");
    assert_eq!(
        posted.json(),
        serde_json::json!({"body": "A session started"})
    );
    assert!(
        posted
            .headers
            .iter()
            .any(|(k, v)| k == "authorization" && v == "Bearer ghp_test_token"),
        "{:?}",
        posted.headers
    );
    wait_for("gh's log", Duration::from_secs(30), || {
        logs("gh")
            .contains("effect github.comment: commented")
            .then_some(())
    });
    let sly = wait_for("sly's refusal", Duration::from_secs(30), || {
        let l = logs("sly");
        l.contains("effect github.comment not carried out")
            .then_some(l)
    });
    assert!(sly.contains("not granted to sly"), "{sly}");
    assert_eq!(
        github.received().len(),
        1,
        "only the granted plugin reached GitHub, and far never did"
    );
}

#[test]
fn a_plugin_lists_containers_through_the_docker_engines_socket() {
    let root = tempfile::Builder::new().prefix("agd").tempdir().unwrap();
    let sock = root.path().join("docker.sock");
    let seen = agentd_plugins::docker::fake::serve(
        &sock,
        200,
        r#"[{"Id":"c1","Names":["/postgres-dev"],"State":"running"}]"#.into(),
    )
    .unwrap();
    std::fs::write(
        root.path().join("agentd.toml"),
        format!(
            "[plugins.grants]\nwhale = [\"docker\"]\n\n[plugins.docker]\nsocket = \"{}\"\n",
            sock.display()
        ),
    )
    .unwrap();
    let d = TestDaemon::start_in(root.path());
    install(
        &d.home,
        "whale",
        &wat::host_probe(r#"{"fn":"docker.containers","args":{"all":true}}"#),
        "events = [\"session.started\"]\ncapabilities = [\"docker\"]",
    );
    wait_for("the plugin to load", Duration::from_secs(30), || {
        plugins(&d.home)
            .iter()
            .any(|p| p["name"] == "whale" && p["state"] == "enabled")
            .then_some(())
    });
    let start = serde_json::json!({"session_id": "5e55a0b1-0000-4000-8000-0000000000d1", "hook_event_name": "SessionStart",
        "cwd": "/w", "transcript_path": "/nonexistent/t.jsonl", "source": "startup"});
    let out = run(&d.home, &["hook"], Some(start.to_string().as_bytes()));
    assert!(out.status.success(), "{out:?}");
    wait_for(
        "the container list in whale's log",
        Duration::from_secs(30),
        || {
            let out = run(&d.home, &["plugins", "logs", "whale"], None);
            String::from_utf8_lossy(&out.stdout)
                .contains("/postgres-dev")
                .then_some(())
        },
    );
    assert_eq!(
        *seen.lock().unwrap(),
        ["GET /containers/json?all=1 HTTP/1.0"]
    );
}
