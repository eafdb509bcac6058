//! e2e: an ad-hoc incremental snapshot of a MariaDB table through Debezium's signal table
//! (`execute-snapshot` row → watermarked primary-key chunks), while a write load keeps
//! updating, deleting and inserting rows of the same table, with a restart of the capture in
//! the middle of the snapshot.
//!
//! The capture starts with `snapshot.mode = no_data`, so every `op=r` record comes from the
//! incremental snapshot. Replaying the topic in order (r/c/u set the row, d removes it) must
//! give exactly the table's final state — a chunk row never overwrites a newer streamed
//! change — and every row the load never touched is read exactly once (the restart resumes
//! from the stored progress instead of starting over, and re-reads no published chunk). A
//! second table of the same request, with a composite `(INT, VARCHAR)` key, is read after the
//! first: every row exactly once.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cdc_e2e::mariadb::spawn_capture;
use cdc_e2e::topics::{payload, read_topic, Record};
use cdc_testkit::{poll_until, wait_until, KafkaBroker, MariaDbServer};
use mysql_async::prelude::Queryable;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const ROWS: i64 = 10_000;
const TOPIC: &str = "mdbi.inv.inc";
const SENTINEL: i64 = 1_000_000_000;
const PAIRS: i64 = 1_000;

/// Replays the topic: the resulting rows, how often each key was read (`op=r`), and the keys
/// the stream changed.
type Replayed = (BTreeMap<i64, i64>, BTreeMap<i64, u32>, BTreeSet<i64>);

async fn replay(bootstrap: &str) -> Replayed {
    let b = bootstrap.to_owned();
    let data = tokio::task::spawn_blocking(move || read_topic(&b, TOPIC))
        .await
        .unwrap()
        .unwrap();
    let (mut state, mut reads, mut touched) = Replayed::default();
    for Record { key, value, .. } in data.values().flatten() {
        let id = payload(key.as_deref())["id"].as_i64().unwrap();
        let Some(value) = value else { continue };
        let v = payload(Some(value));
        match v["op"].as_str() {
            Some("r") => {
                let source = &v["source"];
                assert_eq!(source["snapshot"], "incremental", "{v}");
                assert_eq!(source["connector"], "mariadb", "{v}");
                assert_eq!(
                    (&source["db"], &source["table"]),
                    (&"inv".into(), &"inc".into())
                );
                assert!(source["file"]
                    .as_str()
                    .is_some_and(|f| f.starts_with("mariadb-bin.")));
                assert!(v["before"].is_null(), "{v}");
                *reads.entry(id).or_default() += 1;
                state.insert(id, v["after"]["v"].as_i64().unwrap());
            }
            Some("c") | Some("u") => {
                assert_eq!(v["source"]["snapshot"], "false", "{v}");
                touched.insert(id);
                state.insert(id, v["after"]["v"].as_i64().unwrap());
            }
            Some("d") => {
                touched.insert(id);
                state.remove(&id);
            }
            other => panic!("unexpected op {other:?}: {v}"),
        }
    }
    (state, reads, touched)
}

async fn wait_log(path: &std::path::Path, text: &str, secs: u64) {
    let (p, t) = (path.to_owned(), text.to_owned());
    wait_until(
        Instant::now() + Duration::from_secs(secs),
        Duration::from_millis(100),
        || {
            let (p, t) = (p.clone(), t.clone());
            async move { std::fs::read_to_string(&p).is_ok_and(|l| l.contains(&t)) }
        },
    )
    .await
    .unwrap_or_else(|_| panic!("{text:?} not in {} within {secs}s", path.display()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_incremental_snapshot_under_load_with_restart_converges() {
    let started = Instant::now();
    let (db, kafka) = tokio::try_join!(MariaDbServer::start(), KafkaBroker::start())
        .expect("start MariaDB and Kafka");
    let bootstrap = kafka.bootstrap_servers();
    for sql in [
        "CREATE DATABASE inv".to_owned(),
        "CREATE TABLE inv.inc (id BIGINT PRIMARY KEY, v BIGINT NOT NULL)".to_owned(),
        // The SEQUENCE engine's virtual table of 1..ROWS.
        format!("INSERT INTO inv.inc SELECT seq, seq FROM inv.seq_1_to_{ROWS}"),
        "CREATE TABLE inv.debezium_signal (id VARCHAR(42) PRIMARY KEY, \
         type VARCHAR(32) NOT NULL, data VARCHAR(2048) NULL)"
            .to_owned(),
        // A second table, snapshotted after the first: a composite key with a character part
        // (bound as the values the server returned), left alone by the load.
        "CREATE TABLE inv.pair (a INT, b VARCHAR(10), v INT NOT NULL, PRIMARY KEY (a, b))"
            .to_owned(),
        format!(
            "INSERT INTO inv.pair SELECT seq DIV 10, CONCAT('k', seq MOD 10), seq \
             FROM inv.seq_0_to_{}",
            PAIRS - 1
        ),
        // The capture writes its watermarks into the signal table (as Debezium requires).
        format!(
            "GRANT INSERT ON inv.debezium_signal TO '{}'@'{}'",
            db.cdc_user().0,
            db.host()
        ),
    ] {
        db.execute(&sql).await.expect(&sql);
    }
    let dir: PathBuf =
        std::env::temp_dir().join(format!("cdc-e2e-mariadb-incr-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("capture.toml");
    std::fs::write(
        &config,
        format!(
            "topic_prefix = \"mdbi\"\n\n[source]\nkind = \"mariadb\"\nhost = \"{host}\"\n\
             port = {port}\nuser = \"cdc\"\npassword = {{ env = \"CDC_TEST_MARIADB_PASSWORD\" }}\n\
             server_id = 5401\ntables = [\"inv.inc\", \"inv.pair\"]\n\
             signal_data_collection = \"inv.debezium_signal\"\n\n\
             [kafka]\nbootstrap_servers = \"{bootstrap}\"\n\n\
             [snapshot]\nmode = \"no_data\"\nincremental_chunk_size = 100\n\n\
             [events]\nheartbeat_interval_ms = 500\n",
            host = db.host(),
            port = db.port(),
        ),
    )
    .unwrap();
    let mut capture =
        spawn_capture(&db, &dir, &config, "capture-1.log").expect("spawn cdc-capture");
    wait_log(&dir.join("capture-1.log"), "streaming the binlog", 120).await;

    // Load on the same table while the incremental snapshot runs (and while the capture is
    // down for its restart).
    let stop = Arc::new(AtomicBool::new(false));
    let load = tokio::spawn({
        let stop = stop.clone();
        let mut conn = db.connect_admin().await.unwrap();
        async move {
            let mut rng = StdRng::seed_from_u64(7);
            let (mut next_id, mut next_v, mut changes) = (ROWS + 1, 1_000_000i64, 0u64);
            // About 500 changes a second: most rows are changed during the snapshot only by
            // chance, so both paths (chunk row kept, chunk row dropped) are exercised.
            let mut pace = tokio::time::interval(Duration::from_millis(2));
            while !stop.load(Ordering::SeqCst) {
                pace.tick().await;
                let id = rng.random_range(1..=ROWS + 200);
                next_v += 1;
                let sql = match rng.random_range(0..10) {
                    0..=5 => format!("UPDATE inv.inc SET v = {next_v} WHERE id = {id}"),
                    6..=7 => format!("DELETE FROM inv.inc WHERE id = {id}"),
                    _ => {
                        next_id += 1;
                        format!("INSERT INTO inv.inc VALUES ({next_id}, {next_v})")
                    }
                };
                conn.query_drop(sql).await.expect("load");
                changes += 1;
            }
            changes
        }
    });
    db.execute(
        "INSERT INTO inv.debezium_signal VALUES ('ad-hoc-1', 'execute-snapshot', \
         '{\"data-collections\": [\"inv.inc\", \"inv.pair\"], \"type\": \"incremental\"}')",
    )
    .await
    .unwrap();

    // Restart once some chunks are published, well before the end. (Kafka cannot be read
    // `read_committed` to its end while the load keeps a transaction open: the signal table
    // tells how many windows were written.)
    let server = &db;
    poll_until(
        "ten incremental snapshot windows",
        Instant::now() + Duration::from_secs(120),
        Duration::from_millis(200),
        || async move {
            let mut conn = server.connect_admin().await?;
            let n: Option<u64> = conn
                .query_first(
                    "SELECT COUNT(*) FROM inv.debezium_signal \
                         WHERE type = 'snapshot-window-close'",
                )
                .await
                .expect("count windows");
            Ok::<_, cdc_testkit::TestkitError>((n.unwrap_or(0) >= 10).then_some(()))
        },
    )
    .await
    .expect("incremental snapshot windows");
    let status = capture
        .terminate(Duration::from_secs(60))
        .await
        .expect("stop cdc-capture");
    assert!(status.success(), "exit {status}: {}", capture.log_tail(40));
    let first_log = std::fs::read_to_string(dir.join("capture-1.log")).unwrap();
    assert!(
        !first_log.contains("incremental snapshot finished"),
        "the snapshot finished before the restart: not a mid-snapshot restart"
    );
    let (_, before_restart, _) = replay(&bootstrap).await;
    let mut capture =
        spawn_capture(&db, &dir, &config, "capture-2.log").expect("spawn cdc-capture");
    let second = dir.join("capture-2.log");
    wait_log(&second, "resuming an incremental snapshot", 120).await;
    wait_log(&second, "incremental snapshot finished", 300).await;
    stop.store(true, Ordering::SeqCst);
    let changes = load.await.unwrap();
    // Everything before the sentinel is published once the sentinel is.
    db.execute(&format!("INSERT INTO inv.inc VALUES ({SENTINEL}, 0)"))
        .await
        .unwrap();
    let b = bootstrap.clone();
    let (state, reads, touched) = poll_until(
        "the sentinel row",
        Instant::now() + Duration::from_secs(120),
        Duration::from_millis(300),
        || {
            let b = b.clone();
            async move {
                let r = replay(&b).await;
                Ok::<_, cdc_testkit::TestkitError>(r.0.contains_key(&SENTINEL).then_some(r))
            }
        },
    )
    .await
    .expect("the sentinel row is published");

    // The composite-key table: every row exactly once, as `op=r`.
    let b = bootstrap.clone();
    let pairs = tokio::task::spawn_blocking(move || read_topic(&b, "mdbi.inv.pair"))
        .await
        .unwrap()
        .unwrap();
    let mut pair_reads: BTreeMap<(i64, String), i64> = BTreeMap::new();
    for Record { key, value, .. } in pairs.values().flatten() {
        let k = payload(key.as_deref());
        let v = payload(value.as_deref());
        assert_eq!(v["op"], "r", "{v}");
        assert_eq!(v["source"]["snapshot"], "incremental", "{v}");
        let id = (
            k["a"].as_i64().unwrap(),
            k["b"].as_str().unwrap().to_owned(),
        );
        let previous = pair_reads.insert(id.clone(), v["after"]["v"].as_i64().unwrap());
        assert!(previous.is_none(), "{id:?} read twice");
    }
    assert_eq!(pair_reads.len() as i64, PAIRS, "rows of inv.pair");
    for ((a, b), v) in &pair_reads {
        assert_eq!(format!("k{}", v % 10), *b);
        assert_eq!(v / 10, *a);
    }

    let mut conn = db.connect_admin().await.unwrap();
    let table: BTreeMap<i64, i64> = conn
        .query::<(i64, i64), _>("SELECT id, v FROM inv.inc ORDER BY id")
        .await
        .unwrap()
        .into_iter()
        .collect();
    let diverged = table
        .iter()
        .filter(|(k, v)| state.get(k) != Some(v))
        .count()
        + state.keys().filter(|k| !table.contains_key(k)).count();
    let untouched_read_twice = reads
        .iter()
        .filter(|(k, n)| **n > 1 && !touched.contains(k))
        .count();
    let untouched_missing = table
        .keys()
        .filter(|k| !touched.contains(k) && !reads.contains_key(k))
        .count();
    println!(
        "mariadb incremental: rows={} load_changes={changes} reads={} (before restart {}) \
         diverged={diverged} untouched_read_twice={untouched_read_twice} \
         untouched_missing={untouched_missing} elapsed={:?}",
        table.len(),
        reads.values().sum::<u32>(),
        before_restart.len(),
        started.elapsed()
    );
    assert!(before_restart.len() < table.len() / 2, "restart came late");
    assert!(
        reads.len() > table.len() / 2,
        "too few rows kept from the chunks: {}",
        reads.len()
    );
    assert_eq!(diverged, 0, "replayed topic differs from the table");
    assert_eq!(
        untouched_read_twice, 0,
        "rows read twice: the restart started over"
    );
    assert_eq!(untouched_missing, 0, "rows never read");
    let status = capture
        .terminate(Duration::from_secs(60))
        .await
        .expect("stop cdc-capture");
    assert!(status.success(), "exit {status}: {}", capture.log_tail(40));
    drop(conn);
    db.stop().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
