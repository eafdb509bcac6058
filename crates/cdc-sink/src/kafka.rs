//! The Kafka side: the consumer (manual offset commits, read-committed, earliest reset) and
//! the offsets consumed but not yet committed. Which partitions it reads: `assignment`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::client::ClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{
    BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer,
};
use rdkafka::error::KafkaError;
use rdkafka::{Offset, TopicPartitionList};

use crate::config::{shown_value, KafkaConfig};
use crate::SinkError;

/// The sink's consumer.
pub(crate) type SinkConsumer = StreamConsumer<SinkContext>;

/// Settings the sink always applies before the user's `kafka.properties`.
const DEFAULTS: [(&str, &str); 5] = [
    ("auto.offset.reset", "earliest"),
    ("isolation.level", "read_committed"),
    ("topic.metadata.refresh.interval.ms", "5000"),
    ("enable.partition.eof", "false"),
    ("client.id", "cdc-sink"),
];

/// Creates the consumer. It joins no rebalance: partitions are assigned by
/// [`crate::assignment`], from the offsets the tables hold.
pub(crate) fn connect(config: &KafkaConfig) -> Result<Arc<SinkConsumer>, SinkError> {
    let mut client = ClientConfig::new();
    for (key, value) in DEFAULTS {
        client.set(key, value);
    }
    for (key, value) in &config.properties {
        let shown = shown_value(key, value);
        tracing::info!(key = %key, value = %shown, "kafka property");
        client.set(key, value);
    }
    client
        .set("bootstrap.servers", &config.bootstrap_servers)
        .set("group.id", &config.group_id)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false");
    let consumer: SinkConsumer = client
        .create_with_context(SinkContext::default())
        .map_err(|e| SinkError::kafka("cannot create the consumer", e))?;
    tracing::info!(
        bootstrap_servers = %config.bootstrap_servers,
        group_id = %config.group_id,
        topics = ?config.topics,
        topic_pattern = ?config.topic_pattern,
        "kafka consumer created"
    );
    Ok(Arc::new(consumer))
}

/// Client errors (librdkafka retries them) are logged at most once per this interval.
const ERROR_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// Logs rebalances and client errors through `tracing`.
#[derive(Default)]
pub(crate) struct SinkContext {
    /// When a client error was last logged, and how many were suppressed since.
    last_error_log: Mutex<Option<(Instant, u64)>>,
}

impl ClientContext for SinkContext {
    fn error(&self, error: KafkaError, reason: &str) {
        let mut last = self
            .last_error_log
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        match &mut *last {
            Some((at, suppressed)) if now.duration_since(*at) < ERROR_LOG_INTERVAL => {
                *suppressed += 1;
            }
            _ => {
                let suppressed = last.map_or(0, |(_, n)| n);
                tracing::warn!(error = %error, reason, suppressed, "kafka client error");
                *last = Some((now, 0));
            }
        }
    }
}

impl ConsumerContext for SinkContext {
    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(list) => {
                tracing::info!(partitions = %describe(list), "partitions assigned")
            }
            Rebalance::Revoke(list) => {
                tracing::info!(partitions = %describe(list), "partitions revoked")
            }
            Rebalance::Error(e) => tracing::warn!(error = %e, "rebalance error"),
        }
    }
}

fn describe(list: &TopicPartitionList) -> String {
    let parts: Vec<String> = list
        .elements()
        .iter()
        .map(|e| format!("{}/{}", e.topic(), e.partition()))
        .collect();
    parts.join(",")
}

/// Next offset to commit per topic and partition, for records consumed since the last
/// successful offset commit.
#[derive(Debug, Default)]
pub(crate) struct PendingOffsets {
    next: BTreeMap<(Arc<str>, i32), i64>,
}

impl PendingOffsets {
    /// Records that the record at `offset` has been consumed.
    pub fn record(&mut self, topic: &Arc<str>, partition: i32, offset: i64) {
        let next = offset.saturating_add(1);
        let slot = self
            .next
            .entry((Arc::clone(topic), partition))
            .or_insert(next);
        *slot = (*slot).max(next);
    }

    pub fn is_empty(&self) -> bool {
        self.next.is_empty()
    }

    /// Commits the pending offsets of the partitions still assigned to `consumer`,
    /// synchronously (on a blocking thread). Offsets of partitions revoked meanwhile are
    /// dropped: their new owner resumes from the last committed offset.
    pub async fn commit(&mut self, consumer: &Arc<SinkConsumer>) -> Result<usize, KafkaError> {
        let assignment = consumer.assignment()?;
        self.next
            .retain(|(topic, partition), _| assignment.find_partition(topic, *partition).is_some());
        if self.next.is_empty() {
            return Ok(0);
        }
        let mut list = TopicPartitionList::new();
        for ((topic, partition), next) in &self.next {
            list.add_partition_offset(topic, *partition, Offset::Offset(*next))?;
        }
        let consumer = Arc::clone(consumer);
        let count = list.count();
        match tokio::task::spawn_blocking(move || consumer.commit(&list, CommitMode::Sync)).await {
            Ok(result) => result?,
            Err(e) => {
                tracing::error!(error = %e, "offset commit task did not finish");
                return Err(KafkaError::Canceled);
            }
        }
        self.next.clear();
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_offsets_keep_the_highest_next_offset() {
        let topic: Arc<str> = Arc::from("db.public.t");
        let mut pending = PendingOffsets::default();
        assert!(pending.is_empty());
        pending.record(&topic, 0, 7);
        pending.record(&topic, 0, 5);
        pending.record(&topic, 1, 0);
        assert_eq!(pending.next[&(Arc::clone(&topic), 0)], 8);
        assert_eq!(pending.next[&(topic, 1)], 1);
    }
}
