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
use iceberg::table::Table;

pub(crate) mod history;
pub(crate) mod index;
pub(crate) mod read;
pub(crate) mod toast;

use index::KeyIndex;

use crate::commit::files::{write_data_file, write_position_deletes};
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
    data_path: Option<Arc<str>>,
}

impl Staged {
    pub fn apply(self, index: &mut KeyIndex) {
        if self.cleared {
            index.clear();
        }
        for key in &self.removed {
            index.remove(key);
        }
        if let Some(path) = &self.data_path {
            for (key, pos) in self.inserted {
                index.insert(key, path, pos);
            }
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
        let rows =
            take_record_batch(batch, &UInt32Array::from(keep)).map_err(|e| SinkError::Batch {
                table: name.to_owned(),
                reason: format!("collapsing the batch: {e}"),
            })?;
        let file = write_data_file(table, name, &rows, prefix).await?;
        staged.data_path = Some(Arc::from(file.file_path()));
        change.data_files.push(file);
    }
    if !deletes.is_empty() {
        let file = write_position_deletes(table, name, deletes, prefix).await?;
        change.delete_files.push(file);
    }
    Ok((change, staged))
}
