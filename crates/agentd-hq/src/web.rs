//! HQ's web UI: the embedded page and how a browser signs in with a user
//! token.
//!
//! Signing in: the page posts the user token once to `POST /hq/login`
//! (same origin only). HQ answers with a cookie naming the token by id
//! (`agentd_hq_<port>=<token id>.<expires ms>.<MAC>`, HttpOnly,
//! SameSite=Strict, Secure over TLS) and a CSRF key in the body, which the
//! page keeps in this origin's localStorage. Every API call from the page
//! then carries both: the cookie, and the key in `X-Agentd-Csrf` (or
//! `?csrf=` for a terminal's WebSocket), from this very origin.
//!
//! Invariants:
//! - The token itself is never stored, in the browser or at HQ: the cookie
//!   and the key are keyed BLAKE3 MACs (key: `web.key` in HQ's root, 0600,
//!   made once) over the token id and the expiry, so they sign nothing in
//!   without that key.
//! - Every request looks the token up by id: revoking the user token
//!   (`agentd hq token revoke`) signs its browsers out at once, and its
//!   role is read fresh each time.
//! - The cookie alone (another local server on another port can receive
//!   it: cookies ignore ports) reads nothing: every API call needs the key.

use std::path::Path;
use std::sync::Arc;

use axum::http::{HeaderMap, header};

use crate::service::{Caller, HqError, HqService};

/// How long a browser stays signed in, ms (30 days).
pub const SESSION_TTL_MS: i64 = 30 * 24 * 3600 * 1000;
/// The header a signed-in page sends its CSRF key in (the daemon's).
pub const CSRF_HEADER: &str = agentd_daemon::web::CSRF_HEADER;

/// The key and names a browser's sign-in is made with.
#[derive(Clone)]
pub struct WebAuth {
    key: Arc<[u8; 32]>,
    /// `agentd_hq_<port>`.
    cookie: Arc<str>,
    secure: bool,
}

/// What a sign-in hands the browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Minted {
    /// The `Set-Cookie` header.
    pub set_cookie: String,
    /// The CSRF key, for the page.
    pub csrf: String,
}

impl WebAuth {
    /// The key in `root/web.key` (made on first use, 0600). Blocking: call
    /// at start-up.
    ///
    /// # Errors
    /// The file cannot be read or written, or holds something else.
    pub fn load(root: &Path, port: u16, secure: bool) -> Result<WebAuth, String> {
        let path = root.join("web.key");
        let key: [u8; 32] = match agentd_fs::read(&path, 64) {
            Ok(bytes) => bytes
                .try_into()
                .map_err(|_| format!("{} is not a 32-byte key: delete it to make a new one (signs every browser out)", path.display()))?,
            Err(agentd_fs::FsError::Io { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                let mut k = [0u8; 32];
                getrandom::fill(&mut k).map_err(|e| format!("no randomness for web.key: {e}"))?;
                agentd_fs::write_private(&path, &k)
                    .map_err(|e| format!("writing {}: {e}", path.display()))?;
                k
            }
            Err(e) => return Err(format!("reading {}: {e}", path.display())),
        };
        Ok(WebAuth::with_key(key, port, secure))
    }

    /// With `key` (tests).
    pub fn with_key(key: [u8; 32], port: u16, secure: bool) -> WebAuth {
        WebAuth {
            key: Arc::new(key),
            cookie: format!("agentd_hq_{port}").into(),
            secure,
        }
    }

    fn mac(&self, what: &str, token_id: &str, expires_ms: i64) -> String {
        let msg = format!("{what}\0{token_id}\0{expires_ms}");
        blake3::keyed_hash(&self.key, msg.as_bytes())
            .to_hex()
            .to_string()
    }

    /// A sign-in for token `token_id`, lasting [`SESSION_TTL_MS`] from
    /// `now_ms`.
    pub fn mint(&self, token_id: &str, now_ms: i64) -> Minted {
        let expires = now_ms.saturating_add(SESSION_TTL_MS);
        let value = format!(
            "{token_id}.{expires}.{}",
            self.mac("session", token_id, expires)
        );
        let secure = if self.secure { "; Secure" } else { "" };
        Minted {
            set_cookie: format!(
                "{}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
                self.cookie,
                SESSION_TTL_MS / 1000
            ),
            csrf: self.mac("csrf", token_id, expires),
        }
    }

    /// The `Set-Cookie` header that signs a browser out.
    pub fn clear_cookie(&self) -> String {
        let secure = if self.secure { "; Secure" } else { "" };
        format!(
            "{}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}",
            self.cookie
        )
    }

    /// The token id a cookie value and CSRF key prove, if they are this
    /// HQ's, match each other and have not expired at `now_ms`.
    pub fn verify(&self, cookie: &str, csrf: &str, now_ms: i64) -> Option<String> {
        let mut parts = cookie.splitn(3, '.');
        let (id, expires, mac) = (parts.next()?, parts.next()?, parts.next()?);
        let expires: i64 = expires.parse().ok()?;
        let eq =
            |a: &str, b: &str| agentd_daemon::http::constant_time_eq(a.as_bytes(), b.as_bytes());
        (expires > now_ms
            && eq(mac, &self.mac("session", id, expires))
            && eq(csrf, &self.mac("csrf", id, expires)))
        .then(|| id.to_owned())
    }

    /// The token id a page's request proves: this HQ's cookie and `csrf`
    /// (the header's when `None`), and, when the browser names an `Origin`
    /// (it does for every POST and WebSocket, not for a same-origin GET),
    /// this origin. The key is what proves the page: no other origin can
    /// read it.
    pub fn signed_in(
        &self,
        headers: &HeaderMap,
        csrf: Option<&str>,
        now_ms: i64,
    ) -> Option<String> {
        if headers.contains_key(header::ORIGIN) && !agentd_daemon::web::same_origin(headers) {
            return None;
        }
        let csrf = match csrf {
            Some(c) => c,
            None => headers.get(CSRF_HEADER)?.to_str().ok()?,
        };
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| agentd_daemon::web::cookie_values(v, &self.cookie))
            .take(8)
            .find_map(|c| self.verify(c, csrf, now_ms))
    }
}

impl HqService {
    /// The caller a request proves: its bearer token, or else a signed-in
    /// page's cookie and CSRF key (`csrf`: a WebSocket's `?csrf=`).
    ///
    /// # Errors
    /// [`HqError::Unauthenticated`]; the store.
    pub async fn caller(
        &self,
        web: &WebAuth,
        headers: &HeaderMap,
        csrf: Option<&str>,
    ) -> Result<Caller, HqError> {
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(|t| t.trim().to_owned());
        if bearer.is_some() {
            return self.authenticate(bearer).await;
        }
        match web.signed_in(headers, csrf, crate::service::now_ms()) {
            Some(id) => self.authenticate_id(&id).await,
            None => self.authenticate(None).await,
        }
    }
}

/// The page's files: HQ's own (`crates/agentd-hq/web/`) and, from the
/// daemon's web UI, its terminal view, `ui.js` and the vendored libraries
/// (Preact, htm, graphql-ws, xterm.js), compiled in.
const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "/",
        "text/html; charset=utf-8",
        include_bytes!("../web/index.html"),
    ),
    (
        "/hq.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../web/hq.js"),
    ),
    (
        "/hq.css",
        "text/css; charset=utf-8",
        include_bytes!("../web/hq.css"),
    ),
    (
        "/app.css",
        "text/css; charset=utf-8",
        include_bytes!("../../agentd-daemon/web/app.css"),
    ),
    (
        "/favicon.svg",
        "image/svg+xml",
        include_bytes!("../../agentd-daemon/web/favicon.svg"),
    ),
    (
        "/vendor/preact.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../agentd-daemon/web/vendor/preact.js"),
    ),
    (
        "/vendor/preact-hooks.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../agentd-daemon/web/vendor/preact-hooks.js"),
    ),
    (
        "/vendor/htm.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../agentd-daemon/web/vendor/htm.js"),
    ),
    (
        "/ui.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../agentd-daemon/web/ui.js"),
    ),
    (
        "/terminal-view.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../agentd-daemon/web/terminal-view.js"),
    ),
    (
        "/vendor/graphql-ws.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../agentd-daemon/web/vendor/graphql-ws.js"),
    ),
    (
        "/vendor/graphql-ws-common.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../agentd-daemon/web/vendor/graphql-ws-common.js"),
    ),
    (
        "/vendor/xterm.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../agentd-daemon/web/vendor/xterm.js"),
    ),
    (
        "/vendor/xterm-addon-fit.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../agentd-daemon/web/vendor/xterm-addon-fit.js"),
    ),
    (
        "/vendor/xterm.css",
        "text/css; charset=utf-8",
        include_bytes!("../../agentd-daemon/web/vendor/xterm.css"),
    ),
];

/// The page's routes (no sign-in needed: they hold no data).
pub fn assets<S: Clone + Send + Sync + 'static>() -> axum::Router<S> {
    let mut r = axum::Router::new();
    for &(path, content_type, bytes) in ASSETS {
        r = r.route(
            path,
            axum::routing::get(move || async move {
                (
                    [
                        (header::CONTENT_TYPE, content_type),
                        (header::CACHE_CONTROL, "no-cache"),
                    ],
                    bytes,
                )
            }),
        );
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sign_in_verifies_only_with_its_own_key_before_it_expires() {
        let web = WebAuth::with_key([7; 32], 8080, false);
        let m = web.mint("abc123", 1_000);
        assert!(
            m.set_cookie.starts_with("agentd_hq_8080=abc123."),
            "{}",
            m.set_cookie
        );
        assert!(m.set_cookie.contains("HttpOnly; SameSite=Strict"));
        let value = m
            .set_cookie
            .split(';')
            .next()
            .unwrap()
            .split_once('=')
            .unwrap()
            .1;
        assert_eq!(web.verify(value, &m.csrf, 2_000).as_deref(), Some("abc123"));
        // Wrong key, swapped parts, another id, expired.
        assert_eq!(web.verify(value, "00", 2_000), None);
        let other = WebAuth::with_key([8; 32], 8080, false);
        assert_eq!(other.verify(value, &m.csrf, 2_000), None);
        let forged = value.replacen("abc123", "zzz999", 1);
        assert_eq!(web.verify(&forged, &m.csrf, 2_000), None);
        assert_eq!(web.verify(value, &m.csrf, 1_000 + SESSION_TTL_MS), None);
        assert_eq!(web.verify("nonsense", &m.csrf, 2_000), None);
    }

    #[test]
    fn a_page_needs_its_origin_cookie_and_key() {
        let web = WebAuth::with_key([7; 32], 9, true);
        let m = web.mint("id1", 0);
        assert!(m.set_cookie.ends_with("; Secure"));
        let value = m.set_cookie.split(';').next().unwrap().to_owned();
        let mut h = HeaderMap::new();
        h.insert(header::HOST, "127.0.0.1:9".parse().unwrap());
        h.insert(header::COOKIE, format!("x=1; {value}").parse().unwrap());
        h.insert(CSRF_HEADER, m.csrf.parse().unwrap());
        assert_eq!(
            web.signed_in(&h, None, 5).as_deref(),
            Some("id1"),
            "a same-origin GET"
        );
        h.insert(header::ORIGIN, "http://localhost:3000".parse().unwrap());
        assert_eq!(web.signed_in(&h, None, 5), None, "another origin");
        h.insert(header::ORIGIN, "https://127.0.0.1:9".parse().unwrap());
        assert_eq!(web.signed_in(&h, None, 5).as_deref(), Some("id1"));
        assert_eq!(web.signed_in(&h, Some("bad"), 5), None);
        h.remove(CSRF_HEADER);
        assert_eq!(web.signed_in(&h, None, 5), None, "cookie alone");
        assert_eq!(web.signed_in(&h, Some(&m.csrf), 5).as_deref(), Some("id1"));
    }
}
