//! Change events: what happened to which row, where in the source log, and when.

use std::sync::Arc;

use crate::{Row, TableSchema};

/// Debezium operation codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// `r`: row read by a snapshot.
    Read,
    /// `c`
    Create,
    /// `u`
    Update,
    /// `d`
    Delete,
    /// `t`
    Truncate,
}

impl Op {
    /// The Debezium `op` code.
    pub fn code(self) -> &'static str {
        match self {
            Op::Read => "r",
            Op::Create => "c",
            Op::Update => "u",
            Op::Delete => "d",
            Op::Truncate => "t",
        }
    }

    /// Parses a Debezium `op` code.
    pub fn from_code(code: &str) -> Option<Op> {
        Some(match code {
            "r" => Op::Read,
            "c" => Op::Create,
            "u" => Op::Update,
            "d" => Op::Delete,
            "t" => Op::Truncate,
            _ => return None,
        })
    }
}

/// `source.snapshot` marker (Debezium's `SnapshotRecord`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SnapshotMarker {
    /// Streaming (rendered `"false"` through the schema default).
    False,
    True,
    First,
    FirstInDataCollection,
    LastInDataCollection,
    Last,
    Incremental,
}

impl SnapshotMarker {
    pub fn as_str(self) -> &'static str {
        match self {
            SnapshotMarker::False => "false",
            SnapshotMarker::True => "true",
            SnapshotMarker::First => "first",
            SnapshotMarker::FirstInDataCollection => "first_in_data_collection",
            SnapshotMarker::LastInDataCollection => "last_in_data_collection",
            SnapshotMarker::Last => "last",
            SnapshotMarker::Incremental => "incremental",
        }
    }

    pub fn parse(text: &str) -> Option<SnapshotMarker> {
        Some(match text {
            "false" => SnapshotMarker::False,
            "true" => SnapshotMarker::True,
            "first" => SnapshotMarker::First,
            "first_in_data_collection" => SnapshotMarker::FirstInDataCollection,
            "last_in_data_collection" => SnapshotMarker::LastInDataCollection,
            "last" => SnapshotMarker::Last,
            "incremental" => SnapshotMarker::Incremental,
            _ => return None,
        })
    }
}

/// Which binlog connector Debezium would be (`source.connector`, schema names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinlogFlavor {
    /// `mysql` (`io.debezium.connector.mysql.*`)
    MySql,
    /// `mariadb` (`io.debezium.connector.mariadb.*`)
    MariaDb,
}

impl BinlogFlavor {
    /// Debezium's connector name: `source.connector` and the middle of the connector's schema
    /// names (`io.debezium.connector.<name>.Source`).
    pub fn connector(self) -> &'static str {
        match self {
            BinlogFlavor::MySql => "mysql",
            BinlogFlavor::MariaDb => "mariadb",
        }
    }
}

/// Where in the source's log an event comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Position {
    /// PostgreSQL: LSN of the change, LSN of the last commit before it (Debezium's
    /// `sequence[0]`), and the transaction id.
    Postgres {
        lsn: u64,
        last_commit_lsn: Option<u64>,
        tx_id: Option<i64>,
    },
    /// MySQL / MariaDB binlog coordinates (Debezium's binlog `source` fields).
    Binlog {
        flavor: BinlogFlavor,
        /// `server_id` of the event (0 in snapshots).
        server_id: i64,
        /// GTID of the event's transaction (MySQL `uuid:seq`, MariaDB `domain-server-seq`).
        gtid: Option<String>,
        /// Binlog file name (snapshot: the file of the snapshot position).
        file: String,
        /// Position of the event in `file` (Debezium: the rows event's position).
        pos: i64,
        /// Index of the row within its rows event (0-based).
        row: i32,
        /// Thread id of the session that made the change (`None` in snapshots).
        thread: Option<i64>,
        /// The SQL statement (ANNOTATE_ROWS / ROWS_QUERY), only with `include.query`.
        query: Option<String>,
    },
}

impl Position {
    /// A compact, connector-specific text form: PostgreSQL `X/Y` LSN notation; binlog
    /// `<file>:<pos>:<row>`, followed by ` gtid=<gtid>` when the event has a GTID.
    pub fn to_text(&self) -> String {
        match self {
            Position::Postgres { lsn, .. } => format!("{:X}/{:X}", lsn >> 32, lsn & 0xFFFF_FFFF),
            Position::Binlog {
                gtid,
                file,
                pos,
                row,
                ..
            } => match gtid {
                Some(gtid) => format!("{file}:{pos}:{row} gtid={gtid}"),
                None => format!("{file}:{pos}:{row}"),
            },
        }
    }

    /// Debezium's connector name for events at this position (`source.connector`):
    /// `postgresql`, `mysql` or `mariadb`.
    pub fn connector(&self) -> &'static str {
        match self {
            Position::Postgres { .. } => "postgresql",
            Position::Binlog { flavor, .. } => flavor.connector(),
        }
    }
}

/// The `source` block of an event.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceInfo {
    /// Connector version string (`source.version`).
    pub version: String,
    /// Logical server name (`topic.prefix`).
    pub name: String,
    /// Database name: PostgreSQL `database.dbname`; MySQL/MariaDB the changed table's
    /// database (`TableId.namespace`).
    pub db: String,
    /// Source time in microseconds since the epoch: commit time when streaming, read time in
    /// snapshots.
    pub ts_us: i64,
    pub snapshot: SnapshotMarker,
    pub position: Position,
}

/// The per-event `transaction` block (`provide.transaction.metadata=true`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionBlock {
    pub id: String,
    pub total_order: i64,
    pub data_collection_order: i64,
}

/// One change to one row.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeEvent {
    pub table: Arc<TableSchema>,
    pub op: Op,
    /// Row image before the change (`None` for inserts, reads, and updates without old image).
    pub before: Option<Row>,
    /// Row image after the change (`None` for deletes).
    pub after: Option<Row>,
    pub source: SourceInfo,
    /// Transaction metadata block; `None` unless transaction metadata is enabled.
    pub transaction: Option<TransactionBlock>,
    /// When the connector processed the event, nanoseconds since the epoch.
    pub ts_ns: i64,
}

impl ChangeEvent {
    /// The row that carries this event's key: `after`, or `before` for deletes.
    pub fn key_row(&self) -> Option<&Row> {
        self.after.as_ref().or(self.before.as_ref())
    }
}
