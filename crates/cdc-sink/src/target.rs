//! One Iceberg table fed by one source table: its mode, its buffered rows, the Kafka offsets
//! it holds, and (keyed modes) its primary-key index.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::SystemTime;

use arrow_schema::SchemaRef;
use cdc_model::{ColumnType, Op, TableSchema, Value};
use iceberg::spec::TableMetadata;
use iceberg::TableIdent;

use crate::batch::{build_batch, check_row, field_sources, FieldSource};
use crate::catalog::{display_ident, ChangelogCatalog};
use crate::changelog::{ChangelogRow, RecordOrigin};
use crate::commit::files::write_data_files_in;
use crate::commit::pointer::CatalogPointer;
use crate::commit::{latest_summary_property, Change, OwnedTable};
use crate::config::{MaintenanceConfig, TableMode};
use crate::evolution::evolve;
use crate::keyed::history::{plan_history, COL_IS_CURRENT};
use crate::keyed::index::KeyIndex;
use crate::keyed::{plan_mirror, toast};
use crate::maintenance::{self, MaintenanceReport, TableMaintenance};
use crate::resume::{fed_topics, topics_property};
use crate::schema::{partition_spec, table_schema};
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

/// Raises `offsets`' next offset of `topic`/`partition` to at least `next`.
pub(crate) fn raise_offset(
    offsets: &mut KafkaOffsets,
    topic: &Arc<str>,
    partition: i32,
    next: i64,
) {
    let slot = offsets
        .entry(Arc::clone(topic))
        .or_default()
        .entry(partition)
        .or_insert(next);
    *slot = (*slot).max(next);
}

pub(crate) struct Target {
    mode: TableMode,
    owned: OwnedTable,
    arrow_schema: SchemaRef,
    sources: Vec<FieldSource>,
    /// Source columns `(name, type)` of the last event checked against the table.
    seen_columns: Vec<(String, ColumnType)>,
    /// The schema `seen_columns` was taken from (a fast path for the next event).
    seen_schema: Option<Arc<TableSchema>>,
    /// For each source column of the table, in table order, its index in event rows (`None`:
    /// dropped at the source, written as null); `None` overall = identity.
    column_order: Option<Vec<Option<usize>>>,
    /// The source table's primary-key column names.
    key_names: Vec<String>,
    /// Key columns' indices in table-ordered rows (keyed modes).
    key_values: Vec<usize>,
    rows: Vec<ChangelogRow>,
    /// About how many bytes `rows` take.
    bytes: usize,
    /// Offsets durable in the table.
    committed: KafkaOffsets,
    /// `committed` plus the buffered records.
    pending: KafkaOffsets,
    index: Option<KeyIndex>,
    /// Keyed modes: every row before the buffered ones was truncated at this source time.
    truncate_at: Option<i64>,
    placeholder: String,
    maintenance: TableMaintenance,
    /// The topics the table lists as feeding it (see [`crate::resume`]).
    topics: BTreeSet<String>,
}

impl Target {
    pub async fn open(
        catalog: &ChangelogCatalog,
        pointer: &CatalogPointer,
        mode: TableMode,
        ident: TableIdent,
        schema: &Arc<TableSchema>,
        placeholder: &str,
    ) -> Result<Target, SinkError> {
        let expected = table_schema(mode, schema)?;
        let kind = match mode {
            TableMode::Changelog => "changelog",
            TableMode::Mirror => "mirror",
            TableMode::History => "history",
        };
        let name = display_ident(&ident);
        let partition = partition_spec(&name, mode, &expected)?;
        let table = catalog
            .ensure_table(&ident, &expected, partition, kind)
            .await?;
        // The topics feeding the table; `feed_from` lists a new one before the table takes any
        // record of it (see `resume`).
        let topics = fed_topics(table.metadata(), &name)?;
        let owned = OwnedTable::claim(
            &*catalog.catalog,
            pointer,
            table,
            name.clone(),
            HashMap::new(),
        )
        .await?;
        let committed = held_offsets(owned.table.metadata(), &name)?.unwrap_or_default();
        let key_names: Vec<String> = schema
            .key
            .iter()
            .filter_map(|&i| schema.columns.get(i).map(|c| c.name.clone()))
            .collect();
        let mut target = Target {
            mode,
            owned,
            sources: Vec::new(),
            arrow_schema: Arc::new(arrow_schema::Schema::empty()),
            seen_columns: Vec::new(),
            seen_schema: None,
            column_order: None,
            key_names,
            key_values: Vec::new(),
            rows: Vec::new(),
            bytes: 0,
            pending: committed.clone(),
            committed,
            index: None,
            truncate_at: None,
            placeholder: placeholder.to_owned(),
            maintenance: TableMaintenance::default(),
            topics,
        };
        target.relayout()?;
        target.index = target.open_index(None).await?;
        target.prepare(catalog, pointer, schema).await?;
        Ok(target)
    }

    pub fn ident(&self) -> &TableIdent {
        self.owned.table.identifier()
    }

    pub fn buffered(&self) -> usize {
        self.rows.len()
    }

    /// About how many bytes the buffered rows take in memory.
    pub fn buffered_bytes(&self) -> usize {
        self.bytes
    }

    /// Whether the table already holds the record at `origin`.
    pub fn holds(&self, origin: &RecordOrigin) -> bool {
        self.committed
            .get(&origin.topic)
            .and_then(|p| p.get(&origin.partition))
            .is_some_and(|&next| origin.offset < next)
    }

    /// Lists `topic` among the table's topics (a metadata-only commit) unless it is already:
    /// called before the table buffers the first record of a topic.
    pub async fn feed_from(
        &mut self,
        catalog: &ChangelogCatalog,
        pointer: &CatalogPointer,
        topic: &str,
    ) -> Result<(), SinkError> {
        if self.topics.contains(topic) {
            return Ok(());
        }
        let mut topics = self.topics.clone();
        topics.insert(topic.to_owned());
        self.owned
            .set_properties(&*catalog.catalog, pointer, topics_property(&topics))
            .await?;
        self.topics = topics;
        Ok(())
    }

    /// Whether the next commit writes a snapshot (rows, a truncate, or offsets moved).
    pub fn has_changes(&self) -> bool {
        !self.rows.is_empty() || self.truncate_at.is_some() || self.pending != self.committed
    }

    /// Moves the table's offsets to `consumed` for every partition of the topics feeding it:
    /// every record below is buffered here, already held, or never this table's. Call only
    /// with every consumed record routed (between records).
    pub fn advance(&mut self, consumed: &KafkaOffsets) {
        for (topic, partitions) in consumed {
            if !self.topics.contains(&**topic) {
                continue;
            }
            for (&partition, &next) in partitions {
                raise_offset(&mut self.pending, topic, partition, next);
            }
        }
    }

    fn note_offset(&mut self, origin: &RecordOrigin) {
        let next = origin.offset.saturating_add(1);
        raise_offset(&mut self.pending, &origin.topic, origin.partition, next);
    }

    /// Checks that the table can hold `row` (source values in event order): every value
    /// converts to its column's type. Run before any table buffers the row, so a value the
    /// table cannot hold is that record's error (a dead letter), not a failed commit.
    pub fn check_row(&self, row: &ChangelogRow) -> Result<(), SinkError> {
        check_row(
            &self.owned.name,
            &self.arrow_schema,
            &self.sources,
            row,
            self.column_order.as_deref(),
        )
    }

    /// Buffers one row (source values in event order).
    pub fn push(&mut self, mut row: ChangelogRow, origin: &RecordOrigin) -> Result<(), SinkError> {
        if let Some(order) = &self.column_order {
            let mut image: Vec<Option<Value>> = row.values.into_iter().map(Some).collect();
            let mut values = Vec::with_capacity(order.len());
            for &i in order {
                let Some(i) = i else {
                    values.push(Value::Null);
                    continue;
                };
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
        self.bytes = self.bytes.saturating_add(row.approx_bytes());
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
                let table = &self.owned.table;
                if table.metadata().default_partition_spec().is_unpartitioned() {
                    if batch.num_rows() > 0 {
                        let files =
                            write_data_files_in(table, &name, &batch, &prefix, None).await?;
                        change.data_files.extend(files);
                    }
                } else {
                    // Partitioned by the day of the change: one file per day.
                    for (day, rows) in rows_by_day(&self.rows) {
                        let part = take_rows(&name, &batch, &rows)?;
                        let prefix = format!("{prefix}-{day}");
                        let files =
                            write_data_files_in(table, &name, &part, &prefix, Some(day)).await?;
                        change.data_files.extend(files);
                    }
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
        self.bytes = 0;
        self.truncate_at = None;
        self.committed = self.pending.clone();
        Ok(Some(CommittedTable {
            table: name,
            rows,
            data_files,
            delete_files,
        }))
    }

    /// When this table was last maintained.
    pub fn last_maintained(&self) -> Option<SystemTime> {
        self.maintenance.last_run
    }

    /// Runs table maintenance (compaction, snapshot expiry, orphan removal) between commits;
    /// the key index follows compacted rows to their new positions.
    pub async fn maintain(
        &mut self,
        catalog: &ChangelogCatalog,
        pointer: &CatalogPointer,
        config: &MaintenanceConfig,
        now: SystemTime,
    ) -> Result<MaintenanceReport, SinkError> {
        let flag = (self.mode == TableMode::History).then_some(COL_IS_CURRENT);
        maintenance::run(
            &mut self.owned,
            &*catalog.catalog,
            pointer,
            &self.arrow_schema,
            self.index.as_mut().map(|i| (i, flag)),
            &mut self.maintenance,
            config,
            now,
        )
        .await
    }

    /// Makes the table take rows of `schema`: if its columns differ from those last seen,
    /// evolves the table (after committing what is buffered in the old layout) and maps the
    /// source columns to the table's.
    pub async fn prepare(
        &mut self,
        catalog: &ChangelogCatalog,
        pointer: &CatalogPointer,
        schema: &Arc<TableSchema>,
    ) -> Result<(), SinkError> {
        // Decoders share one `Arc<TableSchema>` per schema seen: the common case is a
        // pointer comparison.
        if self
            .seen_schema
            .as_ref()
            .is_some_and(|seen| Arc::ptr_eq(seen, schema))
        {
            return Ok(());
        }
        let same = self.seen_columns.len() == schema.columns.len()
            && self
                .seen_columns
                .iter()
                .zip(&schema.columns)
                .all(|((name, ty), c)| *name == c.name && *ty == c.ty);
        if same {
            self.seen_schema = Some(Arc::clone(schema));
            return Ok(());
        }
        let expected = table_schema(self.mode, schema)?;
        let md = self.owned.table.metadata();
        if let Some(evolution) = evolve(
            &self.owned.name,
            &expected,
            md.current_schema(),
            md.last_column_id(),
        )? {
            if !self.rows.is_empty() || self.truncate_at.is_some() {
                self.commit(catalog, pointer).await?;
            }
            let old_keys: Vec<_> = self
                .key_values
                .iter()
                .map(|&i| self.arrow_schema.field(i).data_type().clone())
                .collect();
            self.owned
                .set_schema(&*catalog.catalog, pointer, evolution.schema)
                .await?;
            tracing::info!(
                table = %self.owned.name,
                changes = %evolution.changes.join("; "),
                "evolved the table schema"
            );
            self.relayout()?;
            let new_keys: Vec<_> = self
                .key_values
                .iter()
                .map(|&i| self.arrow_schema.field(i).data_type().clone())
                .collect();
            if self.index.is_some() && old_keys != new_keys {
                // Key encodings depend on the key types: index the table again.
                self.index = self.open_index(Some("key type widened")).await?;
            }
        }
        self.adopt_columns(schema)?;
        self.seen_schema = Some(Arc::clone(schema));
        Ok(())
    }

    /// Derives the Arrow schema, field sources and key positions from the current schema.
    fn relayout(&mut self) -> Result<(), SinkError> {
        let md = self.owned.table.metadata();
        let arrow_schema =
            iceberg::arrow::schema_to_arrow_schema(md.current_schema()).map_err(|e| {
                SinkError::Batch {
                    table: self.owned.name.clone(),
                    reason: format!("cannot derive the Arrow schema: {e}"),
                }
            })?;
        self.arrow_schema = Arc::new(arrow_schema);
        self.sources = field_sources(&self.arrow_schema);
        self.key_values = self
            .key_names
            .iter()
            .filter_map(|k| {
                self.sources
                    .iter()
                    .zip(self.arrow_schema.fields())
                    .find_map(|(s, f)| match s {
                        FieldSource::Column(i) if f.name() == k => Some(*i),
                        _ => None,
                    })
            })
            .collect();
        // Rows are now laid out by the new schema: map the source columns again.
        self.seen_columns.clear();
        self.seen_schema = None;
        Ok(())
    }

    /// Keyed modes: the primary-key index, built from the table.
    async fn open_index(&self, why: Option<&str>) -> Result<Option<KeyIndex>, SinkError> {
        if self.mode == TableMode::Changelog {
            return Ok(None);
        }
        let name = &self.owned.name;
        let columns = self
            .key_names
            .iter()
            .map(|k| self.arrow_schema.index_of(k))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| SinkError::Batch {
                table: name.clone(),
                reason: format!("key column missing from the table: {e}"),
            })?;
        if let Some(why) = why {
            tracing::info!(table = %name, reason = why, "rebuilding the key index");
        }
        let mut index = KeyIndex::new(name, &self.arrow_schema, columns)?;
        let flag = (self.mode == TableMode::History).then_some(COL_IS_CURRENT);
        index.rebuild(&self.owned.table, name, flag).await?;
        Ok(Some(index))
    }

    /// Records `schema`'s columns and how they map to the table's column order. Table
    /// columns the source no longer has are written as null.
    fn adopt_columns(&mut self, schema: &TableSchema) -> Result<(), SinkError> {
        let mut order = Vec::new();
        for (field, source) in self.arrow_schema.fields().iter().zip(&self.sources) {
            if !matches!(source, FieldSource::Column(_)) {
                continue;
            }
            let index = schema.column_index(field.name());
            if index.is_none() {
                tracing::info!(
                    table = %self.owned.name,
                    column = %field.name(),
                    "the source table has no such column (dropped?): written as null"
                );
            }
            order.push(index);
        }
        let identity = order.len() == schema.columns.len()
            && order.iter().enumerate().all(|(i, &j)| j == Some(i));
        self.column_order = (!identity).then_some(order);
        self.seen_columns = schema
            .columns
            .iter()
            .map(|c| (c.name.clone(), c.ty.clone()))
            .collect();
        Ok(())
    }
}

/// Row indices of `rows` grouped by the UTC day of their source time (days since 1970-01-01),
/// days in ascending order, rows in buffer order.
fn rows_by_day(rows: &[ChangelogRow]) -> BTreeMap<i32, Vec<u32>> {
    const DAY_US: i64 = 86_400_000_000;
    let mut days: BTreeMap<i32, Vec<u32>> = BTreeMap::new();
    for (n, row) in rows.iter().enumerate() {
        let day = row.ts_us.div_euclid(DAY_US);
        let day = i32::try_from(day).unwrap_or(if day < 0 { i32::MIN } else { i32::MAX });
        days.entry(day)
            .or_default()
            .push(u32::try_from(n).unwrap_or(u32::MAX));
    }
    days
}

/// The rows of `batch` at `indices`, in that order.
fn take_rows(
    name: &str,
    batch: &arrow_array::RecordBatch,
    indices: &[u32],
) -> Result<arrow_array::RecordBatch, SinkError> {
    if indices.len() == batch.num_rows() {
        return Ok(batch.clone());
    }
    let indices = arrow_array::UInt32Array::from(indices.to_vec());
    arrow_select::take::take_record_batch(batch, &indices).map_err(|e| SinkError::Batch {
        table: name.to_owned(),
        reason: format!("cannot split the batch by day: {e}"),
    })
}
