//! End-to-end harness shared by the e2e tests and `cdc-dev demo`.
//!
//! Module map:
//! - [`chaos`]: `dev/chaos` — load + faults at random moments + exactly-once checks.
//! - [`soak`]: `dev/soak` — fixed-rate load for N minutes, RSS / lags / commit latency sampled.
//! - [`schema`]: the sample tables (`customers`, `orders`) covering every captured type,
//!   and their seed rows.
//! - [`workload`]: a seeded load generator of inserts, updates (some changing the primary
//!   key) and deletes, in multi-statement transactions.
//! - [`pipeline`]: starts PostgreSQL, Kafka, `cdc-capture` and `cdc-sink` for real, writes
//!   their configuration, kills and restarts them.
//! - [`mariadb`]: the MariaDB pipeline: a private MariaDB 10.11 and Kafka, `cdc-capture`
//!   (`kind = "mariadb"`), `cdc-sink`, and `cdc-sink verify` against the MariaDB source.
//! - [`mariadb_workload`]: the MariaDB sample schema and its seeded load generator.
//! - [`readback`]: compares Iceberg with PostgreSQL through `tests/readback/iceberg_check.py`
//!   (pyiceberg + DuckDB, engines we did not write).
//! - [`records`]: records read back as JSON (key, value) for content checks; topic list.
//! - [`security`]: a private CA and server certificates (openssl); the secrets grep.
//! - [`topics`]: reads every record of the data topics back and checks each is a valid
//!   Debezium envelope, each delete followed by its tombstone.

pub mod chaos;
pub mod mariadb;
pub mod mariadb_workload;
pub mod pipeline;
pub mod readback;
pub mod records;
pub mod schema;
pub mod security;
pub mod soak;
pub mod topics;
pub mod workload;

/// Errors of the harness: what failed, with enough context to debug a red test.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    #[error(transparent)]
    Testkit(#[from] cdc_testkit::TestkitError),
    #[error("PostgreSQL: {}", postgres_reason(.0))]
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

/// The server's message for a database error (`Display` of the error says only "db error").
fn postgres_reason(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{}: {}", db.code().code(), db.message()),
        None => e.to_string(),
    }
}

pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> HarnessError {
    let context = context.into();
    move |source| HarnessError::Io { context, source }
}
