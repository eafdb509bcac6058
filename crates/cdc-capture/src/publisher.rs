//! Publishing to Kafka and tracking acknowledgements.
//!
//! [`Publisher::send`] hands a record to the idempotent producer and queues its delivery
//! future on a bounded channel (capacity `kafka.max_in_flight`). The [`Acker`] task awaits
//! deliveries in order; when it reaches a transaction's commit marker every record up to it
//! is acknowledged, so it publishes the commit's end LSN (for the slot) and persists the
//! checkpoint. A full channel blocks `send`, which stops the replication reader: that is
//! the back-pressure path from Kafka to PostgreSQL.

use std::time::{Duration, Instant};

use cdc_proto::checkpoint::v1::PostgresPosition;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord, Producer};
use tokio::sync::{mpsc, watch};

use crate::checkpoint::CheckpointStore;
use crate::config::KafkaConfig;
use crate::metrics::CaptureMetrics;
use crate::CaptureError;

/// Work items for the acker, in publication order.
enum Ack {
    Delivery {
        topic: String,
        future: DeliveryFuture,
    },
    /// Everything before this belongs to transactions committed at or before `end_lsn`.
    Commit { end_lsn: u64 },
    /// Every initial-snapshot record is before this marker.
    SnapshotDone { lsn: u64 },
}

/// Sends records; cheap to share by reference.
pub struct Publisher {
    producer: FutureProducer,
    acks: mpsc::Sender<Ack>,
    metrics: CaptureMetrics,
}

/// Creates the producer and the acknowledgement channel.
pub fn create(
    config: &KafkaConfig,
    metrics: CaptureMetrics,
) -> Result<(Publisher, AckQueue), CaptureError> {
    let max_messages = (config.max_in_flight * 2).to_string();
    let defaults = [
        ("enable.idempotence", "true"),
        ("acks", "all"),
        // Java's default partitioner (murmur2 of the key), so keys land where Debezium puts them.
        ("partitioner", "murmur2_random"),
        ("linger.ms", "5"),
        ("compression.type", "lz4"),
        ("queue.buffering.max.messages", max_messages.as_str()),
        ("message.timeout.ms", "300000"),
    ];
    // `kafka.properties` win over these defaults.
    let mut client = config.client_config();
    for (key, value) in defaults {
        if client.get(key).is_none() {
            client.set(key, value);
        }
    }
    let producer: FutureProducer = client
        .create()
        .map_err(|e| CaptureError::kafka("creating the producer", e))?;
    let (tx, rx) = mpsc::channel(config.max_in_flight);
    Ok((
        Publisher {
            producer,
            acks: tx,
            metrics,
        },
        AckQueue(rx),
    ))
}

/// Receiving end of the acknowledgement channel, consumed by [`Acker::run`].
pub struct AckQueue(mpsc::Receiver<Ack>);

impl Publisher {
    /// Hands one record to the producer. Waits while `max_in_flight` records are unacknowledged.
    pub async fn send(
        &self,
        topic: &str,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
    ) -> Result<(), CaptureError> {
        let mut backoff = Duration::from_millis(1);
        let future = loop {
            let mut record: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(topic);
            record.key = key;
            record.payload = value;
            match self.producer.send_result(record) {
                Ok(future) => break future,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                    // librdkafka's local queue is full: give it time to drain.
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_millis(100));
                }
                Err((e, _)) => {
                    return Err(CaptureError::kafka(format!("producing to {topic}"), e));
                }
            }
        };
        self.metrics.records_sent.inc();
        self.enqueue(Ack::Delivery {
            topic: topic.to_owned(),
            future,
        })
        .await
    }

    /// Marks the end of a source transaction.
    pub async fn commit(&self, end_lsn: u64) -> Result<(), CaptureError> {
        self.enqueue(Ack::Commit { end_lsn }).await
    }

    /// Marks a position between transactions: once everything before it is acknowledged the
    /// slot may be confirmed up to `lsn`.
    pub async fn advance(&self, lsn: u64) -> Result<(), CaptureError> {
        self.enqueue(Ack::Commit { end_lsn: lsn }).await
    }

    /// Marks the end of the initial snapshot taken at `lsn`.
    pub async fn snapshot_done(&self, lsn: u64) -> Result<(), CaptureError> {
        self.enqueue(Ack::SnapshotDone { lsn }).await
    }

    async fn enqueue(&self, ack: Ack) -> Result<(), CaptureError> {
        self.acks
            .send(ack)
            .await
            .map_err(|_| CaptureError::Pipeline("the acknowledgement task stopped".into()))?;
        let in_flight = self.acks.max_capacity() - self.acks.capacity();
        self.metrics.in_flight.set(in_flight as i64);
        Ok(())
    }

    /// Waits until librdkafka has delivered or failed everything queued.
    pub fn flush(&self, timeout: Duration) -> Result<(), CaptureError> {
        self.producer
            .flush(timeout)
            .map_err(|e| CaptureError::kafka("flushing the producer", e))
    }
}

/// Awaits deliveries in order and advances the durable position.
pub struct Acker {
    pub store: CheckpointStore,
    pub position: PostgresPosition,
    pub acked_lsn: watch::Sender<u64>,
    pub checkpoint_interval: Duration,
    pub metrics: CaptureMetrics,
}

impl Acker {
    /// Runs until every [`Publisher`] is dropped and the queue is drained. Returns the last
    /// durable position. A failed delivery ends it with an error: nothing after it is
    /// acknowledged.
    pub async fn run(mut self, queue: AckQueue) -> Result<PostgresPosition, CaptureError> {
        let AckQueue(mut rx) = queue;
        let mut last_write = Instant::now();
        let mut dirty = false;
        while let Some(ack) = rx.recv().await {
            match ack {
                Ack::Delivery { topic, future } => match future.await {
                    Ok(Ok(_)) => {
                        self.metrics.records_acked.inc();
                    }
                    Ok(Err((e, _))) => {
                        return Err(CaptureError::kafka(format!("delivery to {topic}"), e))
                    }
                    Err(_) => {
                        return Err(CaptureError::Pipeline(format!(
                            "delivery to {topic} was cancelled by the producer"
                        )))
                    }
                },
                Ack::Commit { end_lsn } if end_lsn <= self.position.confirmed_lsn => {}
                Ack::Commit { end_lsn } => {
                    self.position.confirmed_lsn = end_lsn;
                    self.metrics.acked_lsn.set(end_lsn as i64);
                    self.acked_lsn.send_replace(end_lsn);
                    dirty = true;
                    if last_write.elapsed() >= self.checkpoint_interval {
                        self.store.store(&self.position)?;
                        last_write = Instant::now();
                        dirty = false;
                    }
                }
                Ack::SnapshotDone { lsn } => {
                    self.position.snapshot_completed = true;
                    self.position.confirmed_lsn = lsn;
                    self.store.store(&self.position)?;
                    self.metrics.acked_lsn.set(lsn as i64);
                    self.acked_lsn.send_replace(lsn);
                    last_write = Instant::now();
                    dirty = false;
                    tracing::info!(lsn = %crate::lsn_text(lsn),
                        "initial snapshot acknowledged by Kafka; checkpoint written");
                }
            }
        }
        if dirty {
            self.store.store(&self.position)?;
        }
        Ok(self.position)
    }
}
