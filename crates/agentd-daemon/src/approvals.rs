//! Held tool calls: approvals from creation to their one outcome.
//!
//! A hook call that needs a human registers a waiter here, has the writer
//! create the approval, and then waits — as a future, never a thread — for
//! a decision, for the request to become moot (the human answered in Claude
//! Code's own dialog: the tool ran, was denied, the turn ended, a new prompt
//! came, the session ended), or for its timeout. Every transition goes
//! through the writer's compare-and-set, so the first outcome wins. A hook
//! call that disappears (Claude Code stopped waiting) leaves an orphan that
//! expires after [`ORPHAN_GRACE`] unless a moot event settles it first.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::error::ServiceError;
use agentd_claude::rules::{self, Action, OnTimeout};
use agentd_core::{Approval, ApprovalStatus, Decision, Origin};
use agentd_proto::api::IngestResult;
use agentd_store::StoreError;
use serde_json::{Value, json};
use tokio::sync::oneshot;

use crate::ingest::{Prepared, Source, prepare_at};
use crate::state::Shared;
use crate::writer::{self, Done, Refused, Resolution, Txn, Work};

/// How long an approval whose hook call vanished stays open for a moot
/// event (answered in the terminal) before it expires.
pub const ORPHAN_GRACE: Duration = Duration::from_secs(5);

/// What a held hook call learns.
#[derive(Debug)]
pub enum Outcome {
    /// Someone decided.
    Decided(Decision),
    /// It became moot, expired or timed out: no decision to send.
    Moot,
}

/// A pending approval known to this daemon.
#[derive(Debug)]
pub struct Held {
    /// The approval as created.
    pub approval: Approval,
    /// The held hook call, while it is still there.
    pub waiter: Option<oneshot::Sender<Outcome>>,
}

/// The hook calls this daemon holds for a decision, by approval id.
#[derive(Default)]
pub struct Holds {
    map: std::sync::Mutex<std::collections::HashMap<String, Held>>,
}

impl Holds {
    /// Holds a hook call for `held.approval`.
    fn insert(&self, held: Held) {
        if let Ok(mut m) = self.map.lock() {
            m.insert(held.approval.id.clone(), held);
        }
    }

    /// Forgets approval `id`'s hold.
    fn remove(&self, id: &str) {
        if let Ok(mut m) = self.map.lock() {
            m.remove(id);
        }
    }

    /// The hook call went away: approval `id` stays, with no one to tell.
    fn abandon(&self, id: &str) {
        if let Ok(mut m) = self.map.lock()
            && let Some(h) = m.get_mut(id)
        {
            h.waiter = None;
        }
    }

    /// Hands each outcome to its held hook call, forgetting the holds.
    fn wake(&self, outcomes: Vec<(String, Outcome)>) {
        let Ok(mut m) = self.map.lock() else {
            return;
        };
        for (id, outcome) in outcomes {
            if let Some(Held {
                waiter: Some(w), ..
            }) = m.remove(&id)
            {
                // The hook call may have just gone: fine.
                let _ = w.send(outcome);
            }
        }
    }

    /// Whether a hook call still waits for approval `id`.
    pub fn reachable(&self, id: &str) -> bool {
        self.map
            .lock()
            .map(|m| m.get(id).is_some_and(|h| h.waiter.is_some()))
            .unwrap_or(false)
    }

    /// `(id, tool, agent_id)` of the held approvals of `session_id`.
    fn of_session(&self, session_id: &str) -> Option<Vec<(String, String, Option<String>)>> {
        self.map.lock().ok().map(|m| {
            m.values()
                .map(|h| &h.approval)
                .filter(|a| a.session_id == session_id)
                .map(|a| (a.id.clone(), a.tool_name.clone(), a.agent_id.clone()))
                .collect()
        })
    }
}

/// Why a call is held: what the caller is told right away, so that it
/// waits as long as the hold may last instead of its short timeout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HoldNotice {
    /// A tool call waits for a human decision on this approval.
    ApprovalHeld {
        /// The approval.
        approval_id: String,
        /// How long it may wait, seconds.
        timeout_s: u64,
    },
    /// Project checks run before the answer.
    HooksRunning {
        /// How many hooks (unknown for `hooks.execute`, which filters them
        /// as it runs).
        hooks: Option<usize>,
        /// How long they may take together, seconds.
        timeout_s: u64,
    },
}

/// A call put on hold: the notice to give now, the reply later.
pub struct Hold {
    /// What to tell the caller now.
    pub notice: HoldNotice,
    /// Resolves to the call's result once there is an outcome.
    pub reply: Pin<Box<dyn Future<Output = Result<Value, ServiceError>> + Send>>,
    /// Output lines to forward to the caller until the reply is ready
    /// (`hooks.execute`).
    pub stream: Option<tokio::sync::mpsc::UnboundedReceiver<agentd_hooks::OutputLine>>,
}

/// What the policy rules say about a tool call.
#[derive(Debug)]
pub enum Judged {
    /// A rule decided: the decision and why.
    Decided(Decision, String),
    /// A rule routes it to a human, with its timeout policy and which rule.
    Ask(OnTimeout, String),
    /// No rule matches: how many were checked.
    NoRule(usize),
}

/// Applies the configured rules to a tool call (`cwd` scopes project rules).
pub fn judge(shared: &Shared, tool: &str, input: &Value, cwd: Option<&str>) -> Judged {
    let home = std::env::var("HOME").ok();
    let call = rules::Call {
        tool,
        input,
        cwd,
        home: home.as_deref(),
    };
    let Some(v) = rules::evaluate(&shared.config.rules, &call) else {
        return Judged::NoRule(shared.config.rules.len());
    };
    let action = match v.rule.action {
        Action::Allow => "allow",
        Action::Deny => "deny",
        Action::Ask => {
            let why = format!(
                "agentd rule #{} `{}` asks a human: {}",
                v.index + 1,
                v.rule.rule,
                v.why
            );
            return Judged::Ask(v.rule.on_timeout, why);
        }
    };
    let why = format!(
        "agentd rule #{} `{}` ({action}): {}",
        v.index + 1,
        v.rule.rule,
        v.why
    );
    tracing::info!(tool, %why, "rule decided");
    let decision = match v.rule.action {
        Action::Deny => Decision::Deny {
            message: Some(
                v.rule
                    .message
                    .clone()
                    .unwrap_or_else(|| format!("Blocked by {why}")),
            ),
        },
        _ => Decision::Allow {
            updated_input: None,
            updated_permissions: None,
        },
    };
    Judged::Decided(decision, why)
}

/// Applies the rules, then the plugins that decide on `tool`, to a tool
/// call: the strongest answer wins — deny, then ask, then allow; between
/// equals the rule (rules come first, plugins by name). A plugin that
/// fails abstains. The plugins run on the blocking pool, each within its
/// deadline.
pub async fn judge_all(
    shared: &Arc<Shared>,
    tool: &str,
    input: &Value,
    cwd: Option<&str>,
    session_id: Option<&str>,
) -> Judged {
    judge_explained(shared, tool, input, cwd, session_id)
        .await
        .0
}

/// [`judge_all`], with what each plugin asked said (none when a rule
/// denied: no plugin is asked then, nor when no plugin decides on `tool`).
pub async fn judge_explained(
    shared: &Arc<Shared>,
    tool: &str,
    input: &Value,
    cwd: Option<&str>,
    session_id: Option<&str>,
) -> (Judged, Vec<agentd_plugins::Decided>) {
    let by_rules = judge(shared, tool, input, cwd);
    if matches!(by_rules, Judged::Decided(Decision::Deny { .. }, _)) {
        return (by_rules, Vec::new());
    }
    // Most tool calls meet no plugin: no session lookup, no hop.
    let Some(plugins) = shared
        .plugins
        .as_ref()
        .map(|h| Arc::clone(&h.plugins))
        .filter(|p| p.decides(tool))
    else {
        return (by_rules, Vec::new());
    };
    let session = session_context(shared, session_id);
    let (tool, input, cwd) = (tool.to_owned(), input.clone(), cwd.map(str::to_owned));
    let decided = tokio::task::spawn_blocking(move || {
        plugins.decide(&agentd_plugins::ToolCall {
            tool: &tool,
            input: &input,
            session,
            cwd: cwd.as_deref(),
        })
    })
    .await
    .unwrap_or_default();
    (combine(by_rules, &decided), decided)
}

/// What a plugin is told of the session a call belongs to.
fn session_context(shared: &Shared, session_id: Option<&str>) -> Value {
    let Some(id) = session_id else {
        return Value::Null;
    };
    let Some(s) = shared.registry.read().ok().and_then(|r| r.get(id).cloned()) else {
        return json!({"session_id": id});
    };
    json!({
        "session_id": s.id,
        "agent": s.agent,
        "status": s.status.as_str(),
        "cwd": s.cwd,
        "project": s.project,
        "git_branch": s.git_branch,
        "model": s.model,
        "permission_mode": s.permission_mode,
        "cost_usd": s.cost_usd,
        "context_pct": s.context_pct,
        "prompts": s.prompts,
        "tool_calls": s.tool_calls,
    })
}

/// The rules' judgement and the plugins' answers, combined (pure).
pub fn combine(by_rules: Judged, decided: &[agentd_plugins::Decided]) -> Judged {
    use agentd_plugins::Verdict;
    let rank = |j: &Judged| match j {
        Judged::Decided(Decision::Deny { .. }, _) => 3,
        Judged::Ask(..) => 2,
        Judged::Decided(..) => 1,
        Judged::NoRule(_) => 0,
    };
    let pairs: Vec<(&str, Verdict)> = decided
        .iter()
        .map(|d| (d.plugin.as_str(), d.verdict.clone()))
        .collect();
    let Some((name, verdict)) = agentd_plugins::strongest(&pairs) else {
        return by_rules;
    };
    let plugin_rank = match verdict {
        Verdict::Deny { .. } => 3,
        Verdict::Ask { .. } => 2,
        Verdict::Allow { .. } => 1,
        Verdict::Abstain => 0,
    };
    if plugin_rank <= rank(&by_rules) {
        return by_rules;
    }
    match verdict {
        Verdict::Deny { message } => {
            let why = format!(
                "agentd plugin `{name}` (deny){}",
                message
                    .as_deref()
                    .map(|m| format!(": {m}"))
                    .unwrap_or_default()
            );
            tracing::info!(plugin = name, %why, "plugin decided");
            Judged::Decided(
                Decision::Deny {
                    message: Some(
                        message
                            .clone()
                            .unwrap_or_else(|| format!("Blocked by agentd plugin `{name}`")),
                    ),
                },
                why,
            )
        }
        Verdict::Ask { reason } => Judged::Ask(
            OnTimeout::Fallthrough,
            format!(
                "agentd plugin `{name}` asks a human{}",
                reason
                    .as_deref()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default()
            ),
        ),
        Verdict::Allow { reason } => {
            let why = format!(
                "agentd plugin `{name}` (allow){}",
                reason
                    .as_deref()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default()
            );
            tracing::info!(plugin = name, %why, "plugin decided");
            Judged::Decided(
                Decision::Allow {
                    updated_input: None,
                    updated_permissions: None,
                },
                why,
            )
        }
        Verdict::Abstain => by_rules,
    }
}

/// A new pending approval for `tool` with `input`, to be completed by the caller.
pub fn draft(tool: &str, input: &Value, origin: Origin) -> Approval {
    Approval::pending(new_id(), tool, input.clone(), origin, crate::now_ms())
}

/// A fresh approval id: `apr_` and 16 hex digits.
pub fn new_id() -> String {
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        // Unique enough without randomness: time and a per-process counter.
        static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        bytes = (crate::now_ms() as u64 ^ n.rotate_left(32)).to_be_bytes();
    }
    format!(
        "apr_{}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

fn daemon_event(name: &str, approval: &Approval, ts_ms: i64) -> Result<Prepared, StoreError> {
    let mut payload = serde_json::to_value(approval).map_err(|e| StoreError::Corrupt {
        table: "approvals",
        why: e.to_string(),
    })?;
    if let Value::Object(map) = &mut payload {
        map.insert("name".into(), json!(name));
    }
    prepare_at(Source::Daemon, &payload, Default::default(), ts_ms).map_err(|e| {
        StoreError::Corrupt {
            table: "approvals",
            why: e.to_string(),
        }
    })
}

/// Inside the writer: creates `approval` and its `approval.requested` event.
pub(crate) fn create(txn: &mut Txn<'_, '_, '_>, approval: &Approval) -> Result<Done, StoreError> {
    txn.batch.insert_approval(approval)?;
    let seq = txn.append(Cow::Owned(daemon_event(
        "ApprovalRequested",
        approval,
        approval.created_ms,
    )?))?;
    Ok(Done::Approval {
        seq,
        approval: Box::new(approval.clone()),
    })
}

/// Inside the writer: resolves an approval if it is still pending.
pub(crate) fn resolve(
    txn: &mut Txn<'_, '_, '_>,
    r: &Resolution,
) -> Result<Result<Done, Refused>, StoreError> {
    let Some(current) = txn.batch.get_approval(&r.id)? else {
        return Ok(Err(Refused::NotFound));
    };
    if current.status != ApprovalStatus::Pending {
        return Ok(Err(Refused::AlreadyResolved(Box::new(current))));
    }
    let now = crate::now_ms();
    let resolved = Approval {
        status: r.status,
        decision: r.decision.clone(),
        decided_by: Some(r.by.clone()),
        decided_ms: Some(now),
        reason: r.reason.clone(),
        ..current
    };
    match txn.batch.resolve_approval(&resolved)? {
        Ok(()) => {}
        Err(Some(won)) => return Ok(Err(Refused::AlreadyResolved(Box::new(won)))),
        Err(None) => return Ok(Err(Refused::NotFound)),
    }
    let seq = txn.append(Cow::Owned(daemon_event(
        "ApprovalResolved",
        &resolved,
        now,
    )?))?;
    let outcome = match &r.decision {
        Some(d) => Outcome::Decided(d.clone()),
        None => Outcome::Moot,
    };
    txn.wake.push((r.id.clone(), outcome));
    Ok(Ok(Done::Approval {
        seq,
        approval: Box::new(resolved),
    }))
}

/// Inside the writer, before a hook event is appended: settles the pending
/// approvals that event makes moot (the human answered in the terminal, or
/// the agent's process is gone).
pub(crate) fn settle_moot(txn: &mut Txn<'_, '_, '_>, p: &Prepared) -> Result<(), StoreError> {
    let e = &p.event;
    let tool_scoped = matches!(
        p.name.as_str(),
        "PostToolUse" | "PostToolUseFailure" | "PermissionDenied" | "ElicitationResult"
    );
    let (status, by) = match (p.source, p.name.as_str()) {
        (Source::Hook, "PostToolUse" | "PostToolUseFailure" | "PermissionDenied")
        | (Source::Hook, "ElicitationResult")
        | (Source::Hook, "Stop" | "StopFailure" | "UserPromptSubmit" | "SessionEnd") => {
            (ApprovalStatus::AnsweredInTerminal, "terminal")
        }
        (Source::Daemon, "ProcessExited") => (ApprovalStatus::Expired, "agentd"),
        _ => return Ok(()),
    };
    let Some(candidates) = txn.shared.holds.of_session(&e.session_id) else {
        return Ok(());
    };
    if candidates.is_empty() {
        return Ok(());
    }
    let tool = if p.name == "ElicitationResult" {
        p.payload_field("mcp_server_name")
            .map(|s| format!("mcp__{s}"))
    } else if tool_scoped {
        p.payload_field("tool_name")
    } else {
        None
    };
    let ids: Vec<String> = candidates
        .into_iter()
        .filter(|(_, t, agent)| {
            !tool_scoped || (Some(t.as_str()) == tool.as_deref() && *agent == e.context.agent_id)
        })
        .map(|(id, ..)| id)
        .collect();
    for id in ids {
        let r = Resolution {
            id,
            status,
            decision: None,
            by: by.to_owned(),
            reason: Some(if p.name == "ProcessExited" {
                "the session's process exited (killed, or it ended) before anyone decided"
                    .to_owned()
            } else {
                format!("settled by {}", p.name)
            }),
        };
        // Not pending any more (or not created yet): nothing to settle.
        let _ = resolve(txn, &r)?;
    }
    Ok(())
}

/// After a commit: hands each outcome to its held hook call.
pub(crate) fn wake(shared: &Shared, outcomes: Vec<(String, Outcome)>) {
    shared.holds.wake(outcomes);
}

/// Resolves `id` through the writer (compare-and-set).
///
/// # Errors
/// As [`writer::run`].
pub async fn settle(shared: &Shared, r: Resolution) -> Result<Approval, ServiceError> {
    match writer::run(shared, Work::Resolve(Box::new(r))).await? {
        Done::Approval { approval, .. } => Ok(*approval),
        Done::Event { .. } | Done::Compacted(_) | Done::Vacuumed { .. } => Err(
            ServiceError::internal("writer answered with something else than an approval"),
        ),
    }
}

/// Whether a hook call still waits for approval `id`.
pub fn reachable(shared: &Shared, id: &str) -> bool {
    shared.holds.reachable(id)
}

/// Creates `approval` and returns the hold of the hook call (`seq` is the
/// hook event's). The reply comes from a decision, a moot event, or
/// `timeout` (then `on_timeout` decides).
///
/// # Errors
/// As [`writer::run`] for the creation.
pub async fn hold(
    shared: Arc<Shared>,
    approval: Approval,
    seq: u64,
    timeout: Duration,
    on_timeout: OnTimeout,
) -> Result<Hold, ServiceError> {
    let id = approval.id.clone();
    let (tx, rx) = oneshot::channel();
    shared.holds.insert(Held {
        approval: approval.clone(),
        waiter: Some(tx),
    });
    if let Err(e) = writer::run(&shared, Work::Create(Box::new(approval.clone()))).await {
        shared.holds.remove(&id);
        return Err(e);
    }
    let notice = HoldNotice::ApprovalHeld {
        approval_id: id.clone(),
        timeout_s: timeout.as_secs(),
    };
    let reply = async move {
        let mut guard = OrphanGuard {
            shared: Arc::clone(&shared),
            id: id.clone(),
            armed: true,
        };
        let outcome = tokio::time::timeout(timeout, rx).await;
        guard.armed = false;
        let decision = match outcome {
            Ok(Ok(Outcome::Decided(d))) => Some(d),
            Ok(Ok(Outcome::Moot)) | Ok(Err(_)) => None,
            Err(_) => {
                let decision = match on_timeout {
                    OnTimeout::Fallthrough => None,
                    OnTimeout::Deny => Some(Decision::Deny {
                        message: Some(format!(
                            "No decision within {} s; denied by agentd policy.",
                            timeout.as_secs()
                        )),
                    }),
                    OnTimeout::Allow => Some(Decision::Allow {
                        updated_input: None,
                        updated_permissions: None,
                    }),
                };
                let r = Resolution {
                    id: id.clone(),
                    status: ApprovalStatus::TimedOut,
                    decision: decision.clone(),
                    by: "agentd".to_owned(),
                    reason: Some(format!(
                        "no decision within {} s (on_timeout: {on_timeout:?})",
                        timeout.as_secs()
                    )),
                };
                match settle(&shared, r).await {
                    Ok(_) => decision,
                    // Decided in the last instant: that decision went to our waiter, now gone.
                    Err(_) => None,
                }
            }
        };
        let output = decision.map(|d| output_for(&approval, &d));
        serde_json::to_value(IngestResult {
            seq,
            output,
            exit_code: 0,
        })
        .map_err(|e| ServiceError::internal(e.to_string()))
    };
    Ok(Hold {
        stream: None,
        notice,
        reply: Box::pin(reply),
    })
}

/// Claude Code's hook output for `decision` on `approval`.
pub fn output_for(approval: &Approval, decision: &Decision) -> Value {
    match approval.origin {
        Origin::PermissionRequest => agentd_claude::output::permission_request(decision, approval),
        Origin::PreToolUse => agentd_claude::output::pre_tool_use(
            decision,
            &approval.tool_input,
            &format!("decided via agentd (approval {})", approval.id),
        ),
        Origin::CanUseTool => agentd_claude::output::can_use_tool(decision, approval),
        Origin::Elicitation => agentd_claude::output::elicitation(decision),
        // No hook waits for it: the MCP tool call reads the approval itself.
        Origin::AskHuman => Value::Null,
    }
}

/// Marks an approval orphaned when its hook call goes away undecided.
struct OrphanGuard {
    shared: Arc<Shared>,
    id: String,
    armed: bool,
}

impl Drop for OrphanGuard {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        self.shared.holds.abandon(&self.id);
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let shared = Arc::clone(&self.shared);
        let id = self.id.clone();
        runtime.spawn(async move {
            tokio::time::sleep(ORPHAN_GRACE).await;
            let r = Resolution {
                id,
                status: ApprovalStatus::Expired,
                decision: None,
                by: "agentd".to_owned(),
                reason: Some("Claude Code stopped waiting for this hook call".to_owned()),
            };
            // Settled meanwhile (answered in the terminal): nothing to do.
            let _ = settle(&shared, r).await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use agentd_plugins::{Decided, Verdict};

    fn said(plugin: &str, verdict: Verdict) -> Decided {
        Decided {
            plugin: plugin.into(),
            verdict,
            failure: None,
        }
    }

    fn allow() -> Decision {
        Decision::Allow {
            updated_input: None,
            updated_permissions: None,
        }
    }

    #[test]
    fn deny_beats_ask_beats_allow_across_rules_and_plugins() {
        let deny = || Verdict::Deny {
            message: Some("no".into()),
        };
        let ask = || Verdict::Ask { reason: None };
        // A plugin's deny beats a rule's allow, with the plugin's message.
        let j = combine(
            Judged::Decided(allow(), "rule #1".into()),
            &[said("p", deny())],
        );
        assert!(
            matches!(&j, Judged::Decided(Decision::Deny { message: Some(m) }, why) if m == "no" && why.contains("plugin `p`")),
            "{j:?}"
        );
        // A plugin's ask beats no rule; a rule's ask stands against a plugin's allow.
        let j = combine(Judged::NoRule(2), &[said("p", ask())]);
        assert!(
            matches!(&j, Judged::Ask(OnTimeout::Fallthrough, why) if why.contains("plugin `p`")),
            "{j:?}"
        );
        let j = combine(
            Judged::Ask(OnTimeout::Deny, "rule #2".into()),
            &[said("p", Verdict::Allow { reason: None })],
        );
        assert!(
            matches!(&j, Judged::Ask(OnTimeout::Deny, why) if why == "rule #2"),
            "{j:?}"
        );
        // Abstaining (or failing) plugins leave the rules' answer.
        let j = combine(
            Judged::NoRule(0),
            &[Decided {
                plugin: "spin".into(),
                verdict: Verdict::Abstain,
                failure: Some("timeout".into()),
            }],
        );
        assert!(matches!(j, Judged::NoRule(0)), "{j:?}");
        // Equals: the rule first.
        let j = combine(
            Judged::Decided(allow(), "rule #1".into()),
            &[said("p", Verdict::Allow { reason: None })],
        );
        assert!(
            matches!(&j, Judged::Decided(_, why) if why == "rule #1"),
            "{j:?}"
        );
        // Plugins among themselves: deny wins whatever the order.
        let j = combine(
            Judged::NoRule(0),
            &[
                said("a", Verdict::Allow { reason: None }),
                said("b", deny()),
                said("c", ask()),
            ],
        );
        assert!(
            matches!(&j, Judged::Decided(Decision::Deny { .. }, why) if why.contains("`b`")),
            "{j:?}"
        );
    }
}
