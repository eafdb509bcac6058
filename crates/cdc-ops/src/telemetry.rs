//! Structured logs through `tracing`: human-readable or one JSON object per line.

use serde::Deserialize;
use tracing_subscriber::EnvFilter;

use crate::OpsError;

/// Log output format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Human,
    Json,
}

impl std::str::FromStr for LogFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "human" => Ok(LogFormat::Human),
            "json" => Ok(LogFormat::Json),
            other => Err(format!("unknown log format {other:?} (human or json)")),
        }
    }
}

/// Installs the global subscriber. `filter` uses `RUST_LOG` syntax (e.g. `info,cdc_sink=debug`);
/// the `RUST_LOG` environment variable wins when set.
pub fn init_logging(format: LogFormat, filter: &str) -> Result<(), OpsError> {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(filter))
        .map_err(|e| OpsError::Logging(e.to_string()))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = match format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    result.map_err(|e| OpsError::Logging(e.to_string()))
}
