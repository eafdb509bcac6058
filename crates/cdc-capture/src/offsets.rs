//! The offsets topic: where exactly-once mode keeps the resume position, inside the same
//! Kafka transactions as the records it covers.
//!
//! One compacted single-partition topic may serve many captures: the record key is the
//! `topic_prefix`, the value a `cdc.checkpoint.v1.Checkpoint` protobuf. On start the topic
//! is read to its end with `read_committed`, after this instance fenced its predecessors, so
//! the last value for our key is exactly what was committed with the last Kafka transaction.

use std::time::{Duration, Instant};

use cdc_proto::checkpoint::v1::Checkpoint;
use prost::Message as _;
use rdkafka::client::ClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message as _;
use rdkafka::{Offset, TopicPartitionList};

use crate::config::KafkaConfig;
use crate::position::{wrong_kind, ResumePosition};
use crate::CaptureError;

/// Client context that does not log the partition-EOF events the loader waits for as
/// errors.
pub(crate) struct QuietEof;

impl ClientContext for QuietEof {
    fn error(&self, error: KafkaError, reason: &str) {
        match error {
            KafkaError::PartitionEOF(_) | KafkaError::Global(RDKafkaErrorCode::PartitionEOF) => {
                tracing::debug!(%reason, "offsets topic end reached")
            }
            e => tracing::error!(error = %e, %reason, "Kafka client error while reading offsets"),
        }
    }
}

impl ConsumerContext for QuietEof {}

/// How long reading the offsets topic back may take.
const LOAD_TIMEOUT: Duration = Duration::from_secs(60);

/// Where and under which key this capture stores its position.
#[derive(Debug, Clone)]
pub struct OffsetsTopic {
    pub topic: String,
    pub topic_prefix: String,
}

impl OffsetsTopic {
    /// The record that stores `position`: (topic, key, value).
    pub fn record<P: ResumePosition>(&self, position: &P) -> (String, Vec<u8>, Vec<u8>) {
        let checkpoint = Checkpoint {
            topic_prefix: self.topic_prefix.clone(),
            written_at_unix_ms: chrono::Utc::now().timestamp_millis(),
            source: Some(position.clone().into_source()),
        };
        (
            self.topic.clone(),
            self.topic_prefix.as_bytes().to_vec(),
            checkpoint.encode_to_vec(),
        )
    }

    /// Reads the topic to its end (committed records only) and returns the last position
    /// stored for this capture.
    pub async fn load<P: ResumePosition>(
        &self,
        config: &KafkaConfig,
    ) -> Result<Option<P>, CaptureError> {
        let this = self.clone();
        let mut client = config.client_config();
        client
            .set(
                "group.id",
                format!("cdc-capture-offsets-reader-{}", self.topic_prefix),
            )
            .set("enable.auto.commit", "false")
            .set("isolation.level", "read_committed")
            .set("enable.partition.eof", "true");
        tokio::task::spawn_blocking(move || this.load_blocking(&client))
            .await
            .map_err(|e| CaptureError::Pipeline(format!("reading the offsets topic: {e}")))?
    }

    fn load_blocking<P: ResumePosition>(
        &self,
        client: &rdkafka::ClientConfig,
    ) -> Result<Option<P>, CaptureError> {
        let context = || format!("reading offsets topic {}", self.topic);
        let consumer: BaseConsumer<QuietEof> = client
            .create_with_context(QuietEof)
            .map_err(|e| CaptureError::kafka(context(), e))?;
        let (low, high) = consumer
            .fetch_watermarks(&self.topic, 0, Duration::from_secs(30))
            .map_err(|e| CaptureError::kafka(context(), e))?;
        if high <= low {
            return Ok(None);
        }
        let mut assignment = TopicPartitionList::new();
        assignment
            .add_partition_offset(&self.topic, 0, Offset::Beginning)
            .map_err(|e| CaptureError::kafka(context(), e))?;
        consumer
            .assign(&assignment)
            .map_err(|e| CaptureError::kafka(context(), e))?;
        let deadline = Instant::now() + LOAD_TIMEOUT;
        let mut last: Option<Vec<u8>> = None;
        loop {
            if Instant::now() > deadline {
                return Err(CaptureError::Checkpoint(format!(
                    "offsets topic {} could not be read to its end within {}s",
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
                    if m.key() == Some(self.topic_prefix.as_bytes()) {
                        last = m.payload().map(<[u8]>::to_vec);
                    }
                }
            }
        }
        let Some(bytes) = last else {
            return Ok(None);
        };
        let checkpoint = Checkpoint::decode(bytes.as_slice()).map_err(|e| {
            CaptureError::Checkpoint(format!(
                "offsets topic {}: record for {:?} is corrupt: {e}",
                self.topic, self.topic_prefix
            ))
        })?;
        let what = || {
            format!(
                "offsets topic {}: record for {:?}",
                self.topic, self.topic_prefix
            )
        };
        match checkpoint.source {
            Some(source) => P::from_source(source)
                .map(Some)
                .map_err(|found| CaptureError::Checkpoint(wrong_kind::<P>(&what(), found))),
            None => Err(CaptureError::Checkpoint(format!(
                "{} holds no {} position",
                what(),
                P::KIND
            ))),
        }
    }
}
