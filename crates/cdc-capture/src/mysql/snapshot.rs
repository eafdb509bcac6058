//! Publishing a MySQL / MariaDB initial snapshot: `cdc_mysql::snapshot` workers read
//! primary-key chunks in parallel; this coordinator publishes them as `op=r` events chunk by
//! chunk (one chunk's rows are contiguous), with Debezium's snapshot markers, and records each
//! chunk in the resume position once all its rows are published.
//!
//! Chunk contiguity: rows of the chunk being published (the "current" one) go out as they
//! arrive; rows of other chunks wait in memory until the current chunk is done (at most about
//! `workers × chunk_rows` rows). A chunk counts as done in the position only once every row of
//! it is published, and only there can a Kafka transaction commit, so a restarted snapshot
//! re-reads exactly the chunks that were not published, without duplicates.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use cdc_model::debezium::TableCodec;
use cdc_model::{
    BinlogFlavor, ChangeEvent, Op, Position, Row, SnapshotMarker, SourceInfo, TableSchema,
};
use cdc_mysql::snapshot::{
    ChunkId, ConsistentSnapshot, Progress, SnapshotMessage, CHANNEL_CAPACITY,
};
use cdc_proto::checkpoint::v1::MySqlPosition;
use tokio::sync::mpsc;

use crate::emit::{now_ns, Emitter};
use crate::{CaptureError, Shutdown};

/// A captured table as events need it.
pub struct EventTable {
    pub schema: Arc<TableSchema>,
    pub codec: TableCodec,
    pub topic: String,
    /// Snapshot rows carry every column of the table: the columns events keep (`None`: all).
    pub projection: Option<Arc<cdc_mysql::stream::Projection>>,
}

impl EventTable {
    /// The event row of a row of every column of the table (a snapshot row).
    pub fn row(&self, full: Row) -> Row {
        match &self.projection {
            Some(p) => p.row(full),
            None => full,
        }
    }
}

/// The `source` fields every snapshot event shares.
pub struct SnapshotSource {
    pub flavor: BinlogFlavor,
    pub version: String,
    pub server_name: String,
    pub file: String,
    pub pos: u64,
}

/// Per table: chunks not yet done and whether a row was published.
struct TableState {
    remaining: usize,
    started: bool,
}

/// A chunk read while another one was being published.
#[derive(Default)]
struct Buffered {
    rows: Vec<Row>,
    /// `Some(rows)` once the chunk is completely read.
    done: Option<u64>,
}

struct Coordinator<'e, 'p> {
    emitter: &'e Emitter<'p, MySqlPosition>,
    tables: &'e [EventTable],
    source: &'e SnapshotSource,
    state: Vec<TableState>,
    remaining_total: usize,
    published: u64,
    /// The last row handed to us, held back until we know whether it ends its chunk.
    pending: Option<(ChunkId, Row)>,
    current: Option<ChunkId>,
    buffered: BTreeMap<ChunkId, Buffered>,
}

impl Coordinator<'_, '_> {
    async fn row(&mut self, chunk: ChunkId, row: Row) -> Result<(), CaptureError> {
        let current = *self.current.get_or_insert(chunk);
        if current == chunk {
            self.push(chunk, row).await
        } else {
            self.buffered.entry(chunk).or_default().rows.push(row);
            Ok(())
        }
    }

    async fn chunk_done(&mut self, chunk: ChunkId, rows: u64) -> Result<(), CaptureError> {
        if self.current.is_some() && self.current != Some(chunk) {
            self.buffered.entry(chunk).or_default().done = Some(rows);
            return Ok(());
        }
        self.finish(chunk, rows).await?;
        // Publish buffered chunks: complete ones first, then make an unfinished one current.
        loop {
            let next = self
                .buffered
                .iter()
                .find(|(_, b)| b.done.is_some())
                .or_else(|| self.buffered.iter().next())
                .map(|(id, _)| *id);
            let Some(id) = next else { break };
            let Some(b) = self.buffered.remove(&id) else {
                break;
            };
            self.current = Some(id);
            for row in b.rows {
                self.push(id, row).await?;
            }
            match b.done {
                Some(rows) => self.finish(id, rows).await?,
                None => break,
            }
        }
        Ok(())
    }

    /// Publishes the held-back row (not the last of its chunk) and holds back `row`.
    async fn push(&mut self, chunk: ChunkId, row: Row) -> Result<(), CaptureError> {
        if let Some((c, r)) = self.pending.replace((chunk, row)) {
            self.publish(c, r, false).await?;
        }
        Ok(())
    }

    /// `chunk` is completely published: publish its last row, record it in the position.
    async fn finish(&mut self, chunk: ChunkId, rows: u64) -> Result<(), CaptureError> {
        let table = self.state.get_mut(chunk.table).ok_or_else(|| {
            CaptureError::Pipeline(format!("snapshot: chunk of unknown table {}", chunk.table))
        })?;
        table.remaining = table.remaining.saturating_sub(1);
        self.remaining_total = self.remaining_total.saturating_sub(1);
        self.current = None;
        if let Some((c, r)) = self.pending.take() {
            self.publish(c, r, true).await?;
        }
        self.emitter
            .publisher
            .safe_point(|p| {
                if let Some(t) = p.snapshot_tables.get_mut(chunk.table) {
                    t.done.push(chunk.index as u64);
                    t.rows += rows;
                }
            })
            .await
    }

    async fn publish(
        &mut self,
        chunk: ChunkId,
        row: Row,
        last_in_chunk: bool,
    ) -> Result<(), CaptureError> {
        let table = &self.tables[chunk.table];
        let state = &mut self.state[chunk.table];
        let first_in_table = !state.started;
        state.started = true;
        let last_in_table = last_in_chunk && state.remaining == 0;
        let marker = crate::snapshot::marker(
            self.published == 0,
            last_in_chunk && self.remaining_total == 0,
            first_in_table,
            last_in_table,
        );
        let event = ChangeEvent {
            table: table.schema.clone(),
            op: Op::Read,
            before: None,
            after: Some(table.row(row)),
            source: snapshot_source(self.source, &table.schema, marker),
            transaction: None,
            ts_ns: now_ns(),
        };
        self.emitter
            .emit_event(&table.codec, &table.topic, event, None, &[])
            .await?;
        self.published += 1;
        Ok(())
    }
}

/// The `source` block of a snapshot event (Debezium: server id 0, the snapshot's binlog file
/// and position, row 0, no GTID or thread).
fn snapshot_source(
    source: &SnapshotSource,
    schema: &TableSchema,
    marker: SnapshotMarker,
) -> SourceInfo {
    SourceInfo {
        version: source.version.clone(),
        name: source.server_name.clone(),
        db: schema.id.namespace.clone(),
        ts_us: now_ns().div_euclid(1000),
        snapshot: marker,
        position: Position::Binlog {
            flavor: source.flavor,
            server_id: 0,
            gtid: None,
            file: source.file.clone(),
            pos: i64::try_from(source.pos).unwrap_or(i64::MAX),
            row: 0,
            thread: None,
            query: None,
        },
    }
}

/// Reads every chunk of `snapshot` not in `completed` and publishes the rows. Returns the
/// number of rows published, or `None` when `shutdown` interrupted it (the chunks published
/// so far are recorded; the caller makes them durable).
pub async fn publish(
    emitter: &Emitter<'_, MySqlPosition>,
    snapshot: ConsistentSnapshot,
    tables: &[EventTable],
    completed: BTreeSet<ChunkId>,
    source: &SnapshotSource,
    shutdown: &Shutdown,
) -> Result<Option<u64>, CaptureError> {
    let state: Vec<TableState> = snapshot
        .chunks
        .iter()
        .enumerate()
        .map(|(t, c)| TableState {
            remaining: (0..c.len())
                .filter(|&index| !completed.contains(&ChunkId { table: t, index }))
                .count(),
            started: false,
        })
        .collect();
    let remaining_total = state.iter().map(|s| s.remaining).sum();
    let mut coordinator = Coordinator {
        emitter,
        tables,
        source,
        state,
        remaining_total,
        published: 0,
        pending: None,
        current: None,
        buffered: BTreeMap::new(),
    };
    let (tx, mut rx) = mpsc::channel(CHANNEL_CAPACITY);
    let progress = Progress::new();
    let mut reader = tokio::spawn({
        let progress = progress.clone();
        async move { snapshot.read(&completed, tx, progress).await }
    });
    let mut read_done = false;
    loop {
        tokio::select! {
            biased;
            _ = shutdown.cancelled() => {
                reader.abort();
                tracing::info!(rows = coordinator.published,
                    "snapshot interrupted by shutdown; published chunks are kept");
                return Ok(None);
            }
            joined = &mut reader, if !read_done => {
                read_done = true;
                joined
                    .map_err(|e| CaptureError::Pipeline(format!("snapshot reader failed: {e}")))?
                    .map_err(|e| CaptureError::mysql("initial snapshot", e))?;
            }
            message = rx.recv() => match message {
                Some(SnapshotMessage::Row(row)) => {
                    coordinator.row(row.chunk, row.values).await?;
                }
                Some(SnapshotMessage::ChunkDone { chunk, rows }) => {
                    coordinator.chunk_done(chunk, rows).await?;
                    let (done, total) = progress.chunks();
                    tracing::debug!(done, total, "snapshot chunk published");
                }
                None => break,
            },
        }
    }
    if !read_done {
        reader
            .await
            .map_err(|e| CaptureError::Pipeline(format!("snapshot reader failed: {e}")))?
            .map_err(|e| CaptureError::mysql("initial snapshot", e))?;
    }
    if coordinator.pending.is_some() || !coordinator.buffered.is_empty() {
        return Err(CaptureError::Pipeline(
            "snapshot: the reader ended with chunks not reported complete".into(),
        ));
    }
    Ok(Some(coordinator.published))
}
