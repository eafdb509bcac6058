//! Streaming: turns replication events into change events.

use std::collections::{HashMap, HashSet};

use cdc_model::debezium::ValueOptions;
use cdc_model::{Op, SnapshotMarker, TableId};
use pgwire_replication::ReplicationEvent;

use crate::emit::{Emitter, Origin};
use crate::pgoutput::{self, OldKind, PgOutputMessage};
use crate::table::{load_columns, CapturedTable};
use crate::CaptureError;

/// Microseconds between the Unix epoch and the PostgreSQL epoch (2000-01-01).
const PG_EPOCH_OFFSET_US: i64 = 946_684_800_000_000;

struct Transaction {
    xid: u32,
    commit_us: i64,
}

/// State of the stream between events.
pub struct Streamer<'a> {
    sql: &'a tokio_postgres::Client,
    emitter: &'a Emitter<'a>,
    topic_prefix: String,
    /// Handling modes for the codecs of tables registered while streaming.
    values: &'a ValueOptions,
    captured: HashSet<TableId>,
    relations: HashMap<u32, CapturedTable>,
    tx: Option<Transaction>,
    last_commit_lsn: Option<u64>,
}

impl<'a> Streamer<'a> {
    pub fn new(
        sql: &'a tokio_postgres::Client,
        emitter: &'a Emitter<'a>,
        topic_prefix: &str,
        values: &'a ValueOptions,
        captured: HashSet<TableId>,
    ) -> Streamer<'a> {
        Streamer {
            sql,
            emitter,
            topic_prefix: topic_prefix.to_owned(),
            values,
            captured,
            relations: HashMap::new(),
            tx: None,
            last_commit_lsn: None,
        }
    }

    /// Handles one replication event.
    pub async fn handle(&mut self, event: ReplicationEvent) -> Result<(), CaptureError> {
        match event {
            ReplicationEvent::Begin {
                xid,
                commit_time_micros,
                ..
            } => {
                self.tx = Some(Transaction {
                    xid,
                    commit_us: commit_time_micros.saturating_add(PG_EPOCH_OFFSET_US),
                });
            }
            ReplicationEvent::Commit { end_lsn, .. } => {
                self.tx = None;
                // Debezium's `sequence` names the end of the previous commit record (the WAL
                // position pgoutput streams the Commit message at), not its start.
                self.last_commit_lsn = Some(end_lsn.as_u64());
                self.emitter.metrics.transactions.inc();
                self.emitter.publisher.commit(end_lsn.as_u64()).await?;
            }
            ReplicationEvent::XLogData {
                wal_start, data, ..
            } => {
                let message = pgoutput::decode(&data).map_err(|e| {
                    CaptureError::Decode(format!(
                        "at LSN {}: {e}",
                        crate::lsn_text(wal_start.as_u64())
                    ))
                })?;
                self.handle_message(message, wal_start.as_u64()).await?;
            }
            ReplicationEvent::Message { prefix, lsn, .. } => {
                tracing::debug!(%prefix, lsn = %crate::lsn_text(lsn.as_u64()),
                    "logical decoding message skipped");
                self.emitter.metrics.skipped_messages.inc();
            }
            // Between transactions everything before `wal_end` that concerns the captured
            // tables has been received; once the acker has seen every earlier record
            // acknowledged, the slot may move to `wal_end` (so idle captured tables do not
            // hold back WAL written for other tables).
            ReplicationEvent::KeepAlive { wal_end, .. }
                if self.tx.is_none() && wal_end.as_u64() > 0 =>
            {
                self.emitter.publisher.advance(wal_end.as_u64()).await?;
            }
            ReplicationEvent::KeepAlive { .. } | ReplicationEvent::StoppedAt { .. } => {}
        }
        Ok(())
    }

    async fn handle_message(
        &mut self,
        message: PgOutputMessage,
        lsn: u64,
    ) -> Result<(), CaptureError> {
        match message {
            PgOutputMessage::Relation {
                rel_id,
                namespace,
                name,
                columns,
                ..
            } => {
                let id = TableId::new(namespace, name);
                if !self.captured.contains(&id) {
                    self.relations.remove(&rel_id);
                    return Ok(());
                }
                let catalog = load_columns(self.sql, &id).await?;
                let table = CapturedTable::from_relation(
                    id,
                    &columns,
                    &catalog,
                    &self.topic_prefix,
                    self.values,
                );
                tracing::debug!(table = %table.schema.id, rel_id, "relation registered");
                self.relations.insert(rel_id, table);
            }
            PgOutputMessage::Insert { rel_id, new } => {
                let Some(table) = self.relations.get(&rel_id) else {
                    return Ok(());
                };
                let after = table.row_from_tuple(&new)?;
                let origin = self.origin(lsn)?;
                self.emitter
                    .emit(table, Op::Create, None, Some(after), &origin)
                    .await?;
            }
            PgOutputMessage::Update { rel_id, old, new } => {
                let Some(table) = self.relations.get(&rel_id) else {
                    return Ok(());
                };
                let mut after = table.row_from_tuple(&new)?;
                let origin = self.origin(lsn)?;
                let before = match &old {
                    Some((kind, tuple)) => Some((*kind, table.row_from_tuple(tuple)?)),
                    None => None,
                };
                if let Some((OldKind::Full, b)) = &before {
                    table.fill_unchanged_toast(&mut after, &new, b);
                }
                let key_changed = before.as_ref().is_some_and(|(_, b)| {
                    !table.schema.key.is_empty()
                        && table.schema.key.iter().any(|&i| b[i] != after[i])
                });
                if key_changed {
                    // Debezium: delete (+ tombstone) of the old key, then create of the new key.
                    let before = before.map(|(_, b)| b);
                    self.emitter
                        .emit(table, Op::Delete, before, None, &origin)
                        .await?;
                    self.emitter
                        .emit(table, Op::Create, None, Some(after), &origin)
                        .await?;
                } else {
                    let before = before.and_then(|(kind, b)| (kind == OldKind::Full).then_some(b));
                    self.emitter
                        .emit(table, Op::Update, before, Some(after), &origin)
                        .await?;
                }
            }
            PgOutputMessage::Delete { rel_id, old } => {
                let Some(table) = self.relations.get(&rel_id) else {
                    return Ok(());
                };
                let before = table.row_from_tuple(&old.1)?;
                let origin = self.origin(lsn)?;
                self.emitter
                    .emit(table, Op::Delete, Some(before), None, &origin)
                    .await?;
            }
            PgOutputMessage::Truncate { rel_ids, .. } => {
                tracing::info!(
                    relations = rel_ids.len(),
                    "TRUNCATE skipped (Debezium's default skipped.operations=t)"
                );
                self.emitter.metrics.skipped_messages.inc();
            }
            PgOutputMessage::Type { .. } | PgOutputMessage::Origin { .. } => {}
            PgOutputMessage::Unknown(tag) => {
                return Err(CaptureError::Decode(format!(
                    "unknown pgoutput message type {:?} at LSN {}",
                    tag as char,
                    crate::lsn_text(lsn)
                )));
            }
        }
        Ok(())
    }

    fn origin(&self, lsn: u64) -> Result<Origin, CaptureError> {
        let tx = self.tx.as_ref().ok_or_else(|| {
            CaptureError::Decode(format!(
                "change at LSN {} outside a transaction",
                crate::lsn_text(lsn)
            ))
        })?;
        Ok(Origin {
            ts_us: tx.commit_us,
            snapshot: SnapshotMarker::False,
            lsn,
            last_commit_lsn: self.last_commit_lsn,
            tx_id: Some(i64::from(tx.xid)),
        })
    }
}
