//! Maintenance commits: a `replace` snapshot that swaps data and delete files without changing
//! the table's rows (compaction), and a metadata-only removal of expired snapshots. Both go
//! through the owner's compare-and-swap and writer epoch like every other commit.
//!
//! A replace snapshot lists only live files in freshly written manifests (which also merges
//! the one-or-two-manifests-per-commit the table accumulates): kept files as `EXISTING`
//! entries with their original snapshot id and sequence numbers, new files as `ADDED`
//! (inheriting the snapshot's sequence number) and removed files as `DELETED` entries with
//! their original sequence numbers, in manifests of their own that the next commit drops.

use std::collections::HashMap;

use iceberg::spec::{
    DataContentType, DataFile, ManifestEntry, ManifestFile, Operation, Snapshot,
    SnapshotSummaryCollector, MAIN_BRANCH,
};
use iceberg::{Catalog, Error as IcebergError, ErrorKind};

use super::pointer::CatalogPointer;
use super::{fresh_snapshot_id, OwnedTable};
use crate::SinkError;

/// What a replace commit does, planned on the owner's current snapshot.
#[derive(Debug, Default)]
pub(crate) struct Replace {
    /// Live entries that stay (data and delete files).
    pub kept: Vec<ManifestEntry>,
    /// Live entries that go (data and delete files).
    pub removed: Vec<ManifestEntry>,
    pub added_data: Vec<DataFile>,
    pub added_deletes: Vec<DataFile>,
    /// Extra summary properties.
    pub properties: HashMap<String, String>,
    /// The snapshot the plan was made on; the commit fails if the table moved since.
    pub base: Option<i64>,
}

/// The entries of one manifest to write, by status.
enum Group {
    Existing(Vec<ManifestEntry>),
    Added(Vec<DataFile>),
    Deleted(Vec<ManifestEntry>),
}

impl Group {
    fn is_empty(&self) -> bool {
        match self {
            Group::Existing(e) | Group::Deleted(e) => e.is_empty(),
            Group::Added(f) => f.is_empty(),
        }
    }
}

/// The (data, file) sequence numbers of an entry read from a manifest (inherited ones are
/// filled in when the manifest is loaded).
pub(super) fn sequence_numbers(entry: &ManifestEntry) -> iceberg::Result<(i64, i64)> {
    entry
        .sequence_number()
        .zip(entry.file_sequence_number)
        .ok_or_else(|| {
            IcebergError::new(
                ErrorKind::DataInvalid,
                format!("{} has no sequence number", entry.file_path()),
            )
        })
}

impl OwnedTable {
    /// Commits `replace` as one snapshot with operation `replace`.
    pub async fn commit_replace(
        &mut self,
        catalog: &dyn Catalog,
        pointer: &CatalogPointer,
        replace: Replace,
    ) -> Result<(), SinkError> {
        let current = self.table.metadata().current_snapshot_id();
        if current != replace.base {
            return Err(SinkError::Conflict {
                table: self.name.clone(),
                expected: format!("snapshot {:?}", replace.base),
                found: format!("snapshot {current:?}"),
            });
        }
        let commit_id = uuid::Uuid::new_v4().to_string();
        let snapshot = self.write_replace(replace, &commit_id).await?;
        let marker = super::Marker::Snapshot(snapshot.snapshot_id());
        self.swap_metadata(catalog, pointer, marker, move |b| {
            b.set_branch_snapshot(snapshot, MAIN_BRANCH)
        })
        .await
    }

    /// Removes the snapshots `ids` from the table metadata (their files stay; the caller
    /// deletes what no remaining snapshot references).
    pub async fn remove_snapshots(
        &mut self,
        catalog: &dyn Catalog,
        pointer: &CatalogPointer,
        ids: &[i64],
    ) -> Result<(), SinkError> {
        let marker = super::metadata_marker();
        let properties = super::marker_properties(&marker);
        self.swap_metadata(catalog, pointer, marker, |b| {
            b.remove_snapshots(ids).set_properties(properties)
        })
        .await
    }

    async fn write_replace(
        &self,
        replace: Replace,
        commit_id: &str,
    ) -> Result<Snapshot, SinkError> {
        let err = |e| SinkError::commit(&self.name, e);
        let md = self.table.metadata();
        let snapshot_id = fresh_snapshot_id(md);
        let schema = md.current_schema().clone();
        let spec = md.default_partition_spec().clone();
        let mut collector = SnapshotSummaryCollector::default();
        for file in replace.added_data.iter().chain(&replace.added_deletes) {
            collector.add_file(file, schema.clone(), spec.clone());
        }
        for entry in &replace.removed {
            collector.remove_file(entry.data_file(), schema.clone(), spec.clone());
        }
        let is_data = |e: &ManifestEntry| e.content_type() == DataContentType::Data;
        let (kept_data, kept_deletes): (Vec<_>, Vec<_>) =
            replace.kept.into_iter().partition(is_data);
        let (removed_data, removed_deletes): (Vec<_>, Vec<_>) =
            replace.removed.into_iter().partition(is_data);
        let groups = [
            (Group::Existing(kept_data), false),
            (Group::Added(replace.added_data), false),
            (Group::Deleted(removed_data), false),
            (Group::Existing(kept_deletes), true),
            (Group::Added(replace.added_deletes), true),
            (Group::Deleted(removed_deletes), true),
        ];
        let mut manifests: Vec<ManifestFile> = Vec::new();
        for (n, (group, deletes)) in groups.into_iter().enumerate() {
            if group.is_empty() {
                continue;
            }
            let mut writer = self.manifest_writer(commit_id, n, snapshot_id, deletes)?;
            match group {
                Group::Added(files) => {
                    for file in files {
                        writer.add_file(file, -1).map_err(err)?;
                    }
                }
                Group::Existing(entries) => {
                    for entry in entries {
                        let (data_seq, file_seq) = sequence_numbers(&entry).map_err(err)?;
                        let added_by = entry.snapshot_id().unwrap_or(snapshot_id);
                        writer
                            .add_existing_file(entry.data_file, added_by, data_seq, Some(file_seq))
                            .map_err(err)?;
                    }
                }
                Group::Deleted(entries) => {
                    for entry in entries {
                        let (data_seq, file_seq) = sequence_numbers(&entry).map_err(err)?;
                        writer
                            .add_delete_file(entry.data_file, data_seq, Some(file_seq))
                            .map_err(err)?;
                    }
                }
            }
            manifests.push(writer.write_manifest_file().await.map_err(err)?);
        }
        self.finish_snapshot(
            snapshot_id,
            manifests,
            collector,
            replace.properties,
            Operation::Replace,
            commit_id,
        )
        .await
    }
}
