//! The HTTP listener: `GET /health`, `POST /hooks/claude` (Claude Code
//! `http` hooks, reference §2.4 "HTTP hooks"), GraphQL, gRPC, MCP at `/mcp`
//! (streamable HTTP, [`crate::mcp`]), Prometheus at `/metrics`
//! ([`crate::metrics`]), and the web UI ([`crate::web`]).
//!
//! Loopback only (beyond it only with TLS). Every route but `/health`, the
//! web UI's static assets and its sign-in needs `Authorization: Bearer
//! <token>`; GraphQL also takes a signed-in browser's cookie with its
//! CSRF key (on every POST and in `connection_init`). Requests whose `Host`
//! is not a loopback name, or that carry a non-loopback `Origin`, are
//! refused (DNS-rebinding and cross-site defence).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::ingest::Source;
use crate::service::{Ingested, Service, ServiceError};
use crate::state::Shared;

/// Shared by the handlers.
#[derive(Clone)]
struct Http {
    service: Service,
    schema: crate::graphql::AgentdSchema,
    token: Arc<str>,
    browsers: crate::web::BrowserAuth,
}

/// Parses and checks a listen address: loopback only, unless `tls`.
///
/// # Errors
/// A message saying why the address is refused.
pub fn parse_listen(listen: &str, tls: bool) -> Result<SocketAddr, String> {
    let normalized = listen
        .strip_prefix("localhost:")
        .map(|port| format!("127.0.0.1:{port}"));
    let addr: SocketAddr = normalized
        .as_deref()
        .unwrap_or(listen)
        .parse()
        .map_err(|e| {
            format!("invalid HTTP listen address {listen:?} ({e}); expected e.g. 127.0.0.1:41956")
        })?;
    if !addr.ip().is_loopback() && !tls {
        return Err(format!(
            "refusing to listen on non-loopback address {addr} without TLS: use 127.0.0.1, or set [http] tls = true"
        ));
    }
    Ok(addr)
}

/// How often the server pings an HTTP/2 connection: a quiet gRPC stream
/// (a `WatchEvents` with nothing to say) still moves bytes, so the idle
/// timeout (against slowloris) does not cut it, and a dead peer is found.
pub const H2_PING: std::time::Duration = std::time::Duration::from_secs(15);

/// Serves `app` on `listener` — HTTP/1.1 (with upgrades, for WebSockets)
/// and HTTP/2 (h2c, for gRPC) — until `stop`, then lets the connections
/// finish for up to 5 s.
pub async fn serve(
    mut listener: crate::limits::CappedListener,
    app: Router,
    stop: tokio_util::sync::CancellationToken,
    tls: Option<Arc<rustls::ServerConfig>>,
) {
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    use axum::serve::Listener;
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(H2_PING))
        .keep_alive_timeout(H2_PING + std::time::Duration::from_secs(5));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    loop {
        let (io, peer) = tokio::select! {
            _ = stop.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        // The peer's address, for handlers that record it (a browser's
        // sign-in).
        let app = tower::ServiceExt::map_request(app.clone(), with_peer(peer));
        let service = hyper_util::service::TowerToHyperService::new(app);
        match &acceptor {
            None => {
                let conn = builder
                    .serve_connection_with_upgrades(TokioIo::new(io), service)
                    .into_owned();
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    // A client that goes away mid-request is not an error worth a line.
                    let _ = conn.await;
                });
            }
            Some(acceptor) => {
                // The handshake in the connection's own task (a slow one
                // never holds the accept loop), within 10 s.
                let acceptor = acceptor.clone();
                let builder = builder.clone();
                let watcher = graceful.watcher();
                tokio::spawn(async move {
                    let handshake = tokio::time::timeout(
                        std::time::Duration::from_secs(10),
                        acceptor.accept(io),
                    );
                    let Ok(Ok(stream)) = handshake.await else {
                        return;
                    };
                    let conn = builder
                        .serve_connection_with_upgrades(TokioIo::new(stream), service)
                        .into_owned();
                    let _ = watcher.watch(conn).await;
                });
            }
        }
    }
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), graceful.shutdown()).await;
}

/// Adds the peer's address to a request's extensions (as axum's
/// `ConnectInfo`).
fn with_peer<B>(
    peer: SocketAddr,
) -> impl FnMut(axum::http::Request<B>) -> axum::http::Request<B> + Clone {
    move |mut req| {
        req.extensions_mut()
            .insert(axum::extract::ConnectInfo(peer));
        req
    }
}

/// The names beside loopback the listener answers to (Host and Origin
/// checks); a TLS listener's follow its address set while it runs.
pub type Hosts = Arc<std::sync::RwLock<Vec<String>>>;

/// The router.
pub fn router(shared: Arc<Shared>, token: String, hosts: Hosts) -> Router {
    let port = shared
        .http_addr
        .read()
        .ok()
        .and_then(|a| a.as_deref().and_then(|a| a.parse::<SocketAddr>().ok()))
        .map_or(0, |a| a.port());
    let secure = shared.config.http.tls;
    let stopping = shared.shutdown.child_token();
    let service = Service::new(shared);
    let token: Arc<str> = token.into();
    let browsers = crate::web::BrowserAuth::new(service.clone(), port, secure, Arc::clone(&token));
    let state = Http {
        schema: crate::graphql::schema(service.clone()),
        service,
        token,
        browsers: browsers.clone(),
    };
    let authed = Router::new()
        .route("/hooks/claude", post(claude_hook))
        .route("/metrics", get(metrics))
        .layer(middleware::from_fn_with_state(state.clone(), require_token));
    let graphql_post =
        Router::new()
            .route("/graphql", post(graphql))
            .layer(middleware::from_fn_with_state(
                state.clone(),
                require_token_or_browser,
            ));
    // MCP (streamable HTTP): agents and MCP clients with the token.
    let mcp = Router::new()
        .nest_service(
            "/mcp",
            crate::mcp::http_service(state.service.clone(), stopping),
        )
        .layer(middleware::from_fn_with_state(state.clone(), require_token));
    // gRPC (h2c) on the same port; its services check the token in the
    // `authorization` metadata themselves, answering as gRPC does.
    let grpc = crate::grpc::router(state.service.clone(), Arc::clone(&state.token));
    Router::new()
        .route("/health", get(health))
        // A notification's approve/deny button: the signature is the
        // credential (a phone's ntfy app sends no token).
        .route("/notify/decide/{id}/{decision}", post(notify_decide))
        // The WebSocket checks the token itself: browsers cannot set
        // headers on a WebSocket, so it may come in `connection_init`.
        .route("/graphql", get(graphql_ws))
        .merge(authed)
        .merge(graphql_post)
        .merge(mcp)
        .layer(DefaultBodyLimit::max(agentd_proto::MAX_FRAME_BYTES))
        .with_state(state)
        .merge(crate::web::router(browsers))
        .merge(grpc)
        .layer(middleware::from_fn_with_state(hosts, loopback_only))
}

/// `POST /notify/decide/<approval>/<allow|deny>?sig=…`.
async fn notify_decide(
    State(state): State<Http>,
    axum::extract::Path((id, decision)): axum::extract::Path<(String, String)>,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Response {
    let sig = q.get("sig").map(String::as_str).unwrap_or_default();
    match state.service.decide_by_link(&id, &decision, sig).await {
        Ok(a) => {
            axum::Json(json!({"id": a.approval.id, "status": a.approval.status})).into_response()
        }
        Err(e) => error(status_of(&e), e.message()),
    }
}

/// `GET /metrics`: Prometheus's text exposition format.
async fn metrics(State(state): State<Http>) -> Response {
    match crate::metrics::render(&state.service) {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(_) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the metrics could not be written",
        ),
    }
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({"error": message}))).into_response()
}

/// Whether `host` (a Host header value, maybe with a port) names loopback.
pub fn is_loopback_host(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        host.rsplit_once(':').map_or(host, |(h, port)| {
            if port.chars().all(|c| c.is_ascii_digit()) {
                h
            } else {
                host
            }
        })
    };
    matches!(
        name.to_ascii_lowercase().as_str(),
        "localhost" | "127.0.0.1" | "::1"
    )
}

/// Whether a request names only loopback: exactly one `Host` header, a
/// loopback name, and (for an absolute-form target such as
/// `POST http://host/path`) a loopback authority too, which HTTP/1.1 says
/// overrides the `Host` header. `Err` says what was wrong.
pub fn names_only_loopback(req: &Request) -> Result<(), &'static str> {
    let mut hosts = req.headers().get_all(header::HOST).iter();
    let host = hosts.next();
    if hosts.next().is_some() {
        return Err("more than one Host header");
    }
    let host_ok = match host {
        Some(h) => h.to_str().ok().is_some_and(is_loopback_host),
        // HTTP/2 (gRPC) names the host in `:authority`, checked below.
        None => req.version() == axum::http::Version::HTTP_2 && req.uri().authority().is_some(),
    };
    if !host_ok {
        return Err("Host header must name a loopback address");
    }
    if let Some(authority) = req.uri().authority()
        && !is_loopback_host(authority.as_str())
    {
        return Err("the request target must name a loopback address");
    }
    Ok(())
}

/// Refuses requests whose Host (`:authority`) or Origin names anything but
/// loopback or one of `hosts` (the names a TLS listener on another address
/// answers to).
pub async fn loopback_only(State(hosts): State<Hosts>, req: Request, next: Next) -> Response {
    let named = |h: &str| {
        let name = h.rsplit_once(':').map_or(h, |(n, port)| {
            if port.chars().all(|c| c.is_ascii_digit()) {
                n
            } else {
                h
            }
        });
        let name = name.trim_matches(['[', ']']);
        hosts
            .read()
            .is_ok_and(|h| h.iter().any(|x| x.eq_ignore_ascii_case(name)))
    };
    let host_named = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| req.uri().authority().map(|a| a.as_str()))
        .is_some_and(named);
    if !host_named && let Err(why) = names_only_loopback(&req) {
        return error(StatusCode::FORBIDDEN, why);
    }
    let headers = req.headers();
    if let Some(origin) = headers.get(header::ORIGIN) {
        let ok = origin
            .to_str()
            .ok()
            .and_then(|o| {
                o.strip_prefix("http://")
                    .or_else(|| o.strip_prefix("https://"))
            })
            .is_some_and(|o| is_loopback_host(o) || named(o));
        if !ok {
            return error(StatusCode::FORBIDDEN, "cross-origin requests are refused");
        }
    }
    next.run(req).await
}

async fn require_token(State(state): State<Http>, req: Request, next: Next) -> Response {
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "));
    match given {
        Some(t) if constant_time_eq(t.as_bytes(), state.token.as_bytes()) => next.run(req).await,
        _ => error(
            StatusCode::UNAUTHORIZED,
            "missing or wrong bearer token; it is in the file `agentd paths` shows as `token`",
        ),
    }
}

/// `POST /graphql`: the bearer token, or a signed-in browser's cookie with
/// its CSRF key (`X-Agentd-Csrf`), from this origin.
async fn require_token_or_browser(State(state): State<Http>, req: Request, next: Next) -> Response {
    if req.headers().get(header::AUTHORIZATION).is_none()
        && state
            .browsers
            .signed_in_for_mutation(req.headers())
            .is_some()
    {
        return next.run(req).await;
    }
    require_token(State(state), req, next).await
}

/// Whether `a` and `b` are equal, in time that depends on their length only.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn health(State(state): State<Http>) -> Response {
    axum::Json(state.service.health()).into_response()
}

/// `POST /graphql`: one GraphQL request (queries and mutations), its body
/// read whole under the route's size limit (413 past it).
async fn graphql(State(state): State<Http>, body: Bytes) -> Response {
    let req: async_graphql::Request = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!(
                    "body is not a GraphQL request (`{{\"query\": …, \"variables\": …}}`): {e}"
                ),
            );
        }
    };
    axum::Json(state.schema.execute(req).await).into_response()
}

/// `GET /graphql` upgraded to a WebSocket: GraphQL subscriptions over
/// `graphql-transport-ws` or the legacy `graphql-ws`. The bearer token is
/// taken from the `Authorization` header or, for browsers, from the
/// `connection_init` payload (`{"authorization": "Bearer …"}`); without it
/// the connection is refused before any subscription starts.
async fn graphql_ws(
    State(state): State<Http>,
    protocol: async_graphql_axum::GraphQLProtocol,
    headers: HeaderMap,
    upgrade: axum::extract::ws::WebSocketUpgrade,
) -> Response {
    let bearer = |v: Option<&str>| {
        v.and_then(|h| h.strip_prefix("Bearer "))
            .is_some_and(|t| constant_time_eq(t.as_bytes(), state.token.as_bytes()))
    };
    let by_header = bearer(
        headers
            .get(header::AUTHORIZATION)
            .and_then(|h| h.to_str().ok()),
    );
    // A browser signs in by its cookie and its CSRF key (`{"csrf": …}` in
    // connection_init), from this origin only (a browser always sends
    // Origin on a WebSocket). Revoking its web session closes the socket.
    let cookies = state.browsers.same_origin_tokens(&headers);
    let browsers = state.browsers.clone();
    let revoked = tokio_util::sync::CancellationToken::new();
    let on_revoke = revoked.clone();
    let token = Arc::clone(&state.token);
    let schema = state.schema.clone();
    upgrade
        .protocols(async_graphql::http::ALL_WEBSOCKET_PROTOCOLS)
        // A subscriber costs what it buffers: small buffers (each message
        // written at once, not gathered to 128 KiB) keep a thousand of them
        // cheap (BENCHMARKS.md, fan-out); a message past the frame limit
        // closes the socket instead of growing a buffer.
        .read_buffer_size(WS_READ_BUFFER)
        .write_buffer_size(0)
        .max_message_size(agentd_proto::MAX_FRAME_BYTES)
        .max_frame_size(agentd_proto::MAX_FRAME_BYTES)
        .on_upgrade(move |socket| async move {
            // A quiet subscription still moves bytes: a ping every
            // WS_PING keeps the HTTP idle timeout (for slowloris) from
            // closing it, and finds dead peers.
            let (sink, ws_rx, pinger) = pinged_pair(socket, WS_PING);
            let served = async_graphql_axum::GraphQLWebSocket::new_with_pair(sink, ws_rx, schema, protocol)
                .on_connection_init(move |payload| async move {
                    let given = payload
                        .get("authorization")
                        .or_else(|| payload.get("Authorization"))
                        .and_then(Value::as_str)
                        .and_then(|h| h.strip_prefix("Bearer "))
                        .is_some_and(|t| constant_time_eq(t.as_bytes(), token.as_bytes()));
                    let browser = payload.get("csrf").and_then(Value::as_str).and_then(|k| {
                        cookies.iter().find_map(|c| browsers.check_key(c, k))
                    });
                    if let Some(signed) = browser {
                        // Cut when the web session is revoked (the watch
                        // ends with the connection).
                        tokio::spawn(async move {
                            tokio::select! {
                                () = signed.revoked.cancelled() => on_revoke.cancel(),
                                () = on_revoke.cancelled() => {}
                            }
                        });
                        return Ok(async_graphql::Data::default());
                    }
                    if by_header || given {
                        Ok(async_graphql::Data::default())
                    } else {
                        Err(async_graphql::Error::new(
                            "missing or wrong bearer token: send it as the Authorization header or as {\"authorization\": \"Bearer …\"} in connection_init (a browser signed in to the web UI sends {\"csrf\": …})",
                        ))
                    }
                })
                .serve();
            tokio::select! {
                () = served => {}
                () = revoked.cancelled() => pinger.abort(),
            }
            // Ends the revocation watch, if any.
            revoked.cancel();
            let _ = pinger.await;
        })
}

/// Splits a WebSocket for `async_graphql_axum::GraphQLWebSocket`: the
/// sink writes through a task that also pings every `every`; returns the
/// sink, the read half, and that task (it ends when the sink is dropped or
/// the peer is gone). The daemon's and HQ's GraphQL WebSockets use it.
pub fn pinged_pair(
    socket: axum::extract::ws::WebSocket,
    every: std::time::Duration,
) -> (
    tokio_util::sync::PollSender<axum::extract::ws::Message>,
    futures_util::stream::SplitStream<axum::extract::ws::WebSocket>,
    tokio::task::JoinHandle<()>,
) {
    use futures_util::{SinkExt, StreamExt};
    let (mut ws_tx, ws_rx) = socket.split();
    let (out_tx, mut out_rx) = tokio::sync::mpsc::channel::<axum::extract::ws::Message>(64);
    let pinger = tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.tick().await;
        loop {
            tokio::select! {
                m = out_rx.recv() => match m {
                    Some(m) => if ws_tx.send(m).await.is_err() { break },
                    None => break,
                },
                _ = tick.tick() => {
                    if ws_tx.send(axum::extract::ws::Message::Ping(Default::default())).await.is_err() {
                        break;
                    }
                }
            }
        }
        let _ = ws_tx.close().await;
    });
    (tokio_util::sync::PollSender::new(out_tx), ws_rx, pinger)
}

/// A GraphQL WebSocket's read buffer, bytes (clients send little: init,
/// subscribe, pongs).
const WS_READ_BUFFER: usize = 4096;

/// How often a GraphQL WebSocket is pinged (under the 30 s HTTP idle
/// timeout).
const WS_PING: std::time::Duration = std::time::Duration::from_secs(15);

async fn claude_hook(State(state): State<Http>, headers: HeaderMap, body: Bytes) -> Response {
    let payload: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return error(StatusCode::BAD_REQUEST, &format!("body is not JSON: {e}")),
    };
    let env = headers
        .get("x-agentd-tmux-pane")
        .and_then(|v| v.to_str().ok())
        .map(|pane| json!({"tmux_pane": pane}))
        .unwrap_or(Value::Null);
    let params = agentd_proto::api::IngestParams {
        payload,
        env,
        event_id: None,
    };
    let output = match state.service.ingest(Source::Hook, params, None).await {
        Ok(Ingested::Now(r)) => r.output,
        // The HTTP request stays open while the call is held; if Claude Code
        // gives up, this future is dropped and the hold abandoned.
        Ok(Ingested::Held(hold)) => match hold.reply.await {
            Ok(result) => result.get("output").cloned(),
            Err(e) => return error(status_of(&e), e.message()),
        },
        Err(e) => return error(status_of(&e), e.message()),
    };
    // Claude Code reads an empty 2xx body as "no decision".
    match output.filter(|o| !o.is_null()) {
        Some(o) => axum::Json(o).into_response(),
        None => StatusCode::OK.into_response(),
    }
}

/// The one place a service error becomes an HTTP status.
fn status_of(e: &ServiceError) -> StatusCode {
    match e {
        ServiceError::Invalid(_) | ServiceError::Ambiguous(_) => StatusCode::BAD_REQUEST,
        ServiceError::NotFound(_) => StatusCode::NOT_FOUND,
        ServiceError::Conflict(_) => StatusCode::CONFLICT,
        ServiceError::Gone(_) => StatusCode::GONE,
        ServiceError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
        ServiceError::Overloaded(_) => StatusCode::TOO_MANY_REQUESTS,
        ServiceError::ShuttingDown(_) | ServiceError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
        ServiceError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts() {
        for ok in [
            "localhost",
            "localhost:41956",
            "127.0.0.1:1",
            "[::1]:80",
            "LOCALHOST",
        ] {
            assert!(is_loopback_host(ok), "{ok}");
        }
        for bad in [
            "evil.com",
            "127.0.0.1.evil.com",
            "localhost.evil.com:80",
            "10.0.0.1",
            "",
        ] {
            assert!(!is_loopback_host(bad), "{bad}");
        }
    }

    fn req(lines: &[(&str, &str)], uri: &str) -> Request {
        let mut b = axum::http::Request::builder().method("POST").uri(uri);
        for (k, v) in lines {
            b = b.header(*k, *v);
        }
        b.body(axum::body::Body::empty()).unwrap()
    }

    #[test]
    fn only_loopback_may_be_named_anywhere_in_a_request() {
        assert!(names_only_loopback(&req(&[("host", "127.0.0.1:4")], "/hooks/claude")).is_ok());
        assert!(
            names_only_loopback(&req(
                &[("host", "localhost")],
                "http://127.0.0.1:4/hooks/claude"
            ))
            .is_ok()
        );
        let two = req(
            &[("host", "127.0.0.1"), ("host", "attacker.example")],
            "/hooks/claude",
        );
        assert_eq!(names_only_loopback(&two), Err("more than one Host header"));
        let two_loopback = req(&[("host", "127.0.0.1"), ("host", "localhost")], "/");
        assert_eq!(
            names_only_loopback(&two_loopback),
            Err("more than one Host header")
        );
        let absolute = req(
            &[("host", "127.0.0.1")],
            "http://attacker.example/hooks/claude",
        );
        assert_eq!(
            names_only_loopback(&absolute),
            Err("the request target must name a loopback address")
        );
        assert!(names_only_loopback(&req(&[], "/")).is_err());
        assert!(names_only_loopback(&req(&[("host", "attacker.example")], "/")).is_err());
    }

    #[test]
    fn listen_addresses() {
        assert_eq!(
            parse_listen("localhost:0", false).unwrap().to_string(),
            "127.0.0.1:0"
        );
        assert!(parse_listen("[::1]:5", false).is_ok());
        assert!(
            parse_listen("0.0.0.0:41956", false)
                .unwrap_err()
                .contains("without TLS")
        );
        assert!(parse_listen("0.0.0.0:41956", true).is_ok(), "with TLS");
        assert!(parse_listen("nope", false).unwrap_err().contains("invalid"));
    }
}
