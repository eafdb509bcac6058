//! e2e: an ad-hoc incremental snapshot triggered through Debezium's signal table while a
//! write load keeps changing the same table. Replaying the topic in order (r/c/u set the row,
//! d removes it) must give exactly the table's final state — the watermark algorithm never
//! lets a snapshot row overwrite a newer change — and every row untouched by the load is read
//! exactly once, as `op=r` with `snapshot=incremental` and no `txId`/`lsn`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cdc_e2e::pipeline::Pipeline;
use cdc_e2e::topics::{payload, read_topic, Record};
use cdc_testkit::wait_until;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const ROWS: i64 = 5_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signal_table_incremental_snapshot_under_load_converges() {
    let mut p = Pipeline::start_named("incr")
        .await
        .expect("start PostgreSQL and Kafka");
    let dir = p.dir.clone();
    let client = p.connect().await.unwrap();
    client
        .batch_execute(&format!(
            "CREATE TABLE inc (id bigint PRIMARY KEY, v bigint NOT NULL);
             INSERT INTO inc SELECT g, g FROM generate_series(1, {ROWS}) g;
             CREATE TABLE debezium_signal (id varchar(42) PRIMARY KEY,
                 type varchar(32) NOT NULL, data varchar(2048) NULL);"
        ))
        .await
        .unwrap();
    p.set_capture_tables(
        &["public.inc"],
        "signal_data_collection = \"public.debezium_signal\"\n",
    )
    .unwrap();
    p.set_capture_snapshot("fetch_size = 100\nmode = \"no_data\"\nincremental_chunk_size = 400")
        .unwrap();
    p.start_capture().unwrap();
    p.wait_for_snapshot(0, Duration::from_secs(120))
        .await
        .unwrap();

    // Load on the same table while the incremental snapshot runs.
    let stop = Arc::new(AtomicBool::new(false));
    let load = tokio::spawn({
        let stop = stop.clone();
        let client = p.connect().await.unwrap();
        async move {
            let mut rng = StdRng::seed_from_u64(42);
            let (mut next_id, mut next_v, mut changes) = (ROWS + 1, 1_000_000i64, 0u64);
            while !stop.load(Ordering::SeqCst) {
                let id = rng.random_range(1..=ROWS + 200);
                next_v += 1;
                let sql = match rng.random_range(0..10) {
                    0..=5 => format!("UPDATE inc SET v = {next_v} WHERE id = {id}"),
                    6..=7 => format!("DELETE FROM inc WHERE id = {id}"),
                    _ => {
                        next_id += 1;
                        format!("INSERT INTO inc VALUES ({next_id}, {next_v})")
                    }
                };
                client.batch_execute(&sql).await.expect("load");
                changes += 1;
            }
            changes
        }
    });
    client
        .batch_execute(
            "INSERT INTO debezium_signal VALUES ('ad-hoc-1', 'execute-snapshot',
             '{\"data-collections\": [\"public.inc\"], \"type\": \"incremental\"}')",
        )
        .await
        .unwrap();
    let log = dir.join("capture.log");
    wait_until(
        Instant::now() + Duration::from_secs(240),
        Duration::from_millis(200),
        || {
            let log = log.clone();
            async move {
                std::fs::read_to_string(&log)
                    .is_ok_and(|l| l.contains("incremental snapshot finished"))
            }
        },
    )
    .await
    .unwrap_or_else(|_| {
        panic!(
            "incremental snapshot did not finish (logs in {})",
            dir.display()
        )
    });
    stop.store(true, Ordering::SeqCst);
    let changes = load.await.unwrap();
    p.wait_slot_caught_up(Duration::from_secs(120))
        .await
        .unwrap();

    let bootstrap = p.kafka.bootstrap_servers().to_owned();
    let data = tokio::task::spawn_blocking(move || read_topic(&bootstrap, "shop.public.inc"))
        .await
        .unwrap()
        .unwrap();
    let mut state: BTreeMap<i64, i64> = BTreeMap::new();
    let mut reads: BTreeMap<i64, u32> = BTreeMap::new();
    let mut touched: std::collections::BTreeSet<i64> = Default::default();
    for Record { key, value, .. } in data.values().flatten() {
        let id = payload(key.as_deref())["id"].as_i64().unwrap();
        let Some(value) = value else { continue };
        let v = payload(Some(value));
        match v["op"].as_str() {
            Some("r") => {
                assert_eq!(v["source"]["snapshot"], "incremental", "{v}");
                assert!(
                    v["source"]["txId"].is_null() && v["source"]["lsn"].is_null(),
                    "{v}"
                );
                *reads.entry(id).or_default() += 1;
                state.insert(id, v["after"]["v"].as_i64().unwrap());
            }
            Some("c") | Some("u") => {
                touched.insert(id);
                state.insert(id, v["after"]["v"].as_i64().unwrap());
            }
            Some("d") => {
                touched.insert(id);
                state.remove(&id);
            }
            other => panic!("unexpected op {other:?}"),
        }
    }
    let rows = client
        .query("SELECT id, v FROM inc ORDER BY id", &[])
        .await
        .unwrap();
    let pg: BTreeMap<i64, i64> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    let diverged = pg.iter().filter(|(k, v)| state.get(k) != Some(v)).count()
        + state.keys().filter(|k| !pg.contains_key(k)).count();
    let untouched_read_twice = reads
        .iter()
        .filter(|(k, n)| **n > 1 && !touched.contains(k))
        .count();
    let untouched_missing = pg
        .keys()
        .filter(|k| !touched.contains(k) && !reads.contains_key(k))
        .count();
    println!(
        "incremental: rows={} load_changes={changes} reads={} diverged={diverged} \
         untouched_read_twice={untouched_read_twice} untouched_missing={untouched_missing}",
        pg.len(),
        reads.values().sum::<u32>()
    );
    assert_eq!(diverged, 0, "replayed topic differs from the table");
    assert_eq!(untouched_read_twice, 0);
    assert_eq!(untouched_missing, 0);
    p.stop_processes().await.expect("graceful shutdown exits 0");
    p.shutdown().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
