//! Method dispatch: one request in, one result or error out.

use std::sync::Arc;

use agentd_claude::hook::HookEnv;
use agentd_proto::api::{
    EventsList, EventsListParams, Health, IngestParams, IngestResult, InitializeParams,
    InitializeResult, SessionView, SessionsGetParams, SessionsListParams,
};
use agentd_proto::{PROTOCOL_VERSION, RpcError, code, major_version, method};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::ingest::{self, Source};
use crate::state::Shared;

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

/// Dispatches every method except `initialize` and `events.subscribe`
/// (which the connection handles).
///
/// # Errors
/// The method's [`RpcError`]; [`code::METHOD_NOT_FOUND`] for unknown methods.
pub async fn dispatch(
    shared: &Arc<Shared>,
    method: &str,
    p: Option<Value>,
) -> Result<Value, RpcError> {
    match method {
        method::HEALTH => to_value(health(shared)),
        method::HOOK_INGEST => ingest(shared, Source::Hook, params(method, p)?).await,
        method::STATUS_INGEST => ingest(shared, Source::StatusLine, params(method, p)?).await,
        method::SESSIONS_LIST => sessions_list(shared, params(method, p)?),
        method::SESSIONS_GET => {
            let p: SessionsGetParams = params(method, p)?;
            to_value(session_get(shared, &p.id)?)
        }
        method::EVENTS_LIST => events_list(shared, params(method, p)?).await,
        other => Err(RpcError::new(
            code::METHOD_NOT_FOUND,
            format!("unknown method `{other}`; see the method list in ARCHITECTURE.md"),
        )),
    }
}

/// The `health` result.
pub fn health(shared: &Shared) -> Health {
    Health {
        status: "ok".to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        uptime_s: shared.started.elapsed().as_secs(),
        http_addr: shared.http_addr.read().ok().and_then(|a| a.clone()),
        pid: std::process::id(),
        sessions: shared.registry.read().map(|r| r.len()).unwrap_or(0),
        head_seq: shared.head_seq(),
        problems: Vec::new(),
    }
}

/// Ingests one payload and returns the hook result.
///
/// # Errors
/// Bad payloads ([`code::INVALID_PARAMS`]), shutdown, store failures.
pub async fn ingest(
    shared: &Arc<Shared>,
    source: Source,
    p: IngestParams,
) -> Result<Value, RpcError> {
    let env: HookEnv = match p.env {
        Value::Null => HookEnv::default(),
        v => serde_json::from_value(v)
            .map_err(|e| RpcError::invalid_params(format!("bad `env`: {e}")))?,
    };
    let prepared = ingest::prepare(source, &p.payload, env)?;
    let seq = ingest::submit(shared, prepared).await?;
    to_value(IngestResult {
        seq,
        output: None,
        exit_code: 0,
    })
}

fn sessions_list(shared: &Shared, p: SessionsListParams) -> Result<Value, RpcError> {
    let all = shared
        .registry
        .read()
        .map(|r| r.list())
        .map_err(|_| RpcError::new(code::INTERNAL_ERROR, "registry lock poisoned"))?;
    let views: Vec<SessionView> = all
        .into_iter()
        .filter(|s| {
            p.status
                .as_ref()
                .is_none_or(|wanted| wanted.iter().any(|w| w == s.status.as_str()))
        })
        .take(p.limit.unwrap_or(usize::MAX))
        .map(SessionView::new)
        .collect();
    to_value(views)
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

async fn events_list(shared: &Arc<Shared>, p: EventsListParams) -> Result<Value, RpcError> {
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
