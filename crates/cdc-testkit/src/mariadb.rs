//! A real MariaDB server (Debian's 10.11 package) on 127.0.0.1, configured as
//! a binlog source for change data capture.
//!
//! Layout of the server's temp directory:
//!
//! ```text
//! <dir>/data/          datadir (mariadb-install-db), binlogs `mariadb-bin.NNNNNN`
//! <dir>/tmp/          the server's tmpdir
//! <dir>/init.sql       users and grants, run by the server at every start (--init-file)
//! <dir>/mariadb.log    stdout + stderr of mariadbd
//! <dir>/mysqld.sock    unix socket (/tmp/cdc-testkit-mariadb-<port>.sock if <dir> is too long)
//! <dir>/server.crt, server.key   the TLS certificate and key ([`MariaDbServer::start_with_tls`])
//! ```
//!
//! With TLS ([`MariaDbTls`]) the server offers TLS with the given certificate, optionally
//! refuses plaintext TCP logins (`require_secure_transport`), and the testkit's own
//! connections (readiness, [`MariaDbServer::admin_opts`], [`MariaDbServer::cdc_opts`]) use
//! TLS without checking the certificate: the tests check it with their own clients.
//!
//! Binlog settings: `log_bin`, `binlog_format=ROW`, `binlog_row_image=FULL`,
//! `binlog_row_metadata=FULL`, `binlog_checksum=CRC32`, `log_bin_compress=OFF`,
//! `gtid_strict_mode=ON`, `server_id` = [`MariaDbServer::SERVER_ID`]. Extra
//! `--option=value` arguments given to [`MariaDbServer::start_with_args`] come
//! last and so override these.
//!
//! mariadbd is our direct child: [`stop`](MariaDbServer::stop) sends SIGTERM
//! (a clean shutdown); `Drop` sends SIGTERM and SIGKILLs after 10 s.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use tempfile::TempDir;

use crate::process::{log_tail, ManagedProcess};
use crate::{free_port, poll_until, TestkitError};

const HOST: &str = "127.0.0.1";
const START_TIMEOUT: Duration = Duration::from_secs(90);
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(3);
const STOP_TIMEOUT: Duration = Duration::from_secs(30);
const DROP_TIMEOUT: Duration = Duration::from_secs(10);
const ERROR_LOG_LINES: usize = 40;
const MAX_SOCKET_PATH: usize = 100;

/// Administrative user (all privileges), reachable over TCP from 127.0.0.1.
const ADMIN_USER: &str = "root";
const ADMIN_PASSWORD: &str = "root";
/// Capture user: the grants a CDC connector needs and nothing more.
const CDC_USER: &str = "cdc";
const CDC_PASSWORD: &str = "cdc";

/// Candidate paths of the server binary (MariaDB ≥ 10.5 names it `mariadbd`).
const SERVER_BINARIES: &[&str] = &["/usr/sbin/mariadbd", "/usr/sbin/mysqld"];
const INSTALL_DB_BINARIES: &[&str] = &["/usr/bin/mariadb-install-db", "/usr/bin/mysql_install_db"];

/// A running MariaDB server; stopped (and its temp dir removed) on drop.
#[derive(Debug)]
pub struct MariaDbServer {
    process: Option<ManagedProcess>,
    dir: PathBuf,
    port: u16,
    socket: PathBuf,
    /// The server offers TLS: the testkit's connections use it.
    tls: bool,
    _temp: TempDir,
}

/// TLS of a test server: its certificate (chain) and unencrypted key in PEM, and whether
/// plaintext TCP logins are refused (`require_secure_transport = ON`).
#[derive(Debug, Clone, Copy)]
pub struct MariaDbTls<'a> {
    pub cert_pem: &'a str,
    pub key_pem: &'a str,
    pub require_secure_transport: bool,
}

impl MariaDbServer {
    /// The server's `server_id`.
    pub const SERVER_ID: u32 = 1;

    /// Starts a server in a fresh temp dir on a free port with the binlog
    /// settings of the module docs, and waits until the capture user can log in.
    pub async fn start() -> Result<MariaDbServer, TestkitError> {
        Self::start_with_args(&[]).await
    }

    /// As [`start`](Self::start), appending `extra` server options (e.g.
    /// `--binlog-format=STATEMENT`) after the testkit's own, so they win.
    pub async fn start_with_args(extra: &[&str]) -> Result<MariaDbServer, TestkitError> {
        Self::start_inner(extra, None).await
    }

    /// As [`start_with_args`](Self::start_with_args), with TLS: the server presents
    /// `tls.cert_pem`.
    pub async fn start_with_tls(
        tls: MariaDbTls<'_>,
        extra: &[&str],
    ) -> Result<MariaDbServer, TestkitError> {
        Self::start_inner(extra, Some(tls)).await
    }

    async fn start_inner(
        extra: &[&str],
        tls: Option<MariaDbTls<'_>>,
    ) -> Result<MariaDbServer, TestkitError> {
        let server = find_binary(SERVER_BINARIES)?;
        let install_db = find_binary(INSTALL_DB_BINARIES)?;
        let temp = tempfile::Builder::new()
            .prefix("cdc-testkit-mariadb-")
            .tempdir()
            .map_err(|e| TestkitError::io("create temp dir for MariaDB", e))?;
        let dir = temp.path().to_path_buf();
        let data = dir.join("data");
        // A private tmpdir: concurrent bootstraps in a shared /tmp collide on
        // temporary table names.
        let tmp = dir.join("tmp");
        std::fs::create_dir_all(&tmp)
            .map_err(|e| TestkitError::io(format!("create {}", tmp.display()), e))?;
        install(&install_db, &dir, &data, &tmp)?;
        let init = dir.join("init.sql");
        std::fs::write(&init, init_sql())
            .map_err(|e| TestkitError::io(format!("write {}", init.display()), e))?;

        let port = free_port();
        let mut socket = dir.join("mysqld.sock");
        if socket.as_os_str().len() >= MAX_SOCKET_PATH {
            // A long temp dir (TMPDIR): the socket goes to /tmp under a name of its own.
            socket = PathBuf::from(format!("/tmp/cdc-testkit-mariadb-{port}.sock"));
        }
        let mut command = Command::new(&server);
        command
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--port={port}"))
            .arg(format!("--bind-address={HOST}"))
            .arg(format!("--pid-file={}", dir.join("mariadbd.pid").display()))
            .arg(format!("--init-file={}", init.display()))
            .arg(format!("--tmpdir={}", tmp.display()))
            .args([
                "--skip-name-resolve",
                "--log-bin=mariadb-bin",
                "--binlog-format=ROW",
                "--binlog-row-image=FULL",
                "--binlog-row-metadata=FULL",
                "--binlog-checksum=CRC32",
                "--log-bin-compress=OFF",
                "--gtid-strict-mode=ON",
                "--character-set-server=utf8mb4",
                "--collation-server=utf8mb4_general_ci",
                "--innodb-buffer-pool-size=32M",
                "--innodb-log-file-size=16M",
                "--innodb-flush-log-at-trx-commit=2",
                "--sync-binlog=0",
                "--skip-log-error",
            ])
            .arg(format!("--server-id={}", Self::SERVER_ID));
        command.arg(format!("--socket={}", socket.display()));
        if let Some(tls) = tls {
            command.args(tls_args(&dir, tls)?);
        }
        if is_root() {
            command.arg("--user=root");
        }
        command.args(extra).current_dir(&dir);
        let process = ManagedProcess::spawn_command(command, &dir.join("mariadb.log"))?;
        let mut server = MariaDbServer {
            process: Some(process),
            dir,
            port,
            socket,
            tls: tls.is_some(),
            _temp: temp,
        };
        server.wait_ready().await?;
        Ok(server)
    }

    async fn wait_ready(&mut self) -> Result<(), TestkitError> {
        let opts = self.cdc_opts();
        let deadline = Instant::now() + START_TIMEOUT;
        let process = &mut self.process;
        let result = poll_until(
            "MariaDB to accept connections",
            deadline,
            Duration::from_millis(100),
            || {
                let exited = process.as_mut().and_then(ManagedProcess::exit_status);
                let opts = opts.clone();
                async move {
                    if let Some(status) = exited {
                        return Err(TestkitError::Environment(format!(
                            "mariadbd exited with {status}"
                        )));
                    }
                    match tokio::time::timeout(ATTEMPT_TIMEOUT, mysql_async::Conn::new(opts)).await
                    {
                        Ok(Ok(conn)) => {
                            let _ = conn.disconnect().await;
                            Ok(Some(()))
                        }
                        Ok(Err(_)) | Err(_) => Ok(None),
                    }
                }
            },
        )
        .await;
        result.map_err(|e| {
            let reason = match e {
                TestkitError::Environment(reason) => reason,
                other => other.to_string(),
            };
            TestkitError::StartFailed {
                service: "mariadb",
                reason,
                log: self.log_path(),
                log_tail: self.log_tail(ERROR_LOG_LINES),
            }
        })
    }

    /// The TCP port (on 127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The unix socket (in the server's directory unless that path is too long).
    pub fn socket_path(&self) -> &Path {
        &self.socket
    }

    /// Always `"127.0.0.1"`.
    pub fn host(&self) -> &str {
        HOST
    }

    /// The administrative user (all privileges): `root` / `root`.
    pub fn admin_user(&self) -> (&str, &str) {
        (ADMIN_USER, ADMIN_PASSWORD)
    }

    /// The capture user `cdc` / `cdc`, granted `REPLICATION SLAVE`, `BINLOG
    /// MONITOR` (MariaDB's `REPLICATION CLIENT`), `SELECT`, `RELOAD`, `SHOW
    /// DATABASES` and `LOCK TABLES` on `*.*`.
    pub fn cdc_user(&self) -> (&str, &str) {
        (CDC_USER, CDC_PASSWORD)
    }

    /// The server's directory (holds `data/` and `mariadb.log`).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// mariadbd's log file.
    pub fn log_path(&self) -> PathBuf {
        self.dir.join("mariadb.log")
    }

    /// The last `lines` lines of the server log.
    pub fn log_tail(&self, lines: usize) -> String {
        log_tail(&self.log_path(), lines)
    }

    /// Connection options for the administrative user (no default database).
    pub fn admin_opts(&self) -> mysql_async::Opts {
        self.opts(ADMIN_USER, ADMIN_PASSWORD)
    }

    /// Connection options for the capture user (no default database).
    pub fn cdc_opts(&self) -> mysql_async::Opts {
        self.opts(CDC_USER, CDC_PASSWORD)
    }

    fn opts(&self, user: &str, password: &str) -> mysql_async::Opts {
        let opts = mysql_async::OptsBuilder::default()
            .ip_or_hostname(HOST)
            .tcp_port(self.port)
            .user(Some(user))
            .pass(Some(password))
            .prefer_socket(false);
        if !self.tls {
            return opts.into();
        }
        // mysql_async uses the process-wide rustls provider; the workspace compiles two.
        let _ = rustls::crypto::ring::default_provider().install_default();
        opts.ssl_opts(Some(
            mysql_async::SslOpts::default().with_danger_accept_invalid_certs(true),
        ))
        .into()
    }

    /// Whether the server was started with TLS.
    pub fn has_tls(&self) -> bool {
        self.tls
    }

    /// A connection as the administrative user.
    pub async fn connect_admin(&self) -> Result<mysql_async::Conn, TestkitError> {
        mysql_async::Conn::new(self.admin_opts())
            .await
            .map_err(|e| TestkitError::Environment(format!("connect to MariaDB as root: {e}")))
    }

    /// Runs `sql` (one or more statements) as the administrative user.
    pub async fn execute(&self, sql: &str) -> Result<(), TestkitError> {
        let mut conn = self.connect_admin().await?;
        let result = conn.query_drop(sql).await;
        let _ = conn.disconnect().await;
        result.map_err(|e| TestkitError::Environment(format!("MariaDB: {sql}: {e}")))
    }

    /// Clean shutdown (SIGTERM), waiting up to 30 s; SIGKILL and an error otherwise.
    pub async fn stop(mut self) -> Result<(), TestkitError> {
        if let Some(mut process) = self.process.take() {
            process.terminate(STOP_TIMEOUT).await?;
        }
        Ok(())
    }
}

impl Drop for MariaDbServer {
    fn drop(&mut self) {
        if let Some(process) = self.process.as_mut() {
            process.shutdown_blocking(libc::SIGTERM, DROP_TIMEOUT);
        }
    }
}

/// Writes the certificate and key into `dir`; the server options that use them.
fn tls_args(dir: &Path, tls: MariaDbTls<'_>) -> Result<Vec<String>, TestkitError> {
    use std::os::unix::fs::PermissionsExt;
    let mut args = Vec::new();
    for (name, text, mode, option) in [
        ("server.crt", tls.cert_pem, 0o644, "--ssl-cert"),
        ("server.key", tls.key_pem, 0o600, "--ssl-key"),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, text)
            .map_err(|e| TestkitError::io(format!("write {}", path.display()), e))?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))
            .map_err(|e| TestkitError::io(format!("chmod {}", path.display()), e))?;
        args.push(format!("{option}={}", path.display()));
    }
    if tls.require_secure_transport {
        args.push("--require-secure-transport=ON".into());
    }
    Ok(args)
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

fn find_binary(candidates: &[&str]) -> Result<PathBuf, TestkitError> {
    candidates
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .ok_or_else(|| {
            TestkitError::Environment(format!(
                "MariaDB is not installed (none of {} exists); run `apt-get install -y \
                 mariadb-server` (dev/lib/install.sh does)",
                candidates.join(", ")
            ))
        })
}

/// `mariadb-install-db` into `data`: system tables only, no test database.
fn install(install_db: &Path, dir: &Path, data: &Path, tmp: &Path) -> Result<(), TestkitError> {
    let mut command = Command::new(install_db);
    command
        .arg("--no-defaults")
        .arg(format!("--datadir={}", data.display()))
        .arg(format!("--tmpdir={}", tmp.display()))
        .env("TMPDIR", tmp)
        .args([
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
            "--skip-name-resolve",
        ])
        .current_dir(dir);
    if is_root() {
        command.arg("--user=root");
    }
    let output = command
        .output()
        .map_err(|e| TestkitError::io(format!("run {}", install_db.display()), e))?;
    if !output.status.success() {
        return Err(TestkitError::Command {
            what: format!("{} --datadir={}", install_db.display(), data.display()),
            status: output.status.to_string(),
            output: format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
        });
    }
    Ok(())
}

/// Users and grants, idempotent (the init file runs at every start;
/// `mariadb-install-db --skip-name-resolve` may already have created a
/// password-less `root@127.0.0.1`, hence the ALTER USER). Not
/// binlogged, so the test's binlog starts with the test's own statements.
fn init_sql() -> String {
    format!(
        "SET sql_log_bin = 0;
CREATE USER IF NOT EXISTS '{ADMIN_USER}'@'{HOST}';
ALTER USER '{ADMIN_USER}'@'{HOST}' IDENTIFIED BY '{ADMIN_PASSWORD}';
GRANT ALL PRIVILEGES ON *.* TO '{ADMIN_USER}'@'{HOST}' WITH GRANT OPTION;
CREATE USER IF NOT EXISTS '{CDC_USER}'@'{HOST}';
ALTER USER '{CDC_USER}'@'{HOST}' IDENTIFIED BY '{CDC_PASSWORD}';
GRANT REPLICATION SLAVE, BINLOG MONITOR, SELECT, RELOAD, SHOW DATABASES, LOCK TABLES ON *.* TO '{CDC_USER}'@'{HOST}';
SET sql_log_bin = 1;
"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn starts_with_a_row_binlog_and_the_cdc_user() {
        let server = MariaDbServer::start().await.expect("start MariaDB");
        assert!(server.socket_path().exists(), "{:?}", server.socket_path());
        let mut conn = mysql_async::Conn::new(server.cdc_opts())
            .await
            .expect("cdc login");
        let row: (String, String, String, u32) = conn
            .query_first("SELECT @@log_bin, @@binlog_format, @@binlog_row_metadata, @@server_id")
            .await
            .expect("query")
            .expect("one row");
        assert_eq!(row, ("1".into(), "ROW".into(), "FULL".into(), 1));
        let logs: Vec<(String, u64)> = conn
            .query("SHOW BINARY LOGS")
            .await
            .expect("SHOW BINARY LOGS (BINLOG MONITOR grant)");
        assert!(!logs.is_empty());
        conn.disconnect().await.expect("disconnect");
        server.stop().await.expect("stop");
    }
}
