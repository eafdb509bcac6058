//! The benchmark's tables and the SQL that fills them: `bench.m1` (the streaming backlog),
//! `bench.done` (the sentinel written after it), `bench.snap` (the snapshot table). All
//! with a realistic mix of columns: integers, varchar, decimal, datetime, text.

use mysql_async::prelude::Queryable;

use crate::BenchError;

/// Rows per statement / transaction.
const BATCH: u64 = 1000;

const COLUMNS: &str = "id BIGINT PRIMARY KEY, account INT NOT NULL, qty SMALLINT, \
     name VARCHAR(64) NOT NULL, amount DECIMAL(12,2) NOT NULL, created DATETIME NOT NULL, \
     note TEXT";

/// A binlog coordinate (`SHOW MASTER STATUS`).
#[derive(Debug, Clone)]
pub struct BinlogPos {
    pub file: String,
    pub pos: u64,
}

pub async fn create_tables(db: &cdc_testkit::MariaDbServer) -> Result<(), BenchError> {
    for sql in [
        "CREATE DATABASE bench".to_owned(),
        format!("CREATE TABLE bench.m1 ({COLUMNS})"),
        "CREATE TABLE bench.done (id INT PRIMARY KEY)".to_owned(),
        format!("CREATE TABLE bench.snap ({COLUMNS})"),
    ] {
        db.execute(&sql).await?;
    }
    Ok(())
}

pub async fn master_status(conn: &mut mysql_async::Conn) -> Result<BinlogPos, BenchError> {
    let row: mysql_async::Row = conn
        .query_first("SHOW MASTER STATUS")
        .await?
        .ok_or_else(|| BenchError::Check("SHOW MASTER STATUS: no binlog".into()))?;
    let file: String = row
        .get(0)
        .ok_or_else(|| BenchError::Check("SHOW MASTER STATUS: no File".into()))?;
    let pos: u64 = row
        .get(1)
        .ok_or_else(|| BenchError::Check("SHOW MASTER STATUS: no Position".into()))?;
    Ok(BinlogPos { file, pos })
}

/// `INSERT` of rows `from..to` (ids) into `table` as one statement.
fn insert_sql(table: &str, from: u64, to: u64) -> String {
    let mut sql = format!("INSERT INTO {table} VALUES ");
    for id in from..to {
        if id > from {
            sql.push(',');
        }
        sql.push_str(&format!(
            "({id},{},{},'customer-{id:08}',{}.{:02},'2026-{:02}-{:02} {:02}:{:02}:{:02}',{})",
            id % 10_000,
            if id % 7 == 0 {
                "NULL".to_owned()
            } else {
                (id % 1000).to_string()
            },
            id % 100_000,
            id % 100,
            id % 12 + 1,
            id % 28 + 1,
            id % 24,
            id % 60,
            (id * 7) % 60,
            if id % 3 == 0 {
                "NULL".to_owned()
            } else {
                format!("'order note {id}: deliver to the back door, ring twice'")
            },
        ));
    }
    sql
}

/// Writes `changes` row changes into `bench.m1` (half inserts, then updates of those rows,
/// each statement one transaction of up to 1000 rows), then the sentinel into `bench.done`.
/// Returns the binlog positions before and after.
pub async fn write_backlog(
    db: &cdc_testkit::MariaDbServer,
    changes: u64,
) -> Result<(BinlogPos, BinlogPos), BenchError> {
    let mut conn = db.connect_admin().await?;
    let start = master_status(&mut conn).await?;
    let inserts = changes.div_ceil(2);
    let mut id = 0;
    while id < inserts {
        let to = (id + BATCH).min(inserts);
        conn.query_drop(insert_sql("bench.m1", id, to)).await?;
        id = to;
    }
    let mut updated = 0;
    while updated < changes - inserts {
        let to = (updated + BATCH).min(changes - inserts);
        conn.query_drop(format!(
            "UPDATE bench.m1 SET amount = amount + 1, qty = 7, \
             created = created + INTERVAL 1 DAY WHERE id >= {updated} AND id < {to}"
        ))
        .await?;
        updated = to;
    }
    conn.query_drop("INSERT INTO bench.done VALUES (1)").await?;
    let end = master_status(&mut conn).await?;
    let _ = conn.disconnect().await;
    Ok((start, end))
}

/// Fills `bench.snap` with `rows` rows.
pub async fn fill_snapshot_table(
    db: &cdc_testkit::MariaDbServer,
    rows: u64,
) -> Result<(), BenchError> {
    let mut conn = db.connect_admin().await?;
    let mut id = 0;
    while id < rows {
        let to = (id + BATCH).min(rows);
        conn.query_drop(insert_sql("bench.snap", id, to)).await?;
        id = to;
    }
    let _ = conn.disconnect().await;
    Ok(())
}
