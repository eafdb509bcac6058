//! The MariaDB pipeline on real services: a private MariaDB 10.11 ([`MariaDbServer`], binlog
//! ROW/GTID) and Kafka from `cdc-testkit`, `cdc-capture` (`kind = "mariadb"`) and `cdc-sink`
//! (changelog + mirror) as child processes with generated configuration, and `cdc-sink verify`
//! against the MariaDB source. The capture password travels in an environment variable and
//! verify's in `MYSQL_PWD`; neither is written to a file or printed.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use cdc_testkit::{
    free_port, workspace_binary, KafkaBroker, ManagedProcess, MariaDbServer, MariaDbTls,
};
use mysql_async::prelude::Queryable;

use crate::{io, HarnessError, Result};

/// Environment variable carrying the capture user's password to `cdc-capture`.
pub const PASSWORD_ENV: &str = "CDC_TEST_MARIADB_PASSWORD";

/// Running services and processes; everything stops when dropped.
pub struct MariaDbPipeline {
    pub dir: PathBuf,
    pub db: MariaDbServer,
    pub kafka: KafkaBroker,
    pub capture: Option<ManagedProcess>,
    pub sink: Option<ManagedProcess>,
    /// Extra arguments of every `cdc-sink verify` run (e.g. `--source-ssl-mode …`).
    pub verify_args: Vec<String>,
    capture_config: PathBuf,
    sink_config: PathBuf,
    /// The user and password of the capture and verify (default: the testkit's `cdc`).
    login: (String, String),
}

impl MariaDbPipeline {
    /// Starts MariaDB and Kafka, runs `setup` (SQL statements, as the administrative user),
    /// and writes the configurations into `dir`: capture of `tables` (`db.table`) to topics
    /// `<topic_prefix>.<db>.<table>`, sink of those topics into `dir/lake`.
    pub async fn start(
        dir: &Path,
        topic_prefix: &str,
        tables: &[&str],
        setup: &[String],
    ) -> Result<MariaDbPipeline> {
        Self::start_with(dir, topic_prefix, tables, setup, None).await
    }

    /// As [`start`](Self::start), MariaDB with TLS (`tls`, see [`MariaDbServer::start_with_tls`]).
    /// `extra` server options come last.
    pub async fn start_with_tls(
        dir: &Path,
        topic_prefix: &str,
        tables: &[&str],
        setup: &[String],
        tls: MariaDbTls<'_>,
        extra: &[&str],
    ) -> Result<MariaDbPipeline> {
        Self::start_with(dir, topic_prefix, tables, setup, Some((tls, extra))).await
    }

    async fn start_with(
        dir: &Path,
        topic_prefix: &str,
        tables: &[&str],
        setup: &[String],
        tls: Option<(MariaDbTls<'_>, &[&str])>,
    ) -> Result<MariaDbPipeline> {
        std::fs::create_dir_all(dir).map_err(io(format!("creating {}", dir.display())))?;
        let db = async {
            match tls {
                Some((tls, extra)) => MariaDbServer::start_with_tls(tls, extra).await,
                None => MariaDbServer::start().await,
            }
        };
        let (db, kafka) = tokio::try_join!(db, KafkaBroker::start())?;
        for sql in setup {
            db.execute(sql).await?;
        }
        let bootstrap = kafka.bootstrap_servers();
        let (user, _) = db.cdc_user();
        let list = tables
            .iter()
            .map(|t| format!("\"{t}\""))
            .collect::<Vec<_>>()
            .join(", ");
        let capture_config = dir.join("capture.toml");
        let capture_toml = format!(
            "topic_prefix = \"{topic_prefix}\"\n\n[source]\nkind = \"mariadb\"\nhost = \"{host}\"\n\
             port = {port}\nuser = \"{user}\"\npassword = {{ env = \"{PASSWORD_ENV}\" }}\n\
             server_id = 5500\ntables = [{list}]\n\n[kafka]\nbootstrap_servers = \"{bootstrap}\"\n",
            host = db.host(),
            port = db.port(),
        );
        let sink_config = dir.join("sink.toml");
        let sink_toml = format!(
            "[kafka]\nbootstrap_servers = \"{bootstrap}\"\ngroup_id = \"cdc-sink-{topic_prefix}\"\n\
             topic_pattern = \"^{topic_prefix}\\\\..*\"\n\n[iceberg]\ndata_dir = \"{data}\"\n\n\
             [commit]\ninterval_ms = 1000\n\n[ops]\nlisten = \"127.0.0.1:{port}\"\n",
            data = dir.join("lake").display(),
            port = free_port(),
        );
        std::fs::write(&capture_config, capture_toml).map_err(io("writing capture.toml"))?;
        std::fs::write(&sink_config, sink_toml).map_err(io("writing sink.toml"))?;
        let (user, password) = db.cdc_user();
        let login = (user.to_owned(), password.to_owned());
        Ok(MariaDbPipeline {
            dir: dir.to_owned(),
            db,
            kafka,
            capture: None,
            sink: None,
            verify_args: Vec::new(),
            capture_config,
            sink_config,
            login,
        })
    }

    /// Rewrites the capture's configuration with `edit` (it gets the TOML text).
    pub fn edit_capture_config(&self, edit: impl FnOnce(String) -> String) -> Result<()> {
        let text =
            std::fs::read_to_string(&self.capture_config).map_err(io("reading capture.toml"))?;
        std::fs::write(&self.capture_config, edit(text)).map_err(io("writing capture.toml"))
    }

    /// The capture and verify log in as `user` / `password` from now on.
    pub fn use_login(&mut self, user: &str, password: &str) -> Result<()> {
        let old = format!("user = \"{}\"", self.login.0);
        self.edit_capture_config(|toml| toml.replace(&old, &format!("user = \"{user}\"")))?;
        self.login = (user.to_owned(), password.to_owned());
        Ok(())
    }

    /// The capture's configuration file.
    pub fn capture_config(&self) -> &Path {
        &self.capture_config
    }

    /// Iceberg data directory of the sink (catalog.db + warehouse).
    pub fn lake_dir(&self) -> PathBuf {
        self.dir.join("lake")
    }

    /// The sink's configuration file.
    pub fn sink_config(&self) -> &Path {
        &self.sink_config
    }

    /// Starts (or restarts) `cdc-capture`.
    pub fn start_capture(&mut self) -> Result<()> {
        self.capture = Some(spawn_capture_as(
            &self.login.1,
            &self.dir,
            &self.capture_config,
            "capture.log",
        )?);
        Ok(())
    }

    /// Starts (or restarts) `cdc-sink`.
    pub fn start_sink(&mut self) -> Result<()> {
        let bin = workspace_binary("cdc-sink")?;
        let config = self.sink_config.display().to_string();
        self.sink = Some(ManagedProcess::spawn(
            &bin,
            &["--config", &config],
            &[],
            &self.dir.join("sink.log"),
        )?);
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

    /// Runs `cdc-sink verify` of `tables` (`db.table`) against the MariaDB source, as the
    /// capture user with the password in `MYSQL_PWD`.
    pub fn verify(&self, tables: &[&str]) -> Result<Output> {
        let (user, password) = (&self.login.0, &self.login.1);
        let mut cmd = std::process::Command::new(workspace_binary("cdc-sink")?);
        cmd.args(["verify", "--config"])
            .arg(&self.sink_config)
            .args([
                "--source",
                &format!("mariadb://{user}@{}:{}", self.db.host(), self.db.port()),
            ]);
        for table in tables {
            cmd.args(["--table", table]);
        }
        cmd.args(&self.verify_args);
        cmd.env("MYSQL_PWD", password)
            .env_remove("CDC_SINK_VERIFY_SOURCE")
            .output()
            .map_err(io("running cdc-sink verify"))
    }

    /// Runs verify every 500 ms until its stdout is exactly `expected` (the sink commits about
    /// every second), failing after `timeout` with the last output.
    pub async fn verify_until(
        &mut self,
        tables: &[&str],
        expected: &str,
        timeout: Duration,
    ) -> Result<Output> {
        self.verify_until_with(tables, timeout, |stdout| stdout == expected)
            .await
    }

    /// As [`verify_until`](Self::verify_until), until `done(stdout)` holds.
    pub async fn verify_until_with(
        &mut self,
        tables: &[&str],
        timeout: Duration,
        done: impl Fn(&str) -> bool,
    ) -> Result<Output> {
        let deadline = Instant::now() + timeout;
        loop {
            self.check_running()?;
            let out = self.verify(tables)?;
            if done(&String::from_utf8_lossy(&out.stdout)) {
                return Ok(out);
            }
            if Instant::now() >= deadline {
                return Err(HarnessError::Check(format!(
                    "verify did not succeed within {timeout:?}; last run:\n{}",
                    show_output(&out)
                )));
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// `SELECT COUNT(*)` of `table` (`db.table`).
    pub async fn count(&self, table: &str) -> Result<i64> {
        let mut conn = self.db.connect_admin().await?;
        let count: Option<i64> = conn
            .query_first(format!("SELECT COUNT(*) FROM {table}"))
            .await
            .map_err(|e| HarnessError::Check(format!("MariaDB: counting {table}: {e}")))?;
        let _ = conn.disconnect().await;
        count.ok_or_else(|| HarnessError::Check(format!("MariaDB: no count of {table}")))
    }

    /// The rows of `sql` (every column selected as text, e.g. `CAST(c AS CHAR)`), as the
    /// administrative user.
    pub async fn text_rows(&self, sql: &str) -> Result<Vec<Vec<Option<String>>>> {
        let mut conn = self.db.connect_admin().await?;
        let rows: Vec<mysql_async::Row> = conn
            .query(sql)
            .await
            .map_err(|e| HarnessError::Check(format!("MariaDB: {sql}: {e}")))?;
        let _ = conn.disconnect().await;
        rows.into_iter()
            .map(|row| {
                (0..row.len())
                    .map(|i| {
                        row.get_opt::<Option<String>, _>(i)
                            .transpose()
                            .map(Option::flatten)
                            .map_err(|e| {
                                HarnessError::Check(format!("MariaDB: {sql}: column {i}: {e}"))
                            })
                    })
                    .collect()
            })
            .collect()
    }

    /// Reads `columns` of the mirror table of `table` (`db.table`) back with pyiceberg and
    /// DuckDB ([`crate::readback::mirror_rows`]) and compares them with the MariaDB rows (each
    /// column as `CAST(… AS CHAR)`), ordered by the first column (an integer key). Returns the
    /// row count; fails naming the first differing row.
    pub async fn compare_mirror(&self, table: &str, columns: &[&str]) -> Result<usize> {
        let by_key = |mut rows: Vec<Vec<Option<String>>>| {
            rows.sort_by_key(|r| {
                r.first()
                    .cloned()
                    .flatten()
                    .and_then(|k| k.parse::<i64>().ok())
            });
            rows
        };
        let iceberg = by_key(
            crate::readback::mirror_rows(&self.lake_dir(), table, columns)
                .await?
                .rows,
        );
        let select = columns
            .iter()
            .map(|c| format!("CAST(`{c}` AS CHAR)"))
            .collect::<Vec<_>>()
            .join(", ");
        let source = by_key(
            self.text_rows(&format!("SELECT {select} FROM {table}"))
                .await?,
        );
        if let Some((i, m)) = iceberg.iter().zip(&source).find(|(i, m)| i != m) {
            return Err(HarnessError::Check(format!(
                "{table}: mirror row read back by pyiceberg/DuckDB differs from MariaDB \
                 (columns {columns:?}):\n iceberg: {i:?}\n mariadb: {m:?}"
            )));
        }
        if iceberg.len() != source.len() {
            return Err(HarnessError::Check(format!(
                "{table}: {} mirror rows read back by pyiceberg/DuckDB, {} in MariaDB",
                iceberg.len(),
                source.len()
            )));
        }
        Ok(source.len())
    }

    /// SIGTERM both processes (both must exit 0), then stops Kafka and MariaDB.
    pub async fn shutdown(mut self) -> Result<()> {
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
        self.kafka.stop().await?;
        self.db.stop().await?;
        Ok(())
    }
}

/// Spawns `cdc-capture --config <config>` logging to `dir/<log>`, with the capture user's
/// password of `db` in the environment variable its configuration names
/// (`password = { env = "CDC_TEST_MARIADB_PASSWORD" }`) and metrics on a free port.
pub fn spawn_capture(
    db: &MariaDbServer,
    dir: &Path,
    config: &Path,
    log: &str,
) -> Result<ManagedProcess> {
    spawn_capture_as(db.cdc_user().1, dir, config, log)
}

/// As [`spawn_capture`], with `password` for the configured user.
pub fn spawn_capture_as(
    password: &str,
    dir: &Path,
    config: &Path,
    log: &str,
) -> Result<ManagedProcess> {
    let bin = workspace_binary("cdc-capture")?;
    let listen = format!("127.0.0.1:{}", free_port());
    let config = config.display().to_string();
    Ok(ManagedProcess::spawn(
        &bin,
        &["--config", &config, "--metrics-listen", &listen],
        &[(PASSWORD_ENV, password)],
        &dir.join(log),
    )?)
}

/// Exit code, stdout and stderr of a finished command, for messages.
pub fn show_output(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Rows per table of an all-OK verify stdout (`verify: OK <table> <rows>` lines), or `None`
/// unless every one of `tables` has an OK line.
pub fn verified_rows(stdout: &str, tables: &[&str]) -> Option<Vec<(String, u64)>> {
    let mut rows = Vec::new();
    for table in tables {
        let n = stdout.lines().find_map(|l| {
            l.strip_prefix("verify: OK ")?
                .strip_prefix(table)?
                .strip_prefix(' ')?
                .parse::<u64>()
                .ok()
        })?;
        rows.push(((*table).to_owned(), n));
    }
    (stdout.lines().count() == tables.len()).then_some(rows)
}

#[cfg(test)]
mod tests {
    use super::verified_rows;

    #[test]
    fn verified_rows_needs_an_ok_line_per_table_and_nothing_else() {
        let tables = ["shop.a", "shop.b"];
        assert_eq!(
            verified_rows("verify: OK shop.a 3\nverify: OK shop.b 40\n", &tables),
            Some(vec![("shop.a".into(), 3), ("shop.b".into(), 40)])
        );
        assert_eq!(verified_rows("verify: OK shop.a 3\n", &tables), None);
        assert_eq!(
            verified_rows(
                "verify: OK shop.a 3\nverify: MISMATCH shop.b source_rows=4 iceberg_rows=3\n",
                &tables
            ),
            None
        );
        assert_eq!(
            verified_rows("verify: OK shop.ab 3\nverify: OK shop.b 4\n", &tables),
            None
        );
    }
}
