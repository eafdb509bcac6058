//! Starts the real services and checks the properties the CDC pipeline relies on.

use std::time::{Duration, Instant};

use cdc_testkit::{poll_until, KafkaBroker, PostgresServer, TestkitError};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_supports_logical_replication() {
    let pg = PostgresServer::start()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(pg.host(), "127.0.0.1");

    // The password is really checked (SCRAM over TCP).
    let wrong = tokio_postgres::connect(
        &format!(
            "host={} port={} user={} password=wrong dbname=postgres",
            pg.host(),
            pg.port(),
            pg.user()
        ),
        tokio_postgres::NoTls,
    )
    .await;
    assert!(wrong.is_err(), "a wrong password must be rejected");

    pg.create_database("shop").await.expect("create database");
    pg.create_database("shop")
        .await
        .expect("create database is idempotent");
    let client = pg.connect("shop").await.expect("connect");

    let wal_level: String = client
        .query_one("SHOW wal_level", &[])
        .await
        .expect("SHOW wal_level")
        .get(0);
    assert_eq!(wal_level, "logical");

    let row = client
        .query_one(
            "SELECT slot_name::text FROM pg_create_logical_replication_slot('t', 'pgoutput')",
            &[],
        )
        .await
        .expect("create logical replication slot");
    assert_eq!(row.get::<_, String>(0), "t");

    let dir = pg.dir().to_path_buf();
    assert!(dir.exists());
    pg.stop().await.expect("stop postgres");
    // `pg` was consumed by stop(): its temp dir is gone now.
    assert!(!dir.exists(), "temp dir removed after the server is gone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_start_in_reuses_the_cluster() {
    let parent = tempfile::tempdir().expect("tempdir");
    let dir = parent.path().join("pg");
    let port = cdc_testkit::free_port();

    let pg = PostgresServer::start_in(&dir, port)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    pg.create_database("keep").await.expect("create database");
    pg.stop().await.expect("stop");

    let pg = PostgresServer::start_in(&dir, port)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let client = pg
        .connect("keep")
        .await
        .expect("database survived the restart");
    client.simple_query("SELECT 1").await.expect("query");
    drop(client);
    drop(pg); // immediate shutdown via Drop
    assert!(
        dir.join("data/PG_VERSION").exists(),
        "start_in data is kept"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_round_trips_a_message() {
    let kafka = KafkaBroker::start().await.unwrap_or_else(|e| panic!("{e}"));
    let bootstrap = kafka.bootstrap_servers();
    assert_eq!(bootstrap, format!("127.0.0.1:{}", kafka.port()));

    // The broker does not auto-create topics (like MSK): create it first.
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .create()
        .expect("admin client");
    let created = admin
        .create_topics(
            &[NewTopic::new(
                "testkit-roundtrip",
                1,
                TopicReplication::Fixed(1),
            )],
            &AdminOptions::new(),
        )
        .await
        .expect("create_topics");
    assert!(created.iter().all(Result::is_ok), "{created:?}");

    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .set("message.timeout.ms", "30000")
        .create()
        .expect("producer");
    producer
        .send(
            FutureRecord::to("testkit-roundtrip")
                .key("k1")
                .payload("hello"),
            Duration::from_secs(30),
        )
        .await
        .unwrap_or_else(|(e, _)| panic!("produce failed: {e}\n{}", kafka.log_tail(40)));

    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .set("group.id", "testkit-test")
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    consumer
        .subscribe(&["testkit-roundtrip"])
        .expect("subscribe");
    let deadline = Instant::now() + Duration::from_secs(60);
    let (key, payload) = poll_until(
        "the message to be consumed",
        deadline,
        Duration::ZERO,
        || async {
            match consumer.recv().await {
                Ok(m) => Ok(Some((
                    m.key().map(|k| String::from_utf8_lossy(k).into_owned()),
                    m.payload().map(|p| String::from_utf8_lossy(p).into_owned()),
                ))),
                Err(e) => Err(TestkitError::Kafka {
                    context: "consume".into(),
                    source: e,
                }),
            }
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", kafka.log_tail(40)));
    assert_eq!(key.as_deref(), Some("k1"));
    assert_eq!(payload.as_deref(), Some("hello"));

    drop(consumer);
    drop(producer);
    kafka.stop().await.expect("stop kafka");
}
