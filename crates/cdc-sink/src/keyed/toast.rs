//! Unchanged TOAST values: PostgreSQL does not send an unchanged large value in an update,
//! and Debezium writes `unavailable.value.placeholder` instead. Keyed tables keep the row's
//! previous value: from an earlier event of the same key in the batch, else from the row in
//! the table (read back from its data file). The placeholder is never written as data; with
//! no previous row at all the value becomes null (with a warning).

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_array::{Array, BinaryArray, LargeBinaryArray, LargeStringArray, StringArray};
use arrow_schema::SchemaRef;
use arrow_select::concat::concat_batches;
use cdc_model::{Op, Value};
use iceberg::table::Table;

use super::index::KeyIndex;
use super::read::read_as;
use crate::batch::{build_batch, FieldSource};
use crate::changelog::ChangelogRow;
use crate::SinkError;

/// Whether `value` is the placeholder of an unchanged TOAST value.
pub(crate) fn is_placeholder(value: &Value, placeholder: &str) -> bool {
    match value {
        Value::Unavailable => true,
        Value::String(s) => s == placeholder,
        Value::Bytes(b) => b == placeholder.as_bytes(),
        Value::Array(items) => items.len() == 1 && is_placeholder(&items[0], placeholder),
        _ => false,
    }
}

fn has_placeholder(row: &ChangelogRow, placeholder: &str) -> bool {
    row.op != Op::Delete && row.values.iter().any(|v| is_placeholder(v, placeholder))
}

/// Fills placeholders of `row` from the newest earlier row of the same key in `earlier`.
pub(crate) fn fill_from_batch(
    row: &mut ChangelogRow,
    earlier: &[ChangelogRow],
    key: &[usize],
    placeholder: &str,
) {
    if !has_placeholder(row, placeholder) {
        return;
    }
    let same_key = |other: &ChangelogRow| {
        key.iter()
            .all(|&k| other.values.get(k) == row.values.get(k))
    };
    let Some(previous) = earlier
        .iter()
        .rev()
        .find(|r| r.op != Op::Delete && same_key(r))
    else {
        return;
    };
    let fills: Vec<(usize, Value)> = row
        .values
        .iter()
        .enumerate()
        .filter(|(_, v)| is_placeholder(v, placeholder))
        .filter_map(|(i, _)| previous.values.get(i).map(|v| (i, v.clone())))
        .collect();
    for (i, value) in fills {
        row.values[i] = value;
    }
}

/// Fills the placeholders left in `rows` from the rows' current versions in the table,
/// reading each data file involved once.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn fill_from_table(
    table: &Table,
    name: &str,
    index: &KeyIndex,
    schema: &SchemaRef,
    sources: &[FieldSource],
    key: &[usize],
    rows: &mut [ChangelogRow],
    placeholder: &str,
) -> Result<(), SinkError> {
    // Pass 1: fill from earlier rows of the batch; note what only the table holds, per data
    // file: (row, position in the file, (value index, schema field index)).
    type Need = (usize, i64, Vec<(usize, usize)>);
    let mut wanted: BTreeMap<Arc<str>, Vec<Need>> = BTreeMap::new();
    for n in 0..rows.len() {
        if !has_placeholder(&rows[n], placeholder) {
            continue;
        }
        // A later row of the same key copies the placeholder from an earlier one here; both
        // are then filled from the same table row below.
        let (earlier, rest) = rows.split_at_mut(n);
        fill_from_batch(&mut rest[0], earlier, key, placeholder);
        let row = &mut rest[0];
        if !has_placeholder(row, placeholder) {
            continue;
        }
        let mut probe = row.clone();
        for v in &mut probe.values {
            if is_placeholder(v, placeholder) {
                *v = Value::Null;
            }
        }
        let batch = build_batch(name, schema, sources, std::slice::from_ref(&probe))?;
        let keys = index.keys(name, &batch)?;
        let loc = keys.iter().next().and_then(|k| index.get(k.data()));
        let columns: Vec<(usize, usize)> = row
            .values
            .iter()
            .enumerate()
            .filter(|(_, v)| is_placeholder(v, placeholder))
            .filter_map(|(i, _)| {
                sources
                    .iter()
                    .position(|s| *s == FieldSource::Column(i))
                    .map(|field| (i, field))
            })
            .collect();
        let Some(loc) = loc else {
            tracing::warn!(
                table = name,
                record = %row.origin,
                "unchanged TOAST value of a row the table does not hold; written as null"
            );
            for (i, _) in columns {
                row.values[i] = Value::Null;
            }
            continue;
        };
        wanted
            .entry(index.path(loc))
            .or_default()
            .push((n, loc.pos, columns));
    }
    // Pass 2: one read per data file, of the columns needed from it.
    let batch_err = |e: arrow_schema::ArrowError| SinkError::Batch {
        table: name.to_owned(),
        reason: format!("restoring unchanged TOAST values: {e}"),
    };
    for (path, needs) in wanted {
        let mut fields: Vec<usize> = needs
            .iter()
            .flat_map(|(_, _, c)| c.iter().map(|&(_, f)| f))
            .collect();
        fields.sort_unstable();
        fields.dedup();
        let projected = Arc::new(schema.project(&fields).map_err(batch_err)?);
        let batches = read_as(table, name, &path, &projected).await?;
        let file = concat_batches(&projected, &batches).map_err(batch_err)?;
        for (n, pos, columns) in needs {
            let at = usize::try_from(pos)
                .ok()
                .filter(|&p| p < file.num_rows())
                .ok_or_else(|| SinkError::Batch {
                    table: name.to_owned(),
                    reason: format!("{path} has no row {pos} (the key index is stale)"),
                })?;
            let record = rows[n].origin.to_string();
            for (i, field) in columns {
                let column = fields.binary_search(&field).unwrap_or_default();
                let one = file.column(column).slice(at, 1);
                rows[n].values[i] = arrow_value(name, one.as_ref(), &record)?;
            }
        }
    }
    Ok(())
}

/// The value of a one-row string or binary column (TOAST-able values map to these).
fn arrow_value(name: &str, array: &dyn Array, record: &str) -> Result<Value, SinkError> {
    if array.is_null(0) {
        return Ok(Value::Null);
    }
    let any = array.as_any();
    if let Some(a) = any.downcast_ref::<StringArray>() {
        return Ok(Value::String(a.value(0).to_owned()));
    }
    if let Some(a) = any.downcast_ref::<LargeStringArray>() {
        return Ok(Value::String(a.value(0).to_owned()));
    }
    if let Some(a) = any.downcast_ref::<LargeBinaryArray>() {
        return Ok(Value::Bytes(a.value(0).to_vec()));
    }
    if let Some(a) = any.downcast_ref::<BinaryArray>() {
        return Ok(Value::Bytes(a.value(0).to_vec()));
    }
    Err(SinkError::Batch {
        table: name.to_owned(),
        reason: format!(
            "record {record}: cannot restore an unchanged TOAST value of Arrow type {}",
            array.data_type()
        ),
    })
}
