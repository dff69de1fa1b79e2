//! Plugins compiled from WAT through the registry: decisions, failures
//! that abstain and then disable, reloads that swap or keep the old
//! version, host calls behind grants, the memory cap.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use agentd_plugins::{Capability, Plugins, Settings, StdHost, ToolCall, Verdict, wat};
use serde_json::{Value, json};

fn write(dir: &Path, name: &str, wat: &str, manifest_extra: &str) {
    std::fs::write(dir.join(format!("{name}.wasm")), wat).unwrap();
    std::fs::write(
        dir.join(format!("{name}.toml")),
        format!("name = \"{name}\"\nversion = \"1\"\n{manifest_extra}"),
    )
    .unwrap();
}

fn open(dir: &Path, settings: Settings) -> Plugins {
    let host = Arc::new(StdHost::new(dir.join("kv.db")));
    Plugins::open(
        dir.join("plugins"),
        dir.join("plugins.json"),
        settings,
        host,
    )
    .unwrap()
}

fn bash<'a>(cmd: &'a Value) -> ToolCall<'a> {
    ToolCall {
        tool: "Bash",
        input: cmd,
        session: json!({"session_id": "s1"}),
        cwd: None,
    }
}

#[test]
fn a_policy_decides_only_what_it_matches() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("plugins");
    std::fs::create_dir_all(&dir).unwrap();
    write(
        &dir,
        "no-rm",
        &wat::match_policy("rm -", r#"{"decision":"deny","message":"no rm here"}"#),
        "tools = [\"Bash\"]",
    );
    let p = open(tmp.path(), Settings::default());
    let rm = json!({"command": "rm -rf build"});
    let d = p.decide(&bash(&rm));
    assert_eq!(d.len(), 1);
    assert_eq!(
        d[0].verdict,
        Verdict::Deny {
            message: Some("no rm here".into())
        }
    );
    let ls = json!({"command": "ls"});
    assert_eq!(p.decide(&bash(&ls))[0].verdict, Verdict::Abstain);
    // Not a tool it decides on: not asked.
    let edit = ToolCall {
        tool: "Edit",
        ..bash(&rm)
    };
    assert!(p.decide(&edit).is_empty());
    let ls = &p.list()[0];
    assert_eq!(
        (ls.state.as_str(), ls.calls, ls.errors),
        ("enabled", 2, 0),
        "{ls:?}"
    );
}

#[test]
fn a_plugin_that_spins_abstains_at_its_deadline_and_is_disabled_after_repeated_failures() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("plugins");
    std::fs::create_dir_all(&dir).unwrap();
    write(
        &dir,
        "spin",
        &wat::spin(),
        "tools = [\"*\"]\ndecide_timeout_ms = 20",
    );
    let settings = Settings {
        max_failures: 3,
        ..Settings::default()
    };
    let p = open(tmp.path(), settings);
    let input = json!({"command": "ls"});
    for i in 0..3 {
        let d = p.decide(&bash(&input));
        assert_eq!(d[0].verdict, Verdict::Abstain, "call {i}");
        let why = d[0].failure.as_deref().unwrap();
        assert!(why.contains("20 ms deadline"), "{why}");
    }
    // Disabled now: not asked any more, with the reason shown.
    assert!(p.decide(&bash(&input)).is_empty());
    let s = &p.list()[0];
    assert_eq!(s.state, "disabled");
    assert!(
        s.reason.as_deref().unwrap().contains("3 failures in a row"),
        "{s:?}"
    );
    assert!(
        p.logs("spin")
            .unwrap()
            .iter()
            .any(|l| l.text.contains("deadline"))
    );
    // The user enables it again.
    assert_eq!(p.set_enabled("spin", true).unwrap().state, "enabled");
}

#[test]
fn garbage_traps_and_broken_modules_never_allow() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("plugins");
    std::fs::create_dir_all(&dir).unwrap();
    write(
        &dir,
        "garbage",
        &wat::match_policy("", "allow, I think"),
        "tools = [\"*\"]",
    );
    let trap = r#"(module (memory (export "memory") 1)
        (func (export "agentd_alloc") (param i32) (result i32) (i32.const 0))
        (func (export "decide") (param i32 i32) (result i64) unreachable))"#;
    write(&dir, "trap", trap, "tools = [\"*\"]");
    let out_of_bounds = r#"(module (memory (export "memory") 1)
        (func (export "agentd_alloc") (param i32) (result i32) (i32.const 0))
        (func (export "decide") (param i32 i32) (result i64) (i64.const 0x0000fff000000100)))"#;
    write(&dir, "oob", out_of_bounds, "tools = [\"*\"]");
    let wasi = r#"(module (import "wasi_snapshot_preview1" "path_open" (func (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
        (memory (export "memory") 1)
        (func (export "agentd_alloc") (param i32) (result i32) (i32.const 0))
        (func (export "decide") (param i32 i32) (result i64) (i64.const 0)))"#;
    write(&dir, "wasi", wasi, "tools = [\"*\"]");
    std::fs::write(dir.join("broken.wasm"), "not wasm").unwrap();
    std::fs::write(
        dir.join("broken.toml"),
        "name = \"broken\"\nversion = \"1\"",
    )
    .unwrap();
    let p = open(tmp.path(), Settings::default());
    let input = json!({"command": "ls"});
    let d = p.decide(&bash(&input));
    let names: Vec<&str> = d.iter().map(|d| d.plugin.as_str()).collect();
    assert_eq!(names, ["garbage", "oob", "trap"]);
    for d in &d {
        assert_eq!(d.verdict, Verdict::Abstain, "{d:?}");
        assert!(d.failure.is_some(), "{d:?}");
    }
    let list = p.list();
    let state = |n: &str| list.iter().find(|s| s.name == n).unwrap().clone();
    assert_eq!(state("broken").state, "failed");
    assert_eq!(state("wasi").state, "failed");
    assert!(
        state("wasi")
            .reason
            .unwrap()
            .contains("may import only agentd"),
        "{list:?}"
    );
}

#[test]
fn a_reload_swaps_a_changed_plugin_and_keeps_the_old_one_when_the_new_fails() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("plugins");
    std::fs::create_dir_all(&dir).unwrap();
    let deny = wat::match_policy("rm", r#"{"decision":"deny","message":"v1"}"#);
    write(&dir, "p", &deny, "tools = [\"Bash\"]");
    let p = open(tmp.path(), Settings::default());
    let rm = json!({"command": "rm x"});
    assert_eq!(
        p.decide(&bash(&rm))[0].verdict,
        Verdict::Deny {
            message: Some("v1".into())
        }
    );
    let hash = p.list()[0].hash.clone();
    // Unchanged files: nothing reloaded.
    p.reload();
    assert_eq!(p.list()[0].hash, hash);
    write(
        &dir,
        "p",
        &wat::match_policy("rm", r#"{"decision":"allow"}"#),
        "tools = [\"Bash\"]",
    );
    p.reload();
    assert_eq!(
        p.decide(&bash(&rm))[0].verdict,
        Verdict::Allow { reason: None }
    );
    // A broken save keeps the running version, and says why.
    std::fs::write(dir.join("p.wasm"), "(module").unwrap();
    let report = p.reload();
    assert!(report[0].1.is_some(), "{report:?}");
    assert_eq!(
        p.decide(&bash(&rm))[0].verdict,
        Verdict::Allow { reason: None }
    );
    let s = &p.list()[0];
    assert_eq!(s.state, "enabled");
    assert!(s.reason.as_deref().unwrap().contains("p.wasm"), "{s:?}");
    // Removed: gone.
    std::fs::remove_file(dir.join("p.wasm")).unwrap();
    std::fs::remove_file(dir.join("p.toml")).unwrap();
    p.reload();
    assert!(p.list().is_empty());
}

#[test]
fn host_calls_need_the_capability_requested_and_granted() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("plugins");
    std::fs::create_dir_all(&dir).unwrap();
    let probe = wat::host_probe(r#"{"fn":"kv.get","args":{"key":"k"}}"#);
    write(
        &dir,
        "asks",
        &probe,
        "events = [\"*\"]\ncapabilities = [\"kv\"]",
    );
    write(
        &dir,
        "granted",
        &probe,
        "events = [\"*\"]\ncapabilities = [\"kv\"]",
    );
    let settings = Settings {
        grants: BTreeMap::from([("granted".to_owned(), BTreeSet::from([Capability::Kv]))]),
        ..Settings::default()
    };
    let p = open(tmp.path(), settings);
    // The probe logs the host's answer.
    let effects = p.on_event("session.started", &json!({}), None);
    assert!(effects.is_empty(), "{effects:?}");
    let last = |n: &str| p.logs(n).unwrap().last().unwrap().text.clone();
    assert_eq!(last("granted"), r#"{"ok":null}"#);
    assert!(
        last("asks").contains(r#"not granted to asks: in agentd.toml, under [plugins.grants], list it: asks = [\"kv\"]"#),
        "{}",
        last("asks")
    );
    let list = p.list();
    assert!(list.iter().all(|s| s.errors == 0), "{list:?}");
    assert_eq!(
        list.iter().find(|s| s.name == "granted").unwrap().granted,
        ["kv"]
    );
    assert!(
        list.iter()
            .find(|s| s.name == "asks")
            .unwrap()
            .granted
            .is_empty()
    );
}

#[test]
fn the_memory_cap_holds() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("plugins");
    std::fs::create_dir_all(&dir).unwrap();
    // Grows by 64 MiB, traps when refused.
    let hog = r#"(module (memory (export "memory") 1)
        (func (export "agentd_alloc") (param i32) (result i32) (i32.const 0))
        (func (export "decide") (param i32 i32) (result i64)
          (if (i32.eq (memory.grow (i32.const 1024)) (i32.const -1)) (then unreachable))
          (i64.const 0)))"#;
    write(&dir, "hog", hog, "tools = [\"*\"]\nmemory_mb = 16");
    write(&dir, "big", hog, "tools = [\"*\"]\nmemory_mb = 128");
    let p = open(tmp.path(), Settings::default());
    let input = json!({});
    let d = p.decide(&bash(&input));
    let of = |n: &str| d.iter().find(|d| d.plugin == n).unwrap().clone();
    assert!(of("hog").failure.is_some(), "{d:?}");
    assert!(of("big").failure.is_none(), "{d:?}");
}

#[test]
fn a_saved_plugin_is_live_within_a_second_without_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("plugins");
    let p = Arc::new(open(tmp.path(), Settings::default()));
    let _watching = agentd_plugins::watch::watch(Arc::clone(&p)).unwrap();
    assert!(dir.is_dir(), "the folder is made");
    let rm = json!({"command": "rm x"});
    write(
        &dir,
        "p",
        &wat::match_policy("rm", r#"{"decision":"deny","message":"v1"}"#),
        "tools = [\"Bash\"]",
    );
    let until = |want: Verdict| {
        let start = std::time::Instant::now();
        while start.elapsed() < Duration::from_secs(30) {
            if p.decide(&bash(&rm)).first().map(|d| &d.verdict) == Some(&want) {
                return start.elapsed();
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        panic!("never became {want:?}: {:?}", p.list());
    };
    until(Verdict::Deny {
        message: Some("v1".into()),
    });
    write(
        &dir,
        "p",
        &wat::match_policy("rm", r#"{"decision":"allow"}"#),
        "tools = [\"Bash\"]",
    );
    let took = until(Verdict::Allow { reason: None });
    eprintln!("reload seen after {took:?}");
}

#[test]
fn what_a_wasi_toolchain_needs_to_start_reaches_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("plugins");
    std::fs::create_dir_all(&dir).unwrap();
    // Writes "hello from stdout" to fd 1 through WASI, reads its (empty)
    // environment, then answers allow; `exits` calls proc_exit instead.
    let module = |exit: bool| {
        format!(
            r#"(module
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_sizes_get" (func $e (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $x (param i32)))
  (memory (export "memory") 2)
  (global $heap (mut i32) (i32.const 65536))
  (func (export "agentd_alloc") (param $n i32) (result i32) (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (global.get $heap) (local.get $n)))
    (local.get $p))
  (data (i32.const 100) "hello from stdout\n")
  (data (i32.const 200) "{{\"decision\":\"allow\"}}")
  (func (export "decide") (param i32 i32) (result i64)
    (i32.store (i32.const 16) (i32.const 100))
    (i32.store (i32.const 20) (i32.const 18))
    (drop (call $w (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 24)))
    (drop (call $e (i32.const 32) (i32.const 36)))
    (if (i32.ne (i32.load (i32.const 32)) (i32.const 0)) (then unreachable))
    {exit}
    (i64.or (i64.shl (i64.const 200) (i64.const 32)) (i64.const 20))))"#,
            exit = if exit { "(call $x (i32.const 3))" } else { "" }
        )
    };
    write(&dir, "talks", &module(false), "tools = [\"*\"]");
    write(&dir, "exits", &module(true), "tools = [\"*\"]");
    let p = open(tmp.path(), Settings::default());
    let input = json!({});
    let d = p.decide(&bash(&input));
    let of = |n: &str| d.iter().find(|d| d.plugin == n).unwrap().clone();
    assert_eq!(
        of("talks").verdict,
        Verdict::Allow { reason: None },
        "{d:?}"
    );
    assert!(
        of("exits")
            .failure
            .as_deref()
            .unwrap()
            .contains("exited with code 3"),
        "{d:?}"
    );
    let logs = p.logs("talks").unwrap();
    assert!(
        logs.iter().any(|l| l.text == "hello from stdout"),
        "{logs:?}"
    );
}
