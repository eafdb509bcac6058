//! Building events and publishing them: row changes (with tombstones after deletes),
//! transaction metadata, logical-decoding messages and heartbeats.

use cdc_model::debezium::{self, AuxRecord, TableCodec};
use cdc_model::{ChangeEvent, Op, Position, Row, SnapshotMarker, SourceInfo, TransactionBlock};

use crate::config::CaptureConfig;
use crate::metrics::{CaptureMetrics, TableOp};
use crate::position::ResumePosition;
use crate::publisher::Publisher;
use crate::table::CapturedTable;
use crate::CaptureError;

/// Name under which logical-decoding messages are counted in transaction metadata. Debezium
/// prints a Java object identity here (`…LogicalDecodingMessageId@<hash>`), which differs on
/// every run; we keep the class name.
const MESSAGE_COLLECTION: &str =
    "io.debezium.connector.postgresql.LogicalDecodingMessageMonitor$LogicalDecodingMessageId";

/// What every event of this capture shares (`P`: the source's resume position).
pub struct Emitter<'a, P = cdc_proto::checkpoint::v1::PostgresPosition> {
    pub publisher: &'a Publisher<P>,
    pub metrics: CaptureMetrics,
    pub server_name: String,
    pub database: String,
    pub version: String,
    pub tombstones_on_delete: bool,
    pub skipped: Vec<Op>,
    /// `<prefix>.transaction` when transaction metadata is on.
    pub transaction_topic: Option<String>,
    pub message_topic: String,
    pub heartbeat_topic: String,
    /// For creating `message_topic` when the first logical message arrives (as Debezium's
    /// topic appears only then).
    kafka: crate::config::KafkaConfig,
    message_topic_ready: std::sync::atomic::AtomicBool,
}

/// Where and when a change happened.
pub struct Origin {
    pub ts_us: i64,
    pub snapshot: SnapshotMarker,
    pub lsn: u64,
    pub last_commit_lsn: Option<u64>,
    pub tx_id: Option<i64>,
}

/// Transaction-metadata counters of the open source transaction (Debezium's
/// `TransactionContext`): 1-based `total_order` and per-collection order.
#[derive(Debug, Default, Clone)]
pub struct TxCounters {
    pub begin_emitted: bool,
    pub events: u64,
    /// Per `schema.table`, in first-seen order.
    pub collections: Vec<(String, u64)>,
}

impl TxCounters {
    fn count(&mut self, collection: &str) -> (u64, u64) {
        self.events += 1;
        let n = match self.collections.iter_mut().find(|(c, _)| c == collection) {
            Some((_, n)) => {
                *n += 1;
                *n
            }
            None => {
                self.collections.push((collection.to_owned(), 1));
                1
            }
        };
        (self.events, n)
    }
}

/// The open source transaction, as the emitter needs it.
pub struct TxContext<'t> {
    pub xid: u32,
    pub commit_ts_ms: i64,
    pub counters: &'t mut TxCounters,
}

impl<'a, P: ResumePosition> Emitter<'a, P> {
    pub fn new(
        config: &CaptureConfig,
        publisher: &'a Publisher<P>,
        metrics: CaptureMetrics,
    ) -> Result<Self, CaptureError> {
        let prefix = &config.topic_prefix;
        Ok(Emitter {
            publisher,
            metrics,
            server_name: prefix.clone(),
            database: config.source.database.clone(),
            version: config.kafka.source_version.clone(),
            tombstones_on_delete: config.events.tombstones_on_delete,
            skipped: config.skipped_operations()?,
            transaction_topic: config
                .events
                .provide_transaction_metadata
                .then(|| format!("{prefix}.transaction")),
            message_topic: format!("{prefix}.message"),
            heartbeat_topic: format!("{}.{prefix}", config.events.heartbeat_topic_prefix),
            kafka: config.kafka.clone(),
            message_topic_ready: std::sync::atomic::AtomicBool::new(false),
        })
    }

    fn source(&self, origin: &Origin) -> SourceInfo {
        SourceInfo {
            version: self.version.clone(),
            name: self.server_name.clone(),
            db: self.database.clone(),
            ts_us: origin.ts_us,
            snapshot: origin.snapshot,
            position: Position::Postgres {
                lsn: origin.lsn,
                last_commit_lsn: origin.last_commit_lsn,
                tx_id: origin.tx_id,
            },
        }
    }

    /// The `transaction` block of the next event (emitting BEGIN first when due).
    async fn transaction_block(
        &self,
        tx: Option<TxContext<'_>>,
        collection: &str,
        lsn: u64,
    ) -> Result<Option<TransactionBlock>, CaptureError> {
        let (Some(topic), Some(tx)) = (&self.transaction_topic, tx) else {
            return Ok(None);
        };
        let id = format!("{}:{lsn}", tx.xid);
        self.count_in_transaction(topic, id, tx.commit_ts_ms, tx.counters, collection)
            .await
            .map(Some)
    }

    /// Counts one event of `collection` in the transaction `id` (emitting BEGIN first when
    /// due) and returns its `transaction` block.
    async fn count_in_transaction(
        &self,
        topic: &str,
        id: String,
        ts_ms: i64,
        counters: &mut TxCounters,
        collection: &str,
    ) -> Result<TransactionBlock, CaptureError> {
        if !counters.begin_emitted {
            let begin = debezium::transaction_begin(&id, ts_ms);
            self.send_aux(topic, None, &begin).await?;
            counters.begin_emitted = true;
        }
        let (total, in_collection) = counters.count(collection);
        Ok(TransactionBlock {
            id,
            total_order: total as i64,
            data_collection_order: in_collection as i64,
        })
    }

    /// Encodes and sends one row event; a delete is followed by its tombstone (unless
    /// `tombstones_on_delete` is off). Skipped operations are not sent.
    pub async fn emit(
        &self,
        table: &CapturedTable,
        op: Op,
        before: Option<Row>,
        after: Option<Row>,
        origin: &Origin,
        tx: Option<TxContext<'_>>,
    ) -> Result<(), CaptureError> {
        self.emit_with_headers(table, op, before, after, origin, tx, &[])
            .await
    }

    /// [`Emitter::emit`] with headers on the change record (not on its tombstone).
    #[allow(clippy::too_many_arguments)]
    pub async fn emit_with_headers(
        &self,
        table: &CapturedTable,
        op: Op,
        before: Option<Row>,
        after: Option<Row>,
        origin: &Origin,
        tx: Option<TxContext<'_>>,
        headers: &[(&str, &[u8])],
    ) -> Result<(), CaptureError> {
        if self.skipped.contains(&op) {
            self.metrics.skipped_messages.inc();
            return Ok(());
        }
        let collection = table.schema.id.to_string();
        let transaction = self.transaction_block(tx, &collection, origin.lsn).await?;
        let event = ChangeEvent {
            table: table.schema.clone(),
            op,
            before,
            after,
            source: self.source(origin),
            transaction,
            ts_ns: now_ns(),
        };
        self.send_event(&table.codec, &table.topic, &event, collection, headers)
            .await
    }

    /// Sends an event another source built completely (its `source` block included), with
    /// transaction metadata when `tx` is given (Debezium's transaction `id`, its BEGIN time
    /// and counters); a delete is followed by its tombstone. Skipped operations are not sent.
    pub async fn emit_event(
        &self,
        codec: &TableCodec,
        topic: &str,
        mut event: ChangeEvent,
        tx: Option<(&str, i64, &mut TxCounters)>,
        headers: &[(&str, &[u8])],
    ) -> Result<(), CaptureError> {
        if self.skipped.contains(&event.op) {
            self.metrics.skipped_messages.inc();
            return Ok(());
        }
        let collection = event.table.id.to_string();
        if let (Some(tx_topic), Some((id, ts_ms, counters))) = (&self.transaction_topic, tx) {
            event.transaction = Some(
                self.count_in_transaction(tx_topic, id.to_owned(), ts_ms, counters, &collection)
                    .await?,
            );
        }
        self.send_event(codec, topic, &event, collection, headers)
            .await
    }

    async fn send_event(
        &self,
        codec: &TableCodec,
        topic: &str,
        event: &ChangeEvent,
        collection: String,
        headers: &[(&str, &[u8])],
    ) -> Result<(), CaptureError> {
        let key = codec.encode_key(event)?;
        let value = codec.encode_value(event)?;
        self.publisher
            .send_with_headers(topic, None, key.as_deref(), Some(&value), headers)
            .await?;
        if event.op == Op::Delete && self.tombstones_on_delete {
            self.publisher
                .send(topic, None, key.as_deref(), None)
                .await?;
        }
        self.metrics
            .events
            .get_or_create(&TableOp {
                table: collection,
                op: event.op.code().to_owned(),
            })
            .inc();
        Ok(())
    }

    /// Sends a logical-decoding message as an op `m` record to `<prefix>.message`.
    pub async fn emit_message(
        &self,
        prefix: &str,
        content: &[u8],
        origin: &Origin,
        tx: Option<TxContext<'_>>,
    ) -> Result<(), CaptureError> {
        let transaction = self
            .transaction_block(tx, MESSAGE_COLLECTION, origin.lsn)
            .await?;
        if !self
            .message_topic_ready
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            let spec = crate::topics::TopicSpec::data(self.message_topic.clone());
            crate::topics::ensure_topics(&self.kafka, &[spec]).await?;
            self.message_topic_ready
                .store(true, std::sync::atomic::Ordering::Relaxed);
        }
        let record = debezium::logical_message(
            &self.source(origin),
            transaction.as_ref(),
            prefix,
            content,
            now_ns(),
        );
        self.send_aux(&self.message_topic, None, &record).await?;
        self.metrics
            .events
            .get_or_create(&TableOp {
                table: String::new(),
                op: "m".into(),
            })
            .inc();
        Ok(())
    }

    /// Sends the END record of a transaction whose BEGIN was sent.
    pub async fn end_transaction(
        &self,
        xid: u32,
        commit_lsn: u64,
        commit_ts_ms: i64,
        counters: &TxCounters,
    ) -> Result<(), CaptureError> {
        self.end_transaction_id(&format!("{xid}:{commit_lsn}"), commit_ts_ms, counters)
            .await
    }

    /// [`Emitter::end_transaction`] with Debezium's transaction id given as it is.
    pub async fn end_transaction_id(
        &self,
        id: &str,
        commit_ts_ms: i64,
        counters: &TxCounters,
    ) -> Result<(), CaptureError> {
        let Some(topic) = &self.transaction_topic else {
            return Ok(());
        };
        if !counters.begin_emitted {
            return Ok(());
        }
        let end =
            debezium::transaction_end(id, commit_ts_ms, counters.events, &counters.collections);
        self.send_aux(topic, None, &end).await
    }

    /// Sends a heartbeat record (partition 0, as Debezium).
    pub async fn heartbeat(&self) -> Result<(), CaptureError> {
        let record = debezium::heartbeat(&self.server_name, now_ns().div_euclid(1_000_000));
        self.send_aux(&self.heartbeat_topic, Some(0), &record)
            .await?;
        self.metrics.heartbeats.inc();
        Ok(())
    }

    async fn send_aux(
        &self,
        topic: &str,
        partition: Option<i32>,
        record: &AuxRecord,
    ) -> Result<(), CaptureError> {
        self.publisher
            .send(topic, partition, Some(&record.key), Some(&record.value))
            .await
    }
}

/// Nanoseconds since the Unix epoch, now.
pub fn now_ns() -> i64 {
    chrono::Utc::now().timestamp_nanos_opt().unwrap_or(i64::MAX)
}
