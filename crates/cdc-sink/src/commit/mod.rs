//! Our own snapshot producer: iceberg 0.10.1 cannot commit delete files through its
//! `Transaction` API, so a commit is built here from its public pieces — manifests written
//! with `ManifestWriter` (`add_file(f, -1)`: new data or delete files inheriting the
//! snapshot's sequence number), a manifest list, a `Snapshot`, `TableMetadataBuilder` — and
//! published through the catalog ([`pointer`]): the next metadata is planned once, with
//! `TableMetadataBuilder`, which yields both the finished metadata (SQL catalogs: we write it
//! and swap the pointer) and the list of changes (REST catalogs: sent with requirements, the
//! server writes the metadata).
//!
//! Exactly-once rests on three properties of every commit:
//! - the snapshot summary carries the Kafka offsets the table holds (`cdc.kafka-offsets`), a
//!   commit id (`cdc.commit-id`) and the writer epoch (`cdc.writer-epoch`);
//! - a writer claims a new epoch in the table properties before its first commit, so an older
//!   writer's next compare-and-swap fails and, reading the table back, it finds itself fenced;
//! - a swap whose outcome is unknown is resolved by reading the table back and looking for
//!   the commit's snapshot (or, for a claim, its claim id).
//!
//! - `files`: Parquet data files with predictable row positions, position-delete files.
//! - `merge`: merging small manifests at commit time (Iceberg's manifest-merge properties).
//! - `replace`: maintenance commits (compaction's `replace` snapshot, snapshot removal).
//! - `pointer`: publishing a planned commit, per catalog (compare-and-swap).
//! - `rest`: the REST catalog's commit request.
//! - `glue`: the AWS Glue Data Catalog's conditional `UpdateTable`.

use std::collections::HashMap;
use std::time::Duration;

use iceberg::spec::{
    DataFile, ManifestFile, ManifestListWriter, ManifestWriter, ManifestWriterBuilder, Operation,
    Schema, Snapshot, SnapshotSummaryCollector, Summary, TableMetadata, TableMetadataBuilder,
    MAIN_BRANCH,
};
use iceberg::table::Table;
use iceberg::Catalog;

pub(crate) mod files;
mod glue;
mod merge;
pub(crate) mod pointer;
pub(crate) mod replace;
mod rest;

use pointer::{CatalogPointer, Planned, Swap};

use crate::SinkError;

/// Table property and summary key: the epoch of the writer that owns the table.
pub const PROP_WRITER_EPOCH: &str = "cdc.writer-epoch";
/// Summary key: unique id of the commit that produced the snapshot.
pub const PROP_COMMIT_ID: &str = "cdc.commit-id";
/// Table property: unique id of the writer's claim that set the current writer epoch.
pub const PROP_WRITER_CLAIM: &str = "cdc.writer-claim";

/// Attempts at reading a table back after a swap with an unknown outcome.
const RESOLVE_ATTEMPTS: u32 = 5;

/// What one commit adds to a table.
#[derive(Debug, Default)]
pub(crate) struct Change {
    pub data_files: Vec<DataFile>,
    /// Position-delete files.
    pub delete_files: Vec<DataFile>,
    /// Extra summary properties (e.g. the Kafka offsets).
    pub properties: HashMap<String, String>,
}

/// A table this writer owns: its current state and its writer epoch.
pub(crate) struct OwnedTable {
    pub table: Table,
    /// `namespace.table`, for logs and errors.
    pub name: String,
    epoch: u64,
}

impl OwnedTable {
    /// Claims `table` for this writer: a metadata-only commit raising the writer epoch, which
    /// fences every older writer of the table.
    /// `extra` table properties are set in the same commit.
    pub async fn claim(
        catalog: &dyn Catalog,
        pointer: &CatalogPointer,
        table: Table,
        name: String,
        extra: HashMap<String, String>,
    ) -> Result<OwnedTable, SinkError> {
        let previous = epoch_of(table.metadata());
        let mut owned = OwnedTable {
            table,
            name,
            epoch: previous + 1,
        };
        let epoch = owned.epoch.to_string();
        let claim = uuid::Uuid::new_v4().to_string();
        let mut properties = extra;
        properties.insert(PROP_WRITER_EPOCH.to_owned(), epoch);
        properties.insert(PROP_WRITER_CLAIM.to_owned(), claim.clone());
        // A REST commit can only assert `main`'s snapshot, not the table properties: there
        // the claim also adds a snapshot without changes, so an older writer's next commit
        // (planned on the previous snapshot) is rejected.
        let snapshot = match pointer.asserts_snapshot_only() {
            true => Some(owned.write_snapshot(Change::default(), &claim).await?),
            false => None,
        };
        owned
            .swap_metadata(catalog, pointer, Marker::Claim(claim), |b| {
                let b = b.set_properties(properties)?;
                match snapshot {
                    Some(snapshot) => b.set_branch_snapshot(snapshot, MAIN_BRANCH),
                    None => Ok(b),
                }
            })
            .await?;
        tracing::info!(table = %owned.name, epoch = owned.epoch, "claimed the table");
        Ok(owned)
    }

    /// Commits `change` as one snapshot (`append`, `delete` or `overwrite`).
    pub async fn commit(
        &mut self,
        catalog: &dyn Catalog,
        pointer: &CatalogPointer,
        change: Change,
    ) -> Result<(), SinkError> {
        let commit_id = uuid::Uuid::new_v4().to_string();
        let snapshot = self.write_snapshot(change, &commit_id).await?;
        let marker = Marker::Snapshot(snapshot.snapshot_id());
        self.swap_metadata(catalog, pointer, marker, move |b| {
            b.set_branch_snapshot(snapshot, MAIN_BRANCH)
        })
        .await
    }

    /// Makes `schema` the table's current schema (a metadata-only commit).
    pub async fn set_schema(
        &mut self,
        catalog: &dyn Catalog,
        pointer: &CatalogPointer,
        schema: Schema,
    ) -> Result<(), SinkError> {
        let marker = metadata_marker();
        let properties = marker_properties(&marker);
        self.swap_metadata(catalog, pointer, marker, move |b| {
            b.add_current_schema(schema)?.set_properties(properties)
        })
        .await
    }

    /// Sets table `properties` (a metadata-only commit).
    pub async fn set_properties(
        &mut self,
        catalog: &dyn Catalog,
        pointer: &CatalogPointer,
        mut properties: HashMap<String, String>,
    ) -> Result<(), SinkError> {
        let marker = metadata_marker();
        properties.extend(marker_properties(&marker));
        self.swap_metadata(catalog, pointer, marker, move |b| {
            b.set_properties(properties)
        })
        .await
    }

    /// Writes manifests and the manifest list of a snapshot adding `change` on top of the
    /// current one; returns the snapshot (not yet part of the table).
    async fn write_snapshot(&self, change: Change, commit_id: &str) -> Result<Snapshot, SinkError> {
        let err = |e| SinkError::commit(&self.name, e);
        let md = self.table.metadata();
        let snapshot_id = fresh_snapshot_id(md);
        let schema = md.current_schema().clone();
        let spec = md.default_partition_spec().clone();
        let carried: Vec<ManifestFile> = match md.current_snapshot() {
            Some(current) => self
                .table
                .manifest_list_reader(current)
                .load()
                .await
                .map_err(err)?
                .entries()
                .iter()
                .filter(|m| m.has_added_files() || m.has_existing_files())
                .cloned()
                .collect(),
            None => Vec::new(),
        };
        let mut manifests = self
            .merge_manifests(carried, commit_id, snapshot_id)
            .await?;
        let mut collector = SnapshotSummaryCollector::default();
        let has_data = !change.data_files.is_empty();
        let has_deletes = !change.delete_files.is_empty();
        for (n, (files, deletes)) in [(change.data_files, false), (change.delete_files, true)]
            .into_iter()
            .enumerate()
        {
            if files.is_empty() {
                continue;
            }
            // `add_file(f, -1)` adds a file that inherits the snapshot's sequence number
            // (`add_delete_file` would instead mark a file as removed).
            let mut writer = self.manifest_writer(commit_id, n, snapshot_id, deletes)?;
            for file in files {
                collector.add_file(&file, schema.clone(), spec.clone());
                writer.add_file(file, -1).map_err(err)?;
            }
            manifests.push(writer.write_manifest_file().await.map_err(err)?);
        }
        let operation = match (has_data, has_deletes) {
            (true, true) => Operation::Overwrite,
            (false, true) => Operation::Delete,
            _ => Operation::Append,
        };
        self.finish_snapshot(
            snapshot_id,
            manifests,
            collector,
            change.properties,
            operation,
            commit_id,
        )
        .await
    }

    /// A writer of manifest `n` of commit `commit_id` (snapshot `snapshot_id`), for data or
    /// position-delete entries, in the table's current schema and partition spec.
    fn manifest_writer(
        &self,
        commit_id: &str,
        n: impl std::fmt::Display,
        snapshot_id: i64,
        deletes: bool,
    ) -> Result<ManifestWriter, SinkError> {
        let md = self.table.metadata();
        let path = format!("{}/metadata/{commit_id}-m{n}.avro", md.location());
        let output = self
            .table
            .file_io()
            .new_output(path)
            .map_err(|e| SinkError::commit(&self.name, e))?;
        let builder = ManifestWriterBuilder::new(
            output,
            Some(snapshot_id),
            md.current_schema().clone(),
            (**md.default_partition_spec()).clone(),
        );
        Ok(if deletes {
            builder.build_v2_deletes()
        } else {
            builder.build_v2_data()
        })
    }

    /// Writes the manifest list of `manifests` for snapshot `snapshot_id` on top of the
    /// current snapshot and describes the snapshot: the summary from `collector` plus
    /// `properties`, the commit id and the writer epoch. Not yet part of the table.
    async fn finish_snapshot(
        &self,
        snapshot_id: i64,
        manifests: Vec<ManifestFile>,
        collector: SnapshotSummaryCollector,
        properties: HashMap<String, String>,
        operation: Operation,
        commit_id: &str,
    ) -> Result<Snapshot, SinkError> {
        let err = |e| SinkError::commit(&self.name, e);
        let md = self.table.metadata();
        let parent = md.current_snapshot_id();
        let sequence = md.next_sequence_number();
        let list_path = format!(
            "{}/metadata/snap-{snapshot_id}-0-{commit_id}.avro",
            md.location()
        );
        let output = self.table.file_io().new_output(&list_path).map_err(err)?;
        let mut list = ManifestListWriter::v2(
            output.writer().await.map_err(err)?,
            snapshot_id,
            parent,
            sequence,
        );
        list.add_manifests(manifests.into_iter()).map_err(err)?;
        list.close().await.map_err(err)?;
        let mut summary = collector.build();
        summary.extend(properties);
        summary.insert(PROP_COMMIT_ID.to_owned(), commit_id.to_owned());
        summary.insert(PROP_WRITER_EPOCH.to_owned(), self.epoch.to_string());
        Ok(Snapshot::builder()
            .with_snapshot_id(snapshot_id)
            .with_parent_snapshot_id(parent)
            .with_sequence_number(sequence)
            .with_timestamp_ms(chrono::Utc::now().timestamp_millis())
            .with_manifest_list(list_path)
            .with_schema_id(md.current_schema_id())
            .with_summary(Summary {
                operation,
                additional_properties: summary,
            })
            .build())
    }

    /// Plans the next metadata with `edit` and publishes it through the catalog. `marker`
    /// identifies the commit in the table (to resolve an unknown outcome).
    async fn swap_metadata(
        &mut self,
        catalog: &dyn Catalog,
        pointer: &CatalogPointer,
        marker: Marker,
        edit: impl FnOnce(TableMetadataBuilder) -> iceberg::Result<TableMetadataBuilder>,
    ) -> Result<(), SinkError> {
        let err = |e| SinkError::commit(&self.name, e);
        let current = self
            .table
            .metadata_location()
            .ok_or_else(|| SinkError::Conflict {
                table: self.name.clone(),
                expected: "a metadata location".into(),
                found: "none".into(),
            })?
            .to_owned();
        let md = self.table.metadata();
        let found_epoch = epoch_of(md);
        if found_epoch > self.epoch {
            return Err(self.fenced(found_epoch));
        }
        let built = edit(md.clone().into_builder(Some(current.clone())))
            .and_then(TableMetadataBuilder::build)
            .map_err(err)?;
        let planned = Planned {
            base: &self.table,
            base_location: &current,
            built,
        };
        match pointer.publish(&self.name, planned).await? {
            Swap::Unknown(e) => {
                tracing::warn!(table = %self.name, error = %e, "commit outcome unknown; reading the table back");
                self.resolve(catalog, &current, &marker, e).await
            }
            Swap::Done => {
                // iceberg 0.10.1 cannot build a `Table` from outside the crate (its runtime
                // is private): read the committed table back through the catalog.
                self.table = self.reload(catalog).await?;
                tracing::debug!(table = %self.name, ?marker, "committed");
                Ok(())
            }
            Swap::Conflict => {
                let reloaded = self.reload(catalog).await?;
                let theirs = epoch_of(reloaded.metadata());
                if theirs > self.epoch {
                    return Err(self.fenced(theirs));
                }
                Err(SinkError::Conflict {
                    table: self.name.clone(),
                    expected: current,
                    found: reloaded.metadata_location().unwrap_or("none").to_owned(),
                })
            }
        }
    }

    /// After a publish with an unknown outcome: the table holds `marker` (committed), is still
    /// at `current` (not committed: fail, a restart replays), or elsewhere (fenced / conflict).
    async fn resolve(
        &mut self,
        catalog: &dyn Catalog,
        current: &str,
        marker: &Marker,
        cause: SinkError,
    ) -> Result<(), SinkError> {
        let mut last = cause;
        for attempt in 1..=RESOLVE_ATTEMPTS {
            match self.reload(catalog).await {
                Ok(table) => {
                    let at = table.metadata_location().unwrap_or_default().to_owned();
                    if marker.is_in(table.metadata()) {
                        tracing::info!(table = %self.name, "the commit with an unknown outcome succeeded");
                        self.table = table;
                        return Ok(());
                    }
                    let theirs = epoch_of(table.metadata());
                    if theirs > self.epoch {
                        return Err(self.fenced(theirs));
                    }
                    if at == current {
                        // Not committed; the caller's error path replays from the table.
                        return Err(last);
                    }
                    return Err(SinkError::Conflict {
                        table: self.name.clone(),
                        expected: current.to_owned(),
                        found: at,
                    });
                }
                Err(e) => last = e,
            }
            tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
        }
        Err(last)
    }

    async fn reload(&self, catalog: &dyn Catalog) -> Result<Table, SinkError> {
        catalog
            .load_table(self.table.identifier())
            .await
            .map_err(|e| SinkError::catalog(format!("cannot reload table {}", self.name), e))
    }

    fn fenced(&self, theirs: u64) -> SinkError {
        SinkError::Fenced {
            table: self.name.clone(),
            ours: self.epoch,
            theirs,
        }
    }
}

/// What identifies a commit in the table it went to.
#[derive(Debug)]
enum Marker {
    /// A snapshot commit: its (random) snapshot id.
    Snapshot(i64),
    /// A claim: the `cdc.writer-claim` property it sets.
    Claim(String),
}

/// A marker for a metadata-only commit: a fresh `cdc.writer-claim` value it sets, so a swap
/// with an unknown outcome can be resolved by reading the table back.
fn metadata_marker() -> Marker {
    Marker::Claim(uuid::Uuid::new_v4().to_string())
}

/// The table properties that make `marker` visible in the committed metadata.
fn marker_properties(marker: &Marker) -> HashMap<String, String> {
    match marker {
        Marker::Claim(claim) => HashMap::from([(PROP_WRITER_CLAIM.to_owned(), claim.clone())]),
        Marker::Snapshot(_) => HashMap::new(),
    }
}

impl Marker {
    fn is_in(&self, md: &TableMetadata) -> bool {
        match self {
            Marker::Snapshot(id) => md.snapshot_by_id(*id).is_some(),
            Marker::Claim(claim) => md.properties().get(PROP_WRITER_CLAIM) == Some(claim),
        }
    }
}

/// The writer epoch recorded in the table properties (0 if none).
pub(crate) fn epoch_of(md: &TableMetadata) -> u64 {
    md.properties()
        .get(PROP_WRITER_EPOCH)
        .and_then(|e| e.parse().ok())
        .unwrap_or(0)
}

/// A random positive snapshot id not used by the table.
fn fresh_snapshot_id(md: &TableMetadata) -> i64 {
    loop {
        let id = (uuid::Uuid::new_v4().as_u128() as i64) & i64::MAX;
        if id != 0 && md.snapshot_by_id(id).is_none() {
            return id;
        }
    }
}

/// The summary property `key` of the newest snapshot on the main branch's ancestry that has
/// it, walking back from the current snapshot.
pub(crate) fn latest_summary_property<'a>(md: &'a TableMetadata, key: &str) -> Option<&'a str> {
    let mut snapshot = md.current_snapshot();
    while let Some(s) = snapshot {
        if let Some(value) = s.summary().additional_properties.get(key) {
            return Some(value);
        }
        snapshot = s.parent_snapshot_id().and_then(|p| md.snapshot_by_id(p));
    }
    None
}
