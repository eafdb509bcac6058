//! The ceiling: the same rows as Arrow `RecordBatch`es in the mirror table's exact Arrow
//! schema, written straight to Parquet files with `parquet`'s `ArrowWriter` and the sink's
//! writer properties (ZSTD, default level), one file per commit batch.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow_array::builder::{
    BooleanBuilder, Date32Builder, Decimal128Builder, Float64Builder, Int32Builder, Int64Builder,
    StringBuilder, TimestampMicrosecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::SchemaRef;
use cdc_model::{Op, Position};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use crate::stream::{source_lsn, source_ts_us, Change};
use crate::BenchError;

/// What `cdc-sink` hands the parquet crate (`commit/files.rs`).
fn properties() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .build()
}

/// The Arrow schema of the first Parquet data file (not a delete file) under `dir`: exactly
/// what the sink wrote, field ids included.
pub fn data_file_schema(dir: &Path) -> Result<SchemaRef, BenchError> {
    let file = find_data_file(dir)?
        .ok_or_else(|| BenchError::Check(format!("no data file under {}", dir.display())))?;
    let reader = File::open(&file).map_err(|e| BenchError::io(&file, e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(reader)
        .map_err(|e| BenchError::Check(format!("{}: {e}", file.display())))?;
    Ok(Arc::clone(builder.schema()))
}

fn find_data_file(dir: &Path) -> Result<Option<PathBuf>, BenchError> {
    for entry in std::fs::read_dir(dir).map_err(|e| BenchError::io(dir, e))? {
        let path = entry.map_err(|e| BenchError::io(dir, e))?.path();
        if path.is_dir() {
            if let Some(found) = find_data_file(&path)? {
                return Ok(Some(found));
            }
        } else if path.extension().is_some_and(|e| e == "parquet")
            && !path.to_string_lossy().contains("-deletes")
        {
            return Ok(Some(path));
        }
    }
    Ok(None)
}

/// `changes` (stream positions `first_seq..`) as one batch in `schema`: the source columns
/// (a delete carries its key only), then `_cdc_op`, `_cdc_ts_ms`, `_cdc_position`,
/// `_cdc_kafka_partition` and `_cdc_kafka_offset` as the sink fills them.
pub fn batch(
    schema: &SchemaRef,
    changes: &[Change],
    first_seq: u64,
) -> Result<RecordBatch, BenchError> {
    let n = changes.len();
    let mut id = Int64Builder::with_capacity(n);
    let mut account = Int32Builder::with_capacity(n);
    let mut name = StringBuilder::new();
    let mut email = StringBuilder::new();
    let mut amount = Decimal128Builder::with_capacity(n)
        .with_precision_and_scale(12, 2)
        .map_err(|e| BenchError::Check(format!("ceiling batch: {e}")))?;
    let mut score = Float64Builder::with_capacity(n);
    let mut active = BooleanBuilder::with_capacity(n);
    let mut created = TimestampMicrosecondBuilder::with_capacity(n);
    let mut due = Date32Builder::with_capacity(n);
    let mut op = StringBuilder::new();
    let mut ts_ms = Int64Builder::with_capacity(n);
    let mut position = StringBuilder::new();
    let mut partition = Int32Builder::with_capacity(n);
    let mut offset = Int64Builder::with_capacity(n);
    for (i, change) in changes.iter().enumerate() {
        let seq = first_seq + i as u64;
        let row = &change.row;
        id.append_value(row.id);
        if change.op == Op::Delete {
            account.append_null();
            name.append_null();
            email.append_null();
            amount.append_null();
            score.append_null();
            active.append_null();
            created.append_null();
            due.append_null();
        } else {
            account.append_value(row.account_id);
            name.append_value(&row.name);
            email.append_option(row.email.as_deref());
            amount.append_value(i128::from(row.cents));
            score.append_option(row.score);
            active.append_value(row.active);
            created.append_value(row.created_us);
            due.append_option(row.due);
        }
        op.append_value(change.op.code());
        ts_ms.append_value(source_ts_us(seq).div_euclid(1000));
        position.append_value(
            Position::Postgres {
                lsn: source_lsn(seq),
                last_commit_lsn: None,
                tx_id: None,
            }
            .to_text(),
        );
        partition.append_value(0);
        offset.append_value(i64::try_from(seq).unwrap_or(i64::MAX));
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(id.finish()),
        Arc::new(account.finish()),
        Arc::new(name.finish()),
        Arc::new(email.finish()),
        Arc::new(amount.finish()),
        Arc::new(score.finish()),
        Arc::new(active.finish()),
        Arc::new(created.finish()),
        Arc::new(due.finish()),
        Arc::new(op.finish()),
        Arc::new(ts_ms.finish()),
        Arc::new(position.finish()),
        Arc::new(partition.finish()),
        Arc::new(offset.finish()),
    ];
    if columns.len() != schema.fields().len() {
        return Err(BenchError::Check(format!(
            "the mirror table has {} columns, the ceiling builds {}: {schema:?}",
            schema.fields().len(),
            columns.len()
        )));
    }
    // Same values, exact field types (decimal precision, time zone, string flavour).
    let columns = columns
        .iter()
        .zip(schema.fields())
        .map(|(column, field)| arrow_cast::cast(column, field.data_type()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| BenchError::Check(format!("ceiling batch: {e}")))?;
    RecordBatch::try_new(Arc::clone(schema), columns)
        .map_err(|e| BenchError::Check(format!("ceiling batch: {e}")))
}

/// Writes each batch to its own Parquet file in `dir`; returns the time taken (file
/// creation to close of the last file).
pub fn write(dir: &Path, batches: &[RecordBatch]) -> Result<Duration, BenchError> {
    std::fs::create_dir_all(dir).map_err(|e| BenchError::io(dir, e))?;
    let started = Instant::now();
    for (i, batch) in batches.iter().enumerate() {
        let path = dir.join(format!("ceiling-{i:05}.parquet"));
        let file = File::create(&path).map_err(|e| BenchError::io(&path, e))?;
        let fail = |e: parquet::errors::ParquetError| {
            BenchError::Check(format!("{}: {e}", path.display()))
        };
        let mut writer =
            ArrowWriter::try_new(file, batch.schema(), Some(properties())).map_err(fail)?;
        writer.write(batch).map_err(fail)?;
        writer.close().map_err(fail)?;
    }
    Ok(started.elapsed())
}
