//! Records read back as JSON, for tests that check their contents: every `(key, value)` of a
//! topic, waiting for a topic to hold a number of records, the topics of the cluster.

use std::time::{Duration, Instant};

use cdc_testkit::poll_until;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::ClientConfig;
use serde_json::Value;

use crate::{HarnessError, Result};

/// A record's key and value as JSON (`Value::Null` for a tombstone's value).
pub type JsonRecord = (Value, Value);

fn json(bytes: Option<&[u8]>, at: &str) -> Result<Value> {
    bytes.map_or(Ok(Value::Null), |b| {
        serde_json::from_slice(b).map_err(|e| HarnessError::Check(format!("{at}: {e}")))
    })
}

/// Every committed record of partition 0 of `topic` so far (none when the topic does not
/// exist). Blocking.
pub fn read_topic(bootstrap: &str, topic: &str) -> Result<Vec<JsonRecord>> {
    if !topics(bootstrap)?.iter().any(|t| t == topic) {
        return Ok(Vec::new());
    }
    let mut partitions = crate::topics::read_topic(bootstrap, topic)?;
    partitions
        .remove(&0)
        .unwrap_or_default()
        .into_iter()
        .map(|r| {
            let at = format!("{topic}@{}", r.offset);
            Ok((json(r.key.as_deref(), &at)?, json(r.value.as_deref(), &at)?))
        })
        .collect()
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

/// Every committed record of `topic` (on a blocking thread).
pub async fn all_records(bootstrap: &str, topic: &str) -> Result<Vec<JsonRecord>> {
    let (b, t) = (bootstrap.to_owned(), topic.to_owned());
    tokio::task::spawn_blocking(move || read_topic(&b, &t))
        .await
        .map_err(|e| crate::HarnessError::Check(format!("reading {topic}: task failed: {e}")))?
}
