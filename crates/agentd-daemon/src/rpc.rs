//! Method dispatch: one request in, one result or error out.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use agentd_claude::hook::HookEnv;
use std::time::Duration;

use agentd_core::{Approval, ApprovalStatus, Decision, Origin};
use agentd_proto::api::{
    ApprovalView, ApprovalsGetParams, ApprovalsListParams, DecideParams, EventsList,
    EventsListParams, Health, IngestParams, IngestResult, InitializeParams, InitializeResult,
    LaunchParams, SendParams, SessionView, SessionsGetParams, SessionsListParams,
};
use agentd_proto::{PROTOCOL_VERSION, RpcError, code, major_version, method};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::approvals::{self, Hold, Judged};
use crate::ingest::{self, Source};
use crate::launch;
use crate::state::Shared;
use crate::writer::Resolution;

/// Bytes of payload one `events.list` response may carry (under the frame limit).
pub const RESPONSE_BUDGET: usize = agentd_proto::MAX_FRAME_BYTES - 64 * 1024;

/// Most events one `events.list` returns.
pub const MAX_EVENTS_PAGE: usize = 10_000;

/// Decodes `params` into `P`; absent params decode from `{}`.
///
/// # Errors
/// [`code::INVALID_PARAMS`] naming the problem.
pub fn params<P: DeserializeOwned>(method: &str, params: Option<Value>) -> Result<P, RpcError> {
    let value = match params {
        None | Some(Value::Null) => Value::Object(Default::default()),
        Some(v) => v,
    };
    serde_json::from_value(value)
        .map_err(|e| RpcError::invalid_params(format!("bad params for `{method}`: {e}")))
}

fn to_value<T: Serialize>(v: T) -> Result<Value, RpcError> {
    serde_json::to_value(v).map_err(|e| RpcError::new(code::INTERNAL_ERROR, e.to_string()))
}

/// Checks the `initialize` params.
///
/// # Errors
/// [`code::INCOMPATIBLE_VERSION`] naming both versions.
pub fn initialize(p: Option<Value>) -> Result<Value, RpcError> {
    let p: InitializeParams = params(method::INITIALIZE, p)?;
    let ours = major_version(PROTOCOL_VERSION);
    if major_version(&p.protocol_version).is_none() || major_version(&p.protocol_version) != ours {
        return Err(RpcError::new(
            code::INCOMPATIBLE_VERSION,
            format!(
                "incompatible protocol version: client speaks {:?}, daemon speaks {PROTOCOL_VERSION}; use the agentd binary that matches the running daemon",
                p.protocol_version
            ),
        ));
    }
    to_value(InitializeResult {
        protocol_version: PROTOCOL_VERSION.to_owned(),
        server_version: env!("CARGO_PKG_VERSION").to_owned(),
    })
}

/// A method's answer: now, or once a held tool call is decided.
pub enum Reply {
    /// The result.
    Now(Result<Value, RpcError>),
    /// A held `hook.ingest`: send `approval.held`, then the reply when ready.
    Held(Hold),
}

/// Dispatches every method except `initialize` and `events.subscribe`
/// (which the connection handles). `client` names the caller (for
/// `decided_by`).
pub async fn dispatch(shared: &Arc<Shared>, method: &str, p: Option<Value>, client: &str) -> Reply {
    if method == method::HOOKS_EXECUTE {
        return match crate::hooks::execute(shared, p).await {
            Ok(hold) => Reply::Held(hold),
            Err(e) => Reply::Now(Err(e)),
        };
    }
    if method == method::HOOK_INGEST {
        let ingested = match params(method, p) {
            Ok(p) => ingest(shared, Source::Hook, p).await,
            Err(e) => Err(e),
        };
        return ingested.unwrap_or_else(|e| Reply::Now(Err(e)));
    }
    Reply::Now(call(shared, method, p, client).await)
}

async fn call(
    shared: &Arc<Shared>,
    method: &str,
    p: Option<Value>,
    client: &str,
) -> Result<Value, RpcError> {
    match method {
        method::HEALTH => to_value(health(shared)),
        method::STATUS_INGEST => {
            match ingest(shared, Source::StatusLine, params(method, p)?).await? {
                Reply::Now(r) => r,
                Reply::Held(_) => Err(RpcError::new(
                    code::INTERNAL_ERROR,
                    "a status line is never held",
                )),
            }
        }
        method::SESSIONS_LIST => sessions_list(shared, params(method, p)?).await,
        method::SESSIONS_GET => {
            let p: SessionsGetParams = params(method, p)?;
            to_value(session_get(shared, &p.id)?)
        }
        method::EVENTS_LIST => events_list(shared, params(method, p)?).await,
        method::HOOKS_LIST => crate::hooks::list(shared, p).await,
        method::HOOKS_HISTORY => crate::hooks::history(shared, p).await,
        method::STORE_GC => crate::retention::gc(shared).await,
        method::APPROVALS_LIST => {
            let p: ApprovalsListParams = params(method, p)?;
            let limit = p.limit.unwrap_or(1000).clamp(1, 100_000);
            let list = shared
                .read(move |r| r.approvals(p.all, p.session_id.as_deref(), limit))
                .await
                .map_err(store_error)?;
            to_value(list.into_iter().map(ApprovalView::new).collect::<Vec<_>>())
        }
        method::APPROVALS_GET => {
            let p: ApprovalsGetParams = params(method, p)?;
            to_value(ApprovalView::new(approval_get(shared, &p.id).await?))
        }
        method::APPROVALS_DECIDE => decide(shared, params(method, p)?, client).await,
        method::SESSIONS_LAUNCH => {
            let p: LaunchParams = params(method, p)?;
            to_value(launch::launch(shared, p, None).await?)
        }
        method::SESSIONS_SEND => {
            let p: SendParams = params(method, p)?;
            let id = session_get(shared, &p.id)
                .map(|s| s.session.id)
                .unwrap_or(p.id);
            to_value(launch::send(shared, &id, &p.message).await?)
        }
        method::SESSIONS_INTERRUPT => {
            let p: SessionsGetParams = params(method, p)?;
            let id = session_get(shared, &p.id)?.session.id;
            launch::interrupt(shared, &id).await?;
            to_value(serde_json::json!({"session_id": id, "interrupted": true}))
        }
        method::SESSIONS_KILL => {
            let p: SessionsGetParams = params(method, p)?;
            let id = session_get(shared, &p.id)?.session.id;
            let signal = launch::kill(shared, &id).await?;
            to_value(serde_json::json!({"session_id": id, "ended_by": signal}))
        }
        other => match crate::index::call(shared, other, p).await {
            Some(r) => r,
            None => Err(RpcError::new(
                code::METHOD_NOT_FOUND,
                format!("unknown method `{other}`; see the method list in ARCHITECTURE.md"),
            )),
        },
    }
}

fn store_error(e: agentd_store::StoreError) -> RpcError {
    RpcError::new(code::STORE_ERROR, format!("reading the store failed: {e}"))
}

/// Finds an approval by id or unique id prefix.
///
/// # Errors
/// [`code::NOT_FOUND`], or [`code::INVALID_PARAMS`] for an ambiguous prefix.
pub async fn approval_get(shared: &Arc<Shared>, id: &str) -> Result<Approval, RpcError> {
    let key = id.to_owned();
    let mut found = shared
        .read(move |r| r.approval(&key))
        .await
        .map_err(store_error)?;
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(RpcError::new(
            code::NOT_FOUND,
            format!("no approval `{id}`; `agentd approvals --all` lists them"),
        )),
        _ => Err(RpcError::invalid_params(format!(
            "`{id}` matches several approvals; give more of the id"
        ))),
    }
}

/// `approvals.decide`: the first decision wins.
///
/// # Errors
/// [`code::CONFLICT`] naming who decided first, [`code::GONE`] when no hook
/// call waits any more (the approval then expires), not found, store errors.
pub async fn decide(
    shared: &Arc<Shared>,
    p: DecideParams,
    client: &str,
) -> Result<Value, RpcError> {
    let approval = approval_get(shared, &p.id).await?;
    let by = p.by.clone().unwrap_or_else(|| client.to_owned());
    if approval.status == ApprovalStatus::Pending && !approvals::reachable(shared, &approval.id) {
        let r = Resolution {
            id: approval.id.clone(),
            status: ApprovalStatus::Expired,
            decision: None,
            by: "agentd".to_owned(),
            reason: Some("no hook call waits for it any more".to_owned()),
        };
        // Resolved meanwhile: the compare-and-set below reports who won.
        if approvals::settle(shared, r).await.is_ok() {
            return Err(RpcError::new(
                code::GONE,
                format!(
                    "approval {} can no longer be decided here: Claude Code stopped waiting for it, so it expired; answer in the terminal",
                    approval.id
                ),
            ));
        }
    }
    let mut decision = p.decision;
    if p.apply_suggestions
        && let Decision::Allow {
            updated_permissions,
            ..
        } = &mut decision
        && !approval.permission_suggestions.is_null()
    {
        *updated_permissions = Some(approval.permission_suggestions.clone());
    }
    let r = Resolution {
        id: approval.id,
        status: decision.status(),
        decision: Some(decision),
        by,
        reason: p.reason,
    };
    to_value(ApprovalView::new(approvals::settle(shared, r).await?))
}

/// The `health` result.
pub fn health(shared: &Shared) -> Health {
    let problems: Vec<String> = launch::claude_path(shared).err().into_iter().collect();
    Health {
        status: if problems.is_empty() {
            "ok"
        } else {
            "degraded"
        }
        .to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        uptime_s: shared.started.elapsed().as_secs(),
        http_addr: shared.http_addr.read().ok().and_then(|a| a.clone()),
        pid: std::process::id(),
        sessions: shared.registry.read().map(|r| r.len()).unwrap_or(0),
        head_seq: shared.head_seq(),
        problems,
        limits: agentd_proto::api::HealthLimits {
            connections: shared.connections.all.load(Ordering::Relaxed),
            connection_cap: shared.socket_cap,
            connections_refused: shared.connections.refused.load(Ordering::Relaxed),
            buffered_bytes: shared.budget.total(),
            subscribers_dropped: shared.subscribers_dropped.load(Ordering::Relaxed),
        },
    }
}

/// Ingests one payload. Hook events that need a human (a PermissionRequest,
/// or a PreToolUse a rule routes to `ask`) come back [`Reply::Held`].
///
/// # Errors
/// Bad payloads ([`code::INVALID_PARAMS`]), shutdown, store failures.
pub async fn ingest(
    shared: &Arc<Shared>,
    source: Source,
    p: IngestParams,
) -> Result<Reply, RpcError> {
    let mut env: HookEnv = match p.env {
        Value::Null => HookEnv::default(),
        v => serde_json::from_value(v)
            .map_err(|e| RpcError::invalid_params(format!("bad `env`: {e}")))?,
    };
    let project_dir = env.project_dir.clone();
    if let Some(dir) = ingest::branch_lookup(source, &p.payload, &env) {
        env.git_branch = crate::blocking::bounded("looking up the git branch", move || {
            ingest::git_branch(&dir)
        })
        .await
        .flatten();
    }
    let mut prepared = ingest::prepare(source, &p.payload, env)?;
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
    crate::index::nudge(shared, &p.payload);
    let now = |output: Option<Value>| {
        to_value(IngestResult {
            seq,
            output,
            exit_code: 0,
        })
    };
    let event = agentd_claude::hook::event_name(&p.payload);
    // Nothing else to say: agentd's own hook checks may apply.
    let checks = |reply: Result<Value, RpcError>| -> Reply {
        match found.and_then(|f| crate::hooks::hold(shared, f, &p.payload, seq)) {
            Some(hold) => Reply::Held(hold),
            None => Reply::Now(reply),
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
    let judged = if origin == Origin::Elicitation {
        Judged::NoRule
    } else {
        approvals::judge(shared, &tool, &input, cwd.as_deref())
    };
    let ask = match judged {
        Judged::Decided(decision, why) => {
            let probe = approvals::draft(&tool, &input, origin);
            let output = match origin {
                Origin::PreToolUse => agentd_claude::output::pre_tool_use(&decision, &input, &why),
                _ => approvals::output_for(&probe, &decision),
            };
            return Ok(Reply::Now(now(Some(output))));
        }
        Judged::Ask(on_timeout) => Some(on_timeout),
        Judged::NoRule => None,
    };
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
    Ok(Reply::Held(hold))
}

async fn sessions_list(shared: &Arc<Shared>, p: SessionsListParams) -> Result<Value, RpcError> {
    // Pages after the first are slices of the list the first one built.
    let key = format!("{:?}|{:?}|{:?}", p.status, p.project, p.history);
    let kept = (p.offset.unwrap_or(0) > 0)
        .then(|| shared.session_pages.get(&key))
        .flatten();
    let views = match kept {
        Some(views) => views,
        None => {
            let views = Arc::new(session_views(shared, &p).await?);
            shared.session_pages.put(key, Arc::clone(&views));
            views
        }
    };
    let (fits, next_offset) = crate::paging::page(
        &views,
        p.offset.unwrap_or(0),
        p.limit,
        crate::paging::PAGE_BYTES,
    );
    let sessions = &views[fits];
    if p.paged {
        return Ok(serde_json::json!({"sessions": sessions, "next_offset": next_offset}));
    }
    if let Some(next) = next_offset
        && p.limit.is_none_or(|l| sessions.len() < l)
    {
        return Err(RpcError::invalid_params(format!(
            "{next} sessions fit a frame and more follow; ask with `paged: true` and go on from `next_offset` (or give a smaller `limit`)"
        )));
    }
    to_value(sessions)
}

/// Every session `p` selects, registry and index merged, in list order.
async fn session_views(
    shared: &Arc<Shared>,
    p: &SessionsListParams,
) -> Result<Vec<SessionView>, RpcError> {
    let all = shared
        .registry
        .read()
        .map(|r| r.list())
        .map_err(|_| RpcError::new(code::INTERNAL_ERROR, "registry lock poisoned"))?;
    let wants = |status: &str| {
        p.status
            .as_ref()
            .is_none_or(|wanted| wanted.iter().any(|w| w == status))
    };
    let in_project = |cwd: Option<&str>, project: Option<&str>| match &p.project {
        None => true,
        Some(want) => [cwd, project]
            .iter()
            .flatten()
            .any(|s| s.contains(want.as_str())),
    };
    // Sessions the registry knows are never repeated from the index, even
    // when the filters left them out.
    let registry_ids: std::collections::HashSet<String> =
        all.iter().map(|s| s.id.clone()).collect();
    let mut views: Vec<SessionView> = all
        .into_iter()
        .filter(|s| wants(s.status.as_str()))
        .filter(|s| in_project(s.cwd.as_deref(), s.project.as_deref()))
        .map(SessionView::new)
        .collect();
    if p.history.unwrap_or(true) {
        let indexed = crate::index::history(
            shared,
            agentd_index::query::SessionFilter {
                project: p.project.clone(),
                limit: Some(100_000),
                ..Default::default()
            },
        )
        .await;
        let mut by_id: std::collections::HashMap<String, usize> = views
            .iter()
            .enumerate()
            .map(|(i, v)| (v.session.id.clone(), i))
            .collect();
        for s in indexed {
            let history = agentd_proto::api::SessionHistory {
                title: s.title.clone(),
                first_prompt: s.first_prompt.clone(),
                models: s.models.clone(),
                user_messages: s.user_messages,
                assistant_messages: s.assistant_messages,
                total_tokens: s.total_tokens,
                subagents: s.subagents.clone(),
            };
            if let Some(&i) = by_id.get(&s.id) {
                // A session whose status line never ran (headless) has its
                // model only in the transcript.
                if views[i].session.model.is_none() {
                    views[i].session.model = s.models.last().cloned();
                }
                views[i].history = Some(history);
                continue;
            }
            if registry_ids.contains(&s.id) {
                continue;
            }
            if !wants("ended") {
                continue;
            }
            let first = s.first_ms.unwrap_or(0);
            let mut session = agentd_core::Session::new(s.id.clone(), "claude", first);
            session.status = agentd_core::Status::Ended;
            session.status_since_ms = s.last_ms.unwrap_or(first);
            session.last_event_ms = s.last_ms.unwrap_or(first);
            session.cwd = s.cwd.clone();
            session.project = s.cwd.clone().or(s.project_folder.clone());
            session.git_branch = s.git_branch.clone();
            session.model = s.models.last().cloned();
            session.prompts = s.user_messages;
            session.end_reason = Some("transcript".to_owned());
            let mut view = SessionView::new(session);
            view.live = false;
            view.history = Some(history);
            by_id.insert(s.id, views.len());
            views.push(view);
        }
    }
    Ok(views)
}

/// Finds a session by id or unique id prefix.
///
/// # Errors
/// [`code::NOT_FOUND`], or [`code::INVALID_PARAMS`] for an ambiguous prefix.
pub fn session_get(shared: &Shared, id: &str) -> Result<SessionView, RpcError> {
    let registry = shared
        .registry
        .read()
        .map_err(|_| RpcError::new(code::INTERNAL_ERROR, "registry lock poisoned"))?;
    if let Some(s) = registry.get(id) {
        return Ok(SessionView::new(s.clone()));
    }
    let matches: Vec<_> = if id.is_empty() {
        Vec::new()
    } else {
        registry.iter().filter(|s| s.id.starts_with(id)).collect()
    };
    match matches.as_slice() {
        [one] => Ok(SessionView::new((*one).clone())),
        [] => Err(RpcError::new(
            code::NOT_FOUND,
            format!("no session `{id}`; `agentd ls` lists the known sessions"),
        )),
        many => Err(RpcError::invalid_params(format!(
            "`{id}` matches {} sessions; give more of the id",
            many.len()
        ))),
    }
}

/// A `session_id` filter as a client gave it: a unique prefix of a known
/// session becomes its id (as for `sessions.get`); anything else stays as
/// it is (and simply matches nothing).
///
/// # Errors
/// [`code::INVALID_PARAMS`] for a prefix of several sessions.
pub fn session_filter(shared: &Shared, id: Option<String>) -> Result<Option<String>, RpcError> {
    match id {
        None => Ok(None),
        Some(id) => match session_get(shared, &id) {
            Ok(v) => Ok(Some(v.session.id)),
            Err(e) if e.code == code::NOT_FOUND => Ok(Some(id)),
            Err(e) => Err(e),
        },
    }
}

async fn events_list(shared: &Arc<Shared>, mut p: EventsListParams) -> Result<Value, RpcError> {
    p.session_id = session_filter(shared, p.session_id)?;
    let limit = p.limit.unwrap_or(1000).clamp(1, MAX_EVENTS_PAGE);
    let head = shared.head_seq();
    let rows = shared
        .read(move |r| {
            r.events(
                p.after_seq,
                p.session_id.as_deref(),
                p.kinds.as_deref(),
                limit,
            )
        })
        .await
        .map_err(|e| {
            RpcError::new(
                code::STORE_ERROR,
                format!("reading the event log failed: {e}"),
            )
        })?;
    // Stop early rather than exceed the frame limit; clients page on by seq.
    let mut budget = RESPONSE_BUDGET;
    let mut events = Vec::with_capacity(rows.len());
    for row in &rows {
        let cost = row.payload.len() + row.env.len() + 512;
        if cost > budget && !events.is_empty() {
            break;
        }
        budget = budget.saturating_sub(cost);
        events.push(ingest::record_of(row));
    }
    to_value(EventsList {
        events,
        head_seq: head,
    })
}
