//! Streaming: `cdc_mysql::stream::ChangeStream` items → Kafka records, each followed by the
//! offset it carries as the resume position (a consistent point where exactly-once mode may
//! commit).
//!
//! - `Begin`: opens the transaction-metadata counters (restored from the position when the
//!   stream resumes inside the transaction they belong to).
//! - `Change`: the change event on `<prefix>.<db>.<table>` (keys = primary key), tombstone
//!   after a delete, `__debezium.newkey` / `__debezium.oldkey` headers on primary-key changes.
//! - `SchemaChange`: the history record first (same Kafka transaction as everything after
//!   the DDL, so the recovered schema always matches the stored position), then the
//!   schema-change record on `<prefix>` (with `include_schema_changes`).
//! - `Commit`: the END record; `Heartbeat`: only the offset moves.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use cdc_mysql::ddl::Schemas;
use cdc_mysql::stream::{BinlogOffset, ChangeStream, StreamConfig, StreamItem, TableFilter};
use cdc_proto::checkpoint::v1::{CollectionCount, MySqlPosition, MySqlTransaction};

use super::offset::to_proto;
use super::tables::Codecs;
use super::Run;
use crate::emit::{Emitter, TxCounters};
use crate::{CaptureError, Shutdown};

/// The source transaction being published.
struct OpenTx {
    id: String,
    ts_ms: i64,
    counters: TxCounters,
}

impl OpenTx {
    fn stored(&self) -> MySqlTransaction {
        MySqlTransaction {
            id: self.id.clone(),
            events_emitted: self.counters.events,
            collections: self
                .counters
                .collections
                .iter()
                .map(|(c, n)| CollectionCount {
                    data_collection: c.clone(),
                    events: *n,
                })
                .collect(),
            begin_emitted: self.counters.begin_emitted,
        }
    }
}

fn restored_counters(t: &MySqlTransaction) -> TxCounters {
    TxCounters {
        begin_emitted: t.begin_emitted,
        events: t.events_emitted,
        collections: t
            .collections
            .iter()
            .map(|c| (c.data_collection.clone(), c.events))
            .collect(),
    }
}

/// Streams from `resume` (with `schemas` in force there) until `shutdown` or an error.
pub async fn run(
    run: &Run<'_>,
    emitter: &Emitter<'_, MySqlPosition>,
    captured: &[cdc_model::TableId],
    schemas: Schemas,
    resume: &BinlogOffset,
    mut restored: Option<MySqlTransaction>,
    shutdown: &Shutdown,
) -> Result<(), CaptureError> {
    let config = run.config;
    let captured: Arc<HashSet<cdc_model::TableId>> = Arc::new(captured.iter().cloned().collect());
    let tables: TableFilter = {
        let captured = captured.clone();
        Arc::new(move |id| captured.contains(id))
    };
    let heartbeat_ms = config.events.heartbeat_interval_ms;
    let stream_config = StreamConfig {
        flavor: run.flavor,
        topic_prefix: config.topic_prefix.clone(),
        connector_version: config.kafka.source_version.clone(),
        replica_server_id: config.source.server_id.unwrap_or_default(),
        tables,
        modes: run.modes.clone(),
        include_query: config.source.include_query,
        // Server heartbeats keep the offset moving while nothing is captured.
        heartbeat: Duration::from_millis(if heartbeat_ms > 0 {
            heartbeat_ms
        } else {
            30_000
        }),
    };
    tracing::info!(file = %resume.file, pos = resume.pos, gtids = ?resume.gtids,
        event = resume.event, row = resume.row, "streaming the binlog");
    let mut stream = ChangeStream::open(run.opts.clone(), stream_config, schemas, resume)
        .await
        .map_err(|e| CaptureError::mysql("opening the binlog stream", e))?;
    let mut codecs = Codecs::new(&config.topic_prefix, &run.modes);
    let mut tx: Option<OpenTx> = None;
    let mut commit_tick = tokio::time::interval(Duration::from_millis(
        config.kafka.commit_interval_ms.clamp(10, 1000),
    ));
    commit_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut heartbeat_tick = tokio::time::interval(Duration::from_millis(heartbeat_ms.max(1)));
    heartbeat_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let result = loop {
        tokio::select! {
            biased;
            _ = shutdown.cancelled() => break Ok(()),
            _ = commit_tick.tick() => {
                if let Err(e) = emitter.publisher.tick().await {
                    break Err(e);
                }
            }
            _ = heartbeat_tick.tick(), if heartbeat_ms > 0 && tx.is_none() => {
                if let Err(e) = emitter.heartbeat().await {
                    break Err(e);
                }
            }
            item = stream.next() => match item {
                Ok(Some(item)) => {
                    let handled = handle(
                        run, emitter, &captured, &mut codecs, &mut tx, &mut restored, item,
                    )
                    .await;
                    if let Err(e) = handled {
                        break Err(e);
                    }
                }
                Ok(None) => break Err(CaptureError::Pipeline("the binlog stream ended".into())),
                Err(e) => break Err(CaptureError::mysql("reading the binlog", e)),
            },
        }
    };
    if let Err(e) = stream.close().await {
        tracing::warn!(error = %e, "binlog connection did not close cleanly");
    }
    result
}

async fn handle(
    run: &Run<'_>,
    emitter: &Emitter<'_, MySqlPosition>,
    captured: &HashSet<cdc_model::TableId>,
    codecs: &mut Codecs,
    tx: &mut Option<OpenTx>,
    restored: &mut Option<MySqlTransaction>,
    item: StreamItem,
) -> Result<(), CaptureError> {
    let config = run.config;
    match item {
        StreamItem::Begin { id, ts_us } => {
            // Resuming inside this transaction: continue its counters.
            let counters = match restored.take() {
                Some(t) if t.id == id => restored_counters(&t),
                _ => TxCounters::default(),
            };
            *tx = Some(OpenTx {
                id,
                ts_ms: ts_us.div_euclid(1000),
                counters,
            });
            Ok(())
        }
        StreamItem::Change {
            event,
            offset,
            key_header,
        } => {
            let table = codecs.get(&event.table);
            let header_key = match &key_header {
                Some(h) => Some(table.codec.encode_key_payload(&h.row)?.unwrap_or_default()),
                None => None,
            };
            let headers: Vec<(&str, &[u8])> = match (&key_header, &header_key) {
                (Some(h), Some(k)) => vec![(h.name, k.as_slice())],
                _ => Vec::new(),
            };
            let open = tx
                .as_mut()
                .map(|t| (t.id.as_str(), t.ts_ms, &mut t.counters));
            emitter
                .emit_event(&table.codec, &table.topic, event, open, &headers)
                .await?;
            let stored = tx.as_ref().map(OpenTx::stored);
            store(emitter, &offset, stored).await
        }
        StreamItem::SchemaChange {
            change,
            record,
            history,
            offset,
            ..
        } => {
            run.history.append(emitter.publisher, &history).await?;
            // As Debezium: schema-change records of captured tables and of databases only.
            let included = change
                .table_id()
                .is_none_or(|id| captured.contains(&super::tables::model_id(id)));
            if config.source.include_schema_changes && included {
                emitter
                    .publisher
                    .send(
                        &config.topic_prefix,
                        None,
                        Some(&record.key),
                        Some(&record.value),
                    )
                    .await?;
            }
            let stored = tx.as_ref().map(OpenTx::stored);
            store(emitter, &offset, stored).await
        }
        StreamItem::Commit { id, ts_us, offset } => {
            if let Some(t) = tx.take() {
                if t.id != id {
                    tracing::warn!(begin = %t.id, commit = %id, "transaction ids differ");
                }
                emitter
                    .end_transaction_id(&t.id, ts_us.div_euclid(1000), &t.counters)
                    .await?;
            }
            store(emitter, &offset, None).await
        }
        StreamItem::Heartbeat { offset } => {
            let stored = tx.as_ref().map(OpenTx::stored);
            store(emitter, &offset, stored).await
        }
    }
}

/// Reports a consistent point at `offset`.
async fn store(
    emitter: &Emitter<'_, MySqlPosition>,
    offset: &BinlogOffset,
    transaction: Option<MySqlTransaction>,
) -> Result<(), CaptureError> {
    let offset = to_proto(offset);
    emitter
        .publisher
        .safe_point(move |p| {
            p.offset = Some(offset);
            p.transaction = transaction;
        })
        .await
}
