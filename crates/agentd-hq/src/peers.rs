//! Several HQ processes on one PostgreSQL reaching each other for what a
//! NOTIFY cannot carry: a terminal's bytes. Each HQ registers where it is
//! (`hq_peers`: its URL and, over TLS, its CA) every few seconds; they
//! share a secret (`hq_secret`, made by the first) that signs their calls
//! to each other. A browser's attach at HQ A to a runner linked to HQ B:
//! A dials B's [`PEER_ATTACH_PATH`] with the secret, B attaches to its
//! runner as for a browser of its own, and A splices the browser to that
//! socket — so the terminal protocol, replay included, is end to end.

use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::backend::Backend;
use crate::service::{HqError, HqService};

/// Where another HQ process attaches to a terminal of a runner linked
/// here: `GET {PEER_ATTACH_PATH}?runner=&id=&from=`, a WebSocket, with
/// `Authorization: Bearer <the shared secret>`.
pub const PEER_ATTACH_PATH: &str = "/hq/v1/peer/terminal";

/// A socket to another HQ process.
pub type PeerSocket = tokio_tungstenite::WebSocketStream<Box<dyn agentd_daemon::dial::Io>>;

/// How long dialling another HQ may take: TCP, TLS and the upgrade, which
/// that HQ answers only after its runner answered
/// ([`crate::service::RUNNER_ANSWER_WITHIN`]) and dialled back
/// ([`crate::terminals::DIAL_BACK_WITHIN`]).
const PEER_DIAL_WITHIN: std::time::Duration = std::time::Duration::from_secs(
    crate::service::RUNNER_ANSWER_WITHIN.as_secs()
        + crate::terminals::DIAL_BACK_WITHIN.as_secs()
        + 5,
);

/// The URL other HQs reach one listening on `bound` at: `advertise` when
/// set, else the bound address (the host name for a wildcard).
pub fn advertised_url(advertise: Option<&str>, bound: std::net::SocketAddr, tls: bool) -> String {
    if let Some(a) = advertise.filter(|a| !a.is_empty()) {
        return a.trim_end_matches('/').to_owned();
    }
    let scheme = if tls { "https" } else { "http" };
    if bound.ip().is_unspecified() {
        let host = rustix::system::uname()
            .nodename()
            .to_string_lossy()
            .into_owned();
        return format!("{scheme}://{host}:{}", bound.port());
    }
    format!("{scheme}://{bound}")
}

impl HqService {
    /// Registers this HQ process as reachable at `url` (trusting `ca_pem`
    /// for it); a no-op without a shared database.
    ///
    /// # Errors
    /// The database.
    pub async fn register_peer(&self, url: &str, ca_pem: Option<&str>) -> Result<(), HqError> {
        if let Backend::Postgres(pg) = self.backend() {
            pg.register_peer(self.id(), url, ca_pem, crate::service::now_ms())
                .await?;
        }
        Ok(())
    }

    /// Forgets this HQ process's registration (it is stopping).
    pub async fn forget_peer(&self) {
        if let Backend::Postgres(pg) = self.backend()
            && let Err(e) = pg.forget_peer(self.id()).await
        {
            tracing::debug!(error = %e, "forgetting this HQ's registration");
        }
    }

    /// Whether `given` is the secret HQ processes on this database share.
    pub fn is_peer(&self, given: &str) -> bool {
        self.peer_secret()
            .is_some_and(|s| agentd_daemon::http::constant_time_eq(s.as_bytes(), given.as_bytes()))
    }

    /// A socket streaming `runner`'s terminal `id` from `from`, through
    /// HQ process `holder`, which holds the runner's link.
    ///
    /// # Errors
    /// [`HqError::Unavailable`] when `holder` is not registered, cannot be
    /// reached, or refuses.
    pub(crate) async fn dial_peer(
        &self,
        holder: &str,
        runner: &str,
        id: &str,
        from: Option<u64>,
    ) -> Result<PeerSocket, HqError> {
        let Backend::Postgres(pg) = self.backend() else {
            return Err(HqError::Unavailable("no other HQ shares this store".into()));
        };
        let unavailable = |why: String| {
            HqError::Unavailable(format!(
                "runner {runner} is linked to another HQ process, which {why}"
            ))
        };
        let Some((url, ca_pem)) = pg.peer(holder).await? else {
            return Err(unavailable("has not registered its address".into()));
        };
        let secret = self
            .peer_secret()
            .ok_or_else(|| unavailable("cannot be signed for".into()))?;
        let target = agentd_daemon::dial::Target::parse(&url).map_err(&unavailable)?;
        let tls = match (target.tls, ca_pem.as_deref()) {
            (true, Some(pem)) => {
                Some(agentd_daemon::dial::pinned(pem.as_bytes()).map_err(&unavailable)?)
            }
            (true, None) => return Err(unavailable(format!("serves TLS at {url} without a CA"))),
            (false, _) => None,
        };
        let mut query = format!(
            "{PEER_ATTACH_PATH}?runner={}&id={}",
            crate::client::escape(runner),
            crate::client::escape(id)
        );
        if let Some(f) = from {
            query.push_str(&format!("&from={f}"));
        }
        let mut request = target
            .ws_url(&query)
            .into_client_request()
            .map_err(|e| unavailable(format!("has a bad address {url}: {e}")))?;
        let auth = format!("Bearer {secret}")
            .parse()
            .map_err(|_| unavailable("cannot be signed for".into()))?;
        request.headers_mut().insert("Authorization", auth);
        let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
            .max_message_size(Some(crate::splice::MAX_RUNNER_FRAME))
            .max_frame_size(Some(crate::splice::MAX_RUNNER_FRAME));
        let dial = async {
            let stream = agentd_daemon::dial::connect(&target, tls.as_ref())
                .await
                .map_err(|e| unavailable(format!("is unreachable at {url}: {e}")))?;
            tokio_tungstenite::client_async_with_config(request, stream, Some(config))
                .await
                .map(|(ws, _)| ws)
                .map_err(|e| match e {
                    tokio_tungstenite::tungstenite::Error::Http(r) => {
                        let body = r
                            .body()
                            .as_deref()
                            .map(String::from_utf8_lossy)
                            .unwrap_or_default()
                            .into_owned();
                        let message = serde_json::from_str::<serde_json::Value>(&body)
                            .ok()
                            .and_then(|v| v["error"].as_str().map(str::to_owned))
                            .unwrap_or(body);
                        match r.status().as_u16() {
                            404 => HqError::NotFound(message),
                            _ => unavailable(format!("refused ({}): {message}", r.status())),
                        }
                    }
                    other => unavailable(format!("failed: {other}")),
                })
        };
        tokio::time::timeout(PEER_DIAL_WITHIN, dial)
            .await
            .map_err(|_| {
                unavailable(format!(
                    "did not answer within {} s",
                    PEER_DIAL_WITHIN.as_secs()
                ))
            })?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_advertised_url_is_the_setting_else_the_listener() {
        let bound: std::net::SocketAddr = "127.0.0.1:4000".parse().unwrap();
        assert_eq!(advertised_url(None, bound, false), "http://127.0.0.1:4000");
        assert_eq!(advertised_url(None, bound, true), "https://127.0.0.1:4000");
        assert_eq!(
            advertised_url(Some("https://hq-a.example:41970/"), bound, true),
            "https://hq-a.example:41970"
        );
        let wild: std::net::SocketAddr = "0.0.0.0:41970".parse().unwrap();
        let url = advertised_url(None, wild, true);
        assert!(
            url.starts_with("https://") && url.ends_with(":41970") && !url.contains("0.0.0.0"),
            "{url}"
        );
    }
}
