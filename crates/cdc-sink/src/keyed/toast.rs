//! Unchanged TOAST values: PostgreSQL does not send an unchanged large value in an update,
//! and Debezium writes `unavailable.value.placeholder` instead. Keyed tables keep the row's
//! previous value: from an earlier event of the same key in the batch, else from the row in
//! the table (read back from its data file). The placeholder is never written as data; with
//! no previous row at all the value becomes null (with a warning).

use std::sync::Arc;

use arrow_array::{Array, BinaryArray, LargeBinaryArray, LargeStringArray, StringArray};
use arrow_schema::SchemaRef;
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

/// Fills the placeholders left in `rows` from the rows' current versions in the table.
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
    for n in 0..rows.len() {
        if !has_placeholder(&rows[n], placeholder) {
            continue;
        }
        // An earlier row of the batch may have been filled from the table meanwhile.
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
        let loc = keys.first().and_then(|k| index.get(k));
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
        let path = index.path(loc);
        let fields: Vec<usize> = columns.iter().map(|&(_, f)| f).collect();
        let wanted = Arc::new(schema.project(&fields).map_err(|e| SinkError::Batch {
            table: name.to_owned(),
            reason: format!("cannot project the TOAST columns: {e}"),
        })?);
        let batches = read_as(table, name, &path, &wanted).await?;
        let pos = usize::try_from(loc.pos).unwrap_or(usize::MAX);
        let (mut skip, mut found) = (pos, None);
        for batch in batches {
            if skip < batch.num_rows() {
                found = Some(batch.slice(skip, 1));
                break;
            }
            skip -= batch.num_rows();
        }
        let found = found.ok_or_else(|| SinkError::Batch {
            table: name.to_owned(),
            reason: format!("{path} has no row {} (the key index is stale)", loc.pos),
        })?;
        for (n, (i, _)) in columns.into_iter().enumerate() {
            row.values[i] = arrow_value(name, found.column(n).as_ref(), &row.origin.to_string())?;
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
