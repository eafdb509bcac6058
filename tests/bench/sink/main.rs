//! `cdc-bench-sink`: the sink benchmark behind `dev/bench sink` (not a test).
//!
//! One run on this machine: P5a (insert-only) and P5b (50% updates, 10% deletes) change
//! streams through `LakeWriter` into a mirror table, each against the ceiling of writing the
//! same rows straight to Parquet; then the live pipeline (PostgreSQL → `cdc-capture` → Kafka
//! → `cdc-sink`) at a fixed change rate for commit latency and freshness. Prints `P5a <value>`
//! and `P5b <value>` and writes a markdown report.
//!
//! Modules: `stream` (table, seeded change streams), `lake` (sink side of P5a/P5b),
//! `ceiling` (Arrow → Parquet side), `live` (the pipeline at a fixed rate), `report`
//! (figures and markdown). `freshness.py` reads snapshot times and row source times back
//! with pyiceberg.
//!
//! Knobs (environment): `CDC_BENCH_SINK_ROWS` (changes per P5 run, 500000),
//! `CDC_BENCH_SINK_BATCH` (changes per commit, 50000 = the sink's default `commit.max_rows`),
//! `CDC_BENCH_SINK_REPS` (3), `CDC_BENCH_LIVE` (`0` skips the pipeline run),
//! `CDC_BENCH_LIVE_RATE` (changes/s, 5000), `CDC_BENCH_LIVE_SECONDS` (60),
//! `CDC_BENCH_LIVE_INTERVAL_MS` (the sink's `commit.interval_ms`, 10000 = its default),
//! `CDC_BENCH_REPORT` (report path), `CDC_BENCH_DIR` (work dir), `CDC_BENCH_KEEP` (`1` keeps
//! the written files), `CDC_VENV` (Python venv with pyiceberg).

mod ceiling;
mod lake;
mod live;
mod report;
mod stream;

use std::path::{Path, PathBuf};
use std::time::Instant;

/// Errors of the benchmark run.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error(transparent)]
    Testkit(#[from] cdc_testkit::TestkitError),
    #[error(transparent)]
    Harness(#[from] cdc_e2e::HarnessError),
    #[error(transparent)]
    Sink(#[from] cdc_sink::SinkError),
    #[error("PostgreSQL: {}", pg_detail(.0))]
    Postgres(#[from] tokio_postgres::Error),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Check(String),
}

impl BenchError {
    fn io(path: &Path, source: std::io::Error) -> BenchError {
        BenchError::Io {
            path: path.to_owned(),
            source,
        }
    }
}

/// The server's message (`db error` alone says nothing).
fn pg_detail(e: &tokio_postgres::Error) -> String {
    e.as_db_error()
        .map_or_else(|| e.to_string(), |db| db.to_string())
}

/// Scale and switches of one run.
#[derive(Debug, Clone)]
pub struct Options {
    pub rows: usize,
    pub batch: usize,
    pub reps: usize,
    pub live: bool,
    pub live_rate: u64,
    pub live_seconds: u64,
    pub live_interval_ms: u64,
    pub keep: bool,
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

fn env_usize(name: &str, default: usize) -> Result<usize, BenchError> {
    let v = env_u64(name, default as u64)?;
    usize::try_from(v).map_err(|e| BenchError::Check(format!("{name}={v}: {e}")))
}

fn env_flag(name: &str, default: bool) -> bool {
    std::env::var(name).map_or(default, |v| !matches!(v.trim(), "0" | "false" | "no" | ""))
}

impl Options {
    fn from_env() -> Result<Options, BenchError> {
        let dir = std::env::var_os("CDC_BENCH_DIR").map_or_else(
            || std::env::temp_dir().join(format!("cdc-bench-sink-{}", std::process::id())),
            PathBuf::from,
        );
        let options = Options {
            rows: env_usize("CDC_BENCH_SINK_ROWS", 500_000)?,
            batch: env_usize("CDC_BENCH_SINK_BATCH", 50_000)?,
            reps: env_usize("CDC_BENCH_SINK_REPS", 3)?,
            live: env_flag("CDC_BENCH_LIVE", true),
            live_rate: env_u64("CDC_BENCH_LIVE_RATE", 5000)?,
            live_seconds: env_u64("CDC_BENCH_LIVE_SECONDS", 60)?,
            live_interval_ms: env_u64("CDC_BENCH_LIVE_INTERVAL_MS", 10_000)?,
            keep: env_flag("CDC_BENCH_KEEP", false),
            report: std::env::var_os("CDC_BENCH_REPORT")
                .map_or_else(|| dir.join("sink-report.md"), PathBuf::from),
            dir,
        };
        if options.rows == 0 || options.batch == 0 || options.reps == 0 {
            return Err(BenchError::Check(
                "CDC_BENCH_SINK_ROWS, CDC_BENCH_SINK_BATCH and CDC_BENCH_SINK_REPS must be at least 1"
                    .into(),
            ));
        }
        if options.live && (options.live_rate < 100 || options.live_seconds == 0) {
            return Err(BenchError::Check(
                "CDC_BENCH_LIVE_RATE must be at least 100 and CDC_BENCH_LIVE_SECONDS at least 1"
                    .into(),
            ));
        }
        Ok(options)
    }
}

fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    format!("{cpus} CPUs ({model})")
}

async fn run(options: &Options) -> Result<report::Figures, BenchError> {
    let started = Instant::now();
    std::fs::create_dir_all(&options.dir).map_err(|e| BenchError::io(&options.dir, e))?;
    let mut figures = report::Figures {
        machine: machine(),
        rows: options.rows,
        batch: options.batch,
        reps: options.reps,
        ..report::Figures::default()
    };
    figures.scenarios = lake::measure(options).await?;
    if options.live {
        figures.live = Some(live::measure(options).await?);
    } else {
        figures
            .notes
            .push("The live pipeline run was skipped (CDC_BENCH_LIVE=0).".into());
    }
    figures.total = started.elapsed();
    Ok(figures)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let result = async {
        let options = Options::from_env()?;
        let figures = run(&options).await?;
        let markdown = figures.markdown();
        if let Some(parent) = options.report.parent() {
            std::fs::create_dir_all(parent).map_err(|e| BenchError::io(parent, e))?;
        }
        std::fs::write(&options.report, &markdown)
            .map_err(|e| BenchError::io(&options.report, e))?;
        print!("{}", figures.lines());
        println!("report: {}", options.report.display());
        Ok::<_, BenchError>(())
    }
    .await;
    if let Err(e) = result {
        eprintln!("bench: FAIL {e}");
        std::process::exit(1);
    }
}
