//! e2e: hostile identifiers. A schema and a table whose names hold spaces, a double quote,
//! upper case and non-ASCII letters, with columns named by reserved words, mixed case, a
//! quote, a space and unicode, go through publication and slot creation, the snapshot SQL,
//! streaming, topic naming (Debezium's `_` for characters a topic name cannot hold) and the
//! Iceberg sink; the mirror table then equals PostgreSQL (`cdc-sink verify`, and pyiceberg
//! reading the columns by their exact names).

use std::time::{Duration, Instant};

use cdc_e2e::pipeline::Pipeline;
use cdc_e2e::records::topics;
use cdc_testkit::{wait_until, workspace_binary};

const SCHEMA: &str = "Sch ema";
const TABLE: &str = "Ta\"ble ünï";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quotes_spaces_unicode_and_reserved_words_round_trip() {
    let mut p = Pipeline::start_named("hostile")
        .await
        .expect("start PostgreSQL and Kafka");
    let dir = p.dir.clone();
    let admin = p.connect().await.unwrap();
    admin
        .batch_execute(
            r#"CREATE SCHEMA "Sch ema";
               CREATE TABLE "Sch ema"."Ta""ble ünï" (
                   "select" integer PRIMARY KEY,
                   "Mixed Case" text,
                   "quo""te" text,
                   "from" bigint,
                   "spa ce" text,
                   "ünïcödé" text
               );
               INSERT INTO "Sch ema"."Ta""ble ünï"
               SELECT g, 'Mixed ' || g, 'q"' || g, g * 10, 'a b ' || g, 'ü' || g
               FROM generate_series(1, 20) g;"#,
        )
        .await
        .unwrap();
    let table = format!("{SCHEMA}.{TABLE}");
    // TOML basic string: the quote escaped.
    p.set_capture_tables(&[&table.replace('"', "\\\"")], "")
        .unwrap();
    p.start_capture().unwrap();
    p.start_sink().unwrap();
    p.wait_for_snapshot(20, Duration::from_secs(120))
        .await
        .unwrap_or_else(|e| panic!("{e}\n(logs in {})", dir.display()));
    admin
        .batch_execute(
            r#"INSERT INTO "Sch ema"."Ta""ble ünï" VALUES (100, 'new', 'q""', 1, ' ', 'ß');
               UPDATE "Sch ema"."Ta""ble ünï" SET "Mixed Case" = 'changed', "from" = -1 WHERE "select" = 5;
               DELETE FROM "Sch ema"."Ta""ble ünï" WHERE "select" = 7;"#,
        )
        .await
        .unwrap();

    // Debezium's topic name: characters outside [A-Za-z0-9._-] become `_`.
    let expected_topic = "shop.Sch_ema.Ta_ble__n_";
    let bootstrap = p.kafka.bootstrap_servers();
    let listed = tokio::task::spawn_blocking(move || topics(&bootstrap))
        .await
        .unwrap()
        .unwrap();
    assert!(
        listed.iter().any(|t| t == expected_topic),
        "{expected_topic} not in {listed:?}"
    );

    // The mirror equals the source (verify polls until the sink committed).
    let conninfo = format!(
        "host={} port={} user={} dbname=shop",
        p.pg.host(),
        p.pg.port(),
        p.pg.user()
    );
    let mut last = String::new();
    let t0 = Instant::now();
    let ok = wait_until(
        Instant::now() + Duration::from_secs(90),
        Duration::from_millis(500),
        || {
            let out = std::process::Command::new(workspace_binary("cdc-sink").unwrap())
                .args(["verify", "--config"])
                .arg(dir.join("sink.toml"))
                .args(["--source", &conninfo, "--table", &table])
                .env("PGPASSWORD", p.pg.password())
                .output()
                .unwrap();
            last = format!(
                "exit {:?}: {}{}",
                out.status.code(),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            let ok = out.status.success() && last.contains("verify: OK") && last.contains(" 20\n");
            async move { ok }
        },
    )
    .await;
    assert!(
        ok.is_ok(),
        "verify never matched: {last}\n(logs in {})",
        dir.display()
    );
    println!(
        "e2e hostile: {last:?} after {:.1}s",
        t0.elapsed().as_secs_f64()
    );
    let shown = cdc_e2e::readback::show(&p.lake_dir(), &table, 3)
        .await
        .unwrap_or_else(|e| panic!("pyiceberg/DuckDB read-back: {e}"));
    for column in [
        "select",
        "Mixed Case",
        "quo\"te",
        "from",
        "spa ce",
        "ünïcödé",
    ] {
        assert!(
            shown.contains(column),
            "column {column:?} missing in:\n{shown}"
        );
    }
    p.shutdown().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
