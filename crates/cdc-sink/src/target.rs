//! One Iceberg table fed by one source table: its mode, its buffered rows, the Kafka offsets
//! it holds, and (keyed modes) its primary-key index.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use arrow_schema::SchemaRef;
use cdc_model::{ColumnType, Op, TableSchema, Value};
use iceberg::spec::TableMetadata;
use iceberg::TableIdent;

use crate::batch::{build_batch, field_sources, FieldSource};
use crate::catalog::{display_ident, ChangelogCatalog};
use crate::changelog::{ChangelogRow, RecordOrigin};
use crate::commit::pointer::CatalogPointer;
use crate::commit::{latest_summary_property, Change, OwnedTable};
use crate::config::TableMode;
use crate::keyed::history::{plan_history, COL_IS_CURRENT};
use crate::keyed::index::KeyIndex;
use crate::keyed::{plan_mirror, toast};
use crate::schema::{check_compatible, table_schema};
use crate::writer::CommittedTable;
use crate::SinkError;

/// Snapshot summary property: JSON `{"topic": {"partition": next_offset}}`, the next Kafka
/// offset of every partition whose records the table holds (cumulative over all commits).
pub const SNAPSHOT_PROP_KAFKA_OFFSETS: &str = "cdc.kafka-offsets";
/// Snapshot summary property: version of the sink that wrote the snapshot.
pub const SNAPSHOT_PROP_SINK_VERSION: &str = "cdc.sink-version";

/// Next Kafka offset per topic and partition.
pub type KafkaOffsets = BTreeMap<Arc<str>, BTreeMap<i32, i64>>;

/// The Kafka offsets `md`'s table holds (its newest `cdc.kafka-offsets` summary), if any.
pub(crate) fn held_offsets(
    md: &TableMetadata,
    name: &str,
) -> Result<Option<KafkaOffsets>, SinkError> {
    latest_summary_property(md, SNAPSHOT_PROP_KAFKA_OFFSETS)
        .map(|text| {
            serde_json::from_str(text).map_err(|e| SinkError::Batch {
                table: name.to_owned(),
                reason: format!(
                    "the snapshot summary's {SNAPSHOT_PROP_KAFKA_OFFSETS} is not valid: {e}"
                ),
            })
        })
        .transpose()
}

pub(crate) struct Target {
    mode: TableMode,
    owned: OwnedTable,
    arrow_schema: SchemaRef,
    sources: Vec<FieldSource>,
    /// Source columns `(name, type)` of the last event checked against the table.
    seen_columns: Vec<(String, ColumnType)>,
    /// For each source column in table order, its index in event rows; `None` = identity.
    column_order: Option<Vec<usize>>,
    /// Key columns' indices in table-ordered rows (keyed modes).
    key_values: Vec<usize>,
    rows: Vec<ChangelogRow>,
    /// Offsets durable in the table.
    committed: KafkaOffsets,
    /// `committed` plus the buffered records.
    pending: KafkaOffsets,
    index: Option<KeyIndex>,
    /// Keyed modes: every row before the buffered ones was truncated at this source time.
    truncate_at: Option<i64>,
    placeholder: String,
}

impl Target {
    pub async fn open(
        catalog: &ChangelogCatalog,
        pointer: &CatalogPointer,
        mode: TableMode,
        ident: TableIdent,
        schema: &TableSchema,
        placeholder: &str,
    ) -> Result<Target, SinkError> {
        let expected = table_schema(mode, schema)?;
        let kind = match mode {
            TableMode::Changelog => "changelog",
            TableMode::Mirror => "mirror",
            TableMode::History => "history",
        };
        let table = catalog.ensure_table(&ident, &expected, kind).await?;
        let name = display_ident(&ident);
        let owned = OwnedTable::claim(&*catalog.catalog, pointer, table, name.clone()).await?;
        let md = owned.table.metadata();
        let arrow_schema =
            iceberg::arrow::schema_to_arrow_schema(md.current_schema()).map_err(|e| {
                SinkError::Batch {
                    table: name.clone(),
                    reason: format!("cannot derive the Arrow schema: {e}"),
                }
            })?;
        let arrow_schema = Arc::new(arrow_schema);
        let committed = held_offsets(md, &name)?.unwrap_or_default();
        let key_names: Vec<&str> = schema
            .key
            .iter()
            .filter_map(|&i| schema.columns.get(i).map(|c| c.name.as_str()))
            .collect();
        let index = match mode {
            TableMode::Changelog => None,
            TableMode::Mirror | TableMode::History => {
                let columns = key_names
                    .iter()
                    .map(|k| arrow_schema.index_of(k))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| SinkError::Batch {
                        table: name.clone(),
                        reason: format!("key column missing from the table: {e}"),
                    })?;
                let mut index = KeyIndex::new(&name, &arrow_schema, columns)?;
                let flag = (mode == TableMode::History).then_some(COL_IS_CURRENT);
                index.rebuild(&owned.table, &name, flag).await?;
                Some(index)
            }
        };
        let sources = field_sources(&arrow_schema);
        let key_values = key_names
            .iter()
            .filter_map(|k| {
                sources
                    .iter()
                    .zip(arrow_schema.fields())
                    .find_map(|(s, f)| match s {
                        FieldSource::Column(i) if f.name() == k => Some(*i),
                        _ => None,
                    })
            })
            .collect();
        let mut target = Target {
            mode,
            owned,
            sources,
            arrow_schema,
            seen_columns: Vec::new(),
            column_order: None,
            key_values,
            rows: Vec::new(),
            pending: committed.clone(),
            committed,
            index,
            truncate_at: None,
            placeholder: placeholder.to_owned(),
        };
        target.adopt_columns(schema)?;
        Ok(target)
    }

    pub fn ident(&self) -> &TableIdent {
        self.owned.table.identifier()
    }

    pub fn buffered(&self) -> usize {
        self.rows.len()
    }

    /// Whether the table already holds the record at `origin`.
    pub fn holds(&self, origin: &RecordOrigin) -> bool {
        self.committed
            .get(&origin.topic)
            .and_then(|p| p.get(&origin.partition))
            .is_some_and(|&next| origin.offset < next)
    }

    fn note_offset(&mut self, origin: &RecordOrigin) {
        let next = origin.offset.saturating_add(1);
        let slot = self
            .pending
            .entry(Arc::clone(&origin.topic))
            .or_default()
            .entry(origin.partition)
            .or_insert(next);
        *slot = (*slot).max(next);
    }

    /// Buffers one row (source values in event order).
    pub fn push(&mut self, mut row: ChangelogRow, origin: &RecordOrigin) -> Result<(), SinkError> {
        if let Some(order) = &self.column_order {
            let mut image: Vec<Option<Value>> = row.values.into_iter().map(Some).collect();
            let mut values = Vec::with_capacity(order.len());
            for &i in order {
                values.push(image.get_mut(i).and_then(Option::take).ok_or_else(|| {
                    SinkError::Value {
                        table: self.owned.name.clone(),
                        column: format!("#{i}"),
                        origin: origin.clone(),
                        reason: "the row image has no value for this column".into(),
                    }
                })?);
            }
            row.values = values;
        }
        if self.index.is_some() && row.op != Op::Delete {
            toast::fill_from_batch(&mut row, &self.rows, &self.key_values, &self.placeholder);
        }
        self.note_offset(origin);
        self.rows.push(row);
        Ok(())
    }

    /// A truncate: keyed tables commit what is buffered, then delete (mirror) or close
    /// (history) every row at the next commit. Returns whether the table represents it.
    pub async fn truncate(
        &mut self,
        catalog: &ChangelogCatalog,
        pointer: &CatalogPointer,
        ts_us: i64,
        origin: &RecordOrigin,
    ) -> Result<bool, SinkError> {
        if self.mode == TableMode::Changelog {
            // Nothing to append; the offset still counts as consumed.
            self.note_offset(origin);
            return Ok(false);
        }
        if !self.rows.is_empty() {
            self.commit(catalog, pointer).await?;
        }
        self.truncate_at = Some(ts_us);
        self.note_offset(origin);
        Ok(true)
    }

    /// Commits the buffered rows (and a pending truncate) as one snapshot.
    pub async fn commit(
        &mut self,
        catalog: &ChangelogCatalog,
        pointer: &CatalogPointer,
    ) -> Result<Option<CommittedTable>, SinkError> {
        if self.rows.is_empty() && self.truncate_at.is_none() && self.pending == self.committed {
            return Ok(None);
        }
        let name = self.owned.name.clone();
        if let Some(index) = &self.index {
            toast::fill_from_table(
                &self.owned.table,
                &name,
                index,
                &self.arrow_schema,
                &self.sources,
                &self.key_values,
                &mut self.rows,
                &self.placeholder,
            )
            .await?;
        }
        let batch = build_batch(&name, &self.arrow_schema, &self.sources, &self.rows)?;
        let prefix = uuid::Uuid::new_v4().to_string();
        let ops: Vec<Op> = self.rows.iter().map(|r| r.op).collect();
        let (mut change, staged) = match (&self.index, self.mode) {
            (Some(index), TableMode::Mirror) => {
                let (c, s) = plan_mirror(
                    &self.owned.table,
                    &name,
                    index,
                    &batch,
                    &ops,
                    self.truncate_at.is_some(),
                    &prefix,
                )
                .await?;
                (c, Some(s))
            }
            (Some(index), TableMode::History) => {
                let ts: Vec<i64> = self.rows.iter().map(|r| r.ts_us).collect();
                let (c, s) = plan_history(
                    &self.owned.table,
                    &name,
                    index,
                    &batch,
                    &ops,
                    &ts,
                    self.truncate_at,
                    &prefix,
                )
                .await?;
                (c, Some(s))
            }
            _ => {
                let mut change = Change::default();
                if batch.num_rows() > 0 {
                    change.data_files.push(
                        crate::commit::files::write_data_file(
                            &self.owned.table,
                            &name,
                            &batch,
                            &prefix,
                        )
                        .await?,
                    );
                }
                (change, None)
            }
        };
        let offsets = serde_json::to_string(&self.pending).map_err(|e| SinkError::Batch {
            table: name.clone(),
            reason: format!("cannot encode the Kafka offsets: {e}"),
        })?;
        change.properties = HashMap::from([
            (SNAPSHOT_PROP_KAFKA_OFFSETS.to_owned(), offsets),
            (
                SNAPSHOT_PROP_SINK_VERSION.to_owned(),
                env!("CARGO_PKG_VERSION").to_owned(),
            ),
        ]);
        let (data_files, delete_files) = (change.data_files.len(), change.delete_files.len());
        self.owned
            .commit(&*catalog.catalog, pointer, change)
            .await?;
        if let (Some(index), Some(staged)) = (&mut self.index, staged) {
            staged.apply(index);
        }
        let rows = self.rows.len();
        self.rows.clear();
        self.truncate_at = None;
        self.committed = self.pending.clone();
        Ok(Some(CommittedTable {
            table: name,
            rows,
            data_files,
            delete_files,
        }))
    }

    /// Accepts `schema`'s columns if they are those last seen, or still match the table.
    pub fn check_columns(&mut self, schema: &TableSchema) -> Result<(), SinkError> {
        let same = self.seen_columns.len() == schema.columns.len()
            && self
                .seen_columns
                .iter()
                .zip(&schema.columns)
                .all(|((name, ty), c)| *name == c.name && *ty == c.ty);
        if same {
            return Ok(());
        }
        let expected = table_schema(self.mode, schema)?;
        check_compatible(
            &self.owned.name,
            &expected,
            self.owned.table.metadata().current_schema(),
        )?;
        self.adopt_columns(schema)
    }

    /// Records `schema`'s columns and how they map to the table's column order.
    fn adopt_columns(&mut self, schema: &TableSchema) -> Result<(), SinkError> {
        let mut order = Vec::new();
        for (field, source) in self.arrow_schema.fields().iter().zip(&self.sources) {
            if !matches!(source, FieldSource::Column(_)) {
                continue;
            }
            let index =
                schema
                    .column_index(field.name())
                    .ok_or_else(|| SinkError::SchemaMismatch {
                        table: self.owned.name.clone(),
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
}
