//! A user's client of HQ's API (`agentd ls --hq`, `agentd hq runners
//! --hq`, `agentd approve --hq`): one request with the user token, the
//! JSON answer decoded. `https://` HQs are reached with their CA pinned.

use std::sync::Arc;
use std::time::Duration;

use agentd_daemon::dial::Target;
use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;

/// `s` as one URL path segment or query value: unreserved characters as
/// they are, everything else (`/`, `&`, spaces, …) percent-encoded.
pub fn escape(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Largest answer read, bytes.
const MAX_BODY: usize = 64 << 20;
/// The whole request must finish within this.
const WITHIN: Duration = Duration::from_secs(30);

/// HQ, as a user reaches it.
pub struct HqClient {
    target: Target,
    token: String,
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl HqClient {
    /// A client of the HQ at `url` with a user `token`; `ca_pem` is HQ's
    /// CA, needed for `https://`.
    ///
    /// # Errors
    /// A bad URL, plain text off loopback, or an unusable CA.
    pub fn new(url: &str, token: &str, ca_pem: Option<&[u8]>) -> Result<HqClient, String> {
        let target = Target::parse(url)?;
        let tls = match ca_pem {
            Some(pem) if target.tls => Some(agentd_daemon::dial::pinned(pem)?),
            _ => None,
        };
        Ok(HqClient {
            target,
            token: token.to_owned(),
            tls,
        })
    }

    /// HQ's base URL.
    pub fn base(&self) -> String {
        self.target.base()
    }

    /// `GET path`, decoded.
    ///
    /// # Errors
    /// What went wrong, and for HQ's own refusals its status and message.
    pub async fn get_json<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T, String> {
        self.within(self.request(hyper::Method::GET, path, None))
            .await
    }

    /// `DELETE path`, decoded.
    ///
    /// # Errors
    /// As [`HqClient::get_json`].
    pub async fn delete_json<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
    ) -> Result<T, String> {
        self.within(self.request(hyper::Method::DELETE, path, None))
            .await
    }

    /// `POST path` with `body` as JSON, decoded.
    ///
    /// # Errors
    /// As [`HqClient::get_json`].
    pub async fn post_json<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: &impl serde::Serialize,
    ) -> Result<T, String> {
        let body = serde_json::to_vec(body).map_err(|e| format!("encoding the request: {e}"))?;
        self.within(self.request(hyper::Method::POST, path, Some(body)))
            .await
    }

    async fn within<T>(
        &self,
        f: impl std::future::Future<Output = Result<T, String>>,
    ) -> Result<T, String> {
        tokio::time::timeout(WITHIN, f).await.map_err(|_| {
            format!(
                "HQ at {} did not answer within {} s",
                self.base(),
                WITHIN.as_secs()
            )
        })?
    }

    async fn request<T: serde::de::DeserializeOwned>(
        &self,
        method: hyper::Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<T, String> {
        let base = self.base();
        let stream = agentd_daemon::dial::connect(&self.target, self.tls.as_ref()).await?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("HQ at {base}: {e}"))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let mut builder = hyper::Request::builder().method(method).uri(path);
        if body.is_some() {
            builder = builder.header(hyper::header::CONTENT_TYPE, "application/json");
        }
        let req = builder
            .header(hyper::header::HOST, self.target.authority())
            .header(
                hyper::header::AUTHORIZATION,
                format!("Bearer {}", self.token),
            )
            .body(http_body_util::Full::new(bytes::Bytes::from(
                body.unwrap_or_default(),
            )))
            .map_err(|e| format!("bad request: {e}"))?;
        let res = sender
            .send_request(req)
            .await
            .map_err(|e| format!("HQ at {base}: {e}"))?;
        let status = res.status();
        let body = http_body_util::Limited::new(res.into_body(), MAX_BODY)
            .collect()
            .await
            .map_err(|e| format!("reading HQ's answer: {e}"))?
            .to_bytes();
        if !status.is_success() {
            let why = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v.get("error")?.as_str().map(str::to_owned))
                .unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned());
            return Err(format!("HQ refused ({status}): {why}"));
        }
        // Through a Value: flattened structs cannot take arbitrary-precision
        // numbers straight from text (serde's buffered content).
        serde_json::from_slice::<serde_json::Value>(&body)
            .and_then(serde_json::from_value)
            .map_err(|e| format!("HQ's answer is not what was expected: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_keeps_a_segment_one_segment() {
        assert_eq!(escape("term_ab/c d"), "term_ab%2Fc%20d");
        assert_eq!(escape("Europe/Paris"), "Europe%2FParis");
    }
}
