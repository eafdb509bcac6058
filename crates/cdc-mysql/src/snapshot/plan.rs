//! What a snapshot reads: each table's schema and mapped columns ([`TablePlan`]) and its
//! primary-key chunks ([`TableChunks`]).
//!
//! Chunks split a table's key space at boundary keys found by keyset pagination:
//! `SELECT key FROM t WHERE (key) > (previous) ORDER BY key LIMIT 1 OFFSET n-1`. Boundaries
//! `b1 < … < bk` give the chunks `(-∞, b1]`, `(b1, b2]`, …, `(bk, +∞)`: they cover every
//! possible key, so any boundaries are correct for any table content, and a resumed snapshot
//! reuses the persisted ones. Works for any key (composite, character, temporal). A table
//! without a primary key (or whose unique-key stand-in has a nullable column, which row
//! comparisons would skip) is one chunk.

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Value as MyValue};
use serde::{Deserialize, Serialize};

use super::{quote, quote_table, SnapshotError};
use crate::ddl::{Schemas, TableDef, TableId};
use crate::types::{map_column, HandlingModes, MappedColumn};

/// One captured table as the snapshot reads it.
#[derive(Debug, Clone)]
pub struct TablePlan {
    pub id: TableId,
    /// The definition as the shared schema model holds it after `SHOW CREATE TABLE`.
    pub def: TableDef,
    /// One per column of `def`, in table order (the order of the snapshot's row values).
    pub columns: Vec<MappedColumn>,
    /// The chunking key (the primary key); empty when the table is read as one chunk.
    pub key: Vec<String>,
}

/// Reads `SHOW CREATE TABLE` of `id` over `conn`, applies it to `schemas` (replacing what it
/// held for the table, so the snapshot and the stream share one schema model) and maps the
/// columns.
pub async fn plan_table(
    conn: &mut Conn,
    schemas: &mut Schemas,
    id: &TableId,
    modes: &HandlingModes,
) -> Result<TablePlan, SnapshotError> {
    let context = format!("SHOW CREATE TABLE {id}");
    let row: Option<(String, String)> = conn
        .query_first(format!("SHOW CREATE TABLE {}", quote_table(id)))
        .await
        .map_err(SnapshotError::sql(&context))?;
    let (_, ddl) = row.ok_or_else(|| SnapshotError::Server(format!("{context}: no row")))?;
    schemas.remove_table(id);
    schemas
        .apply(&ddl, Some(&id.database))
        .map_err(|source| SnapshotError::Ddl {
            table: id.clone(),
            source: Box::new(source),
        })?;
    let def = schemas
        .table_by_id(id)
        .cloned()
        .ok_or_else(|| SnapshotError::Server(format!("{context}: `{ddl}` defined no table")))?;
    let columns = def
        .columns
        .iter()
        .map(|c| map_column(&c.name, &c.data_type, c.charset.as_deref(), modes))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| SnapshotError::Type {
            table: id.clone(),
            source: Box::new(source),
        })?;
    // The schema model treats key columns as non-null (as Debezium does, also for a unique
    // key standing in for the primary key); the server knows whether NULLs can occur.
    let nullable: Vec<String> = conn
        .exec(
            "SELECT COLUMN_NAME FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND IS_NULLABLE = 'YES'",
            (&id.database, &id.table),
        )
        .await
        .map_err(SnapshotError::sql(format!("nullable columns of {id}")))?;
    let nullable_key = def
        .primary_key
        .iter()
        .any(|k| def.column(k).is_none() || nullable.iter().any(|n| n.eq_ignore_ascii_case(k)));
    let key = if nullable_key {
        Vec::new()
    } else {
        def.primary_key.clone()
    };
    Ok(TablePlan {
        id: id.clone(),
        def,
        columns,
        key,
    })
}

/// A key value of a chunk boundary, as the binary protocol returned it (persistable).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum KeyValue {
    Null,
    Bytes(Vec<u8>),
    Int(i64),
    UInt(u64),
    Float(f32),
    Double(f64),
    /// year, month, day, hour, minute, second, microsecond
    Date(u16, u8, u8, u8, u8, u8, u32),
    /// negative, days, hours, minutes, seconds, microseconds
    Time(bool, u32, u8, u8, u8, u32),
}

impl From<MyValue> for KeyValue {
    fn from(v: MyValue) -> Self {
        match v {
            MyValue::NULL => KeyValue::Null,
            MyValue::Bytes(b) => KeyValue::Bytes(b),
            MyValue::Int(i) => KeyValue::Int(i),
            MyValue::UInt(u) => KeyValue::UInt(u),
            MyValue::Float(f) => KeyValue::Float(f),
            MyValue::Double(d) => KeyValue::Double(d),
            MyValue::Date(y, mo, d, h, mi, s, us) => KeyValue::Date(y, mo, d, h, mi, s, us),
            MyValue::Time(n, d, h, m, s, us) => KeyValue::Time(n, d, h, m, s, us),
        }
    }
}

impl From<&KeyValue> for MyValue {
    fn from(v: &KeyValue) -> Self {
        match v.clone() {
            KeyValue::Null => MyValue::NULL,
            KeyValue::Bytes(b) => MyValue::Bytes(b),
            KeyValue::Int(i) => MyValue::Int(i),
            KeyValue::UInt(u) => MyValue::UInt(u),
            KeyValue::Float(f) => MyValue::Float(f),
            KeyValue::Double(d) => MyValue::Double(d),
            KeyValue::Date(y, mo, d, h, mi, s, us) => MyValue::Date(y, mo, d, h, mi, s, us),
            KeyValue::Time(n, d, h, m, s, us) => MyValue::Time(n, d, h, m, s, us),
        }
    }
}

/// A table's chunk boundaries: the persistable part of the plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableChunks {
    pub database: String,
    pub table: String,
    /// The key the boundaries are values of (empty: one chunk).
    pub key: Vec<String>,
    /// Ascending upper bounds (inclusive) of every chunk but the last.
    pub bounds: Vec<Vec<KeyValue>>,
}

impl TableChunks {
    /// One chunk covering the whole table.
    pub fn whole(id: &TableId) -> TableChunks {
        TableChunks {
            database: id.database.clone(),
            table: id.table.clone(),
            key: Vec::new(),
            bounds: Vec::new(),
        }
    }

    pub fn table_id(&self) -> TableId {
        TableId::new(self.database.clone(), self.table.clone())
    }

    /// The number of chunks (always ≥ 1).
    pub fn len(&self) -> usize {
        self.bounds.len() + 1
    }

    /// Never true: a table has at least one chunk.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Chunk `index`'s exclusive lower and inclusive upper key (`None` = unbounded).
    pub(crate) fn range(&self, index: usize) -> (Option<&[KeyValue]>, Option<&[KeyValue]>) {
        let lower = index
            .checked_sub(1)
            .and_then(|i| self.bounds.get(i))
            .map(Vec::as_slice);
        let upper = self.bounds.get(index).map(Vec::as_slice);
        (lower, upper)
    }
}

/// `(`a`, `b`)`: the key as a row constructor.
pub(crate) fn key_tuple(key: &[String]) -> String {
    let cols: Vec<String> = key.iter().map(|k| quote(k)).collect();
    format!("({})", cols.join(", "))
}

/// `(?, ?)` for a key of `n` columns.
pub(crate) fn placeholders(n: usize) -> String {
    format!("({})", vec!["?"; n].join(", "))
}

/// Computes chunk boundaries of about `chunk_rows` rows each over `conn` (inside the
/// snapshot transaction, so they reflect the snapshot's content).
pub async fn plan_chunks(
    conn: &mut Conn,
    plan: &TablePlan,
    chunk_rows: u64,
) -> Result<TableChunks, SnapshotError> {
    if chunk_rows == 0 {
        return Err(SnapshotError::Config(
            "chunk_rows must be at least 1".into(),
        ));
    }
    let mut chunks = TableChunks::whole(&plan.id);
    if plan.key.is_empty() {
        return Ok(chunks);
    }
    chunks.key = plan.key.clone();
    let key = key_tuple(&plan.key);
    let cols: Vec<String> = plan.key.iter().map(|k| quote(k)).collect();
    let cols = cols.join(", ");
    let table = quote_table(&plan.id);
    let offset = chunk_rows - 1;
    let first = format!("SELECT {cols} FROM {table} ORDER BY {cols} LIMIT 1 OFFSET {offset}");
    let next = format!(
        "SELECT {cols} FROM {table} WHERE {key} > {} ORDER BY {cols} LIMIT 1 OFFSET {offset}",
        placeholders(plan.key.len())
    );
    let context = || format!("chunk boundaries of {}", plan.id);
    loop {
        let row: Option<mysql_async::Row> = match chunks.bounds.last() {
            None => conn.exec_first(first.as_str(), ()).await,
            Some(last) => {
                let params: Vec<MyValue> = last.iter().map(MyValue::from).collect();
                conn.exec_first(next.as_str(), params).await
            }
        }
        .map_err(SnapshotError::sql(context()))?;
        let Some(row) = row else {
            return Ok(chunks);
        };
        let bound: Vec<KeyValue> = row.unwrap().into_iter().map(KeyValue::from).collect();
        if bound.len() != plan.key.len() || bound.contains(&KeyValue::Null) {
            return Err(SnapshotError::Server(format!(
                "{}: unexpected boundary {bound:?}",
                context()
            )));
        }
        chunks.bounds.push(bound);
    }
}
