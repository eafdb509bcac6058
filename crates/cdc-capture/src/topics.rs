//! Creating the data topics before the first record, so the capture works against clusters
//! with `auto.create.topics.enable=false` (the MSK default) as Debezium's
//! `topic.creation.*` does.

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::types::RDKafkaErrorCode;

use crate::config::KafkaConfig;
use crate::CaptureError;

/// A topic the capture writes to.
pub struct TopicSpec {
    pub name: String,
    /// `None`: `kafka.topic_partitions`.
    pub partitions: Option<i32>,
    /// `cleanup.policy=compact` (the offsets topic).
    pub compact: bool,
    /// `retention.ms=-1`, `retention.bytes=-1` (the schema history topic).
    pub retain_forever: bool,
}

impl TopicSpec {
    /// A data (or auxiliary) topic with the configured partition count.
    pub fn data(name: String) -> TopicSpec {
        TopicSpec {
            name,
            partitions: None,
            compact: false,
            retain_forever: false,
        }
    }
}

/// Creates each of `topics` that does not exist yet.
pub async fn ensure_topics(config: &KafkaConfig, topics: &[TopicSpec]) -> Result<(), CaptureError> {
    if !config.create_topics || topics.is_empty() {
        return Ok(());
    }
    let admin: AdminClient<DefaultClientContext> = config
        .client_config()
        .create()
        .map_err(|e| CaptureError::kafka("creating the admin client", e))?;
    let new: Vec<NewTopic<'_>> = topics
        .iter()
        .map(|t| {
            let replication = TopicReplication::Fixed(config.topic_replication_factor);
            let partitions = t.partitions.unwrap_or(config.topic_partitions);
            let topic = NewTopic::new(&t.name, partitions, replication);
            let topic = if t.compact {
                topic.set("cleanup.policy", "compact")
            } else {
                topic
            };
            if t.retain_forever {
                topic.set("retention.ms", "-1").set("retention.bytes", "-1")
            } else {
                topic
            }
        })
        .collect();
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let results = admin
        .create_topics(&new, &options)
        .await
        .map_err(|e| CaptureError::kafka("creating topics", e))?;
    let mut created = Vec::new();
    for result in results {
        match result {
            Ok(topic) => {
                tracing::info!(%topic, "topic created");
                created.push(topic);
            }
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => {
                return Err(CaptureError::Config(format!(
                    "cannot create topic {topic}: {code} (create it yourself, or set \
                     kafka.create_topics = false)"
                )))
            }
        }
    }
    for topic in created {
        wait_until_led(&admin, &topic).await?;
    }
    Ok(())
}

/// How long a created topic may take to show up with a leader for every partition.
const TOPIC_READY_TIMEOUT: Duration = Duration::from_secs(30);

/// Waits until the cluster's metadata shows `topic` with a leader for every partition, so
/// records sent right away (possibly inside a transaction) do not wait on a topic the
/// producer does not know yet.
async fn wait_until_led(
    admin: &AdminClient<DefaultClientContext>,
    topic: &str,
) -> Result<(), CaptureError> {
    let deadline = std::time::Instant::now() + TOPIC_READY_TIMEOUT;
    loop {
        let ready = admin
            .inner()
            .fetch_metadata(Some(topic), Duration::from_secs(5))
            .map(|md| {
                md.topics().iter().any(|t| {
                    t.name() == topic
                        && t.error().is_none()
                        && !t.partitions().is_empty()
                        && t.partitions().iter().all(|p| p.leader() >= 0)
                })
            })
            .unwrap_or(false);
        if ready {
            return Ok(());
        }
        if std::time::Instant::now() >= deadline {
            return Err(CaptureError::Config(format!(
                "topic {topic} was created but has no leader for every partition after {}s",
                TOPIC_READY_TIMEOUT.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
