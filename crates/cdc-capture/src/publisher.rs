//! Publishing to Kafka and making the resume position durable.
//!
//! Two delivery modes share one interface:
//!
//! - **Exactly-once** (default, `kafka.exactly_once = true`): a transactional producer. Every
//!   Kafka transaction carries the records of one or more source transactions (or a piece of a
//!   long one) plus the resume position, written to the offsets topic in the same transaction.
//!   The slot is confirmed only after the Kafka commit. On start the position is read back with
//!   `read_committed` (see [`crate::offsets`]), so nothing is published twice; a newer instance
//!   with the same `transactional.id` fences an older one.
//! - **At-least-once** (`kafka.exactly_once = false`): the idempotent producer; the [`Acker`]
//!   task awaits deliveries in order and checkpoints to a local file. After a crash the
//!   unconfirmed tail may be published again.
//!
//! Callers publish with [`Publisher::send`] and, at points where the stream is consistent
//! (after a complete change message, a transaction end, a snapshot row), report the position
//! through [`Publisher::safe_point`]; only there can a Kafka transaction end. Back-pressure:
//! librdkafka's queue is bounded (`max_in_flight` records, 64 MiB); a full queue makes `send`
//! wait, which stops the replication reader.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use cdc_proto::checkpoint::v1::PostgresPosition;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord, Producer};
use tokio::sync::{mpsc, watch};

use crate::checkpoint::CheckpointStore;
use crate::config::KafkaConfig;
use crate::metrics::CaptureMetrics;
use crate::offsets::OffsetsTopic;
use crate::position::ResumePosition;
use crate::CaptureError;

/// Kafka transaction commits and aborts are given this long.
const TXN_TIMEOUT: Duration = Duration::from_secs(60);

/// Work items for the at-least-once acker, in publication order.
enum Ack<P> {
    Delivery {
        topic: String,
        future: DeliveryFuture,
    },
    /// Everything before this is covered by `position`.
    Position(Box<P>),
}

/// State of the open Kafka transaction (exactly-once mode).
struct Txn {
    offsets: OffsetsTopic,
    records: usize,
    opened: Instant,
    /// The position changed since the last commit.
    dirty: bool,
    commit_interval: Duration,
    max_records: usize,
    acked_lsn: watch::Sender<u64>,
}

enum Mode<P> {
    ExactlyOnce(Mutex<Txn>),
    AtLeastOnce(mpsc::Sender<Ack<P>>),
}

/// Sends records; cheap to share by reference. `P` is the resume position of the source.
pub struct Publisher<P = PostgresPosition> {
    producer: FutureProducer,
    mode: Mode<P>,
    position: Mutex<P>,
    metrics: CaptureMetrics,
}

/// Receiving end of the at-least-once acknowledgement channel, consumed by [`Acker::run`].
pub struct AckQueue<P = PostgresPosition>(mpsc::Receiver<Ack<P>>);

fn producer(config: &KafkaConfig, extra: &[(&str, &str)]) -> Result<FutureProducer, CaptureError> {
    let max_messages = (config.max_in_flight * 2).to_string();
    // `extra` first: the first value of a key wins.
    let mut defaults = extra.to_vec();
    defaults.extend_from_slice(&[
        ("enable.idempotence", "true"),
        ("acks", "all"),
        // Java's default partitioner (murmur2 of the key), so keys land where Debezium puts them.
        ("partitioner", "murmur2_random"),
        ("linger.ms", "5"),
        ("compression.type", "lz4"),
        ("queue.buffering.max.messages", max_messages.as_str()),
        ("queue.buffering.max.kbytes", "65536"),
        ("message.timeout.ms", "300000"),
    ]);
    // `kafka.properties` win over these defaults.
    let mut client = config.client_config();
    for (key, value) in defaults {
        if client.get(key).is_none() {
            client.set(key, value);
        }
    }
    client
        .create()
        .map_err(|e| CaptureError::kafka("creating the producer", e))
}

/// Creates the at-least-once publisher and its acknowledgement queue.
pub fn at_least_once<P: ResumePosition>(
    config: &KafkaConfig,
    position: P,
    metrics: CaptureMetrics,
) -> Result<(Publisher<P>, AckQueue<P>), CaptureError> {
    let producer = producer(config, &[])?;
    let (tx, rx) = mpsc::channel(config.max_in_flight);
    Ok((
        Publisher {
            producer,
            mode: Mode::AtLeastOnce(tx),
            position: Mutex::new(position),
            metrics,
        },
        AckQueue(rx),
    ))
}

/// A transactional producer that has fenced older instances, not yet bound to a position.
pub struct Fenced {
    producer: FutureProducer,
    transactional_id: String,
}

/// Creates the transactional producer and fences every older instance with the same
/// `transactional.id` (their open transactions are aborted). Read the position from the
/// offsets topic only after this, so it includes everything the older instance committed.
pub async fn fence(config: &KafkaConfig, transactional_id: &str) -> Result<Fenced, CaptureError> {
    let timeout_ms = config.transaction_timeout_ms.to_string();
    let producer = producer(
        config,
        &[
            ("transactional.id", transactional_id),
            ("transaction.timeout.ms", timeout_ms.as_str()),
            // librdkafka requires message.timeout.ms <= transaction.timeout.ms.
            ("message.timeout.ms", timeout_ms.as_str()),
        ],
    )?;
    let p = producer.clone();
    blocking(move || p.init_transactions(TXN_TIMEOUT))
        .await
        .map_err(|e| {
            CaptureError::kafka(
                format!("initialising transactions of {transactional_id:?}"),
                e,
            )
        })?;
    tracing::info!(
        transactional_id,
        "transactional producer ready; older instances fenced"
    );
    Ok(Fenced {
        producer,
        transactional_id: transactional_id.to_owned(),
    })
}

impl Fenced {
    /// Opens the first transaction; the publisher starts at `position`.
    pub fn start<P: ResumePosition>(
        self,
        config: &KafkaConfig,
        offsets: OffsetsTopic,
        position: P,
        acked_lsn: watch::Sender<u64>,
        metrics: CaptureMetrics,
    ) -> Result<Publisher<P>, CaptureError> {
        self.producer
            .begin_transaction()
            .map_err(|e| CaptureError::kafka("beginning a transaction", e))?;
        tracing::debug!(transactional_id = %self.transactional_id, "first transaction open");
        Ok(Publisher {
            producer: self.producer,
            mode: Mode::ExactlyOnce(Mutex::new(Txn {
                offsets,
                records: 0,
                opened: Instant::now(),
                dirty: false,
                commit_interval: Duration::from_millis(config.commit_interval_ms),
                max_records: config.max_in_flight,
                acked_lsn,
            })),
            position: Mutex::new(position),
            metrics,
        })
    }
}

/// Runs a blocking librdkafka call off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, KafkaError> + Send + 'static,
) -> Result<T, KafkaError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => result,
        Err(e) => {
            tracing::error!(error = %e, "blocking Kafka call did not complete");
            Err(KafkaError::Canceled)
        }
    }
}

impl<P: ResumePosition> Publisher<P> {
    /// Hands one record to the producer (`partition` `None` = by key). Waits while the
    /// producer's queue is full.
    pub async fn send(
        &self,
        topic: &str,
        partition: Option<i32>,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
    ) -> Result<(), CaptureError> {
        self.send_with_headers(topic, partition, key, value, &[])
            .await
    }

    /// [`Publisher::send`] with record headers.
    pub async fn send_with_headers(
        &self,
        topic: &str,
        partition: Option<i32>,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[(&str, &[u8])],
    ) -> Result<(), CaptureError> {
        let mut backoff = Duration::from_millis(1);
        let future = loop {
            let mut record: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(topic);
            record.key = key;
            record.payload = value;
            record.partition = partition;
            if !headers.is_empty() {
                let mut owned = OwnedHeaders::new_with_capacity(headers.len());
                for (name, value) in headers {
                    owned = owned.insert(Header {
                        key: name,
                        value: Some(*value),
                    });
                }
                record.headers = Some(owned);
            }
            match self.producer.send_result(record) {
                Ok(future) => break future,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                    // librdkafka's local queue is full: give it time to drain.
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_millis(100));
                }
                Err((e, _)) => return Err(self.error(&e, &format!("producing to {topic}"))),
            }
        };
        self.metrics.records_sent.inc();
        match &self.mode {
            // The commit reports any failed delivery of the transaction.
            Mode::ExactlyOnce(txn) => lock(txn).records += 1,
            Mode::AtLeastOnce(acks) => {
                enqueue(
                    acks,
                    &self.metrics,
                    Ack::Delivery {
                        topic: topic.to_owned(),
                        future,
                    },
                )
                .await?
            }
        }
        Ok(())
    }

    /// Reports a consistent point: `update` brings the resume position up to date with
    /// everything sent so far. Exactly-once mode commits the Kafka transaction here when it is
    /// old or large enough; at-least-once mode queues the position behind the deliveries.
    pub async fn safe_point(&self, update: impl FnOnce(&mut P)) -> Result<(), CaptureError> {
        match &self.mode {
            Mode::ExactlyOnce(txn) => {
                update(&mut lock(&self.position));
                let due = {
                    let mut t = lock(txn);
                    t.dirty = true;
                    t.records >= t.max_records || t.opened.elapsed() >= t.commit_interval
                };
                if due {
                    self.commit().await?;
                }
                Ok(())
            }
            Mode::AtLeastOnce(acks) => {
                let snapshot = {
                    let mut p = lock(&self.position);
                    let before = p.progress();
                    update(&mut p);
                    (before != p.progress()).then(|| p.clone())
                };
                match snapshot {
                    Some(p) => enqueue(acks, &self.metrics, Ack::Position(Box::new(p))).await,
                    None => Ok(()),
                }
            }
        }
    }

    /// Commits the open Kafka transaction if it has waited long enough (call periodically so
    /// a quiet stream still becomes durable).
    pub async fn tick(&self) -> Result<(), CaptureError> {
        if let Mode::ExactlyOnce(txn) = &self.mode {
            let due = {
                let t = lock(txn);
                (t.dirty || t.records > 0) && t.opened.elapsed() >= t.commit_interval
            };
            if due {
                self.commit().await?;
            }
        }
        Ok(())
    }

    /// Exactly-once: writes the position to the offsets topic, commits the Kafka transaction,
    /// confirms the LSN and opens the next transaction.
    async fn commit(&self) -> Result<(), CaptureError> {
        let Mode::ExactlyOnce(txn) = &self.mode else {
            return Ok(());
        };
        let position = lock(&self.position).clone();
        let (topic, key, value) = lock(txn).offsets.record(&position);
        self.send(&topic, Some(0), Some(&key), Some(&value)).await?;
        let started = Instant::now();
        let producer = self.producer.clone();
        blocking(move || producer.commit_transaction(TXN_TIMEOUT))
            .await
            .map_err(|e| self.error(&e, "committing a Kafka transaction"))?;
        self.producer
            .begin_transaction()
            .map_err(|e| CaptureError::kafka("beginning a transaction", e))?;
        let mut t = lock(txn);
        self.metrics.records_acked.inc_by(t.records as u64);
        self.metrics.kafka_commits.inc();
        self.metrics
            .kafka_commit_seconds
            .observe(started.elapsed().as_secs_f64());
        t.records = 0;
        t.dirty = false;
        t.opened = Instant::now();
        // The slot may move only to the end of a completely published source transaction.
        if let Some(mark) = position.acknowledge_mark() {
            if mark > *t.acked_lsn.borrow() {
                self.metrics.acked_lsn.set(mark as i64);
                t.acked_lsn.send_replace(mark);
            }
        }
        Ok(())
    }

    /// The position as updated by the last [`Publisher::safe_point`].
    pub fn position(&self) -> P {
        lock(&self.position).clone()
    }

    /// Makes everything sent so far durable: commits (exactly-once) or waits until librdkafka
    /// delivered everything (at-least-once). Returns the durable position.
    pub async fn finish(self, timeout: Duration) -> Result<P, CaptureError> {
        match &self.mode {
            Mode::ExactlyOnce(_) => self.commit().await?,
            Mode::AtLeastOnce(_) => {
                let producer = self.producer.clone();
                blocking(move || producer.flush(timeout))
                    .await
                    .map_err(|e| CaptureError::kafka("flushing the producer", e))?;
            }
        }
        let position = lock(&self.position).clone();
        Ok(position)
    }
}

impl<P> Publisher<P> {
    /// The error for a failed producer call; a producer fenced by a newer instance (which
    /// can surface on a send, the commit, or as librdkafka's fatal error) says so.
    fn error(&self, e: &KafkaError, context: &str) -> CaptureError {
        let fenced = |code: RDKafkaErrorCode| {
            matches!(
                code,
                RDKafkaErrorCode::Fenced | RDKafkaErrorCode::ProducerFenced
            )
        };
        let is_fenced = match e {
            KafkaError::Transaction(t) => fenced(t.code()),
            _ => self
                .producer
                .client()
                .fatal_error()
                .is_some_and(|(code, _)| fenced(code)),
        };
        if is_fenced {
            return CaptureError::Pipeline(format!(
                "{context}: fenced — another cdc-capture instance with the same \
                 kafka.transactional_id started; this one stops"
            ));
        }
        CaptureError::Kafka {
            context: context.to_owned(),
            source: e.clone(),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A poisoned lock only means another thread panicked while holding it; the data is
    // plain counters and positions.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

async fn enqueue<P>(
    acks: &mpsc::Sender<Ack<P>>,
    metrics: &CaptureMetrics,
    ack: Ack<P>,
) -> Result<(), CaptureError> {
    acks.send(ack)
        .await
        .map_err(|_| CaptureError::Pipeline("the acknowledgement task stopped".into()))?;
    let in_flight = acks.max_capacity() - acks.capacity();
    metrics.in_flight.set(in_flight as i64);
    Ok(())
}

/// At-least-once: awaits deliveries in order and advances the durable position.
pub struct Acker<P = PostgresPosition> {
    pub store: CheckpointStore,
    pub position: P,
    pub acked_lsn: watch::Sender<u64>,
    pub checkpoint_interval: Duration,
    pub metrics: CaptureMetrics,
}

impl<P: ResumePosition> Acker<P> {
    /// Runs until every [`Publisher`] is dropped and the queue is drained. Returns the last
    /// durable position. A failed delivery ends it with an error: nothing after it is
    /// acknowledged.
    pub async fn run(mut self, queue: AckQueue<P>) -> Result<P, CaptureError> {
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
                Ack::Position(p) => {
                    let snapshot_done =
                        p.snapshot_completed() && !self.position.snapshot_completed();
                    self.position = *p;
                    self.position.at_least_once();
                    if let Some(mark) = self.position.acknowledge_mark() {
                        self.metrics.acked_lsn.set(mark as i64);
                        self.acked_lsn.send_replace(mark);
                    }
                    dirty = true;
                    if snapshot_done || last_write.elapsed() >= self.checkpoint_interval {
                        self.store.store(&self.position)?;
                        last_write = Instant::now();
                        dirty = false;
                    }
                    if snapshot_done {
                        tracing::info!(position = %self.position.describe(),
                            "initial snapshot acknowledged by Kafka; checkpoint written");
                    }
                }
            }
        }
        if dirty {
            self.store.store(&self.position)?;
        }
        Ok(self.position)
    }
}
