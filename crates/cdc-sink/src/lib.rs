//! `cdc-sink`: consumes Debezium change events from Kafka and applies them to Apache Iceberg
//! tables in a SQLite SQL catalog readable by pyiceberg, DuckDB and other Iceberg engines.
//! Per source table, as configured: a changelog (`<schema>_<table>_changelog`, every event
//! appended), a mirror (`<schema>_<table>`, current state; updates and deletes as position
//! deletes) and an SCD2 history (`<schema>_<table>_history`).
//!
//! Module map:
//! - [`config`]: the TOML configuration ([`SinkConfig`]) and its validation.
//! - `error`: [`SinkError`], with table / topic / partition / offset context.
//! - [`changelog`]: what a changelog row is, the `_cdc_*` metadata columns, table naming.
//! - `schema`: source column types → Iceberg types and each mode's table schema.
//! - `evolution`: how an existing table follows its source's schema (add, widen, keep).
//! - `batch`: buffered rows → Arrow `RecordBatch` in the table's exact Arrow schema.
//! - `catalog`: the Iceberg catalog (SQL on SQLite, REST or AWS Glue; `[iceberg.catalog]`);
//!   creating and loading tables.
//! - [`writer`]: [`LakeWriter`], routing events to the Iceberg tables of their source table
//!   (usable without Kafka); `target`: one Iceberg table's buffer, offsets and commit.
//! - `keyed`: mirror and history commits through a primary-key → position index; TOAST fill.
//! - `commit`: our snapshot producer (data and position-delete files, manifests) and the
//!   per-catalog compare-and-swap (SQL `UPDATE`, REST commit requirements, Glue `VersionId`);
//!   writer epochs fence stale writers.
//! - `maintenance`: compaction, snapshot expiry and orphan-file removal of the owned tables,
//!   between commits ([`LakeWriter::maintain`]).
//! - `kafka`: the consumer and its pending offsets.
//! - `resume`: what the tables hold (topics feeding them, offsets): where reading resumes.
//! - `assignment`: which partitions are read, and from where.
//! - `dead_letter`: the dead-letter topic for records that cannot be decoded or applied
//!   (`cdc.dlq.*` headers, acknowledged before any offset passes them).
//! - `pipeline`: the consume → buffer → commit loop.
//! - `metrics`: Prometheus metrics (`cdc_sink_*`).
//! - [`verify`]: `cdc-sink verify`, comparing source PostgreSQL tables with Iceberg tables
//!   (row counts and order-independent checksums).
//!
//! Delivery is exactly once per Iceberg table: every snapshot records the Kafka offsets the
//! table holds in its summary (`cdc.kafka-offsets`) and every table lists the topics feeding
//! it; consumption resumes from the smallest offset the tables of a topic hold (partitions
//! are assigned by the sink, not by a group rebalance), and replayed
//! records below a table's offsets are skipped there. The consumer group's offsets are
//! committed after the Iceberg commits, for lag monitoring only.

use cdc_ops::Shutdown;
use prometheus_client::registry::Registry;

mod assignment;
mod batch;
mod catalog;
pub mod changelog;
mod commit;
pub mod config;
mod dead_letter;
mod error;
mod evolution;
mod kafka;
mod keyed;
mod maintenance;
mod metrics;
mod pipeline;
mod resume;
mod schema;
mod target;
pub mod verify;
pub mod writer;

pub use changelog::RecordOrigin;
pub use config::{
    CommitConfig, DeadLetterConfig, IcebergConfig, KafkaConfig, MaintenanceConfig, OpsConfig,
    SinkConfig, TableMode, TablesConfig,
};
pub use dead_letter::{
    HEADER_ERROR, HEADER_OFFSET, HEADER_PARTITION, HEADER_REASON, HEADER_SINK_VERSION, HEADER_TOPIC,
};
pub use error::{DeadLetterReason, SinkError};
pub use maintenance::{MaintenanceReport, SNAPSHOT_PROP_MAINTENANCE};
pub use resume::{ResumePoints, PROP_KAFKA_TOPICS};
pub use writer::{table_name, Appended, CommittedTable, LakeWriter};

/// Runs the sink until `shutdown` is cancelled, then commits what is buffered and returns.
///
/// Serves `/metrics` and `/healthz` on `config.ops.listen` while running. A record that cannot
/// be decoded or applied goes to the dead-letter topic (`[dead_letter]`); any other error is
/// fatal: nothing is skipped, and offsets of rows not in Iceberg are never committed.
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
    let mut writer = LakeWriter::open(&config.iceberg, &config.tables).await?;
    writer.set_maintenance(config.maintenance.clone());
    let resume = writer.resume_points().await?;
    let assignment = assignment::Assignment::new(&config.kafka, resume)?;
    let dead_letters =
        dead_letter::DeadLetters::open(&config.kafka, &config.dead_letter, metrics.clone()).await?;
    let consumer = kafka::connect(&config.kafka)?;
    pipeline::Pipeline::new(
        consumer,
        assignment,
        writer,
        metrics,
        config.commit,
        dead_letters,
    )
    .run(shutdown)
    .await
}

/// The cores a commit may use for building columns and encoding data files in parallel,
/// read once (the standard library reads cgroup limits on every call).
pub(crate) fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, usize::from))
}

/// `error: cause: cause …` for logs.
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
