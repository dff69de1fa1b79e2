//! The real Codex CLI and Gemini CLI, each run offline against a local fake
//! of its model API with agentd's hooks installed by `agentd install
//! --agent`: sessions appear with the right agent, cwd and tool; a shell
//! command an agentd rule denies does not run; the agent's own payloads are
//! stored and its reply is in its own shape; its transcript is indexed,
//! searchable and shown, and `usage` counts exactly the tokens the fake
//! API reported.

mod support;

use std::time::Duration;

use agentd_core::Decision;
use agentd_proto::api::{
    ApprovalsListParams, DecideParams, EventsListParams, SessionView, SessionsListParams,
    TranscriptParams,
};
use agentd_proto::history::{GroupBy, SearchQuery, UsageQuery};
use fake_models::Script;
use support::agents::AgentUser;
use support::{TestDaemon, wait_for};

const WAIT: Duration = Duration::from_secs(120);

const DENY_RM: &str =
    "[[rules]]\nrule = \"Bash(rm:*)\"\naction = \"deny\"\nmessage = \"agentd-rule-says-no\"\n";

/// A daemon with `config`, indexing `user`'s transcripts.
fn daemon(home: &std::path::Path, user: &AgentUser, config: &str) -> TestDaemon {
    std::fs::write(home.join("agentd.toml"), config).unwrap();
    TestDaemon::start_with_env(
        home,
        vec![(
            "AGENTD_INDEX_ROOTS".into(),
            user.transcripts().to_string_lossy().into_owned(),
        )],
    )
}

/// The only session of `agent` the daemon knows, once it has `want`.
fn session_of(d: &TestDaemon, agent: &str, want: impl Fn(&SessionView) -> bool) -> SessionView {
    wait_for(&format!("a {agent} session"), WAIT, || {
        let page = d
            .client()
            .sessions_page(&SessionsListParams {
                history: Some(false),
                ..Default::default()
            })
            .ok()?;
        page.sessions
            .into_iter()
            .find(|s| s.session.agent == agent && want(s))
    })
}

fn hook_events(d: &TestDaemon, session: &str) -> Vec<agentd_proto::api::EventRecord> {
    d.client()
        .events(&EventsListParams {
            session_id: Some(session.to_owned()),
            ..Default::default()
        })
        .expect("events.list")
        .events
        .into_iter()
        .filter(|e| e.source == "hook")
        .collect()
}

fn run_agent(agent: &'static str) {
    let root = tempfile::Builder::new().prefix("agd").tempdir().unwrap();
    let victim_name = "victim.txt";
    let user = AgentUser::new(
        agent,
        root.path(),
        Script {
            shell_command: format!("rm -f {victim_name}"),
            ..Script::default()
        },
    );
    let d = daemon(root.path(), &user, DENY_RM);
    let victim = user.project.join(victim_name);
    std::fs::write(&victim, "keep me").unwrap();
    let out = user.prompt("remove the victim file");
    assert!(
        out.status.success(),
        "{agent} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        victim.exists(),
        "{agent} ran the `rm` an agentd rule denies"
    );
    // The model was told why.
    let told = user
        .fake
        .bodies()
        .iter()
        .any(|b| b.to_string().contains("agentd-rule-says-no"));
    assert!(told, "the denial's reason never reached the model");

    let cwd = user.project.to_string_lossy().into_owned();
    let s = session_of(&d, agent, |s| {
        s.session.cwd.as_deref() == Some(cwd.as_str())
    });
    let events = hook_events(&d, &s.session.id);
    let names: Vec<&str> = events.iter().map(|e| e.name.as_str()).collect();
    let (pre, start) = match agent {
        "codex" => ("PreToolUse", "SessionStart"),
        _ => ("BeforeTool", "SessionStart"),
    };
    assert!(names.contains(&start), "{names:?}");
    let pre = events
        .iter()
        .find(|e| e.name == pre)
        .unwrap_or_else(|| panic!("no {pre} in {names:?}"));
    assert_eq!(pre.agent, agent);
    assert_eq!(pre.kind, "tool.started");
    // Stored as the agent sent it: Gemini's own tool name.
    let own_tool = if agent == "codex" {
        "Bash"
    } else {
        "run_shell_command"
    };
    assert_eq!(pre.payload["tool_name"], own_tool, "{}", pre.payload);
    assert!(
        pre.payload["tool_input"]["command"]
            .as_str()
            .is_some_and(|c| c.contains("rm -f")),
        "{}",
        pre.payload
    );

    // The transcript: indexed under the same session, searchable, shown.
    let id = s.session.id.clone();
    let hits = wait_for("the transcript to be searchable", WAIT, || {
        let hits = d
            .client()
            .search(&SearchQuery {
                query: "remove victim".into(),
                project: None,
                session_id: None,
                since_ms: None,
                until_ms: None,
                limit: None,
                offset: None,
            })
            .ok()?;
        (!hits.is_empty()).then_some(hits)
    });
    assert!(hits.iter().all(|h| h.session_id == id), "{hits:?}");
    // The agent has exited, but the index may still be reading its file.
    let page = wait_for("the whole transcript to be indexed", WAIT, || {
        let page = d
            .client()
            .transcript(&TranscriptParams {
                id: id.clone(),
                offset: 0,
                limit: None,
            })
            .ok()?;
        page.messages
            .iter()
            .any(|m| m.role == "assistant" && m.text.contains("done from fake"))
            .then_some(page)
    });
    assert!(
        page.messages
            .iter()
            .any(|m| m.role == "user" && m.text.contains("remove the victim file")),
        "{:?}",
        page.messages
    );
    assert!(
        page.messages
            .iter()
            .flat_map(|m| &m.tools)
            .any(|t| t.name == "Bash" && t.summary.contains("rm -f")),
        "{:?}",
        page.messages
    );

    // Usage: exactly what the fake API reported, under the agent.
    let reported = user.fake.responses() as u64;
    assert!(reported >= 2, "{reported} model responses");
    let usage = wait_for("usage to count every response", WAIT, || {
        let u = d
            .client()
            .usage(
                &UsageQuery {
                    group_by: GroupBy::Agent,
                    since: None,
                    until: None,
                    timezone: Some("UTC".into()),
                    session_id: None,
                },
                0,
            )
            .ok()?;
        (u.totals.output_tokens == reported * 5).then_some(u)
    });
    let row = usage
        .rows
        .iter()
        .find(|r| r.period == agent)
        .unwrap_or_else(|| panic!("no {agent} row in {:?}", usage.rows));
    assert_eq!(
        row.input_tokens + row.cache_read_tokens,
        reported * 10,
        "{row:?}"
    );
    assert_eq!(row.output_tokens, reported * 5, "{row:?}");
    assert_eq!(usage.rows.len(), 1, "{:?}", usage.rows);
    if agent == "codex" {
        // `gpt-fake` is in no price table: listed, never free.
        assert_eq!(row.unpriced_models, ["gpt-fake"], "{row:?}");
        assert_eq!(row.cost_usd, None, "{row:?}");
    } else {
        // gemini-2.5-flash at $0.30 / $2.50 per million.
        let want = (reported * 10) as f64 * 0.30e-6 + (reported * 5) as f64 * 2.50e-6;
        let cost = row.cost_usd.expect("gemini-2.5-flash is priced");
        assert!((cost - want).abs() < 1e-12, "{cost} vs {want}");
    }
}

#[test]
fn codex_cli_sessions_are_registered_and_its_tool_calls_judged_by_agentds_rules() {
    run_agent("codex");
}

#[test]
fn gemini_cli_sessions_are_registered_and_its_tool_calls_judged_by_agentds_rules() {
    run_agent("gemini");
}

/// An `ask` rule holds the agent's tool call until a human decides; the
/// denial and its message reach the agent in its own reply shape.
fn ask_then_deny(agent: &'static str) {
    let root = tempfile::Builder::new().prefix("agd").tempdir().unwrap();
    let user = AgentUser::new(
        agent,
        root.path(),
        Script {
            shell_command: "rm -f victim.txt".into(),
            ..Script::default()
        },
    );
    let d = daemon(
        root.path(),
        &user,
        "[[rules]]\nrule = \"Bash(rm:*)\"\naction = \"ask\"\n",
    );
    let victim = user.project.join("victim.txt");
    std::fs::write(&victim, "keep me").unwrap();
    let mut child = user
        .command("remove the victim file")
        .spawn()
        .expect("start the agent");
    let pending = wait_for("the held tool call", WAIT, || {
        d.client()
            .approvals(&ApprovalsListParams::default())
            .ok()?
            .into_iter()
            .next()
    });
    assert_eq!(pending.approval.tool_name, "Bash");
    assert_eq!(pending.approval.tool_input["command"], "rm -f victim.txt");
    let session = d.client().session(&pending.approval.session_id).unwrap();
    assert_eq!(session.session.agent, agent);
    assert_eq!(session.session.status.as_str(), "needs_approval");
    d.client()
        .decide(&DecideParams {
            id: pending.approval.id.clone(),
            decision: Decision::Deny {
                message: Some("a-human-said-no".into()),
            },
            apply_suggestions: false,
            by: Some("test".into()),
            reason: None,
        })
        .expect("deny");
    let status = wait_for("the agent to finish", WAIT, || {
        child.try_wait().ok().flatten()
    });
    assert!(status.success(), "{agent} exited with {status}");
    assert!(victim.exists(), "{agent} ran the denied `rm`");
    assert!(
        user.fake
            .bodies()
            .iter()
            .any(|b| b.to_string().contains("a-human-said-no")),
        "the human's message never reached the model"
    );
}

#[test]
fn an_ask_rule_holds_a_codex_tool_call_until_a_human_denies_it() {
    ask_then_deny("codex");
}

#[test]
fn an_ask_rule_holds_a_gemini_tool_call_until_a_human_denies_it() {
    ask_then_deny("gemini");
}
