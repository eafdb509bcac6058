//! A real PostgreSQL server on 127.0.0.1, configured for logical replication.
//!
//! Layout of the server's directory (a fresh temp dir, or the one given to
//! [`PostgresServer::start_in`]):
//!
//! ```text
//! <dir>/data/          PGDATA (initdb'd once, reused afterwards)
//! <dir>/postgres.log   stdout + stderr of the postmaster (appended)
//! <dir>/.s.PGSQL.<port> unix socket (only if the path is short enough)
//! ```
//!
//! The postmaster is our direct child (no `pg_ctl`), so [`stop`](PostgresServer::stop)
//! sends it SIGINT — exactly what `pg_ctl stop -m fast` does — and `Drop`
//! sends SIGQUIT (`-m immediate`), escalating to SIGKILL.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::os_user::ServiceUser;
use crate::pg_init::{init_cluster, prepare_dir, PASSWORD, USER};
use crate::pg_install::PgInstall;
use crate::process::{log_tail, ManagedProcess};
use crate::{free_port, poll_until, TestkitError};

const HOST: &str = "127.0.0.1";
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// Upper bound for one readiness probe (a login attempt).
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(3);
const STOP_TIMEOUT: Duration = Duration::from_secs(30);
const DROP_TIMEOUT: Duration = Duration::from_secs(10);
/// Lines of log quoted in start-up errors.
const ERROR_LOG_LINES: usize = 40;
/// Unix socket paths are limited to ~107 bytes; stay well below.
const MAX_SOCKET_PATH: usize = 100;

/// A running PostgreSQL server; stopped (and its temp dir removed) on drop.
///
/// Superuser `postgres` / password `postgres`; `wal_level=logical`.
#[derive(Debug)]
pub struct PostgresServer {
    process: Option<ManagedProcess>,
    install: PgInstall,
    dir: PathBuf,
    port: u16,
    /// Held only for a temp dir: removes it when the server is dropped
    /// (after `Drop::drop` has stopped the postmaster).
    _temp: Option<TempDir>,
}

impl PostgresServer {
    /// Starts a server of [`PgInstall::from_env`] in a fresh temp dir on a free port.
    ///
    /// Runs initdb, configures logical replication (`wal_level=logical`,
    /// `max_replication_slots=10`, `max_wal_senders=10`, `fsync=off`), trust
    /// auth on the unix socket and SCRAM password auth on 127.0.0.1, and waits
    /// until a password login succeeds.
    pub async fn start() -> Result<PostgresServer, TestkitError> {
        Self::start_with(&PgInstall::from_env()).await
    }

    /// As [`start`](Self::start), running the given installation (e.g.
    /// [`PgInstall::pg17`]).
    pub async fn start_with(install: &PgInstall) -> Result<PostgresServer, TestkitError> {
        let temp = tempfile::Builder::new()
            .prefix("cdc-testkit-pg-")
            .tempdir()
            .map_err(|e| TestkitError::io("create temp dir for PostgreSQL", e))?;
        let dir = temp.path().to_path_buf();
        Self::launch(install, &dir, free_port(), Some(temp)).await
    }

    /// Starts a server keeping its data in `dir` (created if missing; an
    /// existing cluster in `<dir>/data` is reused, so re-runs keep data).
    /// The directory is not removed on stop or drop.
    ///
    /// When running as root, `dir` is chowned to the `postgres` OS user and
    /// all its ancestors must be searchable by that user (not e.g. `/root`).
    pub async fn start_in(dir: &Path, port: u16) -> Result<PostgresServer, TestkitError> {
        let absolute = std::path::absolute(dir)
            .map_err(|e| TestkitError::io(format!("resolve {}", dir.display()), e))?;
        if let Some(user) = ServiceUser::for_postgres()? {
            // Before creating anything, so a bad choice leaves no directory behind.
            user.check_can_reach(&absolute)?;
        }
        std::fs::create_dir_all(&absolute)
            .map_err(|e| TestkitError::io(format!("create {}", absolute.display()), e))?;
        let dir = absolute
            .canonicalize()
            .map_err(|e| TestkitError::io(format!("resolve {}", absolute.display()), e))?;
        Self::launch(&PgInstall::from_env(), &dir, port, None).await
    }

    async fn launch(
        install: &PgInstall,
        dir: &Path,
        port: u16,
        temp: Option<TempDir>,
    ) -> Result<PostgresServer, TestkitError> {
        let user = ServiceUser::for_postgres()?;
        if let (Some(user), Some(bin_dir)) = (&user, install.bin_dir()) {
            user.check_can_reach(&bin_dir.join("postgres"))?;
        }
        prepare_dir(dir, user.as_ref())?;
        let data = dir.join("data");
        if !data.join("PG_VERSION").exists() {
            init_cluster(install, dir, &data, user.as_ref())?;
        }
        let process = spawn_postmaster(install, dir, port, user.as_ref())?;
        let mut server = PostgresServer {
            process: Some(process),
            install: install.clone(),
            dir: dir.to_path_buf(),
            port,
            _temp: temp,
        };
        server.wait_ready().await?;
        Ok(server)
    }

    /// Turns TLS on with the given PEM server certificate (chain) and key, or replaces the
    /// certificate of a server that already has TLS: the files go into the data directory
    /// (owned by the server's OS user, key mode 0600) and the configuration is reloaded, so
    /// new connections use them. Plaintext connections stay allowed.
    pub async fn use_tls_certificate(
        &self,
        cert_pem: &str,
        key_pem: &str,
    ) -> Result<(), TestkitError> {
        use std::os::unix::fs::PermissionsExt;
        static GENERATION: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = GENERATION.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let (cert_file, key_file) = (format!("server-{n}.crt"), format!("server-{n}.key"));
        let data = self.dir.join("data");
        let user = ServiceUser::for_postgres()?;
        for (name, text, mode) in [(&cert_file, cert_pem, 0o644), (&key_file, key_pem, 0o600)] {
            let path = data.join(name);
            std::fs::write(&path, text)
                .map_err(|e| TestkitError::io(format!("write {}", path.display()), e))?;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))
                .map_err(|e| TestkitError::io(format!("chmod {}", path.display()), e))?;
            if let Some(user) = &user {
                user.chown(&path)?;
            }
        }
        let client = self.connect("postgres").await?;
        for sql in [
            format!("ALTER SYSTEM SET ssl_cert_file = '{cert_file}'"),
            format!("ALTER SYSTEM SET ssl_key_file = '{key_file}'"),
            "ALTER SYSTEM SET ssl = on".to_owned(),
            "SELECT pg_reload_conf()".to_owned(),
        ] {
            client
                .batch_execute(&sql)
                .await
                .map_err(|e| TestkitError::Environment(format!("{sql}: {e:?}")))?;
        }
        // The postmaster applies the reload asynchronously: wait until new sessions see it.
        let deadline = Instant::now() + START_TIMEOUT;
        poll_until(
            "the TLS settings to apply",
            deadline,
            Duration::from_millis(50),
            || async {
                let client = self.connect("postgres").await?;
                let row = client
                    .query_one(
                        "SELECT current_setting('ssl_cert_file'), current_setting('ssl')",
                        &[],
                    )
                    .await
                    .map_err(|e| TestkitError::Environment(format!("SHOW ssl settings: {e:?}")))?;
                let (file, ssl): (String, String) = (row.get(0), row.get(1));
                Ok((file == cert_file && ssl == "on").then_some(()))
            },
        )
        .await
    }

    /// Crash-restarts the server: immediate shutdown (SIGQUIT, as `pg_ctl stop -m
    /// immediate`, so the next start runs crash recovery), then a new postmaster on the same
    /// directory and port; waits until it accepts logins again.
    pub async fn restart_immediate(&mut self) -> Result<(), TestkitError> {
        if let Some(mut process) = self.process.take() {
            process
                .signal_and_wait(libc::SIGQUIT, "SIGQUIT (immediate shutdown)", STOP_TIMEOUT)
                .await?;
        }
        let user = ServiceUser::for_postgres()?;
        self.process = Some(spawn_postmaster(
            &self.install,
            &self.dir,
            self.port,
            user.as_ref(),
        )?);
        self.wait_ready().await
    }

    /// Polls until a password login over TCP works, the postmaster exits, or the timeout.
    async fn wait_ready(&mut self) -> Result<(), TestkitError> {
        let conn_string = self.conn_string("postgres");
        let deadline = Instant::now() + START_TIMEOUT;
        let process = &mut self.process;
        let result = poll_until(
            "PostgreSQL to accept connections",
            deadline,
            Duration::from_millis(100),
            || {
                let exited = process.as_mut().and_then(ManagedProcess::exit_status);
                let conn_string = conn_string.clone();
                async move {
                    if let Some(status) = exited {
                        return Err(TestkitError::Environment(format!(
                            "postmaster exited with {status}"
                        )));
                    }
                    // Bounded per attempt: a port held by something that accepts
                    // but never answers must not eat the whole start-up deadline.
                    let connect = tokio_postgres::connect(&conn_string, tokio_postgres::NoTls);
                    match tokio::time::timeout(ATTEMPT_TIMEOUT, connect).await {
                        Ok(Ok((_client, connection))) => {
                            drop(connection);
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
            self.start_failed(reason)
        })
    }

    fn start_failed(&self, reason: String) -> TestkitError {
        TestkitError::StartFailed {
            service: "postgres",
            reason,
            log: self.log_path(),
            log_tail: self.log_tail(ERROR_LOG_LINES),
        }
    }

    /// The installation this server runs.
    pub fn install(&self) -> &PgInstall {
        &self.install
    }

    /// The TCP port (on 127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Always `"127.0.0.1"`.
    pub fn host(&self) -> &str {
        HOST
    }

    /// The superuser, `postgres`.
    pub fn user(&self) -> &str {
        USER
    }

    /// The superuser's password, `postgres`.
    pub fn password(&self) -> &str {
        PASSWORD
    }

    /// The server's directory (holds `data/` and `postgres.log`).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The postmaster's log file.
    pub fn log_path(&self) -> PathBuf {
        self.dir.join("postgres.log")
    }

    /// The last `lines` lines of the postmaster's log.
    pub fn log_tail(&self, lines: usize) -> String {
        log_tail(&self.log_path(), lines)
    }

    /// A `tokio_postgres` (libpq key/value) connection string for database `db`,
    /// e.g. `host=127.0.0.1 port=5432 user=postgres password=postgres dbname=db`.
    pub fn conn_string(&self, db: &str) -> String {
        format!(
            "host={HOST} port={} user={USER} password={PASSWORD} dbname={db}",
            self.port
        )
    }

    /// Connects to database `db` as the superuser; the connection task is
    /// spawned on the current tokio runtime.
    pub async fn connect(&self, db: &str) -> Result<tokio_postgres::Client, TestkitError> {
        let (client, connection) =
            tokio_postgres::connect(&self.conn_string(db), tokio_postgres::NoTls)
                .await
                .map_err(|source| TestkitError::Postgres {
                    context: format!("connect to database {db} on port {}", self.port),
                    source,
                })?;
        tokio::spawn(async move {
            // The connection ends when the client is dropped or the server
            // stops; either way there is nobody left to report an error to.
            let _ = connection.await;
        });
        Ok(client)
    }

    /// Creates database `db` unless it already exists.
    pub async fn create_database(&self, db: &str) -> Result<(), TestkitError> {
        let client = self.connect("postgres").await?;
        let context = || format!("create database {db}");
        let exists = client
            .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&db])
            .await
            .map_err(|source| TestkitError::Postgres {
                context: context(),
                source,
            })?
            .is_some();
        if exists {
            return Ok(());
        }
        let quoted = format!("\"{}\"", db.replace('"', "\"\""));
        match client
            .batch_execute(&format!("CREATE DATABASE {quoted}"))
            .await
        {
            Ok(()) => Ok(()),
            // Lost a race with a concurrent creator: fine, it exists.
            Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::DUPLICATE_DATABASE) => {
                Ok(())
            }
            Err(source) => Err(TestkitError::Postgres {
                context: context(),
                source,
            }),
        }
    }

    /// Fast shutdown (SIGINT to the postmaster, as `pg_ctl stop -m fast`),
    /// waiting up to 30 s; SIGKILL and an error if it does not stop in time.
    pub async fn stop(mut self) -> Result<(), TestkitError> {
        if let Some(mut process) = self.process.take() {
            process
                .signal_and_wait(libc::SIGINT, "SIGINT (fast shutdown)", STOP_TIMEOUT)
                .await?;
        }
        Ok(())
    }
}

/// Starts the postmaster of the cluster in `<dir>/data` on `port` (logging to
/// `<dir>/postgres.log`), as the `postgres` OS user when running as root.
fn spawn_postmaster(
    install: &PgInstall,
    dir: &Path,
    port: u16,
    user: Option<&ServiceUser>,
) -> Result<ManagedProcess, TestkitError> {
    let socket_dir = if dir.join(format!(".s.PGSQL.{port}")).as_os_str().len() < MAX_SOCKET_PATH {
        dir.to_string_lossy().into_owned()
    } else {
        String::new() // no unix socket; TCP only
    };
    let mut command = Command::new(install.binary("postgres"));
    command
        .arg("-D")
        .arg(dir.join("data"))
        .args(["-c", &format!("port={port}")])
        .args(["-c", &format!("listen_addresses={HOST}")])
        .args(["-c", &format!("unix_socket_directories={socket_dir}")])
        .current_dir(dir);
    if let Some(user) = user {
        user.apply(&mut command);
    }
    ManagedProcess::spawn_command(command, &dir.join("postgres.log"))
}

impl Drop for PostgresServer {
    /// Immediate shutdown (SIGQUIT, as `pg_ctl stop -m immediate`), then
    /// SIGKILL if the postmaster has not exited within 10 s. The temp dir, if
    /// any, is removed afterwards when the fields drop.
    fn drop(&mut self) {
        if let Some(process) = self.process.as_mut() {
            process.shutdown_blocking(libc::SIGQUIT, DROP_TIMEOUT);
        }
    }
}
