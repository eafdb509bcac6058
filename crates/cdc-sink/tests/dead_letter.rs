//! The dead-letter topic against a real Kafka broker: the malformed-record corpus
//! (`tests/corpus/malformed/`, see its `generate.py` and `manifest.json`) interleaved with
//! valid Debezium envelopes goes through `cdc_sink::run`; every malformed record must appear
//! in the dead-letter topic exactly once, byte for byte, with the `cdc.dlq.*` headers and the
//! manifest's reason, counted by `cdc_sink_dead_letters_total`; every valid record must be in
//! the Iceberg tables (read back with pyiceberg); the sink must keep running throughout.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use cdc_model::debezium::decode_record;
use cdc_ops::Shutdown;
use cdc_sink::SinkConfig;
use cdc_testkit::{free_port, poll_until, wait_until, KafkaBroker, TestkitError};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use serde_json::Value as Json;

const TOPIC: &str = "dbserver1.public.customers";
const GROUP: &str = "dlq-test";
const DLQ: &str = "dlq-test.dlq";
const CASE_HEADER: &str = "test-case";
/// `max.message.bytes` of the data topic: 4 MiB.
const MAX_RECORD_BYTES: &str = "4194304";
const TIMEOUT: Duration = Duration::from_secs(120);
/// Record timestamps: this plus the record's offset.
const TIMESTAMP_BASE: i64 = 1_700_000_000_000;

type SinkTask = tokio::task::JoinHandle<Result<(), cdc_sink::SinkError>>;

/// One corpus case.
struct Case {
    name: String,
    reason: String,
    error_contains: String,
    after_valid: bool,
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/malformed")
}

fn golden(name: &str) -> Json {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../cdc-model/tests/golden")
        .join(name);
    serde_json::from_slice(&std::fs::read(&path).expect("golden file")).expect("golden JSON")
}

fn corpus() -> Vec<Case> {
    let dir = corpus_dir();
    let manifest: Json =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).expect("manifest"))
            .expect("manifest JSON");
    let read = |file: String| std::fs::read(dir.join(file)).ok();
    manifest["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .map(|c| {
            let name = c["name"].as_str().expect("name").to_owned();
            Case {
                key: read(format!("{name}.key")),
                value: read(format!("{name}.value")),
                reason: c["reason"].as_str().expect("reason").to_owned(),
                error_contains: c["error_contains"].as_str().expect("error").to_owned(),
                after_valid: c["after_valid"].as_bool().expect("after_valid"),
                name,
            }
        })
        .collect()
}

/// The corpus is what its manifest says: decode cases fail to decode with the expected
/// error, the others decode (they fail later, against the tables).
#[test]
fn corpus_cases_fail_as_the_manifest_says() {
    let cases = corpus();
    assert!(cases.len() >= 15, "corpus has {} cases", cases.len());
    for case in &cases {
        let decoded = decode_record(case.key.as_deref(), case.value.as_deref());
        match (case.reason.as_str(), decoded) {
            ("decode", Err(e)) => assert!(
                e.to_string().contains(&case.error_contains),
                "{}: {e} does not contain {:?}",
                case.name,
                case.error_contains
            ),
            ("decode", Ok(_)) => panic!("{}: decoded, but must not", case.name),
            (_, Err(e)) => panic!("{}: must decode, but {e}", case.name),
            (_, Ok(_)) => {}
        }
    }
}

/// A valid envelope (the golden Debezium insert) for customer `id`.
fn valid(id: i64) -> (Vec<u8>, Vec<u8>) {
    let mut key = golden("debezium_3.6.3_customers_insert.key.json");
    let mut value = golden("debezium_3.6.3_customers_insert.value.json");
    key["payload"]["id"] = id.into();
    value["payload"]["after"]["id"] = id.into();
    value["payload"]["after"]["first_name"] = format!("customer {id}").into();
    (
        serde_json::to_vec(&key).expect("key"),
        serde_json::to_vec(&value).expect("value"),
    )
}

/// What the test sent.
enum Sent {
    Valid(i64),
    Tombstone,
    Bad(usize),
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_records_go_to_the_dead_letter_topic_and_the_sink_goes_on() {
    let mut cases = corpus();
    // Beyond Kafka's 1 MiB default (the data topic allows it): its copy must fit too.
    let mut big = b"{\"schema\":\"".to_vec();
    big.resize(2 * 1024 * 1024, b'x');
    cases.push(Case {
        name: "beyond_the_default_max_message_bytes".into(),
        reason: "decode".into(),
        error_contains: "value is not valid JSON".into(),
        after_valid: false,
        key: None,
        value: Some(big),
    });
    let broker = KafkaBroker::start().await.expect("kafka");
    let bootstrap = broker.bootstrap_servers();
    create_topic(&bootstrap, TOPIC).await;

    // Valid records first (so the table exists for the conflict cases), then every case
    // between two valid records, then the schema conflict again: later records of a
    // conflicting shape keep going to the dead-letter topic.
    let mut plan = vec![Sent::Valid(1), Sent::Valid(2), Sent::Tombstone];
    let mut next_id = 3;
    let order = (0..cases.len())
        .filter(|&i| !cases[i].after_valid)
        .chain((0..cases.len()).filter(|&i| cases[i].after_valid));
    for i in order {
        plan.push(Sent::Bad(i));
        plan.push(Sent::Valid(next_id));
        next_id += 1;
    }
    let conflict = cases
        .iter()
        .position(|c| c.reason == "schema_conflict")
        .expect("a schema conflict case");
    plan.push(Sent::Bad(conflict));
    plan.push(Sent::Valid(next_id));

    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .set("acks", "all")
        .set("message.max.bytes", MAX_RECORD_BYTES)
        .create()
        .expect("producer");
    let mut produced = Produced::default();
    for sent in &plan {
        send(&producer, &cases, sent, &mut produced).await;
    }

    let lake = tempfile::tempdir().expect("tempdir");
    let listen = format!("127.0.0.1:{}", free_port());
    let config = sink_config(lake.path(), &bootstrap, &listen);
    let shutdown = Shutdown::new();
    let sink = tokio::spawn(cdc_sink::run(config, shutdown.clone()));
    let deadline = Instant::now() + TIMEOUT;

    // The dead-letter topic: exactly the bad records, once each, read to its end.
    let dead = wait_dead_letters(&bootstrap, produced.bad_offsets.len(), deadline, &sink).await;
    assert_eq!(
        dead.len(),
        produced.bad_offsets.len(),
        "one copy per bad record"
    );
    let mut reasons: BTreeMap<String, u64> = BTreeMap::new();
    for copy in &dead {
        let header = |key: &str| {
            copy.headers
                .iter()
                .rev()
                .find(|(k, _)| k == key)
                .map(|(_, v)| String::from_utf8(v.clone()).expect("UTF-8 header"))
                .unwrap_or_else(|| panic!("header {key} missing: {:?}", copy.headers))
        };
        let offset: i64 = header(cdc_sink::HEADER_OFFSET).parse().expect("offset");
        let case = &cases[produced.bad_offsets[&offset]];
        assert_eq!(header(CASE_HEADER), case.name, "original headers are kept");
        assert_eq!(header(cdc_sink::HEADER_TOPIC), TOPIC);
        assert_eq!(header(cdc_sink::HEADER_PARTITION), "0");
        assert_eq!(
            header(cdc_sink::HEADER_REASON),
            case.reason,
            "{}",
            case.name
        );
        let error = header(cdc_sink::HEADER_ERROR);
        assert!(
            error.contains(&case.error_contains),
            "{}: error {error:?} lacks {:?}",
            case.name,
            case.error_contains
        );
        assert!(error.len() <= 2048, "{}: error header too long", case.name);
        assert_eq!(
            copy.key, case.key,
            "{}: key copied byte for byte",
            case.name
        );
        assert_eq!(
            copy.value, case.value,
            "{}: value copied byte for byte",
            case.name
        );
        // One partition, no transactions: a record's offset is its index in `plan`.
        assert_eq!(
            copy.timestamp,
            Some(TIMESTAMP_BASE + offset),
            "{}: timestamp kept",
            case.name
        );
        *reasons.entry(case.reason.clone()).or_default() += 1;
    }
    let offsets: std::collections::BTreeSet<i64> = dead.iter().map(|c| c.offset).collect();
    assert_eq!(
        offsets.len(),
        produced.bad_offsets.len(),
        "no record copied twice"
    );

    // The metric counts them per reason, and the valid rows are committed.
    let changelog_rows = format!(
        "cdc_sink_rows_written_total{{table=\"cdc.public_customers_changelog\"}} {}",
        produced.valid_ids.len()
    );
    let metrics = poll_until("the metrics", deadline, Duration::from_millis(200), || {
        let listen = listen.clone();
        let reasons = reasons.clone();
        let changelog_rows = changelog_rows.clone();
        async move {
            let Ok((_, body)) = http_get(&listen, "/metrics").await else {
                return Ok(None);
            };
            let counted = reasons.iter().all(|(reason, n)| {
                body.contains(&format!(
                    "cdc_sink_dead_letters_total{{reason=\"{reason}\"}} {n}\n"
                ))
            });
            Ok((counted && body.contains(&changelog_rows)).then_some(body))
        }
    })
    .await
    .expect("metrics");
    assert!(
        metrics.contains("cdc_sink_tombstones_total 1\n"),
        "the tombstone is not a dead letter:\n{metrics}"
    );
    assert!(reasons.len() >= 4, "reasons covered: {reasons:?}");
    let (status, body) = http_get(&listen, "/healthz").await.expect("healthz");
    assert!(status.contains("200"), "healthz: {status} {body}");
    assert!(!sink.is_finished(), "the sink must still run");

    shutdown.cancel();
    sink.await.expect("sink task").expect("sink stops cleanly");

    // A restart resumes after the dead letters (their offsets were committed once their
    // copies were acknowledged): none is copied again, a new bad record is.
    let shutdown = Shutdown::new();
    let config = sink_config(lake.path(), &bootstrap, &listen);
    let sink = tokio::spawn(cdc_sink::run(config, shutdown.clone()));
    let not_json = cases
        .iter()
        .position(|c| c.name == "not_json")
        .expect("not_json case");
    let last_id = produced.valid_ids.last().copied().expect("valid ids") + 1;
    for sent in [Sent::Bad(not_json), Sent::Valid(last_id)] {
        send(&producer, &cases, &sent, &mut produced).await;
    }
    let deadline = Instant::now() + TIMEOUT;
    wait_dead_letters(&bootstrap, produced.bad_offsets.len(), deadline, &sink).await;
    poll_until(
        "the restarted sink's metrics",
        deadline,
        Duration::from_millis(200),
        || {
            let listen = listen.clone();
            async move {
                let Ok((_, body)) = http_get(&listen, "/metrics").await else {
                    return Ok(None);
                };
                Ok((body.contains("cdc_sink_dead_letters_total{reason=\"decode\"} 1\n")
                && body.contains(
                    "cdc_sink_rows_written_total{table=\"cdc.public_customers_changelog\"} 1\n",
                ))
            .then_some(()))
            }
        },
    )
    .await
    .expect("restarted sink's metrics");
    shutdown.cancel();
    sink.await.expect("sink task").expect("sink stops cleanly");
    let all = tokio::task::spawn_blocking({
        let bootstrap = bootstrap.clone();
        move || read_to_end(&bootstrap, DLQ)
    })
    .await
    .expect("reader")
    .expect("dead-letter topic");
    let copied: Vec<i64> = all.iter().map(|c| c.offset).collect();
    let expected: Vec<i64> = produced.bad_offsets.keys().copied().collect();
    assert_eq!(
        copied, expected,
        "each bad record copied exactly once, in order"
    );

    // Every valid record is in the changelog and the mirror; tables of rejected shapes were
    // never created (keyless, reserved_names).
    let report = read_back(lake.path());
    assert_eq!(report["changelog"], serde_json::json!(produced.valid_ids));
    assert_eq!(report["mirror"], serde_json::json!(produced.valid_ids));
    assert_eq!(
        report["tables"],
        serde_json::json!([
            "public_customers",
            "public_customers_changelog",
            // Created for the record with a bad value, which they do not hold.
            "public_prices",
            "public_prices_changelog"
        ])
    );
    assert_eq!(
        report["prices_rows"], 0,
        "the bad value is not in the table"
    );
    // The tables hold every offset, dead letters included: they never hold a table back.
    assert_eq!(
        report["offsets"],
        serde_json::json!({ TOPIC: { "0": produced.records } }),
        "cdc.kafka-offsets of the changelog table"
    );
    broker.stop().await.expect("stop kafka");
}

/// A copy the broker does not take stops the sink before the record's offset is committed,
/// so the record is never lost: with dead-lettering disabled it stops the sink too, and once
/// the dead-letter topic works the record is copied there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_is_never_lost_when_its_copy_fails_or_dead_letters_are_off() {
    let cases = corpus();
    let broker = KafkaBroker::start().await.expect("kafka");
    let bootstrap = broker.bootstrap_servers();
    create_topic(&bootstrap, TOPIC).await;
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .set("acks", "all")
        .create()
        .expect("producer");
    let unknown_op = cases
        .iter()
        .position(|c| c.name == "unknown_op")
        .expect("unknown_op case");
    assert!(cases[unknown_op].value.as_ref().expect("value").len() > 1000);
    let mut produced = Produced::default();
    for sent in [Sent::Valid(1), Sent::Bad(unknown_op), Sent::Valid(2)] {
        send(&producer, &cases, &sent, &mut produced).await;
    }
    let lake = tempfile::tempdir().expect("tempdir");
    let listen = format!("127.0.0.1:{}", free_port());
    let run = |extra: &str| {
        let base = sink_config(lake.path(), &bootstrap, &listen);
        let text = std::fs::read_to_string(lake.path().join("sink.toml")).expect("config");
        let path = lake.path().join("sink-variant.toml");
        std::fs::write(&path, format!("{text}{extra}")).expect("write config");
        let config: SinkConfig =
            cdc_ops::load_config(Some(&path), "CDC_SINK_DLQ_TEST_UNUSED").expect("config");
        assert_ne!(
            format!("{config:?}"),
            format!("{base:?}"),
            "{extra} changes it"
        );
        tokio::time::timeout(TIMEOUT, cdc_sink::run(config, Shutdown::new()))
    };

    // The producer refuses copies over 1000 bytes: the sink stops on the bad record.
    let error = run("[dead_letter.properties]\n\"message.max.bytes\" = \"1000\"\n")
        .await
        .expect("the sink stops by itself")
        .expect_err("a copy that cannot be written stops the sink");
    match &error {
        cdc_sink::SinkError::DeadLetter { origin, topic, .. } => {
            assert_eq!(origin.offset, 1, "{error}");
            assert_eq!(topic, DLQ);
        }
        other => panic!("expected a dead-letter error, got {other}"),
    }
    let committed = committed_offset(&bootstrap).await;
    assert!(
        committed.is_none_or(|c| c <= 1),
        "group offset {committed:?} passed the record"
    );

    // Dead letters off: the record stops the sink (Kafka Connect's errors.tolerance=none).
    let error = run("[dead_letter]\nenabled = false\n")
        .await
        .expect("the sink stops by itself")
        .expect_err("a bad record stops the sink");
    match &error {
        cdc_sink::SinkError::Decode { origin, .. } => assert_eq!(origin.offset, 1, "{error}"),
        other => panic!("expected a decode error, got {other}"),
    }

    // Defaults: the record is copied, the next valid one applied.
    let shutdown = Shutdown::new();
    let config = sink_config(lake.path(), &bootstrap, &listen);
    let sink = tokio::spawn(cdc_sink::run(config, shutdown.clone()));
    let dead = wait_dead_letters(&bootstrap, 1, Instant::now() + TIMEOUT, &sink).await;
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].offset, 1);
    assert_eq!(dead[0].value, cases[unknown_op].value);
    wait_until(
        Instant::now() + TIMEOUT,
        Duration::from_millis(200),
        || async { committed_offset(&bootstrap).await == Some(produced.records) },
    )
    .await
    .expect("the group's offset passes every record");
    shutdown.cancel();
    sink.await.expect("sink task").expect("sink stops cleanly");
    let report = read_back(lake.path());
    assert_eq!(report["changelog"], serde_json::json!([1, 2]));
    broker.stop().await.expect("stop kafka");
}

/// The sink group's committed offset of partition 0, if any.
async fn committed_offset(bootstrap: &str) -> Option<i64> {
    let bootstrap = bootstrap.to_owned();
    tokio::task::spawn_blocking(move || {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &bootstrap)
            .set("group.id", GROUP)
            .set("enable.auto.commit", "false")
            .create()
            .expect("consumer");
        let mut list = TopicPartitionList::new();
        list.add_partition(TOPIC, 0);
        // The group's coordinator may still be loading (NotCoordinator): retry that.
        let deadline = Instant::now() + TIMEOUT;
        let committed = loop {
            match consumer.committed_offsets(list.clone(), Duration::from_secs(10)) {
                Ok(committed) => break committed,
                Err(e) if Instant::now() < deadline => {
                    eprintln!("committed offsets not readable yet: {e}");
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(e) => panic!("committed offsets: {e}"),
            }
        };
        match committed.find_partition(TOPIC, 0).map(|p| p.offset()) {
            Some(Offset::Offset(offset)) => Some(offset),
            _ => None,
        }
    })
    .await
    .expect("committed offsets task")
}

/// What was produced so far.
#[derive(Default)]
struct Produced {
    /// offset → index into the corpus, for every bad record
    bad_offsets: BTreeMap<i64, usize>,
    valid_ids: Vec<i64>,
    records: i64,
}

/// Produces `sent` (timestamp: base + its offset, as records are produced one at a time to
/// one partition) and notes its offset or id.
async fn send(producer: &FutureProducer, cases: &[Case], sent: &Sent, produced: &mut Produced) {
    let (key, value, name) = match sent {
        Sent::Valid(id) => {
            let (k, v) = valid(*id);
            produced.valid_ids.push(*id);
            (Some(k), Some(v), "valid".to_owned())
        }
        Sent::Tombstone => (Some(valid(1).0), None, "tombstone".to_owned()),
        Sent::Bad(i) => (
            cases[*i].key.clone(),
            cases[*i].value.clone(),
            cases[*i].name.clone(),
        ),
    };
    let headers = OwnedHeaders::new().insert(Header {
        key: CASE_HEADER,
        value: Some(name.as_str()),
    });
    let mut record = FutureRecord::<[u8], [u8]>::to(TOPIC)
        .headers(headers)
        .timestamp(TIMESTAMP_BASE + produced.records);
    if let Some(key) = &key {
        record = record.key(key.as_slice());
    }
    if let Some(value) = &value {
        record = record.payload(value.as_slice());
    }
    let delivery = producer
        .send(record, Duration::from_secs(30))
        .await
        .unwrap_or_else(|(e, _)| panic!("producing {name}: {e}"));
    assert_eq!(delivery.offset, produced.records, "offsets are dense");
    produced.records += 1;
    if let Sent::Bad(i) = sent {
        produced.bad_offsets.insert(delivery.offset, *i);
    }
}

/// Waits until the dead-letter topic holds at least `count` records; returns them all. Fails
/// at once if the sink stopped.
async fn wait_dead_letters(
    bootstrap: &str,
    count: usize,
    deadline: Instant,
    sink: &SinkTask,
) -> Vec<Copy> {
    poll_until(
        "the dead letters",
        deadline,
        Duration::from_millis(200),
        || {
            let bootstrap = bootstrap.to_owned();
            let stopped = sink.is_finished();
            async move {
                if stopped {
                    return Err(TestkitError::Environment("the sink stopped".into()));
                }
                let records = tokio::task::spawn_blocking(move || read_to_end(&bootstrap, DLQ))
                    .await
                    .map_err(|e| TestkitError::Environment(e.to_string()))?;
                Ok(records.filter(|r| r.len() >= count))
            }
        },
    )
    .await
    .expect("dead letters")
}

fn sink_config(lake: &Path, bootstrap: &str, listen: &str) -> SinkConfig {
    let text = format!(
        "[kafka]\nbootstrap_servers = \"{bootstrap}\"\ngroup_id = \"{GROUP}\"\n\
         topics = [\"{TOPIC}\"]\n\n[iceberg]\ndata_dir = \"{}\"\n\n\
         [commit]\ninterval_ms = 300\n\n[ops]\nlisten = \"{listen}\"\n",
        lake.display()
    );
    let path = lake.join("sink.toml");
    std::fs::write(&path, text).expect("write config");
    cdc_ops::load_config(Some(&path), "CDC_SINK_DLQ_TEST_UNUSED").expect("config")
}

async fn create_topic(bootstrap: &str, topic: &str) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .expect("admin");
    let results = admin
        .create_topics(
            [&NewTopic::new(topic, 1, TopicReplication::Fixed(1))
                .set("max.message.bytes", MAX_RECORD_BYTES)],
            &AdminOptions::new().operation_timeout(Some(Duration::from_secs(30))),
        )
        .await
        .expect("create topic");
    for result in results {
        result.expect("topic created");
    }
}

/// One record read back.
struct Copy {
    /// The original offset (`cdc.dlq.offset` header), -1 if absent.
    offset: i64,
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
    timestamp: Option<i64>,
    headers: Vec<(String, Vec<u8>)>,
}

/// Every record of partition 0 of `topic`, read up to its high watermark; `None` while the
/// topic does not exist yet. Blocking.
fn read_to_end(bootstrap: &str, topic: &str) -> Option<Vec<Copy>> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "dlq-test-reader")
        .set("enable.auto.commit", "false")
        .create()
        .expect("reader");
    let (low, high) = consumer
        .fetch_watermarks(topic, 0, Duration::from_secs(5))
        .ok()?;
    let mut records = Vec::new();
    if high <= low {
        return Some(records);
    }
    let mut list = TopicPartitionList::new();
    list.add_partition_offset(topic, 0, Offset::Offset(low))
        .expect("partition");
    consumer.assign(&list).expect("assign");
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut next = low;
    while next < high {
        assert!(
            Instant::now() < deadline,
            "reading {topic} to {high} stalled at {next}"
        );
        let Some(message) = consumer.poll(Duration::from_millis(500)) else {
            continue;
        };
        let message = message.expect("read");
        next = message.offset() + 1;
        let headers: Vec<(String, Vec<u8>)> = message
            .headers()
            .map(|h| {
                h.iter()
                    .map(|h| (h.key.to_owned(), h.value.unwrap_or_default().to_vec()))
                    .collect()
            })
            .unwrap_or_default();
        let offset = headers
            .iter()
            .rev()
            .find(|(k, _)| k == cdc_sink::HEADER_OFFSET)
            .and_then(|(_, v)| std::str::from_utf8(v).ok()?.parse().ok())
            .unwrap_or(-1);
        records.push(Copy {
            offset,
            key: message.key().map(<[u8]>::to_vec),
            value: message.payload().map(<[u8]>::to_vec),
            timestamp: message.timestamp().to_millis(),
            headers,
        });
    }
    Some(records)
}

/// `GET path`: `(status line, body)`.
async fn http_get(addr: &str, path: &str) -> std::io::Result<(String, String)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    stream
        .write_all(format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes())
        .await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    Ok((
        head.lines().next().unwrap_or_default().to_owned(),
        body.to_owned(),
    ))
}

/// Ids in the changelog and mirror tables, and the namespace's tables, read with pyiceberg.
fn read_back(lake: &Path) -> Json {
    let output = Command::new(python())
        .arg("-c")
        .arg(READ_BACK)
        .arg(lake)
        .output()
        .expect("run python");
    assert!(
        output.status.success(),
        "python failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("python prints JSON")
}

fn python() -> PathBuf {
    let venv = std::env::var_os("CDC_VENV").map_or_else(
        || PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/cdc/venv"),
        PathBuf::from,
    );
    venv.join("bin/python")
}

const READ_BACK: &str = r#"
import json, sys
from pyiceberg.catalog.sql import SqlCatalog

d = sys.argv[1]
catalog = SqlCatalog("cdc", uri=f"sqlite:///{d}/catalog.db", warehouse=f"file://{d}/warehouse")
def ids(name):
    return sorted(catalog.load_table(name).scan().to_arrow().column("id").to_pylist())
print(json.dumps({
    "changelog": ids("cdc.public_customers_changelog"),
    "mirror": ids("cdc.public_customers"),
    "tables": sorted(t[-1] for t in catalog.list_tables("cdc")),
    "prices_rows": catalog.load_table("cdc.public_prices_changelog").scan().to_arrow().num_rows
        if catalog.table_exists("cdc.public_prices_changelog") else None,
    "offsets": json.loads(catalog.load_table("cdc.public_customers_changelog")
        .current_snapshot().summary.additional_properties["cdc.kafka-offsets"]),
}))
"#;
