//! Which Kafka partitions the sink reads, and from where.
//!
//! The sink assigns partitions itself instead of joining a consumer-group rebalance: the
//! Iceberg tables, not the group, hold the truth about what has been applied. Every partition
//! of a configured topic (exact names, or names matching `kafka.topic_pattern`) is read from
//! where the sink's tables resume it ([`ResumePoints`]: the smallest next offset over the
//! tables its topic feeds, or the beginning). A resume offset below the partition's first
//! available offset means records the tables never got were deleted (retention); that is
//! logged as an error. Topics and partitions
//! that appear later are found by polling the cluster metadata every
//! [`DISCOVERY_INTERVAL`]. A restarted sink therefore starts consuming at once — no session
//! timeout of a killed predecessor to wait out — and a second sink on the same tables is
//! fenced by the tables' writer epochs, not by the group.
//!
//! The group id is still used to commit offsets after each Iceberg commit, so the usual lag
//! monitoring (`kafka-consumer-groups --describe`) keeps working.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use rdkafka::consumer::Consumer;
use rdkafka::{Offset, TopicPartitionList};
use regex::Regex;

use crate::config::KafkaConfig;
use crate::kafka::SinkConsumer;
use crate::resume::ResumePoints;
use crate::SinkError;

/// How often the cluster metadata is polled for new topics and partitions.
pub(crate) const DISCOVERY_INTERVAL: Duration = Duration::from_secs(5);
/// Timeout of one metadata request.
const METADATA_TIMEOUT: Duration = Duration::from_secs(10);

/// The partitions assigned so far and how to recognise the sink's topics.
pub(crate) struct Assignment {
    topics: BTreeSet<String>,
    pattern: Option<Regex>,
    assigned: BTreeSet<(String, i32)>,
    resume: ResumePoints,
}

impl Assignment {
    pub fn new(config: &KafkaConfig, resume: ResumePoints) -> Result<Assignment, SinkError> {
        let pattern = config
            .topic_pattern
            .as_deref()
            .map(Regex::new)
            .transpose()
            .map_err(|e| SinkError::Config(format!("kafka.topic_pattern is not valid: {e}")))?;
        Ok(Assignment {
            topics: config.topics.iter().cloned().collect(),
            pattern,
            assigned: BTreeSet::new(),
            resume,
        })
    }

    /// Whether `topic` is one of the sink's topics (internal `__…` topics never are).
    fn wants(&self, topic: &str) -> bool {
        !topic.starts_with("__")
            && (self.topics.contains(topic)
                || self.pattern.as_ref().is_some_and(|p| p.is_match(topic)))
    }

    /// Partitions assigned so far.
    pub fn len(&self) -> usize {
        self.assigned.len()
    }

    /// Finds partitions of the sink's topics not yet assigned and adds them to the
    /// consumer's assignment, each starting where the tables resume it. Returns how many were
    /// added. A failed metadata request is logged and retried at the next call; a failed
    /// assignment is an error.
    pub async fn refresh(&mut self, consumer: &Arc<SinkConsumer>) -> Result<usize, SinkError> {
        let fetch = Arc::clone(consumer);
        let metadata = tokio::task::spawn_blocking(move || {
            fetch.fetch_metadata(None, METADATA_TIMEOUT).map(|md| {
                md.topics()
                    .iter()
                    .filter(|t| t.error().is_none())
                    .map(|t| {
                        let partitions: Vec<i32> = t.partitions().iter().map(|p| p.id()).collect();
                        (t.name().to_owned(), partitions)
                    })
                    .collect::<Vec<_>>()
            })
        })
        .await;
        let topics = match metadata {
            Ok(Ok(topics)) => topics,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "cannot read the cluster metadata; retrying");
                return Ok(0);
            }
            Err(e) => {
                tracing::warn!(error = %e, "metadata task did not finish; retrying");
                return Ok(0);
            }
        };
        let mut list = TopicPartitionList::new();
        let mut added = Vec::new();
        for (topic, partitions) in topics {
            if !self.wants(&topic) {
                continue;
            }
            for partition in partitions {
                if self.assigned.contains(&(topic.clone(), partition)) {
                    continue;
                }
                let from = self.resume.start(&topic, partition);
                let offset = from.map_or(Offset::Beginning, Offset::Offset);
                list.add_partition_offset(&topic, partition, offset)
                    .map_err(|e| {
                        SinkError::kafka(format!("cannot assign {topic}/{partition}"), e)
                    })?;
                added.push((topic.clone(), partition, from));
            }
        }
        if added.is_empty() {
            return Ok(0);
        }
        check_retention(consumer, &added).await;
        consumer
            .incremental_assign(&list)
            .map_err(|e| SinkError::kafka("cannot assign the new partitions", e))?;
        for (topic, partition, from) in &added {
            match from {
                Some(offset) => tracing::info!(
                    topic = %topic, partition, offset, "reading partition from the offset the tables hold"
                ),
                None => tracing::info!(
                    topic = %topic, partition, "reading partition from the beginning (no table holds it yet)"
                ),
            }
        }
        let count = added.len();
        self.assigned
            .extend(added.into_iter().map(|(t, p, _)| (t, p)));
        Ok(count)
    }
}

/// Logs an error for each partition whose resume offset is below its first available
/// offset: the records in between are gone from Kafka and missing from the tables. A failed
/// watermark request is logged and the check skipped.
async fn check_retention(consumer: &Arc<SinkConsumer>, added: &[(String, i32, Option<i64>)]) {
    let resumed: Vec<(String, i32, i64)> = added
        .iter()
        .filter_map(|(t, p, from)| from.map(|o| (t.clone(), *p, o)))
        .collect();
    if resumed.is_empty() {
        return;
    }
    let fetch = Arc::clone(consumer);
    let checked = tokio::task::spawn_blocking(move || {
        resumed
            .into_iter()
            .map(|(topic, partition, offset)| {
                let low = fetch
                    .fetch_watermarks(&topic, partition, METADATA_TIMEOUT)
                    .map(|(low, _)| low);
                (topic, partition, offset, low)
            })
            .collect::<Vec<_>>()
    })
    .await;
    let Ok(checked) = checked else {
        tracing::warn!("watermark task did not finish; retention check skipped");
        return;
    };
    for (topic, partition, offset, low) in checked {
        match low {
            Ok(low) if low > offset => tracing::error!(
                topic = %topic,
                partition,
                first_offset = low,
                table_offset = offset,
                "the first record available is past the offset the Iceberg tables hold: the \
                 records in between are no longer in Kafka (retention?) and are missing from Iceberg"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(
                topic = %topic, partition, error = %e,
                "cannot read the partition's watermarks; retention check skipped"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(topics: &[&str], pattern: Option<&str>) -> KafkaConfig {
        KafkaConfig {
            bootstrap_servers: "localhost:9092".into(),
            group_id: "cdc-sink".into(),
            topics: topics.iter().map(|t| (*t).to_owned()).collect(),
            topic_pattern: pattern.map(str::to_owned),
            properties: Default::default(),
        }
    }

    #[test]
    fn topics_by_name_and_pattern() {
        let a = Assignment::new(
            &config(&["other.t"], Some(r"^dbserver1\..*")),
            ResumePoints::default(),
        )
        .unwrap();
        assert!(a.wants("dbserver1.public.orders"));
        assert!(a.wants("other.t"));
        assert!(!a.wants("dbserver2.public.orders"));
        assert!(!a.wants("__consumer_offsets"));
        assert!(!a.wants("other.t2"));
        let err = Assignment::new(&config(&[], Some("^(")), ResumePoints::default())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("topic_pattern"), "{err}");
    }
}
