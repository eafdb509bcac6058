//! Writing the files of a commit: Parquet data files whose row positions are known (one file
//! per call, rows in batch order — the primary-key index depends on it) and position-delete
//! files (`file_path`, `pos`, sorted as the spec requires), and data files written from several
//! batches ([`DataFileSink`], compaction).

use std::sync::{Arc, LazyLock};

use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use iceberg::metadata_columns::{
    RESERVED_FIELD_ID_DELETE_FILE_PATH, RESERVED_FIELD_ID_DELETE_FILE_POS,
};
use iceberg::spec::{
    DataContentType, DataFile, DataFileFormat, Literal, NestedField, PartitionKey, PrimitiveType,
    Schema, Struct, Type,
};
use iceberg::table::Table;
use iceberg::writer::file_writer::location_generator::{
    DefaultFileNameGenerator, DefaultLocationGenerator,
};
use iceberg::writer::file_writer::rolling_writer::{RollingFileWriter, RollingFileWriterBuilder};
use iceberg::writer::file_writer::ParquetWriterBuilder;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use crate::SinkError;

/// The schema of position-delete files (reserved field ids from the spec).
static POSITION_DELETE_SCHEMA: LazyLock<Option<Arc<Schema>>> = LazyLock::new(|| {
    Schema::builder()
        .with_fields([
            NestedField::required(
                RESERVED_FIELD_ID_DELETE_FILE_PATH,
                "file_path",
                Type::Primitive(PrimitiveType::String),
            )
            .into(),
            NestedField::required(
                RESERVED_FIELD_ID_DELETE_FILE_POS,
                "pos",
                Type::Primitive(PrimitiveType::Long),
            )
            .into(),
        ])
        .build()
        .ok()
        .map(Arc::new)
});

fn parquet_properties() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .build()
}

/// Writes `batch` (in the table's current schema) as ONE Parquet data file, in one partition
/// of a table partitioned by the day of a timestamp (`day`: days since 1970-01-01; `None` for
/// an unpartitioned table); row `i` of the batch is at position `i` of the file. `prefix`
/// names the file (`<prefix>-….parquet`).
pub(crate) async fn write_data_file_in(
    table: &Table,
    name: &str,
    batch: &RecordBatch,
    prefix: &str,
    day: Option<i32>,
) -> Result<DataFile, SinkError> {
    let err = |e| SinkError::write(name, e);
    let md = table.metadata();
    let partition = day.map(|day| Struct::from_iter([Some(Literal::date(day))]));
    let files = write_one(
        table,
        md.current_schema().clone(),
        batch,
        prefix,
        DataContentType::Data,
        None,
        partition,
    )
    .await
    .map_err(err)?;
    single(name, files)
}

/// A part of a commit's rows worth a file of its own, written in parallel with the others.
const PARALLEL_FILE_MIN_ROWS: usize = 16_384;

/// [`write_data_file_in`] for a large batch: up to one file per core (each at least
/// [`PARALLEL_FILE_MIN_ROWS`] rows), encoded in parallel — Parquet encoding is the largest
/// single cost of a commit. The files are returned in row order: file `k` holds the rows
/// after those of files `0..k`, at positions from 0. A small batch is one file.
pub(crate) async fn write_data_files_in(
    table: &Table,
    name: &str,
    batch: &RecordBatch,
    prefix: &str,
    day: Option<i32>,
) -> Result<Vec<DataFile>, SinkError> {
    let parts = (batch.num_rows() / PARALLEL_FILE_MIN_ROWS).clamp(1, crate::cores());
    if parts == 1 {
        return Ok(vec![
            write_data_file_in(table, name, batch, prefix, day).await?,
        ]);
    }
    let per_part = batch.num_rows().div_ceil(parts);
    let mut tasks = Vec::with_capacity(parts);
    for (k, start) in (0..batch.num_rows()).step_by(per_part).enumerate() {
        let rows = batch.slice(start, per_part.min(batch.num_rows() - start));
        let (table, name, prefix) = (table.clone(), name.to_owned(), format!("{prefix}-p{k}"));
        tasks.push(tokio::spawn(async move {
            write_data_file_in(&table, &name, &rows, &prefix, day).await
        }));
    }
    let mut files = Vec::with_capacity(parts);
    for task in tasks {
        let written = task.await.map_err(|e| SinkError::Batch {
            table: name.to_owned(),
            reason: format!("a data-file writer task failed: {e}"),
        })?;
        files.push(written?);
    }
    Ok(files)
}

/// Writes position deletes `(data file path, row position)` as one file. `deletes` is sorted
/// here; it must not be empty.
pub(crate) async fn write_position_deletes(
    table: &Table,
    name: &str,
    mut deletes: Vec<(Arc<str>, i64)>,
    prefix: &str,
) -> Result<DataFile, SinkError> {
    let err = |e| SinkError::write(name, e);
    let schema = POSITION_DELETE_SCHEMA
        .clone()
        .ok_or_else(|| SinkError::Batch {
            table: name.to_owned(),
            reason: "cannot build the position-delete schema".into(),
        })?;
    deletes.sort_unstable();
    deletes.dedup();
    let referenced = match deletes.first() {
        Some((first, _)) if deletes.iter().all(|(p, _)| p == first) => Some(first.to_string()),
        _ => None,
    };
    let arrow = iceberg::arrow::schema_to_arrow_schema(&schema).map_err(err)?;
    let paths: ArrayRef = Arc::new(StringArray::from_iter_values(
        deletes.iter().map(|(p, _)| p.as_ref()),
    ));
    let positions: ArrayRef = Arc::new(Int64Array::from_iter_values(
        deletes.iter().map(|(_, pos)| *pos),
    ));
    let batch = RecordBatch::try_new(Arc::new(arrow), vec![paths, positions]).map_err(|e| {
        SinkError::Batch {
            table: name.to_owned(),
            reason: format!("position deletes: {e}"),
        }
    })?;
    let files = write_one(
        table,
        schema,
        &batch,
        &format!("{prefix}-deletes"),
        DataContentType::PositionDeletes,
        referenced,
        None,
    )
    .await
    .map_err(err)?;
    single(name, files)
}

async fn write_one(
    table: &Table,
    schema: Arc<Schema>,
    batch: &RecordBatch,
    prefix: &str,
    content: DataContentType,
    referenced: Option<String>,
    partition: Option<Struct>,
) -> iceberg::Result<Vec<DataFile>> {
    let mut file = OpenFile::create(table, schema, prefix, partition)?;
    file.write(batch).await?;
    file.close(content, referenced).await
}

type ParquetRollingWriter =
    RollingFileWriter<ParquetWriterBuilder, DefaultLocationGenerator, DefaultFileNameGenerator>;

/// A Parquet file being written from one or more batches; rows are at positions in write
/// order (the rolling writer's target is unbounded, so it never starts a second file).
struct OpenFile {
    writer: ParquetRollingWriter,
    spec_id: i32,
    /// The partition of a partitioned table's file (`None`: unpartitioned).
    partition: Option<PartitionKey>,
}

impl OpenFile {
    fn create(
        table: &Table,
        schema: Arc<Schema>,
        prefix: &str,
        partition: Option<Struct>,
    ) -> iceberg::Result<OpenFile> {
        let md = table.metadata();
        let partition = partition.map(|values| {
            PartitionKey::new(
                (**md.default_partition_spec()).clone(),
                md.current_schema().clone(),
                values,
            )
        });
        let parquet = ParquetWriterBuilder::new(parquet_properties(), schema);
        let rolling = RollingFileWriterBuilder::new(
            parquet,
            usize::MAX,
            table.file_io().clone(),
            DefaultLocationGenerator::new(md)?,
            DefaultFileNameGenerator::new(prefix.to_owned(), None, DataFileFormat::Parquet),
        );
        Ok(OpenFile {
            writer: rolling.build(),
            spec_id: md.default_partition_spec_id(),
            partition,
        })
    }

    async fn write(&mut self, batch: &RecordBatch) -> iceberg::Result<()> {
        self.writer.write(&self.partition, batch).await
    }

    async fn close(
        self,
        content: DataContentType,
        referenced: Option<String>,
    ) -> iceberg::Result<Vec<DataFile>> {
        let spec_id = self.spec_id;
        let values = self
            .partition
            .as_ref()
            .map_or_else(Struct::empty, |p| p.data().clone());
        self.writer
            .close()
            .await?
            .into_iter()
            .map(|mut builder| {
                builder
                    .content(content)
                    .partition_spec_id(spec_id)
                    .partition(values.clone())
                    .referenced_data_file(referenced.clone());
                builder.build().map_err(|e| {
                    iceberg::Error::new(
                        iceberg::ErrorKind::DataInvalid,
                        format!("cannot describe the written file: {e}"),
                    )
                })
            })
            .collect()
    }
}

/// A data file (table's current schema) written from several batches, for compaction:
/// rows are at positions in write order.
pub(crate) struct DataFileSink {
    file: OpenFile,
    name: String,
    rows: u64,
}

impl DataFileSink {
    /// A new file in `partition` (the partition values of a partitioned table's files being
    /// compacted; `None` when the table is unpartitioned).
    pub fn create(
        table: &Table,
        name: &str,
        prefix: &str,
        partition: Option<Struct>,
    ) -> Result<DataFileSink, SinkError> {
        let schema = table.metadata().current_schema().clone();
        let file = OpenFile::create(table, schema, prefix, partition)
            .map_err(|e| SinkError::write(name, e))?;
        Ok(DataFileSink {
            file,
            name: name.to_owned(),
            rows: 0,
        })
    }

    /// Rows written so far (the position of the next row).
    pub fn rows(&self) -> u64 {
        self.rows
    }

    pub async fn write(&mut self, batch: &RecordBatch) -> Result<(), SinkError> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        self.file
            .write(batch)
            .await
            .map_err(|e| SinkError::write(&self.name, e))?;
        self.rows += batch.num_rows() as u64;
        Ok(())
    }

    pub async fn close(self) -> Result<DataFile, SinkError> {
        let files = self
            .file
            .close(DataContentType::Data, None)
            .await
            .map_err(|e| SinkError::write(&self.name, e))?;
        single(&self.name, files)
    }
}

fn single(name: &str, mut files: Vec<DataFile>) -> Result<DataFile, SinkError> {
    match (files.pop(), files.is_empty()) {
        (Some(file), true) => Ok(file),
        (found, _) => Err(SinkError::Batch {
            table: name.to_owned(),
            reason: format!(
                "expected exactly one written file, got {}",
                files.len() + usize::from(found.is_some())
            ),
        }),
    }
}
