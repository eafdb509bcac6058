//! TLS to the PostgreSQL source, with libpq's `sslmode` semantics for both connections: the
//! SQL connections (tokio-postgres over rustls) and the replication connection
//! (pgwire-replication's own rustls client, given the same settings).
//!
//! - `disable`: plaintext (a loud warning when the host is not a loopback address);
//! - `prefer`: TLS when the server offers it, else plaintext; the certificate is not checked;
//! - `require`: TLS, the certificate is not checked (protects against eavesdropping only);
//! - `verify_ca`: TLS, the chain must lead to `ssl_root_cert` (or the Mozilla roots);
//! - `verify_full`: as `verify_ca`, and the certificate must name the host.

use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use pgwire_replication::TlsConfig;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};

use crate::config::{SourceConfig, SslMode};
use crate::CaptureError;

/// Logs what the configured mode means for this host, once at start.
pub fn warn_about(source: &SourceConfig) {
    let loopback = is_loopback(&source.host);
    match source.ssl_mode {
        SslMode::Disable if !loopback => tracing::warn!(
            host = %source.host,
            "PLAINTEXT connection to PostgreSQL (source.ssl_mode = disable): the password and \
             every captured row cross the network unencrypted; set source.ssl_mode = verify_full"
        ),
        SslMode::Prefer | SslMode::Require if !loopback => tracing::warn!(
            host = %source.host,
            mode = ?source.ssl_mode,
            "the PostgreSQL server's certificate is not verified (source.ssl_mode = {}): a \
             man in the middle can read the password and the data; set source.ssl_mode = \
             verify_full and source.ssl_root_cert",
            source.ssl_mode.as_str()
        ),
        SslMode::VerifyCa => tracing::info!(
            "source.ssl_mode = verify_ca: the SQL connections check the certificate chain only; \
             the replication connection (pgwire-replication 0.5.0) also checks the host name"
        ),
        _ => {}
    }
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host.starts_with('/')
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The replication connection's TLS settings.
pub fn replication_tls(source: &SourceConfig) -> TlsConfig {
    let root = source.ssl_root_cert.clone();
    let mut tls = match source.ssl_mode {
        SslMode::Disable => TlsConfig::disabled(),
        SslMode::Prefer => TlsConfig {
            mode: pgwire_replication::config::SslMode::Prefer,
            ..TlsConfig::disabled()
        },
        SslMode::Require => TlsConfig::require(),
        SslMode::VerifyCa => TlsConfig::verify_ca(root),
        SslMode::VerifyFull => TlsConfig::verify_full(root),
    };
    if let (Some(cert), Some(key)) = (&source.ssl_cert, &source.ssl_key) {
        tls = tls.with_client_cert(cert.clone(), key.clone());
    }
    tls
}

/// The rustls client configuration of the SQL connections (`None` for `disable`).
pub fn sql_tls(source: &SourceConfig) -> Result<Option<ClientConfig>, CaptureError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier: Arc<dyn ServerCertVerifier> = match source.ssl_mode {
        SslMode::Disable => return Ok(None),
        SslMode::Prefer | SslMode::Require => Arc::new(AnyCertificate(provider.clone())),
        SslMode::VerifyCa | SslMode::VerifyFull => {
            let roots = Arc::new(roots(source.ssl_root_cert.as_deref())?);
            let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
                .build()
                .map_err(|e| tls_error(format!("building the certificate verifier: {e}")))?;
            if source.ssl_mode == SslMode::VerifyCa {
                Arc::new(AnyHostName(webpki))
            } else {
                webpki
            }
        }
    };
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_error(format!("TLS protocol versions: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let config = match (&source.ssl_cert, &source.ssl_key) {
        (Some(cert), Some(key)) => {
            let chain = CertificateDer::pem_file_iter(cert)
                .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                .map_err(|e| {
                    tls_error(format!("reading source.ssl_cert {}: {e}", cert.display()))
                })?;
            let key = PrivateKeyDer::from_pem_file(key)
                .map_err(|e| tls_error(format!("reading source.ssl_key {}: {e}", key.display())))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| tls_error(format!("client certificate: {e}")))?
        }
        _ => builder.with_no_client_auth(),
    };
    Ok(Some(config))
}

/// Trusted roots: the PEM bundle `path`, or the Mozilla roots.
fn roots(path: Option<&Path>) -> Result<RootCertStore, CaptureError> {
    let mut store = RootCertStore::empty();
    match path {
        Some(path) => {
            let certs = CertificateDer::pem_file_iter(path)
                .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                .map_err(|e| {
                    tls_error(format!(
                        "reading source.ssl_root_cert {}: {e}",
                        path.display()
                    ))
                })?;
            let (added, _) = store.add_parsable_certificates(certs);
            if added == 0 {
                return Err(tls_error(format!(
                    "source.ssl_root_cert {} holds no usable CA certificate",
                    path.display()
                )));
            }
        }
        None => store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    Ok(store)
}

fn tls_error(message: String) -> CaptureError {
    CaptureError::Config(format!("TLS to PostgreSQL: {message}"))
}

/// `verify_ca`: the chain must be valid, the name is not checked.
#[derive(Debug)]
struct AnyHostName(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for AnyHostName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// `prefer` / `require`: any certificate (the handshake signatures are still checked).
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
