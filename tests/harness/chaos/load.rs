//! The chaos write load and its ground truth.
//!
//! Every change writes a value `v` never used before, so each event is identified by
//! `(table, key, op, v)` and the expected event list per key is known exactly. Transactions
//! mix inserts, updates and deletes over several tables; every `BIG_EVERY`-th one inserts
//! `BIG_ROWS` rows at once. Each transaction also inserts its sequence number into the
//! uncaptured table `chaos_tx`, so when a connection breaks during COMMIT (PostgreSQL
//! restarts are one of the faults) the load reconnects and learns whether it committed.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indexmap::IndexMap;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::{HarnessError, Result};

/// The captured tables (schema `public`).
pub const TABLES: [&str; 3] = ["chaos_a", "chaos_b", "chaos_c"];
/// Rows per table before the capture starts (the initial snapshot).
pub const SEED_ROWS: i64 = 200;
/// Every this many transactions one inserts [`BIG_ROWS`] rows.
const BIG_EVERY: u64 = 150;
const BIG_ROWS: i64 = 3_000;
/// How long the load keeps trying to reconnect after a connection broke.
const RECONNECT_FOR: Duration = Duration::from_secs(120);

/// One change of one key, as the load made it and as a Debezium event expresses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ev {
    Read(i64),
    Create(i64),
    Update(i64),
    Delete,
}

/// Expected events per `(table, key)`, in commit order.
pub type Truth = BTreeMap<(String, i64), Vec<Ev>>;

/// DDL and seed rows of the chaos schema; the truth holds the seed rows as snapshot reads.
pub fn setup_sql() -> (String, Truth) {
    let mut sql = String::from("CREATE TABLE chaos_tx (n bigint PRIMARY KEY);");
    let mut truth = Truth::new();
    for table in TABLES {
        sql.push_str(&format!(
            "CREATE TABLE {table} (id bigint PRIMARY KEY, v bigint NOT NULL, pad text NOT NULL);
             INSERT INTO {table} SELECT g, g, 'seed' FROM generate_series(1, {SEED_ROWS}) g;"
        ));
        for id in 1..=SEED_ROWS {
            truth.insert((table.to_owned(), id), vec![Ev::Read(id)]);
        }
    }
    (sql, truth)
}

/// How the load is paced.
#[derive(Debug, Clone, Copy)]
pub enum Pace {
    /// A fixed pause after each transaction (as fast as the pause allows).
    Pause(Duration),
    /// A steady rate of changes per second (big transactions are followed by a longer pause).
    Rate(u64),
}

/// Counters of a running load, readable while it runs.
#[derive(Debug, Default)]
pub struct LoadStats {
    pub transactions: AtomicU64,
    pub changes: AtomicU64,
    /// Transactions whose COMMIT outcome was unknown and was looked up after reconnecting.
    pub uncertain: AtomicU64,
    pub reconnects: AtomicU64,
}

/// A planned transaction: its SQL, the events it makes once committed, and how to take its
/// changes to the live keys back if it does not commit.
struct Planned {
    sql: String,
    events: Vec<((&'static str, i64), Ev)>,
    /// `(key, value before)`, newest last; `None` = the key did not exist.
    undo: Vec<((&'static str, i64), Option<i64>)>,
}

/// The load generator: live keys (O(1) random choice), the next unused key and value.
pub struct Load {
    rng: StdRng,
    live: IndexMap<(&'static str, i64), i64>,
    next_id: i64,
    next_v: i64,
    n: u64,
}

impl Load {
    pub fn new(seed: u64) -> Load {
        Load {
            rng: StdRng::seed_from_u64(seed),
            live: TABLES
                .iter()
                .flat_map(|t| (1..=SEED_ROWS).map(move |id| ((*t, id), id)))
                .collect(),
            next_id: SEED_ROWS + 1,
            next_v: 1_000_000,
            n: 0,
        }
    }

    /// Sets `key` to `value` (`None` = deleted), remembering what was there.
    fn set(
        &mut self,
        undo: &mut Vec<((&'static str, i64), Option<i64>)>,
        key: (&'static str, i64),
        value: Option<i64>,
    ) {
        let before = match value {
            Some(v) => self.live.insert(key, v),
            None => self.live.swap_remove(&key),
        };
        undo.push((key, before));
    }

    /// Takes a transaction that did not commit back out of the live keys.
    fn rollback(&mut self, undo: Vec<((&'static str, i64), Option<i64>)>) {
        for (key, before) in undo.into_iter().rev() {
            match before {
                Some(v) => {
                    self.live.insert(key, v);
                }
                None => {
                    self.live.swap_remove(&key);
                }
            }
        }
    }

    /// The next transaction, applied to the live keys right away (see [`Load::rollback`]).
    fn plan(&mut self) -> Planned {
        self.n += 1;
        let mut undo = Vec::new();
        let mut events = Vec::new();
        let mut sql = String::from("BEGIN;");
        if self.n.is_multiple_of(BIG_EVERY) {
            let table = TABLES[self.rng.random_range(0..TABLES.len())];
            let (a, v0) = (self.next_id, self.next_v);
            let b = a + BIG_ROWS - 1;
            sql.push_str(&format!(
                "INSERT INTO {table} (id, v, pad) SELECT g, {v0} + g - {a}, repeat('x', 100) \
                 FROM generate_series({a}, {b}) g;"
            ));
            for id in a..=b {
                let v = v0 + id - a;
                self.set(&mut undo, (table, id), Some(v));
                events.push(((table, id), Ev::Create(v)));
            }
            self.next_id = b + 1;
            self.next_v = v0 + BIG_ROWS;
        } else {
            for _ in 0..self.rng.random_range(1..=8) {
                let v = self.next_v;
                self.next_v += 1;
                let roll = self.rng.random_range(0..10);
                let existing = (!self.live.is_empty()).then(|| {
                    let i = self.rng.random_range(0..self.live.len());
                    *self.live.get_index(i).expect("index in range").0
                });
                match (roll, existing) {
                    (0..=4, _) | (_, None) => {
                        let table = TABLES[self.rng.random_range(0..TABLES.len())];
                        let id = self.next_id;
                        self.next_id += 1;
                        sql.push_str(&format!(
                            "INSERT INTO {table} (id, v, pad) VALUES ({id}, {v}, 'p');"
                        ));
                        self.set(&mut undo, (table, id), Some(v));
                        events.push(((table, id), Ev::Create(v)));
                    }
                    (5..=7, Some(key)) => {
                        sql.push_str(&format!(
                            "UPDATE {} SET v = {v} WHERE id = {};",
                            key.0, key.1
                        ));
                        self.set(&mut undo, key, Some(v));
                        events.push((key, Ev::Update(v)));
                    }
                    (_, Some(key)) => {
                        sql.push_str(&format!("DELETE FROM {} WHERE id = {};", key.0, key.1));
                        self.set(&mut undo, key, None);
                        events.push((key, Ev::Delete));
                    }
                }
            }
        }
        sql.push_str(&format!(
            "INSERT INTO chaos_tx VALUES ({}); COMMIT;",
            self.n
        ));
        Planned { sql, events, undo }
    }

    /// Runs transactions until `stop`, paced by `pace`, recording committed ones in `truth`.
    /// Survives broken connections (reconnecting with `connect`).
    pub async fn run<C, F>(
        mut self,
        connect: C,
        pace: Pace,
        stop: Arc<AtomicBool>,
        truth: Arc<Mutex<Truth>>,
        stats: Arc<LoadStats>,
    ) -> Result<()>
    where
        C: Fn() -> F,
        F: std::future::Future<Output = Result<tokio_postgres::Client>>,
    {
        let mut client = connect().await?;
        let started = Instant::now();
        while !stop.load(Ordering::SeqCst) {
            let planned = self.plan();
            let committed = match client.batch_execute(&planned.sql).await {
                Ok(()) => true,
                Err(error) => {
                    // Broken connection (or a server going down): reconnect, then look the
                    // transaction up. Any other error is a bug of the load.
                    if !client.is_closed() && error.as_db_error().is_some() {
                        let during_shutdown = error
                            .as_db_error()
                            .is_some_and(|db| db.code().code().starts_with("57"));
                        if !during_shutdown {
                            return Err(HarnessError::Check(format!(
                                "chaos load transaction {} failed: {error}",
                                self.n
                            )));
                        }
                    }
                    stats.uncertain.fetch_add(1, Ordering::SeqCst);
                    client = reconnect(&connect, &stats).await?;
                    client
                        .query_opt("SELECT 1 FROM chaos_tx WHERE n = $1", &[&(self.n as i64)])
                        .await?
                        .is_some()
                }
            };
            if committed {
                stats.transactions.fetch_add(1, Ordering::SeqCst);
                stats
                    .changes
                    .fetch_add(planned.events.len() as u64, Ordering::SeqCst);
                let mut truth = truth.lock().expect("truth lock");
                for ((table, id), ev) in planned.events {
                    truth.entry((table.to_owned(), id)).or_default().push(ev);
                }
            } else {
                self.rollback(planned.undo);
            }
            // Pacing of the load, not synchronisation.
            match pace {
                Pace::Pause(pause) => tokio::time::sleep(pause).await,
                Pace::Rate(per_second) => {
                    let changes = stats.changes.load(Ordering::SeqCst) as f64;
                    let due = started + Duration::from_secs_f64(changes / per_second as f64);
                    tokio::time::sleep_until(due.into()).await;
                }
            }
        }
        Ok(())
    }
}

async fn reconnect<C, F>(connect: &C, stats: &LoadStats) -> Result<tokio_postgres::Client>
where
    C: Fn() -> F,
    F: std::future::Future<Output = Result<tokio_postgres::Client>>,
{
    let deadline = Instant::now() + RECONNECT_FOR;
    loop {
        match connect().await {
            Ok(client) => {
                stats.reconnects.fetch_add(1, Ordering::SeqCst);
                return Ok(client);
            }
            Err(e) if Instant::now() >= deadline => {
                return Err(HarnessError::Check(format!(
                    "chaos load: PostgreSQL unreachable for {RECONNECT_FOR:?}: {e}"
                )))
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}
