//! Operability shared by `cdc-capture` and `cdc-sink`.
//!
//! Module map:
//! - [`config`]: TOML configuration files with environment-variable overrides.
//! - [`secret`]: [`Secret`] strings that never print, from inline values, env vars or files.
//! - [`telemetry`]: human or JSON logs through `tracing`.
//! - [`http`]: the `/metrics` (Prometheus text) and `/healthz` endpoint, and [`Health`].
//! - [`shutdown`]: SIGINT/SIGTERM into a cancellation token.

pub mod config;
pub mod http;
pub mod secret;
pub mod shutdown;
pub mod telemetry;

pub use config::{load_config, load_config_from_table, ConfigError};
pub use http::{serve_ops_endpoint, serve_while, Health, OpsConfig, OpsServer};
pub use secret::Secret;
pub use shutdown::{shutdown_on_signals, Shutdown};
pub use telemetry::{init_logging, LogFormat};

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot listen on {addr} for /metrics and /healthz: {source}")]
    Bind {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot install the log subscriber: {0}")]
    Logging(String),
}
