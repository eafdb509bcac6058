//! Dev-only test kit: starts and stops **real** services on loopback for tests
//! and the demo — PostgreSQL (logical replication enabled) and a single-node
//! Apache Kafka broker (KRaft) — and runs the workspace's own binaries as
//! child processes. No Docker, no mocks.
//!
//! # Module map
//!
//! | module       | concept                                                                 |
//! |--------------|-------------------------------------------------------------------------|
//! | `error`      | [`TestkitError`], the one error type; start-up errors carry a log tail   |
//! | `ports`      | [`free_port`]: a free TCP port on 127.0.0.1 (20000..32768)             |
//! | `wait`       | [`wait_until`] / [`poll_until`]: polling with a deadline, never sleeping as synchronisation |
//! | `process`    | [`ManagedProcess`]: a child with a log file, SIGKILL/SIGTERM, killed on drop |
//! | `binaries`   | [`workspace_binary`]: find `cdc-capture` etc. built by `cargo build --bins` |
//! | `os_user`    | (private) running PostgreSQL as the unprivileged `postgres` user when root |
//! | `pg_install` | [`PgInstall`]: which PostgreSQL runs (Debian 15 by default, 17 from `dev/lib/install.sh`) |
//! | `pg_init`    | (private) initdb and the cluster's `postgresql.conf` / `pg_hba.conf`     |
//! | `postgres`   | [`PostgresServer`]: initdb + postmaster, superuser `postgres`/`postgres` |
//! | `kafka`      | [`KafkaBroker`]: KRaft broker+controller from the jars in `$KAFKA_LIBS`   |
//! | `mariadb`    | [`MariaDbServer`]: MariaDB 10.11 (Debian) with a ROW binlog and GTIDs, users `root`, `cdc` |
//!
//! # Lifetimes
//!
//! Every service or process is owned by a value whose `Drop` kills it, so
//! nothing outlives a test that panics. Prefer the explicit, graceful
//! `stop()` / `terminate()` at the end of a test; they report failures.
//! Services started with `start()` live in a temp dir removed on drop;
//! `start_in(dir, ..)` keeps its data for re-runs (used by the demo).
//!
//! # Example
//!
//! ```no_run
//! # async fn demo() -> Result<(), cdc_testkit::TestkitError> {
//! use cdc_testkit::{KafkaBroker, PostgresServer};
//! let pg = PostgresServer::start().await?;
//! let kafka = KafkaBroker::start().await?;
//! pg.create_database("shop").await?;
//! let client = pg.connect("shop").await?;
//! client.batch_execute("CREATE TABLE t (id int primary key)").await.ok();
//! println!("kafka at {}", kafka.bootstrap_servers());
//! kafka.stop().await?;
//! pg.stop().await?;
//! # Ok(()) }
//! ```

mod binaries;
mod error;
mod kafka;
mod mariadb;
mod os_user;
mod pg_init;
mod pg_install;
mod ports;
mod postgres;
mod process;
mod wait;

pub use binaries::workspace_binary;
pub use error::TestkitError;
pub use kafka::{KafkaBroker, SecureListener};
pub use mariadb::{MariaDbServer, MariaDbTls};
pub use pg_install::PgInstall;
pub use ports::free_port;
pub use postgres::PostgresServer;
pub use process::ManagedProcess;
pub use wait::{poll_until, wait_until};
