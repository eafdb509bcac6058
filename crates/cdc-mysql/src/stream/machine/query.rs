//! Query events: DDL applied to the schema tracker (one `SchemaChange` item per table or
//! database it changed), transaction control, and refused statement-based DML.

use std::collections::VecDeque;
use std::sync::Arc;

use cdc_model::{ChangeEvent, Op, Position, SnapshotMarker, SourceInfo, TableId as ModelTableId};

use super::{now_ns, Machine};
use crate::binlog::EventPosition;
use crate::ddl::{
    schema_change_record, ChangeKind, Connector, HistoryRecord, SchemaChange, SchemaChangeRecord,
    SourceBlock,
};
use crate::stream::statement::{classify, without_set_statement, Statement};
use crate::stream::{StreamError, StreamItem};

impl Machine {
    /// A Query event: DDL (applied, one item per change), transaction control, or refused
    /// statement-based DML. Returns whether it ends the group.
    pub(super) fn query_event(
        &mut self,
        at: &EventPosition,
        index: u64,
        schema: &str,
        sql: &str,
        silent: bool,
        out: &mut VecDeque<StreamItem>,
    ) -> Result<bool, StreamError> {
        let ends = self.group.as_ref().is_some_and(|g| !g.explicit);
        let refuse = |reason: &str| StreamError::Statement {
            at: at.start(),
            reason: reason.to_string(),
            sql: crate::ddl::truncated(sql),
        };
        match classify(sql) {
            Statement::XaStart => {
                if let Some(g) = &mut self.group {
                    g.explicit = true;
                }
                return Ok(false);
            }
            Statement::TransactionControl | Statement::RdsHousekeeping => return Ok(ends),
            Statement::Rollback => {
                return Err(refuse(
                    "a logged transaction was rolled back (non-transactional tables mixed into \
                     a transaction); its row events cannot be undone",
                ))
            }
            Statement::DataChange => {
                return Err(refuse(
                    "a data change written as a statement (the session's binlog_format is \
                     STATEMENT or MIXED); its rows are not in the binlog",
                ))
            }
            Statement::Other => {}
        }
        if silent {
            return Ok(ends);
        }
        let current = (!schema.is_empty()).then_some(schema);
        let changes = self
            .schemas
            .apply(without_set_statement(sql), current)
            .map_err(|source| StreamError::Ddl {
                at: at.start(),
                source: Box::new(source),
            })?;
        if changes.is_empty() {
            // Nothing to report; a group ending here still moves the offset (heartbeat).
            return Ok(ends);
        }
        for change in &changes {
            for id in [change.table_id()]
                .into_iter()
                .flatten()
                .chain(match &change.kind {
                    ChangeKind::AlterTable {
                        previous: Some(p), ..
                    } => Some(p),
                    _ => None,
                })
            {
                self.versions.remove(id);
            }
            if matches!(change.kind, ChangeKind::Database) {
                // DROP DATABASE drops its tables; other databases keep their versions.
                self.versions.retain(|id, _| id.database != change.database);
            }
        }
        self.table_ids.clear();
        let (group_gtid, thread) = self
            .group
            .as_ref()
            .map(|g| (g.gtid_text.clone(), g.thread))
            .unwrap_or_default();
        let offset = if ends {
            // Closed here (the items carry the offset after it); the caller sees `false`.
            self.close_group(at, out, false)?;
            self.committed_offset()
        } else {
            match &self.group {
                Some(g) => self.group_offset(g, index + 1, 0),
                None => self.committed_offset(),
            }
        };
        let ts_ms = i64::from(at.timestamp) * 1000;
        // The source block at the DDL (`db` is each change's database).
        let source = SourceInfo {
            version: self.config.connector_version.clone(),
            name: self.config.topic_prefix.clone(),
            db: String::new(),
            ts_us: ts_ms * 1000,
            snapshot: SnapshotMarker::False,
            position: Position::Binlog {
                flavor: self.config.flavor,
                server_id: i64::from(at.server_id),
                gtid: group_gtid,
                file: at.file.clone(),
                pos: i64::try_from(at.start_pos).unwrap_or(i64::MAX),
                row: 0,
                thread: thread.map(i64::from),
                query: None,
            },
        };
        let mut records = statement_records(&source, self.connector, ts_ms, &changes).into_iter();
        let mut emitted = false;
        for change in changes {
            if let ChangeKind::TruncateTable(id) = &change.kind {
                // Debezium: no schema change, an `op=t` event of a captured table.
                let model_id = ModelTableId::new(id.database.clone(), id.table.clone());
                if (self.config.tables)(&model_id) {
                    let version = self.version(id, at)?;
                    let event = ChangeEvent {
                        table: Arc::clone(&version.schema),
                        op: Op::Truncate,
                        before: None,
                        after: None,
                        source: SourceInfo {
                            db: id.database.clone(),
                            ..source.clone()
                        },
                        transaction: None,
                        ts_ns: now_ns(),
                    };
                    let item = StreamItem::Change {
                        event,
                        offset: offset.clone(),
                        key_header: None,
                    };
                    self.emit(out, item);
                    emitted = true;
                }
                continue;
            }
            let record = records.next().ok_or_else(|| StreamError::Sequence {
                at: at.start(),
                reason: format!("no schema-change record for `{}`", change.ddl),
            })?;
            let history = HistoryRecord::for_change(
                &self.config.topic_prefix,
                offset.to_map(),
                ts_ms,
                &change,
            );
            let item = StreamItem::SchemaChange {
                db: change.database.clone(),
                ddl: change.ddl.clone(),
                change,
                record,
                history,
                offset: offset.clone(),
            };
            self.emit(out, item);
            emitted = true;
        }
        if ends && !emitted {
            // Only uncaptured truncates: the offset still moves past the statement.
            self.emit(out, StreamItem::Heartbeat { offset });
        }
        // A group that ended here is closed already.
        Ok(false)
    }
}

/// The `<topic.prefix>` records of a statement's changes other than TRUNCATE (which Debezium
/// turns into an `op=t` event), in order; `source` is the binlog source block at the DDL.
fn statement_records(
    source: &SourceInfo,
    connector: Connector,
    ts_ms: i64,
    changes: &[SchemaChange],
) -> Vec<SchemaChangeRecord> {
    let Position::Binlog {
        server_id,
        gtid,
        file,
        pos,
        row,
        thread,
        query,
        ..
    } = &source.position
    else {
        return Vec::new();
    };
    changes
        .iter()
        .filter(|c| !matches!(c.kind, ChangeKind::TruncateTable(_)))
        .map(|change| {
            let block = SourceBlock {
                version: source.version.clone(),
                connector,
                name: source.name.clone(),
                ts_ms,
                snapshot: None,
                db: change.database.clone(),
                sequence: None,
                ts_us: Some(source.ts_us),
                ts_ns: Some(source.ts_us.saturating_mul(1000)),
                table: change.table_id().map(|t| t.table.clone()),
                server_id: *server_id,
                gtid: gtid.clone(),
                file: file.clone(),
                pos: *pos,
                row: *row,
                thread: *thread,
                query: query.clone(),
            };
            schema_change_record(&block, ts_ms, change)
        })
        .collect()
}
