//! The schema history topic (Debezium's `schema.history.internal.kafka.topic`): one JSON
//! record per schema change, null key, partition 0, in binlog order.
//!
//! Records are written through the [`Publisher`](crate::publisher::Publisher), so in
//! exactly-once mode they commit in the same Kafka transaction as the resume position and the
//! data records after the DDL: a `read_committed` reader of the topic sees exactly the history
//! up to the stored position, and the schema recovered from it is the schema in force there.

use std::time::{Duration, Instant};

use cdc_mysql::ddl::{HistoryRecord, Schemas};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message as _;
use rdkafka::{Offset, TopicPartitionList};

use crate::config::KafkaConfig;
use crate::offsets::QuietEof;
use crate::position::ResumePosition;
use crate::publisher::Publisher;
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
        let this = self.clone();
        let mut client = config.client_config();
        client
            .set(
                "group.id",
                format!("cdc-capture-history-reader-{}", self.server),
            )
            .set("enable.auto.commit", "false")
            .set("isolation.level", "read_committed")
            .set("enable.partition.eof", "true");
        tokio::task::spawn_blocking(move || this.load_blocking(&client))
            .await
            .map_err(|e| CaptureError::Pipeline(format!("reading the schema history: {e}")))?
    }

    fn load_blocking(
        &self,
        client: &rdkafka::ClientConfig,
    ) -> Result<Vec<HistoryRecord>, CaptureError> {
        let context = || format!("reading schema history topic {}", self.topic);
        let consumer: BaseConsumer<QuietEof> = client
            .create_with_context(QuietEof)
            .map_err(|e| CaptureError::kafka(context(), e))?;
        let (low, high) = consumer
            .fetch_watermarks(&self.topic, 0, Duration::from_secs(30))
            .map_err(|e| CaptureError::kafka(context(), e))?;
        if high <= low {
            return Ok(Vec::new());
        }
        let mut assignment = TopicPartitionList::new();
        assignment
            .add_partition_offset(&self.topic, 0, Offset::Beginning)
            .map_err(|e| CaptureError::kafka(context(), e))?;
        consumer
            .assign(&assignment)
            .map_err(|e| CaptureError::kafka(context(), e))?;
        let deadline = Instant::now() + LOAD_TIMEOUT;
        let mut records = Vec::new();
        loop {
            if Instant::now() > deadline {
                return Err(CaptureError::Checkpoint(format!(
                    "schema history topic {} could not be read to its end within {}s",
                    self.topic,
                    LOAD_TIMEOUT.as_secs()
                )));
            }
            match consumer.poll(Duration::from_millis(500)) {
                None => continue,
                // read_committed: EOF is reported at the last stable offset.
                Some(Err(KafkaError::PartitionEOF(_))) => break,
                Some(Err(e)) => return Err(CaptureError::kafka(context(), e)),
                Some(Ok(m)) => {
                    let Some(bytes) = m.payload() else { continue };
                    let record = HistoryRecord::decode(bytes).map_err(|e| {
                        CaptureError::Checkpoint(format!(
                            "schema history topic {} offset {}: {e}",
                            self.topic,
                            m.offset()
                        ))
                    })?;
                    let server = record.source.get("server").and_then(|s| s.as_str());
                    if server == Some(self.server.as_str()) {
                        records.push(record);
                    }
                }
            }
        }
        Ok(records)
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
