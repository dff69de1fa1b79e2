//! The transcript index through the real daemon and CLI: background
//! indexing with progress, search/transcript/usage JSON shapes, history in
//! `ls`, live appends found by the file watcher, bad params, and a kill -9
//! in the middle of indexing.

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use support::{TestDaemon, fixtures, run, wait_for};

/// Copies `from` into `to` recursively.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dst = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dst);
        } else {
            std::fs::copy(e.path(), dst).unwrap();
        }
    }
}

/// A projects folder with two real fixture projects.
fn projects(dir: &Path, test: &str) -> Option<PathBuf> {
    let root = dir.join("projects");
    let t = fixtures(test)?.join("transcripts");
    copy_dir(&t.join("spotter"), &root.join("spotter"));
    copy_dir(
        &t.join("claude-code-log/real_projects/-Users-dain-workspace-JSSoundRecorder"),
        &root.join("-Users-dain-workspace-JSSoundRecorder"),
    );
    Some(root)
}

fn json_of(home: &Path, args: &[&str]) -> Value {
    let out = run(home, args, None);
    assert!(out.status.success(), "agentd {args:?}: {out:?}");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{args:?}: {e}: {out:?}"))
}

/// `agentd search … --json`: hits, or `[]` with exit 1 (no match, as grep).
fn search_json(home: &Path, args: &[&str]) -> Value {
    let out = run(home, args, None);
    let v: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{args:?}: {e}: {out:?}"));
    let empty = v.as_array().is_some_and(Vec::is_empty);
    assert_eq!(
        out.status.code(),
        Some(if empty { 1 } else { 0 }),
        "{args:?}: {out:?}"
    );
    v
}

fn daemon_indexing(root: &Path) -> (tempfile::TempDir, TestDaemon) {
    let home = tempfile::tempdir().unwrap();
    let d = TestDaemon::start_with_env(
        home.path(),
        vec![("AGENTD_INDEX_ROOTS".into(), root.display().to_string())],
    );
    (home, d)
}

#[test]
fn search_transcript_usage_and_history_through_the_cli() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(root) = projects(
        tmp.path(),
        "search_transcript_usage_and_history_through_the_cli",
    ) else {
        return;
    };
    let (_h, d) = daemon_indexing(&root);
    let status = json_of(&d.home, &["index", "--wait", "--json"]);
    assert_eq!(status["state"], "ready", "{status}");
    assert_eq!(status["files_done"], status["files_total"]);
    assert!(
        status["counts"]["messages"].as_u64().unwrap() > 100,
        "{status}"
    );

    let hits = search_json(&d.home, &["search", "migration", "--json", "--limit", "5"]);
    let hits = hits.as_array().unwrap();
    assert!(!hits.is_empty());
    for h in hits {
        for k in ["session_id", "ts", "role", "snippet", "score"] {
            assert!(!h[k].is_null(), "{k} in {h}");
        }
    }
    let none = search_json(&d.home, &["search", "xyzzy-never-said", "--json"]);
    assert_eq!(none, serde_json::json!([]));

    let page = json_of(&d.home, &["transcript", "258c7280", "--json"]);
    assert_eq!(page["session_id"], "258c7280-ae70-4798-800f-63464d01a85d");
    let messages = page["messages"].as_array().unwrap();
    assert_eq!(messages.len() as u64, page["total"].as_u64().unwrap());
    assert!(
        messages.iter().any(|m| !m["agent_id"].is_null()),
        "subagents included"
    );
    let text = run(&d.home, &["transcript", "258c7280"], None);
    assert!(String::from_utf8_lossy(&text.stdout).contains("▸ Bash: "));

    let usage = json_of(&d.home, &["usage", "daily", "--json", "--timezone", "UTC"]);
    let rows = usage["rows"].as_array().unwrap();
    assert!(!rows.is_empty());
    for k in [
        "period",
        "input_tokens",
        "output_tokens",
        "cache_creation_tokens",
        "cache_read_tokens",
        "total_tokens",
        "cost_usd",
        "models",
    ] {
        assert!(!rows[0][k].is_null(), "{k}");
        assert!(!usage["totals"][k].is_null(), "{k}");
    }
    let sum: u64 = rows
        .iter()
        .map(|r| r["total_tokens"].as_u64().unwrap())
        .sum();
    assert_eq!(sum, usage["totals"]["total_tokens"].as_u64().unwrap());
    let by_model = json_of(&d.home, &["usage", "model", "--json"]);
    assert_eq!(
        by_model["totals"]["total_tokens"],
        usage["totals"]["total_tokens"]
    );
    let monthly = json_of(
        &d.home,
        &[
            "usage",
            "monthly",
            "--json",
            "--since",
            "2026-02-01",
            "--until",
            "2026-02-28",
            "--timezone",
            "UTC",
        ],
    );
    assert!(
        monthly["rows"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["period"] == "2026-02")
    );

    // History sessions appear in `ls --json`, not live.
    let ls = json_of(&d.home, &["ls", "--json"]);
    let s = ls
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "258c7280-ae70-4798-800f-63464d01a85d")
        .unwrap_or_else(|| panic!("{ls}"));
    assert_eq!(s["live"], false);
    assert_eq!(s["status"], "ended");
    assert!(s["history"]["title"].is_string());

    // Bad input: a clear error, the daemon keeps serving.
    let bad = run(
        &d.home,
        &["usage", "daily", "--timezone", "Mars/Olympus"],
        None,
    );
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("time zone"),
        "{bad:?}"
    );
    let bad = run(&d.home, &["transcript", "no-such-session"], None);
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("no transcript"),
        "{bad:?}"
    );
    let mut c = d.client();
    let err = c
        .call::<_, Value>("search", serde_json::json!({"query": 5}))
        .unwrap_err();
    assert!(err.to_string().contains("search"), "{err}");
    let ok: Value = c.call("health", serde_json::json!({})).unwrap();
    assert_eq!(ok["status"], "ok");
}

#[test]
fn appended_lines_are_searchable_without_a_hook() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("projects");
    std::fs::create_dir_all(&root).unwrap();
    let (_h, d) = daemon_indexing(&root);
    json_of(&d.home, &["index", "--wait", "--json"]);
    // A project folder that appears later, written at once (before any
    // watch on it can exist).
    std::fs::create_dir_all(root.join("-w-live")).unwrap();
    let file = root.join("-w-live/5e55a0b1-0000-4000-8000-000000000001.jsonl");
    let mut f = std::fs::File::create(&file).unwrap();
    let line = |uuid: &str, text: &str| {
        format!(
            "{{\"type\":\"user\",\"uuid\":\"{uuid}\",\"sessionId\":\"5e55a0b1-0000-4000-8000-000000000001\",\"timestamp\":\"2026-11-23T10:00:00.000Z\",\"cwd\":\"/w/live\",\"message\":{{\"role\":\"user\",\"content\":\"{text}\"}}}}\n"
        )
    };
    f.write_all(line("u1", "the wombat migration").as_bytes())
        .unwrap();
    // Half a line: not indexed until complete.
    let second = line("u2", "the second capybara");
    f.write_all(&second.as_bytes()[..40]).unwrap();
    f.flush().unwrap();
    let found = wait_for(
        "the wombat line to be searchable",
        Duration::from_secs(10),
        || {
            let hits = search_json(&d.home, &["search", "wombat", "--json"]);
            (!hits.as_array().unwrap().is_empty()).then_some(hits)
        },
    );
    assert_eq!(
        found[0]["session_id"],
        "5e55a0b1-0000-4000-8000-000000000001"
    );
    f.write_all(&second.as_bytes()[40..]).unwrap();
    f.flush().unwrap();
    wait_for(
        "the completed line to be searchable",
        Duration::from_secs(10),
        || {
            let hits = search_json(&d.home, &["search", "capybara", "--json"]);
            (!hits.as_array().unwrap().is_empty()).then_some(())
        },
    );
    let status = json_of(&d.home, &["index", "--json"]);
    assert_eq!(status["counts"]["messages"], 2);
    assert_eq!(status["counts"]["bad_lines"], 0);
}

/// A large generated corpus where every line has its own ids: `files`
/// session files of `lines` lines each (every other one an assistant
/// message with usage: 10 input and 20 output tokens, its own message and
/// request id), ~1 KB a line. Returns (lines, assistant lines).
fn distinct_corpus(root: &Path, files: usize, lines: usize) -> (u64, u64) {
    use std::io::Write;
    let (mut total, mut assistant) = (0, 0);
    for f in 0..files {
        let dir = root.join(format!("-w-big{f}"));
        std::fs::create_dir_all(&dir).unwrap();
        let sid = format!("5e55a0b1-0000-4000-8000-{f:012}");
        let mut out = std::io::BufWriter::new(
            std::fs::File::create(dir.join(format!("{sid}.jsonl"))).unwrap(),
        );
        let pad = "lorem ipsum ".repeat(80);
        for i in 0..lines {
            let uuid = format!("{f:04}-{i:08}");
            let line = if i % 2 == 0 {
                user_line(&sid, &uuid, &format!("question {i} {pad}"))
            } else {
                assistant += 1;
                format!(
                    "{{\"type\":\"assistant\",\"uuid\":\"{uuid}\",\"sessionId\":\"{sid}\",\"timestamp\":\"2026-11-23T10:00:00.000Z\",\"requestId\":\"req_{f}_{i}\",\"message\":{{\"id\":\"msg_{f}_{i}\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5\",\"content\":[{{\"type\":\"text\",\"text\":\"answer {i} {pad}\"}}],\"usage\":{{\"input_tokens\":10,\"output_tokens\":20,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0}}}}}}\n"
                )
            };
            out.write_all(line.as_bytes()).unwrap();
            total += 1;
        }
    }
    (total, assistant)
}

#[test]
fn kill_9_while_indexing_loses_and_duplicates_nothing() {
    // Files of ~40 MB each: a scan commits every 8 MiB, so a kill while
    // bytes are half read lands mid-file. Every line has its own ids, so a
    // duplicate would show in the counts.
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("projects");
    let (lines, assistant) = distinct_corpus(&root, 4, 40_000);
    let (_h, mut d) = daemon_indexing(&root);
    let at = wait_for("the scan to be mid-way", Duration::from_secs(120), || {
        let s = json_of(&d.home, &["index", "--json"]);
        let (done, total) = (
            s["bytes_done"].as_u64().unwrap_or(0),
            s["bytes_total"].as_u64().unwrap_or(0),
        );
        assert_ne!(
            s["state"], "ready",
            "the scan finished before the kill: {s}"
        );
        (done > 0 && done < total).then_some((done, total))
    });
    d.kill();
    d.restart();
    let after = json_of(&d.home, &["index", "--wait", "--json"]);
    assert_eq!(after["state"], "ready");
    let c = &after["counts"];
    assert_eq!(c["messages"], lines, "killed at {at:?}: {after}");
    assert_eq!(c["usage_records"], assistant, "{after}");
    assert_eq!(c["bad_lines"], 0, "{after}");
    let usage = json_of(&d.home, &["usage", "daily", "--json"]);
    assert_eq!(usage["totals"]["output_tokens"], 20 * assistant, "{usage}");
    assert_eq!(usage["totals"]["input_tokens"], 10 * assistant, "{usage}");
}

#[test]
fn a_damaged_index_is_set_aside_and_rebuilt() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(root) = projects(tmp.path(), "a_damaged_index_is_set_aside_and_rebuilt") else {
        return;
    };
    let home = tempfile::tempdir().unwrap();
    std::fs::write(
        home.path().join("index.db"),
        b"this is not a database file at all, just noise",
    )
    .unwrap();
    let d = TestDaemon::start_with_env(
        home.path(),
        vec![("AGENTD_INDEX_ROOTS".into(), root.display().to_string())],
    );
    let status = json_of(&d.home, &["index", "--wait", "--json"]);
    assert_eq!(status["state"], "ready", "{status}");
    assert!(
        status["counts"]["messages"].as_u64().unwrap() > 100,
        "{status}"
    );
    let aside = std::fs::read_dir(home.path())
        .unwrap()
        .filter_map(Result::ok)
        .any(|e| e.file_name().to_string_lossy().contains("damaged"));
    assert!(aside, "the damaged file is kept for inspection");
}

/// A transcript line as Claude Code writes it (a user prompt).
fn user_line(session: &str, uuid: &str, text: &str) -> String {
    format!(
        "{{\"type\":\"user\",\"uuid\":\"{uuid}\",\"sessionId\":\"{session}\",\"timestamp\":\"2026-11-23T10:00:00.000Z\",\"cwd\":\"/w\",\"message\":{{\"role\":\"user\",\"content\":\"{text}\"}}}}\n"
    )
}

/// A generated history: project folders `projects` (numbered) of
/// `sessions` sessions, each with a subagent in the 2.1.x layout and one
/// API response with usage (10 input, 20 output tokens).
fn generated_history(root: &Path, projects: std::ops::Range<usize>, sessions: usize) -> usize {
    let mut files = 0;
    for p in projects {
        for s in 0..sessions {
            let sid = format!("5e55a0b1-0000-4000-8000-{p:06}{s:06}");
            let dir = root.join(format!("-w-p{p}"));
            std::fs::create_dir_all(dir.join(&sid).join("subagents")).unwrap();
            let mut text = String::new();
            for i in 0..20 {
                text.push_str(&user_line(&sid, &format!("{sid}-{i}"), "idle wombat"));
            }
            text.push_str(&format!(
                "{{\"type\":\"assistant\",\"uuid\":\"{sid}-r\",\"sessionId\":\"{sid}\",\"timestamp\":\"2026-11-23T10:00:01.000Z\",\"requestId\":\"req_{sid}\",\"message\":{{\"id\":\"msg_{sid}\",\"role\":\"assistant\",\"model\":\"claude-opus-5-5\",\"content\":[{{\"type\":\"text\",\"text\":\"ok\"}}],\"usage\":{{\"input_tokens\":10,\"output_tokens\":20}}}}}}\n"
            ));
            std::fs::write(dir.join(format!("{sid}.jsonl")), &text).unwrap();
            std::fs::write(
                dir.join(&sid).join("subagents/agent-a1.jsonl"),
                user_line(&sid, &format!("{sid}-a"), "sub"),
            )
            .unwrap();
            files += 2;
        }
    }
    files
}

/// utime + stime of `pid`, clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the `(comm)`: state is 3rd; utime 14th, stime 15th.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

#[test]
fn an_idle_daemon_with_history_uses_no_cpu() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("projects");
    let files = generated_history(&root, 0..40, 10);
    let (_h, d) = daemon_indexing(&root);
    let status = json_of(&d.home, &["index", "--wait", "--json"]);
    assert_eq!(status["counts"]["files"], files as u64, "{status}");
    // Something searched and read once more, as a user would.
    let hits = search_json(&d.home, &["search", "wombat", "--json"]);
    assert!(!hits.as_array().unwrap().is_empty());
    // Let the notifications the indexing itself raised drain.
    let mut last = cpu_ticks(d.pid());
    wait_for("the daemon to settle", Duration::from_secs(60), || {
        std::thread::sleep(Duration::from_millis(500));
        let now = cpu_ticks(d.pid());
        let settled = now == last;
        last = now;
        settled.then_some(())
    });
    // Idle for 5 s: reading the transcripts raised open/close-nowrite
    // notifications; reacting to them used to read again, for ever (9 %
    // of a core with 166 files, 140 % with 4 000). Clock ticks are 10 ms.
    let before = cpu_ticks(d.pid());
    std::thread::sleep(Duration::from_secs(5));
    let used_ms = (cpu_ticks(d.pid()) - before) * 10;
    assert!(
        used_ms <= 50,
        "an idle daemon used {used_ms} ms of CPU in 5 s"
    );
}

#[test]
fn transcript_paths_from_hooks_are_only_regular_jsonl_files_under_a_root() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("projects");
    generated_history(&root, 0..1, 1);
    let (_h, d) = daemon_indexing(&root);
    json_of(&d.home, &["index", "--wait", "--json"]);
    let fifo = root.join("-w-p0/fifo.jsonl");
    support::mkfifo(&fifo);
    std::fs::create_dir_all(root.join("-w-p0/dir.jsonl")).unwrap();
    let cases = [
        "/".to_owned(),
        "../../".to_owned(),
        "relative/x.jsonl".to_owned(),
        format!("{}/../../etc/passwd", root.display()),
        "/etc/passwd".to_owned(),
        root.display().to_string(),
        root.join("-w-p0").display().to_string(),
        root.join("-w-p0/notes.txt").display().to_string(),
        fifo.display().to_string(),
        root.join("-w-p0/dir.jsonl").display().to_string(),
        root.join("-w-p0/missing.jsonl").display().to_string(),
    ];
    for path in &cases {
        let payload = serde_json::json!({
            "session_id": "nudged",
            "hook_event_name": "PostToolUse",
            "tool_name": "Bash",
            "transcript_path": path,
            "agent_transcript_path": path,
        });
        let out = run(&d.home, &["hook"], Some(payload.to_string().as_bytes()));
        assert!(out.status.success(), "{out:?}");
    }
    let status = wait_for(
        "every bad transcript path to be counted",
        Duration::from_secs(30),
        || {
            let s = json_of(&d.home, &["index", "--json"]);
            let n: u64 = s["nudges_ignored"]
                .as_object()
                .map(|m| m.values().filter_map(Value::as_u64).sum())
                .unwrap_or(0);
            (n == 2 * cases.len() as u64).then_some(s)
        },
    );
    let ignored = &status["nudges_ignored"];
    for reason in [
        "not an absolute path",
        "contains `..`",
        "outside the index roots",
        "not a .jsonl file",
        "not a regular file",
        "a directory, not a transcript file",
        "no such file",
    ] {
        assert!(
            ignored[reason].as_u64().unwrap_or(0) > 0,
            "{reason}: {ignored}"
        );
    }
    // Nothing outside the roots, and nothing that is not a file, was read.
    assert_eq!(status["counts"]["files"], 2, "{status}");
    assert_eq!(status["errors"], 0, "{status}");
    let h = json_of(&d.home, &["health", "--json"]);
    assert_eq!(h["status"], "ok");
}

#[test]
fn transcripts_at_any_depth_are_indexed_and_what_is_not_is_counted_with_its_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("projects");
    // One level deeper than Claude Code's layout (a per-machine archive),
    // and three.
    let files = generated_history(&root.join("laptop"), 0..2, 3)
        + generated_history(&root.join("a/b/c"), 2..3, 2);
    let tool = root.join("laptop/-w-p0/5e55a0b1-0000-4000-8000-000000000000/tool-results");
    std::fs::create_dir_all(&tool).unwrap();
    std::fs::write(tool.join("out.jsonl"), "{}\n").unwrap();
    std::fs::write(root.join("stray.jsonl"), "{}\n").unwrap();
    let (_h, d) = daemon_indexing(&root);
    let status = json_of(&d.home, &["index", "--wait", "--json"]);
    assert_eq!(status["counts"]["files"], files as u64, "{status}");
    assert_eq!(status["counts"]["sessions"], 8, "{status}");
    assert_eq!(
        status["skipped"],
        serde_json::json!({
            "a session's tool-results file, not a transcript": 1,
            "directly in a root, not in a project folder": 1,
        })
    );
    let out = run(&d.home, &["index"], None);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("files not indexed: "), "{text}");
    let hits = search_json(&d.home, &["search", "sub", "--json"]);
    assert_eq!(hits.as_array().unwrap().len(), 8, "{hits}");
}

#[test]
fn ten_thousand_sessions_list_page_by_page_and_nothing_is_too_big_for_a_frame() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("projects");
    let files = generated_history(&root, 0..100, 100);
    let (_h, d) = daemon_indexing(&root);
    let status = json_of(&d.home, &["index", "--wait", "--json"]);
    assert_eq!(status["counts"]["files"], files as u64, "{status}");
    assert_eq!(status["counts"]["sessions"], 10_000, "{status}");
    // Every one, as one JSON array streamed from many pages.
    let all = json_of(&d.home, &["ls", "--json"]);
    let all = all.as_array().unwrap();
    assert_eq!(all.len(), 10_000);
    let ids: std::collections::HashSet<&str> =
        all.iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 10_000, "no session twice");
    let out = run(&d.home, &["ls", "--all"], None);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 10_001);
    // Search pages too: every subagent's one line, none twice.
    let hits = search_json(&d.home, &["search", "sub", "--limit", "20000", "--json"]);
    let uuids: std::collections::HashSet<&str> = hits
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["uuid"].as_str().unwrap())
        .collect();
    assert_eq!(uuids.len(), 10_000, "every hit once, past the 500-hit page");
    // Usage by session: a row each (~2.5 MB: several pages), all there.
    let usage = json_of(&d.home, &["usage", "session", "--json"]);
    assert_eq!(usage["rows"].as_array().unwrap().len(), 10_000);
    assert_eq!(usage["totals"]["output_tokens"], 200_000);
    // A bare (unpaged) request that cannot fit says how to page.
    let mut c = d.client();
    let err = c
        .call::<_, Value>("sessions.list", serde_json::json!({}))
        .unwrap_err();
    assert!(err.to_string().contains("paged"), "{err}");
    // A live registry of thousands of sessions still subscribes (the TUI).
    for i in 0..3000 {
        c.send(
            "hook.ingest",
            serde_json::json!({"payload": {"session_id": format!("live-{i:05}-{}", "x".repeat(300)), "hook_event_name": "SessionStart", "cwd": "/w"}}),
        )
        .unwrap();
        if i % 500 == 499 {
            for _ in 0..500 {
                c.read_message().unwrap();
            }
        }
    }
    let sub: Value = d
        .client()
        .call("events.subscribe", serde_json::json!({}))
        .unwrap();
    let shown = sub["sessions"].as_array().unwrap().len() as u64;
    assert!(shown > 0);
    assert_eq!(
        shown + sub["sessions_omitted"].as_u64().unwrap(),
        3000,
        "{}",
        sub["sessions_omitted"]
    );
}

#[test]
fn a_transcript_replaced_by_rename_is_read_again_from_the_start() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("projects");
    let dir = root.join("-w-p");
    std::fs::create_dir_all(&dir).unwrap();
    let sid = "5e55a0b1-0000-4000-8000-00000000aaaa";
    let file = dir.join(format!("{sid}.jsonl"));
    std::fs::write(&file, user_line(sid, "u1", "the old aardvark")).unwrap();
    let (_h, d) = daemon_indexing(&root);
    json_of(&d.home, &["index", "--wait", "--json"]);
    assert_eq!(
        search_json(&d.home, &["search", "aardvark", "--json"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // Rewritten atomically (a new inode) and longer than before, so a
    // shrink does not give it away (the hashed first bytes do too; the
    // next test leaves only the inode).
    let tmpfile = dir.join(".rewrite");
    std::fs::write(
        &tmpfile,
        user_line(sid, "u1", "the new bandicoot") + &user_line(sid, "u2", "and a second line"),
    )
    .unwrap();
    std::fs::rename(&tmpfile, &file).unwrap();
    wait_for(
        "the new text to be searchable",
        Duration::from_secs(30),
        || {
            let hits = search_json(&d.home, &["search", "bandicoot", "--json"]);
            (!hits.as_array().unwrap().is_empty()).then_some(())
        },
    );
    let old = search_json(&d.home, &["search", "aardvark", "--json"]);
    assert!(old.as_array().unwrap().is_empty(), "old rows gone: {old}");
    let status = json_of(&d.home, &["index", "--json"]);
    assert_eq!(status["counts"]["messages"], 2, "{status}");
}

#[test]
fn a_rewrite_that_keeps_size_ends_and_hashed_windows_is_caught_by_its_inode() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("projects");
    let dir = root.join("-w-p");
    std::fs::create_dir_all(&dir).unwrap();
    let sid = "5e55a0b1-0000-4000-8000-00000000bbbb";
    let file = dir.join(format!("{sid}.jsonl"));
    // The first and the last 4 KiB before the cursor lie in the long first
    // and third lines; only the middle line changes, at the same length.
    let pad = "lorem ".repeat(1000);
    let head = user_line(sid, "u1", &pad);
    let tail = user_line(sid, "u3", &pad);
    std::fs::write(
        &file,
        head.clone() + &user_line(sid, "u2", "oldmiddleword") + &tail,
    )
    .unwrap();
    let (_h, d) = daemon_indexing(&root);
    json_of(&d.home, &["index", "--wait", "--json"]);
    let hits = |word: &str| {
        search_json(&d.home, &["search", word, "--json"])
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(hits("oldmiddleword"), 1);
    // Same bytes at both hashed windows, same length up to the old cursor,
    // then one more line: an append, as far as size and hashes can tell.
    let tmpfile = dir.join(".rewrite");
    std::fs::write(
        &tmpfile,
        head + &user_line(sid, "u2", "newmiddleword") + &tail + &user_line(sid, "u4", "appended"),
    )
    .unwrap();
    std::fs::rename(&tmpfile, &file).unwrap();
    wait_for("the appended line", Duration::from_secs(30), || {
        (hits("appended") == 1).then_some(())
    });
    assert_eq!(hits("newmiddleword"), 1, "the changed middle was re-read");
    assert_eq!(hits("oldmiddleword"), 0, "the old middle is gone");
    let status = json_of(&d.home, &["index", "--json"]);
    assert_eq!(status["counts"]["messages"], 4, "{status}");
}

#[test]
fn memory_documents_are_found_beside_transcripts_and_outlive_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("projects");
    let dir = root.join("-w-p");
    std::fs::create_dir_all(&dir).unwrap();
    let sid = "5e55a0b1-0000-4000-8000-00000000cccc";
    std::fs::write(
        dir.join(format!("{sid}.jsonl")),
        user_line(sid, "u1", "feed the wombat at noon"),
    )
    .unwrap();
    let (_h, mut d) = daemon_indexing(&root);
    json_of(&d.home, &["index", "--wait", "--json"]);
    let out = run(
        &d.home,
        &[
            "memory",
            "add",
            "--title",
            "Wombat care",
            "--tag",
            "zoo",
            "wombats eat grass, not noodles",
        ],
        None,
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "doc_1");
    // Text from stdin.
    let out = run(
        &d.home,
        &["memory", "add", "--title", "Platypus", "-"],
        Some(b"the platypus lays eggs"),
    );
    assert!(out.status.success(), "{out:?}");
    // An empty document is refused, saying what is missing.
    let out = run(&d.home, &["memory", "add", "--title", "Empty", ""], None);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("`text`"),
        "{out:?}"
    );
    let kinds = |hits: &Value| -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = hits
            .as_array()
            .unwrap()
            .iter()
            .map(|h| {
                (
                    h["kind"].as_str().unwrap().to_owned(),
                    h["title"]
                        .as_str()
                        .or(h["session_id"].as_str())
                        .unwrap()
                        .to_owned(),
                )
            })
            .collect();
        v.sort();
        v
    };
    let want = vec![
        ("document".to_owned(), "Wombat care".to_owned()),
        ("transcript".to_owned(), sid.to_owned()),
    ];
    // Top hits, and the paged path (past 500), find both kinds.
    assert_eq!(
        kinds(&search_json(&d.home, &["search", "wombat", "--json"])),
        want
    );
    assert_eq!(
        kinds(&search_json(
            &d.home,
            &["search", "wombat", "--limit", "1000", "--json"]
        )),
        want
    );
    let text = run(&d.home, &["search", "platypus"], None);
    assert!(
        String::from_utf8_lossy(&text.stdout).contains("document «Platypus»"),
        "{text:?}"
    );
    // Memory is not derived data: a restart keeps it.
    d.stop();
    d.restart();
    assert_eq!(
        kinds(&search_json(&d.home, &["search", "wombat", "--json"])),
        want
    );
}
