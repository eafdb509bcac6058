//! The dead-letter topic: records that cannot be decoded or applied are copied there, byte
//! for byte, with `cdc.dlq.*` headers saying why and where they came from, so the sink goes on
//! without skipping anything silently.
//!
//! Durability: copies are produced with `acks=all` by an idempotent producer; the pipeline
//! [`DeadLetters::settle`]s every copy (awaits the broker's acknowledgement) before it commits
//! Iceberg tables or consumer-group offsets, so a record's offset never passes the sink before
//! its copy is durable. A copy that cannot be written stops the sink. After a crash, records
//! copied but not yet committed are read and copied again: the topic is at-least-once.

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::config::ClientConfig;
use rdkafka::error::KafkaError;
use rdkafka::message::{BorrowedMessage, Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};
use rdkafka::types::RDKafkaErrorCode;

use crate::changelog::RecordOrigin;
use crate::config::{shown_value, DeadLetterConfig, KafkaConfig};
use crate::error::DeadLetterReason;
use crate::kafka::SinkContext;
use crate::metrics::SinkMetrics;
use crate::SinkError;

/// Header: the [`DeadLetterReason`] label (`decode`, `missing_image`, ...).
pub const HEADER_REASON: &str = "cdc.dlq.reason";
/// Header: the error and its causes, at most [`MAX_ERROR_BYTES`] bytes.
pub const HEADER_ERROR: &str = "cdc.dlq.error";
/// Header: the record's original topic.
pub const HEADER_TOPIC: &str = "cdc.dlq.topic";
/// Header: the record's original partition (decimal text).
pub const HEADER_PARTITION: &str = "cdc.dlq.partition";
/// Header: the record's original offset (decimal text).
pub const HEADER_OFFSET: &str = "cdc.dlq.offset";
/// Header: the version of the sink that wrote the copy.
pub const HEADER_SINK_VERSION: &str = "cdc.dlq.sink-version";

/// Longest `cdc.dlq.error` header; longer texts are cut at a character boundary.
pub const MAX_ERROR_BYTES: usize = 2048;

/// Copies awaiting acknowledgement after which `send` settles them first (bounds memory).
const MAX_IN_FLIGHT: usize = 10_000;

/// Largest copy: the producer's `message.max.bytes` default and a created topic's
/// `max.message.bytes`, above Kafka's 1 MiB default so that any record a data topic accepted
/// fits with the added headers.
const MAX_COPY_BYTES: &str = "16777216";

/// How long a created topic may take to have a leader for every partition.
const TOPIC_READY_TIMEOUT: Duration = Duration::from_secs(30);

/// The dead-letter producer and the copies not yet acknowledged.
pub(crate) struct DeadLetters {
    producer: FutureProducer<SinkContext>,
    topic: String,
    in_flight: Vec<InFlight>,
    metrics: SinkMetrics,
}

struct InFlight {
    origin: RecordOrigin,
    reason: DeadLetterReason,
    delivery: DeliveryFuture,
}

impl DeadLetters {
    /// The producer for the configured dead-letter topic (creating the topic if configured
    /// to), or `None` when dead-lettering is disabled.
    pub async fn open(
        kafka: &KafkaConfig,
        config: &DeadLetterConfig,
        metrics: SinkMetrics,
    ) -> Result<Option<DeadLetters>, SinkError> {
        let Some(topic) = config.topic_for(kafka) else {
            tracing::info!(
                "dead-letter topic disabled: a record that cannot be applied stops the sink"
            );
            return Ok(None);
        };
        let client = client_config(kafka, config);
        if config.create_topic {
            ensure_topic(&client, &topic, config).await?;
        }
        let producer: FutureProducer<SinkContext> = client
            .create_with_context(SinkContext::default())
            .map_err(|e| SinkError::kafka("cannot create the dead-letter producer", e))?;
        tracing::info!(topic = %topic, "dead-letter topic ready");
        Ok(Some(DeadLetters {
            producer,
            topic,
            in_flight: Vec::new(),
            metrics,
        }))
    }

    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Copies not yet acknowledged.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Starts copying `message` (which failed with `error`) to the dead-letter topic. The
    /// copy is durable only after [`DeadLetters::settle`].
    pub async fn send(
        &mut self,
        message: &BorrowedMessage<'_>,
        origin: &RecordOrigin,
        reason: DeadLetterReason,
        error: &str,
    ) -> Result<(), SinkError> {
        tracing::warn!(
            topic = %origin.topic,
            partition = origin.partition,
            offset = origin.offset,
            reason = reason.as_str(),
            error = %cut(error, MAX_ERROR_BYTES),
            dead_letter_topic = %self.topic,
            "record sent to the dead-letter topic"
        );
        if self.in_flight.len() >= MAX_IN_FLIGHT {
            self.settle().await?;
        }
        let headers = copy_headers(message, origin, reason, error);
        let topic = self.topic.clone();
        let mut record = FutureRecord::<[u8], [u8]>::to(&topic).headers(headers);
        if let Some(key) = message.key() {
            record = record.key(key);
        }
        if let Some(value) = message.payload() {
            record = record.payload(value);
        }
        if let Some(ms) = message.timestamp().to_millis() {
            record = record.timestamp(ms);
        }
        let delivery = match self.producer.send_result(record) {
            Ok(delivery) => delivery,
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), record)) => {
                // The local queue drains as copies are acknowledged.
                self.settle().await?;
                self.producer
                    .send_result(record)
                    .map_err(|(source, _)| self.failed(origin, source))?
            }
            Err((source, _)) => return Err(self.failed(origin, source)),
        };
        self.in_flight.push(InFlight {
            origin: origin.clone(),
            reason,
            delivery,
        });
        Ok(())
    }

    /// Waits until the broker acknowledged every copy sent so far; the first copy that
    /// could not be written is a fatal error. Returns how many copies were settled.
    pub async fn settle(&mut self) -> Result<usize, SinkError> {
        let settled = self.in_flight.len();
        for copy in std::mem::take(&mut self.in_flight) {
            match copy.delivery.await {
                Ok(Ok(_)) => self.metrics.dead_letter(copy.reason),
                Ok(Err((source, _))) => return Err(self.failed(&copy.origin, source)),
                Err(_) => return Err(self.failed(&copy.origin, KafkaError::Canceled)),
            }
        }
        Ok(settled)
    }

    fn failed(&self, origin: &RecordOrigin, source: KafkaError) -> SinkError {
        SinkError::DeadLetter {
            origin: origin.clone(),
            topic: self.topic.clone(),
            source: Box::new(source),
        }
    }
}

/// The producer's settings: `kafka.properties`, then `dead_letter.properties`, then the
/// durability settings the sink relies on.
fn client_config(kafka: &KafkaConfig, config: &DeadLetterConfig) -> ClientConfig {
    let mut client = ClientConfig::new();
    client
        .set("client.id", "cdc-sink-dlq")
        .set("message.max.bytes", MAX_COPY_BYTES);
    for (key, value) in kafka.properties.iter().chain(&config.properties) {
        client.set(key, value);
    }
    for (key, value) in &config.properties {
        let shown = shown_value(key, value);
        tracing::info!(key = %key, value = %shown, "dead-letter producer property");
    }
    client
        .set("bootstrap.servers", &kafka.bootstrap_servers)
        .set("acks", "all")
        .set("enable.idempotence", "true");
    client
}

/// The original headers, then the `cdc.dlq.*` headers.
fn copy_headers(
    message: &BorrowedMessage<'_>,
    origin: &RecordOrigin,
    reason: DeadLetterReason,
    error: &str,
) -> OwnedHeaders {
    let mut headers = OwnedHeaders::new();
    if let Some(original) = message.headers() {
        for header in original.iter() {
            headers = headers.insert(Header {
                key: header.key,
                value: header.value,
            });
        }
    }
    let partition = origin.partition.to_string();
    let offset = origin.offset.to_string();
    let added: [(&str, &str); 6] = [
        (HEADER_REASON, reason.as_str()),
        (HEADER_ERROR, cut(error, MAX_ERROR_BYTES)),
        (HEADER_TOPIC, &origin.topic),
        (HEADER_PARTITION, &partition),
        (HEADER_OFFSET, &offset),
        (HEADER_SINK_VERSION, env!("CARGO_PKG_VERSION")),
    ];
    for (key, value) in added {
        headers = headers.insert(Header {
            key,
            value: Some(value),
        });
    }
    headers
}

/// At most `max` bytes of `text`, cut at a character boundary.
fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Creates the dead-letter topic unless it exists, and waits until it has leaders.
async fn ensure_topic(
    client: &ClientConfig,
    topic: &str,
    config: &DeadLetterConfig,
) -> Result<(), SinkError> {
    let admin: AdminClient<SinkContext> = client
        .create_with_context(SinkContext::default())
        .map_err(|e| SinkError::kafka("cannot create the admin client", e))?;
    let new = NewTopic::new(
        topic,
        config.topic_partitions,
        TopicReplication::Fixed(config.topic_replication_factor),
    )
    .set("max.message.bytes", MAX_COPY_BYTES);
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let results = admin
        .create_topics([&new], &options)
        .await
        .map_err(|e| SinkError::kafka(format!("cannot create the dead-letter topic {topic}"), e))?;
    for result in results {
        match result {
            Ok(created) => tracing::info!(topic = %created, "dead-letter topic created"),
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => return Ok(()),
            Err((_, code)) => {
                return Err(SinkError::Config(format!(
                    "cannot create the dead-letter topic {topic}: {code} (create it yourself \
                     and set dead_letter.create_topic = false)"
                )))
            }
        }
    }
    let deadline = tokio::time::Instant::now() + TOPIC_READY_TIMEOUT;
    loop {
        let ready = admin
            .inner()
            .fetch_metadata(Some(topic), Duration::from_secs(5))
            .is_ok_and(|md| {
                md.topics().iter().any(|t| {
                    t.name() == topic
                        && t.error().is_none()
                        && !t.partitions().is_empty()
                        && t.partitions().iter().all(|p| p.leader() >= 0)
                })
            });
        if ready {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(SinkError::Config(format!(
                "the dead-letter topic {topic} was created but has no leader for every \
                 partition after {}s",
                TOPIC_READY_TIMEOUT.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_keeps_character_boundaries() {
        assert_eq!(cut("abc", 5), "abc");
        assert_eq!(cut("abc", 2), "ab");
        // `é` is two bytes: cutting inside it keeps the text before it.
        assert_eq!(cut("aé", 2), "a");
    }
}
