//! Streaming: `cdc_mysql::stream::ChangeStream` items → Kafka records, each followed by the
//! offset it carries as the resume position (a consistent point where exactly-once mode may
//! commit).
//!
//! - `Begin`: opens the transaction-metadata counters (restored from the position when the
//!   stream resumes inside the transaction they belong to).
//! - `Change`: the change event on `<prefix>.<db>.<table>` (keys = primary key), tombstone
//!   after a delete, `__debezium.newkey` / `__debezium.oldkey` headers on primary-key changes.
//!   Tables created while streaming are captured when the selection accepts them (as
//!   Debezium); their topic is created before their first record.
//! - `SchemaChange`: the history record first (same Kafka transaction as everything after
//!   the DDL, so the recovered schema always matches the stored position), then the
//!   schema-change record on `<prefix>` (with `include_schema_changes`).
//! - `Commit`: the END record; `Heartbeat`: only the offset moves.
//! - With a signal table (`source.signal_data_collection`): rows inserted into it are acted
//!   on after their own record (`execute-snapshot`, watermarks), every change first removes
//!   its key from the open incremental-snapshot window, and between transactions the next
//!   chunk's window is opened (see `crate::incremental`).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use cdc_model::Op;
use cdc_mysql::ddl::Schemas;
use cdc_mysql::stream::{BinlogOffset, ChangeStream, StreamConfig, StreamItem, TableFilter};
use cdc_proto::checkpoint::v1::{
    CollectionCount, IncrementalSnapshot, MySqlPosition, MySqlTransaction,
};

use super::offset::to_proto;
use super::tables::{is_system_database, topic_name, Codecs};
use super::Run;
use crate::emit::{Emitter, TxCounters};
use crate::incremental::BinlogSignals;
use crate::topics::{ensure_topics, TopicSpec};
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

/// What the stored position restores besides the offset.
pub struct Restored {
    /// The transaction the offset lies inside.
    pub transaction: Option<MySqlTransaction>,
    /// The running incremental snapshot.
    pub incremental: Option<IncrementalSnapshot>,
}

/// Streams from `resume` (with `schemas` in force there) until `shutdown` or an error.
pub async fn run(
    run: &Run<'_>,
    emitter: &Emitter<'_, MySqlPosition>,
    captured: &[cdc_model::TableId],
    schemas: Schemas,
    resume: &BinlogOffset,
    restored: Restored,
    shutdown: &Shutdown,
) -> Result<(), CaptureError> {
    let config = run.config;
    let topics: HashSet<String> = captured
        .iter()
        .map(|id| topic_name(&config.topic_prefix, id))
        .collect();
    // The tables selected at start, and tables created since that the selection accepts.
    let tables: TableFilter = {
        let captured: HashSet<cdc_model::TableId> = captured.iter().cloned().collect();
        let selection = run.selection.clone();
        Arc::new(move |id| {
            captured.contains(id) || (!is_system_database(id) && selection.captures(id))
        })
    };
    let heartbeat_ms = config.events.heartbeat_interval_ms;
    let stream_config = StreamConfig {
        flavor: run.flavor,
        topic_prefix: config.topic_prefix.clone(),
        connector_version: config.kafka.source_version.clone(),
        replica_server_id: config.source.server_id.unwrap_or_default(),
        tables: tables.clone(),
        columns: Arc::new(run.selection.clone()),
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
    let signals = match run.selection.signal_table() {
        Some(table) => Some(
            BinlogSignals::new(
                config,
                run.opts.clone(),
                table.clone(),
                run.modes.clone(),
                run.ddl_options.clone(),
                tables.clone(),
                restored.incremental,
            )
            .await?,
        ),
        None => None,
    };
    let mut stream = ChangeStream::open(run.opts.clone(), stream_config, schemas, resume)
        .await
        .map_err(|e| CaptureError::mysql("opening the binlog stream", e))?;
    let mut streamer = Streamer {
        run,
        emitter,
        captured: tables.clone(),
        topics,
        codecs: Codecs::new(
            &config.topic_prefix,
            &run.modes,
            Arc::new(run.selection.clone()),
        ),
        // Resuming inside a transaction whose BEGIN (and some events) were published: the
        // stream does not announce it again.
        tx: restored.transaction.map(|t| OpenTx {
            counters: restored_counters(&t),
            id: t.id,
            ts_ms: 0,
        }),
        ddl_offset: None,
        signals,
    };
    let mut commit_tick = tokio::time::interval(Duration::from_millis(
        config.kafka.commit_interval_ms.clamp(10, 1000),
    ));
    commit_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut heartbeat_tick = tokio::time::interval(Duration::from_millis(heartbeat_ms.max(1)));
    heartbeat_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Items before the ticks: the items of one DDL statement are ready together and must not
    // be split by a commit (commits under load happen at the safe points anyway).
    let result = loop {
        tokio::select! {
            biased;
            _ = shutdown.cancelled() => break streamer.drain(&mut stream).await,
            item = stream.next() => match item {
                Ok(Some(item)) => {
                    if let Err(e) = streamer.handle(item).await {
                        break Err(e);
                    }
                }
                Ok(None) => break Err(CaptureError::Pipeline("the binlog stream ended".into())),
                Err(e) => break Err(CaptureError::mysql("reading the binlog", e)),
            },
            _ = commit_tick.tick() => {
                // No item is ready: a DDL statement's items are all handled.
                if let Err(e) = streamer.store_ddl().await {
                    break Err(e);
                }
                if let Err(e) = streamer.incremental_step().await {
                    break Err(e);
                }
                if let Err(e) = emitter.publisher.tick().await {
                    break Err(e);
                }
            }
            _ = heartbeat_tick.tick(), if heartbeat_ms > 0 && streamer.tx.is_none() => {
                if let Err(e) = emitter.heartbeat().await {
                    break Err(e);
                }
            }
        }
    };
    if let Err(e) = stream.close().await {
        tracing::warn!(error = %e, "binlog connection did not close cleanly");
    }
    result
}

/// The streaming state.
struct Streamer<'r, 'e, 'p> {
    run: &'r Run<'r>,
    emitter: &'e Emitter<'p, MySqlPosition>,
    /// Whether a table is captured (the stream's filter).
    captured: TableFilter,
    /// Topics known to exist (created at start, or before a new table's first record).
    topics: HashSet<String>,
    codecs: Codecs,
    tx: Option<OpenTx>,
    /// The offset after the DDL statement whose items are being published: stored once
    /// every item of the statement (one per table it changed, all with this offset) is sent.
    ddl_offset: Option<BinlogOffset>,
    /// Incremental snapshots through the signal table, when one is configured.
    signals: Option<BinlogSignals>,
}

impl Streamer<'_, '_, '_> {
    /// Between transactions (and with no DDL statement half published): opens the next
    /// incremental-snapshot chunk's window when one is due.
    async fn incremental_step(&mut self) -> Result<(), CaptureError> {
        let Some(signals) = &mut self.signals else {
            return Ok(());
        };
        if self.tx.is_some() || self.ddl_offset.is_some() {
            return Ok(());
        }
        if let Some(progress) = signals.next_chunk().await? {
            self.emitter
                .publisher
                .safe_point(|p| p.incremental = progress)
                .await?;
        }
        Ok(())
    }

    /// Stores the offset of a completely published DDL statement.
    async fn store_ddl(&mut self) -> Result<(), CaptureError> {
        match self.ddl_offset.take() {
            Some(offset) => {
                let stored = self.tx.as_ref().map(OpenTx::stored);
                store(self.emitter, &offset, stored).await
            }
            None => Ok(()),
        }
    }

    /// At shutdown: handles the rest of a DDL statement's items (ready at once), then stores
    /// its offset.
    async fn drain(&mut self, stream: &mut ChangeStream) -> Result<(), CaptureError> {
        use futures::FutureExt as _;
        while self.ddl_offset.is_some() {
            match stream.next().now_or_never() {
                Some(Ok(Some(item))) => self.handle(item).await?,
                Some(Err(e)) => return Err(CaptureError::mysql("reading the binlog", e)),
                Some(Ok(None)) | None => break,
            }
        }
        self.store_ddl().await
    }

    async fn handle(&mut self, item: StreamItem) -> Result<(), CaptureError> {
        let config = self.run.config;
        let emitter = self.emitter;
        if let Some(pending) = &self.ddl_offset {
            let same_statement = matches!(&item,
                StreamItem::SchemaChange { offset, .. } if offset == pending);
            if !same_statement {
                self.store_ddl().await?;
            }
        }
        match item {
            StreamItem::Begin { id, ts_us } => {
                let ts_ms = ts_us.div_euclid(1000);
                match &mut self.tx {
                    // Resumed inside this transaction: continue its counters.
                    Some(t) if t.id == id => t.ts_ms = ts_ms,
                    _ => {
                        self.tx = Some(OpenTx {
                            id,
                            ts_ms,
                            counters: TxCounters::default(),
                        })
                    }
                }
                Ok(())
            }
            StreamItem::Change {
                event,
                offset,
                key_header,
            } => {
                let table = self.codecs.get(&event.table);
                // A signal row is acted on after its own record.
                let mut signal = None;
                if let Some(signals) = &mut self.signals {
                    if signals.window_open() {
                        for row in [&event.before, &event.after].into_iter().flatten() {
                            if let Some(key) = table.codec.encode_key_payload(row)? {
                                signals.observe(&event.table.id, &key);
                            }
                        }
                    }
                    if event.op == Op::Create && signals.is_signal_table(&event.table.id) {
                        signal = event
                            .after
                            .clone()
                            .map(|row| (event.table.clone(), row, event.source.clone()));
                    }
                }
                if !self.topics.contains(&table.topic) {
                    ensure_topics(&config.kafka, &[TopicSpec::data(table.topic.clone())]).await?;
                    self.topics.insert(table.topic.clone());
                }
                let header_key = match &key_header {
                    Some(h) => Some(table.codec.encode_key_payload(&h.row)?.unwrap_or_default()),
                    None => None,
                };
                let headers: Vec<(&str, &[u8])> = match (&key_header, &header_key) {
                    (Some(h), Some(k)) => vec![(h.name, k.as_slice())],
                    _ => Vec::new(),
                };
                let open = self
                    .tx
                    .as_mut()
                    .map(|t| (t.id.as_str(), t.ts_ms, &mut t.counters));
                emitter
                    .emit_event(&table.codec, &table.topic, event, open, &headers)
                    .await?;
                let progress = match (&mut self.signals, signal) {
                    (Some(signals), Some((schema, row, source))) => {
                        signals.on_signal(&schema, &row, &source, emitter).await?
                    }
                    _ => None,
                };
                let stored = self.tx.as_ref().map(OpenTx::stored);
                match progress {
                    Some(progress) => {
                        let offset = to_proto(&offset);
                        emitter
                            .publisher
                            .safe_point(move |p| {
                                p.offset = Some(offset);
                                p.transaction = stored;
                                p.incremental = progress;
                            })
                            .await
                    }
                    None => store(emitter, &offset, stored).await,
                }
            }
            StreamItem::SchemaChange {
                change,
                record,
                history,
                offset,
                ..
            } => {
                self.run.history.append(emitter.publisher, &history).await?;
                // As Debezium: schema-change records of captured tables and of databases.
                let included = change
                    .table_id()
                    .is_none_or(|id| (self.captured)(&super::tables::model_id(id)));
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
                self.ddl_offset = Some(offset);
                Ok(())
            }
            StreamItem::Commit { id, ts_us, offset } => {
                if let Some(t) = self.tx.take() {
                    if t.id != id {
                        tracing::warn!(begin = %t.id, commit = %id, "transaction ids differ");
                    }
                    emitter
                        .end_transaction_id(&t.id, ts_us.div_euclid(1000), &t.counters)
                        .await?;
                }
                store(emitter, &offset, None).await?;
                self.incremental_step().await
            }
            StreamItem::Heartbeat { offset } => {
                let stored = self.tx.as_ref().map(OpenTx::stored);
                store(emitter, &offset, stored).await?;
                self.incremental_step().await
            }
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
