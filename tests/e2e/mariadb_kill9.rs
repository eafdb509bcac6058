//! e2e: exactly-once from MariaDB 10.11. Under a steady write load (small transactions, some
//! of 3,000 rows that the capture commits to Kafka in pieces, and an `ALTER TABLE` midway),
//! `cdc-capture` is killed with `kill -9` several times at random moments and restarted. A
//! `read_committed` reader must then see every change exactly once, in commit order per key,
//! every delete followed by its tombstone, and one BEGIN and one END per transaction with
//! the right event count.
//!
//! The ground truth is kept by the load generator: every change writes a unique value `v`,
//! so each event is identified by (key, op, v).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cdc_e2e::mariadb::spawn_capture;
use cdc_e2e::topics::{check_topics, payload, read_topic, Record};
use cdc_testkit::{poll_until, KafkaBroker, MariaDbServer};
use mysql_async::prelude::Queryable;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const KILLS: usize = 5;
const SEED_ROWS: i64 = 300;
const BIG_TX_ROWS: i64 = 3_000;
const TOPIC: &str = "mdbk.inv.eo";

#[derive(Debug, Clone, PartialEq, Eq)]
enum Ev {
    Read(i64),
    Create(i64),
    Update(i64),
    Delete,
}

type Truth = BTreeMap<i64, Vec<Ev>>;

struct Load {
    rng: StdRng,
    live: BTreeMap<i64, i64>,
    next_id: i64,
    next_v: i64,
    transactions: usize,
}

impl Load {
    /// One transaction's statements and the events it produces once committed.
    fn transaction(&mut self) -> (Vec<String>, Vec<(i64, Ev)>) {
        self.transactions += 1;
        let mut sql = vec!["BEGIN".to_owned()];
        let mut evs = Vec::new();
        if self.transactions.is_multiple_of(150) {
            let (a, v0) = (self.next_id, self.next_v);
            let b = a + BIG_TX_ROWS - 1;
            sql.push(format!(
                "INSERT INTO inv.eo (id, v, pad) SELECT seq, {v0} + seq - {a}, REPEAT('x', 100) \
                 FROM seq_{a}_to_{b}"
            ));
            for id in a..=b {
                let v = v0 + id - a;
                self.live.insert(id, v);
                evs.push((id, Ev::Create(v)));
            }
            self.next_id = b + 1;
            self.next_v = v0 + BIG_TX_ROWS;
        } else {
            for _ in 0..self.rng.random_range(1..=6) {
                let v = self.next_v;
                self.next_v += 1;
                let roll = self.rng.random_range(0..10);
                let existing = (!self.live.is_empty()).then(|| {
                    let i = self.rng.random_range(0..self.live.len());
                    *self.live.keys().nth(i).expect("index in range")
                });
                match (roll, existing) {
                    (0..=4, _) | (_, None) => {
                        let id = self.next_id;
                        self.next_id += 1;
                        sql.push(format!(
                            "INSERT INTO inv.eo (id, v, pad) VALUES ({id}, {v}, 'p')"
                        ));
                        self.live.insert(id, v);
                        evs.push((id, Ev::Create(v)));
                    }
                    (5..=7, Some(id)) => {
                        sql.push(format!("UPDATE inv.eo SET v = {v} WHERE id = {id}"));
                        self.live.insert(id, v);
                        evs.push((id, Ev::Update(v)));
                    }
                    (_, Some(id)) => {
                        sql.push(format!("DELETE FROM inv.eo WHERE id = {id}"));
                        self.live.remove(&id);
                        evs.push((id, Ev::Delete));
                    }
                }
            }
        }
        sql.push("COMMIT".to_owned());
        (sql, evs)
    }
}

/// Committed change records (tombstones left out) on the data topic.
async fn change_records(bootstrap: &str) -> usize {
    let b = bootstrap.to_owned();
    tokio::task::spawn_blocking(move || read_topic(&b, TOPIC))
        .await
        .expect("reader task")
        .map(|parts| {
            parts
                .values()
                .flatten()
                .filter(|r| r.value.is_some())
                .count()
        })
        .unwrap_or(0)
}

/// The end offset of partition 0 of the data topic (records sent, committed or not): a cheap
/// progress probe.
async fn high_watermark(bootstrap: &str) -> i64 {
    let b = bootstrap.to_owned();
    tokio::task::spawn_blocking(move || {
        use rdkafka::consumer::{BaseConsumer, Consumer};
        let consumer: BaseConsumer = rdkafka::ClientConfig::new()
            .set("bootstrap.servers", &b)
            .create()
            .ok()?;
        consumer
            .fetch_watermarks(TOPIC, 0, Duration::from_secs(5))
            .ok()
            .map(|(_, high)| high)
    })
    .await
    .ok()
    .flatten()
    .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_kill9_under_load_every_change_exactly_once_in_order() {
    let seed: u64 = std::env::var("CDC_E2E_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
            now.map_or(1, |d| d.as_nanos() as u64)
        });
    println!("mariadb exactly-once: seed={seed} (re-run with CDC_E2E_SEED={seed})");
    let (db, kafka) = tokio::try_join!(MariaDbServer::start(), KafkaBroker::start())
        .expect("start MariaDB and Kafka");
    let bootstrap = kafka.bootstrap_servers();
    let mut conn = db.connect_admin().await.unwrap();
    for sql in [
        "CREATE DATABASE inv".to_owned(),
        // The sequence engine's `seq_<a>_to_<b>` tables need a current database.
        "USE inv".to_owned(),
        "CREATE TABLE inv.eo (id BIGINT PRIMARY KEY, v BIGINT NOT NULL, pad VARCHAR(200))"
            .to_owned(),
        format!("INSERT INTO inv.eo SELECT seq, seq, 'seed' FROM seq_1_to_{SEED_ROWS}"),
    ] {
        conn.query_drop(&sql).await.expect(&sql);
    }
    let dir: PathBuf =
        std::env::temp_dir().join(format!("cdc-e2e-mariadb-kill9-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("capture.toml");
    std::fs::write(
        &config,
        format!(
            "topic_prefix = \"mdbk\"\n\n[source]\nkind = \"mariadb\"\nhost = \"{host}\"\n\
             port = {port}\nuser = \"cdc\"\npassword = {{ env = \"CDC_TEST_MARIADB_PASSWORD\" }}\n\
             server_id = 5401\ndatabase_include_list = \"inv\"\n\n[kafka]\n\
             bootstrap_servers = \"{bootstrap}\"\nmax_in_flight = 1000\n\n\
             [snapshot]\nfetch_size = 64\nmax_threads = 2\n\n[events]\n\
             provide_transaction_metadata = true\nheartbeat_interval_ms = 1000\n",
            host = db.host(),
            port = db.port(),
        ),
    )
    .unwrap();
    let truth: Arc<Mutex<Truth>> = Arc::new(Mutex::new(
        (1..=SEED_ROWS).map(|id| (id, vec![Ev::Read(id)])).collect(),
    ));
    let mut capture = spawn_capture(&dir, &config, "capture-0.log");
    poll_until(
        "the snapshot",
        Instant::now() + Duration::from_secs(120),
        Duration::from_millis(250),
        || {
            let b = bootstrap.clone();
            async move { Ok((change_records(&b).await >= SEED_ROWS as usize).then_some(())) }
        },
    )
    .await
    .unwrap_or_else(|e| panic!("snapshot: {e}\n{}", capture.log_tail(40)));

    let stop = Arc::new(AtomicBool::new(false));
    let committed = Arc::new(AtomicUsize::new(0));
    let load = tokio::spawn({
        let (stop, committed, truth) = (stop.clone(), committed.clone(), truth.clone());
        let mut load = Load {
            rng: StdRng::seed_from_u64(seed),
            live: (1..=SEED_ROWS).map(|id| (id, id)).collect(),
            next_id: SEED_ROWS + 1,
            next_v: 1_000_000,
            transactions: 0,
        };
        async move {
            while !stop.load(Ordering::SeqCst) {
                if load.transactions == 200 {
                    conn.query_drop("ALTER TABLE inv.eo ADD COLUMN extra INT")
                        .await
                        .expect("ALTER TABLE");
                }
                let (sql, evs) = load.transaction();
                for statement in &sql {
                    conn.query_drop(statement).await.expect(statement);
                }
                let mut t = truth.lock().unwrap();
                for (id, ev) in evs {
                    t.entry(id).or_default().push(ev);
                }
                committed.fetch_add(1, Ordering::SeqCst);
            }
            load.transactions
        }
    });

    // Faults at random moments (the delays are the fault schedule, not synchronisation).
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed);
    for i in 0..KILLS {
        tokio::time::sleep(Duration::from_millis(rng.random_range(500..2500))).await;
        assert!(
            capture.is_running(),
            "capture died: {}",
            capture.log_tail(40)
        );
        capture.kill9().unwrap();
        println!(
            "mariadb exactly-once: kill -9 {i} after {} transactions",
            committed.load(Ordering::SeqCst)
        );
        capture = spawn_capture(&dir, &config, &format!("capture-{}.log", i + 1));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop.store(true, Ordering::SeqCst);
    let transactions = load.await.unwrap();
    assert!(
        transactions > 200,
        "the ALTER ran: {transactions} transactions"
    );

    let expected: usize = truth.lock().unwrap().values().map(Vec::len).sum();
    poll_until(
        "every change on the topic",
        Instant::now() + Duration::from_secs(180),
        Duration::from_millis(500),
        || {
            let b = bootstrap.clone();
            async move { Ok((change_records(&b).await >= expected).then_some(())) }
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", capture.log_tail(40)));
    let status = capture.terminate(Duration::from_secs(60)).await.unwrap();
    assert!(status.success(), "{status}: {}", capture.log_tail(40));

    let b = bootstrap.clone();
    let (data, txs, report) = tokio::task::spawn_blocking(move || {
        (
            read_topic(&b, TOPIC).unwrap(),
            read_topic(&b, "mdbk.transaction").unwrap(),
            check_topics(&b, &[TOPIC.to_owned()]),
        )
    })
    .await
    .unwrap();
    // Valid envelopes, every delete followed by its tombstone.
    let report = report.unwrap_or_else(|e| panic!("topic check: {e}"));
    println!("mariadb exactly-once: {report:?}");

    let mut actual: Truth = BTreeMap::new();
    let mut per_tx: HashMap<String, u64> = HashMap::new();
    for recs in data.values() {
        for Record { key, value, .. } in recs {
            let Some(value) = value else { continue };
            let v = payload(Some(value));
            let id = payload(key.as_deref())["id"].as_i64().expect("id");
            assert_eq!(v["source"]["connector"], "mariadb");
            let after_v = || v["after"]["v"].as_i64().expect("after.v");
            let ev = match v["op"].as_str() {
                Some("r") => Ev::Read(after_v()),
                Some("c") => Ev::Create(after_v()),
                Some("u") => Ev::Update(after_v()),
                Some("d") => Ev::Delete,
                other => panic!("unexpected op {other:?}"),
            };
            actual.entry(id).or_default().push(ev);
            if let Some(txid) = v["transaction"]["id"].as_str() {
                assert_eq!(v["transaction"]["id"], v["source"]["gtid"]);
                *per_tx.entry(txid.to_owned()).or_default() += 1;
            }
        }
    }
    let truth = truth.lock().unwrap().clone();
    let keys: BTreeSet<i64> = truth.keys().chain(actual.keys()).copied().collect();
    let mut wrong = 0;
    for id in &keys {
        let want = truth.get(id).map(Vec::as_slice).unwrap_or_default();
        let got = actual.get(id).map(Vec::as_slice).unwrap_or_default();
        if want != got {
            wrong += 1;
            if wrong <= 3 {
                eprintln!("key {id}: expected {want:?}\n        got {got:?}");
            }
        }
    }
    let got: usize = actual.values().map(Vec::len).sum();
    assert_eq!(
        wrong, 0,
        "{wrong} keys differ; expected {expected} events, got {got} (seed {seed})"
    );

    let mut begins: HashMap<String, u32> = HashMap::new();
    let mut ends: HashMap<String, (u32, u64)> = HashMap::new();
    for recs in txs.values() {
        for Record { value, .. } in recs {
            let v = payload(value.as_deref());
            let id = v["id"].as_str().unwrap().to_owned();
            match v["status"].as_str() {
                Some("BEGIN") => *begins.entry(id).or_default() += 1,
                Some("END") => {
                    let e = ends.entry(id).or_default();
                    e.0 += 1;
                    e.1 = v["event_count"].as_u64().unwrap();
                }
                other => panic!("unexpected transaction status {other:?}"),
            }
        }
    }
    let bad: Vec<_> = per_tx
        .iter()
        .filter(|(id, n)| begins.get(*id) != Some(&1) || ends.get(*id).copied() != Some((1, **n)))
        .take(5)
        .collect();
    assert!(
        bad.is_empty() && begins.len() == per_tx.len() && ends.len() == per_tx.len(),
        "transaction metadata: {bad:?} ({} transactions with events, {} BEGIN, {} END)",
        per_tx.len(),
        begins.len(),
        ends.len()
    );
    println!(
        "mariadb exactly-once: {transactions} transactions, {got} events, {} kills: exact",
        KILLS
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A snapshot killed midway resumes with the chunks not yet published: every row read
/// exactly once, then streaming continues from the first run's snapshot position.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_snapshot_killed_midway_resumes_without_duplicates() {
    const ROWS: i64 = 60_000;
    let (db, kafka) = tokio::try_join!(MariaDbServer::start(), KafkaBroker::start())
        .expect("start MariaDB and Kafka");
    let bootstrap = kafka.bootstrap_servers();
    for sql in [
        "CREATE DATABASE inv".to_owned(),
        "CREATE TABLE inv.eo (id BIGINT PRIMARY KEY, v BIGINT NOT NULL, pad VARCHAR(200))"
            .to_owned(),
        format!("INSERT INTO inv.eo SELECT seq, seq, REPEAT('s', 150) FROM inv.seq_1_to_{ROWS}"),
    ] {
        db.execute(&sql).await.expect(&sql);
    }
    let dir: PathBuf =
        std::env::temp_dir().join(format!("cdc-e2e-mariadb-snapkill-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("capture.toml");
    std::fs::write(
        &config,
        format!(
            "topic_prefix = \"mdbk\"\n\n[source]\nkind = \"mariadb\"\nhost = \"{host}\"\n\
             port = {port}\nuser = \"cdc\"\npassword = {{ env = \"CDC_TEST_MARIADB_PASSWORD\" }}\n\
             server_id = 5402\ntables = [\"inv.eo\"]\n\n[kafka]\n\
             bootstrap_servers = \"{bootstrap}\"\ncommit_interval_ms = 50\n\n\
             [snapshot]\nfetch_size = 500\nmax_threads = 2\n",
            host = db.host(),
            port = db.port(),
        ),
    )
    .unwrap();
    let mut capture = spawn_capture(&dir, &config, "capture-0.log");
    // Kill once some chunks are published but not all.
    poll_until(
        "part of the snapshot",
        Instant::now() + Duration::from_secs(120),
        Duration::from_millis(20),
        || {
            let b = bootstrap.clone();
            async move { Ok((high_watermark(&b).await >= 2_000).then_some(())) }
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", capture.log_tail(40)));
    capture.kill9().unwrap();
    let published = change_records(&bootstrap).await;
    println!("snapshot resume: killed with {published} of {ROWS} rows committed");
    assert!(
        published < ROWS as usize,
        "the snapshot finished before the kill"
    );
    let mut capture = spawn_capture(&dir, &config, "capture-1.log");
    db.execute("UPDATE inv.eo SET v = -1 WHERE id = 1")
        .await
        .unwrap();
    poll_until(
        "the whole snapshot and the update",
        Instant::now() + Duration::from_secs(180),
        Duration::from_millis(250),
        || {
            let b = bootstrap.clone();
            async move { Ok((change_records(&b).await > ROWS as usize).then_some(())) }
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", capture.log_tail(40)));
    let status = capture.terminate(Duration::from_secs(60)).await.unwrap();
    assert!(status.success(), "{status}: {}", capture.log_tail(40));
    let b = bootstrap.clone();
    let data = tokio::task::spawn_blocking(move || read_topic(&b, TOPIC).unwrap())
        .await
        .unwrap();
    let mut reads: HashMap<i64, usize> = HashMap::new();
    let mut others = Vec::new();
    for Record { key, value, .. } in data.values().flatten() {
        let v = payload(value.as_deref());
        let id = payload(key.as_deref())["id"].as_i64().expect("id");
        match v["op"].as_str() {
            Some("r") => *reads.entry(id).or_default() += 1,
            op => others.push((id, op.map(str::to_owned), v["after"]["v"].clone())),
        }
    }
    assert_eq!(reads.len(), ROWS as usize, "every row read");
    assert!(
        reads.values().all(|&n| n == 1),
        "rows read twice: {:?}",
        reads
            .iter()
            .filter(|(_, n)| **n > 1)
            .take(5)
            .collect::<Vec<_>>()
    );
    assert_eq!(
        others,
        vec![(1, Some("u".to_owned()), serde_json::json!(-1))],
        "streaming after the resumed snapshot"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
