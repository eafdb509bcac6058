//! Records read back as JSON, for tests that check their contents: every `(key, value)` of a
//! topic, waiting for a topic to hold a number of records, the topics of the cluster.

use std::time::{Duration, Instant};

use cdc_testkit::poll_until;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};
use serde_json::Value;

use crate::{HarnessError, Result};

/// A record's key and value as JSON (`Value::Null` for a tombstone's value).
pub type JsonRecord = (Value, Value);

fn json(bytes: Option<&[u8]>, at: &str) -> Result<Value> {
    bytes.map_or(Ok(Value::Null), |b| {
        serde_json::from_slice(b).map_err(|e| HarnessError::Check(format!("{at}: {e}")))
    })
}

/// Every record of partition 0 of `topic` so far (none when the topic does not exist).
/// Blocking.
pub fn read_topic(bootstrap: &str, topic: &str) -> Result<Vec<JsonRecord>> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "cdc-e2e-records")
        .set("enable.auto.commit", "false")
        .create()?;
    let timeout = Duration::from_secs(10);
    let Ok((low, high)) = consumer.fetch_watermarks(topic, 0, timeout) else {
        return Ok(Vec::new());
    };
    if high <= low {
        return Ok(Vec::new());
    }
    let mut assignment = TopicPartitionList::new();
    assignment.add_partition_offset(topic, 0, Offset::Beginning)?;
    consumer.assign(&assignment)?;
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while out.len() < (high - low) as usize {
        if Instant::now() > deadline {
            return Err(HarnessError::Check(format!(
                "timed out reading {topic} up to offset {high}"
            )));
        }
        if let Some(m) = consumer.poll(Duration::from_millis(200)) {
            let m = m?;
            let at = format!("{topic}@{}", m.offset());
            out.push((json(m.key(), &at)?, json(m.payload(), &at)?));
        }
    }
    Ok(out)
}

/// Waits (up to two minutes) until `topic` holds at least `count` records; returns them all.
pub async fn wait_records(bootstrap: &str, topic: &str, count: usize) -> Result<Vec<JsonRecord>> {
    Ok(poll_until(
        &format!("{count} records on {topic}"),
        Instant::now() + Duration::from_secs(120),
        Duration::from_millis(250),
        || {
            let (bootstrap, topic) = (bootstrap.to_owned(), topic.to_owned());
            async move {
                let records = tokio::task::spawn_blocking(move || read_topic(&bootstrap, &topic))
                    .await
                    .map_err(|e| {
                        cdc_testkit::TestkitError::Environment(format!(
                            "the record reader task failed: {e}"
                        ))
                    })?;
                match records {
                    Ok(records) => Ok((records.len() >= count).then_some(records)),
                    Err(_) => Ok(None),
                }
            }
        },
    )
    .await?)
}

/// The names of the cluster's topics. Blocking.
pub fn topics(bootstrap: &str) -> Result<Vec<String>> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()?;
    let metadata = consumer.fetch_metadata(None, Duration::from_secs(10))?;
    Ok(metadata
        .topics()
        .iter()
        .map(|t| t.name().to_owned())
        .collect())
}

/// The `op` of each record, `tombstone` for a null value.
pub fn op_codes(records: &[JsonRecord]) -> Vec<String> {
    records
        .iter()
        .map(|(_, v)| {
            v["payload"]["op"]
                .as_str()
                .unwrap_or("tombstone")
                .to_owned()
        })
        .collect()
}
