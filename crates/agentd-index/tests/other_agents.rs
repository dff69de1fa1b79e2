//! Codex CLI rollouts and Gemini CLI chats from the shared corpus
//! (`../shared/fixtures/{codex/sessions,gemini/chats}`, written by the real
//! CLIs): indexed under their own sessions and agent, searchable, and their
//! tokens counted exactly once, against expectations computed here
//! independently from the raw files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use agentd_index::query::{SearchQuery, SessionFilter};
use agentd_index::usage::{GroupBy, UsageQuery, report};
use agentd_index::{Indexer, Reader, index_roots};
use serde_json::Value;

#[path = "../../agentd/tests/support/shared.rs"]
mod shared;

fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn jsonl(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(jsonl(&p));
        } else if p.extension().is_some_and(|x| x == "jsonl") {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// `(session, input incl. cached, output)` per file: Codex's last running
/// total; Gemini's tokens per distinct message id.
fn expected(agent: &str, path: &Path) -> (String, u64, u64) {
    let recs = lines(path);
    match agent {
        "codex" => {
            let session = recs
                .iter()
                .find(|r| r["type"] == "session_meta")
                .and_then(|r| r["payload"]["id"].as_str())
                .unwrap()
                .to_owned();
            let total = recs
                .iter()
                .filter(|r| r["payload"]["type"] == "token_count")
                .filter_map(|r| r["payload"]["info"]["total_token_usage"].as_object())
                .next_back()
                .cloned()
                .unwrap_or_default();
            let n = |k: &str| total.get(k).and_then(Value::as_u64).unwrap_or(0);
            (session, n("input_tokens"), n("output_tokens"))
        }
        _ => {
            let session = recs[0]["sessionId"].as_str().unwrap().to_owned();
            let mut by_id: BTreeMap<String, (u64, u64)> = BTreeMap::new();
            for r in &recs {
                if let (Some(id), Some(t)) = (r["id"].as_str(), r.get("tokens")) {
                    let n = |k: &str| t[k].as_u64().unwrap_or(0);
                    by_id.insert(
                        id.to_owned(),
                        (n("input") + n("tool"), n("output") + n("thoughts")),
                    );
                }
            }
            let (i, o) = by_id.values().fold((0, 0), |a, v| (a.0 + v.0, a.1 + v.1));
            (session, i, o)
        }
    }
}

fn check(agent: &str, rel: &str, test: &str) {
    let Some(root) = shared::shared_fixtures(rel, test) else {
        return;
    };
    // The Gemini layout wants `<project>/chats/`; the corpus keeps `chats/`.
    let tmp = tempfile::tempdir().unwrap();
    let indexed_root = if agent == "gemini" {
        let chats = tmp.path().join("proj/chats");
        std::fs::create_dir_all(&chats).unwrap();
        for f in jsonl(&root) {
            std::fs::copy(&f, chats.join(f.file_name().unwrap())).unwrap();
        }
        tmp.path().to_path_buf()
    } else {
        root.clone()
    };
    let db = tmp.path().join("index.db");
    let mut ix = Indexer::open(&db).unwrap();
    index_roots(&mut ix, std::slice::from_ref(&indexed_root)).unwrap();
    // Twice: a second pass (nothing new) must change nothing.
    index_roots(&mut ix, std::slice::from_ref(&indexed_root)).unwrap();
    let reader = Reader::open(&db).unwrap();
    let files = jsonl(&root);
    assert!(!files.is_empty());
    let mut want_in = 0;
    let mut want_out = 0;
    for f in &files {
        let (session, i, o) = expected(agent, f);
        want_in += i;
        want_out += o;
        let s = reader
            .session(&session)
            .unwrap()
            .unwrap_or_else(|| panic!("{} was not indexed as session {session}", f.display()));
        assert_eq!(s.agent, agent);
        assert!(s.user_messages > 0, "{s:?}");
        let q = UsageQuery {
            group_by: GroupBy::Session,
            since: None,
            until: None,
            timezone: Some("UTC".into()),
            session_id: Some(session.clone()),
        };
        let r = report(&reader, &q, &[]).unwrap();
        assert_eq!(
            (
                r.totals.input_tokens + r.totals.cache_read_tokens,
                r.totals.output_tokens
            ),
            (i, o),
            "{}",
            f.display()
        );
    }
    let by_agent = report(
        &reader,
        &UsageQuery {
            group_by: GroupBy::Agent,
            since: None,
            until: None,
            timezone: Some("UTC".into()),
            session_id: None,
        },
        &[],
    )
    .unwrap();
    assert_eq!(by_agent.rows.len(), 1);
    assert_eq!(by_agent.rows[0].period, agent);
    assert_eq!(
        by_agent.rows[0].input_tokens + by_agent.rows[0].cache_read_tokens,
        want_in
    );
    assert_eq!(by_agent.rows[0].output_tokens, want_out);
    let listed = reader
        .sessions(&SessionFilter {
            agent: Some(agent.to_owned()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(listed.len(), files.len());
    let other = if agent == "codex" { "gemini" } else { "codex" };
    assert!(
        reader
            .sessions(&SessionFilter {
                agent: Some(other.to_owned()),
                ..Default::default()
            })
            .unwrap()
            .is_empty()
    );
    // The prompt the CLIs were given is found, in their sessions.
    let hits = reader
        .search(&SearchQuery {
            query: "echo".into(),
            ..Default::default()
        })
        .unwrap();
    assert!(!hits.is_empty());
}

#[test]
fn codex_rollouts_are_indexed_searchable_and_their_token_totals_counted_once() {
    check(
        "codex",
        "codex/sessions",
        "codex_rollouts_are_indexed_searchable_and_their_token_totals_counted_once",
    );
}

#[test]
fn gemini_chats_are_indexed_searchable_and_rewritten_messages_counted_once() {
    check(
        "gemini",
        "gemini/chats",
        "gemini_chats_are_indexed_searchable_and_rewritten_messages_counted_once",
    );
}
