//! Reading rows back from a table's Parquet files: by column name, in file order (row index
//! = position, as the key index and position deletes need), and — for files written under an
//! older schema — in the table's current layout.

use std::sync::Arc;

use arrow_array::{new_null_array, ArrayRef, RecordBatch};
use arrow_schema::SchemaRef;
use bytes::Bytes;
use iceberg::table::Table;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ProjectionMask;

use crate::SinkError;

/// Reads the named columns of a Parquet file, in file order.
pub(crate) async fn read_columns(
    table: &Table,
    name: &str,
    path: &str,
    columns: &[&str],
) -> Result<Vec<RecordBatch>, SinkError> {
    let bytes = read_file(table, name, path).await?;
    let parquet_err = |e: parquet::errors::ParquetError| SinkError::Batch {
        table: name.to_owned(),
        reason: format!("reading {path}: {e}"),
    };
    let builder = ParquetRecordBatchReaderBuilder::try_new(bytes).map_err(parquet_err)?;
    let schema = builder.parquet_schema();
    let mut leaves = Vec::with_capacity(columns.len());
    for column in columns {
        let leaf = leaf_of(schema, column).ok_or_else(|| SinkError::Batch {
            table: name.to_owned(),
            reason: format!("{path} has no column {column}"),
        })?;
        leaves.push(leaf);
    }
    let mask = ProjectionMask::leaves(schema, leaves);
    let reader = builder
        .with_projection(mask)
        .with_batch_size(8192)
        .build()
        .map_err(parquet_err)?;
    let mut batches = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| SinkError::Batch {
            table: name.to_owned(),
            reason: format!("reading {path}: {e}"),
        })?;
        // The projection keeps file order; restore the requested order.
        let order: Vec<usize> = columns
            .iter()
            .map(|c| batch.schema().index_of(c).unwrap_or(0))
            .collect();
        batches.push(batch.project(&order).map_err(|e| SinkError::Batch {
            table: name.to_owned(),
            reason: format!("reading {path}: {e}"),
        })?);
    }
    Ok(batches)
}

/// Reads the columns of `schema` from a data file written under the current or an older
/// table schema: columns the file lacks (added later) are null, narrower ones (widened later)
/// are cast to `schema`'s types. Rows in file order.
pub(crate) async fn read_as(
    table: &Table,
    name: &str,
    path: &str,
    schema: &SchemaRef,
) -> Result<Vec<RecordBatch>, SinkError> {
    let batch_err = |e: arrow_schema::ArrowError| SinkError::Batch {
        table: name.to_owned(),
        reason: format!("reading {path}: {e}"),
    };
    let (present, rows) = {
        let bytes = read_file(table, name, path).await?;
        let builder =
            ParquetRecordBatchReaderBuilder::try_new(bytes).map_err(|e| SinkError::Batch {
                table: name.to_owned(),
                reason: format!("reading {path}: {e}"),
            })?;
        let parquet = builder.parquet_schema();
        let present: Vec<&str> = schema
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .filter(|c| leaf_of(parquet, c).is_some())
            .collect();
        let rows = builder.metadata().file_metadata().num_rows();
        (present, rows)
    };
    if present.is_empty() {
        let rows = usize::try_from(rows).unwrap_or(0);
        let columns: Vec<ArrayRef> = schema
            .fields()
            .iter()
            .map(|f| new_null_array(f.data_type(), rows))
            .collect();
        return Ok(vec![
            RecordBatch::try_new(Arc::clone(schema), columns).map_err(batch_err)?
        ]);
    }
    let mut out = Vec::new();
    for batch in read_columns(table, name, path, &present).await? {
        let mut columns = Vec::with_capacity(schema.fields().len());
        for field in schema.fields() {
            let column = match present.iter().position(|c| c == field.name()) {
                Some(i) => {
                    arrow_cast::cast(batch.column(i), field.data_type()).map_err(batch_err)?
                }
                None => new_null_array(field.data_type(), batch.num_rows()),
            };
            columns.push(column);
        }
        out.push(RecordBatch::try_new(Arc::clone(schema), columns).map_err(batch_err)?);
    }
    Ok(out)
}

async fn read_file(table: &Table, name: &str, path: &str) -> Result<Bytes, SinkError> {
    table
        .file_io()
        .new_input(path)
        .map_err(|e| SinkError::catalog(format!("{name}: cannot open {path}"), e))?
        .read()
        .await
        .map_err(|e| SinkError::catalog(format!("{name}: cannot read {path}"), e))
}

/// The leaf column of a flat Parquet schema called `column`.
fn leaf_of(schema: &parquet::schema::types::SchemaDescriptor, column: &str) -> Option<usize> {
    (0..schema.num_columns()).find(|&i| schema.column(i).name() == column)
}
