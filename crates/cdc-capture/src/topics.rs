//! Creating the data topics before the first record, so the capture works against clusters
//! with `auto.create.topics.enable=false` (the MSK default) as Debezium's
//! `topic.creation.*` does.

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::types::RDKafkaErrorCode;

use crate::config::KafkaConfig;
use crate::CaptureError;

/// Creates each of `topics` that does not exist yet.
pub async fn ensure_topics(config: &KafkaConfig, topics: &[String]) -> Result<(), CaptureError> {
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
            NewTopic::new(t, config.topic_partitions, replication)
        })
        .collect();
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let results = admin
        .create_topics(&new, &options)
        .await
        .map_err(|e| CaptureError::kafka("creating topics", e))?;
    for result in results {
        match result {
            Ok(topic) => {
                tracing::info!(%topic, partitions = config.topic_partitions, "topic created")
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
    Ok(())
}
