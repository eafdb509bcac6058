//! The `history` mode (SCD type 2): every version of every row, with
//! - `_valid_from` (timestamptz, required): source commit time of the change that made it;
//! - `_valid_to` (timestamptz): source time of the change that replaced or deleted it, null
//!   while current;
//! - `_is_current` (boolean, required);
//! - `_op` (string, required): Debezium op of the change that made the version (`c`/`u`/`r`);
//! - `_row_hash` (string): hex MD5 over the source columns' text forms, to spot no-op updates.
//!
//! Closing a version is an update of the previous current row: a position delete of it plus
//! a copy with `_valid_to` and `_is_current = false`. A delete closes the current version and
//! adds none; a truncate closes every current version.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_array::{
    Array, ArrayRef, BooleanArray, Int64Array, RecordBatch, StringArray, UInt32Array,
};
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use arrow_select::concat::concat_batches;
use arrow_select::take::take_record_batch;
use cdc_model::Op;
use iceberg::table::Table;
use md5::{Digest, Md5};

use super::index::{KeyIndex, RowLoc};
use super::read::read_as;
use super::Staged;
use crate::commit::files::{write_data_files_in, write_position_deletes};
use crate::commit::Change;
use crate::SinkError;

pub const COL_VALID_FROM: &str = "_valid_from";
pub const COL_VALID_TO: &str = "_valid_to";
pub const COL_IS_CURRENT: &str = "_is_current";
pub const COL_OP: &str = "_op";
pub const COL_ROW_HASH: &str = "_row_hash";

/// The history columns, in table order after the source columns.
pub const HISTORY_COLUMNS: [&str; 5] = [
    COL_VALID_FROM,
    COL_VALID_TO,
    COL_IS_CURRENT,
    COL_OP,
    COL_ROW_HASH,
];

/// What closes a version: a new row of the batch, or a row already in the table.
enum Prev {
    New(usize),
    Table(RowLoc),
}

/// Plans a history commit. `batch` holds one row per event in the history table's schema
/// (`ops[i]`, `ts_us[i]` its op and source time). `truncate_at` closes every current
/// version at that time before the batch applies.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn plan_history(
    table: &Table,
    name: &str,
    index: &KeyIndex,
    batch: &RecordBatch,
    ops: &[Op],
    ts_us: &[i64],
    truncate_at: Option<i64>,
    prefix: &str,
) -> Result<(Change, Staged), SinkError> {
    let encoded = index.keys(name, batch)?;
    let keys: Vec<&[u8]> = encoded.iter().map(|row| row.data()).collect();
    let mut staged = Staged::default();
    // Rows of the table to close, with their closing time.
    let mut closing: Vec<(RowLoc, i64)> = Vec::new();
    if let Some(ts) = truncate_at {
        closing.extend(index.all_rows().map(|loc| (loc, ts)));
        staged.cleared = true;
    }
    let mut current: foldhash::HashMap<&[u8], Option<Prev>> = foldhash::HashMap::default();
    let mut keep: Vec<u32> = Vec::new();
    let mut valid_to: Vec<Option<i64>> = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        let ts = ts_us.get(i).copied().unwrap_or_default();
        let prev = match current.remove(*key) {
            Some(prev) => prev,
            None if truncate_at.is_some() => None,
            None => index.get(key).map(Prev::Table),
        };
        match prev {
            Some(Prev::New(j)) => valid_to[j] = Some(ts),
            Some(Prev::Table(loc)) => closing.push((loc, ts)),
            None => {}
        }
        if ops.get(i) == Some(&Op::Delete) {
            current.insert(key, None);
        } else {
            current.insert(key, Some(Prev::New(keep.len())));
            keep.push(u32::try_from(i).unwrap_or(u32::MAX));
            valid_to.push(None);
        }
    }
    for (key, state) in current {
        match state {
            Some(Prev::New(j)) => staged.inserted.push((Box::from(key), j as i64)),
            _ => staged.removed.push(Box::from(key)),
        }
    }
    let mut parts = Vec::new();
    if !keep.is_empty() {
        let rows = take_record_batch(batch, &UInt32Array::from(keep)).map_err(batch_err(name))?;
        let rows = with_row_hash(name, &rows)?;
        parts.push(close(name, &rows, &valid_to)?);
    }
    if !closing.is_empty() {
        let old = fetch_rows(table, name, index, &closing, batch).await?;
        let to: Vec<Option<i64>> = closing.iter().map(|(_, ts)| Some(*ts)).collect();
        parts.push(close(name, &old, &to)?);
    }
    let mut change = Change::default();
    if !parts.is_empty() {
        let rows = concat_batches(&batch.schema(), &parts).map_err(batch_err(name))?;
        if rows.num_rows() > 0 {
            let files = write_data_files_in(table, name, &rows, prefix, None).await?;
            staged.written(&files);
            change.data_files.extend(files);
        }
    }
    if !closing.is_empty() {
        let deletes = closing
            .iter()
            .map(|(loc, _)| (index.path(*loc), loc.pos))
            .collect();
        change
            .delete_files
            .push(write_position_deletes(table, name, deletes, prefix).await?);
    }
    Ok((change, staged))
}

fn batch_err(name: &str) -> impl Fn(arrow_schema::ArrowError) -> SinkError + '_ {
    move |e| SinkError::Batch {
        table: name.to_owned(),
        reason: format!("history rows: {e}"),
    }
}

/// `rows` with `_valid_to` = `valid_to` and `_is_current` = `valid_to.is_none()`.
fn close(
    name: &str,
    rows: &RecordBatch,
    valid_to: &[Option<i64>],
) -> Result<RecordBatch, SinkError> {
    let schema = rows.schema();
    let mut columns: Vec<ArrayRef> = rows.columns().to_vec();
    let to_index = schema.index_of(COL_VALID_TO).map_err(batch_err(name))?;
    let current_index = schema.index_of(COL_IS_CURRENT).map_err(batch_err(name))?;
    let micros: ArrayRef = Arc::new(Int64Array::from(valid_to.to_vec()));
    columns[to_index] =
        arrow_cast::cast(&micros, schema.field(to_index).data_type()).map_err(batch_err(name))?;
    columns[current_index] = Arc::new(BooleanArray::from(
        valid_to
            .iter()
            .map(|t| Some(t.is_none()))
            .collect::<Vec<_>>(),
    ));
    RecordBatch::try_new(schema, columns).map_err(batch_err(name))
}

/// `rows` with `_row_hash` computed from the source columns (those before `_valid_from`).
fn with_row_hash(name: &str, rows: &RecordBatch) -> Result<RecordBatch, SinkError> {
    let schema = rows.schema();
    let first_meta = schema.index_of(COL_VALID_FROM).map_err(batch_err(name))?;
    let hash_index = schema.index_of(COL_ROW_HASH).map_err(batch_err(name))?;
    let options = FormatOptions::default().with_null("\u{0}null");
    let formatters = rows.columns()[..first_meta]
        .iter()
        .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
        .collect::<Result<Vec<_>, _>>()
        .map_err(batch_err(name))?;
    let mut hashes = Vec::with_capacity(rows.num_rows());
    for row in 0..rows.num_rows() {
        let mut md5 = Md5::new();
        for (column, formatter) in rows.columns()[..first_meta].iter().zip(&formatters) {
            if column.is_null(row) {
                md5.update([0u8]);
                continue;
            }
            let text = formatter.value(row).to_string();
            md5.update([1u8]);
            md5.update((text.len() as u64).to_le_bytes());
            md5.update(text.as_bytes());
        }
        let digest = md5.finalize();
        hashes.push(
            digest
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>(),
        );
    }
    let mut columns: Vec<ArrayRef> = rows.columns().to_vec();
    columns[hash_index] = Arc::new(StringArray::from(hashes));
    RecordBatch::try_new(schema, columns).map_err(batch_err(name))
}

/// Reads the current rows at `closing` back from their data files, in `closing` order, in
/// the schema of `like`.
async fn fetch_rows(
    table: &Table,
    name: &str,
    index: &KeyIndex,
    closing: &[(RowLoc, i64)],
    like: &RecordBatch,
) -> Result<RecordBatch, SinkError> {
    let schema = like.schema();
    let mut by_file: BTreeMap<Arc<str>, Vec<(usize, i64)>> = BTreeMap::new();
    for (n, (loc, _)) in closing.iter().enumerate() {
        by_file
            .entry(index.path(*loc))
            .or_default()
            .push((n, loc.pos));
    }
    let mut found: Vec<Option<RecordBatch>> = vec![None; closing.len()];
    for (path, wanted) in by_file {
        let batches = read_as(table, name, &path, &schema).await?;
        let file = concat_batches(&schema, &batches).map_err(batch_err(name))?;
        for (n, pos) in wanted {
            let row = usize::try_from(pos)
                .ok()
                .filter(|&p| p < file.num_rows())
                .ok_or_else(|| SinkError::Batch {
                    table: name.to_owned(),
                    reason: format!("{path} has no row {pos} (the key index is stale)"),
                })?;
            found[n] = Some(file.slice(row, 1));
        }
    }
    let rows: Vec<RecordBatch> = found.into_iter().flatten().collect();
    concat_batches(&schema, &rows).map_err(batch_err(name))
}
