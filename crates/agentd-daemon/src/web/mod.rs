//! The web face: the browser UI's assets, and signing browsers in and out.
//!
//! The UI (`crates/agentd-daemon/web/`: plain ES modules, vendored Preact,
//! htm and graphql-ws) is embedded in the binary at build time by
//! memory-serve (brotli and gzip, ETag, `Cache-Control: no-cache` so a
//! new daemon's UI is picked up at once) and served at `/`. The UI has no
//! API of its own: it speaks GraphQL (`POST /graphql`, and subscriptions
//! on `GET /graphql`) like any other client, signed in by a cookie instead
//! of the bearer token ([`auth`]).
//!
//! Routes:
//! - `GET /login?code=…`: trades a one-time code from `agentd web` for the
//!   session cookie, then redirects to `/` (the code leaves the address
//!   bar);
//! - `GET /api/session`: whether this browser is signed in, as whom, and
//!   the CSRF token the page sends as `X-Agentd-Csrf` on every POST;
//! - `POST /logout`: signs this browser out;
//! - `GET /terminals/{id}`: a terminal's bytes over a WebSocket
//!   ([`terminal`]).
//!
//! Every response here carries a strict Content-Security-Policy (no inline
//! script or style, connections to this origin only).

pub mod auth;
mod terminal;

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::extract::{ConnectInfo, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;

use crate::service::Service;
use auth::Signed;

/// The header a signed-in page sends its CSRF token in.
pub const CSRF_HEADER: &str = "x-agentd-csrf";

/// The Content-Security-Policy of every web response: scripts and
/// connections from this origin only, no inline or evaluated script, no
/// frames or plugins. Styles also allow inline `<style>` elements: xterm.js
/// writes its terminal theme into one at run time (styles run no code;
/// and no untrusted text is ever parsed as markup, so none can add one).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self'; connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// How browsers are signed in to this daemon.
#[derive(Clone)]
pub struct BrowserAuth {
    service: Service,
    /// The cookie's name: `agentd_session_<port>` (cookies do not keep
    /// ports apart, two users' daemons on one machine must not clash).
    cookie: Arc<str>,
    /// Whether the listener is TLS (the cookie is then `Secure`).
    secure: bool,
    /// The bearer token (non-browser clients of `/terminals/{id}`).
    token: Arc<str>,
}

impl BrowserAuth {
    /// Browser sign-in for the daemon listening on `port`.
    pub fn new(service: Service, port: u16, secure: bool, token: Arc<str>) -> BrowserAuth {
        BrowserAuth {
            service,
            cookie: format!("agentd_session_{port}").into(),
            secure,
            token,
        }
    }

    /// Every value the request's cookies give this daemon's cookie name
    /// (another local page may set a same-named cookie to shadow ours: each
    /// is tried).
    fn tokens<'h>(&self, headers: &'h HeaderMap) -> Vec<&'h str> {
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| cookie_values(v, &self.cookie))
            .take(8)
            .collect()
    }

    /// The signed-in browser a request comes from (its cookie names a live
    /// web session), with the session's token. The cookie alone proves
    /// little (another local server may have seen it): only for reads of
    /// nothing secret (`/api/session`).
    pub fn signed_in<'h>(&self, headers: &'h HeaderMap) -> Option<(Signed, &'h str)> {
        self.tokens(headers)
            .into_iter()
            .find_map(|t| Some((self.service.web_check(t)?, t)))
    }

    /// A request the page itself made: from this very origin (a browser
    /// sends `Origin` with every WebSocket and POST; another local origin
    /// such as `localhost:3000` is loopback too, but it is not this UI),
    /// with the cookie and the session's CSRF key (`csrf`).
    pub fn signed_in_with_key(&self, headers: &HeaderMap, csrf: &str) -> Option<Signed> {
        if !same_origin(headers) {
            return None;
        }
        self.tokens(headers)
            .into_iter()
            .find_map(|t| self.service.web_check_csrf(t, csrf))
    }

    /// The cookie values of a WebSocket upgrade from this origin, to check
    /// with the key its first message brings.
    pub fn same_origin_tokens(&self, headers: &HeaderMap) -> Vec<String> {
        if !same_origin(headers) {
            return Vec::new();
        }
        self.tokens(headers)
            .into_iter()
            .map(str::to_owned)
            .collect()
    }

    /// The web session a cookie value and a CSRF key sign in.
    pub fn check_key(&self, token: &str, csrf: &str) -> Option<Signed> {
        self.service.web_check_csrf(token, csrf)
    }

    /// The signed-in browser a mutation comes from: this origin, its
    /// cookie, and the session's CSRF key in `X-Agentd-Csrf`.
    pub fn signed_in_for_mutation(&self, headers: &HeaderMap) -> Option<Signed> {
        let given = headers.get(CSRF_HEADER)?.to_str().ok()?;
        self.signed_in_with_key(headers, given)
    }

    fn set_cookie(&self, token: &str) -> String {
        let secure = if self.secure { "; Secure" } else { "" };
        format!(
            "{}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
            self.cookie,
            auth::SESSION_TTL_MS / 1000
        )
    }

    fn clear_cookie(&self) -> String {
        let secure = if self.secure { "; Secure" } else { "" };
        format!(
            "{}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}",
            self.cookie
        )
    }
}

/// Whether the request's `Origin` names the host it was sent to.
pub fn same_origin(headers: &HeaderMap) -> bool {
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    match (origin, host) {
        (Some(o), Some(h)) => o
            .strip_prefix("http://")
            .or_else(|| o.strip_prefix("https://"))
            .is_some_and(|o| o.eq_ignore_ascii_case(h)),
        _ => false,
    }
}

/// The values of cookie `name` in a `Cookie` header (`a=1; b=2`).
pub fn cookie_values<'h>(header: &'h str, name: &str) -> Vec<&'h str> {
    header
        .split(';')
        .filter_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k == name).then(|| v.trim_matches('"'))
        })
        .collect()
}

/// The web routes: assets, sign-in, sign-out, `/api/session`.
pub fn router(auth: BrowserAuth) -> Router {
    let api = Router::new()
        .route("/login", get(login))
        .route("/logout", post(logout))
        .route("/api/session", get(session))
        .route("/terminals/{id}", get(terminal::attach))
        .with_state(auth);
    assets()
        .merge(api)
        .layer(middleware::from_fn(security_headers))
}

/// The embedded UI, built once (memory-serve leaks its tables).
fn assets() -> Router {
    static ASSETS: OnceLock<Router> = OnceLock::new();
    ASSETS
        .get_or_init(|| {
            use memory_serve::CacheControl;
            memory_serve::load!()
                .enable_brotli(true)
                .enable_gzip(true)
                .html_cache_control(CacheControl::NoCache)
                .cache_control(CacheControl::NoCache)
                .into_router()
        })
        .clone()
}

/// Adds [`CONTENT_SECURITY_POLICY`] and the other security headers every
/// web response carries (HQ's web UI too).
pub async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    res
}

#[derive(Deserialize)]
struct LoginQuery {
    code: Option<String>,
}

/// `GET /login?code=…`.
async fn login(
    State(auth): State<BrowserAuth>,
    peer: Option<axum::Extension<ConnectInfo<std::net::SocketAddr>>>,
    headers: HeaderMap,
    Query(q): Query<LoginQuery>,
) -> Response {
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    let address = peer.map(|axum::Extension(ConnectInfo(a))| a.ip().to_string());
    let redeemed = match q.code.as_deref() {
        Some(code) => auth.service.web_redeem(code, user_agent, address).await,
        None => None,
    };
    let Some(redeemed) = redeemed else {
        return (
            StatusCode::UNAUTHORIZED,
            [
                (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            "This sign-in link is not valid: each link works once, for 10 minutes.\n\
             Run `agentd web` in a terminal for a new one.\n",
        )
            .into_response();
    };
    (
        StatusCode::SEE_OTHER,
        [
            // The CSRF key rides in the fragment: never sent to a server,
            // read once by the page's script (which then drops it).
            (header::LOCATION, format!("/#csrf={}", redeemed.csrf)),
            (header::SET_COOKIE, auth.set_cookie(&redeemed.token)),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
    )
        .into_response()
}

const NOT_SIGNED_IN: &str =
    "not signed in: run `agentd web` in a terminal and open the link it prints";

fn not_signed_in() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(json!({ "error": NOT_SIGNED_IN })),
    )
        .into_response()
}

/// `GET /api/session`: `{signed_in: true, id}`, or `{signed_in: false,
/// error}` (a 200 either way: being signed out is an answer, not a
/// failure, and a browser logs every 4xx as a console error). Never the
/// CSRF key: the cookie alone must not yield it.
async fn session(State(auth): State<BrowserAuth>, headers: HeaderMap) -> Response {
    let body = match auth.signed_in(&headers) {
        Some((signed, _)) => json!({"signed_in": true, "id": signed.id}),
        None => json!({"signed_in": false, "error": NOT_SIGNED_IN}),
    };
    ([(header::CACHE_CONTROL, "no-store")], axum::Json(body)).into_response()
}

/// `POST /logout` (with the CSRF token): revokes this browser's session.
async fn logout(State(auth): State<BrowserAuth>, headers: HeaderMap) -> Response {
    let Some(signed) = auth.signed_in_for_mutation(&headers) else {
        return not_signed_in();
    };
    // Revoked in memory at once; the file follows.
    let _ = auth.service.web_revoke(&signed.id).await;
    (
        StatusCode::NO_CONTENT,
        [(header::SET_COOKIE, auth.clear_cookie())],
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_this_origin_is_the_same_origin() {
        let h = |origin: Option<&str>, host: &str| {
            let mut m = HeaderMap::new();
            m.insert(header::HOST, HeaderValue::from_str(host).unwrap());
            if let Some(o) = origin {
                m.insert(header::ORIGIN, HeaderValue::from_str(o).unwrap());
            }
            same_origin(&m)
        };
        assert!(h(Some("http://127.0.0.1:4"), "127.0.0.1:4"));
        assert!(h(Some("https://box.lan:4"), "box.lan:4"));
        assert!(!h(Some("http://localhost:3000"), "127.0.0.1:4"));
        assert!(!h(Some("http://127.0.0.1:5"), "127.0.0.1:4"));
        assert!(!h(Some("null"), "127.0.0.1:4"));
        assert!(!h(None, "127.0.0.1:4"));
    }

    #[test]
    fn cookies_are_found_by_exact_name() {
        let h = "a=1; agentd_session_4=tok; agentd_session_41=other; agentd_session_4=shadow";
        let all = |h: &str, n: &str| {
            cookie_values(h, n)
                .into_iter()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        assert_eq!(all(h, "agentd_session_4"), ["tok", "shadow"]);
        assert_eq!(all(h, "agentd_session_41"), ["other"]);
        assert!(all(h, "agentd_session").is_empty());
        assert!(all("", "a").is_empty());
        assert!(all("a", "a").is_empty());
    }
}
