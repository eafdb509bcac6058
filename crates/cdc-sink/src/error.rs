//! [`SinkError`]: every way the sink can fail, with the table, topic, partition and offset
//! involved wherever they are known.

use std::path::PathBuf;

use rdkafka::error::KafkaError;

use crate::changelog::RecordOrigin;

/// Errors of the sink. Messages never contain configured secrets or row values; the
/// underlying cause is the error's `source()` (print the chain, e.g. `{:#}` with anyhow).
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error("invalid configuration: {0}")]
    Config(String),

    #[error("{context}")]
    Io {
        context: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("operations endpoint or logging")]
    Ops(#[from] cdc_ops::OpsError),

    #[error("kafka: {context}")]
    Kafka {
        context: String,
        #[source]
        source: KafkaError,
    },

    #[error(
        "record {origin} is not a valid Debezium change event (the sink stops rather than \
         skip it; fix or remove the record, or move the group's offset past it)"
    )]
    Decode {
        origin: RecordOrigin,
        #[source]
        source: cdc_model::debezium::DecodeError,
    },

    #[error("record {origin} for table {table}: {op} event has no {image} row image")]
    MissingImage {
        origin: RecordOrigin,
        table: String,
        op: &'static str,
        image: &'static str,
    },

    #[error("iceberg catalog: {context}")]
    Catalog {
        context: String,
        #[source]
        source: Box<iceberg::Error>,
    },

    #[error("table {table}, column {column}: {reason}")]
    UnsupportedColumn {
        table: String,
        column: String,
        reason: String,
    },

    #[error(
        "table {table}, column {column}: {reason} (schema evolution is not supported yet; \
         the Iceberg table must match the source table)"
    )]
    SchemaMismatch {
        table: String,
        column: String,
        reason: String,
    },

    #[error("table {table}, column {column}, record {origin}: {reason}")]
    Value {
        table: String,
        column: String,
        origin: RecordOrigin,
        reason: String,
    },

    #[error("table {table}: cannot build the Arrow batch: {reason}")]
    Batch { table: String, reason: String },

    #[error("table {table}: cannot write Parquet data files")]
    Write {
        table: String,
        #[source]
        source: Box<iceberg::Error>,
    },

    #[error("table {table}: Iceberg commit failed")]
    Commit {
        table: String,
        #[source]
        source: Box<iceberg::Error>,
    },

    /// A REST or Glue catalog request failed; `detail` is the server's answer or the transport error.
    #[error("iceberg catalog request: {context}: {detail}")]
    CatalogRequest { context: String, detail: String },

    #[error("iceberg catalog database: {context}")]
    CatalogDb {
        context: String,
        #[source]
        source: sqlx::Error,
    },

    #[error(
        "table {table}: fenced — a newer cdc-sink (writer epoch {theirs}, ours {ours}) writes \
         this table; this one stops"
    )]
    Fenced {
        table: String,
        ours: u64,
        theirs: u64,
    },

    #[error(
        "table {table}: the table changed under the sink (expected metadata {expected}, found \
         {found}) without a newer writer epoch; another program writes it — stop it, then \
         restart the sink"
    )]
    Conflict {
        table: String,
        expected: String,
        found: String,
    },

    #[error("verify: table {table}: {reason}")]
    Verify { table: String, reason: String },

    #[error("verify: table {table}, column {column}: {reason}")]
    VerifyColumn {
        table: String,
        column: String,
        reason: String,
    },

    #[error("verify: source PostgreSQL: {context}")]
    Postgres {
        context: String,
        #[source]
        source: tokio_postgres::Error,
    },

    #[error(
        "committing Kafka offsets failed {attempts} times in a row (the rows are in Iceberg; \
         a restart re-reads them from the last committed offsets)"
    )]
    OffsetCommit {
        attempts: u32,
        #[source]
        source: KafkaError,
    },
}

impl SinkError {
    pub(crate) fn catalog(context: impl Into<String>, source: iceberg::Error) -> SinkError {
        SinkError::Catalog {
            context: context.into(),
            source: Box::new(source),
        }
    }

    pub(crate) fn write(table: &str, source: iceberg::Error) -> SinkError {
        SinkError::Write {
            table: table.to_owned(),
            source: Box::new(source),
        }
    }

    pub(crate) fn commit(table: &str, source: iceberg::Error) -> SinkError {
        SinkError::Commit {
            table: table.to_owned(),
            source: Box::new(source),
        }
    }

    pub(crate) fn kafka(context: impl Into<String>, source: KafkaError) -> SinkError {
        SinkError::Kafka {
            context: context.into(),
            source,
        }
    }
}
