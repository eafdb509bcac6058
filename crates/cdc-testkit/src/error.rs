//! The crate's single error type.
//!
//! Every variant says *what* was being done when it failed; variants about a
//! service that would not start carry the tail of that service's log so that a
//! failing test shows the reason without anyone having to find the log file.

use std::path::PathBuf;
use std::time::Duration;

/// Everything that can go wrong while starting, driving or stopping a test service.
#[derive(Debug, thiserror::Error)]
pub enum TestkitError {
    /// A filesystem or process-spawning operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being attempted, e.g. `create data dir /tmp/x`.
        context: String,
        /// The underlying OS error.
        #[source]
        source: std::io::Error,
    },

    /// A helper command (initdb, Kafka's StorageTool, ...) exited unsuccessfully.
    #[error("{what} failed ({status}); output:\n{output}")]
    Command {
        /// The command, described for humans.
        what: String,
        /// Its exit status as text.
        status: String,
        /// Its captured stdout and stderr.
        output: String,
    },

    /// A service process was spawned but never became ready, or exited early.
    #[error("{service} failed to start: {reason}\n--- last lines of {} ---\n{log_tail}", log.display())]
    StartFailed {
        /// `postgres` or `kafka`.
        service: &'static str,
        /// Why we gave up (exited with a status, timed out, ...).
        reason: String,
        /// The service's log file.
        log: PathBuf,
        /// The last lines of that log.
        log_tail: String,
    },

    /// A [`wait_until`](crate::wait_until) / [`poll_until`](crate::poll_until) deadline passed.
    #[error("timed out after {waited:?} waiting for {what}")]
    Timeout {
        /// What was being waited for.
        what: String,
        /// How long we waited.
        waited: Duration,
    },

    /// A PostgreSQL client operation failed.
    #[error("{context}: {source}")]
    Postgres {
        /// What was being attempted.
        context: String,
        /// The client error.
        #[source]
        source: tokio_postgres::Error,
    },

    /// A Kafka client operation failed.
    #[error("{context}: {source}")]
    Kafka {
        /// What was being attempted.
        context: String,
        /// The client error.
        #[source]
        source: rdkafka::error::KafkaError,
    },

    /// A workspace binary was not found where cargo puts it.
    #[error(
        "binary `{name}` not found (looked in: {}); build it first with `cargo build --bins`",
        searched.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
    )]
    BinaryNotFound {
        /// The binary's name, e.g. `cdc-capture`.
        name: String,
        /// The paths that were checked.
        searched: Vec<PathBuf>,
    },

    /// The machine lacks something the testkit needs (an OS user, Java, the Kafka jars, ...).
    #[error("environment not usable: {0}")]
    Environment(String),
}

impl TestkitError {
    /// Shorthand for [`TestkitError::Io`].
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        TestkitError::Io {
            context: context.into(),
            source,
        }
    }
}
