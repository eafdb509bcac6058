//! TLS of the MySQL / MariaDB connections, through mysql_async's own rustls support: the
//! [`SslOpts`] go into the one `mysql_async::Opts` every connection of the capture is made
//! from (snapshot lock and workers, schema queries, the binlog dump, incremental snapshots).
//!
//! - `prefer` / `require`: TLS without checking the certificate (`prefer` falls back to
//!   plaintext when the server offers no TLS; see `crate::mysql::connect_opts`);
//! - `verify_full`: the chain must lead to `ssl_root_cert` (only those CAs, not the built-in
//!   roots, when it is set) and the certificate must name `source.host` (a DNS name or an IP
//!   address in its subjectAltName);
//! - `verify_ca` is refused by `CaptureConfig::validate`: mysql_async 0.37 cannot skip only
//!   the host-name check with rustls 0.23 (it matches an error text rustls no longer has).
//!
//! The PEM files are read and checked here, so a bad file is one clear error at start.

use mysql_async::{ClientIdentity, SslOpts};

use super::{client_identity, root_certs, tls_error};
use crate::config::{SourceConfig, SslMode};
use crate::CaptureError;

/// The TLS options of the MySQL / MariaDB connections (`None` for `disable`).
pub fn mysql_ssl_opts(source: &SourceConfig) -> Result<Option<SslOpts>, CaptureError> {
    // mysql_async builds its rustls configuration with the process-wide provider; the
    // workspace compiles rustls with two (ring and aws-lc-rs), so choose one explicitly.
    // (An error means a provider is installed already, which serves as well.)
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut opts = match source.ssl_mode {
        SslMode::Disable => return Ok(None),
        SslMode::Prefer | SslMode::Require => {
            SslOpts::default().with_danger_accept_invalid_certs(true)
        }
        SslMode::VerifyCa => {
            return Err(tls_error(
                source,
                "source.ssl_mode = verify_ca is not supported for MySQL / MariaDB; use \
                 verify_full (the certificate must also name source.host)"
                    .into(),
            ))
        }
        SslMode::VerifyFull => match &source.ssl_root_cert {
            Some(path) => {
                let roots = root_certs(source, path)?;
                SslOpts::default()
                    .with_root_certs(roots.iter().map(|c| c.to_vec().into()).collect())
                    .with_disable_built_in_roots(true)
            }
            None => SslOpts::default(),
        },
    };
    if client_identity(source)?.is_some() {
        if let (Some(cert), Some(key)) = (&source.ssl_cert, &source.ssl_key) {
            let read = |what: &str, path: &std::path::Path| {
                std::fs::read(path).map_err(|e| {
                    tls_error(source, format!("reading {what} {}: {e}", path.display()))
                })
            };
            let identity = ClientIdentity::new(
                read("source.ssl_cert", cert)?.into(),
                read("source.ssl_key", key)?.into(),
            );
            opts = opts.with_client_identity(Some(identity));
        }
    }
    Ok(Some(opts))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SourceKind;

    fn source(mode: SslMode) -> SourceConfig {
        let mut source: SourceConfig = toml::from_str("user = \"u\"").unwrap();
        source.kind = SourceKind::Mariadb;
        source.ssl_mode = mode;
        source
    }

    #[test]
    fn modes_map_to_mysql_async_options() {
        assert!(mysql_ssl_opts(&source(SslMode::Disable)).unwrap().is_none());
        for mode in [SslMode::Prefer, SslMode::Require] {
            let opts = mysql_ssl_opts(&source(mode)).unwrap().unwrap();
            assert!(opts.accept_invalid_certs(), "{mode:?}");
        }
        let full = mysql_ssl_opts(&source(SslMode::VerifyFull))
            .unwrap()
            .unwrap();
        assert!(!full.accept_invalid_certs() && !full.skip_domain_validation());
        assert!(!full.disable_built_in_roots() && full.root_certs().is_empty());
        let err = mysql_ssl_opts(&source(SslMode::VerifyCa)).unwrap_err();
        assert!(err.to_string().contains("verify_full"), "{err}");
    }

    #[test]
    fn bad_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let not_pem = dir.path().join("truststore.jks");
        std::fs::write(&not_pem, [0xfe, 0xed, 0xfe, 0xed, 0, 0, 0, 2]).unwrap();
        let mut s = source(SslMode::VerifyFull);
        s.ssl_root_cert = Some(not_pem.clone());
        let err = mysql_ssl_opts(&s).unwrap_err().to_string();
        assert!(
            err.contains("TLS to MariaDB") && err.contains("truststore.jks"),
            "{err}"
        );
        s.ssl_root_cert = Some(dir.path().join("missing.pem"));
        let err = mysql_ssl_opts(&s).unwrap_err().to_string();
        assert!(err.contains("missing.pem"), "{err}");
    }
}
