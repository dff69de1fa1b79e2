//! Dialling another agentd (a runner dialling HQ, the CLI asking HQ):
//! plain TCP to a loopback address, or TLS that trusts exactly one pinned
//! CA (HQ's, from `agentd tls ca` at HQ) — never the system's roots, so a
//! certificate from any public CA for the same name is refused.

use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite};

/// A byte stream to the peer, TLS or not.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// Where to dial, from a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `https://`/`wss://`.
    pub tls: bool,
    /// Host name or address (brackets kept off IPv6).
    pub host: String,
    /// Port.
    pub port: u16,
}

impl Target {
    /// Parses `http://`, `ws://` (loopback only: a token would cross the
    /// network in the clear), `https://` or `wss://` URLs; a path is
    /// ignored.
    ///
    /// # Errors
    /// Says what is accepted.
    pub fn parse(url: &str) -> Result<Target, String> {
        let (tls, rest) = if let Some(r) = url.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = url.strip_prefix("wss://") {
            (true, r)
        } else if let Some(r) = url.strip_prefix("http://") {
            (false, r)
        } else if let Some(r) = url.strip_prefix("ws://") {
            (false, r)
        } else {
            return Err(format!(
                "URL {url:?} must start with https:// (or http:// for a loopback address)"
            ));
        };
        let authority = rest.split('/').next().unwrap_or("");
        let (host, port) = if let Some(r) = authority.strip_prefix('[') {
            let (h, after) = r
                .split_once(']')
                .ok_or_else(|| format!("URL {url:?}: unclosed [ in the address"))?;
            (h.to_owned(), after.strip_prefix(':'))
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h.to_owned(), Some(p)),
                None => (authority.to_owned(), None),
            }
        };
        if host.is_empty() {
            return Err(format!("URL {url:?} names no host"));
        }
        let port = match port {
            Some(p) => p
                .parse()
                .map_err(|_| format!("URL {url:?}: bad port {p:?}"))?,
            None if tls => 443,
            None => 80,
        };
        if !tls && !crate::http::is_loopback_host(&host) {
            return Err(format!(
                "{url}: plain http:// is accepted for a loopback address only (a token would cross the network in the clear); use https:// with the server's CA"
            ));
        }
        Ok(Target { tls, host, port })
    }

    /// `host:port`, bracketed for IPv6 (a Host header, a socket address).
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// `ws://…` or `wss://…` with `path`.
    pub fn ws_url(&self, path: &str) -> String {
        let scheme = if self.tls { "wss" } else { "ws" };
        format!("{scheme}://{}{path}", self.authority())
    }

    /// `http://…` or `https://…`, no trailing slash.
    pub fn base(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.authority())
    }
}

/// A TLS client trusting only the CA certificate(s) in `ca_pem`.
///
/// # Errors
/// When it holds no certificate.
pub fn pinned(ca_pem: &[u8]) -> Result<Arc<rustls::ClientConfig>, String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem) {
        let cert = cert.map_err(|e| format!("the CA file is not PEM: {e}"))?;
        roots
            .add(cert)
            .map_err(|e| format!("the CA certificate is unusable: {e}"))?;
    }
    if roots.is_empty() {
        return Err("the CA file holds no certificate (give HQ's tls/ca.pem)".into());
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Connects to `target`: TCP, then TLS with `tls` when the target is
/// `https`.
///
/// # Errors
/// Unreachable, a TLS target without a pinned CA, or a failed handshake
/// (a certificate the CA did not sign, a name it does not cover).
pub async fn connect(
    target: &Target,
    tls: Option<&Arc<rustls::ClientConfig>>,
) -> Result<Box<dyn Io>, String> {
    let tcp = tokio::net::TcpStream::connect((target.host.as_str(), target.port))
        .await
        .map_err(|e| format!("cannot reach {}: {e}", target.authority()))?;
    let _ = tcp.set_nodelay(true);
    if !target.tls {
        return Ok(Box::new(tcp));
    }
    let Some(config) = tls else {
        return Err(format!(
            "{} is TLS: give its CA certificate (`agentd tls ca --path` there) to pin",
            target.base()
        ));
    };
    let name = rustls::pki_types::ServerName::try_from(target.host.clone())
        .map_err(|e| format!("{}: {e}", target.host))?;
    let stream = tokio_rustls::TlsConnector::from(Arc::clone(config))
        .connect(name, tcp)
        .await
        .map_err(|e| format!("TLS with {} failed: {e}", target.authority()))?;
    Ok(Box::new(stream))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_and_plain_text_stays_on_loopback() {
        let t = Target::parse("http://127.0.0.1:9/x").unwrap();
        assert_eq!((t.tls, t.authority()), (false, "127.0.0.1:9".to_owned()));
        assert_eq!(t.ws_url("/p"), "ws://127.0.0.1:9/p");
        let t = Target::parse("https://hq.example").unwrap();
        assert_eq!(
            (t.tls, t.port, t.base()),
            (true, 443, "https://hq.example:443".to_owned())
        );
        let t = Target::parse("wss://[::1]:8443").unwrap();
        assert_eq!(
            (t.host.as_str(), t.authority()),
            ("::1", "[::1]:8443".to_owned())
        );
        assert!(
            Target::parse("http://hq.example:1")
                .unwrap_err()
                .contains("loopback")
        );
        assert!(Target::parse("ftp://x").unwrap_err().contains("https://"));
        assert!(Target::parse("https://:1").is_err());
        assert!(
            Target::parse("https://h:port")
                .unwrap_err()
                .contains("port")
        );
    }

    #[test]
    fn a_pin_needs_a_certificate() {
        assert!(pinned(b"").unwrap_err().contains("no certificate"));
        assert!(pinned(b"-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n").is_err());
    }
}
