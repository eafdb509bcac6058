//! `dev/chaos`: a steady mixed write load through PostgreSQL → `cdc-capture` → Kafka →
//! `cdc-sink` (mirror + changelog) while faults hit at random moments chosen by a printed
//! seed; afterwards everything drains and the run is checked end to end.
//!
//! - [`load`]: the write load and its ground truth (every change identifiable).
//! - [`faults`]: the faults, the warehouse tmpfs, the supervisor restarting exited processes.
//! - [`check`]: Kafka vs truth, changelog vs Kafka, mirror vs PostgreSQL.

pub mod check;
pub mod faults;
pub mod load;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::pipeline::Pipeline;
use crate::{HarnessError, Result};
pub use faults::Supervisor;
use faults::{Fault, Warehouse};
use load::{Load, LoadStats, Pace};

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    pub seed: u64,
    pub faults: usize,
    /// Quiet time between faults, drawn uniformly from this range.
    pub gap: (Duration, Duration),
    /// Pause between load transactions.
    pub pause: Duration,
    /// Run directory (logs, configs, lake); removed after a passing run unless `keep`.
    pub dir: PathBuf,
    pub keep: bool,
}

/// What a run found.
#[derive(Debug, Clone)]
pub struct Report {
    pub seed: u64,
    pub faults: Vec<String>,
    pub lost: usize,
    pub duplicated: usize,
    pub reordered: usize,
    pub diverged_tables: usize,
    pub details: Vec<String>,
}

impl Report {
    /// The one line the issue asks for.
    pub fn line(&self) -> String {
        format!(
            "chaos: seed={} faults={} lost={} duplicated={} diverged_tables={}",
            self.seed,
            self.faults.len(),
            self.lost,
            self.duplicated,
            self.diverged_tables
        )
    }

    pub fn passed(&self) -> bool {
        self.lost == 0 && self.duplicated == 0 && self.reordered == 0 && self.diverged_tables == 0
    }
}

/// Runs the chaos scenario; `Err` only when the harness itself could not run.
pub async fn run(options: &Options) -> Result<Report> {
    let mut rng = StdRng::seed_from_u64(options.seed);
    let _ = std::fs::remove_dir_all(&options.dir);
    let mut p = Pipeline::start(&options.dir).await?;
    let warehouse = Warehouse::mount(&p.lake_dir().join("warehouse"));
    if warehouse.is_none() {
        println!("chaos: mounting a tmpfs is not permitted here: warehouse faults skipped");
    }
    let schedule = Fault::schedule(&mut rng, options.faults, warehouse.is_some());
    let admin = p.connect().await?;
    // The ground truth counts a transaction once COMMIT returned: that needs durable commits
    // across the immediate restarts (the test server runs synchronous_commit=off for speed).
    admin
        .batch_execute("ALTER SYSTEM SET synchronous_commit = on")
        .await?;
    admin.batch_execute("SELECT pg_reload_conf()").await?;
    let (sql, truth) = load::setup_sql();
    admin.batch_execute(&sql).await?;
    let tables: Vec<String> = load::TABLES.iter().map(|t| format!("public.{t}")).collect();
    let names: Vec<&str> = tables.iter().map(String::as_str).collect();
    p.set_capture_tables(&names, "")?;
    let slot_before = current_wal(&admin).await?;

    p.start_capture()?;
    p.start_sink()?;
    p.wait_for_snapshot(
        (load::TABLES.len() as i64 * load::SEED_ROWS) as u64,
        Duration::from_secs(180),
    )
    .await?;
    println!("chaos: snapshot done; load and faults start");

    let truth = Arc::new(Mutex::new(truth));
    let stop = Arc::new(AtomicBool::new(false));
    let (load, stats) = spawn_load(
        &p,
        rng.random(),
        Pace::Pause(options.pause),
        truth.clone(),
        stop.clone(),
    );

    let mut supervisor = Supervisor::default();
    let mut done = Vec::new();
    let t0 = Instant::now();
    for (i, fault) in schedule.iter().enumerate() {
        let gap = rng.random_range(options.gap.0..=options.gap.1);
        supervisor.watch(&mut p, gap).await?;
        if load.is_finished() {
            break;
        }
        let what = faults::inject(
            &mut p,
            *fault,
            warehouse.as_ref(),
            &mut rng,
            &mut supervisor,
        )
        .await?;
        println!(
            "chaos: fault {}/{} at {:.1}s: {what} (load: {} transactions)",
            i + 1,
            schedule.len(),
            t0.elapsed().as_secs_f64(),
            stats.transactions.load(Ordering::SeqCst)
        );
        done.push(what);
    }
    supervisor.watch(&mut p, options.gap.1).await?;
    stop.store(true, Ordering::SeqCst);
    load.await
        .map_err(|e| HarnessError::Check(format!("load task: {e}")))??;
    println!(
        "chaos: load stopped after {:.1}s: {} transactions, {} changes, {} commits of unknown \
         outcome resolved, {} reconnects; process restarts by the supervisor: {}",
        t0.elapsed().as_secs_f64(),
        stats.transactions.load(Ordering::SeqCst),
        stats.changes.load(Ordering::SeqCst),
        stats.uncertain.load(Ordering::SeqCst),
        stats.reconnects.load(Ordering::SeqCst),
        supervisor.restarts
    );

    let report = drain_and_check(
        &mut p,
        &mut supervisor,
        &truth,
        &slot_before,
        options.seed,
        done,
    )
    .await?;
    if report.passed() {
        p.stop_processes().await?;
        drop(warehouse);
        p.shutdown().await?;
        if !options.keep {
            let _ = std::fs::remove_dir_all(&options.dir);
        }
    } else {
        println!("chaos: logs and lake kept in {}", options.dir.display());
        if warehouse.is_some() {
            println!(
                "chaos: the warehouse tmpfs stays mounted for inspection: umount {}",
                p.lake_dir().join("warehouse").display()
            );
            std::mem::forget(warehouse);
        }
    }
    Ok(report)
}

/// Starts the [`Load`] on its own connections to the pipeline's database until `stop`.
pub fn spawn_load(
    p: &Pipeline,
    seed: u64,
    pace: Pace,
    truth: Arc<Mutex<load::Truth>>,
    stop: Arc<AtomicBool>,
) -> (tokio::task::JoinHandle<Result<()>>, Arc<LoadStats>) {
    let stats = Arc::new(LoadStats::default());
    let dsn = format!(
        "host={} port={} user={} password={} dbname={}",
        p.pg.host(),
        p.pg.port(),
        p.pg.user(),
        p.pg.password(),
        crate::pipeline::DATABASE
    );
    let connect = move || {
        let dsn = dsn.clone();
        async move {
            let (client, connection) = tokio_postgres::connect(&dsn, tokio_postgres::NoTls).await?;
            tokio::spawn(connection);
            Ok::<_, HarnessError>(client)
        }
    };
    let handle = tokio::spawn(Load::new(seed).run(connect, pace, stop, truth, stats.clone()));
    (handle, stats)
}

pub(crate) async fn current_wal(client: &tokio_postgres::Client) -> Result<String> {
    Ok(client
        .query_one("SELECT pg_current_wal_lsn()::text", &[])
        .await?
        .get(0))
}

/// Waits (supervising) until the slot confirmed everything and the mirrors verify, then
/// compares Kafka and the changelog.
async fn drain_and_check(
    p: &mut Pipeline,
    supervisor: &mut Supervisor,
    truth: &Mutex<load::Truth>,
    slot_before: &str,
    seed: u64,
    faults: Vec<String>,
) -> Result<Report> {
    let t = Instant::now();
    let deadline = t + Duration::from_secs(300);
    let admin = p.connect().await?;
    let target = current_wal(&admin).await?;
    let truth = truth.lock().expect("truth lock").clone();
    let mut details = Vec::new();
    // 1. The slot's confirmed position reaches the end of the load's WAL.
    loop {
        supervisor.revive(p)?;
        let confirmed: Option<String> = admin
            .query_opt(
                "SELECT confirmed_flush_lsn::text FROM pg_replication_slots \
                 WHERE slot_name = 'cdc' AND confirmed_flush_lsn >= $1::text::pg_lsn",
                &[&target],
            )
            .await?
            .map(|r| r.get(0));
        if let Some(confirmed) = confirmed {
            println!(
                "chaos: slot confirmed {confirmed} (was {slot_before} before the run), {:.1}s \
                 after the load stopped",
                t.elapsed().as_secs_f64()
            );
            break;
        }
        if Instant::now() >= deadline {
            details.push(format!("slot confirmed_flush_lsn never reached {target}"));
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // 2. Kafka holds the truth exactly once, in order per key.
    let kafka = check::read_kafka(&p.kafka.bootstrap_servers()).await?;
    let events = check::compare_events(&truth, &kafka.events);
    details.extend(events.examples.iter().map(|e| format!("kafka: {e}")));
    // 3. The sink catches up: mirrors verify and the changelog holds every record once.
    let (diverged, changelog) = loop {
        supervisor.revive(p)?;
        let diverged = check::verify_mirrors(p).await?;
        let changelog = check::compare_changelog(p, &kafka).await;
        let caught_up = diverged.is_empty()
            && changelog
                .as_ref()
                .is_ok_and(|c| c.lost == 0 && c.duplicated == 0);
        if caught_up || Instant::now() >= deadline {
            break (diverged, changelog?);
        }
        tokio::time::sleep(Duration::from_millis(1000)).await;
    };
    println!(
        "chaos: Kafka: {} events expected, {} found; changelog: {} records expected, {} found; \
         {:.1}s to drain",
        events.expected,
        events.found,
        changelog.expected,
        changelog.found,
        t.elapsed().as_secs_f64()
    );
    details.extend(changelog.examples.iter().map(|e| format!("changelog: {e}")));
    details.extend(diverged.iter().map(|(t, why)| format!("mirror {t}: {why}")));
    details.extend(supervisor.summary());
    Ok(Report {
        seed,
        faults,
        lost: events.lost + changelog.lost,
        duplicated: events.duplicated + changelog.duplicated,
        reordered: events.reordered,
        diverged_tables: diverged.len(),
        details,
    })
}
