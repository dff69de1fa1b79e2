//! Web sessions (browsers signed in to the web UI): sign-in links, the
//! cookie's check, listing, revoking. See [`crate::web::auth`].

use std::net::SocketAddr;

use agentd_proto::api::{WebLogin, WebRevoked, WebSessionView};

use super::{Service, ServiceError};
use crate::web::auth::{Redeemed, RevokeError, Signed};

impl Service {
    /// A one-time sign-in link: for this machine (loopback) and, when the
    /// listener is TLS beyond loopback, for its other addresses.
    ///
    /// # Errors
    /// [`ServiceError::Invalid`] when HTTP is off; [`ServiceError::Internal`]
    /// without randomness.
    pub fn web_login(&self) -> Result<WebLogin, ServiceError> {
        let addr: Option<SocketAddr> = self
            .shared
            .http_addr
            .read()
            .ok()
            .and_then(|a| a.as_deref().and_then(|a| a.parse().ok()));
        let Some(addr) = addr else {
            return Err(ServiceError::Invalid(
                "the web UI needs the HTTP listener, which is off: set [http] listen (e.g. \"127.0.0.1:41956\") in agentd.toml and restart the daemon".into(),
            ));
        };
        let (code, lapses) = self
            .shared
            .web
            .issue_code()
            .map_err(ServiceError::Internal)?;
        let scheme = if self.shared.config.http.tls {
            "https"
        } else {
            "http"
        };
        let port = addr.port();
        let link = |host: &str| format!("{scheme}://{host}:{port}/login?code={code}");
        let local = if addr.ip().is_unspecified() || addr.ip().is_loopback() {
            if addr.is_ipv6() && !addr.ip().is_unspecified() {
                "[::1]".to_owned()
            } else {
                "127.0.0.1".to_owned()
            }
        } else {
            host_of(&addr.ip().to_string())
        };
        let lan_urls = if self.shared.config.http.tls {
            self.shared
                .http_hosts
                .read()
                .map(|h| {
                    h.iter()
                        .filter(|n| !crate::http::is_loopback_host(n))
                        .filter(|n| n.parse::<std::net::IpAddr>().is_ok())
                        .map(|n| link(&host_of(n)))
                        .collect()
                })
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        let left = lapses.saturating_duration_since(std::time::Instant::now());
        Ok(WebLogin {
            url: link(&local),
            lan_urls,
            expires_ms: crate::now_ms() + left.as_millis() as i64,
        })
    }

    /// Trades a sign-in code for a session token and CSRF key (and stores
    /// the new web session); `None` when the code is unknown, spent or
    /// lapsed.
    pub async fn web_redeem(
        &self,
        code: &str,
        user_agent: Option<&str>,
        address: Option<String>,
    ) -> Option<Redeemed> {
        let redeemed = self.shared.web.redeem(code, user_agent, address).ok()?;
        tracing::info!(web_session = %redeemed.id, "browser signed in");
        self.save_web_sessions().await;
        Some(redeemed)
    }

    /// The live web session a cookie's token belongs to.
    pub fn web_check(&self, token: &str) -> Option<Signed> {
        self.shared.web.check(token)
    }

    /// The live web session a cookie's token and a CSRF key sign in.
    pub fn web_check_csrf(&self, token: &str, csrf: &str) -> Option<Signed> {
        self.shared.web.check_csrf(token, csrf)
    }

    /// Browsers signed in, most recently seen first.
    pub fn web_sessions(&self) -> Vec<WebSessionView> {
        self.shared.web.list()
    }

    /// Signs out the web sessions `id` names (an id, a unique prefix, or
    /// `all`); their WebSockets close.
    ///
    /// # Errors
    /// [`ServiceError::NotFound`] / [`ServiceError::Ambiguous`].
    pub async fn web_revoke(&self, id: &str) -> Result<WebRevoked, ServiceError> {
        let revoked = self.shared.web.revoke(id).map_err(|e| match e {
            RevokeError::NotFound => ServiceError::NotFound(format!(
                "no web session {id:?}; `agentd web sessions` lists them"
            )),
            RevokeError::Ambiguous => ServiceError::Ambiguous(format!(
                "{id:?} names several web sessions; give more of the id"
            )),
        })?;
        self.save_web_sessions().await;
        Ok(WebRevoked { revoked })
    }

    async fn save_web_sessions(&self) {
        let shared = std::sync::Arc::clone(&self.shared);
        let saved = tokio::task::spawn_blocking(move || shared.web.save()).await;
        if let Ok(Err(e)) = saved {
            tracing::warn!("web sessions not saved (they last until the daemon stops): {e}");
        }
    }
}

/// An address as the host of a URL (IPv6 in brackets).
fn host_of(ip: &str) -> String {
    if ip.contains(':') {
        format!("[{ip}]")
    } else {
        ip.to_owned()
    }
}
