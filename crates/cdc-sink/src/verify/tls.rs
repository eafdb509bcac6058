//! TLS to the source database of `cdc-sink verify`, with the capture's `source.ssl_mode`
//! names (`--source-ssl-mode`, `--source-ssl-root-cert`):
//!
//! - `disable` (default): plaintext;
//! - `prefer` (MySQL / MariaDB): TLS when the server offers it, the certificate unchecked;
//! - `require` (MySQL / MariaDB): TLS, the certificate unchecked;
//! - `verify_full`: TLS; the chain must lead to the root certificate (or the Mozilla roots)
//!   and the certificate must name the host.
//!
//! PostgreSQL takes `disable` and `verify_full` (the modes that need no custom certificate
//! verifier).

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;

use crate::SinkError;

/// `--source-ssl-mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SourceTlsMode {
    #[default]
    Disable,
    Prefer,
    Require,
    VerifyFull,
}

impl FromStr for SourceTlsMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.replace('-', "_").to_ascii_lowercase().as_str() {
            "disable" => Ok(Self::Disable),
            "prefer" => Ok(Self::Prefer),
            "require" => Ok(Self::Require),
            "verify_full" => Ok(Self::VerifyFull),
            _ => Err(format!(
                "{s:?} is not a TLS mode (disable, prefer, require, verify_full)"
            )),
        }
    }
}

/// TLS to the source: the mode and the PEM bundle of trusted CAs.
#[derive(Debug, Clone, Default)]
pub struct SourceTls {
    pub mode: SourceTlsMode,
    /// Only these CAs are trusted (`verify_full`); default: the Mozilla roots.
    pub root_cert: Option<PathBuf>,
}

impl SourceTls {
    /// The CA certificates of `root_cert`, checked (one clear error per bad file).
    fn root_certs(&self) -> Result<Option<Vec<CertificateDer<'static>>>, SinkError> {
        let Some(path) = &self.root_cert else {
            return Ok(None);
        };
        let certs = CertificateDer::pem_file_iter(path)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .map_err(|e| {
                SinkError::Config(format!(
                    "reading --source-ssl-root-cert {}: {e}",
                    path.display()
                ))
            })?;
        if certs.is_empty() {
            return Err(SinkError::Config(format!(
                "--source-ssl-root-cert {} holds no PEM certificate",
                path.display()
            )));
        }
        Ok(Some(certs))
    }

    /// mysql_async's TLS options (`None`: plaintext).
    pub(super) fn mysql(&self) -> Result<Option<mysql_async::SslOpts>, SinkError> {
        // mysql_async uses the process-wide rustls provider; the workspace compiles two.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let opts = mysql_async::SslOpts::default();
        Ok(match self.mode {
            SourceTlsMode::Disable => None,
            SourceTlsMode::Prefer | SourceTlsMode::Require => {
                Some(opts.with_danger_accept_invalid_certs(true))
            }
            SourceTlsMode::VerifyFull => Some(match self.root_certs()? {
                Some(certs) => opts
                    .with_root_certs(certs.iter().map(|c| c.to_vec().into()).collect())
                    .with_disable_built_in_roots(true),
                None => opts,
            }),
        })
    }

    /// The rustls configuration of a PostgreSQL connection (`None`: plaintext).
    pub(super) fn postgres(&self) -> Result<Option<rustls::ClientConfig>, SinkError> {
        match self.mode {
            SourceTlsMode::Disable => Ok(None),
            SourceTlsMode::Prefer | SourceTlsMode::Require => Err(SinkError::Config(
                "--source-ssl-mode prefer / require are for MySQL / MariaDB sources; use \
                 verify_full (or disable) for PostgreSQL"
                    .into(),
            )),
            SourceTlsMode::VerifyFull => {
                let mut roots = rustls::RootCertStore::empty();
                match self.root_certs()? {
                    Some(certs) => {
                        roots.add_parsable_certificates(certs);
                    }
                    None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
                }
                let provider = Arc::new(rustls::crypto::ring::default_provider());
                let config = rustls::ClientConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .map_err(|e| SinkError::Config(format!("TLS protocol versions: {e}")))?
                    .with_root_certificates(roots)
                    .with_no_client_auth();
                Ok(Some(config))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_with_either_spelling() {
        assert_eq!("verify-full".parse(), Ok(SourceTlsMode::VerifyFull));
        assert_eq!("VERIFY_FULL".parse(), Ok(SourceTlsMode::VerifyFull));
        assert_eq!("prefer".parse(), Ok(SourceTlsMode::Prefer));
        assert!("verify_ca".parse::<SourceTlsMode>().is_err());
    }

    #[test]
    fn options_per_source_kind() {
        let tls = |mode| SourceTls {
            mode,
            root_cert: None,
        };
        assert!(tls(SourceTlsMode::Disable).mysql().unwrap().is_none());
        assert!(tls(SourceTlsMode::Require)
            .mysql()
            .unwrap()
            .unwrap()
            .accept_invalid_certs());
        let full = tls(SourceTlsMode::VerifyFull).mysql().unwrap().unwrap();
        assert!(!full.accept_invalid_certs() && !full.skip_domain_validation());
        assert!(tls(SourceTlsMode::Require).postgres().is_err());
        assert!(tls(SourceTlsMode::VerifyFull).postgres().unwrap().is_some());
        let missing = SourceTls {
            mode: SourceTlsMode::VerifyFull,
            root_cert: Some("/nonexistent/ca.pem".into()),
        };
        let err = missing.mysql().unwrap_err().to_string();
        assert!(err.contains("/nonexistent/ca.pem"), "{err}");
    }
}
