//! The whole pipeline on real services: PostgreSQL and Kafka from `cdc-testkit`, and the
//! `cdc-capture` and `cdc-sink` binaries as child processes with generated configuration.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use cdc_testkit::{
    free_port, workspace_binary, KafkaBroker, ManagedProcess, PgInstall, PostgresServer,
};

use crate::{io, schema, HarnessError, Result};

/// Database holding the sample schema.
pub const DATABASE: &str = "shop";
/// Debezium `topic.prefix` of the runs.
pub const TOPIC_PREFIX: &str = "shop";

/// Running services and processes; everything stops when dropped.
pub struct Pipeline {
    pub dir: PathBuf,
    pub pg: PostgresServer,
    pub kafka: KafkaBroker,
    pub capture: Option<ManagedProcess>,
    pub sink: Option<ManagedProcess>,
    capture_config: PathBuf,
    sink_config: PathBuf,
    pub capture_metrics: String,
    pub sink_metrics: String,
}

impl Pipeline {
    /// Starts PostgreSQL ([`PgInstall::from_env`]) and Kafka, creates the database, and
    /// writes both configs into `dir`.
    pub async fn start(dir: &Path) -> Result<Pipeline> {
        Self::start_with(dir, &PgInstall::from_env()).await
    }

    /// As [`start`](Self::start), running the PostgreSQL installation `install`.
    pub async fn start_with(dir: &Path, install: &PgInstall) -> Result<Pipeline> {
        std::fs::create_dir_all(dir).map_err(io(format!("creating {}", dir.display())))?;
        let (pg, kafka) =
            tokio::try_join!(PostgresServer::start_with(install), KafkaBroker::start())?;
        Self::assemble(dir, pg, kafka).await
    }

    /// As [`start`](Self::start) with a broker that also has a SASL_SSL listener (the
    /// configs written still use its PLAINTEXT listener; the test points them elsewhere).
    pub async fn start_with_secure_kafka(
        dir: &Path,
        secure: &cdc_testkit::SecureListener,
    ) -> Result<Pipeline> {
        std::fs::create_dir_all(dir).map_err(io(format!("creating {}", dir.display())))?;
        let install = PgInstall::from_env();
        let (pg, kafka) = tokio::try_join!(
            PostgresServer::start_with(&install),
            KafkaBroker::start_secure(secure)
        )?;
        Self::assemble(dir, pg, kafka).await
    }

    /// Creates the database and writes both configs into `dir`.
    async fn assemble(dir: &Path, pg: PostgresServer, kafka: KafkaBroker) -> Result<Pipeline> {
        pg.create_database(DATABASE).await?;
        let capture_metrics = format!("127.0.0.1:{}", free_port());
        let sink_metrics = format!("127.0.0.1:{}", free_port());
        let tables = schema::TABLES
            .iter()
            .map(|t| format!("\"{t}\""))
            .collect::<Vec<_>>()
            .join(", ");
        let capture_config = dir.join("capture.toml");
        let capture_toml = format!(
            "topic_prefix = \"{TOPIC_PREFIX}\"\n\n[source]\nhost = \"{host}\"\nport = {port}\n\
             user = \"{user}\"\npassword = {{ env = \"CDC_TEST_PG_PASSWORD\" }}\n\
             database = \"{DATABASE}\"\ntables = [{tables}]\n\n[kafka]\n\
             bootstrap_servers = \"{bootstrap}\"\n\n[snapshot]\nfetch_size = 100\n\n\
             [state]\ndir = \"{state}\"\n\n[ops]\nlisten = \"{capture_metrics}\"\n",
            host = pg.host(),
            port = pg.port(),
            user = pg.user(),
            bootstrap = kafka.bootstrap_servers(),
            state = dir.join("capture-state").display(),
        );
        let sink_config = dir.join("sink.toml");
        let sink_toml = format!(
            "[kafka]\nbootstrap_servers = \"{bootstrap}\"\ngroup_id = \"cdc-sink-test\"\n\
             topic_pattern = \"^{TOPIC_PREFIX}\\\\..*\"\n\n[iceberg]\ndata_dir = \"{data}\"\n\n\
             [commit]\ninterval_ms = 1000\nmax_rows = 5000\n\n[ops]\nlisten = \"{sink_metrics}\"\n\n\
             # A killed sink's partitions are reassigned after the session timeout.\n\
             [kafka.properties]\n\"session.timeout.ms\" = \"6000\"\n\
             \"heartbeat.interval.ms\" = \"1000\"\n",
            bootstrap = kafka.bootstrap_servers(),
            data = dir.join("lake").display(),
        );
        std::fs::write(&capture_config, capture_toml).map_err(io("writing capture.toml"))?;
        std::fs::write(&sink_config, sink_toml).map_err(io("writing sink.toml"))?;
        Ok(Pipeline {
            dir: dir.to_owned(),
            pg,
            kafka,
            capture: None,
            sink: None,
            capture_config,
            sink_config,
            capture_metrics,
            sink_metrics,
        })
    }

    /// Iceberg data directory of the sink (catalog.db + warehouse).
    pub fn lake_dir(&self) -> PathBuf {
        self.dir.join("lake")
    }

    /// libpq connection string of the sample database.
    pub fn pg_dsn(&self) -> String {
        format!(
            "host={} port={} user={} password={} dbname={DATABASE}",
            self.pg.host(),
            self.pg.port(),
            self.pg.user(),
            self.pg.password()
        )
    }

    pub async fn connect(&self) -> Result<tokio_postgres::Client> {
        Ok(self.pg.connect(DATABASE).await?)
    }

    /// The running server's major version (`server_version_num / 10000`).
    pub async fn server_major_version(&self) -> Result<u32> {
        let client = self.connect().await?;
        let num: String = client
            .query_one("SHOW server_version_num", &[])
            .await?
            .get(0);
        num.parse::<u32>()
            .map(|n| n / 10000)
            .map_err(|e| HarnessError::Check(format!("server_version_num {num:?}: {e}")))
    }

    /// Starts (or restarts) `cdc-capture`.
    pub fn start_capture(&mut self) -> Result<()> {
        let process = self.spawn_capture("capture.log", &self.capture_metrics)?;
        self.capture = Some(process);
        Ok(())
    }

    /// Spawns one more `cdc-capture` with the same configuration, logging to `log` in the
    /// run directory and serving its metrics on `metrics_listen` (e.g. a second instance
    /// with the same identity).
    pub fn spawn_capture(&self, log: &str, metrics_listen: &str) -> Result<ManagedProcess> {
        let bin = workspace_binary("cdc-capture")?;
        let config = self.capture_config.display().to_string();
        Ok(ManagedProcess::spawn(
            &bin,
            &["--config", &config, "--metrics-listen", metrics_listen],
            &[("CDC_TEST_PG_PASSWORD", self.pg.password())],
            &self.dir.join(log),
        )?)
    }

    /// A fresh run directory `<tmp>/cdc-e2e-<name>-<pid>` and the services in it.
    pub async fn start_named(name: &str) -> Result<Pipeline> {
        let dir = std::env::temp_dir().join(format!("cdc-e2e-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Pipeline::start(&dir).await
    }

    /// Captures exactly `tables` (`schema.table`), plus `extra` TOML lines of `[source]`.
    pub fn set_capture_tables(&self, tables: &[&str], extra: &str) -> Result<()> {
        let list = tables
            .iter()
            .map(|t| format!("\"{t}\""))
            .collect::<Vec<_>>()
            .join(", ");
        self.edit_capture_config(|toml| match toml.find("tables = [") {
            Some(start) => {
                let end = toml[start..].find('\n').map_or(toml.len(), |e| start + e);
                format!(
                    "{}tables = [{list}]\n{extra}{}",
                    &toml[..start],
                    &toml[end + 1..]
                )
            }
            None => toml,
        })
    }

    /// Replaces the `[snapshot]` settings with `lines` (TOML, one setting per line).
    pub fn set_capture_snapshot(&self, lines: &str) -> Result<()> {
        self.edit_capture_config(|toml| {
            toml.replace(
                "[snapshot]\nfetch_size = 100\n",
                &format!("[snapshot]\n{lines}\n"),
            )
        })
    }

    /// Appends `text` (whole TOML sections) to the capture configuration.
    pub fn append_capture_config(&self, text: &str) -> Result<()> {
        self.edit_capture_config(|toml| format!("{toml}\n{text}\n"))
    }

    /// Rewrites the capture configuration (before the capture starts).
    pub fn edit_capture_config(&self, edit: impl FnOnce(String) -> String) -> Result<()> {
        let text =
            std::fs::read_to_string(&self.capture_config).map_err(io("reading capture.toml"))?;
        std::fs::write(&self.capture_config, edit(text)).map_err(io("writing capture.toml"))
    }

    /// Rewrites the sink configuration (before the sink starts).
    pub fn edit_sink_config(&self, edit: impl FnOnce(String) -> String) -> Result<()> {
        let text = std::fs::read_to_string(&self.sink_config).map_err(io("reading sink.toml"))?;
        std::fs::write(&self.sink_config, edit(text)).map_err(io("writing sink.toml"))
    }

    /// Starts (or restarts) `cdc-sink`.
    pub fn start_sink(&mut self) -> Result<()> {
        let bin = workspace_binary("cdc-sink")?;
        let config = self.sink_config.display().to_string();
        let process = ManagedProcess::spawn(
            &bin,
            &["--config", &config],
            &[],
            &self.dir.join("sink.log"),
        )?;
        self.sink = Some(process);
        Ok(())
    }

    /// `kill -9` of the capture.
    pub fn kill_capture(&mut self) -> Result<()> {
        if let Some(mut p) = self.capture.take() {
            p.kill9()?;
        }
        Ok(())
    }

    /// `kill -9` of the sink.
    pub fn kill_sink(&mut self) -> Result<()> {
        if let Some(mut p) = self.sink.take() {
            p.kill9()?;
        }
        Ok(())
    }

    /// Fails when a started process has exited (with its log tail).
    pub fn check_running(&mut self) -> Result<()> {
        for (name, p) in [
            ("cdc-capture", &mut self.capture),
            ("cdc-sink", &mut self.sink),
        ] {
            if let Some(p) = p {
                if !p.is_running() {
                    return Err(HarnessError::Check(format!(
                        "{name} exited unexpectedly; log tail:\n{}",
                        p.log_tail(40)
                    )));
                }
            }
        }
        Ok(())
    }

    /// SIGTERM both processes; both must exit 0 (graceful shutdown).
    pub async fn stop_processes(&mut self) -> Result<()> {
        for (name, p) in [
            ("cdc-capture", &mut self.capture),
            ("cdc-sink", &mut self.sink),
        ] {
            if let Some(mut p) = p.take() {
                let status = p.terminate(Duration::from_secs(60)).await?;
                if !status.success() {
                    return Err(HarnessError::Check(format!(
                        "{name} exited with {status} on SIGTERM; log tail:\n{}",
                        p.log_tail(40)
                    )));
                }
            }
        }
        Ok(())
    }

    /// `GET path` on an ops endpoint (`/metrics`, `/healthz`): `(status line, body)`.
    pub async fn http_get(addr: &str, path: &str) -> Result<(String, String)> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(io(format!("connecting to {addr}")))?;
        stream
            .write_all(format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes())
            .await
            .map_err(io("sending the request"))?;
        let mut response = String::new();
        stream
            .read_to_string(&mut response)
            .await
            .map_err(io("reading the response"))?;
        let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
        Ok((
            head.lines().next().unwrap_or_default().to_owned(),
            body.to_owned(),
        ))
    }

    /// Value of the sample `name` (exact, without labels) in a Prometheus text body.
    pub fn metric(body: &str, name: &str) -> Option<f64> {
        body.lines()
            .filter_map(|l| l.split_once(' '))
            .find(|(n, _)| *n == name)
            .and_then(|(_, v)| v.trim().parse().ok())
    }

    /// Waits until the capture's initial snapshot of `rows` rows is acknowledged by Kafka
    /// (checkpointed) and streaming began.
    pub async fn wait_for_snapshot(&mut self, rows: u64, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            self.check_running()?;
            if let Ok((_, body)) = Self::http_get(&self.capture_metrics, "/metrics").await {
                let read = Self::metric(&body, "cdc_capture_snapshot_rows_total").unwrap_or(0.0);
                let acked = Self::metric(&body, "cdc_capture_acked_lsn").unwrap_or(0.0);
                if read >= rows as f64 && acked > 0.0 && self.slot_active().await? {
                    return Ok(());
                }
            }
            if Instant::now() >= deadline {
                return Err(HarnessError::Check(format!(
                    "initial snapshot of {rows} rows not done within {timeout:?}"
                )));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the slot's `confirmed_flush_lsn` reaches the current WAL position, i.e. the
    /// capture confirmed everything written so far (including WAL of uncaptured tables).
    pub async fn wait_slot_caught_up(&self, timeout: Duration) -> Result<Duration> {
        let client = self.pg.connect(DATABASE).await?;
        let started = Instant::now();
        let target: String = client
            .query_one("SELECT pg_current_wal_lsn()::text", &[])
            .await?
            .get(0);
        loop {
            let behind: bool = client
                .query_one(
                    "SELECT confirmed_flush_lsn < $1::text::pg_lsn FROM pg_replication_slots \
                     WHERE slot_name = 'cdc'",
                    &[&target],
                )
                .await?
                .get(0);
            if !behind {
                return Ok(started.elapsed());
            }
            if started.elapsed() >= timeout {
                return Err(HarnessError::Check(format!(
                    "slot confirmed_flush_lsn did not reach {target} within {timeout:?}"
                )));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn slot_active(&self) -> Result<bool> {
        let client = self.pg.connect(DATABASE).await?;
        let row = client
            .query_opt(
                "SELECT active FROM pg_replication_slots WHERE slot_name = 'cdc'",
                &[],
            )
            .await?;
        Ok(row.is_some_and(|r| r.get::<_, bool>(0)))
    }

    /// Polls the read-back comparison until Iceberg equals PostgreSQL or `timeout` passes.
    pub async fn wait_until_in_sync(
        &mut self,
        timeout: Duration,
    ) -> Result<Vec<crate::readback::TableReport>> {
        let deadline = Instant::now() + timeout;
        loop {
            self.check_running()?;
            let reports = crate::readback::compare(&self.pg_dsn(), &self.lake_dir()).await?;
            if reports.iter().all(|r| r.ok) {
                return Ok(reports);
            }
            if Instant::now() >= deadline {
                return Err(HarnessError::Check(format!(
                    "Iceberg did not match PostgreSQL within {timeout:?}: {}",
                    reports
                        .iter()
                        .map(|r| r.raw.clone())
                        .collect::<Vec<_>>()
                        .join("\n")
                )));
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// Reads back and checks every record of the sample tables' topics.
    pub async fn check_topics(&self) -> Result<crate::topics::TopicReport> {
        let bootstrap = self.kafka.bootstrap_servers();
        let topics: Vec<String> = schema::TABLES
            .iter()
            .map(|t| format!("{TOPIC_PREFIX}.{t}"))
            .collect();
        tokio::task::spawn_blocking(move || crate::topics::check_topics(&bootstrap, &topics))
            .await
            .map_err(|e| HarnessError::Check(format!("topic check task failed: {e}")))?
    }

    /// Stops everything gracefully.
    pub async fn shutdown(mut self) -> Result<()> {
        self.stop_processes().await?;
        self.kafka.stop().await?;
        self.pg.stop().await?;
        Ok(())
    }
}
