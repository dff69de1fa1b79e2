//! The index over every transcript fixture (`../shared/fixtures/claude/transcripts`),
//! checked against expectations computed here independently, against the
//! peer tool ccusage, and under appends, splits and rewrites.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use agentd_index::query::SearchQuery;
use agentd_index::usage::{GroupBy, UsageQuery, report};
use agentd_index::{Indexer, Reader, index_roots};
use proptest::prelude::*;
use serde_json::Value;

#[path = "../../agentd/tests/support/ccusage.rs"]
mod ccusage;
#[path = "../../agentd/tests/support/shared.rs"]
mod shared;

/// The transcript fixtures, or `None` on a bare clone (the test is then
/// reported skipped).
fn fixtures(test: &str) -> Option<PathBuf> {
    shared::shared_fixtures("claude/transcripts", test)
}

fn copy_dir(from: &Path, to: &Path, compact: bool) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dst = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dst, compact);
        } else {
            copy_file(&e.path(), &dst, compact);
        }
    }
}

/// Copies a file; with `compact`, JSON lines written with spaces
/// (`"usage": {`, as the dev-docs samples were re-serialized) are written
/// compactly, as Claude Code writes them.
fn copy_file(from: &Path, to: &Path, compact: bool) {
    let bytes = std::fs::read(from).unwrap();
    if !compact || from.extension().is_none_or(|x| x != "jsonl") {
        std::fs::write(to, bytes).unwrap();
        return;
    }
    let mut out = Vec::new();
    for line in bytes.split_inclusive(|&b| b == b'\n') {
        let body = line.strip_suffix(b"\n").unwrap_or(line);
        match serde_json::from_slice::<Value>(body) {
            Ok(v) if body.windows(10).any(|w| w == b"\"usage\": {") => {
                out.extend(serde_json::to_vec(&v).unwrap());
                if line.ends_with(b"\n") {
                    out.push(b'\n');
                }
            }
            _ => out.extend_from_slice(line),
        }
    }
    std::fs::write(to, out).unwrap();
}

/// Lays the fixtures out as a Claude Code projects folder: every folder of
/// transcripts becomes a project folder.
fn projects(dst: &Path, compact: bool, test: &str) -> Option<PathBuf> {
    let src = fixtures(test)?;
    let log = src.join("claude-code-log");
    let root = dst.join("projects");
    for e in std::fs::read_dir(log.join("real_projects")).unwrap() {
        let e = e.unwrap();
        copy_dir(&e.path(), &root.join(e.file_name()), compact);
    }
    for s in ["async_agents", "teammates", "workflow_basic"] {
        copy_dir(
            &log.join("synthetic").join(s),
            &root.join(format!("synthetic-{s}")),
            compact,
        );
    }
    let misc = root.join("synthetic-misc");
    std::fs::create_dir_all(&misc).unwrap();
    copy_file(
        &log.join("synthetic/hook_attachments.jsonl"),
        &misc.join("hook_attachments.jsonl"),
        compact,
    );
    let misc = root.join("claude-code-log-misc");
    std::fs::create_dir_all(&misc).unwrap();
    for f in [
        "away_summary.jsonl",
        "debug_image_message.jsonl",
        "system_model_change.jsonl",
    ] {
        copy_file(&log.join(f), &misc.join(f), compact);
    }
    for d in ["assistant", "system", "tools", "user"] {
        copy_dir(
            &log.join("dev-docs/messages").join(d),
            &root.join(format!("dev-docs-{d}")),
            compact,
        );
    }
    copy_dir(&src.join("spotter"), &root.join("spotter"), compact);
    Some(root)
}

fn build(root: &Path, db: &Path) -> Reader {
    let mut ix = Indexer::open(db).unwrap();
    index_roots(&mut ix, &[root.to_path_buf()]).unwrap();
    Reader::open(db).unwrap()
}

/// The transcripts the index reads: session files and subagent files
/// (not, e.g., a workflow's `journal.jsonl`).
fn jsonl_files(root: &Path) -> Vec<PathBuf> {
    agentd_index::layout::walk(root)
        .files
        .into_iter()
        .filter(|f| agentd_index::layout::classify(root, f).is_ok())
        .collect()
}

#[test]
fn every_fixture_is_indexed_and_counts_match_an_independent_count() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(root) = projects(
        tmp.path(),
        false,
        "every_fixture_is_indexed_and_counts_match_an_independent_count",
    ) else {
        return;
    };
    let reader = build(&root, &tmp.path().join("index.db"));
    let counts = reader.counts().unwrap();

    // Independently: serde_json::Value over every line.
    let (mut lines, mut bad) = (0u64, 0u64);
    let mut types: HashMap<String, u64> = HashMap::new();
    let mut uuids = HashSet::new();
    let mut no_uuid = 0u64;
    // (message.id, requestId) → the larger total (ccusage's rule).
    let mut usage: HashMap<String, u64> = HashMap::new();
    for f in jsonl_files(&root) {
        let bytes = std::fs::read(&f).unwrap();
        for line in bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            lines += 1;
            let Ok(Value::Object(v)) = serde_json::from_slice::<Value>(line) else {
                bad += 1;
                continue;
            };
            let t = v
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            *types.entry(t.clone()).or_default() += 1;
            if ["user", "assistant", "system"].contains(&t.as_str()) {
                match v.get("uuid").and_then(Value::as_str) {
                    Some(u) => {
                        uuids.insert(u.to_owned());
                    }
                    None => no_uuid += 1,
                }
            }
            let m = &v.get("message").cloned().unwrap_or(Value::Null);
            if let (Some(u), Some(id), Some(req), Some(_)) = (
                m.get("usage"),
                m.get("id").and_then(Value::as_str),
                v.get("requestId").and_then(Value::as_str),
                v.get("timestamp"),
            ) {
                let n = |k: &str| u.get(k).and_then(Value::as_u64).unwrap_or(0);
                let cc = match u.get("cache_creation") {
                    Some(c) => {
                        c["ephemeral_5m_input_tokens"].as_u64().unwrap_or(0)
                            + c["ephemeral_1h_input_tokens"].as_u64().unwrap_or(0)
                    }
                    None => n("cache_creation_input_tokens"),
                };
                let total =
                    n("input_tokens") + n("output_tokens") + cc + n("cache_read_input_tokens");
                let e = usage.entry(format!("{id}:{req}")).or_default();
                *e = (*e).max(total);
            }
        }
    }
    assert!(lines > 5_000, "{lines}");
    assert_eq!(counts.lines, lines);
    assert_eq!(counts.bad_lines, bad);
    let types_ix: HashMap<String, u64> = counts.record_types.clone().into_iter().collect();
    assert_eq!(types_ix, types);
    assert_eq!(counts.messages, uuids.len() as u64 + no_uuid);
    // Records with both ids, deduplicated, are a subset of what the index counts.
    let rep = report(&reader, &usage_q(GroupBy::Model), &[]).unwrap();
    let independent: u64 = usage.values().sum();
    assert!(
        rep.totals.total_tokens >= independent,
        "{} < {independent}",
        rep.totals.total_tokens
    );
    // Every 1.0.x-to-2.1.x subagent layout is attributed to its session.
    let s = reader
        .session("258c7280-ae70-4798-800f-63464d01a85d")
        .unwrap()
        .unwrap();
    assert!(!s.subagents.is_empty(), "{s:?}");
    assert!(s.models.contains(&"claude-opus-4-6".to_owned()), "{s:?}");
    assert!(s.title.is_some());
    // Every type in the real fixtures is known (unknown ones are counted:
    // see `empty_partial_and_garbage_files_are_fine`).
    assert!(
        counts.unknown_types.is_empty(),
        "{:?}",
        counts.unknown_types
    );
    // Index size (FTS included) vs the transcripts.
    let corpus: u64 = jsonl_files(&root)
        .iter()
        .map(|f| f.metadata().unwrap().len())
        .sum();
    let db = tmp.path().join("index.db");
    let _ = reader
        .conn()
        .execute_batch("PRAGMA wal_checkpoint(TRUNCATE)");
    let size = db.metadata().unwrap().len();
    assert!(
        size * 2 <= corpus,
        "index {size} bytes for {corpus} bytes of transcripts"
    );
}

fn usage_q(group_by: GroupBy) -> UsageQuery {
    UsageQuery {
        group_by,
        since: None,
        until: None,
        timezone: Some("UTC".into()),
        session_id: None,
    }
}

#[test]
fn search_finds_prompts_tool_inputs_and_results_with_snippets() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(root) = projects(
        tmp.path(),
        false,
        "search_finds_prompts_tool_inputs_and_results_with_snippets",
    ) else {
        return;
    };
    let reader = build(&root, &tmp.path().join("index.db"));
    let hits = reader
        .search(&SearchQuery {
            query: "migration".into(),
            limit: Some(5),
            ..SearchQuery::default()
        })
        .unwrap();
    assert!(!hits.is_empty());
    for h in &hits {
        assert!(h.snippet.to_lowercase().contains("«migration"), "{h:?}");
        assert!(h.score > 0.0);
    }
    assert!(hits.windows(2).all(|w| w[0].score >= w[1].score));
    // Pages by offset join up to the whole list: no hit twice, none left.
    let page = |offset: usize, limit: usize| -> Vec<(String, Option<String>)> {
        reader
            .search(&SearchQuery {
                query: "the".into(),
                limit: Some(limit),
                offset: Some(offset),
                ..SearchQuery::default()
            })
            .unwrap()
            .into_iter()
            .map(|h| (h.session_id, h.uuid))
            .collect()
    };
    let whole = page(0, 90);
    assert_eq!(whole.len(), 90, "the corpus has enough hits to page");
    let joined: Vec<_> = [page(0, 30), page(30, 30), page(60, 30)].concat();
    assert_eq!(joined, whole);
    // Garbage and FTS5 syntax are just words.
    for q in ["\"", "AND OR NOT", "a* ( ) : ^", ""] {
        reader
            .search(&SearchQuery {
                query: q.into(),
                ..SearchQuery::default()
            })
            .unwrap();
    }
    // Filters.
    let since = reader
        .search(&SearchQuery {
            query: "the".into(),
            since_ms: Some(1_770_000_000_000),
            limit: Some(50),
            ..SearchQuery::default()
        })
        .unwrap();
    assert!(
        since
            .iter()
            .all(|h| h.ts_ms.unwrap_or(0) >= 1_770_000_000_000)
    );
}

#[test]
fn transcripts_page_in_order_with_subagents_marked() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(root) = projects(
        tmp.path(),
        false,
        "transcripts_page_in_order_with_subagents_marked",
    ) else {
        return;
    };
    let reader = build(&root, &tmp.path().join("index.db"));
    let id = "258c7280-ae70-4798-800f-63464d01a85d";
    let page = reader.transcript(id, 0, 100_000).unwrap();
    assert_eq!(page.total as usize, page.messages.len());
    assert!(page.messages.windows(2).all(|w| w[0].ts_ms <= w[1].ts_ms));
    assert!(page.messages.iter().any(|m| m.agent_id.is_some()));
    assert!(
        page.messages
            .iter()
            .any(|m| m.agent_id.is_none() && m.role == "user")
    );
    assert!(page.messages.iter().any(|m| !m.tools.is_empty()));
    let second = reader.transcript(id, 10, 5).unwrap();
    assert_eq!(second.messages[0], page.messages[10]);
}

fn ccusage_daily(config_dir: &Path) -> BTreeMap<String, ccusage::DayTokens> {
    ccusage::daily(config_dir).unwrap_or_else(|e| panic!("{e}"))
}

fn agentd_daily(reader: &Reader) -> BTreeMap<String, ccusage::DayTokens> {
    report(reader, &usage_q(GroupBy::Daily), &[])
        .unwrap()
        .rows
        .into_iter()
        .map(|r| {
            (
                r.period,
                [
                    r.input_tokens,
                    r.output_tokens,
                    r.cache_creation_tokens,
                    r.cache_read_tokens,
                ],
            )
        })
        .collect()
}

#[test]
fn daily_tokens_equal_ccusage() {
    // ccusage only reads lines containing the bytes `"usage":{`, so it skips
    // the dev-docs samples re-serialized with spaces; agentd parses JSON and
    // counts them. On a copy where those lines are compact, as Claude Code
    // writes them, both must agree to the token on every day.
    let tmp = tempfile::tempdir().unwrap();
    let compact = tmp.path().join("compact");
    let Some(root) = projects(&compact, true, "daily_tokens_equal_ccusage") else {
        return;
    };
    let reader = build(&root, &tmp.path().join("compact.db"));
    let ours = agentd_daily(&reader);
    let theirs = ccusage_daily(&compact);
    assert_eq!(ours, theirs);

    // On the fixtures as they are, agentd counts exactly those spaced lines
    // more; ccusage's own total stays what it reports for the compact copy
    // minus them.
    let original = tmp.path().join("original");
    let Some(root) = projects(&original, false, "daily_tokens_equal_ccusage") else {
        return;
    };
    let reader = build(&root, &tmp.path().join("original.db"));
    assert_eq!(
        agentd_daily(&reader),
        ours,
        "whitespace must not matter to agentd"
    );
    let skipped: u64 = ours.values().flatten().sum::<u64>()
        - ccusage_daily(&original).values().flatten().sum::<u64>();
    assert_eq!(skipped, 72_137);
}

/// Messages, lines, hits for "the", the usage report, per-session counts.
type Fingerprint = (u64, u64, u64, String, Vec<(String, u64, u64)>);

fn fingerprint(db: &Path) -> Fingerprint {
    let r = Reader::open(db).unwrap();
    let c = r.counts().unwrap();
    let rep = report(&r, &usage_q(GroupBy::Session), &[]).unwrap();
    let hits = r
        .search(&SearchQuery {
            query: "the".into(),
            limit: Some(500),
            ..SearchQuery::default()
        })
        .unwrap()
        .len() as u64;
    let sessions = r
        .sessions(&Default::default())
        .unwrap()
        .into_iter()
        .map(|s| (s.id, s.user_messages, s.assistant_messages))
        .collect();
    (
        c.messages,
        c.lines,
        hits,
        format!("{:?}", rep.rows),
        sessions,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// Appending a transcript in arbitrary chunks (cut anywhere, mid-line
    /// included) and indexing after each gives the index of one read.
    #[test]
    fn any_split_into_appends_gives_the_same_index(cuts in proptest::collection::vec(0.0f64..1.0, 1..6)) {
        let Some(src) = fixtures("any_split_into_appends_gives_the_same_index") else {
            return Ok(());
        };
        let src = src.join("spotter/short.jsonl");
        let bytes = std::fs::read(&src).unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let one = tmp.path().join("one/p");
        std::fs::create_dir_all(&one).unwrap();
        std::fs::write(one.join("s1.jsonl"), &bytes).unwrap();
        build(&tmp.path().join("one"), &tmp.path().join("one.db"));

        let many = tmp.path().join("many/p");
        std::fs::create_dir_all(&many).unwrap();
        let mut cuts: Vec<usize> = cuts.iter().map(|c| (c * bytes.len() as f64) as usize).collect();
        cuts.push(bytes.len());
        cuts.sort();
        let mut ix = Indexer::open(&tmp.path().join("many.db")).unwrap();
        let mut written = 0;
        for c in cuts {
            use std::io::Write;
            let mut f = std::fs::OpenOptions::new().create(true).append(true).open(many.join("s1.jsonl")).unwrap();
            f.write_all(&bytes[written..c]).unwrap();
            written = c;
            index_roots(&mut ix, &[tmp.path().join("many")]).unwrap();
        }
        prop_assert_eq!(fingerprint(&tmp.path().join("one.db")), fingerprint(&tmp.path().join("many.db")));
    }

    /// Truncating in place (dropping lines, as Claude Code does after a
    /// stream error) and writing on gives no duplicates: the same index as
    /// reading the final file once.
    #[test]
    fn truncate_and_rewrite_gives_no_duplicates(keep in 0.1f64..0.9, extra in 0usize..20) {
        let Some(src) = fixtures("truncate_and_rewrite_gives_no_duplicates") else {
            return Ok(());
        };
        let src = src.join("spotter/short.jsonl");
        let bytes = std::fs::read(&src).unwrap();
        let lines: Vec<&[u8]> = bytes.split_inclusive(|&b| b == b'\n').collect();
        let keep = ((lines.len() as f64) * keep) as usize;
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("live/p");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s1.jsonl");
        std::fs::write(&path, &bytes).unwrap();
        let mut ix = Indexer::open(&tmp.path().join("live.db")).unwrap();
        index_roots(&mut ix, &[tmp.path().join("live")]).unwrap();
        // Truncate in place (same inode), then append other lines.
        let mut final_bytes: Vec<u8> = lines[..keep].concat();
        final_bytes.extend(lines[keep..].iter().rev().take(extra).flat_map(|l| l.iter().copied()));
        {
            use std::io::{Seek, Write};
            let mut f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
            f.set_len(0).unwrap();
            f.seek(std::io::SeekFrom::Start(0)).unwrap();
            f.write_all(&final_bytes).unwrap();
        }
        index_roots(&mut ix, &[tmp.path().join("live")]).unwrap();

        let fresh = tmp.path().join("fresh/p");
        std::fs::create_dir_all(&fresh).unwrap();
        std::fs::write(fresh.join("s1.jsonl"), &final_bytes).unwrap();
        build(&tmp.path().join("fresh"), &tmp.path().join("fresh.db"));
        prop_assert_eq!(fingerprint(&tmp.path().join("live.db")), fingerprint(&tmp.path().join("fresh.db")));
    }
}

#[test]
fn empty_partial_and_garbage_files_are_fine() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("root/p");
    std::fs::create_dir_all(&p).unwrap();
    std::fs::write(p.join("empty.jsonl"), b"").unwrap();
    std::fs::write(
        p.join("s.jsonl"),
        b"not json\n\xff\xfe\n[1]\n{\"type\":\"user\",\"uuid\":\"u1\",\"message\":{\"content\":\"hello world\"}}\n{\"type\":\"brand-new\",\"x\":1}\n{\"type\":\"user\",\"uu",
    )
    .unwrap();
    let reader = build(&tmp.path().join("root"), &tmp.path().join("i.db"));
    let c = reader.counts().unwrap();
    assert_eq!((c.lines, c.bad_lines, c.messages), (5, 3, 1));
    // Unknown record types are counted and listed, never dropped silently.
    assert_eq!(c.unknown_types.get("brand-new"), Some(&1));
    // The partial line is not consumed until it is complete.
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(p.join("s.jsonl"))
        .unwrap();
    f.write_all(b"id\":\"u2\",\"message\":{\"content\":\"second\"}}\n")
        .unwrap();
    let mut ix = Indexer::open(&tmp.path().join("i.db")).unwrap();
    index_roots(&mut ix, &[tmp.path().join("root")]).unwrap();
    let c = reader.counts().unwrap();
    assert_eq!((c.lines, c.bad_lines, c.messages), (6, 3, 2));
    assert_eq!(
        reader
            .search(&SearchQuery {
                query: "second".into(),
                ..SearchQuery::default()
            })
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn long_context_rates_apply_per_request_not_per_sum() {
    // Three 80k-token requests of Sonnet 4.5 in one bucket: none is over
    // 200k, so all are at the base rate.
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("root/p");
    std::fs::create_dir_all(&p).unwrap();
    let mut text = String::new();
    for i in 0..3 {
        text.push_str(&format!(
            "{{\"type\":\"assistant\",\"uuid\":\"u{i}\",\"sessionId\":\"s\",\"timestamp\":\"2026-01-01T00:0{i}:00Z\",\"requestId\":\"r{i}\",\"message\":{{\"id\":\"msg_{i}\",\"model\":\"claude-sonnet-4-5-20250929\",\"usage\":{{\"input_tokens\":0,\"output_tokens\":0,\"cache_read_input_tokens\":80000}}}}}}\n"
        ));
    }
    std::fs::write(p.join("s.jsonl"), text).unwrap();
    let reader = build(&tmp.path().join("root"), &tmp.path().join("i.db"));
    let rep = report(&reader, &usage_q(GroupBy::Model), &[]).unwrap();
    // 240 000 cache-read tokens at $0.30/M.
    assert!(
        (rep.totals.cost_usd.unwrap() - 0.072).abs() < 1e-9,
        "{}",
        rep.totals.cost_usd.unwrap()
    );
}

#[test]
fn a_main_chain_copy_of_a_usage_record_wins_over_a_sidechain_copy_and_bigger_over_smaller() {
    // The same request three times: a streamed partial (5 output tokens), a
    // sidechain copy with more (500), and the main-chain final (50). The
    // main chain wins even with fewer tokens; among main-chain copies the
    // larger total wins. Whatever order the lines come in.
    let line = |uuid: &str, sidechain: bool, out: u64| {
        format!(
            "{{\"type\":\"assistant\",\"uuid\":\"{uuid}\",\"sessionId\":\"s\",\"isSidechain\":{sidechain},\"timestamp\":\"2026-01-01T00:00:00Z\",\"requestId\":\"req_1\",\"message\":{{\"id\":\"msg_1\",\"model\":\"claude-sonnet-4-5\",\"usage\":{{\"input_tokens\":1,\"output_tokens\":{out}}}}}}}\n"
        )
    };
    let lines = [
        line("a", false, 5),
        line("b", true, 500),
        line("c", false, 50),
    ];
    for order in [[0, 1, 2], [1, 2, 0], [2, 0, 1], [1, 0, 2]] {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("root/p");
        std::fs::create_dir_all(&p).unwrap();
        let text: String = order.iter().map(|&i| lines[i].clone()).collect();
        std::fs::write(p.join("s.jsonl"), text).unwrap();
        let reader = build(&tmp.path().join("root"), &tmp.path().join("i.db"));
        let rep = report(&reader, &usage_q(GroupBy::Model), &[]).unwrap();
        assert_eq!(rep.totals.output_tokens, 50, "order {order:?}");
        assert_eq!(rep.totals.input_tokens, 1, "order {order:?}");
    }
}

#[test]
fn every_model_in_the_fixtures_and_of_the_pinned_claude_code_has_a_price() {
    // The model the pinned Claude Code (2.1.330) uses by default, which the
    // end-to-end runs record, must be priced whatever the fixtures hold.
    assert!(agentd_transcript::pricing::lookup("claude-opus-5-5", &[]).is_some());
    let tmp = tempfile::tempdir().unwrap();
    let Some(root) = projects(tmp.path(), false, "every_model_in_the_fixtures_has_a_price") else {
        return;
    };
    let reader = build(&root, &tmp.path().join("index.db"));
    let rep = report(&reader, &usage_q(GroupBy::Model), &[]).unwrap();
    assert!(
        rep.totals.unpriced_models.is_empty(),
        "models without a price: {:?}",
        rep.totals.unpriced_models
    );
    assert!(!rep.totals.models.is_empty());
}

#[test]
fn an_unpriced_model_costs_null_never_zero() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("root/p");
    std::fs::create_dir_all(&p).unwrap();
    std::fs::write(
        p.join("s.jsonl"),
        "{\"type\":\"assistant\",\"uuid\":\"u1\",\"sessionId\":\"s\",\"timestamp\":\"2026-01-01T00:00:00Z\",\"requestId\":\"r1\",\"message\":{\"id\":\"m1\",\"model\":\"claude-unknown-9\",\"usage\":{\"input_tokens\":100,\"output_tokens\":10}}}\n",
    )
    .unwrap();
    let reader = build(&tmp.path().join("root"), &tmp.path().join("i.db"));
    let rep = report(&reader, &usage_q(GroupBy::Model), &[]).unwrap();
    assert_eq!(rep.totals.cost_usd, None);
    assert_eq!(rep.totals.unpriced_models, ["claude-unknown-9"]);
    assert_eq!(rep.totals.total_tokens, 110);
    let json = serde_json::to_value(&rep.totals).unwrap();
    assert!(json["cost_usd"].is_null(), "{json}");
}

#[test]
fn a_repeated_message_id_without_a_request_id_counts_once_as_ccusage_does() {
    // An `msg_` id repeated in a session without a `requestId` (a streamed
    // message written twice) is one API response: agentd keys it `a:` and
    // counts it once, and the pinned ccusage (20.0.24) does the same — run
    // here on the same file, not assumed.
    let line = |uuid: &str| {
        format!(
            "{{\"type\":\"assistant\",\"uuid\":\"{uuid}\",\"sessionId\":\"s\",\"timestamp\":\"2026-01-01T00:00:00Z\",\"message\":{{\"id\":\"msg_dup\",\"model\":\"claude-sonnet-4-5\",\"usage\":{{\"input_tokens\":100,\"output_tokens\":10}}}}}}\n"
        )
    };
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("claude");
    let p = config.join("projects/p");
    std::fs::create_dir_all(&p).unwrap();
    std::fs::write(p.join("s.jsonl"), line("u1") + &line("u2")).unwrap();
    let reader = build(&config.join("projects"), &tmp.path().join("i.db"));
    let ours = agentd_daily(&reader);
    assert_eq!(ours.values().next(), Some(&[100, 10, 0, 0]), "{ours:?}");
    let theirs = ccusage_daily(&config);
    assert_eq!(theirs, ours);
}
