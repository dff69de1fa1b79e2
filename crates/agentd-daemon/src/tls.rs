//! TLS for the HTTP port (`[http] tls = true`): HTTPS, gRPC over TLS and
//! WSS on the same listener. agentd keeps its own local CA in
//! `<root>/tls/` (`ca.pem`, and `ca.key` 0600), made once, and issues a
//! short-lived leaf certificate (30 days) at every start for the names and
//! addresses it listens on ([`address_set`]). The leaf is served through
//! [`Leaf`], which renews it in place — no restart, open connections
//! untouched — when the address set changes (a new interface address on a
//! wildcard listener) or the leaf nears its end. It never edits a system
//! trust store: `agentd tls ca` prints the CA's path, its SHA-256
//! fingerprint and how to trust it; clients can also pin it.

use std::io::Write;
use std::net::SocketAddr;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

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

/// A leaf ends within this long: renew it.
pub const RENEW_BEFORE: Duration = Duration::from_secs(7 * 86_400);

/// How often the address set and the leaf's end are checked.
pub const CHECK_EVERY: Duration = Duration::from_secs(60);

/// The names beside loopback a listener on `listen` answers to: nothing
/// for loopback; the address and the machine's host name for one address;
/// every non-loopback interface address (of the listener's family; both
/// for `::`) and the host name for a wildcard. Blocking (reads interfaces
/// and `/proc`).
pub fn address_set(listen: SocketAddr) -> Vec<String> {
    let ip = listen.ip();
    if ip.is_loopback() {
        return Vec::new();
    }
    let mut names = Vec::new();
    if ip.is_unspecified() {
        let both = ip.is_ipv6();
        for i in if_addrs::get_if_addrs().unwrap_or_default() {
            let a = i.ip();
            if !a.is_loopback() && (both || a.is_ipv4()) {
                names.push(a.to_string());
            }
        }
    } else {
        names.push(ip.to_string());
    }
    if let Ok(h) = std::fs::read_to_string("/proc/sys/kernel/hostname") {
        names.push(h.trim().to_owned());
    }
    names.retain(|n| !n.is_empty());
    names.sort();
    names.dedup();
    names
}

/// Why a leaf for `current` (ending at `not_after`) must be replaced to
/// serve `wanted` at `now`; `None` when it may stay.
pub fn renewal_reason(
    current: &[String],
    not_after: SystemTime,
    wanted: &[String],
    now: SystemTime,
) -> Option<&'static str> {
    if current != wanted {
        Some("the listener's address set changed")
    } else if not_after <= now + RENEW_BEFORE {
        Some("the leaf certificate ends within 7 days")
    } else {
        None
    }
}

/// The leaf certificate the TLS listener serves, renewable in place: a
/// rustls certificate resolver whose certificate can be swapped while the
/// daemon runs.
pub struct Leaf {
    root: PathBuf,
    state: RwLock<Issued>,
}

struct Issued {
    key: Arc<rustls::sign::CertifiedKey>,
    names: Vec<String>,
    not_after: SystemTime,
}

impl std::fmt::Debug for Leaf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Leaf")
            .field("names", &self.names())
            .finish()
    }
}

impl Leaf {
    /// A leaf for `names` (beside loopback), signed by the CA in `root`
    /// (made the first time).
    ///
    /// # Errors
    /// A message naming the file or the step that failed.
    pub fn new(root: &Path, names: Vec<String>) -> Result<Arc<Leaf>, String> {
        let issued = issue(root, names)?;
        Ok(Arc::new(Leaf {
            root: root.to_owned(),
            state: RwLock::new(issued),
        }))
    }

    /// The names the current leaf covers beside loopback.
    pub fn names(&self) -> Vec<String> {
        self.state
            .read()
            .map(|s| s.names.clone())
            .unwrap_or_default()
    }

    /// Replaces the leaf when [`renewal_reason`] says so; the reason when
    /// it did. Connections already open keep the certificate they got.
    ///
    /// # Errors
    /// Issuing the new leaf failed (the old one stays).
    pub fn renew_if_needed(
        &self,
        wanted: Vec<String>,
        now: SystemTime,
    ) -> Result<Option<&'static str>, String> {
        let why = {
            let s = self
                .state
                .read()
                .map_err(|_| "the leaf's lock is poisoned")?;
            renewal_reason(&s.names, s.not_after, &wanted, now)
        };
        let Some(why) = why else { return Ok(None) };
        let issued = issue(&self.root, wanted)?;
        *self
            .state
            .write()
            .map_err(|_| "the leaf's lock is poisoned")? = issued;
        Ok(Some(why))
    }

    /// The current certificate chain (leaf first), DER.
    pub fn chain(&self) -> Vec<Vec<u8>> {
        self.state
            .read()
            .map(|s| s.key.cert.iter().map(|c| c.to_vec()).collect())
            .unwrap_or_default()
    }
}

impl rustls::server::ResolvesServerCert for Leaf {
    fn resolve(
        &self,
        _hello: rustls::server::ClientHello<'_>,
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        self.state.read().ok().map(|s| Arc::clone(&s.key))
    }
}

/// A fresh leaf for `names` (the loopback ones always added) signed by the
/// local CA.
fn issue(root: &Path, names: Vec<String>) -> Result<Issued, String> {
    let provider = rustls::crypto::ring::default_provider();
    let (ca_pem, issuer) = ca(root)?;
    let mut sans: Vec<String> = vec!["localhost".into(), "127.0.0.1".into(), "::1".into()];
    for n in &names {
        if !sans.contains(n) {
            sans.push(n.clone());
        }
    }
    let mut p = CertificateParams::new(sans).map_err(|e| e.to_string())?;
    p.distinguished_name.push(DnType::CommonName, "agentd");
    p.use_authority_key_identifier_extension = true;
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let now = SystemTime::now();
    let not_after = now + Duration::from_secs(LEAF_DAYS as u64 * 86_400);
    p.not_before = (now - Duration::from_secs(3600)).into();
    p.not_after = not_after.into();
    let key = KeyPair::generate().map_err(|e| e.to_string())?;
    let leaf = p.signed_by(&key, &issuer).map_err(|e| e.to_string())?;
    let chain = vec![
        leaf.der().clone(),
        rustls::pki_types::CertificateDer::from_pem_slice(ca_pem.as_bytes())
            .map_err(|e| format!("the CA certificate: {e}"))?,
    ];
    let key = rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der())
        .map_err(|e| format!("the leaf key: {e}"))?;
    let signing = provider
        .key_provider
        .load_private_key(key)
        .map_err(|e| format!("the leaf key: {e}"))?;
    Ok(Issued {
        key: Arc::new(rustls::sign::CertifiedKey::new(chain, signing)),
        names,
        not_after,
    })
}

/// A server configuration serving `leaf` (renewed in place), speaking h2
/// and http/1.1 (ALPN).
pub fn server_config(leaf: Arc<Leaf>) -> Arc<rustls::ServerConfig> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_cert_resolver(leaf);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Arc::new(config)
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
        let leaf = Leaf::new(root.path(), vec!["agentd.example".into()]).unwrap();
        let _config = server_config(Arc::clone(&leaf));
        let (cert, key) = ca_paths(root.path());
        assert_eq!(
            std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let first = std::fs::read_to_string(&cert).unwrap();
        let fp = ca_fingerprint(root.path()).unwrap();
        assert_eq!(fp.len(), 32 * 3 - 1, "{fp}");
        // A second start keeps the CA (clients that trust it go on trusting).
        Leaf::new(root.path(), Vec::new()).unwrap();
        assert_eq!(std::fs::read_to_string(&cert).unwrap(), first);
        assert_eq!(ca_fingerprint(root.path()).unwrap(), fp);
    }

    fn contains(hay: &[u8], needle: &[u8]) -> bool {
        hay.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn a_changed_address_set_renews_the_served_leaf_in_place() {
        let root = tempfile::tempdir().unwrap();
        let now = SystemTime::now();
        let leaf = Leaf::new(root.path(), vec!["old.example".into()]).unwrap();
        let before = leaf.chain();
        assert!(contains(&before[0], b"old.example"));
        // The same set, a fresh leaf: nothing to do.
        assert_eq!(
            leaf.renew_if_needed(vec!["old.example".into()], now)
                .unwrap(),
            None
        );
        assert_eq!(leaf.chain(), before);
        // A new address: a new leaf naming it, the same CA behind it.
        let why = leaf
            .renew_if_needed(vec!["10.1.2.3".into(), "old.example".into()], now)
            .unwrap();
        assert_eq!(why, Some("the listener's address set changed"));
        let after = leaf.chain();
        assert_ne!(after[0], before[0]);
        assert!(contains(&after[0], &[10, 1, 2, 3]), "the IP SAN");
        assert_eq!(after[1], before[1], "same CA");
        assert_eq!(leaf.names(), ["10.1.2.3", "old.example"]);
    }

    #[test]
    fn a_leaf_near_its_end_is_renewed_and_one_far_from_it_is_not() {
        let now = SystemTime::now();
        let names = vec!["a".to_owned()];
        let far = now + Duration::from_secs(20 * 86_400);
        let near = now + Duration::from_secs(6 * 86_400);
        assert_eq!(renewal_reason(&names, far, &names, now), None);
        assert_eq!(
            renewal_reason(&names, near, &names, now),
            Some("the leaf certificate ends within 7 days")
        );
        assert_eq!(
            renewal_reason(&names, far, &[], now),
            Some("the listener's address set changed")
        );
    }

    #[test]
    fn loopback_listeners_name_nothing_and_wildcards_name_their_interfaces() {
        assert!(address_set("127.0.0.1:0".parse().unwrap()).is_empty());
        let one = address_set("192.0.2.7:443".parse().unwrap());
        assert!(one.contains(&"192.0.2.7".to_owned()), "{one:?}");
        let any = address_set("0.0.0.0:443".parse().unwrap());
        assert!(
            any.iter().all(|n| n.parse::<std::net::Ipv6Addr>().is_err()),
            "an IPv4 wildcard names no IPv6 address: {any:?}"
        );
        assert!(!any.iter().any(|n| n == "127.0.0.1"), "{any:?}");
    }
}
