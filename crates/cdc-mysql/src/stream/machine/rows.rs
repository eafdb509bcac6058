//! Rows events of captured tables → `Change` items (a primary-key change as a delete and a
//! create, as Debezium emits it), with `Begin` before a transaction's first change.

use std::collections::VecDeque;
use std::sync::Arc;

use cdc_model::{ChangeEvent, Op, Position, SnapshotMarker, SourceInfo};

use super::{micros, now_ns, Machine};
use crate::binlog::{EventPosition, RowChange, RowsKind};
use crate::stream::tables::TableVersion;
use crate::stream::{KeyHeader, StreamError, StreamItem};

impl Machine {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn rows(
        &mut self,
        at: &EventPosition,
        index: u64,
        kind: RowsKind,
        table_id: u64,
        rows: Vec<RowChange>,
        silent: bool,
        skip_rows: u64,
        out: &mut VecDeque<StreamItem>,
    ) -> Result<(), StreamError> {
        let version = match self.table_ids.get(&table_id) {
            Some(Some(v)) => Arc::clone(v),
            Some(None) => return Ok(()),
            None => {
                return Err(StreamError::Sequence {
                    at: at.start(),
                    reason: format!("rows of table id {table_id} without its TABLE_MAP"),
                })
            }
        };
        let skipped = if silent {
            rows.len()
        } else {
            usize::try_from(skip_rows).unwrap_or(usize::MAX)
        };
        if skipped > rows.len() {
            return Err(StreamError::Offset {
                reason: format!(
                    "the offset skips {skipped} rows of the rows event at {}, which has {}",
                    at.start(),
                    rows.len()
                ),
            });
        }
        let Some(group) = self.group.as_mut() else {
            return Ok(());
        };
        if skipped > 0 {
            group.begun = true;
        }
        let total = rows.len();
        for (i, change) in rows.into_iter().enumerate().skip(skipped) {
            self.row(at, index, &version, kind, i, total, change, out)?;
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn row(
        &mut self,
        at: &EventPosition,
        index: u64,
        version: &TableVersion,
        kind: RowsKind,
        i: usize,
        _total: usize,
        change: RowChange,
        out: &mut VecDeque<StreamItem>,
    ) -> Result<(), StreamError> {
        let missing = |image: &str| StreamError::Schema {
            table: version.id.to_string(),
            at: at.start(),
            reason: format!("row {i} of a {kind:?} event has no {image} image"),
        };
        let before = match kind {
            RowsKind::Insert => None,
            _ => {
                let b = change.before.as_ref().ok_or_else(|| missing("before"))?;
                Some(version.row(b, None, at, i)?)
            }
        };
        let after = match kind {
            RowsKind::Delete => None,
            _ => {
                let a = change.after.as_ref().ok_or_else(|| missing("after"))?;
                let old = matches!(kind, RowsKind::PartialUpdate)
                    .then_some(change.before.as_ref())
                    .flatten();
                Some(version.row(a, old, at, i)?)
            }
        };
        let Some(group) = self.group.as_ref() else {
            return Ok(());
        };
        let row_index = u64::try_from(i).unwrap_or(u64::MAX);
        let offset = self.group_offset(group, index, row_index + 1);
        let ts_us = group.ts_us.unwrap_or_else(|| micros(at.timestamp));
        let source = SourceInfo {
            version: self.config.connector_version.clone(),
            name: self.config.topic_prefix.clone(),
            db: version.id.database.clone(),
            ts_us,
            snapshot: SnapshotMarker::False,
            position: Position::Binlog {
                flavor: self.config.flavor,
                server_id: i64::from(at.server_id),
                gtid: group.gtid_text.clone(),
                file: at.file.clone(),
                pos: i64::try_from(at.start_pos).unwrap_or(i64::MAX),
                row: i32::try_from(i).unwrap_or(i32::MAX),
                thread: group.thread.map(i64::from),
                query: self.query.clone(),
            },
        };
        if !group.begun {
            let begin = StreamItem::Begin {
                id: group.id.clone(),
                ts_us: group.begin_ts_us,
            };
            if let Some(g) = self.group.as_mut() {
                g.begun = true;
            }
            self.emit(out, begin);
        }
        let event = |op: Op, before, after| ChangeEvent {
            table: Arc::clone(&version.schema),
            op,
            before,
            after,
            source: source.clone(),
            transaction: None,
            ts_ns: now_ns(),
        };
        let (op, before, after) = match (before, after) {
            (None, Some(a)) => (Op::Create, None, Some(a)),
            (Some(b), None) => (Op::Delete, Some(b), None),
            (Some(b), Some(a)) if version.key_changed(&b, &a) => {
                // Debezium: a delete of the old key (new key in a header), then a create of
                // the new key (old key in a header).
                let delete = StreamItem::Change {
                    event: event(Op::Delete, Some(b.clone()), None),
                    offset: self.last_offset.clone(),
                    key_header: Some(KeyHeader {
                        name: "__debezium.newkey",
                        row: a.clone(),
                    }),
                };
                self.emit(out, delete);
                let create = StreamItem::Change {
                    event: event(Op::Create, None, Some(a)),
                    offset,
                    key_header: Some(KeyHeader {
                        name: "__debezium.oldkey",
                        row: b,
                    }),
                };
                self.emit(out, create);
                return Ok(());
            }
            (Some(b), Some(a)) => (Op::Update, Some(b), Some(a)),
            (None, None) => return Err(missing("before or after")),
        };
        let item = StreamItem::Change {
            event: event(op, before, after),
            offset,
            key_header: None,
        };
        self.emit(out, item);
        Ok(())
    }
}
