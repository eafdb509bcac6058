//! Table maintenance, run by the sink on the tables it owns, between commits, through the
//! same [`OwnedTable`] as its commits (so writer epochs fence it like any commit):
//!
//! - `compact`: small files and files with many deleted rows are rewritten with their position
//!   deletes applied; position-delete files are merged; a `replace` snapshot keeps the
//!   table's Kafka offsets. The primary-key index of mirror and history tables is remapped
//!   to the rows' new positions (or rebuilt from the table if it disagrees).
//! - `expire`: snapshots older than the configured age are removed, then the files only they
//!   referenced; metadata files that left the metadata log are deleted.
//! - `orphans`: unreferenced files older than the configured age are deleted.
//! - `reachable`: which files snapshots reference (cached per manifest).
//!
//! [`LakeWriter::maintain`](crate::LakeWriter::maintain) schedules one table per call.

use std::time::{Duration, Instant, SystemTime};

use arrow_schema::SchemaRef;
use iceberg::Catalog;

pub(crate) mod compact;
pub(crate) mod expire;
pub(crate) mod orphans;
pub(crate) mod reachable;

use crate::commit::pointer::CatalogPointer;
use crate::commit::OwnedTable;
use crate::config::MaintenanceConfig;
use crate::keyed::index::KeyIndex;
use crate::SinkError;

pub use compact::SNAPSHOT_PROP_MAINTENANCE;
pub(crate) use reachable::ManifestCache;

/// What one maintenance run of one table did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MaintenanceReport {
    /// `namespace.table`.
    pub table: String,
    /// Data files rewritten by compaction (removed from the table).
    pub data_files_compacted: usize,
    /// Position-delete files removed by compaction.
    pub delete_files_compacted: usize,
    /// Data and position-delete files compaction wrote.
    pub files_written: usize,
    /// Live rows compaction rewrote.
    pub rows_rewritten: u64,
    /// Time the compaction took, if one ran.
    pub compaction_time: Option<Duration>,
    pub snapshots_expired: usize,
    /// Files deleted because only expired snapshots referenced them (manifest lists,
    /// manifests, data and delete files), plus metadata files that left the metadata log.
    pub expired_files_deleted: usize,
    pub orphans_removed: usize,
    /// Steps that failed (logged; retried at the next run).
    pub failures: usize,
    /// Compaction stopped at `max_compaction_input_bytes`; the table is due again at once.
    pub more_to_compact: bool,
}

/// A table's maintenance state kept between runs.
#[derive(Default)]
pub(crate) struct TableMaintenance {
    pub last_run: Option<SystemTime>,
    cache: ManifestCache,
}

/// Maintains one owned table. Failures of a step are logged and counted; only errors that
/// mean the sink no longer owns the table consistently (fenced, conflicting writer, an index
/// that cannot be rebuilt) are returned.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn run(
    owned: &mut OwnedTable,
    catalog: &dyn Catalog,
    pointer: &CatalogPointer,
    arrow_schema: &SchemaRef,
    index: Option<(&mut KeyIndex, Option<&str>)>,
    state: &mut TableMaintenance,
    config: &MaintenanceConfig,
    now: SystemTime,
) -> Result<MaintenanceReport, SinkError> {
    let name = owned.name.clone();
    let mut report = MaintenanceReport {
        table: name.clone(),
        ..MaintenanceReport::default()
    };
    let started = Instant::now();
    match compact::compact(owned, catalog, pointer, arrow_schema, config).await {
        Ok(Some(done)) => {
            let took = started.elapsed();
            report.data_files_compacted = done.data_files_removed;
            report.delete_files_compacted = done.delete_files_removed;
            report.files_written = done.data_files_added + done.delete_files_added;
            report.rows_rewritten = done.rows;
            report.compaction_time = Some(took);
            report.more_to_compact = done.more;
            tracing::info!(
                table = %name,
                data_files = done.data_files_removed,
                delete_files = done.delete_files_removed,
                written = report.files_written,
                rows = done.rows,
                took_ms = u64::try_from(took.as_millis()).unwrap_or(u64::MAX),
                "compacted"
            );
            if let Some((index, flag)) = index {
                if !index.remap(&done.moves) {
                    tracing::warn!(table = %name, "the key index disagreed with the compacted files; rebuilding it from the table");
                    index.rebuild(&owned.table, &name, flag).await?;
                }
            }
        }
        Ok(None) => {}
        Err(e) => report.failures += failed(&name, "compaction", e)?,
    }
    match expire::expire(owned, catalog, pointer, config, now, &mut state.cache).await {
        Ok(expired) => {
            report.snapshots_expired = expired.snapshots;
            report.expired_files_deleted = expired.files_deleted + expired.metadata_files_deleted;
        }
        Err(e) => report.failures += failed(&name, "snapshot expiry", e)?,
    }
    let min_age = Duration::from_secs(config.orphan_min_age_secs);
    match orphans::remove_orphans(&owned.table, &name, min_age, now, &mut state.cache).await {
        Ok(removed) => report.orphans_removed = removed,
        Err(e) => report.failures += failed(&name, "orphan-file removal", e)?,
    }
    state.cache.retain_used();
    // With more to compact the table is due again at once, after tables waiting longer.
    let interval = Duration::from_secs(config.interval_secs);
    state.last_run = match report.more_to_compact {
        true => now.checked_sub(interval).or(Some(now)),
        false => Some(now),
    };
    Ok(report)
}

/// A failed step: returns the error if it is fatal, else logs it and counts 1.
fn failed(table: &str, step: &str, error: SinkError) -> Result<usize, SinkError> {
    match error {
        SinkError::Fenced { .. } | SinkError::Conflict { .. } => Err(error),
        error => {
            tracing::warn!(table, step, error = %crate::error_chain(&error), "maintenance step failed; retried at the next run");
            Ok(1)
        }
    }
}
