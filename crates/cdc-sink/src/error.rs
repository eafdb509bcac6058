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

    #[error("record {origin} is not a valid Debezium change event")]
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

    #[error("verify: source MySQL/MariaDB: {context}")]
    MySql {
        context: String,
        #[source]
        source: mysql_async::Error,
    },

    #[error("verify: source PostgreSQL: {context}")]
    Postgres {
        context: String,
        #[source]
        source: tokio_postgres::Error,
    },

    #[error(
        "record {origin} could not be written to the dead-letter topic {topic} (the sink stops \
         rather than lose it; a restart re-reads it)"
    )]
    DeadLetter {
        origin: RecordOrigin,
        topic: String,
        #[source]
        source: Box<KafkaError>,
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

/// Why a record went to the dead-letter topic: the `cdc.dlq.reason` header and the `reason`
/// label of `cdc_sink_dead_letters_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DeadLetterReason {
    /// Not a decodable Debezium change event (bad JSON, wrong schema, unknown op, ...).
    Decode,
    /// An event without the row image its op needs (an update without `after`, ...).
    MissingImage,
    /// The record's columns conflict with the existing Iceberg table.
    SchemaConflict,
    /// The source table cannot be stored as configured (a column type or name without an
    /// Iceberg equivalent, a keyed mode for a table without a primary key).
    UnsupportedTable,
    /// A value that cannot be stored in its column.
    InvalidValue,
}

impl DeadLetterReason {
    /// Every reason, in label order.
    pub const ALL: [DeadLetterReason; 5] = [
        DeadLetterReason::Decode,
        DeadLetterReason::MissingImage,
        DeadLetterReason::SchemaConflict,
        DeadLetterReason::UnsupportedTable,
        DeadLetterReason::InvalidValue,
    ];

    /// The stable label: `decode`, `missing_image`, `schema_conflict`, `unsupported_table`,
    /// `invalid_value`.
    pub fn as_str(self) -> &'static str {
        match self {
            DeadLetterReason::Decode => "decode",
            DeadLetterReason::MissingImage => "missing_image",
            DeadLetterReason::SchemaConflict => "schema_conflict",
            DeadLetterReason::UnsupportedTable => "unsupported_table",
            DeadLetterReason::InvalidValue => "invalid_value",
        }
    }
}

impl std::fmt::Display for DeadLetterReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl SinkError {
    /// For an error returned while decoding or buffering ONE record: whether it is that
    /// record's fault (and why), so the record can go to the dead-letter topic while the sink
    /// goes on. `None` for infrastructure errors (catalog, files, Kafka, commits, fencing),
    /// which stay fatal: retrying them later can succeed, skipping past them would lose data.
    /// Every variant is listed, so a new one must be classified here.
    pub fn dead_letter_reason(&self) -> Option<DeadLetterReason> {
        match self {
            SinkError::Decode { .. } => Some(DeadLetterReason::Decode),
            SinkError::MissingImage { .. } => Some(DeadLetterReason::MissingImage),
            SinkError::SchemaMismatch { .. } => Some(DeadLetterReason::SchemaConflict),
            SinkError::UnsupportedColumn { .. } => Some(DeadLetterReason::UnsupportedTable),
            SinkError::Value { .. } => Some(DeadLetterReason::InvalidValue),
            SinkError::Config(_)
            | SinkError::Io { .. }
            | SinkError::Ops(_)
            | SinkError::Kafka { .. }
            | SinkError::Catalog { .. }
            | SinkError::CatalogRequest { .. }
            | SinkError::Batch { .. }
            | SinkError::Write { .. }
            | SinkError::Commit { .. }
            | SinkError::CatalogDb { .. }
            | SinkError::Fenced { .. }
            | SinkError::Conflict { .. }
            | SinkError::Verify { .. }
            | SinkError::VerifyColumn { .. }
            | SinkError::Postgres { .. }
            | SinkError::MySql { .. }
            | SinkError::DeadLetter { .. }
            | SinkError::OffsetCommit { .. } => None,
        }
    }

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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn origin() -> RecordOrigin {
        RecordOrigin {
            topic: Arc::from("db.public.t"),
            partition: 0,
            offset: 7,
        }
    }

    #[test]
    fn record_errors_go_to_the_dead_letter_topic() {
        let decode =
            cdc_model::debezium::decode_record(None, Some(b"{".as_slice())).expect_err("not JSON");
        let cases = [
            (
                SinkError::Decode {
                    origin: origin(),
                    source: decode,
                },
                DeadLetterReason::Decode,
            ),
            (
                SinkError::MissingImage {
                    origin: origin(),
                    table: "public.t".into(),
                    op: "u",
                    image: "after",
                },
                DeadLetterReason::MissingImage,
            ),
            (
                SinkError::SchemaMismatch {
                    table: "cdc.public_t".into(),
                    column: "id".into(),
                    reason: "type".into(),
                },
                DeadLetterReason::SchemaConflict,
            ),
            (
                SinkError::UnsupportedColumn {
                    table: "public.t".into(),
                    column: String::new(),
                    reason: "no key".into(),
                },
                DeadLetterReason::UnsupportedTable,
            ),
            (
                SinkError::Value {
                    table: "cdc.public_t".into(),
                    column: "#3".into(),
                    origin: origin(),
                    reason: "missing".into(),
                },
                DeadLetterReason::InvalidValue,
            ),
        ];
        for (error, reason) in cases {
            assert_eq!(error.dead_letter_reason(), Some(reason), "{error}");
        }
        let labels: Vec<&str> = DeadLetterReason::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(
            labels,
            [
                "decode",
                "missing_image",
                "schema_conflict",
                "unsupported_table",
                "invalid_value"
            ]
        );
    }

    #[test]
    fn infrastructure_errors_stay_fatal() {
        let io = std::io::Error::other("disk full");
        let fatal = [
            SinkError::Config("x".into()),
            SinkError::Io {
                context: "writing".into(),
                path: PathBuf::from("/x"),
                source: io,
            },
            SinkError::kafka("consuming failed", KafkaError::Canceled),
            SinkError::catalog(
                "cannot load",
                iceberg::Error::new(iceberg::ErrorKind::Unexpected, "down"),
            ),
            SinkError::commit(
                "cdc.public_t",
                iceberg::Error::new(iceberg::ErrorKind::Unexpected, "cas"),
            ),
            SinkError::write(
                "cdc.public_t",
                iceberg::Error::new(iceberg::ErrorKind::Unexpected, "io"),
            ),
            SinkError::Batch {
                table: "cdc.public_t".into(),
                reason: "arrow".into(),
            },
            SinkError::Fenced {
                table: "cdc.public_t".into(),
                ours: 1,
                theirs: 2,
            },
            SinkError::Conflict {
                table: "cdc.public_t".into(),
                expected: "a".into(),
                found: "b".into(),
            },
            SinkError::DeadLetter {
                origin: origin(),
                topic: "cdc-sink.dlq".into(),
                source: Box::new(KafkaError::Canceled),
            },
            SinkError::OffsetCommit {
                attempts: 5,
                source: KafkaError::Canceled,
            },
        ];
        for error in fatal {
            assert_eq!(error.dead_letter_reason(), None, "{error}");
        }
    }
}
