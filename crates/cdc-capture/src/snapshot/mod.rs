//! The initial snapshot: every captured table read inside one snapshot — the one the slot
//! exported, so the copy and the stream meet with no gap and no overlap — in parallel within
//! each table, resumable after a crash.
//!
//! - `chunks`: CTID-range chunks and the worker connections reading them.
//! - here: the coordinator, which publishes chunk after chunk in order as `op=r` with
//!   Debezium's `first`/`last`/`*_in_data_collection` markers, records finished chunks in the
//!   resume position, and reports progress.
//!
//! Resumability: a chunk counts as done in the position only once every row of it is
//! published, and the position can only become durable (a Kafka commit in exactly-once mode)
//! at those points, so a restarted snapshot re-reads exactly the chunks that were not
//! published, without duplicates. The exported snapshot does not survive a crash: resumed
//! chunks are read from a newer snapshot, and streaming then replays every change since the
//! slot's consistent point, so consumers converge on the same state (as with Debezium's
//! incremental snapshots, a key may see an `r` newer than later-replayed changes).

mod chunks;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cdc_model::{Op, Row, SnapshotMarker};
use cdc_proto::checkpoint::v1::{PostgresPosition, TableSnapshotProgress};
use tokio::sync::mpsc;

use crate::config::SourceConfig;
use crate::emit::{Emitter, Origin};
use crate::table::CapturedTable;
use crate::{CaptureError, Shutdown};

pub use chunks::open_in_snapshot;
use chunks::{ChunkMsg, Job, Layout, CHUNK_CHANNEL_BATCHES};

/// What the snapshot needs besides the tables.
pub struct SnapshotRun<'a> {
    pub source: &'a SourceConfig,
    /// Snapshot to import (exported by the slot, or by [`export_snapshot`] on resume).
    pub snapshot_name: &'a str,
    pub consistent_lsn: u64,
    pub threads: usize,
    pub fetch_size: u32,
    /// Progress of an interrupted earlier run.
    pub progress: &'a [TableSnapshotProgress],
}

/// Opens a transaction that exports a fresh snapshot (to resume an interrupted initial
/// snapshot). Keep the client alive while the snapshot is read.
pub async fn export_snapshot(
    source: &SourceConfig,
) -> Result<(tokio_postgres::Client, String), CaptureError> {
    let client = crate::source::connect_sql(source).await?;
    client
        .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .await
        .map_err(|e| CaptureError::postgres("snapshot: opening the exporting transaction", e))?;
    let name: String = client
        .query_one("SELECT pg_export_snapshot()", &[])
        .await
        .map_err(|e| CaptureError::postgres("snapshot: exporting a snapshot", e))?
        .get(0);
    Ok((client, name))
}

/// A read row held back until we know whether it is the last of its table / overall.
struct Pending {
    table: Arc<CapturedTable>,
    row: Row,
    ts_us: i64,
    first_overall: bool,
    first_in_table: bool,
    last_in_table: bool,
}

/// A chunk whose rows were all received, recorded once they are all published.
struct FinishedChunk {
    table: String,
    layout: Layout,
    chunk: u64,
    rows: u64,
}

/// Publishing state of the coordinator.
struct Publishing<'e, 'p> {
    emitter: &'e Emitter<'p>,
    lsn: u64,
    xmin: i64,
    pending: Option<Pending>,
    finished: Vec<FinishedChunk>,
    emitted: u64,
}

impl Publishing<'_, '_> {
    /// Queues `row`; publishes the row before it, then records chunks that are complete.
    async fn push(&mut self, next: Pending) -> Result<(), CaptureError> {
        let next_table = next.table.clone();
        if let Some(mut p) = self.pending.replace(next) {
            p.last_in_table = !Arc::ptr_eq(&p.table, &next_table);
            self.publish(p, false).await?;
            self.record_finished(|_| {}).await?;
        }
        Ok(())
    }

    async fn publish(&mut self, p: Pending, last_overall: bool) -> Result<(), CaptureError> {
        let origin = Origin {
            ts_us: p.ts_us,
            snapshot: marker(
                p.first_overall,
                last_overall,
                p.first_in_table,
                p.last_in_table,
            ),
            lsn: self.lsn,
            last_commit_lsn: None,
            tx_id: Some(self.xmin),
        };
        self.emitter
            .emit(&p.table, Op::Read, None, Some(p.row), &origin, None)
            .await?;
        self.emitted += 1;
        Ok(())
    }

    /// Records the finished chunks (every row before the pending one is published): a
    /// consistent point where exactly-once mode may commit.
    async fn record_finished(
        &mut self,
        also: impl FnOnce(&mut PostgresPosition),
    ) -> Result<(), CaptureError> {
        if self.finished.is_empty() {
            return Ok(());
        }
        let finished = std::mem::take(&mut self.finished);
        self.emitter
            .publisher
            .safe_point(|p| {
                for f in finished {
                    let entry = match p.snapshot_progress.iter().position(|t| t.table == f.table) {
                        Some(i) => &mut p.snapshot_progress[i],
                        None => {
                            p.snapshot_progress.push(TableSnapshotProgress {
                                table: f.table.clone(),
                                pages_per_chunk: f.layout.pages_per_chunk,
                                chunks: f.layout.chunks,
                                done: Vec::new(),
                                rows: 0,
                            });
                            p.snapshot_progress.last_mut().expect("just pushed")
                        }
                    };
                    entry.done.push(f.chunk);
                    entry.rows += f.rows;
                }
                also(p);
            })
            .await
    }
}

/// Reads `tables` and publishes their rows; returns the number of rows published. Finishes
/// by publishing the last row (marked `last`) and recording every chunk, but does not mark
/// the snapshot completed (the caller does, in the same position update).
pub async fn run(
    run: &SnapshotRun<'_>,
    tables: &[Arc<CapturedTable>],
    emitter: &Emitter<'_>,
    shutdown: &Shutdown,
) -> Result<u64, CaptureError> {
    let coordinator = open_in_snapshot(run.source, run.snapshot_name).await?;
    let xmin: i64 = coordinator
        .query_one(
            "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::int8",
            &[],
        )
        .await
        .map_err(|e| CaptureError::postgres("snapshot: reading the snapshot xmin", e))?
        .get(0);
    let resumed = run.progress.iter().any(|t| !t.done.is_empty());
    let mut state = Publishing {
        emitter,
        lsn: run.consistent_lsn,
        xmin,
        pending: None,
        finished: Vec::new(),
        emitted: 0,
    };
    let started = Instant::now();
    for table in tables {
        snapshot_table(run, &coordinator, table, &mut state, resumed, shutdown).await?;
    }
    if let Some(p) = state.pending.take() {
        state.publish(p, true).await?;
    }
    state.record_finished(|_| {}).await?;
    coordinator
        .batch_execute("COMMIT")
        .await
        .map_err(|e| CaptureError::postgres("snapshot: ending the transaction", e))?;
    tracing::info!(
        rows = state.emitted,
        seconds = started.elapsed().as_secs_f64(),
        "initial snapshot read"
    );
    Ok(state.emitted)
}

async fn snapshot_table(
    run: &SnapshotRun<'_>,
    coordinator: &tokio_postgres::Client,
    table: &Arc<CapturedTable>,
    state: &mut Publishing<'_, '_>,
    resumed: bool,
    shutdown: &Shutdown,
) -> Result<(), CaptureError> {
    let id = &table.schema.id;
    let name = id.to_string();
    let (layout, done) = match run.progress.iter().find(|t| t.table == name) {
        Some(t) => (
            Layout {
                pages_per_chunk: t.pages_per_chunk,
                chunks: t.chunks,
            },
            t.done.clone(),
        ),
        None => {
            let row = coordinator
                .query_one(
                    "SELECT (pg_relation_size(c.oid) / current_setting('block_size')::int8)::int8, \
                     greatest(c.reltuples, 0)::int8 FROM pg_class c \
                     WHERE c.oid = format('%I.%I', $1::text, $2::text)::regclass",
                    &[&id.namespace, &id.name],
                )
                .await
                .map_err(|e| CaptureError::postgres(format!("snapshot: sizing {id}"), e))?;
            let pages: i64 = row.get(0);
            (
                Layout::for_table(pages.max(0) as u64, run.threads),
                Vec::new(),
            )
        }
    };
    let todo: Vec<u64> = (0..layout.chunks).filter(|c| !done.contains(c)).collect();
    if todo.is_empty() {
        tracing::info!(table = %id, "snapshot of table already complete");
        return Ok(());
    }
    let metrics = &state.emitter.metrics;
    metrics.snapshot_chunks_total.set(layout.chunks as i64);
    metrics.snapshot_chunks_done.set(done.len() as i64);
    tracing::info!(table = %id, chunks = layout.chunks, pages_per_chunk = layout.pages_per_chunk,
        remaining = todo.len(), "snapshot of table started");

    // One channel per chunk, queued in order; workers take chunks in the same order.
    let mut receivers = VecDeque::with_capacity(todo.len());
    let mut jobs = VecDeque::with_capacity(todo.len());
    for &chunk in &todo {
        let (tx, rx) = mpsc::channel(CHUNK_CHANNEL_BATCHES);
        jobs.push_back(Job { chunk, rows: tx });
        receivers.push_back((chunk, rx));
    }
    let jobs = Arc::new(Mutex::new(jobs));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..run.threads.clamp(1, todo.len()) {
        let client = open_in_snapshot(run.source, run.snapshot_name).await?;
        workers.spawn(chunks::worker(
            client,
            table.clone(),
            layout,
            jobs.clone(),
            run.fetch_size,
        ));
    }

    let started = Instant::now();
    let mut last_report = Instant::now();
    let mut rows: u64 = 0;
    let mut first_in_table = done.is_empty();
    while let Some((chunk, mut rx)) = receivers.pop_front() {
        let mut chunk_rows = 0u64;
        loop {
            if shutdown.is_cancelled() {
                return Err(CaptureError::Pipeline(
                    "shutdown requested during the initial snapshot; it resumes on the next run"
                        .into(),
                ));
            }
            match rx.recv().await {
                Some(ChunkMsg::Rows(batch)) => {
                    for row in batch {
                        state
                            .push(Pending {
                                table: table.clone(),
                                row,
                                ts_us: chrono::Utc::now().timestamp_micros(),
                                first_overall: !resumed
                                    && state.emitted == 0
                                    && state.pending.is_none(),
                                first_in_table,
                                last_in_table: true,
                            })
                            .await?;
                        first_in_table = false;
                        chunk_rows += 1;
                        metrics.snapshot_rows.inc();
                    }
                }
                Some(ChunkMsg::Done) => break,
                None => {
                    // The worker stopped early: report its error.
                    while let Some(joined) = workers.join_next().await {
                        joined.map_err(|e| {
                            CaptureError::Pipeline(format!("snapshot worker of {id} failed: {e}"))
                        })??;
                    }
                    return Err(CaptureError::Pipeline(format!(
                        "snapshot worker of {id} stopped before finishing chunk {chunk}"
                    )));
                }
            }
            if last_report.elapsed() >= Duration::from_secs(10) {
                report_progress(
                    &name,
                    rows + chunk_rows,
                    &layout,
                    todo.len(),
                    receivers.len(),
                    started,
                );
                last_report = Instant::now();
            }
        }
        rows += chunk_rows;
        state.finished.push(FinishedChunk {
            table: name.clone(),
            layout,
            chunk,
            rows: chunk_rows,
        });
        metrics.snapshot_chunks_done.inc();
    }
    while let Some(joined) = workers.join_next().await {
        joined.map_err(|e| {
            CaptureError::Pipeline(format!("snapshot worker of {id} failed: {e}"))
        })??;
    }
    let secs = started.elapsed().as_secs_f64().max(1e-3);
    tracing::info!(table = %id, rows, rows_per_sec = (rows as f64 / secs) as u64,
        "snapshot of table finished");
    Ok(())
}

fn report_progress(
    table: &str,
    rows: u64,
    layout: &Layout,
    todo: usize,
    left: usize,
    started: Instant,
) {
    let secs = started.elapsed().as_secs_f64().max(1e-3);
    let rate = rows as f64 / secs;
    let done = todo.saturating_sub(left + 1).max(1) as f64;
    let eta = secs / done * (left as f64 + 0.5);
    tracing::info!(
        table,
        rows,
        rows_per_sec = rate as u64,
        chunks = layout.chunks,
        chunks_left = left + 1,
        eta_secs = eta as u64,
        "snapshot progress"
    );
}

/// Debezium's snapshot marker priority: first, last, first/last in table, true.
pub(crate) fn marker(
    first: bool,
    last: bool,
    first_in_table: bool,
    last_in_table: bool,
) -> SnapshotMarker {
    if last {
        SnapshotMarker::Last
    } else if first {
        SnapshotMarker::First
    } else if first_in_table {
        SnapshotMarker::FirstInDataCollection
    } else if last_in_table {
        SnapshotMarker::LastInDataCollection
    } else {
        SnapshotMarker::True
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_follow_debezium_priority() {
        assert_eq!(marker(true, false, true, false), SnapshotMarker::First);
        assert_eq!(marker(false, true, false, true), SnapshotMarker::Last);
        assert_eq!(marker(true, true, true, true), SnapshotMarker::Last);
        assert_eq!(
            marker(false, false, true, true),
            SnapshotMarker::FirstInDataCollection
        );
        assert_eq!(
            marker(false, false, false, true),
            SnapshotMarker::LastInDataCollection
        );
        assert_eq!(marker(false, false, false, false), SnapshotMarker::True);
    }
}
