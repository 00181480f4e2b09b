//! HTTPS for `eni serve`, on the same port as HTTP (the server tells them apart by the first
//! byte): the certificate and key given (`--tls-cert`, `--tls-key`, PEM), or else a local CA
//! and a certificate it signs, generated into the data dir on the first start and reused
//! after (`tls-ca.pem`, `tls-cert.pem`, `tls-key.pem`). Clients trust `DATA_DIR/tls-ca.pem`
//! (Go and OpenSSL read `SSL_CERT_FILE`; Python's requests `REQUESTS_CA_BUNDLE`). The
//! generated certificate names localhost, 127.0.0.1, ::1, this machine's host name and the
//! listen host; remove the three files to make new ones.

use anyhow::{Context, Result};
use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The generated files, in the data dir (files only there, each 0600).
const CA: &str = "tls-ca.pem";
const CERT: &str = "tls-cert.pem";
const KEY: &str = "tls-key.pem";

/// What the server serves HTTPS with.
pub struct Tls {
    pub config: Arc<ServerConfig>,
    /// The CA clients should trust, when the certificate was generated here.
    pub ca: Option<PathBuf>,
}

/// The TLS configuration: from `cert` and `key` when given, else from the data dir's generated
/// files (made now if missing, naming `listen_host` too).
pub fn load(
    cert: Option<&Path>,
    key: Option<&Path>,
    data_dir: &Path,
    listen_host: &str,
) -> Result<Tls> {
    let (cert, key, ca) = match (cert, key) {
        (Some(c), Some(k)) => (c.to_path_buf(), k.to_path_buf(), None),
        _ => {
            let dir = data_dir;
            if !dir.join(CERT).exists() || !dir.join(KEY).exists() || !dir.join(CA).exists() {
                generate(dir, listen_host)?;
            }
            (dir.join(CERT), dir.join(KEY), Some(dir.join(CA)))
        }
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cert)
        .with_context(|| format!("reading the TLS certificate {}", cert.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("parsing the TLS certificate {}", cert.display()))?;
    anyhow::ensure!(
        !chain.is_empty(),
        "no certificate in {} (PEM expected)",
        cert.display()
    );
    let key = PrivateKeyDer::from_pem_file(&key)
        .with_context(|| format!("reading the TLS key {} (PEM expected)", key.display()))?;
    // ring, not aws-lc-rs: it builds with no CMake and no extra minutes. rustls deprecates it
    // for lacking post-quantum key exchange, which a local emulator's HTTPS does not need.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .context("the TLS certificate and key do not go together")?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Tls {
        config: Arc::new(config),
        ca,
    })
}

/// A CA, and a server certificate it signs, written into `dir` (the data dir, which exists
/// and is private: each file 0600).
fn generate(dir: &Path, listen_host: &str) -> Result<()> {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
        KeyUsagePurpose,
    };
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "eni local CA");
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_key = KeyPair::generate()?;
    let ca_cert = ca.self_signed(&ca_key)?;
    let mut names = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ];
    for extra in [hostname(), Some(listen_host.to_string())]
        .into_iter()
        .flatten()
    {
        let unspecified = matches!(extra.as_str(), "" | "0.0.0.0" | "::");
        if !unspecified && !names.contains(&extra) {
            names.push(extra);
        }
    }
    let mut leaf = CertificateParams::new(names)?;
    leaf.distinguished_name.push(DnType::CommonName, "eni");
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    let leaf_key = KeyPair::generate()?;
    let leaf_cert = leaf.signed_by(&leaf_key, &ca_cert, &ca_key)?;
    write(&dir.join(KEY), &leaf_key.serialize_pem(), 0o600)?;
    write(&dir.join(CERT), &leaf_cert.pem(), 0o600)?;
    // The CA's key is not kept: nothing else is ever signed with it.
    write(&dir.join(CA), &ca_cert.pem(), 0o600)?;
    Ok(())
}

fn write(path: &Path, text: &str, mode: u32) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    f.write_all(text.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}

/// This machine's host name, if it has one.
fn hostname() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
}
