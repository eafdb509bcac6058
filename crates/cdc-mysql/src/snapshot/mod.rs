//! The consistent initial snapshot of MySQL / MariaDB tables.
//!
//! | module       | concept                                                                  |
//! |--------------|--------------------------------------------------------------------------|
//! | `plan`       | [`TablePlan`]: a table's schema (from `SHOW CREATE TABLE` through         |
//! |              | [`Schemas`](crate::ddl::Schemas)) and mapped columns; [`TableChunks`]:     |
//! |              | primary-key chunk boundaries (keyset pagination); [`KeyValue`]            |
//! | `consistent` | [`begin`]: N worker transactions on one snapshot, and the binlog position |
//! |              | ([`SnapshotPosition`]) where streaming starts; [`LockMode`]               |
//! | `read`       | [`ConsistentSnapshot::read`]: workers read chunks into a bounded channel  |
//! |              | ([`SnapshotMessage`]); [`Progress`]; resume from completed [`ChunkId`]s    |
//!
//! Typical use:
//! 1. `let snap = begin(opts, &tables, &config, previous_plan).await?` — plans the tables,
//!    opens `config.workers` connections, starts one consistent-snapshot transaction on each
//!    at the same binlog position (`snap.position`) and computes chunk boundaries (or reuses
//!    those of `previous_plan` on a resume). Persist `snap.position` and `snap.chunks`.
//! 2. `let (tx, mut rx) = tokio::sync::mpsc::channel(CHANNEL_CAPACITY)`;
//!    `snap.read(&completed, tx)` in one task, consume `rx` in another. Record a chunk as
//!    completed when its [`SnapshotMessage::ChunkDone`] arrives (all its rows came before it).
//! 3. Stream the binlog from [`SnapshotPosition::start`]: snapshot + stream then hold every
//!    committed transaction exactly once.
//!
//! Resume after a crash: call `begin` again with the persisted chunks (same boundaries), read
//! with the persisted completed set, and stream from the *first* run's position. Chunks read
//! on the resume come from a later snapshot, so streaming from the first position replays
//! some of their changes a second time: a resumed snapshot is at-least-once (keyed consumers
//! converge), an uninterrupted one is exactly-once.

mod consistent;
mod plan;
mod read;

pub use consistent::{
    begin, ConsistentSnapshot, LockMode, SnapshotConfig, SnapshotGtids, SnapshotPosition,
};
pub use plan::{plan_chunks, plan_table, KeyValue, TableChunks, TablePlan};
pub use read::{ChunkId, Progress, SnapshotMessage, SnapshotRow, TableProgress, CHANNEL_CAPACITY};

use crate::ddl::TableId;

/// What can go wrong while taking a snapshot; every variant names the step and the table.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// A statement failed.
    #[error("snapshot: {context}: {source}")]
    Sql {
        context: String,
        #[source]
        source: mysql_async::Error,
    },
    /// The server's answer was not what the step expects.
    #[error("snapshot: {0}")]
    Server(String),
    /// The table's DDL could not be applied to the schema model.
    #[error("snapshot: table {table}: {source}")]
    Ddl {
        table: TableId,
        #[source]
        source: Box<crate::ddl::DdlError>,
    },
    /// A column type the mapping does not handle.
    #[error("snapshot: table {table}: {source}")]
    Type {
        table: TableId,
        #[source]
        source: Box<crate::types::TypeError>,
    },
    /// A value read could not be converted.
    #[error("snapshot: table {table}, chunk {chunk}: {source}")]
    Value {
        table: TableId,
        chunk: usize,
        #[source]
        source: Box<crate::types::ValueError>,
    },
    /// The configuration or the resumed plan does not fit this snapshot.
    #[error("snapshot: {0}")]
    Config(String),
    /// The receiver of the rows went away.
    #[error("snapshot: the row receiver was dropped while reading table {0}")]
    ReceiverGone(TableId),
    /// A worker task ended abnormally.
    #[error("snapshot: worker task failed: {0}")]
    Worker(String),
}

impl SnapshotError {
    pub(crate) fn sql(context: impl Into<String>) -> impl FnOnce(mysql_async::Error) -> Self {
        let context = context.into();
        move |source| SnapshotError::Sql { context, source }
    }
}

/// A MySQL identifier in backquotes.
pub(crate) fn quote(ident: &str) -> String {
    format!("`{}`", ident.replace('`', "``"))
}

/// `` `db`.`table` ``.
pub(crate) fn quote_table(id: &TableId) -> String {
    format!("{}.{}", quote(&id.database), quote(&id.table))
}
