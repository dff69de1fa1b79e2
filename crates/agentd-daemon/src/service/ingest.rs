//! Ingest: a hook payload or a status-line snapshot into the log; the
//! policy rules, and a tool call held for a human when one must decide.

use std::sync::Arc;
use std::time::Duration;

use agentd_claude::hook::HookEnv;
use agentd_core::{Agent, Approval, Origin};
use agentd_proto::api::{IngestParams, IngestResult};
use serde_json::Value;

use super::{Service, ServiceError};
use crate::approvals::{self, Hold, Judged};
use crate::ingest::{self, Source};

/// What ingesting answers: now, or once a held tool call is decided.
pub enum Ingested {
    /// The result.
    Now(IngestResult),
    /// A held hook call: tell the caller it is held, then answer when ready.
    Held(Hold),
}

impl Service {
    /// Ingests one payload from `source`. Hook events that need a human (a
    /// PermissionRequest, a PreToolUse a rule routes to `ask`, an MCP
    /// elicitation), and events whose project checks run, come back
    /// [`Ingested::Held`]. `peer_pid` is the sending process as the kernel
    /// names it (a hook client on the socket): when `env` does not name the
    /// agent's pid and the session has no live one yet, it is found from
    /// there ([`crate::agent_pid`]).
    ///
    /// # Errors
    /// [`ServiceError::Invalid`] for a bad payload or `env`;
    /// [`ServiceError::ShuttingDown`]; [`ServiceError::Store`].
    pub async fn ingest(
        &self,
        source: Source,
        mut p: IngestParams,
        peer_pid: Option<u32>,
    ) -> Result<Ingested, ServiceError> {
        let env: HookEnv = match std::mem::take(&mut p.env) {
            Value::Null => HookEnv::default(),
            v => serde_json::from_value(v)
                .map_err(|e| ServiceError::invalid(format!("bad `env`: {e}")))?,
        };
        let agent = env.agent();
        let view = match crate::agents::view(agent, &p.payload) {
            std::borrow::Cow::Owned(v) if source == Source::Hook => Some(v),
            _ => None,
        };
        let Some(view) = view else {
            if agent == Agent::Claude || source != Source::Hook {
                return self.ingest_as_claude(source, p, None, env, peer_pid).await;
            }
            // Claude Code's shape already (Codex): only the reply may differ.
            let own = p.payload.clone();
            let ingested = self
                .ingest_as_claude(source, p, None, env, peer_pid)
                .await?;
            return Ok(in_agents_shape(agent, own, ingested));
        };
        // Decide on the payload as Claude Code's PreToolUse etc. would have
        // been sent, store the agent's own, answer in the agent's shape.
        let own = p.payload.clone();
        let ingested = self
            .ingest_as_claude(
                source,
                IngestParams { payload: view, ..p },
                Some(&own),
                env,
                peer_pid,
            )
            .await?;
        Ok(in_agents_shape(agent, own, ingested))
    }

    /// Ingests `p`, whose payload is in Claude Code's shape; `own` is the
    /// agent's own payload when that differs (it is what is stored).
    async fn ingest_as_claude(
        &self,
        source: Source,
        p: IngestParams,
        own: Option<&Value>,
        mut env: HookEnv,
        peer_pid: Option<u32>,
    ) -> Result<Ingested, ServiceError> {
        let shared = &self.shared;
        if env.claude_pid.is_none()
            && let Some(peer) = peer_pid
            && self.agent_pid_unknown(&p.payload)
        {
            env.claude_pid = crate::blocking::bounded("finding the agent's pid", move || {
                crate::agent_pid::resolve(peer)
            })
            .await
            .flatten();
        }
        let project_dir = env.project_dir.clone();
        if let Some(dir) = ingest::branch_lookup(source, &p.payload, &env) {
            env.git_branch = crate::blocking::bounded("looking up the git branch", move || {
                ingest::git_branch(&dir)
            })
            .await
            .flatten();
        }
        let mut prepared = ingest::prepare(source, own.unwrap_or(&p.payload), env)?;
        prepared.delivery_id = p.event_id.clone();
        // agentd's own checks for this event, found (off the async workers)
        // while the event commits: the reply depends on both.
        let checks_for = async {
            match source {
                Source::Hook => {
                    crate::hooks::applicable(shared, &p.payload, project_dir.as_deref()).await
                }
                _ => None,
            }
        };
        let (seq, found) = tokio::join!(ingest::submit(shared, prepared), checks_for);
        let seq = seq?;
        shared.index.nudge(&p.payload);
        let now = |output: Option<Value>| IngestResult {
            seq,
            output,
            exit_code: 0,
        };
        let event = agentd_claude::hook::event_name(&p.payload);
        // Nothing else to say: agentd's own hook checks may apply.
        let checks = |reply: IngestResult| -> Ingested {
            match found.and_then(|f| crate::hooks::hold(shared, f, &p.payload, seq)) {
                Some(hold) => Ingested::Held(hold),
                None => Ingested::Now(reply),
            }
        };
        let origin = match (source, event) {
            (Source::Hook, Some("PermissionRequest")) => Origin::PermissionRequest,
            (Source::Hook, Some("PreToolUse")) => Origin::PreToolUse,
            (Source::Hook, Some("Elicitation")) => Origin::Elicitation,
            _ => return Ok(checks(now(None))),
        };
        let str_of = |k: &str| p.payload.get(k).and_then(Value::as_str).map(str::to_owned);
        let (tool, input) = if origin == Origin::Elicitation {
            // An MCP server asks the user: `mcp__<server>`, and the request.
            let server = str_of("mcp_server_name").unwrap_or_default();
            let mut input = p.payload.clone();
            if let Value::Object(m) = &mut input {
                for k in [
                    "session_id",
                    "transcript_path",
                    "cwd",
                    "hook_event_name",
                    "permission_mode",
                ] {
                    m.remove(k);
                }
            }
            (format!("mcp__{server}"), input)
        } else {
            (
                str_of("tool_name").unwrap_or_default(),
                p.payload.get("tool_input").cloned().unwrap_or(Value::Null),
            )
        };
        let cwd = str_of("cwd");
        // Permission rules speak of tool calls, not of MCP servers' questions.
        let mut asked_because = None;
        let judged = if origin == Origin::Elicitation {
            Judged::NoRule(0)
        } else {
            let session = str_of("session_id");
            approvals::judge_all(shared, &tool, &input, cwd.as_deref(), session.as_deref()).await
        };
        let ask = match judged {
            Judged::Decided(decision, why) => {
                let probe = approvals::draft(&tool, &input, origin);
                let output = match origin {
                    Origin::PreToolUse => {
                        agentd_claude::output::pre_tool_use(&decision, &input, &why)
                    }
                    _ => approvals::output_for(&probe, &decision),
                };
                return Ok(Ingested::Now(now(Some(output))));
            }
            Judged::Ask(on_timeout, why) => Some((on_timeout, why)),
            Judged::NoRule(n) => {
                asked_because = Some(match (origin, n) {
                    (Origin::Elicitation, _) => {
                        "an MCP server's question: only a human answers it".to_owned()
                    }
                    (_, 0) => "agentd.toml has no [[rules]]; every tool call it is asked about goes to a human".to_owned(),
                    (_, n) => format!("none of the {n} rules of agentd.toml matches this call"),
                });
                None
            }
        };
        let ask = ask.map(|(on_timeout, why)| {
            asked_because = Some(why);
            on_timeout
        });
        // PreToolUse without an `ask` rule: Claude Code's own flow decides.
        if origin == Origin::PreToolUse && ask.is_none() {
            return Ok(checks(now(None)));
        }
        // A session this daemon launched asks through `can_use_tool` too: that
        // request is the one approval of the tool call, so the hook stays out
        // of the way (no decision: Claude Code goes on to ask on stdio).
        if origin == Origin::PermissionRequest
            && str_of("session_id").is_some_and(|id| crate::launch::asks_on_stdio(shared, &id))
        {
            return Ok(checks(now(None)));
        }
        let approval = Approval {
            session_id: str_of("session_id").unwrap_or_default(),
            agent_id: str_of("agent_id"),
            tool_use_id: str_of("tool_use_id"),
            permission_suggestions: p
                .payload
                .get("permission_suggestions")
                .cloned()
                .unwrap_or(Value::Null),
            cwd,
            asked_because,
            ..approvals::draft(&tool, &input, origin)
        };
        let timeout = Duration::from_secs(shared.config.approvals.timeout_s.max(1));
        let hold = approvals::hold(
            Arc::clone(shared),
            approval,
            seq,
            timeout,
            ask.unwrap_or_default(),
        )
        .await?;
        Ok(Ingested::Held(hold))
    }
}

/// `ingested`'s reply (now, or once held) in `agent`'s shape, for its hook
/// payload `own`.
fn in_agents_shape(agent: Agent, own: Value, ingested: Ingested) -> Ingested {
    match ingested {
        Ingested::Now(r) => Ingested::Now(crate::agents::reply(agent, &own, r)),
        Ingested::Held(mut hold) => {
            let reply = hold.reply;
            hold.reply = Box::pin(async move {
                reply
                    .await
                    .map(|v| crate::agents::reply_value(agent, &own, v))
            });
            Ingested::Held(hold)
        }
    }
}

impl Service {
    /// Whether the agent behind this payload's session must be looked up:
    /// on SessionStart (a resumed session runs in a new process), when the
    /// session has no pid yet, or when its pid has exited.
    fn agent_pid_unknown(&self, payload: &Value) -> bool {
        if agentd_claude::hook::event_name(payload) == Some("SessionStart") {
            return true;
        }
        let Some(id) = payload.get("session_id").and_then(Value::as_str) else {
            return false;
        };
        let known = self
            .shared
            .registry
            .read()
            .ok()
            .and_then(|r| r.get(id).and_then(|s| s.pid));
        !known.is_some_and(crate::agent_pid::alive)
    }
}
