//! A real single-node Apache Kafka broker (KRaft, broker + controller) on 127.0.0.1.
//!
//! The broker runs from the jars in `$KAFKA_LIBS` (default
//! `$HOME/.cache/cdc/kafka-4.1.1/lib`, filled by `dev/lib/install.sh`) with the
//! `java` found on `PATH`, started directly (no shell wrapper) so the spawned
//! PID is the JVM. Layout of the broker's directory:
//!
//! ```text
//! <dir>/server.properties   rewritten on every start (ports may change)
//! <dir>/kafka-logs/         log.dirs; formatted once, reused afterwards
//! <dir>/kafka.log           stdout + stderr of the JVM (appended)
//! ```
//!
//! JVM options default to `-Xmx512m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC`
//! (fast start-up); set `CDC_TESTKIT_KAFKA_JVM_OPTS` to replace them, e.g.
//! `-Xmx1g` alone for a benchmark that wants the full JIT.
//!
//! A reused directory must be started with the same controller port it was
//! formatted with: `--standalone` formatting records the controller endpoint
//! in the metadata log.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use tempfile::TempDir;

use crate::process::{log_tail, ManagedProcess};
use crate::{free_port, poll_until, TestkitError};

const HOST: &str = "127.0.0.1";
/// Heap cap plus start-up-friendly JIT/GC choices (C1 only starts the broker
/// ~30% faster on a small machine; peak throughput is not what tests need).
const DEFAULT_JVM_OPTS: &str = "-Xmx512m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC";
/// Environment variable replacing [`DEFAULT_JVM_OPTS`] (e.g. for benchmarks).
const JVM_OPTS_ENV: &str = "CDC_TESTKIT_KAFKA_JVM_OPTS";
const START_TIMEOUT: Duration = Duration::from_secs(120);
const STOP_TIMEOUT: Duration = Duration::from_secs(60);
const METADATA_TIMEOUT: Duration = Duration::from_secs(2);
/// Lines of log quoted in start-up errors.
const ERROR_LOG_LINES: usize = 60;

/// A running Kafka broker; killed (SIGKILL) and its temp dir removed on drop.
#[derive(Debug)]
pub struct KafkaBroker {
    process: Option<ManagedProcess>,
    dir: PathBuf,
    port: u16,
    controller_port: u16,
    /// The SASL_SSL listener's port, when started with [`KafkaBroker::start_secure`].
    secure_port: Option<u16>,
    /// Held only for a temp dir: removes it when the broker is dropped
    /// (after `Drop::drop` has killed the JVM).
    _temp: Option<TempDir>,
}

/// A SASL_SSL listener next to the PLAINTEXT one: TLS with the given server key and
/// certificate chain, SCRAM-SHA-512 authentication of one user (created at storage format).
#[derive(Debug, Clone)]
pub struct SecureListener {
    /// PEM file holding the server's unencrypted PKCS#8 private key and its certificate chain.
    pub key_and_chain_pem: PathBuf,
    pub scram_user: String,
    pub scram_password: String,
}

impl KafkaBroker {
    /// Starts a broker in a fresh temp dir on free ports and waits until it
    /// answers a metadata request listing itself.
    pub async fn start() -> Result<KafkaBroker, TestkitError> {
        let temp = tempfile::Builder::new()
            .prefix("cdc-testkit-kafka-")
            .tempdir()
            .map_err(|e| TestkitError::io("create temp dir for Kafka", e))?;
        let dir = temp.path().to_path_buf();
        Self::launch(&dir, free_port(), free_port(), None, Some(temp)).await
    }

    /// As [`start`](Self::start), plus a SASL_SSL listener (SCRAM-SHA-512 over TLS) on
    /// [`secure_bootstrap_servers`](Self::secure_bootstrap_servers). The PLAINTEXT listener
    /// stays (for the broker's own traffic and test tooling).
    pub async fn start_secure(secure: &SecureListener) -> Result<KafkaBroker, TestkitError> {
        let temp = tempfile::Builder::new()
            .prefix("cdc-testkit-kafka-")
            .tempdir()
            .map_err(|e| TestkitError::io("create temp dir for Kafka", e))?;
        let dir = temp.path().to_path_buf();
        Self::launch(&dir, free_port(), free_port(), Some(secure), Some(temp)).await
    }

    /// Starts a broker keeping its data in `dir` (created if missing; storage
    /// formatted on first use and reused afterwards, so topics survive
    /// re-runs). The directory is not removed on stop or drop. Reuse it with
    /// the same `controller_port`.
    pub async fn start_in(
        dir: &Path,
        port: u16,
        controller_port: u16,
    ) -> Result<KafkaBroker, TestkitError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| TestkitError::io(format!("create {}", dir.display()), e))?;
        let dir = dir
            .canonicalize()
            .map_err(|e| TestkitError::io(format!("resolve {}", dir.display()), e))?;
        Self::launch(&dir, port, controller_port, None, None).await
    }

    async fn launch(
        dir: &Path,
        port: u16,
        controller_port: u16,
        secure: Option<&SecureListener>,
        temp: Option<TempDir>,
    ) -> Result<KafkaBroker, TestkitError> {
        let classpath = kafka_classpath()?;
        let properties = dir.join("server.properties");
        let secure_port = secure.map(|_| free_port());
        let mut text = server_properties(dir, port, controller_port);
        if let (Some(secure), Some(secure_port)) = (secure, secure_port) {
            text = secure_properties(&text, secure, secure_port);
        }
        std::fs::write(&properties, text)
            .map_err(|e| TestkitError::io(format!("write {}", properties.display()), e))?;
        if !dir.join("kafka-logs").join("meta.properties").exists() {
            format_storage(&classpath, &properties, secure)?;
        }
        let process = spawn_jvm(&classpath, dir)?;
        let mut broker = KafkaBroker {
            process: Some(process),
            dir: dir.to_path_buf(),
            port,
            controller_port,
            secure_port,
            _temp: temp,
        };
        broker.wait_ready().await?;
        Ok(broker)
    }

    /// Restarts the broker on the same directory and ports (controlled shutdown, SIGTERM,
    /// then a new JVM) and waits until it answers again; topics and offsets survive.
    pub async fn restart(&mut self) -> Result<(), TestkitError> {
        if let Some(mut process) = self.process.take() {
            process
                .signal_and_wait(libc::SIGTERM, "SIGTERM", STOP_TIMEOUT)
                .await?;
        }
        self.process = Some(spawn_jvm(&kafka_classpath()?, &self.dir)?);
        self.wait_ready().await
    }

    /// Freezes the broker's JVM (SIGSTOP): clients see a broker that accepts connections
    /// but never answers, until [`resume`](Self::resume).
    pub fn pause(&mut self) -> Result<(), TestkitError> {
        match self.process.as_mut() {
            Some(process) => process.pause(),
            None => Ok(()),
        }
    }

    /// Lets a paused broker run again (SIGCONT).
    pub fn resume(&mut self) -> Result<(), TestkitError> {
        match self.process.as_mut() {
            Some(process) => process.resume(),
            None => Ok(()),
        }
    }

    /// Polls metadata until the broker lists itself, the JVM exits, or the timeout.
    async fn wait_ready(&mut self) -> Result<(), TestkitError> {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", self.bootstrap_servers())
            .set("socket.connection.setup.timeout.ms", "1000")
            .set("reconnect.backoff.max.ms", "200")
            .create()
            .map_err(|source| TestkitError::Kafka {
                context: "create readiness-check client".into(),
                source,
            })?;
        let consumer = Arc::new(consumer);
        let deadline = Instant::now() + START_TIMEOUT;
        let process = &mut self.process;
        let result = poll_until(
            "Kafka to answer a metadata request",
            deadline,
            Duration::from_millis(200),
            || {
                let exited = process.as_mut().and_then(ManagedProcess::exit_status);
                let consumer = Arc::clone(&consumer);
                async move {
                    if let Some(status) = exited {
                        return Err(TestkitError::Environment(format!(
                            "JVM exited with {status}"
                        )));
                    }
                    let ready = tokio::task::spawn_blocking(move || {
                        consumer
                            .fetch_metadata(None, METADATA_TIMEOUT)
                            .is_ok_and(|md| !md.brokers().is_empty())
                    })
                    .await
                    .unwrap_or(false);
                    Ok(ready.then_some(()))
                }
            },
        )
        .await;
        result.map_err(|e| {
            let mut reason = match e {
                TestkitError::Environment(reason) => reason,
                other => other.to_string(),
            };
            let log_tail = self.log_tail(ERROR_LOG_LINES);
            if log_tail.contains("NOP") && log_tail.contains("SLF4J") {
                reason.push_str(
                    " (the broker's own logging is off: the jars in KAFKA_LIBS pair slf4j-api 1.x \
                     with an slf4j 2.x binding, so the reason is not in the log below; \
                     add slf4j-api 2.x to those jars to see it)",
                );
            }
            TestkitError::StartFailed {
                service: "kafka",
                reason,
                log: self.log_path(),
                log_tail,
            }
        })
    }

    /// `"127.0.0.1:<port>"`, for `bootstrap.servers`.
    pub fn bootstrap_servers(&self) -> String {
        format!("{HOST}:{}", self.port)
    }

    /// `"127.0.0.1:<port>"` of the SASL_SSL listener (only after
    /// [`start_secure`](Self::start_secure)).
    pub fn secure_bootstrap_servers(&self) -> Option<String> {
        self.secure_port.map(|p| format!("{HOST}:{p}"))
    }

    /// The client (PLAINTEXT) port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The KRaft controller port.
    pub fn controller_port(&self) -> u16 {
        self.controller_port
    }

    /// The broker's directory (holds `server.properties`, `kafka-logs/`, `kafka.log`).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The JVM's stdout/stderr log file.
    pub fn log_path(&self) -> PathBuf {
        self.dir.join("kafka.log")
    }

    /// The last `lines` lines of the JVM's log.
    pub fn log_tail(&self, lines: usize) -> String {
        log_tail(&self.log_path(), lines)
    }

    /// Controlled shutdown: SIGTERM, waiting up to 60 s; SIGKILL and an error
    /// if the JVM does not exit in time.
    pub async fn stop(mut self) -> Result<(), TestkitError> {
        if let Some(mut process) = self.process.take() {
            process
                .signal_and_wait(libc::SIGTERM, "SIGTERM", STOP_TIMEOUT)
                .await?;
        }
        Ok(())
    }
}

impl Drop for KafkaBroker {
    /// Kills the JVM with SIGKILL; the temp dir, if any, is removed afterwards
    /// when the fields drop.
    fn drop(&mut self) {
        if let Some(process) = self.process.as_mut() {
            let _ = process.kill9();
        }
    }
}

/// Starts the broker JVM on `<dir>/server.properties`, logging to `<dir>/kafka.log`.
fn spawn_jvm(classpath: &str, dir: &Path) -> Result<ManagedProcess, TestkitError> {
    let jvm_opts = std::env::var(JVM_OPTS_ENV).unwrap_or_else(|_| DEFAULT_JVM_OPTS.to_string());
    let mut command = Command::new("java");
    command
        .args(jvm_opts.split_whitespace())
        .args(["-Djava.awt.headless=true", "-cp", classpath])
        .arg("kafka.Kafka")
        .arg(dir.join("server.properties"))
        .current_dir(dir);
    ManagedProcess::spawn_command(command, &dir.join("kafka.log"))
}

fn server_properties(dir: &Path, port: u16, controller_port: u16) -> String {
    let log_dirs = dir.join("kafka-logs");
    format!(
        "# written by cdc-testkit
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers={HOST}:{controller_port}
listeners=PLAINTEXT://{HOST}:{port},CONTROLLER://{HOST}:{controller_port}
advertised.listeners=PLAINTEXT://{HOST}:{port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs={}
num.partitions=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
",
        log_dirs.display()
    )
}

/// `<KAFKA_LIBS>/*`, after checking that the directory holds the broker jar.
fn kafka_classpath() -> Result<String, TestkitError> {
    let libs = match std::env::var_os("KAFKA_LIBS").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => {
            let home = std::env::var_os("HOME").ok_or_else(|| {
                TestkitError::Environment("neither KAFKA_LIBS nor HOME is set".into())
            })?;
            PathBuf::from(home).join(".cache/cdc/kafka-4.1.1/lib")
        }
    };
    let has_broker_jar = std::fs::read_dir(&libs)
        .into_iter()
        .flatten()
        .flatten()
        .any(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.starts_with("kafka_2.13-") && name.ends_with(".jar")
        });
    if !has_broker_jar {
        return Err(TestkitError::Environment(format!(
            "no Kafka broker jar (kafka_2.13-*.jar) in {} (set KAFKA_LIBS, or run dev/lib/install.sh)",
            libs.display()
        )));
    }
    Ok(format!("{}/*", libs.display()))
}

/// Formats `log.dirs` for a new single-node KRaft cluster.
/// Adds the SASL_SSL listener `SECURE` to the PLAINTEXT/CONTROLLER properties.
fn secure_properties(text: &str, secure: &SecureListener, port: u16) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let line = match line.split_once('=') {
            Some(("listeners", v)) => format!("listeners={v},SECURE://{HOST}:{port}"),
            Some(("advertised.listeners", v)) => {
                format!("advertised.listeners={v},SECURE://{HOST}:{port}")
            }
            Some(("listener.security.protocol.map", v)) => {
                format!("listener.security.protocol.map={v},SECURE:SASL_SSL")
            }
            _ => line.to_owned(),
        };
        out.push_str(&line);
        out.push('\n');
    }
    out.push_str(&format!(
        "sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.secure.sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.secure.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.secure.ssl.keystore.type=PEM
listener.name.secure.ssl.keystore.location={}
",
        secure.key_and_chain_pem.display()
    ));
    out
}

fn format_storage(
    classpath: &str,
    properties: &Path,
    secure: Option<&SecureListener>,
) -> Result<(), TestkitError> {
    let cluster_id = random_cluster_id();
    let mut command = Command::new("java");
    command
        .args([
            "-cp",
            classpath,
            "kafka.tools.StorageTool",
            "format",
            "--standalone",
        ])
        .args(["-t", &cluster_id, "-c"])
        .arg(properties);
    if let Some(secure) = secure {
        command.arg("--add-scram").arg(format!(
            "SCRAM-SHA-512=[name={},password={}]",
            secure.scram_user, secure.scram_password
        ));
    }
    let output = command
        .output()
        .map_err(|e| TestkitError::io("run java (kafka.tools.StorageTool); is Java on PATH?", e))?;
    if output.status.success() {
        return Ok(());
    }
    Err(TestkitError::Command {
        what: format!("kafka StorageTool format -c {}", properties.display()),
        status: output.status.to_string(),
        output: format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    })
}

/// A cluster id as `kafka-storage random-uuid` makes one: 16 random bytes,
/// URL-safe base64 without padding, not starting with `-` (which would read as an option).
/// Done in-process to save a JVM start.
fn random_cluster_id() -> String {
    loop {
        let id = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(uuid::Uuid::new_v4().as_bytes());
        if !id.starts_with('-') {
            return id;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_id_has_kafka_shape() {
        let id = random_cluster_id();
        assert_eq!(id.len(), 22, "{id}");
        assert!(!id.starts_with('-'));
        assert!(id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    }
}
