//! Reads every record of the data topics back (read_committed) and checks that each is a
//! valid Debezium envelope: decodable by the shared codec, fields in Debezium's order, every
//! delete immediately followed by a tombstone with the same key.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use cdc_model::debezium::{decode_record, Decoded};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};

use crate::{HarnessError, Result};

const ENVELOPE_FIELDS: [&str; 8] = [
    "before",
    "after",
    "source",
    "transaction",
    "op",
    "ts_ms",
    "ts_us",
    "ts_ns",
];

/// What the topics hold.
#[derive(Debug, Default, Clone)]
pub struct TopicReport {
    pub records: u64,
    pub tombstones: u64,
    /// Change events by op code.
    pub ops: BTreeMap<String, u64>,
}

/// Key, value and offset of one record.
pub type Record = (Option<Vec<u8>>, Option<Vec<u8>>, i64);

/// Reads every record of `topics` (read_committed), by topic and partition in offset order.
/// Blocking: call from `spawn_blocking`.
pub fn read_topics(
    bootstrap: &str,
    topics: &[String],
) -> Result<BTreeMap<(String, i32), Vec<Record>>> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "cdc-e2e-topic-check")
        .set("enable.auto.commit", "false")
        .set("isolation.level", "read_committed")
        .create()?;
    let timeout = Duration::from_secs(10);
    let mut assignment = TopicPartitionList::new();
    let mut ends: BTreeMap<(String, i32), i64> = BTreeMap::new();
    for topic in topics {
        let metadata = consumer.fetch_metadata(Some(topic), timeout)?;
        for t in metadata.topics() {
            for p in t.partitions() {
                let (low, high) = consumer.fetch_watermarks(topic, p.id(), timeout)?;
                if high > low {
                    assignment.add_partition_offset(topic, p.id(), Offset::Beginning)?;
                    ends.insert((topic.clone(), p.id()), high);
                }
            }
        }
    }
    consumer.assign(&assignment)?;
    let mut records: BTreeMap<(String, i32), Vec<Record>> = BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut remaining = ends.clone();
    while !remaining.is_empty() {
        if Instant::now() > deadline {
            return Err(HarnessError::Check(format!(
                "timed out reading topics; left: {remaining:?}"
            )));
        }
        let Some(message) = consumer.poll(Duration::from_millis(500)) else {
            continue;
        };
        let m = message?;
        let tp = (m.topic().to_owned(), m.partition());
        records.entry(tp.clone()).or_default().push((
            m.key().map(<[u8]>::to_vec),
            m.payload().map(<[u8]>::to_vec),
            m.offset(),
        ));
        if remaining.get(&tp).is_some_and(|&end| m.offset() + 1 >= end) {
            remaining.remove(&tp);
        }
    }
    Ok(records)
}

/// Reads and checks `topics` completely. Blocking: call from `spawn_blocking`.
pub fn check_topics(bootstrap: &str, topics: &[String]) -> Result<TopicReport> {
    let records = read_topics(bootstrap, topics)?;
    let mut report = TopicReport::default();
    for ((topic, partition), recs) in &records {
        check_partition(topic, *partition, recs, &mut report)?;
    }
    Ok(report)
}

fn check_partition(
    topic: &str,
    partition: i32,
    recs: &[Record],
    report: &mut TopicReport,
) -> Result<()> {
    let at = |offset: i64| format!("{topic}[{partition}]@{offset}");
    for (i, (key, value, offset)) in recs.iter().enumerate() {
        report.records += 1;
        let Some(value) = value else {
            report.tombstones += 1;
            let follows_delete = i > 0 && {
                let (prev_key, prev_value, _) = &recs[i - 1];
                prev_key == key
                    && prev_value.as_deref().is_some_and(|v| {
                        serde_json::from_slice::<serde_json::Value>(v)
                            .is_ok_and(|j| j["payload"]["op"] == "d")
                    })
            };
            if !follows_delete {
                return Err(HarnessError::Check(format!(
                    "tombstone at {} does not follow a delete of its key",
                    at(*offset)
                )));
            }
            continue;
        };
        let decoded = decode_record(key.as_deref(), Some(value)).map_err(|e| {
            HarnessError::Check(format!(
                "record at {} is not a valid envelope: {e}",
                at(*offset)
            ))
        })?;
        let Decoded::Change(event) = decoded else {
            return Err(HarnessError::Check(format!(
                "record at {} decoded as a tombstone",
                at(*offset)
            )));
        };
        let json: serde_json::Value = serde_json::from_slice(value)
            .map_err(|e| HarnessError::Check(format!("{}: {e}", at(*offset))))?;
        let fields: Vec<&str> = json["payload"]
            .as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default();
        if fields != ENVELOPE_FIELDS {
            return Err(HarnessError::Check(format!(
                "envelope fields at {} are {fields:?}",
                at(*offset)
            )));
        }
        if key.is_none() {
            return Err(HarnessError::Check(format!(
                "record at {} has no key",
                at(*offset)
            )));
        }
        *report.ops.entry(event.op.code().to_owned()).or_default() += 1;
        if event.op == cdc_model::Op::Delete {
            let next_is_tombstone = recs
                .get(i + 1)
                .is_some_and(|(k, v, _)| v.is_none() && k == key);
            if !next_is_tombstone {
                return Err(HarnessError::Check(format!(
                    "delete at {} is not followed by its tombstone",
                    at(*offset)
                )));
            }
        }
    }
    Ok(())
}
