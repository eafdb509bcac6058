//! The schema history topic (Debezium's `schema.history.internal.kafka.topic`): one JSON
//! record per schema change, null key, partition 0, in binlog order.
//!
//! Records are written through the [`Publisher`](crate::publisher::Publisher), so in
//! exactly-once mode they commit in the same Kafka transaction as the resume position and the
//! data records after the DDL: a `read_committed` reader of the topic sees exactly the history
//! up to the stored position, and the schema recovered from it is the schema in force there.

use std::time::Duration;

use cdc_mysql::ddl::{HistoryRecord, Schemas};
use rdkafka::message::Message as _;

use crate::config::KafkaConfig;
use crate::position::ResumePosition;
use crate::publisher::Publisher;
use crate::topic_read::TopicRead;
use crate::CaptureError;

/// How long reading the history topic back may take.
const LOAD_TIMEOUT: Duration = Duration::from_secs(120);

/// The history topic of one capture.
#[derive(Debug, Clone)]
pub struct SchemaHistory {
    pub topic: String,
    /// `topic.prefix`: records of other servers sharing the topic are skipped.
    pub server: String,
}

impl SchemaHistory {
    /// Appends `record` (partition 0, null key, as Debezium).
    pub async fn append<P: ResumePosition>(
        &self,
        publisher: &Publisher<P>,
        record: &HistoryRecord,
    ) -> Result<(), CaptureError> {
        publisher
            .send(&self.topic, Some(0), None, Some(&record.encode()))
            .await
    }

    /// Reads every committed record of this server, in order.
    pub async fn load(&self, config: &KafkaConfig) -> Result<Vec<HistoryRecord>, CaptureError> {
        let read = TopicRead {
            topic: self.topic.clone(),
            what: "schema history topic",
            group_id: format!("cdc-capture-history-reader-{}", self.server),
            timeout: LOAD_TIMEOUT,
        };
        let (topic, server) = (self.topic.clone(), self.server.clone());
        read.fold(config, Vec::new(), move |records, m| {
            let Some(bytes) = m.payload() else {
                return Ok(());
            };
            let record = HistoryRecord::decode(bytes).map_err(|e| {
                CaptureError::Checkpoint(format!(
                    "schema history topic {topic} offset {}: {e}",
                    m.offset()
                ))
            })?;
            if record.source.get("server").and_then(|s| s.as_str()) == Some(server.as_str()) {
                records.push(record);
            }
            Ok(())
        })
        .await
    }

    /// The schema recorded in the history (empty when there is none).
    pub async fn recover(
        &self,
        config: &KafkaConfig,
        schemas: &mut Schemas,
    ) -> Result<usize, CaptureError> {
        let records = self.load(config).await?;
        schemas.recover(&records, false).map_err(|e| {
            CaptureError::Checkpoint(format!("schema history topic {}: {e}", self.topic))
        })?;
        Ok(records.len())
    }
}
