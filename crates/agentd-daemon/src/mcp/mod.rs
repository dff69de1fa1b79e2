//! The MCP face: agentd's history, usage, memory and a human, as Model
//! Context Protocol tools an agent can call (rmcp, the official SDK).
//!
//! Served two ways, one server: over the Unix socket (`mcp.serve` turns a
//! connection into an MCP stream; `agentd mcp` splices its stdio to it, so
//! `claude mcp add agentd -- agentd mcp` works) and as streamable HTTP at
//! `/mcp` on the daemon's port (bearer token required, [`crate::http`]).
//! Like every face it decodes, makes one [`Service`] call, and encodes;
//! [`tool_error`] maps [`ServiceError`] in one place.

pub mod render;

use std::time::Duration;

use agentd_proto::api::{SessionsListParams, TranscriptParams};
use agentd_proto::history::{GroupBy, IndexDocumentParams, SearchQuery, UsageQuery};
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{
    CallToolResult, ContentBlock, Implementation, ListResourcesResult, PaginatedRequestParams,
    ReadResourceRequestParams, ReadResourceResponse, ReadResourceResult, Resource,
    ResourceContents, ServerCapabilities, ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler, schemars, tool, tool_handler, tool_router};
use serde::Deserialize;

use crate::service::{Asker, Question, Service, ServiceError};

/// Longest `ask_human`/`get_answer` wait in one call, seconds.
pub const MAX_WAIT_S: u64 = 600;
/// `ask_human`'s wait when the call names none, seconds.
pub const DEFAULT_ASK_WAIT_S: u64 = 120;
/// Sessions offered as resources (the most recent).
pub const RESOURCE_SESSIONS: usize = 20;
/// Resource URI prefix of a session's summary.
pub const SESSION_URI: &str = "agentd://sessions/";

/// One MCP connection's server: the service, and who is asking.
#[derive(Clone)]
pub struct McpServer {
    service: Service,
    /// The pid of the process at the other end of the socket (`agentd mcp`),
    /// whose parent is the agent: `ask_human` belongs to its session.
    peer_pid: Option<u32>,
    tool_router: ToolRouter<McpServer>,
}

/// `search_history` arguments.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct SearchArgs {
    /// Words to find (all must occur, any order; no syntax).
    pub query: String,
    /// Only sessions whose project folder or cwd contains this.
    #[serde(default)]
    pub project: Option<String>,
    /// Only this session (id or unique prefix).
    #[serde(default)]
    pub session_id: Option<String>,
    /// Only messages at or after this time: `YYYY-MM-DD` (UTC) or RFC 3339.
    #[serde(default)]
    pub since: Option<String>,
    /// Only messages before this time: `YYYY-MM-DD` (UTC) or RFC 3339.
    #[serde(default)]
    pub until: Option<String>,
    /// Most matches (default 10, at most 50).
    #[serde(default)]
    pub limit: Option<usize>,
}

/// `get_transcript` arguments.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct TranscriptArgs {
    /// Session id or unique prefix.
    pub session_id: String,
    /// First message (0-based; default 0).
    #[serde(default)]
    pub offset: Option<u64>,
    /// Most messages (default 50, at most 200).
    #[serde(default)]
    pub limit: Option<usize>,
}

/// `list_sessions` arguments.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct SessionsArgs {
    /// Only these statuses: working, idle, needs_approval, needs_input,
    /// failed, ended, stale.
    #[serde(default)]
    pub status: Option<Vec<String>>,
    /// Only sessions whose project folder or cwd contains this.
    #[serde(default)]
    pub project: Option<String>,
    /// Only live sessions (default false: past ones from transcripts too).
    #[serde(default)]
    pub live_only: Option<bool>,
    /// Most sessions, most recent first (default 20, at most 200).
    #[serde(default)]
    pub limit: Option<usize>,
}

/// `usage` arguments.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct UsageArgs {
    /// Group by `day` (default), `month`, `project`, `model` or `session`.
    #[serde(default)]
    pub by: Option<String>,
    /// First day included, `YYYY-MM-DD`.
    #[serde(default)]
    pub since: Option<String>,
    /// Last day included, `YYYY-MM-DD`.
    #[serde(default)]
    pub until: Option<String>,
    /// Only this session (full id).
    #[serde(default)]
    pub session_id: Option<String>,
}

/// `ask_human` arguments.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct AskArgs {
    /// The question for the user.
    pub question: String,
    /// Answers to offer (the user may also type another).
    #[serde(default)]
    pub options: Vec<String>,
    /// How long to wait here for the answer, seconds (default 120, at most
    /// 600). The question stays open longer: get_answer waits again.
    #[serde(default)]
    pub wait_s: Option<u64>,
    /// The asking session, when agentd cannot tell (over HTTP).
    #[serde(default)]
    pub session_id: Option<String>,
}

/// `get_answer` arguments.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct GetAnswerArgs {
    /// The question's id, as ask_human gave it (`apr_…`).
    pub id: String,
    /// How long to wait for it, seconds (default 60, at most 600).
    #[serde(default)]
    pub wait_s: Option<u64>,
}

/// `index_memory` arguments.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct MemoryArgs {
    /// A short title.
    pub title: String,
    /// What to remember (a decision, a fact, a how-to).
    pub text: String,
    /// Tags to find it by.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Where it comes from (a URL, a file).
    #[serde(default)]
    pub source: Option<String>,
    /// The project directory it belongs to.
    #[serde(default)]
    pub project: Option<String>,
}

/// `search_memory` arguments.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct SearchMemoryArgs {
    /// Words to find (all must occur).
    pub query: String,
    /// Only documents of this project.
    #[serde(default)]
    pub project: Option<String>,
    /// Most documents (default 10, at most 50).
    #[serde(default)]
    pub limit: Option<usize>,
}

/// A tool's answer, or the service's error for the model to read.
type ToolResult = Result<CallToolResult, ErrorData>;

fn text(s: String) -> ToolResult {
    Ok(CallToolResult::success(vec![ContentBlock::text(s)]))
}

/// The one place [`ServiceError`] becomes MCP: what the caller can fix
/// (bad arguments, unknown ids) is a tool error the model reads and acts
/// on; agentd's own failures are JSON-RPC errors.
pub fn tool_error(e: ServiceError) -> ToolResult {
    match e {
        ServiceError::NotFound(m)
        | ServiceError::Ambiguous(m)
        | ServiceError::Invalid(m)
        | ServiceError::Conflict(m)
        | ServiceError::Gone(m)
        | ServiceError::TooLarge(m) => Ok(CallToolResult::error(vec![ContentBlock::text(m)])),
        ServiceError::ShuttingDown(m) | ServiceError::Overloaded(m) => {
            Err(ErrorData::internal_error(m, None))
        }
        ServiceError::Store(m) | ServiceError::Internal(m) => {
            Err(ErrorData::internal_error(m, None))
        }
    }
}

/// `YYYY-MM-DD` (UTC midnight) or RFC 3339, as ms since the Unix epoch.
pub fn parse_time(s: &str) -> Result<i64, ServiceError> {
    let s = s.trim();
    if let Ok(t) = s.parse::<jiff::Timestamp>() {
        return Ok(t.as_millisecond());
    }
    if let Ok(d) = s.parse::<jiff::civil::Date>()
        && let Ok(z) = d.to_zoned(jiff::tz::TimeZone::UTC)
    {
        return Ok(z.timestamp().as_millisecond());
    }
    Err(ServiceError::invalid(format!(
        "`{s}` is not a time: give YYYY-MM-DD or RFC 3339 (2026-11-30T09:00:00Z)"
    )))
}

fn group_by(by: Option<&str>) -> Result<GroupBy, ServiceError> {
    Ok(match by.unwrap_or("day") {
        "day" | "daily" => GroupBy::Daily,
        "month" | "monthly" => GroupBy::Monthly,
        "project" => GroupBy::Project,
        "model" => GroupBy::Model,
        "session" => GroupBy::Session,
        "agent" => GroupBy::Agent,
        other => {
            return Err(ServiceError::invalid(format!(
                "cannot group usage by `{other}`: use day, month, project, model, session or agent"
            )));
        }
    })
}

fn wait(s: Option<u64>, default: u64) -> Duration {
    Duration::from_secs(s.unwrap_or(default).min(MAX_WAIT_S))
}

#[tool_router]
impl McpServer {
    /// A server for one connection; `peer_pid` is the socket peer's pid.
    pub fn new(service: Service, peer_pid: Option<u32>) -> McpServer {
        McpServer {
            service,
            peer_pid,
            tool_router: Self::tool_router(),
        }
    }

    #[tool(
        description = "Full-text search of every past and current coding-agent session's transcript (and the memory documents). Use it to find what was decided, tried or said before: each match cites its session id and time; get_transcript reads around it."
    )]
    async fn search_history(&self, Parameters(a): Parameters<SearchArgs>) -> ToolResult {
        let q = match self.search_query(a) {
            Ok(q) => q,
            Err(e) => return tool_error(e),
        };
        let query = q.query.clone();
        match self.service.search(q).await {
            Ok(h) => text(render::hits(&query, &h)),
            Err(e) => tool_error(e),
        }
    }

    #[tool(
        description = "A session's transcript, a page of messages at a time (tool calls summarised, long messages clipped). Session ids come from search_history or list_sessions."
    )]
    async fn get_transcript(&self, Parameters(a): Parameters<TranscriptArgs>) -> ToolResult {
        let offset = a.offset.unwrap_or(0);
        let p = TranscriptParams {
            id: a.session_id,
            offset,
            limit: Some(a.limit.unwrap_or(50).clamp(1, 200)),
        };
        match self.service.transcript(p).await {
            Ok(page) => text(render::transcript(&page, offset)),
            Err(e) => tool_error(e),
        }
    }

    #[tool(
        description = "Coding-agent sessions, most recent first: live ones (with status: working, needs_approval, idle, …) and past ones from transcripts, with project, branch, title and cost."
    )]
    async fn list_sessions(&self, Parameters(a): Parameters<SessionsArgs>) -> ToolResult {
        let limit = a.limit.unwrap_or(20).clamp(1, 200);
        match self
            .recent_sessions(a.status, a.project, !a.live_only.unwrap_or(false), limit)
            .await
        {
            Ok((list, more)) => text(render::sessions(&list, more)),
            Err(e) => tool_error(e),
        }
    }

    #[tool(
        description = "Token use and cost (USD) from the transcripts, grouped by day, month, project, model or session; unpriced models are named, never counted as free."
    )]
    async fn usage(&self, Parameters(a): Parameters<UsageArgs>) -> ToolResult {
        let group_by = match group_by(a.by.as_deref()) {
            Ok(g) => g,
            Err(e) => return tool_error(e),
        };
        let q = UsageQuery {
            group_by,
            since: a.since,
            until: a.until,
            timezone: None,
            session_id: a.session_id,
        };
        match self.service.usage(q, 0).await {
            Ok(page) => text(render::usage(&page)),
            Err(e) => tool_error(e),
        }
    }

    #[tool(
        description = "Ask the user a question and wait for the answer. The question appears in agentd's approval queue (terminal, web, phone, team HQ). If no answer comes within wait_s, the result gives an id: call get_answer with it to wait again."
    )]
    async fn ask_human(&self, Parameters(a): Parameters<AskArgs>) -> ToolResult {
        let asker = match (a.session_id, self.peer_pid) {
            (Some(id), _) => Asker::Session(id),
            (None, Some(pid)) => Asker::Process(pid),
            (None, None) => {
                return tool_error(ServiceError::invalid(
                    "agentd cannot tell which session asks over HTTP: pass session_id",
                ));
            }
        };
        let q = Question {
            text: a.question,
            options: a.options,
            asker,
            open_s: None,
            from: None,
        };
        let asked = match self.service.ask_human(q).await {
            Ok(a) => a,
            Err(e) => return tool_error(e),
        };
        self.answer_of(&asked.id, wait(a.wait_s, DEFAULT_ASK_WAIT_S))
            .await
    }

    #[tool(description = "Wait for the answer to a question asked with ask_human (by its id).")]
    async fn get_answer(&self, Parameters(a): Parameters<GetAnswerArgs>) -> ToolResult {
        self.answer_of(&a.id, wait(a.wait_s, 60)).await
    }

    #[tool(
        description = "Remember a document (a decision, a fact, a how-to) in agentd's memory, searchable later by search_memory and search_history."
    )]
    async fn index_memory(&self, Parameters(a): Parameters<MemoryArgs>) -> ToolResult {
        let session_id = self.own_session().await;
        let d = IndexDocumentParams {
            title: a.title,
            text: a.text,
            source: a.source,
            tags: a.tags,
            project: a.project,
            session_id,
        };
        match self.service.index_document(d).await {
            Ok(doc) => text(format!(
                "Stored as {} \"{}\" at {}.",
                doc.id,
                doc.title,
                render::time(doc.created_ms)
            )),
            Err(e) => tool_error(e),
        }
    }

    #[tool(description = "Full-text search of the documents stored with index_memory.")]
    async fn search_memory(&self, Parameters(a): Parameters<SearchMemoryArgs>) -> ToolResult {
        let q = SearchQuery {
            query: a.query,
            project: a.project,
            session_id: None,
            since_ms: None,
            until_ms: None,
            limit: Some(a.limit.unwrap_or(10).clamp(1, 50)),
            offset: None,
        };
        let query = q.query.clone();
        match self.service.search_memory(q).await {
            Ok(h) => text(render::hits(&query, &h)),
            Err(e) => tool_error(e),
        }
    }
}

impl McpServer {
    fn search_query(&self, a: SearchArgs) -> Result<SearchQuery, ServiceError> {
        Ok(SearchQuery {
            query: a.query,
            project: a.project,
            session_id: self.service.session_filter(a.session_id)?,
            since_ms: a.since.as_deref().map(parse_time).transpose()?,
            until_ms: a.until.as_deref().map(parse_time).transpose()?,
            limit: Some(a.limit.unwrap_or(10).clamp(1, 50)),
            offset: None,
        })
    }

    /// Sessions most recent first: `limit` of them and how many more.
    async fn recent_sessions(
        &self,
        status: Option<Vec<String>>,
        project: Option<String>,
        history: bool,
        limit: usize,
    ) -> Result<(Vec<agentd_proto::api::SessionView>, usize), ServiceError> {
        let mut all = Vec::new();
        let mut offset = 0;
        // Pages of at most a frame each; a few cover any real registry.
        for _ in 0..64 {
            let p = SessionsListParams {
                status: status.clone(),
                limit: None,
                offset: Some(offset),
                history: Some(history),
                project: project.clone(),
                agent: None,
                paged: true,
            };
            match self.service.sessions(p).await? {
                crate::service::SessionsListed::Page(page) => {
                    all.extend(page.sessions);
                    match page.next_offset {
                        Some(n) => offset = n,
                        None => break,
                    }
                }
                crate::service::SessionsListed::All(list) => {
                    all.extend(list);
                    break;
                }
            }
        }
        if !history {
            all.retain(|v| v.live);
        }
        all.sort_by_key(|v| std::cmp::Reverse(v.session.last_event_ms));
        let more = all.len().saturating_sub(limit);
        all.truncate(limit);
        Ok((all, more))
    }

    async fn answer_of(&self, id: &str, wait: Duration) -> ToolResult {
        match self.service.answer(id, wait).await {
            Ok((approval, answer)) => {
                let open_s = self.service.question_open_s();
                text(render::answer(
                    &approval.id,
                    &answer,
                    approval.created_ms.saturating_add(open_s as i64 * 1000),
                ))
            }
            Err(e) => tool_error(e),
        }
    }

    /// The session of the agent at the other end of the socket, if known.
    async fn own_session(&self) -> Option<String> {
        let pid = self.peer_pid?;
        self.service
            .session_of_process(pid)
            .await
            .ok()
            .map(|v| v.session.id)
    }

    async fn session_resources(&self) -> Result<Vec<Resource>, ServiceError> {
        let (list, _) = self
            .recent_sessions(None, None, true, RESOURCE_SESSIONS)
            .await?;
        Ok(list
            .iter()
            .map(|v| {
                let title = v
                    .history
                    .as_ref()
                    .and_then(|h| h.title.clone().or_else(|| h.first_prompt.clone()))
                    .unwrap_or_else(|| v.session.id.clone());
                Resource::new(format!("{SESSION_URI}{}", v.session.id), title)
                    .with_description(format!(
                        "{} session in {}, {} at {}",
                        v.session.agent,
                        v.session.cwd.as_deref().unwrap_or("?"),
                        v.session.status.as_str(),
                        render::time(v.session.last_event_ms)
                    ))
                    .with_mime_type("text/plain")
            })
            .collect())
    }

    async fn session_summary(&self, id: &str) -> Result<String, ServiceError> {
        let (list, _) = self.recent_sessions(None, None, true, usize::MAX).await?;
        let v = list
            .into_iter()
            .find(|v| v.session.id == id)
            .ok_or_else(|| ServiceError::not_found(format!("no session `{id}`")))?;
        let mut out = render::sessions(std::slice::from_ref(&v), 0);
        if let Ok(page) = self
            .service
            .transcript(TranscriptParams {
                id: v.session.id.clone(),
                offset: 0,
                limit: Some(5),
            })
            .await
        {
            out.push_str("\nFirst messages:\n");
            out.push_str(&render::transcript(&page, 0));
        }
        Ok(out)
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for McpServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_resources()
                .build(),
        )
        .with_server_info(Implementation::new("agentd", env!("CARGO_PKG_VERSION")))
        .with_instructions(
            "agentd watches every coding-agent session on this machine. Search past sessions (search_history, get_transcript, list_sessions), read token use and cost (usage), keep notes (index_memory, search_memory), and ask the user a question when you need them (ask_human, get_answer).",
        )
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        match self.session_resources().await {
            Ok(r) => Ok(ListResourcesResult::with_all_items(r)),
            Err(e) => Err(ErrorData::internal_error(e.message().to_owned(), None)),
        }
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let Some(id) = request.uri.strip_prefix(SESSION_URI) else {
            return Err(ErrorData::resource_not_found(
                format!(
                    "no resource `{}`: agentd serves {SESSION_URI}<id>",
                    request.uri
                ),
                None,
            ));
        };
        match self.session_summary(id).await {
            Ok(s) => Ok(ReadResourceResult::new(vec![
                ResourceContents::text(s, request.uri.clone()).with_mime_type("text/plain"),
            ])
            .into()),
            Err(ServiceError::NotFound(m)) => Err(ErrorData::resource_not_found(m, None)),
            Err(e) => Err(ErrorData::internal_error(e.message().to_owned(), None)),
        }
    }
}

/// The socket's writer queue is gone: the client left.
#[derive(Debug, thiserror::Error)]
#[error("the MCP client's connection closed")]
pub struct Closed;

impl<T> From<tokio_util::sync::PollSendError<T>> for Closed {
    fn from(_: tokio_util::sync::PollSendError<T>) -> Closed {
        Closed
    }
}

/// Serves MCP on one socket connection after `mcp.serve`: lines in from
/// `frames` (the connection's codec, with its frame limit), messages out
/// through the connection's writer queue `out` (its write timeout and
/// back-pressure), until the client closes or `cancel` fires. A line that
/// is not an MCP message is logged and skipped.
pub async fn serve_frames<S, E>(
    server: McpServer,
    frames: S,
    out: tokio::sync::mpsc::Sender<crate::output::Frame>,
    cancel: tokio_util::sync::CancellationToken,
) where
    S: futures_util::Stream<Item = Result<bytes::Bytes, E>> + Send + Unpin + 'static,
    E: Send + 'static,
{
    use futures_util::{SinkExt, StreamExt};
    use rmcp::ServiceExt;
    use rmcp::service::{RxJsonRpcMessage, TxJsonRpcMessage};

    let stream = frames
        .take_while(|r| std::future::ready(r.is_ok()))
        .filter_map(|r| {
            std::future::ready(match r {
                Ok(line) if line.iter().all(u8::is_ascii_whitespace) => None,
                Ok(line) => match serde_json::from_slice::<RxJsonRpcMessage<RoleServer>>(&line) {
                    Ok(m) => Some(m),
                    Err(e) => {
                        tracing::warn!(error = %e, "skipping a line that is not an MCP message");
                        None
                    }
                },
                Err(_) => None,
            })
        });
    let sink = tokio_util::sync::PollSender::new(out).with(|m: TxJsonRpcMessage<RoleServer>| {
        std::future::ready(crate::output::Frame::json(&m, None).ok_or(Closed))
    });
    let running = match server.serve((Box::pin(sink), Box::pin(stream))).await {
        Ok(r) => r,
        Err(e) => {
            tracing::debug!(error = %e, "an MCP client left before initializing");
            return;
        }
    };
    let stop = running.cancellation_token();
    tokio::select! {
        _ = cancel.cancelled() => stop.cancel(),
        r = running.waiting() => {
            tracing::debug!(reason = ?r, "an MCP client left");
        }
    }
}

/// The streamable HTTP service for `/mcp` (rmcp's; a tower service to nest
/// behind the token check). Host checks are [`crate::http`]'s, which follow
/// the TLS listener's names, so rmcp's own loopback-only list is off.
pub fn http_service(
    service: Service,
    cancel: tokio_util::sync::CancellationToken,
) -> rmcp::transport::streamable_http_server::StreamableHttpService<
    McpServer,
    rmcp::transport::streamable_http_server::session::local::LocalSessionManager,
> {
    use rmcp::transport::streamable_http_server::{
        StreamableHttpServerConfig, StreamableHttpService,
    };
    StreamableHttpService::new(
        move || Ok(McpServer::new(service.clone(), None)),
        Default::default(),
        StreamableHttpServerConfig::default()
            .disable_allowed_hosts()
            .with_max_request_body_bytes(agentd_proto::MAX_FRAME_BYTES)
            .with_cancellation_token(cancel),
    )
}

#[cfg(test)]
mod tests {
    use rmcp::RoleServer;
    use rmcp::service::RxJsonRpcMessage;

    #[test]
    fn messages_decode_with_arbitrary_precision_numbers() {
        let line = br#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;
        let m: Result<RxJsonRpcMessage<RoleServer>, _> = serde_json::from_slice(line);
        assert!(m.is_ok(), "{m:?}");
        let v: serde_json::Value = serde_json::from_slice(line).unwrap();
        let m: Result<RxJsonRpcMessage<RoleServer>, _> = serde_json::from_value(v);
        assert!(m.is_ok(), "{m:?}");
    }
}
