//! Compaction: the live rows of small data files and of files with many deleted rows —
//! position deletes applied — are rewritten into files of about the target size, and the
//! position-delete files are replaced by at most one file holding the deletes of the data
//! files that stay. Committed as one `replace` snapshot that keeps the table's Kafka offsets.
//!
//! Rows keep their order (input files by sequence number, then path; rows in file order),
//! and an input file never spans two output files, so where every row moved is a function of
//! its old position and the deleted positions before it ([`Moved`]): the caller remaps the
//! primary-key index with it.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::{BooleanArray, Int64Array, RecordBatch, StringArray};
use arrow_schema::SchemaRef;
use arrow_select::filter::filter_record_batch;
use iceberg::spec::{DataContentType, ManifestEntry, Struct};
use iceberg::table::Table;
use iceberg::Catalog;

use crate::commit::files::{write_position_deletes, DataFileSink};
use crate::commit::pointer::CatalogPointer;
use crate::commit::replace::Replace;
use crate::commit::{latest_summary_property, OwnedTable};
use crate::config::MaintenanceConfig;
use crate::keyed::index::Moved;
use crate::keyed::read::{read_as, read_columns};
use crate::target::{SNAPSHOT_PROP_KAFKA_OFFSETS, SNAPSHOT_PROP_SINK_VERSION};
use crate::SinkError;

/// Summary property of maintenance snapshots: what produced them.
pub const SNAPSHOT_PROP_MAINTENANCE: &str = "cdc.maintenance";

/// What a compaction did.
#[derive(Debug, Default)]
pub(crate) struct Compacted {
    pub data_files_removed: usize,
    pub delete_files_removed: usize,
    pub data_files_added: usize,
    pub delete_files_added: usize,
    /// Live rows rewritten.
    pub rows: u64,
    /// Old data file → where its live rows are now.
    pub moves: HashMap<Arc<str>, Moved>,
    /// Files to compact were left for the next run (`max_compaction_input_bytes`).
    pub more: bool,
}

/// Compacts `owned`'s current snapshot if it has enough files to compact; `None` if not.
pub(crate) async fn compact(
    owned: &mut OwnedTable,
    catalog: &dyn Catalog,
    pointer: &CatalogPointer,
    arrow_schema: &SchemaRef,
    config: &MaintenanceConfig,
) -> Result<Option<Compacted>, SinkError> {
    let name = owned.name.clone();
    let table = owned.table.clone();
    let md = table.metadata();
    let Some(base) = md.current_snapshot_id() else {
        return Ok(None);
    };
    let entries = live_entries(&table, &name).await?;
    let (data, deletes): (Vec<_>, Vec<_>) = entries
        .into_iter()
        .partition(|e| e.content_type() == DataContentType::Data);
    if let Some(eq) = deletes
        .iter()
        .find(|e| e.content_type() == DataContentType::EqualityDeletes)
    {
        tracing::warn!(table = %name, file = eq.file_path(), "not compacting: the table has equality deletes, which the sink never writes");
        return Ok(None);
    }
    let deleted = deleted_positions(&table, &name, &deletes).await?;
    let small = config.target_file_size_bytes.saturating_mul(3) / 4;
    let (mut rewrite, kept): (Vec<_>, Vec<_>) = data.into_iter().partition(|e| {
        let rows = e.record_count();
        let gone = deleted.get(e.file_path()).map_or(0, |d| d.len() as u64);
        e.file_size_in_bytes() < small
            || gone >= rows
            || gone as f64 >= rows as f64 * config.delete_ratio_threshold
    });
    if rewrite.len() < config.min_input_files && deletes.len() < config.min_input_files {
        return Ok(None);
    }
    rewrite.sort_by(|a, b| {
        (a.sequence_number(), a.file_path()).cmp(&(b.sequence_number(), b.file_path()))
    });
    // An output file holds rows of one partition (changelog tables are partitioned by day):
    // group the inputs by partition, oldest first within each.
    let partitioned = !md.default_partition_spec().is_unpartitioned();
    let mut partitions: Vec<Struct> = Vec::new();
    for entry in &rewrite {
        if !partitions.contains(entry.data_file().partition()) {
            partitions.push(entry.data_file().partition().clone());
        }
    }
    rewrite.sort_by_key(|e| {
        partitions
            .iter()
            .position(|p| p == e.data_file().partition())
    });
    // Bound the run: the oldest files up to the byte budget; the rest stay (their deletes
    // are merged below) for the next run.
    let mut budget = config.max_compaction_input_bytes;
    let take = rewrite
        .iter()
        .position(|e| match budget.checked_sub(e.file_size_in_bytes()) {
            Some(left) => {
                budget = left;
                false
            }
            None => true,
        })
        .unwrap_or(rewrite.len())
        .max(2);
    let more = take < rewrite.len();
    let mut kept = kept;
    if more {
        kept.extend(rewrite.drain(take..));
    }
    tracing::info!(
        table = %name,
        data_files = rewrite.len(),
        delete_files = deletes.len(),
        "compacting"
    );
    let job = uuid::Uuid::new_v4();
    let mut outputs = Vec::new();
    let mut sink: Option<DataFileSink> = None;
    let mut sink_partition: Option<Struct> = None;
    let mut estimate = 0u64;
    // (old path, output index, where its rows went — `to` filled in once the outputs exist)
    let mut placed: Vec<(Arc<str>, usize, Moved)> = Vec::new();
    let mut rows_written = 0u64;
    for entry in &rewrite {
        let path: Arc<str> = Arc::from(entry.file_path());
        let gone = deleted.get(entry.file_path()).cloned().unwrap_or_default();
        let rows = i64::try_from(entry.record_count()).unwrap_or(i64::MAX);
        let live = read_live(&table, &name, arrow_schema, &path, &gone).await?;
        let live_rows: u64 = live.iter().map(|b| b.num_rows() as u64).sum();
        if sink.is_some() && sink_partition.as_ref() != Some(entry.data_file().partition()) {
            if let Some(s) = sink.take() {
                outputs.push(s.close().await?);
            }
            estimate = 0;
        }
        if live_rows > 0 && sink.is_none() {
            let prefix = format!("compact-{job}-{}", outputs.len());
            let partition = partitioned.then(|| entry.data_file().partition().clone());
            sink = Some(DataFileSink::create(&table, &name, &prefix, partition)?);
            sink_partition = Some(entry.data_file().partition().clone());
        }
        let (index, start) = match &sink {
            Some(s) => (outputs.len(), s.rows()),
            None => (usize::MAX, 0),
        };
        let moved = Moved {
            to: Arc::from(""),
            base: i64::try_from(start).unwrap_or(i64::MAX),
            rows,
            deleted: gone,
        };
        placed.push((path, index, moved));
        if let Some(s) = sink.as_mut() {
            for batch in &live {
                s.write(batch).await?;
            }
        }
        rows_written += live_rows;
        if entry.record_count() > 0 {
            estimate += entry.file_size_in_bytes() * live_rows / entry.record_count();
        }
        if estimate >= config.target_file_size_bytes {
            if let Some(s) = sink.take() {
                outputs.push(s.close().await?);
            }
            estimate = 0;
        }
    }
    if let Some(s) = sink.take() {
        outputs.push(s.close().await?);
    }
    let paths: Vec<Arc<str>> = outputs.iter().map(|f| Arc::from(f.file_path())).collect();
    let moves = placed
        .into_iter()
        .map(|(old, index, mut moved)| {
            if let Some(to) = paths.get(index) {
                moved.to = Arc::clone(to);
            }
            (old, moved)
        })
        .collect();
    // Deletes of the data files that stay, merged into one file.
    let mut merged: Vec<(Arc<str>, i64)> = Vec::new();
    for entry in &kept {
        if let Some(positions) = deleted.get(entry.file_path()) {
            let path: Arc<str> = Arc::from(entry.file_path());
            merged.extend(positions.iter().map(|&p| (Arc::clone(&path), p)));
        }
    }
    let mut added_deletes = Vec::new();
    if !merged.is_empty() {
        let prefix = format!("compact-{job}");
        added_deletes.push(write_position_deletes(&table, &name, merged, &prefix).await?);
    }
    let mut properties = HashMap::from([
        (
            SNAPSHOT_PROP_SINK_VERSION.to_owned(),
            env!("CARGO_PKG_VERSION").to_owned(),
        ),
        (
            SNAPSHOT_PROP_MAINTENANCE.to_owned(),
            "compaction".to_owned(),
        ),
    ]);
    if let Some(offsets) = latest_summary_property(md, SNAPSHOT_PROP_KAFKA_OFFSETS) {
        properties.insert(SNAPSHOT_PROP_KAFKA_OFFSETS.to_owned(), offsets.to_owned());
    }
    let compacted = Compacted {
        data_files_removed: rewrite.len(),
        delete_files_removed: deletes.len(),
        data_files_added: outputs.len(),
        delete_files_added: added_deletes.len(),
        rows: rows_written,
        moves,
        more,
    };
    let replace = Replace {
        kept,
        removed: rewrite.into_iter().chain(deletes).collect(),
        added_data: outputs,
        added_deletes,
        properties,
        base: Some(base),
    };
    owned.commit_replace(catalog, pointer, replace).await?;
    Ok(Some(compacted))
}

/// The live (added or existing) entries of `table`'s current snapshot.
async fn live_entries(table: &Table, name: &str) -> Result<Vec<ManifestEntry>, SinkError> {
    let err = |e| SinkError::catalog(format!("reading the manifests of {name}"), e);
    let Some(snapshot) = table.metadata().current_snapshot() else {
        return Ok(Vec::new());
    };
    let list = table
        .manifest_list_reader(snapshot)
        .load()
        .await
        .map_err(err)?;
    let mut live = Vec::new();
    for manifest in list.entries() {
        let manifest = manifest.load_manifest(table.file_io()).await.map_err(err)?;
        live.extend(
            manifest
                .entries()
                .iter()
                .filter(|e| e.is_alive())
                .map(|e| e.as_ref().clone()),
        );
    }
    Ok(live)
}

/// Data file path → its deleted positions (sorted, unique), from the position-delete files.
async fn deleted_positions(
    table: &Table,
    name: &str,
    deletes: &[ManifestEntry],
) -> Result<HashMap<String, Vec<i64>>, SinkError> {
    let mut deleted: HashMap<String, Vec<i64>> = HashMap::new();
    for entry in deletes {
        for batch in read_columns(table, name, entry.file_path(), &["file_path", "pos"]).await? {
            let paths = column::<StringArray>(name, &batch, 0)?;
            let positions = column::<Int64Array>(name, &batch, 1)?;
            for i in 0..batch.num_rows() {
                deleted
                    .entry(paths.value(i).to_owned())
                    .or_default()
                    .push(positions.value(i));
            }
        }
    }
    for positions in deleted.values_mut() {
        positions.sort_unstable();
        positions.dedup();
    }
    Ok(deleted)
}

/// The rows of data file `path` not in `deleted` (sorted), in file order, in `schema`.
async fn read_live(
    table: &Table,
    name: &str,
    schema: &SchemaRef,
    path: &str,
    deleted: &[i64],
) -> Result<Vec<RecordBatch>, SinkError> {
    let fail = |reason: String| SinkError::Batch {
        table: name.to_owned(),
        reason: format!("compacting {path}: {reason}"),
    };
    let mut live = Vec::new();
    let mut pos = 0i64;
    // Files written under an older schema are read in the current one (added columns null,
    // widened ones cast).
    for batch in read_as(table, name, path, schema).await? {
        let rows = batch.num_rows() as i64;
        let keep: BooleanArray = (pos..pos + rows)
            .map(|p| Some(deleted.binary_search(&p).is_err()))
            .collect();
        pos += rows;
        let batch = filter_record_batch(&batch, &keep).map_err(|e| fail(e.to_string()))?;
        if batch.num_rows() > 0 {
            live.push(batch);
        }
    }
    Ok(live)
}

fn column<'a, T: 'static>(
    name: &str,
    batch: &'a RecordBatch,
    i: usize,
) -> Result<&'a T, SinkError> {
    batch
        .column(i)
        .as_any()
        .downcast_ref::<T>()
        .ok_or_else(|| SinkError::Batch {
            table: name.to_owned(),
            reason: format!(
                "position-delete column {i} has type {}",
                batch.column(i).data_type()
            ),
        })
}
