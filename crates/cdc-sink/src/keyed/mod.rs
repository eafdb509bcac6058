//! Keyed tables: the `mirror` (current state, one row per primary key) and the `history`
//! (SCD type 2) modes. Both turn a batch of change events into one commit of new data rows
//! plus position deletes of the rows they replace, found through the primary-key [`index`].
//!
//! - `index`: key → (data file, position), rebuilt from the table on start.
//! - `history`: the SCD2 columns and how versions are closed.
//! - `toast`: unchanged TOAST values keep the row's previous value.
//! - `read`: reading rows back from the table's Parquet files, also across schema changes.

use std::sync::Arc;

use arrow_array::{RecordBatch, UInt32Array};
use arrow_select::take::take_record_batch;
use cdc_model::Op;
use iceberg::spec::DataFile;
use iceberg::table::Table;

pub(crate) mod history;
pub(crate) mod index;
pub(crate) mod read;
pub(crate) mod toast;

use index::KeyIndex;

use crate::commit::files::{write_data_files_in, write_position_deletes};
use crate::commit::Change;
use crate::SinkError;

/// The index changes of a commit, applied once the commit is durable.
#[derive(Default)]
pub(crate) struct Staged {
    /// Keys whose live row is now at position `pos` of the commit's data file.
    inserted: Vec<(Box<[u8]>, i64)>,
    removed: Vec<Box<[u8]>>,
    /// Whether every row indexed before the commit was deleted (truncate).
    cleared: bool,
    /// The commit's data files in row order, each with the commit-wide position of its
    /// first row (`inserted` positions are commit-wide).
    data_files: Vec<(Arc<str>, i64)>,
}

impl Staged {
    pub fn apply(self, index: &mut KeyIndex) {
        if self.cleared {
            index.clear();
        }
        for key in &self.removed {
            index.remove(key);
        }
        let files: Vec<(u32, i64)> = self
            .data_files
            .iter()
            .map(|(path, first)| (index.file_id(path), *first))
            .collect();
        if files.is_empty() {
            return;
        }
        index.reserve(self.inserted.len());
        for (key, pos) in self.inserted {
            // The last file starting at or before `pos`.
            let k = files.partition_point(|(_, first)| *first <= pos).max(1) - 1;
            let (file, first) = files[k];
            index.insert_at(key, file, pos - first);
        }
    }

    /// Records the commit's data `files` (in row order) for [`Staged::apply`].
    fn written(&mut self, files: &[DataFile]) {
        let mut first = 0i64;
        for file in files {
            self.data_files.push((Arc::from(file.file_path()), first));
            first = first.saturating_add(i64::try_from(file.record_count()).unwrap_or(i64::MAX));
        }
    }
}

/// Plans a mirror commit: `batch` holds one row per event (`ops[i]` its op; a delete's row
/// carries at least the key), in event order. The batch collapses to the last state per
/// key; a key's previous live row, if any, gets a position delete. With `truncate`, every
/// row indexed before this batch is deleted first.
pub(crate) async fn plan_mirror(
    table: &Table,
    name: &str,
    index: &KeyIndex,
    batch: &RecordBatch,
    ops: &[Op],
    truncate: bool,
    prefix: &str,
) -> Result<(Change, Staged), SinkError> {
    let encoded = index.keys(name, batch)?;
    let keys: Vec<&[u8]> = encoded.iter().map(|row| row.data()).collect();
    let mut last: foldhash::HashMap<&[u8], usize> = foldhash::HashMap::default();
    last.reserve(keys.len());
    for (i, key) in keys.iter().enumerate() {
        last.insert(key, i);
    }
    let mut deletes = Vec::new();
    let mut staged = Staged {
        cleared: truncate,
        ..Staged::default()
    };
    if truncate {
        deletes.extend(index.all_locations());
    } else {
        for key in last.keys() {
            if let Some(loc) = index.get(key) {
                deletes.push((index.path(loc), loc.pos));
            }
        }
    }
    let mut keep: Vec<u32> = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        if last.get(key) != Some(&i) {
            continue;
        }
        if ops.get(i) == Some(&Op::Delete) {
            staged.removed.push(Box::from(*key));
        } else {
            staged.inserted.push((Box::from(*key), keep.len() as i64));
            keep.push(u32::try_from(i).unwrap_or(u32::MAX));
        }
    }
    let mut change = Change::default();
    if !keep.is_empty() {
        // Every row kept (no key twice, no delete): the batch as it is, not a copy.
        let rows = if keep.len() == batch.num_rows() {
            batch.clone()
        } else {
            take_record_batch(batch, &UInt32Array::from(keep)).map_err(|e| SinkError::Batch {
                table: name.to_owned(),
                reason: format!("collapsing the batch: {e}"),
            })?
        };
        let files = write_data_files_in(table, name, &rows, prefix, None).await?;
        staged.written(&files);
        change.data_files.extend(files);
    }
    if !deletes.is_empty() {
        let file = write_position_deletes(table, name, deletes, prefix).await?;
        change.delete_files.push(file);
    }
    Ok((change, staged))
}
