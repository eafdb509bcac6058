//! e2e: MariaDB 10.11 (real server, binlog) → `cdc-capture` (`source.kind = mariadb`) → real
//! Kafka, read back `read_committed`.
//!
//! The initial snapshot of a few rows (several primary-key chunks on two workers), then
//! streamed inserts, updates and deletes around an `ALTER TABLE … ADD COLUMN`; every record is
//! checked (op, key, before/after, `source.connector`, GTID, snapshot markers), as are the
//! schema-change, schema-history and transaction topics. The capture is then stopped, the
//! table changed while it is down, and started again: everything published exactly once,
//! nothing missed, no second snapshot.

use std::path::PathBuf;
use std::time::Duration;

use cdc_e2e::mariadb::spawn_capture;
use cdc_e2e::records::{all_records, wait_records, JsonRecord};
use cdc_testkit::{poll_until, KafkaBroker, MariaDbServer};
use serde_json::{json, Value};

const PREFIX: &str = "mdb";
const TOPIC: &str = "mdb.inv.items";

async fn records(bootstrap: &str, topic: &str, count: usize) -> Vec<JsonRecord> {
    let records = wait_records(bootstrap, topic, count)
        .await
        .unwrap_or_else(|e| panic!("{count} records on {topic}: {e}"));
    assert_eq!(records.len(), count, "records on {topic}: {records:#?}");
    records
}

/// Checks one data record: op, key, before, after and the binlog source block.
fn check(record: &JsonRecord, op: &str, id: i64, before: Value, after: Value) {
    let (key, value) = record;
    assert_eq!(key["payload"], json!({ "id": id }), "key of {value}");
    let p = &value["payload"];
    assert_eq!(p["op"], op, "{p}");
    assert_eq!(p["before"], before, "before of {p}");
    assert_eq!(p["after"], after, "after of {p}");
    let source = &p["source"];
    assert_eq!(source["connector"], "mariadb", "{source}");
    assert_eq!(source["name"], PREFIX);
    assert_eq!(source["db"], "inv");
    assert_eq!(source["table"], "items");
    assert!(source["file"]
        .as_str()
        .is_some_and(|f| f.starts_with("mariadb-bin.")));
    if op == "r" {
        assert_eq!(source["server_id"], 0, "{source}");
        assert_eq!(source["gtid"], Value::Null, "{source}");
    } else {
        assert_eq!(source["snapshot"], "false", "{source}");
        assert_eq!(source["server_id"], MariaDbServer::SERVER_ID, "{source}");
        let gtid = source["gtid"].as_str().unwrap_or_default();
        let parts: Vec<&str> = gtid.split('-').collect();
        assert!(
            parts.len() == 3 && parts.iter().all(|p| p.parse::<u64>().is_ok()),
            "MariaDB GTID domain-server-seq: {source}"
        );
        assert!(source["pos"].as_i64().is_some_and(|p| p > 4), "{source}");
        assert!(
            p["transaction"]["id"] == source["gtid"],
            "transaction block: {p}"
        );
    }
}

fn tombstone(record: &JsonRecord, id: i64) {
    assert_eq!(record.0["payload"], json!({ "id": id }));
    assert_eq!(record.1, Value::Null, "tombstone after the delete of {id}");
}

fn item(id: i64, name: &str, qty: Option<i64>) -> Value {
    json!({ "id": id, "name": name, "qty": qty })
}

fn item_note(id: i64, name: &str, qty: Option<i64>, note: Option<&str>) -> Value {
    json!({ "id": id, "name": name, "qty": qty, "note": note })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_snapshot_stream_alter_and_restart_exactly_once() {
    let (db, kafka) = tokio::try_join!(MariaDbServer::start(), KafkaBroker::start())
        .expect("start MariaDB and Kafka");
    let bootstrap = kafka.bootstrap_servers();
    for sql in [
        "CREATE DATABASE inv",
        "CREATE TABLE inv.items (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL, qty INT)",
        "INSERT INTO inv.items VALUES (1, 'apple', 10), (2, 'pear', 20), (3, 'plum', NULL), \
         (7, 'fig', 70), (8, 'kiwi', 80)",
        // Not captured: its DDL must still be tracked, its rows never published.
        "CREATE TABLE inv.audit (n INT PRIMARY KEY)",
        "INSERT INTO inv.audit VALUES (1)",
    ] {
        db.execute(sql).await.expect(sql);
    }
    let dir: PathBuf = std::env::temp_dir().join(format!("cdc-e2e-mariadb-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("capture.toml");
    std::fs::write(
        &config,
        format!(
            "topic_prefix = \"{PREFIX}\"\n\n[source]\nkind = \"mariadb\"\nhost = \"{host}\"\n\
             port = {port}\nuser = \"cdc\"\npassword = {{ env = \"CDC_TEST_MARIADB_PASSWORD\" }}\n\
             server_id = 5400\ntables = [\"inv.items\"]\n\n[kafka]\nbootstrap_servers = \"{bootstrap}\"\n\n\
             [snapshot]\nfetch_size = 2\nmax_threads = 2\n\n[events]\n\
             provide_transaction_metadata = true\nheartbeat_interval_ms = 500\n",
            host = db.host(),
            port = db.port(),
        ),
    )
    .unwrap();
    let mut capture = spawn_capture(&db, &dir, &config, "capture.log").expect("spawn cdc-capture");

    // Snapshot: five rows in three chunks, in key order within each chunk.
    let snap = records(&bootstrap, TOPIC, 5).await;
    let mut ids: Vec<i64> = snap
        .iter()
        .map(|(k, _)| k["payload"]["id"].as_i64().unwrap())
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, [1, 2, 3, 7, 8]);
    let rows = [
        (1, "apple", Some(10)),
        (2, "pear", Some(20)),
        (3, "plum", None),
        (7, "fig", Some(70)),
        (8, "kiwi", Some(80)),
    ];
    for r in &snap {
        let id = r.0["payload"]["id"].as_i64().unwrap();
        let (_, name, qty) = rows.iter().find(|(i, _, _)| *i == id).unwrap();
        check(r, "r", id, Value::Null, item(id, name, *qty));
    }
    let markers: Vec<&str> = snap
        .iter()
        .map(|(_, v)| v["payload"]["source"]["snapshot"].as_str().unwrap())
        .collect();
    assert_eq!(markers[0], "first", "{markers:?}");
    assert_eq!(markers[4], "last", "{markers:?}");
    assert!(markers[1..4].iter().all(|m| *m == "true"), "{markers:?}");

    // Streaming around an ALTER TABLE.
    for sql in [
        "INSERT INTO inv.items VALUES (4, 'date', 40)",
        "UPDATE inv.items SET qty = 11 WHERE id = 1",
        "DELETE FROM inv.items WHERE id = 2",
        "INSERT INTO inv.audit VALUES (2)",
        "ALTER TABLE inv.audit ADD COLUMN at INT",
        "ALTER TABLE inv.items ADD COLUMN note VARCHAR(20)",
        "INSERT INTO inv.items VALUES (5, 'elder', 50, 'n5')",
        "UPDATE inv.items SET note = 'ripe' WHERE id = 4",
        // A primary-key change: delete of the old key, create of the new one.
        "UPDATE inv.items SET id = 9 WHERE id = 3",
    ] {
        db.execute(sql).await.expect(sql);
    }
    let all = records(&bootstrap, TOPIC, 14).await;
    assert_eq!(&all[..5], &snap[..]);
    let s = &all[5..];
    check(&s[0], "c", 4, Value::Null, item(4, "date", Some(40)));
    check(
        &s[1],
        "u",
        1,
        item(1, "apple", Some(10)),
        item(1, "apple", Some(11)),
    );
    check(&s[2], "d", 2, item(2, "pear", Some(20)), Value::Null);
    tombstone(&s[3], 2);
    check(
        &s[4],
        "c",
        5,
        Value::Null,
        item_note(5, "elder", Some(50), Some("n5")),
    );
    check(
        &s[5],
        "u",
        4,
        item_note(4, "date", Some(40), None),
        item_note(4, "date", Some(40), Some("ripe")),
    );
    check(&s[6], "d", 3, item_note(3, "plum", None, None), Value::Null);
    tombstone(&s[7], 3);
    check(&s[8], "c", 9, Value::Null, item_note(9, "plum", None, None));
    // Debezium's key headers on the two halves of the key change.
    let b = bootstrap.clone();
    let raw = tokio::task::spawn_blocking(move || cdc_e2e::topics::read_topic(&b, TOPIC))
        .await
        .unwrap()
        .unwrap();
    let raw = &raw[&0];
    let header_id = |index: usize, name: &str| -> i64 {
        let (_, bytes) = raw[index]
            .headers
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("header {name} on record {index}: {:?}", raw[index]));
        let v: Value = serde_json::from_slice(bytes).expect("key header is JSON");
        v.get("payload").unwrap_or(&v)["id"]
            .as_i64()
            .expect("id in key header")
    };
    assert_eq!(header_id(11, "__debezium.newkey"), 9);
    assert_eq!(header_id(13, "__debezium.oldkey"), 3);

    // Schema changes: the snapshot's CREATE of the captured table, then its ALTER (the
    // uncaptured table's DDL goes to the history only).
    let changes = records(&bootstrap, PREFIX, 2).await;
    assert_eq!(changes[0].0["payload"], json!({ "databaseName": "inv" }));
    let create = &changes[0].1["payload"];
    assert_eq!(create["source"]["connector"], "mariadb");
    assert!(create["ddl"]
        .as_str()
        .unwrap()
        .starts_with("CREATE TABLE `items`"));
    assert_eq!(create["tableChanges"][0]["type"], "CREATE");
    let alter = &changes[1].1["payload"];
    assert!(
        alter["ddl"].as_str().unwrap().contains("ADD COLUMN note"),
        "{alter}"
    );
    assert_eq!(alter["tableChanges"][0]["type"], "ALTER");
    let columns = alter["tableChanges"][0]["table"]["columns"]
        .as_array()
        .unwrap();
    assert_eq!(columns.last().unwrap()["name"], "note");
    let history = all_records(&bootstrap, &format!("schema-history.{PREFIX}"))
        .await
        .expect("read topic");
    let ddls: Vec<&str> = history
        .iter()
        .map(|(_, v)| v["ddl"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(ddls.len(), 4, "history: {ddls:#?}");
    assert!(ddls[..2]
        .iter()
        .any(|d| d.starts_with("CREATE TABLE `audit`")));
    assert!(ddls[2].contains("ADD COLUMN at"), "{ddls:#?}");
    assert!(ddls[3].contains("ADD COLUMN note"), "{ddls:#?}");

    // Transaction metadata: one BEGIN and one END per streamed transaction with changes.
    let tx = records(&bootstrap, &format!("{PREFIX}.transaction"), 12).await;
    let statuses: Vec<&str> = tx
        .iter()
        .map(|(_, v)| v["payload"]["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["BEGIN", "END"].repeat(6), "{tx:#?}");
    for (pair, count) in tx.chunks(2).zip([1, 1, 1, 1, 1, 2]) {
        assert_eq!(pair[0].1["payload"]["id"], pair[1].1["payload"]["id"]);
        assert_eq!(pair[1].1["payload"]["event_count"], count, "{pair:?}");
    }
    // Heartbeats while idle.
    let beats = wait_records(&bootstrap, &format!("__debezium-heartbeat.{PREFIX}"), 1)
        .await
        .expect("heartbeats");
    assert_eq!(beats[0].0["payload"], json!({ "serverName": PREFIX }));

    // Stop, change while down, start again: nothing twice, nothing missed, no new snapshot.
    let status = capture
        .terminate(Duration::from_secs(60))
        .await
        .expect("stop cdc-capture");
    assert!(status.success(), "exit {status}: {}", capture.log_tail(40));
    for sql in [
        "INSERT INTO inv.items VALUES (6, 'grape', 60, NULL)",
        "DELETE FROM inv.items WHERE id = 7",
    ] {
        db.execute(sql).await.expect(sql);
    }
    let mut capture =
        spawn_capture(&db, &dir, &config, "capture-2.log").expect("spawn cdc-capture");
    db.execute("UPDATE inv.items SET qty = 81 WHERE id = 8")
        .await
        .unwrap();
    let after = records(&bootstrap, TOPIC, 18).await;
    assert_eq!(&after[..14], &all[..]);
    let r = &after[14..];
    check(
        &r[0],
        "c",
        6,
        Value::Null,
        item_note(6, "grape", Some(60), None),
    );
    check(
        &r[1],
        "d",
        7,
        item_note(7, "fig", Some(70), None),
        Value::Null,
    );
    tombstone(&r[2], 7);
    check(
        &r[3],
        "u",
        8,
        item_note(8, "kiwi", Some(80), None),
        item_note(8, "kiwi", Some(81), None),
    );
    assert_eq!(records(&bootstrap, PREFIX, 2).await.len(), 2);
    let status = capture
        .terminate(Duration::from_secs(60))
        .await
        .expect("stop cdc-capture");
    assert!(status.success(), "exit {status}: {}", capture.log_tail(40));
    // Nothing was published after the last expected record.
    assert_eq!(
        all_records(&bootstrap, TOPIC)
            .await
            .expect("read topic")
            .len(),
        18
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A capture of `table` under topic prefix `prefix` with `snapshot.mode = mode` and `extra`
/// lines in `[source]`.
fn write_config(
    dir: &std::path::Path,
    prefix: &str,
    mode: &str,
    (table, extra): (&str, &str),
    db: &MariaDbServer,
    bootstrap: &str,
) -> PathBuf {
    let config = dir.join(format!("{prefix}.toml"));
    std::fs::write(
        &config,
        format!(
            "topic_prefix = \"{prefix}\"\n\n[source]\nkind = \"mariadb\"\nhost = \"{host}\"\n\
             port = {port}\nuser = \"cdc\"\npassword = {{ env = \"CDC_TEST_MARIADB_PASSWORD\" }}\n\
             server_id = 5410\ntables = [\"{table}\"]\n{extra}\n[kafka]\nbootstrap_servers = \"{bootstrap}\"\n\n\
             [snapshot]\nmode = \"{mode}\"\n",
            host = db.host(),
            port = db.port(),
        ),
    )
    .unwrap();
    config
}

/// Waits until `capture` exits by itself.
async fn wait_exit(
    capture: &mut cdc_testkit::ManagedProcess,
    what: &str,
) -> std::process::ExitStatus {
    poll_until(
        what,
        std::time::Instant::now() + Duration::from_secs(120),
        Duration::from_millis(100),
        || {
            let running = capture.is_running();
            async move { Ok((!running).then_some(())) }
        },
    )
    .await
    .unwrap();
    capture.exit_status().expect("exited")
}

/// `snapshot.mode = initial_only` publishes the snapshot and exits (and later starts exit at
/// once); `no_data` records the schema only and streams; column filters and key overrides
/// shape snapshot and streamed records; a position whose binlog was purged while the capture
/// was down is refused by default and re-snapshotted with `when_needed`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_snapshot_modes_column_filters_and_purged_binlogs() {
    let (db, kafka) = tokio::try_join!(MariaDbServer::start(), KafkaBroker::start())
        .expect("start MariaDB and Kafka");
    let bootstrap = kafka.bootstrap_servers();
    for sql in [
        "CREATE DATABASE inv",
        "CREATE TABLE inv.items (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL, qty INT)",
        "INSERT INTO inv.items VALUES (1, 'apple', 10), (2, 'pear', 20)",
    ] {
        db.execute(sql).await.expect(sql);
    }
    let dir: PathBuf =
        std::env::temp_dir().join(format!("cdc-e2e-mariadb-modes-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();

    // initial_only: the snapshot, then exit 0 by itself; a second run exits at once.
    let items = ("inv.items", "");
    let config = write_config(&dir, "mio", "initial_only", items, &db, &bootstrap);
    for run in 0..2 {
        let mut capture = spawn_capture(&db, &dir, &config, &format!("mio-{run}.log"))
            .expect("spawn cdc-capture");
        let status = wait_exit(&mut capture, "initial_only to exit").await;
        assert!(
            status.success(),
            "run {run}: {status}: {}",
            capture.log_tail(40)
        );
        let records = all_records(&bootstrap, "mio.inv.items")
            .await
            .expect("read topic");
        assert_eq!(records.len(), 2, "run {run}: {records:#?}");
        assert!(records.iter().all(|(_, v)| v["payload"]["op"] == "r"));
    }

    // no_data: no rows read, the schema recorded, changes streamed.
    let config = write_config(&dir, "mnd", "no_data", items, &db, &bootstrap);
    let mut capture = spawn_capture(&db, &dir, &config, "mnd.log").expect("spawn cdc-capture");
    let history = wait_records(&bootstrap, "schema-history.mnd", 1)
        .await
        .expect("schema history");
    assert!(history[0].1["ddl"]
        .as_str()
        .is_some_and(|d| d.starts_with("CREATE TABLE `items`")));
    db.execute("INSERT INTO inv.items VALUES (3, 'plum', NULL)")
        .await
        .unwrap();
    let streamed = records(&bootstrap, "mnd.inv.items", 1).await;
    let p = &streamed[0].1["payload"];
    assert_eq!(streamed[0].0["payload"], json!({ "id": 3 }));
    assert_eq!(
        (&p["op"], &p["after"]),
        (&json!("c"), &item(3, "plum", None))
    );
    assert_eq!(p["source"]["connector"], "mariadb");
    let status = capture.terminate(Duration::from_secs(60)).await.unwrap();
    assert!(status.success(), "{status}: {}", capture.log_tail(40));
    assert_eq!(
        all_records(&bootstrap, "mnd.inv.items")
            .await
            .expect("read topic")
            .len(),
        1
    );

    column_filters_and_key_override(&db, &bootstrap, &dir).await;
    purged_binlogs(&db, &bootstrap, &dir).await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// `column_exclude_list` drops `qty` from snapshot and streamed records (the schema-change
/// record keeps the full table, as Debezium's), `message_key_columns` keys them by `name`:
/// a change of the name is a delete of the old key and a create of the new one.
async fn column_filters_and_key_override(
    db: &MariaDbServer,
    bootstrap: &str,
    dir: &std::path::Path,
) {
    let extra =
        "column_exclude_list = \"inv.items.qty\"\nmessage_key_columns = \"inv.items:name\"\n";
    let config = write_config(dir, "mcf", "initial", ("inv.items", extra), db, bootstrap);
    let mut capture = spawn_capture(db, dir, &config, "mcf.log").expect("spawn cdc-capture");
    let snap = records(bootstrap, "mcf.inv.items", 3).await;
    let mut got: Vec<(Value, Value)> = snap
        .iter()
        .map(|(k, v)| (k["payload"].clone(), v["payload"]["after"].clone()))
        .collect();
    got.sort_by_key(|(_, a)| a["id"].as_i64());
    assert_eq!(
        got,
        [(1, "apple"), (2, "pear"), (3, "plum")]
            .map(|(id, name)| (json!({ "name": name }), json!({ "id": id, "name": name })))
    );
    for sql in [
        "UPDATE inv.items SET name = 'peach' WHERE id = 2",
        "UPDATE inv.items SET qty = 5 WHERE id = 1",
    ] {
        db.execute(sql).await.expect(sql);
    }
    let all = records(bootstrap, "mcf.inv.items", 7).await;
    let s: Vec<(Value, Value)> = all[3..]
        .iter()
        .map(|(k, v)| (k["payload"].clone(), v["payload"].clone()))
        .collect();
    assert_eq!(s[0].0, json!({ "name": "pear" }));
    assert_eq!(
        (&s[0].1["op"], &s[0].1["before"]),
        (&json!("d"), &json!({ "id": 2, "name": "pear" }))
    );
    assert_eq!(
        (&s[1].0, &all[4].1),
        (&json!({ "name": "pear" }), &Value::Null)
    );
    assert_eq!(s[2].0, json!({ "name": "peach" }));
    assert_eq!(
        (&s[2].1["op"], &s[2].1["after"]),
        (&json!("c"), &json!({ "id": 2, "name": "peach" }))
    );
    assert_eq!(s[3].0, json!({ "name": "apple" }));
    assert_eq!(
        (&s[3].1["op"], &s[3].1["before"], &s[3].1["after"]),
        (
            &json!("u"),
            &json!({ "id": 1, "name": "apple" }),
            &json!({ "id": 1, "name": "apple" })
        )
    );
    let fields: Vec<&str> = all[3].1["schema"]["fields"][1]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["id", "name"], "value schema without qty");
    let create = records(bootstrap, "mcf", 1).await;
    let columns: Vec<&str> = create[0].1["payload"]["tableChanges"][0]["table"]["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        columns,
        ["id", "name", "qty"],
        "schema changes keep the full table"
    );
    let status = capture.terminate(Duration::from_secs(60)).await.unwrap();
    assert!(status.success(), "{status}: {}", capture.log_tail(40));
}

/// Rotates the binlog and purges every older file. MariaDB keeps a file until its binlog
/// checkpoint is written (crash recovery), so a purge right after the rotation may keep it:
/// repeated until `SHOW BINARY LOGS` lists only the files written after the call.
async fn purge_binlogs(db: &MariaDbServer) {
    use mysql_async::prelude::Queryable;
    let opts = db.admin_opts();
    let env = |e: mysql_async::Error| cdc_testkit::TestkitError::Environment(e.to_string());
    let mut conn = mysql_async::Conn::new(opts.clone()).await.unwrap();
    let before: Vec<(String, u64)> = conn.query("SHOW BINARY LOGS").await.unwrap();
    let _ = conn.disconnect().await;
    poll_until(
        "the binlogs to be purged",
        std::time::Instant::now() + Duration::from_secs(60),
        Duration::from_millis(200),
        || {
            let (opts, before) = (opts.clone(), before.clone());
            async move {
                let mut conn = mysql_async::Conn::new(opts).await.map_err(env)?;
                conn.query_drop("FLUSH BINARY LOGS").await.map_err(env)?;
                conn.query_drop("PURGE BINARY LOGS BEFORE NOW() + INTERVAL 1 DAY")
                    .await
                    .map_err(env)?;
                let now: Vec<(String, u64)> = conn.query("SHOW BINARY LOGS").await.map_err(env)?;
                let _ = conn.disconnect().await;
                let gone = now.iter().all(|(f, _)| before.iter().all(|(b, _)| b != f));
                Ok(gone.then_some(()))
            }
        },
    )
    .await
    .unwrap();
}

/// Binlogs purged while the capture is down: the default mode refuses to start, naming the
/// stored position and `when_needed`; `when_needed` takes a new snapshot and streams on.
async fn purged_binlogs(db: &MariaDbServer, bootstrap: &str, dir: &std::path::Path) {
    for sql in [
        "CREATE TABLE inv.logs (id INT PRIMARY KEY, v INT)",
        "INSERT INTO inv.logs VALUES (1, 10), (2, 20)",
    ] {
        db.execute(sql).await.expect(sql);
    }
    let logs = ("inv.logs", "");
    let config = write_config(dir, "mpg", "initial", logs, db, bootstrap);
    let mut capture = spawn_capture(db, dir, &config, "mpg-1.log").expect("spawn cdc-capture");
    records(bootstrap, "mpg.inv.logs", 2).await;
    let status = capture.terminate(Duration::from_secs(60)).await.unwrap();
    assert!(status.success(), "{status}: {}", capture.log_tail(40));
    db.execute("INSERT INTO inv.logs VALUES (3, 30)")
        .await
        .unwrap();
    purge_binlogs(db).await;
    let mut capture = spawn_capture(db, dir, &config, "mpg-2.log").expect("spawn cdc-capture");
    let status = wait_exit(&mut capture, "the capture to refuse the purged position").await;
    let log = std::fs::read_to_string(dir.join("mpg-2.log")).unwrap_or_default();
    assert!(!status.success(), "{status}: {log}");
    assert!(
        log.contains("cannot be resumed") && log.contains("when_needed") && log.contains("0-"),
        "{log}"
    );
    assert_eq!(
        all_records(bootstrap, "mpg.inv.logs")
            .await
            .expect("read topic")
            .len(),
        2
    );

    // A table dropped while down: the new snapshot drops it from the history too.
    db.execute("DROP TABLE inv.items").await.unwrap();
    let config = write_config(dir, "mpg", "when_needed", logs, db, bootstrap);
    let mut capture = spawn_capture(db, dir, &config, "mpg-3.log").expect("spawn cdc-capture");
    let again = records(bootstrap, "mpg.inv.logs", 5).await;
    let mut ids: Vec<i64> = again[2..]
        .iter()
        .map(|(k, v)| {
            assert_eq!(v["payload"]["op"], "r", "a new snapshot: {v}");
            k["payload"]["id"].as_i64().unwrap()
        })
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, [1, 2, 3]);
    db.execute("INSERT INTO inv.logs VALUES (4, 40)")
        .await
        .unwrap();
    let streamed = records(bootstrap, "mpg.inv.logs", 6).await;
    assert_eq!(streamed[5].0["payload"], json!({ "id": 4 }));
    assert_eq!(streamed[5].1["payload"]["op"], "c");
    let history = all_records(bootstrap, "schema-history.mpg")
        .await
        .expect("read topic");
    let ddls: Vec<&str> = history
        .iter()
        .map(|(_, v)| v["ddl"].as_str().unwrap_or_default())
        .collect();
    assert!(
        ddls.contains(&"DROP TABLE IF EXISTS `inv`.`items`"),
        "{ddls:#?}"
    );
    let status = capture.terminate(Duration::from_secs(60)).await.unwrap();
    assert!(status.success(), "{status}: {}", capture.log_tail(40));

    // always: a new snapshot on every start, then streaming from its position.
    let config = write_config(dir, "mpg", "always", logs, db, bootstrap);
    let mut capture = spawn_capture(db, dir, &config, "mpg-4.log").expect("spawn cdc-capture");
    let again = records(bootstrap, "mpg.inv.logs", 10).await;
    assert!(
        again[6..].iter().all(|(_, v)| v["payload"]["op"] == "r"),
        "{again:#?}"
    );
    db.execute("DELETE FROM inv.logs WHERE id = 1")
        .await
        .unwrap();
    let streamed = records(bootstrap, "mpg.inv.logs", 12).await;
    assert_eq!(streamed[10].1["payload"]["op"], "d");
    let status = capture.terminate(Duration::from_secs(60)).await.unwrap();
    assert!(status.success(), "{status}: {}", capture.log_tail(40));
}
