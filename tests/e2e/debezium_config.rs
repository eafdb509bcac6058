//! e2e: `cdc-capture --config connector.properties` with a Debezium PostgreSQL connector
//! configuration as is (schema include list, table exclude list, a column exclude,
//! `message.key.columns`, the password through `${env:…}`, Kafka brokers and state from
//! `CDC_CAPTURE__*` overrides) against real PostgreSQL and Kafka: only the selected tables get
//! topics, the excluded column is absent from schemas and payloads, the key is the configured
//! column, snapshot and streamed changes arrive. And: a configuration with an option that
//! would change the output is refused at start, naming it.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use cdc_e2e::records::{self, JsonRecord};
use cdc_testkit::{
    free_port, poll_until, workspace_binary, KafkaBroker, ManagedProcess, PostgresServer,
};
use serde_json::Value;

const SCHEMA: &str = "
    CREATE SCHEMA inventory;
    CREATE TABLE inventory.customers (id int PRIMARY KEY, first_name text NOT NULL,
        email text, vip boolean NOT NULL DEFAULT false);
    CREATE TABLE inventory.orders (id int PRIMARY KEY, purchaser int NOT NULL, qty int);
    -- message.key.columns names a non-key column: deletes need it in the old row image.
    ALTER TABLE inventory.orders REPLICA IDENTITY FULL;
    CREATE TABLE inventory.orders_archive (id int PRIMARY KEY, purchaser int);
    CREATE TABLE public.noise (id int PRIMARY KEY);
    INSERT INTO inventory.customers VALUES (1, 'Sally', 'sally@example.com', true),
        (2, 'George', 'gbailey@example.com', false);
    INSERT INTO inventory.orders VALUES (10001, 1, 3), (10002, 2, 1);
    INSERT INTO inventory.orders_archive VALUES (1, 1);
    INSERT INTO public.noise VALUES (1);
";

fn properties(pg: &PostgresServer) -> String {
    format!(
        "name=inventory-connector\n\
         connector.class=io.debezium.connector.postgresql.PostgresConnector\n\
         tasks.max=1\n\
         plugin.name=pgoutput\n\
         database.hostname={host}\n\
         database.port={port}\n\
         database.user={user}\n\
         database.password=${{env:DBZ_E2E_PG_PASSWORD}}\n\
         database.dbname=dbz\n\
         topic.prefix=dbserver1\n\
         slot.name=dbz_e2e\n\
         publication.name=dbz_e2e_pub\n\
         schema.include.list=inventory\n\
         table.exclude.list=inventory\\\\.orders_archive\n\
         column.exclude.list=inventory.customers.email\n\
         message.key.columns=inventory.orders:purchaser\n\
         snapshot.mode=initial\n\
         key.converter=org.apache.kafka.connect.json.JsonConverter\n\
         value.converter=org.apache.kafka.connect.json.JsonConverter\n\
         max.queue.size=1000\n",
        host = pg.host(),
        port = pg.port(),
        user = pg.user(),
    )
}

async fn wait_records(bootstrap: &str, topic: &str, count: usize) -> Vec<JsonRecord> {
    records::wait_records(bootstrap, topic, count)
        .await
        .unwrap()
}

fn ops(records: &[JsonRecord]) -> Vec<String> {
    records::op_codes(records)
}

fn field_names(schema: &Value) -> Vec<String> {
    schema["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap().to_owned())
        .collect()
}

/// The `after` struct's field names of a change event.
fn after_fields(value: &Value) -> Vec<String> {
    let after = value["schema"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["field"] == "after")
        .unwrap();
    field_names(after)
}

fn topics_of(bootstrap: &str) -> Vec<String> {
    records::topics(bootstrap).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn debezium_properties_file_with_filters_column_exclude_and_key_columns() {
    let dir = std::env::temp_dir().join(format!("cdc-e2e-dbzconfig-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (pg, kafka) = tokio::try_join!(PostgresServer::start(), KafkaBroker::start()).unwrap();
    pg.create_database("dbz").await.unwrap();
    let client = pg.connect("dbz").await.unwrap();
    client.batch_execute(SCHEMA).await.unwrap();
    let config = dir.join("connector.properties");
    std::fs::write(&config, properties(&pg)).unwrap();

    let bootstrap = kafka.bootstrap_servers();
    let state = dir.join("state").display().to_string();
    let listen = format!("127.0.0.1:{}", free_port());
    let mut capture = ManagedProcess::spawn(
        &workspace_binary("cdc-capture").unwrap(),
        &["--config", &config.display().to_string()],
        &[
            ("DBZ_E2E_PG_PASSWORD", pg.password()),
            ("CDC_CAPTURE__KAFKA__BOOTSTRAP_SERVERS", &bootstrap),
            ("CDC_CAPTURE__STATE__DIR", &state),
            ("CDC_CAPTURE__OPS__LISTEN", &listen),
        ],
        &dir.join("capture.log"),
    )
    .unwrap();

    // Snapshot: 2 customers and 2 orders.
    let customers = wait_records(&bootstrap, "dbserver1.inventory.customers", 2).await;
    let orders = wait_records(&bootstrap, "dbserver1.inventory.orders", 2).await;
    assert!(capture.is_running(), "{}", capture.log_tail(40));

    // Streaming: a new customer, an order update, an order delete (+ tombstone).
    client
        .batch_execute(
            "INSERT INTO inventory.customers VALUES (3, 'Edward', 'ed@example.com', false);
             UPDATE inventory.orders SET qty = 7 WHERE id = 10001;
             DELETE FROM inventory.orders WHERE id = 10002;
             INSERT INTO inventory.orders_archive VALUES (2, 2);
             INSERT INTO public.noise VALUES (2);",
        )
        .await
        .unwrap();
    let customers_after = wait_records(&bootstrap, "dbserver1.inventory.customers", 3).await;
    let orders_after = wait_records(&bootstrap, "dbserver1.inventory.orders", 5).await;

    // Only the selected tables have topics.
    let topics = topics_of(&bootstrap);
    assert!(topics.contains(&"dbserver1.inventory.customers".to_owned()));
    assert!(topics.contains(&"dbserver1.inventory.orders".to_owned()));
    for excluded in [
        "dbserver1.inventory.orders_archive",
        "dbserver1.public.noise",
    ] {
        assert!(
            !topics.contains(&excluded.to_owned()),
            "{excluded} in {topics:?}"
        );
    }

    // The excluded column is in neither schema nor payload; the key is still the PK.
    let ops: Vec<&str> = customers_after
        .iter()
        .map(|(_, v)| v["payload"]["op"].as_str().unwrap())
        .collect();
    assert_eq!(ops, ["r", "r", "c"]);
    for (key, value) in &customers_after {
        assert_eq!(after_fields(value), ["id", "first_name", "vip"]);
        let after = value["payload"]["after"].as_object().unwrap();
        assert!(!after.contains_key("email"), "{after:?}");
        assert_eq!(field_names(&key["schema"]), ["id"]);
        assert_eq!(key["payload"]["id"], after["id"]);
    }
    assert_eq!(customers[0].1["payload"]["after"]["first_name"], "Sally");
    assert_eq!(
        customers_after[2].1["payload"]["after"]["first_name"],
        "Edward"
    );

    // message.key.columns: the orders key is `purchaser`, not the primary key.
    let summary: Vec<(String, Value, Value)> = orders_after
        .iter()
        .map(|(k, v)| {
            (
                v["payload"]["op"]
                    .as_str()
                    .unwrap_or("tombstone")
                    .to_owned(),
                k["payload"].clone(),
                v["payload"]["after"]["qty"].clone(),
            )
        })
        .collect();
    let key = |p: i64| serde_json::json!({ "purchaser": p });
    assert_eq!(
        summary,
        [
            ("r".into(), key(1), 3.into()),
            ("r".into(), key(2), 1.into()),
            ("u".into(), key(1), 7.into()),
            ("d".into(), key(2), Value::Null),
            ("tombstone".into(), key(2), Value::Null),
        ]
    );
    for (k, _) in &orders {
        assert_eq!(field_names(&k["schema"]), ["purchaser"]);
    }

    // The ignored option was reported once, by name.
    let log = std::fs::read_to_string(dir.join("capture.log")).unwrap();
    assert_eq!(log.matches("max.queue.size is ignored").count(), 1, "{log}");
    assert!(!log.contains(pg.password()), "password in the log");

    let status = capture.terminate(Duration::from_secs(60)).await.unwrap();
    assert!(status.success(), "{}", capture.log_tail(40));
    let _ = std::fs::remove_dir_all(&dir);
}

fn run_capture(dir: &Path, config_text: &str, file: &str, args: &[&str]) -> (bool, String) {
    std::fs::create_dir_all(dir).unwrap();
    let config = dir.join(file);
    std::fs::write(&config, config_text).unwrap();
    let output = Command::new(workspace_binary("cdc-capture").unwrap())
        .arg("--config")
        .arg(&config)
        .args(args)
        .env("CDC_CAPTURE__KAFKA__BOOTSTRAP_SERVERS", "127.0.0.1:1")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[test]
fn options_that_would_change_the_output_are_refused_at_start() {
    let dir = std::env::temp_dir().join(format!("cdc-e2e-dbzrefuse-{}", std::process::id()));
    let json = r#"{
      "name": "inventory-connector",
      "config": {
        "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
        "database.hostname": "127.0.0.1",
        "database.user": "postgres",
        "database.password": "not-for-logs",
        "database.dbname": "inventory",
        "topic.prefix": "dbserver1",
        "plugin.name": "pgoutput",
        "transforms": "unwrap",
        "transforms.unwrap.type": "io.debezium.transforms.ExtractNewRecordState"
      }
    }"#;
    let (ok, out) = run_capture(&dir, json, "connector.json", &[]);
    assert!(!ok, "a refused option must fail the start:\n{out}");
    assert!(out.contains("transforms=unwrap is not supported"), "{out}");
    assert!(
        out.contains("transforms.unwrap.type is not supported"),
        "{out}"
    );
    assert!(!out.contains("not-for-logs"), "{out}");

    // Without the refused options, --check accepts it, masks the password and warns about
    // the absent plugin.name default.
    let accepted = json
        .replace("\"plugin.name\": \"pgoutput\",", "\"max.batch.size\": 10,")
        .replace(
            ",\n        \"transforms\": \"unwrap\",\n        \"transforms.unwrap.type\": \"io.debezium.transforms.ExtractNewRecordState\"",
            "",
        );
    let (ok, out) = run_capture(&dir, &accepted, "connector.json", &["--check"]);
    assert!(ok, "{out}");
    assert!(out.contains("warning: max.batch.size is ignored"), "{out}");
    assert!(out.contains("warning: plugin.name is not set"), "{out}");
    assert!(out.contains("password: ***"), "{out}");
    assert!(!out.contains("not-for-logs"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs the capture on `config` with `envs` until it exits by itself; returns whether it
/// succeeded and its log.
async fn run_to_exit(
    dir: &Path,
    name: &str,
    config: &Path,
    envs: &[(&str, &str)],
) -> (bool, String) {
    let log = dir.join(format!("{name}.log"));
    let mut process = ManagedProcess::spawn(
        &workspace_binary("cdc-capture").unwrap(),
        &["--config", &config.display().to_string()],
        envs,
        &log,
    )
    .unwrap();
    let status = poll_until(
        &format!("cdc-capture ({name}) to exit"),
        Instant::now() + Duration::from_secs(120),
        Duration::from_millis(100),
        || {
            let status = process.exit_status();
            async move { Ok(status) }
        },
    )
    .await
    .unwrap();
    (status.success(), std::fs::read_to_string(&log).unwrap())
}

async fn slot_count(client: &tokio_postgres::Client) -> i64 {
    client
        .query_one(
            "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'modes_slot'",
            &[],
        )
        .await
        .unwrap()
        .get(0)
}

/// `publication.autocreate.mode` disabled/all_tables and `snapshot.mode` initial_only,
/// always, initial after a lost slot (refused) and when_needed, switched through the
/// `CDC_CAPTURE__SNAPSHOT__MODE` override on top of one Debezium file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_and_publication_modes() {
    let dir = std::env::temp_dir().join(format!("cdc-e2e-dbzmodes-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (pg, kafka) = tokio::try_join!(PostgresServer::start(), KafkaBroker::start()).unwrap();
    pg.create_database("dbz").await.unwrap();
    let client = pg.connect("dbz").await.unwrap();
    client
        .batch_execute(
            "CREATE TABLE public.items (id int PRIMARY KEY, v text);
             INSERT INTO public.items VALUES (1, 'a'), (2, 'b');",
        )
        .await
        .unwrap();
    let config = dir.join("connector.properties");
    let write_config = |publication_mode: &str| {
        let text = format!(
            "connector.class=io.debezium.connector.postgresql.PostgresConnector\n\
             plugin.name=pgoutput\n\
             database.hostname={}\ndatabase.port={}\ndatabase.user={}\n\
             database.password=${{env:DBZ_E2E_PG_PASSWORD}}\ndatabase.dbname=dbz\n\
             topic.prefix=modes\nslot.name=modes_slot\npublication.name=modes_pub\n\
             table.include.list=public.items\n\
             publication.autocreate.mode={publication_mode}\n",
            pg.host(),
            pg.port(),
            pg.user()
        );
        std::fs::write(&config, text).unwrap();
    };
    let bootstrap = kafka.bootstrap_servers();
    let state = dir.join("state").display().to_string();
    let listen = format!("127.0.0.1:{}", free_port());
    let envs = |mode: &'static str| -> Vec<(&'static str, String)> {
        vec![
            ("DBZ_E2E_PG_PASSWORD", pg.password().to_owned()),
            ("CDC_CAPTURE__KAFKA__BOOTSTRAP_SERVERS", bootstrap.clone()),
            ("CDC_CAPTURE__STATE__DIR", state.clone()),
            ("CDC_CAPTURE__OPS__LISTEN", listen.clone()),
            ("CDC_CAPTURE__SNAPSHOT__MODE", mode.to_owned()),
        ]
    };
    macro_rules! env_refs {
        ($v:expr) => {
            $v.iter().map(|(k, v)| (*k, v.as_str())).collect::<Vec<_>>()
        };
    }
    let topic = "modes.public.items";

    // disabled: the publication must exist.
    write_config("disabled");
    let e = envs("initial");
    let (ok, log) = run_to_exit(&dir, "disabled", &config, &env_refs!(e)).await;
    assert!(
        !ok && log.contains("publication modes_pub does not exist"),
        "{log}"
    );

    // initial_only (with all_tables): snapshot, exit 0, no slot left behind.
    write_config("all_tables");
    let e = envs("initial_only");
    let (ok, log) = run_to_exit(&dir, "initial_only", &config, &env_refs!(e)).await;
    assert!(ok, "{log}");
    assert_eq!(ops(&wait_records(&bootstrap, topic, 2).await), ["r", "r"]);
    assert_eq!(slot_count(&client).await, 0, "initial_only creates no slot");
    let all: bool = client
        .query_one(
            "SELECT puballtables FROM pg_publication WHERE pubname = 'modes_pub'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(all, "all_tables creates a FOR ALL TABLES publication");

    // always: a snapshot on every start; after a restart, the snapshot and then the changes
    // made while stopped, streamed from the slot.
    let start = |name: &str, mode: &'static str| {
        let e = envs(mode);
        ManagedProcess::spawn(
            &workspace_binary("cdc-capture").unwrap(),
            &["--config", &config.display().to_string()],
            &env_refs!(e),
            &dir.join(format!("{name}.log")),
        )
        .unwrap()
    };
    let mut capture = start("always-1", "always");
    wait_records(&bootstrap, topic, 4).await;
    client
        .batch_execute("INSERT INTO public.items VALUES (3, 'c')")
        .await
        .unwrap();
    let records = wait_records(&bootstrap, topic, 5).await;
    assert_eq!(ops(&records[2..]), ["r", "r", "c"]);
    assert!(capture
        .terminate(Duration::from_secs(60))
        .await
        .unwrap()
        .success());
    client
        .batch_execute(
            "INSERT INTO public.items VALUES (4, 'd'); DELETE FROM public.items WHERE id = 1;",
        )
        .await
        .unwrap();
    let mut capture = start("always-2", "always");
    let records = wait_records(&bootstrap, topic, 11).await;
    assert_eq!(ops(&records[5..]), ["r", "r", "r", "c", "d", "tombstone"]);
    let snapshot_ids: Vec<&Value> = records[5..8]
        .iter()
        .map(|(_, v)| &v["payload"]["after"]["id"])
        .collect();
    assert_eq!(snapshot_ids, [2, 3, 4]);
    assert!(capture
        .terminate(Duration::from_secs(60))
        .await
        .unwrap()
        .success());

    // A lost slot: initial refuses to guess, when_needed takes a new snapshot.
    client
        .batch_execute("SELECT pg_drop_replication_slot('modes_slot')")
        .await
        .unwrap();
    let e = envs("initial");
    let (ok, log) = run_to_exit(&dir, "lost-slot", &config, &env_refs!(e)).await;
    assert!(
        !ok && log.contains("replication slot modes_slot is missing"),
        "{log}"
    );
    let mut capture = start("when-needed", "when_needed");
    let records = wait_records(&bootstrap, topic, 14).await;
    assert_eq!(ops(&records[11..]), ["r", "r", "r"]);
    assert_eq!(slot_count(&client).await, 1);
    assert!(capture
        .terminate(Duration::from_secs(60))
        .await
        .unwrap()
        .success());
    let _ = std::fs::remove_dir_all(&dir);
}
