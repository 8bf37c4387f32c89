//! Certificates made at test time with rcgen, a rustls client config that trusts them, and a
//! cheap password hash for `[[user]]` entries.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::CertificateDer;

/// A test CA and a leaf certificate it signed for 127.0.0.1 and localhost.
pub struct TestCert {
    pub ca_der: CertificateDer<'static>,
    pub ca_pem: String,
    pub cert_der: CertificateDer<'static>,
    pub cert_pem: String,
    pub key_pem: String,
}

impl TestCert {
    pub fn new(name: &str) -> TestCert {
        use rcgen::{
            BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
            KeyUsagePurpose,
        };
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(DnType::CommonName, format!("listnews test CA {name}"));
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("CA key")).expect("CA");
        let mut params =
            CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).expect("leaf params");
        params.distinguished_name.push(DnType::CommonName, format!("listnews test server {name}"));
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let key = KeyPair::generate().expect("leaf key");
        let cert = params.signed_by(&key, &ca).expect("leaf");
        TestCert {
            ca_der: ca.der().clone(),
            ca_pem: ca.pem(),
            cert_der: cert.der().clone(),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }

    /// Writes cert.pem, key.pem (what the server reads) and ca.pem (for Python) into `dir`.
    pub fn install(&self, dir: &Path) {
        std::fs::write(dir.join("cert.pem"), &self.cert_pem).expect("cert.pem");
        std::fs::write(dir.join("key.pem"), &self.key_pem).expect("key.pem");
        std::fs::write(dir.join("ca.pem"), &self.ca_pem).expect("ca.pem");
    }
}

/// A rustls client trusting exactly these CAs.
pub fn client_config(cas: &[&TestCert]) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for c in cas {
        roots.add(c.ca_der.clone()).expect("add root");
    }
    Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

/// A cheap argon2id hash (the server verifies with the parameters stored in the hash).
pub fn hash(password: &str) -> String {
    use argon2::PasswordHasher;
    let params = argon2::Params::new(8, 1, 1, None).expect("params");
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let salt = argon2::password_hash::SaltString::encode_b64(b"listnews-test-salt").expect("salt");
    argon.hash_password(password.as_bytes(), &salt).expect("hash").to_string()
}
