//! Splitting a table into CTID ranges and reading them in parallel.
//!
//! Each worker has its own connection, imports the same snapshot, and reads whole chunks
//! through a cursor (`fetch_size` rows per round trip), parsing text into rows. Rows go to
//! the coordinator through one bounded channel per chunk, so the coordinator can publish
//! chunk after chunk in order while workers read ahead: memory is bounded by
//! `threads × CHUNK_CHANNEL_BATCHES × fetch_size` rows.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use cdc_model::Row;
use tokio::sync::mpsc;
use tokio_postgres::SimpleQueryMessage;

use crate::config::SourceConfig;
use crate::pgtypes::SESSION_SETTINGS;
use crate::table::{quote_ident, CapturedTable};
use crate::CaptureError;

/// Batches a worker may read ahead per chunk before waiting for the coordinator.
pub const CHUNK_CHANNEL_BATCHES: usize = 4;

/// Largest chunk, in 8 KiB heap pages (256 MiB): a chunk is published inside one Kafka
/// transaction in exactly-once mode, so it must stay well within the transaction timeout.
const MAX_CHUNK_PAGES: u64 = 32_768;

/// How a table is cut into chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    pub pages_per_chunk: u64,
    pub chunks: u64,
}

impl Layout {
    /// Chunks for a table of `pages` heap pages read by `threads` workers: at least four
    /// per worker when the table is big enough (so workers finish together), none larger
    /// than `max_chunk_pages`.
    pub fn plan(pages: u64, threads: usize, max_chunk_pages: u64) -> Layout {
        if pages == 0 {
            return Layout {
                pages_per_chunk: 1,
                chunks: 1,
            };
        }
        let by_size = pages.div_ceil(max_chunk_pages.max(1));
        let by_threads = (threads as u64 * 4).min(pages);
        let chunks = by_size.max(by_threads).max(1);
        let pages_per_chunk = pages.div_ceil(chunks);
        Layout {
            pages_per_chunk,
            chunks: pages.div_ceil(pages_per_chunk),
        }
    }

    /// Default layout for a table of `pages` pages.
    pub fn for_table(pages: u64, threads: usize) -> Layout {
        Layout::plan(pages, threads, MAX_CHUNK_PAGES)
    }

    /// `WHERE` condition selecting chunk `i` (empty for a single chunk). The last chunk is
    /// open-ended: pages added after sizing hold only rows invisible to the snapshot, but a
    /// resumed snapshot reads a newer one.
    pub fn predicate(&self, i: u64) -> String {
        let lo = i * self.pages_per_chunk;
        let hi = lo + self.pages_per_chunk;
        let last = i + 1 >= self.chunks;
        match (i == 0, last) {
            (true, true) => String::new(),
            (true, false) => format!(" WHERE ctid < '({hi},0)'::tid"),
            (false, true) => format!(" WHERE ctid >= '({lo},0)'::tid"),
            (false, false) => {
                format!(" WHERE ctid >= '({lo},0)'::tid AND ctid < '({hi},0)'::tid")
            }
        }
    }
}

/// What a worker sends for a chunk.
pub enum ChunkMsg {
    Rows(Vec<Row>),
    /// Every row of the chunk was sent.
    Done,
}

/// A chunk waiting for a worker.
pub struct Job {
    pub chunk: u64,
    pub rows: mpsc::Sender<ChunkMsg>,
}

/// Opens a connection inside the snapshot `snapshot_name`.
pub async fn open_in_snapshot(
    source: &SourceConfig,
    snapshot_name: &str,
) -> Result<tokio_postgres::Client, CaptureError> {
    let client = crate::source::connect_sql(source).await?;
    let mut setup = String::new();
    for (k, v) in SESSION_SETTINGS {
        setup.push_str(&format!("SET {k} = '{v}'; "));
    }
    setup.push_str(&format!(
        "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT '{}';",
        snapshot_name.replace('\'', "")
    ));
    client
        .batch_execute(&setup)
        .await
        .map_err(|e| CaptureError::postgres("snapshot: importing the snapshot", e))?;
    Ok(client)
}

/// A worker: takes jobs from `jobs` until none is left and reads each chunk of `table`.
pub async fn worker(
    client: tokio_postgres::Client,
    table: Arc<CapturedTable>,
    layout: Layout,
    jobs: Arc<Mutex<VecDeque<Job>>>,
    fetch_size: u32,
) -> Result<(), CaptureError> {
    let id = &table.schema.id;
    let pg = |what: String, e| CaptureError::postgres(format!("snapshot of {id}: {what}"), e);
    loop {
        let job = jobs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .pop_front();
        let Some(Job { chunk, rows }) = job else {
            return Ok(());
        };
        client
            .batch_execute(&format!(
                "DECLARE cdc_chunk NO SCROLL CURSOR FOR SELECT {} FROM {}.{}{}",
                table.select_list(),
                quote_ident(&id.namespace),
                quote_ident(&id.name),
                layout.predicate(chunk)
            ))
            .await
            .map_err(|e| pg(format!("opening a cursor on chunk {chunk}"), e))?;
        let fetch = format!("FETCH FORWARD {fetch_size} FROM cdc_chunk");
        loop {
            let messages = client
                .simple_query(&fetch)
                .await
                .map_err(|e| pg(format!("fetching chunk {chunk}"), e))?;
            let mut batch = Vec::with_capacity(fetch_size as usize);
            for message in &messages {
                if let SimpleQueryMessage::Row(r) = message {
                    batch.push(table.row_from_text((0..r.len()).map(|i| r.get(i)))?);
                }
            }
            let complete = batch.len() < fetch_size as usize;
            if !batch.is_empty() && rows.send(ChunkMsg::Rows(batch)).await.is_err() {
                // The coordinator stopped (it reports why).
                return Ok(());
            }
            if complete {
                break;
            }
        }
        client
            .batch_execute("CLOSE cdc_chunk")
            .await
            .map_err(|e| pg("closing the cursor".into(), e))?;
        if rows.send(ChunkMsg::Done).await.is_err() {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_cover_every_page_once() {
        assert_eq!(
            Layout::plan(0, 4, 100),
            Layout {
                pages_per_chunk: 1,
                chunks: 1
            }
        );
        assert_eq!(Layout::plan(3, 4, 100).chunks, 3);
        let l = Layout::plan(1000, 2, 100);
        assert_eq!(l.chunks * l.pages_per_chunk, 1000);
        assert!(l.pages_per_chunk <= 100 && l.chunks >= 8);
        let l = Layout::plan(1001, 2, 100);
        assert!((l.chunks - 1) * l.pages_per_chunk < 1001);
        assert!(l.chunks * l.pages_per_chunk >= 1001);
        assert_eq!(
            Layout::plan(5, 1, 100).predicate(0),
            " WHERE ctid < '(2,0)'::tid"
        );
        let l = Layout {
            pages_per_chunk: 10,
            chunks: 3,
        };
        assert_eq!(
            l.predicate(1),
            " WHERE ctid >= '(10,0)'::tid AND ctid < '(20,0)'::tid"
        );
        assert_eq!(l.predicate(2), " WHERE ctid >= '(20,0)'::tid");
        let single = Layout {
            pages_per_chunk: 10,
            chunks: 1,
        };
        assert_eq!(single.predicate(0), "");
    }
}
