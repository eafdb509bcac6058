//! The event state machine: one binlog event in, the stream items it makes out.
//!
//! Event groups: a transaction starts at its first event (GTID / anonymous GTID event, a
//! `BEGIN` query, or a lone Query event) and ends at XID, `COMMIT`, XA_PREPARE, or — for a
//! group without `BEGIN` or `XA START` (MySQL DDL after its GTID, `XA COMMIT`, MariaDB
//! standalone GTIDs) — after its Query. Framing events (ROTATE, FORMAT_DESCRIPTION, GTID
//! lists, checkpoints, heartbeats, ignorable events) belong to no group and are not counted.
//! An offset inside a group is the file/pos where its count starts plus the count of its
//! events handled (`event`) and of the rows handled in the next rows event (`row`). As in
//! Debezium, the count starts at the group's first event on MariaDB (its GTID event) and at
//! the `BEGIN` on MySQL (the GTID event before it is not counted; with GTID positions the
//! server resends it on a restart). One exception, to keep restarts exact: a MySQL stream
//! that has GTID events but positions without GTID sets counts from the GTID event.
//!
//! Restart: the machine starts in "skip" mode when the offset points into a group; the first
//! `event` events of the first group are processed for state only (GTID, thread, TABLE_MAPs,
//! the rows query) — DDL among them is not applied again (the schema handed in already has
//! it) — and the first `row` rows of the next rows event are dropped.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use cdc_model::event::BinlogFlavor;
use cdc_model::TableId as ModelTableId;
use mysql_async::binlog::events::TableMapEvent;

use super::offset::{BinlogOffset, Completed};
use super::tables::TableVersion;
use super::{StreamConfig, StreamError, StreamItem};
use crate::binlog::{BinlogEvent, EventKind, EventPosition, Gtid};
use crate::ddl::{Schemas, TableId};

/// The transaction (event group) being read.
#[derive(Debug)]
struct Group {
    /// Its first event.
    file: String,
    pos: u64,
    gtid: Option<Gtid>,
    gtid_text: Option<String>,
    /// Debezium's transaction id.
    id: String,
    /// Ends at XID / COMMIT / XA_PREPARE (a `BEGIN` was seen, or a transactional MariaDB GTID);
    /// otherwise it ends after its first Query.
    explicit: bool,
    /// Events of the group handled so far.
    events: u64,
    /// Thread of the `BEGIN` query.
    thread: Option<u32>,
    /// `Begin` was emitted (or skipped on restart: a captured row preceded the offset).
    begun: bool,
    /// Source time of the group's changes when it is fixed for the group (MySQL GTID groups
    /// use their GTID event's time, as Debezium does).
    ts_us: Option<i64>,
    /// Time of the event that began the transaction (its GTID event, or its `BEGIN` on MySQL
    /// without GTIDs): the `Begin` item's time, as in Debezium.
    begin_ts_us: i64,
}

/// What a restart still has to skip.
#[derive(Debug, Clone, Copy)]
struct Skip {
    events: u64,
    rows: u64,
}

pub(crate) struct Machine {
    config: StreamConfig,
    schemas: Schemas,
    completed: Completed,
    /// Where to resume after the last completed group.
    resume_file: String,
    resume_pos: u64,
    server_id: u32,
    ts_sec: i64,
    group: Option<Group>,
    skip: Option<Skip>,
    /// The offset the restart started at (checked against the first group in file mode).
    start: BinlogOffset,
    /// The offset of the last item emitted (or the start offset).
    last_offset: BinlogOffset,
    /// The statement of the following rows events (ANNOTATE_ROWS / ROWS_QUERY).
    query: Option<String>,
    versions: HashMap<TableId, Arc<TableVersion>>,
    /// TABLE_MAP table id → the captured table it maps (`None`: not captured).
    table_ids: HashMap<u64, Option<Arc<TableVersion>>>,
}

/// Microseconds of a binlog header timestamp.
fn micros(seconds: u32) -> i64 {
    i64::from(seconds) * 1_000_000
}

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Whether an event belongs to a transaction's event group.
fn in_group(kind: &EventKind) -> bool {
    matches!(
        kind,
        EventKind::TransactionBegin { .. }
            | EventKind::Begin { .. }
            | EventKind::Query { .. }
            | EventKind::Xid { .. }
            | EventKind::Commit { .. }
            | EventKind::TableMap(_)
            | EventKind::Rows { .. }
            | EventKind::AnnotateRows { .. }
            | EventKind::RowsQuery { .. }
            | EventKind::TransactionPayload { .. }
            | EventKind::XaPrepare
    )
}

impl Machine {
    pub(crate) fn new(
        config: StreamConfig,
        schemas: Schemas,
        offset: &BinlogOffset,
        completed: Completed,
    ) -> Machine {
        Machine {
            config,
            schemas,
            completed,
            resume_file: offset.file.clone(),
            resume_pos: offset.pos,
            server_id: offset.server_id,
            ts_sec: offset.ts_sec,
            group: None,
            skip: offset.in_transaction().then_some(Skip {
                events: offset.event,
                rows: offset.row,
            }),
            start: offset.clone(),
            last_offset: offset.clone(),
            query: None,
            versions: HashMap::new(),
            table_ids: HashMap::new(),
        }
    }

    pub(crate) fn schemas(&self) -> &Schemas {
        &self.schemas
    }

    /// The offset after the last completed group.
    fn committed_offset(&self) -> BinlogOffset {
        BinlogOffset {
            gtids: self.completed.text(),
            file: self.resume_file.clone(),
            pos: self.resume_pos,
            event: 0,
            row: 0,
            server_id: self.server_id,
            ts_sec: self.ts_sec,
        }
    }

    /// The offset inside the open group with `events` events and then `row` rows handled.
    fn group_offset(&self, group: &Group, events: u64, row: u64) -> BinlogOffset {
        BinlogOffset {
            gtids: self.completed.text(),
            file: group.file.clone(),
            pos: group.pos,
            event: events,
            row,
            server_id: self.server_id,
            ts_sec: self.ts_sec,
        }
    }

    fn emit(&mut self, out: &mut VecDeque<StreamItem>, item: StreamItem) {
        if let Some(offset) = item.offset() {
            self.last_offset = offset.clone();
        }
        out.push_back(item);
    }

    /// Handles one event, appending the items it makes to `out`.
    pub(crate) fn handle(
        &mut self,
        event: BinlogEvent,
        out: &mut VecDeque<StreamItem>,
    ) -> Result<(), StreamError> {
        let BinlogEvent { at, kind } = event;
        if !matches!(kind, EventKind::Heartbeat) {
            self.server_id = at.server_id;
            if at.timestamp != 0 {
                self.ts_sec = i64::from(at.timestamp);
            }
        }
        if !in_group(&kind) {
            match kind {
                EventKind::Rotate { .. } => self.table_ids.clear(),
                EventKind::Heartbeat => {
                    let offset = match &self.group {
                        Some(g) => self.group_offset(g, g.events, 0),
                        // Still to skip into the first transaction: the start offset holds.
                        None if self.skip.is_some() => self.start.clone(),
                        None => self.committed_offset(),
                    };
                    self.emit(out, StreamItem::Heartbeat { offset });
                }
                _ => {}
            }
            return Ok(());
        }
        if self.group.is_none() {
            self.open_group(&at, &kind)?;
        }
        let mysql = self.config.flavor == BinlogFlavor::MySql;
        if let (EventKind::Begin { .. }, Some(g)) = (&kind, &mut self.group) {
            // Debezium counts a MySQL transaction from its BEGIN (its GTID event does not
            // count) — where a restart finds the transaction again: by GTID (the server
            // resends the GTID event first) or at BEGIN for anonymous transactions.
            if mysql && (g.gtid.is_none() || matches!(self.completed, Completed::MySql(_))) {
                g.file.clone_from(&at.file);
                g.pos = at.start_pos;
                g.events = 0;
            }
        }
        let index = self.group.as_ref().map_or(0, |g| g.events);
        // A MySQL GTID / payload event before the BEGIN is not what an offset counts.
        let counted = !(mysql
            && matches!(
                kind,
                EventKind::TransactionBegin { .. } | EventKind::TransactionPayload { .. }
            ));
        let silent = counted && self.skip.is_some_and(|s| index < s.events);
        let skip_rows = match self.skip {
            Some(s) if counted && index == s.events => {
                self.skip = None;
                if s.rows > 0 && !matches!(kind, EventKind::Rows { .. }) {
                    return Err(StreamError::Offset {
                        reason: format!(
                            "the offset skips {} rows of event {index} of the transaction at \
                             {}:{}, which is not a rows event (at {})",
                            s.rows,
                            self.start.file,
                            self.start.pos,
                            at.start()
                        ),
                    });
                }
                s.rows
            }
            _ => 0,
        };
        let ends = match kind {
            EventKind::TransactionBegin { .. } | EventKind::TransactionPayload { .. } => false,
            EventKind::Begin { thread_id } => {
                if let Some(g) = &mut self.group {
                    g.explicit = true;
                    g.thread = Some(thread_id);
                    if g.ts_us.is_none() {
                        g.begin_ts_us = micros(at.timestamp);
                    }
                    if g.gtid.is_none() {
                        g.id = format!("file={},pos={}", at.file, at.start_pos);
                    }
                }
                false
            }
            EventKind::AnnotateRows { sql } | EventKind::RowsQuery { sql } => {
                if self.config.include_query {
                    self.query = Some(sql);
                }
                false
            }
            EventKind::TableMap(tme) => {
                self.table_map(&tme, &at)?;
                false
            }
            EventKind::Rows {
                kind: rows_kind,
                table_id,
                rows,
                ..
            } => {
                self.rows(
                    &at, index, rows_kind, table_id, rows, silent, skip_rows, out,
                )?;
                false
            }
            EventKind::Query { schema, sql, .. } => {
                self.query_event(&at, index, &schema, &sql, silent, out)?
            }
            EventKind::Xid { .. } | EventKind::Commit { .. } | EventKind::XaPrepare => true,
            _ => false,
        };
        if let Some(g) = &mut self.group {
            g.events += 1;
        }
        if ends {
            if silent {
                return Err(StreamError::Offset {
                    reason: format!(
                        "the offset skips {} events of the transaction at {}:{}, which ends \
                         after {} (at {})",
                        self.start.event,
                        self.start.file,
                        self.start.pos,
                        index + 1,
                        at.start()
                    ),
                });
            }
            self.close_group(&at, out, true)?;
        }
        Ok(())
    }

    fn open_group(&mut self, at: &EventPosition, kind: &EventKind) -> Result<(), StreamError> {
        let (gtid, explicit) = match kind {
            EventKind::TransactionBegin { gtid, standalone } => {
                let explicit = matches!(gtid, Some(Gtid::MariaDb(_))) && !standalone;
                (gtid.clone(), explicit)
            }
            // MySQL: a compressed transaction restarted at its payload (anonymous GTIDs).
            EventKind::Begin { .. }
            | EventKind::Query { .. }
            | EventKind::TransactionPayload { .. } => (None, false),
            _ => {
                return Err(StreamError::Sequence {
                    at: at.start(),
                    reason: format!("{kind:?} outside a transaction"),
                })
            }
        };
        if self.skip.is_some()
            && !matches!(self.completed, Completed::MariaDb(_) | Completed::MySql(_))
            && (at.file != self.start.file || at.start_pos != self.start.pos)
        {
            return Err(StreamError::Offset {
                reason: format!(
                    "the offset points into a transaction at {}:{}, but the binlog has one \
                     starting at {}",
                    self.start.file,
                    self.start.pos,
                    at.start()
                ),
            });
        }
        let gtid_text = gtid.as_ref().map(ToString::to_string);
        let id = gtid_text
            .clone()
            .unwrap_or_else(|| format!("file={},pos={}", at.file, at.start_pos));
        let ts_us = match gtid {
            Some(Gtid::MySql(_)) => Some(micros(at.timestamp)),
            _ => None,
        };
        self.group = Some(Group {
            file: at.file.clone(),
            pos: at.start_pos,
            gtid,
            gtid_text,
            id,
            explicit,
            events: 0,
            thread: None,
            begun: false,
            ts_us,
            begin_ts_us: micros(at.timestamp),
        });
        Ok(())
    }

    /// Ends the open group at `at` (its last event): the resume position moves after it and
    /// its GTID joins the completed set. Emits `Commit` when `Begin` was emitted, else (when
    /// `announce`) a `Heartbeat`, so the stored offset moves past the group.
    fn close_group(
        &mut self,
        at: &EventPosition,
        out: &mut VecDeque<StreamItem>,
        announce: bool,
    ) -> Result<Option<Group>, StreamError> {
        let Some(group) = self.group.take() else {
            return Ok(None);
        };
        if let Some(gtid) = &group.gtid {
            self.completed
                .add(gtid)
                .map_err(|reason| StreamError::Sequence {
                    at: at.start(),
                    reason,
                })?;
        }
        self.resume_file.clone_from(&at.file);
        self.resume_pos = at.end_pos;
        self.query = None;
        let offset = self.committed_offset();
        if group.begun {
            let item = StreamItem::Commit {
                id: group.id.clone(),
                ts_us: micros(at.timestamp),
                offset,
            };
            self.emit(out, item);
        } else if announce {
            self.emit(out, StreamItem::Heartbeat { offset });
        }
        Ok(Some(group))
    }

    /// The current version of captured table `id` (built from the tracked schema once per
    /// schema version).
    fn version(
        &mut self,
        id: &TableId,
        at: &EventPosition,
    ) -> Result<Arc<TableVersion>, StreamError> {
        if let Some(v) = self.versions.get(id) {
            return Ok(Arc::clone(v));
        }
        let def = self
            .schemas
            .table_by_id(id)
            .ok_or_else(|| StreamError::Schema {
                table: id.to_string(),
                at: at.start(),
                reason: "a captured table the tracked schema does not know (the schema history is \
                     missing its CREATE TABLE)"
                    .into(),
            })?;
        let v = Arc::new(TableVersion::new(
            def,
            &self.config.modes,
            self.config.columns.as_ref(),
            at,
        )?);
        self.versions.insert(id.clone(), Arc::clone(&v));
        Ok(v)
    }

    /// Maps a TABLE_MAP's table id to its captured table (checked against the tracked
    /// schema), or to nothing.
    fn table_map(
        &mut self,
        tme: &TableMapEvent<'static>,
        at: &EventPosition,
    ) -> Result<(), StreamError> {
        let id = TableId::new(tme.database_name(), tme.table_name());
        let model_id = ModelTableId::new(id.database.clone(), id.table.clone());
        let version = if (self.config.tables)(&model_id) {
            let version = self.version(&id, at)?;
            version.check_table_map(tme, at)?;
            Some(version)
        } else {
            None
        };
        self.table_ids.insert(tme.table_id(), version);
        Ok(())
    }
}

mod query;
mod rows;

#[cfg(test)]
mod tests;
