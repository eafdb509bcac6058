//! e2e: a parallel initial snapshot (3 workers over CTID chunks) is interrupted with
//! `kill -9` and resumes without starting over: after the restart only the chunks not yet
//! published are read, and a `read_committed` reader sees every row exactly once as `op=r`,
//! one `first` and one `last` marker, followed by streaming.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use cdc_e2e::pipeline::Pipeline;
use cdc_e2e::topics::{payload, read_topic};
use cdc_testkit::wait_until;

const ROWS: i64 = 60_000;

async fn snapshot_rows(p: &Pipeline) -> f64 {
    match Pipeline::http_get(&p.capture_metrics, "/metrics").await {
        Ok((_, body)) => Pipeline::metric(&body, "cdc_capture_snapshot_rows_total").unwrap_or(0.0),
        Err(_) => 0.0,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interrupted_parallel_snapshot_resumes_without_duplicates() {
    let mut p = Pipeline::start_named("snapresume")
        .await
        .expect("start PostgreSQL and Kafka");
    let dir = p.dir.clone();
    let client = p.connect().await.unwrap();
    client
        .batch_execute(&format!(
            "CREATE TABLE big (id bigint PRIMARY KEY, v text NOT NULL);
             INSERT INTO big SELECT g, md5(g::text) FROM generate_series(1, {ROWS}) g;
             ANALYZE big;"
        ))
        .await
        .unwrap();
    p.set_capture_tables(&["public.big"], "").unwrap();
    p.set_capture_snapshot("fetch_size = 500\nmax_threads = 3")
        .unwrap();

    p.start_capture().unwrap();
    let deadline = Instant::now() + Duration::from_secs(180);
    wait_until(deadline, Duration::from_millis(20), || async {
        snapshot_rows(&p).await >= ROWS as f64 * 0.4
    })
    .await
    .expect("snapshot progress");
    let before_kill = snapshot_rows(&p).await;
    p.kill_capture().unwrap();
    println!("snapshot-resume: capture killed after {before_kill} rows read");

    p.start_capture().unwrap();
    p.wait_for_snapshot(1, Duration::from_secs(180))
        .await
        .unwrap_or_else(|e| panic!("{e}\n(logs in {})", dir.display()));
    let reread = snapshot_rows(&p).await;
    client
        .batch_execute("INSERT INTO big VALUES (0, 'after the snapshot')")
        .await
        .unwrap();
    p.wait_slot_caught_up(Duration::from_secs(60))
        .await
        .unwrap();

    let bootstrap = p.kafka.bootstrap_servers().to_owned();
    let data = tokio::task::spawn_blocking(move || read_topic(&bootstrap, "shop.public.big"))
        .await
        .unwrap()
        .unwrap();
    let mut reads: BTreeMap<i64, u32> = BTreeMap::new();
    let mut markers: BTreeMap<String, u32> = BTreeMap::new();
    let mut creates = 0;
    for recs in data.values() {
        for cdc_e2e::topics::Record { value, .. } in recs {
            let v = payload(value.as_deref());
            let id = v["after"]["id"].as_i64().expect("after.id");
            match v["op"].as_str() {
                Some("r") => {
                    *reads.entry(id).or_default() += 1;
                    let m = v["source"]["snapshot"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned();
                    *markers.entry(m).or_default() += 1;
                }
                Some("c") => creates += 1,
                other => panic!("unexpected op {other:?}"),
            }
        }
    }
    let duplicated = reads.values().filter(|&&n| n > 1).count();
    println!(
        "snapshot-resume: rows={ROWS} read_before_kill={before_kill} read_after_restart={reread} \
         distinct_reads={} duplicated={duplicated} markers={markers:?}",
        reads.len()
    );
    assert_eq!(reads.len() as i64, ROWS, "every row read");
    assert_eq!(duplicated, 0, "no row read twice");
    assert!(
        reread < ROWS as f64,
        "the restarted snapshot read {reread} rows: it started over"
    );
    assert_eq!(markers.get("first"), Some(&1), "{markers:?}");
    assert_eq!(markers.get("last"), Some(&1), "{markers:?}");
    assert_eq!(creates, 1, "streaming continued after the snapshot");
    p.stop_processes().await.expect("graceful shutdown exits 0");
    p.shutdown().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
