//! The transcript index against the real Claude Code CLI (fake Messages
//! API): a session's messages become searchable as Claude Code writes them,
//! its subagent's messages are attributed to it, and the usage report
//! equals ccusage's on the transcripts Claude Code wrote.

mod support;

use std::path::Path;
use std::time::Duration;

use fake_anthropic::Script;
use serde_json::Value;
use support::claude::{ClaudeUser, session_id_of};
use support::{TestDaemon, ccusage, run, wait_for};

fn json_of(home: &Path, args: &[&str]) -> Value {
    let out = run(home, args, None);
    assert!(out.status.success(), "agentd {args:?}: {out:?}");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{args:?}: {e}: {out:?}"))
}

/// Hits of `q`; no match is `[]` with exit 1, as grep.
fn search(home: &Path, q: &str) -> Vec<Value> {
    let out = run(home, &["search", q, "--json"], None);
    let hits: Vec<Value> =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("search {q}: {e}: {out:?}"));
    let code = if hits.is_empty() { 1 } else { 0 };
    assert_eq!(out.status.code(), Some(code), "search {q}: {out:?}");
    hits
}

#[test]
fn a_real_session_and_its_subagent_are_searchable_and_usage_matches_ccusage() {
    let root = tempfile::tempdir().unwrap();
    let script = Script {
        subagent_task: Some("catalogue the narwhal fixtures".to_owned()),
        bash_command: "echo okapi > out.txt".to_owned(),
        final_text: "all done with the quokka".to_owned(),
        ..Script::default()
    };
    // The hooks are installed first: the daemon is started with this user's
    // environment, so it indexes this user's projects folder.
    let user = ClaudeUser::with_script(root.path(), script);
    let d = TestDaemon::start_with_env(root.path(), user.daemon_env());
    let (out, stream) = user.headless("please find the wombat migration");
    assert!(out.status.success(), "claude failed: {out:?}");
    let id = session_id_of(&stream);

    // The prompt, attributed to the session (the Stop hook nudged the index).
    let hits = wait_for(
        "the prompt to be searchable",
        Duration::from_secs(10),
        || {
            let h = search(&d.home, "wombat");
            (!h.is_empty()).then_some(h)
        },
    );
    assert_eq!(hits[0]["session_id"], id.as_str(), "{hits:?}");
    assert_eq!(hits[0]["role"], "user");

    // The subagent's messages: its task and its reply, attributed to the
    // parent session and marked with the subagent's id.
    let files = agentd_index::layout::walk(&user.projects()).files;
    let sub = wait_for(
        &format!("the subagent's task to be searchable in {files:?}"),
        Duration::from_secs(10),
        || {
            let h: Vec<Value> = search(&d.home, "narwhal")
                .into_iter()
                .filter(|h| !h["agent_id"].is_null())
                .collect();
            (!h.is_empty()).then_some(h)
        },
    );
    assert_eq!(sub[0]["session_id"], id.as_str(), "{sub:?}");
    let transcript = json_of(&d.home, &["transcript", &id, "--json"]);
    let messages = transcript["messages"].as_array().unwrap();
    assert!(
        messages.iter().any(|m| !m["agent_id"].is_null()
            && m["tools"]
                .as_array()
                .is_some_and(|t| t.iter().any(|t| t["name"] == "Bash"))),
        "the subagent's Bash call is in the parent's transcript: {transcript}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m["agent_id"].is_null() && m["text"].as_str().unwrap_or("").contains("quokka")),
        "{transcript}"
    );
    let ls = json_of(&d.home, &["ls", "--json"]);
    let s = ls
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id.as_str())
        .unwrap();
    // Hooks and transcript merge into one session: the registry's (it
    // ended with the headless run, so it is not live), not a history-only
    // one (those end as `transcript`).
    assert_eq!(s["live"], false, "{s}");
    // Headless: no status line ran, yet the model is known (from the
    // transcript).
    assert!(
        s["model"]
            .as_str()
            .is_some_and(|m| m.starts_with("claude-")),
        "{s}"
    );
    assert_eq!(s["status"], "ended", "{s}");
    assert_ne!(s["end_reason"], "transcript", "{s}");
    assert!(
        !s["history"]["subagents"].as_array().unwrap().is_empty(),
        "{s}"
    );

    // Usage per day equals ccusage's on the same transcripts (polled: Claude
    // Code may still be appending, and the index follows within moments).
    let daily = || {
        let ours = json_of(&d.home, &["usage", "daily", "--json", "--timezone", "UTC"]);
        let theirs = ccusage::daily(&user.home().join(".claude")).unwrap_or_else(|e| panic!("{e}"));
        (ccusage::from_report(&ours["rows"]), theirs)
    };
    let mut last = daily();
    for _ in 0..50 {
        if last.0 == last.1 {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
        last = daily();
    }
    let (ours_rows, theirs_rows) = last;
    assert!(!ours_rows.is_empty());
    assert_eq!(ours_rows, theirs_rows);

    // The session is priced, and at Claude Code's own cost: the result
    // message carries `total_cost_usd`, computed by Claude Code from the
    // same usage with its own price table.
    let claudes = stream
        .iter()
        .find(|m| m["type"] == "result")
        .and_then(|m| m["total_cost_usd"].as_f64())
        .unwrap_or_else(|| panic!("no result with total_cost_usd in {stream:?}"));
    let by_session = json_of(&d.home, &["usage", "session", "--json"]);
    let row = by_session["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["period"] == id.as_str())
        .unwrap_or_else(|| panic!("no usage row for {id}: {by_session}"))
        .clone();
    let ours = row["cost_usd"].as_f64().unwrap();
    assert!(ours > 0.0, "{row}");
    assert!(
        row["unpriced_models"].as_array().unwrap().is_empty(),
        "{row}"
    );
    assert!(
        (ours - claudes).abs() <= 1e-6 + claudes * 1e-6,
        "agentd ${ours} vs Claude Code ${claudes}: {row}"
    );
    // One session's usage alone (by model) adds up to its row.
    let alone = json_of(&d.home, &["usage", "model", "--session", &id, "--json"]);
    assert_eq!(
        alone["totals"]["total_tokens"], row["total_tokens"],
        "{alone} vs {row}"
    );
    let none = json_of(
        &d.home,
        &["usage", "model", "--session", "no-such-session", "--json"],
    );
    assert_eq!(none["rows"].as_array().map(Vec::len), Some(0), "{none}");
}
