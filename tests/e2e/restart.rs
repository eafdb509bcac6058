//! e2e: `kill -9` of `cdc-capture` and of `cdc-sink` in the middle of a write load, then
//! restarts: no change is lost (duplicates are allowed until exactly-once lands), every
//! record is still a valid envelope, and Iceberg's latest state equals PostgreSQL. Runs once
//! per supported PostgreSQL major version (15 from Debian, 17 from `dev/lib/install.sh`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cdc_e2e::pipeline::Pipeline;
use cdc_e2e::workload::{Spec, Workload};
use cdc_testkit::{wait_until, PgInstall};

async fn wait_progress(progress: &AtomicUsize, at_least: usize) {
    wait_until(
        Instant::now() + Duration::from_secs(120),
        Duration::from_millis(5),
        || async { progress.load(Ordering::SeqCst) >= at_least },
    )
    .await
    .expect("workload progress");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_of_capture_and_sink_mid_stream_loses_nothing_on_postgres_15() {
    run(PgInstall::debian(15).unwrap(), 15).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_of_capture_and_sink_mid_stream_loses_nothing_on_postgres_17() {
    run(PgInstall::pg17().unwrap(), 17).await;
}

async fn run(install: PgInstall, major: u32) {
    let dir =
        std::env::temp_dir().join(format!("cdc-e2e-restart-pg{major}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut p = Pipeline::start_with(&dir, &install)
        .await
        .expect("start PostgreSQL and Kafka");
    assert_eq!(p.server_major_version().await.unwrap(), major);
    let client = p.connect().await.unwrap();
    let mut workload = Workload::setup(&client, 7, 100, 100).await.unwrap();
    p.start_capture().unwrap();
    p.start_sink().unwrap();
    // Kill mid-stream, not mid-snapshot (an interrupted snapshot restarts from scratch).
    p.wait_for_snapshot(200, Duration::from_secs(120))
        .await
        .unwrap();

    let spec = Spec {
        inserts: 2000,
        updates: 600,
        pk_changes: 20,
        deletes: 200,
    };
    let total = spec.inserts + spec.updates + spec.deletes;
    let progress = Arc::new(AtomicUsize::new(0));
    let load = tokio::spawn({
        let progress = progress.clone();
        async move { workload.run(&client, spec, &progress).await }
    });

    wait_progress(&progress, total / 5).await;
    p.kill_capture().unwrap();
    println!(
        "restart: capture killed at {} ops",
        progress.load(Ordering::SeqCst)
    );
    wait_progress(&progress, total * 2 / 5).await;
    p.start_capture().unwrap();
    wait_progress(&progress, total * 3 / 5).await;
    p.kill_sink().unwrap();
    println!(
        "restart: sink killed at {} ops",
        progress.load(Ordering::SeqCst)
    );
    wait_progress(&progress, total * 4 / 5).await;
    p.start_sink().unwrap();
    let done = load.await.unwrap().unwrap();

    let t0 = Instant::now();
    let reports = p
        .wait_until_in_sync(Duration::from_secs(240))
        .await
        .unwrap_or_else(|e| panic!("{e}\n(logs in {})", dir.display()));
    let report = p.check_topics().await.unwrap();
    let op = |code: &str| report.ops.get(code).copied().unwrap_or(0);
    // Nothing lost: at least every change made it (replays after kill -9 may add copies).
    assert!(
        op("c") >= (done.inserts + spec.pk_changes) as u64,
        "{report:?}"
    );
    assert!(
        op("d") >= (done.deletes + spec.pk_changes) as u64,
        "{report:?}"
    );
    assert!(
        op("u") >= (done.updates - spec.pk_changes) as u64,
        "{report:?}"
    );
    p.stop_processes().await.expect("graceful shutdown exits 0");
    for r in &reports {
        println!(
            "restart: table {} rows={} changelog_rows={}",
            r.table, r.rows, r.changelog_rows
        );
    }
    println!(
        "restart (PostgreSQL {major}): in sync {:.1}s after the load ended; {} Kafka records ({:?})",
        t0.elapsed().as_secs_f64(),
        report.records,
        report.ops
    );
    p.shutdown().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
