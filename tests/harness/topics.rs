//! Reads every record of the data topics back (read_committed) and checks that each is a
//! valid Debezium envelope: decodable by the shared codec, fields in Debezium's order, every
//! delete immediately followed by a tombstone with the same key.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use cdc_model::debezium::{decode_record, Decoded};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Headers;
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

/// The `payload` of a JsonConverter record (`null` for an absent key or value).
pub fn payload(bytes: Option<&[u8]>) -> serde_json::Value {
    match bytes.map(serde_json::from_slice::<serde_json::Value>) {
        Some(Ok(json)) => json["payload"].clone(),
        Some(Err(e)) => panic!("record is not JSON: {e}"),
        None => serde_json::Value::Null,
    }
}

/// One record: key, value, offset and headers.
#[derive(Debug, Clone)]
pub struct Record {
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub offset: i64,
    pub headers: Vec<(String, Vec<u8>)>,
}

/// Every committed record of `topics`, by topic and partition in offset order. Blocking: call
/// from `spawn_blocking`.
pub fn read_topics(
    bootstrap: &str,
    topics: &[String],
) -> Result<BTreeMap<(String, i32), Vec<Record>>> {
    let mut records = BTreeMap::new();
    for topic in topics {
        for (partition, recs) in read_topic(bootstrap, topic)? {
            records.insert((topic.clone(), partition), recs);
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

/// Every committed record of `topic`, per partition, read up to the end as it is now (the
/// last stable offset: transaction markers and aborted records are never delivered, so the
/// end is detected by partition EOF, not by offsets). Blocking.
pub fn read_topic(bootstrap: &str, topic: &str) -> Result<BTreeMap<i32, Vec<Record>>> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "cdc-e2e-topic-check")
        .set("enable.auto.commit", "false")
        .set("isolation.level", "read_committed")
        .set("enable.partition.eof", "true")
        .create()?;
    let timeout = Duration::from_secs(10);
    let mut assignment = TopicPartitionList::new();
    let mut remaining: BTreeSet<i32> = BTreeSet::new();
    let metadata = consumer.fetch_metadata(Some(topic), timeout)?;
    for t in metadata.topics() {
        for p in t.partitions() {
            assignment.add_partition_offset(topic, p.id(), Offset::Beginning)?;
            remaining.insert(p.id());
        }
    }
    consumer.assign(&assignment)?;
    let mut records: BTreeMap<i32, Vec<Record>> = BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while !remaining.is_empty() {
        if Instant::now() > deadline {
            return Err(HarnessError::Check(format!(
                "timed out reading {topic}; partitions left: {remaining:?}"
            )));
        }
        match consumer.poll(Duration::from_millis(500)) {
            None => continue,
            Some(Err(KafkaError::PartitionEOF(p))) => {
                remaining.remove(&p);
            }
            // A broker connection dropped (e.g. `localhost` tried over IPv6 first):
            // librdkafka reconnects by itself; the deadline still bounds the wait.
            Some(Err(KafkaError::MessageConsumption(
                RDKafkaErrorCode::AllBrokersDown | RDKafkaErrorCode::BrokerTransportFailure,
            ))) => continue,
            Some(Err(e)) => return Err(e.into()),
            Some(Ok(m)) => {
                let headers = m
                    .headers()
                    .map(|h| {
                        h.iter()
                            .map(|h| (h.key.to_owned(), h.value.unwrap_or_default().to_vec()))
                            .collect()
                    })
                    .unwrap_or_default();
                records.entry(m.partition()).or_default().push(Record {
                    key: m.key().map(<[u8]>::to_vec),
                    value: m.payload().map(<[u8]>::to_vec),
                    offset: m.offset(),
                    headers,
                })
            }
        }
    }
    Ok(records)
}

fn check_partition(
    topic: &str,
    partition: i32,
    recs: &[Record],
    report: &mut TopicReport,
) -> Result<()> {
    let at = |offset: i64| format!("{topic}[{partition}]@{offset}");
    for (
        i,
        Record {
            key, value, offset, ..
        },
    ) in recs.iter().enumerate()
    {
        report.records += 1;
        let Some(value) = value else {
            report.tombstones += 1;
            let follows_delete = i > 0 && {
                let Record {
                    key: prev_key,
                    value: prev_value,
                    ..
                } = &recs[i - 1];
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
                .is_some_and(|r| r.value.is_none() && r.key == *key);
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
