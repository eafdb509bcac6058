//! The timed runs: the raw readers (`mariadb-binlog --read-from-remote-server`, `mariadb
//! --quick` of `SELECT *`) and `cdc-capture` processes (release binary next to this one).

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cdc_testkit::{free_port, ManagedProcess, MariaDbServer};
use mysql_async::prelude::Queryable;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};

use crate::workload::BinlogPos;
use crate::{BenchError, Options};

/// Longest any single measured run may take.
const DEADLINE: Duration = Duration::from_secs(900);
/// How often a capture's progress is polled.
const POLL: Duration = Duration::from_millis(20);

pub struct Bench {
    dir: PathBuf,
    bootstrap: String,
    host: String,
    port: u16,
    capture: PathBuf,
}

impl Bench {
    pub fn new(o: &Options, db: &MariaDbServer, bootstrap: String) -> Result<Bench, BenchError> {
        let exe =
            std::env::current_exe().map_err(|e| BenchError::Check(format!("current_exe: {e}")))?;
        let capture = exe.with_file_name("cdc-capture");
        if !capture.exists() {
            return Err(BenchError::Check(format!(
                "{} missing: cargo build --release -p cdc-capture",
                capture.display()
            )));
        }
        Ok(Bench {
            dir: o.dir.clone(),
            bootstrap,
            host: db.host().to_owned(),
            port: db.port(),
            capture,
        })
    }

    fn config(&self, prefix: &str, tables: &str, mode: &str) -> Result<PathBuf, BenchError> {
        let path = self.dir.join(format!("{prefix}.toml"));
        std::fs::write(
            &path,
            format!(
                "topic_prefix = \"{prefix}\"\n\n[source]\nkind = \"mariadb\"\nhost = \"{host}\"\n\
                 port = {port}\nuser = \"cdc\"\npassword = {{ env = \"CDC_BENCH_MARIADB_PASSWORD\" }}\n\
                 server_id = {sid}\ntables = [{tables}]\n\n[kafka]\nbootstrap_servers = \"{bootstrap}\"\n\n\
                 [snapshot]\nmode = \"{mode}\"\n",
                host = self.host,
                port = self.port,
                sid = 5600 + free_port() % 1000,
                bootstrap = self.bootstrap,
            ),
        )
        .map_err(|e| BenchError::Check(format!("write {}: {e}", path.display())))?;
        Ok(path)
    }

    fn spawn(&self, config: &std::path::Path, log: &str) -> Result<ManagedProcess, BenchError> {
        let listen = format!("127.0.0.1:{}", free_port());
        Ok(ManagedProcess::spawn(
            &self.capture,
            &[
                "--config",
                &config.display().to_string(),
                "--metrics-listen",
                &listen,
            ],
            &[("CDC_BENCH_MARIADB_PASSWORD", "cdc"), ("RUST_LOG", "info")],
            &self.dir.join(log),
        )?)
    }

    /// Waits until `p` exits; it must exit 0 within the deadline.
    async fn wait_exit(p: &mut ManagedProcess, what: &str) -> Result<(), BenchError> {
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Some(status) = p.exit_status() {
                if status.success() {
                    return Ok(());
                }
                return Err(BenchError::Check(format!(
                    "{what}: cdc-capture exited {status}:\n{}",
                    p.log_tail(30)
                )));
            }
            if Instant::now() >= deadline {
                return Err(BenchError::Check(format!(
                    "{what}: cdc-capture still running after {DEADLINE:?}"
                )));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// An `initial_only` run of capture `k` over the still empty backlog tables: it stores
    /// the position before the backlog; the config then switches to `initial`, which streams
    /// from that position on the next start.
    /// Returns the run's duration: the capture's fixed start-up and shut-down cost (Kafka
    /// producer and topics, schema history, an empty snapshot).
    pub async fn position_before_backlog(&self, k: usize) -> Result<Duration, BenchError> {
        let prefix = format!("m1r{k}");
        let tables = "\"bench.m1\", \"bench.done\"";
        let config = self.config(&prefix, tables, "initial_only")?;
        let started = Instant::now();
        let mut p = self.spawn(&config, &format!("{prefix}-position.log"))?;
        Self::wait_exit(&mut p, "positioning run").await?;
        let elapsed = started.elapsed();
        self.config(&prefix, tables, "initial")?;
        Ok(elapsed)
    }

    /// Capture `k` streams the backlog: seconds from process start until the sentinel is
    /// committed in Kafka; then checks every change reached the table's topic.
    pub async fn stream_backlog(&self, k: usize, changes: u64) -> Result<Duration, BenchError> {
        let prefix = format!("m1r{k}");
        let config = self.dir.join(format!("{prefix}.toml"));
        let done = self.committed_reader(&format!("{prefix}.bench.done"))?;
        let started = Instant::now();
        let mut p = self.spawn(&config, &format!("{prefix}-stream.log"))?;
        let deadline = started + DEADLINE;
        loop {
            match done.poll(POLL) {
                Some(Ok(m)) if m.payload().is_some() => break,
                _ => {}
            }
            if !p.is_running() {
                return Err(BenchError::Check(format!(
                    "streaming: cdc-capture exited:\n{}",
                    p.log_tail(30)
                )));
            }
            if Instant::now() >= deadline {
                return Err(BenchError::Check(format!(
                    "streaming: the sentinel did not reach Kafka within {DEADLINE:?}"
                )));
            }
        }
        let elapsed = started.elapsed();
        p.interrupt(Duration::from_secs(60)).await?;
        self.check_count(&format!("{prefix}.bench.m1"), changes)?;
        Ok(elapsed)
    }

    /// Capture `k`'s `initial_only` snapshot of `bench.snap`: process start to exit 0.
    pub async fn snapshot(&self, k: usize, rows: u64) -> Result<Duration, BenchError> {
        let prefix = format!("m2r{k}");
        let config = self.config(&prefix, "\"bench.snap\"", "initial_only")?;
        let started = Instant::now();
        let mut p = self.spawn(&config, &format!("{prefix}-snapshot.log"))?;
        Self::wait_exit(&mut p, "snapshot").await?;
        let elapsed = started.elapsed();
        self.check_count(&format!("{prefix}.bench.snap"), rows)?;
        Ok(elapsed)
    }

    /// A `read_committed` consumer of partition 0 of `topic` from the beginning.
    fn committed_reader(&self, topic: &str) -> Result<BaseConsumer, BenchError> {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &self.bootstrap)
            .set("group.id", format!("bench-{topic}"))
            .set("isolation.level", "read_committed")
            .set("enable.auto.commit", "false")
            .set("topic.metadata.refresh.interval.ms", "100")
            .create()?;
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(topic, 0, Offset::Beginning)?;
        consumer.assign(&tpl)?;
        Ok(consumer)
    }

    /// The topic holds at least `rows` offsets (records plus transaction markers), i.e. no
    /// change is missing in count.
    fn check_count(&self, topic: &str, rows: u64) -> Result<(), BenchError> {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &self.bootstrap)
            .set("isolation.level", "read_committed")
            .create()?;
        let (_, high) = consumer.fetch_watermarks(topic, 0, Duration::from_secs(30))?;
        if (high as u64) < rows {
            return Err(BenchError::Check(format!(
                "{topic}: {high} offsets, expected at least {rows} records"
            )));
        }
        Ok(())
    }

    /// `mariadb-binlog --read-from-remote-server` of `start..end` to /dev/null.
    pub async fn raw_binlog(
        &self,
        db: &MariaDbServer,
        start: &BinlogPos,
        end: &BinlogPos,
    ) -> Result<Duration, BenchError> {
        let mut conn = db.connect_admin().await?;
        let logs: Vec<mysql_async::Row> = conn.query("SHOW BINARY LOGS").await?;
        let _ = conn.disconnect().await;
        let files: Vec<String> = logs
            .iter()
            .filter_map(|r| r.get::<String, _>(0))
            .filter(|f| *f >= start.file && *f <= end.file)
            .collect();
        let (user, password) = db.admin_user();
        let mut cmd = Command::new("mariadb-binlog");
        cmd.arg("--read-from-remote-server")
            .arg(format!("--host={}", self.host))
            .arg(format!("--port={}", self.port))
            .arg(format!("--user={user}"))
            .arg(format!("--password={password}"))
            .arg(format!("--start-position={}", start.pos))
            .arg(format!("--stop-position={}", end.pos))
            .args(&files);
        timed(cmd, "mariadb-binlog")
    }

    /// `mariadb --quick -e 'SELECT * FROM bench.snap'` to /dev/null.
    pub async fn raw_select(&self, db: &MariaDbServer) -> Result<Duration, BenchError> {
        let (user, password) = db.admin_user();
        let mut cmd = Command::new("mariadb");
        cmd.arg("--no-defaults")
            .arg("--quick")
            .arg("--batch")
            .arg("--skip-column-names")
            .arg(format!("--host={}", self.host))
            .arg(format!("--port={}", self.port))
            .arg(format!("--user={user}"))
            .arg(format!("--password={password}"))
            .arg("-e")
            .arg("SELECT * FROM bench.snap");
        timed(cmd, "mariadb SELECT *")
    }
}

/// Runs `cmd` with stdout to /dev/null; it must succeed.
fn timed(mut cmd: Command, what: &str) -> Result<Duration, BenchError> {
    let started = Instant::now();
    let out = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| BenchError::Check(format!("{what}: {e}")))?;
    let elapsed = started.elapsed();
    if !out.status.success() {
        return Err(BenchError::Check(format!(
            "{what}: {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(elapsed)
}
