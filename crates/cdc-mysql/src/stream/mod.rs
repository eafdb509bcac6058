//! The binlog change stream: binlog events → Debezium's change events, schema changes,
//! transaction boundaries and restartable offsets.
//!
//! | module      | concept                                                                    |
//! |-------------|----------------------------------------------------------------------------|
//! | `offset`    | [`BinlogOffset`] (Debezium's offset map) and the completed GTIDs            |
//! | `machine`   | (private) the event state machine: transactions and offsets, skipping what |
//! |             | an offset says was published; `machine::rows`: rows → changes;            |
//! |             | `machine::query`: Query events (DDL, transaction control, refused DML)    |
//! | `tables`    | [`table_schema`], [`Projection`] through a [`ColumnSelection`]; the        |
//! |             | TABLE_MAP check; row images → event rows (the projected columns only)       |
//! | `statement` | (private) Query statements: transaction control, statement-based DML, DDL   |
//!
//! [`ChangeStream::open`] checks the server's settings, opens a binlog dump at an offset
//! (after its GTIDs when it has them, else at its file and position) and
//! [`ChangeStream::next`] yields, in binlog order:
//! - [`StreamItem::Begin`] before the first captured change of a transaction (lazily, as
//!   Debezium's transaction metadata does); [`StreamItem::Change`] per row of a captured
//!   table (a primary-key change is a delete of the old key and a create of the new one, as
//!   in Debezium); [`StreamItem::Commit`] at its XID / `COMMIT`;
//! - [`StreamItem::SchemaChange`] per table (or database) a DDL statement changed, after the
//!   schema tracker applied it (DDL of every table: the schema history needs them all);
//!   `TRUNCATE` of a captured table is a `Change` with `op=t` instead (as in Debezium, which
//!   skips it by default through `skipped.operations`), of others nothing;
//! - [`StreamItem::Heartbeat`] when a transaction without captured changes ended, and on
//!   server heartbeats, so stored offsets advance.
//!
//! Offsets: every item but `Begin` carries the offset to store once it (and everything before
//! it) is durable; reopening at the offset of any item yields exactly the items after it,
//! with two documented exceptions: the delete half of a primary-key change carries the offset
//! of the item before it (a restart there repeats the delete), and the items of one DDL
//! statement that changed several tables (`DROP TABLE a, b`) share the offset after the
//! statement (store it once the last of them is durable; they are consecutive).
//!
//! Errors are final (reopen from the last stored offset): a row of a captured table whose
//! TABLE_MAP does not match the tracked schema, a value that does not convert, DDL that does
//! not apply, DML written as statements (`binlog_format` STATEMENT or MIXED sessions), a
//! `ROLLBACK` of a logged transaction, and every error of the binlog layer.

mod machine;
mod offset;
mod statement;
mod tables;

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use cdc_model::event::BinlogFlavor;
use cdc_model::{ChangeEvent, Row, TableId as ModelTableId};

use crate::binlog::{
    read_settings, validate, BinlogError, BinlogEvents, FilePosition, Flavor, Requirements,
    StreamOptions,
};
use crate::ddl::{DdlError, HistoryRecord, SchemaChange, SchemaChangeRecord, Schemas};
use crate::types::{HandlingModes, TypeError, ValueError};

pub use offset::BinlogOffset;
pub use tables::{table_schema, AllColumns, ColumnSelection, Projection};

use machine::Machine;
use offset::Completed;

/// Which tables' rows the stream turns into change events.
pub type TableFilter = Arc<dyn Fn(&ModelTableId) -> bool + Send + Sync>;

/// How the stream reads and what it emits.
#[derive(Clone)]
pub struct StreamConfig {
    /// MySQL or MariaDB (must match the server).
    pub flavor: BinlogFlavor,
    /// `topic.prefix`: `source.name` and the schema history's `server`.
    pub topic_prefix: String,
    /// `source.version`.
    pub connector_version: String,
    /// This replica's server id (Debezium `database.server.id`): unique among the source's
    /// replicas.
    pub replica_server_id: u32,
    /// Captured tables (rows of other tables are read and skipped).
    pub tables: TableFilter,
    /// The columns their events carry and their keys ([`AllColumns`]: all, primary key).
    pub columns: Arc<dyn ColumnSelection>,
    /// Type and value handling modes.
    pub modes: HandlingModes,
    /// `include.query`: put the ANNOTATE_ROWS / ROWS_QUERY statement in `source.query`.
    pub include_query: bool,
    /// How often the server sends a heartbeat when idle (zero = never).
    pub heartbeat: Duration,
}

impl fmt::Debug for StreamConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamConfig")
            .field("flavor", &self.flavor)
            .field("topic_prefix", &self.topic_prefix)
            .field("connector_version", &self.connector_version)
            .field("replica_server_id", &self.replica_server_id)
            .field("modes", &self.modes)
            .field("include_query", &self.include_query)
            .field("heartbeat", &self.heartbeat)
            .finish_non_exhaustive()
    }
}

/// The Kafka header Debezium adds to the two halves of a primary-key change:
/// `__debezium.newkey` on the delete (the new key), `__debezium.oldkey` on the create (the
/// old key). `row` is the full row whose key columns make the header's key struct.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyHeader {
    /// `__debezium.newkey` or `__debezium.oldkey`.
    pub name: &'static str,
    /// The row carrying the key (render with the table's key encoding).
    pub row: Row,
}

/// One item of the change stream, in binlog order.
// Items are produced and consumed one at a time; boxing the large variants would only add
// allocations.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum StreamItem {
    /// A transaction with at least one captured change begins (`id`: the GTID, or
    /// `file=<f>,pos=<p>` without GTIDs — Debezium's transaction id).
    Begin { id: String, ts_us: i64 },
    /// One row change of a captured table (`event.source.position` is `Position::Binlog`),
    /// with the offset to store once it (and everything before it) is durable. `key_header`
    /// is set on both halves of a primary-key change.
    Change {
        event: ChangeEvent,
        offset: BinlogOffset,
        key_header: Option<KeyHeader>,
    },
    /// A DDL statement's change of one table or database: the schema tracker already applied
    /// it. `change` is what changed, `record` the Debezium schema-change record for the
    /// `<topic.prefix>` topic (key/value JSON) and `history` the schema-history record to
    /// append to the history topic.
    SchemaChange {
        db: String,
        ddl: String,
        change: SchemaChange,
        record: SchemaChangeRecord,
        history: HistoryRecord,
        offset: BinlogOffset,
    },
    /// The transaction ended (XID or COMMIT); `offset` = restart after it.
    Commit {
        id: String,
        ts_us: i64,
        offset: BinlogOffset,
    },
    /// Nothing captured for a while (server heartbeat or skipped events): offset to store.
    Heartbeat { offset: BinlogOffset },
}

impl StreamItem {
    /// The offset the item carries (`None` for `Begin`).
    pub fn offset(&self) -> Option<&BinlogOffset> {
        match self {
            StreamItem::Begin { .. } => None,
            StreamItem::Change { offset, .. }
            | StreamItem::SchemaChange { offset, .. }
            | StreamItem::Commit { offset, .. }
            | StreamItem::Heartbeat { offset } => Some(offset),
        }
    }
}

/// Why the stream stopped. Every variant about an event names its binlog position.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// The binlog layer failed (connection, checksum, unknown event, settings, …).
    #[error(transparent)]
    Binlog(Box<BinlogError>),
    /// The configuration cannot be used (handling modes, flavor).
    #[error("stream configuration: {0}")]
    Config(String),
    /// The offset cannot be used (malformed, or it does not match the binlog).
    #[error("binlog offset: {reason}")]
    Offset { reason: String },
    /// A DDL statement could not be applied to the tracked schema.
    #[error("DDL at {at}: {source}")]
    Ddl {
        at: FilePosition,
        #[source]
        source: Box<DdlError>,
    },
    /// A captured table's binlog columns do not fit its tracked schema.
    #[error("table {table} at {at}: {reason}")]
    Schema {
        table: String,
        at: FilePosition,
        reason: String,
    },
    /// A captured table has a column type the mapping does not handle.
    #[error("table {table} at {at}: {source}")]
    Type {
        table: String,
        at: FilePosition,
        #[source]
        source: Box<TypeError>,
    },
    /// A row value could not be converted.
    #[error("table {table} at {at}, row {row}: {source}")]
    Value {
        table: String,
        at: FilePosition,
        row: usize,
        #[source]
        source: Box<ValueError>,
    },
    /// A Query event the stream cannot capture correctly.
    #[error("statement at {at}: {reason}: {sql}")]
    Statement {
        at: FilePosition,
        reason: String,
        sql: String,
    },
    /// Events in an order the stream cannot follow.
    #[error("binlog event order at {at}: {reason}")]
    Sequence { at: FilePosition, reason: String },
    /// `next` was called again after an error.
    #[error("the change stream failed earlier; reopen it from the last stored offset")]
    Failed,
}

impl From<BinlogError> for StreamError {
    fn from(e: BinlogError) -> Self {
        StreamError::Binlog(Box::new(e))
    }
}

/// The binlog change stream of one server.
pub struct ChangeStream {
    events: BinlogEvents,
    machine: Machine,
    pending: VecDeque<StreamItem>,
    failed: bool,
}

impl fmt::Debug for ChangeStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChangeStream")
            .field("events", &self.events)
            .field("pending", &self.pending.len())
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

impl ChangeStream {
    /// Connects (mysql_async binlog dump from `offset`: GTID set when present, else file/pos),
    /// with `schemas` = the schema in force at `offset` (recovered from the history), and skips
    /// `offset.event` events / `offset.row` rows of the first transaction.
    pub async fn open(
        opts: mysql_async::Opts,
        config: StreamConfig,
        schemas: Schemas,
        offset: &BinlogOffset,
    ) -> Result<ChangeStream, StreamError> {
        let mut conn = mysql_async::Conn::new(opts.clone())
            .await
            .map_err(|source| BinlogError::Sql {
                context: "connect to read the server settings".into(),
                source,
            })?;
        let settings = read_settings(&mut conn).await;
        // The settings connection is not needed any more; a failed goodbye changes nothing.
        let _ = conn.disconnect().await;
        let settings = settings?;
        let expected = match config.flavor {
            BinlogFlavor::MySql => Flavor::MySql,
            BinlogFlavor::MariaDb => Flavor::MariaDb,
        };
        if settings.flavor != expected {
            return Err(StreamError::Config(format!(
                "the stream is configured for {expected} but the server is {} ({})",
                settings.flavor, settings.version
            )));
        }
        config
            .modes
            .validate()
            .map_err(|e| StreamError::Config(e.to_string()))?;
        let completed = Completed::parse(offset.gtids.as_deref(), config.flavor)?;
        let needs = Requirements {
            mysql_gtids: matches!(completed, Completed::MySql(_)),
        };
        validate(&settings, needs).map_err(BinlogError::from)?;
        let options = StreamOptions {
            replica_server_id: config.replica_server_id,
            heartbeat: config.heartbeat,
            start: completed.start(offset),
        };
        let events = BinlogEvents::open(opts, &settings, &options).await?;
        let machine = Machine::new(config, schemas, offset, completed);
        Ok(ChangeStream {
            events,
            machine,
            pending: VecDeque::new(),
            failed: false,
        })
    }

    /// The next item; `Ok(None)` only when the server closes the stream.
    pub async fn next(&mut self) -> Result<Option<StreamItem>, StreamError> {
        if self.failed {
            return Err(StreamError::Failed);
        }
        loop {
            if let Some(item) = self.pending.pop_front() {
                return Ok(Some(item));
            }
            let event = match self.events.next().await {
                Ok(event) => event,
                Err(BinlogError::Ended { .. }) => return Ok(None),
                Err(e) => {
                    self.failed = true;
                    return Err(e.into());
                }
            };
            if let Err(e) = self.machine.handle(event, &mut self.pending) {
                self.failed = true;
                self.pending.clear();
                return Err(e);
            }
        }
    }

    /// The schema tracker after the last binlog event read (every DDL whose items `next`
    /// returned is applied; so may be one whose items are still to come).
    pub fn schemas(&self) -> &Schemas {
        self.machine.schemas()
    }

    /// Closes the dump connection.
    pub async fn close(self) -> Result<(), StreamError> {
        Ok(self.events.close().await?)
    }
}
