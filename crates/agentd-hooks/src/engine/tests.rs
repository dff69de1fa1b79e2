use super::*;
use crate::def::{HookSpec, Origin};
use std::sync::Mutex;

fn def(name: &str, events: &[&str], command: &str) -> HookSpec {
    HookSpec {
        name: name.into(),
        events: events.iter().map(|e| e.to_string()).collect(),
        matcher: None,
        command: Some(command.into()),
        args: None,
        dirs_with: vec![],
        if_changed: vec![],
        depends_on: vec![],
        timeout: 30,
        env: Default::default(),
        blocking: true,
    }
}

fn defs(specs: Vec<HookSpec>) -> Vec<HookDef> {
    specs
        .into_iter()
        .map(|s| {
            HookDef::new(
                s,
                Origin {
                    kind: "config".into(),
                    file: "/x/agentd.toml".into(),
                    plugin: None,
                },
                FailsOn::NonZero,
            )
            .unwrap()
        })
        .collect()
}

struct Fixture {
    _tmp: tempfile::TempDir,
    project: PathBuf,
    engine: Arc<Engine>,
}

fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path().join("project");
    std::fs::create_dir_all(project.join("src")).unwrap();
    std::fs::write(project.join("src/lib.rs"), "fn a() {}").unwrap();
    let store = Store::open(&tmp.path().join("hooks.db")).unwrap();
    let engine = Arc::new(Engine::new(store, tmp.path().join("logs"), 4));
    Fixture {
        project,
        engine,
        _tmp: tmp,
    }
}

fn req(f: &Fixture, event: &str, payload: Value) -> Request {
    Request {
        event: event.into(),
        payload,
        project_dir: f.project.clone(),
        session_id: Some("s1".into()),
        no_cache: false,
        only_dir: None,
        only_hooks: vec![],
    }
}

fn quiet() -> Observer {
    Arc::new(|_| {})
}

#[tokio::test]
async fn cache_hit_miss_change_and_no_cache() {
    let f = fixture();
    let mut spec = def("lint", &["Stop"], "echo linting; exit 0");
    spec.if_changed = vec!["**/*.rs".into()];
    let d = defs(vec![spec]);
    let r = req(&f, "Stop", json!({}));
    let first = f.engine.execute(&d, &r, quiet()).await;
    assert_eq!(first.runs[0].outcome, "ran");
    assert!(
        first.runs[0].why.contains("no passing run"),
        "{:?}",
        first.runs[0]
    );
    let second = f.engine.execute(&d, &r, quiet()).await;
    assert_eq!(second.runs[0].outcome, "cached", "{:?}", second.runs[0]);
    std::fs::write(f.project.join("src/lib.rs"), "fn a() { }").unwrap();
    let third = f.engine.execute(&d, &r, quiet()).await;
    assert_eq!(third.runs[0].outcome, "ran");
    assert!(third.runs[0].why.contains("changed"));
    let forced = f
        .engine
        .execute(
            &d,
            &Request {
                no_cache: true,
                ..r.clone()
            },
            quiet(),
        )
        .await;
    assert_eq!(forced.runs[0].outcome, "ran");
    assert_eq!(forced.runs[0].why, "--no-cache");
}

#[tokio::test]
async fn only_passing_runs_are_cached() {
    let f = fixture();
    let mut spec = def("test", &["Stop"], "test -f ok");
    spec.if_changed = vec!["src/**".into()];
    let d = defs(vec![spec]);
    let r = req(&f, "Stop", json!({}));
    assert!(!f.engine.execute(&d, &r, quiet()).await.runs[0].passed);
    // Same files, failed before: runs again.
    let again = f.engine.execute(&d, &r, quiet()).await;
    assert_eq!(again.runs[0].outcome, "ran");
    std::fs::write(f.project.join("ok"), "").unwrap();
    assert!(f.engine.execute(&d, &r, quiet()).await.runs[0].passed);
    assert_eq!(
        f.engine.execute(&d, &r, quiet()).await.runs[0].outcome,
        "cached"
    );
}

#[tokio::test]
async fn every_cache_fault_runs_the_hook() {
    let f = fixture();
    let mut spec = def("lint", &["Stop"], "true");
    spec.if_changed = vec!["**/*.rs".into()];
    let d = defs(vec![spec]);
    let r = req(&f, "Stop", json!({}));
    f.engine.execute(&d, &r, quiet()).await;
    // A corrupt cache table: runs, and says why.
    f.engine
        .store()
        .execute_batch("DROP TABLE cache; CREATE TABLE cache (x)")
        .unwrap();
    let run = f.engine.execute(&d, &r, quiet()).await;
    assert_eq!(run.runs[0].outcome, "ran");
    assert!(
        run.runs[0].why.contains("cache unreadable"),
        "{}",
        run.runs[0].why
    );
    // Files that cannot all be hashed, while the project itself is fine
    // (the hook starts and passes): a tree deeper than the hash goes —
    // which no permission bit could fake for root — is never cached, and
    // the record says why.
    let f = fixture();
    let mut spec = def("lint", &["Stop"], "true");
    spec.if_changed = vec!["**/*.rs".into()];
    let d = defs(vec![spec]);
    let r = req(&f, "Stop", json!({}));
    assert!(f.engine.execute(&d, &r, quiet()).await.runs[0].passed);
    assert_eq!(
        f.engine.execute(&d, &r, quiet()).await.runs[0].outcome,
        "cached"
    );
    let mut deep = f.project.join("deep");
    for i in 0..=crate::fingerprint::MAX_DEPTH {
        deep = deep.join(i.to_string());
    }
    std::fs::create_dir_all(&deep).unwrap();
    std::fs::write(deep.join("x.rs"), "fn x() {}").unwrap();
    for _ in 0..2 {
        let run = f.engine.execute(&d, &r, quiet()).await;
        assert_eq!(run.runs[0].outcome, "ran");
        assert!(run.runs[0].passed, "the hook itself ran fine");
        assert!(
            run.runs[0].why.contains("cannot hash") && run.runs[0].why.contains("deeper than"),
            "{}",
            run.runs[0].why
        );
    }
    // A change behind a symbolic link is a change (the link is followed).
    let f = fixture();
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::write(elsewhere.path().join("lib.rs"), "v1").unwrap();
    std::os::unix::fs::symlink(elsewhere.path(), f.project.join("vendor")).unwrap();
    let r = req(&f, "Stop", json!({}));
    assert!(f.engine.execute(&d, &r, quiet()).await.runs[0].passed);
    assert_eq!(
        f.engine.execute(&d, &r, quiet()).await.runs[0].outcome,
        "cached"
    );
    std::fs::write(elsewhere.path().join("lib.rs"), "v2").unwrap();
    assert_eq!(
        f.engine.execute(&d, &r, quiet()).await.runs[0].outcome,
        "ran"
    );
}

#[tokio::test]
async fn depends_on_orders_and_a_failed_dependency_skips() {
    let f = fixture();
    let order = f.project.join("order");
    let mut fmt = def(
        "fmt",
        &["Stop"],
        &format!("sleep 0.2; echo fmt >> {}", order.display()),
    );
    fmt.blocking = true;
    let mut lint = def(
        "lint",
        &["Stop"],
        &format!("echo lint >> {}", order.display()),
    );
    lint.depends_on = vec!["fmt".into()];
    let mut test = def(
        "test",
        &["Stop"],
        &format!("echo test >> {}", order.display()),
    );
    test.depends_on = vec!["lint".into()];
    let out = f
        .engine
        .execute(
            &defs(vec![test, lint, fmt]),
            &req(&f, "Stop", json!({})),
            quiet(),
        )
        .await;
    assert!(!out.blocked);
    assert_eq!(
        std::fs::read_to_string(&order).unwrap(),
        "fmt\nlint\ntest\n"
    );

    let bad = def("fmt", &["Stop"], "exit 1");
    let mut lint = def("lint", &["Stop"], "true");
    lint.depends_on = vec!["fmt".into()];
    let out = f
        .engine
        .execute(&defs(vec![bad, lint]), &req(&f, "Stop", json!({})), quiet())
        .await;
    let lint = out.runs.iter().find(|r| r.hook == "lint").unwrap();
    assert_eq!(lint.outcome, "skipped");
    assert!(lint.why.contains("`fmt` failed"));

    let mut a = def("a", &["Stop"], "true");
    a.depends_on = vec!["b".into()];
    let mut b = def("b", &["Stop"], "true");
    b.depends_on = vec!["a".into()];
    let out = f
        .engine
        .execute(&defs(vec![a, b]), &req(&f, "Stop", json!({})), quiet())
        .await;
    assert!(
        out.runs.iter().all(|r| r.why.contains("cycle")),
        "{:?}",
        out.runs
    );
}

#[tokio::test]
async fn the_parallel_cap_holds() {
    let f = fixture();
    let tmp = f.project.join("running");
    std::fs::create_dir_all(&tmp).unwrap();
    // Each hook notes how many run with it.
    let cmd = format!(
        "touch {d}/$$; ls {d} | wc -l >> {d}/../peaks; sleep 0.3; rm {d}/$$",
        d = tmp.display()
    );
    let specs: Vec<HookSpec> = (0..8)
        .map(|i| def(&format!("h{i}"), &["Stop"], &cmd))
        .collect();
    let store = Store::open(&f.project.join("../hooks2.db")).unwrap();
    let engine = Arc::new(Engine::new(store, f.project.join("../logs"), 3));
    let out = engine
        .execute(&defs(specs), &req(&f, "Stop", json!({})), quiet())
        .await;
    assert_eq!(out.runs.len(), 8);
    let peaks = std::fs::read_to_string(f.project.join("peaks")).unwrap();
    let max: usize = peaks
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .max()
        .unwrap();
    assert!(max <= 3, "at most 3 at once, saw {max}");
    assert!(max >= 2, "and they do run in parallel, saw {max}");
}

#[tokio::test]
async fn matchers_dirs_with_and_env() {
    let f = fixture();
    for d in ["web", "api"] {
        std::fs::create_dir_all(f.project.join(d)).unwrap();
        std::fs::write(f.project.join(d).join("package.json"), "{}").unwrap();
    }
    let mut spec = def(
        "eslint",
        &["PostToolUse"],
        "echo \"$AGENTD_HOOK_DIR|$AGENTD_SESSION_ID|$CLAUDE_PROJECT_DIR\"",
    );
    spec.matcher = Some("Edit|Write".into());
    spec.dirs_with = vec!["package.json".into()];
    let d = defs(vec![spec]);
    let lines = Arc::new(Mutex::new(Vec::new()));
    let l2 = Arc::clone(&lines);
    let out = f
        .engine
        .execute(
            &d,
            &req(&f, "PostToolUse", json!({"tool_name": "Write"})),
            Arc::new(move |e: RunEvent| {
                if let RunEvent::Output(l) = e {
                    l2.lock().unwrap().push(l.line)
                }
            }),
        )
        .await;
    assert_eq!(out.runs.len(), 2);
    let mut lines = lines.lock().unwrap().clone();
    lines.sort();
    let p = f.project.display().to_string();
    assert_eq!(
        lines,
        vec![format!("{p}/api|s1|{p}"), format!("{p}/web|s1|{p}")]
    );
    let none = f
        .engine
        .execute(
            &d,
            &req(&f, "PostToolUse", json!({"tool_name": "Bash"})),
            quiet(),
        )
        .await;
    assert!(none.runs.is_empty());
}

#[tokio::test]
async fn aggregated_output_in_claudes_shapes() {
    let f = fixture();
    let mut warn = def(
        "warn",
        &["Stop", "SubagentStop", "PostToolUse", "PreToolUse"],
        "echo advisory; exit 1",
    );
    warn.blocking = false;
    let fail = def(
        "tests",
        &["Stop", "SubagentStop", "PostToolUse", "PreToolUse"],
        "echo 'FAILED: 2 tests'; exit 3",
    );
    let d = defs(vec![warn, fail]);
    for event in ["Stop", "SubagentStop", "PostToolUse"] {
        let out = f
            .engine
            .execute(&d, &req(&f, event, json!({"tool_name": "Bash"})), quiet())
            .await;
        assert!(out.blocked);
        let o = out.output.unwrap();
        assert_eq!(o["decision"], "block", "{event}");
        let reason = o["reason"].as_str().unwrap();
        assert!(
            reason.contains("- tests in ") && reason.contains("(exit 3)"),
            "{reason}"
        );
        assert!(reason.contains("FAILED: 2 tests"), "{reason}");
        assert!(
            reason.contains(&format!(
                "re-run: agentd hooks run {event} --hook tests --dir "
            )),
            "{reason}"
        );
        assert!(reason.contains("full output: "), "{reason}");
        assert!(
            !reason.contains("warn in"),
            "non-blocking failures do not block: {reason}"
        );
    }
    let out = f
        .engine
        .execute(
            &d,
            &req(&f, "PreToolUse", json!({"tool_name": "Bash"})),
            quiet(),
        )
        .await;
    let o = out.output.unwrap();
    assert_eq!(o["hookSpecificOutput"]["hookEventName"], "PreToolUse");
    assert_eq!(o["hookSpecificOutput"]["permissionDecision"], "deny");
    assert!(
        o["hookSpecificOutput"]["permissionDecisionReason"]
            .as_str()
            .unwrap()
            .contains("tests")
    );
    // Events without decision control: recorded, no output.
    let d = defs(vec![def("n", &["Notification"], "exit 1")]);
    let out = f
        .engine
        .execute(&d, &req(&f, "Notification", json!({})), quiet())
        .await;
    assert!(out.blocked && out.output.is_none());
    // History has every run.
    assert!(f.engine.store().history(100, Some("s1")).unwrap().len() >= 9);
}
