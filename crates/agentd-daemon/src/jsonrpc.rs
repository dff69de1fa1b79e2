//! The JSON-RPC face (the Unix socket): decode a request's params, make one
//! [`Service`] call, encode the result. [`From<ServiceError> for RpcError`]
//! is the one place service errors become JSON-RPC error codes; the codes
//! and shapes are agentd's wire protocol (ARCHITECTURE.md) and do not
//! change with the service behind them.

use agentd_index::query::SearchQuery;
use agentd_index::usage::UsageQuery;
use agentd_proto::api::{
    ApprovalView, ApprovalsGetParams, ApprovalsListParams, DecideParams, EventsListParams,
    FileValidationParams, HooksExecuteParams, HooksHistoryParams, HooksListParams,
    HooksPendingParams, IndexStatusParams, IngestParams, InitializeParams, InitializeResult,
    LaunchParams, RecordExecutionParams, SendParams, SessionsGetParams, SessionsListParams,
    SlotsAcquireParams, SlotsReleaseParams, TranscriptParams,
};
use agentd_proto::{
    Notification, PROTOCOL_VERSION, RpcError, code, major_version, method, notification,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::approvals::{Hold, HoldNotice};
use crate::ingest::Source;
use crate::service::{Ingested, Service, ServiceError, SessionsListed};

impl From<ServiceError> for RpcError {
    fn from(e: ServiceError) -> RpcError {
        let code = match &e {
            ServiceError::NotFound(_) => code::NOT_FOUND,
            ServiceError::Ambiguous(_) | ServiceError::Invalid(_) => code::INVALID_PARAMS,
            ServiceError::Conflict(_) => code::CONFLICT,
            ServiceError::Gone(_) => code::GONE,
            ServiceError::ShuttingDown(_) => code::SHUTTING_DOWN,
            ServiceError::Overloaded(_) => code::OVERLOADED,
            ServiceError::TooLarge(_) => code::FRAME_TOO_LARGE,
            ServiceError::Store(_) => code::STORE_ERROR,
            ServiceError::Internal(_) => code::INTERNAL_ERROR,
        };
        RpcError::new(code, e.message())
    }
}

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

fn encode<T: Serialize>(v: T) -> Result<Value, RpcError> {
    serde_json::to_value(v).map_err(|e| RpcError::new(code::INTERNAL_ERROR, e.to_string()))
}

/// [`encode`] of a service result, its error mapped.
fn answer<T: Serialize>(r: Result<T, ServiceError>) -> Result<Value, RpcError> {
    encode(r?)
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
    encode(InitializeResult {
        protocol_version: PROTOCOL_VERSION.to_owned(),
        server_version: env!("CARGO_PKG_VERSION").to_owned(),
    })
}

/// The notification telling a caller its call is held:
/// `approval.held {approval_id, timeout_s}` or `hooks.running {hooks?,
/// timeout_s}`.
pub fn held_notice(n: &HoldNotice) -> Notification {
    match n {
        HoldNotice::ApprovalHeld {
            approval_id,
            timeout_s,
        } => Notification::new(
            notification::APPROVAL_HELD,
            serde_json::json!({"approval_id": approval_id, "timeout_s": timeout_s}),
        ),
        HoldNotice::HooksRunning { hooks, timeout_s } => {
            let mut params = serde_json::json!({ "timeout_s": timeout_s });
            if let Some(n) = hooks {
                params["hooks"] = (*n).into();
            }
            Notification::new(notification::HOOKS_RUNNING, params)
        }
    }
}

/// A hook's output line while `hooks.execute` runs: `hook.output`.
pub fn output_line(l: &agentd_hooks::OutputLine) -> Notification {
    Notification::new(
        notification::HOOK_OUTPUT,
        serde_json::to_value(l).unwrap_or_default(),
    )
}

/// A method's answer: now, or once a held call is decided.
pub enum Reply {
    /// The result.
    Now(Result<Value, RpcError>),
    /// A held `hook.ingest` or `hooks.execute`: send its notice, then the
    /// reply when ready.
    Held(Hold),
}

/// Dispatches every method except `initialize` and `events.subscribe`
/// (which the connection handles). `client` names the caller (the
/// default `decided_by`); `peer_pid` is its process, as the kernel says
/// (`SO_PEERCRED`), when known.
pub async fn dispatch(
    service: &Service,
    method: &str,
    p: Option<Value>,
    client: &str,
    peer_pid: Option<u32>,
) -> Reply {
    match method {
        method::HOOKS_EXECUTE => match params::<HooksExecuteParams>(method, p) {
            Ok(p) => match service.execute_hooks(p).await {
                Ok(hold) => Reply::Held(hold),
                Err(e) => Reply::Now(Err(e.into())),
            },
            Err(e) => Reply::Now(Err(e)),
        },
        method::HOOK_INGEST => match params::<IngestParams>(method, p) {
            Ok(p) => match service.ingest(Source::Hook, p, peer_pid).await {
                Ok(Ingested::Now(r)) => Reply::Now(encode(r)),
                Ok(Ingested::Held(hold)) => Reply::Held(hold),
                Err(e) => Reply::Now(Err(e.into())),
            },
            Err(e) => Reply::Now(Err(e)),
        },
        method::STATUS_INGEST => Reply::Now(match params::<IngestParams>(method, p) {
            Ok(p) => match service.ingest(Source::StatusLine, p, peer_pid).await {
                Ok(Ingested::Now(r)) => encode(r),
                Ok(Ingested::Held(_)) => Err(RpcError::new(
                    code::INTERNAL_ERROR,
                    "a status line is never held",
                )),
                Err(e) => Err(e.into()),
            },
            Err(e) => Err(e),
        }),
        _ => Reply::Now(call(service, method, p, client).await),
    }
}

async fn call(
    service: &Service,
    method: &str,
    p: Option<Value>,
    client: &str,
) -> Result<Value, RpcError> {
    match method {
        method::HEALTH => encode(service.health()),
        method::SESSIONS_LIST => {
            match service
                .sessions(params::<SessionsListParams>(method, p)?)
                .await?
            {
                SessionsListed::Page(page) => encode(page),
                SessionsListed::All(all) => encode(all),
            }
        }
        method::SESSIONS_GET => {
            let p: SessionsGetParams = params(method, p)?;
            answer(service.session(&p.id))
        }
        method::SESSIONS_PROCESSES => encode(service.processes()),
        method::EVENTS_LIST => answer(service.events(params::<EventsListParams>(method, p)?).await),
        method::APPROVALS_LIST => answer(
            service
                .approvals(params::<ApprovalsListParams>(method, p)?)
                .await,
        ),
        method::APPROVALS_GET => {
            let p: ApprovalsGetParams = params(method, p)?;
            answer(service.approval(&p.id).await.map(ApprovalView::new))
        }
        method::APPROVALS_DECIDE => answer(
            service
                .decide(params::<DecideParams>(method, p)?, client)
                .await,
        ),
        method::SESSIONS_LAUNCH => answer(service.launch(params::<LaunchParams>(method, p)?).await),
        method::SESSIONS_SEND => answer(service.send(params::<SendParams>(method, p)?).await),
        method::SESSIONS_INTERRUPT => {
            let p: SessionsGetParams = params(method, p)?;
            answer(service.interrupt(&p.id).await)
        }
        method::SESSIONS_KILL => {
            let p: SessionsGetParams = params(method, p)?;
            answer(service.kill(&p.id).await)
        }
        method::SEARCH => answer(service.search(params::<SearchQuery>(method, p)?).await),
        method::TRANSCRIPT_GET => answer(
            service
                .transcript(params::<TranscriptParams>(method, p)?)
                .await,
        ),
        method::USAGE_REPORT => {
            // Rows page like every list: `offset` is the page's, the rest
            // is the report's query.
            let mut p = p.unwrap_or(Value::Null);
            let offset = p
                .as_object_mut()
                .and_then(|m| m.remove("offset"))
                .and_then(|v| v.as_u64())
                .unwrap_or(0) as usize;
            let q: UsageQuery = params(method, Some(p))?;
            answer(service.usage(q, offset).await)
        }
        method::INDEX_STATUS => {
            let p: IndexStatusParams = params(method, p)?;
            encode(service.index_status(p.counts.unwrap_or(true)).await)
        }
        method::INDEX_RESCAN => answer(service.index_rescan()),
        method::HOOKS_LIST => {
            let p: HooksListParams = params(method, p)?;
            encode(service.hooks(p.cwd).await)
        }
        method::HOOKS_HISTORY => answer(
            service
                .hook_runs(params::<HooksHistoryParams>(method, p)?)
                .await,
        ),
        method::HOOKS_PENDING => {
            encode(service.pending_hooks(params::<HooksPendingParams>(method, p)?))
        }
        method::HOOKS_RECORD => answer(
            service
                .record_hook_execution(params::<RecordExecutionParams>(method, p)?)
                .await,
        ),
        method::HOOKS_VALIDATION_CHECK => answer(
            service
                .check_file_validation(params::<FileValidationParams>(method, p)?)
                .await,
        ),
        method::HOOKS_VALIDATION_RECORD => answer(
            service
                .record_file_validation(params::<FileValidationParams>(method, p)?)
                .await,
        ),
        method::STORE_GC => answer(service.gc().await),
        method::SLOTS_LIST => encode(service.slots()),
        method::MEMORY_INDEX => answer(
            service
                .index_document(params::<agentd_proto::history::IndexDocumentParams>(
                    method, p,
                )?)
                .await,
        ),
        method::SLOTS_ACQUIRE => {
            let p: SlotsAcquireParams = params(method, p)?;
            let wait = std::time::Duration::from_millis(p.wait_ms);
            answer(service.acquire_slot(p.request, wait).await)
        }
        method::TERMINALS_START => answer(
            service
                .start_terminal(params::<agentd_proto::api::TerminalStartParams>(method, p)?)
                .await,
        ),
        method::TERMINALS_LIST => encode(service.terminals()),
        method::TERMINALS_CLOSE => {
            let p: agentd_proto::api::TerminalCloseParams = params(method, p)?;
            answer(service.close_terminal(&p.id).await)
        }
        method::WEB_LOGIN => answer(service.web_login()),
        method::WEB_SESSIONS => encode(service.web_sessions()),
        method::WEB_REVOKE => {
            let p: agentd_proto::api::WebRevokeParams = params(method, p)?;
            answer(service.web_revoke(&p.id).await)
        }
        method::SLOTS_RELEASE => {
            let p: SlotsReleaseParams = params(method, p)?;
            answer(service.release_slot(&p.id))
        }
        method::PLUGINS_LIST => answer(service.plugins()),
        method::PLUGINS_RELOAD => answer(service.reload_plugins().await),
        method::PLUGINS_ENABLE | method::PLUGINS_DISABLE => {
            let p: agentd_proto::api::PluginParams = params(method, p)?;
            answer(
                service
                    .set_plugin_enabled(&p.name, method == method::PLUGINS_ENABLE)
                    .await,
            )
        }
        method::PLUGINS_LOGS => {
            let p: agentd_proto::api::PluginParams = params(method, p)?;
            answer(service.plugin_logs(&p.name))
        }
        method::RULES_TEST => answer(
            service
                .rules_test(params::<agentd_proto::api::RulesTestParams>(method, p)?)
                .await,
        ),
        other => Err(RpcError::new(
            code::METHOD_NOT_FOUND,
            format!("unknown method `{other}`; see the method list in ARCHITECTURE.md"),
        )),
    }
}
