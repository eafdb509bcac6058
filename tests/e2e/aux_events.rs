//! e2e: the records Debezium emits besides plain row changes, on real PostgreSQL and Kafka:
//! primary-key change (delete + tombstone + create with `__debezium.newkey`/`oldkey`
//! headers), truncate (op `t`, null key) when `skipped_operations` allows it, transactional
//! and non-transactional logical-decoding messages (op `m` on `<prefix>.message`),
//! transaction metadata (BEGIN/END with counts and per-event `transaction` blocks), and
//! heartbeats (with `heartbeat_action_query`).

use std::time::{Duration, Instant};

use cdc_e2e::pipeline::Pipeline;
use cdc_e2e::topics::{payload, read_topic, Record};
use cdc_testkit::wait_until;
use serde_json::{json, Value as Json};

fn records(bootstrap: &str, topic: &str) -> Vec<Record> {
    read_topic(bootstrap, topic)
        .unwrap()
        .into_values()
        .flatten()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_truncate_key_change_transactions_and_heartbeats() {
    let mut p = Pipeline::start_named("aux")
        .await
        .expect("start PostgreSQL and Kafka");
    let dir = p.dir.clone();
    let client = p.connect().await.unwrap();
    client
        .batch_execute(
            "CREATE TABLE t (id int PRIMARY KEY, name text NOT NULL);
             CREATE TABLE hb (ts timestamptz NOT NULL);",
        )
        .await
        .unwrap();
    p.set_capture_tables(&["public.t"], "").unwrap();
    p.append_capture_config(
        "[events]\nskipped_operations = [\"none\"]\nprovide_transaction_metadata = true\n\
         heartbeat_interval_ms = 300\nheartbeat_action_query = \"INSERT INTO hb VALUES (now())\"",
    )
    .unwrap();
    p.start_capture().unwrap();
    p.wait_for_snapshot(0, Duration::from_secs(120))
        .await
        .unwrap();

    client
        .batch_execute(
            "BEGIN;
             INSERT INTO t VALUES (1, 'a');
             UPDATE t SET id = 2 WHERE id = 1;
             SELECT pg_logical_emit_message(true, 'foo', 'hello');
             COMMIT;
             SELECT pg_logical_emit_message(false, 'bar', 'world');
             TRUNCATE t;",
        )
        .await
        .unwrap();
    let bootstrap = p.kafka.bootstrap_servers().to_owned();
    let heartbeat_topic = "__debezium-heartbeat.shop".to_owned();
    wait_until(
        Instant::now() + Duration::from_secs(60),
        Duration::from_millis(200),
        || {
            let (bootstrap, topic) = (bootstrap.clone(), heartbeat_topic.clone());
            async move {
                let n = tokio::task::spawn_blocking(move || records(&bootstrap, &topic).len());
                n.await.unwrap_or(0) >= 2
            }
        },
    )
    .await
    .expect("heartbeats");
    p.wait_slot_caught_up(Duration::from_secs(60))
        .await
        .unwrap();
    let (data, messages, txs, beats) = tokio::task::spawn_blocking({
        let b = bootstrap.clone();
        move || {
            (
                records(&b, "shop.public.t"),
                records(&b, "shop.message"),
                records(&b, "shop.transaction"),
                records(&b, "__debezium-heartbeat.shop"),
            )
        }
    })
    .await
    .unwrap();

    // Row topic: c(1), d(1) + tombstone, c(2), t.
    let ops: Vec<(Json, Json)> = data
        .iter()
        .map(|r| {
            let v = payload(r.value.as_deref());
            (payload(r.key.as_deref()), v["op"].clone())
        })
        .collect();
    assert_eq!(
        ops,
        vec![
            (json!({"id": 1}), json!("c")),
            (json!({"id": 1}), json!("d")),
            (json!({"id": 1}), Json::Null),
            (json!({"id": 2}), json!("c")),
            (Json::Null, json!("t")),
        ],
        "row topic"
    );
    let header = |r: &Record, name: &str| {
        r.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
    };
    assert_eq!(
        header(&data[1], "__debezium.newkey").as_deref(),
        Some(r#"{"id":2}"#)
    );
    assert_eq!(
        header(&data[3], "__debezium.oldkey").as_deref(),
        Some(r#"{"id":1}"#)
    );
    let truncate = payload(data[4].value.as_deref());
    assert_eq!(
        (&truncate["before"], &truncate["after"]),
        (&Json::Null, &Json::Null)
    );

    // Messages: transactional (txId, transaction block) and not.
    assert_eq!(messages.len(), 2, "message topic");
    let foo = payload(messages[0].value.as_deref());
    assert_eq!(
        payload(messages[0].key.as_deref()),
        json!({"prefix": "foo"})
    );
    assert_eq!(foo["op"], "m");
    assert_eq!(
        foo["message"],
        json!({"prefix": "foo", "content": "aGVsbG8="})
    );
    assert!(foo["source"]["txId"].is_i64(), "{foo}");
    assert_eq!(foo["transaction"]["total_order"], 4);
    assert_eq!(foo["transaction"]["data_collection_order"], 1);
    let bar = payload(messages[1].value.as_deref());
    assert_eq!(
        bar["message"],
        json!({"prefix": "bar", "content": "d29ybGQ="})
    );
    assert!(
        bar["source"]["txId"].is_null() && bar["transaction"].is_null(),
        "{bar}"
    );

    // Transaction metadata: BEGIN/END of the first transaction and of the truncate.
    let tx: Vec<Json> = txs.iter().map(|r| payload(r.value.as_deref())).collect();
    assert_eq!(tx.len(), 4, "{tx:?}");
    assert_eq!(
        (&tx[0]["status"], &tx[1]["status"]),
        (&json!("BEGIN"), &json!("END"))
    );
    assert_eq!(tx[1]["event_count"], 4);
    let collections = tx[1]["data_collections"].as_array().unwrap();
    assert_eq!(
        collections[0],
        json!({"data_collection": "public.t", "event_count": 3})
    );
    let xid = |j: &Json| {
        j["id"]
            .as_str()
            .unwrap()
            .split(':')
            .next()
            .unwrap()
            .to_owned()
    };
    assert_eq!(xid(&tx[0]), xid(&tx[1]));
    let first = payload(data[0].value.as_deref());
    assert_eq!(
        first["transaction"]["id"], tx[0]["id"],
        "BEGIN id = first event's id"
    );
    assert_eq!(first["source"]["txId"].to_string(), xid(&tx[0]));
    assert_eq!(tx[3]["event_count"], 1);

    // Heartbeats: partition 0, server name key, and the action query ran.
    assert!(beats.len() >= 2);
    assert_eq!(
        payload(beats[0].key.as_deref()),
        json!({"serverName": "shop"})
    );
    assert!(payload(beats[0].value.as_deref())["ts_ms"].is_i64());
    let hb: i64 = client
        .query_one("SELECT count(*) FROM hb", &[])
        .await
        .unwrap()
        .get(0);
    assert!(hb >= 2, "heartbeat.action.query ran {hb} times");
    println!(
        "aux-events: rows={} messages={} transaction_records={} heartbeats={} action_queries={hb}",
        data.len(),
        messages.len(),
        txs.len(),
        beats.len()
    );
    p.stop_processes().await.expect("graceful shutdown exits 0");
    p.shutdown().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
