//! A user's client of HQ's API (`agentd ls --hq`, `agentd hq runners
//! --hq`): `GET` a path with the user token, decode the JSON.

use std::time::Duration;

use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;

/// Largest answer read, bytes.
const MAX_BODY: usize = 64 << 20;
/// The whole request must finish within this.
const WITHIN: Duration = Duration::from_secs(30);

/// `GET {base}{path}` with `Authorization: Bearer {token}`, decoded.
///
/// # Errors
/// What went wrong, and for HQ's own refusals its message.
pub async fn get_json<T: serde::de::DeserializeOwned>(
    base: &str,
    token: &str,
    path: &str,
) -> Result<T, String> {
    tokio::time::timeout(WITHIN, request(base, token, path, None))
        .await
        .map_err(|_| format!("HQ at {base} did not answer within {} s", WITHIN.as_secs()))?
}

/// `POST {base}{path}` with `body` as JSON and the token, decoded.
///
/// # Errors
/// As [`get_json`].
pub async fn post_json<T: serde::de::DeserializeOwned>(
    base: &str,
    token: &str,
    path: &str,
    body: &impl serde::Serialize,
) -> Result<T, String> {
    let body = serde_json::to_vec(body).map_err(|e| format!("encoding the request: {e}"))?;
    tokio::time::timeout(WITHIN, request(base, token, path, Some(body)))
        .await
        .map_err(|_| format!("HQ at {base} did not answer within {} s", WITHIN.as_secs()))?
}

async fn request<T: serde::de::DeserializeOwned>(
    base: &str,
    token: &str,
    path: &str,
    body: Option<Vec<u8>>,
) -> Result<T, String> {
    let authority = authority(base)?;
    let tcp = tokio::net::TcpStream::connect(&authority)
        .await
        .map_err(|e| format!("cannot reach HQ at {base}: {e}"))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .map_err(|e| format!("HQ at {base}: {e}"))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let builder = match &body {
        None => hyper::Request::get(path),
        Some(_) => {
            hyper::Request::post(path).header(hyper::header::CONTENT_TYPE, "application/json")
        }
    };
    let req = builder
        .header(hyper::header::HOST, &authority)
        .header(hyper::header::AUTHORIZATION, format!("Bearer {token}"))
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

/// `host:port` of a loopback `http://` URL.
///
/// # Errors
/// Anything else (HQ over TLS is not supported yet).
pub fn authority(base: &str) -> Result<String, String> {
    let rest = base.strip_prefix("http://").ok_or_else(|| {
        format!("HQ URL {base:?}: use http://HOST:PORT (a loopback HQ; TLS is not supported yet)")
    })?;
    let authority = rest.split('/').next().unwrap_or("");
    if !agentd_daemon::http::is_loopback_host(authority) {
        return Err(format!(
            "HQ URL {base:?}: plain http:// is accepted for a loopback HQ only (the token would cross the network in the clear)"
        ));
    }
    if !authority.contains(':') {
        return Ok(format!("{authority}:80"));
    }
    Ok(authority.to_owned())
}
