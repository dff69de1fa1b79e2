//! HQ's HTTP face: the runner link's upgrade and the user API (JSON, a
//! user token). Each handler is one [`HqService`] call; [`ApiError`] maps
//! [`HqError`] to a status in one place.

use std::net::SocketAddr;

use agentd_proto::hq::{
    APPROVALS_PATH, AUDIT_PATH, DecisionBody, RUNNER_PATH, RUNNERS_PATH, SESSIONS_PATH, STATUS_PATH,
};
use axum::Json;
use axum::Router;
use axum::extract::{ConnectInfo, Path, Query, State, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::service::{HqError, HqService};
use crate::token::{Principal, Role};

#[derive(Clone)]
struct App {
    hq: HqService,
    web: crate::web::WebAuth,
    schema: crate::graphql::HqSchema,
    shutdown: CancellationToken,
}

/// HQ's routes: `/health` (open), the runner link, and the user API.
/// Requests must name loopback or one of `hosts` (a TLS listener's names).
pub fn router(
    hq: HqService,
    web: crate::web::WebAuth,
    shutdown: CancellationToken,
    hosts: agentd_daemon::http::Hosts,
) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/hq/login", post(login))
        .route("/hq/logout", post(logout))
        .route("/hq/session", get(session))
        .route(RUNNER_PATH, get(runner_link))
        .route(STATUS_PATH, get(status))
        .route(RUNNERS_PATH, get(runners))
        .route(SESSIONS_PATH, get(sessions))
        .route(APPROVALS_PATH, get(approvals))
        .route(&format!("{APPROVALS_PATH}/{{id}}/decision"), post(decide))
        .route(AUDIT_PATH, get(audit))
        .route(agentd_proto::hq::USAGE_PATH, get(usage))
        .route(&format!("{SESSIONS_PATH}/{{id}}/{{action}}"), post(steer))
        .route(
            agentd_proto::hq::GRAPHQL_PATH,
            post(graphql).get(graphql_ws),
        )
        .route(&format!("{RUNNERS_PATH}/{{name}}/launch"), post(launch))
        .route(
            &format!("{RUNNERS_PATH}/{{name}}/terminals"),
            get(terminals).post(start_terminal),
        )
        .route(
            &format!("{RUNNERS_PATH}/{{name}}/terminals/{{id}}"),
            axum::routing::delete(close_terminal),
        )
        .route(
            &format!("{RUNNERS_PATH}/{{name}}/terminals/{{id}}/attach"),
            get(attach_terminal),
        )
        .route(
            &format!("{RUNNER_PATH}/terminal/{{channel}}"),
            get(terminal_channel),
        )
        .route(crate::peers::PEER_ATTACH_PATH, get(peer_attach))
        .route(
            &format!("{RUNNERS_PATH}/{{name}}"),
            axum::routing::delete(forget),
        )
        .merge(crate::web::assets())
        .layer(middleware::from_fn(agentd_daemon::web::security_headers))
        .with_state(App {
            schema: crate::graphql::schema(hq.clone()),
            hq: hq.clone(),
            web,
            shutdown,
        })
        // gRPC (h2c, or HTTP/2 over TLS) on the same port; its methods
        // check the token in the `authorization` metadata themselves.
        .merge(crate::grpc::router(hq))
        .layer(middleware::from_fn_with_state(
            hosts,
            agentd_daemon::http::loopback_only,
        ))
}

/// The one mapping of [`HqError`] to HTTP.
pub struct ApiError(HqError);

impl From<HqError> for ApiError {
    fn from(e: HqError) -> ApiError {
        ApiError(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match &self.0 {
            HqError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            HqError::Forbidden(_) => StatusCode::FORBIDDEN,
            HqError::Invalid(_) => StatusCode::BAD_REQUEST,
            HqError::NotFound(_) => StatusCode::NOT_FOUND,
            HqError::Conflict(_) => StatusCode::CONFLICT,
            HqError::Gone(_) => StatusCode::GONE,
            HqError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            HqError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        (status, Json(json!({"error": self.0.to_string()}))).into_response()
    }
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(|t| t.trim().to_owned())
}

async fn health() -> Json<serde_json::Value> {
    Json(json!({"status": "ok", "role": "hq", "version": env!("CARGO_PKG_VERSION")}))
}

async fn runner_link(
    State(app): State<App>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let caller = app.hq.authenticate(bearer(&headers)).await?;
    let Principal::Runner(runner) = caller.principal else {
        return Err(HqError::Forbidden(
            "a user token cannot link a runner: use a runner token (`agentd hq token create --runner NAME`)"
                .into(),
        )
        .into());
    };
    let token_id = caller.token_id;
    // Small buffers, eager writes: a thousand idle links must not cost
    // 128 KiB each (tungstenite's default read buffer).
    Ok(ws
        .read_buffer_size(4096)
        .write_buffer_size(0)
        .max_message_size(agentd_proto::hq::MAX_LINK_FRAME_BYTES)
        .on_upgrade(move |socket| {
            crate::link::serve(app.hq, socket, runner, token_id, Some(peer), app.shutdown)
        }))
}

async fn status(State(app): State<App>, headers: HeaderMap) -> Result<Response, ApiError> {
    let caller = app.hq.caller(&app.web, &headers, None).await?;
    HqService::require(&caller, Role::Viewer)?;
    Ok(Json(app.hq.status().await?).into_response())
}

async fn runners(State(app): State<App>, headers: HeaderMap) -> Result<Response, ApiError> {
    let caller = app.hq.caller(&app.web, &headers, None).await?;
    HqService::require(&caller, Role::Viewer)?;
    Ok(Json(app.hq.runners().await?).into_response())
}

async fn sessions(State(app): State<App>, headers: HeaderMap) -> Result<Response, ApiError> {
    let caller = app.hq.caller(&app.web, &headers, None).await?;
    HqService::require(&caller, Role::Viewer)?;
    Ok(Json(app.hq.sessions()).into_response())
}

#[derive(serde::Deserialize)]
struct ApprovalsQuery {
    #[serde(default)]
    all: bool,
}

async fn approvals(
    State(app): State<App>,
    headers: HeaderMap,
    Query(q): Query<ApprovalsQuery>,
) -> Result<Response, ApiError> {
    let caller = app.hq.caller(&app.web, &headers, None).await?;
    HqService::require(&caller, Role::Viewer)?;
    Ok(Json(app.hq.approvals(q.all)).into_response())
}

async fn decide(
    State(app): State<App>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Json<DecisionBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let caller = app.hq.caller(&app.web, &headers, None).await?;
    let Json(body) = body.map_err(|e| {
        HqError::Invalid(format!(
            "the body must be JSON like {{\"decision\": {{\"behavior\": \"allow\"}}}}: {e}"
        ))
    })?;
    let view = app
        .hq
        .decide(&caller, Some(peer.to_string()), &id, body)
        .await?;
    Ok(Json(view).into_response())
}

async fn audit(State(app): State<App>, headers: HeaderMap) -> Result<Response, ApiError> {
    let caller = app.hq.caller(&app.web, &headers, None).await?;
    HqService::require(&caller, Role::Viewer)?;
    Ok(Json(app.hq.audit_log(1_000).await?).into_response())
}

async fn launch(
    State(app): State<App>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(runner): Path<String>,
    body: Result<Json<agentd_proto::api::LaunchParams>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let caller = app.hq.caller(&app.web, &headers, None).await?;
    let Json(params) = body.map_err(|e| {
        HqError::Invalid(format!(
            "the body must be JSON like {{\"prompt\": \"…\", \"cwd\": \"/path\"}}: {e}"
        ))
    })?;
    let launched = app
        .hq
        .launch(&caller, Some(peer.to_string()), &runner, params)
        .await?;
    Ok(Json(launched).into_response())
}

/// `POST /hq/graphql`: the token is checked before the request is read;
/// each field then checks the caller's role.
async fn graphql(
    State(app): State<App>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let caller = app.hq.caller(&app.web, &headers, None).await?;
    let req: async_graphql::Request = serde_json::from_slice(&body).map_err(|e| {
        HqError::Invalid(format!(
            "body is not a GraphQL request (`{{\"query\": …, \"variables\": …}}`): {e}"
        ))
    })?;
    let req = req
        .data(caller)
        .data(crate::graphql::Peer(Some(peer.to_string())));
    Ok(Json(app.schema.execute(req).await).into_response())
}

/// How often HQ pings a GraphQL WebSocket (a quiet subscription must
/// outlive the HTTP idle timeout, and dead peers be found).
const WS_PING: std::time::Duration = std::time::Duration::from_secs(15);

/// `GET /hq/graphql` upgraded to a WebSocket: subscriptions over
/// `graphql-transport-ws` or the legacy `graphql-ws`. The user token comes
/// in the `Authorization` header or in `connection_init`
/// (`{"authorization": "Bearer …"}`), or HQ's own page signs in with its
/// cookie and `{"csrf": key}`; without either the connection is refused
/// before any subscription starts.
async fn graphql_ws(
    State(app): State<App>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    protocol: async_graphql_axum::GraphQLProtocol,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let from_header = bearer(&headers);
    let hq = app.hq.clone();
    let web = app.web.clone();
    let schema = app.schema.clone();
    upgrade
        .protocols(async_graphql::http::ALL_WEBSOCKET_PROTOCOLS)
        .read_buffer_size(4096)
        .write_buffer_size(0)
        .max_message_size(agentd_proto::MAX_FRAME_BYTES)
        .on_upgrade(move |socket| async move {
            let (sink, ws_rx, pinger) = agentd_daemon::http::pinged_pair(socket, WS_PING);
            async_graphql_axum::GraphQLWebSocket::new_with_pair(sink, ws_rx, schema, protocol)
                .on_connection_init(move |payload| async move {
                    let given = payload
                        .get("authorization")
                        .or_else(|| payload.get("Authorization"))
                        .and_then(serde_json::Value::as_str)
                        .and_then(|h| h.strip_prefix("Bearer "))
                        .map(|t| t.trim().to_owned());
                    // A signed-in page: its cookie (on the upgrade, from
                    // this origin) and its CSRF key (here).
                    let page = payload
                        .get("csrf")
                        .and_then(serde_json::Value::as_str)
                        .and_then(|k| web.signed_in(&headers, Some(k), crate::service::now_ms()));
                    let caller = match (given.or(from_header), page) {
                        (Some(t), _) => hq.authenticate(Some(t)).await,
                        (None, Some(id)) => hq.authenticate_id(&id).await,
                        (None, None) => hq.authenticate(None).await,
                    }
                    .map_err(crate::graphql::gql)?;
                    let mut data = async_graphql::Data::default();
                    data.insert(caller);
                    data.insert(crate::graphql::Peer(Some(peer.to_string())));
                    Ok(data)
                })
                .serve()
                .await;
            let _ = pinger.await;
        })
}

/// `DELETE /hq/v1/runners/{name}`: `{"forgotten_events": n}`.
async fn forget(
    State(app): State<App>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(runner): Path<String>,
) -> Result<Response, ApiError> {
    let caller = app.hq.caller(&app.web, &headers, None).await?;
    let n = app
        .hq
        .forget(&caller, Some(peer.to_string()), &runner)
        .await?;
    Ok(Json(json!({"forgotten_events": n})).into_response())
}

/// `GET /hq/v1/runners/{name}/terminals`.
async fn terminals(
    State(app): State<App>,
    headers: HeaderMap,
    Path(runner): Path<String>,
) -> Result<Response, ApiError> {
    let caller = app.hq.caller(&app.web, &headers, None).await?;
    Ok(Json(app.hq.terminals(&caller, &runner).await?).into_response())
}

/// `POST /hq/v1/runners/{name}/terminals` with `TerminalStartParams`.
async fn start_terminal(
    State(app): State<App>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(runner): Path<String>,
    body: Result<
        Json<agentd_proto::api::TerminalStartParams>,
        axum::extract::rejection::JsonRejection,
    >,
) -> Result<Response, ApiError> {
    let caller = app.hq.caller(&app.web, &headers, None).await?;
    let Json(params) = body.map_err(|e| {
        HqError::Invalid(format!(
            "the body must be JSON like {{\"kind\": \"shell\", \"cwd\": \"/path\"}}: {e}"
        ))
    })?;
    let view = app
        .hq
        .start_terminal(&caller, Some(peer.to_string()), &runner, params)
        .await?;
    Ok(Json(view).into_response())
}

/// `DELETE /hq/v1/runners/{name}/terminals/{id}`.
async fn close_terminal(
    State(app): State<App>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path((runner, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let caller = app.hq.caller(&app.web, &headers, None).await?;
    let view = app
        .hq
        .close_terminal(&caller, Some(peer.to_string()), &runner, &id)
        .await?;
    Ok(Json(view).into_response())
}

#[derive(serde::Deserialize)]
struct AttachQuery {
    from: Option<u64>,
    /// A signed-in page's CSRF key (a WebSocket cannot send a header).
    csrf: Option<String>,
}

/// `GET /hq/v1/runners/{name}/terminals/{id}/attach?from=`: the runner
/// dials back first, so a refusal is an HTTP status, not a socket that
/// closes at once; then the two sockets are spliced.
async fn attach_terminal(
    State(app): State<App>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path((runner, id)): Path<(String, String)>,
    Query(q): Query<AttachQuery>,
    upgrade: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let caller = app.hq.caller(&app.web, &headers, q.csrf.as_deref()).await?;
    let runner_socket = app
        .hq
        .attach_terminal(&caller, Some(peer.to_string()), &runner, &id, q.from)
        .await?;
    let shutdown = app.shutdown.clone();
    Ok(upgrade
        .max_message_size(agentd_daemon::terminal_stream::MAX_INPUT_FRAME)
        .max_frame_size(agentd_daemon::terminal_stream::MAX_INPUT_FRAME)
        .write_buffer_size(0)
        .on_upgrade(move |browser| crate::splice::splice(browser, runner_socket, shutdown)))
}

/// `GET /hq/v1/runner/terminal/{channel}`: a runner dialling back for a
/// terminal HQ asked it to attach.
async fn terminal_channel(
    State(app): State<App>,
    headers: HeaderMap,
    Path(channel): Path<String>,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let caller = app.hq.authenticate(bearer(&headers)).await?;
    let Principal::Runner(runner) = caller.principal else {
        return Err(
            HqError::Forbidden("only a runner token opens a terminal channel".into()).into(),
        );
    };
    if !app.hq.channels().expects(&channel, &runner) {
        return Err(HqError::NotFound(format!(
            "no terminal channel {channel:?} waits for runner {runner} (it lapsed after {} s)",
            crate::terminals::DIAL_BACK_WITHIN.as_secs()
        ))
        .into());
    }
    Ok(ws
        .max_message_size(crate::splice::MAX_RUNNER_FRAME)
        .max_frame_size(crate::splice::MAX_RUNNER_FRAME)
        .write_buffer_size(0)
        .on_upgrade(move |socket| async move {
            app.hq.channels().deliver(&channel, &runner, socket);
        }))
}

#[derive(serde::Deserialize)]
struct LoginBody {
    token: String,
}

/// `POST /hq/login` with `{"token": "<user token>"}` from HQ's own page:
/// `{"user", "role", "csrf"}` and the sign-in cookie.
async fn login(
    State(app): State<App>,
    headers: HeaderMap,
    body: Result<Json<LoginBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    if !agentd_daemon::web::same_origin(&headers) {
        return Err(HqError::Forbidden("sign in from HQ's own page".into()).into());
    }
    let Json(body) =
        body.map_err(|e| HqError::Invalid(format!("the body must be {{\"token\": \"…\"}}: {e}")))?;
    let caller = app.hq.authenticate(Some(body.token)).await?;
    let Principal::User { name, role } = caller.principal else {
        return Err(HqError::Forbidden(
            "a runner token cannot sign in: use a user token (`agentd hq token create --user NAME --role ROLE`)"
                .into(),
        )
        .into());
    };
    let minted = app.web.mint(&caller.token_id, crate::service::now_ms());
    Ok((
        [
            (header::SET_COOKIE, minted.set_cookie),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        Json(json!({"user": name, "role": role.as_str(), "csrf": minted.csrf})),
    )
        .into_response())
}

/// `POST /hq/logout`: clears the cookie.
async fn logout(State(app): State<App>) -> Response {
    (
        [(header::SET_COOKIE, app.web.clear_cookie())],
        Json(json!({"signed_in": false})),
    )
        .into_response()
}

/// `GET /hq/session`: who the page is signed in as.
async fn session(State(app): State<App>, headers: HeaderMap) -> Result<Response, ApiError> {
    let caller = app.hq.caller(&app.web, &headers, None).await?;
    let (user, role) = match caller.principal {
        Principal::User { name, role } => (name, role.as_str()),
        Principal::Runner(name) => (name, "runner"),
    };
    Ok(Json(json!({"signed_in": true, "user": user, "role": role})).into_response())
}

/// `GET /hq/v1/usage?group_by=daily&since=&until=&timezone=&session_id=`.
async fn usage(
    State(app): State<App>,
    headers: HeaderMap,
    query: Result<
        Query<agentd_proto::history::UsageQuery>,
        axum::extract::rejection::QueryRejection,
    >,
) -> Result<Response, ApiError> {
    let caller = app.hq.caller(&app.web, &headers, None).await?;
    let Query(q) = query.map_err(|e| {
        HqError::Invalid(format!(
            "usage takes ?group_by=daily|monthly|session|project|model&since=YYYY-MM-DD&until=YYYY-MM-DD&timezone=ZONE: {e}"
        ))
    })?;
    Ok(Json(app.hq.usage(&caller, q).await?).into_response())
}

#[derive(serde::Deserialize)]
struct PeerAttach {
    runner: String,
    id: String,
    from: Option<u64>,
}

/// `GET /hq/v1/peer/terminal?runner=&id=&from=`: another HQ process on
/// this database attaching to a terminal of a runner linked here (its
/// user was checked and audited there).
async fn peer_attach(
    State(app): State<App>,
    headers: HeaderMap,
    Query(q): Query<PeerAttach>,
    upgrade: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    if !bearer(&headers).is_some_and(|t| app.hq.is_peer(&t)) {
        return Err(HqError::Unauthenticated(
            "only another HQ process on this database attaches here".into(),
        )
        .into());
    }
    let runner_socket = app.hq.dial_back(&q.runner, &q.id, q.from).await?;
    tracing::info!(runner = %q.runner, terminal = %q.id, "terminal attached for another HQ process");
    let shutdown = app.shutdown.clone();
    Ok(upgrade
        .max_message_size(agentd_daemon::terminal_stream::MAX_INPUT_FRAME)
        .max_frame_size(agentd_daemon::terminal_stream::MAX_INPUT_FRAME)
        .write_buffer_size(0)
        .on_upgrade(move |peer| {
            crate::splice::splice(
                peer,
                crate::splice::RunnerSocket::Local(runner_socket),
                shutdown,
            )
        }))
}

#[derive(serde::Deserialize, Default)]
struct SteerBody {
    #[serde(default)]
    message: Option<String>,
}

/// `POST /hq/v1/sessions/{id}/send` with `{"message"}`, `…/interrupt`,
/// `…/kill` (role `operator`).
async fn steer(
    State(app): State<App>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path((id, action)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let caller = app.hq.caller(&app.web, &headers, None).await?;
    let body: SteerBody = if body.is_empty() {
        SteerBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            HqError::Invalid(format!("the body must be {{\"message\": \"…\"}}: {e}"))
        })?
    };
    let what = match (action.as_str(), body.message) {
        ("send", Some(m)) if !m.is_empty() => crate::steer::Steer::Send(m),
        ("send", _) => {
            return Err(HqError::Invalid("send needs {\"message\": \"…\"}".into()).into());
        }
        ("interrupt", _) => crate::steer::Steer::Interrupt,
        ("kill", _) => crate::steer::Steer::Kill,
        (other, _) => {
            return Err(HqError::NotFound(format!(
                "no session action {other:?}: use send, interrupt or kill"
            ))
            .into());
        }
    };
    let steered = app
        .hq
        .steer(&caller, Some(peer.to_string()), &id, what)
        .await?;
    Ok(Json(steered).into_response())
}
