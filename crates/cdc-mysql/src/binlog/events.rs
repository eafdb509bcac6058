//! The typed binlog events handed to the capture, and their decoding from
//! mysql_common's raw [`Event`]s (MariaDB's own types via [`super::mariadb`]).
//!
//! Policy: every event type is either decoded into a variant of [`EventKind`]
//! or refused with an error naming it and its position — nothing is skipped.
//! Events that only accompany statement-based data (INTVAR, RAND, USER_VAR,
//! LOAD …), INCIDENT and START_ENCRYPTION are refused: rows behind them
//! cannot be captured. MariaDB's compressed events (`log_bin_compress=ON`)
//! are expanded ([`super::compressed`]) and decoded as the plain events.
//!
//! Transactions: MySQL writes `TransactionBegin` (GTID or anonymous GTID),
//! `Begin` (a `BEGIN` query), rows, then `Xid` (InnoDB) or `Commit` (a
//! `COMMIT` query, non-transactional engines). MariaDB (GTID capability
//! announced) writes `TransactionBegin` (its GTID event, no `BEGIN` query),
//! rows, then `Xid` or `Commit`; a `standalone` group (DDL) is the GTID event
//! followed by exactly one `Query` and no terminator.

use std::collections::HashMap;
use std::sync::Arc;

use mysql_async::binlog::events::{Event, EventData, RowsEventData, TableMapEvent};
use mysql_async::binlog::row::BinlogRow;
use mysql_async::binlog::EventType;

use super::compressed;
use super::error::BinlogError;
use super::gtid_set::{MySqlGtid, MySqlSource};
use super::mariadb;
use super::position::{FilePosition, Gtid, MariaGtid};

/// Where an event is: file and positions, plus its header's origin fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventPosition {
    /// Binlog file.
    pub file: String,
    /// Byte offset of the event in `file` (equals `end_pos` for artificial
    /// events and events inside a TRANSACTION_PAYLOAD, which have none).
    pub start_pos: u64,
    /// Byte offset of the next event (the header's `log_pos`; for events with
    /// none, the last known position).
    pub end_pos: u64,
    /// The originating server's id.
    pub server_id: u32,
    /// Header timestamp, seconds since the epoch.
    pub timestamp: u32,
}

impl EventPosition {
    /// The coordinates of this event's start.
    pub fn start(&self) -> FilePosition {
        FilePosition::new(self.file.clone(), self.start_pos)
    }
}

/// Which row operation a rows event carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowsKind {
    /// WRITE_ROWS (v1 23 / v2 30): `after` only.
    Insert,
    /// UPDATE_ROWS (24 / 31): `before` and `after`.
    Update,
    /// DELETE_ROWS (25 / 32): `before` only.
    Delete,
    /// MySQL PARTIAL_UPDATE_ROWS (39): `after` JSON columns may be
    /// `BinlogValue::JsonDiff`, to be applied to `before`.
    PartialUpdate,
}

/// One row of a rows event: before and/or after image (FULL row images).
#[derive(Debug, Clone, PartialEq)]
pub struct RowChange {
    /// The row before the change (updates, deletes).
    pub before: Option<BinlogRow>,
    /// The row after the change (inserts, updates).
    pub after: Option<BinlogRow>,
}

/// A decoded binlog event.
#[derive(Debug, Clone, PartialEq)]
pub enum EventKind {
    /// FORMAT_DESCRIPTION: start of a binlog file (or of the stream).
    FormatDescription {
        /// The writing server's version.
        server_version: String,
    },
    /// ROTATE: the stream continues in `file` at `pos`. `artificial` ones are
    /// sent by the server at stream start and on rotation.
    Rotate {
        /// Next file.
        file: String,
        /// Position in it.
        pos: u64,
        /// Sent by the dump thread, not stored in the binlog.
        artificial: bool,
    },
    /// A GTID (MySQL 33/42, MariaDB 162) or anonymous GTID (34): an event group begins.
    TransactionBegin {
        /// The group's GTID; `None` for MySQL anonymous transactions.
        gtid: Option<Gtid>,
        /// MariaDB `FL_STANDALONE`: a single statement, no terminator follows.
        standalone: bool,
    },
    /// A `BEGIN` query (MySQL; MariaDB only without GTIDs).
    Begin {
        /// Session thread id.
        thread_id: u32,
    },
    /// Any other query: DDL, or statements such as `XA …`.
    Query {
        /// Default database of the session (may be empty).
        schema: String,
        /// Statement text.
        sql: String,
        /// Session thread id.
        thread_id: u32,
    },
    /// XID: an InnoDB transaction commits.
    Xid {
        /// The transaction's XID.
        xid: u64,
    },
    /// A `COMMIT` query: a non-transactional group commits.
    Commit {
        /// Session thread id.
        thread_id: u32,
    },
    /// TABLE_MAP: table id → table, with column types and metadata.
    TableMap(Arc<TableMapEvent<'static>>),
    /// Row changes of one table.
    Rows {
        /// Insert, update, delete or partial update.
        kind: RowsKind,
        /// The table id of the preceding TABLE_MAP.
        table_id: u64,
        /// That TABLE_MAP.
        table: Arc<TableMapEvent<'static>>,
        /// The rows, decoded.
        rows: Vec<RowChange>,
    },
    /// HEARTBEAT: the server is alive, nothing new.
    Heartbeat,
    /// MariaDB GTID_LIST: binlog state at the start of a file.
    GtidList {
        /// One GTID per (domain, server).
        gtids: Vec<MariaGtid>,
    },
    /// MySQL PREVIOUS_GTIDS (start of a file).
    PreviousGtids,
    /// MariaDB BINLOG_CHECKPOINT.
    Checkpoint {
        /// Oldest file still needed for crash recovery.
        file: String,
    },
    /// MariaDB ANNOTATE_ROWS: the statement behind the following row events.
    AnnotateRows {
        /// Statement text.
        sql: String,
    },
    /// MySQL ROWS_QUERY (`binlog_rows_query_log_events=ON`).
    RowsQuery {
        /// Statement text.
        sql: String,
    },
    /// MySQL TRANSACTION_PAYLOAD: a compressed transaction; its events follow.
    TransactionPayload {
        /// Size of the expanded events.
        uncompressed_size: u64,
    },
    /// STOP: the server shut down; the next file follows after a restart.
    Stop,
    /// Events without data for capture (IGNORABLE, TRANSACTION_CONTEXT, VIEW_CHANGE).
    Ignorable {
        /// Raw type code.
        event_type: u8,
    },
    /// MySQL XA_PREPARE: an XA transaction is prepared (committed later by `XA COMMIT`).
    XaPrepare,
}

/// A decoded event with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct BinlogEvent {
    /// Where it is.
    pub at: EventPosition,
    /// What it is.
    pub kind: EventKind,
}

/// TABLE_MAPs in force, by table id (replaced on each TABLE_MAP; cleared on
/// every ROTATE — rotations fall between transactions).
#[derive(Debug, Default)]
pub(crate) struct Tables {
    by_id: HashMap<u64, Arc<TableMapEvent<'static>>>,
}

impl Tables {
    pub(crate) fn clear(&mut self) {
        self.by_id.clear();
    }
}

/// Decodes one event (checksum already verified by the caller).
pub(crate) fn decode(
    event: &Event,
    at: &EventPosition,
    tables: &mut Tables,
) -> Result<EventKind, BinlogError> {
    let header = event.header();
    let code = header.event_type_raw();
    let here = || at.start();
    let decode_err = |what: &str, reason: String| BinlogError::Decode {
        what: what.to_string(),
        at: here(),
        reason,
    };
    if (mariadb::QUERY_COMPRESSED..=mariadb::LAST_ROWS_COMPRESSED).contains(&code) {
        let name = mariadb::event_name(code).unwrap_or("compressed event");
        let plain = compressed::expand(event).map_err(|reason| decode_err(name, reason))?;
        return decode(&plain, at, tables);
    }
    if let Some(name) = mariadb::event_name(code) {
        return decode_mariadb(event, code, name, at);
    }
    let data = event
        .read_data()
        .map_err(|e| decode_err(&format!("event type {code}"), e.to_string()))?;
    let Some(data) = data else {
        return Err(BinlogError::UnknownEvent {
            event_type: code,
            at: here(),
        });
    };
    let unsupported = |name: &'static str, reason: &str| BinlogError::Unsupported {
        name,
        event_type: code,
        at: here(),
        reason: reason.to_string(),
    };
    const STATEMENT_DATA: &str =
        "it accompanies statement-based data, which carries no row images (binlog_format must be ROW for every session)";
    Ok(match data {
        EventData::FormatDescriptionEvent(fde) => EventKind::FormatDescription {
            server_version: fde.server_version().trim_end_matches('\0').to_string(),
        },
        EventData::RotateEvent(rotate) => EventKind::Rotate {
            file: rotate.name().into_owned(),
            pos: rotate.position(),
            artificial: header.log_pos() == 0,
        },
        EventData::QueryEvent(query) => {
            let sql = query.query();
            let thread_id = query.thread_id();
            if sql.eq_ignore_ascii_case("BEGIN") {
                EventKind::Begin { thread_id }
            } else if sql.eq_ignore_ascii_case("COMMIT") {
                EventKind::Commit { thread_id }
            } else {
                EventKind::Query {
                    schema: query.schema().into_owned(),
                    sql: sql.into_owned(),
                    thread_id,
                }
            }
        }
        EventData::XidEvent(xid) => EventKind::Xid { xid: xid.xid },
        EventData::TableMapEvent(tme) => {
            let tme = Arc::new(tme.into_owned());
            tables.by_id.insert(tme.table_id(), Arc::clone(&tme));
            EventKind::TableMap(tme)
        }
        EventData::RowsEvent(rows) => {
            decode_rows(&rows, tables).map_err(|(what, reason)| decode_err(what, reason))?
        }
        EventData::GtidEvent(gtid) => {
            let source = MySqlSource {
                uuid: uuid::Uuid::from_bytes(gtid.sid()),
                tag: gtid.tag().map(|t| t.to_string().to_ascii_lowercase()),
            };
            EventKind::TransactionBegin {
                gtid: Some(Gtid::MySql(MySqlGtid {
                    source,
                    gno: gtid.gno(),
                })),
                standalone: false,
            }
        }
        EventData::AnonymousGtidEvent(_) => EventKind::TransactionBegin {
            gtid: None,
            standalone: false,
        },
        EventData::PreviousGtidsEvent(_) => EventKind::PreviousGtids,
        EventData::HeartbeatEvent => EventKind::Heartbeat,
        EventData::RowsQueryEvent(q) => EventKind::RowsQuery {
            sql: q.query().into_owned(),
        },
        EventData::TransactionPayloadEvent(tpe) => EventKind::TransactionPayload {
            uncompressed_size: tpe.uncompressed_size(),
        },
        EventData::StopEvent => EventKind::Stop,
        EventData::IgnorableEvent(_)
        | EventData::TransactionContextEvent(_)
        | EventData::ViewChangeEvent(_) => EventKind::Ignorable { event_type: code },
        EventData::XaPrepareLogEvent(_) => EventKind::XaPrepare,
        EventData::IncidentEvent(_) => {
            return Err(unsupported(
                "INCIDENT_EVENT",
                "the server recorded an incident: changes may be missing from the binlog",
            ))
        }
        EventData::IntvarEvent(_) => return Err(unsupported("INTVAR_EVENT", STATEMENT_DATA)),
        EventData::RandEvent(_) => return Err(unsupported("RAND_EVENT", STATEMENT_DATA)),
        EventData::UserVarEvent(_) => return Err(unsupported("USER_VAR_EVENT", STATEMENT_DATA)),
        EventData::BeginLoadQueryEvent(_)
        | EventData::ExecuteLoadQueryEvent(_)
        | EventData::LoadEvent(_)
        | EventData::NewLoadEvent(_)
        | EventData::CreateFileEvent(_)
        | EventData::AppendBlockEvent(_)
        | EventData::ExecLoadEvent(_)
        | EventData::DeleteFileEvent(_) => {
            return Err(unsupported("LOAD DATA event", STATEMENT_DATA))
        }
        EventData::StartEventV3(_)
        | EventData::SlaveEvent
        | EventData::PreGaWriteRowsEvent(_)
        | EventData::PreGaUpdateRowsEvent(_)
        | EventData::PreGaDeleteRowsEvent(_)
        | EventData::UnknownEvent => {
            return Err(unsupported(
                "pre-5.0 event",
                "binlog format versions before 4 are not supported",
            ))
        }
    })
}

fn decode_mariadb(
    event: &Event,
    code: u8,
    name: &'static str,
    at: &EventPosition,
) -> Result<EventKind, BinlogError> {
    let body = event.data();
    let decode_err = |reason: String| BinlogError::Decode {
        what: name.to_string(),
        at: at.start(),
        reason,
    };
    Ok(match code {
        mariadb::GTID => {
            let gtid = mariadb::parse_gtid(body, event.header().server_id()).map_err(decode_err)?;
            EventKind::TransactionBegin {
                gtid: Some(Gtid::MariaDb(gtid.gtid)),
                standalone: gtid.standalone(),
            }
        }
        mariadb::GTID_LIST => EventKind::GtidList {
            gtids: mariadb::parse_gtid_list(body).map_err(decode_err)?,
        },
        mariadb::BINLOG_CHECKPOINT => EventKind::Checkpoint {
            file: mariadb::parse_checkpoint(body).map_err(decode_err)?,
        },
        mariadb::ANNOTATE_ROWS => EventKind::AnnotateRows {
            sql: mariadb::parse_annotate_rows(body),
        },
        mariadb::START_ENCRYPTION => {
            return Err(BinlogError::Unsupported {
                name,
                event_type: code,
                at: at.start(),
                reason: "encrypted binlogs (encrypt_binlog=ON) cannot be read by a replica client"
                    .into(),
            })
        }
        _ => {
            return Err(BinlogError::Unsupported {
                name,
                event_type: code,
                at: at.start(),
                reason: "not a MariaDB event this layer reads".into(),
            })
        }
    })
}

fn decode_rows(
    rows: &RowsEventData<'_>,
    tables: &Tables,
) -> Result<EventKind, (&'static str, String)> {
    let (kind, what) = match rows {
        RowsEventData::WriteRowsEventV1(_) | RowsEventData::WriteRowsEvent(_) => {
            (RowsKind::Insert, "WRITE_ROWS event")
        }
        RowsEventData::UpdateRowsEventV1(_) | RowsEventData::UpdateRowsEvent(_) => {
            (RowsKind::Update, "UPDATE_ROWS event")
        }
        RowsEventData::DeleteRowsEventV1(_) | RowsEventData::DeleteRowsEvent(_) => {
            (RowsKind::Delete, "DELETE_ROWS event")
        }
        RowsEventData::PartialUpdateRowsEvent(_) => {
            (RowsKind::PartialUpdate, "PARTIAL_UPDATE_ROWS event")
        }
    };
    let table_id = rows.table_id();
    let table = tables.by_id.get(&table_id).cloned().ok_or_else(|| {
        (
            what,
            format!("table id {table_id} has no preceding TABLE_MAP event"),
        )
    })?;
    let table_name = || format!("`{}`.`{}`", table.database_name(), table.table_name());
    if rows.num_columns() != table.columns_count() {
        return Err((
            what,
            format!(
                "{} columns in the rows event, {} in the TABLE_MAP of {}",
                rows.num_columns(),
                table.columns_count(),
                table_name()
            ),
        ));
    }
    let mut changes = Vec::new();
    for row in rows.rows(&table) {
        let (before, after) = row.map_err(|e| {
            (
                what,
                format!("row {} of {}: {e}", changes.len(), table_name()),
            )
        })?;
        changes.push(RowChange { before, after });
    }
    Ok(EventKind::Rows {
        kind,
        table_id,
        table,
        rows: changes,
    })
}

/// The raw type code of TRANSACTION_PAYLOAD.
pub(crate) const TRANSACTION_PAYLOAD: u8 = EventType::TRANSACTION_PAYLOAD_EVENT as u8;
/// The raw type code of ROTATE.
pub(crate) const ROTATE: u8 = EventType::ROTATE_EVENT as u8;
/// The raw type code of FORMAT_DESCRIPTION.
pub(crate) const FORMAT_DESCRIPTION: u8 = EventType::FORMAT_DESCRIPTION_EVENT as u8;
