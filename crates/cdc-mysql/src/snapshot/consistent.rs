//! Starting N worker transactions on one consistent snapshot, and the binlog position of it.
//!
//! [`LockMode::Global`] (the default; needs `RELOAD`): on a separate connection
//! `FLUSH TABLES WITH READ LOCK`; while it is held the schemas are read (`SHOW CREATE TABLE`),
//! every worker runs `START TRANSACTION WITH CONSISTENT SNAPSHOT` (REPEATABLE READ), and the
//! position is read: MariaDB `@@gtid_binlog_pos` + `SHOW MASTER STATUS`; MySQL
//! `@@global.gtid_executed` + `SHOW MASTER STATUS` (`SHOW BINARY LOG STATUS` from 8.2). Then
//! `UNLOCK TABLES`. No transaction commits while the lock is held, so every worker sees
//! exactly the transactions before the position.
//!
//! [`LockMode::Tables`] (managed services without `RELOAD`, e.g. RDS/Aurora; needs
//! `LOCK TABLES`): the same with `LOCK TABLES t1 READ, …` on the captured tables only, as
//! Debezium falls back to table locks. Writes to the captured tables wait (a writer that
//! holds a table lock already finishes first), so no transaction touching them commits
//! between the workers' snapshots and the position read. Transactions on other tables may
//! commit in between; they are not captured, so streaming from the position loses nothing.
//!
//! [`LockMode::MariaDbNoLock`] (MariaDB only, no lock at all): each worker starts its
//! transaction and reads `SHOW STATUS LIKE 'binlog_snapshot_%'`, the binlog file and
//! position of exactly its snapshot (MariaDB takes both under one commit-order lock); the
//! GTID position is `BINLOG_GTID_POS(file, pos)`. Workers whose snapshot position differs
//! from the first worker's (a commit slipped in between) retry a few times, then are dropped,
//! so every remaining worker shares one snapshot. The schema is read after the first
//! snapshot started: DDL on a captured table during `begin` is not detected (as with
//! Debezium's `snapshot.locking.mode=none`, schemas must not change during the snapshot).

use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts};

use super::plan::{plan_chunks, plan_table, TableChunks, TablePlan};
use super::{quote_table, SnapshotError};
use crate::binlog::{FilePosition, MariaGtidList, MySqlGtidSet, StartPosition};
use crate::ddl::{Schemas, TableId};
use crate::types::HandlingModes;

/// How the snapshot's start is made consistent with the binlog position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LockMode {
    /// `FLUSH TABLES WITH READ LOCK`, held only while the workers start.
    #[default]
    Global,
    /// `LOCK TABLES … READ` on the captured tables, held only while the workers start.
    Tables,
    /// MariaDB: no lock; the position comes from `binlog_snapshot_file/position`.
    MariaDbNoLock,
}

/// How to take the snapshot.
#[derive(Debug, Clone)]
pub struct SnapshotConfig {
    /// Worker connections reading chunks in parallel (≥ 1).
    pub workers: usize,
    /// Rows per chunk (approximate for tables written during planning).
    pub chunk_rows: u64,
    pub lock: LockMode,
    /// `lock_wait_timeout` of the locking session: how long to wait for the lock.
    pub lock_wait_timeout: Duration,
    /// Type handling modes for the column mapping.
    pub modes: HandlingModes,
}

impl Default for SnapshotConfig {
    fn default() -> Self {
        SnapshotConfig {
            workers: 4,
            chunk_rows: 10_000,
            lock: LockMode::Global,
            lock_wait_timeout: Duration::from_secs(10),
            modes: HandlingModes::default(),
        }
    }
}

/// The GTID part of a snapshot position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapshotGtids {
    MariaDb(MariaGtidList),
    MySql(MySqlGtidSet),
}

/// Where streaming starts so that snapshot and stream meet exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotPosition {
    /// Binlog file and position of the first transaction after the snapshot.
    pub file: FilePosition,
    /// The GTIDs the snapshot contains, when the server has GTIDs.
    pub gtids: Option<SnapshotGtids>,
}

impl SnapshotPosition {
    /// The stream start: the GTIDs if known (they survive binlog purges and failovers),
    /// else file + position.
    pub fn start(&self) -> StartPosition {
        match &self.gtids {
            Some(SnapshotGtids::MariaDb(list)) => StartPosition::MariaDbGtids(list.clone()),
            Some(SnapshotGtids::MySql(set)) => StartPosition::MySqlGtids(set.clone()),
            None => StartPosition::File(self.file.clone()),
        }
    }
}

/// Worker transactions on one snapshot, ready to read.
#[derive(Debug)]
pub struct ConsistentSnapshot {
    pub position: SnapshotPosition,
    /// One per captured table, in the order given to [`begin`].
    pub tables: Vec<TablePlan>,
    /// The chunk boundaries, one per table (persist them to resume).
    pub chunks: Vec<TableChunks>,
    pub(super) workers: Vec<Conn>,
}

impl ConsistentSnapshot {
    /// The number of workers that share the snapshot.
    pub fn workers(&self) -> usize {
        self.workers.len()
    }
}

const NO_LOCK_ATTEMPTS: usize = 10;

/// Plans `tables` into `schemas`, starts `config.workers` transactions on one snapshot and
/// returns them with the binlog position of the snapshot. `resume`: the chunks of an
/// interrupted snapshot of the same tables, reused instead of computing new boundaries.
pub async fn begin(
    opts: Opts,
    schemas: &mut Schemas,
    tables: &[TableId],
    config: &SnapshotConfig,
    resume: Option<&[TableChunks]>,
) -> Result<ConsistentSnapshot, SnapshotError> {
    if config.workers == 0 {
        return Err(SnapshotError::Config("workers must be at least 1".into()));
    }
    let mut workers = Vec::with_capacity(config.workers);
    for i in 0..config.workers {
        workers.push(open_worker(&opts, i).await?);
    }
    let version: String = query_one(&mut workers[0], "SELECT VERSION()").await?;
    let mariadb = version.contains("MariaDB");
    let (position, plans) = match config.lock {
        LockMode::Global | LockMode::Tables => {
            let mut lock = Conn::new(opts.clone())
                .await
                .map_err(SnapshotError::sql("connect the locking session"))?;
            run(
                &mut lock,
                &format!(
                    "SET SESSION lock_wait_timeout = {}",
                    config.lock_wait_timeout.as_secs().max(1)
                ),
            )
            .await?;
            let lock_sql = if config.lock == LockMode::Global {
                "FLUSH TABLES WITH READ LOCK".to_string()
            } else {
                let list: Vec<String> = tables
                    .iter()
                    .map(|t| format!("{} READ", quote_table(t)))
                    .collect();
                format!("LOCK TABLES {}", list.join(", "))
            };
            run(&mut lock, &lock_sql).await?;
            let locked = async {
                let mut plans = Vec::with_capacity(tables.len());
                for t in tables {
                    plans.push(plan_table(&mut lock, schemas, t, &config.modes).await?);
                }
                for w in workers.iter_mut() {
                    start_transaction(w).await?;
                }
                let position = locked_position(&mut lock, &version, mariadb).await?;
                Ok::<_, SnapshotError>((position, plans))
            }
            .await;
            // Release the lock whatever happened; a failure to do so ends the session.
            let unlocked = run(&mut lock, "UNLOCK TABLES").await;
            let _ = lock.disconnect().await;
            let result = locked?;
            unlocked?;
            result
        }
        LockMode::MariaDbNoLock => {
            if !mariadb {
                return Err(SnapshotError::Config(format!(
                    "lock mode MariaDbNoLock needs MariaDB (server {version}); use Tables on MySQL"
                )));
            }
            let file = no_lock_start(&mut workers[0]).await?;
            let mut agreed = vec![workers.remove(0)];
            for (i, mut w) in workers.into_iter().enumerate() {
                let mut joined = false;
                for _ in 0..NO_LOCK_ATTEMPTS {
                    if no_lock_start(&mut w).await? == file {
                        joined = true;
                        break;
                    }
                    run(&mut w, "ROLLBACK").await?;
                }
                if joined {
                    agreed.push(w);
                } else {
                    tracing::warn!(
                        worker = i + 1,
                        "snapshot: worker could not join the first worker's snapshot; continuing without it"
                    );
                }
            }
            workers = agreed;
            let gtid: Option<String> = workers[0]
                .exec_first("SELECT BINLOG_GTID_POS(?, ?)", (&file.file, file.pos))
                .await
                .map_err(SnapshotError::sql("SELECT BINLOG_GTID_POS"))?
                .flatten();
            let gtids = gtid.map(|g| parse_maria(&g)).transpose()?;
            let mut plans = Vec::with_capacity(tables.len());
            for t in tables {
                plans.push(plan_table(&mut workers[0], schemas, t, &config.modes).await?);
            }
            (SnapshotPosition { file, gtids }, plans)
        }
    };
    let chunks = match resume {
        Some(chunks) => check_resume(&plans, chunks)?,
        None => {
            let mut chunks = Vec::with_capacity(plans.len());
            for p in &plans {
                chunks.push(plan_chunks(&mut workers[0], p, config.chunk_rows).await?);
            }
            chunks
        }
    };
    Ok(ConsistentSnapshot {
        position,
        tables: plans,
        chunks,
        workers,
    })
}

async fn open_worker(opts: &Opts, index: usize) -> Result<Conn, SnapshotError> {
    let mut conn = Conn::new(opts.clone())
        .await
        .map_err(SnapshotError::sql(format!(
            "connect snapshot worker {index}"
        )))?;
    for sql in [
        "SET NAMES utf8mb4",
        "SET time_zone = '+00:00'",
        "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ",
    ] {
        run(&mut conn, sql).await?;
    }
    Ok(conn)
}

async fn start_transaction(conn: &mut Conn) -> Result<(), SnapshotError> {
    run(conn, "START TRANSACTION WITH CONSISTENT SNAPSHOT").await
}

/// MariaDB without a lock: starts the transaction and returns its snapshot's position.
async fn no_lock_start(conn: &mut Conn) -> Result<FilePosition, SnapshotError> {
    start_transaction(conn).await?;
    let rows: Vec<(String, String)> = conn
        .query("SHOW STATUS LIKE 'binlog_snapshot_%'")
        .await
        .map_err(SnapshotError::sql("SHOW STATUS LIKE 'binlog_snapshot_%'"))?;
    let get = |name: &str| {
        rows.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
            .ok_or_else(|| SnapshotError::Server(format!("status variable {name} missing")))
    };
    let file = get("Binlog_snapshot_file")?;
    let pos = get("Binlog_snapshot_position")?;
    let pos = pos
        .parse()
        .map_err(|_| SnapshotError::Server(format!("Binlog_snapshot_position {pos:?}")))?;
    if file.is_empty() {
        return Err(SnapshotError::Server(
            "Binlog_snapshot_file is empty: is the binlog enabled?".into(),
        ));
    }
    Ok(FilePosition::new(file, pos))
}

/// Reads the position while the lock is held.
async fn locked_position(
    conn: &mut Conn,
    version: &str,
    mariadb: bool,
) -> Result<SnapshotPosition, SnapshotError> {
    let status = if mariadb || !mysql_at_least(version, 8, 2) {
        "SHOW MASTER STATUS"
    } else {
        "SHOW BINARY LOG STATUS"
    };
    let row: Option<mysql_async::Row> = conn
        .query_first(status)
        .await
        .map_err(SnapshotError::sql(status))?;
    let row = row.ok_or_else(|| {
        SnapshotError::Server(format!("{status} returned no row: is the binlog enabled?"))
    })?;
    let file: Option<String> = row.get(0);
    let pos: Option<u64> = row.get(1);
    let (Some(file), Some(pos)) = (file, pos) else {
        return Err(SnapshotError::Server(format!(
            "{status}: unexpected row {row:?}"
        )));
    };
    let file = FilePosition::new(file, pos);
    let gtids = if mariadb {
        let pos: String = query_one(conn, "SELECT @@global.gtid_binlog_pos").await?;
        Some(parse_maria(&pos)?)
    } else {
        let mode: Option<String> = conn
            .query_first("SELECT @@global.gtid_mode")
            .await
            .map_err(SnapshotError::sql("SELECT @@global.gtid_mode"))?;
        if mode.as_deref() == Some("ON") {
            let set: String = query_one(conn, "SELECT @@global.gtid_executed").await?;
            let set: MySqlGtidSet = set
                .parse()
                .map_err(|e| SnapshotError::Server(format!("gtid_executed {set:?}: {e}")))?;
            Some(SnapshotGtids::MySql(set))
        } else {
            None
        }
    };
    Ok(SnapshotPosition { file, gtids })
}

fn parse_maria(text: &str) -> Result<SnapshotGtids, SnapshotError> {
    text.parse::<MariaGtidList>()
        .map(SnapshotGtids::MariaDb)
        .map_err(|e| SnapshotError::Server(format!("GTID position {text:?}: {e}")))
}

/// `VERSION()` of MySQL is at least `major.minor`.
fn mysql_at_least(version: &str, major: u32, minor: u32) -> bool {
    let mut parts = version
        .split(|c: char| !c.is_ascii_digit())
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let v = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    v >= (major, minor)
}

fn check_resume(
    plans: &[TablePlan],
    chunks: &[TableChunks],
) -> Result<Vec<TableChunks>, SnapshotError> {
    if plans.len() != chunks.len() {
        return Err(SnapshotError::Config(format!(
            "resumed plan has {} tables, the snapshot {}",
            chunks.len(),
            plans.len()
        )));
    }
    for (p, c) in plans.iter().zip(chunks) {
        if c.table_id() != p.id || c.key != p.key {
            return Err(SnapshotError::Config(format!(
                "resumed chunks of {} (key {:?}) do not fit table {} (key {:?})",
                c.table_id(),
                c.key,
                p.id,
                p.key
            )));
        }
    }
    Ok(chunks.to_vec())
}

async fn run(conn: &mut Conn, sql: &str) -> Result<(), SnapshotError> {
    conn.query_drop(sql).await.map_err(SnapshotError::sql(sql))
}

async fn query_one<T: mysql_async::prelude::FromValue + Send + 'static>(
    conn: &mut Conn,
    sql: &str,
) -> Result<T, SnapshotError> {
    let v: Option<T> = conn
        .query_first(sql)
        .await
        .map_err(SnapshotError::sql(sql))?;
    v.ok_or_else(|| SnapshotError::Server(format!("{sql} returned no row")))
}

#[cfg(test)]
mod tests {
    use super::mysql_at_least;

    #[test]
    fn mysql_versions_compare() {
        assert!(mysql_at_least("8.4.3", 8, 2));
        assert!(mysql_at_least("9.1.0-commercial", 8, 2));
        assert!(!mysql_at_least("8.0.39-log", 8, 2));
        assert!(!mysql_at_least("5.7.44", 8, 2));
    }
}
