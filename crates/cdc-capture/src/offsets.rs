//! The offsets topic: where exactly-once mode keeps the resume position, inside the same
//! Kafka transactions as the records it covers.
//!
//! One compacted single-partition topic may serve many captures: the record key is the
//! `topic_prefix`, the value a `cdc.checkpoint.v1.Checkpoint` protobuf. On start the topic
//! is read to its end with `read_committed`, after this instance fenced its predecessors, so
//! the last value for our key is exactly what was committed with the last Kafka transaction.

use std::time::Duration;

use cdc_proto::checkpoint::v1::Checkpoint;
use prost::Message as _;
use rdkafka::message::Message as _;

use crate::config::KafkaConfig;
use crate::position::{wrong_kind, ResumePosition};
use crate::topic_read::TopicRead;
use crate::CaptureError;

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
        let read = TopicRead {
            topic: self.topic.clone(),
            what: "offsets topic",
            group_id: format!("cdc-capture-offsets-reader-{}", self.topic_prefix),
            timeout: LOAD_TIMEOUT,
        };
        let key = self.topic_prefix.clone().into_bytes();
        let last = read
            .fold(config, None, move |last: &mut Option<Vec<u8>>, m| {
                if m.key() == Some(key.as_slice()) {
                    *last = m.payload().map(<[u8]>::to_vec);
                }
                Ok(())
            })
            .await?;
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
