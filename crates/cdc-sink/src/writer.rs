//! [`LakeWriter`]: buffers change events per source table and commits them to that table's
//! Iceberg tables — `changelog`, `mirror`, `history`, as configured — one snapshot per
//! Iceberg table and commit, through our own snapshot producer ([`crate::commit`]).
//! Independent of Kafka: callers supply each event's [`RecordOrigin`].
//!
//! Exactly-once: every snapshot's summary carries the next Kafka offset per topic and
//! partition that the table holds (`cdc.kafka-offsets`, cumulative). An event whose offset is
//! below it is already in that table and is skipped there, so replays after a crash never
//! duplicate.
//!
//! Consumed position: the caller reports every record it has finished with
//! ([`LakeWriter::consumed`]: buffered, skipped, or durably dead-lettered before the next
//! commit). A committing table records that position for every partition of the topics that
//! feed it — everything below it is in the table or was never the table's — so a table
//! missing a partition in its offsets has really not seen it yet (see [`crate::resume`]).
//! Tables without rows record it only in [`LakeWriter::commit_all`] (an empty snapshot), which
//! the sink runs at shutdown and every [`IDLE_TABLE_ADVANCE`]: a table rarely written through
//! a busy shared topic then never drags the resume point far back.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use cdc_model::{ChangeEvent, Op, TableId, TableSchema};

use crate::catalog::{display_ident, ChangelogCatalog};
use crate::changelog::{ts_ms, ChangelogRow, RecordOrigin};
use crate::commit::pointer::CatalogPointer;
use crate::config::{IcebergConfig, MaintenanceConfig, TableMode, TablesConfig};
use crate::maintenance::MaintenanceReport;
use crate::resume::ResumePoints;
use crate::target::{raise_offset, Target};
use crate::SinkError;

/// How often the sink moves tables without new rows to the consumed position (an empty
/// snapshot, only when their topics moved on).
pub const IDLE_TABLE_ADVANCE: Duration = Duration::from_secs(60);

pub use crate::target::{KafkaOffsets, SNAPSHOT_PROP_KAFKA_OFFSETS, SNAPSHOT_PROP_SINK_VERSION};

/// What [`LakeWriter::append`] did with an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appended {
    /// Buffered for at least one table.
    Row,
    /// Every table of the source table already holds this record (a replay).
    AlreadyCommitted,
    /// A truncate event that no table of the source table represents (changelog only).
    SkippedTruncate,
}

/// One Iceberg table's part of a successful [`LakeWriter::commit`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommittedTable {
    /// `namespace.table` of the Iceberg table.
    pub table: String,
    /// Change events applied.
    pub rows: usize,
    pub data_files: usize,
    pub delete_files: usize,
}

/// Writes change events into the Iceberg tables of their source tables.
pub struct LakeWriter {
    catalog: ChangelogCatalog,
    pointer: CatalogPointer,
    config: TablesConfig,
    sources: BTreeMap<TableId, Vec<Target>>,
    buffered_rows: usize,
    buffered_bytes: usize,
    maintenance: MaintenanceConfig,
    /// Next offset per partition of every record the caller has finished with.
    consumed: KafkaOffsets,
}

impl LakeWriter {
    /// Opens the catalog (creating the database and namespace if needed).
    pub async fn open(
        iceberg: &IcebergConfig,
        tables: &TablesConfig,
    ) -> Result<LakeWriter, SinkError> {
        let catalog = ChangelogCatalog::open(iceberg).await?;
        let pointer = CatalogPointer::connect(iceberg).await?;
        Ok(LakeWriter {
            catalog,
            pointer,
            config: tables.clone(),
            sources: BTreeMap::new(),
            buffered_rows: 0,
            buffered_bytes: 0,
            maintenance: MaintenanceConfig::default(),
            consumed: KafkaOffsets::new(),
        })
    }

    /// Sets how [`LakeWriter::maintain`] maintains tables (default: [`MaintenanceConfig`]'s).
    pub fn set_maintenance(&mut self, config: MaintenanceConfig) {
        self.maintenance = config;
    }

    /// Maintains the open table most overdue for maintenance at `now` (compaction, snapshot
    /// expiry, orphan-file removal; see `[maintenance]`), if any is due: one table per call,
    /// so a caller polling Kafka between calls is never away for long. Call it between
    /// commits; buffered rows may stay buffered. Only tables opened by this writer are
    /// maintained (it owns them). Returns the table's report; failed steps are counted in it
    /// and retried at the next run. Errors mean the sink must stop (fenced, or the table
    /// changed under it).
    pub async fn maintain(
        &mut self,
        now: SystemTime,
    ) -> Result<Option<MaintenanceReport>, SinkError> {
        if !self.maintenance.enabled {
            return Ok(None);
        }
        let interval = Duration::from_secs(self.maintenance.interval_secs);
        let due = self
            .sources
            .values_mut()
            .flatten()
            .filter(|t| {
                t.last_maintained()
                    .is_none_or(|last| last + interval <= now)
            })
            .min_by_key(|t| t.last_maintained());
        let Some(target) = due else {
            return Ok(None);
        };
        target
            .maintain(&self.catalog, &self.pointer, &self.maintenance, now)
            .await
            .map(Some)
    }

    /// Rows buffered across all tables and not yet committed.
    pub fn buffered_rows(&self) -> usize {
        self.buffered_rows
    }

    /// About how many bytes the buffered rows take in memory (estimated from their values).
    pub fn buffered_bytes(&self) -> usize {
        self.buffered_bytes
    }

    /// What the namespace's tables hold: where each partition resumes (see [`crate::resume`]).
    pub async fn resume_points(&self) -> Result<ResumePoints, SinkError> {
        self.catalog.resume_points().await
    }

    /// Buffers `event` for the Iceberg tables of its source table, opening (creating) them on
    /// first sight. Fails if the event's columns no longer match a table.
    pub async fn append(
        &mut self,
        event: ChangeEvent,
        origin: RecordOrigin,
    ) -> Result<Appended, SinkError> {
        let schema = Arc::clone(&event.table);
        if !self.sources.contains_key(&schema.id) {
            let targets = self.open_targets(&schema).await?;
            self.sources.insert(schema.id.clone(), targets);
        }
        let Some(targets) = self.sources.get_mut(&schema.id) else {
            return Ok(Appended::AlreadyCommitted);
        };
        let op = event.op;
        let image = match op {
            Op::Truncate => None,
            Op::Delete => Some((event.before, "before")),
            Op::Create | Op::Update | Op::Read => Some((event.after, "after")),
        };
        let row = match image {
            None => None,
            Some((Some(values), _)) => Some(ChangelogRow {
                op,
                ts_ms: ts_ms(event.source.ts_us),
                ts_us: event.source.ts_us,
                position: event.source.position.to_text(),
                origin: origin.clone(),
                values,
            }),
            Some((None, image)) => {
                return Err(SinkError::MissingImage {
                    origin,
                    table: schema.id.to_string(),
                    op: op.code(),
                    image,
                });
            }
        };
        // Every table must accept the event's columns (evolving its schema if needed) and
        // values before any buffers it: a record rejected by one table is rejected whole (it
        // goes to the dead-letter topic).
        let mut rejected = None;
        for target in targets.iter_mut() {
            if target.holds(&origin) {
                continue;
            }
            let checked = accept(
                target,
                &self.catalog,
                &self.pointer,
                &schema,
                row.as_ref(),
                &origin,
            )
            .await;
            if let Err(e) = checked {
                rejected = Some(e);
                break;
            }
        }
        if let Some(error) = rejected {
            return Err(error);
        }
        let mut outcome = Appended::AlreadyCommitted;
        // The last table taking the row gets it, the others a copy.
        let mut row = row;
        let mut takers = targets.iter().filter(|t| !t.holds(&origin)).count();
        for target in targets.iter_mut() {
            if target.holds(&origin) {
                continue;
            }
            takers -= 1;
            let (buffered_before, bytes_before) = (target.buffered(), target.buffered_bytes());
            let applied = match takers {
                _ if row.is_none() => {
                    target
                        .truncate(&self.catalog, &self.pointer, event.source.ts_us, &origin)
                        .await?
                }
                0 => {
                    if let Some(row) = row.take() {
                        target.push(row, &origin)?;
                    }
                    true
                }
                _ => {
                    if let Some(row) = &row {
                        target.push(row.clone(), &origin)?;
                    }
                    true
                }
            };
            self.buffered_rows = self
                .buffered_rows
                .saturating_sub(buffered_before)
                .saturating_add(target.buffered());
            self.buffered_bytes = self
                .buffered_bytes
                .saturating_sub(bytes_before)
                .saturating_add(target.buffered_bytes());
            outcome = match (applied, outcome) {
                (true, _) | (false, Appended::Row) => Appended::Row,
                (false, _) => Appended::SkippedTruncate,
            };
        }
        Ok(outcome)
    }

    /// Records that the caller is done with the record at `origin`: it was appended (or
    /// skipped), or its dead-letter copy will be durable before the next commit. Committing
    /// tables fed by its topic record the position (see the module documentation).
    pub fn consumed(&mut self, origin: &RecordOrigin) {
        let next = origin.offset.saturating_add(1);
        raise_offset(&mut self.consumed, &origin.topic, origin.partition, next);
    }

    /// Commits every table's buffered rows, one snapshot per Iceberg table, each recording the
    /// consumed position of its topics. Tables without rows are untouched. On error, tables
    /// committed before the failing one stay committed (their offsets make the replay skip
    /// them).
    pub async fn commit(&mut self) -> Result<Vec<CommittedTable>, SinkError> {
        self.commit_tables(false).await
    }

    /// [`LakeWriter::commit`], and tables without rows whose topics moved on commit an empty
    /// snapshot recording the consumed position.
    pub async fn commit_all(&mut self) -> Result<Vec<CommittedTable>, SinkError> {
        self.commit_tables(true).await
    }

    async fn commit_tables(&mut self, idle: bool) -> Result<Vec<CommittedTable>, SinkError> {
        let mut committed = Vec::new();
        for targets in self.sources.values_mut() {
            for target in targets.iter_mut() {
                if idle || target.has_changes() {
                    target.advance(&self.consumed);
                }
                let (buffered, bytes) = (target.buffered(), target.buffered_bytes());
                if let Some(result) = target.commit(&self.catalog, &self.pointer).await? {
                    self.buffered_rows = self.buffered_rows.saturating_sub(buffered);
                    self.buffered_bytes = self.buffered_bytes.saturating_sub(bytes);
                    committed.push(result);
                }
            }
        }
        Ok(committed)
    }

    async fn open_targets(&self, schema: &Arc<TableSchema>) -> Result<Vec<Target>, SinkError> {
        let modes = self.config.modes_of(&schema.id.to_string());
        // Schemas the source table cannot have in some mode fail before any table is claimed.
        for &mode in &modes {
            crate::schema::table_schema(mode, schema)?;
        }
        let mut targets = Vec::with_capacity(modes.len());
        for mode in modes {
            let ident = self.catalog.ident(&table_name(mode, &schema.id));
            let target = Target::open(
                &self.catalog,
                &self.pointer,
                mode,
                ident,
                schema,
                &self.config.unavailable_value_placeholder,
            )
            .await?;
            tracing::info!(
                source = %schema.id,
                table = %display_ident(target.ident()),
                mode = ?mode,
                "table ready"
            );
            targets.push(target);
        }
        Ok(targets)
    }
}

/// Prepares `target` for a record with `schema` and checks that it can hold `row`.
async fn accept(
    target: &mut Target,
    catalog: &ChangelogCatalog,
    pointer: &CatalogPointer,
    schema: &Arc<TableSchema>,
    row: Option<&ChangelogRow>,
    origin: &RecordOrigin,
) -> Result<(), SinkError> {
    target.feed_from(catalog, pointer, &origin.topic).await?;
    target.prepare(catalog, pointer, schema).await?;
    match row {
        Some(row) => target.check_row(row),
        None => Ok(()),
    }
}

/// The Iceberg table name of source table `source` in `mode`: `<schema>_<table>` (mirror),
/// with `_changelog` or `_history` appended for the other modes.
pub fn table_name(mode: TableMode, source: &TableId) -> String {
    let base = format!("{}_{}", source.namespace, source.name);
    match mode {
        TableMode::Mirror => base,
        TableMode::Changelog => format!("{base}_changelog"),
        TableMode::History => format!("{base}_history"),
    }
}
