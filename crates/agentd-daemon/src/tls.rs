//! TLS for the HTTP port (`[http] tls = true`): HTTPS, gRPC over TLS and
//! WSS on the same listener. agentd keeps its own local CA in
//! `<root>/tls/` (`ca.pem`, and `ca.key` 0600), made once, and issues a
//! short-lived leaf certificate (30 days) at every start for the names and
//! addresses it listens on. It never edits a system trust store: `agentd
//! tls ca` prints the CA's path, its SHA-256 fingerprint and how to trust
//! it; clients can also pin it.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

/// How long a leaf certificate is valid, days.
pub const LEAF_DAYS: i64 = 30;

/// The CA's files under the root.
pub fn ca_paths(root: &Path) -> (PathBuf, PathBuf) {
    let dir = root.join("tls");
    (dir.join("ca.pem"), dir.join("ca.key"))
}

/// The CA's parameters: the same every time, so an issuer rebuilt from the
/// saved key names the CA certificate's subject.
fn ca_params() -> Result<CertificateParams, String> {
    let mut p = CertificateParams::new(Vec::<String>::new()).map_err(|e| e.to_string())?;
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name
        .push(DnType::CommonName, "agentd local CA");
    p.distinguished_name
        .push(DnType::OrganizationName, "agentd");
    p.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
    ];
    p.not_before = rcgen::date_time_ymd(2024, 1, 1);
    p.not_after = rcgen::date_time_ymd(2124, 1, 1);
    Ok(p)
}

fn write_private(path: &Path, text: &str) -> Result<(), String> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    f.write_all(text.as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// The local CA: loaded, or made (0700 folder, 0600 key) the first time.
fn ca(root: &Path) -> Result<(String, Issuer<'static, KeyPair>), String> {
    let (cert_path, key_path) = ca_paths(root);
    if let (Ok(cert), Ok(key)) = (
        std::fs::read_to_string(&cert_path),
        std::fs::read_to_string(&key_path),
    ) {
        let key = KeyPair::from_pem(&key).map_err(|e| format!("{}: {e}", key_path.display()))?;
        return Ok((cert, Issuer::new(ca_params()?, key)));
    }
    let dir = cert_path.parent().unwrap_or(root);
    std::fs::DirBuilder::new()
        .mode(0o700)
        .recursive(true)
        .create(dir)
        .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let key = KeyPair::generate().map_err(|e| e.to_string())?;
    let params = ca_params()?;
    let cert = params.self_signed(&key).map_err(|e| e.to_string())?;
    write_private(&key_path, &key.serialize_pem())?;
    write_private(&cert_path, &cert.pem())?;
    Ok((cert.pem(), Issuer::new(params, key)))
}

/// A server configuration for `names` (DNS names and IP addresses; the
/// loopback ones are always added), with a fresh leaf signed by the local
/// CA, speaking h2 and http/1.1 (ALPN).
///
/// # Errors
/// A message naming the file or the step that failed.
pub fn server_config(root: &Path, names: &[String]) -> Result<Arc<rustls::ServerConfig>, String> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let (ca_pem, issuer) = ca(root)?;
    let mut sans: Vec<String> = vec!["localhost".into(), "127.0.0.1".into(), "::1".into()];
    for n in names {
        if !sans.contains(n) {
            sans.push(n.clone());
        }
    }
    let mut p = CertificateParams::new(sans).map_err(|e| e.to_string())?;
    p.distinguished_name.push(DnType::CommonName, "agentd");
    p.use_authority_key_identifier_extension = true;
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let now = std::time::SystemTime::now();
    p.not_before = (now - std::time::Duration::from_secs(3600)).into();
    p.not_after = (now + std::time::Duration::from_secs(LEAF_DAYS as u64 * 86_400)).into();
    let key = KeyPair::generate().map_err(|e| e.to_string())?;
    let leaf = p.signed_by(&key, &issuer).map_err(|e| e.to_string())?;
    let chain = vec![
        leaf.der().clone(),
        rustls::pki_types::CertificateDer::from_pem_slice(ca_pem.as_bytes())
            .map_err(|e| format!("the CA certificate: {e}"))?,
    ];
    let key = rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der())
        .map_err(|e| format!("the leaf key: {e}"))?;
    let mut config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| format!("the TLS configuration: {e}"))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The SHA-256 fingerprint of the CA certificate in `ca.pem`, as
/// colon-separated upper-case hex (as browsers and `openssl x509
/// -fingerprint -sha256` show it).
///
/// # Errors
/// The file cannot be read or is not a certificate.
pub fn ca_fingerprint(root: &Path) -> Result<String, String> {
    let (cert_path, _) = ca_paths(root);
    let pem = std::fs::read(&cert_path).map_err(|e| format!("{}: {e}", cert_path.display()))?;
    let der = rustls::pki_types::CertificateDer::from_pem_slice(&pem)
        .map_err(|e| format!("{}: {e}", cert_path.display()))?;
    let digest = ring_sha256(&der);
    Ok(digest
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":"))
}

fn ring_sha256(bytes: &[u8]) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA256, bytes)
        .as_ref()
        .to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ca_is_made_once_private_and_signs_a_leaf_for_the_names() {
        use std::os::unix::fs::PermissionsExt;
        let root = tempfile::tempdir().unwrap();
        server_config(root.path(), &["agentd.example".into()]).unwrap();
        let (cert, key) = ca_paths(root.path());
        assert_eq!(
            std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let first = std::fs::read_to_string(&cert).unwrap();
        let fp = ca_fingerprint(root.path()).unwrap();
        assert_eq!(fp.len(), 32 * 3 - 1, "{fp}");
        // A second start keeps the CA (clients that trust it go on trusting).
        server_config(root.path(), &[]).unwrap();
        assert_eq!(std::fs::read_to_string(&cert).unwrap(), first);
        assert_eq!(ca_fingerprint(root.path()).unwrap(), fp);
    }
}
