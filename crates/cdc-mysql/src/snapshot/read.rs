//! Reading the chunks: every worker takes the next chunk from a shared queue, reads it with
//! one `SELECT` in its snapshot transaction, converts the values with
//! [`MappedColumn::snapshot_value`](crate::types::MappedColumn::snapshot_value) and sends the
//! rows into a bounded channel, then a [`SnapshotMessage::ChunkDone`].
//!
//! Back-pressure: a worker awaits free room in the channel before reading on, so at most the
//! channel's capacity of rows (plus one row per worker) is buffered in memory; the server's
//! side of a worker's result set waits in its socket meanwhile.

use std::collections::{BTreeSet, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use cdc_model::Value;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Value as MyValue};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc::Sender;
use tokio::task::JoinSet;

use super::consistent::ConsistentSnapshot;
use super::plan::{key_tuple, placeholders, TableChunks, TablePlan};
use super::{quote, quote_table, SnapshotError};
use crate::ddl::TableId;

/// The suggested capacity of the row channel (rows in flight between the workers and the
/// consumer): enough to keep workers busy while the consumer batches, small enough to bound
/// memory (a row of a wide table is a few KiB at most, so ≈ a few MiB).
pub const CHANNEL_CAPACITY: usize = 1024;

/// A chunk: the index of its table in the snapshot's table list and its index in the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ChunkId {
    pub table: usize,
    pub index: usize,
}

/// One row read by the snapshot: values in table column order.
#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotRow {
    pub table: TableId,
    pub chunk: ChunkId,
    pub values: Vec<Value>,
}

/// What the workers send.
#[derive(Debug, Clone, PartialEq)]
pub enum SnapshotMessage {
    Row(SnapshotRow),
    /// Every row of `chunk` has been sent before this message: the chunk can be recorded as
    /// completed once the rows before it are processed.
    ChunkDone {
        chunk: ChunkId,
        rows: u64,
    },
}

/// Progress of one table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableProgress {
    pub table: String,
    /// Rows read by this run (chunks skipped on a resume not included).
    pub rows: u64,
    /// Chunks completed, including those skipped as completed by an earlier run.
    pub chunks_done: usize,
    pub chunks_total: usize,
}

/// Shared progress counters; clone it, pass one clone to [`ConsistentSnapshot::read`] and
/// read the other for logs or metrics.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    tables: Arc<Mutex<Vec<TableProgress>>>,
}

impl Progress {
    pub fn new() -> Progress {
        Progress::default()
    }

    /// A copy of every table's progress.
    pub fn tables(&self) -> Vec<TableProgress> {
        self.lock().clone()
    }

    /// Rows read so far over all tables.
    pub fn rows(&self) -> u64 {
        self.lock().iter().map(|t| t.rows).sum()
    }

    /// Chunks done and total over all tables.
    pub fn chunks(&self) -> (usize, usize) {
        let t = self.lock();
        (
            t.iter().map(|t| t.chunks_done).sum(),
            t.iter().map(|t| t.chunks_total).sum(),
        )
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<TableProgress>> {
        self.tables.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

struct Shared {
    tables: Vec<TablePlan>,
    chunks: Vec<TableChunks>,
    queue: Mutex<VecDeque<ChunkId>>,
    progress: Progress,
    tx: Sender<SnapshotMessage>,
}

impl Shared {
    fn next_chunk(&self) -> Option<ChunkId> {
        self.queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop_front()
    }
}

impl ConsistentSnapshot {
    /// Reads every chunk not in `completed` with all workers and sends the rows into `tx`;
    /// returns when all are read (each worker's transaction is then committed and its
    /// connection closed). `progress` is updated as chunks complete.
    pub async fn read(
        self,
        completed: &BTreeSet<ChunkId>,
        tx: Sender<SnapshotMessage>,
        progress: Progress,
    ) -> Result<(), SnapshotError> {
        let mut queue = VecDeque::new();
        let mut table_progress = Vec::with_capacity(self.tables.len());
        for (t, (plan, chunks)) in self.tables.iter().zip(&self.chunks).enumerate() {
            let mut done = 0;
            for index in 0..chunks.len() {
                let id = ChunkId { table: t, index };
                if completed.contains(&id) {
                    done += 1;
                } else {
                    queue.push_back(id);
                }
            }
            table_progress.push(TableProgress {
                table: plan.id.to_string(),
                rows: 0,
                chunks_done: done,
                chunks_total: chunks.len(),
            });
        }
        *progress.lock() = table_progress;
        let shared = Arc::new(Shared {
            tables: self.tables,
            chunks: self.chunks,
            queue: Mutex::new(queue),
            progress,
            tx,
        });
        let mut tasks = JoinSet::new();
        for conn in self.workers {
            tasks.spawn(worker(conn, Arc::clone(&shared)));
        }
        while let Some(joined) = tasks.join_next().await {
            // Dropping `tasks` on an error aborts the other workers.
            joined.map_err(|e| SnapshotError::Worker(e.to_string()))??;
        }
        Ok(())
    }
}

async fn worker(mut conn: Conn, shared: Arc<Shared>) -> Result<(), SnapshotError> {
    while let Some(chunk) = shared.next_chunk() {
        let rows = read_chunk(&mut conn, &shared, chunk).await?;
        let table = &shared.tables[chunk.table].id;
        shared
            .tx
            .send(SnapshotMessage::ChunkDone { chunk, rows })
            .await
            .map_err(|_| SnapshotError::ReceiverGone(table.clone()))?;
        let mut progress = shared.progress.lock();
        if let Some(p) = progress.get_mut(chunk.table) {
            p.rows += rows;
            p.chunks_done += 1;
        }
    }
    conn.query_drop("COMMIT")
        .await
        .map_err(SnapshotError::sql("COMMIT the snapshot transaction"))?;
    let _ = conn.disconnect().await;
    Ok(())
}

/// The `SELECT` of one chunk and its parameters.
fn chunk_query(plan: &TablePlan, chunks: &TableChunks, index: usize) -> (String, Vec<MyValue>) {
    let cols: Vec<String> = plan.columns.iter().map(|c| quote(&c.name)).collect();
    let mut sql = format!("SELECT {} FROM {}", cols.join(", "), quote_table(&plan.id));
    let (lower, upper) = chunks.range(index);
    let key = key_tuple(&chunks.key);
    let holes = placeholders(chunks.key.len());
    let mut conditions = Vec::new();
    let mut params = Vec::new();
    if let Some(lower) = lower {
        conditions.push(format!("{key} > {holes}"));
        params.extend(lower.iter().map(MyValue::from));
    }
    if let Some(upper) = upper {
        conditions.push(format!("{key} <= {holes}"));
        params.extend(upper.iter().map(MyValue::from));
    }
    if !conditions.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&conditions.join(" AND "));
    }
    (sql, params)
}

async fn read_chunk(
    conn: &mut Conn,
    shared: &Shared,
    chunk: ChunkId,
) -> Result<u64, SnapshotError> {
    let plan = &shared.tables[chunk.table];
    let chunks = &shared.chunks[chunk.table];
    let (sql, params) = chunk_query(plan, chunks, chunk.index);
    let context = || format!("reading chunk {} of {}", chunk.index, plan.id);
    let mut result = conn
        .exec_iter(sql.as_str(), params)
        .await
        .map_err(SnapshotError::sql(context()))?;
    let mut rows = 0u64;
    while let Some(row) = result.next().await.map_err(SnapshotError::sql(context()))? {
        let raw = row.unwrap_raw();
        if raw.len() != plan.columns.len() {
            return Err(SnapshotError::Server(format!(
                "{}: {} values for {} columns",
                context(),
                raw.len(),
                plan.columns.len()
            )));
        }
        let mut values = Vec::with_capacity(raw.len());
        for (column, value) in plan.columns.iter().zip(raw) {
            let value = value.unwrap_or(MyValue::NULL);
            values.push(
                column
                    .snapshot_value(&value)
                    .map_err(|source| SnapshotError::Value {
                        table: plan.id.clone(),
                        chunk: chunk.index,
                        source: Box::new(source),
                    })?,
            );
        }
        let message = SnapshotMessage::Row(SnapshotRow {
            table: plan.id.clone(),
            chunk,
            values,
        });
        shared
            .tx
            .send(message)
            .await
            .map_err(|_| SnapshotError::ReceiverGone(plan.id.clone()))?;
        rows += 1;
    }
    Ok(rows)
}
