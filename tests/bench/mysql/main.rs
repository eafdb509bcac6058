//! `cdc-bench-mysql`: the MariaDB benchmark behind `dev/bench mysql` (not a test).
//!
//! One run on this machine: a private MariaDB 10.11 and Kafka from `cdc-testkit`.
//! - M1: a backlog of row changes (inserts, then updates, in transactions of 1000 rows) is
//!   written while nobody reads the binlog; `mariadb-binlog --read-from-remote-server`
//!   decodes exactly that binlog range to /dev/null (the raw ceiling), and `cdc-capture`
//!   (positioned before the backlog by an earlier `initial_only` run over the still empty
//!   tables) publishes every change to Kafka, timed from process start until a sentinel row
//!   written after the backlog is committed in Kafka. M1 = capture rows/s ÷ raw rows/s.
//! - M2: `cdc-capture` `snapshot.mode = initial_only` of a table (process start to exit 0,
//!   every row in Kafka) against `SELECT *` of the same table read in full by the `mariadb`
//!   client (`--quick`, to /dev/null). M2 = capture rows/s ÷ dump rows/s.
//!
//! Each measurement is repeated and the median taken. Prints `M1 <value>` and `M2 <value>`
//! and writes a markdown report.
//!
//! Modules: `workload` (tables and the SQL of the backlog / snapshot table), `measure` (the
//! timed runs: raw readers and capture processes).
//!
//! Knobs (environment): `CDC_BENCH_MYSQL_ROWS` (backlog row changes, default 1000000),
//! `CDC_BENCH_MYSQL_SNAPSHOT_ROWS` (1000000), `CDC_BENCH_REPS` (3), `CDC_BENCH_REPORT`
//! (report path), `CDC_BENCH_DIR` (work dir).

mod measure;
mod workload;

use std::path::PathBuf;
use std::time::Duration;

/// Errors of the benchmark run.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error(transparent)]
    Testkit(#[from] cdc_testkit::TestkitError),
    #[error("MariaDB: {0}")]
    Mysql(#[from] mysql_async::Error),
    #[error("Kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    #[error("{0}")]
    Check(String),
}

/// Scale of one run.
#[derive(Debug, Clone)]
pub struct Options {
    pub backlog_rows: u64,
    pub snapshot_rows: u64,
    pub reps: usize,
    pub dir: PathBuf,
    pub report: PathBuf,
}

fn env_u64(name: &str, default: u64) -> Result<u64, BenchError> {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .replace('_', "")
            .parse()
            .map_err(|e| BenchError::Check(format!("{name}={v}: {e}"))),
        Err(_) => Ok(default),
    }
}

impl Options {
    fn from_env() -> Result<Options, BenchError> {
        let dir = std::env::var_os("CDC_BENCH_DIR").map_or_else(
            || std::env::temp_dir().join(format!("cdc-bench-mysql-{}", std::process::id())),
            PathBuf::from,
        );
        let reps = env_u64("CDC_BENCH_REPS", 3)?.max(1) as usize;
        Ok(Options {
            backlog_rows: env_u64("CDC_BENCH_MYSQL_ROWS", 1_000_000)?,
            snapshot_rows: env_u64("CDC_BENCH_MYSQL_SNAPSHOT_ROWS", 1_000_000)?,
            reps,
            report: std::env::var_os("CDC_BENCH_REPORT")
                .map_or_else(|| dir.join("mysql-report.md"), PathBuf::from),
            dir,
        })
    }
}

/// Median of the durations (the upper one of an even count).
fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn rate(rows: u64, d: Duration) -> f64 {
    rows as f64 / d.as_secs_f64().max(1e-9)
}

fn secs(v: &[Duration]) -> String {
    v.iter()
        .map(|d| format!("{:.2}", d.as_secs_f64()))
        .collect::<Vec<_>>()
        .join(", ")
}

async fn run(o: &Options) -> Result<(), BenchError> {
    std::fs::create_dir_all(&o.dir)
        .map_err(|e| BenchError::Check(format!("create {}: {e}", o.dir.display())))?;
    let (db, kafka) = tokio::try_join!(
        cdc_testkit::MariaDbServer::start(),
        cdc_testkit::KafkaBroker::start()
    )?;
    let bench = measure::Bench::new(o, &db, kafka.bootstrap_servers())?;
    workload::create_tables(&db).await?;

    // M1: position one capture per repetition before the backlog, then write it.
    let mut fixed = Vec::new();
    for k in 0..o.reps {
        fixed.push(bench.position_before_backlog(k).await?);
    }
    let fixed_m = median(fixed.clone());
    let (start, end) = workload::write_backlog(&db, o.backlog_rows).await?;
    eprintln!(
        "bench: backlog of {} row changes: {start:?} .. {end:?}",
        o.backlog_rows
    );
    let mut raw = Vec::new();
    let mut cap = Vec::new();
    for k in 0..o.reps {
        raw.push(bench.raw_binlog(&db, &start, &end).await?);
        cap.push(bench.stream_backlog(k, o.backlog_rows).await?);
        eprintln!(
            "bench: M1 rep {k}: mariadb-binlog {:.2}s, cdc-capture {:.2}s",
            raw[k].as_secs_f64(),
            cap[k].as_secs_f64()
        );
    }
    let (raw_m, cap_m) = (median(raw.clone()), median(cap.clone()));
    let (raw_r, cap_r) = (rate(o.backlog_rows, raw_m), rate(o.backlog_rows, cap_m));
    let m1 = cap_r / raw_r;

    // M2: the snapshot table.
    workload::fill_snapshot_table(&db, o.snapshot_rows).await?;
    let mut dump = Vec::new();
    let mut snap = Vec::new();
    for k in 0..o.reps {
        dump.push(bench.raw_select(&db).await?);
        snap.push(bench.snapshot(k, o.snapshot_rows).await?);
        eprintln!(
            "bench: M2 rep {k}: SELECT * {:.2}s, cdc-capture snapshot {:.2}s",
            dump[k].as_secs_f64(),
            snap[k].as_secs_f64()
        );
    }
    let (dump_m, snap_m) = (median(dump.clone()), median(snap.clone()));
    let (dump_r, snap_r) = (rate(o.snapshot_rows, dump_m), rate(o.snapshot_rows, snap_m));
    let m2 = snap_r / dump_r;

    let report = format!(
        "# dev/bench mysql\n\n\
         MariaDB 10.11 (cdc-testkit) + Kafka 4.1.1 (one broker), release `cdc-capture`; \
         medians of {reps} repetitions.\n\n\
         | | rows | reference | reference rows/s | cdc-capture | cdc-capture rows/s | ratio | target |\n\
         |---|---:|---|---:|---|---:|---:|---:|\n\
         | M1 streaming | {n} | `mariadb-binlog --read-from-remote-server` {raw_s:.2} s | {raw_r:.0} | {cap_s:.2} s | {cap_r:.0} | {m1:.2} | ≥ 0.8 |\n\
         | M2 snapshot | {m} | `mariadb --quick -e 'SELECT *'` {dump_s:.2} s | {dump_r:.0} | {snap_s:.2} s | {snap_r:.0} | {m2:.2} | ≥ 0.8 |\n\n\
         Repetitions (seconds): mariadb-binlog [{raw_all}], cdc-capture streaming [{cap_all}], \
         SELECT * [{dump_all}], cdc-capture snapshot [{snap_all}].\n\n\
         The capture timings run from process start (config, Kafka transactional producer \
         init, schema history recovery, binlog connect) until the last change is committed in \
         Kafka (streaming: a sentinel row written after the backlog is readable \
         `read_committed`; snapshot: `initial_only` exits 0 after its last transaction).\n\n\
         Fixed cost of a capture run (an `initial_only` run over empty tables, process start \
         to exit: Kafka producer and topics, schema history, snapshot bookkeeping): median \
         {fixed_s:.2} s [{fixed_all}]. Without it the capture rates would be: streaming \
         {cap_net:.0} rows/s (ratio {m1_net:.2}), snapshot {snap_net:.0} rows/s (ratio \
         {m2_net:.2}).\n",
        fixed_s = fixed_m.as_secs_f64(),
        fixed_all = secs(&fixed),
        cap_net = rate(o.backlog_rows, cap_m.saturating_sub(fixed_m)),
        m1_net = rate(o.backlog_rows, cap_m.saturating_sub(fixed_m)) / raw_r,
        snap_net = rate(o.snapshot_rows, snap_m.saturating_sub(fixed_m)),
        m2_net = rate(o.snapshot_rows, snap_m.saturating_sub(fixed_m)) / dump_r,
        reps = o.reps,
        n = o.backlog_rows,
        m = o.snapshot_rows,
        raw_s = raw_m.as_secs_f64(),
        cap_s = cap_m.as_secs_f64(),
        dump_s = dump_m.as_secs_f64(),
        snap_s = snap_m.as_secs_f64(),
        raw_all = secs(&raw),
        cap_all = secs(&cap),
        dump_all = secs(&dump),
        snap_all = secs(&snap),
    );
    if let Some(parent) = o.report.parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    std::fs::write(&o.report, &report)
        .map_err(|e| BenchError::Check(format!("write {}: {e}", o.report.display())))?;
    println!("M1 streaming: cdc-capture {cap_r:.0} rows/s, mariadb-binlog {raw_r:.0} rows/s ({} changes)", o.backlog_rows);
    println!(
        "M2 snapshot: cdc-capture {snap_r:.0} rows/s, SELECT * {dump_r:.0} rows/s ({} rows)",
        o.snapshot_rows
    );
    println!("M1 {m1:.2}");
    println!("M2 {m2:.2}");
    println!("report: {}", o.report.display());
    drop(bench);
    db.stop().await?;
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let result = async {
        let options = Options::from_env()?;
        run(&options).await
    }
    .await;
    if let Err(e) = result {
        eprintln!("bench: FAIL {e}");
        std::process::exit(1);
    }
}
