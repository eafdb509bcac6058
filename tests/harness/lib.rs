//! End-to-end harness shared by the e2e tests and `cdc-dev demo`.
//!
//! Module map:
//! - [`schema`]: the sample tables (`customers`, `orders`) covering every captured type,
//!   and their seed rows.
//! - [`workload`]: a seeded load generator of inserts, updates (some changing the primary
//!   key) and deletes, in multi-statement transactions.
//! - [`pipeline`]: starts PostgreSQL, Kafka, `cdc-capture` and `cdc-sink` for real, writes
//!   their configuration, kills and restarts them.
//! - [`readback`]: compares Iceberg with PostgreSQL through `tests/readback/iceberg_check.py`
//!   (pyiceberg + DuckDB, engines we did not write).
//! - [`mariadb`]: MariaDB e2e helpers (start `cdc-capture`, read a topic back).
//! - [`records`]: records read back as JSON (key, value) for content checks; topic list.
//! - [`topics`]: reads every record of the data topics back and checks each is a valid
//!   Debezium envelope, each delete followed by its tombstone.

pub mod mariadb;
pub mod pipeline;
pub mod readback;
pub mod records;
pub mod schema;
pub mod topics;
pub mod workload;

/// Errors of the harness: what failed, with enough context to debug a red test.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    #[error(transparent)]
    Testkit(#[from] cdc_testkit::TestkitError),
    #[error("PostgreSQL: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    #[error("Kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    #[error("I/O: {context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Check(String),
}

pub type Result<T> = std::result::Result<T, HarnessError>;

pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> HarnessError {
    let context = context.into();
    move |source| HarnessError::Io { context, source }
}
