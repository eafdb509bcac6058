//! e2e: exactly-once of the Iceberg sink under `kill -9`. A steady write load runs through
//! PostgreSQL → cdc-capture → Kafka → cdc-sink (changelog + mirror) while the sink is killed
//! with SIGKILL 20 times at random moments (start-up, table claims, mid-batch, mid-commit).
//! Afterwards the mirror tables equal PostgreSQL exactly, and every changelog table holds each
//! Kafka change record of its topic exactly once — no record lost, none duplicated — read
//! back with pyiceberg and counted again with DuckDB. The kill moments come from a printed
//! seed; `CDC_TEST_SEED=<seed>` replays a run.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cdc_e2e::pipeline::{Pipeline, TOPIC_PREFIX};
use cdc_e2e::readback::changelog_offsets;
use cdc_e2e::schema::TABLES;
use cdc_e2e::topics::{payload, read_topic};
use cdc_e2e::workload::{Done, Spec, Workload};
use cdc_testkit::PgInstall;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const KILLS: usize = 20;

/// Kafka origins `(partition, offset)` of every change event (not tombstones) per table.
async fn kafka_changes(bootstrap: &str) -> BTreeMap<String, Vec<(i32, i64)>> {
    let bootstrap = bootstrap.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut out = BTreeMap::new();
        for table in TABLES {
            let topic = format!("{TOPIC_PREFIX}.{table}");
            let mut pairs = Vec::new();
            for (partition, records) in read_topic(&bootstrap, &topic).expect("read topic") {
                for r in records {
                    let value = payload(r.value.as_deref());
                    if !value.is_null() && value["op"] != "t" {
                        pairs.push((partition, r.offset));
                    }
                }
            }
            pairs.sort_unstable();
            out.insert(table.to_owned(), pairs);
        }
        out
    })
    .await
    .expect("topic reader task")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sink_killed_20_times_under_load_applies_every_change_exactly_once() {
    let seed = std::env::var("CDC_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_secs())
        });
    println!("sink_kill9: seed={seed} (rerun with CDC_TEST_SEED={seed})");
    let mut rng = StdRng::seed_from_u64(seed);
    let dir = std::env::temp_dir().join(format!("cdc-e2e-sink-kill9-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut p = Pipeline::start_with(&dir, &PgInstall::debian(15).unwrap())
        .await
        .expect("start PostgreSQL and Kafka");
    let client = p.connect().await.unwrap();
    let mut workload = Workload::setup(&client, seed, 50, 50).await.unwrap();
    p.start_capture().unwrap();
    p.start_sink().unwrap();
    p.wait_for_snapshot(100, Duration::from_secs(120))
        .await
        .unwrap();

    // A steady load (~200 changes/s) until the kills are done.
    let stop = Arc::new(AtomicBool::new(false));
    let progress = Arc::new(AtomicUsize::new(0));
    let load = tokio::spawn({
        let (stop, progress) = (stop.clone(), progress.clone());
        async move {
            let spec = Spec {
                inserts: 5,
                updates: 3,
                pk_changes: 1,
                deletes: 2,
            };
            let mut total = Done::default();
            let step = AtomicUsize::new(0);
            while !stop.load(Ordering::SeqCst) {
                let done = workload.run(&client, spec, &step).await?;
                total.inserts += done.inserts;
                total.updates += done.updates;
                total.deletes += done.deletes;
                total.transactions += done.transactions;
                progress.fetch_add(step.load(Ordering::SeqCst), Ordering::SeqCst);
                // Pacing of the load, not synchronisation.
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Ok::<_, cdc_e2e::HarnessError>(total)
        }
    });

    let mut kills = Vec::new();
    for n in 1..=KILLS {
        // Moments from right after spawn (start-up, claims) to well past a commit interval.
        let after = Duration::from_millis(rng.random_range(50..3000));
        let deadline = Instant::now() + after;
        while Instant::now() < deadline {
            if let Err(e) = p.check_running() {
                panic!("kill {n}: the sink stopped by itself before being killed: {e}");
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        p.kill_sink().unwrap();
        kills.push(after.as_millis());
        p.start_sink().unwrap();
    }
    stop.store(true, Ordering::SeqCst);
    // The kills hit a working sink: commits landed between them.
    let log = std::fs::read_to_string(dir.join("sink.log")).unwrap_or_default();
    let count = |needle: &str| log.lines().filter(|l| l.contains(needle)).count();
    let (commits, claims) = (count(" committed "), count("claimed the table"));
    println!("sink_kill9: during the kills: {commits} commits, {claims} table claims");
    assert!(commits > 0, "no commit landed between the kills");
    let done = load.await.unwrap().expect("load");
    println!(
        "sink_kill9: {KILLS} kills at {kills:?} ms after each start; load: {} changes in {} transactions",
        done.inserts + done.updates + done.deletes,
        done.transactions
    );

    let t0 = Instant::now();
    p.wait_until_in_sync(Duration::from_secs(300))
        .await
        .unwrap_or_else(|e| panic!("{e}\n(seed {seed}; logs in {})", dir.display()));
    // Every Kafka change record exactly once in the changelog tables.
    let deadline = Instant::now() + Duration::from_secs(120);
    let bootstrap = p.kafka.bootstrap_servers();
    loop {
        p.check_running().expect("sink running");
        let kafka = kafka_changes(&bootstrap).await;
        let lake: BTreeMap<String, Vec<(i32, i64)>> = changelog_offsets(&p.lake_dir())
            .await
            .expect("changelog offsets")
            .into_iter()
            .collect();
        for (table, pairs) in &lake {
            let dups: Vec<_> = pairs.windows(2).filter(|w| w[0] == w[1]).collect();
            assert!(
                dups.is_empty(),
                "{table}: changelog rows duplicated (seed {seed}): {:?}",
                &dups[..dups.len().min(10)]
            );
        }
        if lake == kafka {
            for (table, pairs) in &lake {
                println!(
                    "sink_kill9: {table}: {} change records, each exactly once in the changelog",
                    pairs.len()
                );
            }
            break;
        }
        assert!(
            Instant::now() < deadline,
            "changelog != Kafka after 120 s (seed {seed}): {}",
            lake.iter()
                .map(|(t, v)| format!(
                    "{t}: lake {} rows, kafka {}",
                    v.len(),
                    kafka.get(t).map_or(0, Vec::len)
                ))
                .collect::<Vec<_>>()
                .join("; ")
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    println!(
        "sink_kill9: mirror == PostgreSQL and changelog exactly once, {:.1}s after the load ended",
        t0.elapsed().as_secs_f64()
    );
    p.shutdown().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
