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
}

impl TopicSpec {
    /// A data (or auxiliary) topic with the configured partition count.
    pub fn data(name: String) -> TopicSpec {
        TopicSpec {
            name,
            partitions: None,
            compact: false,
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
            if t.compact {
                topic.set("cleanup.policy", "compact")
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
    for result in results {
        match result {
            Ok(topic) => tracing::info!(%topic, "topic created"),
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => {
                return Err(CaptureError::Config(format!(
                    "cannot create topic {topic}: {code} (create it yourself, or set \
                     kafka.create_topics = false)"
                )))
            }
        }
    }
    Ok(())
}
