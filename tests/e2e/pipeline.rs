//! e2e: two tables with every captured type; pre-existing rows (snapshot) plus 1,000 inserts,
//! 300 updates (10 of them primary-key changes) and 100 deletes → every Kafka record is a
//! valid Debezium envelope → the changelog tables' latest state per key equals PostgreSQL,
//! read back with pyiceberg. Runs once per supported PostgreSQL major version (15 from Debian,
//! 17 from `dev/lib/install.sh`).

use std::sync::atomic::AtomicUsize;
use std::time::{Duration, Instant};

use cdc_e2e::pipeline::Pipeline;
use cdc_e2e::workload::{Spec, Workload};
use cdc_testkit::PgInstall;

const SEED_CUSTOMERS: usize = 120;
const SEED_ORDERS: usize = 180;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_and_streaming_of_all_types_reach_iceberg_on_postgres_15() {
    run(PgInstall::debian(15).unwrap(), 15).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_and_streaming_of_all_types_reach_iceberg_on_postgres_17() {
    run(PgInstall::pg17().unwrap(), 17).await;
}

async fn run(install: PgInstall, major: u32) {
    let dir =
        std::env::temp_dir().join(format!("cdc-e2e-pipeline-pg{major}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let started = Instant::now();
    let mut p = Pipeline::start_with(&dir, &install)
        .await
        .expect("start PostgreSQL and Kafka");
    assert_eq!(p.server_major_version().await.unwrap(), major);
    let services_ready = started.elapsed();
    let client = p.connect().await.unwrap();
    let mut workload = Workload::setup(&client, 42, SEED_CUSTOMERS, SEED_ORDERS)
        .await
        .unwrap();

    let t0 = Instant::now();
    p.start_capture().unwrap();
    p.start_sink().unwrap();
    // Changes made before the slot exists belong to the snapshot; wait so the counts are exact.
    p.wait_for_snapshot(
        (SEED_CUSTOMERS + SEED_ORDERS) as u64,
        Duration::from_secs(120),
    )
    .await
    .unwrap();
    let snapshot_done = t0.elapsed();
    let spec = Spec {
        inserts: 1000,
        updates: 300,
        pk_changes: 10,
        deletes: 100,
    };
    let done = workload
        .run(&client, spec, &AtomicUsize::new(0))
        .await
        .unwrap();
    let workload_done = t0.elapsed() - snapshot_done;
    let reports = p
        .wait_until_in_sync(Duration::from_secs(240))
        .await
        .unwrap_or_else(|e| panic!("{e}\n(logs in {})", dir.display()));
    let in_sync = t0.elapsed();

    let report = p.check_topics().await.unwrap();
    // A clean run publishes every change exactly once.
    let op = |code: &str| report.ops.get(code).copied().unwrap_or(0);
    assert_eq!(op("r"), (SEED_CUSTOMERS + SEED_ORDERS) as u64, "{report:?}");
    assert_eq!(
        op("c"),
        (done.inserts + spec.pk_changes) as u64,
        "{report:?}"
    );
    assert_eq!(
        op("u"),
        (done.updates - spec.pk_changes) as u64,
        "{report:?}"
    );
    assert_eq!(
        op("d"),
        (done.deletes + spec.pk_changes) as u64,
        "{report:?}"
    );
    assert_eq!(report.tombstones, op("d"));

    // The slot is confirmed past WAL of tables we do not capture (no WAL retention while
    // the captured tables are idle).
    client
        .batch_execute(
            "CREATE TABLE public.uncaptured (id int PRIMARY KEY); \
             INSERT INTO public.uncaptured SELECT generate_series(1, 1000);",
        )
        .await
        .unwrap();
    let slot_caught_up = p
        .wait_slot_caught_up(Duration::from_secs(90))
        .await
        .unwrap();
    println!(
        "e2e: slot confirmed past uncaptured WAL after {:.1}s",
        slot_caught_up.as_secs_f64()
    );

    // The ops endpoints answer while running.
    for addr in [&p.capture_metrics, &p.sink_metrics] {
        let (status, body) = Pipeline::http_get(addr, "/healthz").await.unwrap();
        assert!(status.contains("200"), "{addr}/healthz: {status} {body}");
    }
    let (_, capture_metrics) = Pipeline::http_get(&p.capture_metrics, "/metrics")
        .await
        .unwrap();
    assert_eq!(
        Pipeline::metric(
            &capture_metrics,
            "cdc_capture_slot_wal_status{status=\"reserved\"}"
        ),
        Some(1.0),
        "{capture_metrics}"
    );
    assert!(Pipeline::metric(&capture_metrics, "cdc_capture_slot_lag_bytes").is_some());
    let (_, sink_metrics) = Pipeline::http_get(&p.sink_metrics, "/metrics")
        .await
        .unwrap();
    assert!(
        Pipeline::metric(&sink_metrics, "cdc_sink_commits_total").unwrap_or(0.0) >= 1.0,
        "{sink_metrics}"
    );
    p.stop_processes().await.expect("graceful shutdown exits 0");
    for r in &reports {
        println!(
            "e2e: table {} rows={} changelog_rows={}",
            r.table, r.rows, r.changelog_rows
        );
    }
    println!(
        "e2e (PostgreSQL {major}) timings: services {:.1}s, snapshot of {} rows read {:.1}s after start, workload {:.1}s ({} transactions), iceberg in sync {:.1}s after start, {} Kafka records checked",
        services_ready.as_secs_f64(),
        SEED_CUSTOMERS + SEED_ORDERS,
        snapshot_done.as_secs_f64(),
        workload_done.as_secs_f64(),
        done.transactions,
        in_sync.as_secs_f64(),
        report.records
    );
    p.shutdown().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
