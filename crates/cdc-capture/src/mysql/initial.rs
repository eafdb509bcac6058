//! The initial snapshot of a MySQL / MariaDB capture: fresh (the schema of every table into
//! the history, schema-change records of the captured tables, the chunk plan, then the rows),
//! resumed (the chunks the stored position does not record as published), or schema-only
//! (`snapshot.mode = no_data`). The stored position then holds the snapshot's binlog offset,
//! where streaming starts.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use cdc_model::{Position, SnapshotMarker, SourceInfo};
use cdc_mysql::ddl::{ChangeKind, HistoryRecord, SchemaChange, Schemas};
use cdc_mysql::snapshot::{ChunkId, TableChunks};
use cdc_proto::checkpoint::v1::{BinlogOffset as StoredOffset, MySqlPosition, MySqlTableSnapshot};

use super::snapshot::{self, SnapshotSource};
use super::{offset, tables, Run};
use crate::config::SnapshotMode;
use crate::emit::{now_ns, Emitter};
use crate::{CaptureError, Shutdown};

/// The initial snapshot (rows unless `snapshot.mode = no_data`), fresh or resumed. Returns
/// `false` when `shutdown` interrupted it.
#[allow(clippy::too_many_arguments)]
pub(super) async fn take_snapshot(
    run: &Run<'_>,
    emitter: &Emitter<'_, MySqlPosition>,
    position: &MySqlPosition,
    captured: &[cdc_model::TableId],
    schemas: &mut Schemas,
    conn: &mut mysql_async::Conn,
    shutdown: &Shutdown,
) -> Result<bool, CaptureError> {
    let config = run.config;
    let resume: Option<Vec<TableChunks>> = if position.snapshot_tables.is_empty() {
        None
    } else {
        Some(
            position
                .snapshot_tables
                .iter()
                .map(|t| {
                    serde_json::from_str(&t.chunks_json).map_err(|e| {
                        CaptureError::Checkpoint(format!(
                            "snapshot chunks of {}.{}: {e}",
                            t.database, t.table
                        ))
                    })
                })
                .collect::<Result<_, _>>()?,
        )
    };
    let snapshot_tables: Vec<cdc_mysql::ddl::TableId> = match &resume {
        Some(chunks) => chunks.iter().map(TableChunks::table_id).collect(),
        None => captured.iter().map(tables::ddl_id).collect(),
    };
    // The schema of every table, so that DDL of uncaptured tables applies while streaming
    // (Debezium's history holds them all too). Read before the snapshot lock; the captured
    // tables are read again under it.
    // A new snapshot over an older history (`when_needed` / `always`): tables the recovered
    // schema still knows but the server no longer has are dropped from the history.
    let mut gone = Vec::new();
    let all = if resume.is_none() {
        let all = tables::list_tables(conn).await?;
        let listed: std::collections::HashSet<cdc_mysql::ddl::TableId> =
            all.iter().map(tables::ddl_id).collect();
        gone = schemas
            .tables()
            .map(|t| t.id.clone())
            .filter(|id| !listed.contains(id))
            .collect();
        for id in &gone {
            schemas.remove_table(id);
        }
        let ddl = tables::show_create(conn, &all).await?;
        for (id, text) in &ddl {
            schemas.remove_table(&tables::ddl_id(id));
            schemas
                .apply(text, Some(&id.namespace))
                .map_err(|e| CaptureError::mysql(format!("schema of {id}"), e))?;
        }
        ddl
    } else {
        Vec::new()
    };
    let snap_config = cdc_mysql::snapshot::SnapshotConfig {
        workers: config.snapshot.max_threads,
        chunk_rows: u64::from(config.snapshot.fetch_size),
        lock: config.snapshot.locking_mode.lock_mode(),
        lock_wait_timeout: Duration::from_secs(10),
        modes: run.modes.clone(),
    };
    // A resumed snapshot plans into a scratch tracker: the stream continues from the
    // recovered schema at the first run's position.
    let mut scratch = Schemas::new(run.ddl_options.clone());
    let plan_into = if resume.is_some() {
        &mut scratch
    } else {
        &mut *schemas
    };
    let snap = cdc_mysql::snapshot::begin(
        run.opts.clone(),
        plan_into,
        &snapshot_tables,
        &snap_config,
        resume.as_deref(),
    )
    .await
    .map_err(|e| CaptureError::mysql("starting the snapshot", e))?;
    let (snapshot_offset, snap_file) = match &resume {
        Some(_) => {
            let stored = position.snapshot_offset.clone().ok_or_else(|| {
                CaptureError::Checkpoint("resumed snapshot without its binlog position".into())
            })?;
            let file = (stored.file.clone(), stored.pos);
            (stored, file)
        }
        None => {
            let gtids = snap.position.gtids.as_ref().map(|g| match g {
                cdc_mysql::snapshot::SnapshotGtids::MariaDb(l) => l.to_string(),
                cdc_mysql::snapshot::SnapshotGtids::MySql(s) => s.to_string(),
            });
            let o = offset::snapshot_offset(&snap.position.file, gtids);
            let file = (o.file.clone(), o.pos);
            (o, file)
        }
    };
    tracing::info!(file = %snap_file.0, pos = snap_file.1, tables = snap.tables.len(),
        workers = snap.workers(), resumed = resume.is_some(), "snapshot started");

    let mut codecs = tables::Codecs::new(
        &config.topic_prefix,
        &run.modes,
        Arc::new(run.selection.clone()),
    );
    let mut event_tables = Vec::with_capacity(snap.tables.len());
    for plan in &snap.tables {
        event_tables.push(codecs.for_def(&plan.def, &run.modes)?);
    }
    if resume.is_none() {
        let history_position = offset::history_position(&snapshot_offset);
        let ts_ms = now_ns().div_euclid(1_000_000);
        for id in &gone {
            let change = SchemaChange {
                database: id.database.clone(),
                ddl: format!(
                    "DROP TABLE IF EXISTS `{}`.`{}`",
                    id.database.replace('`', "``"),
                    id.table.replace('`', "``")
                ),
                kind: ChangeKind::DropTable(id.clone()),
            };
            let record = HistoryRecord::for_change(
                &config.topic_prefix,
                history_position.clone(),
                ts_ms,
                &change,
            );
            run.history.append(emitter.publisher, &record).await?;
        }
        for (id, text) in &all {
            let Some(def) = schemas.table_by_id(&tables::ddl_id(id)).cloned() else {
                continue;
            };
            let change = SchemaChange {
                database: id.namespace.clone(),
                ddl: text.clone(),
                kind: ChangeKind::CreateTable(def),
            };
            let record = HistoryRecord::for_change(
                &config.topic_prefix,
                history_position.clone(),
                ts_ms,
                &change,
            );
            run.history.append(emitter.publisher, &record).await?;
            if config.source.include_schema_changes && captured.contains(id) {
                let rec = schema_change_record(run, &snapshot_offset, ts_ms, &change);
                emitter
                    .publisher
                    .send(&config.topic_prefix, None, Some(&rec.key), Some(&rec.value))
                    .await?;
            }
        }
        // The history and the chunk plan become durable before any row.
        let planned: Vec<MySqlTableSnapshot> = snap
            .chunks
            .iter()
            .map(|c| MySqlTableSnapshot {
                database: c.database.clone(),
                table: c.table.clone(),
                chunks_json: serde_json::to_string(c).unwrap_or_default(),
                done: Vec::new(),
                rows: 0,
            })
            .collect();
        let offset = snapshot_offset.clone();
        emitter
            .publisher
            .safe_point(move |p| {
                p.snapshot_offset = Some(offset);
                p.snapshot_tables = planned;
            })
            .await?;
    }
    let completed: BTreeSet<ChunkId> = position
        .snapshot_tables
        .iter()
        .enumerate()
        .flat_map(|(t, s)| {
            s.done.iter().map(move |&i| ChunkId {
                table: t,
                index: i as usize,
            })
        })
        .collect();
    if config.snapshot.mode == SnapshotMode::NoData {
        drop(snap);
    } else {
        let source = SnapshotSource {
            flavor: run.flavor,
            version: config.kafka.source_version.clone(),
            server_name: config.topic_prefix.clone(),
            file: snap_file.0,
            pos: snap_file.1,
        };
        match snapshot::publish(emitter, snap, &event_tables, completed, &source, shutdown).await? {
            Some(rows) => tracing::info!(rows, "snapshot published"),
            None => return Ok(false),
        }
    }
    let offset = snapshot_offset;
    emitter
        .publisher
        .safe_point(move |p| {
            p.snapshot_completed = true;
            p.snapshot_tables.clear();
            p.offset = Some(offset);
        })
        .await?;
    Ok(true)
}

/// The schema-change record of a table's CREATE at the snapshot (Debezium: `snapshot` true,
/// the snapshot's binlog position, server id 0).
fn schema_change_record(
    run: &Run<'_>,
    snapshot_offset: &StoredOffset,
    ts_ms: i64,
    change: &SchemaChange,
) -> cdc_mysql::ddl::SchemaChangeRecord {
    let config = run.config;
    let source = SourceInfo {
        version: config.kafka.source_version.clone(),
        name: config.topic_prefix.clone(),
        db: change.database.clone(),
        ts_us: ts_ms * 1000,
        snapshot: SnapshotMarker::True,
        position: Position::Binlog {
            flavor: run.flavor,
            server_id: 0,
            gtid: None,
            file: snapshot_offset.file.clone(),
            pos: i64::try_from(snapshot_offset.pos).unwrap_or(i64::MAX),
            row: 0,
            thread: None,
            query: None,
        },
    };
    cdc_mysql::ddl::schema_change_record(&source, ts_ms, change)
}
