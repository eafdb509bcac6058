//! `cdc-sink`: consumes Debezium change events from Kafka and appends them to Apache Iceberg
//! changelog tables (one per source table, `<namespace>.<schema>_<table>_changelog`), in a
//! SQLite SQL catalog readable by pyiceberg, DuckDB and other Iceberg engines.
//!
//! Module map:
//! - [`config`]: the TOML configuration ([`SinkConfig`]) and its validation.
//! - `error`: [`SinkError`], with table / topic / partition / offset context.
//! - [`changelog`]: what a changelog row is, the `_cdc_*` metadata columns, table naming.
//! - `schema`: source column types → Iceberg types, changelog schema, compatibility check.
//! - `batch`: buffered rows → Arrow `RecordBatch` in the table's exact Arrow schema.
//! - `catalog`: the SQL catalog on SQLite; creating and loading changelog tables.
//! - [`writer`]: [`ChangelogWriter`], buffering per table and committing Parquet data files
//!   with one `fast_append` snapshot per table (usable without Kafka).
//! - `kafka`: the consumer, its subscription and pending offsets.
//! - `pipeline`: the consume → buffer → commit loop.
//! - `metrics`: Prometheus metrics (`cdc_sink_*`).
//! - [`verify`]: `cdc-sink verify`, comparing source PostgreSQL tables with Iceberg tables
//!   (row counts and order-independent checksums).
//!
//! Delivery is at least once: Kafka offsets are committed only after the rows of those
//! records are committed to Iceberg. Every snapshot records the Kafka offsets it covers in its
//! summary (`cdc.kafka-offsets`) so that a later exactly-once mode can skip replayed records.

use cdc_ops::Shutdown;
use prometheus_client::registry::Registry;

mod batch;
mod catalog;
pub mod changelog;
pub mod config;
mod error;
mod kafka;
mod metrics;
mod pipeline;
mod schema;
pub mod verify;
pub mod writer;

pub use changelog::RecordOrigin;
pub use config::{CommitConfig, IcebergConfig, KafkaConfig, OpsConfig, SinkConfig};
pub use error::SinkError;
pub use writer::{Appended, ChangelogWriter, CommittedTable};

/// Runs the sink until `shutdown` is cancelled, then commits what is buffered and returns.
///
/// Serves `/metrics` and `/healthz` on `config.ops.listen` while running. Any error is fatal:
/// nothing is skipped, and offsets of rows not in Iceberg are never committed.
pub async fn run(config: SinkConfig, shutdown: Shutdown) -> Result<(), SinkError> {
    config.validate()?;
    let mut registry = Registry::default();
    let metrics = metrics::SinkMetrics::register(&mut registry);
    let listen = config.ops.listen.clone();
    let result = cdc_ops::serve_while(&listen, registry, consume(config, shutdown, metrics)).await;
    if let Err(e) = &result {
        tracing::error!(error = %error_chain(e), "sink stopped");
    }
    result
}

async fn consume(
    config: SinkConfig,
    shutdown: Shutdown,
    metrics: metrics::SinkMetrics,
) -> Result<(), SinkError> {
    // The catalog first: a broken data_dir fails before joining the consumer group.
    let writer = ChangelogWriter::open(&config.iceberg).await?;
    let consumer = kafka::subscribe(&config.kafka)?;
    pipeline::Pipeline::new(consumer, writer, metrics, config.commit)
        .run(shutdown)
        .await
}

/// `error: cause: cause …` for logs.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
