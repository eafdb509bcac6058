//! [`ChangelogWriter`]: buffers change events per source table and commits them to the
//! table's Iceberg changelog as Parquet data files, one `fast_append` snapshot per table and
//! commit. Independent of Kafka: callers supply each event's [`RecordOrigin`].

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use arrow_schema::SchemaRef;
use cdc_model::{ChangeEvent, ColumnType, TableId, TableSchema, Value};
use iceberg::spec::{DataFile, DataFileFormat};
use iceberg::table::Table;
use iceberg::transaction::{ApplyTransactionAction, Transaction};
use iceberg::writer::base_writer::data_file_writer::DataFileWriterBuilder;
use iceberg::writer::file_writer::location_generator::{
    DefaultFileNameGenerator, DefaultLocationGenerator,
};
use iceberg::writer::file_writer::rolling_writer::RollingFileWriterBuilder;
use iceberg::writer::file_writer::ParquetWriterBuilder;
use iceberg::writer::{IcebergWriter, IcebergWriterBuilder};
use iceberg::TableIdent;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use crate::batch::{build_batch, field_sources, FieldSource};
use crate::catalog::{display_ident, ChangelogCatalog};
use crate::changelog::{
    changelog_table_name, disposition, ts_ms, ChangelogRow, Disposition, RecordOrigin,
    METADATA_COLUMNS,
};
use crate::config::IcebergConfig;
use crate::schema::{changelog_schema, check_compatible};
use crate::SinkError;

/// Snapshot summary property: JSON `{"topic": {"partition": next_offset}}` of the Kafka
/// records whose rows this snapshot adds.
pub const SNAPSHOT_PROP_KAFKA_OFFSETS: &str = "cdc.kafka-offsets";
/// Snapshot summary property: version of the sink that wrote the snapshot.
pub const SNAPSHOT_PROP_SINK_VERSION: &str = "cdc.sink-version";

/// Next Kafka offset per topic and partition.
pub type KafkaOffsets = BTreeMap<Arc<str>, BTreeMap<i32, i64>>;

/// What [`ChangelogWriter::append`] did with an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appended {
    /// One row was buffered.
    Row,
    /// A truncate event, which has no row to write, was skipped.
    SkippedTruncate,
}

/// One table's part of a successful [`ChangelogWriter::commit`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommittedTable {
    /// `namespace.table` of the changelog table.
    pub table: String,
    pub rows: usize,
    pub data_files: usize,
}

/// Writes change events into per-source-table changelog tables.
pub struct ChangelogWriter {
    catalog: ChangelogCatalog,
    tables: BTreeMap<TableId, TableBuffer>,
    buffered_rows: usize,
}

/// An open changelog table and the rows buffered for it.
struct TableBuffer {
    ident: TableIdent,
    name: String,
    table: Table,
    arrow_schema: SchemaRef,
    sources: Vec<FieldSource>,
    /// Source columns `(name, type)` of the last event that was checked against the table.
    seen_columns: Vec<(String, ColumnType)>,
    /// For each source column in table order, its index in event rows; `None` = identical order.
    column_order: Option<Vec<usize>>,
    rows: Vec<ChangelogRow>,
    offsets: KafkaOffsets,
}

impl ChangelogWriter {
    /// Opens the catalog (creating the database and namespace if needed).
    pub async fn open(config: &IcebergConfig) -> Result<ChangelogWriter, SinkError> {
        Ok(ChangelogWriter {
            catalog: ChangelogCatalog::open(config).await?,
            tables: BTreeMap::new(),
            buffered_rows: 0,
        })
    }

    /// Rows buffered across all tables and not yet committed.
    pub fn buffered_rows(&self) -> usize {
        self.buffered_rows
    }

    /// Buffers the row of `event` for its changelog table, creating the table on first sight.
    /// Fails if the event's columns no longer match the table.
    pub async fn append(
        &mut self,
        event: ChangeEvent,
        origin: RecordOrigin,
    ) -> Result<Appended, SinkError> {
        let schema = Arc::clone(&event.table);
        let ts_ms = ts_ms(event.source.ts_us);
        let position = event.source.position.to_text();
        let op = event.op;
        let image = match disposition(event, &origin)? {
            Disposition::SkipTruncate => return Ok(Appended::SkippedTruncate),
            Disposition::Append(image) => image,
        };
        let buffer = match self.tables.entry(schema.id.clone()) {
            Entry::Occupied(entry) => entry.into_mut(),
            Entry::Vacant(entry) => entry.insert(open_table(&self.catalog, &schema).await?),
        };
        buffer.check_columns(&schema)?;
        let values = match &buffer.column_order {
            None => image,
            Some(order) => {
                let mut image: Vec<Option<Value>> = image.into_iter().map(Some).collect();
                let mut values = Vec::with_capacity(order.len());
                for &i in order {
                    let value = image.get_mut(i).and_then(Option::take);
                    values.push(value.ok_or_else(|| {
                        SinkError::Value {
                            table: buffer.name.clone(),
                            column: schema
                                .columns
                                .get(i)
                                .map_or_else(String::new, |c| c.name.clone()),
                            origin: origin.clone(),
                            reason: "the row image has no value for this column".into(),
                        }
                    })?);
                }
                values
            }
        };
        let next = origin.offset.saturating_add(1);
        let partitions = buffer.offsets.entry(Arc::clone(&origin.topic)).or_default();
        let slot = partitions.entry(origin.partition).or_insert(next);
        *slot = (*slot).max(next);
        buffer.rows.push(ChangelogRow {
            op,
            ts_ms,
            position,
            origin,
            values,
        });
        self.buffered_rows += 1;
        Ok(Appended::Row)
    }

    /// Writes every table's buffered rows as data files and commits one snapshot per table.
    /// Tables without rows are untouched. On error, tables committed before the failing one
    /// stay committed and their buffers are cleared.
    pub async fn commit(&mut self) -> Result<Vec<CommittedTable>, SinkError> {
        let mut committed = Vec::new();
        for buffer in self.tables.values_mut() {
            if buffer.rows.is_empty() {
                continue;
            }
            let result = buffer.commit(&self.catalog).await?;
            self.buffered_rows = self.buffered_rows.saturating_sub(result.rows);
            committed.push(result);
        }
        Ok(committed)
    }
}

/// Creates or loads the changelog table of `schema` and checks it matches.
async fn open_table(
    catalog: &ChangelogCatalog,
    schema: &TableSchema,
) -> Result<TableBuffer, SinkError> {
    let expected = changelog_schema(schema)?;
    let ident = catalog.ident(&changelog_table_name(&schema.id));
    let table = catalog.ensure_table(&ident, &expected).await?;
    let name = display_ident(&ident);
    let arrow_schema = iceberg::arrow::schema_to_arrow_schema(table.metadata().current_schema())
        .map_err(|e| SinkError::Batch {
            table: name.clone(),
            reason: format!("cannot derive the Arrow schema: {e}"),
        })?;
    let arrow_schema = Arc::new(arrow_schema);
    let mut buffer = TableBuffer {
        ident,
        name,
        sources: field_sources(&arrow_schema),
        arrow_schema,
        table,
        seen_columns: Vec::new(),
        column_order: None,
        rows: Vec::new(),
        offsets: KafkaOffsets::new(),
    };
    buffer.adopt_columns(schema)?;
    Ok(buffer)
}

impl TableBuffer {
    /// Accepts `schema`'s columns if they are those last seen, or still match the table.
    fn check_columns(&mut self, schema: &TableSchema) -> Result<(), SinkError> {
        let same = self.seen_columns.len() == schema.columns.len()
            && self
                .seen_columns
                .iter()
                .zip(&schema.columns)
                .all(|((name, ty), c)| *name == c.name && *ty == c.ty);
        if same {
            return Ok(());
        }
        let expected = changelog_schema(schema)?;
        check_compatible(
            &self.name,
            &expected,
            self.table.metadata().current_schema(),
        )?;
        self.adopt_columns(schema)
    }

    /// Records `schema`'s columns and how they map to the table's column order.
    fn adopt_columns(&mut self, schema: &TableSchema) -> Result<(), SinkError> {
        let mut order = Vec::new();
        for field in self.arrow_schema.fields() {
            if METADATA_COLUMNS.contains(&field.name().as_str()) {
                continue;
            }
            let index =
                schema
                    .column_index(field.name())
                    .ok_or_else(|| SinkError::SchemaMismatch {
                        table: self.name.clone(),
                        column: field.name().clone(),
                        reason: "the Iceberg table has this column but the source table does not"
                            .into(),
                    })?;
            order.push(index);
        }
        let identity =
            order.len() == schema.columns.len() && order.iter().enumerate().all(|(i, &j)| i == j);
        self.column_order = (!identity).then_some(order);
        self.seen_columns = schema
            .columns
            .iter()
            .map(|c| (c.name.clone(), c.ty.clone()))
            .collect();
        Ok(())
    }

    async fn commit(&mut self, catalog: &ChangelogCatalog) -> Result<CommittedTable, SinkError> {
        let batch = build_batch(&self.name, &self.arrow_schema, &self.sources, &self.rows)?;
        let commit_id = uuid::Uuid::new_v4();
        let files = self.write_files(batch, commit_id).await?;
        let data_files = files.len();
        let offsets = serde_json::to_string(&self.offsets).map_err(|e| SinkError::Batch {
            table: self.name.clone(),
            reason: format!("cannot encode the Kafka offsets: {e}"),
        })?;
        let properties = HashMap::from([
            (SNAPSHOT_PROP_KAFKA_OFFSETS.to_owned(), offsets),
            (
                SNAPSHOT_PROP_SINK_VERSION.to_owned(),
                env!("CARGO_PKG_VERSION").to_owned(),
            ),
        ]);
        let commit_err = |source| SinkError::commit(&self.name, source);
        let tx = Transaction::new(&self.table);
        let append = tx
            .fast_append()
            .set_commit_uuid(commit_id)
            .add_data_files(files)
            .set_snapshot_properties(properties);
        let tx = append.apply(tx).map_err(commit_err)?;
        let table = tx.commit(&catalog.catalog).await.map_err(commit_err)?;
        self.table = table;
        let rows = self.rows.len();
        self.rows.clear();
        self.offsets.clear();
        tracing::debug!(table = %self.name, ident = ?self.ident, rows, data_files, "committed");
        Ok(CommittedTable {
            table: self.name.clone(),
            rows,
            data_files,
        })
    }

    async fn write_files(
        &self,
        batch: arrow_array::RecordBatch,
        commit_id: uuid::Uuid,
    ) -> Result<Vec<DataFile>, SinkError> {
        let write_err = |source| SinkError::write(&self.name, source);
        let metadata = self.table.metadata();
        let properties = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .build();
        let parquet = ParquetWriterBuilder::new(properties, metadata.current_schema().clone());
        let rolling = RollingFileWriterBuilder::new_with_default_file_size(
            parquet,
            self.table.file_io().clone(),
            DefaultLocationGenerator::new(metadata).map_err(write_err)?,
            DefaultFileNameGenerator::new(commit_id.to_string(), None, DataFileFormat::Parquet),
        );
        let mut writer = DataFileWriterBuilder::new(rolling)
            .build(None)
            .await
            .map_err(write_err)?;
        writer.write(batch).await.map_err(write_err)?;
        writer.close().await.map_err(write_err)
    }
}
