//! The initial snapshot: every captured table read from the snapshot exported when the slot
//! was created, so the copy and the stream meet with no gap and no overlap.
//!
//! Rows are fetched through a cursor, `snapshot.fetch_size` at a time (memory is bounded by
//! one fetch), and emitted as `op=r` with Debezium's `first`/`last`/`*_in_data_collection`
//! markers. Progress (rows, estimated total from the planner statistics, rows/s, ETA) is
//! logged every 10 seconds; rows are counted in metrics.

use std::time::{Duration, Instant};

use cdc_model::{Op, Row, SnapshotMarker};
use tokio_postgres::SimpleQueryMessage;

use crate::emit::{Emitter, Origin};
use crate::pgtypes::SESSION_SETTINGS;
use crate::table::{quote_ident, CapturedTable};
use crate::{CaptureError, Shutdown};

/// A read row held back until we know whether it is the last of its table / overall.
struct Pending<'t> {
    table: &'t CapturedTable,
    row: Row,
    ts_us: i64,
    first_overall: bool,
    first_in_table: bool,
    last_in_table: bool,
}

/// Copies `tables` inside the exported snapshot `snapshot_name`. Returns the row count.
pub async fn run(
    client: &tokio_postgres::Client,
    snapshot_name: &str,
    consistent_lsn: u64,
    tables: &[CapturedTable],
    emitter: &Emitter<'_>,
    fetch_size: u32,
    shutdown: &Shutdown,
) -> Result<u64, CaptureError> {
    let pg = |what: &str, e| CaptureError::postgres(format!("snapshot: {what}"), e);
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
        .map_err(|e| pg("importing the exported snapshot", e))?;
    let xmin: i64 = client
        .query_one(
            "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::int8",
            &[],
        )
        .await
        .map_err(|e| pg("reading the snapshot xmin", e))?
        .get(0);

    let started = Instant::now();
    let mut total: u64 = 0;
    let mut pending: Option<Pending<'_>> = None;
    for table in tables {
        let id = &table.schema.id;
        let estimate: i64 = client
            .query_one(
                "SELECT greatest(reltuples, 0)::int8 FROM pg_class \
                 WHERE oid = format('%I.%I', $1::text, $2::text)::regclass",
                &[&id.namespace, &id.name],
            )
            .await
            .map_err(|e| pg(&format!("estimating the size of {id}"), e))?
            .get(0);
        tracing::info!(table = %id, estimated_rows = estimate, "snapshot of table started");
        let table_started = Instant::now();
        let mut last_report = Instant::now();
        let mut table_rows: u64 = 0;
        client
            .batch_execute(&format!(
                "DECLARE cdc_snapshot NO SCROLL CURSOR FOR SELECT {} FROM {}.{}",
                table.select_list(),
                quote_ident(&id.namespace),
                quote_ident(&id.name)
            ))
            .await
            .map_err(|e| pg(&format!("opening a cursor on {id}"), e))?;
        let fetch = format!("FETCH FORWARD {fetch_size} FROM cdc_snapshot");
        loop {
            if shutdown.is_cancelled() {
                return Err(CaptureError::Pipeline(
                    "shutdown requested during the initial snapshot; it restarts on the next run"
                        .into(),
                ));
            }
            let messages = client
                .simple_query(&fetch)
                .await
                .map_err(|e| pg(&format!("fetching rows of {id}"), e))?;
            let mut fetched = 0u32;
            for message in &messages {
                let SimpleQueryMessage::Row(r) = message else {
                    continue;
                };
                fetched += 1;
                let row = table.row_from_text((0..r.len()).map(|i| r.get(i)))?;
                if let Some(mut p) = pending.take() {
                    // The held row was the last of its table when this row opens a new one.
                    p.last_in_table = table_rows == 0;
                    emit_read(emitter, p, false, consistent_lsn, xmin).await?;
                }
                pending = Some(Pending {
                    table,
                    row,
                    ts_us: now_us(),
                    first_overall: total == 0,
                    first_in_table: table_rows == 0,
                    last_in_table: true,
                });
                total += 1;
                table_rows += 1;
                emitter.metrics.snapshot_rows.inc();
            }
            if last_report.elapsed() >= Duration::from_secs(10) {
                let secs = table_started.elapsed().as_secs_f64().max(1e-3);
                let rate = table_rows as f64 / secs;
                let left = (estimate as f64 - table_rows as f64).max(0.0);
                tracing::info!(table = %id, rows = table_rows, estimated_rows = estimate,
                    rows_per_sec = rate as u64, eta_secs = (left / rate.max(1.0)) as u64,
                    "snapshot progress");
                last_report = Instant::now();
            }
            if fetched < fetch_size {
                break;
            }
        }
        client
            .batch_execute("CLOSE cdc_snapshot")
            .await
            .map_err(|e| pg("closing the cursor", e))?;
        let secs = table_started.elapsed().as_secs_f64().max(1e-3);
        tracing::info!(table = %id, rows = table_rows,
            rows_per_sec = (table_rows as f64 / secs) as u64, "snapshot of table finished");
    }
    if let Some(p) = pending.take() {
        emit_read(emitter, p, true, consistent_lsn, xmin).await?;
    }
    client
        .batch_execute("COMMIT")
        .await
        .map_err(|e| pg("committing the snapshot transaction", e))?;
    tracing::info!(
        rows = total,
        seconds = started.elapsed().as_secs_f64(),
        "initial snapshot read"
    );
    Ok(total)
}

async fn emit_read(
    emitter: &Emitter<'_>,
    p: Pending<'_>,
    last_overall: bool,
    lsn: u64,
    xmin: i64,
) -> Result<(), CaptureError> {
    let snapshot = marker(
        p.first_overall,
        last_overall,
        p.first_in_table,
        p.last_in_table,
    );
    let origin = Origin {
        ts_us: p.ts_us,
        snapshot,
        lsn,
        last_commit_lsn: None,
        tx_id: Some(xmin),
    };
    emitter
        .emit(p.table, Op::Read, None, Some(p.row), &origin)
        .await
}

/// Debezium's snapshot marker priority: first, last, first/last in table, true.
fn marker(first: bool, last: bool, first_in_table: bool, last_in_table: bool) -> SnapshotMarker {
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

fn now_us() -> i64 {
    chrono::Utc::now().timestamp_micros()
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
