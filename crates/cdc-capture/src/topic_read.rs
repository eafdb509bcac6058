//! Reading a single-partition topic back to its end with `read_committed`: what the offsets
//! topic and the schema history topic do on start, after this instance fenced its
//! predecessors, so the records seen are exactly those of committed Kafka transactions.

use std::time::{Duration, Instant};

use rdkafka::client::ClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::BorrowedMessage;
use rdkafka::{Offset, TopicPartitionList};

use crate::config::KafkaConfig;
use crate::CaptureError;

/// Client context that does not log the partition-EOF events the reader waits for as errors.
struct QuietEof;

impl ClientContext for QuietEof {
    fn error(&self, error: KafkaError, reason: &str) {
        match error {
            KafkaError::PartitionEOF(_) | KafkaError::Global(RDKafkaErrorCode::PartitionEOF) => {
                tracing::debug!(%reason, "topic end reached")
            }
            e => {
                tracing::error!(error = %e, %reason, "Kafka client error while reading a topic back")
            }
        }
    }
}

impl ConsumerContext for QuietEof {}

/// What to read: partition 0 of `topic`, called `what` in errors (e.g. "offsets topic"),
/// within `timeout`, as consumer group `group_id` (never committed; for monitoring only).
pub(crate) struct TopicRead {
    pub topic: String,
    pub what: &'static str,
    pub group_id: String,
    pub timeout: Duration,
}

impl TopicRead {
    /// Reads every committed record from the beginning to the end, folding them into `state`
    /// with `visit` (on a blocking thread). An empty topic gives `state` unchanged.
    pub async fn fold<S, F>(
        self,
        config: &KafkaConfig,
        state: S,
        visit: F,
    ) -> Result<S, CaptureError>
    where
        S: Send + 'static,
        F: FnMut(&mut S, &BorrowedMessage<'_>) -> Result<(), CaptureError> + Send + 'static,
    {
        let mut client = config.client_config();
        client
            .set("group.id", &self.group_id)
            .set("enable.auto.commit", "false")
            .set("isolation.level", "read_committed")
            .set("enable.partition.eof", "true");
        let what = self.what;
        tokio::task::spawn_blocking(move || self.fold_blocking(&client, state, visit))
            .await
            .map_err(|e| CaptureError::Pipeline(format!("reading the {what}: {e}")))?
    }

    fn fold_blocking<S, F>(
        &self,
        client: &rdkafka::ClientConfig,
        mut state: S,
        mut visit: F,
    ) -> Result<S, CaptureError>
    where
        F: FnMut(&mut S, &BorrowedMessage<'_>) -> Result<(), CaptureError>,
    {
        let context = || format!("reading {} {}", self.what, self.topic);
        let consumer: BaseConsumer<QuietEof> = client
            .create_with_context(QuietEof)
            .map_err(|e| CaptureError::kafka(context(), e))?;
        let (low, high) = consumer
            .fetch_watermarks(&self.topic, 0, Duration::from_secs(30))
            .map_err(|e| CaptureError::kafka(context(), e))?;
        if high <= low {
            return Ok(state);
        }
        let mut assignment = TopicPartitionList::new();
        assignment
            .add_partition_offset(&self.topic, 0, Offset::Beginning)
            .map_err(|e| CaptureError::kafka(context(), e))?;
        consumer
            .assign(&assignment)
            .map_err(|e| CaptureError::kafka(context(), e))?;
        let deadline = Instant::now() + self.timeout;
        loop {
            if Instant::now() > deadline {
                return Err(CaptureError::Checkpoint(format!(
                    "{} {} could not be read to its end within {}s",
                    self.what,
                    self.topic,
                    self.timeout.as_secs()
                )));
            }
            match consumer.poll(Duration::from_millis(500)) {
                None => continue,
                // read_committed: EOF is reported at the last stable offset.
                Some(Err(KafkaError::PartitionEOF(_))) => return Ok(state),
                Some(Err(e)) => return Err(CaptureError::kafka(context(), e)),
                Some(Ok(m)) => visit(&mut state, &m)?,
            }
        }
    }
}
