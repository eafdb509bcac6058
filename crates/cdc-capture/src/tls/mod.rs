//! TLS to the source database, one set of settings for every kind: `source.ssl_mode`
//! (`disable` | `prefer` (default) | `require` | `verify_ca` | `verify_full`), `ssl_root_cert`,
//! `ssl_cert` / `ssl_key`, applied to every connection of the capture.
//!
//! - `disable`: plaintext (a loud warning when the host is not a loopback address);
//! - `prefer`: TLS when the server offers it, else plaintext; the certificate is not checked;
//! - `require`: TLS, the certificate is not checked (protects against eavesdropping only);
//! - `verify_ca`: TLS, the chain must lead to `ssl_root_cert` (or the Mozilla roots);
//! - `verify_full`: as `verify_ca`, and the certificate must name the host.
//!
//! Modules:
//! - `postgres`: the SQL connections (tokio-postgres over rustls) and the replication
//!   connection (pgwire-replication's own rustls client, given the same settings);
//! - `mysql`: every MySQL / MariaDB connection (mysql_async's rustls support): snapshot
//!   workers and lock, schema queries, the binlog dump, incremental snapshot reads.
//! - here: the warnings, and reading the PEM files (one clear error per bad file).

mod mysql;
mod postgres;

use std::net::IpAddr;
use std::path::Path;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::RootCertStore;

use crate::config::{SourceConfig, SourceKind, SslMode};
use crate::CaptureError;

pub use mysql::mysql_ssl_opts;
pub use postgres::{replication_tls, sql_tls};

/// The product name of the source, for messages.
fn product(kind: SourceKind) -> &'static str {
    match kind {
        SourceKind::Postgres => "PostgreSQL",
        SourceKind::Mysql => "MySQL",
        SourceKind::Mariadb => "MariaDB",
    }
}

/// Logs what the configured mode means for this host, once at start.
pub fn warn_about(source: &SourceConfig) {
    let loopback = is_loopback(&source.host);
    let product = product(source.kind);
    match source.ssl_mode {
        SslMode::Disable if !loopback => tracing::warn!(
            host = %source.host,
            "PLAINTEXT connection to {product} (source.ssl_mode = disable): the password and \
             every captured row cross the network unencrypted; set source.ssl_mode = verify_full"
        ),
        SslMode::Prefer | SslMode::Require if !loopback => tracing::warn!(
            host = %source.host,
            mode = ?source.ssl_mode,
            "the {product} server's certificate is not verified (source.ssl_mode = {}): a \
             man in the middle can read the password and the data; set source.ssl_mode = \
             verify_full and source.ssl_root_cert",
            source.ssl_mode.as_str()
        ),
        SslMode::VerifyCa if source.kind == SourceKind::Postgres => tracing::info!(
            "source.ssl_mode = verify_ca: the SQL connections check the certificate chain only; \
             the replication connection (pgwire-replication 0.5.0) also checks the host name"
        ),
        _ => {}
    }
}

/// The plaintext fallback of `prefer` (the server offers no TLS): loud outside loopback.
pub fn warn_plaintext_fallback(source: &SourceConfig) {
    let product = product(source.kind);
    if is_loopback(&source.host) {
        tracing::info!("the {product} server offers no TLS: connecting in plaintext (prefer)");
    } else {
        tracing::warn!(
            host = %source.host,
            "PLAINTEXT connection to {product}: the server offers no TLS and source.ssl_mode = \
             prefer falls back to plaintext; the password and every captured row cross the \
             network unencrypted"
        );
    }
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host.starts_with('/')
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Trusted roots: the PEM bundle `path`, or the Mozilla roots.
fn roots(source: &SourceConfig, path: Option<&Path>) -> Result<RootCertStore, CaptureError> {
    let mut store = RootCertStore::empty();
    match path {
        Some(path) => {
            let (added, _) = store.add_parsable_certificates(root_certs(source, path)?);
            if added == 0 {
                return Err(tls_error(
                    source,
                    format!(
                        "source.ssl_root_cert {} holds no usable CA certificate",
                        path.display()
                    ),
                ));
            }
        }
        None => store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    Ok(store)
}

/// The certificates of the PEM bundle `path` (`source.ssl_root_cert`).
fn root_certs(
    source: &SourceConfig,
    path: &Path,
) -> Result<Vec<CertificateDer<'static>>, CaptureError> {
    pem_certs(source, path, "source.ssl_root_cert")
}

/// The certificates of the PEM file `path`, configured as `option`; none is an error.
fn pem_certs(
    source: &SourceConfig,
    path: &Path,
    option: &str,
) -> Result<Vec<CertificateDer<'static>>, CaptureError> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| tls_error(source, format!("reading {option} {}: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(tls_error(
            source,
            format!("{option} {} holds no PEM certificate", path.display()),
        ));
    }
    Ok(certs)
}

/// The client certificate chain and key (`source.ssl_cert` / `ssl_key`), when configured.
#[allow(clippy::type_complexity)]
fn client_identity(
    source: &SourceConfig,
) -> Result<Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>, CaptureError> {
    let (Some(cert), Some(key)) = (&source.ssl_cert, &source.ssl_key) else {
        return Ok(None);
    };
    let chain = pem_certs(source, cert, "source.ssl_cert")?;
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| {
        tls_error(
            source,
            format!("reading source.ssl_key {}: {e}", key.display()),
        )
    })?;
    Ok(Some((chain, key)))
}

fn tls_error(source: &SourceConfig, message: String) -> CaptureError {
    CaptureError::Config(format!("TLS to {}: {message}", product(source.kind)))
}
